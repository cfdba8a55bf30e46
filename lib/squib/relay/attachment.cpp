#include <squib/relay/attachment.hpp>

#include <array>
#include <optional>
#include <span>

namespace squib::relay {

Attachment::Attachment(std::string name, AttachmentPolicy policy)
    : m_name(std::move(name)), m_policy(policy), m_guard(policy.mac, policy.ipv4) {
  m_guard.set_ipv6(policy.ipv6);
  m_guard.set_level(policy.guard);
}

Attachment::~Attachment() = default;

void Attachment::consume(const core::FrameBatch& batch) {
  if (!m_backend) {
    m_stats.drop(core::DropReason::backend_down, batch.count);
    return;
  }
  // A running capture gets the batch with the guard's verdict per frame (`--dropped` shows
  // the dropped ones); otherwise this is one branch per batch.
  std::array<std::optional<core::DropReason>, core::k_batch_size> verdicts{};
  const auto batch_verdicts = std::span(verdicts.data(), m_captures.active() ? batch.count : 0);
  if (!m_policy.anti_spoofing) {
    if (!batch_verdicts.empty()) m_captures.record(batch, proto::pcapng::Direction::outbound, batch_verdicts);
    m_backend->send(batch);
    return;
  }
  core::FrameBatch allowed;
  m_guard.filter(batch, allowed, m_stats, batch_verdicts);
  if (!batch_verdicts.empty()) m_captures.record(batch, proto::pcapng::Direction::outbound, batch_verdicts);
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
