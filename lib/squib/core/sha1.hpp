#pragma once

// SHA-1 (FIPS 180-4 §6.1; RFC 3174) for name-based UUIDs version 5 (RFC 9562 §5.5), which
// RFC 9562 defines with SHA-1. Here because nothing in our link set provides one (no OpenSSL
// or libsodium; libuv has no hash): one small implementation, checked against the FIPS
// 180 / RFC 3174 test vectors in tests/unit/core/sha1_test.cpp. SHA-1 is broken for
// collision resistance; it is used only to derive stable identifiers, never for security.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace squib::core {

using Sha1Digest = std::array<std::uint8_t, 20>;

// Incremental: update() any number of times, then digest() once.
class Sha1 {
public:
  Sha1();
  void update(std::span<const std::uint8_t> data);
  void update(std::string_view text);
  [[nodiscard]] Sha1Digest digest();

private:
  void block(const std::uint8_t* chunk);

  std::array<std::uint32_t, 5> m_state;
  std::array<std::uint8_t, 64> m_buffer{};
  std::size_t m_buffered = 0;
  std::uint64_t m_length = 0;  // bytes hashed so far
};

Sha1Digest sha1(std::string_view text);

using Uuid = std::array<std::uint8_t, 16>;

// A name-based UUID version 5 (RFC 9562 §5.5): SHA-1 over the namespace UUID's 16 bytes and
// the name, the first 16 bytes of the digest, version 5 and variant 10 set.
Uuid uuid_v5(const Uuid& name_space, std::string_view name);

}  // namespace squib::core
