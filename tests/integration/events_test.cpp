// `subscribe` and `squib-netctl events` through the real daemon: the lifecycle of an echo
// attachment — started, its VMM connecting, its child killed (kill of the child's pid, read
// from `list`) and restarted, stopped — as JSON-RPC notifications and as the CLI prints them.

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <optional>
#include <sstream>
#include <string>

#include <squib/proto/observability.hpp>

#include "support/catch.hpp"
#include "support/daemon_process.hpp"
#include "support/netns.hpp"
#include "support/packets.hpp"

using namespace squib::test;
using namespace std::chrono_literals;

namespace {

// Reads notifications until one of `type` for `name` comes (other events are skipped).
squib::proto::Event next_event(squib::proto::ControlClient& client, const std::string& type, const std::string& name) {
  for (int lines = 0; lines < 100; ++lines) {
    auto line = client.read_line();
    INFO("waiting for " << type << " of " << name);
    REQUIRE(line.ok());
    auto event = squib::proto::parse_event(line.value());
    INFO(line.value());
    REQUIRE(event.has_value());
    if (event->type == type && event->name == name) return *event;
  }
  FAIL("no " << type << " event for " << name);
  return {};
}

// `squib-netctl events` running with its stdout in a file; killed by pid at the end.
class EventsCli {
 public:
  EventsCli(const std::string& control, const std::string& output) : m_output(output) {
    m_pid = ::fork();
    REQUIRE(m_pid >= 0);
    if (m_pid == 0) {
      const int fd = ::open(output.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      ::dup2(fd, STDOUT_FILENO);
      ::execl(SQUIB_NETCTL_PATH, SQUIB_NETCTL_PATH, "--control", control.c_str(), "events", nullptr);
      ::_exit(127);
    }
  }
  ~EventsCli() {
    ::kill(m_pid, SIGTERM);
    ::waitpid(m_pid, nullptr, 0);
  }
  EventsCli(const EventsCli&) = delete;
  EventsCli& operator=(const EventsCli&) = delete;

  [[nodiscard]] std::string text() const {
    std::ifstream in(m_output);
    std::stringstream out;
    out << in.rdbuf();
    return out.str();
  }

 private:
  std::string m_output;
  pid_t m_pid = -1;
};

}  // namespace

TEST_CASE("events: started, peer, a killed child's exit and restart, stopped", "[integration][events]") {
  TempDir dir;
  DaemonProcess daemon(dir.path());
  auto subscriber = daemon.connect();
  auto subscribed = subscriber.call("subscribe", json::object());
  REQUIRE(subscribed.ok());
  CHECK((*subscribed->result)["events"] ==
        json{"started", "stopped", "state", "child_exit", "peer_connected", "peer_gone", "lease"});
  EventsCli cli(daemon.control_path(), dir.file("events.txt"));
  // Two subscribers, this test's and the CLI's: the CLI's subscribe has been served (its
  // connection alone counting is not enough: it may not have sent subscribe yet).
  REQUIRE(eventually([&] {
    const std::string text = daemon.ok("metrics")["text"];
    return text.find("squib_daemon_subscribers 2\n") != std::string::npos;
  }));

  const auto started = daemon.ok("start", echo_start("vm1"));
  auto event = next_event(subscriber, "started", "vm1");
  CHECK(event.mode == "userspace");
  CHECK(event.network == "default");
  CHECK(event.time > 1.7e9);

  FakeVmm vm(dir.path() + "/vm1.local", started["socket"]);
  vm.send(make_frame(started["mac"], 100, 1));
  REQUIRE(vm.receive().has_value());
  event = next_event(subscriber, "peer_connected", "vm1");
  CHECK(event.peer == dir.path() + "/vm1.local");

  const int pid = child_pid(daemon, "vm1");
  REQUIRE(pid > 0);
  REQUIRE(::kill(pid, SIGKILL) == 0);
  event = next_event(subscriber, "child_exit", "vm1");
  CHECK(event.signal == SIGKILL);
  REQUIRE(eventually([&] { return child_pid(daemon, "vm1") > 0 && child_pid(daemon, "vm1") != pid; }));

  daemon.ok("stop", {{"name", "vm1"}});
  next_event(subscriber, "stopped", "vm1");

  // The CLI printed the same story, one line each.
  REQUIRE(eventually([&] { return cli.text().find("vm1  stopped") != std::string::npos; }));
  const std::string text = cli.text();
  INFO(text);
  CHECK(text.find("vm1  started (userspace mode, network default)") != std::string::npos);
  CHECK(text.find("vm1  peer_connected: VMM at " + dir.path() + "/vm1.local") != std::string::npos);
  CHECK(text.find("vm1  child_exit: child killed by signal 9, restarting") != std::string::npos);
  CHECK(text.find("started") < text.find("child_exit"));
  CHECK(text.find("child_exit") < text.find("vm1  stopped"));
}

TEST_CASE("events: stats at the requested interval, and params checked", "[integration][events]") {
  TempDir dir;
  DaemonProcess daemon(dir.path());
  daemon.ok("start", echo_start("vm1"));
  auto subscriber = daemon.connect();
  auto subscribed = subscriber.call("subscribe", {{"events", {"stats"}}, {"stats_interval_ms", 200}});
  REQUIRE(subscribed.ok());
  CHECK((*subscribed->result)["stats_interval_ms"] == 200);
  const auto event = next_event(subscriber, "stats", "vm1");
  REQUIRE(event.stats.has_value());
  CHECK(event.stats->attachment.name == "vm1");
  next_event(subscriber, "stats", "vm1");  // and again

  const auto bad_type = daemon.call("subscribe", {{"events", {"reboot"}}});
  CHECK(bad_type.error_code == -32602);
  CHECK(bad_type.error_message.starts_with("invalid params: events[0]: must be one of started"));
  const auto no_interval = daemon.call("subscribe", {{"events", {"stats"}}});
  CHECK(no_interval.error_message == "invalid params: stats_interval_ms: is required with the stats event");
  const auto too_fast = daemon.call("subscribe", {{"stats_interval_ms", 10}});
  CHECK(too_fast.error_message == "invalid params: stats_interval_ms: must be an integer from 100 to 3600000");

  // One subscription per connection: a second would deliver every event twice.
  auto quiet = daemon.connect();
  auto first = quiet.call("subscribe", {{"events", {"stopped"}}});
  REQUIRE((first && first->ok()));
  auto again = quiet.call("subscribe", json::object());
  REQUIRE(again);
  CHECK(again->error_code == -32600);
  CHECK(again->error_message == "this connection is already subscribed (one subscribe per connection)");
}

TEST_CASE("events: a subscriber that does not read loses events, is told how many, and holds up no one",
          "[integration][events]") {
  TempDir dir;
  DaemonProcess daemon(dir.path());
  // 20 attachments' stats every 100 ms: ~150 KB/s for a reader that reads nothing.
  for (int i = 0; i < 20; ++i) daemon.ok("start", echo_start("s" + std::to_string(i)));
  auto slow = daemon.connect();
  REQUIRE(slow.call("subscribe", {{"events", {"stats"}}, {"stats_interval_ms", 100}})->ok());

  // The daemon keeps answering everyone else while the slow queue fills, then overflows.
  const auto lost_total = [&] {
    const std::string text = daemon.ok("metrics")["text"];
    const auto at = text.find("\nsquib_daemon_events_lost_total ");
    return at == std::string::npos ? 0.0 : std::stod(text.substr(at + 32));
  };
  REQUIRE(eventually([&] { return lost_total() > 0; }, 60s));

  // Reading now drains the backlog; the first event queued after the losses says how many.
  std::uint64_t reported = 0;
  for (int lines = 0; lines < 100000 && reported == 0; ++lines) {
    auto line = slow.read_line();
    REQUIRE(line.ok());
    const auto event = squib::proto::parse_event(line.value());
    REQUIRE(event.has_value());
    reported = event->lost;
  }
  CHECK(reported > 0);
  CHECK(static_cast<double>(reported) <= lost_total());
}

TEST_CASE("events: the lease dnsmasq gives a host-mode guest", "[integration][events]") {
  TempDir dir;
  REQUIRE(::chmod(dir.path().c_str(), 0755) == 0);  // dnsmasq (nobody) reads its leases under it
  std::optional<DaemonProcess> daemon;
  {
    InNewNetns netns;  // the network (10.93.0.0/24, bridge, dnsmasq) exists only in here
    daemon.emplace(dir.path());
    REQUIRE(netns.leave());
  }
  auto subscriber = daemon->connect();
  REQUIRE(subscriber.call("subscribe", {{"events", {"lease"}}})->ok());
  const auto started = daemon->ok("start", {{"name", "h1"}, {"mode", "host"}, {"subnet", "10.93.0.0/24"}});
  const std::string address = started["network"]["address"];
  const Mac mac = parse_mac(started["mac"]);
  FakeVmm vm(dir.path() + "/h1.local", started["socket"]);

  // dnsmasq starts with the network: ask again until it answers (each wait 1 s).
  const auto exchange = [&](const Bytes& ask, std::uint8_t answer) {
    for (int attempt = 0; attempt < 10; ++attempt) {
      vm.send(ask);
      if (receive_matching(
              vm, [&](const Bytes& f) { return is_dhcp_reply(f, parse_ipv4(address), answer); }, 1s)) {
        return true;
      }
    }
    return false;
  };
  REQUIRE(exchange(dhcp_discover(mac, 0x5eed), 2));  // OFFER
  REQUIRE(exchange(dhcp_request(mac, 0x5eed, parse_ipv4(address), parse_ipv4(started["network"]["gateway"])),
                   5));  // ACK

  const auto event = next_event(subscriber, "lease", "h1");
  CHECK(event.address == address);
  daemon->ok("stop", {{"name", "h1"}});
}
