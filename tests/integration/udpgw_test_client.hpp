// A badvpn udpgw client written from the byte layout in docs/PROTOCOL.md §7.1 (not from
// udptun's codec, so the two cannot share a mistake): packets out, packets in, blocking with
// timeouts.
#pragma once

#include <poll.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "raw_client.hpp"

namespace udpgw_client {

constexpr uint8_t kKeepalive = 0x01, kRebind = 0x02, kDns = 0x04, kIpv6 = 0x08;

struct Reply {
  uint8_t flags = 0;
  uint16_t conid = 0;
  std::string ip;  // as inet_ntop writes it
  uint16_t port = 0;
  std::string payload;
};

class Client {
 public:
  explicit Client(uint16_t port) : fd_(raw_client::tcp_connect(port)) {}
  ~Client() {
    if (fd_ >= 0) close(fd_);
  }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;
  bool connected() const { return fd_ >= 0; }
  int fd() const { return fd_; }

  // One packet: LEN (little-endian), FLAGS, CONID (little-endian), address and port
  // (network order; 16 bytes with kIpv6), payload.
  static std::vector<uint8_t> packet(uint8_t flags, uint16_t conid, const std::string& ip,
                                     uint16_t port, const std::string& payload) {
    std::vector<uint8_t> body = {flags, static_cast<uint8_t>(conid & 0xff),
                                 static_cast<uint8_t>(conid >> 8)};
    uint8_t addr[16];
    size_t n = (flags & kIpv6) ? 16 : 4;
    inet_pton((flags & kIpv6) ? AF_INET6 : AF_INET, ip.c_str(), addr);
    body.insert(body.end(), addr, addr + n);
    body.push_back(static_cast<uint8_t>(port >> 8));
    body.push_back(static_cast<uint8_t>(port & 0xff));
    body.insert(body.end(), payload.begin(), payload.end());
    std::vector<uint8_t> out(2 + body.size());
    out[0] = static_cast<uint8_t>(body.size() & 0xff);
    out[1] = static_cast<uint8_t>(body.size() >> 8);
    std::copy(body.begin(), body.end(), out.begin() + 2);
    return out;
  }
  static std::vector<uint8_t> keepalive() { return {0x03, 0x00, kKeepalive, 0x00, 0x00}; }

  bool send_raw(const std::vector<uint8_t>& bytes) {
    size_t done = 0;
    while (done < bytes.size()) {
      ssize_t n = ::send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
      if (n <= 0) return false;
      done += static_cast<size_t>(n);
    }
    return true;
  }
  bool send(uint8_t flags, uint16_t conid, const std::string& ip, uint16_t port,
            const std::string& payload) {
    return send_raw(packet(flags, conid, ip, port, payload));
  }

  // The next packet within `ms`; false on timeout or a closed connection.
  bool receive(Reply& r, int ms = 3000) {
    uint8_t len[2];
    if (!read_exact(len, 2, ms)) return false;
    size_t n = static_cast<size_t>(len[0]) | static_cast<size_t>(len[1]) << 8;
    std::vector<uint8_t> body(n);
    if (n < 3 || !read_exact(body.data(), n, ms)) return false;
    r.flags = body[0];
    r.conid = static_cast<uint16_t>(body[1] | body[2] << 8);
    size_t ip_size = (r.flags & kIpv6) ? 16 : 4;
    if (n < 3 + ip_size + 2) return false;
    char text[INET6_ADDRSTRLEN];
    inet_ntop((r.flags & kIpv6) ? AF_INET6 : AF_INET, body.data() + 3, text, sizeof text);
    r.ip = text;
    r.port = static_cast<uint16_t>(body[3 + ip_size] << 8 | body[4 + ip_size]);
    r.payload.assign(body.begin() + static_cast<long>(5 + ip_size), body.end());
    return true;
  }

  // The server closed the connection within `ms`.
  bool closed_within(int ms) {
    pollfd p{fd_, POLLIN, 0};
    char buf[4096];
    for (int waited = 0; waited < ms; waited += 50) {
      if (poll(&p, 1, 50) > 0 && ::recv(fd_, buf, sizeof buf, 0) <= 0) return true;
    }
    return false;
  }

 private:
  bool read_exact(uint8_t* p, size_t n, int ms) {
    while (n > 0) {
      pollfd pf{fd_, POLLIN, 0};
      if (poll(&pf, 1, ms) <= 0) return false;
      ssize_t got = ::recv(fd_, p, n, 0);
      if (got <= 0) return false;
      p += got;
      n -= static_cast<size_t>(got);
    }
    return true;
  }
  int fd_;
};

}  // namespace udpgw_client
