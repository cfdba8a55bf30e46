#include <squib/core/stream_deframer.hpp>

#include <cstring>

#include <squib/core/assert.hpp>

namespace squib::core {

StreamDeframer::StreamDeframer(std::size_t capacity, std::size_t max_frame)
    : m_capacity(capacity), m_max_frame(max_frame), m_buffer(std::make_unique<std::byte[]>(capacity)) {
  SQUIB_ASSERT(capacity >= max_frame + k_stream_length_prefix);
}

std::span<std::byte> StreamDeframer::writable() {
  return {m_buffer.get() + m_end, m_capacity - m_end};
}

void StreamDeframer::commit(std::size_t n) {
  SQUIB_ASSERT(n <= m_capacity - m_end);
  m_end += n;
}

StreamDeframer::Next StreamDeframer::next() {
  const std::size_t available = m_end - m_begin;
  if (available < k_stream_length_prefix) return {Status::need_more, {}, 0};
  const auto* p = m_buffer.get() + m_begin;
  const std::uint32_t length = (std::to_integer<std::uint32_t>(p[0]) << 24U) |
                               (std::to_integer<std::uint32_t>(p[1]) << 16U) |
                               (std::to_integer<std::uint32_t>(p[2]) << 8U) |
                               std::to_integer<std::uint32_t>(p[3]);
  if (length == 0 || length > m_max_frame) return {Status::bad_length, {}, length};
  if (available - k_stream_length_prefix < length) return {Status::need_more, {}, 0};
  m_begin += k_stream_length_prefix + length;
  return {Status::frame, {p + k_stream_length_prefix, length}, length};
}

void StreamDeframer::compact() {
  if (m_begin == 0) return;
  const std::size_t tail = m_end - m_begin;
  if (tail > 0) std::memmove(m_buffer.get(), m_buffer.get() + m_begin, tail);
  m_begin = 0;
  m_end = tail;
}

void StreamDeframer::reset() {
  m_begin = 0;
  m_end = 0;
}

void encode_stream_prefix(std::uint32_t length, std::span<std::byte, k_stream_length_prefix> out) {
  out[0] = static_cast<std::byte>(length >> 24U);
  out[1] = static_cast<std::byte>(length >> 16U);
  out[2] = static_cast<std::byte>(length >> 8U);
  out[3] = static_cast<std::byte>(length);
}

}  // namespace squib::core
