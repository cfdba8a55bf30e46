// Fuzz target: core::FrameView accessors at random offsets, plus the other parsers of
// untrusted bytes in core (MacAddress::parse, is_valid_name, is_vfkit_handshake).
//
// The frame is the whole input (libFuzzer hands it over in an exactly-sized heap buffer, so
// ASan reports any read past its end). Offsets come from a second, separate copy of the
// input interpreted as little-endian 64-bit words, and from every offset around the end.
//
// Properties: each accessor returns a value exactly when its bytes lie inside the frame, and
// that value is the big-endian reading of those bytes; the header accessors agree with the
// absolute ones; a parsed MAC prints back as the lower-cased input.

#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <span>
#include <string>
#include <string_view>

#include <squib/core/frame_view.hpp>
#include <squib/core/mac_address.hpp>
#include <squib/core/names.hpp>

#include "fuzz/fuzz_check.hpp"

namespace {

using squib::core::FrameView;
using squib::core::MacAddress;

bool fits(std::size_t offset, std::size_t width, std::size_t size) {
  return offset <= size && size - offset >= width;
}

std::uint64_t big_endian(const std::uint8_t* p, std::size_t width) {
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < width; ++i) value = (value << 8U) | p[i];
  return value;
}

void check_offset(const FrameView& view, const std::uint8_t* data, std::size_t size, std::size_t offset) {
  const auto u8 = view.u8_at(offset);
  FUZZ_CHECK(u8.has_value() == fits(offset, 1, size));
  if (u8) FUZZ_CHECK(*u8 == data[offset]);

  const auto u16 = view.u16_at(offset);
  FUZZ_CHECK(u16.has_value() == fits(offset, 2, size));
  if (u16) FUZZ_CHECK(*u16 == big_endian(data + offset, 2));

  const auto u32 = view.u32_at(offset);
  FUZZ_CHECK(u32.has_value() == fits(offset, 4, size));
  if (u32) FUZZ_CHECK(*u32 == big_endian(data + offset, 4));

  const auto mac = view.mac_at(offset);
  FUZZ_CHECK(mac.has_value() == fits(offset, MacAddress::k_size, size));
  if (mac) FUZZ_CHECK(std::memcmp(mac->bytes().data(), data + offset, MacAddress::k_size) == 0);
}

bool reference_name_check(std::string_view name) {
  if (name.empty() || name.size() > 64 || name == "." || name == "..") return false;
  for (const char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                    c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
  const FrameView view(bytes);
  FUZZ_CHECK(view.size() == size);
  FUZZ_CHECK(view.has_ethernet_header() == (size >= squib::core::k_ethernet_header_size));

  // Header accessors agree with the absolute ones.
  FUZZ_CHECK(view.destination() == view.mac_at(0));
  FUZZ_CHECK(view.source() == view.mac_at(6));
  FUZZ_CHECK(view.ether_type() == view.u16_at(12));
  const auto payload = view.payload();
  FUZZ_CHECK(payload.has_value() == view.has_ethernet_header());
  if (payload) {
    FUZZ_CHECK(payload->data() == bytes.data() + squib::core::k_ethernet_header_size);
    FUZZ_CHECK(payload->size() == size - squib::core::k_ethernet_header_size);
  }

  // Every offset around the end, and the extremes of size_t.
  for (std::size_t offset = size > 8 ? size - 8 : 0; offset <= size + 8; ++offset) {
    check_offset(view, data, size, offset);
  }
  constexpr std::size_t k_max = std::numeric_limits<std::size_t>::max();
  for (std::size_t back = 0; back < 8; ++back) check_offset(view, data, size, k_max - back);
  // Offsets taken from the input itself.
  for (std::size_t i = 0; i + 8 <= size && i < 64; i += 8) {
    std::uint64_t word = 0;
    std::memcpy(&word, data + i, sizeof word);
    check_offset(view, data, size, static_cast<std::size_t>(word));
    check_offset(view, data, size, static_cast<std::size_t>(word % (size + 16)));
  }

  FUZZ_CHECK(squib::core::is_vfkit_handshake(bytes) == (size == 4 && std::memcmp(data, "VFKT", 4) == 0));

  // The input as text: a MAC address and an attachment name.
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (const auto mac = MacAddress::parse(text)) {
    std::string lower(text);
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    FUZZ_CHECK(mac->to_string() == lower);
    FUZZ_CHECK(MacAddress::parse(mac->to_string()) == mac);
  }
  FUZZ_CHECK(squib::core::is_valid_name(text) == reference_name_check(text));
  const auto derived = MacAddress::derive_from_name(text);
  FUZZ_CHECK(derived.bytes()[0] == 0x02);
  return 0;
}
