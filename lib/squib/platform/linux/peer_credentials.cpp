// service::peer_credentials on Linux: SO_PEERCRED (pid, uid, gid) and SO_PEERGROUPS (Linux
// 4.13: the supplementary groups), both captured by the kernel at connect(2) — nothing is
// looked up later, so a peer that exits or changes its groups cannot race the check.

#include <squib/service/peer_credentials.hpp>

#include <sys/socket.h>

#include <cerrno>

namespace squib::service {

core::Result<PeerCredentials> peer_credentials(int fd) {
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return core::Error::from_errno("SO_PEERCRED");
  PeerCredentials peer{cred.pid, cred.uid, cred.gid};
  // ERANGE tells the size needed; NGROUPS_MAX bounds it (65536).
  socklen_t size = 0;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, nullptr, &size) != 0 && errno != ERANGE) {
    return core::Error::from_errno("SO_PEERGROUPS");
  }
  peer.groups.resize(size / sizeof(gid_t));
  if (size > 0 && ::getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, peer.groups.data(), &size) != 0) {
    return core::Error::from_errno("SO_PEERGROUPS");
  }
  peer.groups.resize(size / sizeof(gid_t));
  return peer;
}

}  // namespace squib::service
