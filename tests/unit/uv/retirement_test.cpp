// Tests of squib/uv/retirement.hpp: an object that stops asynchronously is destroyed on the
// loop turn after it reports stopped — never inside its own callback — and only then does
// its `after` callback run. Order is asserted through a shared event log.

#include <squib/uv/retirement.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <uv.h>

#include "support/catch.hpp"

namespace {

struct Stoppable {
  Stoppable(std::vector<std::string>& log, std::string name) : m_log(log), m_name(std::move(name)) {}
  ~Stoppable() { m_log.push_back(m_name + " destroyed"); }
  Stoppable(const Stoppable&) = delete;
  Stoppable& operator=(const Stoppable&) = delete;
  std::vector<std::string>& m_log;
  std::string m_name;
  std::function<void()> stopped;  // held until the test says the stop is complete
};

void stop(Stoppable& object, std::function<void()> stopped) { object.stopped = std::move(stopped); }

}  // namespace

TEST_CASE("Retirement destroys a stopped object on the next loop turn, then runs its after callback", "[uv]") {
  uv_loop_t loop;
  REQUIRE(uv_loop_init(&loop) == 0);
  std::vector<std::string> log;
  {
    squib::uv::Retirement<Stoppable> retiring(&loop);
    auto owned = std::make_unique<Stoppable>(log, "a");
    Stoppable* a = owned.get();
    retiring.retire(std::move(owned), stop, [&] { log.push_back("a after"); });
    CHECK_FALSE(retiring.idle());
    uv_run(&loop, UV_RUN_NOWAIT);
    CHECK(log.empty());  // still stopping: nothing happens until it says so

    a->stopped();  // as a backend's callback would: a is still on the stack here
    CHECK(log.empty());
    CHECK_FALSE(retiring.idle());
    uv_run(&loop, UV_RUN_NOWAIT);
    CHECK(log == std::vector<std::string>{"a destroyed", "a after"});
    CHECK(retiring.idle());

    // Destroying the Retirement destroys what it still holds, and runs no callback.
    retiring.retire(std::make_unique<Stoppable>(log, "b"), stop, [&] { log.push_back("b after"); });
  }
  CHECK(log == std::vector<std::string>{"a destroyed", "a after", "b destroyed"});
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK(uv_loop_close(&loop) == 0);
}
