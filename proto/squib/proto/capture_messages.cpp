#include <squib/proto/capture_messages.hpp>

#include <squib/proto/messages.hpp>

namespace squib::proto {

namespace {

CaptureDirection direction_from(const json& value, const char* field) {
  if (!value.is_string()) throw ParamError(field, "must be \"in\", \"out\" or \"both\"");
  const auto text = value.get<std::string>();
  if (text == "both") return CaptureDirection::both;
  if (text == "in") return CaptureDirection::in;
  if (text == "out") return CaptureDirection::out;
  throw ParamError(field, "must be \"in\", \"out\" or \"both\"");
}

const json* member(const json& object, const char* field) {
  const auto it = object.find(field);
  return (it == object.end() || it->is_null()) ? nullptr : &*it;
}

}  // namespace

const char* to_string(CaptureDirection direction) {
  switch (direction) {
    case CaptureDirection::both: return "both";
    case CaptureDirection::in: return "in";
    case CaptureDirection::out: return "out";
  }
  return "both";
}

CaptureParams parse_capture_params(const json& params) {
  CaptureParams out;
  out.name = parse_name_param(params, true);
  if (const json* snaplen = member(params, "snaplen")) {
    const std::string range =
        "must be an integer from " + std::to_string(k_min_snaplen) + " to " + std::to_string(k_default_snaplen);
    if (!snaplen->is_number_integer()) throw ParamError("snaplen", range);
    const auto n = snaplen->get<std::int64_t>();
    if (n < k_min_snaplen || n > k_default_snaplen) throw ParamError("snaplen", range);
    out.snaplen = static_cast<std::uint32_t>(n);
  }
  if (const json* direction = member(params, "direction")) out.direction = direction_from(*direction, "direction");
  if (const json* dropped = member(params, "dropped")) {
    if (!dropped->is_boolean()) throw ParamError("dropped", "must be true or false");
    out.dropped = dropped->get<bool>();
  }
  return out;
}

json to_json(const CaptureParams& params) {
  json out{{"name", params.name}};
  if (params.snaplen != k_default_snaplen) out["snaplen"] = params.snaplen;
  if (params.direction != CaptureDirection::both) out["direction"] = to_string(params.direction);
  if (params.dropped) out["dropped"] = true;
  return out;
}

json to_json(const CaptureResult& result) {
  return json{{"name", result.name},       {"snaplen", result.snaplen},   {"direction", to_string(result.direction)},
              {"dropped", result.dropped}, {"linktype", result.linktype}, {"interface", result.interface}};
}

void from_json(const json& value, CaptureResult& out) {
  if (!value.is_object()) throw ParamError("result", "must be an object");
  const auto required = [&](const char* field) -> const json& {
    const json* found = member(value, field);
    if (found == nullptr) throw ParamError(field, "is required");
    return *found;
  };
  out.name = required("name").get<std::string>();
  out.snaplen = required("snaplen").get<std::uint32_t>();
  out.direction = direction_from(required("direction"), "direction");
  out.dropped = required("dropped").get<bool>();
  out.linktype = required("linktype").get<std::uint32_t>();
  out.interface = required("interface").get<std::string>();
}

}  // namespace squib::proto
