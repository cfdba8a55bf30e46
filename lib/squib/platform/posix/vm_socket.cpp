// platform/vm_socket.hpp without a per-sender queue limit to lift: plain sockets.

#include <squib/platform/vm_socket.hpp>

#include <sys/socket.h>

#include <squib/platform/socket.hpp>

namespace squib::platform {

std::string start_vm_sockets() { return "plain sockets (no per-sender queue limit on this platform)"; }

core::Result<core::Fd> open_vm_socket() { return open_socket(AF_UNIX, SOCK_DGRAM, Blocking::non_blocking); }

std::size_t vm_socket_queue() { return 0; }

}  // namespace squib::platform
