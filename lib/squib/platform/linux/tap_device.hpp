#pragma once

// open_tap: creates (or attaches to) the TAP interface NAME through /dev/net/tun
// (Documentation/networking/tuntap.rst) with IFF_TAP | IFF_NO_PI: every read() returns one
// Ethernet frame and every write() takes one, with no packet-information header.
//
// The device is not persistent (no TUNSETPERSIST): the kernel deletes it when the last fd
// closes, so a TAP never outlives the daemon, even after kill -9. The fd is O_NONBLOCK and
// O_CLOEXEC. IFF_VNET_HDR (virtio-net header, offloads) is not used: the VM side of our
// data path is a datagram socket of plain frames (QEMU -netdev dgram), which has no
// virtio-net header to pass through, so the kernel segments GSO packets before the TAP.

#include <string>

#include <squib/core/fd.hpp>
#include <squib/core/result.hpp>

namespace squib::platform {

// IFNAMSIZ (linux/if.h) is 16 bytes including the NUL.
inline constexpr std::size_t k_max_ifname = 15;

core::Result<core::Fd> open_tap(const std::string& name);

}  // namespace squib::platform
