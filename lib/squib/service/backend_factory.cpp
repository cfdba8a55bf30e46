#include <squib/service/backend_factory.hpp>

#include <squib/backend/userspace_backend.hpp>

#if defined(__linux__)
#include <squib/backend/tap_backend.hpp>
#endif

namespace squib::service {

BackendFactory::BackendFactory(const DaemonConfig& config, [[maybe_unused]] uv_loop_t* loop) : m_config(config) {
#if defined(__linux__)
  if (loop != nullptr) m_networks = std::make_unique<NetworkManager>(loop, config);
#endif
}

BackendFactory::~BackendFactory() = default;

void BackendFactory::make(const proto::StartParams& params, backend::BackendContext context, MakeCallback done) {
  if (params.mode != proto::Mode::userspace) {
#if defined(__linux__)
    if (m_networks) {
      backend::TapConfig tap;
      tap.ifname = backend::tap_name(m_config.run_dir, params.name);
      tap.isolated = params.isolation;
      if (params.mode == proto::Mode::bridged) {
        tap.master = *params.bridge;  // the parser requires it for bridged
        BackendChoice choice;
        choice.network.name = params.network;
        choice.network.bridge = tap.master;
        choice.network.tap = tap.ifname;
        choice.backend = std::make_unique<backend::TapBackend>(std::move(context), std::move(tap));
        return done(std::move(choice));
      }
      m_networks->acquire(params, [context = std::move(context), tap = std::move(tap),
                                   done = std::move(done)](core::Result<NetworkLease> lease) mutable {
        if (!lease) {
          const auto code =
              lease.error().code == EINVAL ? proto::ErrorCode::invalid_params : proto::ErrorCode::backend_failed;
          return done(BackendRefusal{code, lease.error().message});
        }
        tap.master = lease->bridge;
        BackendChoice choice;
        choice.network = std::move(lease->network);
        choice.network.tap = tap.ifname;
        choice.guest_ipv4 = lease->address;
        choice.backend = std::make_unique<backend::TapBackend>(std::move(context), std::move(tap));
        done(std::move(choice));
      });
      return;
    }
#endif
    return done(BackendRefusal{proto::ErrorCode::backend_failed,
                               std::string("mode ") + proto::to_string(params.mode) + " is not available in this build"});
  }
  backend::UserspaceConfig userspace;
  userspace.kind = params.userspace.kind;
  if (params.userspace.path) {
    userspace.program = *params.userspace.path;
  } else if (params.userspace.kind == "passt") {
    userspace.program = m_config.passt_program;
  } else if (params.userspace.kind == "gvproxy") {
    userspace.program = m_config.gvproxy_program;
  } else {
    return done(BackendRefusal{proto::ErrorCode::invalid_params, "invalid params: userspace.path: is required for custom"});
  }
  const auto framing = params.userspace.framing.value_or(proto::Framing::qemu_stream);
  if (params.userspace.kind == "passt" && framing != proto::Framing::qemu_stream) {
    return done(BackendRefusal{proto::ErrorCode::invalid_params,
                               "invalid params: userspace.framing: passt speaks only qemu (stream) framing"});
  }
  userspace.framing = framing == proto::Framing::vfkit_datagram ? backend::LinkFraming::vfkit_datagram
                                                                 : backend::LinkFraming::qemu_stream;
  userspace.extra_args = params.userspace.args;
  userspace.exec_shim = m_config.exec_shim;
  userspace.link_dir = m_config.run_dir;
  userspace.forwards = params.forwards;
  if (!params.forwards.empty() && params.userspace.kind != "passt") {
    return done(BackendRefusal{proto::ErrorCode::invalid_params,
                               "invalid params: forwards: port forwarding is supported for passt attachments only"});
  }
  BackendChoice choice;
  choice.backend = std::make_unique<backend::UserspaceBackend>(std::move(context), std::move(userspace));
  // The userspace stack (passt) assigns addresses itself, mirroring the host's uplink; the
  // daemon does not know them.
  choice.network.name = params.network;
  done(std::move(choice));
}

void BackendFactory::released([[maybe_unused]] const proto::StartParams& params) {
#if defined(__linux__)
  if (m_networks && (params.mode == proto::Mode::host || params.mode == proto::Mode::shared)) m_networks->release(params);
#endif
}

void BackendFactory::cleanup_stale([[maybe_unused]] const std::vector<proto::StartParams>& recorded) {
#if defined(__linux__)
  if (m_networks) m_networks->cleanup_stale(recorded);
#endif
}

void BackendFactory::shutdown(std::function<void()> done) {
#if defined(__linux__)
  if (m_networks) {
    m_networks->shutdown(std::move(done));
    return;
  }
#endif
  done();
}

nlohmann::json BackendFactory::networks() const {
#if defined(__linux__)
  if (m_networks) return m_networks->describe();
#endif
  return nlohmann::json::array();
}

}  // namespace squib::service
