#include <squib/proto/resolve_messages.hpp>

#include <squib/proto/messages.hpp>

namespace squib::proto {

namespace {

const json* member(const json& object, const char* field) {
  const auto it = object.find(field);
  return (it == object.end() || it->is_null()) ? nullptr : &*it;
}

std::string required_string(const json& object, const char* field) {
  const json* found = member(object, field);
  if (found == nullptr) throw ParamError(field, "is required");
  if (!found->is_string()) throw ParamError(field, "must be a string");
  return found->get<std::string>();
}

}  // namespace

ResolveParams parse_resolve_params(const json& params) {
  if (!params.is_object()) throw ParamError("name", "is required");
  ResolveParams out;
  out.name = required_string(params, "name");
  if (out.name.empty() || out.name.size() > k_max_dns_name_length) {
    throw ParamError("name", "must be an attachment name or <name>.<domain>, at most 253 characters");
  }
  return out;
}

json to_json(const ResolveParams& params) { return {{"name", params.name}}; }

json to_json(const ResolveResult& result) {
  json out{{"name", result.name}, {"fqdn", result.fqdn}, {"address", result.address}};
  if (result.address6) out["address6"] = *result.address6;
  return out;
}

void from_json(const json& value, ResolveResult& out) {
  if (!value.is_object()) throw ParamError("result", "must be an object");
  out.name = required_string(value, "name");
  out.fqdn = required_string(value, "fqdn");
  out.address = required_string(value, "address");
  out.address6.reset();
  if (member(value, "address6") != nullptr) out.address6 = required_string(value, "address6");
}

}  // namespace squib::proto
