#include <squib/service/tenancy.hpp>

#include <algorithm>

#include <squib/backend/member_args.hpp>

namespace squib::service {

using proto::ErrorCode;

namespace {

MethodError denied(std::string message) { return MethodError{ErrorCode::permission_denied, std::move(message)}; }

std::string joined(const auto& items, const auto& to_text) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + std::string(to_text(item));
  return out.empty() ? "none" : out;
}

}  // namespace

std::optional<MethodError> refuse_start(const DaemonConfig& config, const PeerCredentials& caller,
                                        const proto::StartParams& params) {
  if (is_root(caller)) return std::nullopt;
  if (params.owner) return denied("owner: only root may attach a socket to another user");
  // It lets a guest use any address of its network, other attachments' included.
  if (params.guard != proto::Guard::full) return denied("guard: only root may relax the anti-spoofing guard");
  if (!config.member_modes.contains(params.mode)) {
    return denied(std::string("mode: ") + proto::to_string(params.mode) +
                  " is reserved to root on this daemon (members may use: " +
                  joined(config.member_modes, [](proto::Mode mode) { return proto::to_string(mode); }) + ")");
  }
  if (params.mode == proto::Mode::bridged && params.bridge &&
      std::find(config.allowed_bridges.begin(), config.allowed_bridges.end(), *params.bridge) ==
          config.allowed_bridges.end()) {
    return denied("bridge: " + *params.bridge +
                  " is not among the bridges members may use (the daemon's allowed_bridges: " +
                  joined(config.allowed_bridges, [](const std::string& name) { return name; }) + ")");
  }
  if (params.mode == proto::Mode::userspace) {
    if (params.userspace.kind == "custom") return denied("userspace.kind: custom programs may only be started by root");
    if (params.userspace.path) {
      return denied("userspace.path: only root may choose the program; the daemon's configured path is used");
    }
    if (auto problem = backend::member_args_problem(params.userspace.kind, params.userspace.args)) {
      return denied("userspace.args: " + *problem);
    }
  }
  for (std::size_t i = 0; i < params.forwards.size(); ++i) {
    if (auto refused = refuse_forward(config, caller, params.forwards[i], "forwards[" + std::to_string(i) + "].host")) {
      return refused;
    }
  }
  return std::nullopt;
}

std::optional<MethodError> refuse_forward(const DaemonConfig& config, const PeerCredentials& caller,
                                          const proto::PortForward& forward, const std::string& field) {
  if (is_root(caller) || forward.host_port >= config.unprivileged_port_start) return std::nullopt;
  return denied(field + ": host port " + std::to_string(forward.host_port) + " is below " +
                std::to_string(config.unprivileged_port_start) +
                ", the unprivileged-port boundary: only root may forward it");
}

std::optional<MethodError> refuse_other_owner(const PeerCredentials& caller, const std::string& name,
                                              std::uint32_t owner_uid) {
  if (is_root(caller) || caller.uid == owner_uid) return std::nullopt;
  return denied("attachment '" + name + "' belongs to uid " + std::to_string(owner_uid) +
                ": members may act only on their own attachments (root on all)");
}

}  // namespace squib::service
