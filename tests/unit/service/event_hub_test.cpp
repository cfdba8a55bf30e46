// Tests of squib/service/event_hub.hpp: who gets which event, and a subscriber whose queue
// is full losing events (counted, reported on the next one) without holding up anyone.
// Drives the real registry (no attachments) on a real loop; ends with uv_loop_close() == 0.

#include <squib/service/event_hub.hpp>

#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include <uv.h>

#include <squib/service/backend_factory.hpp>

#include "support/catch.hpp"

namespace {

using squib::proto::Event;
using squib::service::EventHub;
using squib::service::EventStream;
using squib::service::PeerCredentials;

// The lines one subscriber got; refuses pushes while `full`.
struct Sink {
  std::shared_ptr<bool> alive = std::make_shared<bool>(true);
  std::vector<Event> got;
  bool full = false;

  EventStream stream() {
    return EventStream{[this](const std::string& line) {
                         if (full) return false;
                         got.push_back(*squib::proto::parse_event(line));
                         return true;
                       },
                       alive};
  }
};

Event event(const std::string& type, const std::string& name) {
  Event out;
  out.type = type;
  out.name = name;
  return out;
}

class Fixture {
 public:
  Fixture() {
    char templ[] = "/tmp/squib-events-XXXXXX";
    REQUIRE(::mkdtemp(templ) != nullptr);
    m_config.run_dir = templ;
    REQUIRE(uv_loop_init(&m_loop) == 0);
    m_factory = std::make_unique<squib::service::BackendFactory>(m_config);
    m_registry = std::make_unique<squib::service::AttachmentRegistry>(&m_loop, m_config, *m_factory);
    hub = std::make_unique<EventHub>(&m_loop, *m_registry);
  }
  ~Fixture() {
    hub.reset();
    m_registry.reset();
    m_factory.reset();
    uv_run(&m_loop, UV_RUN_DEFAULT);
    CHECK(uv_loop_close(&m_loop) == 0);
    ::rmdir(m_config.run_dir.c_str());
  }
  Fixture(const Fixture&) = delete;
  Fixture& operator=(const Fixture&) = delete;

  std::unique_ptr<EventHub> hub;

 private:
  squib::service::DaemonConfig m_config;
  uv_loop_t m_loop{};
  std::unique_ptr<squib::service::BackendFactory> m_factory;
  std::unique_ptr<squib::service::AttachmentRegistry> m_registry;
};

}  // namespace

TEST_CASE("event hub: members get their own attachments' events, root all, each its types", "[service][events]") {
  Fixture fixture;
  Sink root;
  Sink member;
  Sink only_stopped;
  fixture.hub->subscribe(PeerCredentials{1, 0, 0}, {}, root.stream());
  fixture.hub->subscribe(PeerCredentials{2, 1000, 1000}, {}, member.stream());
  fixture.hub->subscribe(PeerCredentials{3, 0, 0}, {{"stopped"}, std::nullopt}, only_stopped.stream());
  fixture.hub->publish(event("started", "mine"), 1000);
  fixture.hub->publish(event("started", "theirs"), 1001);
  fixture.hub->publish(event("stopped", "mine"), 1000);
  CHECK(root.got.size() == 3);
  REQUIRE(member.got.size() == 2);
  CHECK(member.got[0].name == "mine");
  CHECK(member.got[1].type == "stopped");
  CHECK(member.got[0].time > 1.7e9);
  REQUIRE(only_stopped.got.size() == 1);
  CHECK(only_stopped.got[0].type == "stopped");
}

TEST_CASE("event hub: a full subscriber loses events, counted on its next one, others unaffected",
          "[service][events]") {
  Fixture fixture;
  Sink slow;
  Sink fast;
  fixture.hub->subscribe(PeerCredentials{}, {}, slow.stream());
  fixture.hub->subscribe(PeerCredentials{}, {}, fast.stream());
  slow.full = true;
  for (int i = 0; i < 5; ++i) fixture.hub->publish(event("state", "vm" + std::to_string(i)), 0);
  slow.full = false;
  fixture.hub->publish(event("stopped", "vm9"), 0);
  CHECK(fast.got.size() == 6);
  REQUIRE(slow.got.size() == 1);
  CHECK(slow.got[0].name == "vm9");
  CHECK(slow.got[0].lost == 5);
  CHECK(fixture.hub->lost_total() == 5);
  fixture.hub->publish(event("stopped", "vm10"), 0);
  CHECK(slow.got.back().lost == 0);

  SECTION("a subscriber whose connection is gone is forgotten") {
    CHECK(fixture.hub->subscribers() == 2);
    slow.alive.reset();
    fixture.hub->publish(event("stopped", "vm11"), 0);
    CHECK(fixture.hub->subscribers() == 1);
  }
}
