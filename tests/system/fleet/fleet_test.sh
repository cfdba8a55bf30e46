#!/usr/bin/env bash
# fleet_test.sh — one squib-netd network spanning two hosts over the kernel's VXLAN (issue 15).
# Two network namespaces stand for two hosts, a veth pair between them for the underlay; a
# squib-netd runs in each, and each creates network `fleet` with the same subnet and VNI,
# its remote pointing at the other host, and its own DHCP slice.
#
# Usage: fleet_test.sh SCENARIO        (root; needs qemu-system-x86_64, dnsmasq, nft, jq)
#   SCENARIO  span       a QEMU guest on each host gets a lease from its own host's slice (and
#                        the network's MTU, 1450 over the 1500-byte underlay, by DHCP) and
#                        pings its local gateway; the guest on host 1 pings the one on host 2
#                        and fetches a page from it; the uplink counters in network.list
#                        moved; DHCP stayed on its host (each dnsmasq leased only its own guest)
#             lifecycle  no guests, kernel state only: network.delete while an attachment uses
#                        the network is refused; after kill -9 + restart of host 2's daemon the
#                        network is back with its uplink; after stop, delete removes the
#                        bridge, the VXLAN device, dnsmasq and the nft tables: nothing of ours
#                        is left in either host
#   Env SQUIB_NETD / SQUIB_NETCTL  binaries
# Prints "fleet/<scenario>: PASS (<s>s)" and exits 0, or "… FAIL: why" + logs, exit 1; exit
# 77 (CTest skip) without root or tools.
#
# Network safety: everything runs inside the namespaces sqt-fl<n>-<tag> this script creates
# and deletes; the underlay 10.216.0.0/24 and the network 192.168.150.0/24 exist only there.
set -euo pipefail

scenario=${1:?usage: fleet_test.sh span|lifecycle}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../../.." && pwd)
netd=${SQUIB_NETD:?SQUIB_NETD: the squib-netd binary}
netctl=${SQUIB_NETCTL:?SQUIB_NETCTL: the squib-netctl binary}
boot=$root/tests/system/guest/boot-guest.sh

skip() { echo "fleet/$scenario: SKIP ($*)"; exit 77; }
[[ $EUID -eq 0 ]] || skip "needs root"
for tool in ip nft dnsmasq qemu-system-x86_64 jq; do command -v "$tool" >/dev/null || skip "no $tool"; done

t0=$SECONDS
tag=$(printf '%04x' $((RANDOM)))
hosts=(1 2)
ns=([1]="sqt-fl1-$tag" [2]="sqt-fl2-$tag")
underlay=([1]=10.216.0.1 [2]=10.216.0.2)
slice=([1]=192.168.150.10-192.168.150.99 [2]=192.168.150.100-192.168.150.199)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sqt-fleet.XXXXXX")
chmod 0755 "$tmp"   # dnsmasq (user nobody) reads its hosts dirs in the run dirs
pids=()
daemon=([1]='' [2]='')

# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
    local pid h
    for pid in "${pids[@]}" ${daemon[1]} ${daemon[2]}; do kill -TERM "$pid" 2>/dev/null || true; done
    sleep 0.3
    for h in "${hosts[@]}"; do ip netns pids "${ns[$h]}" 2>/dev/null | xargs -r kill -KILL 2>/dev/null || true; done
    for pid in "${pids[@]}" ${daemon[1]} ${daemon[2]}; do kill -KILL "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
    for h in "${hosts[@]}"; do ip netns del "${ns[$h]}" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

fail() {
    echo "fleet/$scenario: FAIL: $*"
    local f
    for f in "$tmp"/*.log; do [[ -f "$f" ]] || continue; echo "----- ${f##*/}"; tail -n 40 "$f"; done
    exit 1
}
pass() { echo "fleet/$scenario: PASS ($((SECONDS - t0))s) $*"; exit 0; }
in_ns() { local h=$1; shift; ip netns exec "${ns[$h]}" "$@"; }
ctl() { local h=$1; shift; "$netctl" --control "$tmp/run$h/control.sock" --json "$@"; }

# The two hosts and their underlay.
for h in "${hosts[@]}"; do ip netns add "${ns[$h]}"; ip -n "${ns[$h]}" link set lo up; mkdir -p "$tmp/run$h"; done
ip link add "sqfu-$tag" netns "${ns[1]}" type veth peer name "sqfu-$tag" netns "${ns[2]}"
for h in "${hosts[@]}"; do
    ip -n "${ns[$h]}" addr add "${underlay[$h]}/24" dev "sqfu-$tag"
    ip -n "${ns[$h]}" link set "sqfu-$tag" up
done

start_daemon() {  # HOST
    local h=$1
    # `ip netns exec` execs the command, so $! is the daemon itself.
    in_ns "$h" "$netd" --run-dir "$tmp/run$h" --log-level debug >>"$tmp/daemon$h.log" 2>&1 &
    daemon[h]=$!
    for _ in $(seq 100); do ctl "$h" status >/dev/null 2>&1 && return; sleep 0.05; done
    fail "daemon on host $h does not answer"
}
create_fleet() {  # HOST: network fleet, the other host as the remote, this host's slice
    local h=$1 other=$((3 - $1))
    ctl "$h" network create fleet --mode host --subnet 192.168.150.0/24 --dhcp-range "${slice[$h]}" \
        --vxlan-vni 4242 --vxlan-local "${underlay[$h]}" --vxlan-remote "${underlay[$other]}" \
        >"$tmp/fleet$h.json" 2>"$tmp/fleet$h.err" || fail "network create on host $h: $(cat "$tmp/fleet$h.err")"
}
# start HOST NAME : an attachment on fleet, its JSON in $tmp/NAME.json
start() {
    ctl "$1" start "$2" --mode host --network fleet >"$tmp/$2.json" 2>"$tmp/$2.err" ||
        fail "start $2 on host $1: $(cat "$tmp/$2.err")"
}
field() { jq -r "$2" "$tmp/$1.json"; }
in_slice() {  # ADDRESS HOST: is ADDRESS (192.168.150.N) inside HOST's slice?
    local last=${1##*.} first_of=${slice[$2]%-*} last_of=${slice[$2]#*-}
    (( last >= ${first_of##*.} && last <= ${last_of##*.} ))
}
boot() {  # HOST NAME TASKS : a guest on attachment NAME, in the background
    in_ns "$1" "$boot" --socket "$(field "$2" .socket)" --mac "$(field "$2" .mac)" --tasks "$3" \
        --timeout 120 --log "$tmp/guest-$2.log" --local "$tmp/$2-vm.sock" --background "$tmp/$2.qpid" >/dev/null
    pids+=("$(cat "$tmp/$2.qpid")")
}
wait_for() {  # FILE REGEX SECONDS
    local deadline=$((SECONDS + $3))
    while (( SECONDS < deadline )); do grep -Eq "$2" "$1" 2>/dev/null && return 0; sleep 0.2; done
    return 1
}
expect() { grep -Eq "$2" "$tmp/guest-$1.log" || fail "guest $1: no line matching '$2'"; }
list_fleet() { ctl "$1" network list | jq -c '.[] | select(.name == "fleet")'; }
# What squib-netd owns in HOST's namespace (empty = nothing).
leftovers() {
    local h=$1 pid out
    out=$(ip -n "${ns[$h]}" -o link show | awk -F': ' '{print $2}' | cut -d@ -f1 | grep -E '^(sq-|sqbr-|sqvx-)' || true)
    out+=$(in_ns "$h" nft list tables | grep squib_ || true)
    for pid in $(ip netns pids "${ns[$h]}"); do
        [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == dnsmasq ]] && out+=" dnsmasq:$pid"
    done
    echo "$out"
}

for h in "${hosts[@]}"; do start_daemon "$h"; create_fleet "$h"; done
for h in "${hosts[@]}"; do
    desc=$(list_fleet "$h")
    [[ "$(jq -r .state <<<"$desc")" == ready ]] || fail "host $h: fleet is not ready: $desc"
    [[ "$(jq -r .mtu <<<"$desc")" == 1450 ]] || fail "host $h: fleet's MTU is not 1500 - 50: $desc"
    [[ "$(jq -r .dhcp_range <<<"$desc")" == "${slice[$h]}" ]] || fail "host $h: not its slice: $desc"
    vx=$(jq -r .uplink.device <<<"$desc")
    ip -n "${ns[$h]}" -d link show "$vx" >"$tmp/vxlan$h.txt" || fail "host $h: no VXLAN device $vx"
    grep -E "vxlan id 4242 .*local ${underlay[$h]}" "$tmp/vxlan$h.txt" >/dev/null ||
        fail "host $h: $vx is not VNI 4242 from ${underlay[$h]}: $(cat "$tmp/vxlan$h.txt")"
    grep "master $(jq -r .bridge <<<"$desc")" "$tmp/vxlan$h.txt" >/dev/null || fail "host $h: $vx is not on the bridge"
done

case "$scenario" in
span)
    start 1 vm-a
    start 2 vm-b
    a=$(field vm-a .network.address); b=$(field vm-b .network.address); gw=$(field vm-a .network.gateway)
    in_slice "$a" 1 || fail "vm-a's address $a is not in host 1's slice ${slice[1]}"
    in_slice "$b" 2 || fail "vm-b's address $b is not in host 2's slice ${slice[2]}"
    [[ "$(field vm-a .mtu)" == 1450 && "$(field vm-b .mtu)" == 1450 ]] || fail "start did not report MTU 1450"
    # vm-b first, serving; then vm-a, which pings it and fetches its page: ordered by events,
    # both directions of the tunnel carry ARP, ICMP and TCP.
    boot 2 vm-b "dhcp,ping:$gw,serve:8080"
    wait_for "$tmp/guest-vm-b.log" 'SQUIB-GUEST SERVE|SQUIB-RIG EXIT' 120 || fail "guest vm-b did not come up"
    expect vm-b "SQUIB-GUEST SERVE port=8080"
    boot 1 vm-a "dhcp,ping:$gw,ping:$b,wget:http://$b:8080/"
    wait_for "$tmp/guest-vm-a.log" 'SQUIB-RIG EXIT' 120 || fail "guest vm-a did not finish"
    expect vm-a "SQUIB-GUEST LEASE ip=$a prefix=24 router=$gw dns=$gw mtu=1450 server=$gw"
    expect vm-b "SQUIB-GUEST LEASE ip=$b prefix=24 router=$gw dns=$gw mtu=1450 server=$gw"
    expect vm-a "SQUIB-GUEST PING ok host=$gw"
    expect vm-b "SQUIB-GUEST PING ok host=$gw"
    expect vm-a "SQUIB-GUEST PING ok host=$b"
    expect vm-a "SQUIB-GUEST WGET-BODY hello-from-guest"
    for h in "${hosts[@]}"; do
        desc=$(list_fleet "$h")
        (( $(jq -r .uplink.counters.tx_packets <<<"$desc") > 0 && $(jq -r .uplink.counters.rx_packets <<<"$desc") > 0 )) ||
            fail "host $h: the uplink counters did not move: $desc"
    done
    # Each dnsmasq leased its own guest only: the other host's DISCOVERs never reached it.
    grep -E "DHCPACK\(.*\) $b " "$tmp/daemon1.log" >/dev/null && fail "host 1's dnsmasq leased to host 2's guest"
    grep -E "DHCPACK\(.*\) $a " "$tmp/daemon2.log" >/dev/null && fail "host 2's dnsmasq leased to host 1's guest"
    pass "vm-a $a (host 1) -> vm-b $b (host 2): ping + wget over VXLAN 4242, MTU 1450"
    ;;
lifecycle)
    start 1 l1
    ctl 1 network delete fleet >/dev/null 2>"$tmp/delete.err" && fail "network delete with an attachment succeeded"
    grep -E "network 'fleet' is in use by 1 attachment" "$tmp/delete.err" >/dev/null ||
        fail "unexpected refusal: $(cat "$tmp/delete.err")"
    # kill -9 of host 2's daemon: a restart brings fleet back with its uplink.
    kill -KILL "${daemon[2]}"; wait "${daemon[2]}" 2>/dev/null || true; daemon[2]=''
    start_daemon 2
    for _ in $(seq 200); do [[ "$(list_fleet 2 | jq -r .state)" == ready ]] && break; sleep 0.05; done
    desc=$(list_fleet 2)
    [[ "$(jq -r .state <<<"$desc")" == ready && "$(jq -r .origin <<<"$desc")" == api ]] ||
        fail "fleet did not come back on host 2: $desc"
    ip -n "${ns[2]}" -d link show "$(jq -r .uplink.device <<<"$desc")" | grep "vxlan id 4242" >/dev/null ||
        fail "host 2: the restored fleet has no VXLAN device"
    ctl 1 stop l1 >/dev/null || fail "stop l1"
    for h in "${hosts[@]}"; do
        ctl "$h" network delete fleet >/dev/null 2>"$tmp/delete$h.err" || fail "host $h: delete: $(cat "$tmp/delete$h.err")"
        [[ "$(ctl "$h" network list | jq length)" == 0 ]] || fail "host $h: network list is not empty"
        left=$(leftovers "$h")
        [[ -z "$left" ]] || fail "host $h: left behind: $left"
    done
    pass "delete refused while attached, fleet restored with its uplink after kill -9, nothing left after delete"
    ;;
*) fail "unknown scenario $scenario" ;;
esac
