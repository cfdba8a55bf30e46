#pragma once

// Who is on the other end of a control connection, as the kernel recorded it when the peer
// connected, and whether they may act: root, or a member of the configured group.
//
// peer_credentials() has one implementation per platform, picked by CMake:
// platform/linux/peer_credentials.cpp (SO_PEERCRED + SO_PEERGROUPS) and
// platform/darwin/peer_credentials.cpp (LOCAL_PEERCRED's xucred + LOCAL_PEERPID). Both give
// the supplementary groups too, so a member whose control group is not primary is let in
// (on macOS every user's primary group is `staff`).

#include <sys/types.h>

#include <optional>
#include <vector>

#include <squib/core/result.hpp>

namespace squib::service {

struct PeerCredentials {
  pid_t pid = 0;  // 0 where the platform cannot tell
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups = {};  // supplementary groups at connect time
};

core::Result<PeerCredentials> peer_credentials(int fd);

// True for root, or when `group` is the peer's primary or one of its supplementary groups.
bool may_control(const PeerCredentials& peer, std::optional<gid_t> group);

}  // namespace squib::service
