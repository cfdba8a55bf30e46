#pragma once

// DaemonConfig: everything squib-netd is told at start-up (flags, config file), in one
// place, passed by reference to the parts that need it. No globals.

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <squib/proto/messages.hpp>
#include <squib/proto/network_messages.hpp>

namespace squib::service {

struct DaemonConfig {
  std::string run_dir;         // /run/squib-net on Linux, /var/run/squib-net on macOS
  std::string control_path;    // default <run_dir>/control.sock
  std::optional<gid_t> group;  // members may use the control socket (mode 0660)
  std::string exec_shim;       // squib-child-exec beside the daemon binary, if present
  std::string passt_program = "passt";
  std::string gvproxy_program = "gvproxy";
  // Networks the config file (`networks`) or --network declare (issue 15): made at every
  // start (origin config), before state.json's networks and attachments; never persisted.
  std::vector<proto::NetworkSpec> networks;

  // Limits (design brief §3; docs/security.md says why each exists).
  std::size_t max_line = 64 * 1024;
  std::chrono::milliseconds idle_timeout{60'000};
  std::size_t max_connections = 64;
  std::size_t max_attachments = 256;
  std::chrono::milliseconds shutdown_deadline{1'500};

  // Tenancy (docs/security.md): control-group members are ordinary, untrusted users. Each
  // uid other than root may hold at most this many attachments and control connections, so
  // one member cannot use up the daemon-wide limits above for everyone.
  std::size_t max_attachments_per_uid = 32;
  std::size_t max_connections_per_uid = 8;
  // The modes members may start (root may start every mode); default all.
  std::set<proto::Mode> member_modes = {proto::Mode::shared, proto::Mode::host, proto::Mode::bridged,
                                        proto::Mode::userspace};
  // Existing host bridges members may attach `bridged` VMs to; every other bridge is root's.
  std::vector<std::string> allowed_bridges;
  // Host ports below this are root's to forward (Linux: net.ipv4.ip_unprivileged_port_start,
  // read at start-up; 1024 elsewhere and when unreadable).
  std::uint32_t unprivileged_port_start = 1024;
  // Linux: skip the capability drop after start-up (platform/linux/privileges.hpp).
  bool keep_privileges = false;
  // Linux, shared networks: coexist with other tables' forward chains that drop (Docker, ufw,
  // firewalld) by adding tagged accept rules to them (platform/linux/host_firewall.hpp), or
  // leave them alone and refuse to start a shared network they would cut off
  // (--host-firewall=leave; docs/operations.md "Docker, ufw and firewalld").
  bool host_firewall_leave = false;
  // --metrics-textfile: rewrite this file with the metrics exposition every metrics_interval
  // (service/metrics_textfile.hpp); empty: off.
  std::string metrics_textfile;
  std::chrono::milliseconds metrics_interval{15'000};

  [[nodiscard]] std::string socket_path(const std::string& name) const { return run_dir + "/" + name + ".sock"; }
  [[nodiscard]] std::string state_path() const { return run_dir + "/state.json"; }
  [[nodiscard]] std::string lock_path() const { return run_dir + "/squib-netd.lock"; }
};

}  // namespace squib::service
