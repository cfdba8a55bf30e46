#pragma once

// Captures: the capture sessions of one attachment (relay/capture_session.hpp), and the hook
// its data path calls. When no capture runs, the cost is one branch per batch: the callers
// (Attachment::consume for frames from the VM — whose guard verdicts, SourceGuard::filter,
// go to an empty span then — and VmPort::consume for frames to it) test active() first. When captures run, record() stamps the batch once and
// hands each frame to each session, then flushes each session once (one sendmmsg per batch
// per session); sessions whose client went away are freed here or from their own callback.
//
// At most k_max_sessions per attachment: each holds a buffer of 32 slots of up to
// snaplen (or the attachment's largest frame) bytes, 2 MiB at most.

#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include <squib/core/frame_batch.hpp>
#include <squib/core/stats.hpp>
#include <squib/proto/pcapng.hpp>
#include <squib/relay/capture_session.hpp>

namespace squib::relay {

class Captures {
 public:
  // Sessions per attachment: a handful of people looking at one VM at once.
  static constexpr std::size_t k_max_sessions = 4;

  Captures() { m_sessions.reserve(k_max_sessions); }

  [[nodiscard]] bool active() const { return !m_sessions.empty(); }
  [[nodiscard]] std::size_t size() const { return m_sessions.size(); }
  [[nodiscard]] bool full() const { return m_sessions.size() >= k_max_sessions; }

  // Opens a session on `daemon_end` (the owner has checked full()).
  core::Result<void> open(uv_loop_t* loop, core::Fd daemon_end, const CaptureFilter& filter, std::size_t max_frame);

  // One batch in one direction. `verdicts` (frames from the VM only; empty: all passed) is
  // the guard's reason per frame, for the frames it dropped.
  void record(const core::FrameBatch& batch, proto::pcapng::Direction direction,
              std::span<const std::optional<core::DropReason>> verdicts = {});

  // Ends every session (the attachment stops): each sends its statistics if it can.
  void clear() { m_sessions.clear(); }

 private:
  void remove_ended();

  std::vector<std::unique_ptr<CaptureSession>> m_sessions;
};

}  // namespace squib::relay
