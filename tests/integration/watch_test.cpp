// squib-netctl stats --watch as a person sees it: in a terminal (a detached tmux session,
// read back with `tmux capture-pane -p`), under live traffic from a FakeVmm through an echo
// attachment. The session is named after this test process and killed by that name.

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/catch.hpp"
#include "support/daemon_process.hpp"

using namespace squib::test;
using namespace std::chrono_literals;

namespace {

// A tmux session running one command; killed by name on destruction.
class TmuxSession {
 public:
  explicit TmuxSession(const std::string& command) : m_name("squib-watch-" + std::to_string(::getpid())) {
    const auto started = run_command("tmux new-session -d -s " + m_name + " -x 160 -y 40 '" + command + "' 2>&1");
    INFO(started.output);
    REQUIRE(started.exit_code == 0);
  }
  ~TmuxSession() { run_command("tmux kill-session -t " + m_name + " 2>/dev/null"); }
  TmuxSession(const TmuxSession&) = delete;
  TmuxSession& operator=(const TmuxSession&) = delete;

  [[nodiscard]] std::string pane() const { return run_command("tmux capture-pane -p -t " + m_name).output; }

 private:
  std::string m_name;
};

// The pane's row for attachment `name`, split into columns, or empty.
std::vector<std::string> row_of(const std::string& pane, const std::string& name) {
  std::istringstream lines(pane);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream words(line);
    std::vector<std::string> columns;
    for (std::string word; words >> word;) columns.push_back(word);
    if (!columns.empty() && columns[0] == name) return columns;
  }
  return {};
}

}  // namespace

TEST_CASE("stats --watch: a steady terminal table of per-second rates under traffic", "[integration][watch]") {
  TempDir dir;
  DaemonProcess daemon(dir.path());
  const auto started = daemon.ok("start", echo_start("vm1"));
  const std::string mac = started["mac"];
  FakeVmm vm(dir.path() + "/vm1.local", started["socket"]);

  // Frames every few milliseconds until the end of the test; their echoes are read so the
  // VM's socket never fills. Plain syscalls: Catch2's assertions are not for other threads.
  std::atomic<bool> stop{false};
  std::thread traffic([&] {
    std::vector<std::uint8_t> echo(2048);
    for (std::uint8_t seq = 0; !stop; ++seq) {
      const auto frame = make_frame(mac, 200, seq);
      (void)::send(vm.fd(), frame.data(), frame.size(), 0);
      pollfd pfd{vm.fd(), POLLIN, 0};
      if (::poll(&pfd, 1, 100) == 1) (void)::recv(vm.fd(), echo.data(), echo.size(), 0);
    }
  });

  TmuxSession session(std::string(SQUIB_NETCTL_PATH) + " --control " + daemon.control_path() +
                      " stats --watch --interval 0.5");
  std::string pane;
  const bool moving = eventually(
      [&] {
        pane = session.pane();
        const auto row = row_of(pane, "vm1");
        // NAME STATE FROM-VM-FRAMES/S FROM-VM-MBIT/S TO-VM-FRAMES/S TO-VM-MBIT/S DROPS/S
        return row.size() == 7 && row[1] == "running" && row[2] != "-" && std::stod(row[2]) > 0 &&
               std::stod(row[4]) > 0;
      },
      20s);
  stop = true;
  traffic.join();
  INFO(pane);
  REQUIRE(moving);
  CHECK(pane.find("squib-netctl stats --watch  every 0.5 s") != std::string::npos);
  CHECK(pane.find("NAME  STATE    FROM-VM FRAMES/S  FROM-VM MBIT/S  TO-VM FRAMES/S  TO-VM MBIT/S  DROPS/S") !=
        std::string::npos);
  // Redrawn in place: the header is on the pane's first line, once.
  CHECK(pane.rfind("squib-netctl stats --watch", 0) == 0);
  CHECK(pane.find("squib-netctl stats --watch", 1) == std::string::npos);
}

TEST_CASE("stats --watch: plain lines of rates when stdout is not a terminal", "[integration][watch]") {
  TempDir dir;
  DaemonProcess daemon(dir.path());
  daemon.ok("start", echo_start("vm1"));
  const auto run = run_command(std::string(SQUIB_NETCTL_PATH) + " --control " + daemon.control_path() +
                               " stats --watch --interval 0.2 --count 2 vm1 2>&1");
  CHECK(run.exit_code == 0);
  INFO(run.output);
  CHECK(run.output.find("\033[") == std::string::npos);
  CHECK(
      run.output.find(" vm1 running from_vm 0.0 frames/s 0.000 Mbit/s to_vm 0.0 frames/s 0.000 Mbit/s drops 0.0/s\n") !=
      std::string::npos);
}
