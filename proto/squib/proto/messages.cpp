#include <squib/proto/messages.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <squib/core/ipv6_prefix.hpp>
#include <squib/core/mac_address.hpp>
#include <squib/core/names.hpp>
#include <squib/proto/param_reader.hpp>

namespace squib::proto {

namespace {

using detail::checked_name;
using detail::ParamReader;
using detail::ResultReader;
using detail::string_or_null;

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
    if (path->empty() || path->find('\0') != std::string::npos)
      throw ParamError("userspace.path", "must be a non-empty path");
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

// The rules of one forward's members, in the order they are checked: shared by the JSON
// parser and the text form squib-netctl takes on its command line.
void check_protocol(const std::string& prefix, const std::optional<std::string>& protocol, PortForward& out) {
  if (!protocol) return;  // tcp
  if (*protocol != "tcp" && *protocol != "udp") throw ParamError(prefix + "protocol", "must be tcp or udp");
  out.protocol = *protocol;
}

void check_host(const std::string& prefix, const std::string& host, PortForward& out) {
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
}

PortForward parse_forward(const json& value, const std::string& prefix, bool need_guest_port) {
  if (!value.is_object()) throw ParamError(prefix.empty() ? "forward" : prefix, "must be an object");
  const ParamReader reader(value, prefix);
  PortForward out;
  check_protocol(prefix, reader.string("protocol"), out);
  check_host(prefix, reader.required_string("host"), out);
  if (need_guest_port) {
    const auto guest = reader.uint("guest_port", 1, 65535);
    if (!guest) throw ParamError(prefix + "guest_port", "is required");
    out.guest_port = static_cast<std::uint16_t>(*guest);
  }
  return out;
}

std::vector<PortForward> parse_forwards(const json& value, const std::string& field) {
  if (!value.is_array()) throw ParamError(field, "must be an array");
  std::vector<PortForward> out;
  for (std::size_t i = 0; i < value.size(); ++i) {
    out.push_back(parse_forward(value[i], field + "[" + std::to_string(i) + "].", true));
  }
  return out;
}

json forwards_json(const std::vector<PortForward>& forwards) {
  json out = json::array();
  for (const auto& forward : forwards) out.push_back(to_json(forward));
  return out;
}

NetworkInfo read_network_info(const json& value, const std::string& prefix) {
  const ResultReader reader(value, prefix);
  NetworkInfo out;
  out.name = reader.string("name");
  out.subnet = reader.optional_string("subnet");
  out.gateway = reader.optional_string("gateway");
  out.dhcp_range = reader.optional_string("dhcp_range");
  out.dns = reader.optional_string("dns");
  out.bridge = reader.optional_string("bridge");
  out.address = reader.optional_string("address");
  out.tap = reader.optional_string("tap");
  out.subnet6 = reader.optional_string("subnet6");
  out.gateway6 = reader.optional_string("gateway6");
  out.address6 = reader.optional_string("address6");
  out.domain = reader.optional_string("domain");
  return out;
}

AttachmentInfo read_attachment_info(const json& value, const std::string& prefix) {
  const ResultReader reader(value, prefix);
  AttachmentInfo out;
  out.name = reader.string("name");
  out.mode = reader.mode("mode");
  out.network = reader.string("network");
  out.socket = reader.optional_string("socket");
  out.mac = reader.string("mac");
  out.mtu = reader.mtu("mtu");
  out.address = reader.optional_string("address");
  out.state = reader.string("state");
  out.peer_connected = reader.boolean("peer_connected");
  out.detail = reader.optional_string("detail");
  if (const json* forwards = reader.find("forwards")) out.forwards = parse_forwards(*forwards, reader.path("forwards"));
  out.tap = reader.optional_string("tap");
  out.handoff = reader.optional_string("handoff");
  if (reader.find("frames_counted") != nullptr) out.frames_counted = reader.boolean("frames_counted");
  return out;
}

DirectionStats read_direction_stats(const json& value, const std::string& prefix) {
  const ResultReader reader(value, prefix);
  return {reader.u64("frames"), reader.u64("bytes"), reader.u64("batches"), reader.number("mean_batch")};
}

AttachmentStats read_attachment_stats(const json& value, const std::string& prefix) {
  const ResultReader reader(value, prefix);
  AttachmentStats out;
  out.attachment = read_attachment_info(value, prefix);
  out.from_vm = read_direction_stats(reader.required("from_vm"), reader.path("from_vm") + ".");
  out.to_vm = read_direction_stats(reader.required("to_vm"), reader.path("to_vm") + ".");
  const ResultReader drops(reader.required("drops"), reader.path("drops") + ".");
  for (const auto& [reason, count] : reader.required("drops").items()) out.drops[reason] = drops.u64(reason.c_str());
  out.dropped_total = reader.u64("dropped_total");
  out.errors = reader.u64("errors");
  out.handshakes = reader.u64("handshakes");
  out.child_restarts = reader.u64("child_restarts");
  out.child_reconfigurations = reader.u64("child_reconfigurations");
  out.uptime_s = reader.number("uptime_s");
  return out;
}

NetworkStatus read_network_status(const json& value, const std::string& prefix) {
  const ResultReader reader(value, prefix);
  NetworkStatus out;
  out.network = read_network_info(value, prefix);
  if (const auto backend = value.find("backend"); backend != value.end() && backend->is_string()) {
    out.backend = backend->get<std::string>();
  }
  out.mode = reader.mode("mode");
  out.attachments = reader.u64("attachments");
  out.dnsmasq_pid = reader.i64("dnsmasq_pid");
  // Optional: daemons before host firewall integration do not send it.
  if (const json* chains = reader.find("host_firewall")) {
    if (!chains->is_array()) throw ParamError(reader.path("host_firewall"), "must be an array");
    for (std::size_t i = 0; i < chains->size(); ++i) {
      const ResultReader chain((*chains)[i], reader.path("host_firewall") + "[" + std::to_string(i) + "].");
      out.host_firewall.push_back(HostFirewallChain{chain.string("chain"), chain.string("verdict"),
                                                    chain.optional_string("rules_chain"), chain.string("action")});
    }
  }
  return out;
}

// An array of results, each read by `read` with its index as the prefix ("[2].name").
template <class T, class Read>
std::vector<T> read_array(const json& value, const std::string& prefix, Read read) {
  if (!value.is_array()) throw ParamError(prefix.empty() ? "result" : prefix, "must be an array");
  std::vector<T> out;
  out.reserve(value.size());
  for (std::size_t i = 0; i < value.size(); ++i) out.push_back(read(value[i], prefix + "[" + std::to_string(i) + "]."));
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
  json out = {
      {"name", network.name}, {"subnet", string_or_null(network.subnet)}, {"gateway", string_or_null(network.gateway)}};
  for (const auto& [key, value] :
       {std::pair{"dhcp_range", &network.dhcp_range}, std::pair{"dns", &network.dns},
        std::pair{"bridge", &network.bridge}, std::pair{"address", &network.address}, std::pair{"tap", &network.tap},
        std::pair{"subnet6", &network.subnet6}, std::pair{"gateway6", &network.gateway6},
        std::pair{"address6", &network.address6}, std::pair{"domain", &network.domain}}) {
    if (*value) out[key] = **value;
  }
  return out;
}

void from_json(const json& value, NetworkInfo& out) { out = read_network_info(value, ""); }

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

const char* to_string(Framing framing) { return framing == Framing::qemu_stream ? "qemu" : "vfkit"; }

const char* to_string(Handoff handoff) { return handoff == Handoff::tap ? "tap" : "fd"; }

const char* to_string(Guard guard) { return guard == Guard::full ? "full" : "mac"; }

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
  out.subnet6 = reader.subnet6("subnet6");
  out.domain = reader.domain("domain");
  if (auto guard = reader.string("guard")) {
    if (*guard == "full") {
      out.guard = Guard::full;
    } else if (*guard == "mac") {
      out.guard = Guard::mac;
    } else {
      throw ParamError("guard", "must be full or mac");
    }
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
  if (const json* forwards = reader.find("forwards")) out.forwards = parse_forwards(*forwards, "forwards");
  if (auto handoff = reader.string("handoff")) {
    if (*handoff == "tap") {
      out.handoff = Handoff::tap;
    } else if (*handoff == "fd") {
      out.handoff = Handoff::fd;
    } else {
      throw ParamError("handoff", "must be tap or fd");
    }
    if (out.mode == Mode::userspace) {
      // The VMM talks to passt directly over passt's --fd socket (QEMU stream framing).
      // gvproxy only listens on paths; a custom program's link is not known to be a VMM's.
      if (out.handoff != Handoff::fd)
        throw ParamError("handoff", "userspace attachments take only fd (passt's socket)");
      if (out.userspace.kind != "passt") {
        throw ParamError("handoff", "fd applies to userspace kind passt only (this one is " + out.userspace.kind + ")");
      }
      if (out.fd_passing)
        throw ParamError("handoff", "cannot be combined with fd_passing (the VM gets passt's socket)");
    } else {
      if (out.fd_passing)
        throw ParamError("handoff", "cannot be combined with fd_passing (the VM gets the TAP itself)");
      if (!out.forwards.empty()) throw ParamError("handoff", "cannot be combined with forwards (passt only)");
    }
  }
  if (auto queues = reader.uint("queues", 1, k_max_tap_queues)) {
    if (!out.handoff) throw ParamError("queues", "applies only with handoff");
    if (out.mode == Mode::userspace) throw ParamError("queues", "applies only to a handed-off TAP (not userspace)");
    out.queues = *queues;
  }
  if (auto offload = reader.boolean("offload")) {
    out.offload = *offload;
    if (out.offload && out.mode == Mode::userspace) {
      throw ParamError("offload",
                       "applies only to modes host, shared and bridged (a userspace stack takes plain frames)");
    }
    if (out.offload && out.handoff) {
      throw ParamError("offload", "cannot be combined with handoff (the VMM sets the TAP's offloads itself)");
    }
  }
  if (out.mode == Mode::bridged && !out.bridge) throw ParamError("bridge", "is required for mode bridged");
  if (out.mode != Mode::bridged && out.bridge) throw ParamError("bridge", "applies only to mode bridged");
  // Parameters of the daemon's own networks mean nothing to a userspace stack (it has its
  // own addressing) or an operator's bridge: refused, never silently ignored.
  const bool own_network = out.mode == Mode::host || out.mode == Mode::shared;
  for (const char* field : {"subnet", "address", "subnet6", "domain"}) {
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
  if (params.subnet6) out["subnet6"] = *params.subnet6;
  if (params.domain) out["domain"] = *params.domain;
  if (params.guard != Guard::full) out["guard"] = to_string(params.guard);
  if (params.mode == Mode::userspace) {
    json userspace = {{"kind", params.userspace.kind}, {"args", params.userspace.args}};
    if (params.userspace.path) userspace["path"] = *params.userspace.path;
    if (params.userspace.framing) userspace["framing"] = to_string(*params.userspace.framing);
    out["userspace"] = std::move(userspace);
  }
  if (params.owner) {
    out["owner"] = {
        {"uid", params.owner->uid}, {"gid", params.owner->gid}, {"group_access", params.owner->group_access}};
  }
  if (params.fd_passing) out["fd_passing"] = true;
  if (!params.forwards.empty()) out["forwards"] = forwards_json(params.forwards);
  if (params.handoff) out["handoff"] = to_string(*params.handoff);
  if (params.queues != 1) out["queues"] = params.queues;
  if (params.offload) out["offload"] = true;
  return out;
}

json to_request_json(const StartParams& params) {
  const StartParams defaults;
  json out = to_json(params);
  if (params.mtu == defaults.mtu) out.erase("mtu");
  if (params.network == defaults.network) out.erase("network");
  if (params.isolation == defaults.isolation) out.erase("isolation");
  const UserspaceParams& userspace = params.userspace;
  if (userspace.kind == defaults.userspace.kind && !userspace.path && userspace.args.empty() && !userspace.framing) {
    out.erase("userspace");
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

PortForward parse_forward_text(const std::string& protocol, const std::string& host,
                               std::optional<std::uint32_t> guest_port) {
  PortForward out;
  check_protocol("", protocol, out);
  check_host("", host, out);
  if (guest_port) {
    if (*guest_port < 1 || *guest_port > 65535) throw ParamError("guest_port", "must be an integer from 1 to 65535");
    out.guest_port = static_cast<std::uint16_t>(*guest_port);
  }
  return out;
}

void from_json(const json& value, PortForward& out) { out = parse_forward(value, "", true); }

json to_json(const NoParams& /*params*/) { return json::object(); }

json to_json(const NameParams& params) { return {{"name", params.name}}; }

json to_json(const StatsParams& params) { return params.name ? json{{"name", *params.name}} : json::object(); }

json to_json(const ForwardParams& params) {
  json out = to_json(params.forward);
  out["name"] = params.name;
  return out;
}

json to_json(const UnforwardParams& params) {
  json out = to_json(params.forward);
  out.erase("guest_port");
  out["name"] = params.name;
  return out;
}

json to_json(const StartResult& result) {
  json out = {{"name", result.name},
              {"mode", to_string(result.mode)},
              {"socket", string_or_null(result.socket)},
              {"mac", result.mac},
              {"mtu", result.mtu},
              {"network", to_json(result.network)}};
  if (result.max_packet_size) out["max_packet_size"] = *result.max_packet_size;
  if (result.tap) out["tap"] = *result.tap;
  if (result.offload) out["offload"] = true;
  if (result.handoff) out["handoff"] = *result.handoff;
  if (!result.frames_counted) out["frames_counted"] = false;
  return out;
}

void from_json(const json& value, StartResult& out) {
  const ResultReader reader(value, "");
  out.name = reader.string("name");
  out.mode = reader.mode("mode");
  out.socket = reader.optional_string("socket");
  out.mac = reader.string("mac");
  out.mtu = reader.mtu("mtu");
  if (reader.find("max_packet_size") != nullptr) out.max_packet_size = reader.u64("max_packet_size");
  out.network = read_network_info(reader.required("network"), "network.");
  out.tap = reader.optional_string("tap");
  out.offload = value.is_object() && value.value("offload", false) == true;
  out.handoff = reader.optional_string("handoff");
  if (reader.find("frames_counted") != nullptr) out.frames_counted = reader.boolean("frames_counted");
}

json to_json(const NameResult& result) { return {{"name", result.name}}; }

void from_json(const json& value, NameResult& out) { out.name = ResultReader(value, "").string("name"); }

json to_json(const ForwardsResult& result) {
  return {{"name", result.name}, {"forwards", forwards_json(result.forwards)}};
}

void from_json(const json& value, ForwardsResult& out) {
  const ResultReader reader(value, "");
  out.name = reader.string("name");
  out.forwards = parse_forwards(reader.required("forwards"), "forwards");
}

json to_json(const AttachmentInfo& info) {
  json out = {{"name", info.name},
              {"mode", to_string(info.mode)},
              {"network", info.network},
              {"socket", string_or_null(info.socket)},
              {"mac", info.mac},
              {"mtu", info.mtu},
              {"address", string_or_null(info.address)},
              {"state", info.state},
              {"peer_connected", info.peer_connected}};
  if (info.detail) out["detail"] = *info.detail;
  if (!info.forwards.empty()) out["forwards"] = forwards_json(info.forwards);
  if (info.tap) out["tap"] = *info.tap;
  if (info.handoff) out["handoff"] = *info.handoff;
  if (!info.frames_counted) out["frames_counted"] = false;
  return out;
}

void from_json(const json& value, AttachmentInfo& out) { out = read_attachment_info(value, ""); }

json to_json(const std::vector<AttachmentInfo>& list) {
  json out = json::array();
  for (const auto& info : list) out.push_back(to_json(info));
  return out;
}

void from_json(const json& value, std::vector<AttachmentInfo>& out) {
  out = read_array<AttachmentInfo>(value, "", read_attachment_info);
}

json to_json(const DirectionStats& stats) {
  return {
      {"frames", stats.frames}, {"bytes", stats.bytes}, {"batches", stats.batches}, {"mean_batch", stats.mean_batch}};
}

void from_json(const json& value, DirectionStats& out) { out = read_direction_stats(value, ""); }

json to_json(const AttachmentStats& stats) {
  json out = to_json(stats.attachment);
  out["from_vm"] = to_json(stats.from_vm);
  out["to_vm"] = to_json(stats.to_vm);
  out["drops"] = json::object();
  for (const auto& [reason, count] : stats.drops) out["drops"][reason] = count;
  out["dropped_total"] = stats.dropped_total;
  out["errors"] = stats.errors;
  out["handshakes"] = stats.handshakes;
  out["child_restarts"] = stats.child_restarts;
  out["child_reconfigurations"] = stats.child_reconfigurations;
  out["uptime_s"] = stats.uptime_s;
  return out;
}

void from_json(const json& value, AttachmentStats& out) { out = read_attachment_stats(value, ""); }

json to_json(const std::vector<AttachmentStats>& list) {
  json out = json::array();
  for (const auto& stats : list) out.push_back(to_json(stats));
  return out;
}

void from_json(const json& value, std::vector<AttachmentStats>& out) {
  out = read_array<AttachmentStats>(value, "", read_attachment_stats);
}

json to_json(const NetworkStatus& status) {
  json out = to_json(status.network);
  out["backend"] = status.backend;
  out["mode"] = to_string(status.mode);
  out["attachments"] = status.attachments;
  out["dnsmasq_pid"] = status.dnsmasq_pid;
  json chains = json::array();
  for (const auto& chain : status.host_firewall) {
    chains.push_back({{"chain", chain.chain},
                      {"verdict", chain.verdict},
                      {"rules_chain", string_or_null(chain.rules_chain)},
                      {"action", chain.action}});
  }
  out["host_firewall"] = std::move(chains);
  return out;
}

void from_json(const json& value, NetworkStatus& out) { out = read_network_status(value, ""); }

json to_json(const StatusResult& status) {
  json networks = json::array();
  for (const auto& network : status.networks) networks.push_back(to_json(network));
  json backends = json::object();
  for (const auto& [name, path] : status.backends) backends[name] = string_or_null(path);
  json loop = nullptr;
  if (status.loop) {
    loop = {{"max_stall_ms", status.loop->max_stall_ms}, {"stalls_over_10ms", status.loop->stalls_over_10ms}};
  }
  const json kernel = {{"backend", string_or_null(status.kernel.backend)},
                       {"os", status.kernel.os},
                       {"capabilities", status.kernel.capabilities}};
  return {{"version", status.version},
          {"loop", std::move(loop)},
          {"pid", status.pid},
          {"uptime_s", status.uptime_s},
          {"attachments", status.attachments},
          {"platform", status.platform},
          {"run_dir", status.run_dir},
          {"networks", std::move(networks)},
          {"backends", std::move(backends)},
          {"kernel", kernel}};
}

void from_json(const json& value, StatusResult& out) {
  const ResultReader reader(value, "");
  out.version = reader.string("version");
  if (const json* loop = reader.find("loop")) {
    const ResultReader loop_reader(*loop, "loop.");
    out.loop = LoopStatus{loop_reader.number("max_stall_ms"), loop_reader.u64("stalls_over_10ms")};
  }
  out.pid = reader.i64("pid");
  out.uptime_s = reader.number("uptime_s");
  out.attachments = reader.u64("attachments");
  out.platform = reader.string("platform");
  out.run_dir = reader.string("run_dir");
  out.networks = read_array<NetworkStatus>(reader.required("networks"), "networks", read_network_status);
  const ResultReader backends(reader.required("backends"), "backends.");
  for (const auto& [name, path] : reader.required("backends").items()) {
    out.backends[name] = backends.optional_string(name.c_str());
  }
  const ResultReader kernel(reader.required("kernel"), "kernel.");
  out.kernel.backend = kernel.optional_string("backend");
  out.kernel.os = kernel.string("os");
  const ResultReader capabilities(kernel.required("capabilities"), "kernel.capabilities.");
  for (const auto& [feature, available] : kernel.required("capabilities").items()) {
    out.kernel.capabilities[feature] = capabilities.boolean(feature.c_str());
  }
}

}  // namespace squib::proto
