#include <squib/uv/loop_lag_probe.hpp>

#include <spdlog/spdlog.h>

namespace squib::uv {

namespace {

constexpr std::uint64_t k_interval_ns = std::chrono::nanoseconds(LoopLagProbe::k_interval).count();
constexpr std::uint64_t k_threshold_ns = std::chrono::nanoseconds(LoopLagProbe::k_stall_threshold).count();

}  // namespace

LoopLagProbe::LoopLagProbe(uv_loop_t* loop) {
  if (const int rc = uv_timer_init(loop, m_timer.get()); rc != 0) {
    spdlog::error("loop lag probe: uv_timer_init: {}", uv_strerror(rc));
    return;
  }
  m_timer->data = this;
  uv_unref(m_timer.base());
}

void LoopLagProbe::start() {
  if (m_timer->data == nullptr) return;  // init failed (logged)
  m_due_ns = uv_hrtime() + k_interval_ns;
  const auto interval = static_cast<std::uint64_t>(k_interval.count());
  if (const int rc = uv_timer_start(
          m_timer.get(),
          [](uv_timer_t* timer) {
            if (auto* self = owner_of<LoopLagProbe>(timer)) self->on_tick();
          },
          interval, interval);
      rc != 0) {
    spdlog::error("loop lag probe: uv_timer_start: {}", uv_strerror(rc));
  }
}

void LoopLagProbe::on_tick() {
  const std::uint64_t now = uv_hrtime();
  if (now > m_due_ns) {
    const std::uint64_t stall = now - m_due_ns;
    if (stall > m_max_stall_ns) m_max_stall_ns = stall;
    if (stall > k_threshold_ns) ++m_stalls;
  }
  m_due_ns = now + k_interval_ns;
}

}  // namespace squib::uv
