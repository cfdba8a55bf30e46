#include <squib/service/network_manager.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include <spdlog/spdlog.h>

#include <squib/backend/tap_backend.hpp>
#include <squib/core/fnv1a.hpp>
#include <squib/core/mac_address.hpp>
#include <squib/platform/linux/host_overlap.hpp>
#include <squib/platform/linux/netlink.hpp>
#include <squib/platform/linux/nft.hpp>

namespace squib::service {

using core::Error;
using core::Result;
using platform::Ipv4Subnet;
using platform::ipv4_to_string;
namespace fs = std::filesystem;

namespace {

// dnsmasq lease time: long enough that a guest never renews during a test or a short
// daemon outage, short enough that a stale lease of a deleted VM expires within a day.
constexpr const char* k_lease_time = "12h";
// How long cleanup_stale() waits for a stale dnsmasq to exit after SIGTERM before SIGKILL.
constexpr int k_stale_kill_polls = 20;  // × 50 ms
// Later networks without a subnet take the next free /24 above the default, this many tries.
constexpr int k_subnet_tries = 64;

std::string dnsmasq_program() {
  auto resolved = uv::resolve_program("dnsmasq");
  if (resolved) return resolved.value();
  return "/usr/sbin/dnsmasq";  // Debian's location; systemd's PATH may lack /usr/sbin
}

// Writes TEXT to PATH through TEMP and rename(2), so a reader (dnsmasq's inotify) never sees
// a partial file. TEMP must be on PATH's file system, outside any directory dnsmasq watches.
bool write_file(const std::string& path, const std::string& temp, const std::string& text, mode_t mode) {
  {
    std::ofstream out(temp, std::ios::trunc);
    if (!out) return false;
    out << text;
    if (!out.flush()) return false;
  }
  ::chmod(temp.c_str(), mode);
  return ::rename(temp.c_str(), path.c_str()) == 0;
}

// Is PID a dnsmasq started with our pid file? (Checked before killing anything.)
bool is_our_dnsmasq(pid_t pid, const std::string& pid_path) {
  std::ifstream comm("/proc/" + std::to_string(pid) + "/comm");
  std::string name;
  if (!std::getline(comm, name) || name != "dnsmasq") return false;
  std::ifstream cmdline("/proc/" + std::to_string(pid) + "/cmdline", std::ios::binary);
  const std::string args((std::istreambuf_iterator<char>(cmdline)), std::istreambuf_iterator<char>());
  return args.find("--pid-file=" + pid_path) != std::string::npos;
}

}  // namespace

std::string network_hash(std::string_view scope, std::string_view network_name) {
  char out[16];
  std::snprintf(out, sizeof out, "%010llx", static_cast<unsigned long long>(core::fnv1a64_scoped(scope, network_name) & 0xffffffffffULL));
  return out;
}

std::vector<std::string> dnsmasq_arguments(const DnsmasqPlan& plan) {
  const Ipv4Subnet& subnet = plan.subnet;
  // dnsmasq(8): stay in the foreground (we supervise it), read no config file, bind only the
  // bridge (SO_BINDTODEVICE for DHCP, so several instances coexist, as libvirt runs them),
  // log to stderr (the supervisor logs it).
  std::vector<std::string> args = {
      "--keep-in-foreground",
      "--conf-file=/dev/null",
      "--no-hosts",
      "--bind-interfaces",
      "--interface=" + plan.bridge,
      "--except-interface=lo",
      "--dhcp-authoritative",
      "--dhcp-range=" + ipv4_to_string(subnet.dhcp_first()) + "," + ipv4_to_string(subnet.dhcp_last()) + "," +
          ipv4_to_string(subnet.mask()) + "," + k_lease_time,
      "--dhcp-option=option:router," + ipv4_to_string(subnet.gateway()),
      "--dhcp-hostsdir=" + plan.hosts_path,
      "--dhcp-leasefile=" + plan.lease_path,
      "--pid-file=" + plan.pid_path,
      "--log-facility=-",
  };
  if (plan.dns) {
    args.push_back("--dhcp-option=option:dns-server," + ipv4_to_string(subnet.gateway()));
  } else {
    args.push_back("--port=0");  // no DNS at all in host mode (and none advertised)
  }
  return args;
}

struct NetworkManager::Network {
  std::string name;
  proto::Mode mode = proto::Mode::host;
  Ipv4Subnet subnet;
  std::string bridge;
  std::string table;
  std::string hosts_path;  // directory (--dhcp-hostsdir)
  std::string lease_path;
  std::string pid_path;
  struct Host {
    std::string mac;
    std::uint32_t address = 0;
  };
  std::map<std::string, Host> hosts;  // by attachment name
  std::unique_ptr<uv::ChildSupervisor> dnsmasq;
  // Being created: attachments that asked meanwhile wait here for the outcome.
  bool ready = false;
  std::vector<std::pair<proto::StartParams, LeaseCallback>> waiting;
  bool forwarding = false;  // counted in NetworkManager::m_shared_networks

  [[nodiscard]] proto::NetworkInfo info() const {
    proto::NetworkInfo out;
    out.name = name;
    out.subnet = subnet.to_string();
    out.gateway = ipv4_to_string(subnet.gateway());
    out.dhcp_range = ipv4_to_string(subnet.dhcp_first()) + "-" + ipv4_to_string(subnet.dhcp_last());
    if (mode == proto::Mode::shared) out.dns = ipv4_to_string(subnet.gateway());
    out.bridge = bridge;
    return out;
  }
};

NetworkManager::NetworkManager(uv_loop_t* loop, const DaemonConfig& config)
    : m_loop(loop), m_config(config), m_retiring(loop) {}

NetworkManager::~NetworkManager() {
  // Last line of defence (shutdown() is the orderly path): remove kernel state now; the
  // supervisors' destructors SIGKILL and reap any dnsmasq still running. The loop no longer
  // serves anyone, so the synchronous nft is fine here; callbacks of nft children still in
  // flight see m_alive reset and do nothing.
  *m_alive = nullptr;
  auto networks = std::move(m_networks);
  for (auto& [name, network] : networks) {
    (void)platform::run_nft({"-f", "-"}, platform::delete_table_script(network->table));
    if (auto netlink = platform::Netlink::open()) (void)netlink->delete_link(network->bridge);
  }
}

void NetworkManager::cleanup_stale(const std::vector<proto::StartParams>& recorded) {
  // Only what this run dir's daemon made: the TAPs of its recorded attachments and the
  // bridges and tables of their networks (names are scoped by the run dir). Another daemon's
  // objects in the same network namespace are never touched.
  std::set<std::string> links;
  std::set<std::string> tables;
  for (const auto& params : recorded) {
    if (params.mode == proto::Mode::userspace) continue;
    links.insert(backend::tap_name(m_config.run_dir, params.name));
    if (params.mode == proto::Mode::bridged) continue;
    const std::string hash = network_hash(m_config.run_dir, params.network);
    links.insert("sqbr-" + hash);
    tables.insert(std::string(platform::k_table_prefix) + hash);
  }
  std::error_code ec;
  // 1. dnsmasq children of a dead daemon (pid files in our run dir).
  for (const auto& entry : fs::directory_iterator(m_config.run_dir, ec)) {
    const std::string file = entry.path().filename().string();
    if (!file.starts_with("net-") || !file.ends_with(".pid")) continue;
    const std::string pid_path = entry.path().string();
    std::ifstream in(pid_path);
    pid_t pid = 0;
    if ((in >> pid) && pid > 1 && is_our_dnsmasq(pid, pid_path)) {
      spdlog::warn("stale dnsmasq pid {} ({}): stopping it", pid, pid_path);
      // Its parent (the dead daemon) is gone; whoever inherited it may never reap it, so a
      // zombie counts as stopped.
      const auto running = [pid] {
        std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
        std::string line;
        if (!std::getline(stat, line)) return false;
        const auto paren = line.rfind(')');
        return paren != std::string::npos && paren + 2 < line.size() && line[paren + 2] != 'Z';
      };
      ::kill(pid, SIGTERM);
      for (int i = 0; i < k_stale_kill_polls && running(); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));  // start-up only, before the loop runs
      }
      if (running()) ::kill(pid, SIGKILL);
    }
  }
  for (const auto& entry : fs::directory_iterator(m_config.run_dir, ec)) {
    const std::string file = entry.path().filename().string();
    if (file.starts_with("net-")) fs::remove_all(entry.path(), ec);
  }
  // 2. TAPs and bridges.
  if (auto netlink = platform::Netlink::open()) {
    if (auto listed_links = netlink->list_links()) {
      for (const auto& link : listed_links.value()) {
        if (!links.contains(link.name)) continue;
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
  // 3. nft tables.
  auto listed = platform::run_nft({"list", "tables"});
  if (!listed) {
    spdlog::warn("cleanup: {}", listed.error().message);
    return;
  }
  for (const auto& table : platform::our_tables(listed.value())) {
    if (!tables.contains(table)) continue;  // another daemon's
    if (auto deleted = platform::run_nft({"-f", "-"}, platform::delete_table_script(table)); deleted) {
      spdlog::warn("removed stale nft table inet {}", table);
    } else {
      spdlog::error("cannot remove nft table {}: {}", table, deleted.error().message);
    }
  }
}

Result<Ipv4Subnet> NetworkManager::choose_subnet(const proto::StartParams& params) const {
  auto overlapping = [this](const Ipv4Subnet& subnet) -> const Network* {
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
  for (const auto& [name, network] : m_networks) our_bridges.push_back(network->bridge);
  const auto host_conflict = [&](const Ipv4Subnet& subnet) -> Result<std::optional<std::string>> {
    return platform::host_overlap(netlink.value(), subnet, our_bridges);
  };
  if (params.subnet) {
    auto parsed = Ipv4Subnet::parse(*params.subnet);
    if (!parsed) return Error{EINVAL, "subnet: must be an IPv4 CIDR with a prefix of /8 to /30 and no host bits set"};
    if (const Network* other = overlapping(*parsed)) {
      return Error{EINVAL, "subnet: " + parsed->to_string() + " overlaps network '" + other->name + "' (" +
                               other->subnet.to_string() + ")"};
    }
    auto conflict = host_conflict(*parsed);
    if (!conflict) return Error{conflict.error().code, "subnet: cannot read the host's addresses and routes: " +
                                                            conflict.error().message};
    if (conflict.value()) {
      return Error{EINVAL, "subnet: " + parsed->to_string() + " overlaps " + *conflict.value() +
                               "; choose a subnet the host does not use"};
    }
    return *parsed;
  }
  auto candidate = Ipv4Subnet::parse(k_default_subnet).value();
  for (int i = 0; i < k_subnet_tries; ++i, candidate.network += 256) {
    if (overlapping(candidate) != nullptr) continue;
    auto conflict = host_conflict(candidate);
    if (!conflict) return Error{conflict.error().code, "subnet: cannot read the host's addresses and routes: " +
                                                            conflict.error().message};
    if (!conflict.value()) return candidate;
    spdlog::info("network {}: skipping subnet {}: it overlaps {}", params.network, candidate.to_string(),
                 *conflict.value());
  }
  return Error{EINVAL, "subnet: no free default subnet (" + std::string(k_default_subnet) + " and the next " +
                           std::to_string(k_subnet_tries - 1) + " /24s are in use on this host); give one"};
}

void NetworkManager::create(const proto::StartParams& params, LeaseCallback done) {
  auto subnet = choose_subnet(params);
  if (!subnet) {
    done(subnet.error());
    return;
  }
  auto owned = std::make_unique<Network>();
  Network* network = owned.get();
  const std::string hash = network_hash(m_config.run_dir, params.network);
  network->name = params.network;
  network->mode = params.mode;
  network->subnet = subnet.value();
  network->bridge = "sqbr-" + hash;
  network->table = std::string(platform::k_table_prefix) + hash;
  const std::string base = m_config.run_dir + "/net-" + hash;
  network->hosts_path = base + ".hosts.d";
  network->lease_path = base + ".leases";
  network->pid_path = base + ".pid";
  network->waiting.emplace_back(params, std::move(done));
  m_networks.emplace(params.network, std::move(owned));

  // The bridge: rtnetlink round trips, answered by the kernel at once.
  auto netlink = platform::Netlink::open();
  if (!netlink) return fail(params.network, netlink.error());
  if (auto existing = netlink->find_link(network->bridge); existing && existing.value()) {
    (void)netlink->delete_link(network->bridge);  // left over: ours by name
  }
  if (auto made = netlink->create_bridge(network->bridge); !made) return fail(params.network, made.error());
  if (auto added = netlink->add_ipv4_address(network->bridge, htonl(network->subnet.gateway()), network->subnet.prefix);
      !added) {
    return fail(params.network, added.error());
  }
  platform::LinkChange up;
  up.up = true;
  if (auto set = netlink->set_link(network->bridge, up); !set) return fail(params.network, set.error());

  // The nft table: a child, collected on the loop; the rest continues in rules_applied.
  platform::NetworkRules rules{network->table, network->bridge, network->subnet, params.mode == proto::Mode::shared};
  run_nft(platform::network_ruleset(rules),
          [this, name = params.network, network](Result<std::string> applied) {
            rules_applied(name, network, std::move(applied));
          });
}

void NetworkManager::rules_applied(const std::string& name, const Network* expected, Result<std::string> applied) {
  const auto it = m_networks.find(name);
  if (it == m_networks.end() || it->second.get() != expected) return;  // torn down meanwhile
  Network& network = *it->second;
  if (!applied) return fail(name, applied.error());
  if (network.mode == proto::Mode::shared) {
    set_ip_forward(true);
    network.forwarding = true;
  }

  if (struct stat st {}; ::stat(m_config.run_dir.c_str(), &st) == 0 && (st.st_mode & S_IXOTH) == 0) {
    // dnsmasq reads the hosts directory after dropping root; VMMs need o+x to reach their
    // sockets too. The run dir is made 0755; an operator-made 0700 one breaks both.
    spdlog::warn("run dir {} is not searchable by others: dnsmasq cannot read its static leases", m_config.run_dir);
  }
  std::error_code ec;
  fs::remove_all(network.hosts_path, ec);
  if (::mkdir(network.hosts_path.c_str(), 0755) != 0) return fail(name, Error::from_errno("mkdir " + network.hosts_path));
  ::chmod(network.hosts_path.c_str(), 0755);  // dnsmasq reads it after dropping to its user

  DnsmasqPlan plan{network.bridge, network.subnet, network.mode == proto::Mode::shared, network.hosts_path,
                   network.lease_path, network.pid_path};
  const std::string program = dnsmasq_program();
  network.dnsmasq = std::make_unique<uv::ChildSupervisor>(
      m_loop, "net/" + name + "/dnsmasq", m_config.exec_shim,
      [program, plan]() -> Result<uv::ChildLaunch> {
        uv::ChildLaunch launch;
        launch.program = program;
        launch.args = dnsmasq_arguments(plan);
        return launch;
      },
      [] {}, [name](std::int64_t status, int signal) {
        // The supervisor already warned and restarts it unless we are stopping it.
        spdlog::debug("network {}: dnsmasq exited (status {}, signal {})", name, status, signal);
      });
  if (auto started = network.dnsmasq->start(); !started) return fail(name, started.error());
  spdlog::info("network {}: {} mode, bridge {}, subnet {}, gateway {}, nft table inet {}, dnsmasq pid {}", network.name,
               proto::to_string(network.mode), network.bridge, network.subnet.to_string(),
               ipv4_to_string(network.subnet.gateway()), network.table, network.dnsmasq->pid());
  network.ready = true;
  auto waiting = std::move(network.waiting);
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

void NetworkManager::lease_to(Network& network, const proto::StartParams& params, LeaseCallback done) {
  auto lease = allocate(network, params);
  if (!lease && network.hosts.empty() && network.waiting.empty()) {
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
  teardown(std::move(network));  // whatever was made so far
  for (auto& [params, done] : waiting) done(Error{error.code, "network " + name + ": " + error.message});
}

void NetworkManager::acquire(const proto::StartParams& params, LeaseCallback done) {
  auto it = m_networks.find(params.network);
  if (it == m_networks.end()) return create(params, std::move(done));
  Network& network = *it->second;
  if (network.mode != params.mode) {
    return done(Error{EINVAL, std::string("mode: network '") + params.network + "' is a " +
                                  proto::to_string(network.mode) + " network; name another with `network` (" +
                                  "squib-netctl --network NAME) for a " + proto::to_string(params.mode) + " one"});
  }
  if (params.subnet) {
    const auto parsed = Ipv4Subnet::parse(*params.subnet);
    if (!parsed || !(*parsed == network.subnet)) {
      return done(Error{EINVAL, "subnet: network '" + params.network + "' already uses " + network.subnet.to_string()});
    }
  }
  if (!network.ready) {
    network.waiting.emplace_back(params, std::move(done));
    return;
  }
  lease_to(network, params, std::move(done));
}

Result<NetworkLease> NetworkManager::allocate(Network& network, const proto::StartParams& params) {
  const std::string mac = params.mac.value_or(core::MacAddress::derive_from_name(params.name).to_string());
  const auto used_by = [&](std::uint32_t candidate) -> const std::string* {
    for (const auto& [other, host] : network.hosts) {
      if (host.address == candidate && other != params.name) return &other;
    }
    return nullptr;
  };
  std::uint32_t address = 0;
  if (params.address) {
    // Asked for (or recorded at the first start and restored): exactly this one, or an error.
    in_addr parsed{};
    if (::inet_pton(AF_INET, params.address->c_str(), &parsed) != 1) {
      return Error{EINVAL, "address: must be a literal IPv4 address"};
    }
    address = ntohl(parsed.s_addr);
    const Ipv4Subnet& subnet = network.subnet;
    if (!subnet.contains(address) || address == subnet.network || address == subnet.broadcast()) {
      return Error{EINVAL, "address: " + *params.address + " is not a host address of network '" + network.name +
                               "' (" + subnet.to_string() + ")"};
    }
    if (address == subnet.gateway()) {
      return Error{EINVAL, "address: " + *params.address + " is the gateway of network '" + network.name + "'"};
    }
    if (const std::string* other = used_by(address)) {
      return Error{EINVAL, "address: " + *params.address + " is already used by attachment '" + *other + "'"};
    }
  } else {
    // Derived: FNV-1a of the MAC into the DHCP range, probing past addresses in use.
    const std::uint32_t first = network.subnet.dhcp_first();
    const std::uint32_t size = network.subnet.dhcp_last() - first + 1;
    for (std::uint32_t probe = 0; probe < size && address == 0; ++probe) {
      const std::uint32_t candidate = first + static_cast<std::uint32_t>((core::fnv1a64(mac) + probe) % size);
      if (used_by(candidate) == nullptr) address = candidate;
    }
    if (address == 0) return Error{ENOSPC, "network " + params.network + " has no free address"};
  }
  network.hosts[params.name] = Network::Host{mac, address};
  // One file per attachment in --dhcp-hostsdir: dnsmasq picks it up by inotify, no signal.
  if (!write_file(network.hosts_path + "/" + params.name, network.hosts_path + ".tmp",
                  mac + "," + ipv4_to_string(address) + "\n", 0644)) {
    spdlog::error("network {}: cannot write static lease for {}", params.network, params.name);
  }
  NetworkLease lease;
  lease.bridge = network.bridge;
  lease.address = address;
  lease.network = network.info();
  lease.network.address = ipv4_to_string(address);
  return lease;
}

void NetworkManager::set_ip_forward(bool shared_network_added) {
  constexpr const char* k_path = "/proc/sys/net/ipv4/ip_forward";
  if (shared_network_added) {
    if (m_shared_networks++ > 0) return;
    std::ifstream in(k_path);
    std::string before;
    std::getline(in, before);
    if (before == "1") return;  // already on: not ours to turn off later
    std::ofstream out(k_path);
    if (!(out << "1\n") || !out.flush()) {
      spdlog::error("cannot enable net.ipv4.ip_forward: shared networks will not reach the uplink");
      return;
    }
    m_ip_forward_before = before;
    spdlog::info("net.ipv4.ip_forward: {} -> 1 (restored when the last shared network goes)", before);
    return;
  }
  if (m_shared_networks == 0 || --m_shared_networks > 0 || !m_ip_forward_before) return;
  std::ofstream out(k_path);
  if (out << *m_ip_forward_before << "\n" && out.flush()) {
    spdlog::info("net.ipv4.ip_forward: restored to {}", *m_ip_forward_before);
  } else {
    spdlog::error("cannot restore net.ipv4.ip_forward to {}", *m_ip_forward_before);
  }
  m_ip_forward_before.reset();
}

void NetworkManager::run_nft(std::string script, std::function<void(Result<std::string>)> done) {
  m_nft_jobs.push_back(NftJob{std::move(script), std::move(done)});
  next_nft_job();
}

void NetworkManager::next_nft_job() {
  if (m_nft_running || m_nft_jobs.empty()) return;
  m_nft_running = true;
  NftJob job = std::move(m_nft_jobs.front());
  m_nft_jobs.pop_front();
  platform::run_nft_async(m_loop, {"-f", "-"}, std::move(job.script),
                          [alive = std::weak_ptr<NetworkManager*>(m_alive), done = std::move(job.done)](
                              Result<std::string> result) {
                            const auto self = alive.lock();
                            if (!self || *self == nullptr) return;
                            NetworkManager* manager = *self;
                            manager->m_nft_running = false;
                            done(std::move(result));
                            manager->next_nft_job();
                            manager->maybe_shutdown_done();
                          });
}

void NetworkManager::release(const proto::StartParams& params) {
  auto it = m_networks.find(params.network);
  if (it == m_networks.end()) return;
  Network& network = *it->second;
  network.hosts.erase(params.name);
  std::error_code ec;
  fs::remove(network.hosts_path + "/" + params.name, ec);
  if (!network.hosts.empty()) {
    // dnsmasq forgets a removed hostsdir entry only on SIGHUP (dnsmasq(8) --dhcp-hostsdir).
    if (network.dnsmasq && network.dnsmasq->pid() > 0) ::kill(network.dnsmasq->pid(), SIGHUP);
    return;
  }
  auto owned = std::move(it->second);
  m_networks.erase(it);
  teardown(std::move(owned));
}

void NetworkManager::teardown(std::unique_ptr<Network> network) {
  // Queued after the table's create, if that is still running: never overtakes it.
  run_nft(platform::delete_table_script(network->table), [name = network->name](Result<std::string> deleted) {
    if (!deleted) spdlog::error("network {}: {}", name, deleted.error().message);
  });
  if (auto netlink = platform::Netlink::open()) {
    if (auto deleted = netlink->delete_link(network->bridge); !deleted && deleted.error().code != ENODEV) {
      spdlog::error("network {}: {}", network->name, deleted.error().message);
    }
  }
  if (network->forwarding) set_ip_forward(false);
  spdlog::info("network {}: removed bridge {} and nft table inet {}", network->name, network->bridge, network->table);
  if (!network->dnsmasq) return;
  std::vector<std::string> files = {network->hosts_path, network->lease_path, network->pid_path};
  m_retiring.retire(
      std::move(network->dnsmasq),
      [](uv::ChildSupervisor& dnsmasq, std::function<void()> stopped) { dnsmasq.stop(std::move(stopped)); },
      [this, files = std::move(files)] {
        std::error_code ec;
        for (const auto& file : files) fs::remove_all(file, ec);
        maybe_shutdown_done();
      });
}

void NetworkManager::maybe_shutdown_done() {
  if (m_shutdown_done && m_retiring.idle() && !m_nft_running && m_nft_jobs.empty()) {
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
    teardown(std::move(network));
    for (auto& [params, callback] : waiting) callback(Error{ECANCELED, "the daemon is shutting down"});
  }
  maybe_shutdown_done();
}

nlohmann::json NetworkManager::describe() const {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& [name, network] : m_networks) {
    auto entry = proto::to_json(network->info());
    entry["mode"] = proto::to_string(network->mode);
    entry["attachments"] = network->hosts.size();
    entry["dnsmasq_pid"] = network->dnsmasq ? network->dnsmasq->pid() : 0;
    out.push_back(std::move(entry));
  }
  return out;
}

}  // namespace squib::service
