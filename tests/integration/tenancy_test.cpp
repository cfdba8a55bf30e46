// Tenancy through the real daemon (service/tenancy.hpp, docs/security.md): control-group
// members are ordinary, untrusted users. Two real accounts (useradd, removed by name at the
// end) in a real group talk to a real squib-netd from processes running as them; root is
// the test itself. Needs root.
//
// Network safety: the daemons that create networks run in network namespaces made here
// (unshare); 10.66.0.0/24, 10.77.0.0/24, 10.88.0.0/16 and 192.168.105-106.0/24 exist only inside them.

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <variant>

#include "support/catch.hpp"
#include "support/daemon_process.hpp"
#include "support/exposition.hpp"
#include "support/member.hpp"
#include "support/netns.hpp"

using namespace squib::test;
using namespace std::chrono_literals;
using squib::proto::ControlClient;
using squib::proto::Response;

namespace {

constexpr int k_permission_denied = -32003;
constexpr int k_invalid_params = -32602;
constexpr int k_limit_reached = -32005;

ControlClient connect_as(MemberProcess& member, const DaemonProcess& daemon) {
  auto client = member.connect(daemon.control_path());
  INFO("member connect: " << (client ? "" : client.error().message));
  REQUIRE(client.ok());
  return std::move(client.value());
}

std::vector<std::string> names_in(const json& entries) {
  std::vector<std::string> names;
  for (const auto& entry : entries) names.push_back(entry["name"]);
  return names;
}

// The attachments a `metrics` result names (its exposition read by the strict reader).
std::set<std::string> names_in_metrics(const json& result) {
  const auto parsed = parse_exposition(result["text"].get<std::string>());
  REQUIRE(std::holds_alternative<Exposition>(parsed));
  return std::get<Exposition>(parsed).label_values("squib_attachment_frames_total", "name");
}

void shell(const std::string& command) {
  INFO(command);
  REQUIRE(std::system(command.c_str()) == 0);
}

std::string state_file(const DaemonProcess& daemon) {
  std::ifstream in(daemon.run_dir() + "/state.json");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Two members of one control group, and a daemon serving that group from a namespace of its
// own. The namespace has an uplink (one end of a veth pair whose other end is also in it)
// with a default route, so that passt, which takes its addresses from the default route's
// interface, starts; nothing leaves the namespace.
struct Tenants {
  TestGroup group{"g"};
  TestAccount alice{"a", group.name()};
  TestAccount bob{"b", group.name()};
  TempDir dir;
  std::optional<DaemonProcess> daemon;

  // `namespace_setup`: more shell commands run in the daemon's namespace before it starts.
  explicit Tenants(std::vector<std::string> daemon_args = {}, const std::string& namespace_setup = "") {
    REQUIRE(::chmod(dir.path().c_str(), 0755) == 0);  // members reach the run dir, as /run/squib-net
    daemon_args.insert(daemon_args.begin(), {"--group", group.name()});
    InNewNetns netns;
    shell(
        "ip link add sqt-up type veth peer name sqt-up-peer && ip addr add 10.66.0.2/24 dev sqt-up && "
        "ip link set sqt-up up && ip link set sqt-up-peer up && ip route add default via 10.66.0.1 dev sqt-up && "
        "ip link set lo up");
    if (!namespace_setup.empty()) shell(namespace_setup);
    daemon.emplace(dir.path(), daemon_args);
    REQUIRE(netns.leave());
  }
};

}  // namespace

TEST_CASE("members act on their own attachments only, root on all, across a restart", "[integration][tenancy]") {
  Tenants tenants;
  DaemonProcess& daemon = *tenants.daemon;
  MemberProcess alice(tenants.alice);
  MemberProcess bob(tenants.bob);
  auto as_alice = connect_as(alice, daemon);
  auto as_bob = connect_as(bob, daemon);
  ok(as_alice, "start", {{"name", "a1"}, {"mode", "userspace"}});
  ok(as_bob, "start", {{"name", "b1"}, {"mode", "userspace"}});
  const std::string bobs = "attachment 'b1' belongs to uid " + std::to_string(tenants.bob.uid()) +
                           ": members may act only on their own attachments (root on all)";

  const auto check_separation = [&](ControlClient& a, ControlClient& b) {
    CHECK(names_in(ok(a, "list")) == std::vector<std::string>{"a1"});
    CHECK(names_in(ok(b, "list")) == std::vector<std::string>{"b1"});
    CHECK(names_in(daemon.ok("list")) == std::vector<std::string>{"a1", "b1"});
    CHECK(names_in(ok(a, "stats")) == std::vector<std::string>{"a1"});
    CHECK(names_in(daemon.ok("stats")) == std::vector<std::string>{"a1", "b1"});
    CHECK(names_in_metrics(ok(a, "metrics")) == std::set<std::string>{"a1"});
    CHECK(names_in_metrics(ok(b, "metrics")) == std::set<std::string>{"b1"});
    CHECK(names_in_metrics(daemon.ok("metrics")) == std::set<std::string>{"a1", "b1"});
    for (const auto& [method, params] : std::vector<std::pair<std::string, json>>{
             {"stop", {{"name", "b1"}}},
             {"stats", {{"name", "b1"}}},
             {"forward", {{"name", "b1"}, {"host", "127.0.0.1:20022"}, {"guest_port", 22}}},
             {"unforward", {{"name", "b1"}, {"host", "127.0.0.1:20022"}}}}) {
      INFO(method);
      const auto refused = call(a, method, params);
      CHECK(refused.error_code == k_permission_denied);
      CHECK(refused.error_message == bobs);
    }
    CHECK(names_in(daemon.ok("list")) == std::vector<std::string>{"a1", "b1"});  // b1 untouched
  };
  check_separation(as_alice, as_bob);

  SECTION("the human CLI, run as the member, lists only the member's attachment") {
    std::string output;
    CHECK(run_as_account(tenants.alice,
                         std::string(SQUIB_NETCTL_PATH) + " --control " + daemon.control_path() + " list",
                         output) == 0);
    INFO(output);
    CHECK(output.find("a1") != std::string::npos);
    CHECK(output.find("b1") == std::string::npos);
  }
  SECTION("ownership is persisted: after a restart the same rules hold") {
    const json state = json::parse(state_file(daemon));
    std::map<std::string, std::uint32_t> owners;
    for (const auto& entry : state["attachments"]) owners[entry["name"]] = entry["owner"]["uid"];
    CHECK(owners == std::map<std::string, std::uint32_t>{{"a1", tenants.alice.uid()}, {"b1", tenants.bob.uid()}});
    REQUIRE(daemon.stop(SIGTERM) == 0);
    daemon.restart();
    auto again_alice = connect_as(alice, daemon);
    auto again_bob = connect_as(bob, daemon);
    check_separation(again_alice, again_bob);
  }
  SECTION("forwards below the unprivileged-port boundary are root's; above it the owner's") {
    // A namespace made by the test: ip_unprivileged_port_start is the kernel default, 1024.
    const auto refused = call(as_alice, "forward", {{"name", "a1"}, {"host", "127.0.0.1:80"}, {"guest_port", 80}});
    CHECK(refused.error_code == k_permission_denied);
    CHECK(refused.error_message ==
          "host: host port 80 is below 1024, the unprivileged-port boundary: only root may forward it");
    const auto at_start =
        call(as_alice, "start",
             {{"name", "a2"},
              {"mode", "userspace"},
              {"forwards", {{{"host", "2222"}, {"guest_port", 22}}, {{"host", "443"}, {"guest_port", 443}}}}});
    CHECK(at_start.error_code == k_permission_denied);
    CHECK(at_start.error_message ==
          "forwards[1].host: host port 443 is below 1024, the unprivileged-port boundary: only root may forward it");
    ok(as_alice, "forward", {{"name", "a1"}, {"host", "127.0.0.1:20080"}, {"guest_port", 80}});
    daemon.ok("forward", {{"name", "a1"}, {"host", "127.0.0.1:80"}, {"guest_port", 80}});
  }
  SECTION("root stops a member's attachment") {
    daemon.ok("stop", {{"name", "b1"}});
    CHECK(names_in(ok(as_bob, "list")).empty());
  }
}

TEST_CASE("a member's userspace.args cannot make a child create a file as root", "[integration][tenancy]") {
  Tenants tenants;
  DaemonProcess& daemon = *tenants.daemon;
  MemberProcess alice(tenants.alice);
  auto as_alice = connect_as(alice, daemon);
  const std::string target = tenants.dir.file("made-by-root");

  for (const auto& userspace : std::vector<json>{{{"kind", "passt"}, {"args", {"--log-file", target}}},
                                                 {{"kind", "passt"}, {"args", {"-l", target}}},
                                                 {{"kind", "passt"}, {"args", {"--quiet", "--pcap", target}}},
                                                 {{"kind", "passt"}, {"args", {"--pid", target}}},
                                                 {{"kind", "passt"}, {"args", {"--address=" + target}}},
                                                 {{"kind", "passt"}, {"args", {"--runas", "0"}}},
                                                 {{"kind", "gvproxy"}, {"args", {"-log-file", target}}},
                                                 {{"kind", "gvproxy"}, {"args", {"-pcap", target}}}}) {
    INFO(userspace.dump());
    const auto refused = call(as_alice, "start", {{"name", "x"}, {"mode", "userspace"}, {"userspace", userspace}});
    CHECK(refused.error_code == k_permission_denied);
    CHECK(refused.error_message.starts_with("userspace.args: '"));
  }
  CHECK(daemon.ok("list").empty());
  CHECK_FALSE(path_exists(target));

  // Allowed arguments start passt.
  ok(as_alice, "start",
     {{"name", "quiet"}, {"mode", "userspace"}, {"userspace", {{"args", {"--quiet", "--no-dhcpv6", "--no-ra"}}}}});
  REQUIRE(eventually([&] { return daemon.ok("list")[0]["state"] == "running"; }));

  // The refusals matter: the same arguments from root do make passt create the file, as root.
  daemon.ok("start", {{"name", "root"}, {"mode", "userspace"}, {"userspace", {{"args", {"--log-file", target}}}}});
  REQUIRE(eventually([&] { return path_exists(target); }));
  struct stat st {};
  REQUIRE(::lstat(target.c_str(), &st) == 0);
  CHECK(st.st_uid == 0);
  CHECK_FALSE(path_exists(tenants.dir.file("never")));
}

namespace {

// A host LAN address, a host route, a subnet in the daemon's default range, and two bridges
// of the operator's, inside the test's namespace.
// The tenancy settings come from a --config file (JSON, keys as the long flags).
std::string config_file(const std::string& text) {
  static TempDir config_dir;
  const std::string path = config_dir.file("squib-netd.json");
  std::ofstream(path) << text;
  return path;
}

struct HostWithNetworks : Tenants {
  HostWithNetworks()
      : Tenants({"--config", config_file(R"({"allow-bridge": ["sqt-vms"], "member-modes": ["host", "bridged",
                                                                                              "userspace"]})")},
                "ip link add sqt-lan type veth peer name sqt-lan-peer && ip addr add 10.77.0.5/24 dev sqt-lan && "
                "ip link set sqt-lan up && ip link set sqt-lan-peer up && ip route add 10.88.0.0/16 dev sqt-lan && "
                "ip link add sqt-old type veth peer name sqt-old-peer && "
                "ip addr add 192.168.105.1/24 dev sqt-old && ip link set sqt-old up && "
                "ip link add sqt-vms type bridge && ip link set sqt-vms up && "
                "ip link add sqt-ops type bridge && ip link set sqt-ops up") {}
};

}  // namespace

TEST_CASE("networks cannot shadow the host: overlapping subnets refused, bridges and modes as configured",
          "[integration][tenancy]") {
  HostWithNetworks host;
  DaemonProcess& daemon = *host.daemon;
  MemberProcess alice(host.alice);
  auto as_alice = connect_as(alice, daemon);
  auto as_root = daemon.connect();

  SECTION("a subnet over a host address or route is refused for everyone, naming the interface") {
    for (auto* client : {&as_alice, &as_root}) {
      const auto address =
          call(*client, "start", {{"name", "n1"}, {"mode", "host"}, {"network", "lan"}, {"subnet", "10.77.0.0/16"}});
      CHECK(address.error_code == k_invalid_params);
      CHECK(address.error_message ==
            "subnet: 10.77.0.0/16 overlaps 10.77.0.5/24 on sqt-lan (a host address); choose "
            "a subnet the host does not use");
      const auto route =
          call(*client, "start", {{"name", "n1"}, {"mode", "host"}, {"network", "vpn"}, {"subnet", "10.88.3.0/24"}});
      CHECK(route.error_code == k_invalid_params);
      CHECK(route.error_message ==
            "subnet: 10.88.3.0/24 overlaps the route 10.88.0.0/16 via sqt-lan; choose a subnet the host does not use");
    }
    CHECK(daemon.ok("list").empty());
    CHECK(daemon.ok("status")["networks"].empty());
  }
  SECTION("a network created on first use skips subnets the host uses") {
    const auto started = ok(as_alice, "start", {{"name", "n1"}, {"mode", "host"}});
    CHECK(started["network"]["subnet"] == "192.168.106.0/24");
    // The daemon's own networks do not count as the host's: a second attachment joins it.
    const auto second = ok(as_alice, "start", {{"name", "n2"}, {"mode", "host"}, {"subnet", "192.168.106.0/24"}});
    CHECK(second["network"]["subnet"] == "192.168.106.0/24");
    // Nobody may take a MAC already on the segment (the bridge would hand that VM's traffic
    // to whichever port sent last); the same MAC on another network is no conflict.
    MemberProcess bob(host.bob);
    auto as_bob = connect_as(bob, daemon);
    const std::string mac = started["mac"];
    const auto taken = call(as_bob, "start", {{"name", "n3"}, {"mode", "host"}, {"mac", mac}});
    CHECK(taken.error_code == k_invalid_params);
    CHECK(taken.error_message ==
          "mac: " + mac + " is already used by attachment 'n1' on network 'default'; give another or leave it out");
    ok(as_bob, "start", {{"name", "n3"}, {"mode", "host"}, {"mac", mac}, {"network", "other"}});
  }
  SECTION("bridged: members only onto the allowed bridges; root onto any") {
    const auto refused = call(as_alice, "start", {{"name", "br1"}, {"mode", "bridged"}, {"bridge", "sqt-ops"}});
    CHECK(refused.error_code == k_permission_denied);
    CHECK(refused.error_message ==
          "bridge: sqt-ops is not among the bridges members may use (the daemon's allowed_bridges: sqt-vms)");
    const auto allowed = ok(as_alice, "start", {{"name", "br1"}, {"mode", "bridged"}, {"bridge", "sqt-vms"}});
    struct stat st {};
    REQUIRE(::lstat(allowed["socket"].get<std::string>().c_str(), &st) == 0);
    CHECK(st.st_uid == host.alice.uid());
    ok(as_root, "start", {{"name", "br2"}, {"mode", "bridged"}, {"bridge", "sqt-ops"}});
  }
  SECTION("--member-modes keeps shared for root") {
    const auto refused = call(as_alice, "start", {{"name", "s1"}, {"mode", "shared"}});
    CHECK(refused.error_code == k_permission_denied);
    CHECK(refused.error_message ==
          "mode: shared is reserved to root on this daemon (members may use: host, bridged, "
          "userspace)");
  }
}

TEST_CASE("per-uid limits: one member cannot take every attachment or connection", "[integration][tenancy]") {
  Tenants tenants({"--max-attachments-per-uid", "2", "--max-connections-per-uid", "3"});
  DaemonProcess& daemon = *tenants.daemon;
  MemberProcess alice(tenants.alice);
  MemberProcess bob(tenants.bob);

  SECTION("attachments") {
    auto as_alice = connect_as(alice, daemon);
    ok(as_alice, "start", {{"name", "a1"}, {"mode", "userspace"}});
    ok(as_alice, "start", {{"name", "a2"}, {"mode", "userspace"}});
    const auto refused = call(as_alice, "start", {{"name", "a3"}, {"mode", "userspace"}});
    CHECK(refused.error_code == k_limit_reached);
    CHECK(refused.error_message == "uid " + std::to_string(tenants.alice.uid()) +
                                       " already has 2 attachments (the per-uid limit, --max-attachments-per-uid)");
    auto as_bob = connect_as(bob, daemon);
    ok(as_bob, "start", {{"name", "b1"}, {"mode", "userspace"}});  // others are not affected
    daemon.ok("start", {{"name", "r1"}, {"mode", "userspace"}, {"owner", {{"uid", tenants.alice.uid()}}}});
    ok(as_alice, "stop", {{"name", "a1"}});
    CHECK(names_in(ok(as_alice, "list")) == std::vector<std::string>{"a2", "r1"});
  }
  SECTION("control connections") {
    std::vector<ControlClient> held;
    for (int i = 0; i < 3; ++i) {
      held.push_back(connect_as(alice, daemon));
      ok(held.back(), "status");  // admitted
    }
    auto extra = connect_as(alice, daemon);
    const auto line = extra.read_line();
    REQUIRE(line.ok());
    const json refusal = json::parse(line.value());
    CHECK(refusal["error"]["code"] == k_limit_reached);
    CHECK(refusal["error"]["message"] == "uid " + std::to_string(tenants.alice.uid()) +
                                             " already has 3 control connections (the per-uid limit, "
                                             "--max-connections-per-uid)");
    auto as_bob = connect_as(bob, daemon);
    ok(as_bob, "status");  // another member still gets in
    held.pop_back();       // a slot freed: the member gets in again once the daemon saw the close
    REQUIRE(eventually([&] {
      auto again = alice.connect(daemon.control_path());
      if (!again.ok()) return false;
      auto reply = again.value().call("status", json::object());
      return reply.ok() && reply.value().ok();
    }));
  }
}
