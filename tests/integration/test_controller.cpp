// proxy-controller as a process, driven the way GUI clients drive it: one JSON object per
// request with no trailing newline, one reply object per read. Services are supervised
// (killed -9 → restarted, with events), crash loops are given up on, and every malformed
// request gets an answer that names the problem while the connection stays usable.
#include <cJSON.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include <atomic>

#include "../unit/cmocka_support.hpp"
#include "controller_client.hpp"
#include "harness.hpp"
#include "udptun/controller.h"

using harness::Client;
using harness::code_of;
using harness::ControllerProcess;
using harness::error_of;
using harness::service;

static void test_status_and_envelope_like_gui_clients(void**) {
  ControllerProcess c;
  Client gui(c.socket);
  assert_true(gui.fd >= 0);
  cJSON* r = gui.ask(R"({"action":"status","parameters":{}})");
  assert_non_null(r);
  assert_string_equal(cJSON_GetObjectItem(r, "action")->valuestring, "status");
  assert_int_equal(code_of(r), 0);
  assert_int_equal(
      cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetObjectItem(r, "result"), "services")), 0);
  cJSON_Delete(r);
  // Two requests in one write, no separator: two replies; "id" is echoed.
  gui.send(R"({"action":"status","id":41}{"action":"status","id":"x"})");
  cJSON* a = gui.next();
  cJSON* b = gui.next();
  assert_int_equal(cJSON_GetObjectItem(a, "id")->valueint, 41);
  assert_string_equal(cJSON_GetObjectItem(b, "id")->valuestring, "x");
  cJSON_Delete(a);
  cJSON_Delete(b);
  // The socket is private: 0600.
  struct stat st;
  assert_int_equal(stat(c.socket.c_str(), &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
}

static void test_supervised_child_is_restarted_with_events(void**) {
  ControllerProcess c;
  Client cmd(c.socket), events(c.socket);
  cJSON* r = events.ask(R"({"action":"subscribe"})");
  assert_int_equal(code_of(r), 0);
  cJSON_Delete(r);
  r = cmd.ask(
      R"({"action":"start","parameters":{"name":"sleeper","argv":["/bin/sleep","1000"]},"id":7})");
  assert_int_equal(code_of(r), 0);
  assert_int_equal(cJSON_GetObjectItem(r, "id")->valueint, 7);
  cJSON_Delete(r);
  r = cmd.ask(R"({"action":"status"})");
  int pid = cJSON_GetObjectItem(service(r, "sleeper"), "pid")->valueint;
  assert_true(pid > 0);
  cJSON_Delete(r);
  kill(pid, SIGKILL);
  // Events: down, restarting, up (after "up" for the first start).
  bool restarted = false;
  for (int i = 0; i < 6 && !restarted; ++i) {
    cJSON* e = events.next(5000);
    assert_non_null(e);
    std::string ev = cJSON_GetObjectItem(e, "event")->valuestring;
    if (ev == "service-down")
      assert_string_equal(cJSON_GetObjectItem(e, "detail")->valuestring, "signal 9");
    restarted = ev == "service-up" && std::string(cJSON_GetObjectItem(e, "detail")->valuestring) !=
                                          "pid " + std::to_string(pid);
    cJSON_Delete(e);
  }
  assert_true(restarted);
  r = cmd.ask(R"({"action":"status"})");
  cJSON* s = service(r, "sleeper");
  assert_string_equal(cJSON_GetObjectItem(s, "state")->valuestring, "running");
  assert_int_equal(cJSON_GetObjectItem(s, "restarts")->valueint, 1);
  int new_pid = cJSON_GetObjectItem(s, "pid")->valueint;
  assert_true(new_pid > 0 && new_pid != pid);
  cJSON_Delete(r);
  // Stopping the controller stops its services.
  assert_int_equal(c.proc.terminate(8000), 0);
  assert_true(harness::eventually([&] { return kill(new_pid, 0) != 0; }, 3000));
}

static void test_crash_loop_is_given_up(void**) {
  ControllerProcess c;
  Client cmd(c.socket);
  cJSON* r = cmd.ask(R"({"action":"start","parameters":{"name":"crasher","argv":["/bin/false"]}})");
  assert_int_equal(code_of(r), 0);
  cJSON_Delete(r);
  bool failed = harness::eventually(
      [&] {
        cJSON* st = cmd.ask(R"({"action":"status"})");
        bool f = std::string(cJSON_GetObjectItem(service(st, "crasher"), "state")->valuestring) ==
                 "failed";
        cJSON_Delete(st);
        return f;
      },
      30000);
  assert_true(failed);
}

static void test_every_bad_request_is_answered(void**) {
  ControllerProcess c;
  Client cmd(c.socket);
  struct {
    const char* request;
    const char* says;
  } cases[] = {
      {R"({"action":5})", "\"action\" must be a string"},
      {R"({"action":"fly"})", "unknown action \"fly\""},
      {R"({"action":"start","parameters":[]})", "\"parameters\" must be an object"},
      {R"({"action":"start","parameters":{}})", "parameter \"name\""},
      {R"({"action":"start","parameters":{"name":"x"}})", "\"argv\""},
      {R"({"action":"start","parameters":{"name":"x","argv":["sleep","1"]}})", "absolute path"},
      {R"({"action":"start","parameters":{"name":"x","argv":[1]}})", "only strings"},
      {R"({"action":"start","parameters":{"name":"udp-local","mode":"inproc"}})", "\"config\""},
      {R"({"action":"start","parameters":{"name":"udp-local","mode":"thread"}})", "\"mode\""},
      {R"({"action":"start","parameters":{"name":"x","mode":"inproc","config":{}}})", "in-process"},
      {R"({"action":"stats","parameters":{"name":7}})", "\"name\""},
      {R"({"action":"start","parameters":{"name":"udp-local","args":["--state-dir","/tmp"]}})",
       "controller's to give"},
      {R"({"action":"start","parameters":{"name":"..","argv":["/bin/true"]}})", "\"name\""},
      {R"({"action":"stop","parameters":{"name":"nobody"}})", "no such service"},
      {R"({"action":"configureRouting","parameters":{"proxyIp":"203.0.113.1","routerIp":"bad"}})",
       "\"routerIp\""},
      // (Only invalid routing requests here: this controller runs in the machine's own
      // namespace. Real routing is tested in tests/netns/test_controller_routing.sh.)
      {R"({"action":"configureRouting","parameters":{"routerIp":"10.0.85.1"}})", "\"proxyIp\""},
      {R"({"action":"configureRouting","parameters":{"proxyIp":["x"],"routerIp":"10.0.85.1"}})",
       "IPv4"},
      {R"({"action":"configureRouting","parameters":{"proxyIp":"203.0.113.1","routerIp":"10.0.85.1","tunName":"a/b"}})",
       "tunName"},
  };
  for (auto& k : cases) {
    cJSON* r = cmd.ask(k.request);
    assert_non_null(r);
    if (code_of(r) == 0 || error_of(r).find(k.says) == std::string::npos) {
      std::fprintf(stderr, "%s -> %s\n", k.request, error_of(r).c_str());
    }
    assert_int_equal(code_of(r), 1);
    assert_true(error_of(r).find(k.says) != std::string::npos);
    cJSON_Delete(r);
  }
  // Not JSON at all, then a request: an error, and the connection still works.
  cmd.send("hello");
  cJSON* r = cmd.next();
  assert_true(error_of(r).find("invalid request stream") != std::string::npos);
  cJSON_Delete(r);
  // Broken JSON inside balanced braces.
  r = cmd.ask(R"({"action" "status"})");
  assert_true(error_of(r).find("invalid JSON") != std::string::npos);
  cJSON_Delete(r);
  // Oversize.
  cmd.send("{\"action\":\"status\",\"pad\":\"" + std::string(70'000, 'p') + "\"}");
  r = cmd.next();
  assert_true(error_of(r).find("too large") != std::string::npos);
  cJSON_Delete(r);
  usleep(100'000);
  cmd.pending.clear();
  Client fresh(c.socket);
  r = fresh.ask(R"({"action":"status"})");
  assert_int_equal(code_of(r), 0);
  cJSON_Delete(r);
}

// Runs udptunctl; returns its exit code and fills its standard output (and error).
static int udptunctl(const std::string& args, std::string& out) {
  std::string cmd = std::string(UDPTUN_UDPTUNCTL_BIN) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  out.clear();
  char buf[512];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int status = pclose(p);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_udptunctl(void**) {
  ControllerProcess c;
  std::string s = "--socket " + c.socket + " ";
  std::string out;
  assert_int_equal(udptunctl(s + "status", out), 0);
  assert_true(out.find("NAME") != std::string::npos && out.find("SESSION") != std::string::npos);
  assert_int_equal(udptunctl(s + "start sleeper -- /bin/sleep 1000", out), 0);
  assert_true(out.find("ok") != std::string::npos);
  assert_int_equal(udptunctl(s + "status", out), 0);
  assert_true(out.find("sleeper") != std::string::npos && out.find("running") != std::string::npos);
  assert_int_equal(udptunctl(s + "--json status", out), 0);
  assert_true(out.find("\"statusCode\":0") != std::string::npos);
  assert_int_equal(udptunctl(s + "stop nobody", out), 1);  // the controller said no
  assert_true(out.find("no such service") != std::string::npos);
  assert_int_equal(udptunctl(s + "stop sleeper", out), 0);
  assert_int_equal(udptunctl(s + "frobnicate", out), 2);  // usage
  assert_int_equal(udptunctl("--socket " + c.dir.path() + "/nothing.sock status", out),
                   3);  // unreachable
}

// Our own services started by name report their counters on the stats channel: `stats`,
// `status` and udptunctl show sessions, flows and bytes of a live tunnel.
static void test_builtin_services_report_stats(void**) {
  ControllerProcess c;
  harness::EchoServer echo;
  std::string key = c.dir.write("psk", "test key: correct horse battery staple\n");
  uint16_t server_port = harness::free_port(AF_INET, SOCK_STREAM);
  uint16_t forward_port = harness::free_port();
  Client cmd(c.socket), events(c.socket);
  cJSON* sub = events.ask(R"({"action":"subscribe"})");
  assert_int_equal(code_of(sub), 0);
  cJSON_Delete(sub);
  std::string server_args = R"(["--listen","127.0.0.1:)" + std::to_string(server_port) +
                            R"(","--psk-file",")" + key +
                            R"(","--allow-target","127.0.0.0/8","--stats-interval-ms","100"])";
  cJSON* r = cmd.ask(R"({"action":"start","parameters":{"name":"udp-server","args":)" +
                     server_args + "}}");
  assert_int_equal(code_of(r), 0);
  cJSON_Delete(r);
  std::string local_args =
      R"(["--server","127.0.0.1:)" + std::to_string(server_port) + R"(","--psk-file",")" + key +
      R"(","--forward","127.0.0.1:)" + std::to_string(forward_port) +
      "=127.0.0.1:" + std::to_string(echo.port()) + R"(","--stats-interval-ms","100"])";
  r = cmd.ask(R"({"action":"start","parameters":{"name":"udp-local","args":)" + local_args + "}}");
  assert_int_equal(code_of(r), 0);
  cJSON_Delete(r);
  harness::UdpClient app;
  assert_true(harness::eventually(
      [&] { return app.echo(harness::loopback(AF_INET, forward_port), "ping", 200); }, 5000));
  for (int i = 0; i < 20; ++i)
    assert_true(app.echo(harness::loopback(AF_INET, forward_port), "datagram", 1000));
  // Counters arrive every 100 ms: wait until they show the traffic.
  auto counter = [&](const char* name, const char* counter_name) {
    cJSON* reply =
        cmd.ask(std::string(R"({"action":"stats","parameters":{"name":")") + name + R"("}})");
    double v = -1;
    if (reply && code_of(reply) == 0) {
      cJSON* svc = cJSON_GetArrayItem(
          cJSON_GetObjectItem(cJSON_GetObjectItem(reply, "result"), "services"), 0);
      cJSON* x = cJSON_GetObjectItem(cJSON_GetObjectItem(svc, "stats"), counter_name);
      if (cJSON_IsNumber(x)) v = x->valuedouble;
    }
    cJSON_Delete(reply);
    return v;
  };
  // Each service publishes on its own clock: every check waits for the snapshot that shows it.
  assert_true(
      harness::eventually([&] { return counter("udp-local", "datagrams_up") >= 21; }, 5000));
  assert_true(harness::eventually([&] { return counter("udp-local", "link_up") == 1; }, 5000));
  assert_true(harness::eventually([&] { return counter("udp-local", "flows") == 1; }, 5000));
  assert_true(
      harness::eventually([&] { return counter("udp-server", "sessions_attached") == 1; }, 5000));
  assert_true(harness::eventually(
      [&] { return counter("udp-server", "datagrams_from_targets") >= 21; }, 5000));
  // status carries them too.
  r = cmd.ask(R"({"action":"status"})");
  assert_non_null(cJSON_GetObjectItem(service(r, "udp-local"), "stats"));
  cJSON_Delete(r);
  // Asking for a service that is not there names it.
  r = cmd.ask(R"({"action":"stats","parameters":{"name":"nobody"}})");
  assert_int_equal(code_of(r), 1);
  assert_true(error_of(r).find("nobody") != std::string::npos);
  cJSON_Delete(r);
  std::string out;
  assert_int_equal(udptunctl("--socket " + c.socket + " status", out), 0);
  // udp-local's row: session up, 1 flow.
  size_t row = out.find("udp-local");
  assert_true(row != std::string::npos);
  std::string line = out.substr(row, out.find('\n', row) - row);
  assert_true(line.find(" up ") != std::string::npos);
  assert_true(line.find(" 1 ") != std::string::npos);
  assert_int_equal(udptunctl("--socket " + c.socket + " stats udp-server", out), 0);
  assert_true(out.find("sessions_attached") != std::string::npos);
  // Subscribers heard the tunnel come up, from both ends.
  bool local_up = false, server_up = false;
  while (!(local_up && server_up)) {
    cJSON* e = events.next(3000);
    if (!e) break;
    cJSON* kind = cJSON_GetObjectItem(e, "event");
    cJSON* who = cJSON_GetObjectItem(e, "service");
    if (cJSON_IsString(kind) && std::string(kind->valuestring) == "session-up" &&
        cJSON_IsString(who)) {
      local_up |= std::string(who->valuestring) == "udp-local";
      server_up |= std::string(who->valuestring) == "udp-server";
    }
    cJSON_Delete(e);
  }
  assert_true(local_up);
  assert_true(server_up);
  // udp-local got a state directory of its own, and keeps its session record there: killed,
  // restarted by the controller, it resumes the session and the flow keeps its server-side
  // port.
  struct stat st {};
  std::string dir = c.state + "/services/udp-local";
  assert_int_equal(stat(dir.c_str(), &st), 0);
  assert_int_equal(st.st_mode & 0777, 0700);
  assert_int_equal(access((dir + "/udp-local.state").c_str(), R_OK), 0);
  uint16_t port_before = echo.last_source_port();
  r = cmd.ask(R"({"action":"status"})");
  int pid = cJSON_GetObjectItem(service(r, "udp-local"), "pid")->valueint;
  cJSON_Delete(r);
  assert_true(pid > 0);
  kill(pid, SIGKILL);
  assert_true(harness::eventually(
      [&] {
        cJSON* s = cmd.ask(R"({"action":"status"})");
        cJSON* p = cJSON_GetObjectItem(service(s, "udp-local"), "pid");
        bool again = cJSON_IsNumber(p) && p->valueint > 0 && p->valueint != pid;
        cJSON_Delete(s);
        return again;
      },
      5000));
  assert_true(harness::eventually(
      [&] { return app.echo(harness::loopback(AF_INET, forward_port), "after", 200); }, 5000));
  assert_int_equal(echo.last_source_port(), port_before);
}

// "mode":"inproc": the libraries inside the controller, the same tunnel, the same status and
// counters; a bad configuration is refused with the library's message; a fatal error in an
// instance is supervised like a crash.
static void test_inproc_services(void**) {
  ControllerProcess c;
  harness::EchoServer echo;
  std::string key = c.dir.write("psk", "test key: correct horse battery staple\n");
  uint16_t server_port = harness::free_port(AF_INET, SOCK_STREAM);
  uint16_t forward_port = harness::free_port();
  Client cmd(c.socket);
  cJSON* r = cmd.ask(
      R"({"action":"start","parameters":{"name":"udp-server","mode":"inproc","config":{"listen":"127.0.0.1:)" +
      std::to_string(server_port) + R"(","psk_file":")" + key +
      R"(","allow_targets":["127.0.0.0/8"],"stats_interval_ms":100}}})");
  assert_int_equal(code_of(r), 0);
  cJSON_Delete(r);
  r = cmd.ask(
      R"({"action":"start","parameters":{"name":"udp-local","mode":"inproc","config":{"server":"127.0.0.1:)" +
      std::to_string(server_port) + R"(","psk_file":")" + key + R"(","forward":"127.0.0.1:)" +
      std::to_string(forward_port) + "=127.0.0.1:" + std::to_string(echo.port()) +
      R"(","stats_interval_ms":100}}})");
  assert_int_equal(code_of(r), 0);
  cJSON_Delete(r);
  harness::UdpClient app;
  assert_true(harness::eventually(
      [&] { return app.echo(harness::loopback(AF_INET, forward_port), "ping", 200); }, 5000));
  r = cmd.ask(R"({"action":"status"})");
  cJSON* local = service(r, "udp-local");
  assert_string_equal(cJSON_GetObjectItem(local, "mode")->valuestring, "inproc");
  assert_string_equal(cJSON_GetObjectItem(local, "state")->valuestring, "running");
  cJSON_Delete(r);
  assert_true(harness::eventually(
      [&] {
        cJSON* st = cmd.ask(R"({"action":"stats","parameters":{"name":"udp-local"}})");
        cJSON* svc = cJSON_GetArrayItem(
            cJSON_GetObjectItem(cJSON_GetObjectItem(st, "result"), "services"), 0);
        cJSON* up = cJSON_GetObjectItem(cJSON_GetObjectItem(svc, "stats"), "link_up");
        bool ok = cJSON_IsNumber(up) && up->valueint == 1;
        cJSON_Delete(st);
        return ok;
      },
      3000));
  // restart: the tunnel comes back by itself.
  r = cmd.ask(R"({"action":"restart","parameters":{"name":"udp-server"}})");
  assert_int_equal(code_of(r), 0);
  cJSON_Delete(r);
  assert_true(harness::eventually(
      [&] { return app.echo(harness::loopback(AF_INET, forward_port), "again", 200); }, 5000));
  // A bad configuration: refused, with the library's own words.
  r = cmd.ask(
      R"({"action":"start","parameters":{"name":"tun2socks","mode":"inproc","config":{"frobnicate":1}}})");
  assert_int_equal(code_of(r), 1);
  assert_true(error_of(r).find("frobnicate") != std::string::npos);
  cJSON_Delete(r);
  r = cmd.ask(R"({"action":"start","parameters":{"name":"ss-local","mode":"inproc","config":{}}})");
  assert_int_equal(code_of(r), 1);
  cJSON_Delete(r);
  r = cmd.ask(R"({"action":"start","parameters":{"name":"udp-local","mode":"inproc"}})");
  assert_int_equal(code_of(r), 1);  // running already / no config
  cJSON_Delete(r);
  r = cmd.ask(R"({"action":"stop","parameters":{"name":"udp-local"}})");
  assert_int_equal(code_of(r), 0);
  cJSON_Delete(r);
  r = cmd.ask(R"({"action":"status"})");
  assert_string_equal(cJSON_GetObjectItem(service(r, "udp-local"), "state")->valuestring,
                      "stopped");
  cJSON_Delete(r);
  assert_false(app.echo(harness::loopback(AF_INET, forward_port), "gone", 300));
  // An instance that fails at run time (its port is taken) is supervised like a crash.
  r = cmd.ask(R"({"action":"stop","parameters":{"name":"udp-server"}})");
  cJSON_Delete(r);
  int taken = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_storage at = harness::loopback(AF_INET, server_port);
  int one = 1;
  setsockopt(taken, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  assert_int_equal(bind(taken, reinterpret_cast<sockaddr*>(&at), sizeof(sockaddr_in)), 0);
  assert_int_equal(listen(taken, 1), 0);
  r = cmd.ask(
      R"({"action":"start","parameters":{"name":"udp-server","mode":"inproc","config":{"listen":"127.0.0.1:)" +
      std::to_string(server_port) + R"(","psk_file":")" + key + R"("}}})");
  cJSON_Delete(r);
  assert_true(harness::eventually(
      [&] {
        cJSON* st = cmd.ask(R"({"action":"status"})");
        cJSON* svc = service(st, "udp-server");
        bool ok =
            svc && std::string(cJSON_GetObjectItem(svc, "lastExit")->valuestring).find("error") !=
                       std::string::npos;
        cJSON_Delete(st);
        return ok;
      },
      3000));
  close(taken);
}

// The library under the daemon: several controllers in one process, each on its own socket;
// start/stop cycles leave no descriptor behind; a bad configuration and a socket that cannot
// be bound are reported.
static void test_library_api(void**) {
  harness::TempDir dir;
  char err[256];
  auto config = [&](const std::string& name) {
    return R"({"socket":")" + dir.path() + "/" + name + R"(","state_dir":")" + dir.path() +
           "/state-" + name + R"(","log_level":"error"})";
  };
  auto cycle = [&] {
    proxy_controller_t* a = proxy_controller_new(config("a.sock").c_str(), err, sizeof err);
    proxy_controller_t* b = proxy_controller_new(config("b.sock").c_str(), err, sizeof err);
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(proxy_controller_start(a, nullptr, nullptr), 0);
    assert_int_equal(proxy_controller_start(b, nullptr, nullptr), 0);
    for (const char* name : {"/a.sock", "/b.sock"}) {
      std::string path = dir.path() + name;
      assert_true(harness::eventually([&] { return access(path.c_str(), F_OK) == 0; }, 3000));
      Client c(path);
      cJSON* r = c.ask(R"({"action":"status"})");
      assert_non_null(r);
      assert_int_equal(code_of(r), 0);
      cJSON_Delete(r);
    }
    proxy_controller_stop(a);
    proxy_controller_free(a);
    proxy_controller_free(b);  // free stops too
  };
  cycle();
  int fds = harness::count_open_fds();
  for (int i = 0; i < 30; ++i) cycle();
  assert_int_equal(harness::count_open_fds(), fds);

  assert_null(proxy_controller_new(R"({"sokcet":"/tmp/x"})", err, sizeof err));
  assert_non_null(std::strstr(err, "sokcet"));
  assert_null(proxy_controller_new(R"({"log_level":"loud"})", err, sizeof err));
  assert_null(proxy_controller_new("{", err, sizeof err));

  std::atomic<int> errors{0};
  proxy_controller_t* bad = proxy_controller_new(
      (R"({"socket":")" + dir.path() + R"(/no/such/dir/s.sock","state_dir":")" + dir.path() +
       R"(/state-bad","log_level":"error"})")
          .c_str(),
      err, sizeof err);
  proxy_controller_callbacks cb{};
  cb.error = [](void* user, const char*) { ++*static_cast<std::atomic<int>*>(user); };
  assert_int_equal(proxy_controller_start(bad, &cb, &errors), 0);
  assert_true(harness::eventually([&] { return errors.load() == 1; }, 3000));
  proxy_controller_free(bad);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_status_and_envelope_like_gui_clients),
      cmocka_unit_test(test_supervised_child_is_restarted_with_events),
      cmocka_unit_test(test_crash_loop_is_given_up),
      cmocka_unit_test(test_every_bad_request_is_answered),
      cmocka_unit_test(test_udptunctl),
      cmocka_unit_test(test_builtin_services_report_stats),
      cmocka_unit_test(test_inproc_services),
      cmocka_unit_test(test_library_api),
  };
  return cmocka_run_group_tests_name("controller", tests, nullptr, nullptr);
}
