// SOCKS5 servers of the tests' own, for udp-server's socks5 egress: one that never answers,
// one that grants UDP ASSOCIATE with an echoing relay (optionally fragmenting every reply,
// RFC 1928 §7). Threads with loopback sockets; stopped and closed in their destructors.
#pragma once

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <thread>
#include <vector>

#include "harness.hpp"

namespace fake_socks5 {

inline bool read_exact(int fd, uint8_t* buf, size_t n, int timeout_ms = 3000) {
  size_t got = 0;
  while (got < n) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, timeout_ms) <= 0) return false;
    ssize_t r = read(fd, buf + got, n - got);
    if (r <= 0) return false;
    got += static_cast<size_t>(r);
  }
  return true;
}

// A non-blocking TCP listener on a loopback port of its own.
inline int listening_tcp(uint16_t& port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  port = harness::free_port(AF_INET, SOCK_STREAM);
  sockaddr_storage at = harness::loopback(AF_INET, port);
  bind(fd, reinterpret_cast<sockaddr*>(&at), sizeof(sockaddr_in));
  listen(fd, 1024);
  return fd;
}

// A SOCKS5 server that accepts connections and never says a word.
struct SilentSocks5 {
  int fd = -1;
  uint16_t port = 0;
  std::atomic<bool> stop{false};
  std::vector<int> held;
  std::thread thread;
  SilentSocks5() {
    fd = listening_tcp(port);
    thread = std::thread([this] {
      while (!stop) {
        int c = accept(fd, nullptr, nullptr);
        if (c >= 0)
          held.push_back(c);
        else
          usleep(1000);
      }
    });
  }
  ~SilentSocks5() {
    stop = true;
    thread.join();
    for (int c : held) close(c);
    close(fd);
  }
};

// A SOCKS5 server that grants UDP ASSOCIATE with a relay of the test's own: the relay echoes
// whatever comes through it. Tells the port the association sends from.
struct EchoingSocks5 {
  int listen_fd = -1, relay_fd = -1;
  uint16_t port = 0, relay_port = 0;
  std::atomic<uint16_t> association_port{0};
  std::atomic<bool> stop{false};
  std::vector<int> held;
  std::thread thread;
  bool fragment_replies = false;  // echo each datagram as three RFC 1928 fragments
  explicit EchoingSocks5(bool fragments = false) : fragment_replies(fragments) {
    listen_fd = listening_tcp(port);
    relay_fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    sockaddr_storage r = harness::loopback(AF_INET, 0);
    bind(relay_fd, reinterpret_cast<sockaddr*>(&r), sizeof(sockaddr_in));
    socklen_t len = sizeof r;
    getsockname(relay_fd, reinterpret_cast<sockaddr*>(&r), &len);
    relay_port = ntohs(reinterpret_cast<sockaddr_in*>(&r)->sin_port);
    thread = std::thread([this] { serve(); });
  }
  void serve() {
    while (!stop) {
      int c = accept(listen_fd, nullptr, nullptr);
      if (c >= 0) {
        // greeting 05 01 00 → 05 00; request 05 03 00 01 a a a a p p → reply with the relay.
        uint8_t buf[64];
        if (read_exact(c, buf, 3)) {
          (void)!write(c, "\x05\x00", 2);
          if (read_exact(c, buf, 10)) {
            uint8_t reply[10] = {5,
                                 0,
                                 0,
                                 1,
                                 127,
                                 0,
                                 0,
                                 1,
                                 static_cast<uint8_t>(relay_port >> 8),
                                 static_cast<uint8_t>(relay_port)};
            (void)!write(c, reply, sizeof reply);
          }
        }
        held.push_back(c);
      }
      sockaddr_in from{};
      socklen_t len = sizeof from;
      uint8_t d[2048];
      ssize_t n = recvfrom(relay_fd, d, sizeof d, 0, reinterpret_cast<sockaddr*>(&from), &len);
      if (n > 10 && fragment_replies) {
        association_port = ntohs(from.sin_port);
        size_t body = static_cast<size_t>(n) - 10, third = body / 3;
        size_t cut[4] = {0, third, 2 * third, body};
        for (int k = 0; k < 3; ++k) {
          uint8_t f[2048];
          std::memcpy(f, d, 10);
          f[2] = static_cast<uint8_t>((k + 1) | (k == 2 ? 0x80 : 0));
          std::memcpy(f + 10, d + 10 + cut[k], cut[k + 1] - cut[k]);
          sendto(relay_fd, f, 10 + cut[k + 1] - cut[k], 0, reinterpret_cast<sockaddr*>(&from), len);
        }
      } else if (n > 0) {
        association_port = ntohs(from.sin_port);
        sendto(relay_fd, d, static_cast<size_t>(n), 0, reinterpret_cast<sockaddr*>(&from), len);
      }
      if (c < 0 && n <= 0) usleep(1000);
    }
  }
  ~EchoingSocks5() {
    stop = true;
    thread.join();
    for (int c : held) close(c);
    close(listen_fd);
    close(relay_fd);
  }
};

}  // namespace fake_socks5

using fake_socks5::EchoingSocks5;
using fake_socks5::listening_tcp;
using fake_socks5::read_exact;
using fake_socks5::SilentSocks5;
