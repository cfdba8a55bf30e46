#include <squib/service/event_hub.hpp>

#include <algorithm>

#include <squib/uv/check.hpp>

namespace squib::service {

namespace {

double unix_time() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

bool wants(const std::vector<std::string>& types, const std::string& type) {
  return std::find(types.begin(), types.end(), type) != types.end();
}

}  // namespace

EventHub::EventHub(uv_loop_t* loop, const AttachmentRegistry& registry) : m_registry(registry) {
  uv::ok(uv_timer_init(loop, m_timer.get()), "uv_timer_init");
  m_timer->data = this;
}

EventHub::~EventHub() = default;

std::vector<std::string> EventHub::selected_types(const proto::SubscribeParams& params) {
  if (!params.events.empty()) return params.events;
  std::vector<std::string> out;
  for (const auto type : proto::k_event_types) {
    if (type != "stats" || params.stats_interval_ms) out.emplace_back(type);
  }
  return out;
}

void EventHub::subscribe(const PeerCredentials& caller, const proto::SubscribeParams& params, EventStream stream) {
  Subscriber subscriber{caller, selected_types(params), std::nullopt, {}, std::move(stream), 0};
  if (params.stats_interval_ms && wants(subscriber.types, "stats")) {
    subscriber.stats_interval = std::chrono::milliseconds(*params.stats_interval_ms);
    subscriber.next_stats = std::chrono::steady_clock::now() + *subscriber.stats_interval;
  }
  if (m_subscribers.empty()) {
    // What the states are now, so that the first tick reports changes, not the status quo.
    m_states.clear();
    auto all = m_registry.stats("", PeerCredentials{});
    if (const auto* list = std::get_if<std::vector<proto::AttachmentStats>>(&all)) {
      for (const auto& entry : *list) m_states[entry.attachment.name] = entry.attachment.state;
    }
    const auto tick = static_cast<std::uint64_t>(k_tick.count());
    uv::ok(uv_timer_start(
               m_timer.get(),
               [](uv_timer_t* timer) {
                 if (auto* self = uv::owner_of<EventHub>(timer)) self->on_tick();
               },
               tick, tick),
           "uv_timer_start");
  }
  m_subscribers.push_back(std::move(subscriber));
}

void EventHub::publish(proto::Event event, std::uint32_t owner_uid) {
  event.time = unix_time();
  for (auto& subscriber : m_subscribers) {
    if (subscriber.stream.alive.expired() || !wants(subscriber.types, event.type)) continue;
    if (subscriber.caller.uid != 0 && subscriber.caller.uid != owner_uid) continue;
    deliver(subscriber, event);
  }
  forget_gone();
}

void EventHub::deliver(Subscriber& subscriber, proto::Event event) {
  event.lost = subscriber.lost;
  if (subscriber.stream.push(proto::encode_event(event))) {
    subscriber.lost = 0;
  } else {
    ++subscriber.lost;
    ++m_lost_total;
  }
}

void EventHub::forget_gone() {
  std::erase_if(m_subscribers, [](const Subscriber& s) { return s.stream.alive.expired(); });
  if (m_subscribers.empty()) uv_timer_stop(m_timer.get());
}

void EventHub::on_tick() {
  forget_gone();
  if (m_subscribers.empty()) return;
  auto all = m_registry.stats("", PeerCredentials{});
  const auto* list = std::get_if<std::vector<proto::AttachmentStats>>(&all);
  if (list == nullptr) return;
  // State changes, for everyone allowed to see them.
  std::map<std::string, std::string> states;
  for (const auto& entry : *list) {
    const auto& name = entry.attachment.name;
    states[name] = entry.attachment.state;
    const auto before = m_states.find(name);
    if (before == m_states.end() || before->second == entry.attachment.state) continue;
    proto::Event event;
    event.type = "state";
    event.name = name;
    event.state = entry.attachment.state;
    event.previous = before->second;
    publish(std::move(event), m_registry.owner_uid(name));
  }
  m_states = std::move(states);
  // Stats for the subscribers whose interval is due.
  const auto now = std::chrono::steady_clock::now();
  const double time = unix_time();
  for (auto& subscriber : m_subscribers) {
    if (!subscriber.stats_interval || now < subscriber.next_stats || subscriber.stream.alive.expired()) continue;
    subscriber.next_stats += *subscriber.stats_interval;
    if (subscriber.next_stats < now) subscriber.next_stats = now + *subscriber.stats_interval;  // fell behind
    for (const auto& entry : *list) {
      if (subscriber.caller.uid != 0 && subscriber.caller.uid != m_registry.owner_uid(entry.attachment.name)) continue;
      proto::Event event;
      event.time = time;
      event.type = "stats";
      event.name = entry.attachment.name;
      event.stats = entry;
      deliver(subscriber, std::move(event));
    }
  }
  forget_gone();
}

}  // namespace squib::service
