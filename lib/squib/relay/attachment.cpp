#include <squib/relay/attachment.hpp>

#include <cstring>

#include <squib/core/frame_view.hpp>

namespace squib::relay {

Attachment::Attachment(std::string name, AttachmentPolicy policy)
    : m_name(std::move(name)), m_policy(policy) {}

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
  // Source MAC is bytes 6..11; the port has already dropped runts, so it is present.
  core::FrameBatch allowed;
  const auto& mac = m_policy.mac.bytes();
  for (std::size_t i = 0; i < batch.count; ++i) {
    const auto frame = batch.frames[i];
    if (std::memcmp(frame.data() + 6, mac.data(), mac.size()) != 0) {
      m_stats.drop(core::DropReason::spoofed_mac);
      continue;
    }
    allowed.push(frame);
  }
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
