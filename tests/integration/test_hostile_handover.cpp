// Planned restarts under hostile peers: a would-be successor that never reads, a predecessor
// that lies about its record's size, and one running as another user. None of them moves a
// session or a listener, and the running server keeps serving.
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

static int unix_connect(const std::string& path) {
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path.c_str());
  if (connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// A same-user peer that connects to the handover socket and never reads: the server goes on
// serving its clients (before: it dropped every one, blocked 10 s and exited).
static void test_handover_peer_that_never_reads_changes_nothing(void**) {
  GoodClient good;
  std::string handover = good.fx.dir.path() + "/handover.sock";
  REQUIRE(good.start({"--handover-socket", handover}, {}), good.fx);
  int fd = -1;
  REQUIRE(harness::eventually([&] { return (fd = unix_connect(handover)) >= 0; }, 3000), good.fx);
  double resumed = good.fx.server_counter("sessions_resumed");
  // Past the server's 3 s for a successor, it says so and serves on.
  REQUIRE(harness::eventually(
              [&] { return good.fx.server->log().find("serving on") != std::string::npos; }, 8000),
          good.fx);
  REQUIRE(good.fx.server->running(), good.fx);
  REQUIRE(good.still_served("after a successor that never read"), good.fx);
  REQUIRE(good.fx.server_counter("sessions_resumed") == resumed, good.fx);  // nobody was moved
  REQUIRE(good.fx.server->log().find("serving on") != std::string::npos, good.fx);
  close(fd);
}

// A predecessor that announces a 200 MiB record and sends nothing: the successor holds
// nothing for it (before: 266 MB for the whole wait) and says why it cannot start.
static void test_handover_record_size_is_not_trusted(void**) {
  TunnelFixture fx;
  std::string handover = fx.dir.path() + "/handover.sock";
  int listener = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::snprintf(sa.sun_path, sizeof sa.sun_path, "%s", handover.c_str());
  REQUIRE(
      bind(listener, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0 && listen(listener, 1) == 0,
      fx);
  std::thread liar([&] {
    int c = accept(listener, nullptr, nullptr);
    if (c < 0) return;
    uint8_t header[8] = {0x0C, 0x80, 0, 0, 0, 0, 0, 0};  // 200 MiB of record, no descriptors
    (void)!write(c, header, sizeof header);
    close(c);  // and nothing more
  });
  REQUIRE(fx.launch_server({"--handover-socket", handover}), fx);
  int code = fx.server->wait_exit(5000);
  liar.join();
  close(listener);
  REQUIRE(code != 0 && code != -1, fx);
  long peak = fx.server->peak_rss_kib_at_exit();
  std::printf("    a predecessor announcing 200 MiB: the successor's peak RSS %ld KiB\n", peak);
  REQUIRE(peak > 0 && peak < 64 * 1024 + harness::sanitizer_slack_kib(), fx);
  REQUIRE(fx.server->log().find("cut short") != std::string::npos, fx);
}

// A "predecessor" of another user at the handover path (root only: it needs a second uid):
// nothing is taken from it.
static void test_handover_from_another_user_is_refused(void**) {
  if (geteuid() != 0) {
    harness::report_skip("needs root, to run a fake predecessor as another user");
    skip();
  }
  TunnelFixture fx;
  std::string dir = fx.dir.path() + "/shared";
  mkdir(dir.c_str(), 0777);
  chmod(dir.c_str(), 0777);
  chmod(fx.dir.path().c_str(), 0755);
  std::string handover = dir + "/handover.sock";
  int ready[2];
  REQUIRE(pipe(ready) == 0, fx);
  pid_t fake = fork();
  if (fake == 0) {
    if (setgid(65534) != 0 || setuid(65534) != 0) _exit(1);
    int l = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::snprintf(sa.sun_path, sizeof sa.sun_path, "%s", handover.c_str());
    if (bind(l, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || listen(l, 1) != 0) _exit(1);
    chmod(handover.c_str(), 0666);
    (void)!write(ready[1], "r", 1);
    int c = accept(l, nullptr, nullptr);
    // It would hand over a listener it keeps a copy of; the test kills it (10 s at most).
    alarm(10);
    pause();
    close(c);
    _exit(0);
  }
  char r;
  REQUIRE(read(ready[0], &r, 1) == 1, fx);
  REQUIRE(fx.start_server({"--handover-socket", handover}), fx);
  REQUIRE(
      harness::eventually(
          [&] { return fx.server->log().find("runs as another user") != std::string::npos; }, 3000),
      fx);
  kill(fake, SIGKILL);
  waitpid(fake, nullptr, 0);
  close(ready[0]);
  close(ready[1]);
  EchoServer target;
  REQUIRE(fx.start_local(harness::endpoint(AF_INET, target.port())), fx);
  UdpClient client;
  REQUIRE(fx.echo_eventually(client, "started on its own", 5000), fx);
  REQUIRE(fx.server->log().find("took over") == std::string::npos, fx);
}

int main(void) {
  harness::bound_sanitizer_quarantine();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_handover_peer_that_never_reads_changes_nothing),
      cmocka_unit_test(test_handover_record_size_is_not_trusted),
      cmocka_unit_test(test_handover_from_another_user_is_refused),
  };
  return cmocka_run_group_tests_name("hostile_handover", tests, nullptr, nullptr);
}
