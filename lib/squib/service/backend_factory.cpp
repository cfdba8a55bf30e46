#include <squib/service/backend_factory.hpp>

#include <squib/backend/userspace_backend.hpp>

namespace squib::service {

BackendFactory::BackendFactory(const DaemonConfig& config, uv_loop_t* loop) : m_config(config) {
  if (loop != nullptr) m_kernel = make_kernel_modes(loop, config);
}

BackendFactory::~BackendFactory() = default;

void BackendFactory::make(const proto::StartParams& params, backend::BackendContext context, MakeCallback done) {
  if (params.mode != proto::Mode::userspace) {
    if (m_kernel) return m_kernel->make(params, std::move(context), std::move(done));
    return done(BackendRefusal{proto::ErrorCode::backend_failed, std::string("mode ") + proto::to_string(params.mode) +
                                                                     " is not available in this build"});
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
    return done(
        BackendRefusal{proto::ErrorCode::invalid_params, "invalid params: userspace.path: is required for custom"});
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
  // handoff "fd" (passt only, checked by the parser): the VMM gets passt's link itself.
  userspace.handoff = params.handoff == proto::Handoff::fd;
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

void BackendFactory::released(const proto::StartParams& params) {
  if (m_kernel && params.mode != proto::Mode::userspace) m_kernel->released(params);
}

void BackendFactory::cleanup_stale(const std::vector<proto::StartParams>& recorded) {
  if (m_kernel) m_kernel->cleanup_stale(recorded);
}

void BackendFactory::shutdown(std::function<void()> done) {
  if (m_kernel) return m_kernel->shutdown(std::move(done));
  done();
}

std::vector<proto::NetworkStatus> BackendFactory::networks() const {
  return m_kernel ? m_kernel->describe() : std::vector<proto::NetworkStatus>{};
}

proto::KernelStatus BackendFactory::kernel_status() const {
  return m_kernel ? m_kernel->kernel_status() : proto::KernelStatus{};
}

void BackendFactory::set_lease_observer(KernelModes::LeaseObserver observer) {
  if (m_kernel) m_kernel->set_lease_observer(std::move(observer));
}

void BackendFactory::create_network(const proto::NetworkSpec& spec, proto::Origin origin,
                                    KernelModes::NetworkDone done) {
  if (!m_kernel) return done(core::Error{ENOTSUP, "networks: this build serves userspace attachments only"});
  m_kernel->create_network(spec, origin, std::move(done));
}

void BackendFactory::delete_network(const std::string& name, std::function<void(core::Result<void>)> done) {
  if (!m_kernel) return done(core::Error{ENOENT, "no network named '" + name + "'"});
  m_kernel->delete_network(name, std::move(done));
}

std::vector<proto::NetworkDescription> BackendFactory::list_networks() const {
  return m_kernel ? m_kernel->list_networks() : std::vector<proto::NetworkDescription>{};
}

void BackendFactory::cleanup_stale_networks(const std::vector<std::string>& recorded) {
  if (m_kernel) m_kernel->cleanup_stale_networks(recorded);
}

}  // namespace squib::service
