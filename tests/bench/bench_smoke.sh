#!/usr/bin/env bash
# bench-smoke (CTest, labels bench and root): keeps scripts/bench working. Runs the harness on
# the binaries of the build under test (--build-dir, no build of its own) for a few seconds,
# one size, no profiles, and checks only that frames flowed in every scenario — socket paths,
# host paths, many-VM paths and passt paths (passt-direct, passt-squib, passt-handoff) — and that the JSON
# report was written. No rate is asserted: the machine is
# shared and performance is reported by scripts/bench, never tested (docs/performance.md).
#
#   bench_smoke.sh BUILD_DIR
# Needs root (the host and passt paths run in network namespaces the bench makes), nft, dnsmasq,
# passt, jq.
set -euo pipefail
build=$1
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
out=$(mktemp -d /tmp/squib-bench-smoke-XXXXXX)
trap 'rm -rf "$out"' EXIT

"$top/scripts/bench" --build-dir "$build" --quick --sizes 64 --repeats 1 --duration 0.5 --no-profile \
  --out "$out/bench.json"

status=0
# (--quick has 14 idle VMs in the many-VM paths instead of 62.)
for scenario in limit naive squib naive-fast squib-fast tap-ceiling handoff relay-host naive-tap \
  pair-1 pair+6idle pair+14idle pair+14aged 4-pairs pair+busy pair+stalled passt-direct passt-squib passt-handoff \
  tap-ceiling-vnet relay-host-offload; do
  received=$(jq --arg s "$scenario" \
    '[.raw[] | select(.label == $s and (.mode == "throughput" or .mode == "oneway")) | .received] | add // 0' \
    "$out/bench.json")
  if [[ $received -gt 0 ]]; then
    echo "bench-smoke: $scenario: $received frames received"
  else
    echo "bench-smoke: FAIL: no frame flowed in scenario $scenario" >&2
    status=1
  fi
done
exit $status
