// Tests of squib/proto/network_messages.hpp: network.create/delete params and network.list
// results. Every rejection is a ParamError naming the field, dotted for nested ones
// ("uplink.vxlan.remotes[1]: is listed twice"); accepted specs survive to_json → parse.

#include <squib/proto/network_messages.hpp>

#include <string>

#include "support/catch.hpp"

namespace {

using squib::proto::json;
using squib::proto::Mode;
using squib::proto::NetworkDescription;
using squib::proto::NetworkSpec;
using squib::proto::ParamError;
using squib::proto::parse_network_delete_params;
using squib::proto::parse_network_spec;

json with_name(json extra) {
  json params = {{"name", "fleet"}};
  params.update(extra);
  return params;
}

json vxlan(json extra) {
  json out = {{"vni", 42}, {"local", "10.0.0.1"}, {"remotes", {"10.0.0.2"}}};
  out.update(extra);
  return with_name({{"uplink", {{"vxlan", out}}}});
}

// Expects a ParamError for `field` whose what() starts with "<field>: <reason start>".
void require_rejected(const json& params, const std::string& field, const std::string& reason = "") {
  INFO("params: " << params.dump());
  try {
    (void)parse_network_spec(params);
    FAIL("accepted");
  } catch (const ParamError& e) {
    CHECK(e.field() == field);
    CHECK(std::string(e.what()).starts_with(field + ": " + reason));
  }
}

}  // namespace

TEST_CASE("network spec defaults and round trip", "[proto][network]") {
  const NetworkSpec plain = parse_network_spec(with_name(json::object()));
  CHECK(plain.name == "fleet");
  CHECK(plain.mode == Mode::host);
  CHECK(plain.dhcp.enabled);
  CHECK_FALSE(plain.dhcp.range);
  CHECK_FALSE(plain.mtu);
  CHECK_FALSE(plain.uplink);
  CHECK(squib::proto::to_json(plain) == json{{"name", "fleet"}, {"mode", "host"}, {"isolation", false}});

  const json full = {
      {"name", "fleet"},
      {"mode", "shared"},
      {"subnet", "10.77.0.0/24"},
      {"subnet6", "fd00:77::/64"},
      {"domain", "fleet.internal"},
      {"isolation", true},
      {"dhcp", {{"range", "10.77.0.10-10.77.0.99"}}},
      {"mtu", 1450},
      {"uplink",
       {{"vxlan", {{"vni", 77}, {"local", "10.0.0.1"}, {"remotes", {"10.0.0.2", "10.0.0.3"}}, {"port", 8472}}}}}};
  const NetworkSpec spec = parse_network_spec(full);
  CHECK(spec.mode == Mode::shared);
  CHECK(spec.dhcp.range == "10.77.0.10-10.77.0.99");
  CHECK(spec.mtu == 1450U);
  REQUIRE(spec.uplink);
  CHECK(spec.uplink->vxlan->remotes.size() == 2);
  CHECK(spec.uplink->vxlan->port == 8472);
  CHECK(parse_network_spec(squib::proto::to_json(spec)) == spec);

  SECTION("dhcp false in both spellings") {
    CHECK_FALSE(parse_network_spec(with_name({{"dhcp", false}})).dhcp.enabled);
    CHECK_FALSE(parse_network_spec(with_name({{"dhcp", {{"range", false}}}})).dhcp.enabled);
    CHECK(squib::proto::to_json(parse_network_spec(with_name({{"dhcp", false}})))["dhcp"] == false);
  }
  SECTION("multicast group with dev") {
    const auto group = parse_network_spec(with_name(
        {{"uplink", {{"vxlan", {{"vni", 1}, {"local", "10.0.0.1"}, {"group", "239.1.1.1"}, {"dev", "eth0"}}}}}}));
    CHECK(group.uplink->vxlan->group == "239.1.1.1");
    CHECK(parse_network_spec(squib::proto::to_json(group)) == group);
  }
}

TEST_CASE("network spec rejects bad fields by name", "[proto][network]") {
  require_rejected(json::array(), "params");
  require_rejected(json::object(), "name", "is required");
  require_rejected(with_name({{"name", "../x"}}), "name");
  require_rejected(with_name({{"mode", "bridged"}}), "mode", "must be host or shared");
  require_rejected(with_name({{"mode", "userspace"}}), "mode");
  require_rejected(with_name({{"subnet", "10.0.0.0/31"}}), "subnet");
  require_rejected(with_name({{"subnet6", "fe80::/64"}}), "subnet6");
  require_rejected(with_name({{"domain", "Bad_Domain"}}), "domain");
  require_rejected(with_name({{"mtu", 67}}), "mtu", "must be an integer from 68 to 65535");
  require_rejected(with_name({{"isolation", "yes"}}), "isolation");
  require_rejected(with_name({{"dhcp", true}}), "dhcp");
  require_rejected(with_name({{"dhcp", 3}}), "dhcp");
  require_rejected(with_name({{"dhcp", {{"range", "10.0.0.9"}}}}), "dhcp.range");
  require_rejected(with_name({{"dhcp", {{"range", "10.0.0.9-10.0.0.2"}}}}), "dhcp.range", "its first address");
  require_rejected(with_name({{"dhcp", {{"range", "fd00::2-fd00::9"}}}}), "dhcp.range");
  require_rejected(with_name({{"subnet", "10.1.0.0/24"}, {"dhcp", {{"range", "10.2.0.2-10.2.0.9"}}}}), "dhcp.range",
                   "must lie inside the subnet 10.1.0.0/24");
  require_rejected(with_name({{"subnet", "10.1.0.0/24"}, {"dhcp", {{"range", "10.1.0.1-10.1.0.9"}}}}), "dhcp.range",
                   "must not hold the gateway 10.1.0.1");
  require_rejected(with_name({{"uplink", 1}}), "uplink");
  require_rejected(with_name({{"uplink", json::object()}}), "uplink.vxlan", "is required");
  require_rejected(with_name({{"uplink", {{"geneve", json::object()}}}}), "uplink.geneve");
  require_rejected(vxlan({{"vni", 0}}), "uplink.vxlan.vni", "must be an integer from 1 to 16777215");
  require_rejected(vxlan({{"vni", 16777216}}), "uplink.vxlan.vni");
  require_rejected(vxlan({{"local", "host1"}}), "uplink.vxlan.local");
  require_rejected(vxlan({{"local", "239.0.0.1"}}), "uplink.vxlan.local");
  require_rejected(vxlan({{"remotes", json::array()}}), "uplink.vxlan.remotes", "must be an array of 1 to 64");
  require_rejected(vxlan({{"remotes", {"10.0.0.2", "10.0.0.2"}}}), "uplink.vxlan.remotes[1]", "is listed twice");
  require_rejected(vxlan({{"remotes", {"fd00::2"}}}), "uplink.vxlan.remotes[0]", "must be an IPv4 address");
  require_rejected(vxlan({{"remotes", {"10.0.0.1"}}}), "uplink.vxlan.remotes[0]", "must not be local itself");
  require_rejected(vxlan({{"group", "239.1.1.1"}}), "uplink.vxlan.remotes", "cannot be combined with group");
  require_rejected(vxlan({{"remotes", nullptr}}), "uplink.vxlan.remotes", "is required (or group)");
  require_rejected(vxlan({{"remotes", nullptr}, {"group", "239.1.1.1"}}), "uplink.vxlan.dev", "is required with group");
  require_rejected(vxlan({{"remotes", nullptr}, {"group", "10.1.1.1"}, {"dev", "eth0"}}), "uplink.vxlan.group");
  require_rejected(vxlan({{"port", 0}}), "uplink.vxlan.port");
  require_rejected(vxlan({{"dev", "a-name-far-too-long"}}), "uplink.vxlan.dev");
  json many = json::array();
  for (int i = 0; i < 65; ++i) many.push_back("10.1.0." + std::to_string(i + 1));
  require_rejected(vxlan({{"remotes", many}}), "uplink.vxlan.remotes");
}

TEST_CASE("network.delete params", "[proto][network]") {
  CHECK_FALSE(parse_network_delete_params({{"name", "n"}}).force);
  CHECK(parse_network_delete_params({{"name", "n"}, {"force", true}}).force);
  CHECK_THROWS_AS(parse_network_delete_params(json::object()), ParamError);
  CHECK_THROWS_AS(parse_network_delete_params({{"name", "n"}, {"force", 1}}), ParamError);
}

TEST_CASE("network description round trip", "[proto][network]") {
  NetworkDescription description;
  description.network.name = "fleet";
  description.network.subnet = "10.77.0.0/24";
  description.network.gateway = "10.77.0.1";
  description.network.bridge = "sqbr-abc";
  description.mode = Mode::shared;
  description.origin = squib::proto::Origin::api;
  description.state = "ready";
  description.mtu = 1450;
  description.attachments = {"vm1"};
  description.attachment_count = 3;
  description.counters.rx_packets = 5;
  squib::proto::UplinkStatus uplink;
  uplink.device = "sqvx-abc";
  uplink.vxlan.vni = 7;
  uplink.vxlan.local = "10.0.0.1";
  uplink.vxlan.remotes = {"10.0.0.2"};
  uplink.underlay_mtu = 1500;
  uplink.counters.tx_dropped = 2;
  description.uplink = uplink;
  const json encoded = squib::proto::to_json(description);
  CHECK(encoded["dhcp_range"].is_null());
  const auto decoded = squib::proto::from_json<NetworkDescription>(encoded);
  CHECK(squib::proto::to_json(decoded) == encoded);
  CHECK(decoded.uplink->counters.tx_dropped == 2);
  CHECK_THROWS_AS(squib::proto::from_json<NetworkDescription>(json{{"name", "x"}}), ParamError);
}
