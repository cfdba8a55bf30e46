// Offload mode (start's `offload`, core/vnet_header.hpp, proto/control-protocol.md "Offload
// mode"): the VM socket carries plain Ethernet frames of up to 65550 bytes whose TCP/UDP
// checksums may be partial (what krunkit `offloading=on` and vmnet-helper's TSO + checksum
// offload exchange), and the daemon passes them through TAPs with IFF_VNET_HDR +
// TUNSETOFFLOAD. Proven here with real TAPs on the daemon's bridge: a 64 KiB TCP/IPv4
// super-frame from one offload VM reaches another offload VM as ONE datagram (the kernel
// never segments it), its checksum completed; to a plain VM the kernel segments it into
// MTU-sized frames with valid checksums; headers that lie are counted `bad_vnet_hdr`, and
// a non-TCP frame over the MTU `oversize`.
// Network safety: the daemon runs in a network namespace this test creates; the addresses
// are those of the host network it makes there.

#include <sys/stat.h>

#include <optional>
#include <string>

#include "support/catch.hpp"
#include "support/daemon_process.hpp"
#include "support/netns.hpp"
#include "support/packets.hpp"

using namespace squib::test;
using namespace std::chrono_literals;

namespace {

constexpr std::size_t k_payload = 64000;  // + 54 bytes of headers: one 64 KiB super-frame
constexpr std::size_t k_mss = 1500 - 20 - 20;

// RFC 9293 §3.1 checksum over the IPv4 pseudo-header and the TCP segment at 34 (IHL 5), with
// the checksum field taken as zero.
std::uint16_t tcp_checksum(const Bytes& f) {
  std::uint64_t sum = 0;
  for (std::size_t i = 26; i < 34; i += 2) sum += be16(f, i);
  sum += 6;
  sum += f.size() - 34;
  for (std::size_t i = 34; i + 1 < f.size(); i += 2) sum += i == 50 ? 0U : static_cast<unsigned>(be16(f, i));
  if ((f.size() - 34) % 2 != 0) sum += static_cast<std::uint64_t>(f.back()) << 8U;
  while ((sum >> 16U) != 0) sum = (sum & 0xffffU) + (sum >> 16U);
  return static_cast<std::uint16_t>(~sum & 0xffffU);
}

// A TCP/IPv4 segment (ACK|PSH, data offset 5) of `payload` counting bytes from src to dst,
// whose checksum field holds the pseudo-header sum only — what a guest's NEEDS_CSUM
// super-frame carries once krunkit has dropped the virtio-net header.
Bytes tcp_super_frame(const Mac& dst_mac, const Mac& src_mac, const Ipv4& src, const Ipv4& dst, std::size_t payload) {
  Bytes tcp;
  put16(tcp, 40000);  // source port
  put16(tcp, 5201);   // destination port
  put(tcp, {0, 0, 0, 1, 0, 0, 0, 0});
  put(tcp, {0x50, 0x18});  // data offset 5, ACK|PSH
  put16(tcp, 65535);       // window
  put16(tcp, 0);           // checksum (set below)
  put16(tcp, 0);           // urgent pointer
  for (std::size_t i = 0; i < payload; ++i) tcp.push_back(static_cast<std::uint8_t>((i * 7U) & 0xffU));
  Bytes frame = ipv4(dst_mac, src_mac, src, dst, 6, tcp);
  std::uint64_t pseudo = 0;
  for (std::size_t i = 26; i < 34; i += 2) pseudo += be16(frame, i);
  pseudo += 6 + tcp.size();
  while ((pseudo >> 16U) != 0) pseudo = (pseudo & 0xffffU) + (pseudo >> 16U);
  set16(frame, 50, static_cast<std::uint16_t>(pseudo));
  return frame;
}

struct Vm {
  std::string name;
  bool offload = false;
  Mac mac{};
  Ipv4 ip{};
  std::optional<FakeVmm> vmm;
};

}  // namespace

TEST_CASE("offload: start refuses offload where the relay cannot carry it", "[integration][offload]") {
  TempDir dir;
  DaemonProcess daemon(dir.path());
  const auto userspace = daemon.call("start", {{"name", "u"}, {"mode", "userspace"}, {"offload", true}});
  REQUIRE_FALSE(userspace.ok());
  CHECK(userspace.error_code == -32602);
  CHECK(userspace.error_message.find("offload") != std::string::npos);
  const auto handoff = daemon.call("start", {{"name", "h"}, {"mode", "host"}, {"handoff", "tap"}, {"offload", true}});
  REQUIRE_FALSE(handoff.ok());
  CHECK(handoff.error_code == -32602);
  CHECK(handoff.error_message.find("offload") != std::string::npos);
  const auto typed = daemon.call("start", {{"name", "t"}, {"mode", "host"}, {"offload", "yes"}});
  REQUIRE_FALSE(typed.ok());
  CHECK(typed.error_code == -32602);
}

TEST_CASE("offload: a 64 KiB TCP super-frame crosses the bridge whole to an offload VM, segmented to a plain one",
          "[integration][offload]") {
  TempDir dir;
  REQUIRE(::chmod(dir.path().c_str(), 0755) == 0);  // dnsmasq (nobody) reads its files here
  std::optional<DaemonProcess> daemon;
  start_in_new_netns(daemon, dir.path());
  const auto in_netns = [&](const std::string& command) { return run_in_netns_of(*daemon, command); };

  Vm a{"off-a", true, {}, {}, {}};
  Vm b{"off-b", true, {}, {}, {}};
  Vm c{"plain-c", false, {}, {}, {}};
  for (Vm* vm : {&a, &b, &c}) {
    json params = {{"name", vm->name}, {"mode", "host"}};
    if (vm->offload) params["offload"] = true;
    const auto started = daemon->ok("start", params);
    if (vm->offload) {
      CHECK(started["offload"] == true);
      CHECK(started["max_packet_size"] == 65550);
    } else {
      CHECK_FALSE(started.contains("offload"));
    }
    vm->mac = parse_mac(started["mac"]);
    vm->ip = parse_ipv4(started["network"]["address"]);
    vm->vmm.emplace(dir.path() + "/" + vm->name + ".local", started["socket"]);
    const std::string tap = started["network"]["tap"];
    CHECK(eventually(
        [&] { return in_netns("bridge link show dev " + tap).output.find("state forwarding") != std::string::npos; },
        10s));
  }
  // Each VM announces itself (RFC 5227 ARP probe-style request for its own address): the
  // daemon learns its socket, the bridge its port. The broadcasts are drained.
  for (Vm* vm : {&a, &b, &c}) vm->vmm->send(arp_request(vm->mac, vm->mac, vm->ip, vm->ip));
  for (Vm* vm : {&a, &b, &c}) {
    const std::string name = vm->name;
    CHECK(eventually([&] { return stats_of(*daemon, name)["from_vm"]["frames"] == 1; }));
  }
  for (Vm* vm : {&a, &b, &c}) {
    while (vm->vmm->receive(300ms)) {
    }
  }
  // The test's TCP frames (to port 5201); anything else (the network's RAs, ARPs) is not.
  const auto is_ours = [](const Bytes& f) { return f.size() > 37 && f[23] == 6 && be16(f, 36) == 5201; };

  SECTION("A → B: one datagram, the same bytes with the TCP checksum completed") {
    const Bytes sent = tcp_super_frame(b.mac, a.mac, a.ip, b.ip, k_payload);
    REQUIRE(sent.size() == 14 + 20 + 20 + k_payload);
    a.vmm->send(sent);
    const auto got = receive_matching(*b.vmm, is_ours, 5s);
    REQUIRE(got.has_value());
    Bytes expected = sent;
    set16(expected, 50, tcp_checksum(sent));
    CHECK(got->size() == expected.size());
    CHECK(*got == expected);
    // The bridge knows B: nothing of it flooded to C (C still gets the network's RAs and ARPs).
    CHECK_FALSE(receive_matching(*c.vmm, is_ours, 300ms).has_value());
    const auto stats_a = stats_of(*daemon, "off-a");
    CHECK(stats_a["drops"]["bad_vnet_hdr"] == 0);
    CHECK(stats_a["drops"]["oversize"] == 0);
  }

  SECTION("A → C (plain): the kernel segments it into MTU-sized frames with valid checksums") {
    const Bytes sent = tcp_super_frame(c.mac, a.mac, a.ip, c.ip, k_payload);
    a.vmm->send(sent);
    Bytes payload;
    std::size_t segments = 0;
    while (payload.size() < k_payload) {
      const auto got = receive_matching(*c.vmm, is_ours, 5s);
      REQUIRE(got.has_value());
      ++segments;
      CHECK(got->size() <= 1514);
      CHECK(be16(*got, 50) == tcp_checksum(*got));
      payload.insert(payload.end(), got->begin() + 54, got->end());
    }
    CHECK(segments == (k_payload + k_mss - 1) / k_mss);
    const Bytes original(sent.begin() + 54, sent.end());
    CHECK(payload == original);
  }

  SECTION("headers that lie are bad_vnet_hdr; a non-TCP frame over the MTU is oversize") {
    Bytes lying = tcp_super_frame(b.mac, a.mac, a.ip, b.ip, 3000);
    set16(lying, 16, 60000);  // IPv4 total length past the frame
    a.vmm->send(lying);
    CHECK(eventually([&] { return stats_of(*daemon, "off-a")["drops"]["bad_vnet_hdr"] == 1; }));
    Bytes big = ethernet(b.mac, a.mac, 0x88b5);
    big.resize(3000, 0xab);
    a.vmm->send(big);
    CHECK(eventually([&] { return stats_of(*daemon, "off-a")["drops"]["oversize"] == 1; }));
    // A plain attachment keeps its MTU-sized socket: a super-frame is oversize there.
    c.vmm->send(tcp_super_frame(a.mac, c.mac, c.ip, a.ip, 3000));
    CHECK(eventually([&] { return stats_of(*daemon, "plain-c")["drops"]["oversize"] == 1; }));
    CHECK_FALSE(receive_matching(*b.vmm, is_ours, 300ms).has_value());
  }
}
