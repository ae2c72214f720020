// A UDP socket on the loop: batched receives (recvmmsg into the loop's shared buffer) and
// non-blocking sends that drop on a full socket buffer instead of queueing.
#pragma once

#include "udptun/protocol/socket_api.hpp"

#include <uv.h>
#include <vector>

#include "udptun/protocol/address.hpp"
#include "udptun/protocol/bytes.hpp"
#include "udptun/runtime/socket_protector.hpp"
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
    // Queued datagrams the kernel would not take (full socket buffer): they are dropped.
    // Called from the end-of-iteration flush; must not close the socket.
    virtual void on_send_dropped(size_t count) { (void)count; }
  };

  UdpSocket(EventLoop& loop, Events& events);
  UdpSocket(const UdpSocket&) = delete;
  UdpSocket& operator=(const UdpSocket&) = delete;

  // Opens the socket bound to `at` (port 0 = any) and starts receiving. `buffer_bytes` sets
  // the kernel receive and send buffers (0 keeps the system default): fronts that take bursts
  // from many clients want large ones; per-flow sockets keep the default to stay small.
  int open(const struct sockaddr* at, int buffer_bytes = 0);
  // Before open: the new socket goes through `protector` before it is bound (Android's
  // protect(), for sockets that send out of the tunnel); kSocketRefused when it says no.
  void set_protector(SocketProtector protector) { protector_ = std::move(protector); }
  // Takes over an open, bound UDP socket (one a predecessor handed over) and starts
  // receiving. On failure the descriptor is closed.
  int adopt(int fd);
  // The socket's descriptor (-1 when closed): to hand over, duplicated by the caller.
  int fd() const;
  // 0, or a libuv error (UV_EAGAIN when the socket buffer is full: the datagram is dropped).
  int send(protocol::ByteView payload, const struct sockaddr* to);
  // The same with a header in front, without copying either (one sendmsg with two iovecs).
  int send(protocol::ByteView header, protocol::ByteView payload, const struct sockaddr* to);
  // Queues a datagram (header + payload, copied) to leave with the others queued during this
  // loop iteration: one sendmmsg, or one UDP GSO send when they are the same size to the same
  // address. Nothing waits longer than the end of the iteration.
  void queue(protocol::ByteView header, protocol::ByteView payload, const struct sockaddr* to);
  // Sends what is queued now. Returns how many datagrams the kernel refused (dropped).
  size_t flush();
  int local_address(sockaddr_storage* out) const;
  int family() const { return family_; }
  void close();
  ~UdpSocket();
  bool is_open() const { return static_cast<bool>(udp_); }

 private:
  static void on_alloc(uv_handle_t* h, size_t suggested, uv_buf_t* buf);
  static void on_recv(uv_udp_t* u, ssize_t n, const uv_buf_t* buf, const struct sockaddr* from,
                      unsigned flags);

  // The queued datagrams [begin, end): one GSO send (a run: one address, one size but a
  // shorter last one), or one sendmmsg. Each returns how many were dropped.
  size_t send_gso(size_t begin, size_t end);
  size_t send_each(size_t begin, size_t end);
  // Where the GSO run that starts at `begin` ends (begin + 1: no run).
  size_t gso_run_end(size_t begin) const;

  EventLoop& loop_;
  Events& events_;
  UvHandle<uv_udp_t> udp_;
  int family_ = 0;

  struct Queued {
    size_t offset, size;
    sockaddr_storage to;
    socklen_t to_len;
  };
  static constexpr size_t kMaxBatch = 64;
  std::vector<uint8_t> out_bytes_;  // queued payloads, back to back (GSO sends them as one)
  std::vector<Queued> out_;
  bool scheduled_ = false;  // registered with the loop for an end-of-iteration flush
  bool gso_ = true;         // cleared if the kernel refuses UDP_SEGMENT here
  SocketProtector protector_;
};

}  // namespace udptun::runtime
