//! Nexthop messages (`RTM_NEWNEXTHOP`, `RTM_DELNEXTHOP`, `RTM_GETNEXTHOP`; linux/nexthop.h),
//! written and read by netplumb itself (`netlink-packet-route` does not know them), in
//! iproute2's attribute order. Every input is checked here, before anything is sent.

use std::collections::HashSet;
use std::net::IpAddr;
use std::time::Duration;

use super::types::{
    NewNexthop, NewNexthopKind, Nexthop, NexthopGroupMember, NexthopKind, ResilientGroup,
};
use crate::route::{NextHopFlags, RouteProtocol, RouteScope};
use crate::wire::attr::{attrs, ip_of, u16_at, u32_at, u32_of};
use crate::wire::kernel::rtnh_f;
use crate::wire::{af, ip_family, RawMessage};
use crate::{Error, IfIndex, IpFamily, LinkRef, Result};

pub(crate) const RTM_NEWNEXTHOP: u16 = 104;
pub(crate) const RTM_DELNEXTHOP: u16 = 105;
pub(crate) const RTM_GETNEXTHOP: u16 = 106;

/// `NHA_*` (linux/nexthop.h).
mod nha {
    pub const ID: u16 = 1;
    pub const GROUP: u16 = 2;
    pub const GROUP_TYPE: u16 = 3;
    pub const BLACKHOLE: u16 = 4;
    pub const OIF: u16 = 5;
    pub const GATEWAY: u16 = 6;
    pub const GROUPS: u16 = 9;
    pub const MASTER: u16 = 10;
    pub const FDB: u16 = 11;
    pub const RES_GROUP: u16 = 12;
}

/// `NHA_RES_GROUP_*`: a resilient group's settings, nested in `NHA_RES_GROUP`.
mod res {
    pub const BUCKETS: u16 = 1;
    pub const IDLE_TIMER: u16 = 2;
    pub const UNBALANCED_TIMER: u16 = 3;
    pub const UNBALANCED_TIME: u16 = 4;
}

/// `NEXTHOP_GRP_TYPE_RES`: a resilient group (multipath, 0, is the default and not sent).
const GROUP_TYPE_RESILIENT: u16 = 1;

/// Byte offsets of `struct nhmsg`.
mod field {
    pub const FAMILY: usize = 0;
    pub const SCOPE: usize = 1;
    pub const PROTOCOL: usize = 2;
    pub const FLAGS: std::ops::Range<usize> = 4..8;
    pub const LEN: usize = 8;
}

/// The bytes of one `struct nexthop_grp`: id (u32), weight - 1 (u8), two reserved fields.
const GROUP_ENTRY: usize = 8;

/// The most members a group may have: the kernel takes `NHA_GROUP` whole, and an attribute's
/// length is 16 bits.
pub(crate) const MAX_GROUP_MEMBERS: usize = (u16::MAX as usize - 4) / GROUP_ENTRY;

/// The kernel's clock ticks per second for the resilient timers (`clock_t`, `USER_HZ`).
const USER_HZ: u128 = 100;

fn nhmsg(family: u8, protocol: RouteProtocol, flags: u32) -> [u8; field::LEN] {
    let mut h = [0u8; field::LEN];
    h[field::FAMILY] = family;
    h[field::PROTOCOL] = protocol.0;
    h[field::FLAGS].copy_from_slice(&flags.to_ne_bytes());
    h
}

fn check_id(arg: &'static str, id: u32) -> Result<()> {
    if id == 0 {
        return Err(Error::invalid(
            arg,
            "nexthop ids start at 1 (0 is not an id)",
        ));
    }
    Ok(())
}

fn ticks(arg: &'static str, d: Duration) -> Result<u32> {
    u32::try_from(d.as_millis() / (1000 / USER_HZ)).map_err(|_| {
        Error::invalid(
            arg,
            format!("{d:?} does not fit the kernel's 32-bit count of hundredths of a second"),
        )
    })
}

fn address_bytes(ip: IpAddr) -> Vec<u8> {
    match ip {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    }
}

/// Checks a group's members: at least one, each id valid and not the group's own, no id
/// twice, weights 1 to 256.
fn check_members(id: u32, members: &[NexthopGroupMember]) -> Result<()> {
    if members.is_empty() {
        return Err(Error::invalid(
            "members",
            "a group needs at least one member",
        ));
    }
    if members.len() > MAX_GROUP_MEMBERS {
        return Err(Error::invalid(
            "members",
            format!(
                "{} members; a group holds at most {MAX_GROUP_MEMBERS}",
                members.len()
            ),
        ));
    }
    let mut seen = HashSet::with_capacity(members.len());
    for m in members {
        check_id("member id", m.id)?;
        if m.id == id {
            return Err(Error::invalid(
                "members",
                format!("group {id} cannot be a member of itself"),
            ));
        }
        if !seen.insert(m.id) {
            return Err(Error::invalid(
                "members",
                format!("nexthop {} is named twice", m.id),
            ));
        }
        if m.weight == 0 || m.weight > 256 {
            return Err(Error::invalid(
                "weight",
                format!("member {}: weight {} is outside 1-256", m.id, m.weight),
            ));
        }
    }
    Ok(())
}

/// The `RTM_NEWNEXTHOP` request for `n`; `index` resolves the device once the input is known
/// good.
pub(crate) fn nexthop_message(
    n: &NewNexthop<'_>,
    index: impl FnOnce(LinkRef<'_>) -> Result<IfIndex>,
) -> Result<RawMessage> {
    check_id("id", n.id)?;
    match &n.kind {
        NewNexthopKind::Single {
            gateway,
            dev,
            family,
            onlink,
        } => {
            let family = match (gateway, family) {
                (Some(g), Some(f)) if IpFamily::of(*g) != *f => {
                    return Err(Error::invalid(
                        "gateway",
                        format!("{g} is not of the nexthop's family ({f:?})"),
                    ))
                }
                (Some(g), _) => IpFamily::of(*g),
                (None, f) => f.unwrap_or(IpFamily::V4),
            };
            if n.fdb {
                if dev.is_some() {
                    return Err(Error::invalid(
                        "dev",
                        "an FDB nexthop has a gateway and no device",
                    ));
                }
                if gateway.is_none() {
                    return Err(Error::invalid("gateway", "an FDB nexthop needs a gateway"));
                }
                if *onlink {
                    return Err(Error::invalid("onlink", "an FDB nexthop has no device"));
                }
            } else if dev.is_none() {
                return Err(Error::invalid(
                    "dev",
                    "a nexthop needs a device (only FDB nexthops have a gateway alone)",
                ));
            }
            if *onlink && gateway.is_none() {
                return Err(Error::invalid("onlink", "onlink needs a gateway"));
            }
            let flags = if *onlink { rtnh_f::ONLINK } else { 0 };
            let mut m = RawMessage::new(RTM_NEWNEXTHOP, &nhmsg(af(family), n.protocol, flags));
            m.put_u32(nha::ID, n.id);
            if let Some(g) = gateway {
                m.put(nha::GATEWAY, &address_bytes(*g));
            }
            if let Some(d) = dev {
                m.put_u32(nha::OIF, index(*d)?.get());
            }
            if n.fdb {
                m.put_flag(nha::FDB);
            }
            Ok(m)
        }
        NewNexthopKind::Blackhole { family } => {
            if n.fdb {
                return Err(Error::invalid(
                    "fdb",
                    "a blackhole cannot be an FDB nexthop",
                ));
            }
            let mut m = RawMessage::new(RTM_NEWNEXTHOP, &nhmsg(af(*family), n.protocol, 0));
            m.put_u32(nha::ID, n.id).put_flag(nha::BLACKHOLE);
            Ok(m)
        }
        NewNexthopKind::Group { members, resilient } => {
            check_members(n.id, members)?;
            let settings = match resilient {
                Some(r) => {
                    if r.buckets == 0 {
                        return Err(Error::invalid("buckets", "a resilient group needs buckets"));
                    }
                    Some((
                        r.buckets,
                        ticks("idle_timer", r.idle_timer)?,
                        ticks("unbalanced_timer", r.unbalanced_timer)?,
                    ))
                }
                None => None,
            };
            let mut m = RawMessage::new(RTM_NEWNEXTHOP, &nhmsg(0, n.protocol, 0));
            m.put_u32(nha::ID, n.id);
            let mut group = Vec::with_capacity(members.len() * GROUP_ENTRY);
            for mem in members {
                group.extend_from_slice(&mem.id.to_ne_bytes());
                group.push((mem.weight - 1) as u8);
                group.extend_from_slice(&[0; 3]);
            }
            m.put(nha::GROUP, &group);
            if let Some((buckets, idle, unbalanced)) = settings {
                let nest = m.begin_nest(nha::RES_GROUP);
                m.put_u16(res::BUCKETS, buckets)
                    .put_u32(res::IDLE_TIMER, idle)
                    .put_u32(res::UNBALANCED_TIMER, unbalanced);
                m.end_nest(nest);
                m.put_u16(nha::GROUP_TYPE, GROUP_TYPE_RESILIENT);
            }
            if n.fdb {
                m.put_flag(nha::FDB);
            }
            Ok(m)
        }
    }
}

/// The request naming the nexthop `id`: `RTM_DELNEXTHOP` or the `RTM_GETNEXTHOP` of a look-up.
pub(crate) fn id_message(ty: u16, id: u32) -> Result<RawMessage> {
    check_id("id", id)?;
    let mut m = RawMessage::new(ty, &nhmsg(0, RouteProtocol::UNSPEC, 0));
    m.put_u32(nha::ID, id);
    Ok(m)
}

/// The `RTM_GETNEXTHOP` dump request, with the kernel-side filters iproute2 sends.
pub(crate) fn dump_message(
    family: Option<IpFamily>,
    dev: Option<IfIndex>,
    groups: bool,
    fdb: bool,
    master: Option<IfIndex>,
) -> RawMessage {
    let mut m = RawMessage::new(
        RTM_GETNEXTHOP,
        &nhmsg(family.map_or(0, af), RouteProtocol::UNSPEC, 0),
    );
    if let Some(d) = dev {
        m.put_u32(nha::OIF, d.get());
    }
    if groups {
        m.put_flag(nha::GROUPS);
    }
    if let Some(d) = master {
        m.put_u32(nha::MASTER, d.get());
    }
    if fdb {
        m.put_flag(nha::FDB);
    }
    m
}

fn duration_of_ticks(t: u64) -> Duration {
    Duration::from_millis(t.saturating_mul(1000 / USER_HZ as u64))
}

/// Decodes the payload of an `RTM_NEWNEXTHOP`/`RTM_DELNEXTHOP` message. Parts this version
/// does not know (encapsulations, statistics) are left out.
pub(crate) fn nexthop_from_bytes(b: &[u8]) -> std::result::Result<Nexthop, String> {
    if b.len() < field::LEN {
        return Err(format!("a {}-byte nexthop message", b.len()));
    }
    let family = ip_family(b[field::FAMILY]);
    let mut id = None;
    let mut gateway = None;
    let mut dev = None;
    let mut blackhole = false;
    let mut fdb = false;
    let mut members = None;
    let mut resilient = None;
    let mut unbalanced_time = None;
    for a in attrs(&b[field::LEN..]) {
        let (ty, v) = a?;
        match ty {
            nha::ID => id = u32_of(v),
            nha::GATEWAY => {
                let f = family.unwrap_or(if v.len() == 16 {
                    IpFamily::V6
                } else {
                    IpFamily::V4
                });
                gateway = Some(ip_of(f, v)?);
            }
            nha::OIF => dev = u32_of(v).and_then(IfIndex::new),
            nha::BLACKHOLE => blackhole = true,
            nha::FDB => fdb = true,
            nha::GROUP => {
                if v.len() % GROUP_ENTRY != 0 {
                    return Err(format!("a {}-byte nexthop group", v.len()));
                }
                members = Some(
                    v.chunks_exact(GROUP_ENTRY)
                        .map(|e| NexthopGroupMember {
                            id: u32_at(e, 0),
                            weight: u16::from(e[4]) + 1,
                        })
                        .collect::<Vec<_>>(),
                );
            }
            nha::RES_GROUP => {
                let mut r = ResilientGroup {
                    buckets: 0,
                    idle_timer: Duration::ZERO,
                    unbalanced_timer: Duration::ZERO,
                };
                for a in attrs(v) {
                    let (ty, v) = a?;
                    match ty {
                        res::BUCKETS if v.len() >= 2 => r.buckets = u16_at(v, 0),
                        res::IDLE_TIMER => {
                            r.idle_timer = duration_of_ticks(u32_of(v).unwrap_or(0).into())
                        }
                        res::UNBALANCED_TIMER => {
                            r.unbalanced_timer = duration_of_ticks(u32_of(v).unwrap_or(0).into())
                        }
                        res::UNBALANCED_TIME => {
                            if let Ok(t) = <[u8; 8]>::try_from(v) {
                                unbalanced_time = Some(duration_of_ticks(u64::from_ne_bytes(t)));
                            }
                        }
                        _ => {}
                    }
                }
                resilient = Some(r);
            }
            _ => {}
        }
    }
    let id = id.ok_or("a nexthop without an id")?;
    let kind = match members {
        Some(members) => NexthopKind::Group {
            members,
            resilient,
            unbalanced_time,
        },
        None if blackhole => NexthopKind::Blackhole,
        None => NexthopKind::Single { gateway, dev },
    };
    Ok(Nexthop {
        id,
        family,
        protocol: RouteProtocol(b[field::PROTOCOL]),
        scope: RouteScope::from(b[field::SCOPE]),
        flags: NextHopFlags::from_bits_retain(u32_at(b, field::FLAGS.start) as u8),
        fdb,
        kind,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(_: LinkRef<'_>) -> Result<IfIndex> {
        Ok(IfIndex::new(3).unwrap())
    }

    #[test]
    fn bad_input_is_refused_before_sending() {
        let gw: IpAddr = "10.0.0.2".parse().unwrap();
        let cases: Vec<(NewNexthop<'_>, &str)> = vec![
            (NewNexthop::via_dev(0, gw, "v0"), "id"),
            (
                NewNexthop {
                    kind: NewNexthopKind::Single {
                        gateway: Some(gw),
                        dev: None,
                        family: None,
                        onlink: false,
                    },
                    ..NewNexthop::blackhole(1, IpFamily::V4)
                },
                "dev",
            ),
            (NewNexthop::dev(1, IpFamily::V6, "v0").onlink(), "onlink"),
            (
                NewNexthop {
                    kind: NewNexthopKind::Single {
                        gateway: Some(gw),
                        dev: Some("v0".into()),
                        family: Some(IpFamily::V6),
                        onlink: false,
                    },
                    ..NewNexthop::blackhole(1, IpFamily::V4)
                },
                "gateway",
            ),
            (
                NewNexthop {
                    fdb: true,
                    ..NewNexthop::via_dev(1, gw, "v0")
                },
                "dev",
            ),
            (
                NewNexthop {
                    fdb: true,
                    ..NewNexthop::blackhole(1, IpFamily::V4)
                },
                "fdb",
            ),
            (NewNexthop::group(1, vec![]), "members"),
            (
                NewNexthop::group(1, vec![NexthopGroupMember::new(1)]),
                "members",
            ),
            (
                NewNexthop::group(
                    1,
                    vec![NexthopGroupMember::new(2), NexthopGroupMember::new(2)],
                ),
                "members",
            ),
            (
                NewNexthop::group(1, vec![NexthopGroupMember::new(0)]),
                "member id",
            ),
            (
                NewNexthop::group(1, vec![NexthopGroupMember::weighted(2, 0)]),
                "weight",
            ),
            (
                NewNexthop::group(1, vec![NexthopGroupMember::weighted(2, 257)]),
                "weight",
            ),
            (
                NewNexthop::resilient_group(
                    1,
                    vec![NexthopGroupMember::new(2)],
                    ResilientGroup {
                        buckets: 0,
                        ..ResilientGroup::default()
                    },
                ),
                "buckets",
            ),
            (
                NewNexthop::resilient_group(
                    1,
                    vec![NexthopGroupMember::new(2)],
                    ResilientGroup {
                        idle_timer: Duration::from_secs(50_000_000),
                        ..ResilientGroup::default()
                    },
                ),
                "idle_timer",
            ),
        ];
        for (n, arg) in cases {
            match nexthop_message(&n, index) {
                Err(Error::InvalidInput { arg: got, .. }) => assert_eq!(got, arg, "{n:?}"),
                other => panic!("{n:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_reported_group_decodes_with_weights_and_resilient_settings() {
        // The kernel's reply to `ip nexthop add id 11 group 1/2,3 type resilient buckets 8
        // idle_timer 120 unbalanced_timer 30` (as listed): id, group, type, resilient nest.
        let mut b = nhmsg(0, RouteProtocol::UNSPEC, 0).to_vec();
        let mut m = RawMessage::new(0, &[]);
        m.put_u32(nha::ID, 11);
        m.put(
            nha::GROUP,
            &[1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0],
        );
        m.put_u16(nha::GROUP_TYPE, 1);
        let n = m.begin_nest(nha::RES_GROUP);
        m.put_u16(res::BUCKETS, 8)
            .put_u32(res::IDLE_TIMER, 12000)
            .put_u32(res::UNBALANCED_TIMER, 3000)
            .put(res::UNBALANCED_TIME, &250u64.to_ne_bytes());
        m.end_nest(n);
        b.extend_from_slice(&m.body);
        let got = nexthop_from_bytes(&b).unwrap();
        assert_eq!(got.id, 11);
        assert_eq!(got.family, None);
        assert_eq!(
            got.kind,
            NexthopKind::Group {
                members: vec![
                    NexthopGroupMember::weighted(1, 1),
                    NexthopGroupMember::weighted(2, 3)
                ],
                resilient: Some(ResilientGroup {
                    buckets: 8,
                    idle_timer: Duration::from_secs(120),
                    unbalanced_timer: Duration::from_secs(30),
                }),
                unbalanced_time: Some(Duration::from_millis(2500)),
            }
        );
        // Broken lengths are errors, not panics.
        assert!(nexthop_from_bytes(&b[..5]).is_err());
        let mut bad = b.clone();
        bad[field::LEN + 8] = 11; // the group attribute's length: not a multiple of 8
        assert!(nexthop_from_bytes(&bad).is_err());
    }
}
