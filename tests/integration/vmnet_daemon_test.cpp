// The real squib-netd with macOS's kernel modes (platform/darwin/vmnet_kernel_modes.cpp,
// backend/vmnet) and the portable syscall layer, through its control socket and VM sockets:
// - on Linux, the SQUIB_VMNET_FAKE build: vmnet is the contract fake (tests/vmnet/fake, the
//   one test double), which models vmnet networks (switching, isolation, a gateway that
//   answers ARP and ping);
// - on a Mac, as root, vmnet.framework itself (.github/workflows/macos.yml), so that where
//   the fake and the framework differ, these tests show it. Values only the fake can promise
//   (vmnet's default subnet when it is free, the capabilities of the SDK it plays) are
//   checked exactly on the fake and for consistency on a Mac.
// Network safety: the addresses used exist only on vmnet's own (host-side) networks.

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "support/catch.hpp"
#include "support/daemon_process.hpp"
#include "support/packets.hpp"

using namespace squib::test;
using namespace std::chrono_literals;

namespace {

// The SQUIB_VMNET_FAKE build runs on Linux; vmnet.framework only on macOS.
bool on_contract_fake(const json& status) { return status["kernel"]["os"].get<std::string>().starts_with("Linux "); }

}  // namespace

TEST_CASE("vmnet daemon: shared attachments share a vmnet network with the addressing vmnet is given",
          "[integration][vmnet-fake]") {
  TempDir dir;
  DaemonProcess daemon(dir.path());
  const auto a = daemon.ok("start", {{"name", "a"}, {"mode", "shared"}, {"subnet", "192.168.105.0/24"}});
  INFO(a.dump());
  // vmnet.h: vmnet_start_address_key is the gateway; start+1 … end is the DHCP pool.
  CHECK(a["network"]["subnet"] == "192.168.105.0/24");
  CHECK(a["network"]["gateway"] == "192.168.105.1");
  CHECK(a["network"]["dhcp_range"] == "192.168.105.2-192.168.105.254");
  CHECK(a["socket"] == daemon.run_dir() + "/a.sock");
  // What vmnet reported back in its start completion, not what was asked.
  CHECK(a["mtu"] == 1500);
  CHECK(a["max_packet_size"] == 1514);
  const auto b = daemon.ok("start", {{"name", "b"}, {"mode", "shared"}});  // joins "default"
  CHECK(b["network"]["gateway"] == "192.168.105.1");

  const auto networks = daemon.ok("status")["networks"];
  REQUIRE(networks.size() == 1);
  CHECK(networks[0]["name"] == "default");
  CHECK(networks[0]["backend"] == "vmnet");
  CHECK(networks[0]["attachments"] == 2);
  for (const auto& entry : daemon.ok("list")) CHECK(entry["state"] == "running");

  const auto refused = daemon.call("start", {{"name", "c"}, {"mode", "host"}});
  CHECK(refused.error_code == -32602);
  CHECK(refused.error_message.starts_with("mode: network 'default' is a shared network"));
  const auto other_subnet = daemon.call("start", {{"name", "d"}, {"mode", "shared"}, {"subnet", "192.168.106.0/24"}});
  CHECK(other_subnet.error_code == -32602);
  CHECK(other_subnet.error_message == "subnet: network 'default' already uses 192.168.105.0/24");

  daemon.ok("stop", {{"name", "a"}});
  daemon.ok("stop", {{"name", "b"}});
  REQUIRE(eventually([&] { return daemon.ok("status")["networks"].empty(); }));
}

TEST_CASE("vmnet daemon: frames from the VM are written to vmnet, counted exactly", "[integration][vmnet-fake]") {
  TempDir dir;
  DaemonProcess daemon(dir.path());
  const auto started = daemon.ok("start", {{"name", "vm1"}, {"mode", "host"}, {"network", "lab"}});
  FakeVmm vm(dir.path() + "/vm1.local", started["socket"]);
  for (std::uint8_t i = 0; i < 10; ++i) vm.send(make_frame(started["mac"], 100 + i, i));
  REQUIRE(eventually([&] { return stats_of(daemon, "vm1")["from_vm"]["frames"] == 10; }));
  const auto stats = stats_of(daemon, "vm1");
  CHECK(stats["from_vm"]["bytes"] == 10 * 100 + 45);  // 100 … 109 bytes
  CHECK(stats["dropped_total"] == 0);
}

TEST_CASE("vmnet daemon: a bridged attachment names the host interface it bridges to", "[integration][vmnet-fake]") {
  TempDir dir;
  DaemonProcess daemon(dir.path());
  const auto started = daemon.ok("start", {{"name", "br"}, {"mode", "bridged"}, {"bridge", "en0"}});
  CHECK(started["network"]["bridge"] == "en0");
  CHECK(daemon.ok("list")[0]["state"] == "running");
}

TEST_CASE("vmnet daemon: without a subnet the result and status report the one vmnet chose",
          "[integration][vmnet-fake]") {
  TempDir dir;
  DaemonProcess daemon(dir.path());
  const auto shared = daemon.ok("start", {{"name", "s"}, {"mode", "shared"}});
  const auto host = daemon.ok("start", {{"name", "h"}, {"mode", "host"}, {"network", "lab"}});
  const auto status = daemon.ok("status");
  INFO(shared.dump() << "\n" << host.dump() << "\n" << status.dump());
  // The result and status agree on what vmnet serves, whatever it chose.
  REQUIRE(status["networks"].size() == 2);
  CHECK(status["networks"][0]["name"] == "default");
  CHECK(status["networks"][0]["subnet"] == shared["network"]["subnet"]);
  CHECK(status["networks"][0]["gateway"] == shared["network"]["gateway"]);
  CHECK(status["networks"][1]["subnet"] == host["network"]["subnet"]);
  CHECK(shared["mtu"] == 1500);
  // A later attachment asking for vmnet's choice explicitly is on the same network.
  daemon.ok("start", {{"name", "s2"}, {"mode", "shared"}, {"subnet", shared["network"]["subnet"]}});

  const auto& kernel = status["kernel"];
  CHECK(kernel["backend"] == "vmnet");
  for (const char* feature : {"isolation", "bridged", "tso", "checksum_offload", "virtio_header", "network_objects"}) {
    INFO(feature);
    CHECK(kernel["capabilities"][feature].is_boolean());
  }
  if (on_contract_fake(status)) {
    // vmnet's defaults (vmnet-helper docs/integration.md), which the daemon did not ask for:
    // shared 192.168.64.0/24, host 192.168.128.0/24 (a Mac picks the next free one if taken).
    CHECK(shared["network"]["subnet"] == "192.168.64.0/24");
    CHECK(shared["network"]["gateway"] == "192.168.64.1");
    CHECK(shared["network"]["dhcp_range"] == "192.168.64.2-192.168.64.254");
    CHECK(host["network"]["subnet"] == "192.168.128.0/24");
    CHECK(status["networks"][0]["dhcp_range"] == "192.168.64.2-192.168.64.254");
    // The fake plays the newest SDK before macOS 26's network objects.
    CHECK(kernel["capabilities"]["tso"] == true);
    CHECK(kernel["capabilities"]["checksum_offload"] == true);
    CHECK(kernel["capabilities"]["virtio_header"] == true);
    CHECK(kernel["capabilities"]["network_objects"] == false);
  } else {
    CHECK(kernel["os"].get<std::string>().starts_with("macOS "));
    CHECK(kernel["capabilities"]["isolation"] == true);  // every macOS the project supports (11+)
  }
}

TEST_CASE("vmnet daemon: two VMs on one shared network reach each other by MAC and the gateway answers ARP and ping",
          "[integration][vmnet-fake]") {
  TempDir dir;
  DaemonProcess daemon(dir.path());
  const auto a = daemon.ok("start", {{"name", "a"}, {"mode", "shared"}, {"subnet", "192.168.105.0/24"}});
  const auto b = daemon.ok("start", {{"name", "b"}, {"mode", "shared"}});
  FakeVmm vm_a(dir.path() + "/a.local", a["socket"]);
  FakeVmm vm_b(dir.path() + "/b.local", b["socket"]);
  const Mac mac_a = parse_mac(a["mac"]);
  const Mac mac_b = parse_mac(b["mac"]);
  const Ipv4 gateway = parse_ipv4(a["network"]["gateway"]);
  const Ipv4 address_a{192, 168, 105, 10};
  const Ipv4 address_b{192, 168, 105, 11};

  // b asks who has the gateway and gets the answer. (A VM's socket address is learned from
  // its first datagram, design brief §2: until then frames for it are dropped as no_peer.)
  vm_b.send(arp_request(mac_b, mac_b, address_b, gateway));
  REQUIRE(receive_matching(
      vm_b, [&](const Bytes& f) { return is_arp_reply(f, gateway, address_b); }, 5s));

  // a asks too: the gateway answers a, and a's broadcast reaches b.
  const Bytes a_asks = arp_request(mac_a, mac_a, address_a, gateway);
  vm_a.send(a_asks);
  const auto arp_reply = receive_matching(
      vm_a, [&](const Bytes& f) { return is_arp_reply(f, gateway, address_a); }, 5s);
  REQUIRE(arp_reply);
  CHECK(std::equal(mac_a.begin(), mac_a.end(), arp_reply->begin()));  // sent to a
  const Mac gateway_mac{(*arp_reply)[6], (*arp_reply)[7],  (*arp_reply)[8],
                        (*arp_reply)[9], (*arp_reply)[10], (*arp_reply)[11]};
  CHECK(std::equal(gateway_mac.begin(), gateway_mac.end(), arp_reply->begin() + 22));  // "gateway is at"
  const auto flooded = vm_b.receive();
  REQUIRE(flooded);
  CHECK(*flooded == a_asks);

  // a pings the gateway.
  vm_a.send(icmp_echo(gateway_mac, mac_a, address_a, gateway, 0x5151));
  CHECK(receive_matching(
      vm_a, [&](const Bytes& f) { return is_echo_reply(f, gateway, address_a, 0x5151); }, 5s));

  // The network learned b's MAC from b's ARP: a frame from a to it arrives at b byte for byte.
  Bytes to_b = ethernet(mac_b, mac_a, 0x88b5);
  for (std::uint8_t i = 0; i < 100; ++i) to_b.push_back(i);
  vm_a.send(to_b);
  const auto at_b = vm_b.receive();
  REQUIRE(at_b);
  CHECK(*at_b == to_b);

  // Counted exactly: a sent 3 frames; b got its ARP reply, a's ARP and a's frame.
  REQUIRE(eventually([&] { return stats_of(daemon, "b")["to_vm"]["frames"] == 3; }));
  CHECK(stats_of(daemon, "b")["dropped_total"] == 0);
  CHECK(stats_of(daemon, "a")["from_vm"]["frames"] == 3);
}

TEST_CASE("vmnet daemon: isolated VMs on one network do not see each other's frames", "[integration][vmnet-fake]") {
  TempDir dir;
  DaemonProcess daemon(dir.path());
  const json isolated = {{"mode", "shared"}, {"network", "iso"}, {"isolation", true}};
  json params_c = isolated;
  params_c["name"] = "c";
  json params_d = isolated;
  params_d["name"] = "d";
  const auto c = daemon.ok("start", params_c);
  const auto d = daemon.ok("start", params_d);
  FakeVmm vm_c(dir.path() + "/c.local", c["socket"]);
  FakeVmm vm_d(dir.path() + "/d.local", d["socket"]);
  const Mac mac_c = parse_mac(c["mac"]);
  const Mac mac_d = parse_mac(d["mac"]);
  const Ipv4 gateway = parse_ipv4(c["network"]["gateway"]);

  // d speaks first, so that frames for it would be delivered (its socket address is known)
  // and the network knows its MAC.
  const Ipv4 address_d{192, 168, 64, 21};
  vm_d.send(arp_request(mac_d, mac_d, address_d, gateway));
  REQUIRE(receive_matching(
      vm_d, [&](const Bytes& f) { return is_arp_reply(f, gateway, address_d); }, 5s));

  // c sends to d's MAC and broadcasts an ARP for the gateway; only the gateway answers c.
  Bytes to_d = ethernet(mac_d, mac_c, 0x88b5);
  to_d.resize(64, 0x42);
  vm_c.send(to_d);
  vm_c.send(arp_request(mac_c, mac_c, {192, 168, 64, 20}, gateway));
  REQUIRE(receive_matching(
      vm_c,
      [&](const Bytes& f) {
        return is_arp_reply(f, gateway, {192, 168, 64, 20});
      },
      5s));
  // vmnet handles writes in order, so had c's frames reached d they would be queued ahead of
  // the reply to d's second ARP: the next frame d sees is that reply.
  vm_d.send(arp_request(mac_d, mac_d, address_d, gateway));
  const auto next = vm_d.receive();
  REQUIRE(next);
  CHECK(is_arp_reply(*next, gateway, address_d));
  CHECK(stats_of(daemon, "d")["to_vm"]["frames"] == 2);
}

TEST_CASE("vmnet daemon: declared networks are recorded specs that later starts take, vmnet's own fields refused",
          "[integration][vmnet-fake]") {
  TempDir dir;
  DaemonProcess daemon(dir.path());
  const auto created = daemon.ok("network.create", {{"name", "lab"}, {"mode", "host"}, {"subnet", "192.168.110.0/24"}});
  CHECK(created["state"] == "ready");
  CHECK(created["origin"] == "api");
  CHECK(created["attachment_count"] == 0);
  CHECK(created["subnet"] == "192.168.110.0/24");
  for (const auto& [field, value] : std::vector<std::pair<std::string, json>>{
           {"mtu", 1400},
           {"dhcp", false},
           {"uplink", {{"vxlan", {{"vni", 1}, {"local", "10.0.0.1"}, {"remotes", {"10.0.0.2"}}}}}}}) {
    const auto refused = daemon.call("network.create", {{"name", "other"}, {field, value}});
    CHECK(refused.error_code == -32602);
    CHECK(refused.error_message == "invalid params: " + field + ": not supported by vmnet");
  }
  const auto range = daemon.call("network.create", {{"name", "other"}, {"dhcp", {{"range", "10.1.0.5-10.1.0.9"}}}});
  CHECK(range.error_message == "invalid params: dhcp.range: not supported by vmnet");

  // A start on it takes its mode and subnet.
  const auto a = daemon.ok("start", {{"name", "a"}, {"mode", "host"}, {"network", "lab"}});
  CHECK(a["network"]["subnet"] == "192.168.110.0/24");
  CHECK(daemon.call("start", {{"name", "b"}, {"mode", "shared"}, {"network", "lab"}}).error_code == -32602);
  CHECK(daemon.ok("network.list")[0]["attachments"] == json::array({"a"}));
  CHECK(daemon.call("network.delete", {{"name", "lab"}}).error_code == -32008);
  daemon.ok("stop", {{"name", "a"}});
  // Still there with no attachments (once a's backend is done), until deleted.
  CHECK(eventually([&] { return daemon.ok("network.list")[0]["attachment_count"] == 0; }));
  CHECK(daemon.ok("network.delete", {{"name", "lab"}})["name"] == "lab");
  CHECK(daemon.ok("network.list") == json::array());
}
