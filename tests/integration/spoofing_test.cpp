// Integration tests of anti-spoofing (relay/source_guard.hpp) through the real daemon: raw
// frames injected into a VM's socket exactly as a VMM would send them.
//
// - userspace mode with the echo-peer child: a frame with another source MAC (or an ARP that
//   names another MAC) is counted as spoofed_mac and never reaches the child — echo-peer
//   returns every frame it gets, so "nothing echoed" proves it. The IPv4 checks stay off
//   (the daemon does not know a userspace guest's address).
// - host mode (root): the daemon runs in a network namespace this test creates (unshare, so
//   it vanishes with its last process: nothing can leak), with its bridge, dnsmasq and TAP.
//   The kernel's own replies are the proof: the bridge answers an ARP request and an ICMP
//   echo from the guest's assigned address, dnsmasq answers a DHCPDISCOVER from 0.0.0.0 with
//   exactly that address, and nothing at all comes back for the same requests from another
//   address, which are counted as spoofed_ip.
// Network safety: 192.168.105.0/24 exists only inside the test's namespace.

#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "support/catch.hpp"
#include "support/daemon_process.hpp"
#include "support/netns.hpp"

using namespace squib::test;
using namespace std::chrono_literals;

namespace {

using Bytes = std::vector<std::uint8_t>;
using Ipv4 = std::array<std::uint8_t, 4>;
using Mac = std::array<std::uint8_t, 6>;

Mac parse_mac(const std::string& text) {
  unsigned b[6] = {};
  REQUIRE(std::sscanf(text.c_str(), "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) == 6);
  return {static_cast<std::uint8_t>(b[0]), static_cast<std::uint8_t>(b[1]), static_cast<std::uint8_t>(b[2]),
          static_cast<std::uint8_t>(b[3]), static_cast<std::uint8_t>(b[4]), static_cast<std::uint8_t>(b[5])};
}

Ipv4 parse_ipv4(const std::string& text) {
  unsigned b[4] = {};
  REQUIRE(std::sscanf(text.c_str(), "%u.%u.%u.%u", &b[0], &b[1], &b[2], &b[3]) == 4);
  return {static_cast<std::uint8_t>(b[0]), static_cast<std::uint8_t>(b[1]), static_cast<std::uint8_t>(b[2]),
          static_cast<std::uint8_t>(b[3])};
}

void put(Bytes& out, std::initializer_list<std::uint8_t> bytes) { out.insert(out.end(), bytes); }
template <std::size_t N>
void put(Bytes& out, const std::array<std::uint8_t, N>& bytes) {
  out.insert(out.end(), bytes.begin(), bytes.end());
}
void put16(Bytes& out, std::size_t value) { put(out, {static_cast<std::uint8_t>(value >> 8U), static_cast<std::uint8_t>(value)}); }

// RFC 1071 Internet checksum of out[begin, end).
std::uint16_t checksum(const Bytes& data, std::size_t begin, std::size_t end) {
  std::uint32_t sum = 0;
  for (std::size_t i = begin; i < end; i += 2) {
    sum += static_cast<std::uint32_t>(data[i] << 8U) + (i + 1 < end ? data[i + 1] : 0U);
  }
  while ((sum >> 16U) != 0) sum = (sum & 0xffffU) + (sum >> 16U);
  return static_cast<std::uint16_t>(~sum);
}
void set16(Bytes& data, std::size_t at, std::uint16_t value) {
  data[at] = static_cast<std::uint8_t>(value >> 8U);
  data[at + 1] = static_cast<std::uint8_t>(value);
}

Bytes ethernet(const Mac& dst, const Mac& src, unsigned type) {
  Bytes out;
  put(out, dst);
  put(out, src);
  put16(out, type);
  return out;
}

constexpr Mac k_broadcast{0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

// RFC 826 ARP request: who has `target`? tell `sender_ip` (at `sender_mac`).
Bytes arp_request(const Mac& mac, const Mac& sender_mac, const Ipv4& sender_ip, const Ipv4& target) {
  auto out = ethernet(k_broadcast, mac, 0x0806);
  put(out, {0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01});
  put(out, sender_mac);
  put(out, sender_ip);
  put(out, {0, 0, 0, 0, 0, 0});
  put(out, target);
  return out;
}

// IPv4 header (RFC 791, 20 bytes, correct checksum) + `payload`, in an Ethernet frame.
Bytes ipv4(const Mac& dst_mac, const Mac& src_mac, const Ipv4& src, const Ipv4& dst, std::uint8_t protocol,
           const Bytes& payload) {
  auto out = ethernet(dst_mac, src_mac, 0x0800);
  put(out, {0x45, 0x00});
  put16(out, 20 + payload.size());
  put(out, {0x00, 0x01, 0x00, 0x00, 64, protocol, 0x00, 0x00});
  put(out, src);
  put(out, dst);
  set16(out, 14 + 10, checksum(out, 14, 34));
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

// ICMP echo request (RFC 792) with identifier `id`, sequence 1, 8 bytes of data.
Bytes icmp_echo(const Mac& dst_mac, const Mac& src_mac, const Ipv4& src, const Ipv4& dst, unsigned id) {
  Bytes icmp = {8, 0, 0, 0};
  put16(icmp, id);
  put(icmp, {0x00, 0x01, 's', 'q', 'u', 'i', 'b', '-', 'g', 'd'});
  set16(icmp, 2, checksum(icmp, 0, icmp.size()));
  return ipv4(dst_mac, src_mac, src, dst, 1, icmp);
}

// A minimal DHCPDISCOVER (RFC 2131 §4.4.1, RFC 2132 options) from 0.0.0.0:68 to
// 255.255.255.255:67, broadcast flag set so that the OFFER comes back broadcast.
Bytes dhcp_discover(const Mac& mac, std::uint32_t xid) {
  Bytes bootp = {1, 1, 6, 0};
  put(bootp, {static_cast<std::uint8_t>(xid >> 24U), static_cast<std::uint8_t>(xid >> 16U),
              static_cast<std::uint8_t>(xid >> 8U), static_cast<std::uint8_t>(xid)});
  put(bootp, {0, 0, 0x80, 0x00});  // secs, flags: broadcast
  bootp.resize(bootp.size() + 16, 0);  // ciaddr, yiaddr, siaddr, giaddr
  put(bootp, mac);
  bootp.resize(bootp.size() + 10 + 64 + 128, 0);  // chaddr padding, sname, file
  put(bootp, {99, 130, 83, 99, 53, 1, 1, 255});    // magic cookie; option 53 = DISCOVER; end
  Bytes udp = {0, 68, 0, 67};
  put16(udp, 8 + bootp.size());
  put(udp, {0, 0});  // no UDP checksum (allowed over IPv4, RFC 768)
  udp.insert(udp.end(), bootp.begin(), bootp.end());
  return ipv4(k_broadcast, mac, {0, 0, 0, 0}, {255, 255, 255, 255}, 17, udp);
}

std::uint16_t be16(const Bytes& f, std::size_t at) {
  return static_cast<std::uint16_t>((f[at] << 8U) | f[at + 1]);
}
bool ipv4_at(const Bytes& f, std::size_t at, const Ipv4& address) {
  return f.size() >= at + 4 && std::memcmp(f.data() + at, address.data(), 4) == 0;
}

// Reads frames for up to `timeout`; returns the first one `match` accepts.
std::optional<Bytes> receive_matching(const FakeVmm& vm, const std::function<bool(const Bytes&)>& match,
                                      std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left <= 0ms) return std::nullopt;
    auto frame = vm.receive(left);
    if (!frame) return std::nullopt;
    if (match(*frame)) return frame;
  }
}

bool on_path(const char* tool) {
  for (const char* dir : {"/usr/sbin/", "/usr/bin/", "/sbin/", "/bin/"}) {
    if (::access((std::string(dir) + tool).c_str(), X_OK) == 0) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("a frame with another source MAC is dropped as spoofed_mac and never reaches the backend",
          "[integration][spoofing]") {
  TempDir dir;
  DaemonProcess daemon(dir.path());
  const auto started = daemon.ok("start", echo_start("vm1"));
  const std::string mac_text = started["mac"];
  const Mac mac = parse_mac(mac_text);
  const Mac other{0x02, 0x00, 0x00, 0x00, 0x00, 0x66};
  FakeVmm vm(dir.path() + "/vm1.local", started["socket"]);
  REQUIRE(eventually([&] { return daemon.ok("list")[0]["state"] == "running"; }));

  // Spoofed: another Ethernet source (three sizes; one claims the broadcast address as its
  // source), and an ARP whose Ethernet source is right but whose sender MAC is not.
  vm.send(make_frame("02:00:00:00:00:66", 60, 1));
  vm.send(make_frame("02:00:00:00:00:66", 1514, 2));
  vm.send(make_frame("ff:ff:ff:ff:ff:ff", 100, 3));
  vm.send(arp_request(mac, other, {10, 0, 0, 5}, {10, 0, 0, 1}));
  // Allowed: the attachment's MAC; IPv4 from any address (a userspace guest's address is not
  // known to the daemon); an ARP naming the attachment's MAC. Echoed in order.
  const auto good = make_frame(mac_text, 200, 4);
  const auto any_ipv4 = icmp_echo(k_broadcast, mac, {10, 99, 99, 99}, {10, 0, 0, 1}, 7);
  const auto good_arp = arp_request(mac, mac, {10, 0, 0, 5}, {10, 0, 0, 1});
  vm.send(good);
  vm.send(any_ipv4);
  vm.send(good_arp);

  // echo-peer returns every frame it gets, in order: the first three echoes must be exactly
  // the allowed frames, and nothing else may follow.
  for (const auto* expected : {&good, &any_ipv4, &good_arp}) {
    const auto echoed = vm.receive();
    REQUIRE(echoed.has_value());
    CHECK(*echoed == *expected);
  }
  CHECK_FALSE(vm.receive(300ms).has_value());

  const auto stats = stats_of(daemon, "vm1");
  CHECK(stats["drops"]["spoofed_mac"] == 4);
  CHECK(stats["drops"]["spoofed_ip"] == 0);
  CHECK(stats["dropped_total"] == 4);
  CHECK(stats["from_vm"]["frames"] == 3);
  CHECK(stats["to_vm"]["frames"] == 3);
}

TEST_CASE("host mode: IPv4 and ARP only from the guest's lease address reach the bridge",
          "[integration][spoofing][root]") {
  if (::geteuid() != 0 || !on_path("dnsmasq") || !on_path("nft")) {
    WARN("skipped: needs root, dnsmasq and nft");
    return;
  }
  TempDir dir;
  // dnsmasq reads its static leases under the run dir after dropping to nobody (as in
  // /run/squib-net, 0755).
  REQUIRE(::chmod(dir.path().c_str(), 0755) == 0);
  std::optional<DaemonProcess> daemon;
  {
    InNewNetns netns;
    daemon.emplace(dir.path());
    REQUIRE(netns.leave());
  }
  const auto started = daemon->ok("start", {{"name", "vm1"}, {"mode", "host"}});
  const std::string address_text = started["network"]["address"];
  const Ipv4 address = parse_ipv4(address_text);
  const Ipv4 gateway = parse_ipv4(started["network"]["gateway"]);
  // Another address in the subnet: never the guest's own or the gateway's.
  const Ipv4 stranger = parse_ipv4(address_text == "192.168.105.250" ? "192.168.105.251" : "192.168.105.250");
  const Mac mac = parse_mac(started["mac"]);
  FakeVmm vm(dir.path() + "/vm1.local", started["socket"]);
  REQUIRE(eventually([&] { return daemon->ok("list")[0]["state"] == "running"; }));

  const auto is_arp_reply_to = [&](const Ipv4& asker) {
    return [&, asker](const Bytes& f) {
      return f.size() >= 42 && be16(f, 12) == 0x0806 && be16(f, 20) == 2 && ipv4_at(f, 28, gateway) &&
             ipv4_at(f, 38, asker);
    };
  };
  const auto is_echo_reply_to = [&](const Ipv4& asker, unsigned id) {
    return [&, asker, id](const Bytes& f) {
      return f.size() >= 42 && be16(f, 12) == 0x0800 && f[23] == 1 && ipv4_at(f, 30, asker) && f[34] == 0 &&
             be16(f, 38) == id;
    };
  };
  // Anything the host would send back had it accepted a frame from `stranger`: an ARP reply
  // to it, an ARP request for it (to answer an echo), or an echo reply to it.
  const auto mentions_stranger = [&](const Bytes& f) {
    return (f.size() >= 42 && be16(f, 12) == 0x0806 && (ipv4_at(f, 28, stranger) || ipv4_at(f, 38, stranger))) ||
           (f.size() >= 34 && be16(f, 12) == 0x0800 && ipv4_at(f, 30, stranger));
  };

  SECTION("ARP and ICMP from the lease address are answered by the bridge") {
    vm.send(arp_request(mac, mac, address, gateway));
    const auto reply = receive_matching(vm, is_arp_reply_to(address), 5s);
    REQUIRE(reply.has_value());
    const Mac bridge_mac{(*reply)[22], (*reply)[23], (*reply)[24], (*reply)[25], (*reply)[26], (*reply)[27]};
    vm.send(icmp_echo(bridge_mac, mac, address, gateway, 0x5151));
    CHECK(receive_matching(vm, is_echo_reply_to(address, 0x5151), 5s).has_value());
    const auto stats = stats_of(*daemon, "vm1");
    CHECK(stats["drops"]["spoofed_ip"] == 0);
    CHECK(stats["from_vm"]["frames"] == 2);
  }
  SECTION("ARP and ICMP from another address, or naming the gateway, are dropped as spoofed_ip") {
    // Learn the bridge's MAC the honest way first, so that the spoofed echo is well addressed.
    vm.send(arp_request(mac, mac, address, gateway));
    const auto reply = receive_matching(vm, is_arp_reply_to(address), 5s);
    REQUIRE(reply.has_value());
    const Mac bridge_mac{(*reply)[22], (*reply)[23], (*reply)[24], (*reply)[25], (*reply)[26], (*reply)[27]};

    vm.send(arp_request(mac, mac, stranger, gateway));               // another sender address
    vm.send(arp_request(mac, mac, gateway, stranger));               // claims the gateway's address
    vm.send(icmp_echo(bridge_mac, mac, stranger, gateway, 0x6161));  // another source address
    vm.send(icmp_echo(bridge_mac, mac, gateway, gateway, 0x6262));   // the gateway's own address
    CHECK_FALSE(receive_matching(vm, mentions_stranger, 1500ms).has_value());
    const auto stats = stats_of(*daemon, "vm1");
    CHECK(stats["drops"]["spoofed_ip"] == 4);
    CHECK(stats["drops"]["spoofed_mac"] == 0);
    CHECK(stats["from_vm"]["frames"] == 1);  // only the honest ARP request
  }
  SECTION("DHCPDISCOVER from 0.0.0.0 passes and dnsmasq offers exactly the guarded address") {
    const auto is_offer = [&](const Bytes& f) {
      // UDP 67 → 68 (IHL 5), BOOTREPLY with our transaction id.
      return f.size() >= 14 + 20 + 8 + 20 && be16(f, 12) == 0x0800 && f[23] == 17 && be16(f, 34) == 67 &&
             be16(f, 36) == 68 && f[42] == 2 && f[46] == 0x5e && f[47] == 0x11 && f[48] == 0xde && f[49] == 0x1d;
    };
    std::optional<Bytes> offer;
    // dnsmasq starts with the network: retry the DISCOVER until it answers.
    for (int attempt = 0; attempt < 10 && !offer; ++attempt) {
      vm.send(dhcp_discover(mac, 0x5e11de1d));
      offer = receive_matching(vm, is_offer, 1s);
    }
    REQUIRE(offer.has_value());
    CHECK(ipv4_at(*offer, 42 + 16, address));  // yiaddr
    const auto stats = stats_of(*daemon, "vm1");
    CHECK(stats["drops"]["spoofed_ip"] == 0);
  }
  daemon.reset();  // SIGTERM: the daemon tears down; the namespace goes with its last process
}
