// IPv6 on the daemon's own networks (issue 13): every host/shared network has a /64 (the ULA
// of its name, or `subnet6` when it is created), `start` reports it with the gateway (::1, on
// the bridge) and the guest's SLAAC address; conflicts are -32602 naming subnet6; an explicit
// subnet6 survives kill -9 + restart whichever attachment is restored first; shared mode
// turns IPv6 forwarding and NAT66 on, except when the host would then lose its RA-learned
// default route (platform/linux/ra_default_routes.hpp). Needs root;
// every address exists only in the network namespace the test makes.

#include <csignal>
#include <cstdlib>
#include <optional>
#include <string>

#include <squib/core/ipv6_prefix.hpp>
#include <squib/core/mac_address.hpp>

#include "support/catch.hpp"
#include "support/daemon_process.hpp"
#include "support/netns.hpp"

using namespace squib::test;
using squib::core::Ipv6Prefix;

namespace {

constexpr int k_invalid_params = -32602;

std::string slaac_of(const Ipv6Prefix& prefix, const std::string& mac) {
  return squib::core::ipv6_to_string(prefix.slaac_address(squib::core::MacAddress::parse(mac).value()));
}

}  // namespace

TEST_CASE("host/shared networks: subnet6, gateway6 and address6 reported, conflicts named, restarts keep them",
          "[integration][ipv6]") {
  TempDir dir;
  REQUIRE(::chmod(dir.path().c_str(), 0755) == 0);  // dnsmasq (nobody) reads its leases under it
  std::optional<DaemonProcess> daemon;
  {
    InNewNetns netns;
    // A host address and a host route the daemon must not shadow (addresses without DAD).
    REQUIRE(std::system("ip link add sqt-lan6 type veth peer name sqt-lan6-peer && "
                        "ip link set sqt-lan6 up && ip link set sqt-lan6-peer up && "
                        "ip -6 addr add fd00:77::5/64 dev sqt-lan6 nodad && "
                        "ip -6 route add fd00:88::/48 dev sqt-lan6") == 0);
    daemon.emplace(dir.path());
    REQUIRE(netns.leave());
  }

  const Ipv6Prefix ula = Ipv6Prefix::ula_for("default");
  const auto first = daemon->ok("start", {{"name", "v1"}, {"mode", "host"}});
  CHECK(first["network"]["subnet6"] == ula.to_string());
  CHECK(first["network"]["gateway6"] == squib::core::ipv6_to_string(ula.gateway()));
  CHECK(first["network"]["address6"] == slaac_of(ula, first["mac"]));
  const auto second = daemon->ok("start", {{"name", "v2"}, {"mode", "host"}, {"subnet6", ula.to_string()}});
  CHECK(second["network"]["subnet6"] == ula.to_string());
  CHECK(second["network"]["address6"] == slaac_of(ula, second["mac"]));
  CHECK(second["network"]["address6"] != first["network"]["address6"]);

  const auto status = daemon->ok("status");
  REQUIRE(status["networks"].size() == 1);
  CHECK(status["networks"][0]["subnet6"] == ula.to_string());
  CHECK(status["networks"][0]["gateway6"] == squib::core::ipv6_to_string(ula.gateway()));

  for (const auto& [params, message] : std::vector<std::pair<json, std::string>>{
           {{{"name", "x"}, {"mode", "host"}, {"subnet6", "fd00:1::/64"}},
            "subnet6: network 'default' already uses " + ula.to_string()},
           {{{"name", "x"}, {"mode", "host"}, {"network", "n2"}, {"subnet6", ula.to_string()}},
            "subnet6: " + ula.to_string() + " overlaps network 'default'"},
           {{{"name", "x"},
             {"mode", "host"},
             {"network", "n2"},
             {"subnet", "192.168.120.0/24"},
             {"subnet6", "fd00:77::/64"}},
            "subnet6: fd00:77::/64 overlaps fd00:77::5 on sqt-lan6 (a host address); choose a subnet6 the host does "
            "not use"},
           {{{"name", "x"},
             {"mode", "shared"},
             {"network", "n2"},
             {"subnet", "192.168.120.0/24"},
             {"subnet6", "fd00:88:0:9::/64"}},
            "subnet6: fd00:88:0:9::/64 overlaps the route fd00:88::/48 via sqt-lan6; choose a subnet6 the host does "
            "not use"}}) {
    const auto refused = daemon->call("start", params);
    CHECK(refused.error_code == k_invalid_params);
    CHECK(refused.error_message == message);
  }
  const auto malformed = daemon->call("start", {{"name", "x"}, {"mode", "host"}, {"subnet6", "fd00:1::/48"}});
  CHECK(malformed.error_code == k_invalid_params);
  CHECK(malformed.error_message.starts_with("invalid params: subnet6: "));
  // Nothing of the refused networks was left behind.
  CHECK(daemon->ok("status")["networks"].size() == 1);

  // An explicit subnet6 (given by the second attachment's start only) survives kill -9 and a
  // restart that restores "p0" (no subnet6 in its request) first. (One network only: with
  // two, a restart may recreate them in another order than they were made, and the IPv4
  // default subnets, which are not recorded, then swap — a known limit outside IPv6.)
  daemon->ok("stop", {{"name", "v1"}});
  daemon->ok("stop", {{"name", "v2"}});
  const auto p1 =
      daemon->ok("start", {{"name", "p1"}, {"mode", "shared"}, {"network", "pn"}, {"subnet6", "fd00:99:1:2::/64"}});
  CHECK(p1["network"]["subnet6"] == "fd00:99:1:2::/64");
  CHECK(p1["network"]["gateway6"] == "fd00:99:1:2::1");
  const auto p0 = daemon->ok("start", {{"name", "p0"}, {"mode", "shared"}, {"network", "pn"}});
  CHECK(p0["network"]["subnet6"] == "fd00:99:1:2::/64");
  REQUIRE(daemon->stop(SIGKILL) == 128 + SIGKILL);
  daemon->restart();
  const bool restored = eventually(
      [&] {
        const auto listed = daemon->ok("list");
        if (listed.size() != 2) return false;
        for (const auto& entry : listed) {
          if (entry["state"] != "running") return false;
        }
        return true;
      },
      std::chrono::seconds(30));
  if (!restored) FAIL(daemon->ok("list").dump() + "\n" + daemon->log());
  bool found = false;
  const auto restarted = daemon->ok("status");
  for (const auto& network : restarted["networks"]) {
    if (network["name"] != "pn") continue;
    found = true;
    CHECK(network["subnet6"] == "fd00:99:1:2::/64");
  }
  CHECK(found);
}

namespace {

// `command`'s output, run inside the daemon's network namespace.
std::string in_netns_of(const DaemonProcess& daemon, const std::string& command) {
  InNewNetns inside(daemon.pid());
  auto run = run_command(command);
  REQUIRE(inside.leave());
  return run.output;
}

}  // namespace

TEST_CASE("shared mode: NAT66 and IPv6 forwarding, unless the host's RA default route would be lost",
          "[integration][ipv6]") {
  TempDir dir;
  REQUIRE(::chmod(dir.path().c_str(), 0755) == 0);
  const bool ra_route = GENERATE(false, true);
  std::optional<DaemonProcess> daemon;
  {
    InNewNetns netns;
    // An uplink; with ra_route, its default route came from a router advertisement (proto ra)
    // and its accept_ra is the kernel default, 1.
    REQUIRE(std::system("ip link add sqt-up6 type veth peer name sqt-up6-peer && "
                        "ip link set sqt-up6 up && ip link set sqt-up6-peer up") == 0);
    if (ra_route) REQUIRE(std::system("ip -6 route add default via fe80::1 dev sqt-up6 proto ra") == 0);
    daemon.emplace(dir.path());
    REQUIRE(netns.leave());
  }
  const auto started = daemon->ok("start", {{"name", "s1"}, {"mode", "shared"}});
  // IPv6 inside the network works either way.
  CHECK(started["network"]["address6"].is_string());
  CHECK(started["network"]["gateway6"].is_string());
  const std::string forwarding = in_netns_of(*daemon, "cat /proc/sys/net/ipv6/conf/all/forwarding");
  const std::string ruleset = in_netns_of(*daemon, "nft list ruleset");
  if (ra_route) {
    CHECK(forwarding == "0\n");
    CHECK(ruleset.find("ip6 saddr") == std::string::npos);
    CHECK(daemon->log().find("no NAT66 (IPv6 stays inside the network): turning net.ipv6.conf.all.forwarding on "
                             "would make sqt-up6 ignore router advertisements") != std::string::npos);
  } else {
    CHECK(forwarding == "1\n");
    CHECK(ruleset.find("ip6 saddr " + started["network"]["subnet6"].get<std::string>()) != std::string::npos);
  }
  daemon->ok("stop", {{"name", "s1"}});
  REQUIRE(eventually([&] { return daemon->ok("status")["networks"].empty(); }));
  CHECK(in_netns_of(*daemon, "cat /proc/sys/net/ipv6/conf/all/forwarding") == "0\n");
}
