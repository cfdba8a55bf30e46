#include <squib/relay/captures.hpp>

#include <algorithm>
#include <chrono>

namespace squib::relay {

core::Result<void> Captures::open(uv_loop_t* loop, core::Fd daemon_end, const CaptureFilter& filter,
                                  std::size_t max_frame) {
  auto session = CaptureSession::open(loop, std::move(daemon_end), filter, max_frame, [this] { remove_ended(); });
  if (!session) return session.error();
  m_sessions.push_back(std::move(session.value()));
  return {};
}

void Captures::record(const core::FrameBatch& batch, proto::pcapng::Direction direction,
                      std::span<const std::optional<core::DropReason>> verdicts) {
  const auto timestamp_us = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
  for (const auto& session : m_sessions) {
    for (std::size_t i = 0; i < batch.count; ++i) {
      session->add(batch.frames[i], direction, i < verdicts.size() ? verdicts[i] : std::nullopt, timestamp_us);
    }
    session->flush();
  }
  remove_ended();
}

void Captures::remove_ended() {
  // Erasing from a reserved vector moves pointers; it never allocates.
  std::erase_if(m_sessions, [](const auto& session) { return session->ended(); });
}

}  // namespace squib::relay
