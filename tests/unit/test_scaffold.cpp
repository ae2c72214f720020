// The pieces every component is built on, below any daemon: the result type (Status,
// Result<T>), the instance lifecycle (InstanceHost), the cross-thread Mailbox, the name
// resolver and listen_tcp. Each on a loop the test drives or a thread it joins; no sleeps.
#include <uv.h>
#include "udptun/protocol/socket_api.hpp"

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "loop_driver.hpp"
#include "udptun/protocol/status.hpp"
#include "udptun/runtime/event_loop.hpp"
#include "udptun/runtime/instance_host.hpp"
#include "udptun/runtime/mailbox.hpp"
#include "udptun/runtime/name_resolver.hpp"
#include "udptun/runtime/tcp_listener.hpp"
// Last: cmocka defines a fail() macro that the headers above must not see.
#include "cmocka_support.hpp"

using udptun::Result;
using udptun::Status;
using namespace udptun::runtime;
using udptun::test::run_until;

namespace {

udptun::protocol::Address address_of(const char* text) {
  return *udptun::protocol::parse_address_text(text).address;
}

}  // namespace

static void test_status_and_result(void**) {
  Status ok;
  assert_true(ok.ok());
  assert_int_equal(ok.code(), 0);
  Status failed = Status::failure("disk full", -ENOSPC);
  assert_false(failed.ok());
  assert_int_equal(failed.code(), -ENOSPC);
  // A failure always has a negative code, whatever it was given.
  assert_int_equal(Status::failure("x", 0).code(), Status::kFailed);
  assert_int_equal(Status::failure("x", 5).code(), Status::kFailed);
  assert_string_equal(failed.within("session record").message().c_str(),
                      "session record: disk full");
  assert_true(ok.within("anything").message().empty());
  Result<int> value = 7;
  assert_true(value.ok());
  assert_int_equal(value.value(), 7);
  Result<int> why = Status::failure("no port", -EINVAL);
  assert_false(why.ok());
  assert_int_equal(why.status().code(), -EINVAL);
  assert_string_equal(why.message().c_str(), "no port");
  // A Result made from a success has no value: it is a failure, never an empty success.
  Result<std::string> nothing = Status::success();
  assert_false(nothing.ok());
  assert_false(nothing.message().empty());
}

// Posts from another thread arrive on the loop in order, in batches; a full mailbox refuses
// (counted), a closed one says so.
static void test_mailbox_hands_over_in_order(void**) {
  EventLoop loop;
  Mailbox<std::vector<int>> box;
  std::vector<int> seen;
  int batches = 0;
  assert_int_equal(box.open(loop,
                            [&](std::vector<int>& batch) {
                              batches++;
                              seen.insert(seen.end(), batch.begin(), batch.end());
                            }),
                   0);
  constexpr int kCount = 10'000;
  std::atomic<int> refused{0}, other_errors{0};
  std::thread producer([&] {
    for (int i = 0; i < kCount; ++i) {
      int rc;
      while ((rc = box.post([&](std::vector<int>& pending) {
               if (pending.size() >= 64) return -EAGAIN;
               pending.push_back(i);
               return 0;
             })) == -EAGAIN) {
        refused++;
        std::this_thread::yield();
      }
      if (rc != 0) other_errors++;  // asserted on the test's thread
    }
  });
  bool all = run_until(loop, [&] { return static_cast<int>(seen.size()) == kCount; });
  producer.join();
  assert_true(all);
  assert_int_equal(other_errors.load(), 0);
  for (int i = 0; i < kCount; ++i) assert_int_equal(seen[static_cast<size_t>(i)], i);
  assert_true(batches >= kCount / 64);              // never more than 64 a batch
  assert_int_equal(box.dropped(), refused.load());  // every refusal counted
  box.close();
  assert_int_equal(box.post([](std::vector<int>& p) {
    p.push_back(1);
    return 0;
  }),
                   -EPIPE);
}

// localhost resolves (from the hosts file: no query leaves the machine), IPv4 first when
// asked; a cancelled lookup never calls back.
static void test_name_resolver(void**) {
  EventLoop loop;
  NameResolver resolver(loop);
  udptun::protocol::Address name = *udptun::protocol::Address::from_domain("localhost", 5353);
  bool called = false;
  Result<sockaddr_storage> got = Status::failure("not yet");
  assert_true(resolver
                  .resolve(name, {SOCK_DGRAM, false, true},
                           [&](Result<sockaddr_storage> a) {
                             called = true;
                             got = a;
                           })
                  .ok());
  assert_true(resolver.busy());
  assert_true(run_until(loop, [&] { return called; }));
  assert_false(resolver.busy());
  assert_true(got.ok());
  assert_int_equal(got.value().ss_family, AF_INET);
  auto* v4 = reinterpret_cast<const sockaddr_in*>(&got.value());
  assert_int_equal(ntohs(v4->sin_port), 5353);
  assert_int_equal(ntohl(v4->sin_addr.s_addr), INADDR_LOOPBACK);

  bool cancelled_called = false;
  {
    NameResolver gone(loop);
    assert_true(
        gone.resolve(name, {}, [&](Result<sockaddr_storage>) { cancelled_called = true; }).ok());
  }  // destroyed while the lookup runs: its callback must not come
  resolver.cancel();
  bool later = false;
  assert_true(resolver.resolve(name, {}, [&](Result<sockaddr_storage>) { later = true; }).ok());
  assert_true(run_until(loop, [&] { return later; }));
  assert_false(cancelled_called);
}

// Port 0 gets one from the kernel, and the address says which; a port in use is refused with
// the address and the reason, and nothing is left open.
static void test_listen_tcp(void**) {
  EventLoop loop;
  UvHandle<uv_tcp_t> first, second;
  auto bound = listen_tcp(
      loop, nullptr, address_of("127.0.0.1:0"), [](uv_stream_t*, int) {}, first);
  assert_true(bound.ok());
  assert_int_not_equal(bound.value().port, 0);
  assert_true(static_cast<bool>(first));
  auto again = listen_tcp(
      loop, nullptr, bound.value(), [](uv_stream_t*, int) {}, second);
  assert_false(again.ok());
  assert_non_null(std::strstr(again.message().c_str(), "cannot listen on 127.0.0.1:"));
  assert_int_equal(again.status().code(), UV_EADDRINUSE);
  assert_false(static_cast<bool>(second));
  first.close();
  uv_run(loop.get(), UV_RUN_NOWAIT);
}

namespace {

struct Counters {
  uint64_t sweeps = 0;
};
struct Callbacks {
  void (*log)(void* user, int level, const char* line) = nullptr;
  void (*error)(void* user, const char* message) = nullptr;
  void (*stats)(void* user, const Counters* stats) = nullptr;
  void (*stopped)(void* user) = nullptr;
};
struct Heard {
  std::atomic<int> stats{0}, stopped{0};
  std::string error;  // written on the instance's thread, read after it is joined
};

// An instance of the scaffold and nothing else: counts its sweeps, opens or refuses to.
class ProbeInstance : public InstanceHost<Callbacks, Counters> {
 public:
  explicit ProbeInstance(bool open_fails, EventLoop* host = nullptr)
      : InstanceHost({/*sweep_interval_ms=*/5, /*stats_interval_ms=*/5, std::nullopt, {}}, host),
        open_fails_(open_fails) {}
  ~ProbeInstance() override { stop_and_join(); }
  std::atomic<int> shutdowns{0}, running{0};

 private:
  Status open() override {
    return open_fails_ ? Status::failure("probe refuses to open", -EACCES) : Status::success();
  }
  void on_running() override { running++; }
  void sweep() override { stats_.sweeps++; }
  void shutdown() override { shutdowns++; }
  std::string render_metrics() override { return ""; }
  bool open_fails_;
};

Callbacks callbacks() {
  Callbacks cb;
  cb.error = [](void* u, const char* m) { static_cast<Heard*>(u)->error = m; };
  cb.stats = [](void* u, const Counters*) { static_cast<Heard*>(u)->stats++; };
  cb.stopped = [](void* u) { static_cast<Heard*>(u)->stopped++; };
  return cb;
}

}  // namespace

// Started on its own thread: sweeps and stats run on their timers, the snapshot follows, stop
// runs shutdown once and `stopped` comes last. A failed open is reported and the run ends.
static void test_instance_lifecycle(void**) {
  Heard heard;
  Callbacks cb = callbacks();
  {
    ProbeInstance probe(false);
    assert_int_equal(probe.start(&cb, &heard), 0);
    Counters snap{};
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while ((heard.stats < 3 || snap.sweeps < 2) && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::yield();
      probe.snapshot(&snap);
    }
    assert_true(heard.stats >= 3);
    assert_true(snap.sweeps >= 2);
    probe.stop();
    probe.stop();  // any number of times
  }                // joined here
  assert_int_equal(heard.stopped.load(), 1);
  assert_true(heard.error.empty());

  Heard refused;
  ProbeInstance failing(true);
  assert_int_equal(failing.run(&cb, &refused), -1);
  assert_string_equal(refused.error.c_str(), "probe refuses to open");
  assert_int_equal(failing.running.load(), 0);
  assert_int_equal(failing.shutdowns.load(), 1);  // what was opened is closed all the same
  assert_int_equal(refused.stopped.load(), 1);
}

// A guest runs on the host's loop and thread: start opens it there and returns, its timers
// run as the host's loop runs, stop closes it at once (stopped comes before stop returns),
// and run is refused. A guest that cannot open is closed again at once.
static void test_guest_instance_on_a_host_loop(void**) {
  EventLoop host;
  Heard heard;
  Callbacks cb = callbacks();
  auto guest = std::make_unique<ProbeInstance>(false, &host);
  assert_int_equal(guest->run(&cb, &heard), -EINVAL);
  assert_int_equal(guest->start(&cb, &heard), 0);
  assert_int_equal(guest->running.load(), 1);
  assert_true(run_until(host, [&] { return heard.stats >= 2; }));
  Counters snap{};
  guest->snapshot(&snap);
  assert_true(snap.sweeps >= 1);
  guest->stop();
  assert_int_equal(guest->shutdowns.load(), 1);
  assert_int_equal(heard.stopped.load(), 1);
  guest->stop();  // once only
  guest.reset();  // nothing runs on the host for it after this
  assert_int_equal(heard.stopped.load(), 1);
  int before = heard.stats;
  run_until(
      host, [] { return false; }, 50);  // the host loop goes on without it (10 stats periods)
  assert_int_equal(heard.stats.load(), before);

  Heard refused;
  ProbeInstance failing(true, &host);
  assert_int_equal(failing.start(&cb, &refused), -1);
  assert_string_equal(refused.error.c_str(), "probe refuses to open");
  assert_int_equal(failing.shutdowns.load(), 1);
  assert_int_equal(refused.stopped.load(), 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_status_and_result),
      cmocka_unit_test(test_mailbox_hands_over_in_order),
      cmocka_unit_test(test_name_resolver),
      cmocka_unit_test(test_listen_tcp),
      cmocka_unit_test(test_instance_lifecycle),
      cmocka_unit_test(test_guest_instance_on_a_host_loop),
  };
  return cmocka_run_group_tests(tests, nullptr, nullptr);
}
