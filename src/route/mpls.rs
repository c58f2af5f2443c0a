//! MPLS routes (`ip -f mpls route`): the label-switching table of a namespace (the kernel's
//! `mpls_router`; labels below `net.mpls.platform_labels` only, and only on devices with
//! `net.mpls.conf.DEV.input = 1`). Types, codec and operations together, as the object is
//! small; encoded and decoded through `netlink-packet-route`.

use std::net::IpAddr;

use netlink_packet_route::route::{
    MplsLabel, RouteAddress, RouteAttribute, RouteHeader, RouteMessage,
    RouteProtocol as NlProtocol, RouteScope as NlScope, RouteType as NlType, RouteVia,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use super::encode::{check_labels, label_stack, MAX_LABEL};
use super::RouteProtocol;
use crate::wire::{NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE};
use crate::{Error, Handle, IfIndex, LinkRef, Result};

/// Labels 0–15 are reserved (RFC 3032): the kernel refuses routes for them.
const FIRST_UNRESERVED: u32 = 16;

/// An MPLS route to add (`ip -f mpls route add LABEL [as NEW/…] via inet[6] GW dev DEV`):
/// packets arriving with `label` on top leave through `dev` towards `via`, that label
/// swapped for `out_labels` (popped when empty).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewMplsRoute<'a> {
    /// The incoming label (16 to 1,048,575, below `net.mpls.platform_labels`).
    pub label: u32,
    /// The labels that replace it (`as L1/L2`); empty pops it.
    pub out_labels: Vec<u32>,
    /// The next hop's address (`via inet GW` / `via inet6 GW`).
    pub via: Option<IpAddr>,
    /// The output device (`dev`).
    pub dev: LinkRef<'a>,
    /// Who installs it (`proto`); `boot` by default, like `ip`.
    pub protocol: RouteProtocol,
}

impl<'a> NewMplsRoute<'a> {
    /// `ip -f mpls route add LABEL via inet[6] VIA dev DEV` (the label popped).
    pub fn new(label: u32, via: IpAddr, dev: impl Into<LinkRef<'a>>) -> NewMplsRoute<'a> {
        NewMplsRoute {
            label,
            out_labels: Vec::new(),
            via: Some(via),
            dev: dev.into(),
            protocol: RouteProtocol::BOOT,
        }
    }
}

/// An MPLS route as the kernel lists it (`ip -f mpls route show`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MplsRoute {
    /// The incoming label.
    pub label: u32,
    /// The labels that replace it; empty when popped.
    pub out_labels: Vec<u32>,
    /// The next hop's address.
    pub via: Option<IpAddr>,
    /// The output device.
    pub dev: Option<IfIndex>,
    /// Who installed it.
    pub protocol: RouteProtocol,
}

fn check_label(label: u32) -> Result<()> {
    if !(FIRST_UNRESERVED..=MAX_LABEL).contains(&label) {
        return Err(Error::invalid(
            "label",
            format!("{label}: MPLS routes take labels {FIRST_UNRESERVED} to {MAX_LABEL} (0-15 are reserved)"),
        ));
    }
    Ok(())
}

fn header(label: u32) -> RouteMessage {
    let mut m = RouteMessage::default();
    m.header.address_family = AddressFamily::Mpls;
    m.header.destination_prefix_length = 20;
    m.header.table = RouteHeader::RT_TABLE_MAIN;
    m.header.scope = NlScope::Universe;
    m.header.kind = NlType::Unicast;
    m.attributes
        .push(RouteAttribute::Destination(RouteAddress::Mpls(MplsLabel {
            label,
            traffic_class: 0,
            bottom_of_stack: true,
            ttl: 0,
        })));
    m
}

pub(crate) fn mpls_route_message(r: &NewMplsRoute<'_>, dev: IfIndex) -> RouteMessage {
    let mut m = header(r.label);
    m.header.protocol = NlProtocol::from(r.protocol.0);
    if !r.out_labels.is_empty() {
        m.attributes
            .push(RouteAttribute::NewDestination(label_stack(&r.out_labels)));
    }
    if let Some(v) = r.via {
        m.attributes.push(RouteAttribute::Via(match v {
            IpAddr::V4(a) => RouteVia::Inet(a),
            IpAddr::V6(a) => RouteVia::Inet6(a),
        }));
    }
    m.attributes.push(RouteAttribute::Oif(dev.get()));
    m
}

fn mpls_route_from_message(m: RouteMessage) -> Option<MplsRoute> {
    if m.header.address_family != AddressFamily::Mpls {
        return None;
    }
    let mut r = MplsRoute {
        label: 0,
        out_labels: Vec::new(),
        via: None,
        dev: None,
        protocol: RouteProtocol(u8::from(m.header.protocol)),
    };
    for a in m.attributes {
        match a {
            RouteAttribute::Destination(RouteAddress::Mpls(l)) => r.label = l.label,
            RouteAttribute::NewDestination(ls) => {
                r.out_labels = ls.iter().map(|l| l.label).collect()
            }
            RouteAttribute::Via(RouteVia::Inet(a)) => r.via = Some(a.into()),
            RouteAttribute::Via(RouteVia::Inet6(a)) => r.via = Some(a.into()),
            RouteAttribute::Oif(i) => r.dev = IfIndex::new(i),
            _ => {}
        }
    }
    Some(r)
}

/// # MPLS routes
///
/// `ip -f mpls route`: the label-switching table (Linux's `mpls_router` module).
impl Handle {
    /// Adds an MPLS route. Equivalent to `ip -f mpls route add LABEL [as L1/L2] via inet[6]
    /// GW dev DEV`. The kernel needs `net.mpls.platform_labels` above the label and
    /// `net.mpls.conf.DEV.input` on the devices packets arrive on; a kernel without MPLS is
    /// [`Error::Unsupported`].
    pub fn add_mpls_route(&self, r: &NewMplsRoute<'_>) -> Result<()> {
        self.mpls_route("add mpls route", r, NLM_F_CREATE | NLM_F_EXCL)
    }

    /// Adds or replaces the MPLS route of `r.label`. Equivalent to `ip -f mpls route replace …`.
    pub fn replace_mpls_route(&self, r: &NewMplsRoute<'_>) -> Result<()> {
        self.mpls_route("replace mpls route", r, NLM_F_CREATE | NLM_F_REPLACE)
    }

    fn mpls_route(&self, op: &'static str, r: &NewMplsRoute<'_>, flags: u16) -> Result<()> {
        check_label(r.label)?;
        if !r.out_labels.is_empty() {
            check_labels("out_labels", &r.out_labels)?;
        }
        let dev = self.link_index(r.dev)?;
        let m = mpls_route_message(r, dev);
        self.ack(op, RouteNetlinkMessage::NewRoute(m), flags)
            .map_err(|e| unsupported(op, e))
    }

    /// Deletes the MPLS route of `label`. Equivalent to `ip -f mpls route del LABEL`.
    pub fn delete_mpls_route(&self, label: u32) -> Result<()> {
        let op = "delete mpls route";
        check_label(label)?;
        let mut m = header(label);
        m.header.scope = NlScope::Universe;
        self.ack(op, RouteNetlinkMessage::DelRoute(m), 0)
            .map_err(|e| unsupported(op, e))
    }

    /// Lists the MPLS routes. Equivalent to `ip -f mpls route show`.
    pub fn mpls_routes(&self) -> Result<Vec<MplsRoute>> {
        let op = "list mpls routes";
        let mut req = RouteMessage::default();
        req.header.address_family = AddressFamily::Mpls;
        self.dump(op, RouteNetlinkMessage::GetRoute(req), |m| match m {
            RouteNetlinkMessage::NewRoute(m) => Ok(mpls_route_from_message(m)),
            _ => Ok(None),
        })
        .map_err(|e| unsupported(op, e))
    }
}

/// The kernel answers `EAFNOSUPPORT` for MPLS requests without `mpls_router`.
fn unsupported(op: &'static str, e: Error) -> Error {
    match e.errno() {
        Some(errno @ nix::errno::Errno::EAFNOSUPPORT) => Error::Unsupported {
            op,
            hint: "the kernel has no MPLS support (module mpls_router)".into(),
            errno,
            message: e.kernel_message().map(str::to_string),
        },
        _ => e,
    }
}
