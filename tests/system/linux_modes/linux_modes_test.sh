#!/usr/bin/env bash
# linux_modes_test.sh — squib-netd's Linux kernel modes (host, shared, bridged) proven with
# QEMU guests, every scenario inside network namespaces this script creates and deletes.
#
# Usage: linux_modes_test.sh SCENARIO        (root; needs qemu-system-x86_64, dnsmasq, nft)
#   SCENARIO  host       two guests get leases from dnsmasq (their static addresses), ping the
#                        gateway, fetch a page from an HTTP server on the bridge address, and
#                        reach each other (ping + wget of a server in the other guest); one
#                        resolves the other's name (vm-a.squib.internal) through the DNS
#                        server DHCP gave it, to the address `start` reported
#             isolation  the same two guests with isolation: gateway yes, each other no
#                        (the TAPs' nft isolation chain, counted as `isolated`)
#             teardown   after stop, SIGTERM, and kill -9 + restart, no TAP, bridge, nft table,
#                        dnsmasq or socket of ours remains (no guests: kernel state only)
#             shared     a second namespace is the uplink (veth); the guest fetches a page from
#                        a server there through masquerade; the server sees the uplink address;
#                        the guest resolves a name only a DNS server in the uplink knows, named
#                        by the daemon's /etc/resolv.conf (/etc/netns/<ns>/resolv.conf, which
#                        `ip netns exec` mounts there): the gateway forwards it
#             bridged    the TAP joins a bridge the test made; a static guest pings its address
#             spoofing   host mode, two guests: one uses its DHCP lease and pings the gateway;
#                        the other sets a static address that is not its lease: its ping fails,
#                        the gateway never learns that address, and stats count spoofed_ip
#             ipv6       host mode, dual stack: the guest gets its IPv4 lease and, by SLAAC, exactly
#                        the address6 start reported (no IPv6 default route: host mode), and
#                        pings gateway6
#             nat66      shared mode, IPv6 out: the uplink namespace (veth with IPv6 addresses
#                        and a default route) serves HTTP on its IPv6 address; the guest fetches
#                        it through NAT66 and the server sees the daemon-side veth address;
#                        net.ipv6.conf.all.forwarding is on while the network exists, then back
#   Env SQUIB_NETD / SQUIB_NETCTL  binaries (default: build-tap/daemon/ beside the source tree)
#   Env SQUIB_KEEP_LOGS=DIR        copy logs there
# Prints "linux_modes/<scenario>: PASS (<s>s)" and exits 0, or "… FAIL: why" + logs, exit 1;
# exit 77 (CTest skip) without root or tools.
#
# Network safety: the daemon, dnsmasq, QEMU, HTTP servers all run inside namespaces named
# sqt-<scenario>-<random>; every address used (192.168.105.0/24 default subnet, 10.213.0.0/24
# veth, 10.215.0.0/24 test bridge, the networks' fd..::/64 ULAs, fd00:213::/64 veth) exists only in those namespaces, which have no route to
# anything else. Nothing is ever sent outside them.
# Cleanup (EXIT trap, also on failure and signals): every PID we started is killed, then any
# process left in our namespaces (by `ip netns pids`), then the namespaces and temp dir go.
set -euo pipefail

scenario=${1:?usage: linux_modes_test.sh host|isolation|teardown|shared|bridged|spoofing|ipv6|nat66}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../../.." && pwd)
# shellcheck source=../lib.sh
source "$root/tests/system/lib.sh"  # squib_daemon_terminate
netd=${SQUIB_NETD:-$root/build-tap/daemon/squib-netd}
netctl=${SQUIB_NETCTL:-$root/build-tap/daemon/squib-netctl}
boot=$root/tests/system/guest/boot-guest.sh

skip() { echo "linux_modes/$scenario: SKIP ($*)"; exit 77; }
[[ $EUID -eq 0 ]] || skip "needs root"
for tool in ip nft dnsmasq qemu-system-x86_64 jq python3; do
    command -v "$tool" >/dev/null || skip "no $tool"
done
[[ -x "$netd" && -x "$netctl" ]] || skip "build squib-netd first ($netd)"

t0=$SECONDS
tag=$(printf '%s-%04x' "${scenario:0:6}" $((RANDOM)))
ns=sqt-$tag            # the daemon's namespace
uplink=squ-$tag        # shared: the uplink's namespace
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sqt-linux-modes.XXXXXX")
run=$tmp/run
mkdir -p "$run"
chmod 0755 "$tmp" "$run"   # as /run/squib-net: dnsmasq (user nobody) reads its hosts dir here
pids=()
daemon_pid=

# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
    local pid n
    for pid in "${pids[@]}" $daemon_pid; do kill -TERM "$pid" 2>/dev/null || true; done
    sleep 0.3
    for n in "$ns" "$uplink"; do
        ip netns pids "$n" 2>/dev/null | xargs -r kill -KILL 2>/dev/null || true
    done
    for pid in "${pids[@]}" $daemon_pid; do kill -KILL "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
    for n in "$ns" "$uplink"; do ip netns del "$n" 2>/dev/null || true; done
    rm -rf "/etc/netns/$ns"   # shared: the namespace's resolv.conf (ip netns exec mounts it)
    rmdir /etc/netns 2>/dev/null || true   # only when empty (made by mkdir -p below)
    if [[ -n "${SQUIB_KEEP_LOGS:-}" ]]; then mkdir -p "$SQUIB_KEEP_LOGS"; cp "$tmp"/*.log "$SQUIB_KEEP_LOGS"/ 2>/dev/null || true; fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

fail() {
    echo "linux_modes/$scenario: FAIL: $*"
    local f
    for f in "$tmp"/*.log; do [[ -f "$f" ]] || continue; echo "----- ${f##*/}"; tail -n 40 "$f"; done
    exit 1
}
pass() { echo "linux_modes/$scenario: PASS ($((SECONDS - t0))s) $*"; exit 0; }

ip netns add "$ns"
ip -n "$ns" link set lo up
in_ns() { ip netns exec "$ns" "$@"; }

start_daemon() {
    # `ip netns exec` execs the command, so $! is the daemon itself.
    ip netns exec "$ns" "$netd" --run-dir "$run" --log-level debug >>"$tmp/daemon.log" 2>&1 &
    daemon_pid=$!
    for _ in $(seq 100); do [[ -S "$run/control.sock" ]] && return; sleep 0.05; done
    fail "daemon did not create its control socket"
}
ctl() { "$netctl" --control "$run/control.sock" --json "$@"; }
# start NAME ARGS… : starts an attachment, keeps its JSON in $tmp/NAME.json
start() {
    local name=$1; shift
    ctl start "$name" "$@" >"$tmp/$name.json" 2>"$tmp/$name.err" || fail "start $name: $(cat "$tmp/$name.err")"
}
field() { jq -r "$2" "$tmp/$1.json"; }
# boot NAME TASKS : boots a guest (in the namespace) on attachment NAME, in the background
boot() {
    local name=$1 tasks=$2
    in_ns "$boot" --socket "$(field "$name" .socket)" --mac "$(field "$name" .mac)" --tasks "$tasks" \
        --timeout 90 --log "$tmp/guest-$name.log" --local "$tmp/$name-vm.sock" --background "$tmp/$name.qpid" >/dev/null
    pids+=("$(cat "$tmp/$name.qpid")")
}
# wait_for FILE REGEX SECONDS
wait_for() {
    local deadline=$((SECONDS + $3))
    while (( SECONDS < deadline )); do grep -Eq "$2" "$1" 2>/dev/null && return 0; sleep 0.2; done
    return 1
}
expect() { grep -Eq "$2" "$tmp/guest-$1.log" || fail "guest $1: no line matching '$2'"; }
expect_not() { ! grep -Eq "$2" "$tmp/guest-$1.log" || fail "guest $1: unexpected line matching '$2'"; }

# What squib-netd owns in the namespace, one word per object (empty = nothing).
our_links() { ip -n "$ns" -o link show | awk -F': ' '{print $2}' | cut -d@ -f1 | grep -E '^(sq-|sqbr-)' || true; }
our_tables() { in_ns nft list tables | grep -E 'squib_' || true; }
our_dnsmasq() {
    local pid
    for pid in $(ip netns pids "$ns"); do
        [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == dnsmasq ]] && echo "$pid"
    done
    return 0
}
expect_clean() {  # WHEN
    local links tables dns files
    links=$(our_links); tables=$(our_tables); dns=$(our_dnsmasq)
    # The lock and state.json stay by design; control.sock while the daemon runs.
    files=$(cd "$run" && ls -1 | grep -Ev '^(squib-netd.lock|state.json)$' || true)
    [[ -n "$daemon_pid" ]] && files=$(grep -v '^control.sock$' <<<"$files" || true)
    [[ -z "$links$tables$dns$files" ]] ||
        fail "$1: left behind: links[$links] tables[$tables] dnsmasq[$dns] files[$files]"
}
stop_daemon() {  # SIGTERM, expect a clean exit (status 0)
    local rc=0
    squib_daemon_terminate "$daemon_pid" || rc=$?
    daemon_pid=
    [[ $rc -eq 0 ]] || fail "daemon exited $rc after SIGTERM"
}

two_guests() {  # ISOLATION_FLAG… : the host and isolation scenarios
    start_daemon
    start vm-a --mode host "$@"
    start vm-b --mode host "$@"
    local gw a b
    gw=$(field vm-a .network.gateway); a=$(field vm-a .network.address); b=$(field vm-b .network.address)
    [[ "$(field vm-a .network.subnet)" == 192.168.105.0/24 && "$gw" == 192.168.105.1 ]] ||
        fail "unexpected network $(jq -c .network "$tmp/vm-a.json")"
    [[ "$(field vm-a .network.dns)" == "$gw" ]] || fail "host mode must offer its names' DNS on the gateway"
    mkdir -p "$tmp/www" && echo hello-from-host > "$tmp/www/index.html"
    in_ns python3 -m http.server 8000 --bind "$gw" --directory "$tmp/www" >"$tmp/http.log" 2>&1 &
    pids+=($!)
    wait_for "$tmp/http.log" 'Serving HTTP' 10 || true
    if [[ "$scenario" == host ]]; then
        boot vm-a "dhcp,ping:$gw,wget:http://$gw:8000/,serve:8080"
        boot vm-b "dhcp,ping:$gw,wget:http://$gw:8000/,sleep:2,ping:$a,wget:http://$a:8080/,resolve:vm-a.squib.internal"
    else
        boot vm-a "dhcp,ping:$gw,serve:8080"
        boot vm-b "dhcp,ping:$gw,sleep:2,ping:$a"
    fi
    wait_for "$tmp/guest-vm-b.log" 'SQUIB-RIG EXIT' 90 || fail "guest vm-b did not finish"
    wait_for "$tmp/guest-vm-a.log" 'SQUIB-GUEST SERVE' 5 || fail "guest vm-a is not serving"
    expect vm-a "SQUIB-GUEST LEASE ip=$a prefix=24 router=$gw dns=$gw"
    expect vm-b "SQUIB-GUEST LEASE ip=$b prefix=24 router=$gw dns=$gw"
    expect vm-a "SQUIB-GUEST PING ok host=$gw"
    expect vm-b "SQUIB-GUEST PING ok host=$gw"
    if [[ "$scenario" == host ]]; then
        expect vm-a "SQUIB-GUEST WGET-BODY hello-from-host"
        expect vm-b "SQUIB-GUEST WGET-BODY hello-from-host"
        expect vm-b "SQUIB-GUEST PING ok host=$a"
        expect vm-b "SQUIB-GUEST WGET-BODY hello-from-guest"
        expect vm-b "SQUIB-GUEST RESOLVE ok name=vm-a.squib.internal address=$a server=$gw"
        pass "leases $a $b, gateway ping + wget, guest-to-guest ping + wget, vm-a.squib.internal -> $a"
    else
        expect vm-b "SQUIB-GUEST PING fail host=$a"
        local isolated
        in_ns nft list tables bridge | grep 'squib_tap_' >/dev/null || fail "no nft isolation table for the isolated TAPs"
        isolated=$(( $(ctl stats vm-a | jq '.[0].drops.isolated') + $(ctl stats vm-b | jq '.[0].drops.isolated') ))
        (( isolated > 0 )) || fail "nothing counted as isolated"
        pass "leases $a $b, gateway reachable, guest-to-guest blocked ($isolated frames counted isolated)"
    fi
}

# Restored attachments start asynchronously (listed as "starting" until their network is
# ready): wait, bounded, until both run.
wait_restored() {
    for _ in $(seq 200); do
        ctl list 2>/dev/null | jq -e 'length == 2 and all(.[]; .state == "running")' >/dev/null && return
        sleep 0.05
    done
    fail "restored attachments did not reach running: $(ctl list 2>&1)"
}

case "$scenario" in
host) two_guests ;;
isolation) two_guests --isolation ;;
teardown)
    start_daemon
    start t1 --mode host
    start t2 --mode host --isolation
    start t3 --mode shared --network n2 --subnet 192.168.106.0/24
    [[ $(our_links | grep -c '^sq-') -eq 3 && $(our_links | grep -c '^sqbr-') -eq 2 ]] || fail "expected 3 TAPs + 2 bridges: $(our_links)"
    # 2 networks' inet tables + the bridge table of isolated t2's TAP
    [[ $(our_tables | wc -l) -eq 3 && $(our_dnsmasq | wc -l) -eq 2 ]] || fail "expected 3 nft tables and 2 dnsmasq"
    # A conflicting subnet for an existing network is a -32602 naming the field.
    if ctl start t4 --mode host --subnet 10.9.0.0/24 >"$tmp/t4.out" 2>&1; then fail "subnet conflict accepted"; fi
    grep -q subnet "$tmp/t4.out" || fail "subnet conflict error does not name the field: $(cat "$tmp/t4.out")"
    # 1. stop
    for n in t1 t2 t3; do ctl stop "$n" >/dev/null || fail "stop $n"; done
    for _ in $(seq 40); do [[ -z "$(our_dnsmasq)" ]] && break; sleep 0.05; done
    expect_clean "after stop"
    # 2. SIGTERM
    start t1 --mode host; start t3 --mode shared --network n2
    stop_daemon
    expect_clean "after SIGTERM"
    # 3. kill -9, restart: stale state removed, attachments restored, then SIGTERM.
    start_daemon   # state.json brings t1 and t3 back (SIGTERM keeps attachments recorded)
    wait_restored
    [[ $(ctl list | jq length) -eq 2 && $(our_dnsmasq | wc -l) -eq 2 ]] || fail "restart did not restore t1 and t3"
    old_dns=$(our_dnsmasq | tr '\n' ' ')
    kill -KILL "$daemon_pid"; wait "$daemon_pid" 2>/dev/null || true; daemon_pid=
    [[ $(our_links | grep -c '^sqbr-') -eq 2 && -n "$(our_tables)" ]] || fail "kill -9 should leave bridges and tables (test premise)"
    start_daemon
    wait_restored
    # A zombie is dead: the dead daemon's children are inherited by PID 1, which may not reap.
    for pid in $old_dns; do
        [[ -r /proc/$pid/stat && $(sed 's/.*) //' "/proc/$pid/stat" | cut -d' ' -f1) != Z ]] \
            && fail "stale dnsmasq $pid survived the restart"
    done
    [[ $(our_links | grep -c '^sq-') -eq 2 && $(our_links | grep -c '^sqbr-') -eq 2 ]] || fail "after restart: $(our_links)"
    [[ $(our_tables | wc -l) -eq 2 && $(our_dnsmasq | wc -l) -eq 2 ]] || fail "after restart: tables/dnsmasq not exactly 2"
    grep -q 'removed stale' "$tmp/daemon.log" || fail "restart did not report stale cleanup"
    stop_daemon
    expect_clean "after kill -9, restart and SIGTERM"
    pass "stop, SIGTERM, kill -9 + restart leave nothing behind"
    ;;
shared)
    ip netns add "$uplink"
    ip -n "$uplink" link set lo up
    ip link add "sqv-$tag" netns "$ns" type veth peer name up0 netns "$uplink"
    ip -n "$ns" addr add 10.213.0.1/24 dev "sqv-$tag"; ip -n "$ns" link set "sqv-$tag" up
    ip -n "$uplink" addr add 10.213.0.2/24 dev up0; ip -n "$uplink" link set up0 up
    mkdir -p "$tmp/www" && echo hello-from-uplink > "$tmp/www/index.html"
    ip netns exec "$uplink" python3 -m http.server 8000 --bind 10.213.0.2 --directory "$tmp/www" >"$tmp/http.log" 2>&1 &
    pids+=($!)
    # The uplink's DNS server knows up.test; the daemon's namespace sees it as its resolver.
    ip netns exec "$uplink" dnsmasq --keep-in-foreground --conf-file=/dev/null --no-hosts --no-resolv \
        --bind-interfaces --listen-address=10.213.0.2 --address=/up.test/10.213.0.99 \
        --pid-file="$tmp/up-dns.pid" >"$tmp/up-dns.log" 2>&1 &
    pids+=($!)
    mkdir -p "/etc/netns/$ns" && echo "nameserver 10.213.0.2" >"/etc/netns/$ns/resolv.conf"
    start_daemon
    start vm-s --mode shared
    gw=$(field vm-s .network.gateway)
    [[ "$(field vm-s .network.dns)" == "$gw" ]] || fail "shared mode must offer DNS on the gateway"
    boot vm-s "dhcp,ping:$gw,wget:http://10.213.0.2:8000/,resolve:up.test,resolve:vm-s.squib.internal"
    wait_for "$tmp/guest-vm-s.log" 'SQUIB-RIG EXIT' 90 || fail "guest did not finish"
    expect vm-s "SQUIB-GUEST LEASE ip=$(field vm-s .network.address) prefix=24 router=$gw dns=$gw"
    expect vm-s "SQUIB-GUEST PING ok host=$gw"
    expect vm-s "SQUIB-GUEST WGET-BODY hello-from-uplink"
    expect vm-s "SQUIB-GUEST RESOLVE ok name=up.test address=10.213.0.99 server=$gw"
    expect vm-s "SQUIB-GUEST RESOLVE ok name=vm-s.squib.internal address=$(field vm-s .network.address) server=$gw"
    grep -q '^10\.213\.0\.1 - - .*"GET / ' "$tmp/http.log" || fail "server did not see the masqueraded address"
    ! grep -q '192\.168\.105\.' "$tmp/http.log" || fail "server saw the guest's own address"
    stop_daemon
    expect_clean "after SIGTERM"
    pass "lease with DNS, uplink server reached, seen from 10.213.0.1 (masquerade), up.test forwarded upstream"
    ;;
bridged)
    ip -n "$ns" link add tbr0 type bridge
    ip -n "$ns" addr add 10.215.0.1/24 dev tbr0
    ip -n "$ns" link set tbr0 up
    start_daemon
    start vm-br --mode bridged --bridge tbr0
    tap=$(field vm-br .network.tap)
    ip -n "$ns" -o link show "$tap" | grep 'master tbr0' >/dev/null || fail "TAP $tap is not on tbr0"
    boot vm-br "static:10.215.0.2/24,ping:10.215.0.1"
    wait_for "$tmp/guest-vm-br.log" 'SQUIB-RIG EXIT' 90 || fail "guest did not finish"
    expect vm-br "SQUIB-GUEST PING ok host=10.215.0.1"
    [[ -z "$(our_dnsmasq)" && -z "$(our_tables)" ]] || fail "bridged mode must run no dnsmasq and add no nft table"
    ctl stop vm-br >/dev/null
    ip -n "$ns" link show "$tap" >/dev/null 2>&1 && fail "TAP $tap survived stop"
    ip -n "$ns" link show tbr0 >/dev/null 2>&1 || fail "the user's bridge was removed"
    stop_daemon
    pass "TAP on the test's bridge, static guest pings the bridge address"
    ;;
spoofing)
    start_daemon
    start vm-good --mode host
    start vm-bad --mode host
    gw=$(field vm-good .network.gateway); a=$(field vm-good .network.address); b=$(field vm-bad .network.address)
    # A static address inside the subnet that is neither lease nor gateway.
    bad=192.168.105.250
    [[ "$bad" == "$a" || "$bad" == "$b" ]] && bad=192.168.105.251
    [[ "$bad" == "$a" || "$bad" == "$b" ]] && bad=192.168.105.252
    boot vm-good "dhcp,ping:$gw"
    boot vm-bad "static:$bad/24,ping:$gw"
    wait_for "$tmp/guest-vm-good.log" 'SQUIB-RIG EXIT' 90 || fail "guest vm-good did not finish"
    wait_for "$tmp/guest-vm-bad.log" 'SQUIB-RIG EXIT' 90 || fail "guest vm-bad did not finish"
    expect vm-good "SQUIB-GUEST LEASE ip=$a prefix=24 router=$gw"
    expect vm-good "SQUIB-GUEST PING ok host=$gw"
    expect vm-bad "SQUIB-GUEST STATIC ip=$bad prefix=24"
    expect vm-bad "SQUIB-GUEST PING fail host=$gw"
    # Nothing from the spoofed address reached the bridge: the gateway never learned it.
    [[ -z "$(ip -n "$ns" neigh show "$bad")" ]] || fail "the gateway has a neighbour entry for $bad: $(ip -n "$ns" neigh show "$bad")"
    good_ip=$(ctl stats vm-good | jq '.[0].drops.spoofed_ip')
    bad_ip=$(ctl stats vm-bad | jq '.[0].drops.spoofed_ip')
    bad_mac=$(ctl stats vm-bad | jq '.[0].drops.spoofed_mac')
    [[ "$bad_ip" -gt 0 ]] || fail "vm-bad: spoofed_ip is $bad_ip, expected > 0"
    [[ "$good_ip" -eq 0 ]] || fail "vm-good (its own lease): spoofed_ip is $good_ip, expected 0"
    [[ "$bad_mac" -eq 0 ]] || fail "vm-bad: spoofed_mac is $bad_mac (its MAC is right), expected 0"
    stop_daemon
    expect_clean "after SIGTERM"
    pass "lease $a pings $gw; static $bad (lease $b) cannot, spoofed_ip=$bad_ip"
    ;;
ipv6)
    start_daemon
    start v6 --mode host
    gw=$(field v6 .network.gateway); a=$(field v6 .network.address)
    gw6=$(field v6 .network.gateway6); a6=$(field v6 .network.address6); net6=$(field v6 .network.subnet6)
    [[ "$net6" == fd*::/64 && "$gw6" == "${net6%/64}1" ]] || fail "unexpected IPv6 network $(jq -c .network "$tmp/v6.json")"
    bridge_addrs=$(ip -n "$ns" -6 addr show dev "$(field v6 .network.bridge)")
    grep -q "inet6 $gw6/64 scope global" <<<"$bridge_addrs" || fail "the bridge does not hold $gw6/64: $bridge_addrs"
    boot v6 "dhcp,slaac,ping6:$gw6,ping:$gw"
    wait_for "$tmp/guest-v6.log" 'SQUIB-RIG EXIT' 90 || fail "guest did not finish"
    expect v6 "SQUIB-GUEST LEASE ip=$a prefix=24 router=$gw"
    expect v6 "SQUIB-GUEST SLAAC ip=$a6 prefix=64 router6=none"
    expect v6 "SQUIB-GUEST PING6 ok host=$gw6"
    expect v6 "SQUIB-GUEST PING ok host=$gw"
    stop_daemon
    expect_clean "after SIGTERM"
    pass "lease $a, SLAAC $a6 (as reported), pings $gw6 and $gw"
    ;;
nat66)
    ip netns add "$uplink"
    ip -n "$uplink" link set lo up
    ip link add "sqv-$tag" netns "$ns" type veth peer name up0 netns "$uplink"
    ip -n "$ns" addr add 10.213.0.1/24 dev "sqv-$tag"
    ip -n "$ns" -6 addr add fd00:213::1/64 dev "sqv-$tag" nodad
    ip -n "$ns" link set "sqv-$tag" up
    ip -n "$ns" -6 route add default via fd00:213::2 dev "sqv-$tag"
    ip -n "$uplink" addr add 10.213.0.2/24 dev up0
    ip -n "$uplink" -6 addr add fd00:213::2/64 dev up0 nodad
    ip -n "$uplink" link set up0 up
    mkdir -p "$tmp/www" && echo hello-over-ipv6 > "$tmp/www/index.html"
    ip netns exec "$uplink" python3 -m http.server 8000 --bind fd00:213::2 --directory "$tmp/www" >"$tmp/http.log" 2>&1 &
    pids+=($!)
    forwarding6() { in_ns cat /proc/sys/net/ipv6/conf/all/forwarding; }
    [[ "$(forwarding6)" == 0 ]] || fail "test premise: IPv6 forwarding is off in a new namespace"
    start_daemon
    start vm-6 --mode shared
    gw6=$(field vm-6 .network.gateway6); a6=$(field vm-6 .network.address6); net6=$(field vm-6 .network.subnet6)
    [[ "$(forwarding6)" == 1 ]] || fail "shared network without net.ipv6.conf.all.forwarding"
    table=$(in_ns nft list table inet "$(our_tables | awk '{print $3; exit}')")
    grep -q "ip6 saddr $net6 ip6 daddr != $net6 oifname != .* masquerade" <<<"$table" || fail "no NAT66 rule for $net6: $table"
    wait_for "$tmp/http.log" 'Serving HTTP' 10 || true
    boot vm-6 "dhcp,slaac,ping6:$gw6,ping6:fd00:213::2,wget:http://[fd00:213::2]:8000/"
    wait_for "$tmp/guest-vm-6.log" 'SQUIB-RIG EXIT' 90 || fail "guest did not finish"
    expect vm-6 "SQUIB-GUEST SLAAC ip=$a6 prefix=64 router6=fe80:"
    expect vm-6 "SQUIB-GUEST PING6 ok host=$gw6"
    expect vm-6 "SQUIB-GUEST PING6 ok host=fd00:213::2"
    expect vm-6 "SQUIB-GUEST WGET-BODY hello-over-ipv6"
    grep -q '^fd00:213::1 - - .*"GET / ' "$tmp/http.log" || fail "server did not see the masqueraded address: $(cat "$tmp/http.log")"
    ! grep -q "^${net6%%::/64}:" "$tmp/http.log" || fail "server saw the guest's own address"
    stop_daemon
    [[ "$(forwarding6)" == 0 ]] || fail "net.ipv6.conf.all.forwarding was not put back to 0"
    expect_clean "after SIGTERM"
    pass "SLAAC $a6, uplink server reached over IPv6, seen from fd00:213::1 (NAT66)"
    ;;
*) echo "unknown scenario $scenario" >&2; exit 2 ;;
esac
