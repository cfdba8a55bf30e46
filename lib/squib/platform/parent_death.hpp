#pragma once

// Ties the calling process's life to its parent's, for squib-child-exec (the shim every child
// is spawned through): when the daemon dies, even by kill -9, its children must not live on.
// One implementation per platform, picked by CMake.

#include <string>

namespace squib::platform {

// True when armed (Linux: PR_SET_PDEATHSIG(SIGKILL)); false with `error` set when it failed.
// Where the platform has no such mechanism it returns true and arms nothing (see its file).
bool arm_parent_death_signal(std::string& error);

}  // namespace squib::platform
