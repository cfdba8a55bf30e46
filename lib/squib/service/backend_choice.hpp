#pragma once

// What making a backend for a `start` gives: the backend with the network it joins, or a
// refusal with its JSON-RPC code. Shared by BackendFactory and the platform's KernelModes.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>

#include <squib/backend/backend.hpp>
#include <squib/proto/jsonrpc.hpp>
#include <squib/proto/messages.hpp>

namespace squib::service {

// Told what the network granted (backend::GrantedLink) once the backend is ready, so the
// network's record can take what it did not decide itself (vmnet's default subnet).
using GrantedHook = std::function<void(const backend::GrantedLink&)>;

struct BackendChoice {
  std::unique_ptr<backend::Backend> backend;
  proto::NetworkInfo network;  // what `start` reports, unless the backend's granted() says otherwise
  GrantedHook on_granted;      // may be empty
  // host/shared: the guest's address, so the source guard can hold it to it (host order).
  std::optional<std::uint32_t> guest_ipv4;
  // host/shared: the network's MTU (issue 15); an attachment that asked more gets this.
  std::optional<std::uint32_t> mtu;
};

struct BackendRefusal {
  proto::ErrorCode code;
  std::string message;
};

using MakeCallback = std::function<void(std::variant<BackendChoice, BackendRefusal>)>;

}  // namespace squib::service
