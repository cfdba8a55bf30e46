#include <squib/proto/observability.hpp>

#include <algorithm>

namespace squib::proto {

namespace {

std::string required_string(const json& value, const char* field) {
  const auto it = value.find(field);
  if (it == value.end() || !it->is_string()) throw ParamError(field, "must be a string");
  return it->get<std::string>();
}

template <class T>
void optional_member(json& out, const char* field, const std::optional<T>& value) {
  if (value) out[field] = *value;
}

template <class T>
std::optional<T> read_optional(const json& value, const char* field) {
  const auto it = value.find(field);
  if (it == value.end() || it->is_null()) return std::nullopt;
  try {
    return it->get<T>();
  } catch (const json::exception&) {
    throw ParamError(field, "has the wrong type");
  }
}

bool known_event_type(std::string_view type) {
  return std::find(k_event_types.begin(), k_event_types.end(), type) != k_event_types.end();
}

}  // namespace

SubscribeParams parse_subscribe_params(const json& params) {
  SubscribeParams out;
  if (!params.is_object()) throw ParamError("params", "must be an object");
  if (const auto it = params.find("events"); it != params.end() && !it->is_null()) {
    if (!it->is_array()) throw ParamError("events", "must be an array of event types");
    for (std::size_t i = 0; i < it->size(); ++i) {
      const auto& type = (*it)[i];
      const std::string field = "events[" + std::to_string(i) + "]";
      if (!type.is_string() || !known_event_type(type.get<std::string>())) {
        std::string known;
        for (const auto name : k_event_types) known += (known.empty() ? "" : ", ") + std::string(name);
        throw ParamError(field, "must be one of " + known);
      }
      out.events.push_back(type.get<std::string>());
    }
  }
  if (const auto it = params.find("stats_interval_ms"); it != params.end() && !it->is_null()) {
    const std::string range = "must be an integer from " + std::to_string(k_min_stats_interval_ms) + " to " +
                              std::to_string(k_max_stats_interval_ms);
    if (!it->is_number_integer()) throw ParamError("stats_interval_ms", range);
    const auto ms = it->get<std::int64_t>();
    if (ms < k_min_stats_interval_ms || ms > k_max_stats_interval_ms) throw ParamError("stats_interval_ms", range);
    out.stats_interval_ms = static_cast<std::uint32_t>(ms);
  }
  if (!out.stats_interval_ms && std::find(out.events.begin(), out.events.end(), "stats") != out.events.end()) {
    throw ParamError("stats_interval_ms", "is required with the stats event");
  }
  return out;
}

json to_json(const SubscribeParams& params) {
  json out = json::object();
  if (!params.events.empty()) out["events"] = params.events;
  optional_member(out, "stats_interval_ms", params.stats_interval_ms);
  return out;
}

json to_json(const SubscribeResult& result) {
  return {{"events", result.events},
          {"stats_interval_ms", result.stats_interval_ms ? json(*result.stats_interval_ms) : json(nullptr)}};
}

void from_json(const json& value, SubscribeResult& out) {
  if (!value.is_object()) throw ParamError("result", "must be an object");
  out.events = read_optional<std::vector<std::string>>(value, "events").value_or(std::vector<std::string>{});
  out.stats_interval_ms = read_optional<std::uint32_t>(value, "stats_interval_ms");
}

json to_json(const Event& event) {
  json out = {{"time", event.time}, {"type", event.type}, {"name", event.name}};
  optional_member(out, "mode", event.mode);
  optional_member(out, "network", event.network);
  optional_member(out, "state", event.state);
  optional_member(out, "previous", event.previous);
  optional_member(out, "exit_status", event.exit_status);
  optional_member(out, "signal", event.signal);
  optional_member(out, "peer", event.peer);
  optional_member(out, "address", event.address);
  optional_member(out, "hostname", event.hostname);
  if (event.stats) out["stats"] = to_json(*event.stats);
  if (event.lost > 0) out["lost"] = event.lost;
  return out;
}

void from_json(const json& value, Event& out) {
  if (!value.is_object()) throw ParamError("params", "must be an object");
  out.time = read_optional<double>(value, "time").value_or(0);
  out.type = required_string(value, "type");
  out.name = required_string(value, "name");
  out.mode = read_optional<std::string>(value, "mode");
  out.network = read_optional<std::string>(value, "network");
  out.state = read_optional<std::string>(value, "state");
  out.previous = read_optional<std::string>(value, "previous");
  out.exit_status = read_optional<std::int64_t>(value, "exit_status");
  out.signal = read_optional<int>(value, "signal");
  out.peer = read_optional<std::string>(value, "peer");
  out.address = read_optional<std::string>(value, "address");
  out.hostname = read_optional<std::string>(value, "hostname");
  if (const auto it = value.find("stats"); it != value.end() && !it->is_null()) {
    out.stats = from_json<AttachmentStats>(*it);
  }
  out.lost = read_optional<std::uint64_t>(value, "lost").value_or(0);
}

std::string encode_event(const Event& event) {
  return json{{"jsonrpc", "2.0"}, {"method", "event"}, {"params", to_json(event)}}.dump();
}

std::optional<Event> parse_event(std::string_view line) {
  const json doc = json::parse(line, nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || doc.value("method", "") != "event" || doc.contains("id")) {
    return std::nullopt;
  }
  try {
    return from_json<Event>(doc.at("params"));
  } catch (const ParamError&) {
    return std::nullopt;
  } catch (const json::exception&) {
    return std::nullopt;
  }
}

json to_json(const MetricsResult& result) { return {{"content_type", result.content_type}, {"text", result.text}}; }

void from_json(const json& value, MetricsResult& out) {
  if (!value.is_object()) throw ParamError("result", "must be an object");
  out.content_type = required_string(value, "content_type");
  out.text = required_string(value, "text");
}

}  // namespace squib::proto
