#pragma once

// Who is on the other end of a control connection (SO_PEERCRED on Linux, getpeereid on
// macOS), and whether they may act: root, or a member of the configured group.

#include <sys/types.h>

#include <optional>

#include <squib/core/result.hpp>

namespace squib::service {

struct PeerCredentials {
  pid_t pid = 0;
  uid_t uid = 0;
  gid_t gid = 0;
};

core::Result<PeerCredentials> peer_credentials(int fd);

// True for root, for a primary gid equal to `group`, or when the peer process has `group`
// among its supplementary groups (read from /proc/<pid>/status on Linux).
bool may_control(const PeerCredentials& peer, std::optional<gid_t> group);

}  // namespace squib::service
