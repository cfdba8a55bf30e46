// service::peer_credentials on macOS: LOCAL_PEERCRED gives the peer's struct xucred (uid and
// up to XU_NGROUPS groups, the first being the primary), LOCAL_PEERPID its pid, both as of
// connect(2) (unix(4)). getpeereid(3) alone would give only the primary group, and on macOS
// that is `staff` for every user.

#include <squib/service/peer_credentials.hpp>

#include <sys/socket.h>
#include <sys/ucred.h>
#include <sys/un.h>

namespace squib::service {

core::Result<PeerCredentials> peer_credentials(int fd) {
  xucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(fd, SOL_LOCAL, LOCAL_PEERCRED, &cred, &len) != 0) return core::Error::from_errno("LOCAL_PEERCRED");
  if (cred.cr_version != XUCRED_VERSION || cred.cr_ngroups < 1) {
    return core::Error{EPROTO, "LOCAL_PEERCRED: unexpected xucred"};
  }
  PeerCredentials peer;
  peer.uid = cred.cr_uid;
  peer.gid = cred.cr_groups[0];
  peer.groups.assign(cred.cr_groups + 1, cred.cr_groups + cred.cr_ngroups);
  pid_t pid = 0;
  socklen_t pid_len = sizeof pid;
  if (::getsockopt(fd, SOL_LOCAL, LOCAL_PEERPID, &pid, &pid_len) == 0) peer.pid = pid;
  return peer;
}

}  // namespace squib::service
