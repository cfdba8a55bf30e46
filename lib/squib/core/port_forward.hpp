#pragma once

// PortForward: a host port forwarded into a guest (userspace mode): connections to
// host_address:host_port on the host reach guest_port in the guest.

#include <cstdint>
#include <string>

namespace squib::core {

struct PortForward {
  std::string protocol = "tcp";  // tcp | udp
  std::string host_address = "127.0.0.1";  // a literal IPv4 address
  std::uint16_t host_port = 0;
  std::uint16_t guest_port = 0;
  friend bool operator==(const PortForward&, const PortForward&) = default;
};

}  // namespace squib::core
