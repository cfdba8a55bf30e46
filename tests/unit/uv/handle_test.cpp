// Tests of squib/uv/handle.hpp: the close notification runs from libuv's close callback,
// after the handle is freed, and a loop with only closed handles closes cleanly.

#include <squib/uv/handle.hpp>

#include <uv.h>

#include "support/catch.hpp"

namespace {
using squib::uv::Handle;
}  // namespace

TEST_CASE("Handle::close(closed) notifies from the close callback", "[uv][handle]") {
  uv_loop_t loop{};
  REQUIRE(uv_loop_init(&loop) == 0);
  int closed = 0;
  SECTION("an initialised handle: on the next loop turn, once") {
    Handle<uv_timer_t> timer;
    REQUIRE(uv_timer_init(&loop, timer.get()) == 0);
    timer.close([&] { ++closed; });
    CHECK(closed == 0);  // uv_close is asynchronous
    CHECK_FALSE(timer);
    timer.close([&] { ++closed; });  // nothing left to close: at once
    CHECK(closed == 1);
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK(closed == 2);
  }
  SECTION("two handles: each notifies, the last one can finish the owner's teardown") {
    Handle<uv_async_t> async;
    Handle<uv_timer_t> timer;
    REQUIRE(uv_async_init(&loop, async.get(), nullptr) == 0);
    REQUIRE(uv_timer_init(&loop, timer.get()) == 0);
    async.close([&] { ++closed; });
    timer.close([&] { ++closed; });
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK(closed == 2);
  }
  SECTION("a handle never initialised: at once") {
    Handle<uv_timer_t> timer;
    timer.close([&] { ++closed; });
    CHECK(closed == 1);
  }
  SECTION("close() without a notification still frees the handle") {
    Handle<uv_timer_t> timer;
    REQUIRE(uv_timer_init(&loop, timer.get()) == 0);
    timer.close();
    uv_run(&loop, UV_RUN_DEFAULT);
  }
  CHECK(uv_loop_close(&loop) == 0);
}
