#pragma once

// FramePool: one contiguous allocation of `slot_count` buffers of `slot_size` bytes, made
// when an attachment starts and never resized, so the data path allocates nothing per frame
// (vmnet-helper init_endpoint(), passt's static arrays).

#include <cstddef>
#include <memory>
#include <span>

namespace squib::core {

class FramePool {
public:
  FramePool(std::size_t slot_count, std::size_t slot_size);

  [[nodiscard]] std::size_t slot_count() const { return m_slot_count; }
  [[nodiscard]] std::size_t slot_size() const { return m_slot_size; }
  // Slot `index` (< slot_count()); an out-of-range index is a bug and asserts.
  [[nodiscard]] std::span<std::byte> slot(std::size_t index);

private:
  std::size_t m_slot_count;
  std::size_t m_slot_size;
  std::unique_ptr<std::byte[]> m_storage;
};

}  // namespace squib::core
