// Echo round trips for the benchmarks: an echo server, and a pinger that sends one datagram at
// a time at a fixed pace and reports the round-trip percentiles. Bounded by count and time.
//   udp_ping echo BIND_IP:PORT SECONDS
//   udp_ping ping DST_IP:PORT COUNT RATE_PER_SECOND SIZE
// ping prints one line: "p50_us=… p90_us=… p99_us=… max_us=… lost=N of COUNT".
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

bool parse_endpoint(const std::string& text, sockaddr_in& out) {
  size_t colon = text.rfind(':');
  if (colon == std::string::npos) return false;
  out = {};
  out.sin_family = AF_INET;
  out.sin_port = htons(static_cast<uint16_t>(std::atoi(text.c_str() + colon + 1)));
  return inet_pton(AF_INET, text.substr(0, colon).c_str(), &out.sin_addr) == 1;
}

int echo(const sockaddr_in& at, int seconds) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0 || bind(fd, reinterpret_cast<const sockaddr*>(&at), sizeof at) != 0) {
    std::perror("udp_ping echo: bind");
    return 1;
  }
  auto end = Clock::now() + std::chrono::seconds(seconds);
  char buf[65536];
  while (Clock::now() < end) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    sockaddr_storage from;
    socklen_t len = sizeof from;
    ssize_t n = recvfrom(fd, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len);
    if (n > 0) sendto(fd, buf, static_cast<size_t>(n), 0, reinterpret_cast<sockaddr*>(&from), len);
  }
  close(fd);
  return 0;
}

int ping(const sockaddr_in& to, int count, int rate, int size) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0 || connect(fd, reinterpret_cast<const sockaddr*>(&to), sizeof to) != 0) {
    std::perror("udp_ping ping: connect");
    return 1;
  }
  std::vector<char> out(static_cast<size_t>(std::max(size, 8))), in(65536);
  std::vector<double> rtts;
  int lost = 0;
  auto gap = std::chrono::microseconds(1'000'000 / std::max(rate, 1));
  auto next = Clock::now();
  for (int i = 0; i < count; ++i) {
    std::this_thread::sleep_until(next);
    next += gap;
    std::memcpy(out.data(), &i, sizeof i);
    auto sent = Clock::now();
    if (send(fd, out.data(), out.size(), 0) < 0) {
      lost++;
      continue;
    }
    bool answered = false;
    while (!answered) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          sent + std::chrono::seconds(1) - Clock::now());
      pollfd p{fd, POLLIN, 0};
      if (left.count() <= 0 || poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
      ssize_t n = recv(fd, in.data(), in.size(), 0);
      int seq = -1;
      if (n >= static_cast<ssize_t>(sizeof seq)) std::memcpy(&seq, in.data(), sizeof seq);
      if (seq == i) {
        rtts.push_back(std::chrono::duration<double, std::micro>(Clock::now() - sent).count());
        answered = true;
      }  // a late answer to an earlier ping is skipped
    }
    if (!answered) lost++;
  }
  close(fd);
  std::sort(rtts.begin(), rtts.end());
  auto at = [&](double q) {
    return rtts.empty() ? 0.0
                        : rtts[std::min(rtts.size() - 1, static_cast<size_t>(q * rtts.size()))];
  };
  std::printf("p50_us=%.0f p90_us=%.0f p99_us=%.0f max_us=%.0f lost=%d of %d\n", at(0.50), at(0.90),
              at(0.99), rtts.empty() ? 0.0 : rtts.back(), lost, count);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  sockaddr_in endpoint;
  if (argc == 4 && std::strcmp(argv[1], "echo") == 0 && parse_endpoint(argv[2], endpoint))
    return echo(endpoint, std::atoi(argv[3]));
  if (argc == 6 && std::strcmp(argv[1], "ping") == 0 && parse_endpoint(argv[2], endpoint))
    return ping(endpoint, std::atoi(argv[3]), std::atoi(argv[4]), std::atoi(argv[5]));
  std::fprintf(stderr,
               "usage: udp_ping echo BIND_IP:PORT SECONDS\n"
               "       udp_ping ping DST_IP:PORT COUNT RATE_PER_SECOND SIZE\n");
  return 2;
}
