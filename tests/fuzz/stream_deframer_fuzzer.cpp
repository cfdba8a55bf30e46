// Fuzz target: core::StreamDeframer driven the way StreamChannel drives it — arbitrary
// read sizes into writable(), commit, next() until need_more, compact — against a simple
// reference parser of the same bytes.
//
// Input layout: byte 0-1 choose max_frame (1..4096), byte 2 the spare capacity beyond
// max_frame + 4 (0..255); then a sequence of [chunk length byte][chunk bytes…].
//
// Properties: every frame is 1..max_frame bytes, lies inside the deframer's buffer after the
// 4-byte prefix, and equals the reference parser's next frame; bad_length happens exactly
// where the reference sees a prefix of 0 or > max_frame; after compact() there is always room
// to make progress (no stall with a full buffer); buffered() never exceeds the capacity.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include <squib/core/stream_deframer.hpp>

#include "fuzz/fuzz_check.hpp"

namespace {

using squib::core::k_stream_length_prefix;
using squib::core::StreamDeframer;

// The reference: the whole stream as fed so far, and the offset of the next frame's prefix.
struct Reference {
  std::vector<std::byte> stream;
  std::size_t offset = 0;
};

std::uint32_t prefix_at(const Reference& ref) {
  std::uint32_t length = 0;
  for (std::size_t i = 0; i < k_stream_length_prefix; ++i) {
    length = (length << 8U) | std::to_integer<std::uint32_t>(ref.stream[ref.offset + i]);
  }
  return length;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 3) return 0;
  const std::size_t max_frame = 1 + ((static_cast<std::size_t>(data[0]) << 8U | data[1]) % 4096);
  const std::size_t capacity = max_frame + k_stream_length_prefix + data[2];
  std::span<const std::uint8_t> input(data + 3, size - 3);

  StreamDeframer deframer(capacity, max_frame);
  Reference ref;

  while (!input.empty()) {
    // One read(): up to `want` bytes, limited by the room the deframer offers.
    const std::size_t want = input[0];
    input = input.subspan(1);
    auto room = deframer.writable();
    FUZZ_CHECK(room.size() <= capacity);
    // The buffer is [room.data() - end, +capacity); end = capacity - room.size().
    const std::byte* buffer = room.data() - (capacity - room.size());
    const std::size_t n = std::min({want, room.size(), input.size()});
    std::memcpy(room.data(), input.data(), n);
    ref.stream.insert(ref.stream.end(), reinterpret_cast<const std::byte*>(input.data()),
                      reinterpret_cast<const std::byte*>(input.data()) + n);
    input = input.subspan(n);
    deframer.commit(n);
    FUZZ_CHECK(deframer.buffered() <= capacity);

    for (;;) {
      const auto next = deframer.next();
      const std::size_t available = ref.stream.size() - ref.offset;
      if (next.status == StreamDeframer::Status::need_more) {
        FUZZ_CHECK(available < k_stream_length_prefix ||
                   (prefix_at(ref) != 0 && prefix_at(ref) <= max_frame &&
                    available < k_stream_length_prefix + prefix_at(ref)));
        break;
      }
      FUZZ_CHECK(available >= k_stream_length_prefix);
      const std::uint32_t expected = prefix_at(ref);
      FUZZ_CHECK(next.length == expected);
      if (next.status == StreamDeframer::Status::bad_length) {
        FUZZ_CHECK(expected == 0 || expected > max_frame);
        // The owner resets this one peer; the rest of the input is a new connection.
        deframer.reset();
        ref = Reference{};
        break;
      }
      FUZZ_CHECK(next.status == StreamDeframer::Status::frame);
      FUZZ_CHECK(next.frame.size() == expected);
      FUZZ_CHECK(next.frame.size() >= 1 && next.frame.size() <= max_frame);
      FUZZ_CHECK(next.frame.data() >= buffer + k_stream_length_prefix);
      FUZZ_CHECK(next.frame.data() + next.frame.size() <= buffer + capacity);
      FUZZ_CHECK(available >= k_stream_length_prefix + expected);
      FUZZ_CHECK(std::memcmp(next.frame.data(), ref.stream.data() + ref.offset + k_stream_length_prefix,
                             next.frame.size()) == 0);
      ref.offset += k_stream_length_prefix + expected;
    }
    deframer.compact();
    FUZZ_CHECK(deframer.buffered() == ref.stream.size() - ref.offset);
    // A buffer that is full after compact() without a frame or a bad length would stall.
    FUZZ_CHECK(!deframer.writable().empty());
  }
  return 0;
}
