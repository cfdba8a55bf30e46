#pragma once

// Frames for the data-path unit tests (channels, VM port, datagram I/O): recognisable bytes,
// a batch over them, and a sink that keeps a copy of everything it is handed.

#include <cstddef>
#include <cstdint>
#include <vector>

#include <squib/core/frame_batch.hpp>
#include <squib/core/frame_sink.hpp>

namespace squib::test {

using Bytes = std::vector<std::byte>;

// `size` bytes counting up from `seed`: any two frames of a test differ.
inline Bytes frame_of(std::size_t size, std::uint8_t seed) {
  Bytes frame(size);
  for (std::size_t i = 0; i < size; ++i) frame[i] = static_cast<std::byte>((seed + i) & 0xffU);
  return frame;
}

// A batch of spans into `frames` (which must outlive it).
inline core::FrameBatch batch_of(const std::vector<Bytes>& frames) {
  core::FrameBatch batch;
  for (const auto& frame : frames) batch.push(frame);
  return batch;
}

// Copies every frame it consumes, and the size of every batch.
struct Collect final : core::FrameSink {
  std::vector<Bytes> frames;
  std::vector<std::size_t> batch_sizes;
  void consume(const core::FrameBatch& batch) override {
    batch_sizes.push_back(batch.count);
    for (const auto& frame : batch.view()) frames.emplace_back(frame.begin(), frame.end());
  }
};

}  // namespace squib::test
