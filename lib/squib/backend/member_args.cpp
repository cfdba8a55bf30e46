#include <squib/backend/member_args.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <array>
#include <charconv>

namespace squib::backend {

namespace {

enum class Value { none, ip_address, ipv4_netmask };

struct AllowedOption {
  std::string_view spelling;
  Value value;
};

// passt(1) (Debian 2023-03 build). Flags that switch a service of this guest's own stack
// off, and the addresses passt advertises to this guest. Not here, on purpose: every PATH
// option (-l, -p, -P, -s), --runas, -F, -i/-o/--outbound-if* (other interfaces), -t/-u/-T/-U
// (forwards go through `forward`, where host ports are checked), -d/--trace (a member could
// flood the daemon's log), --mtu (the daemon sets it from `mtu`).
constexpr std::array k_passt_allowed = {
    AllowedOption{"--quiet", Value::none},           AllowedOption{"-q", Value::none},
    AllowedOption{"--no-tcp", Value::none},          AllowedOption{"--no-udp", Value::none},
    AllowedOption{"--no-icmp", Value::none},         AllowedOption{"--no-dhcp", Value::none},
    AllowedOption{"--no-ndp", Value::none},          AllowedOption{"--no-dhcpv6", Value::none},
    AllowedOption{"--no-ra", Value::none},           AllowedOption{"--no-dhcp-dns", Value::none},
    AllowedOption{"--no-dhcp-search", Value::none},  AllowedOption{"--no-map-gw", Value::none},
    AllowedOption{"--ipv4-only", Value::none},       AllowedOption{"-4", Value::none},
    AllowedOption{"--ipv6-only", Value::none},       AllowedOption{"-6", Value::none},
    AllowedOption{"--address", Value::ip_address},   AllowedOption{"-a", Value::ip_address},
    AllowedOption{"--netmask", Value::ipv4_netmask}, AllowedOption{"-n", Value::ipv4_netmask},
    AllowedOption{"--gateway", Value::ip_address},   AllowedOption{"-g", Value::ip_address},
    AllowedOption{"--dns", Value::ip_address},       AllowedOption{"-D", Value::ip_address},
};

bool is_ip_address(const std::string& text) {
  in6_addr storage{};
  return ::inet_pton(AF_INET, text.c_str(), &storage) == 1 || ::inet_pton(AF_INET6, text.c_str(), &storage) == 1;
}

// passt takes a dot-decimal netmask or a prefix length.
bool is_ipv4_netmask(const std::string& text) {
  in_addr storage{};
  if (::inet_pton(AF_INET, text.c_str(), &storage) == 1) return true;
  unsigned bits = 0;
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, bits);
  return !text.empty() && ec == std::errc() && ptr == end && bits <= 32;
}

}  // namespace

std::optional<std::string> member_args_problem(std::string_view kind, const std::vector<std::string>& args) {
  if (args.empty()) return std::nullopt;
  if (kind != "passt") {
    // gvproxy: each of its flags names a file (-log-file, -pcap, -pid-file), opens a
    // listener (-listen*, -forward-*, -services, -ssh-port) or sets what the daemon sets
    // (-mtu): none is safe to take from a member. custom programs are root's already.
    return "'" + args.front() + "': members may not pass arguments to " + std::string(kind) +
           " children (root may); see docs/security.md";
  }
  for (std::size_t i = 0; i < args.size(); ++i) {
    const auto option = std::find_if(k_passt_allowed.begin(), k_passt_allowed.end(),
                                     [&](const AllowedOption& allowed) { return allowed.spelling == args[i]; });
    if (option == k_passt_allowed.end()) {
      return "'" + args[i] + "' is not on the members' allow-list for passt (root may pass it); see docs/security.md";
    }
    if (option->value == Value::none) continue;
    if (i + 1 == args.size()) return "'" + args[i] + "' needs a value";
    const std::string& value = args[++i];
    const bool valid = option->value == Value::ip_address ? is_ip_address(value) : is_ipv4_netmask(value);
    if (!valid) {
      return "'" + args[i - 1] + " " + value + "': the value must be " +
             (option->value == Value::ip_address ? "a literal IP address" : "a netmask (dot-decimal or 0-32)");
    }
  }
  return std::nullopt;
}

}  // namespace squib::backend
