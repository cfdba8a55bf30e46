#include <squib/service/network_manager.hpp>

#include <arpa/inet.h>
#include <unistd.h>

#include <filesystem>

#include <spdlog/spdlog.h>

#include <squib/backend/tap_backend.hpp>
#include <squib/core/assert.hpp>
#include <squib/core/mac_address.hpp>
#include <squib/core/names.hpp>
#include <squib/platform/linux/dnsmasq_leases.hpp>
#include <squib/platform/linux/host_overlap.hpp>
#include <squib/platform/linux/netlink.hpp>
#include <squib/platform/linux/network_names.hpp>
#include <squib/platform/linux/nft.hpp>
#include <squib/platform/linux/ra_default_routes.hpp>
#include <squib/platform/linux/stale_objects.hpp>
#include <squib/platform/linux/vxlan_uplink.hpp>
#include <squib/service/lease_allocator.hpp>

namespace squib::service {

using core::Error;
using core::ipv4_to_string;
using core::Ipv4Subnet;
using core::Result;
namespace fs = std::filesystem;

namespace {

// Later networks without a subnet take the next free /24 above the default, this many tries.
constexpr int k_subnet_tries = 64;

// The gateway's IPv6 address is ::1 of the network's /64.
constexpr unsigned k_prefix6_length = 64;

bool host_has_ipv6() { return ::access("/proc/sys/net/ipv6", F_OK) == 0; }

// The StartParams a declared network is made with (choose_subnet/choose_subnet6 read them).
proto::StartParams params_of(const proto::NetworkSpec& spec) {
  proto::StartParams params;
  params.network = spec.name;
  params.mode = spec.mode;
  params.subnet = spec.subnet;
  params.subnet6 = spec.subnet6;
  params.domain = spec.domain;
  return params;
}

// The first field in which two specs of one network differ ("" when equal).
std::string first_difference(const proto::NetworkSpec& a, const proto::NetworkSpec& b) {
  if (a.mode != b.mode) return "mode";
  if (a.subnet != b.subnet) return "subnet";
  if (a.subnet6 != b.subnet6) return "subnet6";
  if (a.domain != b.domain) return "domain";
  if (a.isolation != b.isolation) return "isolation";
  if (a.dhcp != b.dhcp) return "dhcp";
  if (a.mtu != b.mtu) return "mtu";
  if (a.uplink != b.uplink) return "uplink";
  return "";
}

proto::LinkCounters counters_of(const platform::LinkStats& stats) {
  return {stats.rx_packets, stats.rx_bytes, stats.tx_packets, stats.tx_bytes, stats.rx_dropped, stats.tx_dropped};
}

}  // namespace

struct NetworkManager::Network {
  Network(std::string network_name, proto::Mode network_mode, core::Ipv4Subnet network_subnet,
          platform::NetworkNames network_names)
      : name(std::move(network_name)),
        mode(network_mode),
        subnet(network_subnet),
        names(std::move(network_names)),
        leases(name, subnet) {}

  std::string domain{proto::k_default_domain};  // its DNS names are <attachment>.<domain>

  std::string name;
  proto::Mode mode = proto::Mode::host;
  core::Ipv4Subnet subnet;
  platform::NetworkNames names;  // bridge, table, dnsmasq's files
  LeaseAllocator leases;         // by attachment name
  std::unique_ptr<platform::Dnsmasq> dnsmasq;
  std::unique_ptr<platform::DnsmasqLeaseWatch> lease_watch;  // its lease file
  std::map<std::string, std::string> given;                  // MAC → address, as last reported
  // Being created: attachments that asked meanwhile wait here for the outcome.
  bool ready = false;
  std::vector<std::pair<proto::StartParams, LeaseCallback>> waiting;
  bool forwarding = false;                  // counted in NetworkManager::m_ip_forwarding
  std::optional<core::Ipv6Prefix> subnet6;  // nullopt: the host has no IPv6
  bool nat66 = false;                       // shared: IPv6 masqueraded out
  bool forwarding6 = false;                 // counted in NetworkManager::m_ip6_forwarding
  // Declared networks (issue 15): where it came from and, unless implicit, its spec.
  proto::Origin origin = proto::Origin::implicit;
  std::optional<proto::NetworkSpec> spec;
  bool dhcp = true;                                              // dnsmasq serves DHCPv4 here
  std::optional<std::pair<std::uint32_t, std::uint32_t>> range;  // this host's slice (host order)
  std::uint32_t mtu = 1500;
  bool isolation = false;
  std::optional<platform::VxlanUplinkState> uplink;  // the VXLAN device, once made
  // network.create callers waiting for it to be ready (or failed).
  std::vector<std::function<void(Result<void>)>> creators;

  [[nodiscard]] proto::NetworkInfo info() const {
    proto::NetworkInfo out;
    out.name = name;
    out.subnet = subnet.to_string();
    out.gateway = core::ipv4_to_string(subnet.gateway());
    if (dhcp) {
      const auto first = range ? range->first : subnet.dhcp_first();
      const auto last = range ? range->second : subnet.dhcp_last();
      out.dhcp_range = core::ipv4_to_string(first) + "-" + core::ipv4_to_string(last);
    }
    out.dns = core::ipv4_to_string(subnet.gateway());  // both modes: at least the network's names
    out.domain = domain;
    out.bridge = names.bridge;
    if (subnet6) {
      out.subnet6 = subnet6->to_string();
      out.gateway6 = core::ipv6_to_string(subnet6->gateway());
    }
    return out;
  }
};

NetworkManager::NetworkManager(uv_loop_t* loop, const DaemonConfig& config)
    : m_loop(loop),
      m_config(config),
      m_retiring(loop),
      m_nft(loop),
      m_firewall(
          loop, config.run_dir,
          config.host_firewall_leave ? platform::HostFirewallPolicy::leave : platform::HostFirewallPolicy::coexist,
          [this] { maybe_shutdown_done(); }) {}

NetworkManager::~NetworkManager() {
  // Last line of defence (shutdown() is the orderly path): remove kernel state now; the
  // supervisors' destructors SIGKILL and reap any dnsmasq still running. The loop no longer
  // serves anyone, so the synchronous nft is fine here; callbacks of nft children still in
  // flight find the queue gone and do nothing.
  auto networks = std::move(m_networks);
  for (auto& [name, network] : networks) {
    (void)platform::run_nft({"-f", "-"}, platform::delete_table_script(network->names.table));
    if (network->uplink)
      (void)platform::run_nft({"-f", "-"}, platform::uplink_policy_delete_script(network->names.uplink_table));
    if (auto netlink = platform::Netlink::open()) {
      if (network->uplink) (void)netlink->delete_link(network->names.vxlan);
      (void)netlink->delete_link(network->names.bridge);
    }
  }
  // Our rules in other tables, when shutdown() did not see them all removed.
  if (!networks.empty() || !m_firewall.idle()) platform::HostFirewall::remove_all(m_config.run_dir);
}

void NetworkManager::cleanup_stale(const std::vector<proto::StartParams>& recorded) {
  // Only what this run dir's daemon made: the TAPs of its recorded attachments and the
  // bridges and tables of their networks (names are scoped by the run dir). Another daemon's
  // objects in the same network namespace are never touched.
  platform::StaleObjects stale;
  for (const auto& params : recorded) {
    if (params.mode == proto::Mode::userspace) continue;
    // A handed-off TAP may carry a running VM: adopted on restore, not removed (kernel_modes.cpp).
    if (!params.handoff) stale.links.insert(backend::tap_name(m_config.run_dir, params.name));
    if (params.mode == proto::Mode::bridged) continue;
    const auto names = platform::network_names(m_config.run_dir, params.network);
    stale.links.insert(names.bridge);
    stale.links.insert(names.vxlan);
    stale.tables.insert(names.table);
    stale.bridge_tables.insert(names.uplink_table);
  }
  platform::remove_stale(m_config.run_dir, stale);
}

void NetworkManager::cleanup_stale_networks(const std::vector<std::string>& recorded) {
  platform::StaleObjects stale;
  for (const auto& name : recorded) {
    const auto names = platform::network_names(m_config.run_dir, name);
    stale.links.insert(names.bridge);
    stale.links.insert(names.vxlan);
    stale.tables.insert(names.table);
    stale.bridge_tables.insert(names.uplink_table);
  }
  if (!stale.links.empty()) platform::remove_stale(m_config.run_dir, stale);
}

Result<core::Ipv4Subnet> NetworkManager::choose_subnet(const proto::StartParams& params) const {
  auto overlapping = [this](const core::Ipv4Subnet& subnet) -> const Network* {
    for (const auto& [name, network] : m_networks) {
      if (network->subnet.overlaps(subnet)) return network.get();
    }
    return nullptr;
  };
  auto netlink = platform::Netlink::open();
  if (!netlink) return netlink.error();
  // The host's own addresses and routes, minus the bridges of our networks (checked above
  // by subnet): a network must never shadow the host's LAN, VPN or container routes.
  std::vector<std::string> our_bridges;
  for (const auto& [name, network] : m_networks) our_bridges.push_back(network->names.bridge);
  const auto host_conflict = [&](const core::Ipv4Subnet& subnet) -> Result<std::optional<std::string>> {
    return platform::host_overlap(netlink.value(), subnet, our_bridges);
  };
  if (params.subnet) {
    auto parsed = core::Ipv4Subnet::parse(*params.subnet);
    if (!parsed) return Error{EINVAL, "subnet: must be an IPv4 CIDR with a prefix of /8 to /30 and no host bits set"};
    if (const Network* other = overlapping(*parsed)) {
      return Error{EINVAL, "subnet: " + parsed->to_string() + " overlaps network '" + other->name + "' (" +
                               other->subnet.to_string() + ")"};
    }
    auto conflict = host_conflict(*parsed);
    if (!conflict)
      return Error{conflict.error().code,
                   "subnet: cannot read the host's addresses and routes: " + conflict.error().message};
    if (conflict.value()) {
      return Error{EINVAL, "subnet: " + parsed->to_string() + " overlaps " + *conflict.value() +
                               "; choose a subnet the host does not use"};
    }
    return *parsed;
  }
  auto candidate = core::Ipv4Subnet::parse(k_default_subnet).value();
  for (int i = 0; i < k_subnet_tries; ++i, candidate.network += 256) {
    if (overlapping(candidate) != nullptr) continue;
    auto conflict = host_conflict(candidate);
    if (!conflict)
      return Error{conflict.error().code,
                   "subnet: cannot read the host's addresses and routes: " + conflict.error().message};
    if (!conflict.value()) return candidate;
    spdlog::info("network {}: skipping subnet {}: it overlaps {}", params.network, candidate.to_string(),
                 *conflict.value());
  }
  return Error{EINVAL, "subnet: no free default subnet (" + std::string(k_default_subnet) + " and the next " +
                           std::to_string(k_subnet_tries - 1) + " /24s are in use on this host); give one"};
}

Result<std::optional<core::Ipv6Prefix>> NetworkManager::choose_subnet6(const proto::StartParams& params) const {
  if (!host_has_ipv6()) {
    if (params.subnet6) return Error{EINVAL, "subnet6: this host has no IPv6 (/proc/sys/net/ipv6 is absent)"};
    return std::optional<core::Ipv6Prefix>();
  }
  auto netlink = platform::Netlink::open();
  if (!netlink) return netlink.error();
  std::vector<std::string> our_bridges;
  for (const auto& [name, network] : m_networks) our_bridges.push_back(network->names.bridge);
  // Why `prefix` cannot be used (another network's, or the host's), or nullopt.
  const auto conflict = [&](const core::Ipv6Prefix& prefix) -> Result<std::optional<std::string>> {
    for (const auto& [name, network] : m_networks) {
      if (network->subnet6 && *network->subnet6 == prefix) return std::optional<std::string>("network '" + name + "'");
    }
    auto host = platform::host_overlap(netlink.value(), prefix, our_bridges);
    if (!host) return Error{host.error().code, "subnet6: cannot read the host's IPv6 routes: " + host.error().message};
    return host.value();
  };
  if (params.subnet6) {
    const auto parsed = core::Ipv6Prefix::parse(*params.subnet6);
    if (!parsed) return Error{EINVAL, "subnet6: must be an IPv6 /64 such as fd00:1:2:3::/64"};
    auto used = conflict(*parsed);
    if (!used) return used.error();
    if (used.value()) {
      const bool network = used.value()->starts_with("network '");
      return Error{EINVAL, "subnet6: " + parsed->to_string() + " overlaps " + *used.value() +
                               (network ? "" : "; choose a subnet6 the host does not use")};
    }
    return std::optional<core::Ipv6Prefix>(*parsed);
  }
  // The ULA of the name (subnet ID 0); when that is taken (a second daemon's network of the
  // same name in this namespace, or the host's), the next subnet IDs of the same Global ID,
  // as the IPv4 default takes the next free /24.
  auto candidate = core::Ipv6Prefix::ula_for(params.network);
  for (int i = 0; i < k_subnet_tries; ++i) {
    auto used = conflict(candidate);
    if (!used) return used.error();
    if (!used.value()) return std::optional<core::Ipv6Prefix>(candidate);
    spdlog::info("network {}: skipping subnet6 {}: it overlaps {}", params.network, candidate.to_string(),
                 *used.value());
    // Subnet ID: bytes 6 and 7, big-endian.
    const unsigned next = (static_cast<unsigned>(candidate.network[6]) << 8U | candidate.network[7]) + 1U;
    candidate.network[6] = static_cast<std::uint8_t>(next >> 8U);
    candidate.network[7] = static_cast<std::uint8_t>(next);
  }
  return Error{EINVAL, "subnet6: the ULA of network '" + params.network + "' and its next " +
                           std::to_string(k_subnet_tries - 1) + " subnets are in use on this host; give one"};
}

bool NetworkManager::nat66_allowed(const std::string& network_name) {
  if (m_ip6_forwarding.on()) return true;  // already forwarding: turning it on changes nothing
  auto netlink = platform::Netlink::open();
  auto at_risk = netlink ? platform::ra_default_route_interfaces(netlink.value())
                         : Result<std::vector<std::string>>(netlink.error());
  if (!at_risk) {
    spdlog::warn("network {}: no NAT66: cannot read the host's IPv6 routes: {}", network_name, at_risk.error().message);
    return false;
  }
  if (at_risk.value().empty()) return true;
  std::string names;
  for (const auto& name : at_risk.value()) names += (names.empty() ? "" : ", ") + name;
  spdlog::warn(
      "network {}: no NAT66 (IPv6 stays inside the network): turning net.ipv6.conf.all.forwarding on "
      "would make {} ignore router advertisements and lose its IPv6 default route (accept_ra is not 2); "
      "set net.ipv6.conf.<interface>.accept_ra=2 there, or enable IPv6 forwarding yourself, and "
      "recreate the network",
      network_name, names);
  return false;
}

void NetworkManager::create(const proto::StartParams& params, const proto::NetworkSpec* spec, proto::Origin origin,
                            LeaseCallback done, std::function<void(Result<void>)> created) {
  // Before the network is in the table: refused to whoever asked (a start or a create).
  const auto refuse = [&](const Error& error) {
    if (done) done(error);
    if (created) created(error);
  };
  auto subnet = choose_subnet(params);
  if (!subnet) return refuse(subnet.error());
  auto subnet6 = choose_subnet6(params);
  if (!subnet6) return refuse(subnet6.error());
  std::optional<std::pair<std::uint32_t, std::uint32_t>> range;
  if (spec != nullptr && spec->dhcp.enabled && spec->dhcp.range) {
    // The parser checked the form; here, against the network's actual subnet.
    const auto dash = spec->dhcp.range->find('-');
    const auto first = core::parse_ipv4(spec->dhcp.range->substr(0, dash));
    const auto last = core::parse_ipv4(spec->dhcp.range->substr(dash + 1));
    if (!first || !last) return refuse(Error{EINVAL, "dhcp.range: must be \"A-B\" with IPv4 addresses"});
    if (auto problem = proto::dhcp_range_problem(subnet.value(), *first, *last)) {
      return refuse(Error{EINVAL, "dhcp.range: " + *problem});
    }
    range = std::pair{*first, *last};
  }
  auto owned = std::make_unique<Network>(params.network, params.mode, subnet.value(),
                                         platform::network_names(m_config.run_dir, params.network));
  Network* network = owned.get();
  network->subnet6 = subnet6.value();
  network->nat66 = network->subnet6 && params.mode == proto::Mode::shared && nat66_allowed(params.network);
  if (params.domain) network->domain = *params.domain;  // validated by the parser
  network->origin = origin;
  if (spec != nullptr) {
    network->spec = *spec;
    network->dhcp = spec->dhcp.enabled;
    network->range = range;
    network->isolation = spec->isolation;
    network->mtu = spec->mtu.value_or(1500);
    if (range) network->leases.set_range(range->first, range->second);
    if (!network->dhcp) network->leases.set_no_dhcp();
  } else {
    // Implicit: the MTU of the start that makes it (`start --mtu 9000` on a new network is a
    // jumbo network); later attachments that ask for more are lowered to it.
    network->mtu = params.mtu;
  }
  const std::string& bridge = network->names.bridge;
  if (done) network->waiting.emplace_back(params, std::move(done));
  if (created) network->creators.push_back(std::move(created));
  m_networks.emplace(params.network, std::move(owned));

  // The bridge: rtnetlink round trips, answered by the kernel at once.
  auto netlink = platform::Netlink::open();
  if (!netlink) return fail(params.network, netlink.error());
  if (auto existing = netlink->find_link(bridge); existing && existing.value()) {
    (void)netlink->delete_link(bridge);  // left over: ours by name
  }
  if (auto made = netlink->create_bridge(bridge); !made) return fail(params.network, made.error());
  if (auto added = netlink->add_ipv4_address(bridge, htonl(network->subnet.gateway()), network->subnet.prefix);
      !added) {
    return fail(params.network, added.error());
  }
  if (network->subnet6) {
    if (auto added = netlink->add_ipv6_address(bridge, network->subnet6->gateway(), k_prefix6_length); !added) {
      return fail(params.network, added.error());
    }
  }
  platform::LinkChange up;
  up.up = true;
  if (network->mtu != 1500) up.mtu = network->mtu;
  if (auto set = netlink->set_link(bridge, up); !set) return fail(params.network, set.error());
  // The uplink (issue 15): after the bridge, before dnsmasq; the device's MTU becomes the
  // network's. Its containment table goes in the same nft job as the network's.
  std::string script =
      platform::network_ruleset({network->names.table, bridge, network->subnet, params.mode == proto::Mode::shared,
                                 network->subnet6, network->nat66});
  if (spec != nullptr && spec->uplink && spec->uplink->vxlan) {
    auto made = platform::create_vxlan_uplink(netlink.value(), network->names.vxlan, bridge, *spec->uplink->vxlan,
                                              spec->mtu, network->subnet.gateway());
    if (!made) return fail(params.network, made.error());
    network->uplink = made.value();
    network->mtu = made->network_mtu;
    script += platform::uplink_policy_script(
        network->names.uplink_table, network->names.vxlan,
        platform::anycast_gateway_mac(spec->uplink->vxlan->vni, network->subnet.gateway()));
  }

  // The nft tables: a child, collected on the loop; the rest continues in rules_applied.
  run_nft(std::move(script), [this, name = params.network, network](Result<std::string> applied) {
    rules_applied(name, network, std::move(applied));
  });
}

void NetworkManager::rules_applied(const std::string& name, const Network* expected, Result<std::string> applied) {
  const auto it = m_networks.find(name);
  if (it == m_networks.end() || it->second.get() != expected) return;  // torn down meanwhile
  Network& network = *it->second;
  if (!applied) return fail(name, applied.error());
  if (network.mode == proto::Mode::shared) {
    m_ip_forwarding.network_added();
    network.forwarding = true;
    if (network.nat66) {
      m_ip6_forwarding.network_added();
      network.forwarding6 = true;
    }
    // Ready only once other tables' forward chains let it through (or, leave: fail).
    m_firewall.add({network.name, network.names.bridge, network.subnet});
    m_firewall.sync(
        [this, name, expected](Result<void> synced) { firewall_checked(name, expected, std::move(synced)); });
    return;
  }
  start_dnsmasq(network);
}

void NetworkManager::firewall_checked(const std::string& name, const Network* expected, Result<void> synced) {
  const auto it = m_networks.find(name);
  if (it == m_networks.end() || it->second.get() != expected) return;  // torn down meanwhile
  Network& network = *it->second;
  if (!synced) return fail(name, Error{synced.error().code, "host firewall: " + synced.error().message});
  if (m_firewall.policy() == platform::HostFirewallPolicy::leave && !m_firewall.blocking().empty()) {
    const auto& blocking = m_firewall.blocking().front();
    const std::string chain = blocking.rules_chain.label();
    const std::string bridge = "\"" + network.names.bridge + "\"";
    return fail(name, Error{EPERM, "host firewall: chain '" + blocking.chain.label() + "' (" + blocking.verdict +
                                       ") would drop the forwarded traffic of this shared network (bridge " +
                                       network.names.bridge +
                                       ") and squib-netd runs with --host-firewall=leave; "
                                       "run it with --host-firewall=coexist (the default), or allow the bridge "
                                       "yourself: nft insert rule " +
                                       chain + " iifname " + bridge +
                                       " accept; "
                                       "nft insert rule " +
                                       chain + " oifname " + bridge + " ct state established,related accept"});
  }
  start_dnsmasq(network);
}

void NetworkManager::start_dnsmasq(Network& network) {
  const std::string name = network.name;
  platform::DnsmasqPlan plan{network.names.bridge,
                             network.subnet,
                             network.mode == proto::Mode::shared,
                             network.names.hosts_dir,
                             network.names.lease_path,
                             network.names.pid_path,
                             network.subnet6,
                             network.nat66};
  plan.domain = network.domain;
  plan.names_path = network.names.names_dir;
  plan.dhcp = network.dhcp;
  if (network.range) {
    plan.dhcp_first = network.range->first;
    plan.dhcp_last = network.range->second;
  }
  plan.mtu = network.mtu;
  network.dnsmasq = std::make_unique<platform::Dnsmasq>(m_loop, name, m_config.exec_shim, std::move(plan));
  if (auto started = network.dnsmasq->start(); !started) return fail(name, started.error());
  spdlog::info("network {}: {} mode, bridge {}, subnet {}, gateway {}, subnet6 {}{}, nft table inet {}, dnsmasq pid {}",
               network.name, proto::to_string(network.mode), network.names.bridge, network.subnet.to_string(),
               core::ipv4_to_string(network.subnet.gateway()), network.subnet6 ? network.subnet6->to_string() : "none",
               network.nat66 ? " (NAT66)" : "", network.names.table, network.dnsmasq->pid());
  watch_leases(network);
  network.ready = true;
  auto creators = std::move(network.creators);
  network.creators.clear();
  for (auto& created : creators) created(Result<void>());
  // A creator may have gone with the network meanwhile (never today: it answers only).
  if (!m_networks.contains(name)) return;
  auto waiting = std::move(m_networks.at(name)->waiting);
  network.waiting.clear();
  for (auto& [params, done] : waiting) {
    // Each callback may release the network (a failed attachment): look it up again.
    auto again = m_networks.find(name);
    if (again == m_networks.end()) {
      done(Error{ECANCELED, "network " + name + " went away while it was being created"});
      continue;
    }
    lease_to(*again->second, params, std::move(done));
  }
}

// Each lease that is new or moved to another address is reported once. The watch belongs to
// the network: torn down with it, no callback after (uv handle contract).
void NetworkManager::watch_leases(Network& network) {
  const std::string name = network.name;
  network.lease_watch = std::make_unique<platform::DnsmasqLeaseWatch>(
      m_loop, network.names.lease_path, [this, name](const std::vector<platform::DnsmasqLease>& leases) {
        const auto it = m_networks.find(name);
        if (it == m_networks.end()) return;
        for (const auto& lease : leases) {
          auto& known = it->second->given[lease.mac];
          if (known == lease.address) continue;
          known = lease.address;
          if (m_lease_observer) m_lease_observer(name, lease.mac, lease.address, lease.hostname);
        }
      });
  if (auto watching = network.lease_watch->start(); !watching) {
    spdlog::warn("network {}: no lease events: {}", name, watching.error().message);  // the network still works
  }
}

void NetworkManager::lease_to(Network& network, const proto::StartParams& params, LeaseCallback done) {
  auto lease = allocate(network, params);
  if (!lease && network.leases.empty() && network.waiting.empty() && network.origin == proto::Origin::implicit) {
    // Nobody else uses it: a network made for this attachment alone goes with its failure.
    auto it = m_networks.find(network.name);
    auto owned = std::move(it->second);
    m_networks.erase(it);
    teardown(std::move(owned));
  }
  done(std::move(lease));
}

void NetworkManager::fail(const std::string& name, const Error& error) {
  auto it = m_networks.find(name);
  if (it == m_networks.end()) return;
  auto network = std::move(it->second);
  m_networks.erase(it);
  auto waiting = std::move(network->waiting);
  network->waiting.clear();
  auto creators = std::move(network->creators);
  network->creators.clear();
  teardown(std::move(network));  // whatever was made so far
  for (auto& [params, done] : waiting) done(Error{error.code, "network " + name + ": " + error.message});
  for (auto& created : creators) created(error);
}

void NetworkManager::acquire(const proto::StartParams& params, LeaseCallback done) {
  auto it = m_networks.find(params.network);
  if (it == m_networks.end()) return create(params, nullptr, proto::Origin::implicit, std::move(done));
  Network& network = *it->second;
  if (network.mode != params.mode) {
    return done(Error{EINVAL, std::string("mode: network '") + params.network + "' is a " +
                                  proto::to_string(network.mode) + " network; name another with `network` (" +
                                  "squib-netctl --network NAME) for a " + proto::to_string(params.mode) + " one"});
  }
  if (params.subnet) {
    const auto parsed = core::Ipv4Subnet::parse(*params.subnet);
    if (!parsed || !(*parsed == network.subnet)) {
      return done(Error{EINVAL, "subnet: network '" + params.network + "' already uses " + network.subnet.to_string()});
    }
  }
  if (params.subnet6) {
    const auto parsed = core::Ipv6Prefix::parse(*params.subnet6);
    if (!network.subnet6) return done(Error{EINVAL, "subnet6: network '" + params.network + "' has no IPv6"});
    if (!parsed || !(*parsed == *network.subnet6)) {
      return done(
          Error{EINVAL, "subnet6: network '" + params.network + "' already uses " + network.subnet6->to_string()});
    }
  }
  if (params.domain && *params.domain != network.domain) {
    return done(Error{EINVAL, "domain: network '" + params.network + "' already uses " + network.domain});
  }
  if (!network.ready) {
    network.waiting.emplace_back(params, std::move(done));
    return;
  }
  lease_to(network, params, std::move(done));
}

Result<NetworkLease> NetworkManager::allocate(Network& network, const proto::StartParams& params) {
  const std::string mac = params.mac.value_or(core::MacAddress::derive_from_name(params.name).to_string());
  auto address = network.leases.assign(params.name, mac, params.address);
  if (!address) return address.error();
  SQUIB_ASSERT(network.dnsmasq != nullptr);  // only ready networks lease, and they have one
  network.dnsmasq->add_host(params.name, mac, address.value());
  NetworkLease lease;
  lease.bridge = network.names.bridge;
  lease.address = address.value();
  lease.network = network.info();
  lease.mtu = network.mtu;
  lease.isolation = network.isolation;
  lease.network.address = core::ipv4_to_string(address.value());
  if (network.subnet6) {
    const auto parsed_mac = core::MacAddress::parse(mac);
    if (parsed_mac) lease.network.address6 = core::ipv6_to_string(network.subnet6->slaac_address(*parsed_mac));
  }
  publish_name(network, params.name, lease);
  return lease;
}

// The network's DNS answers <name>.<domain> with the lease's addresses, for names that are
// DNS labels; any other name is logged once, here, when the attachment joins.
void NetworkManager::publish_name(Network& network, const std::string& name, const NetworkLease& lease) {
  if (!core::is_valid_dns_label(name)) {
    spdlog::info("network {}: attachment {} gets no DNS name: its name is not a DNS label ([A-Za-z0-9-], 1-63)",
                 network.name, name);
    return;
  }
  network.dnsmasq->add_name(name, lease.address, lease.network.address6.value_or(""));
}

void NetworkManager::run_nft(std::string script, platform::NftQueue::Done done) {
  m_nft.run(std::move(script), [this, done = std::move(done)](Result<std::string> result) {
    done(std::move(result));
    maybe_shutdown_done();
  });
}

void NetworkManager::release(const proto::StartParams& params) {
  auto it = m_networks.find(params.network);
  if (it == m_networks.end()) return;
  Network& network = *it->second;
  network.leases.release(params.name);
  if (network.dnsmasq) {
    network.dnsmasq->remove_host(params.name);
    network.dnsmasq->remove_name(params.name);  // dnsmasq drops it by inotify (--hostsdir)
  }
  if (!network.leases.empty() || network.origin != proto::Origin::implicit) {
    // dnsmasq forgets a removed hostsdir entry only on SIGHUP (dnsmasq(8) --dhcp-hostsdir).
    if (network.dnsmasq) network.dnsmasq->reload();
    return;
  }
  auto owned = std::move(it->second);
  m_networks.erase(it);
  teardown(std::move(owned));
}

void NetworkManager::teardown(std::unique_ptr<Network> network) {
  // Queued after the table's create, if that is still running: never overtakes it.
  run_nft(platform::delete_table_script(network->names.table), [name = network->name](Result<std::string> deleted) {
    if (!deleted) spdlog::error("network {}: {}", name, deleted.error().message);
  });
  if (network->uplink) {
    run_nft(platform::uplink_policy_delete_script(network->names.uplink_table),
            [name = network->name](Result<std::string> deleted) {
              if (!deleted) spdlog::error("network {}: {}", name, deleted.error().message);
            });
  }
  if (auto netlink = platform::Netlink::open()) {
    if (network->uplink) {
      if (auto deleted = netlink->delete_link(network->names.vxlan); !deleted && deleted.error().code != ENODEV) {
        spdlog::error("network {}: {}", network->name, deleted.error().message);
      }
    }
    if (auto deleted = netlink->delete_link(network->names.bridge); !deleted && deleted.error().code != ENODEV) {
      spdlog::error("network {}: {}", network->name, deleted.error().message);
    }
  }
  if (network->forwarding) m_ip_forwarding.network_removed();
  if (network->forwarding6) m_ip6_forwarding.network_removed();
  if (network->mode == proto::Mode::shared) m_firewall.remove(network->name);
  spdlog::info("network {}: removed bridge {} and nft table inet {}", network->name, network->names.bridge,
               network->names.table);
  if (!network->dnsmasq) return;
  std::vector<std::string> files = network->dnsmasq->files();
  m_retiring.retire(
      std::move(network->dnsmasq),
      [](platform::Dnsmasq& dnsmasq, std::function<void()> stopped) { dnsmasq.stop(std::move(stopped)); },
      [this, files = std::move(files)] {
        std::error_code ec;
        for (const auto& file : files) fs::remove_all(file, ec);
        maybe_shutdown_done();
      });
}

void NetworkManager::maybe_shutdown_done() {
  if (m_shutdown_done && m_retiring.idle() && m_nft.idle() && m_firewall.idle()) {
    std::exchange(m_shutdown_done, nullptr)();
  }
}

void NetworkManager::shutdown(std::function<void()> done) {
  auto networks = std::move(m_networks);
  m_networks.clear();
  m_shutdown_done = std::move(done);
  for (auto& [name, network] : networks) {
    auto waiting = std::move(network->waiting);
    network->waiting.clear();
    auto creators = std::move(network->creators);
    network->creators.clear();
    teardown(std::move(network));
    for (auto& [params, callback] : waiting) callback(Error{ECANCELED, "the daemon is shutting down"});
    for (auto& created : creators) created(Error{ECANCELED, "the daemon is shutting down"});
  }
  maybe_shutdown_done();
}

void NetworkManager::create_network(const proto::NetworkSpec& spec, proto::Origin origin, NetworkDone done) {
  const std::string name = spec.name;
  // Answered with the description of what is there once it is ready.
  auto answer = [this, name, done](Result<void> outcome) {
    if (!outcome) return done(outcome.error());
    for (auto& description : list_networks()) {
      if (description.network.name == name) return done(std::move(description));
    }
    done(Error{ENOENT, "network " + name + " went away while it was being created"});
  };
  const auto it = m_networks.find(name);
  if (it == m_networks.end()) {
    return create(params_of(spec), &spec, origin, nullptr, std::move(answer));
  }
  Network& network = *it->second;
  if (network.spec) {
    // Declared already: the same spec is success (idempotent), another one is refused.
    if (const std::string field = first_difference(*network.spec, spec); !field.empty()) {
      return done(Error{EEXIST, field});
    }
  } else {
    // Made by a start: it becomes declared when its live settings are what the spec asks.
    std::string field;
    const auto subnet = spec.subnet ? core::Ipv4Subnet::parse(*spec.subnet) : std::nullopt;
    const auto subnet6 = spec.subnet6 ? core::Ipv6Prefix::parse(*spec.subnet6) : std::nullopt;
    if (spec.mode != network.mode) {
      field = "mode";
    } else if (spec.subnet && !(subnet && *subnet == network.subnet)) {
      field = "subnet";
    } else if (spec.subnet6 && !(subnet6 && network.subnet6 && *subnet6 == *network.subnet6)) {
      field = "subnet6";
    } else if (spec.domain && *spec.domain != network.domain) {
      field = "domain";
    } else if (spec.isolation) {
      field = "isolation";
    } else if (spec.dhcp != proto::DhcpSettings{}) {
      field = "dhcp";
    } else if (spec.mtu && *spec.mtu != network.mtu) {
      field = "mtu";
    } else if (spec.uplink) {
      field = "uplink";
    }
    if (!field.empty()) return done(Error{EEXIST, field});
    network.spec = spec;
    network.origin = origin;
    spdlog::info("network {}: made by a start, now declared ({})", name, proto::to_string(origin));
  }
  if (!network.ready) {
    network.creators.push_back(std::move(answer));
    return;
  }
  answer(Result<void>());
}

void NetworkManager::delete_network(const std::string& name, std::function<void(Result<void>)> done) {
  const auto it = m_networks.find(name);
  if (it == m_networks.end()) return done(Error{ENOENT, "no network named '" + name + "'"});
  if (!it->second->leases.empty() || !it->second->waiting.empty()) {
    return done(Error{EBUSY, "network '" + name + "' is in use"});
  }
  auto owned = std::move(it->second);
  m_networks.erase(it);
  auto creators = std::move(owned->creators);
  owned->creators.clear();
  teardown(std::move(owned));
  for (auto& created : creators) created(Error{ECANCELED, "network " + name + " was deleted while being created"});
  done(Result<void>());
}

std::vector<proto::NetworkDescription> NetworkManager::list_networks() const {
  std::map<std::string, platform::LinkStats> stats;
  if (auto netlink = platform::Netlink::open()) {
    if (auto links = netlink->list_links()) {
      for (const auto& link : links.value()) stats[link.name] = link.stats;
    }
  }
  std::vector<proto::NetworkDescription> out;
  for (const auto& [name, network] : m_networks) {
    proto::NetworkDescription description;
    description.network = network->info();
    description.mode = network->mode;
    description.origin = network->origin;
    description.state = network->ready ? "ready" : "creating";
    description.mtu = network->mtu;
    description.isolation = network->isolation;
    if (const auto bridge = stats.find(network->names.bridge); bridge != stats.end()) {
      description.counters = counters_of(bridge->second);
    }
    if (network->uplink && network->spec && network->spec->uplink && network->spec->uplink->vxlan) {
      proto::UplinkStatus uplink;
      uplink.device = network->uplink->device;
      uplink.vxlan = *network->spec->uplink->vxlan;
      uplink.underlay_mtu = network->uplink->underlay_mtu;
      if (const auto device = stats.find(network->names.vxlan); device != stats.end()) {
        uplink.counters = counters_of(device->second);
      }
      description.uplink = std::move(uplink);
    }
    for (const auto& [attachment, lease] : network->leases.leases()) description.attachments.push_back(attachment);
    description.attachment_count = network->leases.size();
    out.push_back(std::move(description));
  }
  return out;
}

std::vector<proto::NetworkStatus> NetworkManager::describe() const {
  std::vector<proto::NetworkStatus> out;
  for (const auto& [name, network] : m_networks) {
    out.push_back(
        {network->info(), network->mode, network->leases.size(), network->dnsmasq ? network->dnsmasq->pid() : 0});
    for (auto& finding : m_firewall.findings(name)) {
      out.back().host_firewall.push_back({std::move(finding.chain), std::move(finding.verdict),
                                          std::move(finding.rules_chain), std::move(finding.action)});
    }
  }
  return out;
}

}  // namespace squib::service
