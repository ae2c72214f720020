// What the hostile suites share: a good client served beside the attack, the key they use,
// connections from a chosen loopback address, and a wait for a peer to be cut off.
#pragma once

#include <poll.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <string>
#include <vector>

#include "raw_client.hpp"
#include "tunnel_fixture.hpp"
#include "udptun/protocol/handshake.hpp"

namespace hostile {

using harness::EchoServer;
using harness::UdpClient;
using namespace udptun::protocol;
using namespace raw_client;

inline bool closed_within(int fd, int ms) {
  pollfd p{fd, POLLIN, 0};
  char buf[4096];
  auto deadline = ms;
  while (deadline > 0) {
    int r = poll(&p, 1, 50);
    deadline -= 50;
    if (r > 0) {
      ssize_t n = read(fd, buf, sizeof buf);
      if (n <= 0) return true;
    }
  }
  return false;
}

struct GoodClient {
  EchoServer target;
  TunnelFixture fx;
  UdpClient client;
  bool start(std::vector<std::string> server_extra = {},
             std::vector<std::string> local_extra = {}) {
    return fx.start_server(server_extra) &&
           fx.start_local(harness::endpoint(AF_INET, target.port()), local_extra) &&
           fx.echo_eventually(client, "hello", 5000);
  }
  // Served within a bound: a hostile peer may cost latency (more so on a loaded machine
  // under ASan), never service.
  bool still_served(const std::string& tag) {
    return harness::eventually([&] { return client.echo(fx.front(), tag, 1000); }, 10000);
  }
};

inline const char* const kKey = "test key: correct horse battery staple\n";

// Connects from `source` (a loopback address) to the server.
inline int tcp_connect_from(const char* source, uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in from{};
  from.sin_family = AF_INET;
  inet_pton(AF_INET, source, &from.sin_addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof from) != 0) {
    close(fd);
    return -1;
  }
  sockaddr_storage to = harness::loopback(AF_INET, port);
  if (connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof(sockaddr_in)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

inline int count_lines(const std::string& text) {
  int n = 0;
  for (char c : text) n += c == '\n';
  return n;
}

// An authenticated connection from `source_ip` (a loopback address) for `session`: its fd,
// or -1; the server's answer in `reply`.
inline int authenticated_from(const char* source_ip, uint16_t port, const SessionId& session,
                              bool resume, ServerHello* reply) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in from{};
  from.sin_family = AF_INET;
  inet_pton(AF_INET, source_ip, &from.sin_addr);
  sockaddr_storage to = harness::loopback(AF_INET, port);
  if (bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof from) != 0 ||
      connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof(sockaddr_in)) != 0) {
    close(fd);
    return -1;
  }
  PreSharedKey key = key_of(kKey);
  Challenge challenge;
  if (!read_challenge(fd, challenge)) {
    close(fd);
    return -1;
  }
  ClientHello h;
  auto wire = hello_for(key, challenge, &h, &session, resume);
  return finish_handshake(fd, key, h.mac, wire, reply);
}

}  // namespace hostile
