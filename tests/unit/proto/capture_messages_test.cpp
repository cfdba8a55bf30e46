// Tests of squib/proto/capture_messages.hpp: `capture` params with their defaults and the
// field named in every refusal; the result's round trip.

#include <squib/proto/capture_messages.hpp>

#include <squib/proto/messages.hpp>

#include "support/catch.hpp"

using squib::proto::CaptureDirection;
using squib::proto::json;
using squib::proto::ParamError;
using squib::proto::parse_capture_params;

namespace {

std::string refusal(const json& params) {
  try {
    (void)parse_capture_params(params);
  } catch (const ParamError& e) {
    return e.what();
  }
  return "accepted";
}

}  // namespace

TEST_CASE("capture params: defaults, values, and the field named when refused", "[unit][proto][capture]") {
  const auto plain = parse_capture_params({{"name", "vm1"}});
  CHECK(plain.name == "vm1");
  CHECK(plain.snaplen == 262144);
  CHECK(plain.direction == CaptureDirection::both);
  CHECK_FALSE(plain.dropped);
  CHECK(squib::proto::to_json(plain) == json{{"name", "vm1"}});

  const auto given = parse_capture_params({{"name", "vm1"}, {"snaplen", 64}, {"direction", "out"}, {"dropped", true}});
  CHECK(given.snaplen == 64);
  CHECK(given.direction == CaptureDirection::out);
  CHECK(given.dropped);
  CHECK(parse_capture_params(squib::proto::to_json(given)).snaplen == 64);

  CHECK(refusal(json::object()) == "name: is required");
  CHECK(refusal({{"name", "../x"}}) == "name: must match [A-Za-z0-9_.-]{1,64} and not be . or ..");
  CHECK(refusal({{"name", "vm1"}, {"snaplen", 13}}) == "snaplen: must be an integer from 14 to 262144");
  CHECK(refusal({{"name", "vm1"}, {"snaplen", "64"}}) == "snaplen: must be an integer from 14 to 262144");
  CHECK(refusal({{"name", "vm1"}, {"direction", "up"}}) == "direction: must be \"in\", \"out\" or \"both\"");
  CHECK(refusal({{"name", "vm1"}, {"dropped", 1}}) == "dropped: must be true or false");
}

TEST_CASE("capture result: to_json and from_json agree", "[unit][proto][capture]") {
  const squib::proto::CaptureResult result{"vm1", 128, CaptureDirection::in, true, 1, "squib:vm1"};
  const auto back = squib::proto::from_json<squib::proto::CaptureResult>(squib::proto::to_json(result));
  CHECK(back.name == "vm1");
  CHECK(back.snaplen == 128);
  CHECK(back.direction == CaptureDirection::in);
  CHECK(back.dropped);
  CHECK(back.interface == "squib:vm1");
  CHECK_THROWS_AS(squib::proto::from_json<squib::proto::CaptureResult>(json{{"name", "vm1"}}), ParamError);
}
