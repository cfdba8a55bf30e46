#include <squib/relay/attachment.hpp>

namespace squib::relay {

Attachment::Attachment(std::string name, AttachmentPolicy policy)
    : m_name(std::move(name)), m_policy(policy), m_guard(policy.mac, policy.ipv4) {}

Attachment::~Attachment() = default;

void Attachment::consume(const core::FrameBatch& batch) {
  if (!m_backend) {
    m_stats.drop(core::DropReason::backend_down, batch.count);
    return;
  }
  if (!m_policy.anti_spoofing) {
    m_backend->send(batch);
    return;
  }
  core::FrameBatch allowed;
  m_guard.filter(batch, allowed, m_stats);
  if (!allowed.empty()) m_backend->send(allowed);
}

void Attachment::stop(std::function<void()> done) {
  if (m_port) m_port->close();
  if (!m_backend) {
    done();
    return;
  }
  m_backend->stop(std::move(done));
}

}  // namespace squib::relay
