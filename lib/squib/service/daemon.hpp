#pragma once

// Daemon: wires the loop, the registry, the dispatcher and the control server, and owns
// the daemon's lifecycle:
//   run():  lock the run dir → restore state.json → listen → loop
//   SIGTERM/SIGINT: stop accepting, stop every attachment (children reaped, sockets
//           removed), close the control socket, exit 0 — within shutdown_deadline even if a
//           child or client stalls (stragglers are SIGKILLed by their supervisors' guards).
//   SIGHUP: re-read the log level (`on_reload`).

#include <functional>
#include <memory>

#include <uv.h>

#include <squib/core/fd.hpp>
#include <squib/core/result.hpp>
#include <squib/service/attachment_registry.hpp>
#include <squib/service/backend_factory.hpp>
#include <squib/service/control_server.hpp>
#include <squib/service/daemon_config.hpp>
#include <squib/service/dispatcher.hpp>
#include <squib/service/event_hub.hpp>
#include <squib/service/metrics_textfile.hpp>
#include <squib/uv/handle.hpp>
#include <squib/uv/loop_lag_probe.hpp>

namespace squib::service {

class Daemon {
public:
  explicit Daemon(DaemonConfig config);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // Runs until a shutdown signal; returns the process exit code.
  int run(std::function<void()> on_reload);

private:
  void begin_shutdown(const char* why);
  void finish();

  DaemonConfig m_config;
  uv_loop_t m_loop{};
  std::unique_ptr<BackendFactory> m_factory;
  std::unique_ptr<AttachmentRegistry> m_registry;
  std::unique_ptr<uv::LoopLagProbe> m_lag;
  std::unique_ptr<EventHub> m_events;  // `subscribe` streams
  std::unique_ptr<Dispatcher> m_dispatcher;
  std::unique_ptr<ControlServer> m_server;
  std::unique_ptr<MetricsTextfile> m_metrics_textfile;  // with --metrics-textfile
  uv::Handle<uv_signal_t> m_sigterm;
  uv::Handle<uv_signal_t> m_sigint;
  uv::Handle<uv_signal_t> m_sighup;
  uv::Handle<uv_timer_t> m_deadline;
  std::function<void()> m_on_reload;
  core::Fd m_lock;
  bool m_shutting_down = false;
};

}  // namespace squib::service
