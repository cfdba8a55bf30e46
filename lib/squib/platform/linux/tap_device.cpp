#include <squib/platform/linux/tap_device.hpp>

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>

#include <cstring>

namespace squib::platform {

core::Result<core::Fd> open_tap(const std::string& name) {
  if (name.empty() || name.size() > k_max_ifname) return core::Error{EINVAL, "TAP name '" + name + "' does not fit IFNAMSIZ"};
  core::Fd fd(::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC));
  if (!fd) return core::Error::from_errno("open /dev/net/tun");
  ifreq request{};
  std::memcpy(request.ifr_name, name.data(), name.size());
  request.ifr_flags = IFF_TAP | IFF_NO_PI;
  if (::ioctl(fd.get(), TUNSETIFF, &request) != 0) return core::Error::from_errno("TUNSETIFF " + name);
  return fd;
}

}  // namespace squib::platform
