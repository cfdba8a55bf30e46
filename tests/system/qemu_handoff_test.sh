#!/usr/bin/env bash
# System test: the hand-off fast path. `nobody` (a member of the daemon's control group
# `nogroup`) asks squib-netd for a host-mode attachment with handoff "tap", then boots a QEMU
# guest as nobody on that TAP by name (-netdev tap,ifname=…,script=no,downscript=no — what an
# unprivileged VMM does): the guest gets its lease from the network's dnsmasq, pings the
# gateway and fetches a page from it over HTTP. `stats` shows the TAP's kernel counters, the
# owner's `stop` removes the TAP and its nft table. Then the same with handoff "fd":
# `squib-netctl start … --handoff fd --exec -- QEMU … -netdev tap,fd={fd}`, run as nobody.
# Needs root. Usage: qemu_handoff_test.sh BUILD_DIR
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib.sh"
SQUIB_DAEMON_ARGS="--group nogroup"
squib_system_test handoff "$1"
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
ctl_nobody() { as_nobody "$build/daemon/squib-netctl" --control "$work/run/control.sock" "$@"; }

kernel=$("$here/guest/make-initramfs.sh" --kernel)
initrd=$("$here/guest/make-initramfs.sh" "${SQUIB_GUEST_CACHE:-${TMPDIR:-/tmp}/squib-guest-cache}/initramfs.cpio.gz")
mkdir "$work/guest" "$work/www" && chown nobody:nogroup "$work/guest"
echo squib-handoff-ok >"$work/www/index.html"

ctl_nobody --json start vm1 --mode host --handoff tap >"$work/start.json" || fail "start"
tap=$(json_get "$work/start.json" 'd["tap"]')
mac=$(json_get "$work/start.json" 'd["mac"]')
gw=$(json_get "$work/start.json" 'd["network"]["gateway"]')
address=$(json_get "$work/start.json" 'd["network"]["address"]')
[[ $(json_get "$work/start.json" 'd["socket"]') == None ]] || fail "a handed-off attachment has no socket"
ip -n "$SQUIB_NS" -d link show dev "$tap" | grep "user nobody" >/dev/null || fail "$tap is not nobody's"

ip netns exec "$SQUIB_NS" python3 -m http.server --bind "$gw" 8080 --directory "$work/www" >/dev/null 2>&1 &
SQUIB_PIDS+=($!)

ip netns exec "$SQUIB_NS" setpriv --reuid=nobody --regid=nogroup --clear-groups \
    "$here/guest/boot-guest.sh" --tap "$tap" --mac "$mac" --tasks "dhcp,ping:$gw,wget:http://$gw:8080/" \
    --kernel "$kernel" --initrd "$initrd" --timeout 150 --log "$work/guest/guest.log" >/dev/null ||
    { cp "$work/guest/guest.log" "$work/guest.log" 2>/dev/null; fail "the guest did not finish its tasks"; }
cp "$work/guest/guest.log" "$work/guest.log"
grep -aq "^SQUIB-GUEST LEASE ip=$address " "$work/guest.log" || fail "no lease of $address"
grep -aq "^SQUIB-GUEST PING ok host=$gw" "$work/guest.log" || fail "no ping of the gateway"
grep -aq "^SQUIB-GUEST WGET-BODY squib-handoff-ok" "$work/guest.log" || fail "no HTTP from the gateway"
echo "guest (QEMU as nobody on $tap): $(grep -a '^SQUIB-GUEST LEASE' "$work/guest.log")"

sleep 1.5  # one stats refresh (1 s) after the guest powered off
ctl_nobody --json stats vm1 >"$work/stats.json"
from_vm=$(json_get "$work/stats.json" 'd[0]["from_vm"]["frames"]')
to_vm=$(json_get "$work/stats.json" 'd[0]["to_vm"]["frames"]')
dropped=$(json_get "$work/stats.json" 'd[0]["dropped_total"]')
[[ $from_vm -gt 0 && $to_vm -gt 0 ]] || fail "stats show no traffic: $(cat "$work/stats.json")"
echo "stats: from_vm=$from_vm to_vm=$to_vm dropped_total=$dropped drops=$(json_get "$work/stats.json" '{k: v for k, v in d[0]["drops"].items() if v}')"

ctl_nobody stop vm1 || fail "stop"
for _ in $(seq 1 50); do ip -n "$SQUIB_NS" link show dev "$tap" >/dev/null 2>&1 || break; sleep 0.1; done
! ip -n "$SQUIB_NS" link show dev "$tap" >/dev/null 2>&1 || fail "$tap outlived stop"
! ip netns exec "$SQUIB_NS" nft list tables | grep squib_tap_ >/dev/null || fail "an nft table outlived stop"

# The same with the TAP passed open (handoff "fd"): squib-netctl --exec runs QEMU holding it,
# and stops the attachment when QEMU is done.
ip netns exec "$SQUIB_NS" setpriv --reuid=nobody --regid=nogroup --clear-groups \
    "$build/daemon/squib-netctl" --control "$work/run/control.sock" start vm2 --mode host --handoff fd \
    --mac 52:54:00:5e:00:02 --address 192.168.105.77 --exec -- \
    "$here/guest/boot-guest.sh" --tap-fd '{fd}' --mac 52:54:00:5e:00:02 --tasks "dhcp,ping:$gw" \
    --kernel "$kernel" --initrd "$initrd" --timeout 150 --log "$work/guest/guest2.log" >/dev/null ||
    { cp "$work/guest/guest2.log" "$work/guest.log" 2>/dev/null; fail "the fd guest did not finish its tasks"; }
cp "$work/guest/guest2.log" "$work/guest.log"
grep -aq "^SQUIB-GUEST LEASE ip=192.168.105.77 " "$work/guest.log" || fail "no lease of 192.168.105.77 over the passed fd"
grep -aq "^SQUIB-GUEST PING ok host=$gw" "$work/guest.log" || fail "no ping of the gateway over the passed fd"
echo "guest (QEMU as nobody on a passed TAP fd): $(grep -a '^SQUIB-GUEST LEASE' "$work/guest.log")"
[[ $(ctl --json list) == "[]" ]] || fail "vm2 outlived its command: $(ctl --json list)"
! ip netns exec "$SQUIB_NS" nft list tables | grep squib_tap_ >/dev/null || fail "an nft table outlived the fd attachment"

echo "PASS: an unprivileged QEMU got a lease, ping and HTTP on a handed-off TAP, by name and by fd; stop removed TAP and rules"
