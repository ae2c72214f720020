// A UDP socket on the loop: batched receives (recvmmsg into the loop's shared buffer) and
// non-blocking sends that drop on a full socket buffer instead of queueing.
#pragma once

#include <sys/socket.h>
#include <uv.h>

#include "udptun/protocol/address.hpp"
#include "udptun/protocol/bytes.hpp"
#include "udptun/runtime/uv_handle.hpp"

namespace udptun::runtime {

class EventLoop;

class UdpSocket {
 public:
  class Events {
   public:
    virtual ~Events() = default;
    // One datagram. Must not close or destroy this socket from inside (defer it).
    virtual void on_datagram(protocol::ByteView payload, const struct sockaddr* from) = 0;
  };

  UdpSocket(EventLoop& loop, Events& events);
  UdpSocket(const UdpSocket&) = delete;
  UdpSocket& operator=(const UdpSocket&) = delete;

  // Opens the socket bound to `at` (port 0 = any) and starts receiving. `buffer_bytes` sets
  // the kernel receive and send buffers (0 keeps the system default): fronts that take bursts
  // from many clients want large ones; per-flow sockets keep the default to stay small.
  int open(const struct sockaddr* at, int buffer_bytes = 0);
  // 0, or a libuv error (UV_EAGAIN when the socket buffer is full: the datagram is dropped).
  int send(protocol::ByteView payload, const struct sockaddr* to);
  // The same with a header in front, without copying either (one sendmsg with two iovecs).
  int send(protocol::ByteView header, protocol::ByteView payload, const struct sockaddr* to);
  int local_address(sockaddr_storage* out) const;
  int family() const { return family_; }
  void close() { udp_.close(); }
  bool is_open() const { return static_cast<bool>(udp_); }

 private:
  static void on_alloc(uv_handle_t* h, size_t suggested, uv_buf_t* buf);
  static void on_recv(uv_udp_t* u, ssize_t n, const uv_buf_t* buf, const struct sockaddr* from,
                      unsigned flags);

  EventLoop& loop_;
  Events& events_;
  UvHandle<uv_udp_t> udp_;
  int family_ = 0;
};

}  // namespace udptun::runtime
