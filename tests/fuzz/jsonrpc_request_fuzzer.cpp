// Fuzz target: one control-socket request line, as the dispatcher sees it, minus the
// registry: proto::parse_request, then the params parsers (parse_start_params,
// parse_name_param, parse_forward_params, parse_network_spec, parse_network_delete_params) on whatever params it
// accepted, then the encoders on what came out.
//
// Properties (beyond "no crash, no sanitizer report, no uncaught exception"):
// - parse_request never throws; its error codes are -32700, -32600 or -32602;
// - params of an accepted request are always an object;
// - parse_start_params throws only ParamError (which names a field) — a json::exception
//   would reach the client as an unhelpful "invalid params: [json.exception…]";
// - accepted StartParams and PortForwards survive to_json → parse unchanged;
// - every response we would send encodes without throwing and parses back (parse_response)
//   with the same code; the raw input as a reply (parse_response) never throws or crashes.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include <squib/proto/jsonrpc.hpp>
#include <squib/proto/messages.hpp>
#include <squib/proto/network_messages.hpp>

#include "fuzz/fuzz_check.hpp"

namespace {

using squib::proto::ErrorCode;
using squib::proto::json;

void check_response_round_trip(const std::string& line, int code) {
  const auto response = squib::proto::parse_response(line);
  FUZZ_CHECK(response.has_value());
  FUZZ_CHECK(!response->ok());
  FUZZ_CHECK(response->error_code == code);
}

void check_start_params(const json& params) {
  squib::proto::StartParams parsed;
  try {
    parsed = squib::proto::parse_start_params(params);
  } catch (const squib::proto::ParamError& e) {
    FUZZ_CHECK(!e.field().empty());
    FUZZ_CHECK(std::string_view(e.what()).starts_with(e.field() + ": "));
    return;
  }
  const json once = squib::proto::to_json(parsed);
  const auto again = squib::proto::parse_start_params(once);  // must not throw
  FUZZ_CHECK(squib::proto::to_json(again) == once);
  FUZZ_CHECK(again.name == parsed.name);
  FUZZ_CHECK(again.mtu == parsed.mtu);
  FUZZ_CHECK(again.mac == parsed.mac);
  FUZZ_CHECK(parsed.mtu >= squib::proto::k_min_mtu && parsed.mtu <= squib::proto::k_max_mtu);
}

// network.create/delete params (and state.json's/config's networks): ParamError only, and
// an accepted spec survives to_json → parse unchanged.
void check_network_params(const json& params) {
  try {
    const auto spec = squib::proto::parse_network_spec(params);
    FUZZ_CHECK(squib::proto::parse_network_spec(squib::proto::to_json(spec)) == spec);
    FUZZ_CHECK(!spec.uplink || spec.uplink->vxlan.has_value());
  } catch (const squib::proto::ParamError& e) {
    FUZZ_CHECK(std::string_view(e.what()).starts_with(e.field() + ": "));
  }
  try {
    const auto parsed = squib::proto::parse_network_delete_params(params);
    const auto again = squib::proto::parse_network_delete_params(squib::proto::to_json(parsed));
    FUZZ_CHECK(again.name == parsed.name && again.force == parsed.force);
  } catch (const squib::proto::ParamError& e) {
    FUZZ_CHECK(!e.field().empty());
  }
}

void check_name_param(const json& params) {
  for (const bool required : {false, true}) {
    try {
      const auto name = squib::proto::parse_name_param(params, required);
      FUZZ_CHECK(!required || !name.empty());
    } catch (const squib::proto::ParamError& e) {
      FUZZ_CHECK(e.field() == "name");
    }
  }
}

void check_forward_params(const json& params) {
  for (const bool need_guest_port : {false, true}) {
    try {
      const auto forward = squib::proto::parse_forward_params(params, need_guest_port);
      FUZZ_CHECK(forward.host_port != 0);
      FUZZ_CHECK(forward.protocol == "tcp" || forward.protocol == "udp");
      FUZZ_CHECK(!need_guest_port || forward.guest_port != 0);
      // What `list` reports parses back to the same forward.
      FUZZ_CHECK(squib::proto::parse_forward_params(squib::proto::to_json(forward), need_guest_port) == forward);
    } catch (const squib::proto::ParamError& e) {
      FUZZ_CHECK(!e.field().empty());
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  // The client's side: the same bytes as a reply from the daemon (no crash, no throw).
  if (const auto reply = squib::proto::parse_response(line); reply && reply->ok()) FUZZ_CHECK(reply->error_code == 0);
  auto parsed = squib::proto::parse_request(line);

  if (const auto* error = std::get_if<squib::proto::ErrorResponse>(&parsed)) {
    FUZZ_CHECK(error->code == ErrorCode::parse_error || error->code == ErrorCode::invalid_request ||
               error->code == ErrorCode::invalid_params);
    FUZZ_CHECK(error->id.is_null() || error->id.is_number_integer() || error->id.is_string());
    FUZZ_CHECK(!error->message.empty());
    check_response_round_trip(squib::proto::encode_error(error->id, error->code, error->message),
                              static_cast<int>(error->code));
    return 0;
  }

  const auto& request = std::get<squib::proto::Request>(parsed);
  FUZZ_CHECK(request.params.is_object());
  FUZZ_CHECK(request.id.is_null() || request.id.is_number_integer() || request.id.is_string());
  check_start_params(request.params);
  check_name_param(request.params);
  check_network_params(request.params);
  check_forward_params(request.params);

  // What the dispatcher would answer for an unknown method, and an echo of the params.
  check_response_round_trip(
      squib::proto::encode_error(request.id, ErrorCode::method_not_found, "method not found: " + request.method),
      static_cast<int>(ErrorCode::method_not_found));
  const auto echoed = squib::proto::parse_response(squib::proto::encode_result(request.id, request.params));
  FUZZ_CHECK(echoed.has_value() && echoed->ok());
  FUZZ_CHECK(*echoed->result == request.params);
  FUZZ_CHECK(echoed->id == request.id);
  return 0;
}
