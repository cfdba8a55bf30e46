#include <squib/service/peer_credentials.hpp>

#include <algorithm>

namespace squib::service {

bool may_control(const PeerCredentials& peer, std::optional<gid_t> group) {
  if (peer.uid == 0) return true;
  if (!group) return false;
  return peer.gid == *group || std::ranges::find(peer.groups, *group) != peer.groups.end();
}

}  // namespace squib::service
