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
#include "support/packets.hpp"

using namespace squib::test;
using namespace std::chrono_literals;

namespace {

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
  start_in_new_netns(daemon, dir.path());
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
    return [&, asker](const Bytes& f) { return is_arp_reply(f, gateway, asker); };
  };
  const auto is_echo_reply_to = [&](const Ipv4& asker, unsigned id) {
    return [&, asker, id](const Bytes& f) { return is_echo_reply(f, gateway, asker, id); };
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

TEST_CASE("host mode: IPv6 only from the guest's own addresses, no rogue routers or DHCP servers",
          "[integration][spoofing][ipv6][root]") {
  if (::geteuid() != 0 || !on_path("dnsmasq") || !on_path("nft")) {
    WARN("skipped: needs root, dnsmasq and nft");
    return;
  }
  TempDir dir;
  REQUIRE(::chmod(dir.path().c_str(), 0755) == 0);
  std::optional<DaemonProcess> daemon;
  start_in_new_netns(daemon, dir.path());
  const auto started = daemon->ok("start", {{"name", "vm1"}, {"mode", "host"}});
  const Ipv4 address = parse_ipv4(started["network"]["address"]);
  const Mac mac = parse_mac(started["mac"]);
  const Ipv6 own = link_local_of(mac);
  // Another guest's link-local address and a network address that is not this guest's.
  const Ipv6 stranger = link_local_of({0x02, 0x00, 0x00, 0x00, 0x00, 0x66});
  const Ipv6 stranger_global = parse_ipv6("fd66::ff:fe00:66");
  FakeVmm vm(dir.path() + "/vm1.local", started["socket"]);
  REQUIRE(eventually([&] { return daemon->ok("list")[0]["state"] == "running"; }));

  // Bad frames, each with its reason: a router advertisement, DHCPv4 and DHCPv6 server
  // messages (all from the guest's own addresses), a neighbour advertisement claiming another
  // guest's address, echo requests from other addresses.
  vm.send(router_advertisement(mac, own));
  vm.send(dhcp_offer_from(mac, address));
  vm.send(dhcpv6_advertise(mac, own));
  vm.send(neighbour_advertisement(k_all_nodes_mac, mac, own, k_all_nodes, stranger));
  vm.send(icmpv6_echo(k_all_nodes_mac, mac, stranger, k_all_nodes, 0x6161));
  vm.send(icmpv6_echo(k_all_nodes_mac, mac, stranger_global, k_all_nodes, 0x6262));
  // Had the host accepted one of them it would answer (or first solicit) the stranger.
  const auto mentions_stranger = [&](const Bytes& f) {
    return f.size() >= 14 + 40 && be16(f, 12) == 0x86dd &&
           (ipv6_at(f, 14 + 24, stranger) || ipv6_at(f, 14 + 24, stranger_global) ||
            is_neighbour_solicitation(f, stranger) || is_neighbour_solicitation(f, stranger_global));
  };
  CHECK_FALSE(receive_matching(vm, mentions_stranger, 1500ms).has_value());
  auto stats = stats_of(*daemon, "vm1");
  INFO(stats.dump());
  CHECK(stats["drops"]["router_advertisement"] == 1);
  CHECK(stats["drops"]["dhcp_server"] == 2);
  CHECK(stats["drops"]["spoofed_ip"] == 3);
  CHECK(stats["drops"]["spoofed_mac"] == 0);
  CHECK(stats["from_vm"]["frames"] == 0);

  // Normal IPv6 from the guest's link-local address passes: the host answers an echo request
  // (after soliciting the guest, whose NA for its own address passes too).
  CHECK(ipv6_echo_answered(vm, mac, own, 0x6363, 10s));
  stats = stats_of(*daemon, "vm1");
  CHECK(stats["drops"]["spoofed_ip"] == 3);
  CHECK(stats["from_vm"]["frames"].get<std::uint64_t>() >= 1);
  daemon.reset();
}

TEST_CASE("host mode, guard mac: any IP source passes, rogue routers and DHCP servers still do not",
          "[integration][spoofing][ipv6][root]") {
  if (::geteuid() != 0 || !on_path("dnsmasq") || !on_path("nft")) {
    WARN("skipped: needs root, dnsmasq and nft");
    return;
  }
  TempDir dir;
  REQUIRE(::chmod(dir.path().c_str(), 0755) == 0);
  std::optional<DaemonProcess> daemon;
  start_in_new_netns(daemon, dir.path());
  const auto started = daemon->ok("start", {{"name", "vm1"}, {"mode", "host"}, {"guard", "mac"}});
  const Ipv4 address = parse_ipv4(started["network"]["address"]);
  const Mac mac = parse_mac(started["mac"]);
  const Ipv6 own = link_local_of(mac);
  const Ipv6 other = link_local_of({0x02, 0x00, 0x00, 0x00, 0x00, 0x66});
  FakeVmm vm(dir.path() + "/vm1.local", started["socket"]);
  REQUIRE(eventually([&] { return daemon->ok("list")[0]["state"] == "running"; }));

  vm.send(router_advertisement(mac, own));
  vm.send(dhcp_offer_from(mac, address));
  vm.send(dhcpv6_advertise(mac, other));
  // Another sender MAC in an ARP: MACs are still checked.
  vm.send(arp_request(mac, {0x02, 0x00, 0x00, 0x00, 0x00, 0x66}, {192, 168, 105, 250}, {192, 168, 105, 1}));
  // Another address is this guest's to use now: the host answers it.
  CHECK(ipv6_echo_answered(vm, mac, other, 0x7171, 10s));
  const auto stats = stats_of(*daemon, "vm1");
  INFO(stats.dump());
  CHECK(stats["drops"]["router_advertisement"] == 1);
  CHECK(stats["drops"]["dhcp_server"] == 2);
  CHECK(stats["drops"]["spoofed_mac"] == 1);
  CHECK(stats["drops"]["spoofed_ip"] == 0);
  daemon.reset();
}
