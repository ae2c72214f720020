// udp-server with 1 worker beside the same server with 2, in the same run: many clients in
// parallel (each an authenticated connection with one flow, the bench playing udp-local with
// the protocol's codecs) sending DATA as fast as the server takes it to a UDP sink, and the
// echo latency of one session alone (on the last worker, so with 2 workers its connection
// is one handed over after the hello). Alternating rounds; every load bounded in time;
// loopback only. Prints the table and the ratios (2 workers / 1).
//
//   server_workers_bench [--seconds S] [--clients N] [--size BYTES] [--rounds R]
#include <fcntl.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "../tests/integration/harness.hpp"
#include "../tests/integration/raw_client.hpp"
#include "udp_sink.hpp"
#include "udptun/protocol/frame.hpp"
#include "udptun/protocol/frame_decoder.hpp"

using Clock = std::chrono::steady_clock;
using namespace udptun::protocol;

namespace {

const char* kKey = "benchmark key 0123456789abcdef";

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// CPU seconds (user + system) a process has used so far.
double cpu_seconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t close_paren = text.rfind(')');
  if (close_paren == std::string::npos) return 0;
  // Fields after the command: state is field 3; utime and stime are fields 14 and 15.
  const char* p = text.c_str() + close_paren + 2;
  unsigned long long utime = 0, stime = 0;
  int field = 3;
  while (*p && field < 14) {
    if (*p == ' ') field++;
    p++;
  }
  std::sscanf(p, "%llu %llu", &utime, &stime);
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// udp-server with `workers` workers, listening.
struct Server {
  harness::TempDir dir;
  uint16_t port = harness::free_port(AF_INET, SOCK_STREAM);
  std::unique_ptr<harness::Process> process;
  std::string stats = dir.path() + "/server.stats";
  // Its own count of datagrams sent to targets (published every 100 ms).
  double sent() const { return harness::last_counter(stats, "datagrams_to_targets"); }
  bool start(unsigned workers) {
    std::string key = dir.write("psk", kKey);
    process = std::make_unique<harness::Process>(
        harness::udp_server_bin(),
        std::vector<std::string>{"--listen", harness::endpoint(AF_INET, port), "--psk-file", key,
                                 "--allow-target", "127.0.0.0/8", "--workers",
                                 std::to_string(workers), "--max-sessions", "4096", "--stats-fd",
                                 "3", "--stats-interval-ms", "100", "--log-level", "warn"},
        dir.path() + "/server.log");
    process->set_fd3_path(stats);
    if (!process->start()) return false;
    return harness::eventually(
        [&] {
          int fd = raw_client::tcp_connect(port);
          if (fd >= 0) close(fd);
          return fd >= 0;
        },
        5000);
  }
};

// A session whose id the server's hash gives to worker `n % workers`: ids 0, 1, 2, ...
SessionId session_number(uint64_t n) {
  SessionId id{};
  std::memcpy(id.data(), &n, sizeof n);
  id[15] = 0xb7;
  return id;
}

int open_session(const Server& server, uint64_t n, uint16_t target_port) {
  SessionId id = session_number(n);
  int fd = raw_client::authenticated(server.port, std::string(kKey) + "\n", nullptr, &id);
  if (fd < 0) return -1;
  uint8_t ip[4] = {127, 0, 0, 1};
  std::vector<uint8_t> out;
  append_frame(out, OpenFlow{1, Address::ipv4(ip, target_port), false, {}});
  if (write(fd, out.data(), out.size()) != static_cast<ssize_t>(out.size())) {
    close(fd);
    return -1;
  }
  return fd;
}

struct LoadResult {
  double sent_per_second = 0;       // by the server, to the targets
  double delivered_per_second = 0;  // read by a reading sink
  double server_cores = 0;          // CPU seconds per second
};

// `clients` sessions send DATA of `size` bytes as fast as the server takes them, for
// `seconds` (after a short warm-up), to one sink.
LoadResult parallel_load(unsigned workers, unsigned clients, size_t size, double seconds,
                         bool sink_reads) {
  LoadResult r;
  Server server;
  // A sink that does not read takes no CPU from the server: the kernel drops what its small
  // buffer cannot take, after the server paid for sending it.
  bench::UdpSink sink(sink_reads ? bench::UdpSink::Mode::count : bench::UdpSink::Mode::not_reading,
                      sink_reads ? 16 << 20 : 4096);
  if (!server.start(workers)) {
    std::fprintf(stderr, "udp-server did not start\n");
    return r;
  }
  std::vector<int> fds;
  for (unsigned i = 0; i < clients; ++i) {
    int fd = open_session(server, i, sink.port());
    if (fd < 0) {
      std::fprintf(stderr, "session %u was not admitted\n%s\n", i, server.process->log().c_str());
      for (int f : fds) close(f);
      return r;
    }
    fds.push_back(fd);
  }
  // About 64 KiB of DATA frames, written again and again.
  std::vector<uint8_t> payload(size, 'w'), frames;
  Data d;
  d.flow_id = 1;
  d.payload = ByteView(payload);
  while (frames.size() < 64 * 1024) append_frame(frames, d);
  for (int fd : fds) {
    int flags = 1 << 20;
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &flags, sizeof flags);
    fcntl(fd, F_SETFL, O_NONBLOCK);
  }
  std::vector<size_t> offset(fds.size(), 0);
  std::vector<pollfd> polls(fds.size());
  auto drive = [&](double for_seconds) {
    auto start = Clock::now();
    while (seconds_since(start) < for_seconds) {
      bool wrote = false;
      for (size_t i = 0; i < fds.size(); ++i) {
        ssize_t n = write(fds[i], frames.data() + offset[i], frames.size() - offset[i]);
        if (n > 0) {
          wrote = true;
          offset[i] = (offset[i] + static_cast<size_t>(n)) % frames.size();
        }
      }
      if (!wrote) {
        for (size_t i = 0; i < fds.size(); ++i) polls[i] = {fds[i], POLLOUT, 0};
        poll(polls.data(), polls.size(), 10);
      }
    }
  };
  drive(0.5);  // warm-up: every worker busy, every queue full
  uint64_t before = sink.datagrams();
  double sent_before = server.sent();
  double cpu_before = cpu_seconds(server.process->pid());
  auto t0 = Clock::now();
  drive(seconds);
  double elapsed = seconds_since(t0);
  r.delivered_per_second = static_cast<double>(sink.datagrams() - before) / elapsed;
  r.sent_per_second = (server.sent() - sent_before) / elapsed;
  r.server_cores = (cpu_seconds(server.process->pid()) - cpu_before) / elapsed;
  for (int fd : fds) close(fd);
  server.process->terminate();
  return r;
}

struct Latency {
  double p50 = 0, p90 = 0, p99 = 0;
};

// One session alone, on the last worker: `rounds` echoes, one at a time, 1 ms apart.
Latency single_session_echo(unsigned workers, int rounds) {
  Latency l;
  Server server;
  harness::EchoServer echo;
  if (!server.start(workers)) return l;
  int fd = open_session(server, workers - 1, echo.port());
  if (fd < 0) return l;
  std::vector<double> rtt_us;
  FrameDecoder decoder;
  struct Echoes : FrameSink {
    int seen = 0;
    bool on_frame(const Frame& f) override {
      if (std::holds_alternative<Data>(f)) seen++;
      return true;
    }
  } echoes;
  std::vector<uint8_t> out, payload(64, 'p');
  Data d;
  d.flow_id = 1;
  d.payload = ByteView(payload);
  append_frame(out, d);
  uint8_t buf[4096];
  for (int i = 0; i < rounds + 100; ++i) {
    int want = echoes.seen + 1;
    auto t = Clock::now();
    if (write(fd, out.data(), out.size()) != static_cast<ssize_t>(out.size())) break;
    while (echoes.seen < want && seconds_since(t) < 1.0) {
      pollfd p{fd, POLLIN, 0};
      if (poll(&p, 1, 100) != 1) continue;
      ssize_t n = read(fd, buf, sizeof buf);
      if (n <= 0) break;
      (void)decoder.feed(ByteView(buf, static_cast<size_t>(n)), echoes);
    }
    if (echoes.seen < want) break;  // lost: the flow is still being set up, or gone
    if (i >= 100) rtt_us.push_back(seconds_since(t) * 1e6);  // the first 100 warm up
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  close(fd);
  server.process->terminate();
  if (rtt_us.empty()) return l;
  std::sort(rtt_us.begin(), rtt_us.end());
  auto at = [&](double q) { return rtt_us[static_cast<size_t>(q * (rtt_us.size() - 1))]; };
  l.p50 = at(0.50);
  l.p90 = at(0.90);
  l.p99 = at(0.99);
  return l;
}

double mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? 0 : s / static_cast<double>(v.size());
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 3;
  unsigned clients = 64, rounds = 3;
  size_t size = 512;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--seconds") seconds = std::min(30.0, std::atof(argv[i + 1]));
    if (a == "--clients") clients = std::min(1000u, static_cast<unsigned>(std::atoi(argv[i + 1])));
    if (a == "--size") size = std::min<size_t>(1400, std::strtoul(argv[i + 1], nullptr, 10));
    if (a == "--rounds") rounds = std::min(10u, static_cast<unsigned>(std::atoi(argv[i + 1])));
  }
  rlimit rl{65536, 65536};
  if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  std::printf(
      "udp-server workers: %u clients in parallel, %zu-byte datagrams, %.1f s per load, %u "
      "alternating rounds; %u cores shared by the clients, the server and the sink\n\n",
      clients, size, seconds, rounds, std::thread::hardware_concurrency());
  // Two loads: the sink reading (it and the clients share the cores with the server), and the
  // sink not reading (the cores are the server's but for the clients' writes).
  struct Series {
    std::vector<double> sent, delivered, cores;
  } series[2][2];  // [sink reads][workers - 1]
  for (unsigned round = 0; round < rounds; ++round) {
    for (int reads = 1; reads >= 0; --reads) {
      for (unsigned w = 1; w <= 2; ++w) {
        LoadResult r = parallel_load(w, clients, size, seconds, reads == 1);
        Series& s = series[reads][w - 1];
        s.sent.push_back(r.sent_per_second);
        s.delivered.push_back(r.delivered_per_second);
        s.cores.push_back(r.server_cores);
        std::printf(
            "  round %u, sink %s, %u worker%s: server sent %9.0f/s, sink read %9.0f/s, "
            "server %.2f cores\n",
            round + 1, reads ? "reading    " : "not reading", w, w == 1 ? " " : "s",
            r.sent_per_second, r.delivered_per_second, r.server_cores);
        std::fflush(stdout);
      }
    }
  }
  Latency lat[2];
  for (unsigned w = 1; w <= 2; ++w) lat[w - 1] = single_session_echo(w, 2000);
  std::printf(
      "\n| udp-server, %u clients | sink reading: delivered/s | server CPU | sink not "
      "reading: sent/s | server CPU | one session's echo p50 / p90 / p99 |\n"
      "|---|---|---|---|---|---|\n",
      clients);
  for (unsigned w = 1; w <= 2; ++w)
    std::printf("| %u worker%s | %.0f | %.2f | %.0f | %.2f | %.0f / %.0f / %.0f µs |\n", w,
                w == 1 ? "" : "s", mean(series[1][w - 1].delivered), mean(series[1][w - 1].cores),
                mean(series[0][w - 1].sent), mean(series[0][w - 1].cores), lat[w - 1].p50,
                lat[w - 1].p90, lat[w - 1].p99);
  auto ratio = [](double a, double b) { return b > 0 ? a / b : 0; };
  double r1 = mean(series[1][0].delivered), r2 = mean(series[1][1].delivered);
  double s1 = mean(series[0][0].sent), s2 = mean(series[0][1].sent);
  std::printf(
      "\n2 workers / 1: delivered (sink reading) %.2f×, sent (sink not reading) %.2f×, "
      "server CPU %.2f× / %.2f×; one session's echo p50 %.2f×, p99 %.2f×\n",
      ratio(r2, r1), ratio(s2, s1), ratio(mean(series[1][1].cores), mean(series[1][0].cores)),
      ratio(mean(series[0][1].cores), mean(series[0][0].cores)), ratio(lat[1].p50, lat[0].p50),
      ratio(lat[1].p99, lat[0].p99));
  return r1 > 0 && r2 > 0 && s1 > 0 && s2 > 0 ? 0 : 1;
}
