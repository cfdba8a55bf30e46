// Tests of the real VmnetBackend (lib/squib/backend/vmnet) driven through the contract fake
// of vmnet/dispatch/xpc in tests/vmnet/fake — the project's one test double (design brief
// §6). What passes here is the backend's logic against the fake's model of vmnet; it says
// nothing about vmnet.framework itself, which this project has not run yet (docs/macos.md).

#include <squib/backend/vmnet/vmnet_backend.hpp>
#include <squib/backend/vmnet/vmnet_descriptor.hpp>
#include <squib/backend/vmnet/vmnet_network.hpp>

#include <spdlog/spdlog.h>

#include <uv.h>

#include "fake_vmnet_control.h"
#include "support/catch.hpp"

#include <atomic>
#include <chrono>
#include <cstring>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
using Catch::Matchers::ContainsSubstring;
using Catch::Matchers::StartsWith;
using squib::backend::BackendContext;
using squib::backend::BackendState;
using squib::backend::VmnetBackend;
using squib::backend::VmnetMode;
using squib::backend::VmnetOptions;
using squib::core::DropReason;
using squib::core::FrameBatch;

constexpr std::size_t k_batch = squib::core::k_batch_size;
// VMNET_NOT_AUTHORIZED by number: the old-SDK variant's enum has no such member.
const auto k_not_authorized = static_cast<vmnet_return_t>(1010);
constexpr bool k_sdk_has_checksum_offload = SQUIB_FAKE_VMNET_SDK_VERSION >= 120000;
constexpr bool k_sdk_has_virtio_header = SQUIB_FAKE_VMNET_SDK_VERSION >= 150400;

// A test frame: broadcast destination, a source MAC, EtherType 0x88b5 (IEEE 802 local
// experimental), then a 32-bit sequence number and padding up to `size`.
std::vector<std::byte> make_frame(std::uint32_t seq, std::size_t size = 64) {
  std::vector<std::byte> frame(size, std::byte{0});
  for (std::size_t i = 0; i < 6; ++i) frame[i] = std::byte{0xff};
  frame[6] = std::byte{0x02};
  frame[12] = std::byte{0x88};
  frame[13] = std::byte{0xb5};
  std::memcpy(frame.data() + 14, &seq, sizeof(seq));
  return frame;
}

std::uint32_t seq_of(const std::vector<std::byte>& frame) {
  std::uint32_t seq = 0;
  std::memcpy(&seq, frame.data() + 14, sizeof(seq));
  return seq;
}

class RecordingSink final : public squib::core::FrameSink {
public:
  void consume(const FrameBatch& batch) override {
    batch_sizes.push_back(batch.count);
    for (auto frame : batch.view()) frames.emplace_back(frame.begin(), frame.end());
    if (on_consume) on_consume();
  }
  std::vector<std::size_t> batch_sizes;
  std::vector<std::vector<std::byte>> frames;
  std::function<void()> on_consume;
};

struct Fixture {
  Fixture() {
    spdlog::set_level(spdlog::level::warn);  // start/stop info lines would drown the report
    REQUIRE(fake_vmnet_reset(2000));
    REQUIRE(uv_loop_init(&loop) == 0);
    context.loop = &loop;
    context.name = "vm1";
    context.mac = squib::core::MacAddress::derive_from_name("vm1");
    context.mtu = 1500;
    context.max_frame = 1518;
    context.to_vm = &sink;
    context.stats = &stats;
    options.start_timeout = 1000ms;
    options.stop_timeout = 1000ms;
  }
  ~Fixture() {
    backend.reset();
    run_for(20ms);
    CHECK(uv_loop_close(&loop) == 0);
    CHECK(fake_vmnet_reset(2000));
  }
  Fixture(const Fixture&) = delete;
  Fixture& operator=(const Fixture&) = delete;

  VmnetBackend& make() {
    backend = std::make_unique<VmnetBackend>(context, options);
    return *backend;
  }
  // Starts `b` and runs the loop until its `ready` has answered.
  squib::core::Result<void> start(VmnetBackend& b) {
    std::optional<squib::core::Result<void>> outcome;
    b.start([&](squib::core::Result<void> ready) { outcome = std::move(ready); });
    REQUIRE(run_until([&] { return outcome.has_value(); }, 10'000ms));
    return std::move(*outcome);
  }
  // Runs the loop without blocking until `done` holds or `timeout` passes.
  template <typename Pred>
  bool run_until(Pred done, std::chrono::milliseconds timeout = 2000ms) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      uv_run(&loop, UV_RUN_NOWAIT);
      std::this_thread::sleep_for(1ms);
    }
    return true;
  }
  void run_for(std::chrono::milliseconds duration) {
    run_until([] { return false; }, duration);
  }
  void stop_and_wait() {
    bool done = false;
    backend->stop([&] { done = true; });
    REQUIRE(run_until([&] { return done; }));
  }
  void inject_sequence(std::uint32_t first, std::uint32_t count) {
    std::vector<std::vector<std::byte>> frames;
    std::vector<const void*> pointers;
    std::vector<std::size_t> lengths;
    for (std::uint32_t i = 0; i < count; ++i) frames.push_back(make_frame(first + i));
    for (auto& f : frames) {
      pointers.push_back(f.data());
      lengths.push_back(f.size());
    }
    fake_vmnet_inject_many(pointers.data(), lengths.data(), count);
  }
  void require_in_order(std::uint32_t count) {
    REQUIRE(sink.frames.size() == count);
    for (std::uint32_t i = 0; i < count; ++i) REQUIRE(seq_of(sink.frames[i]) == i);
  }

  uv_loop_t loop{};
  squib::core::AttachmentStats stats;
  RecordingSink sink;
  BackendContext context;
  VmnetOptions options;
  std::unique_ptr<VmnetBackend> backend;
};

}  // namespace

TEST_CASE("vmnet_strerror names every vmnet_return_t", "[vmnet]") {
  using squib::backend::vmnet_strerror;
  CHECK(vmnet_strerror(VMNET_SUCCESS) == "VMNET_SUCCESS");
  CHECK(vmnet_strerror(VMNET_FAILURE) == "VMNET_FAILURE");
  CHECK(vmnet_strerror(VMNET_MEM_FAILURE) == "VMNET_MEM_FAILURE");
  CHECK(vmnet_strerror(VMNET_INVALID_ARGUMENT) == "VMNET_INVALID_ARGUMENT");
  CHECK(vmnet_strerror(VMNET_SETUP_INCOMPLETE) == "VMNET_SETUP_INCOMPLETE");
  CHECK(vmnet_strerror(VMNET_INVALID_ACCESS) == "VMNET_INVALID_ACCESS");
  CHECK(vmnet_strerror(VMNET_PACKET_TOO_BIG) == "VMNET_PACKET_TOO_BIG");
  CHECK(vmnet_strerror(VMNET_BUFFER_EXHAUSTED) == "VMNET_BUFFER_EXHAUSTED");
  CHECK(vmnet_strerror(VMNET_TOO_MANY_PACKETS) == "VMNET_TOO_MANY_PACKETS");
  CHECK(vmnet_strerror(VMNET_SHARING_SERVICE_BUSY) == "VMNET_SHARING_SERVICE_BUSY");
  CHECK(vmnet_strerror(k_not_authorized) == "VMNET_NOT_AUTHORIZED");
  CHECK(vmnet_strerror(999) == "VMNET_UNKNOWN_STATUS");
  CHECK(vmnet_strerror(1011) == "VMNET_UNKNOWN_STATUS");
  CHECK(vmnet_strerror(0) == "VMNET_UNKNOWN_STATUS");
}

TEST_CASE("interface id is the UUIDv5 of the attachment name in our namespace", "[vmnet]") {
  using squib::backend::interface_id_for;
  const auto a = interface_id_for("vm1");
  CHECK(a == interface_id_for("vm1"));
  CHECK(a != interface_id_for("vm2"));
  CHECK((a[6] & 0xf0) == 0x50);  // version 5
  CHECK((a[8] & 0xc0) == 0x80);  // RFC 9562 variant
  // Python: uuid.uuid5(uuid.UUID("b0d6e74e-5a56-40f6-8359-9ac9ca2e5084"), "vm1")
  CHECK(squib::backend::to_string(a) == "93bea571-1453-5935-b553-04f028dfc043");
}

// The fake itself: vmnet_mac_address_key is an output, so a requested MAC is ignored and the
// fake reports its own, one per interface id; with allocation off, neither MAC nor id.
TEST_CASE("the contract fake allocates its own MAC per interface id", "[vmnet][fake]") {
  REQUIRE(fake_vmnet_reset(2000));
  dispatch_queue_t queue = dispatch_queue_create("test.fake.mac", DISPATCH_QUEUE_SERIAL);
  const unsigned char id_a[16] = {0xa};
  const unsigned char id_b[16] = {0xb};
  auto start_one = [&](const unsigned char* id, int allocate) {  // allocate: -1 absent, 0, 1
    xpc_object_t desc = xpc_dictionary_create(nullptr, nullptr, 0);
    xpc_dictionary_set_uint64(desc, vmnet_operation_mode_key, VMNET_SHARED_MODE);
    xpc_dictionary_set_string(desc, vmnet_mac_address_key, "02:11:22:33:44:55");
    if (id != nullptr) xpc_dictionary_set_uuid(desc, vmnet_interface_id_key, id);
    if (allocate >= 0) xpc_dictionary_set_bool(desc, vmnet_allocate_mac_address_key, allocate == 1);
    interface_ref iface = vmnet_start_interface(desc, queue, ^(vmnet_return_t, xpc_object_t) {
    });
    xpc_release(desc);
    REQUIRE(iface != nullptr);
    REQUIRE(fake_dispatch_wait_idle(2000));
    std::optional<std::string> mac;
    if (const char* m = fake_vmnet_param_string(vmnet_mac_address_key)) mac = m;
    CHECK(vmnet_stop_interface(iface, queue, ^(vmnet_return_t) {
    }) == VMNET_SUCCESS);
    REQUIRE(fake_dispatch_wait_idle(2000));
    return mac;
  };
  const auto a1 = start_one(id_a, -1);
  REQUIRE(a1.has_value());
  CHECK(*a1 != "02:11:22:33:44:55");  // the request is ignored
  CHECK(start_one(id_a, 1) == a1);     // same id, same MAC
  const auto b = start_one(id_b, 1);
  REQUIRE(b.has_value());
  CHECK(*b != *a1);
  CHECK_FALSE(start_one(id_a, 0).has_value());  // allocation off: no MAC reported
  CHECK_FALSE(fake_vmnet_param_has(vmnet_interface_id_key));
  dispatch_release(queue);
  CHECK(fake_vmnet_reset(2000));
}

TEST_CASE_METHOD(Fixture, "start builds the descriptor from the options", "[vmnet][start]") {
  SECTION("shared with a gateway and DHCP range") {
    options.mode = VmnetMode::shared;
    options.start_address = "192.168.105.1";
    options.end_address = "192.168.105.254";
    options.subnet_mask = "255.255.255.0";
    context.mtu = 4000;
    REQUIRE(start(make()).ok());
    CHECK(fake_vmnet_desc_uint64(vmnet_operation_mode_key) == VMNET_SHARED_MODE);
    CHECK(std::string(fake_vmnet_desc_string(vmnet_start_address_key)) == "192.168.105.1");
    CHECK(std::string(fake_vmnet_desc_string(vmnet_end_address_key)) == "192.168.105.254");
    CHECK(std::string(fake_vmnet_desc_string(vmnet_subnet_mask_key)) == "255.255.255.0");
    CHECK(fake_vmnet_desc_uint64(vmnet_mtu_key) == 4000);
    // vmnet_mac_address_key is an output; vmnet is told not to allocate one (as QEMU).
    CHECK_FALSE(fake_vmnet_desc_has(vmnet_mac_address_key));
    REQUIRE(fake_vmnet_desc_has(vmnet_allocate_mac_address_key));
    CHECK_FALSE(fake_vmnet_desc_bool(vmnet_allocate_mac_address_key));
    unsigned char id[16];
    REQUIRE(fake_vmnet_desc_uuid(vmnet_interface_id_key, id));
    const auto expected = squib::backend::interface_id_for("vm1");
    CHECK(std::memcmp(id, expected.data(), 16) == 0);
    CHECK_FALSE(fake_vmnet_desc_has(vmnet_shared_interface_name_key));
    CHECK_FALSE(fake_vmnet_desc_has(vmnet_enable_tso_key));
  }
  SECTION("host with isolation, no range") {
    options.mode = VmnetMode::host;
    options.isolation = true;
    REQUIRE(start(make()).ok());
    CHECK(fake_vmnet_desc_uint64(vmnet_operation_mode_key) == VMNET_HOST_MODE);
    CHECK(fake_vmnet_desc_bool(vmnet_enable_isolation_key));
    CHECK_FALSE(fake_vmnet_desc_has(vmnet_start_address_key));
  }
  SECTION("bridged names the host interface and no MTU (an error in bridged mode)") {
    options.mode = VmnetMode::bridged;
    options.bridge = "en0";
    REQUIRE(start(make()).ok());
    CHECK(fake_vmnet_desc_uint64(vmnet_operation_mode_key) == VMNET_BRIDGED_MODE);
    CHECK(std::string(fake_vmnet_desc_string(vmnet_shared_interface_name_key)) == "en0");
    CHECK_FALSE(fake_vmnet_desc_has(vmnet_mtu_key));
    CHECK(backend->interface_info().mtu == 1500);  // the bridged interface's, from vmnet
    CHECK(backend->interface_info().gateway.empty());
  }
  SECTION("TSO is passed when asked for (macOS 11)") {
    options.offloads.tso = true;
    REQUIRE(start(make()).ok());
    CHECK(fake_vmnet_desc_bool(vmnet_enable_tso_key));
    CHECK(backend->interface_info().max_packet_size == 65550);
  }
  SECTION("virtio header: passed with a macOS 15.4 SDK, ENOTSUP before") {
    options.offloads.virtio_header = true;
    auto result = start(make());
    if (k_sdk_has_virtio_header) {
      REQUIRE(result.ok());
#if SQUIB_FAKE_VMNET_SDK_VERSION >= 150400
      CHECK(fake_vmnet_desc_bool(vmnet_enable_virtio_header_key));
      CHECK_FALSE(fake_vmnet_desc_has(vmnet_enable_checksum_offload_key));
#endif
    } else {
      REQUIRE_FALSE(result.ok());
      CHECK(result.error().code == ENOTSUP);
      CHECK(fake_vmnet_start_calls() == 0);
    }
  }
  SECTION("checksum offload: passed with a macOS 12 SDK, ENOTSUP before") {
    options.offloads.checksum = true;
    auto result = start(make());
    CHECK(result.ok() == k_sdk_has_checksum_offload);
    if (!result.ok()) CHECK(result.error().code == ENOTSUP);
  }
  if (backend && backend->state() == BackendState::running) stop_and_wait();
}

TEST_CASE_METHOD(Fixture, "bad options fail before vmnet is called", "[vmnet][start]") {
  SECTION("bridged without a bridge") { options.mode = VmnetMode::bridged; }
  SECTION("partial DHCP range") { options.start_address = "192.168.105.1"; }
  SECTION("virtio header with checksum offload") {
    options.offloads.virtio_header = true;
    options.offloads.checksum = true;
  }
  bool builds_backend = true;
  SECTION("a macOS 26 network off macOS") {
    builds_backend = false;
    auto network = squib::backend::VmnetNetwork::create({.name = "default"});
    REQUIRE_FALSE(network.ok());
    CHECK(network.error().code == ENOTSUP);
    CHECK_FALSE(squib::backend::VmnetNetwork::available());
  }
  if (!builds_backend) return;
  auto result = start(make());
  REQUIRE_FALSE(result.ok());
  CHECK(result.error().code == EINVAL);
  CHECK(fake_vmnet_start_calls() == 0);
  CHECK(backend->state() == BackendState::failed);
}

TEST_CASE_METHOD(Fixture, "start reads back MTU, max packet size, MAC, gateway and DHCP range", "[vmnet][start]") {
  fake_vmnet_set_reported_mtu(1400);
  fake_vmnet_set_reported_max_packet_size(1414);
  SECTION("a range we chose: start is the gateway, DHCP begins after it") {
    options.start_address = "192.168.105.1";
    options.end_address = "192.168.105.200";
    options.subnet_mask = "255.255.255.0";
    REQUIRE(start(make()).ok());
    CHECK(backend->interface_info().gateway == "192.168.105.1");
    CHECK(backend->interface_info().dhcp_first == "192.168.105.2");
    CHECK(backend->interface_info().dhcp_last == "192.168.105.200");
    CHECK(backend->interface_info().subnet_mask == "255.255.255.0");
    // What the daemon's start result reports (backend.hpp GrantedLink).
    const auto granted = backend->granted();
    CHECK(granted.subnet == "192.168.105.0/24");
    CHECK(granted.gateway == "192.168.105.1");
    CHECK(granted.dhcp_range == "192.168.105.2-192.168.105.200");
  }
  SECTION("vmnet's default range") {
    REQUIRE(start(make()).ok());
    CHECK(backend->interface_info().gateway == fake_vmnet_param_string(vmnet_start_address_key));
    CHECK(backend->interface_info().dhcp_first == "192.168.64.2");
    CHECK(backend->interface_info().dhcp_last == fake_vmnet_param_string(vmnet_end_address_key));
    CHECK(backend->granted().subnet == "192.168.64.0/24");
  }
  CHECK(backend->state() == BackendState::running);
  // We do not ask vmnet for a MAC: it reports none, and the requested-MAC echo is gone.
  CHECK_FALSE(fake_vmnet_param_has(vmnet_mac_address_key));
  CHECK(backend->interface_info().mac.empty());
  CHECK(backend->interface_info().mtu == 1400);
  CHECK(backend->interface_info().max_packet_size == 1414);
  CHECK(backend->granted().mtu == 1400u);  // vmnet's, though 1500 was asked
  CHECK(backend->granted().max_packet_size == 1414u);
  CHECK(fake_vmnet_callback_set());
  stop_and_wait();
}

TEST_CASE_METHOD(Fixture, "a gateway that is the network address is refused by vmnet", "[vmnet][start]") {
  // vmnet_start_address_key is the gateway, a host address of the subnet [Apple vmnet.h]; the
  // strict fake refuses anything else, and the backend reports vmnet's status as EINVAL.
  options.start_address = "192.168.105.0";
  options.end_address = "192.168.105.254";
  options.subnet_mask = "255.255.255.0";
  auto result = start(make());
  REQUIRE_FALSE(result.ok());
  CHECK(result.error().code == EINVAL);
  CHECK_THAT(result.error().message, ContainsSubstring("VMNET_INVALID_ARGUMENT"));
}

TEST_CASE_METHOD(Fixture, "the macOS 26 network descriptor holds only the documented keys", "[vmnet][start]") {
  options.isolation = true;
  options.offloads.tso = true;
  auto desc = squib::backend::build_network_descriptor(options);
  REQUIRE(desc.ok());
  xpc_object_t d = desc->get();
  CHECK(fake_xpc_dictionary_has(d, vmnet_allocate_mac_address_key));
  CHECK_FALSE(xpc_dictionary_get_bool(d, vmnet_allocate_mac_address_key));
  CHECK(xpc_dictionary_get_bool(d, vmnet_enable_isolation_key));
  CHECK(xpc_dictionary_get_bool(d, vmnet_enable_tso_key));
  for (const char* key : {vmnet_operation_mode_key, vmnet_interface_id_key, vmnet_mac_address_key, vmnet_mtu_key,
                          vmnet_start_address_key, vmnet_end_address_key, vmnet_subnet_mask_key,
                          vmnet_shared_interface_name_key}) {
    INFO(key);
    CHECK_FALSE(fake_xpc_dictionary_has(d, key));
  }
  options.offloads.virtio_header = true;
  auto refused = squib::backend::build_network_descriptor(options);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().code == EINVAL);
}

TEST_CASE_METHOD(Fixture, "start failures map vmnet statuses to named errors", "[vmnet][start]") {
  struct Case {
    vmnet_return_t status;
    int code;
    const char* name;
  };
  const Case c = GENERATE(Case{VMNET_FAILURE, EIO, "VMNET_FAILURE"},
                          Case{VMNET_MEM_FAILURE, ENOMEM, "VMNET_MEM_FAILURE"},
                          Case{VMNET_INVALID_ARGUMENT, EINVAL, "VMNET_INVALID_ARGUMENT"},
                          Case{VMNET_SETUP_INCOMPLETE, EIO, "VMNET_SETUP_INCOMPLETE"},
                          Case{VMNET_INVALID_ACCESS, EPERM, "VMNET_INVALID_ACCESS"},
                          Case{VMNET_SHARING_SERVICE_BUSY, EBUSY, "VMNET_SHARING_SERVICE_BUSY"},
                          Case{k_not_authorized, EPERM, "VMNET_NOT_AUTHORIZED"});
  fake_vmnet_set_start_status(c.status);
  auto result = start(make());
  REQUIRE_FALSE(result.ok());
  CHECK(result.error().code == c.code);
  CHECK_THAT(result.error().message, ContainsSubstring(c.name) && ContainsSubstring("vmnet_start_interface"));
  if (c.code == EPERM) CHECK_THAT(result.error().message, ContainsSubstring("com.apple.vm.networking"));
  CHECK(backend->state() == BackendState::failed);
  CHECK(fake_vmnet_live_interfaces() == 0);
  bool done = false;
  backend->stop([&] { done = true; });
  CHECK(done);  // nothing was started: done at once
}

TEST_CASE_METHOD(Fixture, "a NULL interface from vmnet_start_interface is an error", "[vmnet][start]") {
  fake_vmnet_set_start_returns_null(true);
  auto result = start(make());
  REQUIRE_FALSE(result.ok());
  CHECK(result.error().code == EINVAL);
}

TEST_CASE_METHOD(Fixture, "start times out on the loop and the late interface is stopped", "[vmnet][start]") {
  fake_vmnet_set_start_delay_ms(300);
  options.start_timeout = 50ms;
  int answers = 0;
  std::optional<squib::core::Result<void>> outcome;
  const auto before = std::chrono::steady_clock::now();
  make().start([&](squib::core::Result<void> ready) {
    ++answers;
    outcome = std::move(ready);
  });
  CHECK(answers == 0);  // start() returned without waiting for vmnet
  REQUIRE(run_until([&] { return answers > 0; }, 10'000ms));
  const auto waited_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - before).count();
  WARN("start gave up after " << waited_ms << " ms (timeout 50 ms)");  // reported, not asserted: a shared machine
  REQUIRE_FALSE(outcome->ok());
  CHECK(outcome->error().code == ETIMEDOUT);
  CHECK_THAT(outcome->error().message, StartsWith("StartTimeout"));
  CHECK(backend->state() == BackendState::failed);
  SECTION("the late completion finds the start abandoned") {
    REQUIRE(fake_dispatch_wait_idle(2000));
    run_for(20ms);
    CHECK(answers == 1);
  }
  SECTION("and does not need the backend") { backend.reset(); }
  REQUIRE(fake_dispatch_wait_idle(2000));
  CHECK(fake_vmnet_started_interfaces() == 1);
  CHECK(fake_vmnet_stop_calls() == 1);
  CHECK(fake_vmnet_live_interfaces() == 0);
}

TEST_CASE_METHOD(Fixture, "the loop runs while vmnet is starting the interface", "[vmnet][start]") {
  // Without timing assertions: a zero-delay timer armed before start() must fire before
  // `ready`, and while the fake still holds the completion back.
  fake_vmnet_set_start_delay_ms(1000);
  options.start_timeout = 10'000ms;
  std::vector<std::string> events;
  int completions_at_timer = -1;
  uv_timer_t timer{};
  REQUIRE(uv_timer_init(&loop, &timer) == 0);
  struct Probe {
    std::vector<std::string>* events;
    int* completions;
  } probe{&events, &completions_at_timer};
  timer.data = &probe;
  REQUIRE(uv_timer_start(&timer, [](uv_timer_t* t) {
    auto* p = static_cast<Probe*>(t->data);
    p->events->push_back("timer");
    *p->completions = fake_vmnet_start_completions();
  }, 0, 0) == 0);
  const auto before = std::chrono::steady_clock::now();
  make().start([&](squib::core::Result<void> ready) {
    events.push_back(ready.ok() ? "ready ok" : "ready error");
  });
  CHECK(events.empty());  // start() returned before vmnet answered
  REQUIRE(run_until([&] { return events.size() == 2; }, 10'000ms));
  WARN("vmnet (fake, 1000 ms delay) answered the start after "
       << std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - before).count()
       << " ms");
  CHECK(events == std::vector<std::string>{"timer", "ready ok"});
  CHECK(completions_at_timer == 0);  // the timer ran while the start was still in flight
  CHECK(backend->state() == BackendState::running);
  uv_close(reinterpret_cast<uv_handle_t*>(&timer), nullptr);
  stop_and_wait();
}

TEST_CASE_METHOD(Fixture, "stop during a pending start answers ECANCELED once", "[vmnet][start][stop]") {
  int answers = 0;
  std::optional<squib::core::Result<void>> outcome;
  auto ready = [&](squib::core::Result<void> r) {
    ++answers;
    outcome = std::move(r);
  };
  bool done = false;
  SECTION("before vmnet completed: the completion handler stops the late interface") {
    fake_vmnet_set_start_delay_ms(300);
    make().start(ready);
    backend->stop([&] { done = true; });
    CHECK(answers == 1);  // before stop() returned
    CHECK(backend->state() == BackendState::stopped);
    REQUIRE(run_until([&] { return done; }));
  }
  SECTION("after vmnet completed, before the loop took it: stopped like a running interface") {
    make().start(ready);
    REQUIRE(fake_dispatch_wait_idle(2000));  // the completion ran and woke the (idle) loop
    REQUIRE(fake_vmnet_start_completions() == 1);
    backend->stop([&] { done = true; });
    CHECK(answers == 1);
    CHECK(backend->state() == BackendState::stopping);
    REQUIRE(run_until([&] { return done; }));
    CHECK(backend->state() == BackendState::stopped);
  }
  CHECK_FALSE(uv_loop_alive(&loop));  // done came after every handle closed
  REQUIRE(outcome.has_value());
  REQUIRE_FALSE(outcome->ok());
  CHECK(outcome->error().code == ECANCELED);
  REQUIRE(fake_dispatch_wait_idle(2000));
  run_for(20ms);
  CHECK(answers == 1);
  CHECK(fake_vmnet_started_interfaces() == 1);
  CHECK(fake_vmnet_stop_calls() == 1);
  CHECK(fake_vmnet_live_interfaces() == 0);
  CHECK_FALSE(fake_vmnet_callback_set());
}

TEST_CASE_METHOD(Fixture, "destroying the backend leaves nothing running", "[vmnet][stop]") {
  // Each section ends with the backend gone while vmnet may still call back; the fixture then
  // requires uv_loop_close() == 0, and the TSan variant that no block touched freed memory.
  SECTION("after a stop") {
    REQUIRE(start(make()).ok());
    inject_sequence(0, 10);
    stop_and_wait();
    backend.reset();
    CHECK_FALSE(uv_loop_alive(&loop));
  }
  SECTION("after a stop during a pending start") {
    fake_vmnet_set_start_delay_ms(200);
    make().start([](squib::core::Result<void>) {});
    stop_and_wait();
    backend.reset();  // the completion is still to come
    CHECK_FALSE(uv_loop_alive(&loop));
  }
  SECTION("during a pending start, without stop") {
    fake_vmnet_set_start_delay_ms(200);
    int answers = 0;
    make().start([&](squib::core::Result<void>) { ++answers; });
    backend.reset();
    run_for(20ms);
    CHECK(answers == 0);  // a destructor does not call back
  }
  REQUIRE(fake_dispatch_wait_idle(2000));
  run_for(20ms);
  CHECK(fake_vmnet_started_interfaces() == 1);
  CHECK(fake_vmnet_stop_calls() == 1);
  CHECK(fake_vmnet_live_interfaces() == 0);
}

TEST_CASE_METHOD(Fixture, "stop waits for vmnet and closes its handles before done", "[vmnet][stop]") {
  REQUIRE(start(make()).ok());
  bool done = false;
  backend->stop([&] { done = true; });
  CHECK_FALSE(done);  // asynchronous: vmnet confirms on its queue
  CHECK(backend->state() == BackendState::stopping);
  CHECK_FALSE(fake_vmnet_callback_set());
  REQUIRE(run_until([&] { return done; }));
  CHECK(backend->state() == BackendState::stopped);
  CHECK(fake_vmnet_stop_calls() == 1);
  CHECK(fake_vmnet_live_interfaces() == 0);
  CHECK(backend->detail().empty());
}

TEST_CASE_METHOD(Fixture, "stop gives up after stop_timeout", "[vmnet][stop]") {
  fake_vmnet_set_stop_delay_ms(400);
  options.stop_timeout = 50ms;
  REQUIRE(start(make()).ok());
  bool done = false;
  const auto before = std::chrono::steady_clock::now();
  backend->stop([&] { done = true; });
  REQUIRE(run_until([&] { return done; }));
  WARN("stop gave up after "
       << std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - before).count()
       << " ms (timeout 50 ms, vmnet's answer delayed 400 ms)");  // reported, not asserted
  CHECK(backend->detail() == "StopTimeout");
  backend.reset();  // the late completion must find a disarmed link, not us
  REQUIRE(fake_dispatch_wait_idle(2000));
}

TEST_CASE_METHOD(Fixture, "network frames arrive in batches of at most 32, in order", "[vmnet][rx]") {
  REQUIRE(start(make()).ok());
  SECTION("exactly one full batch") {
    inject_sequence(0, 32);
    REQUIRE(run_until([&] { return sink.frames.size() == 32; }));
    run_for(20ms);
    CHECK(sink.batch_sizes == std::vector<std::size_t>{32});
    require_in_order(32);
  }
  SECTION("full batches then a partial one") {
    inject_sequence(0, 100);
    REQUIRE(run_until([&] { return sink.frames.size() == 100; }));
    run_for(20ms);
    CHECK(sink.batch_sizes == std::vector<std::size_t>{32, 32, 32, 4});
    require_in_order(100);
  }
  SECTION("a partial batch alone") {
    inject_sequence(0, 5);
    REQUIRE(run_until([&] { return sink.frames.size() == 5; }));
    CHECK(sink.batch_sizes == std::vector<std::size_t>{5});
    require_in_order(5);
  }
  SECTION("one event for more than the per-wakeup bound: nothing stranded") {
    inject_sequence(0, 1000);
    REQUIRE(run_until([&] { return sink.frames.size() == 1000; }));
    run_for(20ms);
    require_in_order(1000);
    for (std::size_t size : sink.batch_sizes) CHECK(size <= k_batch);
    CHECK(fake_vmnet_events_posted() == 1);  // the backend re-armed itself
  }
  SECTION("short reads from vmnet") {
    fake_vmnet_set_read_limit(5);
    inject_sequence(0, 50);
    REQUIRE(run_until([&] { return sink.frames.size() == 50; }));
    require_in_order(50);
    for (std::size_t size : sink.batch_sizes) CHECK(size == 5);
  }
  SECTION("many single-frame events") {
    for (std::uint32_t i = 0; i < 200; ++i) {
      auto frame = make_frame(i);
      fake_vmnet_inject(frame.data(), frame.size());
    }
    REQUIRE(run_until([&] { return sink.frames.size() == 200; }));
    run_for(20ms);
    require_in_order(200);
  }
  CHECK(stats.errors == 0);
  CHECK(stats.total_drops() == 0);
  stop_and_wait();
}

TEST_CASE_METHOD(Fixture, "reads go on after a short read until vmnet returns 0", "[vmnet][rx]") {
  // The fake raises one event for the 50 frames and none after a short read (vmnet
  // documents none), so stopping at the first short batch would strand 45 frames.
  REQUIRE(start(make()).ok());
  fake_vmnet_set_read_limit(7);
  inject_sequence(0, 50);
  REQUIRE(run_until([&] { return sink.frames.size() == 50; }));
  require_in_order(50);
  CHECK(fake_vmnet_events_posted() == 1);
  CHECK(fake_vmnet_queued() == 0);
  stop_and_wait();
}

TEST_CASE_METHOD(Fixture, "TSO frames stay within 200 packets and 256 KiB per vmnet call", "[vmnet][rx][tx]") {
  options.offloads.tso = true;  // max packet size 65550
  REQUIRE(start(make()).ok());
  REQUIRE(backend->interface_info().max_packet_size == 65550);
  constexpr std::size_t k_big = 64 * 1024;

  // VM → network: one batch of 32 x 64 KiB = 2 MiB is 8 calls of 4 frames (256 KiB).
  std::vector<std::vector<std::byte>> frames;
  for (std::uint32_t i = 0; i < k_batch; ++i) frames.push_back(make_frame(i, k_big));
  FrameBatch batch;
  for (auto& f : frames) batch.push(f);
  backend->send(batch);
  CHECK(fake_vmnet_written_count() == k_batch);
  CHECK(fake_vmnet_write_calls() == 8);
  CHECK(fake_vmnet_max_write_bytes() <= squib::backend::k_vmnet_max_bytes_per_call);
  CHECK(stats.from_vm.frames == k_batch);
  CHECK(stats.from_vm.bytes == k_batch * k_big);
  CHECK(stats.from_vm.batches == 1);
  CHECK(stats.total_drops() == 0);
  std::vector<std::byte> out(k_big);
  for (std::size_t i = 0; i < k_batch; ++i) {
    REQUIRE(fake_vmnet_written_frame(i, out.data(), out.size()) == k_big);
    CHECK(seq_of(out) == i);
  }

  // Network → VM: buffers offered per read stay within 256 KiB (3 x 65550), and all arrive.
  std::vector<const void*> pointers;
  std::vector<std::size_t> lengths;
  for (auto& f : frames) {
    pointers.push_back(f.data());
    lengths.push_back(f.size());
  }
  fake_vmnet_inject_many(pointers.data(), lengths.data(), frames.size());
  REQUIRE(run_until([&] { return sink.frames.size() == k_batch; }));
  require_in_order(static_cast<std::uint32_t>(k_batch));
  CHECK(static_cast<std::size_t>(fake_vmnet_max_read_count()) * 65550 <= squib::backend::k_vmnet_max_bytes_per_call);
  CHECK(stats.errors == 0);
  stop_and_wait();
}

TEST_CASE_METHOD(Fixture, "read failures and runts are counted, not fatal", "[vmnet][rx]") {
  REQUIRE(start(make()).ok());
  fake_vmnet_fail_reads(VMNET_FAILURE, 1);
  inject_sequence(0, 3);
  REQUIRE(run_until([&] { return fake_vmnet_read_calls() >= 1; }));
  run_for(20ms);
  CHECK(stats.errors == 1);
  CHECK(sink.frames.empty());
  inject_sequence(3, 1);  // the next event reads everything queued
  REQUIRE(run_until([&] { return sink.frames.size() == 4; }));
  require_in_order(4);

  const std::byte runt[10]{};
  fake_vmnet_inject(runt, sizeof(runt));
  REQUIRE(run_until([&] { return stats.dropped(DropReason::runt) == 1; }));
  CHECK(sink.frames.size() == 4);
  stop_and_wait();
}

TEST_CASE_METHOD(Fixture, "VM frames go to vmnet_write in one call per batch", "[vmnet][tx]") {
  REQUIRE(start(make()).ok());
  std::vector<std::vector<std::byte>> frames;
  for (std::uint32_t i = 0; i < k_batch; ++i) frames.push_back(make_frame(i, 60 + i));
  FrameBatch batch;
  std::size_t bytes = 0;
  for (auto& f : frames) {
    batch.push(f);
    bytes += f.size();
  }

  SECTION("all written") {
    backend->send(batch);
    CHECK(fake_vmnet_write_calls() == 1);
    REQUIRE(fake_vmnet_written_count() == k_batch);
    std::vector<std::byte> out(2048);
    for (std::size_t i = 0; i < k_batch; ++i) {
      const std::size_t len = fake_vmnet_written_frame(i, out.data(), out.size());
      REQUIRE(len == frames[i].size());
      CHECK(std::memcmp(out.data(), frames[i].data(), len) == 0);
    }
    CHECK(stats.from_vm.frames == k_batch);
    CHECK(stats.from_vm.bytes == bytes);
    CHECK(stats.from_vm.batches == 1);
    CHECK(stats.total_drops() == 0);
  }
  SECTION("vmnet takes part of the batch") {
    fake_vmnet_set_write_limit(20);
    backend->send(batch);
    CHECK(fake_vmnet_written_count() == 20);
    CHECK(stats.from_vm.frames == 20);
    CHECK(stats.dropped(DropReason::backend_full) == 12);
  }
  SECTION("vmnet is out of buffers") {
    fake_vmnet_fail_writes(VMNET_BUFFER_EXHAUSTED, 1);
    backend->send(batch);
    CHECK(stats.dropped(DropReason::backend_full) == k_batch);
    CHECK(stats.errors == 0);
    backend->send(batch);  // transient: the next batch goes through
    CHECK(stats.from_vm.frames == k_batch);
  }
  SECTION("vmnet fails") {
    fake_vmnet_fail_writes(VMNET_FAILURE, 1);
    backend->send(batch);
    CHECK(stats.dropped(DropReason::backend_down) == k_batch);
    CHECK(stats.errors == 1);
    CHECK(stats.from_vm.frames == 0);
  }
  SECTION("frames over vmnet's max packet size are dropped before the call") {
    std::vector<std::byte> big(1515, std::byte{1});  // max packet size is 1500 + 14
    FrameBatch mixed;
    mixed.push(frames[0]);
    mixed.push(big);
    mixed.push(frames[1]);
    backend->send(mixed);
    CHECK(fake_vmnet_written_count() == 2);
    CHECK(stats.dropped(DropReason::oversize) == 1);
    CHECK(stats.from_vm.frames == 2);
  }
  stop_and_wait();
  // After stop, frames are dropped as backend_down.
  const auto down_before = stats.dropped(DropReason::backend_down);
  backend->send(batch);
  CHECK(stats.dropped(DropReason::backend_down) == down_before + k_batch);
}

TEST_CASE_METHOD(Fixture, "no frame is delivered after stop()", "[vmnet][stop]") {
  REQUIRE(start(make()).ok());
  inject_sequence(0, 10);
  REQUIRE(run_until([&] { return sink.frames.size() == 10; }));
  bool done = false;
  backend->stop([&] { done = true; });
  inject_sequence(10, 10);  // arrives while stopping
  REQUIRE(run_until([&] { return done; }));
  run_for(20ms);
  CHECK(sink.frames.size() == 10);
}

TEST_CASE_METHOD(Fixture, "teardown while packets are arriving", "[vmnet][stop]") {
  REQUIRE(start(make()).ok());
  std::atomic<bool> keep_going{true};
  std::atomic<std::uint32_t> injected{0};
  std::thread injector([&] {
    while (keep_going.load()) {
      const std::uint32_t seq = injected.fetch_add(1);
      auto frame = make_frame(seq);
      fake_vmnet_inject(frame.data(), frame.size());
      if (seq % 64 == 0) std::this_thread::sleep_for(100us);
    }
  });
  REQUIRE(run_until([&] { return sink.frames.size() >= 500; }));
  bool done = false;
  backend->stop([&] { done = true; });
  REQUIRE(run_until([&] { return done; }));
  const std::size_t delivered = sink.frames.size();
  run_for(30ms);  // events keep coming for a stopped interface
  keep_going = false;
  injector.join();
  CHECK(sink.frames.size() == delivered);
  for (std::size_t i = 0; i < delivered; ++i) REQUIRE(seq_of(sink.frames[i]) == i);  // no loss, no duplicate
  backend.reset();
  REQUIRE(fake_dispatch_wait_idle(2000));
  CHECK(fake_vmnet_live_interfaces() == 0);
}

TEST_CASE_METHOD(Fixture, "a backend destroyed without stop() cleans up", "[vmnet][stop]") {
  REQUIRE(start(make()).ok());
  inject_sequence(0, 40);
  backend.reset();  // events may still be queued for the dead backend
  run_for(30ms);
  REQUIRE(fake_dispatch_wait_idle(2000));
  CHECK(fake_vmnet_stop_calls() == 1);
  CHECK(fake_vmnet_live_interfaces() == 0);
}

TEST_CASE_METHOD(Fixture, "stop from inside consume() ends the drain", "[vmnet][stop]") {
  REQUIRE(start(make()).ok());
  bool done = false;
  sink.on_consume = [&] {
    if (backend->state() == BackendState::running) backend->stop([&] { done = true; });
  };
  inject_sequence(0, 100);
  REQUIRE(run_until([&] { return done; }));
  CHECK(sink.batch_sizes == std::vector<std::size_t>{32});
}
