#pragma once

// Channel: a live link to a userspace network child, in one framing. StreamChannel speaks
// QEMU stream framing, DatagramChannel one frame per datagram (vfkit). Frames arriving from
// the child go to the FrameSink given at construction; send() never blocks.

#include <squib/core/frame_batch.hpp>
#include <squib/core/result.hpp>

namespace squib::backend {

class Channel {
public:
  virtual ~Channel() = default;
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;

  virtual core::Result<void> start() = 0;
  virtual void send(const core::FrameBatch& batch) = 0;

protected:
  Channel() = default;
};

}  // namespace squib::backend
