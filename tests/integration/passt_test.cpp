// Integration test with the real passt (Debian) as the userspace child: a DHCPDISCOVER
// sent into the VM socket must come back as a DHCPOFFER for our MAC. DHCP is answered by
// passt itself; nothing leaves the machine. Needs root and the passt package.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <utility>

#include "support/catch.hpp"
#include "support/daemon_process.hpp"
#include "support/netns.hpp"

using namespace squib::test;
using namespace std::chrono_literals;
using Catch::Matchers::ContainsSubstring;
using Catch::Matchers::StartsWith;

namespace {

// RFC 2131 DHCPDISCOVER in Ethernet/IPv4/UDP, from 0.0.0.0:68 to 255.255.255.255:67.
std::vector<std::uint8_t> dhcp_discover(const std::array<std::uint8_t, 6>& mac, std::uint32_t xid) {
  std::vector<std::uint8_t> bootp(240, 0);
  bootp[0] = 1;  // BOOTREQUEST
  bootp[1] = 1;  // Ethernet
  bootp[2] = 6;  // hlen
  for (std::size_t i = 0; i < 4; ++i) bootp[4 + i] = static_cast<std::uint8_t>(xid >> (24 - 8 * i));
  bootp[10] = 0x80;  // broadcast flag
  std::copy(mac.begin(), mac.end(), bootp.begin() + 28);
  const std::uint8_t cookie[] = {99, 130, 83, 99};
  std::copy(std::begin(cookie), std::end(cookie), bootp.begin() + 236);
  const std::uint8_t options[] = {53, 1, 1, 55, 3, 1, 3, 6, 255};
  bootp.insert(bootp.end(), std::begin(options), std::end(options));

  const std::size_t udp_len = 8 + bootp.size();
  const std::size_t ip_len = 20 + udp_len;
  std::vector<std::uint8_t> frame(14 + ip_len, 0);
  std::fill(frame.begin(), frame.begin() + 6, 0xff);
  std::copy(mac.begin(), mac.end(), frame.begin() + 6);
  frame[12] = 0x08;
  std::uint8_t* ip = frame.data() + 14;
  ip[0] = 0x45;
  ip[2] = static_cast<std::uint8_t>(ip_len >> 8);
  ip[3] = static_cast<std::uint8_t>(ip_len);
  ip[8] = 64;
  ip[9] = 17;
  std::fill(ip + 16, ip + 20, 0xff);
  std::uint32_t sum = 0;
  for (std::size_t i = 0; i < 20; i += 2) sum += static_cast<std::uint32_t>((ip[i] << 8) | ip[i + 1]);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  const auto checksum = static_cast<std::uint16_t>(~sum);
  ip[10] = static_cast<std::uint8_t>(checksum >> 8);
  ip[11] = static_cast<std::uint8_t>(checksum);
  std::uint8_t* udp = ip + 20;
  udp[1] = 68;
  udp[3] = 67;
  udp[4] = static_cast<std::uint8_t>(udp_len >> 8);
  udp[5] = static_cast<std::uint8_t>(udp_len);  // checksum 0: none (RFC 768)
  std::copy(bootp.begin(), bootp.end(), udp + 8);
  return frame;
}

}  // namespace

TEST_CASE("passt answers a DHCPDISCOVER sent through squib-netd with an offer", "[integration][passt]") {
  if (!std::filesystem::exists("/usr/bin/passt")) FAIL("passt is not installed (scripts/setup installs it)");
  TempDir dir;
  DaemonProcess daemon(dir.path());
  const auto started = daemon.ok("start", {{"name", "vm1"}, {"mode", "userspace"}});
  FakeVmm vm(dir.path() + "/vm1.local", started["socket"]);
  REQUIRE(eventually([&] { return daemon.ok("list")[0]["state"] == "running"; }));

  std::array<std::uint8_t, 6> mac{};
  std::sscanf(started["mac"].get<std::string>().c_str(), "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &mac[0], &mac[1], &mac[2],
              &mac[3], &mac[4], &mac[5]);
  const std::uint32_t xid = 0x5c1b0001;
  std::optional<std::vector<std::uint8_t>> offer;
  // passt may need a moment after start; retry the discover a few times like a client.
  for (int attempt = 0; attempt < 5 && !offer; ++attempt) {
    vm.send(dhcp_discover(mac, xid));
    while (auto frame = vm.receive(std::chrono::milliseconds(1000))) {
      const auto& f = *frame;
      // IPv4 / UDP from port 67, BOOTREPLY with our xid.
      if (f.size() > 14 + 20 + 8 + 240 && f[12] == 0x08 && f[13] == 0x00 && f[14 + 9] == 17) {
        const std::size_t ihl = (f[14] & 0x0fU) * 4U;
        const std::uint8_t* udp = f.data() + 14 + ihl;
        const std::uint8_t* bootp = udp + 8;
        if (udp[1] == 67 && bootp[0] == 2 && bootp[4] == 0x5c && bootp[5] == 0x1b && bootp[7] == 0x01) {
          offer = f;
          break;
        }
      }
    }
  }
  INFO("daemon log:\n" << daemon.log());
  REQUIRE(offer.has_value());
  const std::uint8_t* bootp = offer->data() + 14 + 20 + 8;
  // chaddr is our MAC and the offer carries DHCP message type 2 (OFFER).
  CHECK(std::equal(mac.begin(), mac.end(), bootp + 28));
  bool is_offer = false;
  for (std::size_t at = 240; at + 2 < offer->size() - (14 + 20 + 8);) {
    const std::uint8_t code = bootp[at];
    if (code == 255) break;
    if (code == 0) {
      ++at;
      continue;
    }
    if (code == 53 && bootp[at + 2] == 2) is_offer = true;
    at += 2U + bootp[at + 1];
  }
  CHECK(is_offer);
  // yiaddr (offered address) is non-zero.
  CHECK((bootp[16] | bootp[17] | bootp[18] | bootp[19]) != 0);
  const auto stats = daemon.ok("stats", {{"name", "vm1"}})[0];
  CHECK(stats["from_vm"]["frames"].get<std::uint64_t>() >= 1);
  CHECK(stats["to_vm"]["frames"].get<std::uint64_t>() >= 1);
}

namespace {

// A TCP socket bound to a port of the kernel's choice on loopback; returns the fd and port.
std::pair<int, int> bind_loopback_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  socklen_t length = sizeof address;
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0);
  return {fd, ntohs(address.sin_port)};
}

// A TCP port on loopback that was free a moment ago.
int free_loopback_port() {
  const auto [fd, port] = bind_loopback_port();
  ::close(fd);
  return port;
}

}  // namespace

TEST_CASE("a forward onto a host port that is in use is refused up front, the attachment keeps running",
          "[integration][passt]") {
  TempDir dir;
  DaemonProcess daemon(dir.path());
  // A port held by this test, on loopback.
  const auto [holder, port] = bind_loopback_port();
  REQUIRE(::listen(holder, 1) == 0);
  const std::string held = "127.0.0.1:" + std::to_string(port);

  const auto at_start = daemon.call(
      "start", {{"name", "p0"}, {"mode", "userspace"}, {"forwards", {{{"host", held}, {"guest_port", 22}}}}});
  CHECK(at_start.error_code == -32602);
  CHECK(at_start.error_message == "forwards[0].host: " + held + " (tcp) is in use by another process or attachment");

  daemon.ok("start", {{"name", "p1"}, {"mode", "userspace"}});
  REQUIRE(eventually([&] { return daemon.ok("list")[0]["state"] == "running"; }));
  const int passt = child_pid(daemon, "p1");
  const auto refused = daemon.call("forward", {{"name", "p1"}, {"host", held}, {"guest_port", 22}});
  CHECK(refused.error_code == -32602);
  CHECK(refused.error_message == "host: " + held + " (tcp) is in use by another process or attachment");
  const auto listed = daemon.ok("list")[0];
  CHECK(listed["state"] == "running");
  CHECK_FALSE(listed.contains("forwards"));
  CHECK(child_pid(daemon, "p1") == passt);  // not restarted
  ::close(holder);
}

TEST_CASE("forwards reconfigure passt: counted apart from crashes, logged as asked, never a warning",
          "[integration][passt]") {
  TempDir dir;
  DaemonProcess daemon(dir.path());
  daemon.ok("start", {{"name", "p1"}, {"mode", "userspace"}});
  REQUIRE(eventually([&] { return daemon.ok("list")[0]["state"] == "running"; }));
  const int first = child_pid(daemon, "p1");
  for (int i = 0; i < 2; ++i) {
    daemon.ok("forward",
              {{"name", "p1"}, {"host", "127.0.0.1:" + std::to_string(free_loopback_port())}, {"guest_port", 22 + i}});
  }
  REQUIRE(eventually([&] {
    const int now = child_pid(daemon, "p1");
    return now > 0 && now != first && daemon.ok("list")[0]["state"] == "running" &&
           stats_of(daemon, "p1")["child_reconfigurations"].get<std::uint64_t>() >= 1;
  }));
  const auto stats = stats_of(daemon, "p1");
  CHECK(stats["child_restarts"] == 0);
  CHECK(stats["child_reconfigurations"].get<std::uint64_t>() <= 2);  // changes that come together share one
  CHECK(stats["forwards"].size() == 2);
  CHECK(daemon.log().find("restarting the child with its new arguments") != std::string::npos);
  CHECK(daemon.log().find("warning p1") == std::string::npos);  // nothing about p1 at warning level
}

namespace {

// Runs `command` inside the network namespace of process `pid`.
void in_netns_of(pid_t pid, const std::string& command) {
  const std::string full = "nsenter --net=/proc/" + std::to_string(pid) + "/ns/net " + command;
  INFO(full);
  REQUIRE(std::system(full.c_str()) == 0);
}

// Gives the namespace of `pid` what passt needs to run: an uplink (one end of a veth pair
// inside it, the other end too: nothing leaves the namespace) with a default route.
void give_uplink(pid_t pid) {
  in_netns_of(pid, "ip link add sqt-up type veth peer name sqt-up-peer");
  in_netns_of(pid, "ip addr add 10.66.0.2/24 dev sqt-up");
  in_netns_of(pid, "ip link set sqt-up up");
  in_netns_of(pid, "ip link set sqt-up-peer up");
  in_netns_of(pid, "ip route add default via 10.66.0.1 dev sqt-up");
}

// The daemon's direct children (its passt and dnsmasq processes).
std::string children_of(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/children");
  std::string children;
  std::getline(in, children);
  return children;
}

}  // namespace

TEST_CASE("start of a passt that cannot run answers with passt's own words and leaves nothing running",
          "[integration][passt]") {
  TempDir dir;
  std::optional<DaemonProcess> daemon;
  {
    InNewNetns netns;  // no route at all: passt cannot pick an interface and exits
    daemon.emplace(dir.path());
    REQUIRE(netns.leave());
  }
  const auto refused = daemon->call("start", {{"name", "p1"}, {"mode", "userspace"}});
  INFO(daemon->log());
  CHECK(refused.error_code == -32004);
  CHECK_THAT(refused.error_message, StartsWith("passt did not start: exited with status 1; its output: ") &&
                                        ContainsSubstring("External interface not usable"));
  CHECK(daemon->ok("list").empty());
  CHECK(eventually([&] { return children_of(daemon->pid()).empty(); }));  // passt is not restarted
  CHECK(daemon->log().find("p1/passt: restarting child") == std::string::npos);
  const std::string state = daemon->run_dir() + "/state.json";
  std::ifstream saved(state);
  CHECK(json::parse(saved)["attachments"].empty());  // not restored by the next daemon either
}

TEST_CASE("restart: a failed passt attachment runs again once the cause is fixed", "[integration][passt]") {
  TempDir dir;
  std::optional<DaemonProcess> daemon;
  start_in_new_netns(daemon, dir.path());
  give_uplink(daemon->pid());
  daemon->ok("start", {{"name", "p1"}, {"mode", "userspace"}});  // answers once passt serves
  CHECK(daemon->ok("list")[0]["state"] == "running");

  // The uplink goes away under a running attachment: passt, restarted, cannot run any more.
  in_netns_of(daemon->pid(), "ip link del sqt-up");
  ::kill(child_pid(*daemon, "p1"), SIGKILL);
  REQUIRE(eventually([&] { return daemon->ok("list")[0]["state"] == "failed"; }, 60s));
  const auto failed = daemon->ok("list")[0];
  INFO(failed.dump());
  CHECK(failed["detail"].get<std::string>().find("External interface not usable") != std::string::npos);

  // The operator gives the namespace its uplink back and restarts the attachment.
  give_uplink(daemon->pid());
  const std::string restart =
      std::string(SQUIB_NETCTL_PATH) + " --control " + daemon->control_path() + " restart p1 > /dev/null";
  REQUIRE(std::system(restart.c_str()) == 0);
  REQUIRE(eventually([&] { return daemon->ok("list")[0]["state"] == "running" && child_pid(*daemon, "p1") > 0; }));
  CHECK(daemon->call("restart", {{"name", "nosuch"}}).error_code == -32001);
}

TEST_CASE("a forward passt cannot bind is refused with passt's words and the previous forwards keep serving",
          "[integration][passt]") {
  TempDir dir;
  std::optional<DaemonProcess> daemon;
  int holder = -1;
  {
    InNewNetns netns;
    // Set here, not assumed: ports below 1024 need CAP_NET_BIND_SERVICE in this namespace.
    REQUIRE(std::system("sysctl -qw net.ipv4.ip_unprivileged_port_start=1024") == 0);
    REQUIRE(std::system("ip link set lo up") == 0);
    // This test (root) holds a privileged port. The daemon's probe cannot tell it is taken
    // (EACCES comes first: the daemon has no effective CAP_NET_BIND_SERVICE), so passt finds
    // out, by failing to bind it.
    holder = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(80);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(holder, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    REQUIRE(::listen(holder, 1) == 0);
    daemon.emplace(dir.path());
    REQUIRE(netns.leave());
  }
  give_uplink(daemon->pid());
  const std::string first = "127.0.0.1:2222";
  daemon->ok("start", {{"name", "p1"}, {"mode", "userspace"}, {"forwards", {{{"host", first}, {"guest_port", 22}}}}});
  const int before = child_pid(*daemon, "p1");

  const auto refused = daemon->call("forward", {{"name", "p1"}, {"host", "127.0.0.1:80"}, {"guest_port", 80}});
  INFO(daemon->log());
  CHECK(refused.error_code == -32004);
  CHECK_THAT(refused.error_message, StartsWith("the forwards of 'p1' are unchanged: passt did not start: ") &&
                                        ContainsSubstring("Failed to bind any port for '-t 127.0.0.1/80:80'"));
  // The attachment keeps running with exactly its previous forward, served by a new passt.
  REQUIRE(eventually([&] {
    const int now = child_pid(*daemon, "p1");
    return now > 0 && now != before && daemon->ok("list")[0]["state"] == "running";
  }));
  const auto listed = daemon->ok("list")[0];
  REQUIRE(listed["forwards"].size() == 1);
  CHECK(listed["forwards"][0]["host"] == first);
  CHECK(daemon->log().find("restoring the previous forwards") != std::string::npos);
  ::close(holder);
}
