// AttachmentRegistry's network methods (issue 15): network.create, network.delete,
// network.list over the platform's KernelModes (through BackendFactory). The registry owns
// them because a forced delete stops attachments, and because state.json, which records the
// networks network.create made, is written here.

#include <squib/service/attachment_registry.hpp>

#include <algorithm>
#include <memory>

#include <spdlog/spdlog.h>

#include <squib/service/tenancy.hpp>

namespace squib::service {

using proto::ErrorCode;

namespace {

// What a network method reports for the kernel modes' Error (kernel_modes.hpp's contract).
[[gnu::noinline]] MethodError method_error_of(const std::string& name, const core::Error& error) {
  switch (error.code) {
    case EINVAL: return {ErrorCode::invalid_params, "invalid params: " + error.message};
    case EEXIST:
      return {ErrorCode::already_exists,
              "network '" + name + "' already exists with a different spec (" + error.message + ")"};
    case ENOENT: return {ErrorCode::not_found, "no network named '" + name + "'"};
    // Attachments stopped a moment ago still hold it until their backends are done.
    case EBUSY: return {ErrorCode::in_use, "network '" + name + "' is in use by attachments still stopping; ask again"};
    case ENOTSUP: return {ErrorCode::invalid_params, error.message};
    default: return {ErrorCode::backend_failed, error.message};
  }
}

std::optional<MethodError> refuse_non_root(const PeerCredentials& caller, const char* method) {
  if (is_root(caller)) return std::nullopt;
  return MethodError{ErrorCode::permission_denied, std::string("permission denied: ") + method + " is root only"};
}

}  // namespace

void AttachmentRegistry::make_network(const proto::NetworkSpec& spec, proto::Origin origin, NetworkAnswer done) {
  const std::string name = spec.name;
  m_factory.create_network(spec, origin, [name, done = std::move(done)](core::Result<proto::NetworkDescription> made) {
    if (!made) return done(method_error_of(name, made.error()));
    done(std::move(made.value()));
  });
}

void AttachmentRegistry::create_network(const proto::NetworkSpec& spec, const PeerCredentials& caller,
                                        NetworkAnswer done) {
  if (auto refused = refuse_non_root(caller, "network.create")) return done(*refused);
  make_network(spec, proto::Origin::api, [this, spec, done = std::move(done)](Outcome<proto::NetworkDescription> made) {
    if (auto* description = std::get_if<proto::NetworkDescription>(&made)) {
      // Recorded as asked (an implicit network it adopted included); a config network that
      // network.create repeats stays the config's.
      if (description->origin == proto::Origin::api && !m_declared.contains(spec.name)) {
        m_declared.emplace(spec.name, spec);
        save_state();
      }
      spdlog::info("network {}: created ({} mode, bridge {})", spec.name, proto::to_string(spec.mode),
                   description->network.bridge.value_or("?"));
    }
    done(std::move(made));
  });
}

void AttachmentRegistry::delete_network(const proto::NetworkDeleteParams& params, const PeerCredentials& caller,
                                        std::function<void(Outcome<proto::NameResult>)> done) {
  if (auto refused = refuse_non_root(caller, "network.delete")) return done(*refused);
  const std::string name = params.name;
  const auto listed = m_factory.list_networks();
  if (std::none_of(listed.begin(), listed.end(), [&](const auto& d) { return d.network.name == name; })) {
    return done(MethodError{ErrorCode::not_found, "no network named '" + name + "'"});
  }
  // Its attachments: those of host/shared mode naming it.
  std::vector<std::string> users;
  bool starting = false;
  for_each_entry([&](const std::string& entry_name, const Entry& entry) {
    const bool own = entry.params.mode == proto::Mode::host || entry.params.mode == proto::Mode::shared;
    if (!own || entry.params.network != name) return;
    users.push_back(entry_name);
    starting = starting || m_starting.contains(entry_name);
  });
  if (!users.empty() && !params.force) {
    std::string list;
    for (const auto& user : users) list += (list.empty() ? "" : ", ") + user;
    return done(MethodError{ErrorCode::in_use, "network '" + name + "' is in use by " + std::to_string(users.size()) +
                                                   (users.size() == 1 ? " attachment (" : " attachments (") + list +
                                                   "); stop them first or pass force"});
  }
  if (starting) {
    return done(MethodError{ErrorCode::busy,
                            "network '" + name + "' has attachments still starting; ask again once they answered"});
  }
  // Then the network, once every attachment of it is released (their backends stopped).
  auto remove = [this, name, done = std::move(done)] {
    m_factory.delete_network(name, [this, name, done](core::Result<void> deleted) {
      if (!deleted) return done(method_error_of(name, deleted.error()));
      if (m_declared.erase(name) > 0) save_state();
      spdlog::info("network {}: deleted", name);
      done(proto::NameResult{name});
    });
  };
  if (users.empty()) return remove();
  auto outstanding = std::make_shared<std::size_t>(users.size());
  auto after_all = std::make_shared<std::function<void()>>(std::move(remove));
  for (const auto& user : users) {
    emit(user, "stopped");
    auto it = m_attachments.find(user);
    auto attachment = std::move(it->second.attachment);
    auto attachment_params = std::move(it->second.params);
    m_attachments.erase(it);
    spdlog::info("{}: stopped (network.delete {} with force)", user, name);
    retire(std::move(attachment), [this, attachment_params = std::move(attachment_params), outstanding, after_all] {
      m_factory.released(attachment_params);
      if (--*outstanding == 0) (*after_all)();
    });
  }
  save_state();
}

std::vector<proto::NetworkDescription> AttachmentRegistry::list_networks(const PeerCredentials& caller) const {
  auto out = m_factory.list_networks();
  if (is_root(caller)) return out;
  for (auto& description : out) {
    std::erase_if(description.attachments, [&](const std::string& attachment) {
      const auto it = m_attachments.find(attachment);
      return it == m_attachments.end() || !visible_to(it->second, caller);
    });
  }
  return out;
}

void AttachmentRegistry::restore_networks(const std::vector<proto::NetworkSpec>& config,
                                          const std::vector<proto::NetworkSpec>& recorded) {
  const auto report = [](const std::string& name, const char* from) {
    return [name, from](const Outcome<proto::NetworkDescription>& made) {
      if (const auto* error = std::get_if<MethodError>(&made)) {
        spdlog::error("network {} ({}): could not be made: {}", name, from, error->message);
      } else {
        spdlog::info("network {}: made from {}", name, from);
      }
    };
  };
  for (const auto& spec : config) make_network(spec, proto::Origin::config, report(spec.name, "the config file"));
  for (const auto& spec : recorded) {
    m_declared.emplace(spec.name, spec);  // kept recorded even if this start cannot make it
    make_network(spec, proto::Origin::api, report(spec.name, "state.json"));
  }
}

}  // namespace squib::service
