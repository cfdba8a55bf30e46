#pragma once

// JSON-RPC 2.0 envelope (https://www.jsonrpc.org/specification) as squib-netd speaks it:
// one request object per line, one response object per line (design brief §3).
// Parsing never throws: malformed input becomes an ErrorResponse with the spec's code.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include <nlohmann/json.hpp>

namespace squib::proto {

using json = nlohmann::json;

// JSON-RPC 2.0 §5.1 error codes, plus squib's own in the implementation-defined range.
enum class ErrorCode : int {
  parse_error = -32700,       // not valid JSON
  invalid_request = -32600,   // valid JSON, not a request object
  method_not_found = -32601,  // unknown method
  invalid_params = -32602,    // a field is missing, of the wrong type or out of range
  internal_error = -32603,
  // Server errors (-32000..-32099):
  not_found = -32001,          // no attachment of that name
  already_exists = -32002,     // an attachment of that name exists
  permission_denied = -32003,  // peer credentials do not allow this
  backend_failed = -32004,     // the backend could not start (missing binary, syscall error)
  limit_reached = -32005,      // max attachments / connections
  shutting_down = -32006,      // the daemon is stopping
  busy = -32007,               // the attachment is still starting
  in_use = -32008,             // network.delete: attachments use the network (pass force)
};

struct Request {
  json id;  // number, string or null; absent id (a notification) is kept as null
  std::string method;
  json params;  // object (possibly empty)
};

struct ErrorResponse {
  json id;
  ErrorCode code;
  std::string message;
};

// The largest request line the daemon reads; longer lines get -32600 and the connection
// closes (a line without end is otherwise unbounded memory).
inline constexpr std::size_t k_max_line_size = 64 * 1024;
// nlohmann_json recurses per nesting level; deeper documents are rejected before parsing so
// a "[[[[…" line cannot exhaust the stack.
inline constexpr std::size_t k_max_json_depth = 64;

std::variant<Request, ErrorResponse> parse_request(std::string_view line);

// Serialise without a trailing newline; the transport adds it.
std::string encode_result(const json& id, const json& result);
std::string encode_error(const json& id, ErrorCode code, std::string_view message);
std::string encode_request(std::uint64_t id, std::string_view method, const json& params);

// A response as a client sees it: either a result or an error with code and message.
struct Response {
  json id;
  std::optional<json> result;
  int error_code = 0;
  std::string error_message;
  [[nodiscard]] bool ok() const { return result.has_value(); }
};
std::optional<Response> parse_response(std::string_view line);

}  // namespace squib::proto
