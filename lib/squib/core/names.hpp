#pragma once

// Attachment and network names become file names (<run-dir>/<name>.sock) and interface-name
// fragments, so they are validated before anything else: [A-Za-z0-9_.-]{1,64}, and not "."
// or ".." (design brief §3).

#include <string_view>

namespace squib::core {

inline constexpr std::size_t k_max_name_length = 64;

bool is_valid_name(std::string_view name);

}  // namespace squib::core
