// The kernel VXLAN uplink (squib/platform/linux/vxlan_uplink.hpp, issue 15) on a real kernel:
// two network namespaces stand for two hosts, joined by a veth pair (the underlay); each has
// a bridge with create_vxlan_uplink pointing at the other, and a "guest" namespace whose veth
// is a port of that bridge. The guests ping each other across the tunnel. Every namespace is
// the test's own (named sqvxt<pid><case>…), deleted at the end with all it holds. Root.

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <squib/platform/linux/netlink.hpp>
#include <squib/platform/linux/vxlan_uplink.hpp>
#include <squib/proto/network_messages.hpp>

#include "support/catch.hpp"

namespace {

using squib::platform::Netlink;
using squib::proto::VxlanUplink;

struct Run {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

Run run(const std::string& line) {
  Run out;
  FILE* pipe = ::popen((line + " 2>&1").c_str(), "r");
  REQUIRE(pipe != nullptr);
  char buffer[4096];
  std::size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) out.output.append(buffer, n);
  const int status = ::pclose(pipe);
  out.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

void must(const std::string& line) {
  const auto result = run(line);
  INFO(line << "\n" << result.output);
  REQUIRE(result.exit_code == 0);
}

// A failed Result's message, for INFO (which formats at once, success or not).
template <typename T>
std::string why(const squib::core::Result<T>& result) {
  return result ? std::string() : result.error().message;
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// The calling thread inside named namespace `name` (/run/netns/NAME, ip-netns(8)) until
// destruction: sockets opened meanwhile (a Netlink) stay bound to it.
class Inside {
 public:
  explicit Inside(const std::string& name) {
    m_original = ::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    REQUIRE(m_original >= 0);
    const int target = ::open(("/run/netns/" + name).c_str(), O_RDONLY | O_CLOEXEC);
    REQUIRE(target >= 0);
    const int rc = ::setns(target, CLONE_NEWNET);
    ::close(target);
    REQUIRE(rc == 0);
  }
  ~Inside() {
    if (::setns(m_original, CLONE_NEWNET) != 0) std::abort();  // never run on in the wrong namespace
    ::close(m_original);
  }
  Inside(const Inside&) = delete;
  Inside& operator=(const Inside&) = delete;

 private:
  int m_original = -1;
};

// Two hosts and their guests: namespaces <p>h1, <p>h2 (underlay veth u1 — u2, addresses
// 10.215.0.1/.2 and fd15::1/::2), <p>g1, <p>g2 (eth0, 192.168.77.11/.12), a bridge br0 in each
// host with the guest's other veth end (gp) as a port. Deletes every namespace it made.
class TwoHosts {
 public:
  explicit TwoHosts(const std::string& tag) : m_prefix("sqvxt" + std::to_string(::getpid()) + tag) {
    for (const char* suffix : {"h1", "h2", "g1", "g2"}) {
      m_made.push_back(m_prefix + suffix);
      must("ip netns add " + m_made.back());
      must("ip -n " + m_made.back() + " link set lo up");
    }
    must("ip link add u1 netns " + host(1) + " type veth peer name u2 netns " + host(2));
    for (int i : {1, 2}) {
      const std::string n = std::to_string(i);
      must("ip -n " + host(i) + " addr add 10.215.0." + n + "/24 dev u" + n);
      must("ip -n " + host(i) + " addr add fd15::" + n + "/64 dev u" + n + " nodad");
      must("ip -n " + host(i) + " link set u" + n + " up");
      must("ip -n " + host(i) + " link add br0 type bridge");
      must("ip link add gp netns " + host(i) + " type veth peer name eth0 netns " + guest(i));
      must("ip -n " + host(i) + " link set gp master br0 up");
      must("ip -n " + guest(i) + " addr add 192.168.77.1" + n + "/24 dev eth0");
      must("ip -n " + guest(i) + " link set eth0 up");
      must("ip -n " + host(i) + " link set br0 up");
    }
  }
  ~TwoHosts() {
    for (const auto& name : m_made) (void)run("ip netns del " + name);
  }
  TwoHosts(const TwoHosts&) = delete;
  TwoHosts& operator=(const TwoHosts&) = delete;

  std::string host(int i) const { return m_prefix + "h" + std::to_string(i); }
  std::string guest(int i) const { return m_prefix + "g" + std::to_string(i); }
  const std::vector<std::string>& namespaces() const { return m_made; }

  // create_vxlan_uplink in host i's namespace.
  squib::core::Result<squib::platform::VxlanUplinkState> uplink(int i, const VxlanUplink& spec,
                                                                std::optional<std::uint32_t> asked_mtu = {},
                                                                const std::string& bridge = "br0") {
    Inside inside(host(i));
    auto netlink = Netlink::open();
    REQUIRE(netlink);
    return squib::platform::create_vxlan_uplink(netlink.value(), k_device, bridge, spec, asked_mtu, k_gateway);
  }

  std::optional<squib::platform::LinkInfo> link(int i, const std::string& name) {
    Inside inside(host(i));
    auto netlink = Netlink::open();
    REQUIRE(netlink);
    auto found = netlink.value().find_link(name);
    REQUIRE(found);
    return found.value();
  }

  static constexpr const char* k_device = "sqvx-test";
  static constexpr std::uint32_t k_gateway = 0xc0a84d01;  // 192.168.77.1
  static constexpr std::uint32_t k_vni = 4242;

 private:
  std::string m_prefix;
  std::vector<std::string> m_made;
};

VxlanUplink unicast(const std::string& local, const std::string& remote) {
  VxlanUplink spec;
  spec.vni = TwoHosts::k_vni;
  spec.local = local;
  spec.remotes = {remote};
  return spec;
}

// Pings guest 2 from guest 1 (three echoes); the summary line ("rtt min/avg/max/mdev = …")
// for the report. -w: an upper bound so that a broken tunnel fails instead of hanging.
std::string ping_across(TwoHosts& hosts) {
  const auto result = run("ip netns exec " + hosts.guest(1) + " ping -c 3 -i 0.2 -w 20 -q 192.168.77.12");
  INFO(result.output);
  REQUIRE(result.exit_code == 0);
  const auto rtt = result.output.find("rtt");
  return rtt == std::string::npos ? result.output : result.output.substr(rtt);
}

// Polls `predicate` every 10 ms for up to 20 s (an upper bound for a failing test, not a
// wait for success: a passing one returns as soon as it holds).
bool wait_for(const std::function<bool()>& predicate) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!predicate()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    ::usleep(10'000);
  }
  return true;
}

std::string mac_text(const std::array<std::uint8_t, 6>& mac) {
  char out[18];
  std::snprintf(out, sizeof out, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
  return out;
}

// Deletes the namespaces (and with them every link, FDB entry and nft table made in them) and
// checks that none is left.
void check_removed(std::optional<TwoHosts>& hosts) {
  const auto names = hosts->namespaces();
  hosts.reset();
  const auto listing = run("ip netns list").output;
  for (const auto& name : names) CHECK_FALSE(has(listing, name));
}

}  // namespace

TEST_CASE("vxlan uplink over IPv4: guests ping across, FDB, MTU 1450, anycast MAC, DHCP contained",
          "[platform][vxlan_uplink]") {
  std::optional<TwoHosts> hosts(std::in_place, "a");
  for (int i : {1, 2}) {
    const std::string self = "10.215.0." + std::to_string(i);
    const std::string other = "10.215.0." + std::to_string(3 - i);
    const auto started = std::chrono::steady_clock::now();
    auto state = hosts->uplink(i, unicast(self, other));
    const auto took = std::chrono::steady_clock::now() - started;
    WARN("host " << i << ": create_vxlan_uplink took "
                 << std::chrono::duration_cast<std::chrono::microseconds>(took).count() << " us");
    INFO(why(state));
    REQUIRE(state);
    CHECK(state.value().device == TwoHosts::k_device);
    CHECK(state.value().underlay_mtu == 1500);
    CHECK(state.value().network_mtu == 1450);
  }
  const auto before = hosts->link(2, TwoHosts::k_device);
  REQUIRE(before);
  const std::string rtt = ping_across(*hosts);
  WARN("IPv4 underlay ping: " << rtt);

  for (int i : {1, 2}) {
    const auto device = hosts->link(i, TwoHosts::k_device);
    REQUIRE(device);
    CHECK(device->kind == "vxlan");
    CHECK(device->mtu == 1450);
    CHECK(device->up);
    CHECK(device->stats.tx_packets > 0);
    CHECK(device->stats.rx_packets > 0);
    const auto bridge = hosts->link(i, "br0");
    REQUIRE(bridge);
    CHECK(device->master == bridge->index);
    CHECK(bridge->mtu == 1450);
    const auto fdb = run("ip netns exec " + hosts->host(i) + " bridge fdb show dev " + TwoHosts::k_device).output;
    INFO(fdb);
    CHECK(has(fdb, "00:00:00:00:00:00 dst 10.215.0." + std::to_string(3 - i) + " self permanent"));
    // Learning: the other guest's MAC, learned from what arrived, points at the other host.
    const auto other_guest = run("ip netns exec " + hosts->guest(3 - i) + " cat /sys/class/net/eth0/address").output;
    REQUIRE(other_guest.size() == 18);
    CHECK(has(fdb, other_guest.substr(0, 17) + " dst 10.215.0." + std::to_string(3 - i) + " self"));
    WARN("host " << i << " VXLAN device: rx " << device->stats.rx_packets << " packets " << device->stats.rx_bytes
                 << " bytes, tx " << device->stats.tx_packets << " packets " << device->stats.tx_bytes << " bytes");
    const auto address = run("ip netns exec " + hosts->host(i) + " cat /sys/class/net/br0/address").output;
    CHECK(address == mac_text(squib::platform::anycast_gateway_mac(TwoHosts::k_vni, TwoHosts::k_gateway)) + "\n");
  }
  const auto after = hosts->link(2, TwoHosts::k_device);
  REQUIRE(after);
  CHECK(after->stats.rx_packets > before->stats.rx_packets);
  WARN("host 2 VXLAN rx packets " << before->stats.rx_packets << " -> " << after->stats.rx_packets);

  {  // DHCP stays on its host: host 1 counts and drops a guest's DISCOVER; a later broadcast crosses
    const std::string table = "squib_up_test";
    for (int i : {1, 2}) {
      const std::string script = squib::platform::uplink_policy_script(table, TwoHosts::k_device);
      must("printf '%s' '" + script + "' | ip netns exec " + hosts->host(i) + " nft -f -");
      // Applied twice: the script replaces the table (a daemon re-applies it on restart).
      must("printf '%s' '" + script + "' | ip netns exec " + hosts->host(i) + " nft -f -");
    }
    // Guest 2 listens on 67 and on 9999; it prints what arrives and stops at the 9999
    // datagram, which guest 1 sends after the DISCOVER by the same path: frames keep their
    // order on it, so a DISCOVER that crossed would have been printed first.
    const std::string listener =
        "import select, socket, sys\n"
        "socks = []\n"
        "for port in (67, 9999):\n"
        "    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
        "    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
        "    s.bind(('0.0.0.0', port))\n"
        "    socks.append(s)\n"
        "print('ready', flush=True)\n"
        "while True:\n"
        "    ready, _, _ = select.select(socks, [], [], 30)\n"
        "    if not ready:\n"
        "        print('timeout', flush=True); sys.exit(1)\n"
        "    for s in ready:\n"
        "        data, peer = s.recvfrom(2048)\n"
        "        port = s.getsockname()[1]\n"
        "        print('got', port, data.decode(), flush=True)\n"
        "        if port == 9999: sys.exit(0)\n";
    const std::string sender =
        "import socket\n"
        "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
        "s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)\n"
        "s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b'eth0')\n"
        "s.bind(('0.0.0.0', 68))\n"
        "s.sendto(b'discover', ('255.255.255.255', 67))\n"
        "s.sendto(b'control', ('255.255.255.255', 9999))\n";
    // One DISCOVER and then the control datagram from guest 1; what guest 2 heard.
    const auto exchange = [&] {
      FILE* listening =
          ::popen(("ip netns exec " + hosts->guest(2) + " /usr/bin/python3 -c \"" + listener + "\" 2>&1").c_str(), "r");
      REQUIRE(listening != nullptr);
      char line[256];
      REQUIRE(std::fgets(line, sizeof line, listening) != nullptr);
      REQUIRE(std::string(line) == "ready\n");
      must("ip netns exec " + hosts->guest(1) + " /usr/bin/python3 -c \"" + sender + "\"");
      std::string heard;
      while (std::fgets(line, sizeof line, listening) != nullptr) heard += line;
      const int status = ::pclose(listening);
      INFO(heard);
      CHECK(WIFEXITED(status));
      CHECK(WEXITSTATUS(status) == 0);
      return heard;
    };
    const auto counter = [&](int i) {
      return run("ip netns exec " + hosts->host(i) + " nft list counter bridge " + table + " " +
                 squib::platform::k_uplink_counter_dhcp)
          .output;
    };
    const auto remove_policy = [&](int i) {
      const std::string script = squib::platform::uplink_policy_delete_script(table);
      must("printf '%s' '" + script + "' | ip netns exec " + hosts->host(i) + " nft -f -");
      CHECK(run("ip netns exec " + hosts->host(i) + " nft list table bridge " + table).exit_code != 0);
    };
    CHECK(has(counter(1), "packets 0 "));
    CHECK(exchange() == "got 9999 control\n");
    CHECK(has(counter(1), "packets 1 "));  // dropped leaving host 1
    CHECK(has(counter(2), "packets 0 "));  // nothing reached host 2 to be dropped there

    // Host 1 without its table: host 2's drops it on the way in.
    remove_policy(1);
    CHECK(exchange() == "got 9999 control\n");
    CHECK(has(counter(2), "packets 1 "));

    // Neither: the DISCOVER crosses (the listener does hear port 67; the checks above are not
    // vacuous).
    remove_policy(2);
    CHECK(exchange() == "got 67 discover\ngot 9999 control\n");
  }

  {  // The anycast gateway stays on its host: both bridges hold 192.168.77.1 with one MAC;
     // guest 1's ARP request for it crosses, host 2's answer does not.
    const auto gateway_mac = squib::platform::anycast_gateway_mac(TwoHosts::k_vni, TwoHosts::k_gateway);
    const std::string table = "squib_up_test";
    for (int i : {1, 2}) {
      const std::string script = squib::platform::uplink_policy_script(table, TwoHosts::k_device, gateway_mac);
      must("printf '%s' '" + script + "' | ip netns exec " + hosts->host(i) + " nft -f -");
      must("ip -n " + hosts->host(i) + " addr add 192.168.77.1/24 dev br0");
    }
    const auto counter = [&](int i) {
      return run("ip netns exec " + hosts->host(i) + " nft list counter bridge " + table + " " +
                 squib::platform::k_uplink_counter_gateway)
          .output;
    };
    must("ip netns exec " + hosts->guest(1) + " ping -c 1 -w 20 192.168.77.1");
    // Host 2's answer is made when guest 1's request arrives there, independently of host 1's.
    CHECK(wait_for([&] { return !has(counter(2), "packets 0 "); }));
    const auto neighbours = run("ip -n " + hosts->guest(1) + " neigh show 192.168.77.1").output;
    INFO(neighbours);
    CHECK(has(neighbours, mac_text(gateway_mac)));
  }

  check_removed(hosts);
}

TEST_CASE("vxlan uplink over IPv6: guests ping across, MTU 1430", "[platform][vxlan_uplink]") {
  std::optional<TwoHosts> hosts(std::in_place, "b");
  for (int i : {1, 2}) {
    auto state = hosts->uplink(i, unicast("fd15::" + std::to_string(i), "fd15::" + std::to_string(3 - i)));
    INFO(why(state));
    REQUIRE(state);
    CHECK(state.value().network_mtu == 1430);
    const auto device = hosts->link(i, TwoHosts::k_device);
    REQUIRE(device);
    CHECK(device->mtu == 1430);
  }
  WARN("IPv6 underlay ping: " << ping_across(*hosts));
  const auto fdb = run("ip netns exec " + hosts->host(1) + " bridge fdb show dev " + TwoHosts::k_device).output;
  INFO(fdb);
  CHECK(has(fdb, "00:00:00:00:00:00 dst fd15::2 self permanent"));
  check_removed(hosts);
}

TEST_CASE("vxlan uplink with a multicast group: guests ping across", "[platform][vxlan_uplink]") {
  std::optional<TwoHosts> hosts(std::in_place, "c");
  for (int i : {1, 2}) {
    VxlanUplink spec;
    spec.vni = TwoHosts::k_vni;
    spec.local = "10.215.0." + std::to_string(i);
    spec.group = "239.1.1.1";
    spec.dev = "u" + std::to_string(i);
    auto state = hosts->uplink(i, spec);
    INFO(why(state));
    REQUIRE(state);
    CHECK(state.value().network_mtu == 1450);
  }
  WARN("multicast group ping: " << ping_across(*hosts));
  check_removed(hosts);
}

TEST_CASE("vxlan uplink errors: an MTU too large, an existing device, a failed step removes the device",
          "[platform][vxlan_uplink]") {
  std::optional<TwoHosts> hosts(std::in_place, "d");
  const auto spec = unicast("10.215.0.1", "10.215.0.2");

  auto too_large = hosts->uplink(1, spec, 1500);
  REQUIRE_FALSE(too_large);
  CHECK(too_large.error().code == EINVAL);
  CHECK(too_large.error().message ==
        "mtu: 1500 does not fit the uplink: u1 carries 1500, VXLAN needs 50 of it, so at most 1450");
  CHECK_FALSE(hosts->link(1, TwoHosts::k_device));

  auto smaller = hosts->uplink(1, spec, 1400);
  INFO(why(smaller));
  REQUIRE(smaller);
  CHECK(smaller.value().network_mtu == 1400);
  CHECK(hosts->link(1, "br0")->mtu == 1400);

  auto again = hosts->uplink(1, spec);
  REQUIRE_FALSE(again);
  CHECK(again.error().code == EEXIST);
  CHECK(again.error().message == std::string("uplink: create vxlan ") + TwoHosts::k_device + ": File exists");
  CHECK(hosts->link(1, TwoHosts::k_device));  // someone else's device is left alone

  auto no_bridge = hosts->uplink(2, unicast("10.215.0.2", "10.215.0.1"), {}, "nosuchbridge");
  REQUIRE_FALSE(no_bridge);
  CHECK(no_bridge.error().message == "uplink: bridge nosuchbridge: no such interface");
  CHECK_FALSE(hosts->link(2, TwoHosts::k_device));  // made, then removed

  auto unroutable = hosts->uplink(2, unicast("10.215.0.2", "10.99.0.1"));
  REQUIRE_FALSE(unroutable);
  CHECK(unroutable.error().code == ENETUNREACH);
  CHECK(unroutable.error().message == "uplink: route to 10.99.0.1: Network is unreachable");
  VxlanUplink no_dev = spec;
  no_dev.dev = "nosuchdev";
  auto missing_dev = hosts->uplink(1, no_dev);
  REQUIRE_FALSE(missing_dev);
  CHECK(missing_dev.error().message == "uplink: dev nosuchdev: no such interface");

  auto ipv6_too_large = hosts->uplink(2, unicast("fd15::2", "fd15::1"), 1450);
  REQUIRE_FALSE(ipv6_too_large);
  CHECK(ipv6_too_large.error().message ==
        "mtu: 1450 does not fit the uplink: u2 carries 1500, VXLAN needs 70 of it, so at most 1430");

  check_removed(hosts);
}
