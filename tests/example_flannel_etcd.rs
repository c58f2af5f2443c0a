//! flannel over a real etcd (examples/flannel_etcd.rs), run as root tests: the leases are
//! flannel's JSON and every kernel holds exactly the other leases' entries (checked against
//! iproute2); a host that dies expires and comes back; etcd restarts (and compacts) under
//! running agents; agents race for the last subnets; bad configurations are refused; 20 hosts
//! converge. Skips, saying why, when etcd is not installed.
//!
//! The agents are processes: this test binary started again with `--exact` on the first test
//! below and the agent's options in `NETPLUMB_FLANNEL_AGENT_ARGS`, which makes that test run
//! the agent (so the guest tier needs no second executable).

mod common;

#[allow(dead_code)]
#[path = "../examples/flannel_etcd.rs"]
mod flannel_etcd;

use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use common::{unique_name, OnDrop};
use flannel_etcd::{bring_up, Cluster, Options, StoredLease, CONFIG, VXLAN_DEV};
use ipnetwork::Ipv4Network;
use netplumb::NetNs;
use netplumb_lab::etcd::etcd_version;
use netplumb_lab::flannel::{subnet_key, AgentProgram, LeaseAttrs, SubnetEnv, VtepLease};
use serde_json::Value;

const AGENT_ENV: &str = "NETPLUMB_FLANNEL_AGENT_ARGS";
const AGENT_TEST: &str = "agent_entry_and_bad_configs_are_refused_with_nothing_programmed";

/// Returns early, printing why, when etcd cannot run here.
macro_rules! require_etcd {
    () => {
        if let Err(e) = etcd_version() {
            common::report_skip(&common::test_name(), &e.to_string());
            return;
        }
    };
}

/// This binary, started again as an agent.
fn agent_program() -> AgentProgram {
    AgentProgram {
        program: std::env::current_exe().unwrap(),
        args: ["--exact", AGENT_TEST, "--nocapture", "--test-threads", "1"]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        args_env: Some(AGENT_ENV.into()),
        ..AgentProgram::default()
    }
}

fn options(prefix: &str, hosts: u8, pods: u8) -> Options {
    Options {
        hosts,
        pods,
        ttl: 4,
        agent: Some(agent_program()),
        prefix: prefix.to_string(),
        ..Options::default()
    }
}

/// Deletes what a failed run left when dropped, also when the test panics.
fn sweeper(prefix: &str) -> OnDrop<impl FnMut()> {
    let prefix = prefix.to_string();
    OnDrop(move || {
        let _ = netplumb_lab::sweep(&prefix);
    })
}

fn json(ns: &NetNs, program: &str, args: &[&str]) -> Value {
    common::run_json(ns, program, args)
}

/// What iproute2 says host `n` holds on flannel.1: neighbours with a MAC, FDB entries with a
/// remote, routes with a gateway.
#[allow(clippy::type_complexity)]
fn iproute2_view(
    c: &Cluster,
    n: u8,
) -> (
    BTreeSet<(String, String, String)>,
    BTreeSet<(String, String)>,
    BTreeSet<(String, String, bool)>,
) {
    let ns = &c.hosts[usize::from(n) - 1].ns;
    let neigh = json(ns, "ip", &["-j", "neigh", "show", "dev", VXLAN_DEV]);
    let neigh = neigh
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["lladdr"].is_string())
        .map(|e| {
            (
                e["dst"].as_str().unwrap().to_string(),
                e["lladdr"].as_str().unwrap().to_string(),
                e["state"].to_string(),
            )
        })
        .collect();
    let fdb = json(ns, "bridge", &["-j", "fdb", "show", "dev", VXLAN_DEV]);
    let fdb = fdb
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["dst"].is_string())
        .map(|e| {
            (
                e["mac"].as_str().unwrap().to_string(),
                e["dst"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let routes = json(ns, "ip", &["-j", "route", "show", "dev", VXLAN_DEV]);
    let routes = routes
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["gateway"].is_string())
        .map(|r| {
            (
                r["dst"].as_str().unwrap().to_string(),
                r["gateway"].as_str().unwrap().to_string(),
                r["flags"]
                    .as_array()
                    .is_some_and(|f| f.iter().any(|x| x == "onlink")),
            )
        })
        .collect();
    (neigh, fdb, routes)
}

/// Checks with iproute2 that host `n` holds exactly the entries of `others`, as flannel makes
/// them.
fn assert_holds_exactly(c: &Cluster, n: u8, others: &[VtepLease]) {
    let (neigh, fdb, routes) = iproute2_view(c, n);
    let want_neigh: BTreeSet<_> = others
        .iter()
        .map(|l| {
            (
                l.gateway().to_string(),
                l.vtep_mac.to_string(),
                r#"["PERMANENT"]"#.to_string(),
            )
        })
        .collect();
    let want_fdb: BTreeSet<_> = others
        .iter()
        .map(|l| (l.vtep_mac.to_string(), l.public_ip.to_string()))
        .collect();
    let want_routes: BTreeSet<_> = others
        .iter()
        .map(|l| (l.subnet.to_string(), l.gateway().to_string(), true))
        .collect();
    assert_eq!(neigh, want_neigh, "host{n}: ip neigh show dev flannel.1");
    assert_eq!(fdb, want_fdb, "host{n}: bridge fdb show dev flannel.1");
    assert_eq!(routes, want_routes, "host{n}: ip route show dev flannel.1");
}

fn leases_of(c: &Cluster, hosts: &[u8]) -> Vec<(u8, StoredLease)> {
    hosts.iter().map(|&n| (n, c.lease_of(n).unwrap())).collect()
}

fn assert_all_hold_exactly(c: &Cluster, hosts: &[u8]) {
    let leases = leases_of(c, hosts);
    for &n in hosts {
        let others: Vec<VtepLease> = leases
            .iter()
            .filter(|(m, _)| *m != n)
            .map(|(_, l)| l.vtep())
            .collect();
        assert_holds_exactly(c, n, &others);
    }
}

/// The agents' process entry (see the module docs) — and, run as a test, bad configurations:
/// each is refused with a message that says what is wrong (exit status 2), and nothing is
/// programmed: no device, no `subnet.env`, no lease.
#[test]
fn agent_entry_and_bad_configs_are_refused_with_nothing_programmed() {
    if let Ok(args) = std::env::var(AGENT_ENV) {
        let args: Vec<String> = args.lines().map(str::to_string).collect();
        std::process::exit(netplumb_lab::flannel::agent_main(&args));
    }
    require_root!();
    require_etcd!();
    let prefix = unique_name("np-t-fle-cfg");
    let _sweep = sweeper(&prefix);
    let mut c = Cluster::new(&options(&prefix, 1, 0)).unwrap();
    let config_key = "/coreos.com/network/config";
    let cases = [
        (
            r#"{"SubnetLen":24,"Backend":{"Type":"vxlan"}}"#,
            "config has no Network",
        ),
        (
            r#"{"Network":"10.5.0.0/16","SubnetLen":31,"Backend":{"Type":"vxlan"}}"#,
            "SubnetLen 31 is out of range",
        ),
        (
            r#"{"Network":"10.5.0.0/16","SubnetLen":12,"Backend":{"Type":"vxlan"}}"#,
            "SubnetLen 12 is out of range",
        ),
        (
            r#"{"Network":"10.5.0.0/16","Backend":{"Type":"carrier-pigeon"}}"#,
            "unknown backend type \"carrier-pigeon\"",
        ),
        ("{\"Network\":", "config is not JSON"),
    ];
    let slack = u64::from(c.slack);
    for (config, message) in cases {
        c.client
            .put(config_key.as_bytes(), config.as_bytes(), 0)
            .unwrap();
        c.start_agent(1).unwrap();
        let status = c.hosts[0]
            .agent
            .as_mut()
            .unwrap()
            .wait_exit(Duration::from_secs(15 * slack))
            .unwrap()
            .expect("the agent exits on a bad config");
        let log = c.agent_log(1);
        assert_eq!(status.code(), Some(2), "{config}: {log}");
        assert!(
            log.contains(&format!("flannel agent failed: bad config: {message}")),
            "{config}: {log}"
        );
        let links = json(&c.hosts[0].ns, "ip", &["-j", "link", "show"]);
        assert!(
            !links
                .as_array()
                .unwrap()
                .iter()
                .any(|l| l["ifname"] == VXLAN_DEV),
            "{config}: a device was made"
        );
        assert!(!c.hosts[0].options.subnet_file.exists());
        assert!(c.leases().unwrap().is_empty());
    }
    // No configuration at all.
    c.client.delete(config_key.as_bytes(), None).unwrap();
    c.start_agent(1).unwrap();
    let status = c.hosts[0]
        .agent
        .as_mut()
        .unwrap()
        .wait_exit(Duration::from_secs(15 * slack))
        .unwrap()
        .expect("the agent exits without a config");
    assert_eq!(status.code(), Some(2));
    assert!(c
        .agent_log(1)
        .contains("bad config: no network configuration at /coreos.com/network/config"));
}

#[test]
fn leases_are_flannels_json_and_every_kernel_holds_the_others() {
    require_root!();
    require_etcd!();
    let prefix = unique_name("np-t-fle-json");
    let _sweep = sweeper(&prefix);
    let (c, lease_times, converged) = bring_up(&options(&prefix, 3, 1)).unwrap();
    assert_eq!((lease_times.len(), converged.len()), (3, 3));
    let leases = leases_of(&c, &[1, 2, 3]);
    let network: Ipv4Network = "10.5.0.0/16".parse().unwrap();
    let mut subnets = BTreeSet::new();
    for (n, l) in &leases {
        let host = &c.hosts[usize::from(*n) - 1];
        // The value is byte for byte what flanneld writes, from what iproute2 reports.
        let link = json(&host.ns, "ip", &["-j", "link", "show", VXLAN_DEV]);
        let mac = link[0]["address"].as_str().unwrap();
        assert_eq!(
            l.value,
            format!(
                r#"{{"PublicIP":"192.168.100.{n}","PublicIPv6":null,"BackendType":"vxlan","BackendData":{{"VNI":1,"VtepMAC":"{mac}"}}}}"#
            )
        );
        assert_ne!(l.lease_id, 0, "the key is attached to a lease");
        assert_eq!(l.subnet.prefix(), 24);
        assert!(network.contains(l.subnet.network()) && l.subnet.network() != network.network());
        subnets.insert(l.subnet);
        // The device: flannel's settings, and the subnet's network address as a /32.
        let d = json(&host.ns, "ip", &["-j", "-d", "addr", "show", VXLAN_DEV]);
        let info = &d[0]["linkinfo"]["info_data"];
        assert_eq!(info["id"], 1);
        assert_eq!(info["port"], 8472);
        assert_eq!(info["local"], format!("192.168.100.{n}"));
        assert_eq!(info["learning"], false);
        assert_eq!(d[0]["mtu"], 1450);
        let addrs: Vec<String> = d[0]["addr_info"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["family"] == "inet")
            .map(|a| format!("{}/{}", a["local"].as_str().unwrap(), a["prefixlen"]))
            .collect();
        assert_eq!(addrs, vec![format!("{}/32", l.subnet.network())]);
        // subnet.env, as flannel's CNI plugin reads it.
        let env = std::fs::read_to_string(&host.options.subnet_file).unwrap();
        assert_eq!(
            env,
            format!(
                "FLANNEL_NETWORK=10.5.0.0/16\nFLANNEL_SUBNET={}/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n",
                Ipv4Addr::from(u32::from(l.subnet.network()) + 1)
            )
        );
        assert_eq!(
            SubnetEnv::read(&host.options.subnet_file).unwrap().network,
            network
        );
        // The key's etcd lease has the TTL asked for.
        let key = subnet_key("/coreos.com/network", l.subnet);
        assert!(c.client.get(key.as_bytes()).unwrap().is_some());
        let ttl = c
            .client
            .call(
                "/v3/kv/lease/timetolive",
                &serde_json::json!({ "ID": l.lease_id.to_string() }),
            )
            .unwrap();
        assert_eq!(ttl["grantedTTL"], "4", "{ttl}");
    }
    assert_eq!(subnets.len(), 3, "three different subnets");
    assert_all_hold_exactly(&c, &[1, 2, 3]);
    let m = c.echo(&[1, 2, 3]).unwrap();
    m.check().unwrap();
    assert_eq!((m.tried, m.answered), (6, 6));
    // The lease attributes read back as they were written.
    for (_, l) in &leases {
        assert_eq!(LeaseAttrs::parse(l.value.as_bytes()).unwrap(), l.attrs);
    }
}

#[test]
fn a_dead_host_expires_survivors_echo_and_it_comes_back() {
    require_root!();
    require_etcd!();
    let prefix = unique_name("np-t-fle-dead");
    let _sweep = sweeper(&prefix);
    let (mut c, _, _) = bring_up(&options(&prefix, 3, 1)).unwrap();
    let slack = c.slack;
    let before = c.lease_of(3).unwrap();
    let e = c.kill_and_expire(3, &[1, 2, 3]).unwrap();
    let ttl = c.ttl();
    eprintln!(
        "flannel_etcd: host3 killed: key gone after {:.3} s (ttl {} s), its entries gone from \
         the survivors after {:.3} s",
        e.key_gone.as_secs_f64(),
        ttl.as_secs(),
        e.removed.as_secs_f64()
    );
    assert_eq!(e.subnet, before.subnet);
    assert!(
        e.key_gone <= ttl + Duration::from_millis(1500) * slack,
        "key gone after {:?}",
        e.key_gone
    );
    // It renewed every ttl/3, so it cannot have gone much before the TTL from the kill.
    assert!(e.key_gone >= ttl / 2, "key gone after {:?}", e.key_gone);
    assert!(
        e.removed <= e.key_gone + Duration::from_secs(1) * slack,
        "removed {:?} after the kill, key gone {:?}",
        e.removed,
        e.key_gone
    );
    // iproute2 agrees: the survivors hold only each other.
    assert_all_hold_exactly(&c, &[1, 2]);
    assert!(c
        .agent_log(1)
        .contains(&format!("removed {}", before.subnet)));
    let m = c.echo(&[1, 2]).unwrap();
    m.check().unwrap();
    assert_eq!((m.tried, m.answered), (2, 2));

    // Restarted, it leases its previous subnet (from its subnet.env) and everyone adds it.
    let restarted = Instant::now();
    c.start_agent(3).unwrap();
    c.wait_converged(&[1, 2, 3], restarted).unwrap_or_else(|e| {
        panic!("{e}");
    });
    let after = c.lease_of(3).unwrap();
    assert_eq!(after.subnet, before.subnet, "the same subnet back");
    assert_eq!(
        after.attrs, before.attrs,
        "the same device, so the same MAC"
    );
    assert!(c.agent_log(3).contains("acquired (my previous subnet)"));
    assert_all_hold_exactly(&c, &[1, 2, 3]);
    let m = c.echo(&[1, 2, 3]).unwrap();
    m.check().unwrap();
    assert_eq!((m.tried, m.answered), (6, 6));

    // Nothing is left: namespaces, work directory, ledger, etcd and every agent process.
    let mut pids: Vec<u32> = c
        .hosts
        .iter()
        .filter_map(|h| Some(h.agent.as_ref()?.pid()))
        .collect();
    pids.extend(c.etcd.pid());
    assert_eq!(pids.len(), 4);
    drop(c);
    drop(_sweep);
    common::assert_lab_gone(&prefix);
    for pid in pids {
        assert!(
            !std::path::Path::new(&format!("/proc/{pid}")).exists(),
            "process {pid} left behind"
        );
    }
}

#[test]
fn an_etcd_client_is_only_made_inside_a_lab_namespace() {
    require_root!();
    let endpoint = "192.168.100.250:2379".parse().unwrap();
    // The machine's own namespace (unnamed here) is refused.
    let err = netplumb_lab::etcd::EtcdClient::new(&NetNs::current().unwrap(), endpoint)
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("is refused: lab traffic stays in the lab"),
        "{err}"
    );
    // So is a named namespace no lab lists.
    let name = unique_name("np-t-fle-nolab");
    let ns = NetNs::create(&name).unwrap();
    let _gone = {
        let name = name.clone();
        OnDrop(move || {
            let _ = NetNs::delete(&name);
        })
    };
    let err = netplumb_lab::etcd::EtcdClient::new(&ns, endpoint)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("which no lab lists"), "{err}");
    // A lab's namespace is accepted (nothing is connected yet).
    let prefix = unique_name("np-t-fle-lab");
    let mut lab = netplumb_lab::Lab::new(&prefix).unwrap();
    lab.quiet(true);
    let ns = lab.netns("etcd").unwrap();
    netplumb_lab::etcd::EtcdClient::new(&ns, endpoint).unwrap();
    drop(lab);
    common::assert_lab_gone(&prefix);
}

/// A lease of a host that has no agent, written by hand.
fn fake_lease(c: &Cluster, third_octet: u8, mac: &str) -> (StoredLease, String) {
    let subnet = Ipv4Network::new(Ipv4Addr::new(10, 5, third_octet, 0), 24).unwrap();
    assert!(
        c.leases().unwrap().iter().all(|l| l.subnet != subnet),
        "{subnet} is free"
    );
    let attrs = LeaseAttrs {
        public_ip: Ipv4Addr::new(192, 168, 100, 99),
        backend_type: "vxlan".into(),
        vni: 1,
        vtep_mac: mac.parse().unwrap(),
    };
    let key = subnet_key("/coreos.com/network", subnet);
    (
        StoredLease {
            subnet,
            value: attrs.to_json(),
            attrs,
            lease_id: 0,
        },
        key,
    )
}

fn pick_free(c: &Cluster) -> u8 {
    let taken: Vec<Ipv4Network> = c.leases().unwrap().iter().map(|l| l.subnet).collect();
    (200..=254)
        .find(|o| {
            !taken
                .iter()
                .any(|t| t.network() == Ipv4Addr::new(10, 5, *o, 0))
        })
        .unwrap()
}

#[test]
fn etcd_restarts_and_compacts_under_running_agents() {
    require_root!();
    require_etcd!();
    let prefix = unique_name("np-t-fle-etcd");
    let _sweep = sweeper(&prefix);
    // The agents are frozen across an etcd restart below: a longer TTL where all is slower.
    let (mut c, _, _) = bring_up(&Options {
        ttl: 4 * u64::from(netplumb_lab::timing_slack()),
        ..options(&prefix, 3, 0)
    })
    .unwrap();
    let slack = c.slack;
    let all = [1u8, 2, 3];
    let leases: Vec<VtepLease> = leases_of(&c, &all).iter().map(|(_, l)| l.vtep()).collect();
    let exactly = move |i: usize, v: &netplumb_lab::flannel::HostView| {
        let others: Vec<VtepLease> = leases
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, l)| *l)
            .collect();
        v.holds_exactly(&others)
    };

    // etcd goes away for a second and comes back on the same data: nothing is removed, not
    // while it is away and not in the TTL after it is back (the agents renewed in time).
    c.etcd.stop();
    c.watch
        .hold_for(Duration::from_secs(1), exactly.clone())
        .unwrap();
    let timeout = Duration::from_secs(20 * u64::from(slack));
    c.etcd.restart(&mut c.lab, timeout).unwrap();
    c.watch
        .hold_for(c.ttl() + Duration::from_secs(1), exactly.clone())
        .unwrap();
    for n in all {
        let log = c.agent_log(n);
        assert!(
            log.contains("watch resumed from revision"),
            "host{n}: {log}"
        );
        assert!(!log.contains("removed "), "host{n}: {log}");
    }
    assert_all_hold_exactly(&c, &all);

    // The resumed watches see new leases and their removal.
    let octet = pick_free(&c);
    let (fake, key) = fake_lease(&c, octet, "02:00:00:00:00:99");
    c.client
        .put(key.as_bytes(), fake.value.as_bytes(), 0)
        .unwrap();
    let t = Instant::now();
    let vtep = fake.vtep();
    c.watch.wait_for(t, timeout, |_, v| v.holds(&vtep)).unwrap();
    c.client.delete(key.as_bytes(), None).unwrap();
    c.watch
        .wait_for(t, timeout, |_, v| v.holds_none_of(&vtep))
        .unwrap();

    // Compaction: with the agents frozen, etcd restarts, a lease is added and the history
    // compacted past the agents' revision. Thawed, they find their revision compacted, list
    // again and add the new lease from the difference.
    let pids: Vec<nix::unistd::Pid> = c
        .hosts
        .iter()
        .map(|h| nix::unistd::Pid::from_raw(h.agent.as_ref().unwrap().pid() as i32))
        .collect();
    let _thaw = {
        let pids = pids.clone();
        OnDrop(move || {
            for p in &pids {
                let _ = nix::sys::signal::kill(*p, nix::sys::signal::Signal::SIGCONT);
            }
        })
    };
    for p in &pids {
        nix::sys::signal::kill(*p, nix::sys::signal::Signal::SIGSTOP).unwrap();
    }
    c.etcd.restart(&mut c.lab, timeout).unwrap();
    let octet = pick_free(&c);
    let (fake, key) = fake_lease(&c, octet, "02:00:00:00:00:98");
    c.client
        .put(key.as_bytes(), fake.value.as_bytes(), 0)
        .unwrap();
    // One more revision, outside the leases, so that the compaction removes the lease's.
    let revision = c.client.put(b"/lab/marker", b"1", 0).unwrap();
    c.client.compact(revision).unwrap();
    let t = Instant::now();
    for p in &pids {
        nix::sys::signal::kill(*p, nix::sys::signal::Signal::SIGCONT).unwrap();
    }
    let vtep = fake.vtep();
    c.watch.wait_for(t, timeout, |_, v| v.holds(&vtep)).unwrap();
    for n in all {
        let log = c.agent_log(n);
        assert!(log.contains("was compacted"), "host{n}: {log}");
    }
    c.client.delete(key.as_bytes(), None).unwrap();
    c.watch
        .wait_for(t, timeout, |_, v| v.holds_none_of(&vtep))
        .unwrap();
    // The agents' own leases survived all of it.
    assert_all_hold_exactly(&c, &all);
    for h in c.hosts.iter_mut() {
        assert!(h.agent.as_mut().unwrap().is_running());
    }
}

#[test]
fn eight_agents_race_for_eight_subnets_and_a_ninth_gets_none() {
    require_root!();
    require_etcd!();
    let prefix = unique_name("np-t-fle-race");
    let _sweep = sweeper(&prefix);
    let config = r#"{"Network":"10.5.0.0/16","SubnetLen":24,"SubnetMin":"10.5.1.0","SubnetMax":"10.5.8.0","Backend":{"Type":"vxlan","VNI":1,"Port":8472}}"#;
    let mut c = Cluster::new(&Options {
        config: config.into(),
        ..options(&prefix, 9, 0)
    })
    .unwrap();
    let eight: Vec<u8> = (1..=8).collect();
    let start = Instant::now();
    for &n in &eight {
        c.start_agent(n).unwrap();
    }
    c.wait_leases(&eight, start).unwrap();
    let subnets: BTreeSet<Ipv4Network> = c.leases().unwrap().iter().map(|l| l.subnet).collect();
    let want: BTreeSet<Ipv4Network> = (1..=8)
        .map(|o| Ipv4Network::new(Ipv4Addr::new(10, 5, o, 0), 24).unwrap())
        .collect();
    assert_eq!(subnets, want, "all eight different, all in range");
    c.wait_converged(&eight, start).unwrap();
    let raced = eight
        .iter()
        .filter(|&&n| c.agent_log(n).contains("lost the race"))
        .count();
    eprintln!("flannel_etcd: 8 agents at once on 8 subnets: {raced} lost a race and retried");

    c.start_agent(9).unwrap();
    let slack = u64::from(c.slack);
    let status = c.hosts[8]
        .agent
        .as_mut()
        .unwrap()
        .wait_exit(Duration::from_secs(15 * slack))
        .unwrap()
        .expect("the ninth agent gives up");
    let log = c.agent_log(9);
    assert_eq!(status.code(), Some(1), "{log}");
    assert!(
        log.contains(
            "flannel agent failed: no subnet left: all 8 subnets /24 of 10.5.0.0/16 from \
             10.5.1.0 to 10.5.8.0 are leased"
        ),
        "{log}"
    );
    assert_eq!(c.leases().unwrap().len(), 8);
    assert!(!c.hosts[8].options.subnet_file.exists());
    // Nobody programmed anything for it, and it programmed nothing.
    assert_all_hold_exactly(&c, &eight);
    let (neigh, fdb, routes) = iproute2_view(&c, 9);
    assert!(neigh.is_empty() && fdb.is_empty() && routes.is_empty());
}

#[test]
fn twenty_hosts_converge() {
    require_root!();
    require_etcd!();
    let prefix = unique_name("np-t-fle-20");
    let _sweep = sweeper(&prefix);
    let started = Instant::now();
    // Twenty agents programming 380 entries at once are slow in the emulated guest: a longer
    // TTL there, so that a renewal late by seconds does not expire a lease.
    let (c, lease_times, converged) = bring_up(&Options {
        ttl: 4 * u64::from(netplumb_lab::timing_slack()),
        ..options(&prefix, 20, 0)
    })
    .unwrap();
    let all: Vec<u8> = (1..=20).collect();
    assert_all_hold_exactly(&c, &all);
    let usage = c.usage();
    assert_eq!(usage.len(), 20);
    let cpu: Duration = usage.iter().map(|u| u.cpu).sum();
    let rss: u64 = usage.iter().map(|u| u.peak_rss_kib).sum();
    eprintln!(
        "flannel_etcd: 20 hosts: leases in {:.0} ms, converged in {:.0} ms (380 entries of each \
         kind), agents' CPU {:.0} ms in all, peak RSS {:.1} MiB in all ({:.1} MiB each), \
         {:.1} s with setup",
        lease_times.iter().max().unwrap().as_secs_f64() * 1e3,
        converged.iter().max().unwrap().as_secs_f64() * 1e3,
        cpu.as_secs_f64() * 1e3,
        rss as f64 / 1024.0,
        rss as f64 / 1024.0 / 20.0,
        started.elapsed().as_secs_f64()
    );
}

#[test]
fn an_agent_whose_key_is_deleted_stops_and_the_others_remove_it() {
    require_root!();
    require_etcd!();
    let prefix = unique_name("np-t-fle-del");
    let _sweep = sweeper(&prefix);
    let (mut c, _, _) = bring_up(&options(&prefix, 2, 0)).unwrap();
    let lease = c.lease_of(2).unwrap();
    let key = subnet_key("/coreos.com/network", lease.subnet);
    let t = Instant::now();
    assert_eq!(c.client.delete(key.as_bytes(), None).unwrap(), 1);
    let vtep = lease.vtep();
    let slack = u64::from(c.slack);
    c.watch
        .wait_for(t, Duration::from_secs(10 * slack), |i, v| {
            i == 1 || v.holds_none_of(&vtep)
        })
        .unwrap();
    let status = c.hosts[1]
        .agent
        .as_mut()
        .unwrap()
        .wait_exit(Duration::from_secs(10 * slack))
        .unwrap()
        .expect("the agent stops when its key is deleted");
    let log = c.agent_log(2);
    assert_eq!(status.code(), Some(1), "{log}");
    assert!(
        log.contains(&format!(
            "flannel agent failed: my lease {key} was deleted (expired or removed); stopping"
        )),
        "{log}"
    );
    // It never deletes keys itself: host1's is still there.
    assert_eq!(c.leases().unwrap().len(), 1);
    assert_all_hold_exactly(&c, &[1]);
}

#[test]
fn the_default_config_is_flannels_example() {
    // The configuration the example writes parses as flannel reads it.
    let c = netplumb_lab::flannel::Config::parse(CONFIG).unwrap();
    assert_eq!(c.network, "10.5.0.0/16".parse::<Ipv4Network>().unwrap());
    assert_eq!((c.subnet_len, c.vni, c.port), (24, 1, 8472));
    assert_eq!(c.device(), VXLAN_DEV);
}
