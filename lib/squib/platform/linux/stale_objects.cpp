#include <squib/platform/linux/stale_objects.hpp>

#include <filesystem>

#include <spdlog/spdlog.h>

#include <squib/platform/linux/dnsmasq.hpp>
#include <squib/platform/linux/host_firewall.hpp>
#include <squib/platform/linux/netlink.hpp>
#include <squib/platform/linux/network_names.hpp>
#include <squib/platform/linux/nft.hpp>

namespace squib::platform {

namespace fs = std::filesystem;

void remove_stale(const std::string& run_dir, const StaleObjects& objects) {
  std::error_code ec;
  // 1. dnsmasq children of a dead daemon (pid files in our run dir), then their files.
  for (const auto& entry : fs::directory_iterator(run_dir, ec)) {
    const std::string file = entry.path().filename().string();
    if (!file.starts_with(k_network_file_prefix) || !file.ends_with(".pid")) continue;
    Dnsmasq::stop_stale(entry.path().string());
  }
  for (const auto& entry : fs::directory_iterator(run_dir, ec)) {
    const std::string file = entry.path().filename().string();
    if (file.starts_with(k_network_file_prefix)) fs::remove_all(entry.path(), ec);
  }
  // 2. TAPs and bridges.
  if (auto netlink = Netlink::open()) {
    if (auto listed_links = netlink->list_links()) {
      for (const auto& link : listed_links.value()) {
        if (!objects.links.contains(link.name)) continue;
        if (auto deleted = netlink->delete_link(link.name); deleted) {
          spdlog::warn("removed stale {} {}", link.kind.empty() ? "link" : link.kind, link.name);
        } else {
          spdlog::error("cannot remove stale link {}: {}", link.name, deleted.error().message);
        }
      }
    }
  } else {
    spdlog::error("cleanup: {}", netlink.error().message);
  }
  // 3. Our tagged rules in other tables' chains (host_firewall_rules.hpp): every one of this
  //    run dir, whatever network it was for.
  HostFirewall::remove_all(run_dir);
  // 4. nft tables: the uplinks' bridge-family ones by name, then ours in family inet.
  for (const auto& table : objects.bridge_tables) {
    const std::string script = "add table bridge " + table + "\ndelete table bridge " + table + "\n";
    if (auto deleted = run_nft({"-f", "-"}, script); !deleted) {
      spdlog::error("cannot remove nft table bridge {}: {}", table, deleted.error().message);
    }
  }
  auto listed = run_nft({"list", "tables"});
  if (!listed) {
    spdlog::warn("cleanup: {}", listed.error().message);
    return;
  }
  for (const auto& table : our_tables(listed.value())) {
    if (!objects.tables.contains(table)) continue;  // another daemon's
    if (auto deleted = run_nft({"-f", "-"}, delete_table_script(table)); deleted) {
      spdlog::warn("removed stale nft table inet {}", table);
    } else {
      spdlog::error("cannot remove nft table {}: {}", table, deleted.error().message);
    }
  }
}

}  // namespace squib::platform
