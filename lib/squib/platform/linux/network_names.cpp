#include <squib/platform/linux/network_names.hpp>

#include <cstdio>

#include <squib/core/fnv1a.hpp>
#include <squib/platform/linux/nft.hpp>

namespace squib::platform {

std::string network_hash(std::string_view scope, std::string_view network_name) {
  char out[16];
  std::snprintf(out, sizeof out, "%010llx",
                static_cast<unsigned long long>(core::fnv1a64_scoped(scope, network_name) & 0xffffffffffULL));
  return out;
}

std::string run_dir_hash(std::string_view run_dir) {
  char out[16];
  std::snprintf(out, sizeof out, "%010llx", static_cast<unsigned long long>(core::fnv1a64(run_dir) & 0xffffffffffULL));
  return out;
}

NetworkNames network_names(const std::string& run_dir, std::string_view network_name) {
  const std::string hash = network_hash(run_dir, network_name);
  const std::string base = run_dir + "/" + std::string(k_network_file_prefix) + hash;
  NetworkNames names;
  names.bridge = std::string(k_bridge_prefix) + hash;
  names.table = std::string(k_table_prefix) + hash;
  names.vxlan = std::string(k_vxlan_prefix) + hash;
  names.uplink_table = std::string(k_uplink_table_prefix) + hash;
  names.hosts_dir = base + ".hosts.d";
  names.lease_path = base + ".leases";
  names.pid_path = base + ".pid";
  names.names_dir = base + ".names.d";
  return names;
}

}  // namespace squib::platform
