// Tests of squib/service/dispatcher.hpp: one request line in, one response line out, with
// every protocol error code produced here and nothing thrown. Drives the real registry on a
// real loop but never starts a backend: each request below is answered before one would be.

#include <squib/service/dispatcher.hpp>

#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <optional>
#include <string>

#include <uv.h>

#include <squib/proto/jsonrpc.hpp>
#include <squib/service/attachment_registry.hpp>
#include <squib/service/backend_factory.hpp>

#include "support/catch.hpp"

namespace {

using squib::proto::json;
using squib::service::DaemonConfig;
using squib::service::PeerCredentials;

const PeerCredentials k_root{1, 0, 0};
const PeerCredentials k_user{2, 1000, 1000};

// A loop, a registry over a temporary run dir and a dispatcher; on destruction, closes
// every handle, runs the loop dry and requires uv_loop_close() == 0 (style.md item 11).
class Fixture {
public:
  Fixture() {
    char templ[] = "/tmp/squib-dispatch-XXXXXX";
    REQUIRE(::mkdtemp(templ) != nullptr);
    m_config.run_dir = templ;
    m_config.control_path = m_config.run_dir + "/control.sock";
    REQUIRE(uv_loop_init(&m_loop) == 0);
    m_factory = std::make_unique<squib::service::BackendFactory>(m_config);
    m_registry = std::make_unique<squib::service::AttachmentRegistry>(&m_loop, m_config, *m_factory);
    m_dispatcher = std::make_unique<squib::service::Dispatcher>(*m_registry, m_config);
  }
  ~Fixture() {
    m_dispatcher.reset();
    m_registry.reset();
    m_factory.reset();
    uv_run(&m_loop, UV_RUN_DEFAULT);
    CHECK(uv_loop_close(&m_loop) == 0);
    ::rmdir(m_config.run_dir.c_str());
  }
  Fixture(const Fixture&) = delete;
  Fixture& operator=(const Fixture&) = delete;

  // The response line to `line` from `caller`, once the dispatcher answers (running the loop
  // if the answer is not immediate).
  std::string respond(std::string_view line, const PeerCredentials& caller = k_root) {
    std::optional<std::string> response;
    m_dispatcher->handle(line, caller, [&](std::string reply, squib::core::Fd) { response = std::move(reply); });
    while (!response && uv_run(&m_loop, UV_RUN_ONCE) != 0) {
    }
    REQUIRE(response);
    return *response;
  }
  // The parsed response to `line` from `caller`.
  json call(std::string_view line, const PeerCredentials& caller = k_root) {
    const std::string response = respond(line, caller);
    INFO("response: " << response);
    REQUIRE(response.find('\n') == std::string::npos);
    json doc = json::parse(response, nullptr, false);
    REQUIRE(doc.is_object());
    CHECK(doc["jsonrpc"] == "2.0");
    return doc;
  }
  squib::service::Dispatcher& dispatcher() { return *m_dispatcher; }
  DaemonConfig& config() { return m_config; }

private:
  DaemonConfig m_config;
  uv_loop_t m_loop{};
  std::unique_ptr<squib::service::BackendFactory> m_factory;
  std::unique_ptr<squib::service::AttachmentRegistry> m_registry;
  std::unique_ptr<squib::service::Dispatcher> m_dispatcher;
};

// {"code": ..., "message": ...} of an error response, after checking its id.
json error_of(const json& response, const json& id) {
  CHECK(response["id"] == id);
  CHECK_FALSE(response.contains("result"));
  REQUIRE(response.contains("error"));
  return response["error"];
}

}  // namespace

TEST_CASE("Dispatcher answers envelope errors with the parser's code", "[service][dispatcher]") {
  Fixture fixture;
  SECTION("malformed JSON: exact bytes") {
    CHECK(fixture.respond("{oops") ==
          R"({"error":{"code":-32700,"message":"parse error: invalid JSON"},"id":null,"jsonrpc":"2.0"})");
  }
  SECTION("not a request") {
    CHECK(error_of(fixture.call(R"({"id":1,"method":"list"})"), 1)["code"] == -32600);
  }
  SECTION("params not an object") {
    CHECK(error_of(fixture.call(R"({"jsonrpc":"2.0","id":1,"method":"stop","params":[1]})"), 1)["code"] == -32602);
  }
}

TEST_CASE("Dispatcher: an unknown method is -32601 naming it", "[service][dispatcher]") {
  Fixture fixture;
  const auto error = error_of(fixture.call(R"({"jsonrpc":"2.0","id":"r","method":"reboot"})"), "r");
  CHECK(error == json{{"code", -32601}, {"message", "method not found: reboot"}});
}

TEST_CASE("Dispatcher: bad params are -32602 naming the field", "[service][dispatcher]") {
  Fixture fixture;
  SECTION("start mtu") {
    const auto error =
        error_of(fixture.call(R"({"jsonrpc":"2.0","id":1,"method":"start","params":{"name":"vm1","mtu":9}})"), 1);
    CHECK(error == json{{"code", -32602}, {"message", "invalid params: mtu: must be an integer from 68 to 65535"}});
  }
  SECTION("start without params") {
    const auto error = error_of(fixture.call(R"({"jsonrpc":"2.0","id":2,"method":"start"})"), 2);
    CHECK(error == json{{"code", -32602}, {"message", "invalid params: name: is required"}});
  }
  SECTION("stop name") {
    const auto error =
        error_of(fixture.call(R"({"jsonrpc":"2.0","id":3,"method":"stop","params":{"name":"../x"}})"), 3);
    CHECK(error["code"] == -32602);
    CHECK(error["message"] == "invalid params: name: must match [A-Za-z0-9_.-]{1,64} and not be . or ..");
  }
  SECTION("stats name of the wrong type") {
    const auto error = error_of(fixture.call(R"({"jsonrpc":"2.0","id":4,"method":"stats","params":{"name":4}})"), 4);
    CHECK(error == json{{"code", -32602}, {"message", "invalid params: name: must be a string"}});
  }
}

TEST_CASE("Dispatcher: unknown names are -32001", "[service][dispatcher]") {
  Fixture fixture;
  SECTION("stop") {
    const auto error = error_of(fixture.call(R"({"jsonrpc":"2.0","id":1,"method":"stop","params":{"name":"vm9"}})"), 1);
    CHECK(error == json{{"code", -32001}, {"message", "no attachment named 'vm9'"}});
  }
  SECTION("stats") {
    const auto error =
        error_of(fixture.call(R"({"jsonrpc":"2.0","id":1,"method":"stats","params":{"name":"vm9"}})"), 1);
    CHECK(error["code"] == -32001);
  }
}

TEST_CASE("Dispatcher: permission and limit errors come before any backend", "[service][dispatcher]") {
  Fixture fixture;
  SECTION("owner from a non-root caller is -32003") {
    const auto error = error_of(
        fixture.call(R"({"jsonrpc":"2.0","id":1,"method":"start","params":{"name":"vm1","owner":{"uid":0}}})", k_user),
        1);
    CHECK(error == json{{"code", -32003}, {"message", "owner: only root may attach a socket to another user"}});
  }
  SECTION("a custom userspace program from a non-root caller is -32003") {
    const auto error = error_of(fixture.call(R"({"jsonrpc":"2.0","id":1,"method":"start",
        "params":{"name":"vm1","mode":"userspace","userspace":{"kind":"custom","path":"/bin/sh"}}})",
                                             k_user),
                                1);
    CHECK(error["code"] == -32003);
  }
  SECTION("max_attachments reached is -32005") {
    fixture.config().max_attachments = 0;
    const auto error =
        error_of(fixture.call(R"({"jsonrpc":"2.0","id":1,"method":"start","params":{"name":"vm1"}})"), 1);
    CHECK(error == json{{"code", -32005}, {"message", "the daemon already has 0 attachments (the limit)"}});
  }
}

TEST_CASE("Dispatcher: read-only methods", "[service][dispatcher]") {
  Fixture fixture;
  SECTION("list with no attachments") {
    const auto response = fixture.call(R"({"jsonrpc":"2.0","id":1,"method":"list"})");
    CHECK(response["result"] == json::array());
  }
  SECTION("stats of everything") {
    CHECK(fixture.call(R"({"jsonrpc":"2.0","id":1,"method":"stats"})")["result"] == json::array());
  }
  SECTION("status") {
    const auto result = fixture.call(R"({"jsonrpc":"2.0","id":1,"method":"status"})")["result"];
    CHECK(result["pid"] == ::getpid());
    CHECK(result["attachments"] == 0);
    CHECK(result["run_dir"] == fixture.config().run_dir);
#if defined(__APPLE__)
    CHECK(result["platform"] == "darwin");
#else
    CHECK(result["platform"] == "linux");
#endif
    CHECK(result["version"].is_string());
    CHECK(result["uptime_s"].is_number());
  }
  SECTION("a notification is answered with id null") {
    CHECK(fixture.call(R"({"jsonrpc":"2.0","method":"list"})")["id"].is_null());
  }
}

TEST_CASE("Dispatcher: while shutting down, start and stop are -32006", "[service][dispatcher]") {
  Fixture fixture;
  fixture.dispatcher().set_shutting_down();
  CHECK(error_of(fixture.call(R"({"jsonrpc":"2.0","id":1,"method":"start","params":{"name":"vm1"}})"), 1)["code"] ==
        -32006);
  CHECK(error_of(fixture.call(R"({"jsonrpc":"2.0","id":2,"method":"stop","params":{"name":"vm1"}})"), 2) ==
        json{{"code", -32006}, {"message", "the daemon is shutting down"}});
  CHECK(fixture.call(R"({"jsonrpc":"2.0","id":3,"method":"list"})")["result"] == json::array());
}

TEST_CASE("Dispatcher: metrics, and subscribe only where a connection can stream", "[service][dispatcher]") {
  Fixture fixture;
  const auto metrics = fixture.call(R"({"jsonrpc":"2.0","id":1,"method":"metrics"})");
  CHECK(metrics["result"]["content_type"] == "text/plain; version=0.0.4; charset=utf-8");
  const std::string text = metrics["result"]["text"];
  CHECK(text.find("# TYPE squib_daemon_attachments gauge\nsquib_daemon_attachments 0\n") != std::string::npos);
  CHECK(text.find("squib_attachment_") == std::string::npos);  // none to show

  // No stream opener (this test has no connection): refused, not hung.
  const auto error = error_of(fixture.call(R"({"jsonrpc":"2.0","id":2,"method":"subscribe","params":{}})"), 2);
  CHECK(error == json{{"code", -32600}, {"message", "subscribe is served on the control socket only"}});
  const auto bad =
      error_of(fixture.call(R"({"jsonrpc":"2.0","id":3,"method":"subscribe","params":{"events":"x"}})"), 3);
  CHECK(bad["message"] == "invalid params: events: must be an array of event types");
}
