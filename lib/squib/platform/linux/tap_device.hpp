#pragma once

// open_tap: creates (or attaches to) the TAP interface NAME through /dev/net/tun
// (Documentation/networking/tuntap.rst) with IFF_TAP | IFF_NO_PI: every read() returns one
// Ethernet frame and every write() takes one, with no packet-information header.
//
// The device is not persistent (no TUNSETPERSIST): the kernel deletes it when the last fd
// closes, so a TAP never outlives the daemon, even after kill -9. The fd is O_NONBLOCK and
// O_CLOEXEC. Without `vnet` there is no virtio-net header: the VM side of our data path is a
// datagram socket of plain frames (QEMU -netdev dgram), so the kernel segments GSO packets
// before the TAP.
// With `vnet` (offload attachments, core/vnet_header.hpp): IFF_VNET_HDR, TUNSETVNETHDRSZ 12
// (struct virtio_net_hdr_v1) and TUNSETOFFLOAD TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 (+
// TUN_F_USO4 | TUN_F_USO6 where the kernel takes them, Linux 6.2; retried without): every
// read() and write() then starts with a 12-byte header, and the kernel hands us GSO
// super-frames (up to 64 KiB) with partial checksums instead of segmenting them.

#include <cstdint>
#include <string>

#include <squib/core/fd.hpp>
#include <squib/core/result.hpp>

namespace squib::platform {

// IFNAMSIZ (linux/if.h) is 16 bytes including the NUL.
inline constexpr std::size_t k_max_ifname = 15;

core::Result<core::Fd> open_tap(const std::string& name, bool vnet = false);

// A TAP made to be handed to a VMM (`start` with handoff, backend/tap_handoff_backend.hpp).
struct HandoffTapOptions {
  std::uint32_t owner_uid = 0;  // TUNSETOWNER
  std::uint32_t owner_gid = 0;  // TUNSETGROUP
  std::uint32_t queues = 1;     // > 1: IFF_MULTI_QUEUE
};

// create_handoff_tap: creates the TAP NAME, which must not exist yet (IFF_TUN_EXCL: an
// interface of that name, ours or not, is EBUSY — never adopted by accident), persistent
// (TUNSETPERSIST: it outlives this fd and the daemon, so the VMM can open it by name and keep
// it across a daemon crash), owned by owner_uid and owner_gid (TUNSETOWNER/TUNSETGROUP: the
// kernel lets a process without CAP_NET_ADMIN attach only if its euid is the owner and it is
// in that group, tun.c tun_not_capable()), with IFF_TAP | IFF_NO_PI | IFF_VNET_HDR (the
// virtio-net header that lets a VMM pass offloads through; the VMM's own TUNSETIFF sets the
// flags it wants, so this matters only to the fd handed over with `handoff: fd`), and
// IFF_MULTI_QUEUE when queues > 1 (a VMM must then open it multi-queue too; the kernel
// refuses a mismatch with EINVAL). Returns the fd of the first queue, O_CLOEXEC and blocking
// (a VMM expects the fd as TUNSETIFF left it); on any error after creation the TAP is
// deleted again (TUNSETPERSIST 0 before the fd closes).
core::Result<core::Fd> create_handoff_tap(const std::string& name, const HandoffTapOptions& options);

}  // namespace squib::platform
