#pragma once

// Small helpers for building and comparing byte buffers in unit tests.

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace squib::test {

// {0x01, 0x02} → bytes 01 02.
inline std::vector<std::byte> bytes(std::initializer_list<unsigned> values) {
  std::vector<std::byte> out;
  out.reserve(values.size());
  for (const unsigned v : values) out.push_back(static_cast<std::byte>(v));
  return out;
}

// The characters of `text` as bytes.
inline std::vector<std::byte> bytes_of(std::string_view text) {
  std::vector<std::byte> out;
  out.reserve(text.size());
  for (const char c : text) out.push_back(static_cast<std::byte>(c));
  return out;
}

// Bytes back to a std::string, so Catch prints a readable diff on failure.
inline std::string as_string(std::span<const std::byte> data) {
  std::string out;
  out.reserve(data.size());
  for (const std::byte b : data) out.push_back(static_cast<char>(b));
  return out;
}

// Bytes as a vector, for exact comparisons with REQUIRE(a == b).
inline std::vector<std::byte> to_vector(std::span<const std::byte> data) { return {data.begin(), data.end()}; }

}  // namespace squib::test
