// squib-netctl stats --watch [NAME] [--interval SEC] [--count N]: polls `stats` every
// interval and shows per-second rates computed from two consecutive answers — frames/s and
// Mbit/s per direction, drops/s (and, per attachment, each reason whose rate is not zero).
//
// On a terminal the screen is redrawn in place (cursor home + clear, ECMA-48 CSI H and CSI 2J)
// so the table stands still; otherwise (a pipe, a file) each round prints one line per
// attachment, prefixed with the time, for logs and grep. The elapsed time is measured
// between the two answers, not assumed to be the interval, so a slow round does not inflate
// the rates. --json prints each `stats` result as one line instead.

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <squib/proto/messages.hpp>
#include <squib/proto/table.hpp>

#include "netctl_commands.hpp"

namespace squib::netctl {

namespace {

using List = std::vector<proto::AttachmentStats>;

struct Rates {
  double from_vm_frames = 0;
  double from_vm_mbit = 0;
  double to_vm_frames = 0;
  double to_vm_mbit = 0;
  double drops = 0;
  std::map<std::string, double> drops_by_reason;  // only the non-zero ones
};

double per_second(std::uint64_t now, std::uint64_t before, double seconds) {
  return now >= before ? static_cast<double>(now - before) / seconds : 0.0;  // a restart resets counters
}

Rates rates(const proto::AttachmentStats& now, const proto::AttachmentStats& before, double seconds) {
  Rates out;
  out.from_vm_frames = per_second(now.from_vm.frames, before.from_vm.frames, seconds);
  out.from_vm_mbit = per_second(now.from_vm.bytes, before.from_vm.bytes, seconds) * 8 / 1e6;
  out.to_vm_frames = per_second(now.to_vm.frames, before.to_vm.frames, seconds);
  out.to_vm_mbit = per_second(now.to_vm.bytes, before.to_vm.bytes, seconds) * 8 / 1e6;
  out.drops = per_second(now.dropped_total, before.dropped_total, seconds);
  for (const auto& [reason, count] : now.drops) {
    const auto old = before.drops.find(reason);
    const double rate = per_second(count, old != before.drops.end() ? old->second : 0, seconds);
    if (rate > 0) out.drops_by_reason[reason] = rate;
  }
  return out;
}

std::string fixed(double value, int decimals) {
  char text[32];
  std::snprintf(text, sizeof text, "%.*f", decimals, value);
  return text;
}

std::string clock_time() {
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  ::localtime_r(&now, &local);
  char text[16];
  std::strftime(text, sizeof text, "%H:%M:%S", &local);
  return text;
}

std::string reasons_text(const Rates& r) {
  std::string out;
  for (const auto& [reason, rate] : r.drops_by_reason) out += (out.empty() ? "" : " ") + reason + "=" + fixed(rate, 1);
  return out;
}

const proto::AttachmentStats* find_entry(const List& list, const std::string& name) {
  for (const auto& entry : list) {
    if (entry.attachment.name == name) return &entry;
  }
  return nullptr;
}

// One screen: a header, the table, then the non-zero drop reasons.
void draw_screen(const List& now, const List& before, double seconds, double interval_s) {
  std::string out = "\033[H\033[2J";
  out += "squib-netctl stats --watch  every " + fixed(interval_s, interval_s < 1 ? 1 : 0) + " s  " + clock_time() +
         "  (Ctrl-C to stop)\n\n";
  proto::Table table(
      {"NAME", "STATE", "FROM-VM FRAMES/S", "FROM-VM MBIT/S", "TO-VM FRAMES/S", "TO-VM MBIT/S", "DROPS/S"});
  std::string reasons;
  for (const auto& entry : now) {
    const auto* old = find_entry(before, entry.attachment.name);
    if (old == nullptr) {  // new since the last round: no rate yet
      table.add({entry.attachment.name, entry.attachment.state, "-", "-", "-", "-", "-"});
      continue;
    }
    const Rates r = rates(entry, *old, seconds);
    table.add({entry.attachment.name, entry.attachment.state, fixed(r.from_vm_frames, 1), fixed(r.from_vm_mbit, 3),
               fixed(r.to_vm_frames, 1), fixed(r.to_vm_mbit, 3), fixed(r.drops, 1)});
    if (!r.drops_by_reason.empty()) reasons += "  " + entry.attachment.name + " drops/s: " + reasons_text(r) + "\n";
  }
  out += table.render();
  if (now.empty()) out += "(no attachments)\n";
  if (!reasons.empty()) out += "\n" + reasons;
  std::fputs(out.c_str(), stdout);
  std::fflush(stdout);
}

// One line per attachment, for a pipe or a file.
void print_lines(const List& now, const List& before, double seconds) {
  const std::string time = clock_time();
  for (const auto& entry : now) {
    const auto* old = find_entry(before, entry.attachment.name);
    if (old == nullptr) continue;
    const Rates r = rates(entry, *old, seconds);
    std::string line = time + " " + entry.attachment.name + " " + entry.attachment.state + " from_vm " +
                       fixed(r.from_vm_frames, 1) + " frames/s " + fixed(r.from_vm_mbit, 3) + " Mbit/s to_vm " +
                       fixed(r.to_vm_frames, 1) + " frames/s " + fixed(r.to_vm_mbit, 3) + " Mbit/s drops " +
                       fixed(r.drops, 1) + "/s";
    if (!r.drops_by_reason.empty()) line += " (" + reasons_text(r) + ")";
    std::fputs((line + "\n").c_str(), stdout);
  }
  std::fflush(stdout);
}

}  // namespace

int watch_stats_command(const Options& options, const std::string& name, double interval_s, int count) {
  proto::StatsParams request;
  if (!name.empty()) request.name = name;
  const json params = proto::to_json(request);
  const bool terminal = ::isatty(STDOUT_FILENO) != 0;
  const auto interval =
      std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(interval_s));

  List before;
  auto before_at = std::chrono::steady_clock::now();
  json result;
  if (const int rc = call(options, "stats", params, result); rc != k_exit_ok) return rc;
  if (const int rc = read_result("stats", result, before); rc != k_exit_ok) return rc;
  for (int round = 0; count == 0 || round < count; ++round) {
    std::this_thread::sleep_until(before_at + interval);
    if (const int rc = call(options, "stats", params, result); rc != k_exit_ok) return rc;
    const auto now_at = std::chrono::steady_clock::now();
    if (options.json_output) {
      std::fputs((result.dump() + "\n").c_str(), stdout);
      std::fflush(stdout);
      before_at = now_at;
      continue;
    }
    List now;
    if (const int rc = read_result("stats", result, now); rc != k_exit_ok) return rc;
    const double seconds = std::chrono::duration<double>(now_at - before_at).count();
    if (terminal) {
      draw_screen(now, before, seconds, interval_s);
    } else {
      print_lines(now, before, seconds);
    }
    before = std::move(now);
    before_at = now_at;
  }
  return k_exit_ok;
}

}  // namespace squib::netctl
