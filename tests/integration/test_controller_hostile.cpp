// proxy-controller against careless and hostile clients and files. It runs as root on real
// machines, so each bound is asserted, not assumed: failed spawns by the thousand, a client
// that never reads its replies, a flood of connections and of service names, files that are
// not files, and a kill -9 with services up. Other clients keep being served throughout.
#include <cJSON.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "../unit/cmocka_support.hpp"
#include "controller_client.hpp"
#include "harness.hpp"

using harness::Client;
using harness::code_of;
using harness::ControllerProcess;
using harness::error_of;
using harness::service;

namespace {

bool answers_status(const std::string& socket) {
  Client c(socket);
  if (c.fd < 0) return false;
  cJSON* r = c.ask(R"({"action":"status"})");
  bool ok = r && code_of(r) == 0;
  cJSON_Delete(r);
  return ok;
}

int service_count(Client& c) {
  cJSON* r = c.ask(R"({"action":"status"})");
  int n = r ? cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetObjectItem(r, "result"), "services"))
            : -1;
  cJSON_Delete(r);
  return n;
}

}  // namespace

// A start whose program does not exist fails (fork works, exec does not) 10,000 times: every
// one answered with the reason, no memory error (the ASan build runs this too), no descriptor
// or memory growth, and the controller still answers.
static void test_failed_spawns_leave_it_healthy(void**) {
  ControllerProcess c;
  Client cmd(c.socket);
  assert_true(cmd.fd >= 0);
  const int total =
      std::getenv("UDPTUN_FAILED_SPAWNS") ? std::atoi(std::getenv("UDPTUN_FAILED_SPAWNS")) : 10000;
  const std::string request =
      R"({"action":"start","parameters":{"name":"ghost","argv":["/nonexistent/ghost"]}})";
  int fds_before = 0;
  long rss_before = 0;
  auto started = std::chrono::steady_clock::now();
  for (int done = 0; done < total;) {
    // Pipelined in batches, as a client in a hurry would.
    int batch = std::min(100, total - done);
    std::string many;
    for (int i = 0; i < batch; ++i) many += request;
    cmd.send(many);
    for (int i = 0; i < batch; ++i, ++done) {
      cJSON* r = cmd.next(10000);
      assert_non_null(r);
      assert_int_equal(code_of(r), 1);
      if (error_of(r).find("cannot execute /nonexistent/ghost") == std::string::npos)
        std::fprintf(stderr, "reply: %s\n", error_of(r).c_str());
      assert_true(error_of(r).find("cannot execute /nonexistent/ghost") != std::string::npos);
      cJSON_Delete(r);
    }
    if (done == std::min(500, total / 2)) {  // warm: what it holds from here on must not grow
      fds_before = harness::count_open_fds(c.proc.pid());
      rss_before = harness::resident_kib(c.proc.pid());
    }
  }
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  int fds_after = harness::count_open_fds(c.proc.pid());
  long rss_after = harness::resident_kib(c.proc.pid());
  std::printf("    %d failed starts in %.1f s; controller fds %d -> %d, RSS %ld -> %ld KiB\n",
              total, seconds, fds_before, fds_after, rss_before, rss_after);
  assert_true(c.proc.running());
  assert_int_equal(fds_after, fds_before);
  assert_true(rss_after < rss_before + 4096 + harness::sanitizer_slack_kib());
  cJSON* r = cmd.ask(R"({"action":"status"})");
  assert_int_equal(code_of(r), 0);
  assert_string_equal(cJSON_GetObjectItem(service(r, "ghost"), "state")->valuestring, "failed");
  cJSON_Delete(r);
  assert_true(answers_status(c.socket));
}

// A client sends requests as fast as it can and never reads a reply. The controller stops
// reading it once its replies pile up: its memory stays bounded, and another client is
// answered at once all along.
static void test_client_that_never_reads(void**) {
  ControllerProcess c;
  // Some services, so that each status reply is a few hundred bytes.
  Client cmd(c.socket);
  for (int i = 0; i < 8; ++i) {
    cJSON* r = cmd.ask(R"({"action":"start","parameters":{"name":"sleeper)" + std::to_string(i) +
                       R"(","argv":["/bin/sleep","1000"]}})");
    assert_int_equal(code_of(r), 0);
    cJSON_Delete(r);
  }
  long rss_before = harness::resident_kib(c.proc.pid());
  auto hog = std::make_unique<Client>(c.socket);
  fcntl(hog->fd, F_SETFL, O_NONBLOCK);
  std::string burst;
  for (int i = 0; i < 1000; ++i) burst += R"({"action":"status"})";
  size_t written = 0;
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(4);
  int probes = 0;
  while (std::chrono::steady_clock::now() < end) {
    ssize_t n = write(hog->fd, burst.data(), burst.size());
    if (n > 0) written += static_cast<size_t>(n);
    if (n <= 0) {
      usleep(20'000);
      // Meanwhile a well-behaved client is served.
      assert_true(answers_status(c.socket));
      ++probes;
    }
  }
  long rss_during = harness::resident_kib(c.proc.pid());
  std::printf(
      "    the hog wrote %zu bytes of requests; controller RSS %ld -> %ld KiB (%d probes "
      "answered)\n",
      written, rss_before, rss_during, probes);
  assert_true(probes > 0);  // its writes did block: the controller stopped reading it
  assert_true(rss_during < rss_before + 16 * 1024 + harness::sanitizer_slack_kib());
  hog.reset();
  assert_true(harness::eventually([&] { return answers_status(c.socket); }, 3000));
  assert_true(harness::resident_kib(c.proc.pid()) <
              rss_before + 16 * 1024 + harness::sanitizer_slack_kib());
}

// More clients than it takes: the ones past the cap are closed at once, those within are
// served, and once they leave new clients are served again.
static void test_connection_cap(void**) {
  ControllerProcess c;
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 100; ++i) clients.push_back(std::make_unique<Client>(c.socket));
  int answered = 0;
  for (auto& cl : clients) {
    cJSON* r = cl->fd >= 0 ? cl->ask(R"({"action":"status"})") : nullptr;
    answered += r && code_of(r) == 0;
    cJSON_Delete(r);
  }
  std::printf("    %d of 100 simultaneous clients answered\n", answered);
  assert_int_equal(answered, 64);
  clients.clear();
  assert_true(harness::eventually([&] { return answers_status(c.socket); }, 3000));
}

// Service names are the client's to pick, so the table of known services is capped: stopped
// ones are forgotten, oldest first; running ones never are.
static void test_forgotten_services_are_pruned(void**) {
  ControllerProcess c;
  Client cmd(c.socket);
  cJSON* r =
      cmd.ask(R"({"action":"start","parameters":{"name":"keeper","argv":["/bin/sleep","1000"]}})");
  assert_int_equal(code_of(r), 0);
  cJSON_Delete(r);
  for (int i = 0; i < 300; ++i) {
    r = cmd.ask(R"({"action":"start","parameters":{"name":"ghost)" + std::to_string(i) +
                R"(","argv":["/nonexistent"]}})");
    assert_int_equal(code_of(r), 1);
    cJSON_Delete(r);
  }
  assert_true(service_count(cmd) <= 64);
  r = cmd.ask(R"({"action":"status"})");
  cJSON* keeper = service(r, "keeper");
  assert_non_null(keeper);
  assert_string_equal(cJSON_GetObjectItem(keeper, "state")->valuestring, "running");
  cJSON_Delete(r);
}

// Files named by configurations are read non-blocking, as regular files only, size-capped:
// /dev/zero and a FIFO as a key file are refused at once, and the controller keeps answering.
static void test_files_that_are_not_files(void**) {
  ControllerProcess c;
  Client cmd(c.socket);
  std::string fifo = c.dir.path() + "/fifo";
  assert_int_equal(mkfifo(fifo.c_str(), 0600), 0);
  std::string big = c.dir.write("big", std::string(100'000, 'k'));
  struct {
    std::string path;
    const char* says;
  } cases[] = {
      {"/dev/zero", "not a regular file"}, {fifo, "not a regular file"}, {big, "too large"}};
  for (auto& k : cases) {
    auto t0 = std::chrono::steady_clock::now();
    cJSON* r = cmd.ask(
        R"({"action":"start","parameters":{"name":"udp-server","mode":"inproc","config":{"listen":"127.0.0.1:)" +
        std::to_string(harness::free_port(AF_INET, SOCK_STREAM)) + R"(","psk_file":")" + k.path +
        R"("}}})");
    double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    assert_non_null(r);
    std::printf("    psk_file %s: '%s' in %.0f ms\n", k.path.c_str(), error_of(r).c_str(), ms);
    assert_int_equal(code_of(r), 1);
    assert_true(error_of(r).find(k.says) != std::string::npos);
    assert_true(ms < 1000);
    cJSON_Delete(r);
  }
  assert_true(answers_status(c.socket));
  // The controller's own configuration: a FIFO is refused, not waited on.
  harness::TempDir dir;
  harness::Process bad(
      UDPTUN_PROXY_CONTROLLER_BIN,
      {dir.path() + "/s.sock", "--config", fifo, "--state-dir", dir.path() + "/st"},
      dir.path() + "/log");
  assert_true(bad.start());
  assert_true(harness::eventually([&] { return !bad.running(); }, 3000));
}

// kill -9 with three services up: the services die with it (not left running unknown), and
// the controller started again runs each exactly once more within 2 s, traffic flowing.
static void test_kill9_then_restart_runs_each_service_once(void**) {
  ControllerProcess c;
  harness::EchoServer echo;
  std::string key = c.dir.write("psk", "test key: correct horse battery staple\n");
  uint16_t server_port = harness::free_port(AF_INET, SOCK_STREAM);
  uint16_t forward_port = harness::free_port();
  std::string marker = "9" + std::to_string(server_port) + "7";  // a unique sleep length
  auto cmd = std::make_unique<Client>(c.socket);
  std::string requests[] = {
      R"({"action":"start","parameters":{"name":"udp-server","args":["--listen","127.0.0.1:)" +
          std::to_string(server_port) + R"(","--psk-file",")" + key +
          R"(","--allow-target","127.0.0.0/8"]}})",
      R"({"action":"start","parameters":{"name":"udp-local","args":["--server","127.0.0.1:)" +
          std::to_string(server_port) + R"(","--psk-file",")" + key +
          R"(","--forward","127.0.0.1:)" + std::to_string(forward_port) +
          "=127.0.0.1:" + std::to_string(echo.port()) + R"("]}})",
      R"({"action":"start","parameters":{"name":"marker","argv":["/bin/sleep",")" + marker +
          R"("]}})"};
  for (auto& q : requests) {
    cJSON* r = cmd->ask(q);
    assert_int_equal(code_of(r), 0);
    cJSON_Delete(r);
  }
  harness::UdpClient app;
  auto flowing = [&] { return app.echo(harness::loopback(AF_INET, forward_port), "ping", 200); };
  assert_true(harness::eventually(flowing, 5000));
  std::string server_needle = "--listen 127.0.0.1:" + std::to_string(server_port);
  std::string local_needle = "--forward 127.0.0.1:" + std::to_string(forward_port);
  std::string sleep_needle = "/bin/sleep " + marker;
  auto count = [&](const std::string& n) { return harness::processes_with(n).size(); };
  assert_int_equal(count(server_needle), 1);
  cmd.reset();

  c.proc.kill9();
  // Its children die with it.
  assert_true(harness::eventually(
      [&] { return count(server_needle) + count(local_needle) + count(sleep_needle) == 0; }, 2000));
  auto restarted = std::chrono::steady_clock::now();
  assert_true(c.start());
  bool each_once = harness::eventually(
      [&] {
        return count(server_needle) == 1 && count(local_needle) == 1 && count(sleep_needle) == 1;
      },
      2000);
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - restarted).count();
  std::printf("    after kill -9 and a restart: each service running once after %.2f s\n", s);
  assert_true(each_once);
  assert_true(harness::eventually(flowing, 5000));
  // Each started once (the controller counts no restart), and still exactly one of each.
  {
    Client status_client(c.socket);
    cJSON* st = status_client.ask(R"({"action":"status"})");
    assert_non_null(st);
    for (const char* name : {"udp-server", "udp-local", "marker"}) {
      cJSON* one = service(st, name);
      assert_non_null(one);
      assert_int_equal(cJSON_GetObjectItem(one, "restarts")->valueint, 0);
    }
    cJSON_Delete(st);
  }
  assert_int_equal(count(server_needle), 1);
  assert_int_equal(count(local_needle), 1);
  assert_int_equal(count(sleep_needle), 1);
  // A clean stop stops them, and the next start does not bring them back.
  assert_int_equal(c.proc.terminate(8000), 0);
  assert_true(harness::eventually([&] { return count(sleep_needle) == 0; }, 3000));
  assert_true(c.start());
  // It answers once it has read its journal: the service is stopped, and stays so.
  Client after(c.socket);
  cJSON* st = after.ask(R"({"action":"status"})");
  assert_non_null(st);
  cJSON* marker_service = service(st, "marker");
  assert_true(marker_service == nullptr ||
              std::string(cJSON_GetObjectItem(marker_service, "state")->valuestring) == "stopped");
  cJSON_Delete(st);
  assert_int_equal(count(sleep_needle), 0);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);  // clients past the cap are closed under our writes
  harness::bound_sanitizer_quarantine();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_failed_spawns_leave_it_healthy),
      cmocka_unit_test(test_client_that_never_reads),
      cmocka_unit_test(test_connection_cap),
      cmocka_unit_test(test_forgotten_services_are_pruned),
      cmocka_unit_test(test_files_that_are_not_files),
      cmocka_unit_test(test_kill9_then_restart_runs_each_service_once),
  };
  return cmocka_run_group_tests_name("controller_hostile", tests, nullptr, nullptr);
}
