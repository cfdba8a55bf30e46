#pragma once

// Tenancy: what a control-group member — an ordinary, untrusted local user (on macOS every
// `staff` user) — may ask of the root daemon. Root may ask everything. Each rule below is a
// row of docs/security.md's parameter table, and each refusal is -32003 naming the field and
// the rule, checked before anything is created:
//
// - `owner`, `userspace.kind: custom`, `userspace.path`: root only (a member's attachment is
//   always its own; children never run a program or see a path a member chose).
// - `userspace.args`: the allow-list of backend/member_args.hpp.
// - `mode`: only the modes in DaemonConfig::member_modes (default all).
// - `bridge`: only the bridges in DaemonConfig::allowed_bridges (default none).
// - forwards: host ports at or above the unprivileged-port boundary only.
// - acting on an attachment (stop, forward, unforward, stats of one): its owner only.
//
// Pure functions over the request and the config: the registry and dispatcher call them,
// unit tests drive them without a daemon.

#include <cstdint>
#include <optional>
#include <string>

#include <squib/proto/messages.hpp>
#include <squib/service/daemon_config.hpp>
#include <squib/service/method_error.hpp>
#include <squib/service/peer_credentials.hpp>

namespace squib::service {

[[nodiscard]] inline bool is_root(const PeerCredentials& caller) { return caller.uid == 0; }

// A member's `start` that asks for something reserved to root.
std::optional<MethodError> refuse_start(const DaemonConfig& config, const PeerCredentials& caller,
                                        const proto::StartParams& params);

// A member's forward onto a host port below the unprivileged-port boundary. `field` names
// the parameter in the error (`host` for `forward`, `forwards[i].host` for `start`).
std::optional<MethodError> refuse_forward(const DaemonConfig& config, const PeerCredentials& caller,
                                          const proto::PortForward& forward, const std::string& field);

// A member acting on an attachment owned by another uid.
std::optional<MethodError> refuse_other_owner(const PeerCredentials& caller, const std::string& name,
                                              std::uint32_t owner_uid);

}  // namespace squib::service
