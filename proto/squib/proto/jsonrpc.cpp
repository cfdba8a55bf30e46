#include <squib/proto/jsonrpc.hpp>

#include <limits>

namespace squib::proto {

namespace {

// Maximum bracket nesting of a JSON text, ignoring brackets inside strings. Linear, no
// recursion: it guards the recursive parser.
std::size_t nesting_depth(std::string_view text) {
  std::size_t depth = 0;
  std::size_t max_depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (const char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      max_depth = std::max(max_depth, ++depth);
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return max_depth;
}

}  // namespace

std::variant<Request, ErrorResponse> parse_request(std::string_view line) {
  if (line.size() > k_max_line_size) {
    return ErrorResponse{nullptr, ErrorCode::invalid_request, "request line exceeds 65536 bytes"};
  }
  if (nesting_depth(line) > k_max_json_depth) {
    return ErrorResponse{nullptr, ErrorCode::parse_error, "JSON nested deeper than 64 levels"};
  }
  json doc = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return ErrorResponse{nullptr, ErrorCode::parse_error, "parse error: invalid JSON"};
  if (!doc.is_object()) {
    return ErrorResponse{nullptr, ErrorCode::invalid_request, "invalid request: expected a JSON object"};
  }
  json id = nullptr;
  if (const auto it = doc.find("id"); it != doc.end()) {
    if (!it->is_number_integer() && !it->is_string() && !it->is_null()) {
      return ErrorResponse{nullptr, ErrorCode::invalid_request, "invalid request: id must be a number, string or null"};
    }
    id = *it;
  }
  const auto version = doc.find("jsonrpc");
  if (version == doc.end() || !version->is_string() || version->get_ref<const std::string&>() != "2.0") {
    return ErrorResponse{id, ErrorCode::invalid_request, "invalid request: jsonrpc must be \"2.0\""};
  }
  const auto method = doc.find("method");
  if (method == doc.end() || !method->is_string()) {
    return ErrorResponse{id, ErrorCode::invalid_request, "invalid request: method must be a string"};
  }
  json params = json::object();
  if (const auto it = doc.find("params"); it != doc.end() && !it->is_null()) {
    if (!it->is_object()) {
      return ErrorResponse{id, ErrorCode::invalid_params, "invalid params: params must be an object"};
    }
    params = *it;
  }
  return Request{std::move(id), method->get<std::string>(), std::move(params)};
}

std::string encode_result(const json& id, const json& result) {
  return json{{"jsonrpc", "2.0"}, {"id", id}, {"result", result}}.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string encode_error(const json& id, ErrorCode code, std::string_view message) {
  return json{{"jsonrpc", "2.0"},
              {"id", id},
              {"error", {{"code", static_cast<int>(code)}, {"message", message}}}}
      .dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string encode_request(std::uint64_t id, std::string_view method, const json& params) {
  return json{{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", params}}.dump();
}

std::optional<Response> parse_response(std::string_view line) {
  // Same guard as parse_request: copying `result` below recurses once per nesting level.
  if (nesting_depth(line) > k_max_json_depth) return std::nullopt;
  json doc = json::parse(line, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return std::nullopt;
  Response response;
  response.id = doc.value("id", json(nullptr));
  if (const auto it = doc.find("result"); it != doc.end()) {
    response.result = *it;
    return response;
  }
  const auto error = doc.find("error");
  if (error == doc.end() || !error->is_object()) return std::nullopt;
  const auto code = error->find("code");
  const auto message = error->find("message");
  if (code == error->end() || !code->is_number_integer()) return std::nullopt;
  // A code outside int must not be truncated into another code (2^32 - 32700 is not -32700).
  const bool fits_int =
      code->is_number_unsigned()
          ? code->get<std::uint64_t>() <= static_cast<std::uint64_t>(std::numeric_limits<int>::max())
          : (code->get<std::int64_t>() >= std::numeric_limits<int>::min() &&
             code->get<std::int64_t>() <= std::numeric_limits<int>::max());
  if (!fits_int) return std::nullopt;
  response.error_code = code->get<int>();
  response.error_message = (message != error->end() && message->is_string()) ? message->get<std::string>() : "";
  return response;
}

}  // namespace squib::proto
