#include <squib/platform/parent_death.hpp>

#include <sys/prctl.h>

#include <cerrno>
#include <csignal>
#include <cstring>

namespace squib::platform {

bool arm_parent_death_signal(std::string& error) {
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL) == 0) return true;
  error = std::string("prctl(PR_SET_PDEATHSIG): ") + std::strerror(errno);
  return false;
}

}  // namespace squib::platform
