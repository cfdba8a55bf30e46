#pragma once

// FNV-1a, 64-bit (Fowler/Noll/Vo, http://www.isthe.com/chongo/tech/comp/fnv/): tiny,
// deterministic and well distributed for short strings. The daemon derives stable names
// from it — a VM's MAC, its TAP, a network's bridge and nft table, a vmnet interface id —
// so the same input must give the same value on every build and every host: this is the one
// implementation. Not for anything an attacker must not be able to collide.

#include <cstdint>
#include <string_view>

namespace squib::core {

inline constexpr std::uint64_t k_fnv1a64_basis = 0xcbf29ce484222325ULL;

constexpr std::uint64_t fnv1a64(std::string_view text, std::uint64_t basis = k_fnv1a64_basis) {
  constexpr std::uint64_t k_prime = 0x100000001b3ULL;
  std::uint64_t hash = basis;
  for (const char c : text) {
    hash ^= static_cast<std::uint8_t>(c);
    hash *= k_prime;
  }
  return hash;
}

// `text` hashed within `scope` (e.g. a run dir): the same text in two scopes differs.
constexpr std::uint64_t fnv1a64_scoped(std::string_view scope, std::string_view text) {
  return fnv1a64(text, fnv1a64(std::string_view("\0", 1), fnv1a64(scope)));
}

static_assert(fnv1a64("") == k_fnv1a64_basis);
static_assert(fnv1a64("a") == 0xaf63dc4c8601ec8cULL);  // the reference test vector

}  // namespace squib::core
