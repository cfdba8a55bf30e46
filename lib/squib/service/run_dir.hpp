#pragma once

// The run directory: created 0755 root-owned if missing, refused if it is a symlink or not
// a directory, and locked (flock on squib-netd.lock) so two daemons never share it.

#include <optional>
#include <string>

#include <squib/core/fd.hpp>
#include <squib/core/result.hpp>

namespace squib::service {

core::Result<void> prepare_run_dir(const std::string& path);
// The run dir or the first directory above it that others cannot search (no o+x), if any:
// then dnsmasq (as nobody) cannot read its static leases and other users' VMMs cannot reach
// their sockets, so the daemon says so at start-up, with the fix.
std::optional<std::string> unsearchable_directory(const std::string& path);
// Holds the lock for as long as the returned Fd lives.
core::Result<core::Fd> lock_run_dir(const std::string& lock_path);

}  // namespace squib::service
