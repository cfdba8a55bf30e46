#pragma once

// What squib-bench's two front ends (squib_bench.cpp: round trips over per-VM sockets;
// oneway.cpp: one-way paths through TAPs) share: the clock, and the latency summary line
// scripts/bench reads.

#include <time.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <vector>

namespace squib::bench {

inline std::uint64_t now_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000ULL + static_cast<std::uint64_t>(ts.tv_nsec);
}

// Appends `,"count":…,"lost":…,"p50_us":…,"p90_us":…,"p99_us":…,"max_us":…}` and a newline
// to the JSON object the caller began: the round trips `rtts` (ns; sorted here) and `lost`.
inline void print_latency(std::vector<std::uint64_t>& rtts, std::uint64_t lost) {
  std::sort(rtts.begin(), rtts.end());
  const auto pct = [&](double p) -> double {
    if (rtts.empty()) return 0.0;
    const auto index = static_cast<std::size_t>(p * static_cast<double>(rtts.size() - 1));
    return static_cast<double>(rtts[index]) / 1000.0;
  };
  std::printf(",\"count\":%zu,\"lost\":%llu,\"p50_us\":%.1f,\"p90_us\":%.1f,\"p99_us\":%.1f,\"max_us\":%.1f}\n",
              rtts.size(), static_cast<unsigned long long>(lost), pct(0.50), pct(0.90), pct(0.99), pct(1.0));
}

}  // namespace squib::bench
