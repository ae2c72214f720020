// A SOCKS5 client written from RFC 1928/1929 directly (raw bytes, not our codecs), so the
// front is checked against the RFC rather than against itself.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "harness.hpp"

struct Socks5TestClient {
  int tcp = -1;

  ~Socks5TestClient() {
    if (tcp >= 0) close(tcp);
  }

  bool connect_to(uint16_t port) {
    tcp = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_storage to = harness::loopback(AF_INET, port);
    return ::connect(tcp, reinterpret_cast<sockaddr*>(&to), sizeof(sockaddr_in)) == 0;
  }
  bool send_bytes(const std::vector<uint8_t>& b) {
    return write(tcp, b.data(), b.size()) == static_cast<ssize_t>(b.size());
  }
  // Reads exactly n bytes (or fails on timeout/EOF).
  bool read_exact(std::vector<uint8_t>& out, size_t n, int timeout_ms = 3000) {
    out.clear();
    while (out.size() < n) {
      pollfd p{tcp, POLLIN, 0};
      if (poll(&p, 1, timeout_ms) <= 0) return false;
      uint8_t buf[512];
      ssize_t r = read(tcp, buf, std::min(sizeof buf, n - out.size()));
      if (r <= 0) return false;
      out.insert(out.end(), buf, buf + r);
    }
    return true;
  }
  // True when the server closed the connection (EOF) within the timeout.
  bool closed_by_peer(int timeout_ms = 3000) {
    pollfd p{tcp, POLLIN, 0};
    if (poll(&p, 1, timeout_ms) <= 0) return false;
    uint8_t b;
    return read(tcp, &b, 1) <= 0;
  }
  // Method negotiation; returns the chosen method or -1.
  int greet(std::vector<uint8_t> methods) {
    std::vector<uint8_t> g = {0x05, static_cast<uint8_t>(methods.size())};
    g.insert(g.end(), methods.begin(), methods.end());
    std::vector<uint8_t> r;
    if (!send_bytes(g) || !read_exact(r, 2) || r[0] != 0x05) return -1;
    return r[1];
  }
  int authenticate(const std::string& user, const std::string& pass) {
    std::vector<uint8_t> m = {0x01, static_cast<uint8_t>(user.size())};
    m.insert(m.end(), user.begin(), user.end());
    m.push_back(static_cast<uint8_t>(pass.size()));
    m.insert(m.end(), pass.begin(), pass.end());
    std::vector<uint8_t> r;
    if (!send_bytes(m) || !read_exact(r, 2) || r[0] != 0x01) return -1;
    return r[1];
  }
  // Sends a request with an IPv4 address; returns REP, fills the bound address if IPv4.
  int request(uint8_t cmd, const uint8_t ip[4], uint16_t port, sockaddr_in* bound = nullptr) {
    std::vector<uint8_t> q = {0x05,
                              cmd,
                              0x00,
                              0x01,
                              ip[0],
                              ip[1],
                              ip[2],
                              ip[3],
                              static_cast<uint8_t>(port >> 8),
                              static_cast<uint8_t>(port)};
    std::vector<uint8_t> r;
    if (!send_bytes(q) || !read_exact(r, 4) || r[0] != 0x05) return -1;
    size_t rest = r[3] == 0x01 ? 6 : r[3] == 0x04 ? 18 : 0;
    std::vector<uint8_t> addr;
    if (rest == 0 || !read_exact(addr, rest)) return -1;
    if (bound && r[3] == 0x01) {
      std::memset(bound, 0, sizeof *bound);
      bound->sin_family = AF_INET;
      std::memcpy(&bound->sin_addr, addr.data(), 4);
      bound->sin_port = htons(static_cast<uint16_t>(addr[4] << 8 | addr[5]));
    }
    return r[1];
  }
};

// RSV RSV FRAG ATYP=1 ADDR PORT DATA
// The SOCKS5 front at `port` accepts connections (it is up) within timeout_ms.
inline bool socks5_front_up(uint16_t port, int timeout_ms = 5000) {
  return harness::eventually(
      [&] {
        Socks5TestClient probe;
        return probe.connect_to(port);
      },
      timeout_ms);
}

inline std::vector<uint8_t> socks5_udp_datagram(const uint8_t ip[4], uint16_t port,
                                                const std::string& data, uint8_t frag = 0) {
  const uint8_t header[10] = {0,
                              0,
                              frag,
                              0x01,
                              ip[0],
                              ip[1],
                              ip[2],
                              ip[3],
                              static_cast<uint8_t>(port >> 8),
                              static_cast<uint8_t>(port)};
  std::vector<uint8_t> d(sizeof header + data.size());
  std::memcpy(d.data(), header, sizeof header);
  if (!data.empty()) std::memcpy(d.data() + sizeof header, data.data(), data.size());
  return d;
}
