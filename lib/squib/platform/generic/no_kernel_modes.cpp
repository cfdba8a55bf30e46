// make_kernel_modes for builds without kernel modes (a platform whose networking the daemon
// does not drive yet): `start` of host/shared/bridged is refused by BackendFactory with
// "not available in this build"; userspace works.

#include <squib/service/kernel_modes.hpp>

namespace squib::service {

std::unique_ptr<KernelModes> make_kernel_modes(uv_loop_t* /*loop*/, const DaemonConfig& /*config*/) { return nullptr; }

}  // namespace squib::service
