#!/usr/bin/env bash
# host_firewall_test.sh — shared networks next to Docker-, ufw- and firewalld-like nftables
# chains that drop forwarded traffic (issue 18; docs/operations.md "Docker, ufw and
# firewalld"). The real squib-netd in a namespace this script creates, joined by a veth to a
# "world" namespace; guests are namespaces whose TAP speaks through the attachment's socket
# (tap_guest.py), so reachability can be asked again and again in milliseconds.
#
# Usage: host_firewall_test.sh SCENARIO      (root; needs ip, nft, dnsmasq, jq, python3)
#   docker   a guest reaches the world; then iptables-nft's Docker layout appears (table ip
#            filter, FORWARD on the forward hook with policy drop, jumping to DOCKER-USER):
#            the guest reaches the world again without anybody's help, our rules are in
#            DOCKER-USER (not FORWARD), exactly two and both tagged; status says so
#   second   with that Docker layout, a ufw-like chain (inet, forward hook, policy drop) and a
#            firewalld-like one (inet, policy accept, last rule reject) in place, a second
#            shared network has its rules in all three when `start` returns and its guest
#            reaches the world at once
#   reload   the ufw-like chain is deleted and recreated (as `ufw reload` / `nft -f` do), once
#            atomically and once in two steps, then Docker's table is deleted and made again
#            (Docker restarting): rules and connectivity come back each time, same daemon
#   leave    --host-firewall=leave: the Docker chain cuts a running guest off (the premise),
#            `start` of another shared network fails naming the chain, no rule of ours anywhere
#   cleanup  after stop, after SIGTERM, after kill -9 + restart + stop: no rule of ours in any
#            table; Docker's and ufw's own rules and another run dir's tagged rule untouched
#   Env SQUIB_NETD / SQUIB_NETCTL  binaries; SQUIB_KEEP_LOGS=DIR copies logs there.
# Prints "host_firewall/<scenario>: PASS (<s>s) …" and exits 0, or "… FAIL: why" + logs, exit 1;
# exit 77 (CTest skip) without root or tools.
#
# No timing assertions: every wait is a bounded poll of a condition (eventually); the
# measured times are printed, not asserted.
# Network safety: every address (192.168.105-106.0/24 shared subnets, 10.214.0.0/24 veth)
# exists only in the namespaces sqf*-<tag> this script creates; nothing leaves them.
# Cleanup (EXIT trap, also on failure and signals): every PID we started is killed, then any
# process left in our namespaces, then the namespaces (with every rule in them) and temp dir.
set -euo pipefail

scenario=${1:?usage: host_firewall_test.sh docker|second|reload|leave|cleanup}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../../.." && pwd)
# shellcheck source=../lib.sh
source "$root/tests/system/lib.sh"  # squib_daemon_terminate
netd=${SQUIB_NETD:-$root/build/daemon/squib-netd}
netctl=${SQUIB_NETCTL:-$root/build/daemon/squib-netctl}

skip() { echo "host_firewall/$scenario: SKIP ($*)"; exit 77; }
[[ $EUID -eq 0 ]] || skip "needs root"
for tool in ip nft dnsmasq jq python3; do command -v "$tool" >/dev/null || skip "no $tool"; done
[[ -x "$netd" && -x "$netctl" ]] || skip "build squib-netd first ($netd)"
[[ -c /dev/net/tun ]] || skip "no /dev/net/tun"

t0=$SECONDS
tag=$(printf '%s-%04x' "${scenario:0:5}" $((RANDOM)))
ns=sqf-$tag      # the daemon's
world=sqfw-$tag  # the world behind the uplink
guests=()        # guest namespaces
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sqt-host-firewall.XXXXXX")
run=$tmp/run
mkdir -p "$run"
chmod 0755 "$tmp" "$run"  # as /run/squib-net: dnsmasq (user nobody) reads its hosts dir here
pids=()
daemon_pid=
world_ip=10.214.0.2

# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
    local pid n
    for pid in "${pids[@]}" $daemon_pid; do kill -TERM "$pid" 2>/dev/null || true; done
    sleep 0.2
    for n in "$ns" "$world" "${guests[@]}"; do ip netns pids "$n" 2>/dev/null | xargs -r kill -KILL 2>/dev/null || true; done
    for pid in "${pids[@]}" $daemon_pid; do kill -KILL "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
    for n in "$ns" "$world" "${guests[@]}"; do ip netns del "$n" 2>/dev/null || true; done
    if [[ -n "${SQUIB_KEEP_LOGS:-}" ]]; then mkdir -p "$SQUIB_KEEP_LOGS"; cp "$tmp"/*.log "$SQUIB_KEEP_LOGS"/ 2>/dev/null || true; fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

fail() {
    echo "host_firewall/$scenario: FAIL: $*"
    echo "----- nft list ruleset (daemon namespace)"; ip netns exec "$ns" nft list ruleset 2>&1 | head -n 80 || true
    local f
    for f in "$tmp"/*.log; do [[ -f "$f" ]] || continue; echo "----- ${f##*/}"; tail -n 40 "$f"; done
    exit 1
}
pass() { echo "host_firewall/$scenario: PASS ($((SECONDS - t0))s) $*"; exit 0; }
in_ns() { ip netns exec "$ns" "$@"; }
# Never `producer | grep -q`: grep -q exits at the first match and, under pipefail, the
# producer's SIGPIPE fails the pipeline; `grep … >/dev/null` reads everything.
now_ms() { date +%s%3N; }

# The daemon's namespace and the world, joined by a veth; the world has no route back to the
# shared subnets, so only masqueraded traffic can be answered.
ip netns add "$ns"; ip -n "$ns" link set lo up
ip netns add "$world"; ip -n "$world" link set lo up
ip link add "sqfv-$tag" netns "$ns" type veth peer name w0 netns "$world"
ip -n "$ns" addr add 10.214.0.1/24 dev "sqfv-$tag"; ip -n "$ns" link set "sqfv-$tag" up
ip -n "$world" addr add "$world_ip/24" dev w0; ip -n "$world" link set w0 up
# The world's service: a TCP listener the guests connect to (what "reaches the world" means).
ip netns exec "$world" python3 -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 8000)); s.listen(64); print("listening", flush=True)
while True:
    c, peer = s.accept(); c.sendall(("hello " + peer[0] + "\n").encode()); c.close()
' "$world_ip" >"$tmp/world.log" 2>&1 &
pids+=($!)

start_daemon() {  # EXTRA_FLAGS…
    ip netns exec "$ns" "$netd" --run-dir "$run" --log-level debug "$@" >>"$tmp/daemon.log" 2>&1 &
    daemon_pid=$!
    for _ in $(seq 100); do
        python3 -c 'import socket,sys; socket.socket(socket.AF_UNIX).connect(sys.argv[1])' "$run/control.sock" \
            2>/dev/null && return
        kill -0 "$daemon_pid" 2>/dev/null || fail "squib-netd exited at start"
        sleep 0.05
    done
    fail "daemon did not answer on its control socket"
}
stop_daemon() {  # SIGTERM, expect a clean exit (status 0)
    local rc=0
    squib_daemon_terminate "$daemon_pid" || rc=$?
    daemon_pid=
    [[ $rc -eq 0 ]] || fail "daemon exited $rc after SIGTERM"
}
ctl() { "$netctl" --control "$run/control.sock" --json "$@"; }
start() {  # NAME ARGS… : keeps the result in $tmp/NAME.json
    local name=$1; shift
    ctl start "$name" --mode shared "$@" >"$tmp/$name.json" 2>"$tmp/$name.err" || fail "start $name: $(cat "$tmp/$name.err")"
}
field() { jq -r "$2" "$tmp/$1.json"; }

# guest NAME : sets guest_ns to a namespace sqfg<n>-<tag> whose TAP g0 is attachment NAME's guest, with the
# attachment's MAC and leased address (the daemon's source guard admits exactly those).
guest() {
    local name=$1 g="sqfg${#guests[@]}-$tag"
    guests+=("$g")
    ip netns add "$g"; ip -n "$g" link set lo up
    ip netns exec "$g" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
    ip netns exec "$g" python3 "$here/tap_guest.py" g0 "$(field "$name" .socket)" "$tmp/$name-vm.sock" \
        >"$tmp/guest-$name.log" 2>&1 &
    pids+=($!)
    for _ in $(seq 100); do grep -q ready "$tmp/guest-$name.log" 2>/dev/null && break; sleep 0.05; done
    ip -n "$g" link show g0 >/dev/null 2>&1 || fail "guest $name: no TAP ($(cat "$tmp/guest-$name.log"))"
    local subnet
    subnet=$(field "$name" .network.subnet)
    ip -n "$g" link set g0 address "$(field "$name" .mac)"
    ip -n "$g" addr add "$(field "$name" .network.address)/${subnet#*/}" dev g0
    ip -n "$g" link set g0 up
    ip -n "$g" route add default via "$(field "$name" .network.gateway)"
    guest_ns=$g
}
# reaches GUESTNS : one TCP connection to the world within 1 s, answered "hello <source>" —
# the source is the daemon namespace's uplink address (10.214.0.1): masqueraded.
reaches() {
    ip netns exec "$1" python3 -c '
import socket, sys
s = socket.create_connection((sys.argv[1], 8000), timeout=1)
sys.exit(0 if s.recv(64).startswith(b"hello 10.214.0.1") else 1)
' "$world_ip" >/dev/null 2>&1
}
# eventually_reaches GUESTNS SECONDS : bounded wait; prints the milliseconds it took
eventually_reaches() {
    local start deadline=$((SECONDS + $2))
    start=$(now_ms)
    while (( SECONDS < deadline )); do
        if reaches "$1"; then echo $(( $(now_ms) - start )); return 0; fi
        sleep 0.05
    done
    return 1
}
eventually() {  # SECONDS COMMAND… : bounded wait for a condition
    local deadline=$((SECONDS + $1)); shift
    while (( SECONDS < deadline )); do "$@" && return 0; sleep 0.05; done
    return 1
}

# Docker's layout under iptables-nft after `dockerd` starts (FORWARD policy DROP, DOCKER-USER
# jumped to first; docs.docker.com "Packet filtering and firewalls").
add_docker() {
    in_ns nft -f - <<'EOF'
table ip filter {
    chain DOCKER-USER {
        counter return
    }
    chain FORWARD {
        type filter hook forward priority filter; policy drop;
        counter jump DOCKER-USER
    }
}
EOF
}
# ufw's default forward policy (DEFAULT_FORWARD_POLICY="DROP"), in an inet table.
ufw_ruleset='table inet ufwlike {
    chain forward {
        type filter hook forward priority filter; policy drop;
    }
}'
add_ufw() { in_ns nft -f - <<<"$ufw_ruleset"; }
# firewalld's nftables backend: policy accept, replies accepted, the last rule a reject for
# everything no zone or policy allowed (firewalld 1.x, table inet firewalld).
add_firewalld() {
    in_ns nft -f - <<'EOF'
table inet firewalld {
    chain filter_FORWARD {
        type filter hook forward priority filter + 10; policy accept;
        ct state { established, related } accept
        iifname "lo" accept
        reject with icmpx admin-prohibited
    }
}
EOF
}

tag_prefix="squib-netd:"
foreign_tag="squib-netd:ffffffffff:"  # another run dir's daemon
# Our rules (this run dir's tag, i.e. any squib-netd tag but the foreign one) in CHAIN or everywhere.
ours() {  # [FAMILY TABLE CHAIN]
    local listing
    if [[ $# -eq 3 ]]; then listing=$(in_ns nft list chain "$@" 2>/dev/null || true); else listing=$(in_ns nft list ruleset); fi
    grep "comment \"$tag_prefix" <<<"$listing" | grep -vc "$foreign_tag" || true
}
no_rules_of_ours() { [[ $(ours) -eq 0 ]]; }
ours_are() { [[ $(ours "${@:2}") -eq $1 ]]; }  # N [FAMILY TABLE CHAIN], for eventually
status_chain() {  # NETWORK CHAIN ACTION [RULES_CHAIN]
    ctl status | jq -e --arg n "$1" --arg c "$2" --arg a "$3" --arg r "${4:-}" \
        '.networks[] | select(.name == $n) | .host_firewall[] |
         select(.chain == $c and .action == $a and ($r == "" or .rules_chain == $r))' >/dev/null
}

case "$scenario" in
docker)
    start_daemon
    start vm1
    guest vm1; g=$guest_ns
    eventually_reaches "$g" 10 >/dev/null || fail "the guest does not reach the world before any firewall (test premise)"
    bridge=$(field vm1 .network.bridge)
    appeared=$(now_ms)
    add_docker
    eventually 10 ours_are 2 ip filter DOCKER-USER || fail "no rules of ours in DOCKER-USER within 10 s"
    rules_ms=$(( $(now_ms) - appeared ))
    eventually_reaches "$g" 10 >/dev/null || fail "the guest did not reach the world again within 10 s of Docker's chain"
    total=$(( $(now_ms) - appeared ))
    # Only tagged rules of ours, exactly two, in DOCKER-USER and not in FORWARD.
    [[ $(ours ip filter DOCKER-USER) -eq 2 ]] || fail "expected 2 tagged rules in DOCKER-USER: $(in_ns nft list chain ip filter DOCKER-USER)"
    [[ $(ours ip filter FORWARD) -eq 0 ]] || fail "rules of ours in FORWARD although DOCKER-USER exists"
    untagged=$(in_ns nft list table ip filter | grep "$bridge" | grep -vc "comment \"$tag_prefix" || true)
    [[ $untagged -eq 0 ]] || fail "$untagged untagged rule(s) for $bridge"
    in_ns nft list chain ip filter DOCKER-USER | grep 'counter packets [0-9]* bytes [0-9]* return' >/dev/null ||
        fail "Docker's own DOCKER-USER rule changed"
    eventually 5 status_chain default "ip filter FORWARD" accepted "ip filter DOCKER-USER" ||
        fail "status does not report the chain: $(ctl status | jq -c '.networks')"
    "$netctl" --control "$run/control.sock" status | grep 'host firewall chain ip filter FORWARD (policy drop): accepted' >/dev/null ||
        fail "squib-netctl status does not show the chain"
    stop_daemon
    no_rules_of_ours || fail "after SIGTERM: $(ours) rule(s) of ours left"
    pass "our rules in DOCKER-USER ${rules_ms} ms and the world reachable ${total} ms after Docker's chain appeared"
    ;;
second)
    start_daemon
    start vm1
    add_docker
    add_ufw
    add_firewalld
    guest vm1; g1=$guest_ns
    eventually_reaches "$g1" 10 >/dev/null || fail "vm1 does not reach the world"
    t=$(now_ms)
    start vm2 --network n2 --subnet 192.168.106.0/24
    took_start=$(( $(now_ms) - t ))
    # When start returns, n2's rules are already in both chains (it waits for them).
    n2_docker=$(in_ns nft list chain ip filter DOCKER-USER | grep -c "squib-netd:[0-9a-f]*:n2:" || true)
    n2_ufw=$(in_ns nft list chain inet ufwlike forward | grep -c "squib-netd:[0-9a-f]*:n2:" || true)
    n2_fwd=$(in_ns nft list chain inet firewalld filter_FORWARD | grep -c "squib-netd:[0-9a-f]*:n2:" || true)
    [[ $n2_docker -eq 2 && $n2_ufw -eq 2 && $n2_fwd -eq 2 ]] ||
        fail "at start: n2 has $n2_docker rules in DOCKER-USER, $n2_ufw in inet ufwlike forward, $n2_fwd in inet firewalld filter_FORWARD (want 2 each)"
    guest vm2; g2=$guest_ns
    # From the start: the very first connection gets through.
    reaches "$g2" || fail "vm2's first connection to the world failed"
    [[ $(ours) -eq 12 ]] || fail "expected 12 rules of ours (2 networks x 2 rules x 3 chains), found $(ours)"
    eventually 5 status_chain n2 "inet firewalld filter_FORWARD" accepted "inet firewalld filter_FORWARD" || fail "status: $(ctl status | jq -c .networks)"
    eventually 5 status_chain n2 "inet ufwlike forward" accepted "inet ufwlike forward" || fail "status: $(ctl status | jq -c .networks)"
    eventually 5 status_chain n2 "ip filter FORWARD" accepted "ip filter DOCKER-USER" || fail "status: $(ctl status | jq -c .networks)"
    stop_daemon
    no_rules_of_ours || fail "after SIGTERM: $(ours) rule(s) of ours left"
    pass "start of n2 took ${took_start} ms with its rules in all three chains; its first connection got through"
    ;;
reload)
    add_ufw
    start_daemon
    start vm1
    guest vm1; g=$guest_ns
    eventually_reaches "$g" 10 >/dev/null || fail "the guest does not reach the world next to the ufw-like chain"
    pid_before=$daemon_pid
    # 1. atomic: delete and recreate in one transaction (`nft -f` of a whole ruleset).
    in_ns nft -f - <<<"delete table inet ufwlike
$ufw_ruleset"
    t=$(now_ms)
    eventually 10 ours_are 2 inet ufwlike forward || fail "rules not back after the atomic reload"
    back1=$(( $(now_ms) - t ))
    took1=$(eventually_reaches "$g" 10) || fail "no connectivity after the atomic reload"
    eventually 5 ours_are 2 inet ufwlike forward || fail "rules not back after the atomic reload"
    # 2. two steps (`ufw reload`: flush, then rebuild).
    in_ns nft delete table inet ufwlike
    add_ufw
    t=$(now_ms)
    eventually 10 ours_are 2 inet ufwlike forward || fail "rules not back after the two-step reload"
    back2=$(( $(now_ms) - t ))
    took2=$(eventually_reaches "$g" 10) || fail "no connectivity after the two-step reload"
    # 3. Docker restarting: its table appears, goes, and is made again.
    add_docker
    eventually 10 ours_are 2 ip filter DOCKER-USER || fail "rules not in DOCKER-USER after Docker started"
    in_ns nft delete table ip filter
    add_docker
    t=$(now_ms)
    eventually 10 ours_are 2 ip filter DOCKER-USER || fail "rules not back in DOCKER-USER after Docker restarted"
    back3=$(( $(now_ms) - t ))
    eventually_reaches "$g" 10 >/dev/null || fail "no connectivity after Docker restarted"
    eventually 5 ours_are 2 inet ufwlike forward || fail "rules not back after the two-step reload"
    [[ "$daemon_pid" == "$pid_before" ]] && kill -0 "$daemon_pid" || fail "the daemon restarted"
    [[ $(ours) -eq 4 ]] || fail "expected exactly 4 rules of ours (ufw-like + DOCKER-USER), found $(ours)"
    stop_daemon
    no_rules_of_ours || fail "after SIGTERM: $(ours) rule(s) of ours left"
    pass "rules back ${back1} ms after an atomic reload (reachable after ${took1} ms more), ${back2} ms after a two-step one (${took2} ms), ${back3} ms after Docker's table was remade"
    ;;
leave)
    start_daemon --host-firewall=leave
    start vm1
    guest vm1; g=$guest_ns
    eventually_reaches "$g" 10 >/dev/null || fail "the guest does not reach the world before any firewall"
    add_docker
    # The premise of the whole issue: left alone, the chain cuts the guest off.
    sleep 1
    reaches "$g" && fail "the guest still reaches the world through Docker's FORWARD drop (premise)"
    if ctl start vm2 --mode shared --network n2 --subnet 192.168.106.0/24 >"$tmp/vm2.out" 2>&1; then
        fail "start of a blocked shared network succeeded with --host-firewall=leave"
    fi
    grep -q "chain 'ip filter FORWARD' (policy drop)" "$tmp/vm2.out" || fail "the error does not name the chain: $(cat "$tmp/vm2.out")"
    grep -q -- "--host-firewall=coexist" "$tmp/vm2.out" || fail "the error does not name the fix: $(cat "$tmp/vm2.out")"
    no_rules_of_ours || fail "rules of ours with --host-firewall=leave"
    # The failed start's look at the ruleset shows in the status of the network that exists.
    status_chain default "ip filter FORWARD" left || fail "status does not say the chain is left: $(ctl status | jq -c .networks)"
    [[ $(ctl list | jq length) -eq 1 ]] || fail "the failed attachment is listed"
    [[ $(in_ns nft list tables | grep -c squib_) -eq 1 ]] || fail "the failed network's table is left"
    [[ "$(jq -r .error.code "$tmp/vm2.out")" == -32004 ]] || fail "expected error -32004: $(cat "$tmp/vm2.out")"
    stop_daemon
    pass "left alone the chain cuts the guest off; start fails: $(jq -r .error.message "$tmp/vm2.out")"
    ;;
cleanup)
    add_docker
    add_ufw
    # Another run dir's rule, which this daemon must never touch.
    in_ns nft insert rule inet ufwlike forward iifname '"sqbr-elsewhere"' accept comment "\"${foreign_tag}x:out:10.9.9.0/24\""
    docker_before=$(in_ns nft list table ip filter | grep -v squib-netd)
    start_daemon
    start vm1; start vm2 --network n2 --subnet 192.168.106.0/24
    [[ $(ours) -eq 8 ]] || fail "expected 8 rules of ours after start, found $(ours)"
    # 1. stop
    ctl stop vm1 >/dev/null; ctl stop vm2 >/dev/null
    eventually 5 no_rules_of_ours || fail "after stop: $(ours) rule(s) of ours left"
    # 2. SIGTERM
    start vm1; start vm2 --network n2
    [[ $(ours) -eq 8 ]] || fail "expected 8 rules of ours after the second start"
    stop_daemon
    no_rules_of_ours || fail "after SIGTERM: $(ours) rule(s) of ours left"
    # 3. kill -9 + restart + stop (state.json brings vm1 and vm2 back).
    start_daemon
    eventually 10 ours_are 8 || fail "restored networks did not get their rules back: $(ours)"
    kill -KILL "$daemon_pid"; wait "$daemon_pid" 2>/dev/null || true; daemon_pid=
    [[ $(ours) -eq 8 ]] || fail "kill -9 should leave the rules (test premise)"
    start_daemon
    eventually 10 ours_are 8 || fail "after restart: $(ours) rules of ours, want 8"
    grep -q 'removed 8 host firewall rule(s)' "$tmp/daemon.log" || fail "the restart did not report removing the stale rules"
    for n in vm1 vm2; do eventually 10 ctl stop "$n" >/dev/null 2>&1 || fail "stop $n after restart"; done
    eventually 5 no_rules_of_ours || fail "after kill -9, restart and stop: $(ours) rule(s) of ours left"
    stop_daemon
    no_rules_of_ours || fail "after the final SIGTERM: $(ours) rule(s) of ours left"
    [[ "$(in_ns nft list table ip filter)" == "$docker_before" ]] || fail "Docker's table changed: $(in_ns nft list table ip filter)"
    in_ns nft list chain inet ufwlike forward | grep "$foreign_tag" >/dev/null || fail "another run dir's tagged rule was removed"
    in_ns nft list tables | grep squib_ >/dev/null && fail "a table of ours is left"
    pass "no rule of ours after stop, SIGTERM, kill -9 + restart + stop; others' rules untouched"
    ;;
*) echo "unknown scenario $scenario" >&2; exit 2 ;;
esac
