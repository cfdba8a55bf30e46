// Tests of squib/proto/messages.hpp: start/stop/stats parameters. Every rejection is a
// ParamError whose message names the field ("mtu: must be an integer from 68 to 65535"),
// which the dispatcher sends as -32602; defaults; to_json → parse round trips.

#include <squib/proto/messages.hpp>

#include <string>

#include "support/catch.hpp"

namespace {

using squib::proto::Framing;
using squib::proto::json;
using squib::proto::Mode;
using squib::proto::ParamError;
using squib::proto::parse_name_param;
using squib::proto::parse_start_params;
using squib::proto::StartParams;

// `{"name":"vm1"}` merged with `extra`.
json with_name(json extra) {
  json params = {{"name", "vm1"}};
  params.update(extra);
  return params;
}

// Expects parse_start_params(params) to throw a ParamError for `field` whose what() is exactly
// "<field>: <reason>".
void require_rejected(const json& params, const std::string& field, const std::string& reason) {
  INFO("params: " << params.dump());
  try {
    (void)parse_start_params(params);
    FAIL("accepted");
  } catch (const ParamError& e) {
    CHECK(e.field() == field);
    CHECK(std::string(e.what()) == field + ": " + reason);
  }
}

void require_same(const StartParams& a, const StartParams& b) {
  CHECK(a.name == b.name);
  CHECK(a.mode == b.mode);
  CHECK(a.network == b.network);
  CHECK(a.mac == b.mac);
  CHECK(a.mtu == b.mtu);
  CHECK(a.bridge == b.bridge);
  CHECK(a.subnet == b.subnet);
  CHECK(a.isolation == b.isolation);
  CHECK(a.owner.has_value() == b.owner.has_value());
  if (a.owner && b.owner) {
    CHECK(a.owner->uid == b.owner->uid);
    CHECK(a.owner->gid == b.owner->gid);
  }
  CHECK(a.fd_passing == b.fd_passing);
  if (a.mode == Mode::userspace) {
    CHECK(a.userspace.kind == b.userspace.kind);
    CHECK(a.userspace.path == b.userspace.path);
    CHECK(a.userspace.args == b.userspace.args);
    CHECK(a.userspace.framing == b.userspace.framing);
  }
}

const std::string k_name_rule = "must match [A-Za-z0-9_.-]{1,64} and not be . or ..";
const std::string k_mtu_rule = "must be an integer from 68 to 65535";
const std::string k_id_rule = "must be an integer from 0 to 4294967294";

}  // namespace

TEST_CASE("parse_start_params fills in the defaults", "[proto][messages]") {
  const auto params = parse_start_params(json{{"name", "vm1"}});
  CHECK(params.name == "vm1");
  CHECK(params.mode == Mode::shared);
  CHECK(params.network == "default");
  CHECK_FALSE(params.mac);
  CHECK(params.mtu == 1500);
  CHECK_FALSE(params.bridge);
  CHECK_FALSE(params.subnet);
  CHECK_FALSE(params.isolation);
  CHECK(params.userspace.kind == "passt");
  CHECK_FALSE(params.userspace.path);
  CHECK(params.userspace.args.empty());
  CHECK_FALSE(params.userspace.framing);
  CHECK_FALSE(params.owner);
  CHECK_FALSE(params.fd_passing);

  SECTION("null members count as absent") {
    const auto nulls = parse_start_params(
        with_name({{"mode", nullptr}, {"mtu", nullptr}, {"mac", nullptr}, {"owner", nullptr}, {"userspace", nullptr}}));
    CHECK(nulls.mode == Mode::shared);
    CHECK(nulls.mtu == 1500);
    CHECK_FALSE(nulls.mac);
    CHECK_FALSE(nulls.owner);
  }
  SECTION("unknown members are ignored") { CHECK(parse_start_params(with_name({{"colour", "blue"}})).name == "vm1"); }
}

namespace {

// What parse_start_params says about `params`: its ParamError, or "(accepted)".
std::string refusal(const json& params) {
  try {
    parse_start_params(params);
  } catch (const squib::proto::ParamError& e) {
    return e.what();
  }
  return "(accepted)";
}

}  // namespace

TEST_CASE("parse_start_params refuses parameters that do not apply to the mode, naming the field",
          "[proto][messages]") {
  CHECK(refusal({{"name", "u"}, {"mode", "userspace"}, {"subnet", "10.0.0.0/24"}}) ==
        "subnet: applies only to modes host and shared");
  CHECK(refusal({{"name", "u"}, {"mode", "bridged"}, {"bridge", "br0"}, {"address", "10.0.0.5"}}) ==
        "address: applies only to modes host and shared");
  CHECK(refusal({{"name", "u"}, {"mode", "userspace"}, {"network", "lab"}}) ==
        "network: does not apply to mode userspace (its stack is its own)");
  CHECK(refusal({{"name", "u"}, {"mode", "userspace"}, {"isolation", true}}) ==
        "isolation: does not apply to mode userspace (its stack is its own)");
  CHECK(refusal({{"name", "u"}, {"mode", "host"}, {"address", "10.0.0"}}) ==
        "address: must be a literal IPv4 address, e.g. 192.168.105.20");
  // The defaults, as older state files and scripts carry them, are accepted.
  CHECK(refusal({{"name", "u"}, {"mode", "userspace"}, {"network", "default"}, {"isolation", false}}) == "(accepted)");
}

TEST_CASE("parse_start_params reads every field", "[proto][messages]") {
  const auto params = parse_start_params(json{
      {"name", "build-1"},
      {"mode", "host"},
      {"network", "lab.net"},
      {"mac", "52:54:00:AB:CD:EF"},
      {"mtu", 9000},
      {"subnet", "192.168.105.0/24"},
      {"address", "192.168.105.7"},
      {"isolation", true},
      {"userspace", {{"kind", "custom"}, {"path", "/usr/bin/passt"}, {"args", {"--one", "-x"}}, {"framing", "vfkit"}}},
      {"owner", {{"uid", 1000}, {"gid", 100}}},
      {"fd_passing", true}});
  CHECK(params.name == "build-1");
  CHECK(params.mode == Mode::host);
  CHECK(params.address == "192.168.105.7");
  CHECK(params.network == "lab.net");
  CHECK(params.mac == "52:54:00:ab:cd:ef");  // normalised to lower case
  CHECK(params.mtu == 9000);
  CHECK(params.subnet == "192.168.105.0/24");
  CHECK(params.isolation);
  CHECK(params.userspace.kind == "custom");
  CHECK(params.userspace.path == "/usr/bin/passt");
  CHECK(params.userspace.args == std::vector<std::string>{"--one", "-x"});
  CHECK(params.userspace.framing == Framing::vfkit_datagram);
  REQUIRE(params.owner);
  CHECK(params.owner->uid == 1000);
  CHECK(params.owner->gid == 100);
  CHECK(params.fd_passing);

  SECTION("framing qemu") {
    CHECK(parse_start_params(with_name({{"userspace", {{"framing", "qemu"}}}})).userspace.framing ==
          Framing::qemu_stream);
  }
  SECTION("mode bridged with a bridge") {
    const auto bridged = parse_start_params(with_name({{"mode", "bridged"}, {"bridge", "br0"}}));
    CHECK(bridged.mode == Mode::bridged);
    CHECK(bridged.bridge == "br0");
  }
  SECTION("owner gid defaults to the uid") {
    const auto owned = parse_start_params(with_name({{"owner", {{"uid", 501}}}}));
    REQUIRE(owned.owner);
    CHECK(owned.owner->gid == 501);
  }
  SECTION("MTU bounds are inclusive") {
    CHECK(parse_start_params(with_name({{"mtu", 68}})).mtu == 68);
    CHECK(parse_start_params(with_name({{"mtu", 65535}})).mtu == 65535);
  }
  SECTION("owner bounds are inclusive") {
    const auto owned = parse_start_params(with_name({{"owner", {{"uid", 0}, {"gid", 4294967294U}}}}));
    CHECK(owned.owner->uid == 0);
    CHECK(owned.owner->gid == 4294967294U);
  }
}

TEST_CASE("parse_start_params: name", "[proto][messages]") {
  require_rejected(json::object(), "name", "is required");
  require_rejected(json{{"name", nullptr}}, "name", "is required");
  require_rejected(json{{"name", 5}}, "name", "must be a string");
  require_rejected(json{{"name", ""}}, "name", k_name_rule);
  require_rejected(json{{"name", ".."}}, "name", k_name_rule);
  require_rejected(json{{"name", "../../etc/passwd"}}, "name", k_name_rule);
  require_rejected(json{{"name", std::string(65, 'a')}}, "name", k_name_rule);
  SECTION("params that are not an object have no name") {
    require_rejected(json::array({"vm1"}), "name", "is required");
    require_rejected(json("vm1"), "name", "is required");
  }
}

TEST_CASE("parse_start_params: mode and network", "[proto][messages]") {
  require_rejected(with_name({{"mode", "nat"}}), "mode", "must be shared, host, bridged or userspace");
  require_rejected(with_name({{"mode", "Shared"}}), "mode", "must be shared, host, bridged or userspace");
  require_rejected(with_name({{"mode", 1}}), "mode", "must be a string");
  require_rejected(with_name({{"network", "a/b"}}), "network", k_name_rule);
  require_rejected(with_name({{"network", true}}), "network", "must be a string");
}

TEST_CASE("parse_start_params: mac", "[proto][messages]") {
  require_rejected(with_name({{"mac", "zz"}}), "mac", "must look like 02:00:00:00:00:01");
  require_rejected(with_name({{"mac", "02-00-00-00-00-01"}}), "mac", "must look like 02:00:00:00:00:01");
  require_rejected(with_name({{"mac", 2}}), "mac", "must be a string");
  require_rejected(with_name({{"mac", "01:00:5e:00:00:01"}}), "mac", "must be a unicast, non-zero address");
  require_rejected(with_name({{"mac", "ff:ff:ff:ff:ff:ff"}}), "mac", "must be a unicast, non-zero address");
  require_rejected(with_name({{"mac", "00:00:00:00:00:00"}}), "mac", "must be a unicast, non-zero address");
}

TEST_CASE("parse_start_params: mtu", "[proto][messages]") {
  require_rejected(with_name({{"mtu", 67}}), "mtu", k_mtu_rule);
  require_rejected(with_name({{"mtu", 65536}}), "mtu", k_mtu_rule);
  require_rejected(with_name({{"mtu", 0}}), "mtu", k_mtu_rule);
  require_rejected(with_name({{"mtu", -1500}}), "mtu", k_mtu_rule);
  require_rejected(with_name({{"mtu", 1500.5}}), "mtu", k_mtu_rule);
  require_rejected(with_name({{"mtu", 1500.0}}), "mtu", k_mtu_rule);
  require_rejected(with_name({{"mtu", "1500"}}), "mtu", k_mtu_rule);
  require_rejected(with_name({{"mtu", true}}), "mtu", k_mtu_rule);
  require_rejected(with_name({{"mtu", 4294968796ULL}}), "mtu", k_mtu_rule);            // 2^32 + 1500
  require_rejected(with_name({{"mtu", 18446744073709551615ULL}}), "mtu", k_mtu_rule);  // 2^64 - 1
  require_rejected(with_name({{"mtu", -9223372036854775807LL - 1}}), "mtu", k_mtu_rule);
}

TEST_CASE("parse_start_params: bridge", "[proto][messages]") {
  const std::string k_bridge_rule = "must be an interface name of 1 to 15 characters [A-Za-z0-9_.-]";
  require_rejected(with_name({{"bridge", "br0"}}), "bridge", "applies only to mode bridged");
  require_rejected(with_name({{"mode", "userspace"}, {"bridge", "br0"}}), "bridge", "applies only to mode bridged");
  require_rejected(with_name({{"mode", "bridged"}}), "bridge", "is required for mode bridged");
  require_rejected(with_name({{"mode", "bridged"}, {"bridge", ""}}), "bridge", k_bridge_rule);
  require_rejected(with_name({{"mode", "bridged"}, {"bridge", std::string(16, 'b')}}), "bridge", k_bridge_rule);
  require_rejected(with_name({{"mode", "bridged"}, {"bridge", "br 0"}}), "bridge", k_bridge_rule);
  require_rejected(with_name({{"mode", "bridged"}, {"bridge", ".."}}), "bridge", k_bridge_rule);
  require_rejected(with_name({{"mode", "bridged"}, {"bridge", 0}}), "bridge", "must be a string");
  CHECK(parse_start_params(with_name({{"mode", "bridged"}, {"bridge", std::string(15, 'b')}})).bridge ==
        std::string(15, 'b'));
}

TEST_CASE("parse_start_params: subnet, isolation, fd_passing", "[proto][messages]") {
  require_rejected(with_name({{"subnet", 24}}), "subnet", "must be a string");
  require_rejected(with_name({{"isolation", "yes"}}), "isolation", "must be true or false");
  require_rejected(with_name({{"isolation", 1}}), "isolation", "must be true or false");
  require_rejected(with_name({{"fd_passing", 1}}), "fd_passing", "must be true or false");
}

TEST_CASE("parse_start_params: userspace", "[proto][messages]") {
  require_rejected(with_name({{"userspace", "passt"}}), "userspace", "must be an object");
  require_rejected(with_name({{"userspace", json::array()}}), "userspace", "must be an object");
  require_rejected(with_name({{"userspace", {{"kind", "slirp"}}}}), "userspace.kind",
                   "must be passt, gvproxy or custom");
  require_rejected(with_name({{"userspace", {{"kind", 1}}}}), "userspace.kind", "must be a string");
  require_rejected(with_name({{"userspace", {{"path", ""}}}}), "userspace.path", "must be a non-empty path");
  require_rejected(with_name({{"userspace", {{"path", std::string("/bin/x\0y", 8)}}}}), "userspace.path",
                   "must be a non-empty path");
  require_rejected(with_name({{"userspace", {{"path", 7}}}}), "userspace.path", "must be a string");
  require_rejected(with_name({{"userspace", {{"args", "--x"}}}}), "userspace.args", "must be an array of strings");
  require_rejected(with_name({{"userspace", {{"args", {"--x", 1}}}}}), "userspace.args", "must be an array of strings");
  require_rejected(with_name({{"userspace", {{"args", {{"a", "b"}}}}}}), "userspace.args",
                   "must be an array of strings");
  require_rejected(with_name({{"userspace", {{"framing", "tcp"}}}}), "userspace.framing", "must be qemu or vfkit");
  require_rejected(with_name({{"userspace", {{"framing", false}}}}), "userspace.framing", "must be a string");
}

TEST_CASE("parse_start_params: owner", "[proto][messages]") {
  require_rejected(with_name({{"owner", 1000}}), "owner", "must be an object {uid, gid}");
  require_rejected(with_name({{"owner", json::object()}}), "owner.uid", "is required");
  require_rejected(with_name({{"owner", {{"gid", 1}}}}), "owner.uid", "is required");
  require_rejected(with_name({{"owner", {{"uid", -1}}}}), "owner.uid", k_id_rule);
  require_rejected(with_name({{"owner", {{"uid", 4294967295U}}}}), "owner.uid", k_id_rule);
  require_rejected(with_name({{"owner", {{"uid", "0"}}}}), "owner.uid", k_id_rule);
  require_rejected(with_name({{"owner", {{"uid", 1}, {"gid", 4294967295U}}}}), "owner.gid", k_id_rule);
  require_rejected(with_name({{"owner", {{"uid", 1}, {"gid", 1.0}}}}), "owner.gid", k_id_rule);
}

TEST_CASE("to_json writes the control protocol's shape", "[proto][messages]") {
  SECTION("defaults: only the always-present members") {
    CHECK(squib::proto::to_json(parse_start_params(json{{"name", "vm1"}})) ==
          json{{"name", "vm1"}, {"mode", "shared"}, {"network", "default"}, {"mtu", 1500}, {"isolation", false}});
  }
  SECTION("userspace members appear only for mode userspace") {
    const auto out = squib::proto::to_json(parse_start_params(with_name({{"mode", "userspace"}})));
    CHECK(out["userspace"] == json{{"kind", "passt"}, {"args", json::array()}});
  }
}

TEST_CASE("to_json → parse_start_params round-trips", "[proto][messages]") {
  const json input =
      GENERATE(json{{"name", "vm1"}}, json{{"name", "b"}, {"mode", "bridged"}, {"bridge", "br-lan"}, {"mtu", 68}},
               json{{"name", "h"},
                    {"mode", "host"},
                    {"network", "n2"},
                    {"isolation", true},
                    {"subnet", "10.0.0.0/8"},
                    {"mac", "02:AA:00:00:00:01"}},
               json{{"name", "u"},
                    {"mode", "userspace"},
                    {"userspace", {{"kind", "custom"}, {"path", "/opt/x"}, {"args", {"a", ""}}, {"framing", "qemu"}}},
                    {"owner", {{"uid", 4294967294U}}},
                    {"fd_passing", true},
                    {"mtu", 65535}});
  INFO("input: " << input.dump());
  const auto parsed = parse_start_params(input);
  const auto again = parse_start_params(squib::proto::to_json(parsed));
  require_same(parsed, again);
  CHECK(squib::proto::to_json(again) == squib::proto::to_json(parsed));
}

TEST_CASE("Mode and Framing names", "[proto][messages]") {
  using squib::proto::mode_from_string;
  for (const auto mode : {Mode::shared, Mode::host, Mode::bridged, Mode::userspace}) {
    CHECK(mode_from_string(squib::proto::to_string(mode)) == mode);
  }
  CHECK(std::string(squib::proto::to_string(Mode::bridged)) == "bridged");
  CHECK_FALSE(mode_from_string(""));
  CHECK_FALSE(mode_from_string("SHARED"));
  CHECK(std::string(squib::proto::to_string(Framing::qemu_stream)) == "qemu");
  CHECK(std::string(squib::proto::to_string(Framing::vfkit_datagram)) == "vfkit");
}

TEST_CASE("parse_name_param", "[proto][messages]") {
  SECTION("required") {
    CHECK(parse_name_param(json{{"name", "vm1"}}, true) == "vm1");
    CHECK_THROWS_WITH(parse_name_param(json::object(), true), "name: is required");
    CHECK_THROWS_WITH(parse_name_param(json{{"name", nullptr}}, true), "name: is required");
  }
  SECTION("optional") {
    CHECK(parse_name_param(json::object(), false).empty());
    CHECK(parse_name_param(json{{"name", "vm1"}}, false) == "vm1");
  }
  SECTION("validated either way") {
    CHECK_THROWS_WITH(parse_name_param(json{{"name", "a/b"}}, false), "name: " + k_name_rule);
    CHECK_THROWS_WITH(parse_name_param(json{{"name", ""}}, true), "name: " + k_name_rule);
    CHECK_THROWS_WITH(parse_name_param(json{{"name", 3}}, false), "name: must be a string");
    CHECK_THROWS_AS(parse_name_param(json{{"name", 3}}, true), ParamError);
  }
}

// ---- Results and the requests squib-netctl sends: exact JSON of one example each (keys,
// null versus absent), and to_json → from_json round trips. ----

namespace {

using squib::proto::AttachmentInfo;
using squib::proto::AttachmentStats;
using squib::proto::DirectionStats;
using squib::proto::ForwardsResult;
using squib::proto::NameResult;
using squib::proto::NetworkInfo;
using squib::proto::NetworkStatus;
using squib::proto::PortForward;
using squib::proto::StartResult;
using squib::proto::StatusResult;

// to_json(value) → from_json → to_json gives the same JSON, and the text form too (what
// squib-netctl reads is parsed text: its integers are unsigned).
template <class T>
void require_round_trip(const T& value) {
  const json encoded = squib::proto::to_json(value);
  INFO("json: " << encoded.dump());
  CHECK(squib::proto::to_json(squib::proto::from_json<T>(encoded)) == encoded);
  CHECK(squib::proto::to_json(squib::proto::from_json<T>(json::parse(encoded.dump()))) == encoded);
}

AttachmentInfo userspace_info() {
  AttachmentInfo info;
  info.name = "vm1";
  info.mode = Mode::userspace;
  info.socket = "/run/squib-net/vm1.sock";
  info.mac = "02:87:98:c5:4e:19";
  info.state = "running";
  info.peer_connected = true;
  info.detail = "pid 42";
  info.forwards = {PortForward{"tcp", "127.0.0.1", 2222, 22}};
  return info;
}

AttachmentInfo fd_passed_info() {
  AttachmentInfo info;
  info.name = "p1";
  info.mode = Mode::host;
  info.network = "lab";
  info.mac = "02:00:00:00:00:01";
  info.mtu = 9000;
  info.address = "192.168.105.20";
  info.state = "starting";
  return info;
}

AttachmentStats some_stats() {
  AttachmentStats stats;
  stats.attachment = fd_passed_info();
  stats.from_vm = DirectionStats{2, 684, 2, 1.0};
  stats.to_vm = DirectionStats{3, 1000, 2, 1.5};
  stats.drops = {{"runt", 0}, {"spoofed_mac", 7}};
  stats.dropped_total = 7;
  stats.errors = 1;
  stats.handshakes = 2;
  stats.child_restarts = 3;
  stats.child_reconfigurations = 4;
  stats.uptime_s = 7.25;
  return stats;
}

NetworkInfo host_network() {
  NetworkInfo network;
  network.name = "default";
  network.subnet = "192.168.105.0/24";
  network.gateway = "192.168.105.1";
  network.dhcp_range = "192.168.105.2-192.168.105.254";
  network.bridge = "sqbr-0123abcd";
  return network;
}

StatusResult some_status() {
  StatusResult status;
  status.version = "0.9.0";
  status.loop = squib::proto::LoopStatus{12.5, 3};
  status.pid = 4242;
  status.uptime_s = 1.5;
  status.attachments = 2;
  status.platform = "linux";
  status.run_dir = "/run/squib-net";
  status.networks = {NetworkStatus{host_network(), Mode::shared, 2, 777}};
  status.networks[0].host_firewall = {{"ip filter FORWARD", "policy drop", "ip filter DOCKER-USER", "accepted"},
                                      {"inet ufw forward", "last rule drops", std::nullopt, "left"}};
  status.backends = {{"passt", "/usr/bin/passt"}, {"gvproxy", std::nullopt}};
  status.kernel = {"bridge", "Linux 6.1.0-18-amd64", {{"isolation", true}, {"tso", false}}};
  return status;
}

}  // namespace

TEST_CASE("StartResult: exact JSON and round trip", "[proto][messages]") {
  StartResult result{"vm1",
                     Mode::userspace,
                     "/run/squib-net/vm1.sock",
                     "02:87:98:c5:4e:19",
                     1500,
                     std::nullopt,
                     {},
                     std::nullopt,
                     std::nullopt,
                     true};
  result.network.name = "default";
  // The example of proto/control-protocol.md: subnet and gateway null, the rest absent.
  CHECK(squib::proto::to_json(result) ==
        json::parse(R"({"name":"vm1","mode":"userspace","socket":"/run/squib-net/vm1.sock","mac":"02:87:98:c5:4e:19",
                        "mtu":1500,"network":{"name":"default","subnet":null,"gateway":null}})"));
  require_round_trip(result);
  SECTION("fd passing: socket null; a host network's members") {
    result.socket.reset();
    result.mode = Mode::host;
    result.network = host_network();
    result.network.address = "192.168.105.20";
    result.network.tap = "sq-01";
    const json out = squib::proto::to_json(result);
    CHECK(out.at("socket").is_null());
    CHECK(out.at("network") == json{{"name", "default"},
                                    {"subnet", "192.168.105.0/24"},
                                    {"gateway", "192.168.105.1"},
                                    {"dhcp_range", "192.168.105.2-192.168.105.254"},
                                    {"bridge", "sqbr-0123abcd"},
                                    {"address", "192.168.105.20"},
                                    {"tap", "sq-01"}});
    require_round_trip(result);
  }
  SECTION("vmnet: the largest frame it takes") {
    result.max_packet_size = 65550;
    CHECK(squib::proto::to_json(result).at("max_packet_size") == 65550);
    require_round_trip(result);
  }
}

TEST_CASE("NameResult and ForwardsResult: exact JSON and round trip", "[proto][messages]") {
  CHECK(squib::proto::to_json(NameResult{"vm1"}) == json{{"name", "vm1"}});
  require_round_trip(NameResult{"vm1"});
  const ForwardsResult forwards{"vm1",
                                {PortForward{"tcp", "127.0.0.1", 2222, 22}, PortForward{"udp", "0.0.0.0", 53, 53}}};
  CHECK(squib::proto::to_json(forwards) ==
        json::parse(R"({"name":"vm1","forwards":[{"protocol":"tcp","host":"127.0.0.1:2222","guest_port":22},
                                                  {"protocol":"udp","host":"0.0.0.0:53","guest_port":53}]})"));
  require_round_trip(forwards);
  SECTION("no forwards left: an empty array, never absent") {
    CHECK(squib::proto::to_json(ForwardsResult{"vm1", {}}) == json{{"name", "vm1"}, {"forwards", json::array()}});
    require_round_trip(ForwardsResult{"vm1", {}});
  }
}

TEST_CASE("AttachmentInfo: exact JSON (null socket/address, absent detail/forwards) and round trip",
          "[proto][messages]") {
  CHECK(squib::proto::to_json(userspace_info()) ==
        json::parse(R"({"name":"vm1","mode":"userspace","network":"default","socket":"/run/squib-net/vm1.sock",
                        "mac":"02:87:98:c5:4e:19","mtu":1500,"address":null,"state":"running","peer_connected":true,
                        "detail":"pid 42",
                        "forwards":[{"protocol":"tcp","host":"127.0.0.1:2222","guest_port":22}]})"));
  const json bare = squib::proto::to_json(fd_passed_info());
  CHECK(bare == json::parse(R"({"name":"p1","mode":"host","network":"lab","socket":null,"mac":"02:00:00:00:00:01",
                                "mtu":9000,"address":"192.168.105.20","state":"starting","peer_connected":false})"));
  CHECK_FALSE(bare.contains("detail"));
  CHECK_FALSE(bare.contains("forwards"));
  require_round_trip(userspace_info());
  require_round_trip(fd_passed_info());
  require_round_trip(std::vector<AttachmentInfo>{userspace_info(), fd_passed_info()});
  CHECK(squib::proto::to_json(std::vector<AttachmentInfo>{}) == json::array());
}

TEST_CASE("AttachmentStats: exact JSON and round trip", "[proto][messages]") {
  json expected = squib::proto::to_json(fd_passed_info());
  expected.update(json::parse(R"({"from_vm":{"frames":2,"bytes":684,"batches":2,"mean_batch":1.0},
                                  "to_vm":{"frames":3,"bytes":1000,"batches":2,"mean_batch":1.5},
                                  "drops":{"runt":0,"spoofed_mac":7},"dropped_total":7,"errors":1,"handshakes":2,
                                  "child_restarts":3,"child_reconfigurations":4,"uptime_s":7.25})"));
  CHECK(squib::proto::to_json(some_stats()) == expected);
  CHECK(squib::proto::to_json(DirectionStats{2, 684, 2, 1.0}) ==
        json{{"frames", 2}, {"bytes", 684}, {"batches", 2}, {"mean_batch", 1.0}});
  require_round_trip(DirectionStats{2, 684, 2, 1.0});
  require_round_trip(some_stats());
  require_round_trip(std::vector<AttachmentStats>{some_stats()});
}

TEST_CASE("StatusResult: exact JSON (loop null without a probe, a missing backend null) and round trip",
          "[proto][messages]") {
  CHECK(squib::proto::to_json(some_status()) ==
        json::parse(R"({"version":"0.9.0","loop":{"max_stall_ms":12.5,"stalls_over_10ms":3},"pid":4242,
                        "uptime_s":1.5,"attachments":2,"platform":"linux","run_dir":"/run/squib-net",
                        "networks":[{"name":"default","subnet":"192.168.105.0/24","gateway":"192.168.105.1",
                                     "dhcp_range":"192.168.105.2-192.168.105.254","bridge":"sqbr-0123abcd",
                                     "backend":"bridge","mode":"shared","attachments":2,"dnsmasq_pid":777,
                                     "host_firewall":[{"chain":"ip filter FORWARD","verdict":"policy drop",
                                                       "rules_chain":"ip filter DOCKER-USER","action":"accepted"},
                                                      {"chain":"inet ufw forward","verdict":"last rule drops",
                                                       "rules_chain":null,"action":"left"}]}],
                        "backends":{"passt":"/usr/bin/passt","gvproxy":null},
                        "kernel":{"backend":"bridge","os":"Linux 6.1.0-18-amd64",
                                  "capabilities":{"isolation":true,"tso":false}}})"));
  require_round_trip(some_status());
  require_round_trip(NetworkStatus{host_network(), Mode::host, 0, 0});
  StatusResult bare = some_status();
  bare.loop.reset();
  bare.networks.clear();
  bare.kernel = {std::nullopt, "Linux 6.1.0-18-amd64", {}};  // userspace only
  const json out = squib::proto::to_json(bare);
  CHECK(out.at("loop").is_null());
  CHECK(out.at("networks") == json::array());
  CHECK(out.at("kernel").at("backend").is_null());
  require_round_trip(bare);
}

TEST_CASE("from_json names the member it cannot read", "[proto][messages]") {
  using squib::proto::from_json;
  json start = squib::proto::to_json(StartResult{"vm1",
                                                 Mode::shared,
                                                 std::nullopt,
                                                 "02:00:00:00:00:01",
                                                 1500,
                                                 std::nullopt,
                                                 {},
                                                 std::nullopt,
                                                 std::nullopt,
                                                 true});
  start["network"]["name"] = "default";
  CHECK_THROWS_WITH(from_json<StartResult>(json::array()), "result: must be an object");
  json broken = start;
  broken.erase("mac");
  CHECK_THROWS_WITH(from_json<StartResult>(broken), "mac: is required");
  broken = start;
  broken["mode"] = "warp";
  CHECK_THROWS_WITH(from_json<StartResult>(broken), "mode: must be shared, host, bridged or userspace");
  broken = start;
  broken["network"].erase("name");
  CHECK_THROWS_WITH(from_json<StartResult>(broken), "network.name: is required");
  json list = squib::proto::to_json(std::vector<AttachmentInfo>{userspace_info(), fd_passed_info()});
  list[1]["peer_connected"] = "yes";
  CHECK_THROWS_WITH(from_json<std::vector<AttachmentInfo>>(list), "[1].peer_connected: must be true or false");
  json stats = squib::proto::to_json(std::vector<AttachmentStats>{some_stats()});
  stats[0]["from_vm"]["bytes"] = -1;
  CHECK_THROWS_WITH(from_json<std::vector<AttachmentStats>>(stats),
                    "[0].from_vm.bytes: must be a non-negative integer");
  json status = squib::proto::to_json(some_status());
  status["networks"][0]["attachments"] = "two";
  CHECK_THROWS_WITH(from_json<StatusResult>(status), "networks[0].attachments: must be a non-negative integer");
  json forwards = squib::proto::to_json(ForwardsResult{"vm1", {}});
  forwards.erase("forwards");
  CHECK_THROWS_WITH(from_json<ForwardsResult>(forwards), "forwards: is required");
}

TEST_CASE("Requests squib-netctl sends", "[proto][messages]") {
  using squib::proto::to_json;
  const PortForward forward{"udp", "127.0.0.1", 5353, 53};
  SECTION("exact JSON") {
    CHECK(to_json(squib::proto::NoParams{}) == json::object());
    CHECK(to_json(squib::proto::NameParams{"vm1"}) == json{{"name", "vm1"}});
    CHECK(to_json(squib::proto::StatsParams{}) == json::object());
    CHECK(to_json(squib::proto::StatsParams{"vm1"}) == json{{"name", "vm1"}});
    CHECK(to_json(squib::proto::ForwardParams{"vm1", forward}) ==
          json{{"name", "vm1"}, {"protocol", "udp"}, {"host", "127.0.0.1:5353"}, {"guest_port", 53}});
    CHECK(to_json(squib::proto::UnforwardParams{"vm1", forward}) ==
          json{{"name", "vm1"}, {"protocol", "udp"}, {"host", "127.0.0.1:5353"}});
  }
  SECTION("the daemon's parsers read them back") {
    CHECK(parse_name_param(to_json(squib::proto::NameParams{"vm1"}), true) == "vm1");
    CHECK(parse_name_param(to_json(squib::proto::StatsParams{}), false).empty());
    const json forward_params = to_json(squib::proto::ForwardParams{"vm1", forward});
    CHECK(parse_name_param(forward_params, true) == "vm1");
    CHECK(squib::proto::parse_forward_params(forward_params, true) == forward);
    const json unforward_params = to_json(squib::proto::UnforwardParams{"vm1", forward});
    PortForward without_guest = forward;
    without_guest.guest_port = 0;
    CHECK(squib::proto::parse_forward_params(unforward_params, false) == without_guest);
  }
  SECTION("start: only what differs from the defaults") {
    CHECK(squib::proto::to_request_json(parse_start_params(json{{"name", "vm1"}})) ==
          json{{"name", "vm1"}, {"mode", "shared"}});
    const auto given =
        parse_start_params(with_name({{"mode", "userspace"}, {"mtu", 9000}, {"userspace", {{"kind", "gvproxy"}}}}));
    CHECK(squib::proto::to_request_json(given) == json{{"name", "vm1"},
                                                       {"mode", "userspace"},
                                                       {"mtu", 9000},
                                                       {"userspace", {{"kind", "gvproxy"}, {"args", json::array()}}}});
    require_same(parse_start_params(squib::proto::to_request_json(given)), given);
  }
  SECTION("parse_forward_text: the text form, with the rules of parse_forward_params") {
    using squib::proto::parse_forward_text;
    CHECK(parse_forward_text("tcp", "2222", 22) == PortForward{"tcp", "127.0.0.1", 2222, 22});
    CHECK(parse_forward_text("udp", "0.0.0.0:53", std::nullopt) == PortForward{"udp", "0.0.0.0", 53, 0});
    CHECK_THROWS_WITH(parse_forward_text("icmp", "2222", 22), "protocol: must be tcp or udp");
    CHECK_THROWS_WITH(parse_forward_text("tcp", "host:22", 22), "host: must be PORT or IPV4:PORT, e.g. 127.0.0.1:2222");
    CHECK_THROWS_WITH(parse_forward_text("tcp", "70000", 22),
                      "host: must be PORT or IPV4:PORT with a port from 1 to 65535");
    CHECK_THROWS_WITH(parse_forward_text("tcp", "2222", 0), "guest_port: must be an integer from 1 to 65535");
  }
}

TEST_CASE("parse_start_params: handoff and queues", "[proto][messages]") {
  const auto tap = parse_start_params({{"name", "t"}, {"mode", "host"}, {"handoff", "tap"}, {"queues", 4}});
  REQUIRE(tap.handoff == squib::proto::Handoff::tap);
  CHECK(tap.queues == 4);
  CHECK(parse_start_params({{"name", "t"}, {"mode", "shared"}, {"handoff", "fd"}}).handoff == squib::proto::Handoff::fd);
  CHECK_FALSE(parse_start_params({{"name", "t"}}).handoff.has_value());
  CHECK(parse_start_params({{"name", "t"}}).queues == 1);
  // Round trip (state.json): the handoff and its queues come back.
  const auto again = parse_start_params(squib::proto::to_json(tap));
  CHECK(again.handoff == squib::proto::Handoff::tap);
  CHECK(again.queues == 4);
  CHECK(refusal({{"name", "t"}, {"mode", "host"}, {"handoff", "vhost"}}) == "handoff: must be tap or fd");
  CHECK(refusal({{"name", "t"}, {"mode", "userspace"}, {"handoff", "tap"}}) ==
        "handoff: userspace attachments take only fd (passt's socket)");
  CHECK(refusal({{"name", "t"}, {"mode", "host"}, {"handoff", "fd"}, {"fd_passing", true}}) ==
        "handoff: cannot be combined with fd_passing (the VM gets the TAP itself)");
  CHECK(refusal({{"name", "t"}, {"mode", "host"}, {"queues", 2}}) == "queues: applies only with handoff");
  CHECK(refusal({{"name", "t"}, {"mode", "host"}, {"handoff", "tap"}, {"queues", 17}}).starts_with("queues: "));
}

TEST_CASE("parse_start_params: offload", "[proto][messages]") {
  const auto on = parse_start_params({{"name", "t"}, {"mode", "host"}, {"offload", true}});
  CHECK(on.offload);
  CHECK_FALSE(parse_start_params({{"name", "t"}}).offload);
  CHECK(parse_start_params({{"name", "t"}, {"mode", "bridged"}, {"bridge", "br0"}, {"offload", true}}).offload);
  // Round trip (state.json): offload comes back; absent when off.
  CHECK(parse_start_params(squib::proto::to_json(on)).offload);
  CHECK_FALSE(squib::proto::to_json(parse_start_params({{"name", "t"}})).contains("offload"));
  CHECK(refusal({{"name", "t"}, {"mode", "host"}, {"offload", "yes"}}) == "offload: must be true or false");
  CHECK(refusal({{"name", "t"}, {"mode", "userspace"}, {"offload", true}}) ==
        "offload: applies only to modes host, shared and bridged (a userspace stack takes plain frames)");
  CHECK(refusal({{"name", "t"}, {"mode", "host"}, {"handoff", "tap"}, {"offload", true}}) ==
        "offload: cannot be combined with handoff (the VMM sets the TAP's offloads itself)");
  CHECK(refusal({{"name", "t"}, {"mode", "userspace"}, {"offload", false}}) == "(accepted)");
}

TEST_CASE("StartResult carries offload and max_packet_size", "[proto][messages]") {
  squib::proto::StartResult result;
  result.name = "t";
  result.mac = "02:00:00:00:00:01";
  result.socket = "/run/squib-net/t.sock";
  result.max_packet_size = 65550;
  result.offload = true;
  const json encoded = squib::proto::to_json(result);
  CHECK(encoded["offload"] == true);
  CHECK(encoded["max_packet_size"] == 65550);
  squib::proto::StartResult decoded;
  squib::proto::from_json(encoded, decoded);
  CHECK(decoded.offload);
  CHECK(decoded.max_packet_size == 65550U);
  result.offload = false;
  CHECK_FALSE(squib::proto::to_json(result).contains("offload"));
}

TEST_CASE("parse_start_params: handoff fd of a userspace passt (issue 17)", "[proto][messages]") {
  const json forward = {{"protocol", "tcp"}, {"host", "2222"}, {"guest_port", 22}};
  const auto passt = parse_start_params(
      {{"name", "p"}, {"mode", "userspace"}, {"handoff", "fd"}, {"forwards", json::array({forward})}});
  CHECK(passt.handoff == squib::proto::Handoff::fd);
  CHECK(passt.forwards.size() == 1);  // passt's arguments, as without the hand-off
  CHECK(refusal({{"name", "p"}, {"mode", "userspace"}, {"userspace", {{"kind", "gvproxy"}}}, {"handoff", "fd"}}) ==
        "handoff: fd applies to userspace kind passt only (this one is gvproxy)");
  CHECK(refusal({{"name", "p"},
                 {"mode", "userspace"},
                 {"userspace", {{"kind", "custom"}, {"path", "/bin/true"}}},
                 {"handoff", "fd"}}) == "handoff: fd applies to userspace kind passt only (this one is custom)");
  CHECK(refusal({{"name", "p"}, {"mode", "userspace"}, {"handoff", "fd"}, {"fd_passing", true}}) ==
        "handoff: cannot be combined with fd_passing (the VM gets passt's socket)");
  CHECK(refusal({{"name", "p"}, {"mode", "userspace"}, {"handoff", "fd"}, {"queues", 2}}) ==
        "queues: applies only to a handed-off TAP (not userspace)");
}

TEST_CASE("StartResult and AttachmentInfo say a handed-off passt's frames are not counted", "[proto][messages]") {
  squib::proto::StartResult result;
  result.name = "p";
  result.mode = squib::proto::Mode::userspace;
  result.mac = "02:00:00:00:00:01";
  CHECK_FALSE(squib::proto::to_json(result).contains("frames_counted"));
  CHECK_FALSE(squib::proto::to_json(result).contains("handoff"));
  result.handoff = "fd";
  result.frames_counted = false;
  const json encoded = squib::proto::to_json(result);
  CHECK(encoded["handoff"] == "fd");
  CHECK(encoded["frames_counted"] == false);
  const auto decoded = squib::proto::from_json<squib::proto::StartResult>(encoded);
  CHECK(decoded.handoff == "fd");
  CHECK_FALSE(decoded.frames_counted);
  squib::proto::AttachmentInfo info;
  info.name = "p";
  info.handoff = "fd";
  info.frames_counted = false;
  const auto listed = squib::proto::from_json<squib::proto::AttachmentInfo>(squib::proto::to_json(info));
  CHECK(listed.handoff == "fd");
  CHECK_FALSE(listed.frames_counted);
}

TEST_CASE("StartResult and AttachmentInfo carry a handed-off TAP's name", "[proto][messages]") {
  squib::proto::StartResult result;
  result.name = "t";
  result.mac = "02:00:00:00:00:01";
  result.tap = "sq-0123456789ab";
  const json encoded = squib::proto::to_json(result);
  CHECK(encoded["socket"].is_null());
  CHECK(encoded["tap"] == "sq-0123456789ab");
  CHECK(squib::proto::from_json<squib::proto::StartResult>(encoded).tap == result.tap);
  squib::proto::AttachmentInfo info;
  info.name = "t";
  info.tap = "sq-0123456789ab";
  CHECK(squib::proto::from_json<squib::proto::AttachmentInfo>(squib::proto::to_json(info)).tap == info.tap);
  info.tap.reset();
  CHECK_FALSE(squib::proto::to_json(info).contains("tap"));
}

TEST_CASE("parse_start_params reads subnet6, domain and guard", "[proto][messages]") {
  const StartParams params = parse_start_params(
      with_name({{"mode", "host"}, {"subnet6", "fd00:1:2:3::/64"}, {"domain", "lab.internal"}, {"guard", "mac"}}));
  CHECK(params.subnet6 == "fd00:1:2:3::/64");
  CHECK(params.domain == "lab.internal");
  CHECK(params.guard == squib::proto::Guard::mac);
  const json round_trip = squib::proto::to_json(params);
  CHECK(parse_start_params(round_trip).subnet6 == params.subnet6);
  CHECK(parse_start_params(round_trip).guard == squib::proto::Guard::mac);
  CHECK(parse_start_params(with_name({{"mode", "host"}})).guard == squib::proto::Guard::full);

  require_rejected(with_name({{"mode", "host"}, {"subnet6", "fe80::/64"}}), "subnet6",
                   "must be an IPv6 /64 such as fd00:1:2:3::/64 (not link-local or multicast)");
  require_rejected(with_name({{"mode", "host"}, {"subnet6", "fd00::/48"}}), "subnet6",
                   "must be an IPv6 /64 such as fd00:1:2:3::/64 (not link-local or multicast)");
  require_rejected(with_name({{"mode", "host"}, {"domain", "a..b"}}), "domain",
                   "must be a DNS domain of labels [a-z0-9-] separated by dots, e.g. squib.internal");
  require_rejected(with_name({{"mode", "host"}, {"guard", "none"}}), "guard", "must be full or mac");
  require_rejected(with_name({{"mode", "userspace"}, {"subnet6", "fd00:1:2:3::/64"}}), "subnet6",
                   "applies only to modes host and shared");
  require_rejected(with_name({{"mode", "userspace"}, {"domain", "lab"}}), "domain",
                   "applies only to modes host and shared");
}
