#include <squib/service/daemon.hpp>

#include <csignal>

#include <spdlog/spdlog.h>

#include <squib/platform/vm_socket.hpp>
#include <squib/service/least_privilege.hpp>
#include <squib/service/run_dir.hpp>
#include <squib/service/state_store.hpp>
#include <squib/uv/check.hpp>

namespace squib::service {

Daemon::Daemon(DaemonConfig config) : m_config(std::move(config)) { uv_loop_init(&m_loop); }

Daemon::~Daemon() {
  m_metrics_textfile.reset();
  m_server.reset();
  m_dispatcher.reset();
  m_lag.reset();
  if (m_registry) m_registry->set_event_sink(nullptr);
  m_events.reset();
  m_registry.reset();
  // Networks (bridges, nft tables, dnsmasq children) go after their attachments and before
  // the loop closes: their supervisors own libuv handles.
  m_factory.reset();
  m_sigterm.close();
  m_sigint.close();
  m_sighup.close();
  m_deadline.close();
  // Run the loop dry so every close callback frees its handle (libuv test/task.h).
  uv_run(&m_loop, UV_RUN_DEFAULT);
  if (uv_loop_close(&m_loop) != 0) spdlog::warn("event loop closed with handles still open");
}

int Daemon::run(std::function<void()> on_reload) {
  m_on_reload = std::move(on_reload);
  if (auto prepared = prepare_run_dir(m_config.run_dir); !prepared) {
    spdlog::critical("{}", prepared.error().message);
    return 1;
  }
  if (auto closed = unsearchable_directory(m_config.run_dir)) {
    spdlog::warn(
        "{} is not searchable by others (no o+x): dnsmasq and passt run as nobody and cannot reach "
        "their files (host/shared mode would hand out wrong addresses, userspace attachments fail to "
        "start), and other users' VMMs cannot reach their sockets. Fix: chmod o+x {} (or use a run dir "
        "under /run)",
        *closed, *closed);
  }
  auto lock = lock_run_dir(m_config.lock_path());
  if (!lock) {
    spdlog::critical("{}", lock.error().message);
    return 1;
  }
  m_lock = std::move(lock.value());

  // A peer that vanishes mid-write must be an EPIPE, never a fatal signal.
  std::signal(SIGPIPE, SIG_IGN);

  // Before anything makes a VM socket, and before privileges are dropped (it needs
  // CAP_SYS_ADMIN once).
  spdlog::info("VM sockets: {}", platform::start_vm_sockets());
  m_factory = std::make_unique<BackendFactory>(m_config, &m_loop);
  m_registry = std::make_unique<AttachmentRegistry>(&m_loop, m_config, *m_factory);
  m_lag = std::make_unique<uv::LoopLagProbe>(&m_loop);
  m_dispatcher = std::make_unique<Dispatcher>(*m_registry, m_config, m_lag.get());
  m_events = std::make_unique<EventHub>(&m_loop, *m_registry);
  m_registry->set_event_sink(
      [this](proto::Event event, std::uint32_t owner_uid) { m_events->publish(std::move(event), owner_uid); });
  m_dispatcher->set_event_hub(m_events.get());
  m_server = std::make_unique<ControlServer>(&m_loop, m_config, *m_dispatcher);
  m_dispatcher->set_connection_count([this] { return m_server ? m_server->connections() : 0; });
  // What a dead daemon left (TAPs, bridges, nft tables, dnsmasq) goes before state.json is
  // replayed, so restored attachments start on a clean slate.
  // state.json is read once: its attachments name the leftovers to remove, then come back.
  auto recorded = load_state(m_config.state_path());
  m_factory->cleanup_stale(recorded ? recorded->attachments : std::vector<proto::StartParams>{});
  // Networks first (issue 15): the config file's, then state.json's; the attachments that
  // name them wait for them as for any network being made.
  std::vector<std::string> network_names;
  for (const auto& spec : m_config.networks) network_names.push_back(spec.name);
  if (recorded) {
    for (const auto& spec : recorded->networks) network_names.push_back(spec.name);
  }
  m_factory->cleanup_stale_networks(network_names);
  m_registry->restore_networks(m_config.networks, recorded ? recorded->networks : std::vector<proto::NetworkSpec>{});
  m_registry->restore(std::move(recorded));
  if (auto listening = m_server->listen(); !listening) {
    spdlog::critical("{}", listening.error().message);
    m_registry->stop_all([] {});
    uv_run(&m_loop, UV_RUN_DEFAULT);
    return 1;
  }
  if (!drop_privileges(m_config)) {
    m_registry->stop_all([] {});
    uv_run(&m_loop, UV_RUN_DEFAULT);
    return 1;
  }

  auto on_signal = [](uv_signal_t* handle, int signum) {
    auto* self = uv::owner_of<Daemon>(handle);
    if (self == nullptr) return;
    if (signum == SIGHUP) {
      spdlog::info("SIGHUP: reloading");
      if (self->m_on_reload) self->m_on_reload();
      return;
    }
    self->begin_shutdown(signum == SIGTERM ? "SIGTERM" : "SIGINT");
  };
  for (auto [handle, signum] :
       {std::pair{&m_sigterm, SIGTERM}, std::pair{&m_sigint, SIGINT}, std::pair{&m_sighup, SIGHUP}}) {
    uv::ok(uv_signal_init(&m_loop, handle->get()), "uv_signal_init");
    (*handle)->data = this;
    uv::ok(uv_signal_start(handle->get(), on_signal, signum), "uv_signal_start");
  }
  uv::ok(uv_timer_init(&m_loop, m_deadline.get()), "uv_timer_init");
  m_deadline->data = this;

  spdlog::info("squib-netd {} ready (pid {}, run dir {})", SQUIB_VERSION, ::getpid(), m_config.run_dir);
  m_lag->start();
  if (!m_config.metrics_textfile.empty()) {
    // Every attachment, whoever owns it: the file is for the host's node_exporter.
    m_metrics_textfile =
        std::make_unique<MetricsTextfile>(&m_loop, m_config.metrics_textfile, m_config.metrics_interval,
                                          [this] { return m_dispatcher->metrics(PeerCredentials{}).text; });  // as root
    m_metrics_textfile->start();
  }
  uv_run(&m_loop, UV_RUN_DEFAULT);
  spdlog::info("squib-netd stopped");
  return 0;
}

void Daemon::begin_shutdown(const char* why) {
  if (m_shutting_down) return;
  m_shutting_down = true;
  spdlog::info("{}: shutting down {} attachment(s)", why, m_registry->size());
  m_dispatcher->set_shutting_down();
  m_server->close();
  // The attachments are going: a collector must not keep reporting them as live.
  if (m_metrics_textfile) m_metrics_textfile->stop();
  const int timer_started = uv_timer_start(
      m_deadline.get(),
      [](uv_timer_t* timer) {
        auto* self = uv::owner_of<Daemon>(timer);
        if (self == nullptr) return;
        spdlog::warn("shutdown deadline reached; forcing the remaining teardown");
        self->finish();
      },
      static_cast<std::uint64_t>(m_config.shutdown_deadline.count()), 0);
  uv::ok(timer_started, "uv_timer_start");
  m_registry->stop_all([this] { m_factory->shutdown([this] { finish(); }); });
}

void Daemon::finish() {
  // Destroying the registry kills (SIGKILL + waitpid) any child still alive, so nothing
  // outlives the daemon even when the deadline fired.
  m_registry.reset();
  m_server.reset();
  m_sigterm.close();
  m_sigint.close();
  m_sighup.close();
  m_deadline.close();
  uv_stop(&m_loop);
}

}  // namespace squib::service
