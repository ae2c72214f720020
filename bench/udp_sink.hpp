// The benches' UDP endpoints on loopback: a bound socket, and a sink that counts what arrives
// (recvmmsg batches, on a thread of its own), echoes it back, or does not read at all (the
// kernel drops what its buffer cannot take, after the sender paid for sending it).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include "../tests/integration/harness.hpp"

namespace bench {

// A UDP socket bound to 127.0.0.1 (any port, written to *port_out), with `buffer_bytes` of
// receive and send buffer.
inline int loopback_udp_socket(uint16_t* port_out = nullptr, int buffer_bytes = 4 << 20) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buffer_bytes, sizeof buffer_bytes);
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buffer_bytes, sizeof buffer_bytes);
  sockaddr_storage ss = harness::loopback(AF_INET, 0);
  bind(fd, reinterpret_cast<sockaddr*>(&ss), sizeof(sockaddr_in));
  if (port_out) {
    socklen_t len = sizeof ss;
    getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
    *port_out = ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  }
  return fd;
}

class UdpSink {
 public:
  enum class Mode { count, echo, not_reading };
  explicit UdpSink(Mode mode, int buffer_bytes = 4 << 20) : mode_(mode) {
    fd_ = loopback_udp_socket(&port_, buffer_bytes);
    if (mode_ != Mode::not_reading) thread_ = std::thread([this] { run(); });
  }
  ~UdpSink() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    close(fd_);
  }
  UdpSink(const UdpSink&) = delete;
  UdpSink& operator=(const UdpSink&) = delete;
  uint16_t port() const { return port_; }
  uint64_t datagrams() const { return datagrams_; }
  uint64_t bytes() const { return bytes_; }
  void reset() {
    datagrams_ = 0;
    bytes_ = 0;
  }

 private:
  void run() {
    constexpr int kBatch = 64;
    std::vector<char> buf(kBatch * 2048);
    mmsghdr msgs[kBatch];
    iovec iov[kBatch];
    sockaddr_storage from[kBatch];
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      for (int i = 0; i < kBatch; ++i) {
        iov[i] = {buf.data() + i * 2048, 2048};
        msgs[i].msg_hdr = {};
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
        msgs[i].msg_hdr.msg_name = &from[i];
        msgs[i].msg_hdr.msg_namelen = sizeof from[i];
      }
      int n = recvmmsg(fd_, msgs, kBatch, MSG_DONTWAIT, nullptr);
      if (n <= 0) continue;
      uint64_t b = 0;
      for (int i = 0; i < n; ++i) b += msgs[i].msg_len;
      datagrams_ += static_cast<uint64_t>(n);
      bytes_ += b;
      if (mode_ == Mode::echo) {
        for (int i = 0; i < n; ++i) msgs[i].msg_hdr.msg_iov->iov_len = msgs[i].msg_len;
        sendmmsg(fd_, msgs, static_cast<unsigned>(n), 0);
      }
    }
  }
  Mode mode_;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> datagrams_{0}, bytes_{0};
  std::thread thread_;
};

}  // namespace bench
