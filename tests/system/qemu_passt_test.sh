#!/usr/bin/env bash
# System test: a QEMU guest (Debian kernel + busybox initramfs, TCG) whose only NIC is a
# -netdev dgram socket served by squib-netd gets a DHCP lease from passt through the
# daemon; then the daemon's stats show the frames, and SIGTERM leaves nothing behind.
# Needs root (network namespace). Usage: qemu_passt_test.sh BUILD_DIR
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib.sh"
squib_system_test passt "$1"

ctl --json start vm1 --mode userspace >"$work/start.json" || fail "start"
socket=$(json_get "$work/start.json" 'd["socket"]')
mac=$(json_get "$work/start.json" 'd["mac"]')
passt_pid=$(ctl --json list | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["detail"].split()[1])')

start=$(date +%s.%N)
"$here/guest/boot-guest.sh" --socket "$socket" --mac "$mac" --tasks dhcp --timeout 120 --log "$work/guest.log" \
    || fail "guest exited with $?"
elapsed=$(python3 -c "import time; print(f'{time.time() - $start:.1f}')")

lease=$(grep -a '^SQUIB-GUEST LEASE ip=' "$work/guest.log" || true)
[[ -n "$lease" ]] || fail "no DHCP lease in the guest log"
# passt mirrors the namespace's uplink: the guest must get 10.201.0.2 (our namespace only).
[[ "$lease" == *"ip=10.201.0.2 "* ]] || fail "unexpected lease: $lease"
echo "guest lease after ${elapsed}s: $lease"

ctl --json stats vm1 >"$work/stats.json"
from_vm=$(json_get "$work/stats.json" 'd[0]["from_vm"]["frames"]')
to_vm=$(json_get "$work/stats.json" 'd[0]["to_vm"]["frames"]')
[[ "$from_vm" -gt 0 && "$to_vm" -gt 0 ]] || fail "stats show no traffic (from_vm=$from_vm to_vm=$to_vm)"
echo "daemon stats: from_vm=$from_vm to_vm=$to_vm frames"
ctl stats vm1

kill -TERM "$SQUIB_DAEMON_PID"
rc=0; wait "$SQUIB_DAEMON_PID" || rc=$?
[[ $rc -eq 0 ]] || fail "daemon exited with $rc on SIGTERM"
[[ ! -e "$work/run/vm1.sock" && ! -e "$work/run/control.sock" ]] || fail "sockets left behind: $(ls "$work/run")"
! kill -0 "$passt_pid" 2>/dev/null || fail "passt ($passt_pid) outlived the daemon"
echo "PASS: lease through squib-netd -> passt, stats counted, clean shutdown"
