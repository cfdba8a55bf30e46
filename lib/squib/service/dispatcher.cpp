#include <squib/service/dispatcher.hpp>

#include <unistd.h>

#include <spdlog/spdlog.h>

#include <squib/platform/os_release.hpp>
#include <squib/proto/capture_messages.hpp>
#include <squib/proto/jsonrpc.hpp>
#include <squib/proto/messages.hpp>
#include <squib/proto/network_messages.hpp>
#include <squib/proto/resolve_messages.hpp>
#include <squib/service/metrics_exposition.hpp>
#include <squib/uv/child_supervisor.hpp>

namespace squib::service {

using nlohmann::json;
using proto::ErrorCode;

Dispatcher::Dispatcher(AttachmentRegistry& registry, const DaemonConfig& config, const uv::LoopLagProbe* lag)
    : m_registry(registry), m_config(config), m_lag(lag) {}

proto::StatusResult Dispatcher::status() const {
  proto::StatusResult out;
  out.version = SQUIB_VERSION;
  if (m_lag != nullptr) out.loop = proto::LoopStatus{m_lag->max_stall_ms(), m_lag->stalls_over_threshold()};
  out.pid = ::getpid();
  out.uptime_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - m_started_at).count();
  out.attachments = m_registry.size();
  out.platform = SQUIB_PLATFORM_NAME;
  out.run_dir = m_config.run_dir;
  out.networks = m_registry.networks();
  out.kernel = m_registry.kernel_status();
  out.kernel.os = platform::os_release();
  for (const auto& [name, program] :
       {std::pair{"passt", &m_config.passt_program}, std::pair{"gvproxy", &m_config.gvproxy_program}}) {
    auto resolved = uv::resolve_program(*program);
    out.backends[name] = resolved ? std::optional<std::string>(resolved.value()) : std::nullopt;
  }
  return out;
}

proto::MetricsResult Dispatcher::metrics(const PeerCredentials& caller) const {
  DaemonMetrics daemon;
  daemon.version = SQUIB_VERSION;
  daemon.uptime_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - m_started_at).count();
  daemon.attachments = m_registry.size();
  daemon.control_connections = m_connection_count ? m_connection_count() : 0;
  if (m_events != nullptr) {
    daemon.subscribers = m_events->subscribers();
    daemon.events_lost = m_events->lost_total();
  }
  if (m_lag != nullptr) daemon.loop = proto::LoopStatus{m_lag->max_stall_ms(), m_lag->stalls_over_threshold()};
  for (const auto& network : m_registry.list_networks(caller)) {
    if (network.uplink) daemon.uplinks.emplace_back(network.network.name, network.uplink->counters);
  }
  // `stats` of all visible attachments cannot fail (no name to refuse).
  auto visible = m_registry.stats("", caller);
  const auto* attachments = std::get_if<std::vector<proto::AttachmentStats>>(&visible);
  proto::MetricsResult out;
  out.text = render_metrics(attachments != nullptr ? *attachments : std::vector<proto::AttachmentStats>{}, daemon);
  return out;
}

void Dispatcher::handle(std::string_view line, const PeerCredentials& caller, Reply reply,
                        const OpenStream& open_stream) {
  auto parsed = proto::parse_request(line);
  if (const auto* error = std::get_if<proto::ErrorResponse>(&parsed)) {
    return reply(proto::encode_error(error->id, error->code, error->message), core::Fd());
  }
  const auto& request = std::get<proto::Request>(parsed);
  // The one place a method's typed result becomes JSON: proto's encoders.
  const auto encode = [id = request.id]<class T>(const Outcome<T>& outcome) {
    if (const auto* error = std::get_if<MethodError>(&outcome))
      return proto::encode_error(id, error->code, error->message);
    return proto::encode_result(id, proto::to_json(std::get<T>(outcome)));
  };
  const auto answer = [&]<class T>(const Outcome<T>& outcome) { reply(encode(outcome), core::Fd()); };
  try {
    const std::string& method = request.method;
    if (method == "status") return answer(Outcome<proto::StatusResult>(status()));
    if (method == "list") return answer(Outcome<std::vector<proto::AttachmentInfo>>(m_registry.list(caller)));
    if (method == "stats") return answer(m_registry.stats(proto::parse_name_param(request.params, false), caller));
    if (method == "resolve") {
      return answer(m_registry.resolve(proto::parse_resolve_params(request.params).name, caller));
    }
    if (method == "network.list") {
      return answer(Outcome<std::vector<proto::NetworkDescription>>(m_registry.list_networks(caller)));
    }
    if (method == "metrics") return answer(Outcome<proto::MetricsResult>(metrics(caller)));
    if (method == "subscribe") {
      const auto params = proto::parse_subscribe_params(request.params);
      if (m_events == nullptr || !open_stream) {
        return reply(proto::encode_error(request.id, ErrorCode::invalid_request,
                                         "subscribe is served on the control socket only"),
                     core::Fd());
      }
      // The stream opens before the reply goes, and the hub sends nothing until the loop
      // runs again: the result is the first line the subscriber reads.
      std::optional<EventStream> stream = open_stream();
      if (!stream) {
        return reply(proto::encode_error(request.id, ErrorCode::invalid_request,
                                         "this connection is already subscribed (one subscribe per connection)"),
                     core::Fd());
      }
      const auto types = EventHub::selected_types(params);
      answer(Outcome<proto::SubscribeResult>(proto::SubscribeResult{types, params.stats_interval_ms}));
      m_events->subscribe(caller, params, std::move(*stream));
      return;
    }
    if (m_shutting_down && (method == "start" || method == "stop" || method == "restart" || method == "forward" ||
                            method == "unforward" || method == "network.create" || method == "network.delete")) {
      return reply(proto::encode_error(request.id, ErrorCode::shutting_down, "the daemon is shutting down"),
                   core::Fd());
    }
    if (method == "start") {
      auto params = proto::parse_start_params(request.params);
      return m_registry.start(params, caller,
                              [reply, encode](const Outcome<proto::StartResult>& outcome, core::Fd passed_fd) {
                                reply(encode(outcome), std::move(passed_fd));
                              });
    }
    if (method == "network.create") {
      return m_registry.create_network(
          proto::parse_network_spec(request.params), caller,
          [reply, encode](const Outcome<proto::NetworkDescription>& outcome) { reply(encode(outcome), core::Fd()); });
    }
    if (method == "network.delete") {
      return m_registry.delete_network(
          proto::parse_network_delete_params(request.params), caller,
          [reply, encode](const Outcome<proto::NameResult>& outcome) { reply(encode(outcome), core::Fd()); });
    }
    if (method == "capture") {
      core::Fd client_end;
      auto outcome = m_registry.capture(proto::parse_capture_params(request.params), caller, client_end);
      return reply(encode(outcome), std::move(client_end));
    }
    if (method == "stop") return answer(m_registry.stop(proto::parse_name_param(request.params, true), caller));
    if (method == "restart") return answer(m_registry.restart(proto::parse_name_param(request.params, true), caller));
    const auto answer_later = [reply, encode](const Outcome<proto::ForwardsResult>& outcome) {
      reply(encode(outcome), core::Fd());
    };
    if (method == "forward") {
      return m_registry.forward(proto::parse_name_param(request.params, true),
                                proto::parse_forward_params(request.params, true), caller, answer_later);
    }
    if (method == "unforward") {
      return m_registry.unforward(proto::parse_name_param(request.params, true),
                                  proto::parse_forward_params(request.params, false), caller, answer_later);
    }
    return reply(proto::encode_error(request.id, ErrorCode::method_not_found, "method not found: " + method),
                 core::Fd());
  } catch (const proto::ParamError& e) {
    reply(proto::encode_error(request.id, ErrorCode::invalid_params, std::string("invalid params: ") + e.what()),
          core::Fd());
  } catch (const json::exception& e) {
    reply(proto::encode_error(request.id, ErrorCode::invalid_params, std::string("invalid params: ") + e.what()),
          core::Fd());
  } catch (const std::exception& e) {
    spdlog::error("internal error handling {}: {}", request.method, e.what());
    reply(proto::encode_error(request.id, ErrorCode::internal_error, std::string("internal error: ") + e.what()),
          core::Fd());
  }
}

}  // namespace squib::service
