#pragma once

// The control methods' parameters and results (design brief §3, proto/control-protocol.md).
// Both squib-netd and squib-netctl use these types; the JSON shapes are defined only here.
// from_json-style parsers throw ParamError naming the offending field; the dispatcher turns
// it into -32602 "invalid params: <field>: <reason>".

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <squib/core/port_forward.hpp>

namespace squib::proto {

using json = nlohmann::json;

class ParamError : public std::runtime_error {
public:
  ParamError(const std::string& field, const std::string& reason)
      : std::runtime_error(field + ": " + reason), m_field(field) {}
  [[nodiscard]] const std::string& field() const { return m_field; }

private:
  std::string m_field;
};

enum class Mode { shared, host, bridged, userspace };
const char* to_string(Mode mode);
std::optional<Mode> mode_from_string(std::string_view text);

// Which userspace network stack a `userspace` attachment runs, and how it is framed.
enum class Framing { qemu_stream, vfkit_datagram };
const char* to_string(Framing framing);

struct UserspaceParams {
  std::string kind = "passt";      // "passt" (Debian), "gvproxy", or "custom" (root only)
  std::optional<std::string> path;  // binary; default: the preset's name looked up in PATH
  std::vector<std::string> args;    // extra arguments appended to the preset's
  std::optional<Framing> framing;   // custom only; presets fix their framing
};

struct Owner {
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
  // True when root named the group explicitly: the socket is then 0660 so that group's
  // members (e.g. a VMM running under a service group) may use it. Otherwise 0600.
  bool group_access = false;
};

using PortForward = core::PortForward;

// The `network` object of a `start` result: where the VM's frames go and the addresses it
// will get. Absent fields are what the daemon does not know (a userspace stack assigns its
// own addresses; a bridged VM gets the operator's LAN).
struct NetworkInfo {
  std::string name;
  std::optional<std::string> subnet;      // CIDR
  std::optional<std::string> gateway;
  std::optional<std::string> dhcp_range;  // "first-last"
  std::optional<std::string> dns;
  std::optional<std::string> bridge;
  std::optional<std::string> address;     // the guest's IPv4 address
  std::optional<std::string> tap;
};
json to_json(const NetworkInfo& network);

struct StartParams {
  std::string name;
  Mode mode = Mode::shared;
  std::string network = "default";
  std::optional<std::string> mac;
  std::uint32_t mtu = 1500;
  std::optional<std::string> bridge;
  std::optional<std::string> subnet;
  // The guest's IPv4 address (host/shared): given by the caller, or recorded by the daemon
  // once assigned, so that a restart restores exactly it.
  std::optional<std::string> address;
  bool isolation = false;
  UserspaceParams userspace;
  std::optional<Owner> owner;
  bool fd_passing = false;
  std::vector<PortForward> forwards;
};

// MTU bounds: 68 is the IPv4 minimum (RFC 791); 65535 the largest frame a backend may take.
inline constexpr std::uint32_t k_min_mtu = 68;
inline constexpr std::uint32_t k_max_mtu = 65535;

StartParams parse_start_params(const json& params);
// `forward`/`unforward` params: {name, protocol, host: "ADDR:PORT" or "PORT", guest_port}
// (guest_port is ignored by unforward).
PortForward parse_forward_params(const json& params, bool need_guest_port);
json to_json(const PortForward& forward);
json to_json(const StartParams& params);
// Only the name: for `stop`, and `stats` when given.
std::string parse_name_param(const json& params, bool required);

}  // namespace squib::proto
