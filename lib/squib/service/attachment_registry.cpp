#include <squib/service/attachment_registry.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstring>

#include <spdlog/spdlog.h>

#include <squib/core/frame_view.hpp>
#include <squib/core/ipv6_prefix.hpp>
#include <squib/core/names.hpp>
#include <squib/core/vnet_header.hpp>
#include <squib/service/attachment_description.hpp>
#include <squib/service/port_probe.hpp>
#include <squib/service/state_store.hpp>
#include <squib/service/tenancy.hpp>

namespace squib::service {

using proto::ErrorCode;

namespace {

// Removes a stale socket left by a crashed daemon; refuses anything that is not a socket
// (a symlink planted in the run dir is never followed or removed).
std::optional<std::string> clear_stale_socket(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return std::nullopt;  // nothing there
  if (!S_ISSOCK(st.st_mode)) return path + " exists and is not a socket; refusing to replace it";
  if (::unlink(path.c_str()) != 0) return path + ": " + std::strerror(errno);
  return std::nullopt;
}

// The layer-2 segment an attachment's frames share with others: its network (host, shared)
// or the bridge it joins (bridged). A userspace attachment has a stack of its own.
std::optional<std::string> l2_segment(const proto::StartParams& params) {
  switch (params.mode) {
    case proto::Mode::host:
    case proto::Mode::shared: return "network '" + params.network + "'";
    case proto::Mode::bridged: return "bridge " + params.bridge.value_or("");
    case proto::Mode::userspace: return std::nullopt;
  }
  return std::nullopt;
}

// Recorded in state.json and restored after a daemon restart: not an attachment whose VM
// end went with the start reply and whose link dies with the daemon — fd_passing (the
// socketpair), or a handed-off passt (passt runs with --fd and dies with the daemon,
// PR_SET_PDEATHSIG; a new passt could not reach the VMM's end).
bool persisted(const proto::StartParams& params) {
  return !params.fd_passing && !(params.handoff && params.mode == proto::Mode::userspace);
}

}  // namespace

AttachmentRegistry::AttachmentRegistry(uv_loop_t* loop, const DaemonConfig& config, BackendFactory& factory)
    : m_loop(loop), m_config(config), m_factory(factory), m_retiring(loop) {
  // A lease dnsmasq gave goes to the attachment of that MAC on that network, if any.
  m_factory.set_lease_observer([this](const std::string& network, const std::string& mac, const std::string& address,
                                      const std::string& hostname) {
    std::string name;
    for_each_entry([&](const std::string& entry_name, const Entry& entry) {
      if (entry.params.network == network && entry.params.mac &&
          core::MacAddress::parse(*entry.params.mac) == core::MacAddress::parse(mac) &&
          (entry.params.mode == proto::Mode::host || entry.params.mode == proto::Mode::shared)) {
        name = entry_name;
      }
    });
    if (name.empty()) return;
    emit(name, "lease", [&](proto::Event& event) {
      event.address = address;
      if (!hostname.empty()) event.hostname = hostname;
    });
  });
}

AttachmentRegistry::~AttachmentRegistry() { m_factory.set_lease_observer(nullptr); }

void AttachmentRegistry::start(const proto::StartParams& requested, const PeerCredentials& caller, StartDone done) {
  const auto refuse = [&](MethodError error) { done(std::move(error), core::Fd()); };
  // (While shutting down the dispatcher answers -32006 before anything reaches here.)
  if (m_starting.contains(requested.name)) {
    return refuse(MethodError{ErrorCode::already_exists, "attachment '" + requested.name + "' is already starting"});
  }
  if (m_attachments.contains(requested.name)) {
    return refuse(MethodError{ErrorCode::already_exists, "attachment '" + requested.name + "' already exists"});
  }
  if (m_attachments.size() + m_starting.size() >= m_config.max_attachments) {
    return refuse(
        MethodError{ErrorCode::limit_reached,
                    "the daemon already has " + std::to_string(m_config.max_attachments) + " attachments (the limit)"});
  }
  if (auto refused = refuse_start(m_config, caller, requested)) return refuse(*refused);
  if (!is_root(caller)) {
    std::size_t owned = 0;
    for_each_entry([&](const std::string&, const Entry& entry) {
      if (entry.params.owner && entry.params.owner->uid == caller.uid) ++owned;
    });
    if (owned >= m_config.max_attachments_per_uid) {
      return refuse(MethodError{ErrorCode::limit_reached,
                                "uid " + std::to_string(caller.uid) + " already has " + std::to_string(owned) +
                                    " attachments (the per-uid limit, --max-attachments-per-uid)"});
    }
  }
  proto::StartParams params = requested;
  if (!params.owner) params.owner = proto::Owner{caller.uid, caller.gid};
  if (!params.mac) params.mac = core::MacAddress::derive_from_name(params.name).to_string();
  // Two ports with one MAC on one segment make the bridge's forwarding table follow whichever
  // sent last: one VM would receive the other's traffic. Refused for everyone.
  if (const auto segment = l2_segment(params)) {
    std::optional<MethodError> taken;
    for_each_entry([&](const std::string& other, const Entry& entry) {
      if (!taken && entry.params.mac == params.mac && l2_segment(entry.params) == segment) {
        taken =
            MethodError{ErrorCode::invalid_params, "mac: " + *params.mac + " is already used by attachment '" + other +
                                                       "' on " + *segment + "; give another or leave it out"};
      }
    });
    if (taken) return refuse(*taken);
  }
  for (std::size_t i = 0; i < params.forwards.size(); ++i) {
    if (auto problem = host_port_problem(params.forwards[i])) {
      return refuse(MethodError{ErrorCode::invalid_params, "forwards[" + std::to_string(i) + "].host: " + *problem});
    }
  }
  const bool fd_passing = params.fd_passing;
  create(std::move(params), fd_passing, std::move(done));
}

void AttachmentRegistry::create(proto::StartParams params, bool fd_passing, StartDone done) {
  const auto refuse = [&](MethodError error) { done(std::move(error), core::Fd()); };
  // A handed-off TAP has no VM port: the VMM opens the TAP itself.
  const bool handoff = params.handoff.has_value();
  const std::string socket_path = fd_passing || handoff ? std::string() : m_config.socket_path(params.name);
  if (!fd_passing && !handoff) {
    if (auto problem = clear_stale_socket(socket_path)) return refuse(MethodError{ErrorCode::backend_failed, *problem});
  }

  const auto mac = core::MacAddress::parse(*params.mac).value_or(core::MacAddress::derive_from_name(params.name));
  // Offload: 64 KiB TCP super-frames from and to the VM (core/vnet_header.hpp).
  const std::size_t max_frame =
      params.offload ? core::k_offload_max_frame : params.mtu + core::k_ethernet_header_size + core::k_vlan_tag_size;
  const relay::AttachmentPolicy policy{
      mac, true, std::nullopt, std::nullopt,
      params.guard == proto::Guard::mac ? relay::GuardLevel::mac : relay::GuardLevel::full};
  auto attachment = std::make_unique<relay::Attachment>(params.name, policy);

  core::Fd passed_fd;
  core::Result<std::unique_ptr<relay::VmPort>> port = core::Error{};
  if (handoff) {
    port = std::unique_ptr<relay::VmPort>();
  } else if (fd_passing) {
    // One frame per datagram on a connected pair: the VM end travels to the client.
    auto pair = relay::VmPort::open_pair(m_loop, max_frame, attachment->stats(), *attachment);
    if (!pair) return refuse(MethodError{ErrorCode::backend_failed, pair.error().message});
    passed_fd = std::move(pair.value().vm_end);
    port = std::move(pair.value().port);
  } else {
    relay::VmPortConfig port_config;
    port_config.path = socket_path;
    port_config.max_frame = max_frame;
    port_config.uid = params.owner->uid;
    port_config.gid = params.owner->gid;
    port_config.group_access = params.owner->group_access;
    port = relay::VmPort::open(m_loop, port_config, attachment->stats(), *attachment);
  }
  if (!port) return refuse(MethodError{ErrorCode::backend_failed, port.error().message});
  relay::VmPort* port_ptr = port.value().get();  // null with handoff: no frame passes the daemon
  if (port_ptr != nullptr) attachment->set_port(std::move(port.value()));

  backend::BackendContext context;
  context.loop = m_loop;
  context.name = params.name;
  context.mac = mac;
  context.mtu = params.mtu;
  context.max_frame = max_frame;
  context.offload = params.offload;
  context.to_vm = port_ptr;
  context.stats = &attachment->stats();
  // Events carry the name only: the registry looks the attachment up when they happen, and
  // a stopped one is no longer there to report.
  const std::string event_name = params.name;
  context.on_child_exit = [this, event_name](std::int64_t exit_status, int term_signal) {
    emit(event_name, "child_exit", [&](proto::Event& event) {
      event.exit_status = exit_status;
      event.signal = term_signal;
    });
  };
  if (port_ptr != nullptr) {
    port_ptr->set_peer_observer([this, event_name](std::optional<std::string> peer) {
      emit(event_name, peer ? "peer_connected" : "peer_gone", [&](proto::Event& event) { event.peer = peer; });
    });
  }
  // Listed (as "starting") and persisted from now on; the factory answers when the network
  // is ready, possibly before make() returns.
  const std::string name = params.name;
  const proto::StartParams for_factory = params;
  m_starting.emplace(
      name,
      Starting{
          Entry{std::move(params), std::move(attachment), {}}, std::move(passed_fd), std::move(done), {}, false, {}});
  m_factory.make(for_factory, std::move(context), [this, name](std::variant<BackendChoice, BackendRefusal> choice) {
    finish_start(name, std::move(choice));
  });
}

void AttachmentRegistry::finish_start(const std::string& name, std::variant<BackendChoice, BackendRefusal> choice) {
  auto node = m_starting.extract(name);
  if (node.empty()) return;
  Starting starting = std::move(node.mapped());
  proto::StartParams& params = starting.entry.params;
  auto& attachment = starting.entry.attachment;
  const auto fail = [&](MethodError error, bool network_acquired) {
    if (network_acquired) {
      retire(std::move(attachment), [this, params, stopping = m_shutting_down] {
        m_factory.released(params);
        if (stopping) one_stopped();
      });
    } else {
      retire(std::move(attachment));
      if (m_shutting_down) one_stopped();
    }
    save_state();  // it was listed while starting
    starting.done(std::move(error), core::Fd());
  };
  if (auto* refusal = std::get_if<BackendRefusal>(&choice))
    return fail(MethodError{refusal->code, refusal->message}, false);
  auto& chosen = std::get<BackendChoice>(choice);
  if (m_shutting_down) {
    attachment->set_backend(std::move(chosen.backend));
    return fail(MethodError{ErrorCode::shutting_down, "the daemon is shutting down"}, true);
  }
  // host/shared: the guest's static DHCP address is known, so IPv4/ARP from any other source
  // is dropped from now on (relay/source_guard.hpp). Set before the backend starts. Recorded
  // in the params so that a restart restores exactly this address.
  if (chosen.guest_ipv4) attachment->set_guest_ipv4(*chosen.guest_ipv4);
  // Its IPv6 network address (SLAAC), when the network has one: IPv6 from it and from the
  // guest's link-local address pass, nothing else.
  if (chosen.network.address6) attachment->set_guest_ipv6(core::parse_ipv6(*chosen.network.address6));
  if (chosen.network.address) params.address = chosen.network.address;
  // The network's MTU bounds the attachment's (issue 15): the result reports it.
  if (chosen.mtu && *chosen.mtu < params.mtu) {
    spdlog::info("{}: mtu {} lowered to network {}'s {}", name, params.mtu, params.network, *chosen.mtu);
    params.mtu = *chosen.mtu;
  }
  // Likewise the network's IPv4 subnet, chosen by the daemon when none was given: networks are
  // recreated in the order their attachments are restored (by name), which need not be the
  // order they were first made in, so each must carry its own subnet back.
  if (chosen.network.subnet && (params.mode == proto::Mode::host || params.mode == proto::Mode::shared)) {
    params.subnet = chosen.network.subnet;
  }
  // Likewise the network's IPv6 /64 (issue 13): whichever attachment a restart restores first
  // recreates the network with it, so an explicit subnet6 survives in any order.
  if (chosen.network.subnet6) params.subnet6 = chosen.network.subnet6;
  // Likewise the network's DNS domain: whichever attachment recreates the network after a
  // restart creates it with the domain it had.
  if (chosen.network.domain) params.domain = chosen.network.domain;
  // Back into the table while the backend gets ready (passt proving it runs): still listed
  // as starting, still answered -32007 by the others.
  auto* backend = chosen.backend.get();
  auto* identity = attachment.get();
  attachment->set_backend(std::move(chosen.backend));
  starting.network = std::move(chosen.network);
  starting.on_granted = std::move(chosen.on_granted);
  starting.backend_started = true;
  m_starting.insert_or_assign(name, std::move(starting));
  backend->start([this, name, identity](core::Result<void> ready) { finish_ready(name, identity, std::move(ready)); });
}

void AttachmentRegistry::finish_ready(const std::string& name, const relay::Attachment* identity,
                                      core::Result<void> ready) {
  const auto found = m_starting.find(name);
  if (found == m_starting.end() || found->second.entry.attachment.get() != identity) return;  // answered by stop_all
  auto node = m_starting.extract(found);
  Starting starting = std::move(node.mapped());
  const proto::StartParams& params = starting.entry.params;
  if (!ready) {
    retire(std::move(starting.entry.attachment), [this, params] { m_factory.released(params); });
    save_state();  // it was listed while starting
    starting.done(MethodError{ErrorCode::backend_failed, ready.error().message}, core::Fd());
    return;
  }
  const bool fd_passing = static_cast<bool>(starting.passed_fd);
  const bool handoff = params.handoff.has_value();
  const bool passt_handoff = handoff && params.mode == proto::Mode::userspace;
  // handoff "fd": the TAP's fd, or passt's socket, goes with the reply (the backend keeps no copy).
  if (handoff) starting.passed_fd = starting.entry.attachment->backend()->take_handoff_fd();
  const std::string socket_path = fd_passing || handoff ? std::string() : m_config.socket_path(name);
  const std::string where =
      passt_handoff ? "passt's socket handed off (fd)"
      : handoff ? "TAP " + starting.network.tap.value_or("") + " handed off (" + proto::to_string(*params.handoff) + ")"
      : fd_passing ? "socket passed over the control connection"
                   : "socket " + socket_path;
  spdlog::info("{}: started ({} mode, mac {}, mtu {}, {})", name, proto::to_string(params.mode), *params.mac,
               params.mtu, where);
  proto::StartResult result{name,
                            params.mode,
                            std::nullopt,
                            *params.mac,
                            params.mtu,
                            std::nullopt,
                            std::move(starting.network),
                            std::nullopt,
                            handoff ? std::optional<std::string>(proto::to_string(*params.handoff)) : std::nullopt,
                            !passt_handoff};
  if (!fd_passing && !handoff) result.socket = socket_path;
  if (handoff && !passt_handoff) result.tap = result.network.tap;
  const backend::GrantedLink granted = starting.entry.attachment->backend()->granted();
  report_granted(granted, result);
  if (params.offload) {
    result.offload = true;
    if (!result.max_packet_size) result.max_packet_size = core::k_offload_max_frame;
  }
  if (starting.on_granted) starting.on_granted(granted);
  const std::string mode = proto::to_string(params.mode);
  const std::string network = params.network;
  starting.entry.network = result.network;
  m_attachments.emplace(name, std::move(starting.entry));  // `params` is moved from now
  save_state();
  emit(name, "started", [&](proto::Event& event) {
    event.mode = mode;
    event.network = network;
  });
  starting.done(std::move(result), std::move(starting.passed_fd));
}

// The result says what the network granted where it differs from what was asked (vmnet's
// MTU and addressing); the VM's MAC is always its own (vmnet does not allocate one for us).
void AttachmentRegistry::report_granted(const backend::GrantedLink& granted, proto::StartResult& result) {
  if (granted.mtu) result.mtu = *granted.mtu;
  result.max_packet_size = granted.max_packet_size;
  for (const auto& [field, value] :
       {std::pair{&result.network.subnet, &granted.subnet}, std::pair{&result.network.gateway, &granted.gateway},
        std::pair{&result.network.dhcp_range, &granted.dhcp_range}}) {
    if (*value) *field = *value;
  }
}

void AttachmentRegistry::for_each_entry(const std::function<void(const std::string&, const Entry&)>& visit) const {
  // In name order across both tables (a name is in one of them), as `list` shows them.
  auto running = m_attachments.begin();
  auto starting = m_starting.begin();
  while (running != m_attachments.end() || starting != m_starting.end()) {
    if (starting == m_starting.end() || (running != m_attachments.end() && running->first < starting->first)) {
      visit(running->first, running->second);
      ++running;
    } else {
      visit(starting->first, starting->second.entry);
      ++starting;
    }
  }
}

bool AttachmentRegistry::visible_to(const Entry& entry, const PeerCredentials& caller) {
  return is_root(caller) || (entry.params.owner && entry.params.owner->uid == caller.uid);
}

std::optional<MethodError> AttachmentRegistry::refuse_access(const std::string& name,
                                                             const PeerCredentials& caller) const {
  if (const auto starting = m_starting.find(name); starting != m_starting.end()) {
    const auto& owner = starting->second.entry.params.owner;
    if (auto refused = refuse_other_owner(caller, name, owner ? owner->uid : 0)) return refused;
    return MethodError{ErrorCode::busy,
                       "attachment '" + name + "' is still starting; ask again once its start has answered"};
  }
  const auto it = m_attachments.find(name);
  if (it == m_attachments.end()) return MethodError{ErrorCode::not_found, "no attachment named '" + name + "'"};
  const std::uint32_t owner = it->second.params.owner ? it->second.params.owner->uid : 0;
  return refuse_other_owner(caller, name, owner);
}

Outcome<proto::NameResult> AttachmentRegistry::stop(const std::string& name, const PeerCredentials& caller) {
  if (auto refused = refuse_access(name, caller)) return *refused;
  emit(name, "stopped");
  auto it = m_attachments.find(name);
  auto attachment = std::move(it->second.attachment);
  auto params = std::move(it->second.params);
  m_attachments.erase(it);
  save_state();
  retire(std::move(attachment), [this, params = std::move(params)] { m_factory.released(params); });
  spdlog::info("{}: stopped", name);
  return proto::NameResult{name};
}

void AttachmentRegistry::retire(std::unique_ptr<relay::Attachment> attachment, std::function<void()> done) {
  m_retiring.retire(
      std::move(attachment),
      [](relay::Attachment& stopping, std::function<void()> stopped) { stopping.stop(std::move(stopped)); },
      std::move(done));
}

void AttachmentRegistry::stop_all(std::function<void()> done) {
  m_shutting_down = true;
  // Every running attachment, and every start still waiting for its network (finish_start
  // counts those down as they answer).
  m_outstanding = m_attachments.size() + m_starting.size();
  m_all_stopped = std::move(done);
  auto attachments = std::move(m_attachments);
  m_attachments.clear();
  if (m_outstanding == 0) return std::exchange(m_all_stopped, nullptr)();
  // Starts whose backend is getting ready are answered now and stop with the rest (their
  // backend's cancelled `ready` then finds nothing to finish).
  for (auto it = m_starting.begin(); it != m_starting.end();) {
    if (!it->second.backend_started) {
      ++it;
      continue;
    }
    Starting starting = std::move(it->second);
    it = m_starting.erase(it);
    starting.done(MethodError{ErrorCode::shutting_down, "the daemon is shutting down"}, core::Fd());
    retire(std::move(starting.entry.attachment), [this, params = std::move(starting.entry.params)] {
      m_factory.released(params);
      one_stopped();
    });
  }
  for (auto& [name, entry] : attachments) {
    retire(std::move(entry.attachment), [this, params = std::move(entry.params)] {
      m_factory.released(params);
      one_stopped();
    });
  }
}

void AttachmentRegistry::one_stopped() {
  if (m_outstanding > 0 && --m_outstanding == 0 && m_all_stopped) std::exchange(m_all_stopped, nullptr)();
}

void AttachmentRegistry::restore(core::Result<LoadedState> loaded) {
  if (!loaded) {
    spdlog::error("cannot read {}: {}; starting with no attachments", m_config.state_path(), loaded.error().message);
    return;
  }
  for (const auto& reason : loaded->rejected) spdlog::warn("{}: skipped {}", m_config.state_path(), reason);
  for (auto& params : loaded->attachments) {
    if (!params.owner) params.owner = proto::Owner{0, 0};
    if (!params.mac) params.mac = core::MacAddress::derive_from_name(params.name).to_string();
    const std::string name = params.name;
    if (!persisted(params)) continue;  // skip hand-edited entries too
    create(std::move(params), false, [this, name](Outcome<proto::StartResult> outcome, core::Fd) {
      if (const auto* error = std::get_if<MethodError>(&outcome)) {
        spdlog::error("{}: could not restore: {}", name, error->message);
      } else {
        spdlog::info("{}: restored from {}", name, m_config.state_path());
      }
    });
  }
  save_state();
}

void AttachmentRegistry::save_state() const {
  std::vector<proto::StartParams> all;
  all.reserve(m_attachments.size() + m_starting.size());
  for_each_entry([&](const std::string&, const Entry& entry) {
    if (persisted(entry.params)) all.push_back(entry.params);
  });
  std::vector<proto::NetworkSpec> networks;
  for (const auto& [name, spec] : m_declared) networks.push_back(spec);
  if (auto saved = service::save_state(m_config.state_path(), all, networks); !saved) {
    // The daemon keeps serving; only crash recovery of this change is at risk.
    spdlog::error("cannot write {}: {}", m_config.state_path(), saved.error().message);
  }
}

void AttachmentRegistry::apply_forwards(Entry& entry, std::vector<proto::PortForward> forwards, Answer done) {
  auto* backend = entry.attachment->backend();
  if (backend == nullptr) return done(MethodError{ErrorCode::backend_failed, "the attachment has no backend"});
  const std::string name = entry.params.name;
  const relay::Attachment* identity = entry.attachment.get();
  backend->set_forwards(forwards, [this, name, identity, forwards, done = std::move(done)](core::Result<void> applied) {
    const auto it = m_attachments.find(name);
    if (!applied || it == m_attachments.end() || it->second.attachment.get() != identity) {
      const std::string why = applied ? "the attachment was stopped meanwhile" : applied.error().message;
      return done(MethodError{ErrorCode::backend_failed, "the forwards of '" + name + "' are unchanged: " + why});
    }
    it->second.params.forwards = forwards;
    save_state();
    done(proto::ForwardsResult{name, forwards});
  });
}

void AttachmentRegistry::forward(const std::string& name, const proto::PortForward& forward,
                                 const PeerCredentials& caller, Answer done) {
  if (auto refused = refuse_access(name, caller)) return done(*refused);
  if (auto refused = refuse_forward(m_config, caller, forward, "host")) return done(*refused);
  Entry& entry = m_attachments.at(name);
  auto forwards = entry.params.forwards;
  const auto replaced = std::erase_if(forwards, [&](const auto& f) {
    return f.protocol == forward.protocol && f.host_address == forward.host_address && f.host_port == forward.host_port;
  });
  // A new host port must be free now, for a clear answer before passt is touched (passt
  // failing to bind it would also be answered, after a restart that resets connections).
  // A replaced forward's port is this attachment's own.
  if (replaced == 0) {
    if (auto problem = host_port_problem(forward))
      return done(MethodError{ErrorCode::invalid_params, "host: " + *problem});
  }
  forwards.push_back(forward);
  apply_forwards(entry, std::move(forwards), std::move(done));
}

Outcome<proto::NameResult> AttachmentRegistry::restart(const std::string& name, const PeerCredentials& caller) {
  if (auto refused = refuse_access(name, caller)) return *refused;
  auto* backend = m_attachments.at(name).attachment->backend();
  if (backend == nullptr) return MethodError{ErrorCode::backend_failed, "the attachment has no backend"};
  if (auto restarted = backend->restart(); !restarted) {
    return MethodError{ErrorCode::backend_failed, restarted.error().message};
  }
  return proto::NameResult{name};
}

void AttachmentRegistry::unforward(const std::string& name, const proto::PortForward& forward,
                                   const PeerCredentials& caller, Answer done) {
  if (auto refused = refuse_access(name, caller)) return done(*refused);
  Entry& entry = m_attachments.at(name);
  auto forwards = entry.params.forwards;
  const auto before = forwards.size();
  std::erase_if(forwards, [&](const auto& f) {
    return f.protocol == forward.protocol && f.host_address == forward.host_address && f.host_port == forward.host_port;
  });
  if (forwards.size() == before) {
    return done(MethodError{ErrorCode::not_found, "no " + forward.protocol + " forward from " + forward.host_address +
                                                      ":" + std::to_string(forward.host_port) + " on '" + name + "'"});
  }
  apply_forwards(entry, std::move(forwards), std::move(done));
}

std::uint32_t AttachmentRegistry::owner_uid(const std::string& name) const {
  std::uint32_t owner = 0;
  for_each_entry([&](const std::string& entry_name, const Entry& entry) {
    if (entry_name == name && entry.params.owner) owner = entry.params.owner->uid;
  });
  return owner;
}

void AttachmentRegistry::emit(const std::string& name, std::string type,
                              const std::function<void(proto::Event&)>& fill) const {
  if (!m_event_sink) return;
  proto::Event event;
  event.type = std::move(type);
  event.name = name;
  if (fill) fill(event);
  m_event_sink(std::move(event), owner_uid(name));
}

std::vector<proto::AttachmentInfo> AttachmentRegistry::list(const PeerCredentials& caller) const {
  std::vector<proto::AttachmentInfo> out;
  for_each_entry([&](const std::string&, const Entry& entry) {
    if (visible_to(entry, caller)) out.push_back(describe_attachment(entry.params, *entry.attachment, m_config));
  });
  return out;
}

Outcome<std::vector<proto::AttachmentStats>> AttachmentRegistry::stats(const std::string& name,
                                                                       const PeerCredentials& caller) const {
  std::vector<proto::AttachmentStats> out;
  if (name.empty()) {
    for_each_entry([&](const std::string&, const Entry& entry) {  // starting ones too, as in `list`
      if (visible_to(entry, caller)) out.push_back(attachment_stats(entry.params, *entry.attachment, m_config));
    });
    return out;
  }
  if (auto refused = refuse_access(name, caller)) return *refused;
  const Entry& entry = m_attachments.at(name);
  out.push_back(attachment_stats(entry.params, *entry.attachment, m_config));
  return out;
}

Outcome<proto::ResolveResult> AttachmentRegistry::resolve(const std::string& query,
                                                          const PeerCredentials& caller) const {
  // An attachment name, else <label>.<domain> of an attachment named <label>.
  std::string name = query;
  std::optional<std::string> domain;
  if (!m_attachments.contains(query) && !m_starting.contains(query)) {
    if (const auto dot = query.find('.'); dot != std::string::npos) {
      name = query.substr(0, dot);
      domain = query.substr(dot + 1);
    }
  }
  const auto no_name = [&query] { return MethodError{ErrorCode::not_found, "no attachment is named '" + query + "'"}; };
  if (!m_attachments.contains(name) && !m_starting.contains(name)) return no_name();
  if (auto refused = refuse_access(name, caller)) return *refused;
  const Entry& entry = m_attachments.at(name);
  const proto::NetworkInfo& network = entry.network;
  if (!network.domain || !network.address) {
    return MethodError{ErrorCode::not_found, "attachment '" + name + "' has no DNS name: only host and shared " +
                                                 "attachments are named in their network's DNS"};
  }
  if (!core::is_valid_dns_label(name)) {
    return MethodError{ErrorCode::not_found, "attachment '" + name + "' has no DNS name: its name is not a DNS " +
                                                 "label ([A-Za-z0-9-], 1-63 characters)"};
  }
  // DNS compares names without regard to case (RFC 4343).
  const auto lower = [](std::string text) {
    for (auto& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return text;
  };
  if (domain && lower(*domain) != lower(*network.domain)) return no_name();
  return proto::ResolveResult{name, name + "." + *network.domain, *network.address, network.address6};
}

}  // namespace squib::service
