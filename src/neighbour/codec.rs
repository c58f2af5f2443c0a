//! Neighbour messages (`RTM_NEWNEIGH`, `RTM_DELNEIGH`, `RTM_GETNEIGH`) and neighbour-table
//! messages (`RTM_NEWNEIGHTBL`, `RTM_SETNEIGHTBL`), through `netlink-packet-route`.

use std::net::IpAddr;
use std::time::Duration;

use netlink_packet_route::neighbour::{
    NeighbourAddress, NeighbourAttribute, NeighbourFlags as NlFlags, NeighbourHeader,
    NeighbourMessage, NeighbourState as NlState,
};
use netlink_packet_route::neighbour_table::{
    NeighbourTableAttribute, NeighbourTableMessage, NeighbourTableParameter,
};
use netlink_packet_route::route::RouteType;
use netlink_packet_route::AddressFamily;

use super::types::{
    Neighbour, NeighbourFlags, NeighbourState, NeighbourTable, NeighbourTableParams, NewNeighbour,
};
use crate::wire::address_family;
use crate::{Error, IfIndex, IpFamily, MacAddr, Result};

pub(super) fn af(family: IpFamily) -> AddressFamily {
    address_family(family)
}

pub(super) fn table_name(family: IpFamily) -> &'static str {
    match family {
        IpFamily::V4 => "arp_cache",
        IpFamily::V6 => "ndisc_cache",
    }
}

/// Milliseconds, as the kernel takes them; it converts them to jiffies from a 32-bit value.
pub(super) fn ms(arg: &'static str, d: Duration) -> Result<u64> {
    u32::try_from(d.as_millis())
        .map(u64::from)
        .map_err(|_| Error::invalid(arg, format!("{d:?} is too long for the kernel's timer")))
}

impl NeighbourTableParams {
    pub(super) fn nlas(&self) -> Result<Vec<NeighbourTableParameter>> {
        use NeighbourTableParameter as P;
        let mut v = Vec::new();
        let counts = [
            (self.app_probes, P::AppProbes as fn(u32) -> P),
            (self.ucast_probes, P::UcastProbes),
            (self.mcast_probes, P::McastProbes),
            (self.mcast_reprobes, P::McastReprobes),
            (self.queue_len_bytes, P::QueueLenbytes),
            (self.proxy_queue_len, P::ProxyQlen),
        ];
        for (value, make) in counts {
            if let Some(n) = value {
                v.push(make(n));
            }
        }
        let times = [
            (
                "base_reachable_time",
                self.base_reachable_time,
                P::BaseReachableTime as fn(u64) -> P,
            ),
            ("retrans_time", self.retrans_time, P::RetransTime),
            ("gc_stale_time", self.gc_stale_time, P::GcStaletime),
            ("delay_probe_time", self.delay_probe_time, P::DelayProbeTime),
            ("anycast_delay", self.anycast_delay, P::AnycastDelay),
            ("proxy_delay", self.proxy_delay, P::ProxyDelay),
            ("locktime", self.locktime, P::Locktime),
        ];
        for (arg, value, make) in times {
            if let Some(d) = value {
                v.push(make(ms(arg, d)?));
            }
        }
        Ok(v)
    }

    pub(super) fn from_nlas(
        nlas: Vec<NeighbourTableParameter>,
    ) -> (Option<IfIndex>, NeighbourTableParams) {
        use NeighbourTableParameter as P;
        let mut p = NeighbourTableParams::default();
        let mut link = None;
        let t = |v: u64| Some(Duration::from_millis(v));
        for nla in nlas {
            match nla {
                P::Ifindex(i) => link = IfIndex::new(i),
                P::AppProbes(n) => p.app_probes = Some(n),
                P::UcastProbes(n) => p.ucast_probes = Some(n),
                P::McastProbes(n) => p.mcast_probes = Some(n),
                P::McastReprobes(n) => p.mcast_reprobes = Some(n),
                P::QueueLenbytes(n) => p.queue_len_bytes = Some(n),
                P::ProxyQlen(n) => p.proxy_queue_len = Some(n),
                P::BaseReachableTime(v) => p.base_reachable_time = t(v),
                P::RetransTime(v) => p.retrans_time = t(v),
                P::GcStaletime(v) => p.gc_stale_time = t(v),
                P::DelayProbeTime(v) => p.delay_probe_time = t(v),
                P::AnycastDelay(v) => p.anycast_delay = t(v),
                P::ProxyDelay(v) => p.proxy_delay = t(v),
                P::Locktime(v) => p.locktime = t(v),
                _ => {}
            }
        }
        (link, p)
    }
}

/// The `RTM_NEWNEIGH` body for an ordinary neighbour entry.
pub(crate) fn neighbour_message(n: &NewNeighbour, link: IfIndex) -> Result<NeighbourMessage> {
    if n.router && n.address.is_ipv4() {
        return Err(Error::invalid(
            "router",
            "the router flag is an IPv6 (NDP) notion; IPv4 entries cannot carry it",
        ));
    }
    if n.mac.is_none()
        && n.state.intersects(
            NeighbourState::PERMANENT | NeighbourState::REACHABLE | NeighbourState::STALE,
        )
        && !n.state.contains(NeighbourState::NOARP)
    {
        return Err(Error::invalid(
            "mac",
            format!("a {:?} entry needs a link-layer address", n.state),
        ));
    }
    let mut msg = neighbour_selector(n.address, link);
    msg.header.state = NlState::from(n.state.bits());
    let mut flags = NlFlags::empty();
    if n.router {
        flags |= NlFlags::Router;
    }
    if n.extern_learn {
        flags |= NlFlags::ExtLearned;
    }
    msg.header.flags = flags;
    if let Some(mac) = n.mac {
        msg.attributes
            .push(NeighbourAttribute::LinkLayerAddress(mac.0.to_vec()));
    }
    Ok(msg)
}

/// A message naming one entry: family, device and destination.
pub(super) fn neighbour_selector(address: IpAddr, link: IfIndex) -> NeighbourMessage {
    let mut msg = NeighbourMessage::default();
    msg.header = NeighbourHeader {
        family: af(IpFamily::of(address)),
        ifindex: link.get(),
        state: NlState::None,
        flags: NlFlags::empty(),
        kind: RouteType::Unspec,
    };
    msg.attributes
        .push(NeighbourAttribute::Destination(NeighbourAddress::from(
            address,
        )));
    msg
}

/// `struct ndmsg` (linux/neighbour.h): family, padding, ifindex, state, flags, type.
const NDMSG_LEN: usize = 12;
/// `NDA_DST`, `NDA_LLADDR` and `NDA_PROBES` (linux/neighbour.h).
const NDA_DST: u16 = 1;
const NDA_LLADDR: u16 = 2;
const NDA_PROBES: u16 = 4;

/// Decodes an ARP/NDP neighbour message (`RTM_NEWNEIGH`, `RTM_DELNEIGH`) from its payload
/// (what follows `struct nlmsghdr`), reading only what [`Neighbour`] holds. Entries of other
/// families (bridge FDB entries) and entries without a device are `None`; a message too short
/// for its header, with broken attributes, or without an address of its family is an error.
pub(crate) fn neighbour_from_bytes(
    payload: &[u8],
) -> std::result::Result<Option<Neighbour>, String> {
    use crate::wire::attr;
    if payload.len() < NDMSG_LEN {
        return Err(format!("a neighbour message of {} bytes", payload.len()));
    }
    let family = match i32::from(payload[0]) {
        libc::AF_INET => IpFamily::V4,
        libc::AF_INET6 => IpFamily::V6,
        _ => return Ok(None),
    };
    // The kernel allows proxy entries without a device; netplumb's entries always name one.
    let Some(link) = IfIndex::new(attr::u32_at(payload, 4)) else {
        return Ok(None);
    };
    let state = NeighbourState::from_bits_retain(attr::u16_at(payload, 8));
    let flags = NeighbourFlags::from_bits_retain(payload[10]);
    let (mut address, mut mac, mut probes) = (None, None, None);
    for at in attr::attrs(&payload[NDMSG_LEN..]) {
        let (ty, value) = at?;
        match ty {
            NDA_DST => address = Some(attr::ip_of(family, value)?),
            NDA_LLADDR => mac = MacAddr::from_slice(value).ok(),
            NDA_PROBES => probes = attr::u32_of(value),
            _ => {}
        }
    }
    let address = address.ok_or("a neighbour entry without an address")?;
    Ok(Some(Neighbour {
        link,
        address,
        mac,
        state,
        flags,
        probes,
    }))
}

/// Converts a dumped neighbour table (`RTM_NEWNEIGHTBL`); tables of other families are skipped.
pub(crate) fn neighbour_table_from_message(m: NeighbourTableMessage) -> Option<NeighbourTable> {
    let family = match m.header.family {
        AddressFamily::Inet => IpFamily::V4,
        AddressFamily::Inet6 => IpFamily::V6,
        _ => return None,
    };
    let mut t = NeighbourTable {
        family,
        name: String::new(),
        link: None,
        params: NeighbourTableParams::default(),
        gc_thresholds: None,
    };
    let mut thresh = [None; 3];
    for attr in m.attributes {
        match attr {
            NeighbourTableAttribute::Name(n) => t.name = n,
            NeighbourTableAttribute::Parms(p) => {
                (t.link, t.params) = NeighbourTableParams::from_nlas(p)
            }
            NeighbourTableAttribute::Threshold1(v) => thresh[0] = Some(v),
            NeighbourTableAttribute::Threshold2(v) => thresh[1] = Some(v),
            NeighbourTableAttribute::Threshold3(v) => thresh[2] = Some(v),
            _ => {}
        }
    }
    if let [Some(a), Some(b), Some(c)] = thresh {
        t.gc_thresholds = Some([a, b, c]);
    }
    Some(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The payload of `m` as the kernel would send it.
    fn bytes(m: &NeighbourMessage) -> Vec<u8> {
        use netlink_packet_core::Emitable;
        let mut b = vec![0; m.buffer_len()];
        m.emit(&mut b);
        b
    }

    #[test]
    fn neighbours_decode_from_their_bytes() {
        let mut m = NeighbourMessage::default();
        m.header.family = AddressFamily::Inet6;
        m.header.ifindex = 7;
        m.header.state = NlState::from(0x02);
        m.header.flags = NlFlags::Router;
        m.attributes = vec![
            NeighbourAttribute::Destination(NeighbourAddress::Inet6(
                "2001:db8::9".parse().unwrap(),
            )),
            NeighbourAttribute::LinkLayerAddress(vec![2, 0, 0, 0, 0, 9]),
            NeighbourAttribute::Probes(3),
            NeighbourAttribute::Vlan(5),
        ];
        let n = neighbour_from_bytes(&bytes(&m)).unwrap().unwrap();
        assert_eq!(n.link, IfIndex::new(7).unwrap());
        assert_eq!(n.address, "2001:db8::9".parse::<IpAddr>().unwrap());
        assert_eq!(n.mac, Some(MacAddr([2, 0, 0, 0, 0, 9])));
        assert_eq!(n.state, NeighbourState::REACHABLE);
        assert_eq!(n.flags, NeighbourFlags::ROUTER);
        assert_eq!(n.probes, Some(3));

        // An IPv4 entry without a MAC (incomplete), a bridge entry, a proxy without device.
        m.header.family = AddressFamily::Inet;
        m.attributes = vec![NeighbourAttribute::Destination(NeighbourAddress::Inet(
            "10.0.0.2".parse().unwrap(),
        ))];
        let n = neighbour_from_bytes(&bytes(&m)).unwrap().unwrap();
        assert_eq!((n.mac, n.probes), (None, None));
        m.header.family = AddressFamily::Bridge;
        assert_eq!(neighbour_from_bytes(&bytes(&m)), Ok(None));
        m.header.family = AddressFamily::Inet;
        m.header.ifindex = 0;
        assert_eq!(neighbour_from_bytes(&bytes(&m)), Ok(None));

        // Hostile: short, no address, an address of the other family's length.
        assert!(neighbour_from_bytes(&[2, 0, 0]).is_err());
        m.header.ifindex = 7;
        m.attributes.clear();
        assert!(neighbour_from_bytes(&bytes(&m)).is_err());
        m.attributes = vec![NeighbourAttribute::Destination(NeighbourAddress::Inet6(
            "2001:db8::9".parse().unwrap(),
        ))];
        assert!(neighbour_from_bytes(&bytes(&m)).is_err());
    }

    #[test]
    fn combined_states_survive_the_wire_types() {
        let s = NeighbourState::NOARP | NeighbourState::PERMANENT;
        let nl = NlState::from(s.bits());
        assert_eq!(NeighbourState::from_bits_retain(u16::from(nl)), s);
        assert_eq!(u16::from(NlState::from(0x80)), 0x80);
    }

    #[test]
    fn bad_combinations_are_refused_before_sending() {
        let one = IfIndex::new(1).unwrap();
        let n = NewNeighbour {
            router: true,
            ..NewNeighbour::new("10.0.0.1".parse().unwrap(), MacAddr::ZERO)
        };
        assert!(matches!(
            neighbour_message(&n, one),
            Err(Error::InvalidInput { arg: "router", .. })
        ));
        let n = NewNeighbour {
            mac: None,
            ..NewNeighbour::new("10.0.0.1".parse().unwrap(), MacAddr::ZERO)
        };
        assert!(matches!(
            neighbour_message(&n, one),
            Err(Error::InvalidInput { arg: "mac", .. })
        ));
        let n = NewNeighbour {
            mac: None,
            state: NeighbourState::NOARP | NeighbourState::PERMANENT,
            ..NewNeighbour::new("10.0.0.1".parse().unwrap(), MacAddr::ZERO)
        };
        assert!(neighbour_message(&n, one).is_ok());
    }
}
