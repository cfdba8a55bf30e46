#include <squib/core/sha1.hpp>

#include <bit>

namespace squib::core {

namespace {

// FIPS 180-4 §5.3.1: the initial hash value.
constexpr std::array<std::uint32_t, 5> k_initial{0x67452301U, 0xefcdab89U, 0x98badcfeU, 0x10325476U, 0xc3d2e1f0U};

}  // namespace

Sha1::Sha1() : m_state(k_initial) {}

void Sha1::update(std::string_view text) {
  update(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
}

void Sha1::update(std::span<const std::uint8_t> data) {
  m_length += data.size();
  for (std::uint8_t byte : data) {
    m_buffer[m_buffered++] = byte;
    if (m_buffered == m_buffer.size()) {
      block(m_buffer.data());
      m_buffered = 0;
    }
  }
}

Sha1Digest Sha1::digest() {
  // FIPS 180-4 §5.1.1: a 1 bit, zeros to 56 mod 64 bytes, the length in bits, big-endian.
  const std::uint64_t bits = m_length * 8;
  const std::uint8_t one = 0x80;
  update(std::span<const std::uint8_t>(&one, 1));
  const std::uint8_t zero = 0;
  while (m_buffered != 56) update(std::span<const std::uint8_t>(&zero, 1));
  std::array<std::uint8_t, 8> length{};
  for (std::size_t i = 0; i < 8; ++i) length[i] = static_cast<std::uint8_t>(bits >> (56 - 8 * i));
  update(length);
  Sha1Digest out{};
  for (std::size_t i = 0; i < 20; ++i) out[i] = static_cast<std::uint8_t>(m_state[i / 4] >> (24 - 8 * (i % 4)));
  return out;
}

// FIPS 180-4 §6.1.2: one 512-bit block.
void Sha1::block(const std::uint8_t* chunk) {
  std::array<std::uint32_t, 80> w{};
  for (std::size_t t = 0; t < 16; ++t) {
    w[t] = (std::uint32_t{chunk[4 * t]} << 24) | (std::uint32_t{chunk[4 * t + 1]} << 16) |
           (std::uint32_t{chunk[4 * t + 2]} << 8) | std::uint32_t{chunk[4 * t + 3]};
  }
  for (std::size_t t = 16; t < 80; ++t) w[t] = std::rotl(w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16], 1);
  std::uint32_t a = m_state[0], b = m_state[1], c = m_state[2], d = m_state[3], e = m_state[4];
  for (std::size_t t = 0; t < 80; ++t) {
    std::uint32_t f = 0;
    std::uint32_t k = 0;
    if (t < 20) {
      f = (b & c) | (~b & d);
      k = 0x5a827999U;
    } else if (t < 40) {
      f = b ^ c ^ d;
      k = 0x6ed9eba1U;
    } else if (t < 60) {
      f = (b & c) | (b & d) | (c & d);
      k = 0x8f1bbcdcU;
    } else {
      f = b ^ c ^ d;
      k = 0xca62c1d6U;
    }
    const std::uint32_t temp = std::rotl(a, 5) + f + e + k + w[t];
    e = d;
    d = c;
    c = std::rotl(b, 30);
    b = a;
    a = temp;
  }
  m_state[0] += a;
  m_state[1] += b;
  m_state[2] += c;
  m_state[3] += d;
  m_state[4] += e;
}

Sha1Digest sha1(std::string_view text) {
  Sha1 hash;
  hash.update(text);
  return hash.digest();
}

Uuid uuid_v5(const Uuid& name_space, std::string_view name) {
  Sha1 hash;
  hash.update(name_space);
  hash.update(name);
  const Sha1Digest digest = hash.digest();
  Uuid id{};
  for (std::size_t i = 0; i < id.size(); ++i) id[i] = digest[i];
  id[6] = static_cast<std::uint8_t>((id[6] & 0x0fU) | 0x50U);  // version 5 (RFC 9562 §4.2)
  id[8] = static_cast<std::uint8_t>((id[8] & 0x3fU) | 0x80U);  // variant 10 (RFC 9562 §4.1)
  return id;
}

}  // namespace squib::core
