// squib-netctl: the admin CLI for squib-netd. Exit codes (design brief §4): 0 ok, 1 the
// daemon reported an error (printed), 2 usage, 3 the daemon cannot be reached.

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstring>

#include <cstdio>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "netctl_capture.hpp"

#include <squib/proto/capture_messages.hpp>
#include <squib/proto/client.hpp>
#include <squib/proto/messages.hpp>
#include <squib/proto/table.hpp>

#include "netctl_commands.hpp"
#include "netctl_common.hpp"
#include "netctl_network.hpp"

namespace {

using squib::netctl::call;
using squib::netctl::k_exit_daemon_error;
using squib::netctl::k_exit_ok;
using squib::netctl::k_exit_usage;
using squib::netctl::Options;
using squib::netctl::read_result;
using squib::proto::json;

pid_t g_command_pid = 0;  // forwarded SIGINT/SIGTERM go here

int exec_with_fd(int fd, std::vector<std::string> command);

// Runs `command` with the passed datagram socket open at its own number: '{fd}' in the
// arguments and $SQUIB_NET_FD name it (e.g. QEMU: -netdev dgram,id=n0,local.type=fd,local.str={fd}),
// waits for it, then stops the attachment: it lives exactly as long as the command (a
// passed fd cannot be handed to anyone else). Returns the command's exit status.
int run_with_fd(const Options& options, const std::string& name, int fd, std::vector<std::string> command) {
  if (fd < 0) {
    std::cerr << "squib-netctl: the daemon sent no file descriptor\n";
    return k_exit_daemon_error;
  }
  const pid_t child = ::fork();
  if (child < 0) {
    std::cerr << "squib-netctl: fork: " << std::strerror(errno) << "\n";
    return k_exit_daemon_error;
  }
  if (child == 0) ::_exit(exec_with_fd(fd, std::move(command)));
  ::close(fd);  // the command holds the only copy now
  g_command_pid = child;
  for (const int signum : {SIGINT, SIGTERM, SIGHUP}) {
    std::signal(signum, [](int sig) { ::kill(g_command_pid, sig); });
  }
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  json ignored;
  if (const int rc = call(options, "stop", squib::proto::to_json(squib::proto::NameParams{name}), ignored);
      rc != k_exit_ok) {
    std::cerr << "squib-netctl: could not stop " << name << " after its command ended\n";
  }
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

int exec_with_fd(int fd, std::vector<std::string> command) {
  const int flags = ::fcntl(fd, F_GETFD);
  ::fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC);
  const std::string number = std::to_string(fd);
  ::setenv("SQUIB_NET_FD", number.c_str(), 1);
  std::vector<char*> argv;
  for (auto& arg : command) {
    for (std::size_t at = arg.find("{fd}"); at != std::string::npos; at = arg.find("{fd}", at + number.size())) {
      arg.replace(at, 4, number);
    }
    argv.push_back(arg.data());
  }
  argv.push_back(nullptr);
  ::execvp(argv[0], argv.data());
  std::cerr << "squib-netctl: exec " << command[0] << ": " << std::strerror(errno) << "\n";
  return 127;
}

std::string human_bytes(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int unit = 0;
  while (bytes >= 1024 && unit < 4) {
    bytes /= 1024;
    ++unit;
  }
  char text[32];
  std::snprintf(text, sizeof text, unit == 0 ? "%.0f %s" : "%.1f %s", bytes, units[unit]);
  return text;
}

std::string or_dash(const std::optional<std::string>& value, const std::string& absent = "-") {
  return value ? *value : absent;
}

void print_list(const std::vector<squib::proto::AttachmentInfo>& list) {
  squib::proto::Table table({"NAME", "MODE", "STATE", "PEER", "MAC", "ADDRESS", "MTU", "SOCKET", "DETAIL"});
  for (const auto& entry : list) {
    table.add({entry.name, squib::proto::to_string(entry.mode), entry.state, entry.peer_connected ? "yes" : "no",
               entry.mac, or_dash(entry.address), std::to_string(entry.mtu),
               entry.tap ? "tap " + *entry.tap : or_dash(entry.socket, "(fd passed)"), or_dash(entry.detail, "")});
  }
  std::cout << table.render();
}

// Totals per attachment (`stats --watch` shows rates: daemon/netctl_watch.cpp).
void print_stats(const std::vector<squib::proto::AttachmentStats>& list) {
  squib::proto::Table table({"NAME", "STATE", "FROM-VM FRAMES", "FROM-VM BYTES", "TO-VM FRAMES", "TO-VM BYTES", "DROPS",
                             "BATCH", "RESTARTS", "UPTIME"});
  for (const auto& entry : list) {
    char batch[32];
    std::snprintf(batch, sizeof batch, "%.1f/%.1f", entry.from_vm.mean_batch, entry.to_vm.mean_batch);
    char uptime[32];
    std::snprintf(uptime, sizeof uptime, "%.0fs", entry.uptime_s);
    table.add({entry.attachment.name, entry.attachment.state, std::to_string(entry.from_vm.frames),
               human_bytes(static_cast<double>(entry.from_vm.bytes)), std::to_string(entry.to_vm.frames),
               human_bytes(static_cast<double>(entry.to_vm.bytes)), std::to_string(entry.dropped_total), batch,
               std::to_string(entry.child_restarts), uptime});
  }
  std::cout << table.render();
  // Drop reasons that are non-zero, one line per attachment, so a problem is visible.
  for (const auto& entry : list) {
    std::string reasons;
    for (const auto& [reason, count] : entry.drops) {
      if (count > 0) reasons += " " + reason + "=" + std::to_string(count);
    }
    if (!reasons.empty()) std::cout << "  " << entry.attachment.name << " drops:" << reasons << "\n";
  }
}

void print_status(const squib::proto::StatusResult& status) {
  std::cout << "squib-netd " << status.version << " (pid " << status.pid << ", " << status.platform << ")\n"
            << "uptime:      " << static_cast<std::uint64_t>(status.uptime_s) << " s\n"
            << "attachments: " << status.attachments << "\n"
            << "run dir:     " << status.run_dir << "\n";
  for (const auto& [name, path] : status.backends) {
    std::cout << "backend " << name << ": " << or_dash(path, "not available") << "\n";
  }
  if (status.networks.empty()) return;
  squib::proto::Table table({"NETWORK", "MODE", "BRIDGE", "SUBNET", "GATEWAY", "SUBNET6", "DOMAIN", "ATTACHMENTS"});
  for (const auto& entry : status.networks) {
    const auto& network = entry.network;
    table.add({network.name, squib::proto::to_string(entry.mode), or_dash(network.bridge), or_dash(network.subnet),
               or_dash(network.gateway), or_dash(network.subnet6), or_dash(network.domain),
               std::to_string(entry.attachments)});
  }
  std::cout << "\n" << table.render();
  // Other tables' forward chains that would drop a shared network's traffic (Docker, ufw,
  // firewalld), and what the daemon did: one line each, so a cut-off network is visible.
  for (const auto& entry : status.networks) {
    for (const auto& chain : entry.host_firewall) {
      std::cout << "  " << entry.network.name << ": host firewall chain " << chain.chain << " (" << chain.verdict
                << "): " << chain.action;
      if (chain.rules_chain) std::cout << ", our rules in " << *chain.rules_chain;
      std::cout << "\n";
    }
  }
}

// Prints a result: as received with --json (for scripts), else through `human`, which gets
// it decoded as T.
template <class T, class Human>
int print_result(const Options& options, const std::string& method, const json& result, Human human) {
  if (options.json_output) {
    std::cout << result.dump(2) << "\n";
    return k_exit_ok;
  }
  T decoded;
  if (const int rc = read_result(method, result, decoded); rc != k_exit_ok) return rc;
  human(decoded);
  return k_exit_ok;
}

// ---- One function per subcommand: params through proto's encoders, results through its
// decoders. ----

struct StartOptions {
  squib::proto::StartParams params;
  std::vector<std::string> forwards;  // PROTO:[IPV4:]HOSTPORT:GUESTPORT
  bool exec = false;
  std::vector<std::string> command;
};

int start_command(const Options& options, StartOptions start) {
  auto& params = start.params;
  for (const auto& spec : start.forwards) {
    // PROTO:HOST:GUEST where HOST may itself be ADDR:PORT; the protocol's parser checks it.
    const auto first = spec.find(':');
    const auto last = spec.rfind(':');
    try {
      if (first == std::string::npos || last == first) throw squib::proto::ParamError("forward", "missing parts");
      const std::string guest = spec.substr(last + 1);
      if (guest.empty() || guest.size() > 5 || guest.find_first_not_of("0123456789") != std::string::npos) {
        throw squib::proto::ParamError("guest_port", "must be a number");
      }
      params.forwards.push_back(squib::proto::parse_forward_text(spec.substr(0, first),
                                                                 spec.substr(first + 1, last - first - 1),
                                                                 static_cast<std::uint32_t>(std::stoul(guest))));
    } catch (const squib::proto::ParamError& e) {
      std::cerr << "squib-netctl: --forward " << spec << ": " << e.what()
                << " (expected PROTO:[IPV4:]HOSTPORT:GUESTPORT)\n";
      return k_exit_usage;
    }
  }
  // An fd comes with the reply (--fd-passing, or --handoff fd): only --exec can hold it.
  const bool passes_fd = params.fd_passing || params.handoff == squib::proto::Handoff::fd;
  if (passes_fd != start.exec || start.exec == start.command.empty()) {
    std::cerr << "squib-netctl: use --fd-passing (or --handoff fd) --exec -- COMMAND [ARGS…] together\n";
    return k_exit_usage;
  }
  // The daemon validates every value and names the field it refuses.
  json result;
  int passed_fd = -1;
  if (const int rc = call(options, "start", squib::proto::to_request_json(params), result, &passed_fd);
      rc != k_exit_ok) {
    return rc;
  }
  if (passes_fd) return run_with_fd(options, params.name, passed_fd, std::move(start.command));
  return print_result<squib::proto::StartResult>(options, "start", result, [](const auto& started) {
    // Handed off: the TAP's name, for the VMM (Firecracker host_dev_name, QEMU ifname=).
    std::cout << (started.tap ? *started.tap : started.socket.value_or("")) << "\n";
    const std::string guest_address = started.network.address.value_or("");
    std::cerr << "started " << started.name << " (" << squib::proto::to_string(started.mode) << ", mac " << started.mac
              << (guest_address.empty() ? "" : ", address " + guest_address) << ", mtu " << started.mtu << ")\n";
  });
}

int stop_command(const Options& options, const std::string& name) {
  json result;
  if (const int rc = call(options, "stop", squib::proto::to_json(squib::proto::NameParams{name}), result);
      rc != k_exit_ok) {
    return rc;
  }
  return print_result<squib::proto::NameResult>(
      options, "stop", result, [](const auto& stopped) { std::cout << "stopped " << stopped.name << "\n"; });
}

int restart_command(const Options& options, const std::string& name) {
  json result;
  if (const int rc = call(options, "restart", squib::proto::to_json(squib::proto::NameParams{name}), result);
      rc != k_exit_ok) {
    return rc;
  }
  return print_result<squib::proto::NameResult>(options, "restart", result, [](const auto& restarted) {
    std::cout << "restarting " << restarted.name << " (see squib-netctl list)\n";
  });
}

void print_forwards(const squib::proto::ForwardsResult& result) {
  for (const auto& f : result.forwards) {
    std::cout << f.protocol << " " << f.host_address << ":" << f.host_port << " -> guest port " << f.guest_port << "\n";
  }
}

// `forward` (guest_port given) or `unforward`. The forward is checked here as the daemon
// would, so a typing mistake is a usage error.
int forward_command(const Options& options, const std::string& name, const std::string& protocol,
                    const std::string& host, std::optional<std::uint32_t> guest_port) {
  squib::proto::PortForward forward;
  try {
    forward = squib::proto::parse_forward_text(protocol, host, guest_port);
  } catch (const squib::proto::ParamError& e) {
    std::cerr << "squib-netctl: " << e.what() << "\n";
    return k_exit_usage;
  }
  const char* method = guest_port ? "forward" : "unforward";
  const json params = guest_port ? squib::proto::to_json(squib::proto::ForwardParams{name, forward})
                                 : squib::proto::to_json(squib::proto::UnforwardParams{name, forward});
  json result;
  if (const int rc = call(options, method, params, result); rc != k_exit_ok) return rc;
  return print_result<squib::proto::ForwardsResult>(options, method, result, print_forwards);
}

int list_command(const Options& options) {
  json result;
  if (const int rc = call(options, "list", squib::proto::to_json(squib::proto::NoParams{}), result); rc != k_exit_ok) {
    return rc;
  }
  return print_result<std::vector<squib::proto::AttachmentInfo>>(options, "list", result, print_list);
}

// `stats`: totals once; with `watch` per-second rates (daemon/netctl_watch.cpp).
int stats_command(const Options& options, const std::string& name, bool watch, double interval_s, int count) {
  if (watch) return squib::netctl::watch_stats_command(options, name, interval_s, count);
  squib::proto::StatsParams request;
  if (!name.empty()) request.name = name;
  json result;
  if (const int rc = call(options, "stats", squib::proto::to_json(request), result); rc != k_exit_ok) return rc;
  using List = std::vector<squib::proto::AttachmentStats>;
  return print_result<List>(options, "stats", result, [](const List& list) { print_stats(list); });
}

int status_command(const Options& options) {
  json result;
  if (const int rc = call(options, "status", squib::proto::to_json(squib::proto::NoParams{}), result);
      rc != k_exit_ok) {
    return rc;
  }
  return print_result<squib::proto::StatusResult>(options, "status", result, print_status);
}

// `capture`: the output is opened first (a bad path is a usage error), then the daemon
// passes the stream's socket with its reply (daemon/netctl_capture.hpp writes it).
int capture_command(const Options& options, const squib::proto::CaptureParams& params, const std::string& output,
                    std::optional<std::uint64_t> count) {
  const int out = squib::netctl::open_capture_output(output);
  if (out < 0) return k_exit_usage;
  json result;
  int passed_fd = -1;
  if (const int rc = call(options, "capture", squib::proto::to_json(params), result, &passed_fd); rc != k_exit_ok) {
    return rc;
  }
  squib::proto::CaptureResult capture;
  if (const int rc = read_result("capture", result, capture); rc != k_exit_ok) return rc;
  if (passed_fd < 0) {
    std::cerr << "squib-netctl: capture: the daemon sent no socket\n";
    return k_exit_daemon_error;
  }
  const int rc = squib::netctl::run_capture(passed_fd, out, capture, count);
  ::close(passed_fd);
  if (out != STDOUT_FILENO) ::close(out);
  return rc;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"squib-netctl: control squib-netd"};
  app.require_subcommand(1);
  Options options;
  options.control = SQUIB_DEFAULT_RUN_DIR "/control.sock";
  if (const char* env = std::getenv("SQUIB_NETD_CONTROL")) options.control = env;
  app.add_option("--control", options.control, "Control socket (env SQUIB_NETD_CONTROL)")->capture_default_str();
  app.add_flag("--json", options.json_output, "Print JSON for scripts");

  squib::proto::StartParams start;
  std::string mode = "shared";
  std::optional<std::string> mac;
  std::optional<std::uint32_t> mtu;
  std::optional<std::string> bridge;
  std::optional<std::string> subnet;
  std::optional<std::string> address;
  std::optional<std::string> subnet6;
  std::optional<std::string> domain;
  std::optional<std::string> network;
  std::optional<std::string> userspace_kind;
  std::optional<std::string> userspace_path;
  std::vector<std::string> userspace_args;
  std::optional<std::string> framing;
  bool isolation = false;
  bool fd_passing = false;
  std::vector<std::string> exec_command;
  std::vector<std::string> start_forwards;
  auto* start_cmd = app.add_subcommand("start", "Create an attachment and print its socket path");
  start_cmd->add_option("name", start.name, "Attachment name [A-Za-z0-9_.-]{1,64}")->required();
  start_cmd->add_option("--mode", mode, "shared, host, bridged or userspace")
      ->capture_default_str()
      ->check(CLI::IsMember({"shared", "host", "bridged", "userspace"}));
  start_cmd->add_option("--mac", mac, "MAC address (default: derived from the name)");
  start_cmd->add_option("--mtu", mtu, "MTU (default 1500)");
  start_cmd->add_option("--network", network, "Network to join (default 'default')");
  start_cmd->add_option("--bridge", bridge, "Existing bridge for mode bridged");
  start_cmd->add_option("--subnet", subnet, "Subnet CIDR when the network is created (host, shared)");
  start_cmd->add_option("--address", address, "The guest's IPv4 address in the subnet (host, shared)");
  start_cmd->add_option("--subnet6", subnet6, "IPv6 /64 when the network is created (host, shared; default: a ULA)");
  start_cmd->add_option("--domain", domain,
                        "DNS domain of the network's names (<name>.<domain>) when the network is created (host, "
                        "shared; default squib.internal)");
  start_cmd->add_flag("--isolation", isolation, "VMs on the network cannot reach each other");
  start_cmd->add_option("--userspace", userspace_kind, "Userspace stack: passt or gvproxy");
  start_cmd->add_option("--userspace-path", userspace_path, "Userspace program path (root only)");
  start_cmd->add_option("--userspace-arg", userspace_args, "Extra argument for the userspace program (repeatable)");
  start_cmd->add_option("--framing", framing, "Userspace link framing: qemu or vfkit")
      ->check(CLI::IsMember({"qemu", "vfkit"}));
  start_cmd->add_option("--forward", start_forwards,
                        "Port forward PROTO:[IPV4:]HOSTPORT:GUESTPORT, e.g. tcp:127.0.0.1:2222:22 (repeatable)");
  start_cmd->add_flag("--fd-passing", fd_passing,
                      "Receive the VM end of a datagram socketpair instead of a socket path (needs --exec)");
  std::optional<std::string> handoff;
  start_cmd
      ->add_option("--handoff", handoff,
                   "Hand the VMM a ready TAP: 'tap' prints its name, 'fd' passes it open (needs --exec); with "
                   "--mode userspace, 'fd' passes passt's socket (QEMU stream framing) instead of relaying")
      ->check(CLI::IsMember({"tap", "fd"}));
  std::optional<std::uint32_t> queues;
  start_cmd->add_option("--queues", queues, "With --handoff: queues of a multi-queue TAP (default 1)");
  bool offload = false;
  start_cmd->add_flag("--offload", offload,
                      "Offload mode: 64 KiB TCP frames, partial checksums (krunkit offloading=on); not with "
                      "--handoff or userspace");
  bool exec = false;
  start_cmd->add_flag("--exec", exec, "With --fd-passing or --handoff fd: run the command after -- holding the fd");
  start_cmd->add_option("command", exec_command,
                        "After --: the command to run; '{fd}' in its arguments and $SQUIB_NET_FD name the fd");

  std::string stop_name;
  auto* stop_cmd = app.add_subcommand("stop", "Remove an attachment");
  stop_cmd->add_option("name", stop_name)->required();

  app.add_subcommand("list", "List attachments");

  std::string restart_name;
  auto* restart_cmd =
      app.add_subcommand("restart", "Start a userspace attachment's child again (e.g. after it failed)");
  restart_cmd->add_option("name", restart_name)->required();

  squib::netctl::NetworkCommand network_cmd(app);
  std::string resolve_name;
  auto* resolve_cmd = app.add_subcommand(
      "resolve", "What the network's DNS answers for an attachment: NAME or NAME.DOMAIN -> FQDN ADDRESS [ADDRESS6]");
  resolve_cmd->add_option("name", resolve_name)->required();

  std::string forward_name, forward_protocol, forward_host;
  std::uint32_t forward_guest_port = 0;
  auto* forward_cmd = app.add_subcommand("forward", "Forward a host port into a userspace (passt) guest");
  forward_cmd->add_option("name", forward_name)->required();
  forward_cmd->add_option("protocol", forward_protocol, "tcp or udp")->required();
  forward_cmd->add_option("host", forward_host, "[IPV4:]PORT on the host, e.g. 127.0.0.1:2222")->required();
  forward_cmd->add_option("guest_port", forward_guest_port, "Port in the guest")->required();
  auto* unforward_cmd = app.add_subcommand("unforward", "Remove a port forward");
  unforward_cmd->add_option("name", forward_name)->required();
  unforward_cmd->add_option("protocol", forward_protocol, "tcp or udp")->required();
  unforward_cmd->add_option("host", forward_host, "[IPV4:]PORT on the host")->required();

  std::string stats_name;
  bool watch = false;
  int watch_count = 0;
  auto* stats_cmd = app.add_subcommand("stats", "Counters per attachment");
  stats_cmd->add_option("name", stats_name, "Only this attachment");
  double watch_interval = 1.0;
  stats_cmd->add_flag("--watch", watch,
                      "Redraw per-second rates (frames/s, Mbit/s, drops/s by reason) every interval; plain lines "
                      "when stdout is not a terminal");
  auto* count_option = stats_cmd->add_option("--count", watch_count, "With --watch: stop after this many refreshes");
  count_option->needs(stats_cmd->get_option("--watch"));
  stats_cmd->add_option("--interval", watch_interval, "With --watch: seconds between refreshes")
      ->capture_default_str()
      ->check(CLI::Range(0.1, 3600.0))
      ->needs(stats_cmd->get_option("--watch"));

  app.add_subcommand("status", "Daemon version, uptime and backends");
  std::vector<std::string> event_names;
  double event_stats = 0;
  auto* events_cmd = app.add_subcommand("events", "Print attachment events as they happen (Ctrl-C to stop)");
  events_cmd->add_option("name", event_names, "Only these attachments");
  events_cmd->add_option("--stats", event_stats, "Also print each attachment's counters every SEC seconds")
      ->check(CLI::Range(0.1, 3600.0));
  app.add_subcommand("metrics", "Prometheus metrics (text exposition format 0.0.4) of your attachments and the daemon");

  squib::proto::CaptureParams capture;
  std::string capture_output = "-";
  std::optional<std::uint64_t> capture_count;
  std::string capture_direction = "both";
  auto* capture_cmd =
      app.add_subcommand("capture", "Write an attachment's frames as pcapng (Ctrl-C ends it with a summary on stderr)");
  capture_cmd->add_option("name", capture.name)->required();
  capture_cmd->add_option("-w", capture_output, "Output file, or - for stdout (e.g. | tshark -r -)")
      ->capture_default_str();
  capture_cmd->add_option("--count", capture_count, "Stop after this many frames")->check(CLI::PositiveNumber);
  capture_cmd->add_option("--snaplen", capture.snaplen, "Bytes kept of each frame")
      ->capture_default_str()
      ->check(CLI::Range(squib::proto::k_min_snaplen, squib::proto::k_default_snaplen));
  capture_cmd->add_option("--direction", capture_direction, "in (to the VM), out (from the VM) or both")
      ->capture_default_str()
      ->check(CLI::IsMember({"in", "out", "both"}));
  capture_cmd->add_flag("--dropped", capture.dropped,
                        "Also frames the anti-spoofing guard dropped (with a comment naming the reason)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return e.get_exit_code() == 0 ? rc : k_exit_usage;
  }

  if (start_cmd->parsed()) {
    StartOptions start_options{std::move(start), start_forwards, exec, exec_command};
    auto& params = start_options.params;
    params.mode = *squib::proto::mode_from_string(mode);
    params.mac = mac;
    if (mtu) params.mtu = *mtu;
    if (network) params.network = *network;
    params.bridge = bridge;
    params.subnet = subnet;
    params.address = address;
    params.subnet6 = subnet6;
    params.domain = domain;
    params.isolation = isolation;
    params.fd_passing = fd_passing;
    if (handoff) params.handoff = *handoff == "tap" ? squib::proto::Handoff::tap : squib::proto::Handoff::fd;
    if (queues) params.queues = *queues;
    params.offload = offload;
    if (userspace_kind) params.userspace.kind = *userspace_kind;
    params.userspace.path = userspace_path;
    params.userspace.args = userspace_args;
    if (framing) {
      params.userspace.framing =
          *framing == "vfkit" ? squib::proto::Framing::vfkit_datagram : squib::proto::Framing::qemu_stream;
    }
    return start_command(options, std::move(start_options));
  }
  if (stop_cmd->parsed()) return stop_command(options, stop_name);
  if (restart_cmd->parsed()) return restart_command(options, restart_name);
  if (network_cmd.parsed()) return network_cmd.run(options);
  if (resolve_cmd->parsed()) return squib::netctl::resolve_command(options, resolve_name);
  if (forward_cmd->parsed()) {
    return forward_command(options, forward_name, forward_protocol, forward_host, forward_guest_port);
  }
  if (unforward_cmd->parsed()) return forward_command(options, forward_name, forward_protocol, forward_host, {});
  if (app.got_subcommand("list")) return list_command(options);
  if (stats_cmd->parsed()) return stats_command(options, stats_name, watch, watch_interval, watch_count);
  if (app.got_subcommand("status")) return status_command(options);
  if (capture_cmd->parsed()) {
    capture.direction = capture_direction == "in"    ? squib::proto::CaptureDirection::in
                        : capture_direction == "out" ? squib::proto::CaptureDirection::out
                                                     : squib::proto::CaptureDirection::both;
    return capture_command(options, capture, capture_output, capture_count);
  }
  if (events_cmd->parsed()) return squib::netctl::events_command(options, event_names, event_stats);
  if (app.got_subcommand("metrics")) return squib::netctl::metrics_command(options);
  return k_exit_usage;
}
