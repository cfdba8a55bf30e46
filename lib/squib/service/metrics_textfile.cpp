#include <squib/service/metrics_textfile.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <spdlog/spdlog.h>

#include <squib/service/atomic_file.hpp>
#include <squib/uv/check.hpp>

namespace squib::service {

MetricsTextfile::MetricsTextfile(uv_loop_t* loop, std::string path, std::chrono::milliseconds interval,
                                 std::function<std::string()> render)
    : m_path(std::move(path)), m_interval(interval), m_render(std::move(render)) {
  uv::ok(uv_timer_init(loop, m_timer.get()), "uv_timer_init");
  m_timer->data = this;
  uv_unref(m_timer.base());
}

MetricsTextfile::~MetricsTextfile() { stop(); }

void MetricsTextfile::start() {
  m_running = true;
  write();
  const auto interval = static_cast<std::uint64_t>(m_interval.count());
  uv::ok(uv_timer_start(
             m_timer.get(),
             [](uv_timer_t* timer) {
               if (auto* self = uv::owner_of<MetricsTextfile>(timer)) self->write();
             },
             interval, interval),
         "uv_timer_start");
  spdlog::info("metrics: writing {} every {} s", m_path, std::chrono::duration<double>(m_interval).count());
}

void MetricsTextfile::write() {
  const auto written = replace_file(m_path, m_render(), 0644, false);
  if (written) {
    if (!m_last_error.empty()) spdlog::info("metrics: {} written again", m_path);
    m_last_error.clear();
    return;
  }
  if (written.error().message != m_last_error) {
    spdlog::error("metrics: cannot write {}: {} (retrying every {} s)", m_path, written.error().message,
                  std::chrono::duration<double>(m_interval).count());
    m_last_error = written.error().message;
  }
}

void MetricsTextfile::stop() {
  if (!m_running) return;
  m_running = false;
  m_timer.close();
  struct stat st {};
  if (::lstat(m_path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::unlink(m_path.c_str()) != 0) {
    spdlog::warn("metrics: cannot remove {}: {}", m_path, std::strerror(errno));
  }
}

}  // namespace squib::service
