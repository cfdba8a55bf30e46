# tests/system/lib.sh — shared by the system tests and scripts/demo (source it; bash).
#
# squib_ns_create NAME      a network namespace with lo up and a veth "uplink" 10.201.0.2/24 (its peer stays
#                           in the namespace; this kernel has no dummy driver)
#                           whose default route points at 10.201.0.1 inside the namespace, so
#                           passt finds a template interface and any guest traffic that is not
#                           answered by passt itself ends in that namespace's black hole.
# squib_daemon_start NS BIN RUNDIR LOG   squib-netd inside NS; sets SQUIB_DAEMON_PID and
#                           waits until its control socket answers.
#                           $SQUIB_DAEMON_ARGS (words) are added to its command line.
# squib_daemon_terminate PID  SIGTERM to a daemon this shell started, then waits for it (the
#                           test's CTest timeout bounds the wait: no clock of our own); returns
#                           its exit status.
# squib_cleanup             stops everything this shell started (by PID) and deletes the
#                           namespace (by name); safe to call twice; meant for `trap`.
# Network safety: the only addresses used are inside the namespace this file creates.

SQUIB_NS=''
SQUIB_DAEMON_PID=''
SQUIB_PIDS=()

squib_ns_create() {
    SQUIB_NS=$1
    ip netns add "$SQUIB_NS"
    ip -n "$SQUIB_NS" link set lo up
    ip -n "$SQUIB_NS" link add uplink0 type veth peer name uplink1
    ip -n "$SQUIB_NS" link set uplink1 up
    ip -n "$SQUIB_NS" addr add 10.201.0.2/24 dev uplink0
    ip -n "$SQUIB_NS" link set uplink0 up
    ip -n "$SQUIB_NS" route add default via 10.201.0.1
}

squib_daemon_start() {
    local ns=$1 bin=$2 run_dir=$3 log=$4
    # shellcheck disable=SC2086  # SQUIB_DAEMON_ARGS is a list of words
    ip netns exec "$ns" "$bin" --run-dir "$run_dir" --log-level debug ${SQUIB_DAEMON_ARGS:-} >"$log" 2>&1 &
    SQUIB_DAEMON_PID=$!
    SQUIB_PIDS+=("$SQUIB_DAEMON_PID")
    local i
    for i in $(seq 1 100); do
        # Connectable, not merely present: a killed daemon leaves its socket file behind.
        python3 -c 'import socket,sys; socket.socket(socket.AF_UNIX).connect(sys.argv[1])' \
            "$run_dir/control.sock" 2>/dev/null && return 0
        kill -0 "$SQUIB_DAEMON_PID" 2>/dev/null || { echo "squib-netd exited early:"; cat "$log"; return 1; }
        sleep 0.05
    done
    echo "squib-netd did not create its control socket"; cat "$log"; return 1
}

squib_daemon_terminate() {
    local pid=$1 rc=0
    kill -TERM "$pid"
    wait "$pid" || rc=$?
    return "$rc"
}

squib_cleanup() {
    local pid
    for pid in "${SQUIB_PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${SQUIB_PIDS[@]}"; do
        for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
        kill -KILL "$pid" 2>/dev/null || true
    done
    SQUIB_PIDS=()
    if [[ -n "$SQUIB_NS" ]]; then
        ip netns pids "$SQUIB_NS" 2>/dev/null | xargs -r kill -KILL 2>/dev/null || true
        ip netns del "$SQUIB_NS" 2>/dev/null || true
        SQUIB_NS=''
    fi
}

# json_get FILE EXPR — a value out of a JSON document (python3 -c, no jq dependency).
json_get() {
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2], {"d": d}))' "$1" "$2"
}

# squib_system_test NAME BUILD_DIR — the common start of a system test script: skips (exit
# 77) unless root; sets $build and $work (a temp dir removed at exit with everything
# squib_cleanup knows); defines fail MESSAGE (prints the daemon and guest logs, exits 1) and
# ctl ARGS (squib-netctl on this test's daemon); creates namespace sqt-NAME-PID and starts
# squib-netd in it.
squib_system_test() {
    local name=$1
    [[ $(id -u) -eq 0 ]] || { echo "SKIP: needs root (network namespace)"; exit 77; }
    build=$(cd "$2" && pwd)
    work=$(mktemp -d /tmp/squib-system-XXXXXX)
    # Reachable as a run dir under /run is: dnsmasq and passt run as nobody and use their
    # files in it (mktemp makes 0700).
    chmod 0755 "$work"
    trap 'squib_cleanup; rm -rf "$work"' EXIT
    fail() {
        echo "FAIL: $*"
        echo "--- daemon log"; cat "$work/daemon.log" || true
        echo "--- guest log"; cat "$work/guest.log" || true
        exit 1
    }
    ctl() { "$build/daemon/squib-netctl" --control "$work/run/control.sock" "$@"; }
    squib_ns_create "sqt-$name-$$"
    squib_daemon_start "$SQUIB_NS" "$build/daemon/squib-netd" "$work/run" "$work/daemon.log"
}
