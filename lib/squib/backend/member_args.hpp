#pragma once

// The `userspace.args` a control-group member may hand to a child the root daemon starts.
//
// The child (passt, gvproxy) is started by root and only then drops to `nobody`, so any
// argument that names a path (log, pcap, pid, socket files), a user to run as, a listener or
// an outbound interface would let any member act as root or reach past its own VM. Members
// therefore get a reviewed allow-list per child kind; root may pass anything. Every entry
// below only turns off, or changes what the child tells this member's own guest
// (docs/security.md, "userspace.args allow-list", says why each is harmless).
//
// Matching is by whole argument: `--address=1.2.3.4`, `-a1.2.3.4` or a cluster like `-46`
// are not on the list and are refused, so getopt's spellings cannot smuggle an option past
// it. A value that follows an allowed option must be a literal IP address or netmask.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace squib::backend {

// nullopt when every argument is allowed for members; otherwise the reason, naming the
// first refused argument (the dispatcher reports it as -32003 "userspace.args: …").
std::optional<std::string> member_args_problem(std::string_view kind, const std::vector<std::string>& args);

}  // namespace squib::backend
