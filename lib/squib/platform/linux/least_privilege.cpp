// service::drop_privileges on Linux: keep only the listed capabilities (privileges.hpp).

#include <squib/service/least_privilege.hpp>

#include <spdlog/spdlog.h>

#include <squib/platform/linux/privileges.hpp>

namespace squib::service {

bool drop_privileges(const DaemonConfig& config) {
  if (config.keep_privileges) {
    spdlog::warn("--keep-privileges: keeping every capability squib-netd started with");
    return true;
  }
  auto dropped = platform::drop_privileges();
  if (!dropped) {
    spdlog::critical("cannot drop privileges: {} (--keep-privileges skips the drop)", dropped.error().message);
    return false;
  }
  spdlog::info("privileges: effective {}; permitted and bounding {}; no_new_privs {}", dropped->effective,
               dropped->permitted, dropped->no_new_privs ? "on" : "off");
  return true;
}

}  // namespace squib::service
