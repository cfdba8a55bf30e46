#pragma once

// The `resolve` method's parameters and result (proto/control-protocol.md, "resolve"): what
// a host/shared network's DNS answers for an attachment's name, from the daemon's own
// records. {name} → {name, fqdn, address, address6?}, where `name` may be the attachment's
// name or its fully qualified <name>.<domain>.

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace squib::proto {

// RFC 1035 §3.1: a domain name is at most 255 octets on the wire, 253 as text.
inline constexpr std::size_t k_max_dns_name_length = 253;

struct ResolveParams {
  std::string name;  // an attachment name, or <attachment>.<domain>
};
// Throws ParamError("name", ...) unless `name` is a string of 1 to 253 characters.
ResolveParams parse_resolve_params(const nlohmann::json& params);
nlohmann::json to_json(const ResolveParams& params);

struct ResolveResult {
  std::string name;                     // the attachment's name
  std::string fqdn;                     // <name>.<domain>
  std::string address;                  // its IPv4 address (the A record)
  std::optional<std::string> address6;  // its IPv6 address (the AAAA record), when the network has IPv6
};
nlohmann::json to_json(const ResolveResult& result);
void from_json(const nlohmann::json& value, ResolveResult& out);

}  // namespace squib::proto
