#pragma once

// AttachmentRegistry: the daemon's attachments by name — creating them from `start`
// parameters (socket, backend, policy), tearing them down, answering with the protocol's
// typed results (service/attachment_description.hpp describes one for list/stats), and keeping <run-dir>/state.json in
// step so that a restarted daemon recreates every attachment at the same socket path with the same MAC (design brief
// §4).
//
// Stopping is asynchronous (a child must be reaped): a stopped attachment leaves the name
// table at once (its socket is unlinked synchronously, so the name can be reused) and waits
// in m_retiring (uv/retirement.hpp) until its backend reports done.
//
// Every attachment has an owner uid (persisted). A caller other than root acts on (stop,
// forward, unforward, stats) and sees (list, stats) only its own attachments; what a member
// may ask for at `start` is service/tenancy.hpp's.

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <uv.h>

#include <squib/core/fd.hpp>
#include <squib/core/result.hpp>
#include <squib/proto/capture_messages.hpp>
#include <squib/proto/jsonrpc.hpp>
#include <squib/proto/messages.hpp>
#include <squib/proto/observability.hpp>
#include <squib/proto/resolve_messages.hpp>
#include <squib/relay/attachment.hpp>
#include <squib/service/backend_factory.hpp>
#include <squib/service/daemon_config.hpp>
#include <squib/service/method_error.hpp>
#include <squib/service/peer_credentials.hpp>
#include <squib/service/state_store.hpp>
#include <squib/uv/handle.hpp>
#include <squib/uv/retirement.hpp>

namespace squib::service {

class AttachmentRegistry {
 public:
  AttachmentRegistry(uv_loop_t* loop, const DaemonConfig& config, BackendFactory& factory);
  ~AttachmentRegistry();
  AttachmentRegistry(const AttachmentRegistry&) = delete;
  AttachmentRegistry& operator=(const AttachmentRegistry&) = delete;

  // `start` answers through `done` once the attachment runs or has failed — for host/shared
  // once its network is ready, which may be after start() returned; meanwhile the loop serves
  // everyone else, the attachment is listed as "starting", and stop/forward/stats of it are
  // -32007. With params.fd_passing, the VM's end of a socketpair comes with the result (for
  // SCM_RIGHTS) instead of a socket path; such attachments are not persisted, as no daemon
  // restart could hand the fd back.
  using StartDone = std::function<void(Outcome<proto::StartResult>, core::Fd passed_fd)>;
  void start(const proto::StartParams& params, const PeerCredentials& caller, StartDone done);
  // The forwards now in effect, or a MethodError.
  using Answer = std::function<void(Outcome<proto::ForwardsResult>)>;
  // Answers at once.
  Outcome<proto::NameResult> stop(const std::string& name, const PeerCredentials& caller);
  // Adds (or replaces, by protocol + host address/port) one port forward; removes one. They
  // answer through `done` once the backend applies the change (passt restarted and serving
  // every forwarded port), or with the error that left the previous forwards in effect.
  void forward(const std::string& name, const proto::PortForward& forward, const PeerCredentials& caller, Answer done);
  void unforward(const std::string& name, const proto::PortForward& forward, const PeerCredentials& caller,
                 Answer done);
  // Starts a userspace attachment's child again now (e.g. after it failed) and answers at
  // once; its state and detail in `list` tell how it goes.
  Outcome<proto::NameResult> restart(const std::string& name, const PeerCredentials& caller);
  // Starts capturing an attachment's frames (service/attachment_capture.cpp): the result,
  // and in `client_end` the socket its pcapng records arrive on (passed with the reply).
  Outcome<proto::CaptureResult> capture(const proto::CaptureParams& params, const PeerCredentials& caller,
                                        core::Fd& client_end);
  // The caller's attachments (root: all).
  [[nodiscard]] std::vector<proto::AttachmentInfo> list(const PeerCredentials& caller) const;
  // One attachment's (name given) or all of the caller's (name empty).
  [[nodiscard]] Outcome<std::vector<proto::AttachmentStats>> stats(const std::string& name,
                                                                   const PeerCredentials& caller) const;
  // `resolve`: what the attachment's network DNS answers for `query` (an attachment name or
  // <name>.<domain>), from the attachment's start result; the same visibility as stats of
  // one (-32004 none of that name, -32003 another user's). Only host/shared attachments whose
  // name is a DNS label have a name (core::is_valid_dns_label); others are not_found.
  [[nodiscard]] Outcome<proto::ResolveResult> resolve(const std::string& query, const PeerCredentials& caller) const;
  [[nodiscard]] std::size_t size() const { return m_attachments.size() + m_starting.size(); }
  // The uid that owns attachment `name` (root's, 0, when there is none of that name).
  [[nodiscard]] std::uint32_t owner_uid(const std::string& name) const;
  // Where attachment events go (`subscribe`, service/event_hub.hpp): started, stopped,
  // child_exit, peer_connected, peer_gone, each with its attachment's owner uid.
  using EventSink = std::function<void(proto::Event event, std::uint32_t owner_uid)>;
  void set_event_sink(EventSink sink) { m_event_sink = std::move(sink); }
  // The networks (bridges, subnets, DHCP) the backends have created, for `status`.
  [[nodiscard]] std::vector<proto::NetworkStatus> networks() const { return m_factory.networks(); }
  [[nodiscard]] proto::KernelStatus kernel_status() const { return m_factory.kernel_status(); }

  // Networks as objects (issue 15; service/network_registry.cpp). create/delete are root
  // only (-32003: a network with an uplink sends traffic over the host's routes, which members
  // may never ask for). create: idempotent for an equal spec (-32002 for another one); the
  // networks it makes are persisted in state.json. delete: -32001 unknown, -32008 while
  // attachments use it unless `force`, which stops them first (gone from state.json too).
  // list: everyone; a member sees only its own attachments' names.
  using NetworkAnswer = std::function<void(Outcome<proto::NetworkDescription>)>;
  void create_network(const proto::NetworkSpec& spec, const PeerCredentials& caller, NetworkAnswer done);
  void delete_network(const proto::NetworkDeleteParams& params, const PeerCredentials& caller,
                      std::function<void(Outcome<proto::NameResult>)> done);
  [[nodiscard]] std::vector<proto::NetworkDescription> list_networks(const PeerCredentials& caller) const;
  // Daemon start, before restore(): makes the config file's networks (origin config, not
  // persisted) and state.json's (origin api). Failures are logged.
  void restore_networks(const std::vector<proto::NetworkSpec>& config, const std::vector<proto::NetworkSpec>& recorded);

  // Recreates the attachments `loaded` from state.json (after a restart or crash); a file
  // that could not be read is logged and nothing is restored.
  void restore(core::Result<LoadedState> loaded);
  // Stops every attachment; `done` runs when all are released. State is kept on disk so a
  // restart brings them back; a clean `stop` removes an entry, a shutdown does not.
  void stop_all(std::function<void()> done);

 private:
  struct Entry {
    proto::StartParams params;  // as persisted: mac resolved, owner filled in
    std::unique_ptr<relay::Attachment> attachment;
    proto::NetworkInfo network;  // as `start` reported it (what `resolve` answers from)
  };

  // not_found, or the owner rule's -32003, unless `name` is an attachment the caller may act on.
  [[nodiscard]] std::optional<MethodError> refuse_access(const std::string& name, const PeerCredentials& caller) const;
  [[nodiscard]] static bool visible_to(const Entry& entry, const PeerCredentials& caller);
  struct Starting {
    Entry entry;
    core::Fd passed_fd;
    StartDone done;
    proto::NetworkInfo network;    // from the factory, for the result
    bool backend_started = false;  // past the factory: waiting for the backend's `ready`
    GrantedHook on_granted;        // from the factory: told what the network granted, once ready
  };

  void apply_forwards(Entry& entry, std::vector<proto::PortForward> forwards, Answer done);
  void create(proto::StartParams params, bool fd_passing, StartDone done);
  void finish_start(const std::string& name, std::variant<BackendChoice, BackendRefusal> choice);
  void finish_ready(const std::string& name, const relay::Attachment* identity, core::Result<void> ready);
  static void report_granted(const backend::GrantedLink& granted, proto::StartResult& result);
  void for_each_entry(const std::function<void(const std::string&, const Entry&)>& visit) const;
  void one_stopped();
  void retire(std::unique_ptr<relay::Attachment> attachment, std::function<void()> done = nullptr);
  void save_state() const;
  void emit(const std::string& name, std::string type, const std::function<void(proto::Event&)>& fill = nullptr) const;

  void make_network(const proto::NetworkSpec& spec, proto::Origin origin, NetworkAnswer done);

  uv_loop_t* m_loop;
  const DaemonConfig& m_config;
  BackendFactory& m_factory;
  std::map<std::string, proto::NetworkSpec> m_declared;  // network.create's, persisted
  std::map<std::string, Entry> m_attachments;
  std::map<std::string, Starting> m_starting;  // waiting for their network
  bool m_shutting_down = false;
  std::size_t m_outstanding = 0;  // stop_all: attachments not yet released
  std::function<void()> m_all_stopped;
  uv::Retirement<relay::Attachment> m_retiring;  // stopped ones, until their backend is done
  EventSink m_event_sink;
};

}  // namespace squib::service
