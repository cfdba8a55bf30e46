// The MAC table of our bridges (platform/linux/vm_bridge_port.hpp): every VM port has a
// static FDB entry for its VM's MAC, learning off and unknown-unicast flooding off, so a
// unicast stream reaches its VM alone even when that VM has never sent anything the bridge
// could learn from (an aged-out receiver), and unicast for an unknown MAC reaches no VM.
// Network safety: the daemon runs in a network namespace this test creates (unshare); the
// frames are the test's own EtherType (0x88b5, IEEE local experimental) on its bridge.

#include <sys/stat.h>
#include <unistd.h>

#include <optional>
#include <string>

#include "support/catch.hpp"
#include "support/daemon_process.hpp"
#include "support/netns.hpp"
#include "support/packets.hpp"

using namespace squib::test;
using namespace std::chrono_literals;

namespace {

constexpr unsigned k_experimental = 0x88b5;

// A frame of the test's own EtherType whose first payload byte is `tag`.
Bytes tagged(const Mac& dst, const Mac& src, std::uint8_t tag) {
  Bytes frame = ethernet(dst, src, k_experimental);
  frame.push_back(tag);
  frame.resize(60, 0);
  return frame;
}

bool is_tagged(const Bytes& frame) { return frame.size() > 14 && be16(frame, 12) == k_experimental; }

}  // namespace

TEST_CASE("host mode: VM ports are pinned by static FDB entries, so unicast never floods to other VMs",
          "[integration][bridge_port][root]") {
  INFO("needs root, dnsmasq, nft and nsenter (scripts/setup installs them)");
  REQUIRE(::geteuid() == 0);
  TempDir dir;
  REQUIRE(::chmod(dir.path().c_str(), 0755) == 0);  // dnsmasq (nobody) reads its files here
  std::optional<DaemonProcess> daemon;
  start_in_new_netns(daemon, dir.path());
  const auto in_netns = [&](const std::string& command) { return run_in_netns_of(*daemon, command); };

  struct Vm {
    std::string tap;
    Mac mac{};
    std::optional<FakeVmm> vmm;
  };
  Vm a, b, c;
  for (const auto& entry : {std::pair{"pa", &a}, std::pair{"pb", &b}, std::pair{"pc", &c}}) {
    // Named, not structured bindings: clang 14 cannot capture those in the lambdas below.
    const std::string name = entry.first;
    Vm* const vm = entry.second;
    const auto started = daemon->ok("start", {{"name", name}, {"mode", "host"}, {"network", "pinned"}});
    vm->tap = started["network"]["tap"];
    vm->mac = parse_mac(started["mac"]);
    vm->vmm.emplace(dir.path() + "/" + name + ".local", started["socket"]);
    // A runt tells the daemon where the VM is (its peer) and gives the bridge nothing to
    // learn from: to the bridge, these VMs have never sent a frame.
    vm->vmm->send(Bytes{0x00, 0x01});
    CHECK(eventually([&] { return stats_of(*daemon, name)["drops"]["runt"] == 1; }));

    const auto fdb = in_netns("bridge fdb show dev " + vm->tap);
    INFO(fdb.output);
    CHECK(fdb.output.find(std::string(started["mac"]) + " master ") != std::string::npos);
    CHECK(fdb.output.find(" static") != std::string::npos);
    // The bridge drops a port's frames until the link watch (at most once a second) has
    // seen its carrier: wait for forwarding before sending anything through it.
    CHECK(eventually(
        [&] {
          return in_netns("bridge link show dev " + vm->tap).output.find("state forwarding") != std::string::npos;
        },
        10s));
    const auto port = in_netns("bridge -d link show dev " + vm->tap);
    INFO(port.output);
    CHECK(port.output.find("learning off") != std::string::npos);
    CHECK(port.output.find("flood off") != std::string::npos);
  }

  // From a: to b (whom the bridge has never seen send), to a MAC nobody has, then a
  // broadcast marker. Each path delivers in order, so the first tagged frame c sees must
  // be the marker: had the bridge flooded either unicast, c would see it first.
  const Mac nobody{0x02, 0x99, 0x99, 0x99, 0x99, 0x99};
  a.vmm->send(tagged(b.mac, a.mac, 1));
  a.vmm->send(tagged(nobody, a.mac, 2));
  a.vmm->send(tagged(k_broadcast, a.mac, 3));

  const auto b_first = receive_matching(*b.vmm, is_tagged, 5s);
  REQUIRE(b_first.has_value());
  CHECK(*b_first == tagged(b.mac, a.mac, 1));
  const auto b_second = receive_matching(*b.vmm, is_tagged, 5s);
  REQUIRE(b_second.has_value());
  CHECK(*b_second == tagged(k_broadcast, a.mac, 3));  // not the frame for `nobody`

  const auto c_first = receive_matching(*c.vmm, is_tagged, 5s);
  REQUIRE(c_first.has_value());
  CHECK(*c_first == tagged(k_broadcast, a.mac, 3));

  CHECK(stats_of(*daemon, "pa")["from_vm"]["frames"] == 3);
  CHECK(stats_of(*daemon, "pb")["to_vm"]["frames"].get<std::uint64_t>() >= 2);
}
