#pragma once

// LoopLagProbe: measures how long the loop fails to run. A repeating timer (every
// k_interval) compares when it actually ran (uv_hrtime) with when it was due; the difference
// is time the loop spent in something else — a blocking call, a long callback. `status`
// reports the worst stall since start and how many exceeded 10 ms (docs/architecture.md:
// nothing on the loop may wait). The timer is unref'd: it never keeps the loop alive.

#include <chrono>
#include <cstdint>

#include <uv.h>

#include <squib/uv/handle.hpp>

namespace squib::uv {

class LoopLagProbe {
 public:
  static constexpr std::chrono::milliseconds k_interval{10};
  static constexpr std::chrono::milliseconds k_stall_threshold{10};

  explicit LoopLagProbe(uv_loop_t* loop);
  // Starts measuring; call right before uv_run, so start-up work is not counted as a stall.
  void start();
  LoopLagProbe(const LoopLagProbe&) = delete;
  LoopLagProbe& operator=(const LoopLagProbe&) = delete;

  [[nodiscard]] double max_stall_ms() const { return static_cast<double>(m_max_stall_ns) / 1e6; }
  [[nodiscard]] std::uint64_t stalls_over_threshold() const { return m_stalls; }

 private:
  void on_tick();

  Handle<uv_timer_t> m_timer;
  std::uint64_t m_due_ns = 0;
  std::uint64_t m_max_stall_ns = 0;
  std::uint64_t m_stalls = 0;
};

}  // namespace squib::uv
