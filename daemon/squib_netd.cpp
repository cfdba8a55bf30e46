// squib-netd: the host networking daemon. Thin by design: parse flags, configure logging,
// hand a DaemonConfig to service::Daemon and return its exit code.

#include <grp.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <uv.h>
#include <CLI/CLI.hpp>

#include <squib/service/daemon.hpp>

#include "json_config.hpp"

namespace {

constexpr const char* k_default_run_dir = SQUIB_DEFAULT_RUN_DIR;  // the platform's (CMakeLists.txt)

// squib-child-exec sits beside this binary (build tree and install prefix alike).
std::string find_exec_shim() {
  char path[PATH_MAX];
  std::size_t size = sizeof path;
  if (uv_exepath(path, &size) != 0) return {};
  const auto shim = std::filesystem::path(std::string(path, size)).parent_path() / "squib-child-exec";
  return ::access(shim.c_str(), X_OK) == 0 ? shim.string() : std::string{};
}

// The "log-level" of a JSON config file, if it has one (SIGHUP re-reads it).
std::optional<std::string> read_level(const std::string& path) {
  std::ifstream in(path);
  const auto doc = nlohmann::json::parse(in, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return std::nullopt;
  const auto it = doc.find("log-level");
  if (it == doc.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

// Linux: the sysctl that moves the privileged-port boundary; absent elsewhere.
std::optional<std::uint32_t> read_unprivileged_port_start() {
  std::ifstream in("/proc/sys/net/ipv4/ip_unprivileged_port_start");
  std::uint32_t port = 0;
  if (in >> port && port <= 65536) return port;
  return std::nullopt;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"squib-netd: host networking daemon for microVMs"};
  squib::service::DaemonConfig config;
  config.run_dir = k_default_run_dir;
  std::string control;
  std::string group;
  std::string log_level = "info";
  bool foreground = true;
  app.add_option("--run-dir", config.run_dir, "Directory for sockets, state and the lock")->capture_default_str();
  app.add_option("--control", control, "Control socket path (default <run-dir>/control.sock)");
  app.add_option("--group", group, "Group whose members may use the control socket");
  app.set_config("--config", "", "Configuration file: one JSON object, keys as the long flags (flags win)")
      ->check(CLI::ExistingFile);
  app.config_formatter(std::make_shared<squib::daemon::JsonConfig>());
  app.allow_config_extras(CLI::config_extras_mode::error);  // a misspelt key is an error
  const std::vector<std::string> levels = {"trace", "debug", "info", "warn", "error", "critical", "off"};
  app.add_option("--log-level", log_level,
                 "trace, debug, info, warn, error, critical, off (SIGHUP re-reads it from --config)")
      ->capture_default_str()
      ->check(CLI::IsMember(levels));
  app.add_flag("--foreground", foreground, "Run in the foreground (always; for launchd/systemd clarity)");
  app.add_option("--passt", config.passt_program, "passt binary (name in PATH or absolute path)")
      ->capture_default_str();
  app.add_option("--gvproxy", config.gvproxy_program, "gvproxy binary")->capture_default_str();
  std::size_t idle_ms = static_cast<std::size_t>(config.idle_timeout.count());
  app.add_option("--idle-timeout-ms", idle_ms, "Close control connections idle this long")->capture_default_str();
  app.add_option("--max-connections", config.max_connections, "Concurrent control connections")->capture_default_str();
  app.add_option("--max-attachments", config.max_attachments, "Attachments at most")->capture_default_str();
  app.add_option("--max-attachments-per-uid", config.max_attachments_per_uid, "Attachments each non-root uid may hold")
      ->capture_default_str();
  app.add_option("--max-connections-per-uid", config.max_connections_per_uid,
                 "Control connections each non-root uid may hold open")
      ->capture_default_str();
  std::vector<std::string> member_modes;
  app.add_option("--member-modes", member_modes,
                 "Modes control-group members may start (default: all; root may start every mode)")
      ->delimiter(',')
      ->check(CLI::IsMember({"shared", "host", "bridged", "userspace"}));
  app.add_option("--allow-bridge", config.allowed_bridges,
                 "An existing bridge members may attach bridged VMs to (repeatable; default none: root only)");
  app.add_flag("--keep-privileges", config.keep_privileges,
               "Linux: keep every capability instead of dropping to the needed set after start-up");
  std::string host_firewall = "coexist";
  app.add_option("--host-firewall", host_firewall,
                 "Linux, shared networks, when another table's forward chain drops (Docker, ufw, firewalld): "
                 "coexist = add tagged accept rules for our bridges to it and keep them there; leave = touch "
                 "nothing and fail `start` naming the chain (docs/operations.md)")
      ->capture_default_str()
      ->check(CLI::IsMember({"coexist", "leave"}));
  app.add_option("--metrics-textfile", config.metrics_textfile,
                 "Rewrite this file with the Prometheus metrics (text format 0.0.4) for node_exporter's textfile "
                 "collector, atomically; removed on clean shutdown (docs/operations.md)");
  std::uint32_t metrics_interval_s = 15;
  app.add_option("--metrics-interval", metrics_interval_s, "Seconds between --metrics-textfile rewrites")
      ->capture_default_str()
      ->check(CLI::Range(1u, 86400u));
  std::vector<std::string> networks;
  app.add_option("--network", networks,
                 "Declare a network (repeatable): network.create's params as JSON, e.g. "
                 "'{\"name\":\"lab\",\"subnet\":\"10.9.0.0/24\"}'; made at every start (config file: `networks`)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // Usage errors exit 2 (docs/operations.md), --help 0.
    return app.exit(e) == 0 ? 0 : 2;
  }

  for (const auto& text : networks) {
    const auto parsed = nlohmann::json::parse(text, nullptr, false);
    try {
      if (parsed.is_discarded()) throw squib::proto::ParamError("network", "must be a JSON object");
      auto spec = squib::proto::parse_network_spec(parsed);
      for (const auto& other : config.networks) {
        if (other.name == spec.name) throw squib::proto::ParamError("name", "'" + spec.name + "' is declared twice");
      }
      config.networks.push_back(std::move(spec));
    } catch (const squib::proto::ParamError& e) {
      std::fprintf(stderr, "squib-netd: --network %s: %s\n", text.c_str(), e.what());
      return 2;
    }
  }
  config.idle_timeout = std::chrono::milliseconds(idle_ms);
  config.metrics_interval = std::chrono::seconds(metrics_interval_s);
  config.host_firewall_leave = host_firewall == "leave";
  if (!member_modes.empty()) {
    config.member_modes.clear();
    for (const auto& mode : member_modes) config.member_modes.insert(*squib::proto::mode_from_string(mode));
  }
  config.unprivileged_port_start = read_unprivileged_port_start().value_or(config.unprivileged_port_start);
  config.control_path = control.empty() ? config.run_dir + "/control.sock" : control;
  if (!group.empty()) {
    const struct group* entry = ::getgrnam(group.c_str());
    if (entry == nullptr) {
      std::fprintf(stderr, "squib-netd: unknown group '%s'\n", group.c_str());
      return 2;
    }
    config.group = entry->gr_gid;
  }
  config.exec_shim = find_exec_shim();

  auto logger = spdlog::stderr_color_mt("squib-netd");
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  // SIGHUP: the log level is what can change without a restart. At start-up the command line
  // wins over the file; on SIGHUP the file's "log-level", if it has one, is re-read and
  // applied (the operator edited it and asked for it).
  const std::string config_path = app.get_config_ptr() != nullptr ? app.get_config_ptr()->as<std::string>() : "";
  bool starting = true;
  const auto apply_level = [&log_level, &starting, config_path, levels] {
    if (!config_path.empty() && !starting) {
      if (auto level = read_level(config_path);
          level && std::find(levels.begin(), levels.end(), *level) != levels.end()) {
        log_level = *level;
      } else if (level) {
        spdlog::error(
            "--config {}: log-level '{}' is not one of trace, debug, info, warn, error, critical, off; "
            "keeping {}",
            config_path, *level, log_level);
      }
    }
    spdlog::set_level(spdlog::level::from_str(log_level));
  };
  apply_level();
  starting = false;
  const auto reload = [&apply_level, &log_level] {
    apply_level();
    spdlog::info("log level {}", log_level);
  };
  if (!config_path.empty()) spdlog::info("configuration read from {}", config_path);

  squib::service::Daemon daemon(std::move(config));
  return daemon.run(reload);
}
