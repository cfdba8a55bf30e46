#pragma once

// StreamDeframer: splits QEMU stream framing (a 4-byte big-endian length, then that many
// bytes of Ethernet frame; QEMU net/stream.c, passt tap.c, gvproxy -listen-qemu) out of a
// byte stream read into a fixed buffer.
//
// Theory of operation: the owner reads straight into writable(), commits what arrived, then
// calls next() until it returns need_more. Frames are spans into the buffer, valid until
// compact(), which moves a partial tail to the front. The length prefix is peer data: a
// length of 0 or above max_frame is `bad_length`, after which the stream is unusable and the
// owner resets that one peer (passt tap.c does the same) — never an assert, never a read of
// more bytes than the buffer holds (socket_vmnet's heap overflow).

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

namespace squib::core {

inline constexpr std::size_t k_stream_length_prefix = 4;

class StreamDeframer {
public:
  enum class Status { frame, need_more, bad_length };
  struct Next {
    Status status;
    std::span<const std::byte> frame;  // valid when status == frame
    std::uint32_t length;              // the offending prefix when status == bad_length
  };

  // capacity must hold at least one maximal frame plus its prefix.
  StreamDeframer(std::size_t capacity, std::size_t max_frame);

  [[nodiscard]] std::span<std::byte> writable();
  void commit(std::size_t n);
  Next next();
  void compact();
  void reset();
  [[nodiscard]] std::size_t buffered() const { return m_end - m_begin; }

private:
  std::size_t m_capacity;
  std::size_t m_max_frame;
  std::unique_ptr<std::byte[]> m_buffer;
  std::size_t m_begin = 0;  // first unconsumed byte
  std::size_t m_end = 0;    // one past the last received byte
};

// Writes the 4-byte big-endian QEMU stream length prefix for a frame of `length` bytes.
void encode_stream_prefix(std::uint32_t length, std::span<std::byte, k_stream_length_prefix> out);

}  // namespace squib::core
