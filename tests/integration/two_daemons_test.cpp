// Two daemons with different run dirs in one network namespace (a second instance started
// by mistake, or per-user daemons): the second never touches the first one's bridge, TAP,
// nft table or dnsmasq; after a kill -9, each cleans up only what its own state.json
// records. Kernel object names are scoped by the run dir. Needs root; everything lives in a
// network namespace the test makes (192.168.105-106.0/24 exist only there).

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <optional>
#include <string>

#include "support/catch.hpp"
#include "support/daemon_process.hpp"
#include "support/netns.hpp"

using namespace squib::test;

namespace {

// stdout of `command` run inside the network namespace of process `pid`.
std::string in_netns_of(pid_t pid, const std::string& command) {
  return run_command("nsenter --net=/proc/" + std::to_string(pid) + "/ns/net " + command + " 2>&1").output;
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("a second daemon in the same network namespace leaves the first one's network alone",
          "[integration][stale]") {
  TempDir dir_a;
  TempDir dir_b;
  for (const auto* dir : {&dir_a, &dir_b}) REQUIRE(::chmod(dir->path().c_str(), 0755) == 0);
  std::optional<DaemonProcess> a;
  std::optional<DaemonProcess> b;
  {
    InNewNetns netns;
    a.emplace(dir_a.path());
    REQUIRE(netns.leave());
  }
  const auto started_a = a->ok("start", {{"name", "h1"}, {"mode", "host"}});
  const std::string bridge_a = started_a["network"]["bridge"];
  const std::string tap_a = started_a["network"]["tap"];
  const int dnsmasq_a = a->ok("status")["networks"][0]["dnsmasq_pid"];
  REQUIRE(dnsmasq_a > 0);
  const pid_t namespace_holder = a->pid();
  {
    InNewNetns netns(namespace_holder);
    b.emplace(dir_b.path());
    REQUIRE(netns.leave());
  }
  INFO("daemon B log:\n" << b->log());
  CHECK_FALSE(has(b->log(), "removed stale"));
  const std::string links = in_netns_of(namespace_holder, "ip -o link show");
  CHECK(has(links, bridge_a));
  CHECK(has(links, tap_a));
  CHECK(has(in_netns_of(namespace_holder, "nft list tables"), "squib_" + bridge_a.substr(5)));
  CHECK(::kill(dnsmasq_a, 0) == 0);
  CHECK(a->ok("list")[0]["state"] == "running");

  // B's own network: other names, and a subnet A's bridge does not use.
  const auto started_b = b->ok("start", {{"name", "h1"}, {"mode", "host"}});
  const std::string bridge_b = started_b["network"]["bridge"];
  CHECK(bridge_b != bridge_a);
  CHECK(started_b["network"]["tap"] != tap_a);
  CHECK(started_b["network"]["subnet"] == "192.168.106.0/24");
  // Nor its IPv6 /64: the ULA of "default" is A's, so B takes the next subnet ID of it.
  CHECK(started_b["network"]["subnet6"] != started_a["network"]["subnet6"]);

  // kill -9 of A, and A again on its run dir: it removes its own leftovers, not B's.
  REQUIRE(a->stop(SIGKILL) == 128 + SIGKILL);
  {
    InNewNetns netns(b->pid());
    a->restart();
    REQUIRE(netns.leave());
  }
  REQUIRE(eventually([&] { return a->ok("list")[0]["state"] == "running"; }));
  INFO("daemon A log:\n" << a->log());
  CHECK(has(a->log(), "removed stale bridge " + bridge_a));
  const std::string after = in_netns_of(b->pid(), "ip -o link show");
  CHECK(has(after, bridge_a));  // recreated by A's restore
  CHECK(has(after, bridge_b));
  CHECK(has(in_netns_of(b->pid(), "nft list tables"), "squib_" + bridge_b.substr(5)));
  CHECK(b->ok("list")[0]["state"] == "running");
  CHECK_FALSE(has(b->log(), "removed stale"));
}
