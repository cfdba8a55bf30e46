#include <squib/platform/linux/tap_device.hpp>

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>

#include <cstring>

namespace squib::platform {

namespace {

// linux/if_tun.h since 6.2; older headers lack them.
constexpr unsigned k_tun_f_uso4 = 0x20;
constexpr unsigned k_tun_f_uso6 = 0x40;

core::Result<void> enable_vnet(int fd, const std::string& name) {
  int size = 12;  // sizeof(struct virtio_net_hdr_v1), core::k_vnet_header_size
  if (::ioctl(fd, TUNSETVNETHDRSZ, &size) != 0) return core::Error::from_errno("TUNSETVNETHDRSZ " + name);
  const unsigned long base = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6;
  if (::ioctl(fd, TUNSETOFFLOAD, base | k_tun_f_uso4 | k_tun_f_uso6) == 0) return {};
  if (::ioctl(fd, TUNSETOFFLOAD, base) != 0) return core::Error::from_errno("TUNSETOFFLOAD " + name);
  return {};
}

}  // namespace

core::Result<core::Fd> open_tap(const std::string& name, bool vnet) {
  if (name.empty() || name.size() > k_max_ifname) return core::Error{EINVAL, "TAP name '" + name + "' does not fit IFNAMSIZ"};
  core::Fd fd(::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC));
  if (!fd) return core::Error::from_errno("open /dev/net/tun");
  ifreq request{};
  std::memcpy(request.ifr_name, name.data(), name.size());
  request.ifr_flags = static_cast<short>(IFF_TAP | IFF_NO_PI | (vnet ? IFF_VNET_HDR : 0));
  if (::ioctl(fd.get(), TUNSETIFF, &request) != 0) return core::Error::from_errno("TUNSETIFF " + name);
  if (vnet) {
    if (auto enabled = enable_vnet(fd.get(), name); !enabled) return enabled.error();
  }
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
