#pragma once

// How each userspace network program is started and linked (design brief §1):
//
// | kind    | link                                   | framing        | argv                                   |
// |---------|----------------------------------------|----------------|----------------------------------------|
// | passt   | socketpair end inherited as fd 3       | QEMU stream    | --foreground --fd 3 --mtu M            |
// |         |                                        |                | --pid D/passt/N.pid [-t/-u …] [args]   |
// | gvproxy | gvproxy listens on a path in run dir,  | QEMU stream or | -listen-qemu unix://P  (or             |
// |         | the daemon connects after the spawn    | vfkit datagram | -listen-vfkit unixgram://P) -mtu M     |
// |         |                                        |                | -ssh-port -1 -listen unix://API [args] |
// | custom  | socketpair end inherited as fd 3       | as configured  | args, "{fd}" replaced by 3             |
//
// Pure functions: the exact command lines are unit-tested.

#include <string>

#include <squib/core/port_forward.hpp>
#include <vector>

namespace squib::backend {

enum class LinkFraming { qemu_stream, vfkit_datagram };

struct UserspaceConfig {
  std::string kind = "passt";  // passt | gvproxy | custom
  std::string program;         // as given (name for PATH lookup, or a path)
  std::vector<std::string> extra_args;
  LinkFraming framing = LinkFraming::qemu_stream;
  std::string exec_shim;  // squib-child-exec path, or empty
  std::string link_dir;   // the run dir: gvproxy's sockets, passt's PID files (in passt/)
  std::vector<core::PortForward> forwards;  // passt: -t/-u options
  // passt only (`start` with handoff "fd"): the daemon's end of the link goes to the VMM
  // instead of being relayed (userspace_backend.hpp, "Hand-off").
  bool handoff = false;
};

struct UserspaceLaunchPlan {
  std::vector<std::string> args;  // argv[1..]
  bool inherits_fd = false;       // the link is a socketpair end passed as fd 3
  std::string listen_path;        // else: the path the child listens on (gvproxy)
  std::string api_path;           // gvproxy's services API socket
  std::string pid_path;           // passt: its PID file, written once it serves
};

inline constexpr int k_child_link_fd = 3;

UserspaceLaunchPlan plan_userspace_launch(const UserspaceConfig& config, const std::string& name, std::size_t mtu);

}  // namespace squib::backend
