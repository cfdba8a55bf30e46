// macOS has no PR_SET_PDEATHSIG, and nothing survives exec to watch the parent for the child
// (a kqueue EVFILT_PROC watch would need a process of its own). Children end through the
// daemon's orderly stop paths; after a kill -9 of the daemon, launchd's restart of it stops
// what its state names (docs/macos.md lists this as a difference to Linux).

#include <squib/platform/parent_death.hpp>

namespace squib::platform {

bool arm_parent_death_signal(std::string& /*error*/) { return true; }

}  // namespace squib::platform
