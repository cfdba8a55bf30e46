#pragma once

// MetricsTextfile: --metrics-textfile PATH. Rewrites PATH with the metrics exposition every
// interval, for node_exporter's textfile collector (which reads `*.prom` in its directory
// at each scrape) — metrics without an HTTP server of our own to secure.
//
// Contract:
// - start() writes at once, then every `interval` on a libuv timer (unref'd: it never keeps
//   the loop alive). Each write is service/atomic_file.hpp's replace_file: the collector
//   never reads a half-written file, and a symlink at PATH is replaced, never followed.
//   Mode 0644: node_exporter runs as its own user; the counters are not secret (the same
//   as `status` tells every control-group member).
// - A failed write is logged once per distinct error (not every interval) and retried at
//   the next tick; the daemon keeps serving.
// - stop() stops the timer and removes PATH (if it is still a regular file: a clean
//   shutdown leaves no stale metrics behind for the collector to report as live).

#include <chrono>
#include <functional>
#include <string>

#include <uv.h>

#include <squib/uv/handle.hpp>

namespace squib::service {

class MetricsTextfile {
 public:
  // `render` gives the whole exposition at each tick.
  MetricsTextfile(uv_loop_t* loop, std::string path, std::chrono::milliseconds interval,
                  std::function<std::string()> render);
  ~MetricsTextfile();
  MetricsTextfile(const MetricsTextfile&) = delete;
  MetricsTextfile& operator=(const MetricsTextfile&) = delete;

  void start();
  void stop();

 private:
  void write();

  std::string m_path;
  std::chrono::milliseconds m_interval;
  std::function<std::string()> m_render;
  uv::Handle<uv_timer_t> m_timer;
  std::string m_last_error;
  bool m_running = false;
};

}  // namespace squib::service
