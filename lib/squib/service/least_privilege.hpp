#pragma once

// After start-up (run dir locked, state restored, control socket listening) the daemon gives
// up what it does not need (docs/security.md). One implementation per platform, picked by
// CMake: platform/linux/least_privilege.cpp drops capabilities (platform/linux/privileges.hpp);
// platform/darwin/least_privilege.cpp has none to drop (macOS has no capabilities; launchd
// runs the daemon as root).

#include <squib/service/daemon_config.hpp>

namespace squib::service {

// Logs what it kept; false (logged at critical) when the drop failed: the daemon must not
// serve with more than it should (fails closed). config.keep_privileges skips the drop.
bool drop_privileges(const DaemonConfig& config);

}  // namespace squib::service
