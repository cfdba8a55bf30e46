// AttachmentRegistry::capture: the `capture` method (proto/control-protocol.md "capture").
// Kept apart from attachment_registry.cpp: it only finds the attachment, applies the owner
// rule, and opens a session on the attachment's Captures (relay/captures.hpp).

#include <sys/socket.h>

#include <spdlog/spdlog.h>

#include <squib/core/frame_view.hpp>
#include <squib/core/vnet_header.hpp>
#include <squib/platform/socket.hpp>
#include <squib/service/attachment_registry.hpp>

namespace squib::service {

using proto::ErrorCode;

namespace {

// The daemon's send buffer for one capture: what a client may fall behind by before records
// are lost (about 1000 full-size frames; Linux doubles the value asked for, socket(7)). Set
// with SO_SNDBUFFORCE so that it does not depend on net.core.wmem_max.
constexpr int k_capture_buffer_bytes = 1024 * 1024;

}  // namespace

Outcome<proto::CaptureResult> AttachmentRegistry::capture(const proto::CaptureParams& params,
                                                          const PeerCredentials& caller, core::Fd& client_end) {
  if (auto refused = refuse_access(params.name, caller)) return *refused;
  Entry& entry = m_attachments.at(params.name);
  relay::Attachment& attachment = *entry.attachment;
  if (attachment.port() == nullptr) {
    return MethodError{ErrorCode::invalid_params, "name: attachment '" + params.name +
                                                      "' is handed off: its frames go from its TAP to the VMM and "
                                                      "never pass through squib-netd (capture on the TAP instead)"};
  }
  if (attachment.captures().full()) {
    return MethodError{ErrorCode::limit_reached, "attachment '" + params.name + "' already has " +
                                                     std::to_string(relay::Captures::k_max_sessions) +
                                                     " captures running (the limit)"};
  }
  // SEQPACKET: one record per datagram, and EOF both ways (relay/capture_session.hpp).
  auto ends = platform::open_socketpair(SOCK_SEQPACKET, platform::Blocking::non_blocking, platform::Blocking::blocking);
  if (!ends) return MethodError{ErrorCode::internal_error, "socketpair: " + ends.error().message};
  auto& [daemon_end, their_end] = ends.value();
  platform::request_socket_buffers(daemon_end.get(), k_capture_buffer_bytes);

  relay::CaptureFilter filter;
  filter.to_vm = params.direction != proto::CaptureDirection::out;
  filter.from_vm = params.direction != proto::CaptureDirection::in;
  filter.dropped = params.dropped;
  filter.snaplen = params.snaplen;
  // Offload attachments carry frames up to 65550 bytes (core/vnet_header.hpp; the TAP's
  // virtio-net header never reaches the relay, so there is none to strip).
  const std::size_t max_frame = entry.params.offload
                                    ? core::k_offload_max_frame
                                    : entry.params.mtu + core::k_ethernet_header_size + core::k_vlan_tag_size;
  if (auto opened = attachment.captures().open(m_loop, std::move(daemon_end), filter, max_frame); !opened) {
    return MethodError{ErrorCode::internal_error, "capture: " + opened.error().message};
  }
  client_end = std::move(their_end);
  spdlog::info("{}: capture started by uid {} (pid {}), direction {}, snaplen {}{}", params.name, caller.uid,
               caller.pid, proto::to_string(params.direction), params.snaplen,
               params.dropped ? ", with guard-dropped frames" : "");
  return proto::CaptureResult{params.name, params.snaplen, params.direction, params.dropped, 1, "squib:" + params.name};
}

}  // namespace squib::service
