//! Root tests for WireGuard: the link over rtnetlink and the device's configuration over
//! generic netlink, checked against `wg show DEV dump` (wireguard-tools), and a datagram through
//! a tunnel between two namespaces. Kernels without the wireguard module skip them.

mod common;

use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::TestNs;
use netplumb::link::{LinkKind, NewVeth, NewWireguard};
use netplumb::wireguard::{
    Wireguard, WireguardConfig, WireguardKey, WireguardPeerConfig, WireguardSecret,
};
use netplumb::{Error, NetNs};

/// `wg ARGS…` inside `ns`, its standard output.
fn wg(ns: &NetNs, args: &[&str], stdin: Option<&str>) -> String {
    let out = ns
        .run(|| {
            let mut child = Command::new("wg")
                .args(args)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()?;
            if let Some(input) = stdin {
                child.stdin.take().unwrap().write_all(input.as_bytes())?;
            }
            drop(child.stdin.take());
            child.wait_with_output()
        })
        .unwrap()
        .expect("wg runs (wireguard-tools)");
    assert!(
        out.status.success(),
        "wg {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// A key pair made by `wg genkey` and `wg pubkey`.
fn keypair(ns: &NetNs) -> (WireguardSecret, WireguardKey) {
    let private = wg(ns, &["genkey"], None);
    let public = wg(ns, &["pubkey"], Some(&private));
    (private.parse().unwrap(), public.parse().unwrap())
}

/// Checks netplumb's reading of a device against `wg show DEV dump`, line by line.
fn assert_matches_wg_dump(ns: &NetNs, dev: &str, w: &Wireguard) {
    let dump = wg(ns, &["show", dev, "dump"], None);
    let mut lines = dump.lines();
    let head: Vec<&str> = lines.next().unwrap().split('\t').collect();
    assert_eq!(
        head[0],
        w.private_key
            .as_ref()
            .map_or("(none)".into(), |k| k.expose_base64())
    );
    assert_eq!(
        head[1],
        w.public_key.map_or("(none)".into(), |k| k.to_string())
    );
    assert_eq!(head[2], w.listen_port.to_string());
    let fwmark = if w.fwmark == 0 {
        "off".into()
    } else {
        format!("0x{:x}", w.fwmark)
    };
    assert_eq!(head[3], fwmark);
    let peers: Vec<Vec<&str>> = lines.map(|l| l.split('\t').collect()).collect();
    assert_eq!(peers.len(), w.peers.len(), "{dump}");
    for (line, p) in peers.iter().zip(&w.peers) {
        assert_eq!(line[0], p.public_key.to_string());
        assert_eq!(
            line[1],
            p.preshared_key
                .as_ref()
                .map_or("(none)".into(), |k| k.expose_base64())
        );
        assert_eq!(
            line[2],
            p.endpoint.map_or("(none)".into(), |e| e.to_string())
        );
        let ips: Vec<String> = p.allowed_ips.iter().map(|n| n.to_string()).collect();
        let ips = if ips.is_empty() {
            "(none)".into()
        } else {
            ips.join(",")
        };
        assert_eq!(line[3], ips);
        let handshake = p.last_handshake.map_or(0, |t| {
            t.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
        });
        assert_eq!(line[4], handshake.to_string());
        assert_eq!(line[5], p.rx_bytes.to_string());
        assert_eq!(line[6], p.tx_bytes.to_string());
        let keepalive = p
            .persistent_keepalive
            .map_or("off".into(), |k| k.as_secs().to_string());
        assert_eq!(line[7], keepalive);
    }
}

#[test]
fn wireguard_device_configured_and_read_back_as_wg_shows_it() {
    require_root!();
    let t = TestNs::new();
    let h = &t.handle;
    skip_if_unsupported!(h.add_wireguard(&NewWireguard {
        mtu: Some(1400),
        ..NewWireguard::new("wg0")
    }))
    .unwrap();
    let ip = t.ip_link("wg0").unwrap();
    assert_eq!(ip["linkinfo"]["info_kind"], "wireguard");
    assert_eq!(ip["mtu"], 1400);
    assert_eq!(h.link("wg0").unwrap().kind, Some(LinkKind::Wireguard));

    // A fresh device: no key, no peers.
    let w = h.wireguard("wg0").unwrap();
    assert_eq!(w.name, "wg0");
    assert!(w.private_key.is_none() && w.peers.is_empty());
    assert_matches_wg_dump(&t.ns, "wg0", &w);

    let (private, public) = keypair(&t.ns);
    let (_, peer1) = keypair(&t.ns);
    let (_, peer2) = keypair(&t.ns);
    let psk: WireguardSecret = wg(&t.ns, &["genpsk"], None).parse().unwrap();
    h.set_wireguard(
        "wg0",
        &WireguardConfig {
            private_key: Some(private.clone()),
            listen_port: Some(51820),
            fwmark: Some(0x42),
            peers: vec![
                WireguardPeerConfig {
                    preshared_key: Some(psk.clone()),
                    endpoint: Some("192.0.2.2:51820".parse().unwrap()),
                    persistent_keepalive: Some(Duration::from_secs(25)),
                    allowed_ips: vec![
                        "10.0.0.2/32".parse().unwrap(),
                        "fd00:1::/64".parse().unwrap(),
                    ],
                    ..WireguardPeerConfig::new(peer1)
                },
                WireguardPeerConfig {
                    endpoint: Some("[fd00::3]:51821".parse().unwrap()),
                    allowed_ips: vec!["10.0.0.3/32".parse().unwrap()],
                    ..WireguardPeerConfig::new(peer2)
                },
            ],
            ..WireguardConfig::default()
        },
    )
    .unwrap();
    let w = h.wireguard("wg0").unwrap();
    assert_eq!(w.private_key.as_ref(), Some(&private));
    assert_eq!(
        w.public_key,
        Some(public),
        "the kernel derived wg pubkey's key"
    );
    assert_eq!((w.listen_port, w.fwmark), (51820, 0x42));
    assert_eq!(w.peers.len(), 2);
    let p = w.peers.iter().find(|p| p.public_key == peer1).unwrap();
    assert_eq!(p.preshared_key.as_ref(), Some(&psk));
    assert_eq!(p.persistent_keepalive, Some(Duration::from_secs(25)));
    assert_eq!(p.allowed_ips.len(), 2);
    assert!(p.last_handshake.is_none());
    assert_matches_wg_dump(&t.ns, "wg0", &w);
    // The secrets never print.
    let shown = format!("{w:?}");
    assert!(!shown.contains(&private.expose_base64()) && !shown.contains(&psk.expose_base64()));
    assert!(shown.contains(&public.to_string()));

    // Allowed IPs: added to by default, replaced with replace_allowed_ips.
    let change = |ips: &[&str], replace: bool| WireguardConfig {
        peers: vec![WireguardPeerConfig {
            replace_allowed_ips: replace,
            allowed_ips: ips.iter().map(|s| s.parse().unwrap()).collect(),
            ..WireguardPeerConfig::new(peer2)
        }],
        ..WireguardConfig::default()
    };
    h.set_wireguard("wg0", &change(&["10.0.3.0/24"], false))
        .unwrap();
    let ips = |h: &netplumb::Handle| {
        let w = h.wireguard("wg0").unwrap();
        let p = w.peers.iter().find(|p| p.public_key == peer2).unwrap();
        let mut v: Vec<String> = p.allowed_ips.iter().map(|n| n.to_string()).collect();
        v.sort();
        v
    };
    assert_eq!(ips(h), ["10.0.0.3/32", "10.0.3.0/24"]);
    h.set_wireguard("wg0", &change(&["10.0.4.0/24"], true))
        .unwrap();
    assert_eq!(ips(h), ["10.0.4.0/24"]);

    // A peer removed; then replace_peers leaves only the peers listed.
    h.set_wireguard(
        "wg0",
        &WireguardConfig {
            peers: vec![WireguardPeerConfig::remove(peer1)],
            ..WireguardConfig::default()
        },
    )
    .unwrap();
    let w = h.wireguard("wg0").unwrap();
    assert_eq!(
        w.peers.iter().map(|p| p.public_key).collect::<Vec<_>>(),
        [peer2]
    );
    assert_matches_wg_dump(&t.ns, "wg0", &w);
    h.set_wireguard(
        "wg0",
        &WireguardConfig {
            replace_peers: true,
            peers: vec![WireguardPeerConfig::new(peer1)],
            ..WireguardConfig::default()
        },
    )
    .unwrap();
    let w = h.wireguard("wg0").unwrap();
    assert_eq!(
        w.peers.iter().map(|p| p.public_key).collect::<Vec<_>>(),
        [peer1]
    );
    assert_matches_wg_dump(&t.ns, "wg0", &w);

    // Bad changes are refused before anything is sent, and change nothing.
    common::assert_invalid(
        h.set_wireguard(
            "wg0",
            &WireguardConfig {
                listen_port: Some(9),
                peers: vec![
                    WireguardPeerConfig::new(peer2),
                    WireguardPeerConfig::new(peer2),
                ],
                ..WireguardConfig::default()
            },
        ),
        "peers",
    );
    assert_eq!(h.wireguard("wg0").unwrap(), w);
    // Not a WireGuard device: the kernel's refusal.
    h.add_veth(&NewVeth::new("v0", "v1")).unwrap();
    assert!(matches!(h.wireguard("v0"), Err(Error::Kernel { .. })));
    h.delete_link("wg0").unwrap();
}

#[test]
fn a_datagram_crosses_a_wireguard_tunnel_between_namespaces() {
    require_root!();
    let a = TestNs::new();
    let b = TestNs::new();
    skip_if_unsupported!(a.handle.add_wireguard(&NewWireguard::new("wg0"))).unwrap();
    b.handle.add_wireguard(&NewWireguard::new("wg0")).unwrap();
    let mut veth = NewVeth::new("wa", "wb");
    veth.peer.netns = Some(&b.ns);
    a.handle.add_veth(&veth).unwrap();
    let keys = [keypair(&a.ns), keypair(&b.ns)];
    let hosts = [
        (&a, "wa", "10.0.0.1/24", "10.99.0.1/24"),
        (&b, "wb", "10.0.0.2/24", "10.99.0.2/24"),
    ];
    for (i, (t, dev, underlay, inner)) in hosts.iter().enumerate() {
        let other = 1 - i;
        t.handle
            .add_address(*dev, &underlay.parse().unwrap())
            .unwrap();
        t.handle.set_link_up(*dev).unwrap();
        let endpoint: IpAddr = hosts[other].2.split('/').next().unwrap().parse().unwrap();
        t.handle
            .set_wireguard(
                "wg0",
                &WireguardConfig {
                    private_key: Some(keys[i].0.clone()),
                    listen_port: Some(51820 + i as u16),
                    peers: vec![WireguardPeerConfig {
                        endpoint: Some(SocketAddr::new(endpoint, 51820 + other as u16)),
                        allowed_ips: vec![format!("10.99.0.{}/32", other + 1).parse().unwrap()],
                        ..WireguardPeerConfig::new(keys[other].1)
                    }],
                    ..WireguardConfig::default()
                },
            )
            .unwrap();
        t.handle
            .add_address("wg0", &inner.parse().unwrap())
            .unwrap();
        t.handle.set_link_up("wg0").unwrap();
    }
    let server =
        netplumb_lab::EchoServer::start(&b.ns, SocketAddr::new("10.99.0.2".parse().unwrap(), 7000))
            .unwrap();
    let from: IpAddr = "10.99.0.1".parse().unwrap();
    netplumb_lab::udp_echo(&a.ns, from, server.addr(), 25, Duration::from_millis(400)).unwrap();
    drop(server);

    // The handshake happened and bytes flowed both ways, as wg shows too.
    for t in [&a, &b] {
        let w = t.handle.wireguard("wg0").unwrap();
        let p = &w.peers[0];
        assert!(p.last_handshake.is_some(), "{p:?}");
        assert!(p.rx_bytes > 0 && p.tx_bytes > 0, "{p:?}");
        assert_matches_wg_dump(&t.ns, "wg0", &w);
    }
}
