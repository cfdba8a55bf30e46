#!/usr/bin/env bash
# boot-guest.sh — boot the squib test guest in QEMU (TCG) on a unix datagram frame socket.
#
# Usage: boot-guest.sh --socket REMOTE --log FILE [--tasks TASKS] [--mac MAC]
#                      [--timeout SECONDS] [--local PATH] [--background PIDFILE]
#                      [--kernel VMLINUZ] [--initrd CPIO.GZ] [--append 'K=V …'] [--runas USER]
#   --socket REMOTE   frame socket QEMU sends to (the daemon's <run-dir>/<name>.sock); QEMU
#                     binds its own socket at --local (default: a fresh temp dir) and gets
#                     frames back there. One Ethernet frame per datagram (-netdev dgram).
#   --tasks TASKS     guest tasks, default "dhcp" (see init.sh: dhcp, static:IP/N[:GW],
#                     mtu:N, wget:URL, ping:HOST, serve:PORT, sleep:N; comma-separated)
#   --mac MAC         guest MAC, default 52:54:00:5e:00:01
#   --timeout SECONDS QEMU is killed (TERM, then KILL after 3 s) after this long, default 60
#   --log FILE        serial console (and QEMU's stderr) goes here, truncated at start. After
#                     QEMU is gone and the local socket removed, the rig appends its own lines:
#                       SQUIB-RIG TIMEOUT seconds=N      (only if the timeout killed QEMU)
#                       SQUIB-RIG EXIT rc=N              (always last: N = QEMU status, 124 on timeout)
#   --background PIDFILE  return at once: write QEMU's PID to PIDFILE and print it on stdout;
#                     a detached supervisor still enforces the timeout and the cleanup (kill the
#                     QEMU PID to stop early; the supervisor then exits within ~0.2 s).
#   --runas USER      QEMU drops to USER after setup (-runas), to test socket permissions.
#   --tap IFNAME      instead of --socket: open the TAP IFNAME itself (-netdev tap,ifname=,
#                     script=no,downscript=no), as with a TAP squib-netd handed off; run the
#                     script as the TAP's owner to prove an unprivileged QEMU can.
#   --tap-fd FD       instead of --socket: the TAP is already open at FD (-netdev tap,fd=FD), as
#                     squib-netctl start --handoff fd --exec -- boot-guest.sh --tap-fd {fd} gives it.
#   Env SQUIB_GUEST_CACHE  directory for the cached initramfs (default ${TMPDIR:-/tmp}/squib-guest-cache).
# Foreground exit status: QEMU's (0 after the guest powered off), 124 on timeout.
# KVM hangs on these machines: always -accel tcg.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
remote='' log='' tasks=dhcp mac=52:54:00:5e:00:01 timeout=60 local_path='' pidfile=''
kernel='' initrd='' append='' runas='' tap='' tap_fd=''

die() { echo "boot-guest: $*" >&2; exit 2; }
while [[ $# -gt 0 ]]; do
    [[ $# -ge 2 ]] || die "option $1 needs a value"
    case "$1" in
        --socket) remote=$2 ;;      --log) log=$2 ;;         --tasks) tasks=$2 ;;
        --mac) mac=$2 ;;            --timeout) timeout=$2 ;; --local) local_path=$2 ;;
        --background) pidfile=$2 ;; --kernel) kernel=$2 ;;   --initrd) initrd=$2 ;;
        --append) append=$2 ;;      --runas) runas=$2 ;;      --tap) tap=$2 ;;          --tap-fd) tap_fd=$2 ;;
        *) die "unknown option $1" ;;
    esac
    shift 2
done
[[ -n "$remote" || -n "$tap" || -n "$tap_fd" ]] || die "--socket REMOTE (or --tap IFNAME, --tap-fd FD) is required"
[[ -z "$tap_fd" || "$tap_fd" =~ ^[0-9]+$ ]] || die "bad --tap-fd $tap_fd"
[[ -z "$tap" || "$tap" =~ ^[A-Za-z0-9_.-]{1,15}$ ]] || die "bad --tap $tap"
[[ -n "$log" ]] || die "--log FILE is required"
[[ "$timeout" =~ ^[0-9]+$ ]] || die "--timeout must be whole seconds"
[[ "$tasks" =~ ^[^[:space:]\"\']*$ ]] || die "--tasks must not contain spaces or quotes"
[[ "$mac" =~ ^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$ ]] || die "bad --mac $mac"

[[ -n "$kernel" ]] || kernel=$("$here/make-initramfs.sh" --kernel)
if [[ -z "$initrd" ]]; then
    cache=${SQUIB_GUEST_CACHE:-${TMPDIR:-/tmp}/squib-guest-cache}
    initrd=$("$here/make-initramfs.sh" "$cache/initramfs.cpio.gz")
fi

tmpdir=
if [[ -z "$local_path" ]]; then
    tmpdir=$(mktemp -d "${TMPDIR:-/tmp}/squib-guest.XXXXXX")
    local_path=$tmpdir/vm.sock
fi
[[ -S "$local_path" ]] && rm -f "$local_path"   # stale socket from an earlier run
[[ -e "$local_path" ]] && die "--local $local_path exists and is not a socket"
(( ${#local_path} < 108 )) || die "--local path too long for AF_UNIX"

qemu=(qemu-system-x86_64 -accel tcg -m 256 -smp 1 -nographic -no-reboot -no-user-config
      -kernel "$kernel" -initrd "$initrd"
      -append "console=ttyS0 quiet panic=-1 squib.tasks=$tasks${append:+ $append}"
      -device "virtio-net-pci,netdev=n0,mac=$mac,romfile="
      -netdev "dgram,id=n0,local.type=unix,local.path=$local_path,remote.type=unix,remote.path=$remote")
if [[ -n "$tap" ]]; then
    qemu[${#qemu[@]}-1]="tap,id=n0,ifname=$tap,script=no,downscript=no"
elif [[ -n "$tap_fd" ]]; then
    qemu[${#qemu[@]}-1]="tap,id=n0,fd=$tap_fd"
fi
[[ -n "$runas" ]] && qemu+=(-runas "$runas")

# alive PID: running and not a zombie (our own child stays a zombie until waited for).
alive() {
    local st
    st=$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null) && [[ -n "$st" && "$st" != Z ]]
}

# newline_end: our lines must start a line even if QEMU died mid-line.
newline_end() {
    if [[ -s "$log" && -n "$(tail -c 1 "$log")" ]]; then echo >> "$log"; fi
}

# supervise: run QEMU, enforce the timeout, remove the local socket; returns QEMU's status.
supervise() {
    local qpid rc=0 deadline
    "${qemu[@]}" </dev/null >"$log" 2>&1 &
    qpid=$!
    # Stopping the supervisor stops QEMU too.
    trap 'kill -TERM "$qpid" 2>/dev/null; rm -f "$local_path"; [[ -z "$tmpdir" ]] || rm -rf "$tmpdir"; exit 143' TERM INT HUP
    if [[ -n "$pidfile" ]]; then echo "$qpid" > "$pidfile.tmp.$$"; mv -f "$pidfile.tmp.$$" "$pidfile"; fi
    deadline=$((SECONDS + timeout))
    while alive "$qpid" && (( SECONDS < deadline )); do sleep 0.2; done
    if alive "$qpid"; then
        kill -TERM "$qpid" 2>/dev/null || true
        for _ in $(seq 15); do alive "$qpid" || break; sleep 0.2; done
        kill -KILL "$qpid" 2>/dev/null || true
        wait "$qpid" 2>/dev/null || true
        newline_end
        echo "SQUIB-RIG TIMEOUT seconds=$timeout" >> "$log"
        rc=124
    else
        wait "$qpid" || rc=$?
    fi
    rm -f "$local_path"
    [[ -z "$tmpdir" ]] || rm -rf "$tmpdir"
    newline_end
    echo "SQUIB-RIG EXIT rc=$rc" >> "$log"
    return "$rc"
}

if [[ -z "$pidfile" ]]; then
    supervise
    exit $?
fi

rm -f "$pidfile"
(supervise) </dev/null >/dev/null 2>&1 &
spid=$!
for _ in $(seq 100); do
    if [[ -s "$pidfile" ]]; then cat "$pidfile"; exit 0; fi
    alive "$spid" || break
    sleep 0.05
done
kill -TERM "$spid" 2>/dev/null || true
die "QEMU did not start (see $log)"
