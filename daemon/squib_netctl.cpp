// squib-netctl: the admin CLI for squib-netd. Exit codes (design brief §4): 0 ok, 1 the
// daemon reported an error (printed), 2 usage, 3 the daemon cannot be reached.

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstring>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <string>
#include <thread>

#include <CLI/CLI.hpp>

#include <squib/proto/client.hpp>
#include <squib/proto/messages.hpp>
#include <squib/proto/table.hpp>

namespace {

using squib::proto::json;

constexpr int k_exit_ok = 0;
constexpr int k_exit_daemon_error = 1;
constexpr int k_exit_usage = 2;
constexpr int k_exit_unreachable = 3;

struct Options {
  std::string control;
  bool json_output = false;
};

// One call; prints transport errors and daemon errors and maps them to exit codes. A file
// descriptor sent with the reply (fd_passing) is stored in *passed_fd when asked for.
int call(const Options& options, const std::string& method, const json& params, json& result,
         int* passed_fd = nullptr) {
  // With --json, every failure is also one JSON object on stdout, so scripts parse one stream.
  const auto unreachable = [&](const std::string& message) {
    if (options.json_output) {
      std::cout << json{{"error", {{"code", nullptr}, {"message", message}, {"exit", k_exit_unreachable}}}}.dump(2)
                << "\n";
    }
    std::cerr << "squib-netctl: " << message << "\n";
    return k_exit_unreachable;
  };
  auto client = squib::proto::ControlClient::connect(options.control);
  if (!client) {
    return unreachable("cannot reach squib-netd at " + options.control + ": " + client.error().message);
  }
  auto response = client->call(method, params);
  if (!response) return unreachable(response.error().message);
  if (!response->ok()) {
    if (options.json_output) {
      std::cout << json{{"error",
                         {{"code", response->error_code},
                          {"message", response->error_message},
                          {"exit", k_exit_daemon_error}}}}
                       .dump(2)
                << "\n";
    }
    std::cerr << "squib-netctl: " << method << ": " << response->error_message << " (code " << response->error_code
              << ")\n";
    return k_exit_daemon_error;
  }
  result = *response->result;
  if (passed_fd != nullptr) *passed_fd = client->take_received_fd();
  return k_exit_ok;
}

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
  if (const int rc = call(options, "stop", {{"name", name}}, ignored); rc != k_exit_ok) {
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

// A string field of a daemon reply, or `absent` when it is missing or null (an fd-passing
// attachment has no socket, a userspace one no address): never an exception.
std::string text(const json& entry, const char* key, const std::string& absent = "-") {
  const auto it = entry.find(key);
  return it != entry.end() && it->is_string() ? it->get<std::string>() : absent;
}

void print_list(const json& list) {
  squib::proto::Table table({"NAME", "MODE", "STATE", "PEER", "MAC", "ADDRESS", "MTU", "SOCKET", "DETAIL"});
  for (const auto& entry : list) {
    table.add({text(entry, "name"), text(entry, "mode"), text(entry, "state"),
               entry.value("peer_connected", false) ? "yes" : "no", text(entry, "mac"), text(entry, "address"),
               std::to_string(entry.value("mtu", 0)), text(entry, "socket", "(fd passed)"), text(entry, "detail", "")});
  }
  std::cout << table.render();
}

void print_stats(const json& list, const json* previous, double interval_s) {
  squib::proto::Table table({"NAME", "STATE", "FROM-VM FRAMES", "FROM-VM BYTES", "TO-VM FRAMES", "TO-VM BYTES",
                             "DROPS", "BATCH", "RESTARTS", "UPTIME"});
  for (const auto& entry : list) {
    const auto& from = entry["from_vm"];
    const auto& to = entry["to_vm"];
    auto cell = [&](const json& dir, const char* key, bool bytes, const char* prev_dir) {
      const double now = dir.value(key, 0.0);
      if (previous == nullptr) return bytes ? human_bytes(now) : std::to_string(static_cast<std::uint64_t>(now));
      double before = 0;
      for (const auto& old : *previous) {
        if (old.value("name", "") == entry.value("name", "")) before = old[prev_dir].value(key, 0.0);
      }
      const double rate = (now - before) / interval_s;
      return (bytes ? human_bytes(rate) : std::to_string(static_cast<std::uint64_t>(rate))) + "/s";
    };
    char batch[32];
    std::snprintf(batch, sizeof batch, "%.1f/%.1f", from.value("mean_batch", 0.0), to.value("mean_batch", 0.0));
    char uptime[32];
    std::snprintf(uptime, sizeof uptime, "%.0fs", entry.value("uptime_s", 0.0));
    table.add({entry.value("name", ""), entry.value("state", ""), cell(from, "frames", false, "from_vm"),
               cell(from, "bytes", true, "from_vm"), cell(to, "frames", false, "to_vm"),
               cell(to, "bytes", true, "to_vm"), std::to_string(entry.value("dropped_total", 0)), batch,
               std::to_string(entry.value("child_restarts", 0)), uptime});
  }
  std::cout << table.render();
  // Drop reasons that are non-zero, one line per attachment, so a problem is visible.
  for (const auto& entry : list) {
    std::string reasons;
    for (const auto& [reason, count] : entry["drops"].items()) {
      if (count.get<std::uint64_t>() > 0) reasons += " " + reason + "=" + std::to_string(count.get<std::uint64_t>());
    }
    if (!reasons.empty()) std::cout << "  " << entry.value("name", "") << " drops:" << reasons << "\n";
  }
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
  bool exec = false;
  start_cmd->add_flag("--exec", exec, "With --fd-passing: run the command after -- holding the fd");
  start_cmd->add_option("command", exec_command,
                        "After --: the command to run; '{fd}' in its arguments and $SQUIB_NET_FD name the fd");

  std::string stop_name;
  auto* stop_cmd = app.add_subcommand("stop", "Remove an attachment");
  stop_cmd->add_option("name", stop_name)->required();

  app.add_subcommand("list", "List attachments");

  std::string restart_name;
  auto* restart_cmd = app.add_subcommand("restart", "Start a userspace attachment's child again (e.g. after it failed)");
  restart_cmd->add_option("name", restart_name)->required();

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
  stats_cmd->add_flag("--watch", watch, "Refresh every second with per-second rates");
  auto* count_option = stats_cmd->add_option("--count", watch_count, "With --watch: stop after this many refreshes");
  count_option->needs(stats_cmd->get_option("--watch"));

  app.add_subcommand("status", "Daemon version, uptime and backends");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return e.get_exit_code() == 0 ? rc : k_exit_usage;
  }

  json result;
  if (start_cmd->parsed()) {
    // The request is the protocol's own encoding of StartParams (proto/messages.hpp); the
    // daemon validates every value and names the field it refuses.
    start.mode = *squib::proto::mode_from_string(mode);
    start.mac = mac;
    if (mtu) start.mtu = *mtu;
    if (network) start.network = *network;
    start.bridge = bridge;
    start.subnet = subnet;
    start.address = address;
    start.isolation = isolation;
    start.fd_passing = fd_passing;
    if (userspace_kind) start.userspace.kind = *userspace_kind;
    start.userspace.path = userspace_path;
    start.userspace.args = userspace_args;
    if (framing) start.userspace.framing = *framing == "vfkit" ? squib::proto::Framing::vfkit_datagram
                                                               : squib::proto::Framing::qemu_stream;
    for (const auto& spec : start_forwards) {
      // PROTO:HOST:GUEST where HOST may itself be ADDR:PORT; the protocol's parser checks it.
      const auto first = spec.find(':');
      const auto last = spec.rfind(':');
      try {
        if (first == std::string::npos || last == first) throw squib::proto::ParamError("forward", "missing parts");
        const std::string guest = spec.substr(last + 1);
        if (guest.empty() || guest.size() > 5 || guest.find_first_not_of("0123456789") != std::string::npos) {
          throw squib::proto::ParamError("guest_port", "must be a number");
        }
        start.forwards.push_back(squib::proto::parse_forward_params(
            {{"protocol", spec.substr(0, first)}, {"host", spec.substr(first + 1, last - first - 1)},
             {"guest_port", std::stoi(guest)}},
            true));
      } catch (const squib::proto::ParamError& e) {
        std::cerr << "squib-netctl: --forward " << spec << ": " << e.what()
                  << " (expected PROTO:[IPV4:]HOSTPORT:GUESTPORT)\n";
        return k_exit_usage;
      }
    }
    if (fd_passing != exec || exec == exec_command.empty()) {
      std::cerr << "squib-netctl: use --fd-passing --exec -- COMMAND [ARGS…] together\n";
      return k_exit_usage;
    }
    json params = squib::proto::to_json(start);
    // Only what the user gave: the daemon's defaults stay the daemon's.
    if (!mtu) params.erase("mtu");
    if (!network) params.erase("network");
    if (!isolation) params.erase("isolation");
    if (!userspace_kind && !userspace_path && userspace_args.empty() && !framing) params.erase("userspace");
    int passed_fd = -1;
    if (const int rc = call(options, "start", params, result, &passed_fd); rc != k_exit_ok) return rc;
    if (fd_passing) return run_with_fd(options, start.name, passed_fd, exec_command);
    if (options.json_output) {
      std::cout << result.dump(2) << "\n";
    } else {
      std::cout << result.value("socket", "") << "\n";
      const std::string guest_address = result.contains("network") ? text(result["network"], "address", "") : "";
      std::cerr << "started " << result.value("name", "") << " (" << result.value("mode", "") << ", mac "
                << result.value("mac", "") << (guest_address.empty() ? "" : ", address " + guest_address) << ", mtu "
                << result.value("mtu", 0) << ")\n";
    }
    return k_exit_ok;
  }
  if (stop_cmd->parsed()) {
    if (const int rc = call(options, "stop", {{"name", stop_name}}, result); rc != k_exit_ok) return rc;
    if (options.json_output) std::cout << result.dump(2) << "\n";
    else std::cout << "stopped " << stop_name << "\n";
    return k_exit_ok;
  }
  if (restart_cmd->parsed()) {
    if (const int rc = call(options, "restart", {{"name", restart_name}}, result); rc != k_exit_ok) return rc;
    if (options.json_output) std::cout << result.dump(2) << "\n";
    else std::cout << "restarting " << restart_name << " (see squib-netctl list)\n";
    return k_exit_ok;
  }
  if (forward_cmd->parsed() || unforward_cmd->parsed()) {
    json params = {{"name", forward_name}, {"protocol", forward_protocol}, {"host", forward_host}};
    if (forward_cmd->parsed()) params["guest_port"] = forward_guest_port;
    const char* method = forward_cmd->parsed() ? "forward" : "unforward";
    if (const int rc = call(options, method, params, result); rc != k_exit_ok) return rc;
    if (options.json_output) {
      std::cout << result.dump(2) << "\n";
    } else {
      for (const auto& f : result["forwards"]) {
        std::cout << f.value("protocol", "") << " " << f.value("host", "") << " -> guest port "
                  << f.value("guest_port", 0) << "\n";
      }
    }
    return k_exit_ok;
  }
  if (app.got_subcommand("list")) {
    if (const int rc = call(options, "list", json::object(), result); rc != k_exit_ok) return rc;
    if (options.json_output) std::cout << result.dump(2) << "\n";
    else print_list(result);
    return k_exit_ok;
  }
  if (stats_cmd->parsed()) {
    const json params = stats_name.empty() ? json::object() : json{{"name", stats_name}};
    if (const int rc = call(options, "stats", params, result); rc != k_exit_ok) return rc;
    if (!watch) {
      if (options.json_output) std::cout << result.dump(2) << "\n";
      else print_stats(result, nullptr, 1.0);
      return k_exit_ok;
    }
    for (int round = 0; watch_count == 0 || round < watch_count; ++round) {
      std::this_thread::sleep_for(std::chrono::seconds(1));
      json next;
      if (const int rc = call(options, "stats", params, next); rc != k_exit_ok) return rc;
      if (options.json_output) {
        std::cout << next.dump() << "\n";
      } else {
        if (::isatty(STDOUT_FILENO) != 0) std::cout << "\033[H\033[2J";
        print_stats(next, &result, 1.0);
      }
      std::cout.flush();
      result = std::move(next);
    }
    return k_exit_ok;
  }
  if (app.got_subcommand("status")) {
    if (const int rc = call(options, "status", json::object(), result); rc != k_exit_ok) return rc;
    if (options.json_output) {
      std::cout << result.dump(2) << "\n";
    } else {
      std::cout << "squib-netd " << result.value("version", "") << " (pid " << result.value("pid", 0) << ", "
                << result.value("platform", "") << ")\n"
                << "uptime:      " << static_cast<std::uint64_t>(result.value("uptime_s", 0.0)) << " s\n"
                << "attachments: " << result.value("attachments", 0) << "\n"
                << "run dir:     " << result.value("run_dir", "") << "\n";
      for (const auto& [name, path] : result["backends"].items()) {
        std::cout << "backend " << name << ": " << (path.is_null() ? "not available" : path.get<std::string>())
                  << "\n";
      }
      if (result.contains("networks") && !result["networks"].empty()) {
        squib::proto::Table table({"NETWORK", "MODE", "BRIDGE", "SUBNET", "GATEWAY", "ATTACHMENTS"});
        for (const auto& net : result["networks"]) {
          auto text = [&](const char* key) {
            const auto it = net.find(key);
            return it == net.end() || it->is_null() ? std::string("-") : (it->is_string() ? it->get<std::string>() : it->dump());
          };
          table.add({text("name"), text("mode"), text("bridge"), text("subnet"), text("gateway"), text("attachments")});
        }
        std::cout << "\n" << table.render();
      }
    }
    return k_exit_ok;
  }
  return k_exit_usage;
}
