#pragma once

// Test support: a real squib-netd process on a temporary run dir, and a "VM" — a bound
// AF_UNIX datagram socket that talks to the daemon's per-VM socket exactly as QEMU's
// -netdev dgram does. Everything is removed (and the daemon stopped) on destruction.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include <squib/proto/client.hpp>

#include "support/temp_dir.hpp"

namespace squib::test {

using json = nlohmann::json;

class DaemonProcess {
 public:
  // Starts squib-netd with --run-dir <dir>/run plus `extra_args`, waits for control.sock.
  // `launcher`, if given, runs first and must exec its trailing arguments (the daemon's
  // command line) in the same process, e.g. to enter a private mount namespace.
  explicit DaemonProcess(const std::string& dir, std::vector<std::string> extra_args = {},
                         std::vector<std::string> launcher = {});
  ~DaemonProcess();
  DaemonProcess(const DaemonProcess&) = delete;
  DaemonProcess& operator=(const DaemonProcess&) = delete;

  [[nodiscard]] std::string run_dir() const { return m_dir + "/run"; }
  [[nodiscard]] std::string control_path() const { return run_dir() + "/control.sock"; }
  [[nodiscard]] std::string log_path() const { return m_dir + "/daemon.log"; }
  [[nodiscard]] pid_t pid() const { return m_pid; }
  [[nodiscard]] std::string log() const;

  proto::ControlClient connect() const;
  // One call; REQUIREs a transport success, returns the response.
  proto::Response call(const std::string& method, const json& params = json::object()) const;
  // One call that must succeed; returns its result.
  json ok(const std::string& method, const json& params = json::object()) const;

  // Sends a signal and waits (bounded) for exit; returns the exit status or -1 on timeout.
  int stop(int signum, std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // Starts again on the same run dir (after stop()), in the network namespace the first start
  // ran in — even when the test has left it and the daemon was the last process in it (the
  // namespace is kept alive by m_netns): a restarted daemon must never build its bridges and
  // dnsmasq in the namespace the test runs in.
  void restart();

 private:
  void spawn();
  std::string m_dir;
  std::vector<std::string> m_args;
  std::vector<std::string> m_launcher;
  pid_t m_pid = -1;
  int m_netns = -1;  // Linux: the first start's network namespace (/proc/thread-self/ns/net)
};

// The VM side of a per-VM socket.
class FakeVmm {
 public:
  FakeVmm(const std::string& local_path, const std::string& daemon_socket);
  ~FakeVmm();
  FakeVmm(const FakeVmm&) = delete;
  FakeVmm& operator=(const FakeVmm&) = delete;

  void send(const std::vector<std::uint8_t>& frame) const;
  // Waits up to `timeout` for one datagram.
  std::optional<std::vector<std::uint8_t>> receive(std::chrono::milliseconds timeout = std::chrono::seconds(5)) const;
  [[nodiscard]] int fd() const { return m_fd; }

 private:
  std::string m_local;
  int m_fd = -1;
};

// An Ethernet frame of `size` bytes: dst, src, EtherType 0x88b5 (IEEE local experimental),
// payload bytes = (seq + i) & 0xff so every frame is distinguishable.
std::vector<std::uint8_t> make_frame(const std::string& src_mac, std::size_t size, std::uint8_t seq);

// Polls `predicate` every 20 ms until true or `timeout`; returns its last value.
bool eventually(const std::function<bool()>& predicate, std::chrono::milliseconds timeout = std::chrono::seconds(5));

bool process_alive(pid_t pid);

// A shell command line run to completion: its exit code (-1 if it did not exit) and what
// it wrote to stdout (redirect stderr in the line to capture or drop it).
struct CommandRun {
  int exit_code = -1;
  std::string output;
};
CommandRun run_command(const std::string& line);
// A shell command, stdout and stderr, in the network namespace of `daemon`'s process (a daemon
// started by start_in_new_netns lives in a namespace of its own).
CommandRun run_in_netns_of(const DaemonProcess& daemon, const std::string& command);

// Raw control-socket access, for what ControlClient will not do (malformed bytes, a
// connection the daemon may refuse and close at once): a connected fd or -1; every byte
// sent, or false (no SIGPIPE); what the peer sent within `timeout`: a line (without the
// newline), "<eof>" when it closed the connection first, or "<timeout>".
int connect_raw(const std::string& path);
bool send_all(int fd, std::string_view bytes);
std::string read_line_or_eof(int fd, std::chrono::milliseconds timeout);

// Whether anything (a file, a socket, a dangling symlink) is at `path`; links not followed.
bool path_exists(const std::string& path);

// Start params for an attachment whose userspace child is tests/support/echo_peer.cpp in
// `mode` (echo, badlen, fail), linked by a socketpair in QEMU stream framing.
json echo_start(const std::string& name, const std::string& mode = "echo");
// The `stats` entry of one attachment (REQUIREs that it exists).
json stats_of(const DaemonProcess& daemon, const std::string& name);
// The pid of an attachment's child from `list`'s detail ("pid N"), or 0.
int child_pid(const DaemonProcess& daemon, const std::string& name);

}  // namespace squib::test
