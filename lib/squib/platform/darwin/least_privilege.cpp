// service::drop_privileges on macOS: there are no capabilities to drop. vmnet.framework
// needs root (or the com.apple.vm.networking entitlement) for every interface start, so the
// daemon stays root under launchd; what limits it is its root-owned install prefix and run
// dir (docs/macos.md).

#include <squib/service/least_privilege.hpp>

#include <spdlog/spdlog.h>

namespace squib::service {

bool drop_privileges(const DaemonConfig& /*config*/) {
  spdlog::info("privileges: macOS has no capabilities to drop; running as root for vmnet");
  return true;
}

}  // namespace squib::service
