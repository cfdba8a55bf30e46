#include <squib/service/peer_credentials.hpp>

#include <sys/socket.h>

#include <fstream>
#include <sstream>
#include <string>

namespace squib::service {

core::Result<PeerCredentials> peer_credentials(int fd) {
#if defined(__linux__)
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return core::Error::from_errno("SO_PEERCRED");
  return PeerCredentials{cred.pid, cred.uid, cred.gid};
#else
  uid_t uid = 0;
  gid_t gid = 0;
  if (::getpeereid(fd, &uid, &gid) != 0) return core::Error::from_errno("getpeereid");
  return PeerCredentials{0, uid, gid};
#endif
}

bool may_control(const PeerCredentials& peer, std::optional<gid_t> group) {
  if (peer.uid == 0) return true;
  if (!group) return false;
  if (peer.gid == *group) return true;
#if defined(__linux__)
  // The peer's supplementary groups as the kernel sees them, not as NSS would list them.
  std::ifstream status("/proc/" + std::to_string(peer.pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("Groups:", 0) != 0) continue;
    std::istringstream groups(line.substr(7));
    gid_t gid = 0;
    while (groups >> gid) {
      if (gid == *group) return true;
    }
  }
#endif
  return false;
}

}  // namespace squib::service
