#include <squib/core/frame_pool.hpp>

#include <squib/core/assert.hpp>

namespace squib::core {

FramePool::FramePool(std::size_t slot_count, std::size_t slot_size)
    : m_slot_count(slot_count),
      m_slot_size(slot_size),
      m_storage(std::make_unique<std::byte[]>(slot_count * slot_size)) {
  SQUIB_ASSERT(slot_count > 0 && slot_size > 0);
}

std::span<std::byte> FramePool::slot(std::size_t index) {
  SQUIB_ASSERT(index < m_slot_count);
  return {m_storage.get() + index * m_slot_size, m_slot_size};
}

}  // namespace squib::core
