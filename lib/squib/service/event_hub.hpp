#pragma once

// EventHub: the `subscribe` streams (proto/control-protocol.md, "subscribe"). Attachment
// events are published here by the registry (started, stopped, child_exit, peer_connected,
// peer_gone); the hub itself notices state changes and sends stats at each subscriber's
// interval, from one 250 ms timer that runs only while someone subscribes.
//
// Theory of operation:
// - Each subscriber is a control connection in streaming mode (EventStream): push() queues
//   one line on it and never blocks. A subscriber whose connection has more than
//   k_max_queued_bytes unread loses the event (counted); its next delivered event carries
//   `lost: N`, so a slow reader knows, and neither the loop nor the other subscribers wait.
// - Who sees what: a member gets only the events of attachments it owns (its uid), as
//   `list`/`stats` show them; root gets all.
// - A subscriber is forgotten when its connection is gone (EventStream::alive expires).
// - State changes are seen by comparing each attachment's state at every tick (every
//   backend reports its state; none announces changes), so a change shorter than a tick
//   may go unseen; child exits, which are what usually causes one, are announced as they
//   happen (child_exit).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <uv.h>

#include <squib/proto/observability.hpp>
#include <squib/service/attachment_registry.hpp>
#include <squib/service/peer_credentials.hpp>
#include <squib/uv/handle.hpp>

namespace squib::service {

// A subscriber's end of its control connection: push() returns false when the line was not
// queued (the connection's queue is over the bound, or it is closing).
struct EventStream {
  std::function<bool(const std::string& line)> push;
  std::weak_ptr<bool> alive;
};

class EventHub {
 public:
  // Unread bytes a subscriber may have queued before it loses events: a few hundred events,
  // a few stats rounds of every attachment; far below the 1 MiB at which a control
  // connection that does not read its replies is closed.
  static constexpr std::size_t k_max_queued_bytes = 256 * 1024;
  static constexpr std::chrono::milliseconds k_tick{250};

  EventHub(uv_loop_t* loop, const AttachmentRegistry& registry);
  ~EventHub();
  EventHub(const EventHub&) = delete;
  EventHub& operator=(const EventHub&) = delete;

  // The types `params` selects (the `subscribe` result's `events`).
  static std::vector<std::string> selected_types(const proto::SubscribeParams& params);
  void subscribe(const PeerCredentials& caller, const proto::SubscribeParams& params, EventStream stream);
  // An event of an attachment owned by `owner_uid`; `time` is filled in here.
  void publish(proto::Event event, std::uint32_t owner_uid);
  [[nodiscard]] std::size_t subscribers() const { return m_subscribers.size(); }
  // Events not delivered because a subscriber's queue was full, since start (all subscribers).
  [[nodiscard]] std::uint64_t lost_total() const { return m_lost_total; }

 private:
  struct Subscriber {
    PeerCredentials caller;
    std::vector<std::string> types;
    std::optional<std::chrono::milliseconds> stats_interval;
    std::chrono::steady_clock::time_point next_stats;
    EventStream stream;
    std::uint64_t lost = 0;
  };

  void on_tick();
  void deliver(Subscriber& subscriber, proto::Event event);
  void forget_gone();

  const AttachmentRegistry& m_registry;
  uv::Handle<uv_timer_t> m_timer;
  std::vector<Subscriber> m_subscribers;
  std::map<std::string, std::string> m_states;  // attachment → state at the last tick
  std::uint64_t m_lost_total = 0;
};

}  // namespace squib::service
