#!/usr/bin/env bash
# System test (issue 16, "Done when"): `squib-netctl capture` records a real QEMU guest's DHCP
# exchange while it boots, and tshark decodes the DISCOVER and the OFFER from the file.
# The guest is on a host-mode attachment (daemon-owned bridge, dnsmasq) in a namespace this
# test creates; the capture is ended with SIGINT, as a person would with Ctrl-C.
# Needs root and tshark (scripts/setup installs it). Usage: qemu_capture_test.sh BUILD_DIR
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib.sh"
command -v tshark >/dev/null || { echo "FAIL: tshark is not installed (scripts/setup)"; exit 1; }
squib_system_test capture "$1"

ctl --json start vm1 --mode host >"$work/start.json" || fail "start"
socket=$(json_get "$work/start.json" 'd["socket"]')
mac=$(json_get "$work/start.json" 'd["mac"]')

# The binary itself, not the ctl function: $! must be squib-netctl's PID for the SIGINT below.
"$build/daemon/squib-netctl" --control "$work/run/control.sock" capture vm1 -w "$work/vm1.pcapng" \
    2>"$work/capture.err" &
capture_pid=$!
SQUIB_PIDS+=("$capture_pid")
for _ in $(seq 1 100); do grep -q 'vm1: capture started' "$work/daemon.log" && break; sleep 0.05; done
grep -q 'vm1: capture started' "$work/daemon.log" || fail "the capture did not start: $(cat "$work/capture.err")"

"$here/guest/boot-guest.sh" --socket "$socket" --mac "$mac" --tasks dhcp --timeout 120 --log "$work/guest.log" \
    || fail "guest exited with $?"
lease=$(grep -a '^SQUIB-GUEST LEASE ip=' "$work/guest.log" || true)
[[ -n "$lease" ]] || fail "no DHCP lease in the guest log"
echo "guest: $lease"

kill -INT "$capture_pid"
rc=0; wait "$capture_pid" || rc=$?
[[ $rc -eq 0 ]] || fail "squib-netctl capture exited with $rc: $(cat "$work/capture.err")"
summary=$(cat "$work/capture.err")
echo "squib-netctl capture: $summary"
[[ "$summary" =~ ^[1-9][0-9]*\ frames\ captured,\ 0\ lost$ ]] || fail "unexpected summary: $summary"

tshark -r "$work/vm1.pcapng" -Y dhcp 2>"$work/tshark.err" >"$work/dhcp.txt" || {
    cat "$work/tshark.err"; fail "tshark could not read the capture"; }
cat "$work/dhcp.txt"
grep -q 'DHCP Discover' "$work/dhcp.txt" || fail "no DHCP Discover decoded"
grep -q 'DHCP Offer' "$work/dhcp.txt" || fail "no DHCP Offer decoded"
# Direction flags: the DISCOVER left the guest (outbound), the OFFER came to it (inbound).
tshark -r "$work/vm1.pcapng" -Y 'dhcp.option.dhcp == 1 || dhcp.option.dhcp == 2' \
    -T fields -e frame.interface_name -e frame.packet_flags_direction -e dhcp.option.dhcp \
    2>/dev/null >"$work/fields.txt"
cat "$work/fields.txt"
grep -qP '^squib:vm1\t0x0*2\t1$' "$work/fields.txt" || fail "DISCOVER not marked outbound"
grep -qP '^squib:vm1\t0x0*1\t2$' "$work/fields.txt" || fail "OFFER not marked inbound"
echo "PASS: the guest's DHCP DISCOVER and OFFER captured by squib-netctl capture and decoded by tshark"
