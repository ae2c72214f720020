// The far side of a component under a loop-driven test: plain non-blocking loopback sockets the
// test reads between turns of the loop (never blocking it: the component runs on the same
// thread), and udptun frames copied out of a byte stream.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "udptun/protocol/address.hpp"
#include "udptun/protocol/frame.hpp"
#include "udptun/protocol/handshake.hpp"

namespace udptun::test {

inline sockaddr_in loopback4(uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

inline uint16_t port_of(int fd) {
  sockaddr_in a{};
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  return ntohs(a.sin_port);
}

inline void set_nonblocking(int fd) {
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

// The key both ends of a loop-driven test share (as the JSON "psk" and for the codecs).
inline constexpr char kTestKey[] = "middle layer test key, 32 bytes.";
inline protocol::PreSharedKey test_key() {
  return protocol::PreSharedKey{
      protocol::ByteView(reinterpret_cast<const uint8_t*>(kTestKey), sizeof kTestKey - 1)};
}

// A UDP port free on loopback now.
inline uint16_t free_udp_port() {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in a = loopback4(0);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  uint16_t port = port_of(fd);
  ::close(fd);
  return port;
}

// A string's bytes (valid while it is).
inline protocol::ByteView view_of(const std::string& s) {
  return protocol::ByteView(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

inline protocol::Address address_of(const std::string& text) {
  return *protocol::parse_address_text(text).address;
}

// One end of a TCP connection: bytes in as they come (pump), bytes out at once.
class StreamPeer {
 public:
  StreamPeer() = default;
  explicit StreamPeer(int fd) { adopt(fd); }
  StreamPeer(const StreamPeer&) = delete;
  StreamPeer& operator=(const StreamPeer&) = delete;
  ~StreamPeer() { close_now(); }

  // A connection accepted elsewhere (the one before is closed).
  void adopt(int fd) {
    close_now();
    fd_ = fd;
    set_nonblocking(fd_);
  }
  // Starts connecting to 127.0.0.1:port (finished by the loop turns that follow).
  bool connect_to(uint16_t port) {
    close_now();
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    sockaddr_in to = loopback4(port);
    int rc = ::connect(fd_, reinterpret_cast<sockaddr*>(&to), sizeof to);
    return rc == 0 || errno == EINPROGRESS;
  }
  // Reads what has arrived; false once the other end closed.
  bool pump() {
    uint8_t buf[65536];
    for (;;) {
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n > 0) {
        in.insert(in.end(), buf, buf + n);
        continue;
      }
      if (n == 0) closed_ = true;
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) closed_ = true;
      return !closed_;
    }
  }
  bool has(size_t n) {
    pump();
    return in.size() >= n;
  }
  bool closed() {
    pump();
    return closed_;
  }
  bool write(const void* data, size_t len) {
    const auto* p = static_cast<const uint8_t*>(data);
    while (len > 0) {  // small writes: the socket buffer takes them at once
      ssize_t n = ::send(fd_, p, len, MSG_NOSIGNAL);
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      if (n <= 0) return false;
      p += n;
      len -= static_cast<size_t>(n);
    }
    return true;
  }
  bool write(const std::vector<uint8_t>& bytes) { return write(bytes.data(), bytes.size()); }
  void take(uint8_t* out, size_t n) {
    std::memcpy(out, in.data(), n);
    in.erase(in.begin(), in.begin() + static_cast<long>(n));
  }
  void close_now() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    in.clear();
    closed_ = false;
  }
  int fd() const { return fd_; }

  std::vector<uint8_t> in;

 private:
  int fd_ = -1;
  bool closed_ = false;
};

// A frame as the test keeps it: the payload copied out of the stream's buffer.
struct ReceivedFrame {
  protocol::FrameType type;
  uint32_t flow_id = 0;
  uint8_t state_or_reason = 0;  // FLOW_STATUS state, CLOSE_FLOW reason
  protocol::Address target;     // OPEN_FLOW's
  std::string payload;          // DATA's
  uint64_t value = 0;           // PING's, PONG's
};

// The next whole frame in `peer`'s input (taken out of it); false when none is whole yet.
inline bool next_frame(StreamPeer& peer, ReceivedFrame& out) {
  peer.pump();
  auto parsed = protocol::decode_frame(protocol::ByteView(peer.in));
  if (!parsed.ok()) return false;
  out = ReceivedFrame{};
  if (auto* d = std::get_if<protocol::Data>(&parsed.value)) {
    out.type = protocol::FrameType::data;
    out.flow_id = d->flow_id;
    out.payload.assign(reinterpret_cast<const char*>(d->payload.data), d->payload.size);
  } else if (auto* o = std::get_if<protocol::OpenFlow>(&parsed.value)) {
    out.type = protocol::FrameType::open_flow;
    out.flow_id = o->flow_id;
    out.target = o->target;
  } else if (auto* s = std::get_if<protocol::FlowStatus>(&parsed.value)) {
    out.type = protocol::FrameType::flow_status;
    out.flow_id = s->flow_id;
    out.state_or_reason = static_cast<uint8_t>(s->state);
  } else if (auto* c = std::get_if<protocol::CloseFlow>(&parsed.value)) {
    out.type = protocol::FrameType::close_flow;
    out.flow_id = c->flow_id;
    out.state_or_reason = static_cast<uint8_t>(c->reason);
  } else if (auto* ping = std::get_if<protocol::Ping>(&parsed.value)) {
    out.type = protocol::FrameType::ping;
    out.value = ping->value;
  } else if (auto* pong = std::get_if<protocol::Pong>(&parsed.value)) {
    out.type = protocol::FrameType::pong;
    out.value = pong->value;
  } else {
    out.type = protocol::FrameType::goaway;
  }
  peer.in.erase(peer.in.begin(), peer.in.begin() + static_cast<long>(parsed.consumed));
  return true;
}

// The next frame of `type` (others are skipped); false when none has come yet.
inline bool next_frame_of(StreamPeer& peer, protocol::FrameType type, ReceivedFrame& out) {
  while (next_frame(peer, out))
    if (out.type == type) return true;
  return false;
}

// A UDP socket on loopback: datagrams in (with their source port) as they come.
class DatagramPeer {
 public:
  DatagramPeer() {
    fd_ = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    sockaddr_in a = loopback4(0);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
  }
  DatagramPeer(const DatagramPeer&) = delete;
  DatagramPeer& operator=(const DatagramPeer&) = delete;
  ~DatagramPeer() { ::close(fd_); }
  uint16_t port() const { return port_of(fd_); }
  struct Datagram {
    std::string payload;
    uint16_t from_port;
  };
  // The next datagram, if one has arrived.
  bool receive(Datagram& out) {
    char buf[65536];
    sockaddr_in from{};
    socklen_t len = sizeof from;
    ssize_t n = ::recvfrom(fd_, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len);
    if (n < 0) return false;
    out = {std::string(buf, static_cast<size_t>(n)), ntohs(from.sin_port)};
    return true;
  }
  bool send_to(uint16_t port, const std::string& payload) {
    sockaddr_in to = loopback4(port);
    return ::sendto(fd_, payload.data(), payload.size(), 0, reinterpret_cast<sockaddr*>(&to),
                    sizeof to) == static_cast<ssize_t>(payload.size());
  }

 private:
  int fd_ = -1;
};

}  // namespace udptun::test
