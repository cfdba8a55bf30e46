#!/usr/bin/env bash
# System test: crash recovery. A QEMU guest gets a lease through squib-netd -> passt; the
# daemon is killed with SIGKILL while the guest keeps running (passt must die with it), a
# new daemon restores the attachment from state.json at the same socket path, and the
# same guest — never restarted — gets a second lease through the new daemon.
# Needs root. Usage: qemu_restart_test.sh BUILD_DIR
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib.sh"
squib_system_test restart "$1"
leases() { grep -ac '^SQUIB-GUEST LEASE ip=' "$work/guest.log" || true; }
ctl --json start vm1 --mode userspace >"$work/start.json" || fail start
socket=$(json_get "$work/start.json" 'd["socket"]')
mac=$(json_get "$work/start.json" 'd["mac"]')
passt_pid=$(ctl --json list | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["detail"].split()[1])')

"$here/guest/boot-guest.sh" --socket "$socket" --mac "$mac" --tasks dhcp,sleep:25,dhcp --timeout 180 \
    --log "$work/guest.log" --background "$work/qemu.pid" >/dev/null
qemu_pid=$(cat "$work/qemu.pid")
SQUIB_PIDS+=("$qemu_pid")
for _ in $(seq 1 120); do [[ $(leases) -ge 1 ]] && break; sleep 0.5; done
[[ $(leases) -ge 1 ]] || fail "no first lease"
echo "first lease: $(grep -a '^SQUIB-GUEST LEASE' "$work/guest.log" | head -1)"

kill -KILL "$SQUIB_DAEMON_PID"; wait "$SQUIB_DAEMON_PID" 2>/dev/null || true
for _ in $(seq 1 40); do kill -0 "$passt_pid" 2>/dev/null || break; sleep 0.05; done
! kill -0 "$passt_pid" 2>/dev/null || fail "passt $passt_pid outlived the killed daemon"
killed_at=$(date +%s.%N)
squib_daemon_start "$SQUIB_NS" "$build/daemon/squib-netd" "$work/run" "$work/daemon.log"
ctl --json list >"$work/list.json"; restored=$(json_get "$work/list.json" 'd[0]["socket"] if d else None')
[[ "$restored" == "$socket" ]] || fail "not restored at $socket (list: $(cat "$work/list.json"))"
echo "daemon restarted in $(python3 -c "import time; print(f'{time.time() - $killed_at:.2f}')") s; vm1 restored at $socket"
kill -0 "$qemu_pid" || fail "the guest did not survive"

for _ in $(seq 1 120); do grep -aq '^SQUIB-GUEST DONE' "$work/guest.log" && break; sleep 0.5; done
[[ $(leases) -ge 2 ]] || fail "no second lease after the daemon restart"
echo "second lease (same guest, new daemon): $(grep -a '^SQUIB-GUEST LEASE' "$work/guest.log" | tail -1)"
ctl --json stats vm1 >"$work/stats.json"; to_vm=$(json_get "$work/stats.json" 'd[0]["to_vm"]["frames"]')
[[ $to_vm -gt 0 ]] || fail "the new daemon delivered nothing"
echo "PASS: a running guest resumed through a restarted squib-netd (new daemon to_vm=$to_vm frames)"
