#pragma once

// VnetHeader: the virtio-net header (`struct virtio_net_hdr_v1`, virtio 1.x §5.1.6, 12 bytes,
// little-endian) that a TAP opened with IFF_VNET_HDR + TUNSETVNETHDRSZ 12 puts before each
// frame it returns and expects before each frame written to it
// (Documentation/networking/tuntap.rst; linux/virtio_net.h virtio_net_hdr_to_skb()).
//
// Theory of operation — offload mode (start's `offload`, proto/control-protocol.md):
// The VM socket carries what the peers put there, with no header: krunkit `offloading=on`
// over unixgram (libkrun src/devices/src/virtio/net/unixgram.rs: write_frame sends
// `buf[hdr_len..]`, read_frame prepends a zeroed virtio_net_hdr_v1) and vmnet-helper with
// `--enable-tso --enable-checksum-offload` (docs/integration.md "Offloading options"): one
// Ethernet frame per datagram, up to k_offload_max_frame bytes, whose TCP/UDP checksum may be
// partial (the guest's NEEDS_CSUM header was dropped) and which the receiver segments (vmnet
// TSO). The daemon therefore does what vmnet does for those peers:
// - VM → TAP, header_for_tap(): reads the frame's IPv4/IPv6 and TCP/UDP headers (bounded,
//   through FrameView), replaces the L4 checksum field (in the iovec, not in the frame) by
//   the pseudo-header sum and returns a header with NEEDS_CSUM (the kernel, or the receiving NIC, completes the
//   checksum, so a full or a partial checksum from the guest both come out right). A TCP frame longer than mtu + 14
//   becomes GSO (TCPV4/TCPV6, gso_size = MSS = mtu - IP header - TCP header): the kernel passes it across the bridge
//   whole to offload TAPs and segments it for the others. Other frames longer than mtu + 14 are `oversize`; IP/TCP
//   headers that cannot be read in a frame that needs them are `bad_vnet_hdr`. Anything else passes with a plain header
//   (flags 0, GSO_NONE).
// - TAP → VM, complete_checksum(): validates the kernel's header against the frame (known
//   gso_type, gso_size > 0 with GSO, hdr_len and csum_start + csum_offset + 2 within the
//   frame; otherwise `bad_vnet_hdr` — checked access, never trusting a length) and, with
//   NEEDS_CSUM, computes the Internet checksum (RFC 1071) from csum_start to the end and
//   stores it at csum_start + csum_offset: the peers hand the guest a zeroed header (no
//   DATA_VALID), so it verifies every checksum itself. The GSO frame then goes to the VM whole
//   (up to 64 KiB: krunkit negotiates GUEST_TSO4 and sizes its buffers for it).
// Cost: the checksum is one pass over the frame (about 1 byte per cycle unrolled); header
// building is a few bounded reads. No allocation.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <variant>

#include <squib/core/stats.hpp>

namespace squib::core {

// sizeof(struct virtio_net_hdr_v1) (linux/virtio_net.h; virtio 1.x §5.1.6).
inline constexpr std::size_t k_vnet_header_size = 12;
// The largest frame of an offload attachment, Ethernet header included: what vmnet reports
// as vmnet_max_packet_size with TSO (vmnet-helper programs/common.h, 65550) and what
// krunkit's frame buffer holds after its header (libkrun net/mod.rs MAX_BUFFER_SIZE 65562 -
// 12). An IPv4/IPv6 packet is at most 65535 bytes + 14 of Ethernet header.
inline constexpr std::size_t k_offload_max_frame = 65550;

// flags (virtio 1.x §5.1.6).
inline constexpr std::uint8_t k_vnet_needs_csum = 1;
inline constexpr std::uint8_t k_vnet_data_valid = 2;
// gso_type.
inline constexpr std::uint8_t k_vnet_gso_none = 0;
inline constexpr std::uint8_t k_vnet_gso_tcpv4 = 1;
inline constexpr std::uint8_t k_vnet_gso_udp = 3;
inline constexpr std::uint8_t k_vnet_gso_tcpv6 = 4;
inline constexpr std::uint8_t k_vnet_gso_udp_l4 = 5;
inline constexpr std::uint8_t k_vnet_gso_ecn = 0x80;

struct VnetHeader {
  std::uint8_t flags = 0;
  std::uint8_t gso_type = k_vnet_gso_none;
  std::uint16_t hdr_len = 0;
  std::uint16_t gso_size = 0;
  std::uint16_t csum_start = 0;
  std::uint16_t csum_offset = 0;
  std::uint16_t num_buffers = 0;

  // Little-endian wire form (virtio 1.x: the device and driver agree on LE).
  void encode(std::span<std::byte, k_vnet_header_size> out) const;
  static VnetHeader decode(std::span<const std::byte, k_vnet_header_size> in);
  bool operator==(const VnetHeader&) const = default;
};

// How to write one frame from an offload VM into an offload TAP: the header, and (with
// NEEDS_CSUM) the two bytes that replace the frame's checksum field at `checksum_at` — the
// frame itself is never written to (it may be recorded by a capture, or be another's buffer).
struct TapFrame {
  VnetHeader header;
  std::size_t checksum_at = 0;  // meaningful with header.flags & k_vnet_needs_csum
  std::array<std::byte, 2> checksum{};
};

// The TapFrame for `frame` (at most k_offload_max_frame) into an offload TAP of MTU `mtu`, or
// the drop reason.
std::variant<TapFrame, DropReason> header_for_tap(std::span<const std::byte> frame, std::size_t mtu);

// Checks the kernel's `header` against `frame` and completes a NEEDS_CSUM checksum in place;
// nullopt when the frame may go to the VM, else the drop reason (bad_vnet_hdr).
std::optional<DropReason> complete_checksum(const VnetHeader& header, std::span<std::byte> frame);

// RFC 1071 one's-complement sum of `bytes` added to `sum` (not folded, not complemented).
std::uint64_t checksum_add(std::uint64_t sum, std::span<const std::byte> bytes);
// Folds a sum to 16 bits (not complemented).
std::uint16_t checksum_fold(std::uint64_t sum);

}  // namespace squib::core
