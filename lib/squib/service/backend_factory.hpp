#pragma once

// make_backend: the one place that maps an attachment's mode (and platform) to a Backend.
// Also returns the network description `start` reports for that mode.

#include <memory>
#include <variant>

#include <nlohmann/json.hpp>

#include <squib/backend/backend.hpp>
#include <squib/proto/jsonrpc.hpp>
#include <squib/proto/messages.hpp>
#include <squib/service/daemon_config.hpp>

namespace squib::service {

struct BackendChoice {
  std::unique_ptr<backend::Backend> backend;
  nlohmann::json network;  // {name, subnet, gateway, dhcp_range?, dns?}
};

struct BackendRefusal {
  proto::ErrorCode code;
  std::string message;
};

class BackendFactory {
public:
  explicit BackendFactory(const DaemonConfig& config) : m_config(config) {}
  virtual ~BackendFactory() = default;
  BackendFactory(const BackendFactory&) = delete;
  BackendFactory& operator=(const BackendFactory&) = delete;

  // Builds (does not start) the backend for `params`.
  virtual std::variant<BackendChoice, BackendRefusal> make(const proto::StartParams& params,
                                                           backend::BackendContext context);
  // Called after an attachment's backend has stopped (networks may be released).
  virtual void released(const proto::StartParams& /*params*/) {}

protected:
  const DaemonConfig& m_config;
};

}  // namespace squib::service
