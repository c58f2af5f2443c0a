#!/usr/bin/env bash
# Kernel-VM test tier: runs the root tests inside a QEMU guest that boots Debian 12's stock cloud
# kernel, which has what development kernels may lack (VRF, VLAN-filtering bridges, dummy, ipip,
# 8021q), and is a second kernel version besides the host's.
#
#   bash .ci/kernel-vm.sh [--host-skips FILE]
#
# 1. installs qemu-system-x86, kmod, cpio, iproute2, bird2 and etcd-server with apt-get when they are missing, and
#    downloads (not installs) the guest kernel and busybox-static .debs;
# 2. builds every integration test of the netplumb package in tests/ (except the
#    pure-computation LPM ones) statically linked, so it runs in the guest without a libc (the
#    workspace's netplumb-lab crate is linked into them as a library; its own unit tests need
#    no kernel and run on the host only), and netplumb-cni's tests of the link kinds
#    the host may lack (vlan, ipvlan, dummy: reference parity against Debian's plugins and the
#    lifecycle tests), with the netplumb-cni binary, also static;
# 3. builds an initramfs: busybox, the kernel's network modules (depmod'ed), iproute2's `ip`,
#    `bridge` and `tc` (the tests' oracle), the reference CNI plugins host-local, ipvlan and vlan
#    from /usr/lib/cni, BIRD's `bird` and `birdc` and `etcd` with their
#    shared libraries, the test binaries, and
#    .ci/kernel-vm-init as /init;
# 4. boots it under TCG with a timeout; the init runs each test binary and powers off;
# 5. reads the console log and exits non-zero when a guest test failed, a test binary exited
#    non-zero, the guest did not finish, or a test that skipped on the host (listed in the
#    `skipped: …` lines of FILE, the host's NETPLUMB_SKIP_LOG) did not run and pass in the guest.
#
# Downloads and build outputs are cached under target/kernel-vm/; the static test binaries go to
# target/x86_64-unknown-linux-gnu/ so the host's own build is not invalidated.
# Environment: KERNEL_VM_TIMEOUT (seconds for the guest, default 1500), KERNEL_VM_MEM (MiB,
# default 2048), KERNEL_VM_KERNEL_PKG (default linux-image-cloud-amd64).
set -euo pipefail
cd "$(dirname "$0")/.."

host_skips=
while [ $# -gt 0 ]; do
  case "$1" in
    --host-skips) host_skips=$2; shift 2 ;;
    *) echo "usage: $0 [--host-skips FILE]" >&2; exit 2 ;;
  esac
done

work=target/kernel-vm
timeout_s=${KERNEL_VM_TIMEOUT:-1500}
mem=${KERNEL_VM_MEM:-2048}
kernel_pkg=${KERNEL_VM_KERNEL_PKG:-linux-image-cloud-amd64}
# Test targets that need no kernel (pure LPM computation and the full-table data), or need
# ../shared/data, which the guest does not have (example_fib_sync).
exclude=" lpm_prop lpm_full_table lpm_rib example_fib_sync "
# Loaded at boot so that a missing one shows at once; anything else autoloads via /sbin/modprobe.
modules="ipvlan ipvtap macvtap tun ifb vrf 8021q dummy ipip bridge vxlan veth macvlan mpls_router mpls_iptunnel"
# Tunnels, geneve, bonding and WireGuard (their modules add fallback devices such as gre0, sit0
# and ip6tnl0 to every new namespace, as tunl0 is).
modules="$modules ip_gre ip6_gre sit ip6_tunnel ip_vti ip6_vti geneve bonding wireguard"

phase_start=$SECONDS
phase() {
  local now=$SECONDS
  [ -z "${phase_name:-}" ] || echo "kernel-vm: phase '$phase_name' took $((now - phase_start)) s"
  phase_name=$1
  phase_start=$now
  [ -z "$phase_name" ] || printf -- '--- kernel-vm: %s (%s)\n' "$phase_name" "$(date -u +%H:%M:%S)"
}
die() { echo "kernel-vm: error: $*" >&2; exit 1; }

phase "tools and downloads"
need=()
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
command -v depmod >/dev/null || [ -x /sbin/depmod ] || need+=(kmod)
command -v cpio >/dev/null || need+=(cpio)
command -v ip >/dev/null && command -v bridge >/dev/null || need+=(iproute2)
command -v timeout >/dev/null || need+=(coreutils)
# BIRD for the calico_bgp and routing_lab tests, copied into the guest like iproute2.
command -v bird >/dev/null && command -v birdc >/dev/null || [ -x /usr/sbin/bird ] || need+=(bird2)
# etcd for the flannel_etcd tests, copied in the same way.
command -v etcd >/dev/null || need+=(etcd-server)
# wireguard-tools' `wg` for the WireGuard tests, copied into the guest like iproute2.
command -v wg >/dev/null || need+=(wireguard-tools)
apt_updated=
if [ ${#need[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || die "missing ${need[*]}: run as root or install them"
  apt-get update -qq
  apt_updated=1
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
PATH=$PATH:/usr/sbin:/sbin

mkdir -p "$work/debs"
# The kernel: the metapackage names the versioned image package; download that one and unpack it.
kernel_deb_name() { apt-cache show --no-all-versions "$kernel_pkg" 2>/dev/null | sed -n 's/^Depends: .*\(linux-image-[0-9][^ ,]*\).*/\1/p' | head -n1; }
image=$(kernel_deb_name)
if [ -z "$image" ] && [ -z "$apt_updated" ]; then
  apt-get update -qq
  image=$(kernel_deb_name)
fi
[ -n "$image" ] || die "apt-cache knows no $kernel_pkg (is this Debian with its main repository?)"
download() { # PACKAGE: the .deb in $work/debs, downloaded once
  local deb
  deb=$(ls "$work/debs/$1"_*.deb 2>/dev/null | head -n1 || true)
  if [ -z "$deb" ]; then
    (cd "$work/debs" && apt-get download -q -o APT::Sandbox::User=root "$1" >/dev/null) \
      || die "apt-get download $1 failed"
    deb=$(ls "$work/debs/$1"_*.deb | head -n1)
  fi
  echo "$deb"
}
kdeb=$(download "$image")
kver=${image#linux-image-}
kroot=$work/kernel-$kver
if [ ! -f "$kroot/boot/vmlinuz-$kver" ]; then
  # A new kernel version replaces the cached one.
  find "$work/debs" -name 'linux-image-*.deb' ! -name "${image}_*" -delete
  rm -rf "$work"/kernel-*
  dpkg -x "$kdeb" "$kroot"
fi
bbdeb=$(download busybox-static)
bbroot=$work/busybox
if [ ! -x "$bbroot/bin/busybox" ]; then
  rm -rf "$bbroot"
  dpkg -x "$bbdeb" "$bbroot"
fi
echo "guest kernel: $(basename "$kdeb"); busybox: $(basename "$bbdeb")"

phase "static test binaries"
targets=()
names=()
for f in tests/*.rs tests/*/main.rs; do
  [ -e "$f" ] || continue
  name=${f#tests/}; name=${name%.rs}; name=${name%/main}
  case "$exclude" in *" $name "*) continue ;; esac
  targets+=(--test "$name")
  names+=("$name")
done
[ ${#targets[@]} -gt 0 ] || die "no test targets in tests/"
json=$work/build.json
RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static" \
  cargo test --release --no-run -p netplumb --features tokio \
  --target x86_64-unknown-linux-gnu --message-format=json "${targets[@]}" >"$json"
# The executables of the integration-test targets (kind "test", built with the test profile).
mapfile -t bins < <(grep '"reason":"compiler-artifact"' "$json" | grep '"kind":\["test"\]' \
  | grep '"test":true' | sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | sort -u)
[ ${#bins[@]} -eq ${#names[@]} ] \
  || die "expected ${#names[@]} test executables, cargo reported ${#bins[@]}"
for b in "${bins[@]}"; do
  ! ldd "$b" 2>&1 | grep -q '=>' || die "$b is not statically linked"
done
echo "test binaries: ${#bins[@]} (${names[*]})"
# netplumb-cni: the tests of the link kinds this host lacks (vlan, ipvlan, dummy), with the
# binary they drive and Debian's reference plugins (1.1.1) they are compared with. Each runs
# with a filter (tests/NAME.filter in the guest): the others need iptables or podman and run on
# the host only.
cni_json=$work/build-cni.json
RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static" \
  cargo test --release --no-run -p netplumb-cni --target x86_64-unknown-linux-gnu \
  --message-format=json --test reference_parity --test onelink >"$cni_json"
mapfile -t cni_bins < <(grep '"reason":"compiler-artifact"' "$cni_json" | grep '"kind":\["test"\]' \
  | grep '"test":true' | sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | sort -u)
cni_exe=target/x86_64-unknown-linux-gnu/release/netplumb-cni
[ ${#cni_bins[@]} -eq 2 ] && [ -x "$cni_exe" ] || die "netplumb-cni's static test binaries were not built"
for b in "${cni_bins[@]}" "$cni_exe"; do
  ! ldd "$b" 2>&1 | grep -q '=>' || die "$b is not statically linked"
done
cni_ref="host-local ipvlan vlan bridge"
for p in $cni_ref; do [ -x "/usr/lib/cni/$p" ] || die "/usr/lib/cni/$p is missing (containernetworking-plugins)"; done
bins+=("${cni_bins[@]}")

phase "initramfs"
ir=$work/initramfs
rm -rf "$ir"
mkdir -p "$ir"/{bin,sbin,dev,proc,sys,run,tmp,etc,tests,lib/modules}
# iproute2, the tests' oracle, with its shared libraries and the dynamic loader.
copy_with_libs() {
  local exe=$1 lib
  install -D -m 755 "$exe" "$ir/bin/$(basename "$exe")"
  for lib in $(ldd "$exe" | grep -o '/[^ ]*'); do
    [ -e "$ir$lib" ] || install -D -m 755 "$(readlink -f "$lib")" "$ir$lib"
  done
}
for tool in ip bridge tc bird birdc etcd wg; do
  exe=$(command -v "$tool" || true)
  [ -n "$exe" ] || die "$tool is missing on the host, so it cannot go into the guest"
  copy_with_libs "$(readlink -f "$exe")"
done
[ -d /etc/iproute2 ] && cp -r /etc/iproute2 "$ir/etc/"
# busybox for the rest (iproute2's tools keep their names; the init calls them by path because
# busybox's shell prefers its own applets).
cp "$bbroot/bin/busybox" "$ir/bin/busybox"
for applet in $("$ir/bin/busybox" --list); do
  [ -e "$ir/bin/$applet" ] || ln -s busybox "$ir/bin/$applet"
done
for applet in modprobe insmod rmmod lsmod depmod poweroff; do ln -sf ../bin/busybox "$ir/sbin/$applet"; done
# nobody/nogroup: a user and group besides root, for the tun/tap owner tests.
printf 'root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$ir/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$ir/etc/group"
# Kernel modules: all of net/ and drivers/net/ (so the kernel can autoload any link kind), what
# they depend on, and modules.dep/modules.alias from depmod for busybox's modprobe.
msrc=$kroot/lib/modules/$kver
[ -f "$msrc/modules.dep" ] || depmod -b "$kroot" "$kver"
mdst=$ir/lib/modules/$kver
mkdir -p "$mdst"
cp "$msrc"/modules.builtin* "$msrc/modules.order" "$mdst/"
(cd "$msrc" && find kernel/net kernel/drivers/net -name '*.ko*') >"$work/modules.list"
for m in $modules; do
  grep -qE "(^|/)$m\.ko" "$work/modules.list" || die "the guest kernel $kver has no $m module"
done
# Close over dependencies: modules.dep gives each module's whole closure on its own line.
awk -F': *' 'NR == FNR { want[$0] = 1; next }
  $1 in want { print $1; n = split($2, dep, " "); for (i = 1; i <= n; i++) print dep[i] }' \
  "$work/modules.list" "$msrc/modules.dep" | sort -u >"$work/modules.closure"
while read -r m; do install -D -m 644 "$msrc/$m" "$mdst/$m"; done <"$work/modules.closure"
depmod -b "$ir" "$kver"
for b in "${bins[@]}"; do
  name=$(basename "$b"); name=${name%-*}
  cp "$b" "$ir/tests/$name"
done
# netplumb-cni's binary, the reference plugins (with their libraries) and the test filters.
install -m 755 "$cni_exe" "$ir/bin/netplumb-cni"
for p in $cni_ref; do
  install -D -m 755 "/usr/lib/cni/$p" "$ir/usr/lib/cni/$p"
  for lib in $(ldd "/usr/lib/cni/$p" 2>/dev/null | grep -o '/[^ ]*' || true); do
    [ -e "$ir$lib" ] || install -D -m 755 "$(readlink -f "$lib")" "$ir$lib"
  done
done
printf '%s\n' "same_config_same_result_ bridge_vlan_trunk_and_default_vlan" >"$ir/tests/reference_parity.filter"
printf '%s\n' "dummy_lifecycle ipvlan_and_vlan_lifecycle" >"$ir/tests/onelink.filter"
install -m 755 .ci/kernel-vm-init "$ir/init"
sed -i "s/@MODULES@/$modules/" "$ir/init"
(cd "$ir" && find . -print0 | cpio --null -o -H newc --quiet) >"$work/initramfs.cpio"
echo "initramfs: $(du -h "$work/initramfs.cpio" | cut -f1) ($(find "$mdst" -name '*.ko*' | wc -l) modules)"

phase "boot and run the tests in the guest"
log=$work/guest.log
rc=0
# -no-reboot with panic=-1: a kernel panic ends QEMU instead of rebooting; no network device.
timeout --foreground -k 10 "$timeout_s" qemu-system-x86_64 -accel tcg -cpu max -smp 2 -m "$mem" \
  -nographic -no-reboot -nic none \
  -kernel "$kroot/boot/vmlinuz-$kver" -initrd "$work/initramfs.cpio" \
  -append "console=ttyS0 panic=-1 quiet" </dev/null 2>&1 \
  | sed -u 's/\r$//; s/\x1b\[[0-9;?]*[A-Za-z]//g; s/\x1bc//g' | tee "$log" || rc=$?
case "$rc" in
  0) ;;
  124) echo "kernel-vm: the guest timed out after $timeout_s s (KERNEL_VM_TIMEOUT)" ;;
  *) echo "kernel-vm: qemu exited with status $rc" ;;
esac
phase ""

# --- verdict --------------------------------------------------------------------------------
fail=0
problem() { echo "kernel-vm: FAIL: $*"; fail=1; }
grep -q '^=== kernel-vm: done' "$log" || problem "the guest did not finish (hung, crashed or timed out)"
for b in "${bins[@]}"; do
  name=$(basename "$b"); name=${name%-*}
  end=$(grep "^=== kernel-vm: end $name rc=" "$log" | head -n1 || true)
  if [ -z "$end" ]; then
    problem "test binary $name did not complete in the guest"
  elif [ "${end##*rc=}" != 0 ]; then
    problem "test binary $name exited with status ${end##*rc=} in the guest"
  fi
done
# Per-test results: libtest's "test NAME ... ok|FAILED|ignored" and the guest's skip lines.
ok=$(sed -n 's/^test \(.*\) \.\.\. ok$/\1/p' "$log" | sort -u)
failed=$(sed -n 's/^test \(.*\) \.\.\. FAILED$/\1/p' "$log" | sort -u)
gskips=$(sed -n 's/^skip-log: skipped\[kernel-vm\]: \([^:]*\): .*/\1/p' "$log" | sort -u)
for t in $failed; do problem "$t failed in the guest"; done
n_skipped=$(printf '%s\n' "$gskips" | grep -c . || true)
n_failed=$(printf '%s\n' "$failed" | grep -c . || true)
n_passed=$(comm -23 <(printf '%s\n' "$ok" | grep .) <(printf '%s\n' "$gskips" | grep .) | grep -c . || true)

if [ -n "$gskips" ]; then
  echo "kernel-vm: skipped in the guest:"
  sed -n 's/^skip-log: /  /p' "$log"
fi
if [ -n "$host_skips" ]; then
  echo "kernel-vm: tests that skipped on the host, in the guest:"
  hs=$(sed -n 's/^skipped: \([^:]*\): .*/\1/p' "$host_skips" 2>/dev/null | sort -u)
  [ -n "$hs" ] || echo "  (none skipped on the host)"
  for t in $hs; do
    if grep -qxF "$t" <<<"$failed"; then
      problem "$t: skipped on the host, FAILED in the guest"
    elif grep -qxF "$t" <<<"$gskips"; then
      problem "$t: skipped on the host and skipped in the guest too"
    elif grep -qxF "$t" <<<"$ok"; then
      echo "  $t: skipped on the host, ran and passed in the guest"
    else
      echo "  $t: skipped on the host, not in the guest's test binaries (no kernel needed)"
    fi
  done
fi
echo "kernel-vm: $(uname -r) host, guest kernel $kver; console log in $log"
echo "kernel-vm: $n_passed passed, $n_failed failed, $n_skipped skipped"
exit "$fail"
