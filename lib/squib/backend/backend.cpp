#include <squib/backend/backend.hpp>

namespace squib::backend {

std::string_view to_string(BackendState state) {
  switch (state) {
    case BackendState::starting: return "starting";
    case BackendState::running: return "running";
    case BackendState::restarting: return "restarting";
    case BackendState::failed: return "failed";
    case BackendState::stopping: return "stopping";
    case BackendState::stopped: return "stopped";
  }
  return "unknown";
}

}  // namespace squib::backend
