#pragma once

// Can a forward's host port be bound right now? Asked before a forward is handed to passt,
// which would otherwise fail to bind after the daemon said "ok" ("Failed to bind any port")
// and take the working attachment down with it. The probe binds and closes a socket of the
// same protocol on the same address, with SO_REUSEADDR as passt uses it, so a port another
// process (or another attachment) holds is refused with a clear error up front. A small race
// remains (the port may be taken between the probe and passt's bind); passt then reports it.
// Ports below 1024 (root's forwards only) cannot be probed by the daemon, which keeps
// CAP_NET_BIND_SERVICE for its children alone: those are left to passt.

#include <optional>
#include <string>

#include <squib/core/port_forward.hpp>

namespace squib::service {

// nullopt when the port can be bound; otherwise why not, e.g. "127.0.0.1:2222 (tcp) is in use".
std::optional<std::string> host_port_problem(const core::PortForward& forward);

}  // namespace squib::service
