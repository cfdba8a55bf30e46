#pragma once

// The control methods' parameters and results (design brief §3, proto/control-protocol.md).
// Both squib-netd and squib-netctl use these types; the JSON shapes are defined only here:
// the daemon fills the typed results and encodes them with to_json; squib-netctl builds its
// requests with to_json and reads the results with from_json.
// Parsers throw ParamError naming the offending field; the dispatcher turns it into -32602
// "invalid params: <field>: <reason>", and squib-netctl reports a result it cannot read.

#include <cstddef>
#include <cstdint>
#include <map>
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
  std::string kind = "passt";       // "passt" (Debian), "gvproxy", or "custom" (root only)
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
  std::optional<std::string> subnet;  // CIDR
  std::optional<std::string> gateway;
  std::optional<std::string> dhcp_range;  // "first-last"
  std::optional<std::string> dns;
  std::optional<std::string> bridge;
  std::optional<std::string> address;  // the guest's IPv4 address
  std::optional<std::string> tap;
  // IPv6 (host/shared; userspace: what passt gives): the network's /64, its gateway (::1 of
  // it, on the bridge) and the guest's SLAAC address (EUI-64 from its MAC).
  std::optional<std::string> subnet6;
  std::optional<std::string> gateway6;
  std::optional<std::string> address6;
  // The DNS domain of the network's names (<attachment>.<domain>), host/shared.
  std::optional<std::string> domain;
};
json to_json(const NetworkInfo& network);
void from_json(const json& value, NetworkInfo& out);

// How a host/shared/bridged VM gets its link (proto/control-protocol.md, "Hand-off"):
// relayed through the per-VM socket (no handoff), or handed a ready TAP — by interface name
// (`tap`: Firecracker host_dev_name, Cloud Hypervisor tap=, QEMU -netdev tap,ifname=) or as
// an open fd passed with the reply (`fd`: QEMU -netdev tap,fd=N).
enum class Handoff { tap, fd };
const char* to_string(Handoff handoff);

// How much of a guest's traffic the anti-spoofing guard checks (proto/control-protocol.md,
// "Anti-spoofing"): `full` (the default) checks MAC, IPv4 and IPv6 sources, ARP and neighbour
// advertisements, and drops router advertisements and DHCP server messages; `mac` checks only
// the Ethernet/ARP MAC and the rogue router/DHCP rules, for guests that need other addresses
// (root only: it lets a guest use any address of the network).
enum class Guard { full, mac };
const char* to_string(Guard guard);

// The default DNS domain of a host/shared network's names.
inline constexpr std::string_view k_default_domain = "squib.internal";

// Queues of a handed-off multi-queue TAP (IFF_MULTI_QUEUE): 1 = a classic single-queue TAP.
// The kernel allows 256 (MAX_TAP_QUEUES); 16 covers every VMM's vCPU-per-queue default here.
inline constexpr std::uint32_t k_max_tap_queues = 16;

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
  // host/shared: the network's IPv6 /64 and DNS domain, applied when the network is created
  // (like subnet); nullopt = the stable ULA prefix of its name / k_default_domain.
  std::optional<std::string> subnet6;
  std::optional<std::string> domain;
  Guard guard = Guard::full;
  bool isolation = false;
  UserspaceParams userspace;
  std::optional<Owner> owner;
  bool fd_passing = false;
  std::vector<PortForward> forwards;
  std::optional<Handoff> handoff;  // nullopt: relayed through the per-VM socket
  std::uint32_t queues = 1;        // handoff only; > 1 makes the TAP multi-queue
  // Offload mode (proto/control-protocol.md, "Offload mode"; core/vnet_header.hpp): frames
  // up to 65550 bytes, TCP super-frames segmented and checksums completed by the daemon and
  // the kernel — what krunkit `offloading=on` and vmnet-helper's TSO + checksum offload
  // exchange. Relayed host/shared/bridged attachments only (not handoff, not userspace).
  bool offload = false;
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
// `start` as a client sends it: members at their default (mtu 1500, network default, no
// isolation, the passt preset as is) are left out, so that the daemon's defaults apply.
json to_request_json(const StartParams& params);
// Only the name: for `stop`, and `stats` when given.
std::string parse_name_param(const json& params, bool required);
// One forward from its text form, as a user types it: protocol `tcp` or `udp`, host
// "PORT" or "IPV4:PORT" (address default 127.0.0.1), guest_port 1-65535 when needed. The
// same rules as parse_forward_params; a ParamError names `protocol`, `host` or `guest_port`.
PortForward parse_forward_text(const std::string& protocol, const std::string& host,
                               std::optional<std::uint32_t> guest_port);

// ---- Requests squib-netctl sends (the daemon reads them with the parsers above) ----

// `list` and `status`: {}.
struct NoParams {};
json to_json(const NoParams& params);
// `stop` and `restart`: {name}.
struct NameParams {
  std::string name;
};
json to_json(const NameParams& params);
// `stats`: {} for all of the caller's attachments, {name} for one.
struct StatsParams {
  std::optional<std::string> name;
};
json to_json(const StatsParams& params);
// `forward`: {name, protocol, host: "IPV4:PORT", guest_port}.
struct ForwardParams {
  std::string name;
  PortForward forward;
};
json to_json(const ForwardParams& params);
// `unforward`: {name, protocol, host: "IPV4:PORT"} (forward.guest_port is not sent).
struct UnforwardParams {
  std::string name;
  PortForward forward;
};
json to_json(const UnforwardParams& params);

// ---- Results the daemon sends ----
// from_json throws ParamError naming the member it cannot read (a missing required member,
// a wrong type); members documented as optional may be absent or null.

void from_json(const json& value, PortForward& out);

// `start`: {name, mode, socket, mac, mtu, network}; socket is null with fd_passing.
struct StartResult {
  std::string name;
  Mode mode = Mode::shared;
  std::optional<std::string> socket;  // null: the VM's end was passed with the reply
  std::string mac;
  std::uint32_t mtu = 1500;
  // The largest frame the network takes, Ethernet header included, where it says so (vmnet:
  // vmnet_max_packet_size_key, e.g. 1514, or 65550 with TSO); absent elsewhere.
  std::optional<std::uint64_t> max_packet_size;
  NetworkInfo network;
  // handoff: the TAP's interface name (and socket is null).
  std::optional<std::string> tap;
  // handoff: "tap" or "fd" (TAP or passt); absent otherwise.
  std::optional<std::string> handoff;
  // false when no frame of the attachment passes the daemon or the kernel counters it reads
  // (a handed-off passt): its counters stay 0. Written only when false.
  bool frames_counted = true;
  // Offload mode: `offload: true` (and max_packet_size 65550); absent otherwise.
  bool offload = false;
};
json to_json(const StartResult& result);
void from_json(const json& value, StartResult& out);

// `stop` and `restart`: {name}.
struct NameResult {
  std::string name;
};
json to_json(const NameResult& result);
void from_json(const json& value, NameResult& out);

// `forward` and `unforward`: {name, forwards} — every forward now in effect (always an array).
struct ForwardsResult {
  std::string name;
  std::vector<PortForward> forwards;
};
json to_json(const ForwardsResult& result);
void from_json(const json& value, ForwardsResult& out);

// One entry of `list`: {name, mode, network, socket, mac, mtu, address, state,
// peer_connected, detail?, forwards?}. socket and address are always present (null when
// there is none); detail and forwards are present only when non-empty.
struct AttachmentInfo {
  std::string name;
  Mode mode = Mode::shared;
  std::string network = "default";
  std::optional<std::string> socket;  // null: fd passing
  std::string mac;
  std::uint32_t mtu = 1500;
  std::optional<std::string> address;  // the guest's IPv4 address, once known (host/shared)
  std::string state;                   // starting, running, restarting, failed, stopping
  bool peer_connected = false;
  std::optional<std::string> detail;  // e.g. the child's pid, or its last words when failed
  std::vector<PortForward> forwards;
  std::optional<std::string> tap;  // handed-off attachments: the TAP's interface name
  // As StartResult's: "tap" or "fd" when handed off; false when no frame is counted.
  std::optional<std::string> handoff;
  bool frames_counted = true;
};
json to_json(const AttachmentInfo& info);
void from_json(const json& value, AttachmentInfo& out);
json to_json(const std::vector<AttachmentInfo>& list);
void from_json(const json& value, std::vector<AttachmentInfo>& out);

// One direction's counters in `stats`: {frames, bytes, batches, mean_batch}.
struct DirectionStats {
  std::uint64_t frames = 0;
  std::uint64_t bytes = 0;
  std::uint64_t batches = 0;
  double mean_batch = 0;
};
json to_json(const DirectionStats& stats);
void from_json(const json& value, DirectionStats& out);

// One entry of `stats`: the `list` entry's members and the counters beside them.
struct AttachmentStats {
  AttachmentInfo attachment;
  DirectionStats from_vm;
  DirectionStats to_vm;
  std::map<std::string, std::uint64_t> drops;  // by reason (core::DropReason names)
  std::uint64_t dropped_total = 0;
  std::uint64_t errors = 0;
  std::uint64_t handshakes = 0;
  std::uint64_t child_restarts = 0;
  std::uint64_t child_reconfigurations = 0;
  double uptime_s = 0;
};
json to_json(const AttachmentStats& stats);
void from_json(const json& value, AttachmentStats& out);
json to_json(const std::vector<AttachmentStats>& list);
void from_json(const json& value, std::vector<AttachmentStats>& out);

// One entry of `status.networks[].host_firewall` (Linux, shared networks): a base chain of
// another table on the forward hook that would drop the network's forwarded traffic, and
// what the daemon did about it (docs/operations.md "Docker, ufw and firewalld").
// {chain, verdict, rules_chain, action}:
//   chain        "FAMILY TABLE CHAIN", e.g. "ip filter FORWARD"
//   verdict      why it blocks: "policy drop" or "last rule drops"
//   rules_chain  where the daemon's accept rules are, e.g. "ip filter DOCKER-USER"; null when
//                it added none (--host-firewall=leave, or adding them failed)
//   action       "accepted" (rules in place), "pending" (being added), "left"
//                (--host-firewall=leave) or "failed: <nft's message>"
struct HostFirewallChain {
  std::string chain;
  std::string verdict;
  std::optional<std::string> rules_chain;
  std::string action;
  bool operator==(const HostFirewallChain&) const = default;
};

// One entry of `status.networks`: the network's NetworkInfo members and
// {mode, attachments, dnsmasq_pid (0 while it has no dnsmasq), host_firewall}.
struct NetworkStatus {
  NetworkInfo network;
  Mode mode = Mode::host;
  std::uint64_t attachments = 0;
  std::int64_t dnsmasq_pid = 0;
  std::string backend = "bridge";  // what serves it: "bridge" (Linux) or "vmnet" (macOS)
  // Host firewall chains found for this network (empty: none blocks it, or not Linux shared).
  std::vector<HostFirewallChain> host_firewall = {};
};
json to_json(const NetworkStatus& status);
void from_json(const json& value, NetworkStatus& out);

// `status.loop`: the worst stall of the daemon's loop and how many exceeded 10 ms.
struct LoopStatus {
  double max_stall_ms = 0;
  std::uint64_t stalls_over_10ms = 0;
};

// `status`: {version, loop (null without a probe), pid, uptime_s, attachments, platform,
// run_dir, networks, backends: {passt, gvproxy}} (a backend's resolved path, or null).
// `status.kernel`: what serves host/shared/bridged on this machine and what it can do.
struct KernelStatus {
  std::optional<std::string> backend;  // "bridge" (Linux), "vmnet" (macOS); null: userspace only
  std::string os;                      // e.g. "Linux 6.1.0-18-amd64", "macOS 15.2 (Darwin 24.2.0)"
  std::map<std::string, bool> capabilities;  // feature → available on this OS (and build)
};

struct StatusResult {
  std::string version;
  std::optional<LoopStatus> loop;
  std::int64_t pid = 0;
  double uptime_s = 0;
  std::uint64_t attachments = 0;
  std::string platform;
  std::string run_dir;
  std::vector<NetworkStatus> networks;
  std::map<std::string, std::optional<std::string>> backends;
  KernelStatus kernel;
};
json to_json(const StatusResult& status);
void from_json(const json& value, StatusResult& out);

// from_json<T>(value): a result read into a new T.
template <class T>
T from_json(const json& value) {
  T out;
  from_json(value, out);
  return out;
}

}  // namespace squib::proto
