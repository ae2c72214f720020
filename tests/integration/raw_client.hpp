// The test plays udp-local with the protocol's codecs: a raw TCP connection to udp-server,
// its challenge read, a hello (of a chosen session, when a test needs to know which worker
// owns it) and the verified reply. Shared by the tests that speak the protocol themselves.
#pragma once

#include <sys/time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <random>
#include <string>
#include <vector>

#include "fake_socks5.hpp"
#include "harness.hpp"
#include "udptun/protocol/handshake.hpp"

namespace raw_client {

using namespace udptun::protocol;
using fake_socks5::read_exact;

inline int tcp_connect(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_storage to = harness::loopback(AF_INET, port);
  if (connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof(sockaddr_in)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

inline uint64_t now_ms() {
  timeval tv;
  gettimeofday(&tv, nullptr);
  return static_cast<uint64_t>(tv.tv_sec) * 1000 + static_cast<uint64_t>(tv.tv_usec) / 1000;
}

inline PreSharedKey key_of(const std::string& key_text) {
  std::vector<uint8_t> raw(key_text.begin(), key_text.end());
  while (!raw.empty() && raw.back() == '\n') raw.pop_back();
  return PreSharedKey{ByteView(raw)};
}

// The server's challenge, read off a fresh connection.
inline bool read_challenge(int fd, Challenge& out) {
  uint8_t wire[kServerChallengeSize];
  if (!read_exact(fd, wire, sizeof wire)) return false;
  auto parsed = decode_server_challenge(ByteView(wire, sizeof wire));
  if (!parsed.ok()) return false;
  out = parsed.value.challenge;
  return true;
}

// The hello a real client would send on a connection with this challenge.
inline std::array<uint8_t, kClientHelloSize> hello_for(const PreSharedKey& key,
                                                       const Challenge& challenge,
                                                       ClientHello* sent = nullptr,
                                                       const SessionId* session = nullptr,
                                                       bool resume = false, uint8_t lane = 0) {
  ClientHello h;
  h.timestamp_ms = now_ms();
  h.challenge = challenge;
  h.resume = resume;
  h.lane = lane;
  std::random_device rd;
  for (auto& b : h.session) b = static_cast<uint8_t>(rd());
  if (session) h.session = *session;
  for (auto& b : h.nonce) b = static_cast<uint8_t>(rd());
  std::array<uint8_t, kClientHelloSize> wire;
  encode_client_hello(key, h, wire);
  if (sent) *sent = h;
  return wire;
}

// Sends `wire` as the hello and reads the server's verified reply; the connection, or -1.
inline int finish_handshake(int fd, const PreSharedKey& key, const Mac& hello_mac,
                            const std::array<uint8_t, kClientHelloSize>& wire,
                            ServerHello* reply_out) {
  if (write(fd, wire.data(), wire.size()) != static_cast<ssize_t>(wire.size())) return -1;
  uint8_t resp[kServerHelloSize];
  if (!read_exact(fd, resp, sizeof resp)) return -1;
  auto parsed = decode_server_hello(ByteView(resp, sizeof resp));
  if (!parsed.ok() || !verify_server_hello(key, hello_mac, parsed.value)) return -1;
  if (reply_out) *reply_out = parsed.value;
  return parsed.value.status == HelloStatus::refused ? -1 : fd;
}

// An authenticated raw connection (the test plays udp-local with the codec).
inline int authenticated(uint16_t port, const std::string& key_text,
                         ServerHello* reply_out = nullptr, const SessionId* session = nullptr,
                         bool resume = false, uint8_t lane = 0) {
  int fd = tcp_connect(port);
  PreSharedKey key = key_of(key_text);
  Challenge challenge;
  if (fd < 0 || !read_challenge(fd, challenge)) return -1;
  ClientHello h;
  auto wire = hello_for(key, challenge, &h, session, resume, lane);
  return finish_handshake(fd, key, h.mac, wire, reply_out);
}

}  // namespace raw_client
