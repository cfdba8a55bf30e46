#include <squib/service/port_probe.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <squib/core/fd.hpp>

namespace squib::service {

std::optional<std::string> host_port_problem(const core::PortForward& forward) {
  const std::string where = forward.host_address + ":" + std::to_string(forward.host_port) + " (" + forward.protocol + ")";
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(forward.host_port);
  if (::inet_pton(AF_INET, forward.host_address.c_str(), &address.sin_addr) != 1) {
    return where + ": not an IPv4 address";
  }
  const core::Fd probe(::socket(AF_INET, forward.protocol == "udp" ? SOCK_DGRAM : SOCK_STREAM, 0));
  if (!probe) return where + ": socket: " + std::strerror(errno);
  const int on = 1;
  (void)::setsockopt(probe.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  if (::bind(probe.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0) return std::nullopt;
  if (errno == EADDRINUSE) return where + " is in use by another process or attachment";
  if (errno == EADDRNOTAVAIL) return where + ": " + forward.host_address + " is not an address of this host";
  // A privileged port: the daemon dropped CAP_NET_BIND_SERVICE from its effective set (its
  // children keep it), so it cannot ask; passt will.
  if (errno == EACCES) return std::nullopt;
  return where + ": " + std::strerror(errno);
}

}  // namespace squib::service
