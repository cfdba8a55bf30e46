#include "support/daemon_process.hpp"

#include <fcntl.h>
#ifdef __linux__
#include <sched.h>  // setns
#endif
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <stdexcept>
#include <string_view>
#include <thread>

#include "support/catch.hpp"

namespace squib::test {

namespace {

// No SIGPIPE from writing to a peer that went away: MSG_NOSIGNAL per call where the OS has it
// (Linux), SO_NOSIGPIPE on the socket elsewhere (macOS). These files also build on a Mac.
#ifdef MSG_NOSIGNAL
constexpr int k_no_sigpipe = MSG_NOSIGNAL;
#else
constexpr int k_no_sigpipe = 0;
#endif

// A Unix socket not inherited by the daemons the tests spawn (fcntl: portable where
// SOCK_CLOEXEC is not).
int cloexec_socket(int type) {
  const int fd = ::socket(AF_UNIX, type, 0);
  if (fd < 0) return -1;
  ::fcntl(fd, F_SETFD, FD_CLOEXEC);
#ifdef SO_NOSIGPIPE
  const int on = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &on, sizeof on);
#endif
  return fd;
}

}  // namespace

DaemonProcess::DaemonProcess(const std::string& dir, std::vector<std::string> extra_args,
                             std::vector<std::string> launcher)
    : m_dir(dir), m_args(std::move(extra_args)), m_launcher(std::move(launcher)) {
  spawn();
}

void DaemonProcess::spawn() {
  const std::string log = log_path();
  std::vector<std::string> args = m_launcher;
  args.insert(args.end(), {SQUIB_NETD_PATH, "--run-dir", run_dir(), "--log-level", "debug"});
  args.insert(args.end(), m_args.begin(), m_args.end());
#ifdef __linux__
  if (m_netns < 0) m_netns = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  REQUIRE(m_netns >= 0);
#endif
  m_pid = ::fork();
  if (m_pid == 0) {
#ifdef __linux__
    if (::setns(m_netns, CLONE_NEWNET) != 0) ::_exit(126);
#endif
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      ::dup2(fd, STDOUT_FILENO);
      ::dup2(fd, STDERR_FILENO);
    }
    std::vector<char*> argv;
    for (auto& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  const bool up = eventually([&] {
    if (!process_alive(m_pid)) return false;
    return proto::ControlClient::connect(control_path(), std::chrono::milliseconds(500)).ok();
  });
  if (!up) {
    INFO("daemon log:\n" << this->log());
    FAIL("squib-netd did not come up");
  }
}

DaemonProcess::~DaemonProcess() {
  if (m_pid > 0) stop(SIGTERM);
  if (m_netns >= 0) ::close(m_netns);
}

std::string DaemonProcess::log() const {
  std::ifstream in(log_path());
  std::stringstream out;
  out << in.rdbuf();
  return out.str();
}

proto::ControlClient DaemonProcess::connect() const {
  auto client = proto::ControlClient::connect(control_path());
  if (!client) FAIL("connect: " << client.error().message);
  return std::move(client.value());
}

proto::Response DaemonProcess::call(const std::string& method, const json& params) const {
  auto client = connect();
  auto response = client.call(method, params);
  if (!response) FAIL(method << ": " << response.error().message);
  return response.value();
}

json DaemonProcess::ok(const std::string& method, const json& params) const {
  auto response = call(method, params);
  INFO(method << " failed: " << response.error_message << "\ndaemon log:\n" << log());
  REQUIRE(response.ok());
  return *response.result;
}

int DaemonProcess::stop(int signum, std::chrono::milliseconds timeout) {
  if (m_pid <= 0) return -1;
  ::kill(m_pid, signum);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    const pid_t done = ::waitpid(m_pid, &status, WNOHANG);
    if (done == m_pid) {
      m_pid = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::kill(m_pid, SIGKILL);
  ::waitpid(m_pid, &status, 0);
  m_pid = -1;
  return -1;
}

void DaemonProcess::restart() { spawn(); }

FakeVmm::FakeVmm(const std::string& local_path, const std::string& daemon_socket) : m_local(local_path) {
  m_fd = cloexec_socket(SOCK_DGRAM);
  REQUIRE(m_fd >= 0);
  sockaddr_un local{};
  local.sun_family = AF_UNIX;
  std::strncpy(local.sun_path, local_path.c_str(), sizeof local.sun_path - 1);
  ::unlink(local_path.c_str());
  REQUIRE(::bind(m_fd, reinterpret_cast<sockaddr*>(&local), sizeof local) == 0);
  sockaddr_un remote{};
  remote.sun_family = AF_UNIX;
  std::strncpy(remote.sun_path, daemon_socket.c_str(), sizeof remote.sun_path - 1);
  // Like QEMU's dgram netdev: connect to the daemon's path, send frames there.
  REQUIRE(::connect(m_fd, reinterpret_cast<sockaddr*>(&remote), sizeof remote) == 0);
}

FakeVmm::~FakeVmm() {
  ::close(m_fd);
  ::unlink(m_local.c_str());
}

void FakeVmm::send(const std::vector<std::uint8_t>& frame) const {
  REQUIRE(::send(m_fd, frame.data(), frame.size(), 0) == static_cast<ssize_t>(frame.size()));
}

std::optional<std::vector<std::uint8_t>> FakeVmm::receive(std::chrono::milliseconds timeout) const {
  pollfd pfd{m_fd, POLLIN, 0};
  if (::poll(&pfd, 1, static_cast<int>(timeout.count())) != 1) return std::nullopt;
  std::vector<std::uint8_t> buffer(70000);
  const ssize_t n = ::recv(m_fd, buffer.data(), buffer.size(), 0);
  if (n < 0) return std::nullopt;
  buffer.resize(static_cast<std::size_t>(n));
  return buffer;
}

std::vector<std::uint8_t> make_frame(const std::string& src_mac, std::size_t size, std::uint8_t seq) {
  std::vector<std::uint8_t> frame(size);
  for (std::size_t i = 0; i < 6; ++i) frame[i] = 0xff;
  unsigned bytes[6] = {};
  std::sscanf(src_mac.c_str(), "%x:%x:%x:%x:%x:%x", &bytes[0], &bytes[1], &bytes[2], &bytes[3], &bytes[4], &bytes[5]);
  for (std::size_t i = 0; i < 6; ++i) frame[6 + i] = static_cast<std::uint8_t>(bytes[i]);
  frame[12] = 0x88;
  frame[13] = 0xb5;
  for (std::size_t i = 14; i < size; ++i) frame[i] = static_cast<std::uint8_t>(seq + i);
  return frame;
}

bool eventually(const std::function<bool()>& predicate, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (predicate()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

CommandRun run_command(const std::string& line) {
  FILE* pipe = ::popen(line.c_str(), "r");
  REQUIRE(pipe != nullptr);
  CommandRun run;
  char buffer[4096];
  while (const std::size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) run.output.append(buffer, n);
  const int status = ::pclose(pipe);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

CommandRun run_in_netns_of(const DaemonProcess& daemon, const std::string& command) {
  return run_command("nsenter --net=/proc/" + std::to_string(daemon.pid()) + "/ns/net " + command + " 2>&1");
}

int connect_raw(const std::string& path) {
  const int fd = cloexec_socket(SOCK_STREAM);
  if (fd < 0) return -1;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

bool send_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd, bytes.data(), bytes.size(), k_no_sigpipe);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

std::string read_line_or_eof(int fd, std::chrono::milliseconds timeout) {
  std::string line;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return "<timeout>";
    pollfd pfd{fd, POLLIN, 0};
    if (::poll(&pfd, 1, static_cast<int>(left.count())) <= 0) continue;
    char c = 0;
    const ssize_t n = ::recv(fd, &c, 1, 0);
    if (n <= 0) return "<eof>";
    if (c == '\n') return line;
    line.push_back(c);
  }
}

bool path_exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

bool process_alive(pid_t pid) {
  if (pid <= 0) return false;
  if (!std::filesystem::exists("/proc/self/stat")) return ::kill(pid, 0) == 0;  // macOS: no procfs
  // A zombie still answers kill(0): read its state instead.
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return false;
  const auto close_paren = line.rfind(')');
  return close_paren != std::string::npos && close_paren + 2 < line.size() && line[close_paren + 2] != 'Z';
}

json echo_start(const std::string& name, const std::string& mode) {
  return {{"name", name},
          {"mode", "userspace"},
          {"userspace", {{"kind", "custom"}, {"path", SQUIB_ECHO_PEER_PATH}, {"args", {"{fd}", mode}}}}};
}

json stats_of(const DaemonProcess& daemon, const std::string& name) {
  auto all = daemon.ok("stats", {{"name", name}});
  REQUIRE(all.size() == 1);
  return all[0];
}

int child_pid(const DaemonProcess& daemon, const std::string& name) {
  for (const auto& entry : daemon.ok("list")) {
    if (entry["name"] == name && entry.contains("detail")) {
      const std::string detail = entry["detail"];
      if (detail.rfind("pid ", 0) == 0) return std::stoi(detail.substr(4));
    }
  }
  return 0;
}

}  // namespace squib::test
