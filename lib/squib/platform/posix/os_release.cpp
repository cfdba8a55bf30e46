#include <squib/platform/os_release.hpp>

#include <sys/utsname.h>

namespace squib::platform {

std::string os_release() {
  utsname name{};
  if (::uname(&name) != 0) return "unknown";
  return std::string(name.sysname) + " " + name.release;
}

}  // namespace squib::platform
