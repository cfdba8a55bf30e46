#include <squib/platform/linux/dnsmasq.hpp>

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include <spdlog/spdlog.h>

namespace squib::platform {

namespace fs = std::filesystem;

namespace {

// dnsmasq lease time: long enough that a guest never renews during a test or a short
// daemon outage, short enough that a stale lease of a deleted VM expires within a day.
constexpr const char* k_lease_time = "12h";
// How long stop_stale() waits for a stale dnsmasq to exit after SIGTERM before SIGKILL.
constexpr int k_stale_kill_polls = 20;  // × k_stale_poll
constexpr std::chrono::milliseconds k_stale_poll{50};

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

std::vector<std::string> dnsmasq_arguments(const DnsmasqPlan& plan) {
  const core::Ipv4Subnet& subnet = plan.subnet;
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
      "--dhcp-option=option:router," + core::ipv4_to_string(subnet.gateway()),
      "--dhcp-hostsdir=" + plan.hosts_path,
      "--dhcp-leasefile=" + plan.lease_path,
      "--pid-file=" + plan.pid_path,
      "--log-facility=-",
  };
  if (plan.dhcp) {
    const std::uint32_t first = plan.dhcp_first != 0 ? plan.dhcp_first : subnet.dhcp_first();
    const std::uint32_t last = plan.dhcp_last != 0 ? plan.dhcp_last : subnet.dhcp_last();
    args.push_back("--dhcp-range=" + core::ipv4_to_string(first) + "," + core::ipv4_to_string(last) + "," +
                   core::ipv4_to_string(subnet.mask()) + "," + k_lease_time);
  }
  // RFC 2132 §5.1 (option 26, interface MTU): only when the network's differs from Ethernet's,
  // and forced (sent whether asked or not): clients such as busybox udhcpc do not ask for it,
  // and a guest sending 1500-byte frames into a 1450-byte VXLAN network loses them silently.
  if (plan.mtu != 1500) args.push_back("--dhcp-option-force=option:mtu," + std::to_string(plan.mtu));
  if (plan.subnet6) {
    // dnsmasq(8) --dhcp-range, ra-stateless: RAs with the A (autonomous: SLAAC) and O (other
    // configuration: ask DHCPv6 for options) bits, and a stateless DHCPv6 service.
    const std::string prefix = core::ipv6_to_string(plan.subnet6->network);
    args.push_back("--enable-ra");
    args.push_back("--dhcp-range=" + prefix + ",ra-stateless,64," + k_lease_time);
    // --ra-param=<interface>,<interval>,<router lifetime>: interval 0 = the default; a router
    // lifetime of 0 advertises the prefix but no route via the gateway.
    if (!plan.default_router6) args.push_back("--ra-param=" + plan.bridge + ",0,0");
  }
  // DNS on the gateway in both modes: the names of the network's attachments, from the names
  // directory, authoritative for the domain (--local: never forwarded). The domain also goes
  // to DHCP clients (option 15) with the gateway as their DNS server.
  args.push_back("--hostsdir=" + plan.names_path);
  args.push_back("--domain=" + plan.domain);
  args.push_back("--local=/" + plan.domain + "/");
  args.push_back("--dhcp-option=option:dns-server," + core::ipv4_to_string(subnet.gateway()));
  if (plan.upstream_dns) {
    // dnsmasq(8): plain names (no dot) and reverse lookups of private ranges stay here rather
    // than leaking to the host's resolvers; the rest follows /etc/resolv.conf as it changes.
    args.push_back("--domain-needed");
    args.push_back("--bogus-priv");
    args.push_back("--resolv-file=/etc/resolv.conf");
  } else {
    args.push_back("--no-resolv");  // host mode: no upstream at all, our names only
  }
  return args;
}

Dnsmasq::Dnsmasq(uv_loop_t* loop, const std::string& network_name, const std::string& exec_shim, DnsmasqPlan plan)
    : m_network(network_name),
      m_plan(std::move(plan)),
      m_child(
          loop, "net/" + network_name + "/dnsmasq", exec_shim,
          [program = dnsmasq_program(), launch_plan = m_plan]() -> core::Result<uv::ChildLaunch> {
            uv::ChildLaunch launch;
            launch.program = program;
            launch.args = dnsmasq_arguments(launch_plan);
            return launch;
          },
          [] {},
          [network_name](std::int64_t status, int signal) {
            // The supervisor already warned and restarts it unless we are stopping it.
            spdlog::debug("network {}: dnsmasq exited (status {}, signal {})", network_name, status, signal);
          }) {}

core::Result<void> Dnsmasq::start() {
  const std::string run_dir = fs::path(m_plan.hosts_path).parent_path().string();
  if (struct stat st{}; ::stat(run_dir.c_str(), &st) == 0 && (st.st_mode & S_IXOTH) == 0) {
    // dnsmasq reads the hosts directory after dropping root; VMMs need o+x to reach their
    // sockets too. The run dir is made 0755; an operator-made 0700 one breaks both.
    spdlog::warn("run dir {} is not searchable by others: dnsmasq cannot read its static leases", run_dir);
  }
  std::error_code ec;
  fs::remove_all(m_plan.hosts_path, ec);
  if (::mkdir(m_plan.hosts_path.c_str(), 0755) != 0) return core::Error::from_errno("mkdir " + m_plan.hosts_path);
  ::chmod(m_plan.hosts_path.c_str(), 0755);  // dnsmasq reads it after dropping to its user
  fs::remove_all(m_plan.names_path, ec);
  if (::mkdir(m_plan.names_path.c_str(), 0755) != 0) return core::Error::from_errno("mkdir " + m_plan.names_path);
  ::chmod(m_plan.names_path.c_str(), 0755);
  return m_child.start();
}

void Dnsmasq::add_host(const std::string& name, const std::string& mac, std::uint32_t address) {
  // One file per attachment in --dhcp-hostsdir: dnsmasq picks it up by inotify, no signal.
  if (!write_file(m_plan.hosts_path + "/" + name, m_plan.hosts_path + ".tmp",
                  mac + "," + core::ipv4_to_string(address) + "\n", 0644)) {
    spdlog::error("network {}: cannot write static lease for {}", m_network, name);
  }
}

void Dnsmasq::remove_host(const std::string& name) {
  std::error_code ec;
  fs::remove(m_plan.hosts_path + "/" + name, ec);
}

void Dnsmasq::add_name(const std::string& name, std::uint32_t address, const std::string& address6) {
  // hosts(5) format, fully qualified: dnsmasq answers A/AAAA and the matching PTR.
  const std::string fqdn = name + "." + m_plan.domain;
  std::string text = core::ipv4_to_string(address) + " " + fqdn + "\n";
  if (!address6.empty()) text += address6 + " " + fqdn + "\n";
  if (!write_file(m_plan.names_path + "/" + name, m_plan.names_path + ".tmp", text, 0644)) {
    spdlog::error("network {}: cannot write the DNS name of {}", m_network, name);
  }
}

void Dnsmasq::remove_name(const std::string& name) {
  std::error_code ec;
  fs::remove(m_plan.names_path + "/" + name, ec);
}

void Dnsmasq::reload() {
  if (pid() > 0) ::kill(pid(), SIGHUP);
}

std::vector<std::string> Dnsmasq::files() const {
  return {m_plan.hosts_path, m_plan.lease_path, m_plan.pid_path, m_plan.names_path};
}

void Dnsmasq::stop_stale(const std::string& pid_path) {
  std::ifstream in(pid_path);
  pid_t pid = 0;
  if (!(in >> pid) || pid <= 1 || !is_our_dnsmasq(pid, pid_path)) return;
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
    std::this_thread::sleep_for(k_stale_poll);  // start-up only, before the loop runs
  }
  if (running()) ::kill(pid, SIGKILL);
}

}  // namespace squib::platform
