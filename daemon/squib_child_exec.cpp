// squib-child-exec PARENT_PID PROGRAM [ARGS…]
//
// The daemon spawns every child through this shim. It asks the kernel to SIGKILL it when
// the daemon dies (prctl PR_SET_PDEATHSIG), checks the daemon did not die before that
// (getppid() still PARENT_PID), and execs PROGRAM. So even a kill -9 of squib-netd leaves no
// child running — libuv's uv_spawn has no pre-exec hook to do this itself.
// On macOS there is no PDEATHSIG: the shim only execs, and the daemon kills children on
// every orderly shutdown path.

#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <string>

#include <squib/platform/parent_death.hpp>

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: squib-child-exec PARENT_PID PROGRAM [ARGS...]\n");
    return 127;
  }
  const long parent = std::strtol(argv[1], nullptr, 10);
  if (std::string error; !squib::platform::arm_parent_death_signal(error)) {
    std::fprintf(stderr, "squib-child-exec: %s\n", error.c_str());
    return 127;
  }
  if (::getppid() != parent) return 127;  // the daemon died before we armed the signal
  ::execv(argv[2], argv + 2);
  std::fprintf(stderr, "squib-child-exec: exec %s: %s\n", argv[2], std::strerror(errno));
  return 127;
}
