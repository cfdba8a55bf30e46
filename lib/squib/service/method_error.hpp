#pragma once

// MethodError: what a control method reports when it refuses or fails — a JSON-RPC code and
// a message for the user that names the field or rule involved.

#include <string>
#include <variant>

#include <squib/proto/jsonrpc.hpp>

namespace squib::service {

struct MethodError {
  proto::ErrorCode code;
  std::string message;
};

// A control method's typed result (proto/messages.hpp), or why there is none. The
// dispatcher encodes either with proto/.
template <class T>
using Outcome = std::variant<T, MethodError>;

}  // namespace squib::service
