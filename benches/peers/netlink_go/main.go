// The vishvananda/netlink peer of examples/netlink_compare.rs (Debian's packaged source,
// built with GOPATH=/usr/share/gocode GO111MODULE=off go build). The same work as the other
// peers, one request per object (the library has no batch), through one netlink.Handle (its
// sockets kept open), as a Go tool would do it.
//
//	netlink-go routes FILE      FILE: one IPv4 prefix a line; via 192.0.2.2, table 100
//	netlink-go links N          N veth pairs npNa/npNb created, all links listed, deleted
//	netlink-go addrs FILE LINK  FILE: one address/len a line, added to LINK, listed, deleted
//	netlink-go neighs FILE LINK FILE: "IPv4 MAC" a line, permanent entries on LINK, listed, deleted
//	netlink-go rules FILE       FILE: "PRIORITY FROM" a line, rules to table 100, listed, deleted
//	netlink-go fdb FILE LINK    FILE: "MAC DST" a line, FDB entries on the VXLAN device LINK
//	                            (NeighAppend for the all-zero MAC, NeighAdd for the others,
//	                            Family AF_BRIDGE), listed (NeighList), deleted (NeighDel)
//	netlink-go monitor N        RouteSubscribeWithOptions; prints "ready", then counts route
//	                            updates until N or 2 s without one
//
// One line per phase: PHASE SECONDS COUNT PEAK_RSS_KB [RSS_BEFORE_KB]; the monitor prints
// "recv SECONDS EVENTS PEAK_RSS_KB" (first to last event) and "overruns 0 N 0".
package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

const table = 100

func report(phase string, t time.Time, count int) {
	rss := "0"
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "VmHWM:") {
				rss = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(l[6:]), "kB"))
			}
		}
	}
	fmt.Printf("%s %.6f %d %s\n", phase, time.Since(t).Seconds(), count, rss)
}

// resetPeak resets VmHWM to VmRSS and returns VmRSS (KiB).
func resetPeak() string {
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
	rss := "0"
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "VmRSS:") {
				rss = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(l[6:]), "kB"))
			}
		}
	}
	return rss
}

func reportDump(phase string, t time.Time, count int, before string) {
	rss := "0"
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "VmHWM:") {
				rss = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(l[6:]), "kB"))
			}
		}
	}
	fmt.Printf("%s %.6f %d %s %s\n", phase, time.Since(t).Seconds(), count, rss, before)
}

func readNets(file string) []*net.IPNet {
	f, err := os.Open(file)
	check(err)
	defer f.Close()
	var out []*net.IPNet
	s := bufio.NewScanner(f)
	for s.Scan() {
		l := strings.TrimSpace(s.Text())
		if l == "" {
			continue
		}
		ip, n, err := net.ParseCIDR(l)
		check(err)
		n.IP = ip
		out = append(out, n)
	}
	check(s.Err())
	return out
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "netlink-go:", err)
		os.Exit(1)
	}
}

func main() {
	if len(os.Args) < 3 {
		check(fmt.Errorf("usage: routes FILE | links N | addrs FILE LINK"))
	}
	h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	check(err)
	switch os.Args[1] {
	case "routes":
		routes(h, os.Args[2])
	case "links":
		n, err := strconv.Atoi(os.Args[2])
		check(err)
		links(h, n)
	case "addrs":
		if len(os.Args) < 4 {
			check(fmt.Errorf("addrs FILE LINK"))
		}
		addrs(h, os.Args[2], os.Args[3])
	case "neighs":
		if len(os.Args) < 4 {
			check(fmt.Errorf("neighs FILE LINK"))
		}
		neighs(h, os.Args[2], os.Args[3])
	case "rules":
		rules(h, os.Args[2])
	case "fdb":
		if len(os.Args) < 4 {
			check(fmt.Errorf("fdb FILE LINK"))
		}
		fdb(h, os.Args[2], os.Args[3])
	case "monitor":
		n, err := strconv.Atoi(os.Args[2])
		check(err)
		monitor(n)
	default:
		check(fmt.Errorf("unknown operation %q", os.Args[1]))
	}
}

func routes(h *netlink.Handle, file string) {
	nets := readNets(file)
	gw := net.ParseIP("192.0.2.2")
	t := time.Now()
	for _, n := range nets {
		check(h.RouteAdd(&netlink.Route{Dst: n, Gw: gw, Table: table}))
	}
	report("install", t, len(nets))

	before := resetPeak()
	t = time.Now()
	rs, err := h.RouteListFiltered(unix.AF_INET, &netlink.Route{Table: table}, netlink.RT_FILTER_TABLE)
	check(err)
	count := 0
	for _, r := range rs {
		if r.Gw != nil {
			count++
		}
	}
	reportDump("dump", t, count, before)

	t = time.Now()
	for _, n := range nets {
		check(h.RouteDel(&netlink.Route{Dst: n, Table: table}))
	}
	report("delete", t, len(nets))
}

func links(h *netlink.Handle, n int) {
	t := time.Now()
	for i := 0; i < n; i++ {
		v := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: fmt.Sprintf("np%da", i)}, PeerName: fmt.Sprintf("np%db", i)}
		check(h.LinkAdd(v))
	}
	report("create", t, n)

	resetPeak()
	t = time.Now()
	ls, err := h.LinkList()
	check(err)
	report("list", t, len(ls))

	t = time.Now()
	for i := 0; i < n; i++ {
		l, err := h.LinkByName(fmt.Sprintf("np%da", i))
		check(err)
		check(h.LinkDel(l))
	}
	report("delete", t, n)
}

func addrs(h *netlink.Handle, file, name string) {
	nets := readNets(file)
	link, err := h.LinkByName(name)
	check(err)
	t := time.Now()
	for _, n := range nets {
		check(h.AddrAdd(link, &netlink.Addr{IPNet: n}))
	}
	report("add", t, len(nets))

	resetPeak()
	t = time.Now()
	as, err := h.AddrList(nil, netlink.FAMILY_ALL)
	check(err)
	report("list", t, len(as))

	t = time.Now()
	for _, n := range nets {
		check(h.AddrDel(link, &netlink.Addr{IPNet: n}))
	}
	report("delete", t, len(nets))
}

func readPairs(file string) [][2]string {
	b, err := os.ReadFile(file)
	check(err)
	var out [][2]string
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) == 2 {
			out = append(out, [2]string{f[0], f[1]})
		}
	}
	return out
}

func neighs(h *netlink.Handle, file, name string) {
	pairs := readPairs(file)
	link, err := h.LinkByName(name)
	check(err)
	index := link.Attrs().Index
	ns := make([]*netlink.Neigh, 0, len(pairs))
	for _, p := range pairs {
		mac, err := net.ParseMAC(p[1])
		check(err)
		ns = append(ns, &netlink.Neigh{LinkIndex: index, Family: netlink.FAMILY_V4,
			IP: net.ParseIP(p[0]), HardwareAddr: mac, State: netlink.NUD_PERMANENT})
	}
	t := time.Now()
	for _, n := range ns {
		check(h.NeighAdd(n))
	}
	report("add", t, len(ns))

	resetPeak()
	t = time.Now()
	l, err := h.NeighList(0, netlink.FAMILY_V4)
	check(err)
	report("list", t, len(l))

	t = time.Now()
	for _, n := range ns {
		check(h.NeighDel(n))
	}
	report("delete", t, len(ns))
}

func rules(h *netlink.Handle, file string) {
	pairs := readPairs(file)
	rs := make([]*netlink.Rule, 0, len(pairs))
	for _, p := range pairs {
		prio, err := strconv.Atoi(p[0])
		check(err)
		_, src, err := net.ParseCIDR(p[1])
		check(err)
		r := netlink.NewRule()
		r.Priority = prio
		r.Src = src
		r.Table = table
		rs = append(rs, r)
	}
	t := time.Now()
	for _, r := range rs {
		check(h.RuleAdd(r))
	}
	report("add", t, len(rs))

	resetPeak()
	t = time.Now()
	l, err := h.RuleList(netlink.FAMILY_V4)
	check(err)
	report("list", t, len(l))

	t = time.Now()
	for _, r := range rs {
		check(h.RuleDel(r))
	}
	report("delete", t, len(rs))
}

func fdb(h *netlink.Handle, file, name string) {
	pairs := readPairs(file)
	link, err := h.LinkByName(name)
	check(err)
	index := link.Attrs().Index
	ns := make([]*netlink.Neigh, 0, len(pairs))
	for _, p := range pairs {
		mac, err := net.ParseMAC(p[0])
		check(err)
		ns = append(ns, &netlink.Neigh{LinkIndex: index, Family: unix.AF_BRIDGE,
			Flags: netlink.NTF_SELF, State: netlink.NUD_NOARP | netlink.NUD_PERMANENT,
			HardwareAddr: mac, IP: net.ParseIP(p[1])})
	}
	flood := func(n *netlink.Neigh) bool {
		for _, b := range n.HardwareAddr {
			if b != 0 {
				return false
			}
		}
		return true
	}
	t := time.Now()
	for _, n := range ns {
		if flood(n) {
			check(h.NeighAppend(n))
		} else {
			check(h.NeighAdd(n))
		}
	}
	report("add", t, len(ns))

	resetPeak()
	t = time.Now()
	l, err := h.NeighList(index, unix.AF_BRIDGE)
	check(err)
	report("list", t, len(l))

	t = time.Now()
	for _, n := range ns {
		check(h.NeighDel(n))
	}
	report("delete", t, len(ns))
}

func monitor(n int) {
	// A buffered channel: the library's goroutine decodes while this one counts.
	ch := make(chan netlink.RouteUpdate, 4096)
	done := make(chan struct{})
	defer close(done)
	overruns := 0
	errs := make(chan error, 16)
	check(netlink.RouteSubscribeWithOptions(ch, done, netlink.RouteSubscribeOptions{
		ErrorCallback: func(err error) { errs <- err },
	}))
	fmt.Println("ready")
	cpu := cpuTime()
	count := 0
	var first, last time.Time
	start := time.Now()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
loop:
	for count < n {
		select {
		case _, ok := <-ch:
			if !ok {
				// The library ends the subscription on a receive error (ENOBUFS).
				break loop
			}
			count++
			last = time.Now()
			if first.IsZero() {
				first = last
			}
		case now := <-tick.C:
			idle := start
			if !last.IsZero() {
				idle = last
			}
			if now.Sub(idle) > 2*time.Second {
				break loop
			}
		}
	}
	for len(errs) > 0 {
		err := <-errs
		if strings.Contains(err.Error(), "no buffer space") {
			overruns++
		} else {
			fmt.Fprintln(os.Stderr, "netlink-go monitor:", err)
		}
	}
	secs := 0.0
	if !first.IsZero() {
		secs = last.Sub(first).Seconds()
	}
	rss := "0"
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "VmHWM:") {
				rss = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(l[6:]), "kB"))
			}
		}
	}
	fmt.Printf("recv %.6f %d %s\n", secs, count, rss)
	fmt.Printf("overruns 0 %d 0\n", overruns)
	fmt.Printf("cpu %.6f %d 0\n", cpuTime()-cpu, count)
}

// cpuTime is this process's CPU time so far (user + system, every thread), in seconds.
func cpuTime() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)*1e-6 }
	return tv(ru.Utime) + tv(ru.Stime)
}
