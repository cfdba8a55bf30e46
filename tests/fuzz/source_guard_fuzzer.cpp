// Fuzz target: relay::SourceGuard::check on arbitrary frames from a guest, at both guard
// levels, with and without a network IPv6 address — the guard's IPv4/ARP parsing and its
// IPv6 header-chain walk read untrusted bytes on the data path.
//
// Input: one selector byte, then the frame (an exactly-sized heap copy, so ASan reports any
// read past its end). Unless the selector's top bit is set, the frame's Ethernet source is
// overwritten with the guard's MAC, so that inputs get past the MAC check to the parsers.
//
// Properties: check() never reads out of bounds or crashes (ASan/UBSan); a frame shorter than
// an Ethernet header is runt; a frame from another source MAC is spoofed_mac; filter() agrees
// with check() and counts exactly the frames it drops.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <span>

#include <squib/relay/source_guard.hpp>

#include "fuzz/fuzz_check.hpp"

namespace {

const squib::core::MacAddress k_mac{{0x02, 0x00, 0x00, 0x00, 0x00, 0x0a}};
constexpr squib::core::Ipv6Address k_address6{0xfd, 0x12, 0x34, 0x56, 0x78, 0x9a, 0, 0,
                                              0,    0,    0,    0xff, 0xfe, 0,    0, 0x0a};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t selector = data[0];
  const std::size_t frame_size = size - 1;
  const auto frame = std::make_unique<std::byte[]>(frame_size + 1);  // +1: never a zero-size allocation
  std::memcpy(frame.get(), data + 1, frame_size);
  const bool own_source = (selector & 0x80U) == 0;
  if (own_source && frame_size >= 12) std::memcpy(frame.get() + 6, k_mac.bytes().data(), 6);
  const std::span<const std::byte> bytes(frame.get(), frame_size);

  squib::relay::SourceGuard guard{k_mac, (selector & 0x01U) ? std::optional<std::uint32_t>(0xc0a86917) : std::nullopt};
  if (selector & 0x02U) guard.set_ipv6(k_address6);
  guard.set_level((selector & 0x04U) ? squib::relay::GuardLevel::mac : squib::relay::GuardLevel::full);

  const auto verdict = guard.check(bytes);
  if (frame_size < 14) FUZZ_CHECK(verdict == squib::core::DropReason::runt);
  if (frame_size >= 14 && std::memcmp(frame.get() + 6, k_mac.bytes().data(), 6) != 0) {
    FUZZ_CHECK(verdict == squib::core::DropReason::spoofed_mac);
  }

  squib::core::FrameBatch in;
  in.push(bytes);
  squib::core::FrameBatch out;
  squib::core::AttachmentStats stats;
  std::optional<squib::core::DropReason> verdicts[1];
  guard.filter(in, out, stats, verdicts);
  FUZZ_CHECK(verdicts[0] == verdict);
  FUZZ_CHECK(out.count == (verdict ? 0U : 1U));
  FUZZ_CHECK(stats.total_drops() == (verdict ? 1U : 0U));
  return 0;
}
