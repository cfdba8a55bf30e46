// squib-netctl network create|delete|list: builds network.create's params from flags and
// lets proto's parser judge them (the same messages as the daemon's -32602), and prints
// network.list as a table: NAME MODE STATE BRIDGE SUBNET DHCP MTU UPLINK ATTACHMENTS.

#include "netctl_network.hpp"

#include <iostream>

#include <squib/proto/network_messages.hpp>
#include <squib/proto/table.hpp>

namespace squib::netctl {

NetworkCommand::NetworkCommand(CLI::App& app) {
  m_command = app.add_subcommand("network", "Networks as objects: create, delete, list");
  m_command->require_subcommand(1);
  m_create = m_command->add_subcommand("create", "Create a host or shared network (root only)");
  m_create->add_option("name", m_name)->required();
  m_create->add_option("--mode", m_mode, "host or shared")
      ->capture_default_str()
      ->check(CLI::IsMember({"host", "shared"}));
  m_create->add_option("--subnet", m_subnet, "IPv4 CIDR, /8 to /30");
  m_create->add_option("--subnet6", m_subnet6, "IPv6 /64");
  m_create->add_option("--domain", m_domain, "DNS domain of the attachments' names");
  m_create->add_flag("--isolation", m_isolation, "Attachments cannot reach each other");
  auto* range = m_create->add_option("--dhcp-range", m_dhcp_range, "This host's DHCP slice A-B");
  m_create->add_flag("--no-dhcp", m_no_dhcp, "No DHCP on this host (starts name their address)")->excludes(range);
  m_create->add_option("--mtu", m_mtu, "The network's MTU");
  m_create->add_option("--vxlan-vni", m_vni, "VXLAN uplink: the VNI");
  m_create->add_option("--vxlan-local", m_local, "VXLAN uplink: this host's underlay address");
  auto* remote = m_create->add_option("--vxlan-remote", m_remotes, "VXLAN uplink: another host (repeatable)");
  m_create->add_option("--vxlan-group", m_group, "VXLAN uplink: multicast group instead of remotes")->excludes(remote);
  m_create->add_option("--vxlan-dev", m_dev, "VXLAN uplink: underlay interface");
  m_create->add_option("--vxlan-port", m_port, "VXLAN uplink: UDP port (default 4789)");
  m_delete = m_command->add_subcommand("delete", "Delete a network (root only)");
  m_delete->add_option("name", m_name)->required();
  m_delete->add_flag("--force", m_force, "Stop the network's attachments first");
  m_list = m_command->add_subcommand("list", "List the networks");
}

int NetworkCommand::run(const Options& options) const {
  if (m_create->parsed()) return create(options);
  if (m_delete->parsed()) return remove(options);
  return list(options);
}

int NetworkCommand::create(const Options& options) const {
  json params = {{"name", m_name}, {"mode", m_mode}};
  if (m_subnet) params["subnet"] = *m_subnet;
  if (m_subnet6) params["subnet6"] = *m_subnet6;
  if (m_domain) params["domain"] = *m_domain;
  if (m_isolation) params["isolation"] = true;
  if (m_no_dhcp) params["dhcp"] = false;
  if (m_dhcp_range) params["dhcp"] = {{"range", *m_dhcp_range}};
  if (m_mtu) params["mtu"] = *m_mtu;
  const bool any_vxlan = m_vni || m_local || !m_remotes.empty() || m_group || m_dev || m_port;
  if (any_vxlan) {
    json vxlan = json::object();
    if (m_vni) vxlan["vni"] = *m_vni;
    if (m_local) vxlan["local"] = *m_local;
    if (!m_remotes.empty()) vxlan["remotes"] = m_remotes;
    if (m_group) vxlan["group"] = *m_group;
    if (m_dev) vxlan["dev"] = *m_dev;
    if (m_port) vxlan["port"] = *m_port;
    params["uplink"] = {{"vxlan", vxlan}};
  }
  proto::NetworkSpec spec;
  try {
    spec = proto::parse_network_spec(params);  // the daemon's own rules, before asking it
  } catch (const proto::ParamError& e) {
    std::cerr << "squib-netctl: network create: " << e.what() << "\n";
    return k_exit_usage;
  }
  json result;
  if (const int rc = call(options, "network.create", proto::to_json(spec), result); rc != k_exit_ok) return rc;
  if (options.json_output) {
    std::cout << result.dump(2) << "\n";
    return k_exit_ok;
  }
  proto::NetworkDescription description;
  if (const int rc = read_result("network.create", result, description); rc != k_exit_ok) return rc;
  std::cout << "network " << description.network.name << ": " << description.state << ", bridge "
            << description.network.bridge.value_or("-") << ", subnet " << description.network.subnet.value_or("-")
            << ", mtu " << description.mtu << "\n";
  return k_exit_ok;
}

int NetworkCommand::remove(const Options& options) const {
  json result;
  const proto::NetworkDeleteParams params{m_name, m_force};
  if (const int rc = call(options, "network.delete", proto::to_json(params), result); rc != k_exit_ok) return rc;
  if (options.json_output) {
    std::cout << result.dump(2) << "\n";
    return k_exit_ok;
  }
  std::cout << "network " << m_name << " deleted\n";
  return k_exit_ok;
}

int NetworkCommand::list(const Options& options) const {
  json result;
  if (const int rc = call(options, "network.list", json::object(), result); rc != k_exit_ok) return rc;
  if (options.json_output) {
    std::cout << result.dump(2) << "\n";
    return k_exit_ok;
  }
  std::vector<proto::NetworkDescription> networks;
  if (const int rc = read_result("network.list", result, networks); rc != k_exit_ok) return rc;
  proto::Table table({"NAME", "MODE", "STATE", "BRIDGE", "SUBNET", "DHCP", "MTU", "UPLINK", "ATTACHMENTS"});
  for (const auto& network : networks) {
    std::string uplink = "-";
    if (network.uplink) {
      uplink = "vxlan " + std::to_string(network.uplink->vxlan.vni) + " (" + network.uplink->device + ")";
    }
    table.add({network.network.name, proto::to_string(network.mode), network.state,
               network.network.bridge.value_or("-"), network.network.subnet.value_or("-"),
               network.network.dhcp_range.value_or("off"), std::to_string(network.mtu), uplink,
               std::to_string(network.attachment_count)});
  }
  std::cout << table.render();
  return k_exit_ok;
}

}  // namespace squib::netctl
