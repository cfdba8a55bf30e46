#pragma once

// The TAP side of offload mode (core/vnet_header.hpp): how one frame of an offload attachment
// becomes one write() to a TAP opened with IFF_VNET_HDR, and how one read() from it becomes a
// frame for the VM. Kept apart from TapBackend's loops so that any loop (read/write per
// frame, or a batched submission) uses the same two steps. No allocation, no syscall here.

#include <sys/uio.h>

#include <array>
#include <cstddef>
#include <optional>
#include <span>
#include <variant>

#include <squib/core/stats.hpp>
#include <squib/core/vnet_header.hpp>

namespace squib::backend {

// One write: the 12-byte header, then the frame with its checksum field replaced (as its own
// iovec: the frame, the VM port's slot, is never written to). `parts` point into this object:
// fill it in place and write it before it goes out of scope.
struct TapWrite {
  std::array<std::byte, core::k_vnet_header_size> header{};
  std::array<std::byte, 2> checksum{};
  std::array<iovec, 4> parts{};
  int count = 0;
};

// Fills `out` for `frame` (from the VM, at most k_offload_max_frame) into a TAP of MTU `mtu`;
// nullopt on success, else the drop reason (oversize, bad_vnet_hdr).
std::optional<core::DropReason> prepare_tap_write(std::span<const std::byte> frame, std::size_t mtu, TapWrite& out);

// `read` is what one read() returned (header + frame); the frame for the VM, its NEEDS_CSUM
// checksum completed in place, or the drop reason (runt: no full header; bad_vnet_hdr).
std::variant<std::span<const std::byte>, core::DropReason> frame_from_tap_read(std::span<std::byte> read);

}  // namespace squib::backend
