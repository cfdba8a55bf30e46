#pragma once

// squib-netctl subcommands that live in files of their own (one job each); main() in
// squib_netctl.cpp parses the command line and calls them.

#include <string>
#include <vector>

#include "netctl_common.hpp"

namespace squib::netctl {

// `metrics`: the daemon's Prometheus exposition, printed as is (--json: the result object).
int metrics_command(const Options& options);

// `resolve`: the DNS name of attachment `name` (or <name>.<domain>) and its addresses.
int resolve_command(const Options& options, const std::string& name);

// `stats --watch`: per-second rates of `name` (empty: every attachment the caller sees) every
// `interval_s` seconds, `count` times (0: until interrupted).
int watch_stats_command(const Options& options, const std::string& name, double interval_s, int count);

// `events`: subscribes and prints events as they come (only `names`' when given; stats
// every `stats_s` seconds when > 0) until interrupted.
int events_command(const Options& options, const std::vector<std::string>& names, double stats_s);

}  // namespace squib::netctl
