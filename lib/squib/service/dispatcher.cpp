#include <squib/service/dispatcher.hpp>

#include <unistd.h>

#include <spdlog/spdlog.h>

#include <squib/proto/jsonrpc.hpp>
#include <squib/proto/messages.hpp>
#include <squib/uv/child_supervisor.hpp>

namespace squib::service {

using nlohmann::json;
using proto::ErrorCode;

Dispatcher::Dispatcher(AttachmentRegistry& registry, const DaemonConfig& config)
    : m_registry(registry), m_config(config) {}

json Dispatcher::status() const {
  auto program_or_null = [](const std::string& name) -> json {
    auto resolved = uv::resolve_program(name);
    return resolved ? json(resolved.value()) : json(nullptr);
  };
  return {{"version", SQUIB_VERSION},
          {"pid", ::getpid()},
          {"uptime_s", std::chrono::duration<double>(std::chrono::steady_clock::now() - m_started_at).count()},
          {"attachments", m_registry.size()},
#if defined(__APPLE__)
          {"platform", "darwin"},
#else
          {"platform", "linux"},
#endif
          {"run_dir", m_config.run_dir},
          {"networks", m_registry.networks()},
          {"backends", {{"passt", program_or_null(m_config.passt_program)},
                        {"gvproxy", program_or_null(m_config.gvproxy_program)}}}};
}

std::string Dispatcher::handle(std::string_view line, const PeerCredentials& caller, core::Fd& passed_fd) {
  auto parsed = proto::parse_request(line);
  if (const auto* error = std::get_if<proto::ErrorResponse>(&parsed)) {
    return proto::encode_error(error->id, error->code, error->message);
  }
  const auto& request = std::get<proto::Request>(parsed);
  const auto reply = [&](std::variant<json, MethodError> outcome) {
    if (const auto* error = std::get_if<MethodError>(&outcome)) {
      return proto::encode_error(request.id, error->code, error->message);
    }
    return proto::encode_result(request.id, std::get<json>(outcome));
  };
  try {
    const std::string& method = request.method;
    if (method == "status") return reply(status());
    if (method == "list") return reply(m_registry.list(caller));
    if (method == "stats") return reply(m_registry.stats(proto::parse_name_param(request.params, false), caller));
    if (m_shutting_down && method != "status" && method != "list" && method != "stats") {
      return reply(MethodError{ErrorCode::shutting_down, "the daemon is shutting down"});
    }
    if (method == "start") return reply(m_registry.start(proto::parse_start_params(request.params), caller, passed_fd));
    if (method == "stop") return reply(m_registry.stop(proto::parse_name_param(request.params, true), caller));
    if (method == "forward") {
      return reply(m_registry.forward(proto::parse_name_param(request.params, true),
                                      proto::parse_forward_params(request.params, true), caller));
    }
    if (method == "unforward") {
      return reply(m_registry.unforward(proto::parse_name_param(request.params, true),
                                        proto::parse_forward_params(request.params, false), caller));
    }
    return proto::encode_error(request.id, ErrorCode::method_not_found, "method not found: " + method);
  } catch (const proto::ParamError& e) {
    return proto::encode_error(request.id, ErrorCode::invalid_params, std::string("invalid params: ") + e.what());
  } catch (const json::exception& e) {
    return proto::encode_error(request.id, ErrorCode::invalid_params, std::string("invalid params: ") + e.what());
  } catch (const std::exception& e) {
    spdlog::error("internal error handling {}: {}", request.method, e.what());
    return proto::encode_error(request.id, ErrorCode::internal_error, std::string("internal error: ") + e.what());
  }
}

}  // namespace squib::service
