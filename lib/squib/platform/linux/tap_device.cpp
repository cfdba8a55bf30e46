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

core::Result<core::Fd> create_handoff_tap(const std::string& name, const HandoffTapOptions& options) {
  if (name.empty() || name.size() > k_max_ifname) return core::Error{EINVAL, "TAP name '" + name + "' does not fit IFNAMSIZ"};
  core::Fd fd(::open("/dev/net/tun", O_RDWR | O_CLOEXEC));
  if (!fd) return core::Error::from_errno("open /dev/net/tun");
  ifreq request{};
  std::memcpy(request.ifr_name, name.data(), name.size());
  request.ifr_flags = static_cast<short>(IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_TUN_EXCL |
                                         (options.queues > 1 ? IFF_MULTI_QUEUE : 0));
  if (::ioctl(fd.get(), TUNSETIFF, &request) != 0) return core::Error::from_errno("TUNSETIFF " + name);
  // From here on the TAP exists; undo it on failure (a non-persistent TAP dies with its fd).
  const auto fail = [&](const std::string& what) -> core::Error {
    core::Error error = core::Error::from_errno(what + " " + name);
    (void)::ioctl(fd.get(), TUNSETPERSIST, 0UL);
    return error;
  };
  if (::ioctl(fd.get(), TUNSETOWNER, static_cast<unsigned long>(options.owner_uid)) != 0) return fail("TUNSETOWNER");
  if (::ioctl(fd.get(), TUNSETGROUP, static_cast<unsigned long>(options.owner_gid)) != 0) return fail("TUNSETGROUP");
  if (::ioctl(fd.get(), TUNSETPERSIST, 1UL) != 0) return fail("TUNSETPERSIST");
  return fd;
}

}  // namespace squib::platform
