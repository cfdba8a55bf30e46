#pragma once

// Sockets, socket pairs and pipes that are close-on-exec from the start, so no child the
// daemon spawns inherits a VM's socket or a link it does not own. One implementation per
// platform file, picked by CMake:
// - platform/linux/socket.cpp: atomic (SOCK_CLOEXEC | SOCK_NONBLOCK, pipe2, SO_SNDBUFFORCE);
// - platform/posix/socket.cpp (macOS, and Linux builds with SQUIB_PORTABLE_IO): fcntl right
//   after creation. Not atomic, and safe here because the daemon spawns children only from
//   its loop thread, which is the thread creating these fds.

#include <utility>

#include <squib/core/fd.hpp>
#include <squib/core/result.hpp>

namespace squib::platform {

enum class Blocking { blocking, non_blocking };

// socket(2) of `domain`/`type` (no flags in `type`).
core::Result<core::Fd> open_socket(int domain, int type, Blocking blocking);
// socketpair(2) in AF_UNIX; each end gets its own blocking mode (a child's end stays blocking).
core::Result<std::pair<core::Fd, core::Fd>> open_socketpair(int type, Blocking first, Blocking second);
// pipe(2): {read end, write end}, both blocking.
core::Result<std::pair<core::Fd, core::Fd>> open_pipe();
// Asks for send and receive buffers of `bytes` each (bursts of 32 large frames): beyond
// net.core.{w,r}mem_max where the platform lets a privileged process (Linux SO_*BUFFORCE),
// else as far as SO_SNDBUF/SO_RCVBUF go. Best effort: the kernel may cap them.
void request_socket_buffers(int fd, int bytes);

}  // namespace squib::platform
