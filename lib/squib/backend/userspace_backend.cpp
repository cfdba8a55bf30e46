#include <squib/backend/userspace_backend.hpp>

#include <fcntl.h>
#include <sys/socket.h>

#include <csignal>

#include <spdlog/spdlog.h>

namespace squib::backend {

using core::Error;
using core::Result;

namespace {

// The child's end of the socketpair is always its fd 3 (the first fd after stdio).
constexpr int k_child_fd = 3;
// Socket buffer for the child link, as for VM sockets (bursts of 32 large frames).
constexpr int k_link_buffer_bytes = 4 * 1024 * 1024;

}  // namespace

std::vector<std::string> userspace_arguments(const UserspaceConfig& config, std::size_t mtu, int child_fd) {
  std::vector<std::string> args;
  if (config.kind == "passt") {
    // passt(1): -f stay in the foreground (we supervise it), -F use the connected socket on
    // this fd (implies --one-off: passt exits when we close our end, so it cannot outlive
    // the daemon), -m MTU advertised to the guest by DHCP option 26.
    args = {"--foreground", "--fd", std::to_string(child_fd), "--mtu", std::to_string(mtu)};
    args.insert(args.end(), config.extra_args.begin(), config.extra_args.end());
  } else {
    for (const auto& arg : config.extra_args) {
      args.push_back(arg == "{fd}" ? std::to_string(child_fd) : arg);
    }
  }
  return args;
}

UserspaceBackend::UserspaceBackend(BackendContext context, UserspaceConfig config)
    : m_context(std::move(context)), m_config(std::move(config)) {}

UserspaceBackend::~UserspaceBackend() = default;

Result<void> UserspaceBackend::start() {
  auto program = uv::resolve_program(m_config.program.empty() ? m_config.kind : m_config.program);
  if (!program) return Error{program.error().code, "userspace " + m_config.kind + ": " + program.error().message};
  m_program = program.value();
  m_child = std::make_unique<uv::ChildSupervisor>(
      m_context.loop, m_context.name + "/" + m_config.kind, m_config.exec_shim, [this] { return prepare_launch(); },
      [this] {
        m_context.stats->child_restarts = m_child->restarts();
        // Spawned: our end of this launch's socketpair becomes the live channel.
        m_channel = std::make_unique<StreamChannel>(m_context.loop, std::move(m_next_parent_end), m_context.max_frame,
                                                    *m_context.to_vm, *m_context.stats,
                                                    [this](const std::string& why) { on_channel_broken(why); });
        if (auto started = m_channel->start(); !started) on_channel_broken(started.error().message);
      },
      [this](std::int64_t, int) { m_channel.reset(); });
  if (m_config.kind == "passt") {
    // passt logs to syslog and says so on stderr when there is none; the messages
    // themselves follow on stderr, so the complaint is noise.
    m_child->set_line_filter([](std::string_view line) {
      return line.starts_with("Failed to send ") && line.ends_with(" to syslog");
    });
  }
  return m_child->start();
}

Result<uv::ChildLaunch> UserspaceBackend::prepare_launch() {
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) return Error::from_errno("socketpair");
  core::Fd parent_end(pair[0]);
  core::Fd child_end(pair[1]);
  for (const int fd : pair) {
    ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &k_link_buffer_bytes, sizeof k_link_buffer_bytes);
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &k_link_buffer_bytes, sizeof k_link_buffer_bytes);
  }
  // Non-blocking on our side only: the child gets an ordinary blocking socket.
  if (const int flags = ::fcntl(parent_end.get(), F_GETFL); flags < 0 ||
                                                           ::fcntl(parent_end.get(), F_SETFL, flags | O_NONBLOCK) != 0) {
    return Error::from_errno("fcntl O_NONBLOCK");
  }
  m_next_parent_end = std::move(parent_end);
  uv::ChildLaunch launch;
  launch.program = m_program;
  launch.args = userspace_arguments(m_config, m_context.mtu, k_child_fd);
  launch.extra_fds.push_back(std::move(child_end));
  return launch;
}

void UserspaceBackend::on_channel_broken(const std::string& why) {
  spdlog::warn("{}: link to {} broken: {}; restarting it", m_context.name, m_config.kind, why);
  // Kill the child; its exit (reaped by the supervisor) drops the channel and restarts it.
  if (m_child && m_child->pid() > 0) ::kill(m_child->pid(), SIGKILL);
}

void UserspaceBackend::send(const core::FrameBatch& from_vm) {
  if (!m_channel) {
    m_context.stats->drop(core::DropReason::backend_down, from_vm.count);
    return;
  }
  m_channel->send(from_vm);
}

void UserspaceBackend::stop(std::function<void()> done) {
  m_channel.reset();  // closing our end makes passt (--fd, one-off) exit by itself
  if (!m_child) {
    done();
    return;
  }
  m_child->stop(std::move(done));
}

BackendState UserspaceBackend::state() const {
  if (!m_child) return BackendState::starting;
  switch (m_child->state()) {
    case uv::ChildState::idle: return BackendState::starting;
    case uv::ChildState::running: return m_channel ? BackendState::running : BackendState::restarting;
    case uv::ChildState::backoff: return BackendState::restarting;
    case uv::ChildState::failed: return BackendState::failed;
    case uv::ChildState::stopping: return BackendState::stopping;
    case uv::ChildState::stopped: return BackendState::stopped;
  }
  return BackendState::failed;
}

std::string UserspaceBackend::detail() const {
  if (!m_child) return {};
  std::string out = m_child->pid() > 0 ? "pid " + std::to_string(m_child->pid()) : "";
  if (m_child->state() == uv::ChildState::failed) out += "last output: " + m_child->last_lines();
  return out;
}

}  // namespace squib::backend
