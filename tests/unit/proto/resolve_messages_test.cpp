// Tests of squib/proto/resolve_messages.hpp: `resolve`'s params and result as JSON.

#include <squib/proto/resolve_messages.hpp>

#include <string>

#include <squib/proto/messages.hpp>

#include "support/catch.hpp"

using squib::proto::ParamError;
using squib::proto::ResolveResult;
using json = nlohmann::json;

TEST_CASE("resolve params: a name of 1 to 253 characters, else a ParamError naming `name`", "[proto][resolve]") {
  CHECK(squib::proto::parse_resolve_params(json{{"name", "web"}}).name == "web");
  CHECK(squib::proto::parse_resolve_params(json{{"name", "web.squib.internal"}}).name == "web.squib.internal");
  CHECK(squib::proto::to_json(squib::proto::ResolveParams{"web"}) == json{{"name", "web"}});
  for (const json& bad :
       {json::object(), json{{"name", ""}}, json{{"name", 7}}, json{{"name", std::string(254, 'a')}}, json::array()}) {
    INFO(bad.dump());
    try {
      (void)squib::proto::parse_resolve_params(bad);
      FAIL("accepted");
    } catch (const ParamError& e) {
      CHECK(e.field() == "name");
    }
  }
}

TEST_CASE("resolve result: address6 only when the network has IPv6, read back as written", "[proto][resolve]") {
  const ResolveResult v4{"web", "web.squib.internal", "192.168.105.23", std::nullopt};
  CHECK(squib::proto::to_json(v4) ==
        json{{"name", "web"}, {"fqdn", "web.squib.internal"}, {"address", "192.168.105.23"}});
  const ResolveResult dual{"web", "web.squib.internal", "192.168.105.23", "fd12:3456:789a:1::23"};
  const auto back = squib::proto::from_json<ResolveResult>(squib::proto::to_json(dual));
  CHECK(back.name == "web");
  CHECK(back.fqdn == "web.squib.internal");
  CHECK(back.address == "192.168.105.23");
  CHECK(back.address6 == "fd12:3456:789a:1::23");
  CHECK_THROWS_AS(squib::proto::from_json<ResolveResult>(json{{"name", "web"}}), ParamError);
}
