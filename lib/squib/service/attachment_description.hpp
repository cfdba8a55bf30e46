#pragma once

// What `list` and `stats` say about one attachment: its start parameters (as persisted: mac
// resolved, address once assigned) and the live state of its backend, port and counters,
// as the protocol's typed results (proto/messages.hpp), which proto/ alone encodes.

#include <squib/proto/messages.hpp>
#include <squib/relay/attachment.hpp>
#include <squib/service/daemon_config.hpp>

namespace squib::service {

// A `list` entry. An attachment without a backend yet is `starting`; socket is null with
// fd passing; detail is absent when the backend has none to give.
proto::AttachmentInfo describe_attachment(const proto::StartParams& params, const relay::Attachment& attachment,
                                          const DaemonConfig& config);

// A `stats` entry: the `list` entry and the attachment's counters (every drop reason named,
// zero or not).
proto::AttachmentStats attachment_stats(const proto::StartParams& params, const relay::Attachment& attachment,
                                        const DaemonConfig& config);

}  // namespace squib::service
