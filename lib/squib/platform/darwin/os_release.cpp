#include <squib/platform/os_release.hpp>

#include <sys/sysctl.h>
#include <sys/utsname.h>

namespace squib::platform {

std::string os_release() {
  std::string out = "macOS";
  char version[64] = {};
  std::size_t size = sizeof(version);
  // kern.osproductversion: macOS 10.13.4 and later (sysctl(8) on a Mac lists it).
  if (::sysctlbyname("kern.osproductversion", version, &size, nullptr, 0) == 0) out += std::string(" ") + version;
  utsname name{};
  if (::uname(&name) == 0) out += std::string(" (") + name.sysname + " " + name.release + ")";
  return out;
}

}  // namespace squib::platform
