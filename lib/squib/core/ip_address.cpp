#include <squib/core/ip_address.hpp>

#include <arpa/inet.h>

#include <string>

namespace squib::core {

std::optional<IpAddress> parse_ip_address(std::string_view text) {
  // inet_pton reads up to a NUL: one inside the text (JSON strings may carry \u0000) would
  // let "10.0.0.1\0junk" pass as 10.0.0.1.
  if (text.find('\0') != std::string_view::npos) return std::nullopt;
  const std::string terminated(text);  // inet_pton needs a NUL-terminated string
  IpAddress out;
  if (::inet_pton(AF_INET, terminated.c_str(), out.bytes.data()) == 1) return out;
  out.ipv6 = true;
  if (::inet_pton(AF_INET6, terminated.c_str(), out.bytes.data()) == 1) return out;
  return std::nullopt;
}

}  // namespace squib::core
