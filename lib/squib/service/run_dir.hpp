#pragma once

// The run directory: created 0755 root-owned if missing, refused if it is a symlink or not
// a directory, and locked (flock on squib-netd.lock) so two daemons never share it.

#include <string>

#include <squib/core/fd.hpp>
#include <squib/core/result.hpp>

namespace squib::service {

core::Result<void> prepare_run_dir(const std::string& path);
// Holds the lock for as long as the returned Fd lives.
core::Result<core::Fd> lock_run_dir(const std::string& lock_path);

}  // namespace squib::service
