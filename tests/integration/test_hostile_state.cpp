// udp-local's state directory decides which session and flows a process takes over: one that
// others may write, or a record that is a link to somewhere else, is not trusted.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstring>
#include <deque>
#include <random>
#include <thread>

#include "../unit/cmocka_support.hpp"
#include "hostile_fixture.hpp"

using namespace hostile;

// A state directory others may write, or a link in its place: udp-local refuses to start.
static void test_state_directory_others_may_write_is_refused(void**) {
  EchoServer target;
  TunnelFixture fx;
  REQUIRE(fx.start_server(), fx);
  std::string state = fx.dir.path() + "/shared-state";
  mkdir(state.c_str(), 0700);
  chmod(state.c_str(), 0777);  // chmod: the umask does not apply
  REQUIRE(fx.start_local(harness::endpoint(AF_INET, target.port()), {"--state-dir", state}), fx);
  int code = fx.local->wait_exit(5000);
  REQUIRE(code != 0 && code != -1, fx);
  REQUIRE(fx.local->log().find("writable by its owner alone") != std::string::npos, fx);
  // A link in place of the directory: the same.
  std::string real = fx.dir.path() + "/real-state";
  mkdir(real.c_str(), 0700);
  std::string link = fx.dir.path() + "/linked-state";
  REQUIRE(symlink(real.c_str(), link.c_str()) == 0, fx);
  REQUIRE(fx.start_local(harness::endpoint(AF_INET, target.port()), {"--state-dir", link}), fx);
  code = fx.local->wait_exit(5000);
  REQUIRE(code != 0 && code != -1, fx);
  REQUIRE(fx.local->log().find("is not a directory") != std::string::npos, fx);
}

static void test_state_record_behind_a_link_is_not_read(void**) {
  EchoServer target;
  TunnelFixture fx;
  REQUIRE(fx.start_server(), fx);
  std::string state = fx.dir.path() + "/state";
  mkdir(state.c_str(), 0700);
  REQUIRE(fx.start_local(harness::endpoint(AF_INET, target.port()), {"--state-dir", state}), fx);
  UdpClient client;
  REQUIRE(fx.echo_eventually(client, "first", 5000), fx);
  REQUIRE(fx.local->terminate() == 0, fx);  // SIGTERM: the record is written
  // The record moves elsewhere and a link takes its place: a restarted udp-local must not
  // follow it (it starts a new session instead of resuming the recorded one).
  std::string record = state + "/udp-local.state";
  std::string elsewhere = fx.dir.path() + "/planted.state";
  REQUIRE(rename(record.c_str(), elsewhere.c_str()) == 0, fx);
  REQUIRE(symlink(elsewhere.c_str(), record.c_str()) == 0, fx);
  REQUIRE(fx.start_local(harness::endpoint(AF_INET, target.port()), {"--state-dir", state}), fx);
  REQUIRE(fx.echo_eventually(client, "second", 5000), fx);
  REQUIRE(harness::eventually([&] { return fx.local_counter("sessions_new") == 1; }, 3000), fx);
  REQUIRE(fx.local_counter("sessions_resumed") == 0, fx);
  REQUIRE(fx.local->log().find("session record not used") != std::string::npos, fx);
}

int main(void) {
  harness::bound_sanitizer_quarantine();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_state_directory_others_may_write_is_refused),
      cmocka_unit_test(test_state_record_behind_a_link_is_not_read),
  };
  return cmocka_run_group_tests_name("hostile_state", tests, nullptr, nullptr);
}
