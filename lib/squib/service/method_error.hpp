#pragma once

// MethodError: what a control method reports when it refuses or fails — a JSON-RPC code and
// a message for the user that names the field or rule involved.

#include <string>

#include <squib/proto/jsonrpc.hpp>

namespace squib::service {

struct MethodError {
  proto::ErrorCode code;
  std::string message;
};

}  // namespace squib::service
