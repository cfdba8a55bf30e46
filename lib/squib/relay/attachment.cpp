#include <squib/relay/attachment.hpp>

#include <array>
#include <optional>

namespace squib::relay {

Attachment::Attachment(std::string name, AttachmentPolicy policy)
    : m_name(std::move(name)), m_policy(policy), m_guard(policy.mac, policy.ipv4) {}

Attachment::~Attachment() = default;

void Attachment::consume(const core::FrameBatch& batch) {
  if (!m_backend) {
    m_stats.drop(core::DropReason::backend_down, batch.count);
    return;
  }
  if (m_captures.active()) return consume_captured(batch);
  if (!m_policy.anti_spoofing) {
    m_backend->send(batch);
    return;
  }
  core::FrameBatch allowed;
  m_guard.filter(batch, allowed, m_stats);
  if (!allowed.empty()) m_backend->send(allowed);
}

// consume() while a capture runs: the guard's checks as SourceGuard::filter() makes them,
// keeping each frame's verdict for the captures (`--dropped` shows the dropped frames).
void Attachment::consume_captured(const core::FrameBatch& batch) {
  std::array<std::optional<core::DropReason>, core::k_batch_size> verdicts{};
  core::FrameBatch allowed;
  for (std::size_t i = 0; i < batch.count; ++i) {
    if (m_policy.anti_spoofing) verdicts[i] = m_guard.check(batch.frames[i]);
    if (verdicts[i]) {
      m_stats.drop(*verdicts[i]);
    } else {
      allowed.push(batch.frames[i]);
    }
  }
  m_captures.record(batch, proto::pcapng::Direction::outbound, std::span(verdicts.data(), batch.count));
  if (!allowed.empty()) m_backend->send(allowed);
}

void Attachment::stop(std::function<void()> done) {
  if (m_port) m_port->close();
  m_captures.clear();  // each client gets its statistics and EOF
  if (!m_backend) {
    done();
    return;
  }
  m_backend->stop(std::move(done));
}

}  // namespace squib::relay
