//! Rule operations: the [`Handle`] methods of `ip rule`.

use netlink_packet_route::rule::{RuleAction as NlAction, RuleAttribute, RuleMessage};
use netlink_packet_route::RouteNetlinkMessage;

use super::codec::{rule_from_bytes, rule_message};
use super::types::{Rule, RuleAction, RuleFilter};
use crate::batch::Batch;
use crate::handle::DecodeFrame;
use crate::wire::{address_family, Frame, NLM_F_CREATE, NLM_F_EXCL};
use crate::{Dump, Error, Handle, IpFamily, Result};

const LIST_RULES: &str = "list rules";

/// # Policy rules
///
/// `ip rule`: add, delete and list policy-routing rules.
impl Handle {
    /// Adds a policy rule. Equivalent to `ip [-6] rule add …` (see [`Rule`]). A rule that
    /// exists already is an error for which [`Error::is_exists`](crate::Error::is_exists) is true.
    ///
    /// ```no_run
    /// use netplumb::{Handle, TableId, rule::{Rule, RuleAction}};
    ///
    /// // ip rule add fwmark 0x1 lookup 100 pref 1000
    /// Handle::new()?.add_rule(&Rule {
    ///     priority: Some(1000),
    ///     fwmark: Some(1),
    ///     action: RuleAction::ToTable(TableId::new(100)),
    ///     ..Rule::default()
    /// })?;
    /// # Ok::<(), netplumb::Error>(())
    /// ```
    pub fn add_rule(&self, rule: &Rule) -> Result<()> {
        let m = rule_message(rule)?;
        self.ack(
            "add rule",
            RouteNetlinkMessage::NewRule(m),
            NLM_F_CREATE | NLM_F_EXCL,
        )
    }

    /// Deletes the first rule matching every field that `rule` sets. Equivalent to
    /// `ip [-6] rule del …`. No matching rule is an error for which
    /// [`Error::is_not_found`](crate::Error::is_not_found) is true.
    pub fn delete_rule(&self, rule: &Rule) -> Result<()> {
        let m = rule_message(rule)?;
        self.ack("delete rule", RouteNetlinkMessage::DelRule(m), 0)
    }

    /// Deletes the rule with priority `priority`, whatever it selects and does. Equivalent to
    /// `ip [-6] rule del pref N`. No such rule is an error for which [`Error::is_not_found`](crate::Error::is_not_found)
    /// is true.
    pub fn delete_rule_at(&self, family: IpFamily, priority: u32) -> Result<()> {
        let mut m = RuleMessage::default();
        m.header.family = address_family(family);
        m.header.action = NlAction::Unspec;
        m.attributes.push(RuleAttribute::Priority(priority));
        self.ack("delete rule", RouteNetlinkMessage::DelRule(m), 0)
    }

    /// Lists policy rules in priority order. Equivalent to
    /// `ip [-4|-6] rule show [table T] [pref N]` (both families by default, IPv4 first).
    pub fn rules(&self, filter: &RuleFilter) -> Result<Vec<Rule>> {
        let (req, decode) = rule_dump(filter);
        self.dump_frames(LIST_RULES, req, decode)
    }

    /// Lists policy rules as [`rules`](Handle::rules) does, decoding them as they arrive
    /// (see [`Dump`]).
    pub fn rules_iter(&self, filter: &RuleFilter) -> Result<Dump<'_, Rule>> {
        let (req, decode) = rule_dump(filter);
        self.dump_iter(LIST_RULES, req, decode)
    }
}

/// The request of a rule listing and the decoder that keeps what `filter` selects.
fn rule_dump(filter: &RuleFilter) -> (RouteNetlinkMessage, impl DecodeFrame<Rule> + 'static) {
    let mut req = RuleMessage::default();
    if let Some(f) = filter.family {
        req.header.family = address_family(f);
    }
    let filter = *filter;
    let decode = move |frame: &Frame<'_>| {
        if frame.ty != libc::RTM_NEWRULE {
            return Ok(None);
        }
        let Some(r) =
            rule_from_bytes(frame.payload).map_err(|e| Error::malformed(LIST_RULES, e))?
        else {
            return Ok(None);
        };
        let keep = filter.family.is_none_or(|f| r.family == Some(f))
            && filter
                .table
                .is_none_or(|t| r.action == RuleAction::ToTable(t))
            && filter.priority.is_none_or(|p| r.priority.unwrap_or(0) == p);
        Ok(keep.then_some(r))
    };
    (RouteNetlinkMessage::GetRule(req), decode)
}

/// # Policy rules in a batch
impl Batch<'_> {
    /// Queues `ip rule add …` (see [`Handle::add_rule`]); returns the request's index.
    pub fn add_rule(&mut self, rule: &Rule) -> usize {
        let msg = rule_message(rule).map(RouteNetlinkMessage::NewRule);
        self.push_result("add rule", msg, NLM_F_CREATE | NLM_F_EXCL)
    }

    /// Queues `ip rule del …` (see [`Handle::delete_rule`]); returns the request's index.
    pub fn delete_rule(&mut self, rule: &Rule) -> usize {
        let msg = rule_message(rule).map(RouteNetlinkMessage::DelRule);
        self.push_result("delete rule", msg, 0)
    }
}
