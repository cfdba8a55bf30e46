#!/usr/bin/env bash
# selftest-passt.sh — prove the guest rig without squib-netd: guest <-> relay <-> passt.
#
# Usage: selftest-passt.sh [--keep-logs DIR]       (root; needs passt, qemu, python3)
#   Starts passt (-s, QEMU stream framing) and a small python3 relay that turns the guest's
#   datagrams (one frame each) into length-prefixed stream frames (4-byte big-endian length
#   + frame) and back, boots the guest with tasks "dhcp" through boot-guest.sh, and asserts
#   a "SQUIB-GUEST LEASE ip=" line. Prints "selftest-passt: PASS …" with timings, exit 0;
#   or "selftest-passt: FAIL …" plus the logs, exit 1. Exit 77 (skip) if passt is missing.
# Network safety: DHCP only. passt runs IPv4-only with its TCP/UDP/ICMP handlers disabled
# and no port forwards, so nothing the guest sends can leave passt towards the host network;
# DHCP is answered by passt itself.
# Cleanup: every process started here (passt, relay, boot-guest -> QEMU) is stopped by PID
# and the temp dir removed, on success, failure or signal.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
keep=
[[ "${1:-}" == "--keep-logs" ]] && keep=${2:?--keep-logs DIR}
command -v passt >/dev/null || { echo "selftest-passt: SKIP (no passt)"; exit 77; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/squib-selftest.XXXXXX")
chmod 0777 "$tmp"   # passt started as root switches to nobody before binding its socket
pids=()
# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
    local pid
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    if [[ -n "$keep" ]]; then mkdir -p "$keep" || true; cp "$tmp"/*.log "$tmp"/*.out "$keep"/ 2>/dev/null || true; fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

t0=$(date +%s.%N)
passt -f -4 --no-tcp --no-udp --no-icmp -t none -u none -s "$tmp/passt.sock" \
    -l "$tmp/passt.log" \
    >"$tmp/passt.out" 2>&1 &
pids+=($!)

# Relay: bind the datagram socket the guest sends to, connect to passt's stream socket.
python3 - "$tmp/relay.sock" "$tmp/passt.sock" >"$tmp/relay.log" 2>&1 <<'EOF' &
import select, socket, struct, sys, time
dgram_path, stream_path = sys.argv[1], sys.argv[2]
d = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
d.bind(dgram_path)
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
for _ in range(100):                       # passt needs a moment to listen
    try:
        s.connect(stream_path); break
    except OSError:
        time.sleep(0.1)
else:
    sys.exit("relay: cannot connect to passt at " + stream_path)
print("relay: connected", flush=True)
peer, buf, up, down = None, b"", 0, 0
while True:
    for r in select.select([d, s], [], [])[0]:
        if r is d:                         # guest -> passt
            frame, peer = d.recvfrom(65600)
            if frame != b"VFKT":
                s.sendall(struct.pack(">I", len(frame)) + frame); up += 1
        else:                              # passt -> guest
            chunk = s.recv(262144)
            if not chunk:
                sys.exit(f"relay: passt closed (up={up} down={down})")
            buf += chunk
            while len(buf) >= 4 and len(buf) >= 4 + struct.unpack(">I", buf[:4])[0]:
                n = struct.unpack(">I", buf[:4])[0]
                frame, buf = buf[4:4 + n], buf[4 + n:]
                if peer:
                    try:
                        d.sendto(frame, peer); down += 1
                    except OSError:
                        pass
EOF
pids+=($!)

for _ in $(seq 100); do [[ -S "$tmp/relay.sock" ]] && break; sleep 0.05; done
t1=$(date +%s.%N)
"$here/boot-guest.sh" --socket "$tmp/relay.sock" --log "$tmp/guest.log" \
    --tasks dhcp --timeout 60 --mac 52:54:00:5e:00:02 &
pids+=($!)
rc=0; wait "${pids[-1]}" || rc=$?
t2=$(date +%s.%N)

boot=$(grep -a -m1 'SQUIB-GUEST UP' "$tmp/guest.log" >/dev/null && echo yes || echo no)
lease=$(grep -a -m1 '^SQUIB-GUEST LEASE ip=' "$tmp/guest.log" || true)
wall=$(awk -v a="$t1" -v b="$t2" 'BEGIN { printf "%.1f", b - a }')
total=$(awk -v a="$t0" -v b="$t2" 'BEGIN { printf "%.1f", b - a }')
if [[ -n "$lease" && $rc -eq 0 ]]; then
    echo "selftest-passt: PASS guest_wall=${wall}s total=${total}s $lease"
    exit 0
fi
echo "selftest-passt: FAIL rc=$rc eth0_up=$boot guest_wall=${wall}s"
for f in guest.log passt.out passt.log relay.log; do echo "--- $f"; cat -v "$tmp/$f" || true; done
exit 1
