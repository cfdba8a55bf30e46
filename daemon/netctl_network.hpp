#pragma once

// squib-netctl network create|delete|list (issue 15; proto/network_messages.hpp): the
// subcommand's options, registered on the app, and running whichever was given.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "netctl_common.hpp"

namespace squib::netctl {

class NetworkCommand {
 public:
  // Adds `network` with its three subcommands to `app`.
  explicit NetworkCommand(CLI::App& app);
  [[nodiscard]] bool parsed() const { return m_command->parsed(); }
  // Runs the subcommand given (parsed() is true); the exit code.
  [[nodiscard]] int run(const Options& options) const;

 private:
  int create(const Options& options) const;
  int remove(const Options& options) const;
  int list(const Options& options) const;

  CLI::App* m_command = nullptr;
  CLI::App* m_create = nullptr;
  CLI::App* m_delete = nullptr;
  CLI::App* m_list = nullptr;
  std::string m_name;
  std::string m_mode = "host";
  std::optional<std::string> m_subnet;
  std::optional<std::string> m_subnet6;
  std::optional<std::string> m_domain;
  bool m_isolation = false;
  std::optional<std::string> m_dhcp_range;
  bool m_no_dhcp = false;
  std::optional<std::uint32_t> m_mtu;
  std::optional<std::uint32_t> m_vni;
  std::optional<std::string> m_local;
  std::vector<std::string> m_remotes;
  std::optional<std::string> m_group;
  std::optional<std::string> m_dev;
  std::optional<std::uint32_t> m_port;
  bool m_force = false;
};

}  // namespace squib::netctl
