#!/usr/bin/env bash
# System test: port forwarding through passt. A QEMU guest serves HTTP on port 8080; the
# attachment forwards 127.0.0.1:18080 (in the test's namespace) to it, given at `start`.
# Then `squib-netctl forward` adds 127.0.0.1:18081 at run time (passt is restarted with the
# new -t option) and `unforward` removes the first. Loopback of our own namespace only.
# Needs root. Usage: qemu_forward_test.sh BUILD_DIR
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib.sh"
squib_system_test fwd "$1"
# fetch PORT: the body served at 127.0.0.1:PORT inside the namespace, or nothing.
fetch() {
    ip netns exec "$SQUIB_NS" python3 -c 'import sys, urllib.request
try: print(urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/", timeout=3).read().decode().strip())
except Exception as e: print(f"error: {e}")' "$1"
}
wait_for_body() {  # PORT SECONDS
    local body=''
    for _ in $(seq 1 "$2"); do
        body=$(fetch "$1")
        [[ "$body" == hello-from-guest ]] && { echo "$body"; return 0; }
        sleep 1
    done
    echo "$body"; return 1
}

ctl --json start vm1 --mode userspace --forward tcp:127.0.0.1:18080:8080 >"$work/start.json" || fail start
socket=$(json_get "$work/start.json" 'd["socket"]')
mac=$(json_get "$work/start.json" 'd["mac"]')
"$here/guest/boot-guest.sh" --socket "$socket" --mac "$mac" --tasks dhcp,serve:8080 --timeout 180 \
    --log "$work/guest.log" --background "$work/qemu.pid" >/dev/null
SQUIB_PIDS+=("$(cat "$work/qemu.pid")")
for _ in $(seq 1 90); do grep -aq '^SQUIB-GUEST SERVE port=8080' "$work/guest.log" && break; sleep 1; done
grep -aq '^SQUIB-GUEST SERVE port=8080' "$work/guest.log" || fail "guest did not start its server"

body=$(wait_for_body 18080 20) || fail "forward given at start: got '$body'"
echo "start-time forward 127.0.0.1:18080 -> guest:8080: $body"

ctl forward vm1 tcp 127.0.0.1:18081 8080 || fail "forward"
ctl --json list | grep '"host": "127.0.0.1:18081"' >/dev/null || fail "list does not show the new forward"
body=$(wait_for_body 18081 30) || fail "run-time forward: got '$body'"
echo "run-time forward 127.0.0.1:18081 -> guest:8080: $body"

ctl unforward vm1 tcp 127.0.0.1:18080 || fail "unforward"
# passt is reconfigured asynchronously: wait (bounded) for the port to stop answering.
for _ in $(seq 1 40); do
    body=$(fetch 18080)
    [[ "$body" != hello-from-guest ]] && break
    sleep 0.5
done
[[ "$body" != hello-from-guest ]] || fail "18080 still forwarded 20 s after unforward"
echo "after unforward, 127.0.0.1:18080: $body"
echo "PASS: port forwards through squib-netd -> passt at start and at run time"
