#include <squib/service/attachment_description.hpp>

#include <chrono>
#include <string>

#include <squib/core/stats.hpp>

namespace squib::service {

namespace {

proto::DirectionStats direction(const core::DirectionStats& stats) {
  return {stats.frames, stats.bytes, stats.batches, stats.mean_batch()};
}

}  // namespace

proto::AttachmentInfo describe_attachment(const proto::StartParams& params, const relay::Attachment& attachment,
                                          const DaemonConfig& config) {
  const auto* backend = attachment.backend();
  proto::AttachmentInfo out;
  out.name = params.name;
  out.mode = params.mode;
  out.network = params.network;
  if (!params.fd_passing && !params.handoff) out.socket = config.socket_path(params.name);

  out.mac = params.mac.value_or("");
  out.mtu = params.mtu;
  out.address = params.address;
  out.state = backend != nullptr ? std::string(backend::to_string(backend->state())) : "starting";
  const auto handoff = backend != nullptr ? backend->handoff() : std::nullopt;
  out.peer_connected = handoff ? handoff->vm_connected
                               : attachment.port() != nullptr && attachment.port()->peer_connected();
  if (handoff) out.tap = handoff->ifname;
  if (params.handoff) out.handoff = proto::to_string(*params.handoff);
  // A handed-off passt: the VMM and passt exchange frames directly; nothing counts them.
  out.frames_counted = !(params.handoff && params.mode == proto::Mode::userspace);
  if (backend != nullptr) {
    if (auto detail = backend->detail(); !detail.empty()) out.detail = std::move(detail);
  }
  out.forwards = params.forwards;
  return out;
}

proto::AttachmentStats attachment_stats(const proto::StartParams& params, const relay::Attachment& attachment,
                                        const DaemonConfig& config) {
  const auto& stats = attachment.stats();
  proto::AttachmentStats out;
  out.attachment = describe_attachment(params, attachment, config);
  out.from_vm = direction(stats.from_vm);
  out.to_vm = direction(stats.to_vm);
  for (std::size_t i = 0; i < core::k_drop_reason_count; ++i) {
    out.drops[std::string(core::to_string(static_cast<core::DropReason>(i)))] = stats.drops[i];
  }
  out.dropped_total = stats.total_drops();
  out.errors = stats.errors;
  out.handshakes = stats.handshakes;
  out.child_restarts = stats.child_restarts;
  out.child_reconfigurations = stats.child_reconfigurations;
  out.uptime_s = std::chrono::duration<double>(attachment.uptime()).count();
  return out;
}

}  // namespace squib::service
