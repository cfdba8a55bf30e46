// DNS names of host/shared attachments (platform/linux/dnsmasq.hpp, issue 13): the network's
// dnsmasq answers <name>.<domain> on the gateway with the address `start` reported, host mode
// answers nothing else (no upstream), a name goes when its attachment stops, `domain` is a
// per-network setting (-32602 naming it on a conflict), and `resolve` answers from the
// daemon's records with `list`'s visibility. Queries are made with dig (Debian dnsutils,
// scripts/setup) from inside the daemon's namespace (nsenter). Needs root.
//
// Network safety: the daemon runs in a network namespace made here; 192.168.105.0/24 and
// 192.168.106.0/24 exist only inside it.

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <string>

#include "support/catch.hpp"
#include "support/daemon_process.hpp"
#include "support/member.hpp"
#include "support/netns.hpp"

using namespace squib::test;

namespace {

constexpr int k_invalid_params = -32602;
constexpr int k_not_found = -32001;
constexpr int k_permission_denied = -32003;

// One query of `type` for `name` to `server` from the daemon's namespace: the answer's
// records (dig +short, one per line) or, with `status`, the response code ("NOERROR",
// "NXDOMAIN", "REFUSED", ...). One try with a 2 s timeout: dnsmasq answers at once or not
// at all.
std::string dig(const DaemonProcess& daemon, const std::string& server, const std::string& name,
                const std::string& type, bool status = false) {
  const std::string base = "nsenter --net=/proc/" + std::to_string(daemon.pid()) + "/ns/net dig +time=2 +tries=1 @" +
                           server + " " + name + " " + type;
  const auto run =
      run_command(status ? base + " 2>&1 | sed -n 's/.*status: \\([A-Z]*\\),.*/\\1/p'" : base + " +short 2>&1");
  std::string out = run.output;
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

}  // namespace

TEST_CASE("host mode DNS: <name>.<domain> answers the reported address, nothing else is answered",
          "[integration][dns]") {
  TempDir dir;
  REQUIRE(::chmod(dir.path().c_str(), 0755) == 0);  // dnsmasq (nobody) reads its files under it
  std::optional<DaemonProcess> daemon;
  {
    InNewNetns netns;
    // The queries go from the namespace to its own gateway address: through lo.
    REQUIRE(run_command("ip link set lo up").exit_code == 0);
    daemon.emplace(dir.path());
    REQUIRE(netns.leave());
  }
  const auto a = daemon->ok("start", {{"name", "a"}, {"mode", "host"}});
  const auto b = daemon->ok("start", {{"name", "b"}, {"mode", "host"}});
  const std::string gateway = b["network"]["gateway"];
  const std::string b_address = b["network"]["address"];
  CHECK(b["network"]["domain"] == "squib.internal");
  CHECK(b["network"]["dns"] == gateway);

  // dnsmasq reads the names directory by inotify: the name appears shortly after `start`.
  CHECK(eventually([&] { return dig(*daemon, gateway, "b.squib.internal", "A") == b_address; }));
  CHECK(dig(*daemon, gateway, "a.squib.internal", "A") == a["network"]["address"].get<std::string>());
  CHECK(dig(*daemon, gateway, "B.Squib.Internal", "A") == b_address);  // DNS ignores case
  // AAAA: the guest's SLAAC address (issue 13), answered on the IPv6 gateway as well.
  const std::string b_address6 = b["network"]["address6"];
  CHECK(dig(*daemon, gateway, "b.squib.internal", "AAAA") == b_address6);
  CHECK(dig(*daemon, b["network"]["gateway6"], "b.squib.internal", "A") == b_address);
  CHECK(dig(*daemon, b["network"]["gateway6"], "b.squib.internal", "AAAA") == b_address6);
  // Host mode has no upstream: a name of ours that does not exist is NXDOMAIN (--local), any
  // other name is refused rather than forwarded.
  CHECK(dig(*daemon, gateway, "nosuch.squib.internal", "A", true) == "NXDOMAIN");
  CHECK(dig(*daemon, gateway, "example.com", "A", true) == "REFUSED");

  // `status` reports the domain with the network.
  const auto status = daemon->ok("status");
  REQUIRE(status["networks"].size() == 1);
  CHECK(status["networks"][0]["domain"] == "squib.internal");

  // A different domain for the existing network is refused naming `domain`.
  const auto refused = daemon->call("start", {{"name", "c"}, {"mode", "host"}, {"domain", "other.test"}});
  CHECK(refused.error_code == k_invalid_params);
  CHECK(refused.error_message == "domain: network 'default' already uses squib.internal");
  const auto malformed = daemon->call("start", {{"name", "c"}, {"mode", "host"}, {"domain", "bad_domain"}});
  CHECK(malformed.error_code == k_invalid_params);
  CHECK(malformed.error_message.starts_with("invalid params: domain: "));

  // A second network with its own domain, served by its own dnsmasq on its own gateway.
  const auto d = daemon->ok("start", {{"name", "d"}, {"mode", "host"}, {"network", "lab"}, {"domain", "lab.test"}});
  CHECK(d["network"]["domain"] == "lab.test");
  const std::string lab_gateway = d["network"]["gateway"];
  CHECK(lab_gateway != gateway);
  CHECK(eventually(
      [&] { return dig(*daemon, lab_gateway, "d.lab.test", "A") == d["network"]["address"].get<std::string>(); }));
  CHECK(dig(*daemon, lab_gateway, "b.squib.internal", "A", true) == "REFUSED");  // not its names

  // Each attachment records its network's domain (state.json), so whichever of them recreates
  // the network after a restart recreates it with the same domain.
  {
    std::ifstream in(daemon->run_dir() + "/state.json");
    const json state = json::parse(in);
    std::map<std::string, std::string> domains;
    for (const auto& entry : state["attachments"]) domains[entry["name"]] = entry.value("domain", "");
    CHECK(domains ==
          std::map<std::string, std::string>{{"a", "squib.internal"}, {"b", "squib.internal"}, {"d", "lab.test"}});
  }

  // A name that is not a DNS label gets no name (and is logged), the attachment still starts.
  daemon->ok("start", {{"name", "under_score"}, {"mode", "host"}});

  // `resolve` answers from the daemon's records, by name or fully qualified.
  const auto resolved = daemon->ok("resolve", {{"name", "b"}});
  CHECK(resolved ==
        json{{"name", "b"}, {"fqdn", "b.squib.internal"}, {"address", b_address}, {"address6", b_address6}});
  CHECK(daemon->ok("resolve", {{"name", "b.squib.internal"}}) == resolved);
  CHECK(daemon->call("resolve", {{"name", "b.lab.test"}}).error_code == k_not_found);
  CHECK(daemon->call("resolve", {{"name", "nosuch"}}).error_code == k_not_found);
  const auto unnamed = daemon->call("resolve", {{"name", "under_score"}});
  CHECK(unnamed.error_code == k_not_found);
  CHECK(unnamed.error_message ==
        "attachment 'under_score' has no DNS name: its name is not a DNS label ([A-Za-z0-9-], 1-63 characters)");
  const auto netctl =
      run_command(std::string(SQUIB_NETCTL_PATH) + " --control " + daemon->control_path() + " resolve d.lab.test");
  CHECK(netctl.exit_code == 0);
  CHECK(netctl.output == "d.lab.test " + d["network"]["address"].get<std::string>() + " " +
                             d["network"]["address6"].get<std::string>() + "\n");
  // `squib-netctl status` shows each network's IPv6 /64 and domain.
  const auto status_text =
      run_command(std::string(SQUIB_NETCTL_PATH) + " --control " + daemon->control_path() + " status").output;
  CHECK(status_text.find("SUBNET6") != std::string::npos);
  for (const auto* network : {&b, &d}) {
    INFO(status_text);
    const std::string row_part = (*network)["network"]["gateway"].get<std::string>() + "  " +
                                 (*network)["network"]["subnet6"].get<std::string>();
    CHECK(status_text.find(row_part) != std::string::npos);
  }
  CHECK(status_text.find(" lab.test ") != std::string::npos);

  // A stopped attachment's name goes (dnsmasq drops a deleted --hostsdir file by inotify).
  daemon->ok("stop", {{"name", "b"}});
  CHECK(eventually([&] { return dig(*daemon, gateway, "b.squib.internal", "A", true) == "NXDOMAIN"; }));
  CHECK(dig(*daemon, gateway, "a.squib.internal", "A") == a["network"]["address"].get<std::string>());
}

TEST_CASE("resolve: members see only their own attachments' names", "[integration][dns][tenancy]") {
  TestGroup group{"d"};
  TestAccount alice{"a", group.name()};
  TestAccount bob{"b", group.name()};
  TempDir dir;
  REQUIRE(::chmod(dir.path().c_str(), 0755) == 0);
  std::optional<DaemonProcess> daemon;
  {
    InNewNetns netns;
    daemon.emplace(dir.path(), std::vector<std::string>{"--group", group.name()});
    REQUIRE(netns.leave());
  }
  const auto started = daemon->ok(
      "start", {{"name", "alices"}, {"mode", "host"}, {"owner", {{"uid", alice.uid()}, {"gid", alice.gid()}}}});
  MemberProcess as_alice(alice);
  MemberProcess as_bob(bob);
  auto alice_client = as_alice.connect(daemon->control_path());
  auto bob_client = as_bob.connect(daemon->control_path());
  REQUIRE(alice_client.ok());
  REQUIRE(bob_client.ok());
  CHECK(ok(alice_client.value(), "resolve", {{"name", "alices"}})["address"] == started["network"]["address"]);
  const auto refused = call(bob_client.value(), "resolve", {{"name", "alices.squib.internal"}});
  CHECK(refused.error_code == k_permission_denied);
  CHECK(refused.error_message.starts_with("attachment 'alices' belongs to uid " + std::to_string(alice.uid())));
}
