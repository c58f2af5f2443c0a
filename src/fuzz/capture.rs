//! The corpus's capture tool: real kernel output, one datagram per file, written to
//! `tests/corpus/`. Run as root:
//!
//! ```text
//! cargo test --release --lib fuzz::capture -- --ignored
//! ```
//!
//! Everything happens in a fresh unnamed namespace (the machine's own interfaces are never
//! touched): a monitor socket joins the groups netplumb's monitor uses, `ip`/`bridge` build a
//! representative set of objects, a plain netlink socket dumps every table netplumb lists, asks
//! one `route get`, and makes requests the kernel refuses (extended acks, capped and not, and an
//! error at the end of a dump); packets through a VXLAN device with `l2miss`/`l3miss` make the
//! kernel send its misses; some objects are deleted; then a sample of the notifications is kept
//! (the first of each message type and family). Files of an earlier capture are replaced;
//! `regress-*.bin` (the fuzzer's findings) are kept.

use std::io;
use std::net::{IpAddr, Ipv4Addr, UdpSocket};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use netlink_packet_route::address::AddressMessage;
use netlink_packet_route::link::{LinkAttribute, LinkExtentMask, LinkMessage};
use netlink_packet_route::neighbour::{NeighbourFlags, NeighbourMessage};
use netlink_packet_route::neighbour_table::NeighbourTableMessage;
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteProtocol, RouteScope, RouteType,
};
use netlink_packet_route::rule::RuleMessage;
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use netlink_sys::{protocols::NETLINK_ROUTE, Socket};

use super::CORPUS;
use crate::wire::{self, NLMSG_DONE, NLMSG_ERROR, NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST};
use crate::NetNs;

/// The objects: a veth pair, a bridge with options, a port and VLANs; VXLAN devices with flood
/// and unicast FDB entries (one for misses); a macvlan; addresses with peers, labels,
/// lifetimes, metrics; routes (gateways, ECMP with weights, blackhole, unreachable, prohibit,
/// IPv6, tables 100 and 1000, metrics, onlink, a preferred source); policy rules of both
/// families; neighbours (permanent, stale, noarp, router, proxy); neighbour-table parameters.
const SETUP: &[&str] = &[
    "ip link set lo up",
    "ip link add v0 address 02:00:00:00:00:01 type veth peer name v1",
    "ip link add br0 type bridge stp_state 0 forward_delay 400 hello_time 300 max_age 2500 \
     ageing_time 20000 mcast_snooping 1 vlan_default_pvid 1",
    "ip link set v1 master br0",
    "ip link set br0 up",
    "ip link set v1 up",
    "ip link set v0 up",
    "bridge link set dev v1 cost 7 priority 5 guard on learning off",
    "ip link add vx0 type vxlan id 42 local 192.0.2.1 dstport 4789 nolearning ttl 16",
    "ip link set vx0 up",
    "bridge fdb append 00:00:00:00:00:00 dev vx0 dst 192.0.2.2",
    "bridge fdb append 00:00:00:00:00:00 dev vx0 dst 192.0.2.3",
    "bridge fdb add 02:00:00:00:42:01 dev vx0 dst 192.0.2.4 vni 4200 port 4790 self permanent",
    "bridge fdb add 02:00:00:00:00:0b dev v1 master static",
    "ip link add vxm type vxlan id 43 dstport 4790 proxy l2miss l3miss nolearning",
    "ip addr add 10.77.0.1/24 dev vxm",
    "ip link set vxm up",
    "ip neigh add 10.77.0.8 lladdr 02:00:00:00:77:08 dev vxm nud permanent",
    "ip link add mv0 link v0 type macvlan mode bridge",
    "ip link set mv0 up",
    "ip addr add 10.0.0.1/24 brd + dev v0 label v0:main",
    "ip addr add 10.1.0.1 peer 10.1.0.2/32 dev v0",
    "ip addr add 10.2.0.1/24 dev v0 valid_lft 600 preferred_lft 300 metric 50",
    "ip addr add 2001:db8::1/64 dev v0 nodad",
    "ip addr add 2001:db8:1::1/64 dev v0 nodad valid_lft 3600 preferred_lft 1800",
    "ip addr add 10.3.0.1/24 dev mv0",
    "ip route add 10.10.0.0/16 via 10.0.0.2 proto static metric 10",
    "ip route add 10.20.0.0/16 proto bird nexthop via 10.0.0.2 weight 3 nexthop via 10.0.0.3 weight 1",
    "ip route add blackhole 10.30.0.0/16",
    "ip route add unreachable 10.31.0.0/16",
    "ip route add prohibit 10.32.0.0/16",
    "ip route add 10.40.0.0/16 via 10.0.0.2 table 1000",
    "ip route add 10.41.0.0/16 via 10.0.0.2 table 100",
    "ip route add 10.50.0.0/16 via 10.0.0.2 mtu lock 1400 advmss 1360 rtt 100ms initcwnd 10 \
     congctl reno",
    "ip route add 10.51.0.0/16 dev v0 src 10.0.0.1 scope link tos 0x10",
    "ip route add 10.80.0.0/16 via 10.99.0.1 dev v0 onlink",
    "ip -6 route add 2001:db8:100::/48 via 2001:db8::2 metric 1024",
    "ip -6 route add 2001:db8:200::/48 nexthop via 2001:db8::2 dev v0 weight 2 \
     nexthop via 2001:db8::3 dev v0",
    "ip -6 route add blackhole 2001:db8:dead::/48",
    "ip -6 route add 2001:db8:300::/48 via 2001:db8::2 table 1000",
    "ip rule add from 10.0.0.0/8 to 192.168.0.0/16 table 1000 pref 100",
    "ip rule add fwmark 0x10/0xff lookup 100 pref 200",
    "ip rule add iif v0 oif v1 table 100 pref 300",
    "ip rule add not from 172.16.0.0/12 table main suppress_prefixlength 0 pref 400",
    "ip rule add pref 500 blackhole",
    "ip rule add pref 600 goto 700",
    "ip rule add pref 700 tos 0x10 protocol bird prohibit",
    "ip -6 rule add from 2001:db8::/32 table 1000 pref 100",
    "ip -6 rule add to 2001:db8:100::/48 unreachable pref 200",
    "ip neigh add 10.0.0.2 lladdr 02:00:00:00:00:02 dev v0 nud permanent",
    "ip neigh add 10.0.0.3 lladdr 02:00:00:00:00:03 dev v0 nud stale",
    "ip neigh add 10.0.0.4 lladdr 02:00:00:00:00:04 dev v0 nud noarp",
    "ip -6 neigh add 2001:db8::2 lladdr 02:00:00:00:00:02 dev v0 router nud reachable",
    "ip neigh add proxy 10.0.0.100 dev v0",
    "ip -6 neigh add proxy 2001:db8::100 dev v0",
    "ip ntable change name arp_cache dev v0 app_probes 3 queue 10 base_reachable 60000",
    "ip ntable change name ndisc_cache dev v0 ucast_probes 5",
];

/// Objects not every kernel or iproute2 has (modules, config options): tried, not required.
const OPTIONAL: &[&str] = &[
    "ip link set br0 type bridge vlan_filtering 1",
    "bridge vlan add vid 10-20 dev v1",
    "bridge vlan add vid 30 dev v1 pvid untagged",
    "bridge fdb add 02:00:00:00:00:0c dev v1 master static vlan 10",
    "ip link add vx6 type vxlan id 60 local 2001:db8::1 dstport 4789",
    "bridge fdb append 00:00:00:00:00:00 dev vx6 dst 2001:db8::99",
    "ip link add vrf-a type vrf table 10",
    "ip link add ipip0 type ipip local 192.0.2.1 remote 192.0.2.9",
    "ip route add 10.60.0.0/16 via inet6 fe80::1 dev v0",
    "ip nexthop add id 7 via 10.0.0.2 dev v0",
    "ip route add 10.70.0.0/16 nhid 7",
    "ip nexthop add id 8 via 10.0.0.3 dev v0 onlink",
    "ip nexthop add id 9 group 7,2/8,3",
    "ip nexthop add id 10 group 7/8 type resilient buckets 8 idle_timer 60 unbalanced_timer 30",
    "ip nexthop add id 11 blackhole",
    "ip route add 10.71.0.0/16 nhid 9",
    "sysctl -w net.ipv4.conf.v0.forwarding=1",
    "sysctl -w net.ipv6.conf.v0.forwarding=1",
    "ip neigh add 10.0.0.5 lladdr 02:00:00:00:00:05 dev v0 extern_learn",
];

/// Changes after the dumps, for notifications of removals and changes.
const TEARDOWN: &[&str] = &[
    "ip route del 10.10.0.0/16",
    "ip -6 route del 2001:db8:100::/48",
    "ip addr del 10.2.0.1/24 dev v0",
    "ip -6 addr del 2001:db8:1::1/64 dev v0",
    "ip neigh del 10.0.0.3 dev v0",
    "bridge fdb del 02:00:00:00:42:01 dev vx0 self",
    "ip rule del pref 500",
    "ip -6 rule del pref 200",
    "ip link set v0 mtu 1400",
    "ip link del mv0",
];

/// The `RTNLGRP_*` groups of netplumb's monitor (`Groups::ALL`).
const GROUPS: &[u32] = &[
    libc::RTNLGRP_LINK,
    libc::RTNLGRP_NEIGH,
    libc::RTNLGRP_IPV4_IFADDR,
    libc::RTNLGRP_IPV4_ROUTE,
    libc::RTNLGRP_IPV4_RULE,
    libc::RTNLGRP_IPV6_IFADDR,
    libc::RTNLGRP_IPV6_ROUTE,
    libc::RTNLGRP_IPV6_RULE,
    libc::RTNLGRP_NEXTHOP,
    libc::RTNLGRP_IPV4_NETCONF,
    libc::RTNLGRP_IPV6_NETCONF,
];

fn sh(cmd: &str, required: bool) {
    let args: Vec<&str> = cmd.split_whitespace().collect();
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap_or_else(|e| panic!("{cmd}: {e}"));
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!required, "{cmd}: {err}");
        println!("capture: optional `{cmd}` failed: {}", err.trim());
    }
}

/// A plain request socket: each request's reply, datagram by datagram.
struct Requests {
    socket: Socket,
    seq: u32,
}

impl Requests {
    fn new() -> io::Result<Requests> {
        let mut socket = Socket::new(NETLINK_ROUTE)?;
        socket.bind_auto()?;
        socket.set_ext_ack(true)?;
        Ok(Requests { socket, seq: 0 })
    }

    /// Sends `msg` and returns every datagram of the reply, up to the one that ends it (an
    /// error, an acknowledgement or the end of a dump).
    fn ask(&mut self, msg: RouteNetlinkMessage, flags: u16) -> Vec<Vec<u8>> {
        self.seq += 1;
        let mut tx = Vec::new();
        wire::encode(msg, NLM_F_REQUEST | flags, &mut tx).expect("encode");
        wire::set_seq(&mut tx, 0, self.seq);
        self.socket.send(&tx, 0).expect("send");
        let mut out = Vec::new();
        loop {
            let mut rx = Vec::with_capacity(1 << 20);
            self.socket.recv(&mut rx, 0).expect("recv");
            let end = wire::frames(&rx)
                .map_while(Result::ok)
                .any(|f| f.seq == self.seq && matches!(f.ty, NLMSG_ERROR | NLMSG_DONE));
            out.push(rx);
            if end {
                return out;
            }
        }
    }
}

fn ifindex(name: &str) -> u32 {
    nix::net::if_::if_nametoindex(name).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// `RTM_NEWLINK` setting `name`'s MTU.
fn set_mtu(name: &str, mtu: u32) -> RouteNetlinkMessage {
    let mut m = LinkMessage::default();
    m.header.index = ifindex(name);
    m.attributes.push(LinkAttribute::Mtu(mtu));
    RouteNetlinkMessage::SetLink(m)
}

fn route_to(dst: Ipv4Addr, len: u8, oif: Option<u32>) -> RouteMessage {
    let mut m = RouteMessage::default();
    m.header.address_family = AddressFamily::Inet;
    m.header.destination_prefix_length = len;
    m.header.table = RouteHeader::RT_TABLE_MAIN;
    m.header.protocol = RouteProtocol::Static;
    m.header.scope = RouteScope::Universe;
    m.header.kind = RouteType::Unicast;
    m.attributes
        .push(RouteAttribute::Destination(RouteAddress::Inet(dst)));
    if let Some(i) = oif {
        m.attributes.push(RouteAttribute::Oif(i));
    }
    m
}

fn family_name(af: u8) -> String {
    match i32::from(af) {
        libc::AF_UNSPEC => "unspec".into(),
        libc::AF_INET => "inet".into(),
        libc::AF_INET6 => "inet6".into(),
        libc::AF_BRIDGE => "bridge".into(),
        other => format!("af{other}"),
    }
}

fn type_name(ty: u16) -> String {
    match ty {
        libc::RTM_NEWLINK => "newlink".into(),
        libc::RTM_DELLINK => "dellink".into(),
        libc::RTM_NEWADDR => "newaddr".into(),
        libc::RTM_DELADDR => "deladdr".into(),
        libc::RTM_NEWROUTE => "newroute".into(),
        libc::RTM_DELROUTE => "delroute".into(),
        libc::RTM_NEWNEIGH => "newneigh".into(),
        libc::RTM_DELNEIGH => "delneigh".into(),
        libc::RTM_GETNEIGH => "getneigh".into(),
        libc::RTM_NEWRULE => "newrule".into(),
        crate::nexthop::RTM_NEWNEXTHOP => "newnexthop".into(),
        crate::netconf::RTM_NEWNETCONF => "newnetconf".into(),
        crate::nexthop::RTM_DELNEXTHOP => "delnexthop".into(),
        libc::RTM_DELRULE => "delrule".into(),
        other => format!("type{other}"),
    }
}

/// Everything captured, by file name.
type Files = Vec<(String, Vec<u8>)>;

fn add_all(files: &mut Files, prefix: &str, datagrams: Vec<Vec<u8>>) {
    for (i, d) in datagrams.into_iter().enumerate() {
        files.push((format!("{prefix}-{i}.bin"), d));
    }
}

fn capture_in_namespace() -> io::Result<Files> {
    let mut files = Files::new();
    let mut mon = Socket::new(NETLINK_ROUTE)?;
    mon.bind_auto()?;
    {
        use nix::sys::socket::{setsockopt, sockopt};
        setsockopt(&mon, sockopt::RcvBufForce, &(16 << 20)).map_err(io::Error::from)?;
    }
    for g in GROUPS {
        mon.add_membership(*g)?;
    }
    for cmd in SETUP {
        sh(cmd, true);
    }
    for cmd in OPTIONAL {
        sh(cmd, false);
    }

    let mut rq = Requests::new()?;
    // The dumps netplumb makes (links, bridge VLANs, addresses, routes, rules, neighbours,
    // proxies, FDB, neighbour tables).
    let dump = |rq: &mut Requests, msg| rq.ask(msg, NLM_F_DUMP);
    add_all(
        &mut files,
        "dump-link",
        dump(
            &mut rq,
            RouteNetlinkMessage::GetLink(LinkMessage::default()),
        ),
    );
    let mut m = LinkMessage::default();
    m.header.interface_family = AddressFamily::Bridge;
    m.attributes.push(LinkAttribute::ExtMask(vec![
        LinkExtentMask::BrvlanCompressed,
    ]));
    add_all(
        &mut files,
        "dump-bridge-vlan",
        dump(&mut rq, RouteNetlinkMessage::GetLink(m)),
    );
    add_all(
        &mut files,
        "dump-addr",
        dump(
            &mut rq,
            RouteNetlinkMessage::GetAddress(AddressMessage::default()),
        ),
    );
    add_all(
        &mut files,
        "dump-route",
        dump(
            &mut rq,
            RouteNetlinkMessage::GetRoute(RouteMessage::default()),
        ),
    );
    add_all(
        &mut files,
        "dump-rule",
        dump(
            &mut rq,
            RouteNetlinkMessage::GetRule(RuleMessage::default()),
        ),
    );
    for (name, family) in [
        ("dump-neigh-inet", AddressFamily::Inet),
        ("dump-neigh-inet6", AddressFamily::Inet6),
        ("dump-fdb", AddressFamily::Bridge),
    ] {
        let mut m = NeighbourMessage::default();
        m.header.family = family;
        add_all(
            &mut files,
            name,
            dump(&mut rq, RouteNetlinkMessage::GetNeighbour(m)),
        );
    }
    let mut m = NeighbourMessage::default();
    m.header.flags = NeighbourFlags::Proxy;
    add_all(
        &mut files,
        "dump-neigh-proxy",
        dump(&mut rq, RouteNetlinkMessage::GetNeighbour(m)),
    );
    add_all(
        &mut files,
        "dump-ntable",
        dump(
            &mut rq,
            RouteNetlinkMessage::GetNeighbourTable(NeighbourTableMessage::default()),
        ),
    );

    // A look-up: `ip route get 10.20.1.1` (reply and acknowledgement).
    add_all(
        &mut files,
        "reply-route-get",
        rq.ask(
            RouteNetlinkMessage::GetRoute(route_to(Ipv4Addr::new(10, 20, 1, 1), 32, None)),
            NLM_F_ACK,
        ),
    );
    // An acknowledgement, and refusals with extended acks.
    add_all(&mut files, "ack", rq.ask(set_mtu("v0", 1450), NLM_F_ACK));
    add_all(
        &mut files,
        "error-extack-mtu",
        rq.ask(set_mtu("v0", 100_000), NLM_F_ACK),
    );
    let dev = ifindex("v0");
    add_all(
        &mut files,
        "error-extack-route-prefix",
        rq.ask(
            RouteNetlinkMessage::NewRoute(route_to(Ipv4Addr::new(10, 0, 0, 1), 8, Some(dev))),
            NLM_F_ACK | wire::NLM_F_CREATE | wire::NLM_F_EXCL,
        ),
    );
    rq.socket.set_cap_ack(true)?;
    add_all(
        &mut files,
        "error-extack-capped",
        rq.ask(set_mtu("v0", 100_000), NLM_F_ACK),
    );
    rq.socket.set_cap_ack(false)?;
    rq.socket.set_ext_ack(false)?;
    add_all(
        &mut files,
        "error-plain-exists",
        rq.ask(
            RouteNetlinkMessage::NewRoute(route_to(Ipv4Addr::new(10, 30, 0, 0), 16, Some(dev))),
            NLM_F_ACK | wire::NLM_F_CREATE | wire::NLM_F_EXCL,
        ),
    );
    rq.socket.set_ext_ack(true)?;
    // Strict checking: a route dump with a header the kernel refuses ends in an error with an
    // extended ack.
    rq.socket.set_netlink_get_strict_chk(true)?;
    let mut bad = RouteMessage::default();
    bad.header.destination_prefix_length = 8;
    bad.header.scope = RouteScope::Link;
    add_all(
        &mut files,
        "error-strict-dump",
        dump(&mut rq, RouteNetlinkMessage::GetRoute(bad)),
    );

    // VXLAN misses: an unknown neighbour (L3, by the proxy's ARP reduction) and a known
    // neighbour whose MAC the FDB lacks (L2).
    let udp = UdpSocket::bind("0.0.0.0:0")?;
    for dst in [[10, 77, 0, 9], [10, 77, 0, 8]] {
        let _ = udp.send_to(b"miss", (IpAddr::from(dst), 9));
        std::thread::sleep(Duration::from_millis(100));
    }
    for cmd in TEARDOWN {
        sh(cmd, true);
    }
    std::thread::sleep(Duration::from_millis(200));

    // The notifications: the first of each type and family (two of links), and the misses.
    mon.set_non_blocking(true)?;
    let mut seen: Vec<(u16, u8)> = Vec::new();
    let (mut l2, mut l3) = (false, false);
    loop {
        let mut rx = Vec::with_capacity(1 << 20);
        match mon.recv(&mut rx, 0) {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) => return Err(e),
        }
        let Some(Ok(f)) = wire::frames(&rx).next() else {
            continue;
        };
        let family = f.payload.first().copied().unwrap_or(0);
        if f.ty == libc::RTM_GETNEIGH {
            // An L3 miss names an address (NDA_DST); an L2 miss only a MAC.
            let has_dst = crate::wire::attr::attrs(f.payload.get(12..).unwrap_or(&[]))
                .map_while(Result::ok)
                .any(|(t, _)| t == libc::NDA_DST);
            let (flag, name) = if has_dst {
                (&mut l3, "event-miss-l3")
            } else {
                (&mut l2, "event-miss-l2")
            };
            if !*flag {
                *flag = true;
                files.push((format!("{name}.bin"), rx));
            }
            continue;
        }
        let keep = if f.ty == libc::RTM_NEWLINK { 2 } else { 1 };
        let n = seen.iter().filter(|k| **k == (f.ty, family)).count();
        if n < keep {
            seen.push((f.ty, family));
            let name = format!("event-{}-{}-{n}.bin", type_name(f.ty), family_name(family));
            files.push((name, rx));
        }
    }
    if !(l2 && l3) {
        println!("capture: misses seen: L2 {l2}, L3 {l3}");
    }
    Ok(files)
}

#[test]
#[ignore = "captures the fuzz corpus from the kernel: as root, see tests/corpus/README.md"]
fn capture() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "the capture needs root (CAP_NET_ADMIN in a new namespace)"
    );
    let ns = NetNs::new_unnamed().unwrap();
    let files = ns.run(capture_in_namespace).unwrap().unwrap();
    let dir = Path::new(CORPUS);
    std::fs::create_dir_all(dir).unwrap();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if name.ends_with(".bin") && !name.starts_with("regress-") {
            std::fs::remove_file(&p).unwrap();
        }
    }
    let mut total = 0;
    for (name, bytes) in &files {
        std::fs::write(dir.join(name), bytes).unwrap();
        total += bytes.len();
        println!("capture: {name}: {} bytes", bytes.len());
    }
    println!("capture: {} files, {total} bytes", files.len());
}
