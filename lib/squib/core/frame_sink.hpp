#pragma once

// FrameSink: where a batch of frames goes next. The VM port hands the VM's frames to the
// attachment, which filters them and hands them to the backend; backends hand the network's
// frames to the VM port. The batch's spans are valid only during the call.

#include <squib/core/frame_batch.hpp>

namespace squib::core {

class FrameSink {
public:
  virtual ~FrameSink() = default;
  virtual void consume(const FrameBatch& batch) = 0;

protected:
  FrameSink() = default;
  FrameSink(const FrameSink&) = default;
  FrameSink& operator=(const FrameSink&) = default;
};

}  // namespace squib::core
