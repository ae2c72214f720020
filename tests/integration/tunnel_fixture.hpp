// A udp-server and a udp-local as real processes on loopback, with a key file, their logs
// in a temporary directory, and helpers to (re)start and kill them.
#pragma once

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "harness.hpp"

// In a cmocka test: fails showing the daemons' logs (a failed assertion skips destructors,
// and the logs would go with the fixture's directory).
#define REQUIRE(cond, fx)    \
  do {                       \
    if (!(cond)) {           \
      (fx).dump_logs();      \
      fail_msg("%s", #cond); \
    }                        \
  } while (0)

struct TunnelFixture {
  harness::TempDir dir;
  std::string key_path;
  uint16_t server_port;
  uint16_t local_port;       // the forward front's UDP port
  bool front_moved = false;  // the last start_local fronts on another port (see there)
  std::unique_ptr<harness::Process> server;
  std::unique_ptr<harness::Process> local;
  int server_starts = 0, local_starts = 0;
  std::string server_stats, local_stats;

  TunnelFixture() {
    key_path = dir.write("psk", "test key: correct horse battery staple\n");
    server_port = harness::free_port(AF_INET, SOCK_STREAM);
    local_port = harness::free_port(AF_INET, SOCK_DGRAM);
  }

  bool start_server(std::vector<std::string> extra = {}) {
    // A port picked free may be taken by a test running beside this one before udp-server
    // binds it: then udp-server says so and exits, and it starts again on another.
    for (int attempt = 0;; ++attempt) {
      if (!launch_server(extra)) return false;
      bool lost = false;
      harness::eventually(
          [&] {
            std::string log = server->log();
            if (log.find("listening on") != std::string::npos) return true;
            if (server->running()) return false;
            lost = log.find("address already in use") != std::string::npos;
            return true;
          },
          5000);
      if (!lost || attempt == 4) return true;
      server_port = harness::free_port(AF_INET, SOCK_STREAM);
    }
  }

  // The usual pair: udp-server, and udp-local forwarding local_port to the target on this port.
  bool start_tunnel_to(uint16_t target_port, std::vector<std::string> server_extra = {}) {
    return start_server(std::move(server_extra)) &&
           start_local(harness::endpoint(AF_INET, target_port));
  }

  // Only starts the process (start_server also waits for it to listen): for a server that is
  // not meant to.
  bool launch_server(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {"--listen",       harness::endpoint(AF_INET, server_port),
                                     "--psk-file",     key_path,
                                     "--allow-target", "127.0.0.0/8",
                                     "--allow-target", "::1/128",
                                     "--log-level",    "debug"};
    // Counters every 100 ms as JSON lines, for server_counter() (a POSIX descriptor: not for
    // the Windows daemons, whose tests never read them).
    if (!harness::daemons_are_windows())
      args.insert(args.end(), {"--stats-fd", "3", "--stats-interval-ms", "100"});
    args.insert(args.end(), extra.begin(), extra.end());
    server_stats = dir.path() + "/server-" + std::to_string(server_starts) + ".stats";
    server = std::make_unique<harness::Process>(
        harness::udp_server_bin(), args,
        dir.path() + "/server-" + std::to_string(server_starts++) + ".log");
    server->set_fd3_path(server_stats);
    return server->start();
  }

  // udp-server's latest published value of a counter (-1 before the first snapshot).
  double server_counter(const std::string& name) const {
    return harness::last_counter(server_stats, name);
  }

  // A forward front from local_port to `target`, tunnelled to `server_at` (default: the
  // server itself).
  bool start_local(const std::string& target, std::vector<std::string> extra = {},
                   const std::string& server_at = "") {
    // Wine keeps a killed Windows program's socket bound while one of its I/O requests is
    // pending in Wine's server (a Wine limitation; Windows frees it at once): a successor then
    // fronts on another port, and clients follow front(); front_moved tells a test whose
    // assertion needs the same front. Wine keeps such a socket until its server exits: waiting
    // longer than a moment changes nothing.
    front_moved = false;
    if (harness::daemons_are_windows() && !harness::wait_udp_port_free(AF_INET, local_port, 2000)) {
      std::fprintf(stderr, "    (Wine still holds the front's port %u: moving it)\n",
                   static_cast<unsigned>(local_port));
      local_port = harness::free_port(AF_INET, SOCK_DGRAM);
      front_moved = true;
    }
    std::vector<std::string> args = {
        "--server",    server_at.empty() ? harness::endpoint(AF_INET, server_port) : server_at,
        "--psk-file",  key_path,
        "--forward",   harness::endpoint(AF_INET, local_port) + "=" + target,
        "--log-level", "debug"};
    if (!harness::daemons_are_windows())
      args.insert(args.end(), {"--stats-fd", "3", "--stats-interval-ms", "100"});
    args.insert(args.end(), extra.begin(), extra.end());
    local_stats = dir.path() + "/local-" + std::to_string(local_starts) + ".stats";
    local = std::make_unique<harness::Process>(
        harness::udp_local_bin(), args,
        dir.path() + "/local-" + std::to_string(local_starts++) + ".log");
    local->set_fd3_path(local_stats);
    return local->start();
  }

  // udp-local's latest published value of a counter (-1 before the first snapshot).
  double local_counter(const std::string& name) const {
    return harness::last_counter(local_stats, name);
  }

  // Waits for two more snapshots of the daemon's counters, so the next read includes what it
  // had done by now (the stats interval is 100 ms). The Windows daemons under Wine publish no
  // counters (no descriptor 3): there it gives them the 300 ms the tests waited before.
  bool server_counters_current() const { return counters_current(server_stats); }
  bool local_counters_current() const { return counters_current(local_stats); }
  // Waits (at most timeout_ms) until udp-local's counter reaches `value`; under Wine, as above.
  bool local_counter_reaches(const std::string& name, double value, int timeout_ms) const {
    if (harness::daemons_are_windows()) return counters_current(local_stats);
    return harness::eventually([&] { return local_counter(name) >= value; }, timeout_ms);
  }

  // Another udp-local: a session of its own (its rate buckets full), fronting `port` for
  // `target`.
  std::unique_ptr<harness::Process> start_another_local(uint16_t port, const std::string& target) {
    auto p = std::make_unique<harness::Process>(
        harness::udp_local_bin(),
        std::vector<std::string>{"--server", harness::endpoint(AF_INET, server_port), "--psk-file",
                                 key_path, "--forward",
                                 harness::endpoint(AF_INET, port) + "=" + target},
        dir.path() + "/local-another-" + std::to_string(local_starts++) + ".log");
    return p->start() ? std::move(p) : nullptr;
  }

  sockaddr_storage front() const { return harness::loopback(AF_INET, local_port); }

  // Echoes through the front until one succeeds (the tunnel may still be coming up).
  bool echo_eventually(harness::UdpClient& c, const std::string& msg, int timeout_ms) {
    return harness::eventually([&] { return c.echo(front(), msg, 200); }, timeout_ms);
  }

  static bool counters_current(const std::string& stats) {
    if (!harness::daemons_are_windows()) return harness::fresh_snapshots(stats);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    return true;
  }

  void dump_logs() const {
    if (server) std::fprintf(stderr, "---- udp-server log ----\n%s", server->log().c_str());
    if (local) std::fprintf(stderr, "---- udp-local log ----\n%s", local->log().c_str());
  }
};
