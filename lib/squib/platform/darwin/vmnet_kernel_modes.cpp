// KernelModes on macOS: every host/shared/bridged attachment gets its own vmnet interface
// (VmnetBackend). Attachments naming one network share it:
// - macOS 26: one vmnet network object per network name (VmnetNetwork, created on first use,
//   released with its last attachment); each interface joins it.
// - earlier: vmnet puts interfaces started with the same mode and the same start/end
//   address and mask on one network (vmnet-helper docs/integration.md), so the first
//   attachment fixes the network's subnet — given (`subnet`) or vmnet's default — and the
//   others reuse it.
// vmnet's addressing (Apple vmnet.h): vmnet_start_address_key is the gateway, start+1 … end
// the DHCP pool. Nothing is left behind when the daemon dies: vmnet interfaces end with
// their process, so cleanup_stale has nothing to do.
// Declared networks (network.create, issue 15) are recorded specs here: their mode, subnet
// and isolation apply to the starts that join them; vmnet makes the network with its first
// interface (or, macOS 26, its network object). `uplink`, `dhcp`, `mtu`, `subnet6` and
// `domain` are vmnet's to decide: refused (-32602 "<field>: not supported by vmnet").
//
// Built on macOS, and on Linux for the SQUIB_VMNET_FAKE build against the contract fake.

#include <squib/service/kernel_modes.hpp>

#include <map>
#include <set>

#include <spdlog/spdlog.h>

#include <squib/backend/vmnet/vmnet_backend.hpp>
#include <squib/backend/vmnet/vmnet_network.hpp>
#include <squib/core/ipv4_subnet.hpp>

namespace squib::service {

namespace {

struct VmnetNetworkState {
  proto::Mode mode = proto::Mode::shared;
  std::optional<core::Ipv4Subnet> subnet;          // none: vmnet's default for the mode
  std::shared_ptr<backend::VmnetNetwork> network;  // macOS 26 only
  std::set<std::string> attachments;               // by name
  proto::Origin origin = proto::Origin::implicit;
  std::optional<proto::NetworkSpec> spec;  // declared networks
};

// Why vmnet cannot serve `spec` ("<field>: not supported by vmnet"), or nullopt.
std::optional<std::string> unsupported(const proto::NetworkSpec& spec) {
  const char* field = nullptr;
  if (spec.uplink) {
    field = "uplink";
  } else if (spec.dhcp.range) {
    field = "dhcp.range";
  } else if (!spec.dhcp.enabled) {
    field = "dhcp";
  } else if (spec.mtu) {
    field = "mtu";
  } else if (spec.subnet6) {
    field = "subnet6";
  } else if (spec.domain) {
    field = "domain";
  }
  if (field == nullptr) return std::nullopt;
  return std::string(field) + ": not supported by vmnet";
}

backend::VmnetMode vmnet_mode(proto::Mode mode) {
  switch (mode) {
    case proto::Mode::host: return backend::VmnetMode::host;
    case proto::Mode::bridged: return backend::VmnetMode::bridged;
    default: return backend::VmnetMode::shared;
  }
}

class VmnetKernelModes final : public KernelModes {
 public:
  void make(const proto::StartParams& params, backend::BackendContext context, MakeCallback done) override {
    backend::VmnetOptions options;
    options.mode = vmnet_mode(params.mode);
    options.isolation = params.isolation;
    // Offload mode (core/vnet_header.hpp): the peers' datagrams are plain frames of up to
    // 64 KiB with partial checksums — exactly what vmnet takes and gives with TSO and checksum
    // offload, as vmnet-helper --enable-tso --enable-checksum-offload (docs/integration.md)
    // serves krunkit offloading=on. No virtio header (it cannot combine with checksum offload,
    // vmnet-facts.md §2, and the socket carries none). vmnet then reports max_packet_size
    // 65550 and the backend sizes its read buffers from it.
    options.offloads.tso = params.offload;
    options.offloads.checksum = params.offload;
    BackendChoice choice;
    choice.network.name = params.network;
    if (params.mode == proto::Mode::bridged) {
      options.bridge = *params.bridge;  // the parser requires it for bridged
      choice.network.bridge = options.bridge;
      choice.backend = std::make_unique<backend::VmnetBackend>(std::move(context), std::move(options));
      return done(std::move(choice));
    }
    auto joined = join(params);
    if (auto* refusal = std::get_if<BackendRefusal>(&joined)) return done(std::move(*refusal));
    VmnetNetworkState& network = *std::get<VmnetNetworkState*>(joined);
    if (network.spec && network.spec->isolation) options.isolation = true;  // the network isolates all
    if (network.subnet) {
      const core::Ipv4Subnet& subnet = *network.subnet;
      options.start_address = core::ipv4_to_string(subnet.gateway());
      options.end_address = core::ipv4_to_string(subnet.dhcp_last());
      options.subnet_mask = core::ipv4_to_string(subnet.mask());
      choice.network.subnet = subnet.to_string();
      choice.network.gateway = options.start_address;
      choice.network.dhcp_range = core::ipv4_to_string(subnet.dhcp_first()) + "-" + options.end_address;
    }
    options.network = network.network;
    network.attachments.insert(params.name);
    choice.on_granted = [this, name = params.network](const backend::GrantedLink& granted) { learn(name, granted); };
    choice.backend = std::make_unique<backend::VmnetBackend>(std::move(context), std::move(options));
    done(std::move(choice));
  }

  void released(const proto::StartParams& params) override {
    const auto it = m_networks.find(params.network);
    if (params.mode == proto::Mode::bridged || it == m_networks.end()) return;
    it->second.attachments.erase(params.name);
    if (it->second.attachments.empty() && !it->second.spec) m_networks.erase(it);
  }

  void cleanup_stale(const std::vector<proto::StartParams>& /*recorded*/) override {}
  void shutdown(std::function<void()> done) override {
    m_networks.clear();
    done();
  }

  [[nodiscard]] std::vector<proto::NetworkStatus> describe() const override {
    std::vector<proto::NetworkStatus> out;
    for (const auto& [name, network] : m_networks) {
      proto::NetworkStatus status;
      status.network.name = name;
      if (network.subnet) {
        status.network.subnet = network.subnet->to_string();
        status.network.gateway = core::ipv4_to_string(network.subnet->gateway());
        status.network.dhcp_range = core::ipv4_to_string(network.subnet->dhcp_first()) + "-" +
                                    core::ipv4_to_string(network.subnet->dhcp_last());
      }
      status.backend = "vmnet";
      status.mode = network.mode;
      status.attachments = network.attachments.size();
      out.push_back(std::move(status));
    }
    return out;
  }

  void create_network(const proto::NetworkSpec& spec, proto::Origin origin, NetworkDone done) override {
    if (auto why = unsupported(spec)) return done(core::Error{EINVAL, *why});
    const auto subnet = spec.subnet ? core::Ipv4Subnet::parse(*spec.subnet) : std::nullopt;
    if (const auto it = m_networks.find(spec.name); it != m_networks.end()) {
      VmnetNetworkState& network = it->second;
      std::string field;
      if (network.spec) {
        if (network.spec->mode != spec.mode) {
          field = "mode";
        } else if (network.spec->subnet != spec.subnet) {
          field = "subnet";
        } else if (network.spec->isolation != spec.isolation) {
          field = "isolation";
        }
      } else if (network.mode != spec.mode) {
        field = "mode";
      } else if (spec.subnet && subnet != network.subnet) {
        field = "subnet";
      } else if (spec.isolation) {
        field = "isolation";
      }
      if (!field.empty()) return done(core::Error{EEXIST, field});
      if (!network.spec) {
        network.spec = spec;
        network.origin = origin;
      }
      return done(describe_network(it->first, network));
    }
    VmnetNetworkState network;
    network.mode = spec.mode;
    network.subnet = subnet;
    network.spec = spec;
    network.origin = origin;
    const auto made = m_networks.emplace(spec.name, std::move(network)).first;
    done(describe_network(made->first, made->second));
  }

  void delete_network(const std::string& name, std::function<void(core::Result<void>)> done) override {
    const auto it = m_networks.find(name);
    if (it == m_networks.end()) return done(core::Error{ENOENT, "no network named '" + name + "'"});
    if (!it->second.attachments.empty()) return done(core::Error{EBUSY, "network '" + name + "' is in use"});
    m_networks.erase(it);
    done(core::Result<void>());
  }

  [[nodiscard]] std::vector<proto::NetworkDescription> list_networks() const override {
    std::vector<proto::NetworkDescription> out;
    for (const auto& [name, network] : m_networks) out.push_back(describe_network(name, network));
    return out;
  }

  [[nodiscard]] proto::KernelStatus kernel_status() const override {
    const backend::VmnetCapabilities can = backend::vmnet_capabilities();
    return {"vmnet",
            {},
            {{"isolation", can.isolation},
             {"bridged", true},
             {"tso", can.tso},
             {"checksum_offload", can.checksum_offload},
             {"virtio_header", can.virtio_header},
             {"network_objects", can.network_objects}}};
  }

 private:
  static proto::NetworkDescription describe_network(const std::string& name, const VmnetNetworkState& network) {
    proto::NetworkDescription out;
    out.network.name = name;
    if (network.subnet) {
      out.network.subnet = network.subnet->to_string();
      out.network.gateway = core::ipv4_to_string(network.subnet->gateway());
      out.network.dhcp_range =
          core::ipv4_to_string(network.subnet->dhcp_first()) + "-" + core::ipv4_to_string(network.subnet->dhcp_last());
    }
    out.mode = network.mode;
    out.origin = network.origin;
    out.state = "ready";
    out.isolation = network.spec && network.spec->isolation;
    out.attachments.assign(network.attachments.begin(), network.attachments.end());
    out.attachment_count = network.attachments.size();
    return out;
  }

  // A network started without a subnet gets vmnet's default (shared 192.168.64.0/24 …):
  // once the first interface reports it, the network keeps it, so `status` shows it and
  // later attachments ask for exactly it.
  void learn(const std::string& name, const backend::GrantedLink& granted) {
    const auto it = m_networks.find(name);
    if (it == m_networks.end() || !granted.subnet) return;
    const auto subnet = core::Ipv4Subnet::parse(*granted.subnet);
    if (!subnet) return;
    if (!it->second.subnet) {
      it->second.subnet = subnet;
    } else if (*it->second.subnet != *subnet) {
      spdlog::warn("network {}: asked vmnet for {}, it serves {}", name, it->second.subnet->to_string(),
                   subnet->to_string());
    }
  }

  // The network `params` names, made on first use; or why it cannot be joined.
  std::variant<VmnetNetworkState*, BackendRefusal> join(const proto::StartParams& params) {
    std::optional<core::Ipv4Subnet> subnet;
    if (params.subnet) {
      subnet = core::Ipv4Subnet::parse(*params.subnet);
      if (!subnet)
        return BackendRefusal{proto::ErrorCode::invalid_params, "subnet: not a CIDR /8 to /30: " + *params.subnet};
    }
    if (const auto it = m_networks.find(params.network); it != m_networks.end()) {
      VmnetNetworkState& network = it->second;
      if (network.mode != params.mode) {
        return BackendRefusal{proto::ErrorCode::invalid_params,
                              std::string("mode: network '") + params.network + "' is a " +
                                  proto::to_string(network.mode) + " network; name another with `network` (" +
                                  "squib-netctl --network NAME) for a " + proto::to_string(params.mode) + " one"};
      }
      if (subnet && subnet != network.subnet) {
        return BackendRefusal{proto::ErrorCode::invalid_params,
                              "subnet: network '" + params.network + "' already uses " +
                                  (network.subnet ? network.subnet->to_string() : std::string("vmnet's default"))};
      }
      return &network;
    }
    VmnetNetworkState network;
    network.mode = params.mode;
    network.subnet = subnet;
    if (backend::VmnetNetwork::available()) {
      backend::VmnetNetworkOptions options;
      options.name = params.network;
      options.mode = vmnet_mode(params.mode);
      if (subnet) {
        options.subnet_address = core::ipv4_to_string(subnet->network);
        options.subnet_mask = core::ipv4_to_string(subnet->mask());
      }
      auto created = backend::VmnetNetwork::create(options);
      if (!created)
        return BackendRefusal{proto::ErrorCode::backend_failed,
                              "network " + params.network + ": " + created.error().message};
      network.network = std::move(created.value());
    }
    return &m_networks.emplace(params.network, std::move(network)).first->second;
  }

  std::map<std::string, VmnetNetworkState> m_networks;
};

}  // namespace

std::unique_ptr<KernelModes> make_kernel_modes(uv_loop_t* /*loop*/, const DaemonConfig& /*config*/) {
  return std::make_unique<VmnetKernelModes>();
}

}  // namespace squib::service
