#pragma once

// Attachment and network names become file names (<run-dir>/<name>.sock) and interface-name
// fragments, so they are validated before anything else: [A-Za-z0-9_.-]{1,64}, and not "."
// or ".." (design brief §3).

#include <string_view>

namespace squib::core {

inline constexpr std::size_t k_max_name_length = 64;

bool is_valid_name(std::string_view name);

// DNS (RFC 1035 §2.3.1, RFC 1123 §2.1): a label is 1-63 of [A-Za-z0-9-], not starting or
// ending with '-'. An attachment is named <name>.<domain> in its network's DNS only when its
// name is such a label (names may also hold '_' and '.').
bool is_valid_dns_label(std::string_view label);
// A domain: labels separated by single dots, at most 253 characters, no trailing dot.
bool is_valid_dns_domain(std::string_view domain);

}  // namespace squib::core
