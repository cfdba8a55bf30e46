#include <squib/core/names.hpp>

#include <algorithm>

namespace squib::core {

bool is_valid_name(std::string_view name) {
  if (name.empty() || name.size() > k_max_name_length) return false;
  if (name == "." || name == "..") return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
           c == '-';
  });
}

bool is_valid_dns_label(std::string_view label) {
  if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
  return std::all_of(label.begin(), label.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
  });
}

bool is_valid_dns_domain(std::string_view domain) {
  if (domain.empty() || domain.size() > 253) return false;
  while (true) {
    const auto dot = domain.find('.');
    if (!is_valid_dns_label(domain.substr(0, dot))) return false;
    if (dot == std::string_view::npos) return true;
    domain.remove_prefix(dot + 1);
  }
}

}  // namespace squib::core
