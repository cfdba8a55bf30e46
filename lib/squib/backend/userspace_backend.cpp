#include <squib/backend/userspace_backend.hpp>

#include <fcntl.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <cstring>

#include <spdlog/spdlog.h>

#include <squib/backend/datagram_channel.hpp>
#include <squib/backend/stream_channel.hpp>
#include <squib/platform/socket.hpp>
#include <squib/uv/check.hpp>

namespace squib::backend {

using core::Error;
using core::Result;

namespace {

// Socket buffers for the child link, as for VM sockets (bursts of 32 large frames).
constexpr int k_link_buffer_bytes = 4 * 1024 * 1024;

void size_link_buffers(int fd) { platform::request_socket_buffers(fd, k_link_buffer_bytes); }

Result<sockaddr_un> unix_address(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return Error{ENAMETOOLONG, "socket path too long: " + path};
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  return addr;
}

// Removes a socket file left from an earlier run; anything else at that path stays.
void remove_stale_socket(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) ::unlink(path.c_str());
}

// The user passt switches to when started as root (passt conf.c: "nobody", else 65534).
std::pair<uid_t, gid_t> passt_user() {
  static const std::pair<uid_t, gid_t> user = [] {
    if (const passwd* pw = ::getpwnam("nobody")) return std::pair{pw->pw_uid, pw->pw_gid};
    return std::pair<uid_t, gid_t>{65534, 65534};
  }();
  return user;
}

// <run-dir>/passt: where passt, after dropping to its user, creates its PID file. Owned by
// that user and private to it; a symlink or non-directory there is refused, never followed.
Result<void> prepare_pid_dir(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return Error::from_errno("mkdir " + dir);
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) return Error::from_errno("lstat " + dir);
  if (!S_ISDIR(st.st_mode))
    return Error{ENOTDIR, dir + " is not a directory; refusing to use it for passt's PID files"};
  // Only root's daemon sees passt switch users; otherwise passt runs as the daemon's user.
  if (::geteuid() == 0) {
    const auto [uid, gid] = passt_user();
    if ((st.st_uid != uid || st.st_gid != gid) && ::lchown(dir.c_str(), uid, gid) != 0) {
      return Error::from_errno("chown " + dir);
    }
  }
  return {};
}

// The pid in a PID file passt wrote ("1234\n"), or 0 while it is missing, empty or partial.
int read_pid_file(const std::string& path) {
  core::Fd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
  if (!fd) return 0;
  char text[24] = {};
  const ssize_t n = ::read(fd.get(), text, sizeof text - 1);
  if (n <= 1 || text[n - 1] != '\n') return 0;
  return std::atoi(text);
}

}  // namespace

UserspaceBackend::UserspaceBackend(BackendContext context, UserspaceConfig config)
    : m_context(std::move(context)), m_config(std::move(config)) {}

UserspaceBackend::~UserspaceBackend() {
  m_channel.reset();
  if (!m_plan.listen_path.empty()) {
    remove_stale_socket(m_plan.listen_path);
    remove_stale_socket(m_plan.listen_path + ".client");
    remove_stale_socket(m_plan.api_path);
  }
  if (!m_pid_path.empty()) ::unlink(m_pid_path.c_str());
}

void UserspaceBackend::start(Done ready) {
  auto program = uv::resolve_program(m_config.program.empty() ? m_config.kind : m_config.program);
  if (!program)
    return ready(Error{program.error().code, "userspace " + m_config.kind + ": " + program.error().message});
  m_program = program.value();
  m_plan = plan_userspace_launch(m_config, m_context.name, m_context.mtu);
  if (!m_plan.listen_path.empty()) {
    if (auto addr = unix_address(m_plan.listen_path + ".client"); !addr) return ready(addr.error());
  }
  uv::ok(uv_timer_init(m_context.loop, m_connect_timer.get()), "uv_timer_init");
  m_connect_timer->data = this;
  uv::ok(uv_timer_init(m_context.loop, m_step_timer.get()), "uv_timer_init");
  m_step_timer->data = this;
  if (auto watching = prepare_pid_watch(); !watching) return ready(watching.error());
  m_child = std::make_unique<uv::ChildSupervisor>(
      m_context.loop, m_context.name + "/" + m_config.kind, m_config.exec_shim, [this] { return prepare_launch(); },
      [this] { on_spawned(); },
      [this](std::int64_t exit_status, int term_signal) { on_exited(exit_status, term_signal); });
  if (m_config.kind == "passt") {
    // passt logs to syslog and says so on stderr when there is none; the messages
    // themselves follow on stderr, so the complaint is noise.
    m_child->set_line_filter(
        [](std::string_view line) { return line.starts_with("Failed to send ") && line.ends_with(" to syslog"); });
  }
  begin_step(PendingStep{std::move(ready), std::nullopt});
  if (auto spawned = m_child->start(); !spawned) end_step(spawned.error());
}

Result<void> UserspaceBackend::prepare_pid_watch() {
  if (m_plan.pid_path.empty()) return {};
  m_pid_path = m_plan.pid_path;
  const std::string dir = m_config.link_dir + "/passt";
  if (auto prepared = prepare_pid_dir(dir); !prepared) return prepared;
  uv::ok(uv_fs_event_init(m_context.loop, m_pid_watch.get()), "uv_fs_event_init");
  m_pid_watch->data = this;
  const int watching = uv_fs_event_start(
      m_pid_watch.get(),
      [](uv_fs_event_t* watch, const char* filename, int, int status) {
        auto* self = uv::owner_of<UserspaceBackend>(watch);
        // Any change in the directory may be ours (some platforms give no file name).
        if (self != nullptr &&
            (status != 0 || filename == nullptr || self->m_pid_path.ends_with(std::string("/") + filename))) {
          self->check_ready();
        }
      },
      dir.c_str(), 0);
  if (watching != 0) return Error{-watching, "watch " + dir + ": " + uv_strerror(watching)};
  return {};
}

Result<uv::ChildLaunch> UserspaceBackend::prepare_launch() {
  uv::ChildLaunch launch;
  launch.program = m_program;
  launch.args = m_plan.args;
  if (!m_pid_path.empty()) ::unlink(m_pid_path.c_str());  // the new child writes its own
  if (!m_plan.inherits_fd) {
    remove_stale_socket(m_plan.listen_path);
    remove_stale_socket(m_plan.api_path);
    return launch;
  }
  const int type = m_config.framing == LinkFraming::vfkit_datagram ? SOCK_DGRAM : SOCK_STREAM;
  // Non-blocking on our side only: the child gets an ordinary blocking socket. Handed off,
  // "our" side is the VMM's: an ordinary blocking socket too (QEMU sets its own flags).
  const auto parent_blocking = m_config.handoff ? platform::Blocking::blocking : platform::Blocking::non_blocking;
  auto pair = platform::open_socketpair(type, parent_blocking, platform::Blocking::blocking);
  if (!pair) return pair.error();
  auto& [parent_end, child_end] = pair.value();
  size_link_buffers(parent_end.get());
  size_link_buffers(child_end.get());
  m_next_parent_end = std::move(parent_end);
  launch.extra_fds.push_back(std::move(child_end));
  return launch;
}

void UserspaceBackend::on_spawned() {
  m_reconfiguring = false;
  m_context.stats->child_restarts = m_child->restarts();
  m_context.stats->child_reconfigurations = m_child->reconfigurations();
  if (m_config.handoff) {
    // Not relayed: our end goes to the VMM with the start reply.
    m_handoff_fd = std::move(m_next_parent_end);
    m_handed_off = true;
    check_ready();
    return;
  }
  if (m_plan.inherits_fd) {
    adopt_link(std::move(m_next_parent_end));
    return;
  }
  m_connect_deadline = std::chrono::steady_clock::now() + k_connect_timeout;
  try_connect();
}

void UserspaceBackend::on_exited(std::int64_t exit_status, int term_signal) {
  uv_timer_stop(m_connect_timer.get());
  m_channel.reset();
  m_handed_off = false;
  if (!m_step && !m_reconfiguring && m_child->state() != uv::ChildState::stopping && m_context.on_child_exit) {
    m_context.on_child_exit(exit_status, term_signal);  // died on its own: the supervisor restarts it
  }
  if (m_config.handoff && !m_step && m_child->state() != uv::ChildState::stopping) {
    // The VMM holds the only other end of the dead passt's link: a new passt could not be
    // reached. No restart; `failed` until the attachment is stopped.
    m_handoff_lost = true;
    m_handoff_fd.reset();
    spdlog::warn("{}: handed-off passt exited; not restarted (the VMM holds its link): stop and start the attachment",
                 m_context.name);
    m_child->stop([] {});
    return;
  }
  if (!m_step || m_reconfiguring || m_step_failure) return;  // a reconfiguration's own exit is expected
  // Exited before it was ready: that is the step's outcome (its output is drained by now).
  // Killed by us for a broken link: the link's problem says why; otherwise its exit does.
  std::string why = term_signal == SIGKILL && !m_not_ready_because.empty() ? m_not_ready_because
                    : term_signal != 0 ? "killed by signal " + std::to_string(term_signal)
                                       : "exited with status " + std::to_string(exit_status);
  std::string message = m_config.kind + " did not start: " + why;
  if (const auto output = m_child->last_lines(); !output.empty()) message += "; its output: " + output;
  // A start that failed is over: no restart (a reconfiguration's failure restarts the child
  // with the previous forwards instead, end_step).
  if (!m_step->previous_forwards) m_child->stop([] {});
  fail_step(Error{ECHILD, std::move(message)});
}

void UserspaceBackend::begin_step(PendingStep step) {
  m_step = std::move(step);
  m_step_failure.reset();
  m_not_ready_because.clear();
  const int timer_started = uv_timer_start(m_step_timer.get(), &UserspaceBackend::on_step_timer,
                                           static_cast<std::uint64_t>(k_ready_timeout.count()), 0);
  uv::ok(timer_started, "uv_timer_start");
}

void UserspaceBackend::on_step_timer(uv_timer_t* timer) {
  auto* self = uv::owner_of<UserspaceBackend>(timer);
  if (self == nullptr || !self->m_step) return;
  if (auto failure = std::exchange(self->m_step_failure, std::nullopt)) return self->end_step(std::move(*failure));
  std::string message = self->m_config.kind + " was not ready after " + std::to_string(k_ready_timeout.count()) + " ms";
  if (!self->m_not_ready_because.empty()) message += " (" + self->m_not_ready_because + ")";
  if (const auto output = self->m_child->last_lines(); !output.empty()) message += "; its output: " + output;
  self->end_step(Error{ETIMEDOUT, std::move(message)});
}

void UserspaceBackend::check_ready() {
  if (!m_step || m_step_failure || m_reconfiguring || !(m_channel || m_handed_off)) return;
  if (!m_pid_path.empty() && !pid_file_names_child()) return;
  end_step({});
}

bool UserspaceBackend::pid_file_names_child() const {
  const int pid = m_child ? m_child->pid() : 0;
  return pid > 0 && read_pid_file(m_pid_path) == pid;
}

void UserspaceBackend::fail_step(Error error) {
  // Not from inside the supervisor's exit callback: the owner may stop this backend on the
  // error, and the supervisor is still deciding what follows the exit.
  m_step_failure = std::move(error);
  uv::ok(uv_timer_start(m_step_timer.get(), &UserspaceBackend::on_step_timer, 0, 0), "uv_timer_start");
}

void UserspaceBackend::end_step(Result<void> outcome) {
  uv_timer_stop(m_step_timer.get());
  m_step_failure.reset();
  PendingStep step = std::move(*m_step);
  m_step.reset();
  if (!outcome && step.previous_forwards && m_child) {
    // The new forwards cannot be served: back to the ones that worked.
    spdlog::warn("{}: {}; restoring the previous forwards", m_context.name, outcome.error().message);
    m_config.forwards = std::move(*step.previous_forwards);
    m_plan = plan_userspace_launch(m_config, m_context.name, m_context.mtu);
    restart_child();
  }
  step.done(std::move(outcome));
}

void UserspaceBackend::try_connect() {
  const bool datagram = m_config.framing == LinkFraming::vfkit_datagram;
  auto opened = platform::open_socket(AF_UNIX, datagram ? SOCK_DGRAM : SOCK_STREAM, platform::Blocking::non_blocking);
  core::Fd fd = opened ? std::move(opened.value()) : core::Fd();
  auto server = unix_address(m_plan.listen_path);
  bool connected = false;
  if (fd && server) {
    if (datagram) {
      // A datagram client must be bound for gvproxy to answer it.
      const std::string client_path = m_plan.listen_path + ".client";
      remove_stale_socket(client_path);
      auto client = unix_address(client_path);
      connected = client &&
                  ::bind(fd.get(), reinterpret_cast<const sockaddr*>(&client.value()), sizeof(sockaddr_un)) == 0 &&
                  ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&server.value()), sizeof(sockaddr_un)) == 0 &&
                  ::send(fd.get(), "VFKT", 4, MSG_DONTWAIT) == 4;
    } else {
      connected = ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&server.value()), sizeof(sockaddr_un)) == 0;
    }
  }
  if (connected) {
    size_link_buffers(fd.get());
    adopt_link(std::move(fd));
    return;
  }
  if (std::chrono::steady_clock::now() >= m_connect_deadline) {
    on_link_broken("no socket at " + m_plan.listen_path + " after " + std::to_string(k_connect_timeout.count()) +
                   " ms");
    return;
  }
  const int timer_started = uv_timer_start(
      m_connect_timer.get(),
      [](uv_timer_t* timer) {
        if (auto* self = uv::owner_of<UserspaceBackend>(timer)) self->try_connect();
      },
      static_cast<std::uint64_t>(k_connect_interval.count()), 0);
  uv::ok(timer_started, "uv_timer_start");
}

void UserspaceBackend::adopt_link(core::Fd fd) {
  auto on_broken = [this](const std::string& why) { on_link_broken(why); };
  if (m_config.framing == LinkFraming::vfkit_datagram) {
    m_channel = std::make_unique<DatagramChannel>(m_context.loop, std::move(fd), m_context.max_frame, *m_context.to_vm,
                                                  *m_context.stats, on_broken);
  } else {
    m_channel = std::make_unique<StreamChannel>(m_context.loop, std::move(fd), m_context.max_frame, *m_context.to_vm,
                                                *m_context.stats, on_broken);
  }
  if (auto started = m_channel->start(); !started) return on_link_broken(started.error().message);
  check_ready();
}

void UserspaceBackend::on_link_broken(const std::string& why) {
  if (m_reconfiguring) {
    // The supervisor is replacing the child with new arguments: its link closing is expected.
    spdlog::debug("{}: link to {} closed for its reconfiguration ({})", m_context.name, m_config.kind, why);
    return;
  }
  if (m_step) m_not_ready_because = why;
  spdlog::warn("{}: link to {} broken: {}; restarting it", m_context.name, m_config.kind, why);
  // Kill the child; its exit (reaped by the supervisor) drops the channel and restarts it.
  if (m_child && m_child->pid() > 0) ::kill(m_child->pid(), SIGKILL);
}

void UserspaceBackend::set_forwards(const std::vector<core::PortForward>& forwards, Done applied) {
  if (m_config.kind != "passt") {
    return applied(Error{
        ENOTSUP, "port forwarding is supported for passt attachments only (this one runs " + m_config.kind + ")"});
  }
  if (m_config.handoff) {
    // passt takes forwards only at start, and a new passt cannot reach the VMM's end.
    return applied(Error{ENOTSUP,
                         "forwards of a handed-off passt cannot change (passt would need a restart, and the VMM holds "
                         "its link): stop and start the attachment with the new forwards"});
  }
  if (m_step) return applied(Error{EBUSY, "a start or forward change of this attachment is still in progress"});
  if (!m_child || m_child->state() != uv::ChildState::running) {
    // Nothing runs to reconfigure: the next spawn takes the new forwards.
    m_config.forwards = forwards;
    m_plan = plan_userspace_launch(m_config, m_context.name, m_context.mtu);
    return applied({});
  }
  auto previous = std::exchange(m_config.forwards, forwards);
  m_plan = plan_userspace_launch(m_config, m_context.name, m_context.mtu);
  // passt reads its forwards only at start: a restart, which resets the guest's connections
  // through it (docs/operations.md). Counted as a reconfiguration; ready once the new passt
  // has bound every forwarded port.
  begin_step(PendingStep{std::move(applied), std::move(previous)});
  restart_child();
}

Result<void> UserspaceBackend::restart() {
  if (!m_child) return Error{EAGAIN, "the child has not been started yet"};
  if (m_config.handoff) {
    return Error{ENOTSUP,
                 "a handed-off passt cannot be restarted (the VMM holds its link): stop and start the attachment"};
  }
  spdlog::info("{}: restarting {} on request", m_context.name, m_config.kind);
  restart_child();
  return {};
}

void UserspaceBackend::restart_child() {
  // A running child's link closes as it goes: expected, not a broken link (on_link_broken).
  m_reconfiguring = m_child->state() == uv::ChildState::running;
  m_child->restart_now();
}

void UserspaceBackend::send(const core::FrameBatch& from_vm) {
  if (!m_channel) {
    m_context.stats->drop(core::DropReason::backend_down, from_vm.count);
    return;
  }
  m_channel->send(from_vm);
}

void UserspaceBackend::stop(std::function<void()> done) {
  uv_timer_stop(m_connect_timer.get());
  if (m_step) {
    uv_timer_stop(m_step_timer.get());
    auto step = std::exchange(m_step, std::nullopt);
    step->done(Error{ECANCELED, "the attachment was stopped before " + m_config.kind + " was ready"});
  }
  if (m_pid_watch) uv_fs_event_stop(m_pid_watch.get());
  m_channel.reset();       // closing our end makes passt (--fd, one-off) exit by itself
  m_handoff_fd.reset();    // (hand-off: the VMM's end keeps passt up; the supervisor's SIGTERM ends it)
  m_handoff_lost = false;  // stopping, then stopped: no longer a failure to report
  if (!m_child) {
    done();
    return;
  }
  m_child->stop(std::move(done));
}

BackendState UserspaceBackend::state() const {
  if (!m_child) return BackendState::starting;
  if (m_handoff_lost && m_child->state() != uv::ChildState::stopping) return BackendState::failed;
  switch (m_child->state()) {
    case uv::ChildState::idle: return BackendState::starting;
    case uv::ChildState::running: return m_channel || m_handed_off ? BackendState::running : BackendState::starting;
    case uv::ChildState::backoff: return BackendState::restarting;
    case uv::ChildState::failed: return BackendState::failed;
    case uv::ChildState::stopping: return BackendState::stopping;
    case uv::ChildState::stopped: return BackendState::stopped;
  }
  return BackendState::failed;
}

std::string UserspaceBackend::detail() const {
  if (!m_child) return {};
  if (m_child->state() == uv::ChildState::failed) return "failed; last output: " + m_child->last_lines();
  if (m_config.handoff) {
    constexpr const char* k_uncounted = "handed off (fd): the VMM talks to passt directly; frames are not counted";
    if (m_handoff_lost)
      return "passt exited and cannot be restarted (the VMM holds its link); last output: " + m_child->last_lines();
    return m_child->pid() > 0 ? "pid " + std::to_string(m_child->pid()) + ", " + k_uncounted : k_uncounted;
  }
  return m_child->pid() > 0 ? "pid " + std::to_string(m_child->pid()) : "";
}

}  // namespace squib::backend
