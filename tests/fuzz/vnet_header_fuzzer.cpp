// Fuzz target: core/vnet_header.hpp — header_for_tap() over frames an offload VM sends, and
// complete_checksum() over a header + frame a TAP returns (both untrusted: style.md 6-7).
//
// Input: byte 0 picks the MTU (68 + byte * 256), bytes 1-12 are a virtio_net_hdr_v1, the
// rest is the frame, copied into an exactly-sized heap buffer (ASan sees any overread).
//
// Properties: header_for_tap() describes only what lies inside the frame (checksum field,
// csum_start, hdr_len), uses GSO only past MTU + 14 with a non-zero gso_size, lets a plain
// frame pass only up to MTU + 18, and its header is always accepted by complete_checksum(),
// which then leaves a checksum that verifies (RFC 1071: with the pseudo-header the sum folds
// to 0xffff). Whatever
// complete_checksum() accepts has its checksum field inside the frame.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <variant>
#include <vector>

#include <squib/core/vnet_header.hpp>

#include "fuzz/fuzz_check.hpp"

namespace {

namespace core = squib::core;

void check_header_for_tap(std::span<const std::byte> input, std::size_t mtu) {
  std::vector<std::byte> frame(input.begin(), input.end());
  const auto described = core::header_for_tap(frame, mtu);
  const auto* tap = std::get_if<core::TapFrame>(&described);
  if (tap == nullptr) return;
  const core::VnetHeader& header = tap->header;
  if (header.gso_type != core::k_vnet_gso_none) {
    FUZZ_CHECK(frame.size() > mtu + 14);
    FUZZ_CHECK(header.gso_size > 0);
    FUZZ_CHECK(header.hdr_len <= frame.size());
  }
  if (header.flags == 0) {
    FUZZ_CHECK(frame.size() <= mtu + 18);
    return;
  }
  FUZZ_CHECK(tap->checksum_at == std::size_t{header.csum_start} + header.csum_offset);
  FUZZ_CHECK(tap->checksum_at + 2 <= frame.size());
  // What the kernel would do: the field replaced, the checksum completed.
  std::memcpy(frame.data() + tap->checksum_at, tap->checksum.data(), 2);
  FUZZ_CHECK(!core::complete_checksum(header, frame).has_value());
  // The segment (new checksum in place) plus the pseudo-header sum (the replaced field's
  // value, in the same native word order checksum_add uses) folds to 0xffff.
  std::uint16_t pseudo = 0;
  std::memcpy(&pseudo, tap->checksum.data(), sizeof pseudo);
  const std::uint16_t folded =
      core::checksum_fold(core::checksum_add(pseudo, std::span<const std::byte>(frame).subspan(header.csum_start)));
  FUZZ_CHECK(folded == 0xffff);
}

void check_complete_checksum(std::span<const std::byte> input) {
  if (input.size() < core::k_vnet_header_size) return;
  const auto header = core::VnetHeader::decode(input.first<core::k_vnet_header_size>());
  std::vector<std::byte> frame(input.begin() + core::k_vnet_header_size, input.end());
  if (core::complete_checksum(header, frame)) return;
  if ((header.flags & core::k_vnet_needs_csum) != 0) {
    FUZZ_CHECK(std::size_t{header.csum_start} + header.csum_offset + 2 <= frame.size());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::size_t mtu = 68 + std::size_t{data[0]} * 256;
  const std::span<const std::byte> rest(reinterpret_cast<const std::byte*>(data + 1), size - 1);
  check_complete_checksum(rest);
  if (rest.size() >= core::k_vnet_header_size) check_header_for_tap(rest.subspan(core::k_vnet_header_size), mtu);
  return 0;
}
