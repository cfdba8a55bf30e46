#include <squib/service/backend_factory.hpp>

#include <squib/backend/userspace_backend.hpp>

namespace squib::service {

std::variant<BackendChoice, BackendRefusal> BackendFactory::make(const proto::StartParams& params,
                                                                 backend::BackendContext context) {
  if (params.mode != proto::Mode::userspace) {
    return BackendRefusal{proto::ErrorCode::backend_failed,
                          std::string("mode ") + proto::to_string(params.mode) + " is not available in this build"};
  }
  if (params.userspace.kind == "gvproxy") {
    return BackendRefusal{proto::ErrorCode::backend_failed, "userspace.kind: gvproxy is not supported by this build yet"};
  }
  backend::UserspaceConfig userspace;
  userspace.kind = params.userspace.kind;
  userspace.program = params.userspace.path.value_or(params.userspace.kind == "passt" ? m_config.passt_program : "");
  userspace.extra_args = params.userspace.args;
  userspace.exec_shim = m_config.exec_shim;
  BackendChoice choice;
  choice.backend = std::make_unique<backend::UserspaceBackend>(std::move(context), std::move(userspace));
  // The userspace stack (passt) assigns addresses itself, mirroring the host's uplink; the
  // daemon does not know them.
  choice.network = {{"name", params.network}, {"subnet", nullptr}, {"gateway", nullptr}};
  return choice;
}

}  // namespace squib::service
