// The SQUIB_VMNET_FAKE build only: the real squib-netd with macOS's kernel modes
// (platform/darwin/vmnet_kernel_modes.cpp, backend/vmnet) running on the vmnet contract fake
// (tests/vmnet/fake, the one test double), and the portable syscall layer. What a Mac would
// run, minus vmnet.framework itself: control methods, addressing, the data path into vmnet.

#include <string>

#include "support/catch.hpp"
#include "support/daemon_process.hpp"

using namespace squib::test;
using namespace std::chrono_literals;

TEST_CASE("vmnet fake: shared attachments share a vmnet network with the addressing vmnet is given",
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

TEST_CASE("vmnet fake: frames from the VM are written to vmnet, counted exactly", "[integration][vmnet-fake]") {
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

TEST_CASE("vmnet fake: a bridged attachment names the host interface it bridges to", "[integration][vmnet-fake]") {
  TempDir dir;
  DaemonProcess daemon(dir.path());
  const auto started = daemon.ok("start", {{"name", "br"}, {"mode", "bridged"}, {"bridge", "en0"}});
  CHECK(started["network"]["bridge"] == "en0");
  CHECK(daemon.ok("list")[0]["state"] == "running");
}
