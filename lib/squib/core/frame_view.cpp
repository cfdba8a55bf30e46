#include <squib/core/frame_view.hpp>

#include <cstring>

namespace squib::core {

bool is_vfkit_handshake(std::span<const std::byte> datagram) {
  return datagram.size() == k_vfkit_magic_size && std::memcmp(datagram.data(), "VFKT", 4) == 0;
}

}  // namespace squib::core
