// udp-local → udp-server on loopback, measured beside the same run's baselines: plain UDP
// straight to the target, and plain TCP over loopback. Every load is bounded in count and
// time; only loopback addresses are used. Prints a table (and --json a JSON object).
//
//   udp_tunnel_bench [--seconds S] [--json] [--tls] [--sweep]
// --sweep: every size (64, 512, 1400 B) at offered rates of 25k to 400k/s and unpaced, for
// delivered-vs-offered curves (scripts/bench --plot draws them).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "../tests/integration/harness.hpp"
#include "udp_sink.hpp"

using Clock = std::chrono::steady_clock;
using harness::loopback;

namespace {

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

using Sink = bench::UdpSink;
using bench::loopback_udp_socket;

struct BlastResult {
  uint64_t sent = 0;
  double seconds = 0;
};

// Sends `size`-byte datagrams to `to` for `seconds` (or `max_count`), at `rate` per second
// (0 = as fast as possible), in sendmmsg batches.
BlastResult blast(const sockaddr_storage& to, size_t size, double seconds, double rate,
                  uint64_t max_count) {
  int fd = loopback_udp_socket();
  constexpr int kBatch = 32;
  std::vector<char> payload(size, 'b');
  mmsghdr msgs[kBatch];
  iovec iov[kBatch];
  for (int i = 0; i < kBatch; ++i) {
    iov[i] = {payload.data(), size};
    msgs[i].msg_hdr = {};
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
    msgs[i].msg_hdr.msg_name = const_cast<sockaddr_storage*>(&to);
    msgs[i].msg_hdr.msg_namelen = sizeof(sockaddr_in);
  }
  BlastResult r;
  auto start = Clock::now();
  while (r.sent < max_count) {
    double elapsed = seconds_since(start);
    if (elapsed >= seconds) break;
    if (rate > 0 && static_cast<double>(r.sent) > elapsed * rate) {
      std::this_thread::sleep_for(std::chrono::microseconds(50));
      continue;
    }
    int n = sendmmsg(fd, msgs, kBatch, 0);
    if (n > 0) r.sent += static_cast<uint64_t>(n);
  }
  r.seconds = seconds_since(start);
  close(fd);
  return r;
}

struct Throughput {
  double sent_per_s, delivered_per_s, mbit_s, delivered_pct;
};

Throughput measure(Sink& sink, const sockaddr_storage& to, size_t size, double seconds,
                   double rate) {
  sink.reset();
  BlastResult b = blast(to, size, seconds, rate, 50'000'000);
  std::this_thread::sleep_for(std::chrono::milliseconds(400));  // let queues drain
  double got = static_cast<double>(sink.datagrams());
  Throughput t;
  t.sent_per_s = static_cast<double>(b.sent) / b.seconds;
  t.delivered_per_s = got / b.seconds;
  t.mbit_s = static_cast<double>(sink.bytes()) * 8 / b.seconds / 1e6;
  t.delivered_pct = b.sent ? 100.0 * got / static_cast<double>(b.sent) : 0;
  return t;
}

double tcp_loopback_gbit(double seconds) {
  int l = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_storage ss = loopback(AF_INET, 0);
  bind(l, reinterpret_cast<sockaddr*>(&ss), sizeof(sockaddr_in));
  listen(l, 1);
  socklen_t len = sizeof ss;
  getsockname(l, reinterpret_cast<sockaddr*>(&ss), &len);
  std::atomic<uint64_t> received{0};
  std::atomic<bool> done{false};
  std::thread reader([&] {
    int c = accept(l, nullptr, nullptr);
    std::vector<char> buf(256 * 1024);
    ssize_t n;
    while ((n = read(c, buf.data(), buf.size())) > 0) received += static_cast<uint64_t>(n);
    close(c);
  });
  int w = socket(AF_INET, SOCK_STREAM, 0);
  connect(w, reinterpret_cast<sockaddr*>(&ss), sizeof(sockaddr_in));
  std::vector<char> buf(64 * 1024, 't');
  auto start = Clock::now();
  while (seconds_since(start) < seconds) {
    if (write(w, buf.data(), buf.size()) <= 0) break;
  }
  double secs = seconds_since(start);
  shutdown(w, SHUT_WR);
  reader.join();
  close(w);
  close(l);
  (void)done;
  return static_cast<double>(received) * 8 / secs / 1e9;
}

struct Latency {
  double p50_us, p99_us;
  int samples;
};

Latency echo_latency(const sockaddr_storage& to, int count, double max_seconds) {
  int fd = loopback_udp_socket();
  std::vector<double> us;
  char buf[2048];
  auto start = Clock::now();
  for (int i = 0; i < count && seconds_since(start) < max_seconds; ++i) {
    std::string msg = "ping " + std::to_string(i);
    auto t0 = Clock::now();
    sendto(fd, msg.data(), msg.size(), 0, reinterpret_cast<const sockaddr*>(&to),
           sizeof(sockaddr_in));
    while (true) {
      pollfd p{fd, POLLIN, 0};
      if (poll(&p, 1, 1000) <= 0) break;
      ssize_t n = recv(fd, buf, sizeof buf, 0);
      if (n == static_cast<ssize_t>(msg.size()) && std::memcmp(buf, msg.data(), msg.size()) == 0) {
        us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
        break;
      }
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));  // low rate
  }
  close(fd);
  std::sort(us.begin(), us.end());
  Latency l{0, 0, static_cast<int>(us.size())};
  if (!us.empty()) {
    l.p50_us = us[us.size() / 2];
    l.p99_us = us[std::min(us.size() - 1, us.size() * 99 / 100)];
  }
  return l;
}

long rss_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return -1;
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 2.0;
  bool json = false;
  bool tls = false;  // the first pair talks through the built-in TLS carrier
  bool sweep = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--seconds" && i + 1 < argc) seconds = std::atof(argv[++i]);
    if (a == "--json") json = true;
    if (a == "--tls") tls = true;
    if (a == "--sweep") sweep = true;
  }
  // Room for 10,000 flows' sockets in the daemons (they inherit the limit) and here.
  rlimit rl{65536, 65536};
  if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }

  harness::TempDir dir;
  std::string key = dir.write("psk", "benchmark key 0123456789abcdef");
  uint16_t server_port = harness::free_port(AF_INET, SOCK_STREAM);
  uint16_t front_port = harness::free_port(AF_INET, SOCK_DGRAM);
  uint16_t echo_front_port = harness::free_port(AF_INET, SOCK_DGRAM);
  Sink sink(Sink::Mode::count), echo(Sink::Mode::echo);
  std::vector<std::string> server_args = {"--listen",
                                          harness::endpoint(AF_INET, server_port),
                                          "--psk-file",
                                          key,
                                          "--allow-target",
                                          "127.0.0.0/8",
                                          "--max-flows-per-session",
                                          "200000",
                                          "--flow-opens-per-second",
                                          "1000000",
                                          "--log-level",
                                          "warn"};
  std::vector<std::string> local_args = {
      "--server",
      harness::endpoint(AF_INET, server_port),
      "--psk-file",
      key,
      "--forward",
      harness::endpoint(AF_INET, front_port) + "=" + harness::endpoint(AF_INET, sink.port()),
      "--forward",
      harness::endpoint(AF_INET, echo_front_port) + "=" + harness::endpoint(AF_INET, echo.port()),
      "--max-flows",
      "200000",
      "--log-level",
      "warn"};
  if (tls) {
    harness::Certificate c = harness::make_certificate(dir.path(), "bench.test");
    if (c.pin.empty()) {
      std::fprintf(stderr, "openssl could not make a certificate\n");
      return 1;
    }
    server_args.insert(server_args.end(), {"--tls-cert", c.cert, "--tls-key", c.key});
    local_args.insert(local_args.end(), {"--tls", "--tls-pin", c.pin});
  }
  harness::Process server(harness::udp_server_bin(), server_args, dir.path() + "/server.log");
  harness::Process local(harness::udp_local_bin(), local_args, dir.path() + "/local.log");
  if (!server.start() || !local.start()) {
    std::fprintf(stderr, "cannot start the daemons\n");
    return 1;
  }
  sockaddr_storage front = loopback(AF_INET, front_port);
  sockaddr_storage echo_front = loopback(AF_INET, echo_front_port);
  {
    harness::UdpClient probe;
    if (!harness::eventually([&] { return probe.echo(echo_front, "up?", 200); }, 5000)) {
      std::fprintf(stderr, "the tunnel did not come up\n%s\n%s\n", server.log().c_str(),
                   local.log().c_str());
      return 1;
    }
  }
  sockaddr_storage direct = loopback(AF_INET, sink.port());
  sockaddr_storage direct_echo = loopback(AF_INET, echo.port());

  std::printf(
      "udptun loopback benchmark%s (%.1f s per load; 2 cores shared by sender, both daemons, "
      "receiver)\n\n",
      tls ? ", frames inside the TLS carrier" : "", seconds);
  double tcp = tcp_loopback_gbit(seconds);
  std::printf("baseline: plain TCP over loopback %.2f Gbit/s\n\n", tcp);
  std::printf("%-26s %12s %12s %10s %9s | %12s %10s | %7s %7s\n", "load", "sent/s", "delivered/s",
              "Mbit/s", "deliv.%", "raw UDP /s", "raw Mbit/s", "vs UDP", "vs TCP");
  std::string json_rows;
  struct Load {
    std::string name;
    size_t size;
    double rate;
  };
  std::vector<Load> loads = {{"1400 B, unpaced", 1400, 0},     {"512 B, unpaced", 512, 0},
                             {"64 B, unpaced", 64, 0},         {"512 B at 100k/s", 512, 100000},
                             {"512 B at 200k/s", 512, 200000}, {"512 B at 400k/s", 512, 400000}};
  if (sweep) {
    loads.clear();
    for (size_t size : {64, 512, 1400}) {
      for (double rate : {25e3, 50e3, 100e3, 200e3, 300e3, 400e3, 0.0}) {
        std::string name = std::to_string(size) + " B " +
                           (rate ? "at " + std::to_string(static_cast<int>(rate / 1000)) + "k/s"
                                 : std::string("unpaced"));
        loads.push_back({name, size, rate});
      }
    }
  }
  for (const Load& l : loads) {
    Throughput raw = measure(sink, direct, l.size, seconds, l.rate);
    Throughput tun = measure(sink, front, l.size, seconds, l.rate);
    std::printf("%-26s %12.0f %12.0f %10.0f %8.2f%% | %12.0f %10.0f | %6.2fx %6.2fx\n",
                l.name.c_str(), tun.sent_per_s, tun.delivered_per_s, tun.mbit_s, tun.delivered_pct,
                raw.delivered_per_s, raw.mbit_s, raw.mbit_s > 0 ? tun.mbit_s / raw.mbit_s : 0,
                tun.mbit_s / (tcp * 1000));
    char row[512];
    std::snprintf(
        row, sizeof row,
        "%s{\"load\":\"%s\",\"size\":%zu,\"rate\":%.0f,\"delivered_per_s\":%.0f,\"mbit_s\":%.1f,"
        "\"delivered_pct\":%.3f,\"raw_udp_per_s\":%.0f,\"raw_udp_mbit_s\":%.1f,"
        "\"sent_per_s\":%.0f,\"raw_sent_per_s\":%.0f}",
        json_rows.empty() ? "" : ",", l.name.c_str(), l.size, l.rate, tun.delivered_per_s,
        tun.mbit_s, tun.delivered_pct, raw.delivered_per_s, raw.mbit_s, tun.sent_per_s,
        raw.sent_per_s);
    json_rows += row;
  }

  Latency raw_lat = echo_latency(direct_echo, 2000, 10);
  Latency tun_lat = echo_latency(echo_front, 2000, 10);
  std::printf(
      "\necho round trip (2000 at low rate): tunnel p50 %.0f us p99 %.0f us | direct UDP p50 %.0f "
      "us p99 %.0f us"
      " | ratio p50 %.1fx\n",
      tun_lat.p50_us, tun_lat.p99_us, raw_lat.p50_us, raw_lat.p99_us,
      raw_lat.p50_us > 0 ? tun_lat.p50_us / raw_lat.p50_us : 0);

  // Flow setup and memory, on a fresh pair of daemons (the loads above grew their buffers):
  // 10,000 sources, one datagram each, until every echo is back.
  local.terminate();
  server.terminate();
  uint16_t server_port2 = harness::free_port(AF_INET, SOCK_STREAM);
  uint16_t flows_front_port = harness::free_port(AF_INET, SOCK_DGRAM);
  harness::Process server2(harness::udp_server_bin(),
                           {"--listen", harness::endpoint(AF_INET, server_port2), "--psk-file", key,
                            "--allow-target", "127.0.0.0/8", "--max-flows-per-session", "200000",
                            "--flow-opens-per-second", "1000000", "--log-level", "warn"},
                           dir.path() + "/server2.log");
  harness::Process local2(
      harness::udp_local_bin(),
      {"--server", harness::endpoint(AF_INET, server_port2), "--psk-file", key, "--forward",
       harness::endpoint(AF_INET, flows_front_port) + "=" + harness::endpoint(AF_INET, echo.port()),
       "--max-flows", "200000", "--log-level", "warn"},
      dir.path() + "/local2.log");
  server2.start();
  local2.start();
  sockaddr_storage flows_front = loopback(AF_INET, flows_front_port);
  {
    harness::UdpClient probe;
    harness::eventually([&] { return probe.echo(flows_front, "up?", 200); }, 5000);
  }
  constexpr int kFlows = 10'000;
  long server_rss0 = rss_kib(server2.pid()), local_rss0 = rss_kib(local2.pid());
  std::vector<int> fds;
  fds.reserve(kFlows);
  for (int i = 0; i < kFlows; ++i) {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) break;
    sockaddr_storage any = loopback(AF_INET, 0);
    bind(fd, reinterpret_cast<sockaddr*>(&any), sizeof(sockaddr_in));
    fds.push_back(fd);
  }
  std::vector<bool> answered(fds.size(), false);
  size_t done = 0;
  char buf[64];
  auto collect = [&] {
    for (size_t i = 0; i < fds.size(); ++i) {
      if (!answered[i] && recv(fds[i], buf, sizeof buf, 0) > 0) {
        answered[i] = true;
        ++done;
      }
    }
  };
  auto start = Clock::now();
  // In waves of 500, so the front's socket buffer is not what is measured.
  for (size_t i = 0; i < fds.size(); ++i) {
    sendto(fds[i], "f", 1, 0, reinterpret_cast<sockaddr*>(&flows_front), sizeof(sockaddr_in));
    if (i % 500 == 499) collect();
  }
  int resends = 0;
  auto last_send = Clock::now();
  while (done < fds.size() && seconds_since(start) < 30) {
    collect();
    if (done < fds.size() && seconds_since(last_send) > 0.5) {
      ++resends;  // lost on a full queue somewhere: ask again
      last_send = Clock::now();
      for (size_t i = 0; i < fds.size(); ++i) {
        if (!answered[i])
          sendto(fds[i], "f", 1, 0, reinterpret_cast<sockaddr*>(&flows_front), sizeof(sockaddr_in));
      }
    }
  }
  double setup_s = seconds_since(start);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  long server_rss1 = rss_kib(server2.pid()), local_rss1 = rss_kib(local2.pid());
  for (int fd : fds) close(fd);
  std::printf("\nflows: %zu of %zu answered in %.2f s = %.0f flows/s set up (resend rounds: %d)\n",
              done, fds.size(), setup_s, static_cast<double>(done) / setup_s, resends);
  std::printf(
      "memory with %zu flows: udp-local +%ld KiB (%.2f KiB/flow), udp-server +%ld KiB (%.2f "
      "KiB/flow, "
      "kernel socket memory aside)\n",
      done, local_rss1 - local_rss0,
      static_cast<double>(local_rss1 - local_rss0) / static_cast<double>(done),
      server_rss1 - server_rss0,
      static_cast<double>(server_rss1 - server_rss0) / static_cast<double>(done));
  std::printf("idle RSS before the flows: udp-local %ld KiB, udp-server %ld KiB\n", local_rss0,
              server_rss0);
  local2.terminate();
  server2.terminate();

  if (json) {
    std::printf(
        "\n{\"tcp_loopback_gbit_s\":%.2f,\"loads\":[%s],\"echo\":{\"tunnel_p50_us\":%.0f,\"tunnel_"
        "p99_us\":%.0f,"
        "\"direct_p50_us\":%.0f,\"direct_p99_us\":%.0f},\"flows\":{\"count\":%zu,\"per_s\":%.0f,"
        "\"local_kib_per_flow\":%.2f,\"server_kib_per_flow\":%.2f}}\n",
        tcp, json_rows.c_str(), tun_lat.p50_us, tun_lat.p99_us, raw_lat.p50_us, raw_lat.p99_us,
        done, static_cast<double>(done) / setup_s,
        static_cast<double>(local_rss1 - local_rss0) / static_cast<double>(done),
        static_cast<double>(server_rss1 - server_rss0) / static_cast<double>(done));
  }
  return 0;
}
