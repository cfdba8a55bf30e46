// Guest addresses in host mode that a user can rely on: a requested `address` is exactly the
// one dnsmasq hands to the VM's MAC, a derived one is stable, conflicts are -32602 naming
// `address`, and a daemon restart restores exactly the addresses it had (state.json).
// Needs root; 192.168.105.0/24 exists only in the network namespace the test makes.

#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "support/catch.hpp"
#include "support/daemon_process.hpp"
#include "support/netns.hpp"

using namespace squib::test;

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

TEST_CASE("host mode: requested addresses are exact, conflicts are named, a restart keeps every address",
          "[integration][addressing]") {
  TempDir dir;
  REQUIRE(::chmod(dir.path().c_str(), 0755) == 0);  // dnsmasq (nobody) reads its leases under it
  std::optional<DaemonProcess> daemon;
  start_in_new_netns(daemon, dir.path());
  const auto fixed = daemon->ok("start", {{"name", "fixed"}, {"mode", "host"}, {"address", "192.168.105.50"}});
  CHECK(fixed["network"]["address"] == "192.168.105.50");
  const auto derived = daemon->ok("start", {{"name", "derived"}, {"mode", "host"}});
  const std::string derived_address = derived["network"]["address"];

  for (const auto& [address, message] : std::vector<std::pair<std::string, std::string>>{
           {"192.168.105.50", "address: 192.168.105.50 is already used by attachment 'fixed'"},
           {"192.168.105.1", "address: 192.168.105.1 is the gateway of network 'default'"},
           {"192.168.105.255",
            "address: 192.168.105.255 is not a host address of network 'default' (192.168.105.0/24)"},
           {"10.1.2.3", "address: 10.1.2.3 is not a host address of network 'default' (192.168.105.0/24)"}}) {
    const auto refused = daemon->call("start", {{"name", "other"}, {"mode", "host"}, {"address", address}});
    CHECK(refused.error_code == -32602);
    CHECK(refused.error_message == message);
  }
  const auto malformed = daemon->call("start", {{"name", "other"}, {"mode", "host"}, {"address", "192.168.105"}});
  CHECK(malformed.error_code == -32602);
  CHECK(malformed.error_message == "invalid params: address: must be a literal IPv4 address, e.g. 192.168.105.20");

  // dnsmasq's static lease says exactly that address for that MAC.
  const auto hosts_dirs = [&] {
    std::vector<std::string> found;
    for (const auto& entry : std::filesystem::directory_iterator(daemon->run_dir())) {
      if (entry.path().string().ends_with(".hosts.d")) found.push_back(entry.path().string());
    }
    return found;
  }();
  REQUIRE(hosts_dirs.size() == 1);
  CHECK(read_file(hosts_dirs[0] + "/fixed") == fixed["mac"].get<std::string>() + ",192.168.105.50\n");

  // A second network, made after `default`, takes the next free /24. Its attachment's name
  // sorts first, so a restart recreates it first: it must get its own subnet back, not the
  // first free one (which is default's).
  const auto lab = daemon->ok("start", {{"name", "a-lab"}, {"mode", "host"}, {"network", "alpha"}});
  CHECK(lab["network"]["subnet"] == "192.168.106.0/24");

  // A restart restores the same addresses (SIGTERM keeps attachments recorded).
  REQUIRE(daemon->stop(SIGTERM) == 0);
  daemon->restart();
  REQUIRE(eventually([&] {
    const auto listed = daemon->ok("list");
    return listed.size() == 3 && listed[0]["state"] == "running" && listed[1]["state"] == "running" &&
           listed[2]["state"] == "running";
  }));
  const auto listed = daemon->ok("list");
  CHECK(listed[0]["name"] == "a-lab");
  CHECK(listed[0]["address"] == lab["network"]["address"]);
  CHECK(listed[1]["name"] == "derived");
  CHECK(listed[1]["address"] == derived_address);
  CHECK(listed[2]["name"] == "fixed");
  CHECK(listed[2]["address"] == "192.168.105.50");
}
