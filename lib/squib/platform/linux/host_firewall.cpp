#include <squib/platform/linux/host_firewall.hpp>

#include <spdlog/spdlog.h>

#include <squib/platform/linux/nft.hpp>

namespace squib::platform {

using core::Error;
using core::Result;

HostFirewall::HostFirewall(uv_loop_t* loop, std::string run_dir, HostFirewallPolicy policy, std::function<void()> idle)
    : m_loop(loop), m_tag_prefix(host_firewall_tag_prefix(run_dir)), m_policy(policy), m_idle(std::move(idle)) {}

HostFirewall::~HostFirewall() { *m_alive = nullptr; }

void HostFirewall::add(FirewallNetwork network) {
  std::string name = network.name;
  m_networks.insert_or_assign(std::move(name), std::move(network));
  update_monitor();
  request();
}

void HostFirewall::remove(const std::string& network) {
  if (m_networks.erase(network) == 0) return;
  update_monitor();
  request();
}

void HostFirewall::sync(std::function<void(Result<void>)> done) {
  m_next_waiters.push_back(std::move(done));
  request();
}

void HostFirewall::update_monitor() {
  const bool wanted = m_policy == HostFirewallPolicy::coexist && !m_networks.empty();
  if (!wanted) {
    m_monitor.reset();
    return;
  }
  if (m_monitor) return;
  auto opened = NftMonitor::open(m_loop, [this] {
    spdlog::debug("host firewall: nftables ruleset changed");
    request();
  });
  if (!opened) {
    // Still correct at network creation; only later changes (Docker restarting) go unseen.
    spdlog::warn("host firewall: cannot watch nftables events ({}); rules are checked only when networks change",
                 opened.error().message);
    return;
  }
  m_monitor = std::move(opened.value());
}

void HostFirewall::request() {
  m_dirty = true;
  if (!m_running) start_pass();
}

std::vector<FirewallNetwork> HostFirewall::wanted() const {
  std::vector<FirewallNetwork> out;
  if (m_policy == HostFirewallPolicy::leave) return out;
  for (const auto& [name, network] : m_networks) out.push_back(network);
  return out;
}

void HostFirewall::start_pass() {
  m_running = true;
  m_dirty = false;
  m_waiters = std::move(m_next_waiters);
  m_next_waiters.clear();
  round(1);
}

void HostFirewall::round(int number) {
  run_nft_async(m_loop, {"-j", "list", "ruleset"}, {},
                [alive = std::weak_ptr<HostFirewall*>(m_alive), number](Result<std::string> listed) {
                  const auto self = alive.lock();
                  if (!self || *self == nullptr) return;
                  HostFirewall& firewall = **self;
                  if (!listed) return firewall.finish(listed.error());
                  auto parsed = parse_host_ruleset(listed.value(), firewall.m_tag_prefix);
                  if (!parsed) return firewall.finish(parsed.error());
                  firewall.m_ruleset = std::move(parsed.value());
                  std::string script = reconcile_script(firewall.m_ruleset, firewall.wanted(), firewall.m_tag_prefix);
                  if (script.empty()) return firewall.finish(Result<void>{});
                  if (number >= k_max_rounds) {
                    return firewall.finish(Error{EAGAIN, "the ruleset kept changing while our rules were added (" +
                                                             std::to_string(number) + " rounds)"});
                  }
                  spdlog::info("host firewall: applying\n{}", script);
                  run_nft_async(firewall.m_loop, {"-f", "-"}, std::move(script),
                                [alive, number](Result<std::string> applied) {
                                  const auto again = alive.lock();
                                  if (!again || *again == nullptr) return;
                                  HostFirewall& self_again = **again;
                                  // Failure can be a race (a chain deleted meanwhile): the next
                                  // round reads the ruleset again; k_max_rounds bounds it.
                                  if (!applied) {
                                    spdlog::warn("host firewall: {}", applied.error().message);
                                    if (number + 1 >= k_max_rounds) return self_again.finish(applied.error());
                                  }
                                  self_again.round(number + 1);
                                });
                });
}

void HostFirewall::finish(Result<void> outcome) {
  if (outcome) {
    m_error.reset();
  } else {
    m_error = outcome.error().message;
    spdlog::error("host firewall: {}", outcome.error().message);
  }
  m_running = false;
  auto waiters = std::move(m_waiters);
  m_waiters.clear();
  const auto alive = std::weak_ptr<HostFirewall*>(m_alive);
  for (auto& waiter : waiters) {
    waiter(outcome);
    const auto self = alive.lock();
    if (!self || *self == nullptr) return;  // a waiter destroyed us
  }
  if (m_running) return;  // a waiter started the next pass
  if (m_dirty || !m_next_waiters.empty()) return start_pass();
  if (m_idle) m_idle();
}

std::vector<HostFirewallFinding> HostFirewall::findings(const std::string& network) const {
  std::vector<HostFirewallFinding> out;
  const auto it = m_networks.find(network);
  if (it == m_networks.end()) return out;
  const auto comments = rule_comments(it->second, m_tag_prefix);
  for (const auto& blocking : m_ruleset.blocking) {
    HostFirewallFinding finding;
    finding.chain = blocking.chain.label();
    finding.verdict = blocking.verdict;
    if (m_policy == HostFirewallPolicy::leave) {
      finding.action = "left";
    } else if (!blocking.usable) {
      finding.action = "failed: the chain's name is not a plain nft identifier; add the rules by hand";
    } else {
      bool in_place = true;
      for (const auto& comment : comments) {
        bool found = false;
        for (const auto& rule : m_ruleset.ours) found = found || (rule.chain == blocking.rules_chain && rule.comment == comment);
        in_place = in_place && found;
      }
      if (in_place) {
        finding.rules_chain = blocking.rules_chain.label();
        finding.action = "accepted";
      } else {
        finding.action = m_error ? "failed: " + *m_error : "pending";
      }
    }
    out.push_back(std::move(finding));
  }
  return out;
}

void HostFirewall::remove_all(const std::string& run_dir) {
  const std::string prefix = host_firewall_tag_prefix(run_dir);
  auto listed = run_nft({"-j", "list", "ruleset"});
  if (!listed) {
    spdlog::warn("host firewall cleanup: {}", listed.error().message);
    return;
  }
  auto parsed = parse_host_ruleset(listed.value(), prefix);
  if (!parsed) {
    spdlog::warn("host firewall cleanup: {}", parsed.error().message);
    return;
  }
  if (parsed->ours.empty()) return;
  HostRuleset only_ours;
  only_ours.ours = parsed->ours;  // no blocking chains: nothing is wanted, every rule of ours goes
  const std::string script = reconcile_script(only_ours, {}, prefix);
  if (auto removed = run_nft({"-f", "-"}, script); removed) {
    spdlog::warn("removed {} host firewall rule(s) tagged {}", parsed->ours.size(), prefix);
  } else {
    spdlog::error("cannot remove host firewall rules tagged {}: {}", prefix, removed.error().message);
  }
}

}  // namespace squib::platform
