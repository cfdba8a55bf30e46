#include <squib/backend/tap_handoff_backend.hpp>

#include <cerrno>

#include <spdlog/spdlog.h>

#include <squib/core/stats.hpp>
#include <squib/platform/linux/netlink.hpp>
#include <squib/platform/linux/vm_bridge_port.hpp>

namespace squib::backend {

using core::DropReason;
using core::Error;
using core::Result;

TapHandoffBackend::TapHandoffBackend(BackendContext context, TapHandoffConfig config)
    : m_context(std::move(context)), m_config(std::move(config)) {}

TapHandoffBackend::~TapHandoffBackend() {
  *m_alive = nullptr;
  m_config.stats_poller->remove(this);
}

void TapHandoffBackend::start(Done ready) {
  if (auto made = make_link(); !made) {
    m_state = BackendState::failed;
    m_fd.reset();
    delete_link();
    return ready(Error{made.error().code, m_config.policy.ifname + ": " + made.error().message});
  }
  m_ready = std::move(ready);
  m_config.nft->run(platform::tap_policy_script(m_config.policy),
                    [alive = std::weak_ptr<TapHandoffBackend*>(m_alive)](Result<std::string> applied) {
                      const auto self = alive.lock();
                      if (self && *self != nullptr) (*self)->rules_applied(std::move(applied));
                    });
}

Result<void> TapHandoffBackend::make_link() {
  const std::string& ifname = m_config.policy.ifname;
  auto netlink = platform::Netlink::open();
  if (!netlink) return netlink.error();
  auto existing = netlink->find_link(ifname);
  if (!existing) return existing.error();
  if (existing.value() && (!m_config.adopt || existing.value()->kind != "tun")) {
    // Ours by name (scoped by the run dir), but not one to adopt: left over from a daemon
    // that died before its state said so. Never handed to a new owner as it is.
    if (auto deleted = netlink->delete_link(ifname); !deleted) return deleted.error();
    existing = std::optional<platform::LinkInfo>();
  }
  if (existing.value()) {
    spdlog::info("{}: adopting TAP {} (it outlived the previous daemon)", m_context.name, ifname);
  } else {
    m_config.adopt = false;
    auto fd = platform::create_handoff_tap(ifname, m_config.tap);
    if (!fd) return fd.error();
    if (m_config.pass_fd) m_fd = std::move(fd.value());
    // handoff "tap": the fd closes here; the TAP persists for the VMM to open by name.
  }
  platform::LinkChange mtu;
  mtu.mtu = m_config.mtu;
  if (auto set = netlink->set_link(ifname, mtu); !set) return set.error();
  // Isolation is the policy table's (it counts what it drops), not the bridge port's.
  if (auto joined = platform::join_bridge_as_vm_port(*netlink, ifname, m_config.master, m_config.policy.mac); !joined) {
    return joined.error();
  }
  platform::LinkChange up;
  up.up = true;
  if (auto set = netlink->set_link(ifname, up); !set) return set.error();
  return {};
}

void TapHandoffBackend::rules_applied(Result<std::string> applied) {
  Done ready = std::exchange(m_ready, nullptr);
  if (!ready) return;  // stopped meanwhile (answered there)
  if (!applied) {
    m_state = BackendState::failed;
    m_fd.reset();
    delete_link();
    return ready(Error{applied.error().code, m_config.policy.ifname + ": nft table bridge " + m_config.policy.table +
                                                 ": " + applied.error().message});
  }
  m_state = BackendState::running;
  m_config.stats_poller->add(this, {m_config.policy.ifname, m_config.policy.table, m_context.stats, &m_carrier});
  spdlog::info("{}: TAP {} handed off{} (bridge {}, mtu {}, owner {}:{}, {} queue{}, nft table bridge {})",
               m_context.name, m_config.policy.ifname, m_config.adopt ? " again (adopted)" : "", m_config.master,
               m_config.mtu, m_config.tap.owner_uid, m_config.tap.owner_gid, m_config.tap.queues,
               m_config.tap.queues == 1 ? "" : "s", m_config.policy.table);
  ready({});
}

void TapHandoffBackend::send(const core::FrameBatch& from_vm) {
  m_context.stats->drop(DropReason::backend_down, from_vm.count);
}

void TapHandoffBackend::delete_link() const {
  auto netlink = platform::Netlink::open();
  if (!netlink) return spdlog::error("{}: {}", m_context.name, netlink.error().message);
  if (auto deleted = netlink->delete_link(m_config.policy.ifname); !deleted && deleted.error().code != ENODEV) {
    spdlog::error("{}: cannot delete TAP {}: {}", m_context.name, m_config.policy.ifname, deleted.error().message);
  }
}

void TapHandoffBackend::stop(std::function<void()> done) {
  m_state = BackendState::stopping;
  m_config.stats_poller->remove(this);
  m_fd.reset();
  if (Done ready = std::exchange(m_ready, nullptr)) ready(Error{ECANCELED, "the attachment was stopped"});
  // Queued behind the table's create if that still runs: the delete never overtakes it.
  m_config.nft->run(
      platform::tap_policy_delete_script(m_config.policy.table),
      [alive = std::weak_ptr<TapHandoffBackend*>(m_alive), done = std::move(done)](Result<std::string> deleted) {
        const auto self = alive.lock();
        if (!self || *self == nullptr) return;
        TapHandoffBackend& backend = **self;
        if (!deleted) {
          spdlog::error("{}: nft table bridge {}: {}", backend.m_context.name, backend.m_config.policy.table,
                        deleted.error().message);
        }
        backend.delete_link();
        backend.m_state = BackendState::stopped;
        spdlog::info("{}: removed TAP {} and nft table bridge {}", backend.m_context.name,
                     backend.m_config.policy.ifname, backend.m_config.policy.table);
        done();
      });
}

std::string TapHandoffBackend::detail() const {
  return "tap " + m_config.policy.ifname + " on " + m_config.master + ", handed off" +
         (m_carrier ? " (open by a VMM)" : " (not open)");
}

}  // namespace squib::backend
