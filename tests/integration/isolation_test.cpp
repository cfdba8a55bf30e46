// Isolation semantics (proto/control-protocol.md "Isolation", platform/linux/tap_policy.hpp):
// an isolated attachment exchanges frames only with the gateway, never with another VM of its
// network, isolated or not — here for relayed TAPs, whose isolation is the same nft chain as
// a handed-off TAP's, counted as `isolated`. Frames go through FakeVmm (the per-VM socket).
// Network safety: the daemon runs in a network namespace this test creates (unshare); the
// addresses are those of the network it makes there (192.168.105.0/24).

#include <sys/stat.h>
#include <unistd.h>

#include <optional>
#include <string>

#include <squib/core/ipv6_prefix.hpp>
#include <squib/core/mac_address.hpp>

#include "support/catch.hpp"
#include "support/daemon_process.hpp"
#include "support/netns.hpp"
#include "support/packets.hpp"

using namespace squib::test;
using namespace std::chrono_literals;

namespace {

// An IPv6 UDP datagram (RFC 8200 header, RFC 768 header, 4 bytes of data) between the
// link-local addresses of two MACs (RFC 4291 §2.5.6 EUI-64, as the guests' kernels make them).
Bytes ipv6_udp(const Mac& dst_mac, const Mac& src_mac, const std::string& src_text, const std::string& dst_text) {
  const auto src = squib::core::link_local_for(squib::core::MacAddress::parse(src_text).value());
  const auto dst = squib::core::link_local_for(squib::core::MacAddress::parse(dst_text).value());
  Bytes frame = ethernet(dst_mac, src_mac, 0x86dd);
  put(frame, {0x60, 0x00, 0x00, 0x00});  // version 6, no traffic class or flow label
  put16(frame, 12);                      // payload length: UDP header + 4 bytes
  put(frame, {17, 64});                  // next header UDP, hop limit 64
  put(frame, src);
  put(frame, dst);
  put16(frame, 40000);  // source port
  put16(frame, 40001);  // destination port
  put16(frame, 12);     // length
  put16(frame, 0);      // checksum: not checked by a bridge
  put(frame, {'i', 's', 'o', '6'});
  return frame;
}

}  // namespace

TEST_CASE("isolation: a relayed isolated VM reaches the gateway but no other VM, IPv4 and IPv6, counted",
          "[integration][isolation]") {
  TempDir dir;
  REQUIRE(::chmod(dir.path().c_str(), 0755) == 0);  // dnsmasq (nobody) reads its files here
  std::optional<DaemonProcess> daemon;
  start_in_new_netns(daemon, dir.path());
  const auto in_netns = [&](const std::string& command) { return run_in_netns_of(*daemon, command); };

  struct Vm {
    std::string name;
    std::string mac_text;
    Mac mac{};
    Ipv4 ip{};
    std::optional<FakeVmm> vmm;
  };
  Vm a{"iso", {}, {}, {}, {}};
  Vm b{"open", {}, {}, {}, {}};
  Ipv4 gateway{};
  for (Vm* vm : {&a, &b}) {
    const auto started = daemon->ok("start", {{"name", vm->name}, {"mode", "host"}, {"isolation", vm == &a}});
    vm->mac_text = started["mac"];
    vm->mac = parse_mac(vm->mac_text);
    vm->ip = parse_ipv4(started["network"]["address"]);
    gateway = parse_ipv4(started["network"]["gateway"]);
    vm->vmm.emplace(dir.path() + "/" + vm->name + ".local", started["socket"]);
    vm->vmm->send(Bytes{0x00, 0x01});  // a runt: the daemon learns where the VM is
    const std::string name = vm->name;
    CHECK(eventually([&] { return stats_of(*daemon, name)["drops"]["runt"] == 1; }));
    const std::string tap = started["network"]["tap"];
    // The bridge drops a port's frames until it has seen its carrier (link watch, ≤ 1 s).
    CHECK(eventually(
        [&] { return in_netns("bridge link show dev " + tap).output.find("state forwarding") != std::string::npos; },
        10s));
  }
  // The relayed TAP's isolation is the nft chain, not the bridge port flag.
  const auto table = in_netns("nft list tables bridge");
  INFO(table.output);
  CHECK(table.output.find("table bridge squib_tap_") != std::string::npos);

  // Both reach the gateway: ARP for it is answered, and so is a ping.
  for (Vm* vm : {&a, &b}) {
    vm->vmm->send(arp_request(vm->mac, vm->mac, vm->ip, gateway));
    const auto arp = receive_matching(
        *vm->vmm, [&](const Bytes& f) { return is_arp_reply(f, gateway, vm->ip); }, 5s);
    CHECK(arp.has_value());
    const Mac bridge_mac = arp ? Mac{(*arp)[6], (*arp)[7], (*arp)[8], (*arp)[9], (*arp)[10], (*arp)[11]} : Mac{};
    vm->vmm->send(icmp_echo(bridge_mac, vm->mac, vm->ip, gateway, 7));
    CHECK(receive_matching(
        *vm->vmm, [&](const Bytes& f) { return is_echo_reply(f, gateway, vm->ip, 7); }, 5s));
  }

  // Nothing between a and b, either way, IPv4 or IPv6, unicast or broadcast; each frame is
  // dropped on the bridge and counted as `isolated` on a (the event the test waits for; the
  // counter is read once a second). The two ARP broadcasts above were already: each reached
  // the gateway and was stopped on its way to the other VM.
  const auto isolated = [&] { return stats_of(*daemon, "iso")["drops"]["isolated"].get<std::uint64_t>(); };
  CHECK(eventually([&] { return isolated() == 2; }));
  const Bytes a_to_b_v4 = icmp_echo(b.mac, a.mac, a.ip, b.ip, 8);
  const Bytes a_to_b_v6 = ipv6_udp(b.mac, a.mac, a.mac_text, b.mac_text);
  const Bytes b_to_a_v4 = icmp_echo(a.mac, b.mac, b.ip, a.ip, 9);
  const Bytes b_to_a_v6 = ipv6_udp(a.mac, b.mac, b.mac_text, a.mac_text);
  const Bytes b_to_a_arp = arp_request(b.mac, b.mac, b.ip, a.ip);  // broadcast: the gateway gets it, a not
  a.vmm->send(a_to_b_v4);
  a.vmm->send(a_to_b_v6);
  CHECK(eventually([&] { return isolated() == 4; }));
  b.vmm->send(b_to_a_v4);
  b.vmm->send(b_to_a_v6);
  CHECK(eventually([&] { return isolated() == 6; }));
  b.vmm->send(b_to_a_arp);
  CHECK(eventually([&] { return isolated() == 7; }));
  // Dropped in the kernel before the frames' TAPs: none is on its way to a VM socket.
  CHECK_FALSE(receive_matching(
      *b.vmm, [&](const Bytes& f) { return f == a_to_b_v4 || f == a_to_b_v6; }, 200ms));
  CHECK_FALSE(receive_matching(
      *a.vmm, [&](const Bytes& f) { return f == b_to_a_v4 || f == b_to_a_v6 || f == b_to_a_arp; }, 200ms));

  // Stopping the isolated attachment removes its table.
  daemon->ok("stop", {{"name", "iso"}});
  CHECK(eventually([&] { return in_netns("nft list tables bridge").output.find("squib_tap_") == std::string::npos; }));
}
