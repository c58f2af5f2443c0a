"""The pyroute2 peer of examples/netlink_compare.rs (Debian's python3-pyroute2, run by
/usr/bin/python3). The same work as the other peers, one request per object through one
IPRoute socket (pyroute2's documented way; its calls wait for each ack).

    peer.py routes FILE      FILE: one IPv4 prefix a line; via 192.0.2.2, table 100
    peer.py links N          N veth pairs npNa/npNb created, all links listed, deleted
    peer.py addrs FILE LINK  FILE: one address/len a line, added to LINK, listed, deleted
    peer.py neighs FILE LINK FILE: "IPv4 MAC" a line, permanent entries on LINK, listed, deleted
    peer.py rules FILE       FILE: "PRIORITY FROM" a line, rules to table 100, listed, deleted
    peer.py fdb FILE LINK    FILE: "MAC DST" a line, FDB entries on the VXLAN device LINK
                             (fdb('append') for the all-zero MAC, fdb('add') for the others),
                             listed (fdb('dump', ifindex=…)), deleted (fdb('del'))
    peer.py monitor N        IPRoute().bind(groups=RTMGRP_IPV4_ROUTE); prints "ready", then
                             counts the route messages of get() until N or 2 s without one

One line per phase: PHASE SECONDS COUNT PEAK_RSS_KB [RSS_BEFORE_KB]; the monitor prints
"recv SECONDS EVENTS PEAK_RSS_KB" (first to last event) and "overruns 0 N 0".
"""

import errno
import select
import socket
import sys
import time

from pyroute2 import IPRoute

TABLE = 100


def report(phase, t, count):
    rss = "0"
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                rss = line[6:].strip().removesuffix("kB").strip()
    print(f"{phase} {time.monotonic() - t:.6f} {count} {rss}", flush=True)


def status_kib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return line[len(field) + 1 :].strip().removesuffix("kB").strip()
    return "0"


def reset_peak():
    """Resets VmHWM to VmRSS; returns VmRSS (KiB)."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    return status_kib("VmRSS")


def read_nets(path):
    out = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                addr, length = line.split("/")
                out.append((addr, int(length)))
    return out


def routes(ipr, path):
    nets = read_nets(path)
    t = time.monotonic()
    for dst, length in nets:
        ipr.route("add", dst=dst, dst_len=length, gateway="192.0.2.2", table=TABLE)
    report("install", t, len(nets))

    before = reset_peak()
    t = time.monotonic()
    count = 0
    for r in ipr.get_routes(family=socket.AF_INET, table=TABLE):
        if r.get_attr("RTA_GATEWAY") is not None:
            count += 1
    print(f"dump {time.monotonic() - t:.6f} {count} {status_kib('VmHWM')} {before}", flush=True)

    t = time.monotonic()
    for dst, length in nets:
        ipr.route("del", dst=dst, dst_len=length, table=TABLE)
    report("delete", t, len(nets))


def links(ipr, n):
    t = time.monotonic()
    for i in range(n):
        ipr.link("add", ifname=f"np{i}a", kind="veth", peer=f"np{i}b")
    report("create", t, n)

    reset_peak()
    t = time.monotonic()
    count = len(ipr.get_links())
    report("list", t, count)

    t = time.monotonic()
    for i in range(n):
        ipr.link("del", index=ipr.link_lookup(ifname=f"np{i}a")[0])
    report("delete", t, n)


def addrs(ipr, path, name):
    nets = read_nets(path)
    index = ipr.link_lookup(ifname=name)[0]
    t = time.monotonic()
    for addr, length in nets:
        ipr.addr("add", index=index, address=addr, prefixlen=length)
    report("add", t, len(nets))

    reset_peak()
    t = time.monotonic()
    count = len(ipr.get_addr())
    report("list", t, count)

    t = time.monotonic()
    for addr, length in nets:
        ipr.addr("del", index=index, address=addr, prefixlen=length)
    report("delete", t, len(nets))


def read_pairs(path):
    with open(path) as f:
        return [tuple(line.split()) for line in f if len(line.split()) == 2]


NUD_PERMANENT = 0x80


def neighs(ipr, path, name):
    pairs = read_pairs(path)
    index = ipr.link_lookup(ifname=name)[0]
    t = time.monotonic()
    for ip, mac in pairs:
        ipr.neigh("add", dst=ip, lladdr=mac, ifindex=index, state=NUD_PERMANENT)
    report("add", t, len(pairs))

    reset_peak()
    t = time.monotonic()
    count = len(ipr.get_neighbours(family=socket.AF_INET))
    report("list", t, count)

    t = time.monotonic()
    for ip, _mac in pairs:
        ipr.neigh("del", dst=ip, ifindex=index)
    report("delete", t, len(pairs))


def rules(ipr, path):
    rs = []
    for prio, src in read_pairs(path):
        addr, length = src.split("/")
        rs.append(dict(priority=int(prio), src=addr, src_len=int(length), table=TABLE))
    t = time.monotonic()
    for r in rs:
        ipr.rule("add", **r)
    report("add", t, len(rs))

    reset_peak()
    t = time.monotonic()
    count = len(ipr.get_rules(family=socket.AF_INET))
    report("list", t, count)

    t = time.monotonic()
    for r in rs:
        ipr.rule("del", **r)
    report("delete", t, len(rs))


def fdb(ipr, path, name):
    entries = read_pairs(path)
    index = ipr.link_lookup(ifname=name)[0]
    t = time.monotonic()
    for mac, dst in entries:
        verb = "append" if mac == "00:00:00:00:00:00" else "add"
        ipr.fdb(verb, ifindex=index, lladdr=mac, dst=dst)
    report("add", t, len(entries))

    reset_peak()
    t = time.monotonic()
    count = len(ipr.fdb("dump", ifindex=index))
    report("list", t, count)

    t = time.monotonic()
    for mac, dst in entries:
        ipr.fdb("del", ifindex=index, lladdr=mac, dst=dst)
    report("delete", t, len(entries))


RTMGRP_IPV4_ROUTE = 0x40
RTM_NEWROUTE, RTM_DELROUTE = 24, 25


def monitor(n):
    ipr = IPRoute()
    ipr.bind(groups=RTMGRP_IPV4_ROUTE)
    print("ready", flush=True)
    cpu = time.process_time()
    count = overruns = 0
    first = last = None
    while count < n:
        if not select.select([ipr], [], [], 2.0)[0]:
            break
        try:
            msgs = ipr.get()
        except OSError as e:
            if e.errno == errno.ENOBUFS:
                overruns += 1
                continue
            raise
        for m in msgs:
            if m["header"]["type"] in (RTM_NEWROUTE, RTM_DELROUTE):
                count += 1
                last = time.monotonic()
                if first is None:
                    first = last
    secs = last - first if first is not None else 0.0
    print(f"recv {secs:.6f} {count} {status_kib('VmHWM')}", flush=True)
    print(f"overruns 0 {overruns} 0", flush=True)
    print(f"cpu {time.process_time() - cpu:.6f} {count} 0", flush=True)
    ipr.close()


def main():
    args = sys.argv[1:]
    if len(args) == 2 and args[0] == "monitor":
        monitor(int(args[1]))
        return
    with IPRoute() as ipr:
        if len(args) == 2 and args[0] == "routes":
            routes(ipr, args[1])
        elif len(args) == 2 and args[0] == "links":
            links(ipr, int(args[1]))
        elif len(args) == 3 and args[0] == "addrs":
            addrs(ipr, args[1], args[2])
        elif len(args) == 3 and args[0] == "neighs":
            neighs(ipr, args[1], args[2])
        elif len(args) == 2 and args[0] == "rules":
            rules(ipr, args[1])
        elif len(args) == 3 and args[0] == "fdb":
            fdb(ipr, args[1], args[2])
        else:
            sys.exit(f"usage: routes FILE | links N | addrs FILE LINK, not {args}")


if __name__ == "__main__":
    main()
