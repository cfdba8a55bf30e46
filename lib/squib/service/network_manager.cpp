#include <squib/service/network_manager.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include <spdlog/spdlog.h>

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

std::uint64_t fnv1a(std::string_view text) {
  // FNV-1a 64 (http://www.isthe.com/chongo/tech/comp/fnv/), as MacAddress::derive_from_name.
  std::uint64_t hash = 0xcbf29ce484222325ULL;
  for (const char c : text) {
    hash ^= static_cast<std::uint8_t>(c);
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

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

std::string network_hash(std::string_view network_name) {
  char out[16];
  std::snprintf(out, sizeof out, "%010llx", static_cast<unsigned long long>(fnv1a(network_name) & 0xffffffffffULL));
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

  [[nodiscard]] nlohmann::json description() const {
    return {{"name", name},
            {"subnet", subnet.to_string()},
            {"gateway", ipv4_to_string(subnet.gateway())},
            {"dhcp_range", ipv4_to_string(subnet.dhcp_first()) + "-" + ipv4_to_string(subnet.dhcp_last())},
            {"dns", mode == proto::Mode::shared ? nlohmann::json(ipv4_to_string(subnet.gateway())) : nlohmann::json()},
            {"bridge", bridge}};
  }
};

NetworkManager::NetworkManager(uv_loop_t* loop, const DaemonConfig& config) : m_loop(loop), m_config(config) {
  uv_timer_init(m_loop, m_sweep.get());
  m_sweep->data = this;
}

NetworkManager::~NetworkManager() {
  // Last line of defence (shutdown() is the orderly path): remove kernel state now; the
  // supervisors' destructors SIGKILL and reap any dnsmasq still running.
  auto networks = std::move(m_networks);
  for (auto& [name, network] : networks) {
    (void)platform::run_nft({"-f", "-"}, platform::delete_table_script(network->table));
    if (auto netlink = platform::Netlink::open()) (void)netlink->delete_link(network->bridge);
  }
}

void NetworkManager::cleanup_stale() {
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
    if (auto links = netlink->list_links()) {
      for (const auto& link : links.value()) {
        if (!link.name.starts_with("sq-") && !link.name.starts_with("sqbr-")) continue;
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

Result<std::unique_ptr<NetworkManager::Network>> NetworkManager::create(const proto::StartParams& params) {
  auto subnet = choose_subnet(params);
  if (!subnet) return subnet.error();
  auto network = std::make_unique<Network>();
  const std::string hash = network_hash(params.network);
  network->name = params.network;
  network->mode = params.mode;
  network->subnet = subnet.value();
  network->bridge = "sqbr-" + hash;
  network->table = std::string(platform::k_table_prefix) + hash;
  const std::string base = m_config.run_dir + "/net-" + hash;
  network->hosts_path = base + ".hosts.d";
  network->lease_path = base + ".leases";
  network->pid_path = base + ".pid";

  auto netlink = platform::Netlink::open();
  if (!netlink) return netlink.error();
  auto undo = [&] {
    (void)platform::run_nft({"-f", "-"}, platform::delete_table_script(network->table));
    (void)netlink->delete_link(network->bridge);
  };
  auto fail = [&](const Error& error) -> Result<std::unique_ptr<Network>> {
    undo();
    return Error{error.code, "network " + params.network + ": " + error.message};
  };
  if (auto existing = netlink->find_link(network->bridge); existing && existing.value()) {
    (void)netlink->delete_link(network->bridge);  // left over: ours by name
  }
  if (auto made = netlink->create_bridge(network->bridge); !made) return fail(made.error());
  if (auto added = netlink->add_ipv4_address(network->bridge, htonl(network->subnet.gateway()), network->subnet.prefix);
      !added) {
    return fail(added.error());
  }
  platform::LinkChange up;
  up.up = true;
  if (auto set = netlink->set_link(network->bridge, up); !set) return fail(set.error());

  platform::NetworkRules rules{network->table, network->bridge, network->subnet, params.mode == proto::Mode::shared};
  if (auto applied = platform::run_nft({"-f", "-"}, platform::network_ruleset(rules)); !applied) {
    return fail(applied.error());
  }
  if (params.mode == proto::Mode::shared) {
    std::ofstream forward("/proc/sys/net/ipv4/ip_forward");
    if (!(forward << "1\n") || !forward.flush()) return fail(Error{EIO, "cannot enable net.ipv4.ip_forward"});
  }

  std::error_code ec;
  if (struct stat st {}; ::stat(m_config.run_dir.c_str(), &st) == 0 && (st.st_mode & S_IXOTH) == 0) {
    // dnsmasq reads the hosts directory after dropping root; VMMs need o+x to reach their
    // sockets too. The run dir is made 0755; an operator-made 0700 one breaks both.
    spdlog::warn("run dir {} is not searchable by others: dnsmasq cannot read its static leases", m_config.run_dir);
  }
  fs::remove_all(network->hosts_path, ec);
  if (::mkdir(network->hosts_path.c_str(), 0755) != 0) return fail(Error::from_errno("mkdir " + network->hosts_path));
  ::chmod(network->hosts_path.c_str(), 0755);  // dnsmasq reads it after dropping to its user

  DnsmasqPlan plan{network->bridge, network->subnet, params.mode == proto::Mode::shared, network->hosts_path,
                   network->lease_path, network->pid_path};
  const std::string program = dnsmasq_program();
  network->dnsmasq = std::make_unique<uv::ChildSupervisor>(
      m_loop, "net/" + params.network + "/dnsmasq", m_config.exec_shim,
      [program, plan]() -> Result<uv::ChildLaunch> {
        uv::ChildLaunch launch;
        launch.program = program;
        launch.args = dnsmasq_arguments(plan);
        return launch;
      },
      [] {}, [name = params.network](std::int64_t status, int signal) {
        // The supervisor already warned and restarts it unless we are stopping it.
        spdlog::debug("network {}: dnsmasq exited (status {}, signal {})", name, status, signal);
      });
  if (auto started = network->dnsmasq->start(); !started) return fail(started.error());
  spdlog::info("network {}: {} mode, bridge {}, subnet {}, gateway {}, nft table inet {}, dnsmasq pid {}",
               network->name, proto::to_string(network->mode), network->bridge, network->subnet.to_string(),
               ipv4_to_string(network->subnet.gateway()), network->table, network->dnsmasq->pid());
  return network;
}

Result<NetworkLease> NetworkManager::acquire(const proto::StartParams& params) {
  auto it = m_networks.find(params.network);
  if (it != m_networks.end()) {
    const Network& network = *it->second;
    if (network.mode != params.mode) {
      return Error{EINVAL, std::string("mode: network '") + params.network + "' is a " + proto::to_string(network.mode) +
                               " network"};
    }
    if (params.subnet) {
      const auto parsed = Ipv4Subnet::parse(*params.subnet);
      if (!parsed || !(*parsed == network.subnet)) {
        return Error{EINVAL, "subnet: network '" + params.network + "' already uses " + network.subnet.to_string()};
      }
    }
  } else {
    auto created = create(params);
    if (!created) return created.error();
    it = m_networks.emplace(params.network, std::move(created.value())).first;
  }
  Network& network = *it->second;

  // Static address: FNV-1a of the MAC into the DHCP range, probing past addresses in use.
  const std::string mac = params.mac.value_or(core::MacAddress::derive_from_name(params.name).to_string());
  const std::uint32_t first = network.subnet.dhcp_first();
  const std::uint32_t size = network.subnet.dhcp_last() - first + 1;
  std::uint32_t address = 0;
  for (std::uint32_t probe = 0; probe < size && address == 0; ++probe) {
    const std::uint32_t candidate = first + static_cast<std::uint32_t>((fnv1a(mac) + probe) % size);
    bool used = false;
    for (const auto& [other, host] : network.hosts) used = used || (host.address == candidate && other != params.name);
    if (!used) address = candidate;
  }
  if (address == 0) {
    if (network.hosts.empty()) release(params);
    return Error{ENOSPC, "network " + params.network + " has no free address"};
  }
  network.hosts[params.name] = Network::Host{mac, address};
  // One file per attachment in --dhcp-hostsdir: dnsmasq picks it up by inotify, no signal.
  if (!write_file(network.hosts_path + "/" + params.name, network.hosts_path + ".tmp",
                  mac + "," + ipv4_to_string(address) + "\n", 0644)) {
    spdlog::error("network {}: cannot write static lease for {}", params.network, params.name);
  }
  NetworkLease lease;
  lease.bridge = network.bridge;
  lease.address = ipv4_to_string(address);
  lease.network = network.description();
  return lease;
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
  if (auto deleted = platform::run_nft({"-f", "-"}, platform::delete_table_script(network->table)); !deleted) {
    spdlog::error("network {}: {}", network->name, deleted.error().message);
  }
  if (auto netlink = platform::Netlink::open()) {
    if (auto deleted = netlink->delete_link(network->bridge); !deleted) {
      spdlog::error("network {}: {}", network->name, deleted.error().message);
    }
  }
  spdlog::info("network {}: removed bridge {} and nft table inet {}", network->name, network->bridge, network->table);
  if (!network->dnsmasq) return;
  uv::ChildSupervisor* raw = network->dnsmasq.get();
  m_stopping.push_back(std::move(network->dnsmasq));
  std::vector<std::string> files = {network->hosts_path, network->lease_path, network->pid_path};
  raw->stop([this, raw, files = std::move(files)] {
    std::error_code ec;
    for (const auto& file : files) fs::remove_all(file, ec);
    // The supervisor is still on the stack: free it on the next loop turn.
    for (auto it = m_stopping.begin(); it != m_stopping.end(); ++it) {
      if (it->get() == raw) {
        m_graveyard.push_back(std::move(*it));
        m_stopping.erase(it);
        break;
      }
    }
    uv_timer_start(
        m_sweep.get(),
        [](uv_timer_t* timer) {
          if (auto* self = uv::owner_of<NetworkManager>(timer)) self->sweep();
        },
        0, 0);
  });
}

void NetworkManager::sweep() {
  m_graveyard.clear();
  if (m_stopping.empty() && m_shutdown_done) std::exchange(m_shutdown_done, nullptr)();
}

void NetworkManager::shutdown(std::function<void()> done) {
  auto networks = std::move(m_networks);
  m_networks.clear();
  for (auto& [name, network] : networks) teardown(std::move(network));
  if (m_stopping.empty()) {
    done();
    return;
  }
  m_shutdown_done = std::move(done);
}

nlohmann::json NetworkManager::describe() const {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& [name, network] : m_networks) {
    auto entry = network->description();
    entry["mode"] = proto::to_string(network->mode);
    entry["attachments"] = network->hosts.size();
    entry["dnsmasq_pid"] = network->dnsmasq ? network->dnsmasq->pid() : 0;
    out.push_back(std::move(entry));
  }
  return out;
}

}  // namespace squib::service
