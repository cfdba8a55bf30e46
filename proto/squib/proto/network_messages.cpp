#include <squib/proto/network_messages.hpp>

#include <algorithm>
#include <cstring>

#include <squib/core/ip_address.hpp>
#include <squib/core/ipv4_subnet.hpp>
#include <squib/core/ipv6_prefix.hpp>
#include <squib/core/names.hpp>
#include <squib/proto/param_reader.hpp>

namespace squib::proto {

namespace {

using detail::checked_name;
using detail::ParamReader;
using detail::ResultReader;
using detail::string_or_null;

// The most remotes of one uplink: each is one FDB entry and one copy of every broadcast
// (head-end replication); past a few dozen hosts a multicast group is the better tool.
constexpr std::size_t k_max_remotes = 64;

std::string checked_ifname(const std::string& field, const std::string& name) {
  // Linux IFNAMSIZ is 16 including the NUL (as StartParams.bridge).
  if (name.empty() || name.size() > 15 || !core::is_valid_name(name)) {
    throw ParamError(field, "must be an interface name of 1 to 15 characters [A-Za-z0-9_.-]");
  }
  return name;
}

DhcpSettings parse_dhcp(const json& value, const std::optional<std::string>& subnet) {
  DhcpSettings out;
  if (value.is_boolean()) {
    if (value.get<bool>()) throw ParamError("dhcp", "must be false or an object {range}");
    out.enabled = false;
    return out;
  }
  if (!value.is_object()) throw ParamError("dhcp", "must be false or an object {range}");
  const ParamReader reader(value, "dhcp.");
  const json* range = reader.find("range");
  if (range == nullptr) return out;
  if (range->is_boolean() && !range->get<bool>()) {
    out.enabled = false;
    return out;
  }
  if (!range->is_string()) throw ParamError("dhcp.range", "must be \"A-B\" (IPv4 addresses) or false");
  const std::string text = range->get<std::string>();
  const auto dash = text.find('-');
  const auto first = dash == std::string::npos ? std::nullopt : core::parse_ipv4(text.substr(0, dash));
  const auto last = dash == std::string::npos ? std::nullopt : core::parse_ipv4(text.substr(dash + 1));
  if (!first || !last) throw ParamError("dhcp.range", "must be \"A-B\" with IPv4 addresses, e.g. 10.1.0.10-10.1.0.99");
  if (*first > *last) throw ParamError("dhcp.range", "its first address must not be above its last");
  if (subnet) {
    // Where the subnet is given, checked here too; the manager checks it against the
    // network's actual subnet in any case.
    if (const auto parsed = core::Ipv4Subnet::parse(*subnet)) {
      if (auto problem = dhcp_range_problem(*parsed, *first, *last)) throw ParamError("dhcp.range", *problem);
    }
  }
  out.range = core::ipv4_to_string(*first) + "-" + core::ipv4_to_string(*last);
  return out;
}

VxlanUplink parse_vxlan(const json& value) {
  if (!value.is_object())
    throw ParamError("uplink.vxlan", "must be an object {vni, local, remotes | group, port?, dev?}");
  const ParamReader reader(value, "uplink.vxlan.");
  VxlanUplink out;
  const auto vni = reader.uint("vni", 1, k_max_vni);
  if (!vni) throw ParamError("uplink.vxlan.vni", "is required");
  out.vni = *vni;
  out.local = reader.required_string("local");
  const auto local = core::parse_ip_address(out.local);
  if (!local) throw ParamError("uplink.vxlan.local", "must be a literal IPv4 or IPv6 address");
  if (local->is_multicast()) throw ParamError("uplink.vxlan.local", "must be a unicast address of this host");
  if (auto port = reader.uint("port", 1, 65535)) out.port = static_cast<std::uint16_t>(*port);
  if (auto dev = reader.string("dev")) out.dev = checked_ifname("uplink.vxlan.dev", *dev);
  const json* remotes = reader.find("remotes");
  out.group = reader.string("group");
  if (remotes != nullptr && out.group) throw ParamError("uplink.vxlan.remotes", "cannot be combined with group");
  if (remotes == nullptr && !out.group) throw ParamError("uplink.vxlan.remotes", "is required (or group)");
  if (remotes != nullptr) {
    if (!remotes->is_array() || remotes->empty() || remotes->size() > k_max_remotes) {
      throw ParamError("uplink.vxlan.remotes",
                       "must be an array of 1 to " + std::to_string(k_max_remotes) + " IP addresses");
    }
    for (std::size_t i = 0; i < remotes->size(); ++i) {
      const std::string field = "uplink.vxlan.remotes[" + std::to_string(i) + "]";
      const json& remote = (*remotes)[i];
      const auto ip = remote.is_string() ? core::parse_ip_address(remote.get<std::string>()) : std::nullopt;
      if (!ip) throw ParamError(field, "must be a literal IP address");
      if (ip->ipv6 != local->ipv6) {
        throw ParamError(field, std::string("must be an ") + local->family_name() + " address, as local is");
      }
      if (ip->is_multicast()) throw ParamError(field, "must be a unicast address (a multicast one goes in group)");
      if (*ip == *local) throw ParamError(field, "must not be local itself");
      for (const auto& seen : out.remotes) {
        if (core::parse_ip_address(seen) == ip) throw ParamError(field, "is listed twice");
      }
      out.remotes.push_back(remote.get<std::string>());
    }
  } else {
    const auto group = core::parse_ip_address(*out.group);
    if (!group || group->ipv6 != local->ipv6 || !group->is_multicast()) {
      throw ParamError("uplink.vxlan.group",
                       std::string("must be a multicast ") + local->family_name() + " address, as local is");
    }
    if (!out.dev) throw ParamError("uplink.vxlan.dev", "is required with group (the interface that joins it)");
  }
  return out;
}

Uplink parse_uplink(const json& value) {
  if (!value.is_object()) throw ParamError("uplink", "must be an object {vxlan}");
  for (const auto& [key, member] : value.items()) {
    if (key != "vxlan") throw ParamError("uplink." + key, "is not a known uplink kind (vxlan is)");
  }
  const ParamReader reader(value, "uplink.");
  const json* vxlan = reader.find("vxlan");
  if (vxlan == nullptr) throw ParamError("uplink.vxlan", "is required");
  return Uplink{parse_vxlan(*vxlan)};
}

json to_json(const VxlanUplink& vxlan) {
  json out = {{"vni", vxlan.vni}, {"local", vxlan.local}, {"port", vxlan.port}};
  if (vxlan.group) {
    out["group"] = *vxlan.group;
  } else {
    out["remotes"] = vxlan.remotes;
  }
  if (vxlan.dev) out["dev"] = *vxlan.dev;
  return out;
}

json to_json(const DhcpSettings& dhcp) {
  if (!dhcp.enabled) return false;
  json out = json::object();
  if (dhcp.range) out["range"] = *dhcp.range;
  return out;
}

LinkCounters read_counters(const json& value, const std::string& prefix) {
  const ResultReader reader(value, prefix);
  return {reader.u64("rx_packets"), reader.u64("rx_bytes"),   reader.u64("tx_packets"),
          reader.u64("tx_bytes"),   reader.u64("rx_dropped"), reader.u64("tx_dropped")};
}

json to_json(const LinkCounters& counters) {
  return {{"rx_packets", counters.rx_packets}, {"rx_bytes", counters.rx_bytes},
          {"tx_packets", counters.tx_packets}, {"tx_bytes", counters.tx_bytes},
          {"rx_dropped", counters.rx_dropped}, {"tx_dropped", counters.tx_dropped}};
}

std::optional<Origin> origin_from_string(const std::string& text) {
  if (text == "api") return Origin::api;
  if (text == "config") return Origin::config;
  if (text == "implicit") return Origin::implicit;
  return std::nullopt;
}

}  // namespace

std::optional<std::string> dhcp_range_problem(const core::Ipv4Subnet& subnet, std::uint32_t first, std::uint32_t last) {
  const auto inside = [&](std::uint32_t address) {
    return subnet.contains(address) && address != subnet.network && address != subnet.broadcast();
  };
  if (!inside(first) || !inside(last)) return "must lie inside the subnet " + subnet.to_string();
  if (first <= subnet.gateway() && subnet.gateway() <= last) {
    return "must not hold the gateway " + core::ipv4_to_string(subnet.gateway());
  }
  return std::nullopt;
}

const char* to_string(Origin origin) {
  switch (origin) {
    case Origin::api: return "api";
    case Origin::config: return "config";
    case Origin::implicit: return "implicit";
  }
  return "implicit";
}

NetworkSpec parse_network_spec(const json& params) {
  if (!params.is_object()) throw ParamError("params", "must be an object");
  const ParamReader reader(params);
  NetworkSpec out;
  out.name = checked_name("name", reader.required_string("name"));
  if (auto mode = reader.string("mode")) {
    const auto parsed = mode_from_string(*mode);
    if (!parsed || (*parsed != Mode::host && *parsed != Mode::shared)) {
      throw ParamError("mode", "must be host or shared (the modes with networks of their own)");
    }
    out.mode = *parsed;
  }
  if (auto subnet = reader.string("subnet")) {
    if (!core::Ipv4Subnet::parse(*subnet)) {
      throw ParamError("subnet", "must be an IPv4 CIDR from /8 to /30, e.g. 192.168.105.0/24");
    }
    out.subnet = *subnet;
  }
  out.subnet6 = reader.subnet6("subnet6");
  out.domain = reader.domain("domain");
  if (auto isolation = reader.boolean("isolation")) out.isolation = *isolation;
  if (const json* dhcp = reader.find("dhcp")) out.dhcp = parse_dhcp(*dhcp, out.subnet);
  out.mtu = reader.uint("mtu", k_min_mtu, k_max_mtu);
  if (const json* uplink = reader.find("uplink")) out.uplink = parse_uplink(*uplink);
  return out;
}

json to_json(const NetworkSpec& spec) {
  json out = {{"name", spec.name}, {"mode", to_string(spec.mode)}, {"isolation", spec.isolation}};
  if (spec.subnet) out["subnet"] = *spec.subnet;
  if (spec.subnet6) out["subnet6"] = *spec.subnet6;
  if (spec.domain) out["domain"] = *spec.domain;
  if (spec.dhcp != DhcpSettings{}) out["dhcp"] = to_json(spec.dhcp);
  if (spec.mtu) out["mtu"] = *spec.mtu;
  if (spec.uplink && spec.uplink->vxlan) out["uplink"] = {{"vxlan", to_json(*spec.uplink->vxlan)}};
  return out;
}

NetworkDeleteParams parse_network_delete_params(const json& params) {
  if (!params.is_object()) throw ParamError("params", "must be an object");
  const ParamReader reader(params);
  NetworkDeleteParams out;
  out.name = checked_name("name", reader.required_string("name"));
  out.force = reader.boolean("force").value_or(false);
  return out;
}

json to_json(const NetworkDeleteParams& params) {
  json out = {{"name", params.name}};
  if (params.force) out["force"] = true;
  return out;
}

json to_json(const NetworkDescription& description) {
  json out = to_json(description.network);
  // dhcp_range is always present here: null says "no DHCP on this host".
  out["dhcp_range"] = string_or_null(description.network.dhcp_range);
  out["mode"] = to_string(description.mode);
  out["origin"] = to_string(description.origin);
  out["state"] = description.state;
  out["mtu"] = description.mtu;
  out["isolation"] = description.isolation;
  json uplink = nullptr;
  if (description.uplink) {
    const UplinkStatus& status = *description.uplink;
    uplink = {{"kind", status.kind},
              {"device", status.device},
              {"vxlan", to_json(status.vxlan)},
              {"underlay_mtu", status.underlay_mtu},
              {"counters", to_json(status.counters)}};
  }
  out["uplink"] = std::move(uplink);
  out["attachments"] = description.attachments;
  out["attachment_count"] = description.attachment_count;
  out["counters"] = to_json(description.counters);
  return out;
}

void from_json(const json& value, NetworkDescription& out) {
  const ResultReader reader(value, "");
  from_json(value, out.network);
  out.mode = reader.mode("mode");
  const auto origin = origin_from_string(reader.string("origin"));
  if (!origin) throw ParamError("origin", "must be api, config or implicit");
  out.origin = *origin;
  out.state = reader.string("state");
  out.mtu = reader.mtu("mtu");
  out.isolation = reader.boolean("isolation");
  out.uplink.reset();
  if (const json* uplink = reader.find("uplink")) {
    const ResultReader uplink_reader(*uplink, "uplink.");
    UplinkStatus status;
    status.kind = uplink_reader.string("kind");
    status.device = uplink_reader.string("device");
    try {
      status.vxlan = parse_vxlan(uplink_reader.required("vxlan"));
    } catch (const ParamError& e) {
      throw ParamError(e.field(), std::string(e.what()).substr(e.field().size() + 2));
    }
    const auto underlay = uplink_reader.u64("underlay_mtu");
    if (underlay > k_max_mtu) throw ParamError("uplink.underlay_mtu", "must be at most " + std::to_string(k_max_mtu));
    status.underlay_mtu = static_cast<std::uint32_t>(underlay);
    status.counters = read_counters(uplink_reader.required("counters"), "uplink.counters.");
    out.uplink = std::move(status);
  }
  const json& attachments = reader.required("attachments");
  if (!attachments.is_array()) throw ParamError("attachments", "must be an array of names");
  out.attachments.clear();
  for (const auto& name : attachments) {
    if (!name.is_string()) throw ParamError("attachments", "must be an array of names");
    out.attachments.push_back(name.get<std::string>());
  }
  out.attachment_count = reader.u64("attachment_count");
  out.counters = read_counters(reader.required("counters"), "counters.");
}

json to_json(const std::vector<NetworkDescription>& list) {
  json out = json::array();
  for (const auto& description : list) out.push_back(to_json(description));
  return out;
}

void from_json(const json& value, std::vector<NetworkDescription>& out) {
  if (!value.is_array()) throw ParamError("result", "must be an array");
  out.clear();
  for (std::size_t i = 0; i < value.size(); ++i) {
    try {
      out.push_back(from_json<NetworkDescription>(value[i]));
    } catch (const ParamError& e) {
      const std::string field = "[" + std::to_string(i) + "]." + e.field();
      throw ParamError(field, std::string(e.what()).substr(e.field().size() + 2));
    }
  }
}

}  // namespace squib::proto
