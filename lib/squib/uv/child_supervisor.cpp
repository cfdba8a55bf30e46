#include <squib/uv/child_supervisor.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <sstream>

#include <spdlog/spdlog.h>

#include <squib/platform/socket.hpp>
#include <squib/uv/check.hpp>

namespace squib::uv {

using core::Error;
using core::Result;

namespace {

Error uv_error(const std::string& what, int rc) { return Error{-rc, what + ": " + uv_strerror(rc)}; }

}  // namespace

Result<std::string> resolve_program(const std::string& name) {
  if (name.empty()) return Error{ENOENT, "empty program name"};
  auto executable = [](const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
  };
  if (name.find('/') != std::string::npos) {
    if (executable(name)) return name;
    return Error{ENOENT, "program not found or not executable: " + name};
  }
  const char* path_env = std::getenv("PATH");
  std::stringstream dirs(path_env != nullptr ? path_env
                                             : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    if (dir.empty() || dir[0] != '/') continue;  // relative PATH entries are never trusted
    const std::string candidate = dir + "/" + name;
    if (executable(candidate)) return candidate;
  }
  return Error{ENOENT, "program '" + name + "' not found in PATH"};
}

ChildSupervisor::ChildSupervisor(uv_loop_t* loop, std::string log_name, std::string exec_shim, Prepare prepare,
                                 Started started, Exited exited)
    : m_loop(loop),
      m_log_name(std::move(log_name)),
      m_exec_shim(std::move(exec_shim)),
      m_prepare(std::move(prepare)),
      m_started(std::move(started)),
      m_exited(std::move(exited)) {
  uv::ok(uv_timer_init(m_loop, m_timer.get()), "uv_timer_init");
  m_timer->data = this;
}

ChildSupervisor::~ChildSupervisor() {
  // Owners call stop() and wait for done; this is the last line of defence against a child
  // outliving its supervisor: kill it. libuv reaps it only while the handle is open, so a
  // SIGKILL plus a blocking waitpid here keeps the promise of no zombie.
  if (m_pid > 0 && (m_state == ChildState::running || m_state == ChildState::stopping)) {
    ::kill(m_pid, SIGKILL);
    ::waitpid(m_pid, nullptr, 0);
  }
}

Result<void> ChildSupervisor::start() {
  m_state = ChildState::idle;
  return spawn();
}

Result<void> ChildSupervisor::spawn() {
  auto launch = m_prepare();
  if (!launch) return launch.error();

  auto output_pipe = platform::open_pipe();
  if (!output_pipe) return output_pipe.error();
  auto& [output_read, output_write] = output_pipe.value();

  std::vector<std::string> argv_storage;
  if (!m_exec_shim.empty()) {
    argv_storage.push_back(m_exec_shim);
    argv_storage.push_back(std::to_string(::getpid()));
  }
  argv_storage.push_back(launch->program);
  for (auto& arg : launch->args) argv_storage.push_back(arg);
  std::vector<char*> argv;
  for (auto& arg : argv_storage) argv.push_back(arg.data());
  argv.push_back(nullptr);

  std::vector<uv_stdio_container_t> stdio(3 + launch->extra_fds.size());
  stdio[0].flags = UV_IGNORE;
  stdio[1].flags = UV_INHERIT_FD;
  stdio[1].data.fd = output_write.get();
  stdio[2].flags = UV_INHERIT_FD;
  stdio[2].data.fd = output_write.get();
  for (std::size_t i = 0; i < launch->extra_fds.size(); ++i) {
    stdio[3 + i].flags = UV_INHERIT_FD;
    stdio[3 + i].data.fd = launch->extra_fds[i].get();
  }

  uv_process_options_t options{};
  options.file = argv[0];
  options.args = argv.data();
  options.stdio = stdio.data();
  options.stdio_count = static_cast<int>(stdio.size());
  // Own session: a terminal's ^C reaches the daemon, which tears children down in order.
  options.flags = UV_PROCESS_DETACHED;
  options.exit_cb = [](uv_process_t* process, std::int64_t exit_status, int term_signal) {
    if (auto* self = owner_of<ChildSupervisor>(process)) self->on_exit(exit_status, term_signal);
  };

  m_process = Handle<uv_process_t>();
  m_process->data = this;
  if (const int rc = uv_spawn(m_loop, m_process.get(), &options); rc != 0) {
    return uv_error("spawn " + launch->program, rc);
  }
  m_pid = m_process->pid;
  m_spawned_at = std::chrono::steady_clock::now();
  m_state = ChildState::running;
  spdlog::info("{}: started {} (pid {})", m_log_name, launch->program, m_pid);

  // Read the child's output; our copy of the write end closes now so EOF follows its exit.
  output_write.reset();
  m_output = Handle<uv_pipe_t>();
  uv::ok(uv_pipe_init(m_loop, m_output.get(), 0), "uv_pipe_init");
  m_output->data = this;
  if (uv_pipe_open(m_output.get(), output_read.get()) == 0) {
    output_read.release();
    const int reading = uv_read_start(
        reinterpret_cast<uv_stream_t*>(m_output.get()),
        [](uv_handle_t*, std::size_t, uv_buf_t* buf) {
          static thread_local char buffer[4096];  // output is consumed synchronously below
          *buf = uv_buf_init(buffer, sizeof buffer);
        },
        [](uv_stream_t* stream, ssize_t n, const uv_buf_t* buf) {
          auto* self = owner_of<ChildSupervisor>(stream);
          if (self == nullptr) return;
          if (n > 0) {
            self->on_output({buf->base, static_cast<std::size_t>(n)});
          } else if (n < 0) {
            self->m_output.close();
          }
        });
    uv::ok(reading, "uv_read_start");
  }
  if (m_started) m_started();
  return {};
}

void ChildSupervisor::on_output(std::string_view chunk) {
  m_partial_line.append(chunk);
  std::size_t newline = 0;
  while ((newline = m_partial_line.find('\n')) != std::string::npos) {
    std::string line = m_partial_line.substr(0, newline);
    m_partial_line.erase(0, newline + 1);
    if (line.empty() || (m_line_filter && m_line_filter(line))) continue;
    spdlog::info("{}: {}", m_log_name, line);
    m_lines.push_back(std::move(line));
    if (m_lines.size() > k_kept_lines) m_lines.pop_front();
  }
  // A child that never prints a newline cannot grow this without bound.
  if (m_partial_line.size() > 4096) {
    m_lines.push_back(std::move(m_partial_line));
    m_partial_line.clear();
    if (m_lines.size() > k_kept_lines) m_lines.pop_front();
  }
}

void ChildSupervisor::drain_output() {
  // The child is dead, so everything it wrote is already in the pipe: read it now so the
  // exit log and a `failed` state carry its last words.
  uv_os_fd_t fd = -1;
  if (m_output && uv_fileno(m_output.base(), &fd) == 0) {
    char buffer[4096];
    for (int i = 0; i < 16; ++i) {
      const ssize_t n = ::read(fd, buffer, sizeof buffer);
      if (n <= 0) break;
      on_output({buffer, static_cast<std::size_t>(n)});
    }
  }
  m_output.close();
  // Also when the pipe's EOF came before the exit (the read callback closed it already):
  // an unfinished last line is this child's, never the start of the next child's first.
  if (!m_partial_line.empty()) on_output("\n");
}

void ChildSupervisor::on_exit(std::int64_t exit_status, int term_signal) {
  drain_output();
  m_process.close();
  const int pid = std::exchange(m_pid, 0);
  if (m_restart_requested || m_state == ChildState::stopping) {
    // Asked for (a reconfiguration, a stop): not a failure, so not a warning.
    spdlog::info("{}: child {} ended as asked ({} {})", m_log_name, pid, term_signal != 0 ? "signal" : "status",
                 term_signal != 0 ? term_signal : exit_status);
  } else if (term_signal != 0) {
    spdlog::warn("{}: child {} killed by signal {}", m_log_name, pid, term_signal);
  } else {
    spdlog::warn("{}: child {} exited with status {}", m_log_name, pid, exit_status);
  }
  if (m_exited) m_exited(exit_status, term_signal);
  // The owner may end supervision from that callback (a child that failed its start).
  if (m_state == ChildState::stopped) return;

  if (m_state == ChildState::stopping) {
    finish_stop();
    return;
  }
  if (std::exchange(m_restart_requested, false)) {
    uv_timer_stop(m_timer.get());  // the kill grace of terminate()
    ++m_reconfigurations;
    spdlog::info("{}: restarting the child with its new arguments (reconfiguration {})", m_log_name,
                 m_reconfigurations);
    if (auto spawned = spawn(); spawned) return;
    ++m_fast_failures;
    schedule_restart();
    return;
  }
  const auto ran_for = std::chrono::steady_clock::now() - m_spawned_at;
  if (ran_for < k_fast_failure_window) {
    ++m_fast_failures;
  } else {
    m_fast_failures = 0;
    m_backoff = k_first_backoff;
  }
  if (m_fast_failures >= k_max_fast_failures) {
    m_state = ChildState::failed;
    spdlog::error("{}: child failed {} times in a row; giving up. Last output: {}", m_log_name, m_fast_failures,
                  last_lines());
    return;
  }
  schedule_restart();
}

void ChildSupervisor::schedule_restart() {
  m_state = ChildState::backoff;
  const auto delay = m_backoff;
  m_backoff = std::min(m_backoff * 2, k_max_backoff);
  spdlog::info("{}: restarting child in {} ms", m_log_name, delay.count());
  const int timer_started = uv_timer_start(
      m_timer.get(),
      [](uv_timer_t* timer) {
        auto* self = owner_of<ChildSupervisor>(timer);
        if (self == nullptr || self->m_state != ChildState::backoff) return;
        ++self->m_restarts;
        if (auto spawned = self->spawn(); !spawned) {
          spdlog::error("{}: restart failed: {}", self->m_log_name, spawned.error().message);
          self->m_lines.push_back(spawned.error().message);
          if (self->m_lines.size() > k_kept_lines) self->m_lines.pop_front();
          ++self->m_fast_failures;
          if (self->m_fast_failures >= k_max_fast_failures) {
            self->m_state = ChildState::failed;
          } else {
            self->schedule_restart();
          }
        }
      },
      static_cast<std::uint64_t>(delay.count()), 0);
  uv::ok(timer_started, "uv_timer_start");
}

void ChildSupervisor::stop(std::function<void()> done) {
  m_stop_done = std::move(done);
  uv_timer_stop(m_timer.get());
  if (m_state != ChildState::running || m_pid <= 0) {
    m_state = ChildState::stopping;
    finish_stop();
    return;
  }
  m_state = ChildState::stopping;
  terminate();
}

void ChildSupervisor::terminate() {
  uv_process_kill(m_process.get(), SIGTERM);
  const int timer_started = uv_timer_start(
      m_timer.get(),
      [](uv_timer_t* timer) {
        auto* self = owner_of<ChildSupervisor>(timer);
        if (self == nullptr || self->m_pid <= 0) return;
        spdlog::warn("{}: child {} ignored SIGTERM; sending SIGKILL", self->m_log_name, self->m_pid);
        uv_process_kill(self->m_process.get(), SIGKILL);
      },
      static_cast<std::uint64_t>(k_kill_grace.count()), 0);
  uv::ok(timer_started, "uv_timer_start");
}

void ChildSupervisor::restart_now() {
  if (m_state == ChildState::running && m_pid > 0) {
    if (m_restart_requested) return;  // one restart takes every change made meanwhile
    m_restart_requested = true;
    terminate();
  } else if (m_state == ChildState::backoff || m_state == ChildState::failed) {
    // Not running: spawn with the new arguments now instead of waiting out a backoff.
    uv_timer_stop(m_timer.get());
    m_fast_failures = 0;
    m_state = ChildState::backoff;
    ++m_reconfigurations;
    if (auto spawned = spawn(); !spawned) schedule_restart();
  }
}

void ChildSupervisor::finish_stop() {
  uv_timer_stop(m_timer.get());
  m_output.close();
  m_state = ChildState::stopped;
  if (auto done = std::exchange(m_stop_done, nullptr)) done();
}

std::string ChildSupervisor::last_lines() const {
  std::string joined;
  for (const auto& line : m_lines) {
    if (!joined.empty()) joined += " | ";
    joined += line;
  }
  return joined;
}

}  // namespace squib::uv
