#pragma once

// state.json: the attachments a daemon should have, so a restarted daemon (crash, launchd
// KeepAlive, systemd Restart=) recreates them at the same paths with the same MACs.
//
// Format: {"version": 1, "attachments": [<start params as in the control protocol>, …],
// "networks": [<network.create params>, …]} — the networks made by network.create (origin
// api; issue 15), restored before the attachments. "networks" may be absent (older files).
// Writes are atomic: a temp file opened O_NOFOLLOW|O_EXCL, fsync, rename over the old file,
// fsync of the directory. Loading is as strict as the control socket: each entry goes
// through proto::parse_start_params, and a bad entry is skipped with its reason.

#include <string>
#include <vector>

#include <squib/core/result.hpp>
#include <squib/proto/messages.hpp>
#include <squib/proto/network_messages.hpp>

namespace squib::service {

struct LoadedState {
  std::vector<proto::StartParams> attachments;
  std::vector<std::string> rejected;  // "entry N: reason" / "network N: reason" for each skipped entry
  std::vector<proto::NetworkSpec> networks;
};

core::Result<void> save_state(const std::string& path, const std::vector<proto::StartParams>& attachments,
                              const std::vector<proto::NetworkSpec>& networks = {});
// A missing file is an empty state, not an error.
core::Result<LoadedState> load_state(const std::string& path);
// The parser alone (the fuzz target's entry point).
core::Result<LoadedState> parse_state(std::string_view text);

}  // namespace squib::service
