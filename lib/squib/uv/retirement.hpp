#pragma once

// Retirement<T>: the one deferred-destruction mechanism. Objects that stop asynchronously
// (an attachment whose child must be reaped, a dnsmasq supervisor) are kept here while they
// stop; when one reports it has stopped, it is destroyed on the next loop turn — never
// inside its own callback, which is still on the stack — and then its `after` callback runs
// (e.g. "release the network", "remove the files").
//
// Destroying the Retirement destroys everything it still holds at once (their destructors
// are the last line of defence, e.g. SIGKILL + reap); no callback runs afterwards.

#include <algorithm>
#include <functional>
#include <memory>
#include <vector>

#include <spdlog/spdlog.h>
#include <uv.h>

#include <squib/uv/handle.hpp>

namespace squib::uv {

template <typename T>
class Retirement {
public:
  // Starts stopping an object: calls `stopped` (once) when it is done.
  using Stop = std::function<void(T& object, std::function<void()> stopped)>;

  explicit Retirement(uv_loop_t* loop) {
    if (const int rc = uv_timer_init(loop, m_sweep.get()); rc != 0) {
      spdlog::critical("uv_timer_init: {}", uv_strerror(rc));  // only on a broken loop
    }
    m_sweep->data = this;
  }
  Retirement(const Retirement&) = delete;
  Retirement& operator=(const Retirement&) = delete;

  void retire(std::unique_ptr<T> object, const Stop& stop, std::function<void()> after = nullptr) {
    T* raw = object.get();
    m_stopping.push_back(std::move(object));
    stop(*raw, [this, raw, after = std::move(after)]() mutable { stopped(raw, std::move(after)); });
  }

  // Nothing stopping, nothing waiting to be destroyed.
  [[nodiscard]] bool idle() const { return m_stopping.empty() && m_stopped.empty(); }

private:
  void stopped(T* raw, std::function<void()> after) {
    const auto it = std::find_if(m_stopping.begin(), m_stopping.end(), [raw](const auto& p) { return p.get() == raw; });
    if (it != m_stopping.end()) {
      m_stopped.push_back(std::move(*it));
      m_stopping.erase(it);
    }
    if (after) m_after.push_back(std::move(after));
    const int rc = uv_timer_start(
        m_sweep.get(),
        [](uv_timer_t* timer) {
          if (auto* self = owner_of<Retirement>(timer)) self->sweep();
        },
        0, 0);
    if (rc != 0) spdlog::critical("uv_timer_start: {}", uv_strerror(rc));
  }

  void sweep() {
    m_stopped.clear();
    auto callbacks = std::move(m_after);
    m_after.clear();
    for (auto& callback : callbacks) callback();
  }

  std::vector<std::unique_ptr<T>> m_stopping;  // asked to stop, not done yet
  std::vector<std::unique_ptr<T>> m_stopped;   // done; destroyed on the next turn
  std::vector<std::function<void()>> m_after;
  Handle<uv_timer_t> m_sweep;
};

}  // namespace squib::uv
