#pragma once

// FrameBatch: up to k_batch_size frames handed between a VM port and a backend in one call.
// The spans point into the producer's preallocated pool and are valid only for the duration
// of the call that receives the batch (consumers copy or send before returning).

#include <array>
#include <cstddef>
#include <span>

#include <squib/core/assert.hpp>

namespace squib::core {

// Frames moved per wakeup and per batched syscall. 32 matches libuv's udp.c per-wakeup bound
// and vmnet-helper's batch, and is the design card's number: large enough to amortise a
// syscall over a burst, small enough that one busy VM cannot starve the loop.
inline constexpr std::size_t k_batch_size = 32;
// Full batches a reader takes per readiness wakeup before it yields to the loop: a burst
// costs one epoll wakeup per 128 frames instead of per 32, and a busy VM delays the others'
// turn by at most 4 batches (fairness between VMs on the one loop thread).
inline constexpr std::size_t k_batches_per_wakeup = 4;

struct FrameBatch {
  std::array<std::span<const std::byte>, k_batch_size> frames{};
  std::size_t count = 0;

  [[nodiscard]] bool full() const { return count == k_batch_size; }
  [[nodiscard]] bool empty() const { return count == 0; }
  // Pushing onto a full batch is a caller's bug (check full() first): it aborts (SQUIB_ASSERT
  // is always on) rather than write past the array.
  void push(std::span<const std::byte> frame) {
    SQUIB_ASSERT(count < k_batch_size);
    frames[count++] = frame;
  }
  void clear() { count = 0; }
  [[nodiscard]] std::span<const std::span<const std::byte>> view() const { return {frames.data(), count}; }
  [[nodiscard]] std::size_t total_bytes() const {
    std::size_t total = 0;
    for (std::size_t i = 0; i < count; ++i) total += frames[i].size();
    return total;
  }
};

}  // namespace squib::core
