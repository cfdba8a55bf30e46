#include <squib/core/names.hpp>

#include <algorithm>

namespace squib::core {

bool is_valid_name(std::string_view name) {
  if (name.empty() || name.size() > k_max_name_length) return false;
  if (name == "." || name == "..") return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '.' || c == '-';
  });
}

}  // namespace squib::core
