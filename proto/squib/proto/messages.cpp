#include <squib/proto/messages.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <squib/core/mac_address.hpp>
#include <squib/core/names.hpp>

namespace squib::proto {

namespace {

// Typed, field-named access to one params object.
class ParamReader {
public:
  explicit ParamReader(const json& object, std::string prefix = "")
      : m_object(object), m_prefix(std::move(prefix)) {}

  [[nodiscard]] const json* find(const char* field) const {
    const auto it = m_object.find(field);
    return (it == m_object.end() || it->is_null()) ? nullptr : &*it;
  }
  [[nodiscard]] std::string path(const char* field) const { return m_prefix + field; }

  std::optional<std::string> string(const char* field) const {
    const json* value = find(field);
    if (value == nullptr) return std::nullopt;
    if (!value->is_string()) throw ParamError(path(field), "must be a string");
    return value->get<std::string>();
  }
  std::string required_string(const char* field) const {
    auto value = string(field);
    if (!value) throw ParamError(path(field), "is required");
    return *value;
  }
  std::optional<std::uint32_t> uint(const char* field, std::uint32_t min, std::uint32_t max) const {
    const json* value = find(field);
    if (value == nullptr) return std::nullopt;
    const std::string range = "must be an integer from " + std::to_string(min) + " to " + std::to_string(max);
    if (!value->is_number_integer()) throw ParamError(path(field), range);
    const auto n = value->get<std::int64_t>();
    if (n < min || n > max) throw ParamError(path(field), range);
    return static_cast<std::uint32_t>(n);
  }
  std::optional<bool> boolean(const char* field) const {
    const json* value = find(field);
    if (value == nullptr) return std::nullopt;
    if (!value->is_boolean()) throw ParamError(path(field), "must be true or false");
    return value->get<bool>();
  }

private:
  const json& m_object;
  std::string m_prefix;
};

std::string checked_name(const std::string& field, const std::string& name) {
  if (!core::is_valid_name(name)) {
    throw ParamError(field, "must match [A-Za-z0-9_.-]{1,64} and not be . or ..");
  }
  return name;
}

UserspaceParams parse_userspace(const json& value) {
  if (!value.is_object()) throw ParamError("userspace", "must be an object");
  const ParamReader reader(value, "userspace.");
  UserspaceParams out;
  if (auto kind = reader.string("kind")) {
    if (*kind != "passt" && *kind != "gvproxy" && *kind != "custom") {
      throw ParamError("userspace.kind", "must be passt, gvproxy or custom");
    }
    out.kind = *kind;
  }
  if (auto path = reader.string("path")) {
    if (path->empty() || path->find('\0') != std::string::npos) throw ParamError("userspace.path", "must be a non-empty path");
    out.path = *path;
  }
  if (const json* args = reader.find("args")) {
    if (!args->is_array()) throw ParamError("userspace.args", "must be an array of strings");
    for (const auto& arg : *args) {
      if (!arg.is_string()) throw ParamError("userspace.args", "must be an array of strings");
      out.args.push_back(arg.get<std::string>());
    }
  }
  if (auto framing = reader.string("framing")) {
    if (*framing == "qemu") {
      out.framing = Framing::qemu_stream;
    } else if (*framing == "vfkit") {
      out.framing = Framing::vfkit_datagram;
    } else {
      throw ParamError("userspace.framing", "must be qemu or vfkit");
    }
  }
  return out;
}

PortForward parse_forward(const json& value, const std::string& prefix, bool need_guest_port) {
  if (!value.is_object()) throw ParamError(prefix.empty() ? "forward" : prefix, "must be an object");
  const ParamReader reader(value, prefix);
  PortForward out;
  if (auto protocol = reader.string("protocol")) {
    if (*protocol != "tcp" && *protocol != "udp") throw ParamError(prefix + "protocol", "must be tcp or udp");
    out.protocol = *protocol;
  }
  const std::string host = reader.required_string("host");
  const auto colon = host.rfind(':');
  const std::string port_text = colon == std::string::npos ? host : host.substr(colon + 1);
  if (colon != std::string::npos) {
    out.host_address = host.substr(0, colon);
    // Only literal IPv4 addresses: the value becomes part of a child's command line.
    if (out.host_address.empty() || out.host_address.find_first_not_of("0123456789.") != std::string::npos) {
      throw ParamError(prefix + "host", "must be PORT or IPV4:PORT, e.g. 127.0.0.1:2222");
    }
  }
  if (port_text.empty() || port_text.size() > 5 || port_text.find_first_not_of("0123456789") != std::string::npos ||
      std::stoul(port_text) == 0 || std::stoul(port_text) > 65535) {
    throw ParamError(prefix + "host", "must be PORT or IPV4:PORT with a port from 1 to 65535");
  }
  out.host_port = static_cast<std::uint16_t>(std::stoul(port_text));
  if (need_guest_port) {
    const auto guest = reader.uint("guest_port", 1, 65535);
    if (!guest) throw ParamError(prefix + "guest_port", "is required");
    out.guest_port = static_cast<std::uint16_t>(*guest);
  }
  return out;
}

}  // namespace

PortForward parse_forward_params(const json& params, bool need_guest_port) {
  return parse_forward(params, "", need_guest_port);
}

json to_json(const PortForward& forward) {
  return {{"protocol", forward.protocol},
          {"host", forward.host_address + ":" + std::to_string(forward.host_port)},
          {"guest_port", forward.guest_port}};
}

json to_json(const NetworkInfo& network) {
  const auto or_null = [](const std::optional<std::string>& value) { return value ? json(*value) : json(nullptr); };
  json out = {{"name", network.name}, {"subnet", or_null(network.subnet)}, {"gateway", or_null(network.gateway)}};
  for (const auto& [key, value] : {std::pair{"dhcp_range", &network.dhcp_range}, std::pair{"dns", &network.dns},
                                   std::pair{"bridge", &network.bridge}, std::pair{"address", &network.address},
                                   std::pair{"tap", &network.tap}}) {
    if (*value) out[key] = **value;
  }
  return out;
}

const char* to_string(Mode mode) {
  switch (mode) {
    case Mode::shared: return "shared";
    case Mode::host: return "host";
    case Mode::bridged: return "bridged";
    case Mode::userspace: return "userspace";
  }
  return "unknown";
}

std::optional<Mode> mode_from_string(std::string_view text) {
  if (text == "shared") return Mode::shared;
  if (text == "host") return Mode::host;
  if (text == "bridged") return Mode::bridged;
  if (text == "userspace") return Mode::userspace;
  return std::nullopt;
}

const char* to_string(Framing framing) {
  return framing == Framing::qemu_stream ? "qemu" : "vfkit";
}

StartParams parse_start_params(const json& params) {
  const ParamReader reader(params);
  StartParams out;
  out.name = checked_name("name", reader.required_string("name"));
  if (auto mode = reader.string("mode")) {
    const auto parsed = mode_from_string(*mode);
    if (!parsed) throw ParamError("mode", "must be shared, host, bridged or userspace");
    out.mode = *parsed;
  }
  if (auto network = reader.string("network")) out.network = checked_name("network", *network);
  if (auto mac = reader.string("mac")) {
    const auto parsed = core::MacAddress::parse(*mac);
    if (!parsed) throw ParamError("mac", "must look like 02:00:00:00:00:01");
    if (parsed->is_multicast() || parsed->is_zero()) throw ParamError("mac", "must be a unicast, non-zero address");
    out.mac = parsed->to_string();
  }
  if (auto mtu = reader.uint("mtu", k_min_mtu, k_max_mtu)) out.mtu = *mtu;
  if (auto bridge = reader.string("bridge")) {
    // Linux IFNAMSIZ is 16 including the NUL; the name is also checked by the kernel.
    if (bridge->empty() || bridge->size() > 15 || !core::is_valid_name(*bridge)) {
      throw ParamError("bridge", "must be an interface name of 1 to 15 characters [A-Za-z0-9_.-]");
    }
    out.bridge = *bridge;
  }
  out.subnet = reader.string("subnet");
  if (auto address = reader.string("address")) {
    in_addr parsed{};
    if (::inet_pton(AF_INET, address->c_str(), &parsed) != 1) {
      throw ParamError("address", "must be a literal IPv4 address, e.g. 192.168.105.20");
    }
    out.address = *address;
  }
  if (auto isolation = reader.boolean("isolation")) out.isolation = *isolation;
  if (const json* userspace = reader.find("userspace")) out.userspace = parse_userspace(*userspace);
  if (const json* owner = reader.find("owner")) {
    if (!owner->is_object()) throw ParamError("owner", "must be an object {uid, gid}");
    const ParamReader owner_reader(*owner, "owner.");
    Owner parsed;
    const auto uid = owner_reader.uint("uid", 0, 0xfffffffeU);
    if (!uid) throw ParamError("owner.uid", "is required");
    parsed.uid = *uid;
    const auto gid = owner_reader.uint("gid", 0, 0xfffffffeU);
    parsed.gid = gid.value_or(*uid);
    parsed.group_access = owner_reader.boolean("group_access").value_or(gid.has_value());
    out.owner = parsed;
  }
  if (auto fd_passing = reader.boolean("fd_passing")) out.fd_passing = *fd_passing;
  if (const json* forwards = reader.find("forwards")) {
    if (!forwards->is_array()) throw ParamError("forwards", "must be an array");
    for (std::size_t i = 0; i < forwards->size(); ++i) {
      out.forwards.push_back(parse_forward((*forwards)[i], "forwards[" + std::to_string(i) + "].", true));
    }
  }
  if (out.mode == Mode::bridged && !out.bridge) throw ParamError("bridge", "is required for mode bridged");
  if (out.mode != Mode::bridged && out.bridge) throw ParamError("bridge", "applies only to mode bridged");
  // Parameters of the daemon's own networks mean nothing to a userspace stack (it has its
  // own addressing) or an operator's bridge: refused, never silently ignored.
  const bool own_network = out.mode == Mode::host || out.mode == Mode::shared;
  for (const char* field : {"subnet", "address"}) {
    if (!own_network && reader.find(field) != nullptr) throw ParamError(field, "applies only to modes host and shared");
  }
  // (Their default values are accepted: state files and scripts written before this rule
  // carry them.)
  if (out.mode == Mode::userspace && out.network != "default") {
    throw ParamError("network", "does not apply to mode userspace (its stack is its own)");
  }
  if (out.mode == Mode::userspace && out.isolation) {
    throw ParamError("isolation", "does not apply to mode userspace (its stack is its own)");
  }
  return out;
}

json to_json(const StartParams& params) {
  json out = {{"name", params.name},
              {"mode", to_string(params.mode)},
              {"network", params.network},
              {"mtu", params.mtu},
              {"isolation", params.isolation}};
  if (params.mac) out["mac"] = *params.mac;
  if (params.bridge) out["bridge"] = *params.bridge;
  if (params.subnet) out["subnet"] = *params.subnet;
  if (params.address) out["address"] = *params.address;
  if (params.mode == Mode::userspace) {
    json userspace = {{"kind", params.userspace.kind}, {"args", params.userspace.args}};
    if (params.userspace.path) userspace["path"] = *params.userspace.path;
    if (params.userspace.framing) userspace["framing"] = to_string(*params.userspace.framing);
    out["userspace"] = std::move(userspace);
  }
  if (params.owner) {
    out["owner"] = {{"uid", params.owner->uid}, {"gid", params.owner->gid}, {"group_access", params.owner->group_access}};
  }
  if (params.fd_passing) out["fd_passing"] = true;
  if (!params.forwards.empty()) {
    out["forwards"] = json::array();
    for (const auto& forward : params.forwards) out["forwards"].push_back(to_json(forward));
  }
  return out;
}

std::string parse_name_param(const json& params, bool required) {
  const ParamReader reader(params);
  auto name = reader.string("name");
  if (!name) {
    if (required) throw ParamError("name", "is required");
    return {};
  }
  return checked_name("name", *name);
}

}  // namespace squib::proto
