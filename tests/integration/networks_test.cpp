// Networks as objects (issue 15): network.create/delete/list against a real daemon in a
// network namespace the test makes, checked in the kernel (links, nft tables), in dnsmasq
// (its pid, its command line) and in the run dir (state.json, net-* files). Needs root; every
// subnet exists only in the test's namespaces. The VXLAN device itself is proven in the
// fleet system test (tests/system/fleet): here an uplink that cannot be made fails cleanly.

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

#include "support/catch.hpp"
#include "support/daemon_process.hpp"
#include "support/member.hpp"
#include "support/netns.hpp"

#include <squib/proto/table.hpp>

using namespace squib::test;

namespace {

constexpr int k_not_found = -32001;
constexpr int k_already_exists = -32002;
constexpr int k_permission_denied = -32003;
constexpr int k_in_use = -32008;
constexpr int k_invalid_params = -32602;

// A daemon in a namespace of its own, started with `args`.
void start_daemon(std::optional<DaemonProcess>& daemon, const TempDir& dir, std::vector<std::string> args = {}) {
  REQUIRE(::chmod(dir.path().c_str(), 0755) == 0);  // dnsmasq (nobody) reads its files under it
  InNewNetns netns;
  daemon.emplace(dir.path(), std::move(args));
  REQUIRE(netns.leave());
}

// `command` run by /bin/sh in the daemon's network namespace: its exit code and output.
struct Run {
  int exit_code = -1;
  std::string output;
};
Run in_netns(const DaemonProcess& daemon, const std::string& command) {
  const std::string line =
      "nsenter --net=/proc/" + std::to_string(daemon.pid()) + "/ns/net sh -c '" + command + "' 2>&1";
  Run run;
  FILE* pipe = ::popen(line.c_str(), "r");
  REQUIRE(pipe != nullptr);
  char buffer[4096];
  std::size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) run.output.append(buffer, n);
  const int status = ::pclose(pipe);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

bool link_exists(const DaemonProcess& daemon, const std::string& name) {
  return in_netns(daemon, "ip link show dev " + name).exit_code == 0;
}

// A link's MTU in the daemon's namespace (ip -j: /sys shows the namespace it was mounted in).
std::uint32_t link_mtu(const DaemonProcess& daemon, const std::string& name) {
  const auto run = in_netns(daemon, "ip -j link show dev " + name);
  INFO(run.output);
  REQUIRE(run.exit_code == 0);
  return json::parse(run.output).at(0).at("mtu").get<std::uint32_t>();
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

json find_network(const json& list, const std::string& name) {
  for (const auto& network : list) {
    if (network["name"] == name) return network;
  }
  return nullptr;
}

std::int64_t dnsmasq_pid(const DaemonProcess& daemon, const std::string& network) {
  const json status = daemon.ok("status");  // (kept: the loop must not range over a temporary's member)
  for (const auto& entry : status["networks"]) {
    if (entry["name"] == network) return entry["dnsmasq_pid"].get<std::int64_t>();
  }
  return 0;
}

bool run_dir_has_network_files(const DaemonProcess& daemon) {
  for (const auto& entry : std::filesystem::directory_iterator(daemon.run_dir())) {
    if (entry.path().filename().string().starts_with("net-")) return true;
  }
  return false;
}

std::uint32_t address_of(const std::string& dotted) {
  unsigned a = 0, b = 0, c = 0, d = 0;
  REQUIRE(std::sscanf(dotted.c_str(), "%u.%u.%u.%u", &a, &b, &c, &d) == 4);
  return a << 24U | b << 16U | c << 8U | d;
}

const json k_lab = {{"name", "lab"},
                    {"mode", "host"},
                    {"subnet", "10.70.0.0/24"},
                    {"dhcp", {{"range", "10.70.0.100-10.70.0.150"}}},
                    {"mtu", 1400}};

}  // namespace

TEST_CASE("networks: create, start in the DHCP slice at the network's MTU, delete refused in use, forced delete",
          "[integration][networks]") {
  TempDir dir;
  std::optional<DaemonProcess> daemon;
  start_daemon(daemon, dir);

  const auto created = daemon->ok("network.create", k_lab);
  CHECK(created["name"] == "lab");
  CHECK(created["state"] == "ready");
  CHECK(created["origin"] == "api");
  CHECK(created["mode"] == "host");
  CHECK(created["mtu"] == 1400);
  CHECK(created["subnet"] == "10.70.0.0/24");
  CHECK(created["gateway"] == "10.70.0.1");
  CHECK(created["dhcp_range"] == "10.70.0.100-10.70.0.150");
  CHECK(created["attachment_count"] == 0);
  CHECK(created["attachments"] == json::array());
  const std::string bridge = created["bridge"];
  // The kernel has it, with the network's MTU; dnsmasq serves the slice and option 26.
  CHECK(link_exists(*daemon, bridge));
  CHECK(link_mtu(*daemon, bridge) == 1400);
  const auto dnsmasq = dnsmasq_pid(*daemon, "lab");
  REQUIRE(dnsmasq > 0);
  std::string cmdline = read_file("/proc/" + std::to_string(dnsmasq) + "/cmdline");
  std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
  CHECK_THAT(cmdline, Catch::Matchers::Contains("--dhcp-range=10.70.0.100,10.70.0.150,"));
  CHECK_THAT(cmdline, Catch::Matchers::Contains("--dhcp-option-force=option:mtu,1400"));

  const auto listed = daemon->ok("network.list");
  REQUIRE(listed.size() == 1);
  CHECK(listed[0]["name"] == "lab");
  CHECK(listed[0]["state"] == "ready");
  CHECK(listed[0]["counters"].contains("rx_packets"));

  // The same spec again is success; another is refused naming the field.
  CHECK(daemon->ok("network.create", k_lab)["name"] == "lab");
  json other = k_lab;
  other["mtu"] = 1300;
  const auto refused = daemon->call("network.create", other);
  CHECK(refused.error_code == k_already_exists);
  CHECK(refused.error_message == "network 'lab' already exists with a different spec (mtu)");

  // A start on it: an address of the slice, the network's MTU (it asked for more).
  const auto vm1 = daemon->ok("start", {{"name", "vm1"}, {"mode", "host"}, {"network", "lab"}, {"mtu", 9000}});
  CHECK(vm1["mtu"] == 1400);
  const auto address = address_of(vm1["network"]["address"]);
  CHECK(address >= address_of("10.70.0.100"));
  CHECK(address <= address_of("10.70.0.150"));
  CHECK(vm1["network"]["subnet"] == "10.70.0.0/24");
  const std::string tap = vm1["network"]["tap"];
  CHECK(link_mtu(*daemon, tap) == 1400);
  // Outside the slice: refused (ranges are per host). A differing subnet too.
  const auto outside =
      daemon->call("start", {{"name", "vm2"}, {"mode", "host"}, {"network", "lab"}, {"address", "10.70.0.20"}});
  CHECK(outside.error_code == k_invalid_params);
  CHECK(outside.error_message ==
        "address: 10.70.0.20 is outside this host's DHCP range 10.70.0.100-10.70.0.150 of network lab");
  const auto subnet =
      daemon->call("start", {{"name", "vm2"}, {"mode", "host"}, {"network", "lab"}, {"subnet", "10.80.0.0/24"}});
  CHECK(subnet.error_code == k_invalid_params);
  CHECK(daemon->ok("network.list")[0]["attachments"] == json::array({"vm1"}));

  // In use: refused, naming the attachments.
  const auto in_use = daemon->call("network.delete", {{"name", "lab"}});
  CHECK(in_use.error_code == k_in_use);
  CHECK(in_use.error_message == "network 'lab' is in use by 1 attachment (vm1); stop them first or pass force");
  CHECK(daemon->call("network.delete", {{"name", "nosuch"}}).error_code == k_not_found);
  CHECK(daemon->call("network.delete", {{"name", "nosuch"}}).error_message == "no network named 'nosuch'");

  // Forced: the attachment goes (also from state.json), then everything of the network.
  CHECK(daemon->ok("network.delete", {{"name", "lab"}, {"force", true}})["name"] == "lab");
  CHECK(daemon->ok("list") == json::array());
  CHECK(daemon->ok("network.list") == json::array());
  const auto state = json::parse(read_file(daemon->run_dir() + "/state.json"));
  CHECK(state["attachments"] == json::array());
  CHECK(state["networks"] == json::array());
  CHECK_FALSE(link_exists(*daemon, bridge));
  CHECK_FALSE(link_exists(*daemon, tap));
  // The tables go through the daemon's nft queue, after the reply.
  CHECK(eventually([&] { return in_netns(*daemon, "nft list tables").output.find("squib_") == std::string::npos; }));
  CHECK(eventually([&] { return ::kill(static_cast<pid_t>(dnsmasq), 0) != 0 && errno == ESRCH; }));
  CHECK(eventually([&] { return !run_dir_has_network_files(*daemon); }));
}

TEST_CASE("networks: config networks are made at start, and an api network survives kill -9 without attachments",
          "[integration][networks]") {
  TempDir dir;
  std::optional<DaemonProcess> daemon;
  // The config file's `networks` (--network on the command line: the members' test).
  const std::string config = dir.file("config.json");
  std::ofstream(config) << R"({"networks": [{"name": "cfg", "mode": "host", "subnet": "10.71.0.0/24"}]})";
  start_daemon(daemon, dir, {"--config", config});
  REQUIRE(eventually([&] {
    const auto cfg = find_network(daemon->ok("network.list"), "cfg");
    return cfg.is_object() && cfg["state"] == "ready";
  }));
  CHECK(find_network(daemon->ok("network.list"), "cfg")["origin"] == "config");

  json keep = {{"name", "keep"}, {"mode", "shared"}, {"subnet", "10.72.0.0/24"}, {"isolation", true}};
  const auto created = daemon->ok("network.create", keep);
  const std::string bridge = created["bridge"];
  CHECK(created["isolation"] == true);
  // An attachment comes and goes: the declared network stays.
  daemon->ok("start", {{"name", "passing"}, {"mode", "shared"}, {"network", "keep"}});
  daemon->ok("stop", {{"name", "passing"}});
  // (The attachment's lease goes once its backend has stopped, after the reply.)
  CHECK(eventually([&] { return find_network(daemon->ok("network.list"), "keep")["attachment_count"] == 0; }));
  CHECK(link_exists(*daemon, bridge));
  const auto state = json::parse(read_file(daemon->run_dir() + "/state.json"));
  REQUIRE(state["networks"].size() == 1);  // the config's network is not recorded
  CHECK(state["networks"][0]["name"] == "keep");

  const auto old_dnsmasq = dnsmasq_pid(*daemon, "keep");
  REQUIRE(daemon->stop(SIGKILL) == 128 + SIGKILL);
  daemon->restart();
  REQUIRE(eventually([&] {
    const auto list = daemon->ok("network.list");
    const auto back = find_network(list, "keep");
    const auto cfg = find_network(list, "cfg");
    return back.is_object() && back["state"] == "ready" && cfg.is_object() && cfg["state"] == "ready";
  }));
  const auto back = find_network(daemon->ok("network.list"), "keep");
  CHECK(back["origin"] == "api");
  CHECK(back["attachment_count"] == 0);
  CHECK(back["subnet"] == "10.72.0.0/24");
  CHECK(back["isolation"] == true);
  CHECK(link_exists(*daemon, bridge));
  const auto new_dnsmasq = dnsmasq_pid(*daemon, "keep");
  CHECK(new_dnsmasq > 0);
  CHECK(new_dnsmasq != old_dnsmasq);
  CHECK(daemon->ok("list") == json::array());

  // A config network may be deleted (until the next start).
  CHECK(daemon->ok("network.delete", {{"name", "cfg"}})["name"] == "cfg");
  CHECK(find_network(daemon->ok("network.list"), "cfg").is_null());
}

TEST_CASE("networks: without DHCP every start names its address, and an uplink that fails leaves nothing",
          "[integration][networks]") {
  TempDir dir;
  std::optional<DaemonProcess> daemon;
  start_daemon(daemon, dir);

  // An uplink whose remote has no route (the test's namespace has none): a clear error
  // naming the step, nothing left.
  const auto uplink = daemon->call(
      "network.create", {{"name", "fleet"},
                         {"subnet", "10.74.0.0/24"},
                         {"uplink", {{"vxlan", {{"vni", 42}, {"local", "10.0.0.1"}, {"remotes", {"10.0.0.2"}}}}}}});
  CHECK(uplink.error_code != 0);
  CHECK_THAT(uplink.error_message, Catch::Matchers::StartsWith("uplink: "));
  CHECK_THAT(uplink.error_message, Catch::Matchers::Contains("10.0.0.2"));
  CHECK(daemon->ok("network.list") == json::array());
  CHECK(in_netns(*daemon, "ip -o link show").output.find("sq") == std::string::npos);
  CHECK(eventually([&] { return in_netns(*daemon, "nft list tables").output.find("squib") == std::string::npos; }));
  CHECK(eventually([&] { return !run_dir_has_network_files(*daemon); }));

  const auto created = daemon->ok("network.create", {{"name", "static"}, {"subnet", "10.73.0.0/24"}, {"dhcp", false}});
  CHECK(created["dhcp_range"].is_null());
  const auto dnsmasq = dnsmasq_pid(*daemon, "static");
  REQUIRE(dnsmasq > 0);
  std::string cmdline = read_file("/proc/" + std::to_string(dnsmasq) + "/cmdline");
  std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
  CHECK(cmdline.find("--dhcp-range=10.73.") == std::string::npos);

  const auto refused = daemon->call("start", {{"name", "vm1"}, {"mode", "host"}, {"network", "static"}});
  CHECK(refused.error_code == k_invalid_params);
  CHECK(refused.error_message == "address: network static serves no DHCP on this host; name the guest's address");
  const auto fixed =
      daemon->ok("start", {{"name", "vm1"}, {"mode", "host"}, {"network", "static"}, {"address", "10.73.0.5"}});
  CHECK(fixed["network"]["address"] == "10.73.0.5");

  // A shared start on a host network is refused as for any network of another mode.
  CHECK(daemon->call("start", {{"name", "vm2"}, {"mode", "shared"}, {"network", "static"}}).error_code ==
        k_invalid_params);
  // Bad params name their field.
  const auto bad = daemon->call("network.create", {{"name", "x"}, {"mode", "bridged"}});
  CHECK(bad.error_code == k_invalid_params);
  CHECK(bad.error_message == "invalid params: mode: must be host or shared (the modes with networks of their own)");
}

TEST_CASE("networks: a network a start makes takes that start's MTU, and later attachments are lowered to it",
          "[integration][networks]") {
  TempDir dir;
  std::optional<DaemonProcess> daemon;
  start_daemon(daemon, dir);
  const auto jumbo = daemon->ok("start", {{"name", "j1"}, {"mode", "host"}, {"network", "jumbo"}, {"mtu", 9000}});
  CHECK(jumbo["mtu"] == 9000);
  const auto listed = find_network(daemon->ok("network.list"), "jumbo");
  CHECK(listed["origin"] == "implicit");
  CHECK(listed["mtu"] == 9000);
  CHECK(link_mtu(*daemon, listed["bridge"]) == 9000);
  CHECK(link_mtu(*daemon, jumbo["network"]["tap"]) == 9000);
  const auto small = daemon->ok("start", {{"name", "j2"}, {"mode", "host"}, {"network", "jumbo"}, {"mtu", 1500}});
  CHECK(small["mtu"] == 1500);
  CHECK(link_mtu(*daemon, small["network"]["tap"]) == 1500);
  const auto more = daemon->ok("start", {{"name", "j3"}, {"mode", "host"}, {"network", "jumbo"}, {"mtu", 65000}});
  CHECK(more["mtu"] == 9000);
}

TEST_CASE("networks: members may list (their own attachments' names) but not create or delete",
          "[integration][networks]") {
  TestGroup group{"g"};
  TestAccount alice{"a", group.name()};
  TempDir dir;
  std::optional<DaemonProcess> daemon;
  // Declared on the command line (origin config).
  start_daemon(daemon, dir, {"--group", group.name(), "--network", R"({"name":"lab","subnet":"10.75.0.0/24"})"});
  REQUIRE(eventually([&] {
    const auto lab = find_network(daemon->ok("network.list"), "lab");
    return lab.is_object() && lab["state"] == "ready";
  }));
  daemon->ok("start", {{"name", "rootvm"}, {"mode", "host"}, {"network", "lab"}});

  MemberProcess member(alice);
  auto connected = member.connect(daemon->control_path());
  REQUIRE(connected.ok());
  squib::proto::ControlClient client = std::move(connected.value());
  ok(client, "start", {{"name", "alicevm"}, {"mode", "host"}, {"network", "lab"}});
  const auto seen = find_network(ok(client, "network.list"), "lab");
  CHECK(seen["attachments"] == json::array({"alicevm"}));
  CHECK(seen["attachment_count"] == 2);
  const auto create = call(client, "network.create", {{"name", "mine"}});
  CHECK(create.error_code == k_permission_denied);
  CHECK(create.error_message == "permission denied: network.create is root only");
  const auto remove = call(client, "network.delete", {{"name", "lab"}, {"force", true}});
  CHECK(remove.error_code == k_permission_denied);
  CHECK(remove.error_message == "permission denied: network.delete is root only");
  const auto root_view = find_network(daemon->ok("network.list"), "lab");
  CHECK(root_view["attachments"] == json::array({"alicevm", "rootvm"}));
}

TEST_CASE("networks: squib-netctl network create, list and delete", "[integration][networks][netctl]") {
  TempDir dir;
  std::optional<DaemonProcess> daemon;
  start_daemon(daemon, dir);
  const std::string netctl = std::string(SQUIB_NETCTL_PATH) + " --control " + daemon->control_path() + " ";

  const auto created = run_command(netctl +
                                   "network create lab --mode host --subnet 10.76.0.0/24 --dhcp-range "
                                   "10.76.0.10-10.76.0.19 --mtu 1450 2>&1");
  CHECK(created.exit_code == 0);
  const auto listed = daemon->ok("network.list");
  REQUIRE(listed.size() == 1);
  const std::string bridge = listed[0]["bridge"];
  CHECK(created.output == "network lab: ready, bridge " + bridge + ", subnet 10.76.0.0/24, mtu 1450\n");

  daemon->ok("start", {{"name", "vm1"}, {"mode", "host"}, {"network", "lab"}});
  squib::proto::Table table({"NAME", "MODE", "STATE", "BRIDGE", "SUBNET", "DHCP", "MTU", "UPLINK", "ATTACHMENTS"});
  table.add({"lab", "host", "ready", bridge, "10.76.0.0/24", "10.76.0.10-10.76.0.19", "1450", "-", "1"});
  const auto table_run = run_command(netctl + "network list 2>&1");
  CHECK(table_run.exit_code == 0);
  CHECK(table_run.output == table.render());
  const auto json_run = run_command(netctl + "--json network list 2>&1");
  CHECK(json_run.exit_code == 0);
  CHECK(json::parse(json_run.output)[0]["attachments"] == json::array({"vm1"}));

  // Usage errors are the parser's, before asking the daemon; the daemon's are exit 1.
  const auto usage = run_command(netctl + "network create bad --dhcp-range 10.0.0.9 2>&1");
  CHECK(usage.exit_code == 2);
  CHECK_THAT(usage.output, Catch::Matchers::Contains("dhcp.range: must be \"A-B\""));
  const auto busy = run_command(netctl + "network delete lab 2>&1");
  CHECK(busy.exit_code == 1);
  CHECK_THAT(busy.output,
             Catch::Matchers::Contains("network 'lab' is in use by 1 attachment (vm1); stop them first or pass force"));
  const auto deleted = run_command(netctl + "network delete lab --force 2>&1");
  CHECK(deleted.exit_code == 0);
  CHECK(deleted.output == "network lab deleted\n");
  CHECK(daemon->ok("network.list") == json::array());
}
