#!/usr/bin/env bash
# systemd_unit_test.sh — checks launchd/squib-netd.service without booting systemd:
#   1. `systemd-analyze verify` of a copy whose ExecStart points at the built binary (verify
#      needs an existing executable) prints nothing: no unknown keys, no bad values;
#   2. the flags in ExecStart exist in that binary (`squib-netd --help`);
#   3. the settings operations depend on are present, and the ones that would break the
#      daemon are absent (PrivateTmp=yes / ProtectHome=yes hide VMM sockets; without
#      RuntimeDirectoryPreserve= systemd deletes state.json on stop);
#   4. CapabilityBoundingSet= is exactly the set the daemon keeps after start-up
#      (kept_capabilities() in lib/squib/platform/linux/privileges.cpp), when that file exists;
#   5. `systemd-analyze security --offline=yes` rates the exposure at most 5.0 (the unit
#      measured 4.4 when written; docs/operations.md).
# Usage: systemd_unit_test.sh PATH/TO/squib-netd      exit 0 pass, 1 fail, 77 skip
set -euo pipefail

netd=${1:?usage: systemd_unit_test.sh PATH/TO/squib-netd}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
unit=$root/launchd/squib-netd.service
privileges=$root/lib/squib/platform/linux/privileges.cpp
max_exposure=5.0

skip() { echo "systemd_unit: SKIP ($*)"; exit 77; }
fail() { echo "systemd_unit: FAIL: $*"; exit 1; }
command -v systemd-analyze >/dev/null || skip "no systemd-analyze"
[[ -x "$netd" ]] || skip "build squib-netd first ($netd)"
netd=$(realpath "$netd")   # ExecStart= needs an absolute path
[[ -f "$unit" ]] || fail "$unit is missing"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/sq-unit.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
sed "s|^ExecStart=/usr/local/bin/squib-netd |ExecStart=$netd |" "$unit" > "$tmp/squib-netd.service"
grep -q "^ExecStart=$netd " "$tmp/squib-netd.service" || fail "ExecStart does not start /usr/local/bin/squib-netd"

# 1. verify: any output is a finding (it exits 0 on some warnings, e.g. unknown keys).
out=$(systemd-analyze verify --man=no "$tmp/squib-netd.service" 2>&1) || fail "systemd-analyze verify: $out"
[[ -z "$out" ]] || fail "systemd-analyze verify reported: $out"

# 2. ExecStart's flags are the daemon's.
help=$("$netd" --help)
while read -r flag; do
    grep -q -- "$flag" <<<"$help" || fail "ExecStart uses $flag, which squib-netd --help does not list"
done < <(grep '^ExecStart=' "$unit" | grep -oE -- '--[a-z-]+')

# 3. Settings the daemon depends on, and settings that would break it.
value() { sed -n "s/^$1=//p" "$unit" | tail -n 1; }
expect() { [[ "$(value "$1")" == "$2" ]] || fail "$1 is '$(value "$1")', expected '$2' ($3)"; }
expect ExecStart "/usr/local/bin/squib-netd --run-dir /run/squib-net --group squib --foreground" "the documented command line"
expect Type simple "the daemon does not notify"
expect Restart on-failure "crash recovery restores state.json"
expect KillMode mixed "SIGTERM to the daemon only; it tears its children down itself"
expect RuntimeDirectory squib-net "the run dir"
expect RuntimeDirectoryMode 0755 "dnsmasq (nobody) and unprivileged VMMs traverse it"
expect RuntimeDirectoryPreserve yes "state.json must survive stop/start and restarts"
expect ReadWritePaths /run/squib-net "ProtectSystem=strict leaves only the run dir writable"
expect ProtectSystem strict "read-only system"
expect NoNewPrivileges yes "no set-uid children"
expect RestrictAddressFamilies "AF_UNIX AF_NETLINK AF_INET AF_INET6" "measured families"
expect DeviceAllow "/dev/net/tun rw" "TAP devices"
[[ "$(value PrivateTmp)" != yes ]] || fail "PrivateTmp=yes hides VMM sockets under /tmp (peer_gone)"
[[ "$(value ProtectHome)" != yes && "$(value ProtectHome)" != tmpfs ]] ||
    fail "ProtectHome=$(value ProtectHome) hides VMM sockets under /home (peer_gone)"
[[ "$(value PrivateNetwork)" != yes ]] || fail "PrivateNetwork=yes: the daemon must manage the host's network"
[[ "$(value ProtectKernelTunables)" != yes ]] || fail "ProtectKernelTunables=yes: shared mode writes net.ipv4.ip_forward"
[[ "$(value ProtectProc)" != invisible ]] || fail "ProtectProc=invisible: the daemon reads /proc of clients and dnsmasq"

# 4. The bounding set is the daemon's kept set.
unit_caps=$(value CapabilityBoundingSet | tr ' ' '\n' | tr '[:upper:]' '[:lower:]' | sort | tr '\n' ' ')
if [[ -f "$privileges" ]]; then
    kept=$(grep -oE '\{"cap_[a-z_]+"' "$privileges" | tr -d '{"' | sort | tr '\n' ' ')
    [[ -n "$kept" ]] || fail "no kept capabilities found in $privileges"
    [[ "$unit_caps" == "$kept" ]] || fail "CapabilityBoundingSet [$unit_caps] differs from kept_capabilities() [$kept]"
fi
grep -qi cap_sys_admin <<<"$unit_caps" && fail "CAP_SYS_ADMIN is in the bounding set"

# 5. Exposure score (offline analysis of the file; no running systemd needed).
report=$(systemd-analyze security --offline=yes --no-pager "$tmp/squib-netd.service" 2>&1) ||
    fail "systemd-analyze security failed: $(tail -n 3 <<<"$report")"
exposure=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' <<<"$report")
[[ -n "$exposure" ]] || fail "no exposure level in: $(tail -n 3 <<<"$report")"
awk -v e="$exposure" -v m="$max_exposure" 'BEGIN { exit !(e <= m) }' ||
    fail "exposure $exposure is above $max_exposure"

echo "systemd_unit: PASS (verify clean, flags exist, bounding set [${unit_caps% }], exposure $exposure)"
