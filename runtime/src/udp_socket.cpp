#include "udptun/runtime/udp_socket.hpp"

#include "udptun/runtime/thread_check.hpp"

#include "udptun/protocol/socket_api.hpp"

#include <cerrno>
#include <cstring>

#include "udptun/runtime/event_loop.hpp"

namespace udptun::runtime {

UdpSocket::UdpSocket(EventLoop& loop, Events& events) : loop_(loop), events_(events) {}

int UdpSocket::open(const struct sockaddr* at, int buffer_bytes) {
  family_ = at->sa_family;
  int rc = udp_.init(this, [&](uv_udp_t* u) {
    return uv_udp_init_ex(loop_.get(), u, static_cast<unsigned>(family_) | UV_UDP_RECVMMSG);
  });
  if (rc != 0) return rc;
  rc = ask_protector(protector_, udp_.base());
  if (rc != 0) {
    udp_.close();
    return rc;
  }
  rc = uv_udp_bind(udp_.get(), at, 0);
  if (rc == 0 && buffer_bytes > 0) {
    int size = buffer_bytes;  // the kernel caps it at net.core.[rw]mem_max
    uv_recv_buffer_size(udp_.base(), &size);
    size = buffer_bytes;
    uv_send_buffer_size(udp_.base(), &size);
  }
  if (rc == 0) rc = uv_udp_recv_start(udp_.get(), on_alloc, on_recv);
  if (rc != 0) udp_.close();
  return rc;
}

void UdpSocket::on_alloc(uv_handle_t* h, size_t, uv_buf_t* buf) {
  *buf = static_cast<UdpSocket*>(h->data)->loop_.recv_buffer();
}

void UdpSocket::on_recv(uv_udp_t* u, ssize_t n, const uv_buf_t* buf, const struct sockaddr* from,
                        unsigned flags) {
  if (flags & UV_UDP_MMSG_FREE) return;  // the buffer is the loop's, nothing to free
  auto* self = static_cast<UdpSocket*>(u->data);
  if (!self || n < 0 || from == nullptr) return;  // errors on UDP receive are transient
  self->events_.on_datagram(
      protocol::ByteView(reinterpret_cast<const uint8_t*>(buf->base), static_cast<size_t>(n)),
      from);
}

int UdpSocket::send(protocol::ByteView payload, const struct sockaddr* to) {
  UDPTUN_ASSERT_LOOP_THREAD(loop_);
  if (!udp_) return UV_EBADF;
  uv_buf_t b = uv_buf_init(const_cast<char*>(reinterpret_cast<const char*>(payload.data)),
                           static_cast<unsigned>(payload.size));
  int rc = uv_udp_try_send(udp_.get(), &b, 1, to);
  return rc < 0 ? rc : 0;
}

int UdpSocket::send(protocol::ByteView header, protocol::ByteView payload,
                    const struct sockaddr* to) {
  if (!udp_) return UV_EBADF;
  uv_buf_t b[2] = {uv_buf_init(const_cast<char*>(reinterpret_cast<const char*>(header.data)),
                               static_cast<unsigned>(header.size)),
                   uv_buf_init(const_cast<char*>(reinterpret_cast<const char*>(payload.data)),
                               static_cast<unsigned>(payload.size))};
  int rc = uv_udp_try_send(udp_.get(), b, 2, to);
  return rc < 0 ? rc : 0;
}

UdpSocket::~UdpSocket() {
  close();
}

void UdpSocket::close() {
  UDPTUN_ASSERT_LOOP_THREAD(loop_);
  if (scheduled_) {
    loop_.cancel_flush(this);
    scheduled_ = false;
  }
  out_.clear();
  out_bytes_.clear();
  udp_.close();
}

void UdpSocket::queue(protocol::ByteView header, protocol::ByteView payload,
                      const struct sockaddr* to) {
  UDPTUN_ASSERT_LOOP_THREAD(loop_);
  if (!udp_) {
    events_.on_send_dropped(1);
    return;
  }
  if (out_.size() >= kMaxBatch) flush();
  Queued q;
  q.offset = out_bytes_.size();
  q.size = header.size + payload.size;
  q.to_len = to->sa_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
  std::memcpy(&q.to, to, q.to_len);
  out_bytes_.insert(out_bytes_.end(), header.data, header.data + header.size);
  out_bytes_.insert(out_bytes_.end(), payload.data, payload.data + payload.size);
  out_.push_back(q);
  if (!scheduled_) {
    scheduled_ = true;
    loop_.schedule_flush(this);
  }
}

size_t UdpSocket::flush() {
  scheduled_ = false;
  if (out_.empty()) return 0;
  // Runs of datagrams to one address and of one size leave as GSO sends (one skb each in the
  // kernel until the device splits it, instead of one route lookup and skb per datagram),
  // whatever lies between them in one sendmmsg. Order is kept.
  size_t dropped = 0;
  for (size_t begin = 0; begin < out_.size();) {
    size_t end = gso_run_end(begin);
    if (end - begin > 1) {
      dropped += send_gso(begin, end);
    } else {
      while (end < out_.size() && gso_run_end(end) == end + 1) ++end;
      dropped += send_each(begin, end);
    }
    begin = end;
  }
  out_.clear();
  // Keep a modest buffer for the next batch; give back what a burst of big datagrams took.
  if (out_bytes_.capacity() > (256u << 10)) {
    std::vector<uint8_t>().swap(out_bytes_);
  } else {
    out_bytes_.clear();
  }
  if (dropped) events_.on_send_dropped(dropped);
  return dropped;
}

size_t UdpSocket::gso_run_end(size_t begin) const {
  // The kernel's limits: 64 segments, 64 KiB in all; every segment the first one's size but
  // the last, which may be shorter.
  static constexpr size_t kMaxSegments = 64, kMaxBytes = 65000;
  if (!gso_) return begin + 1;
  const Queued& first = out_[begin];
  size_t end = begin + 1, bytes = first.size;
  while (end < out_.size() && end - begin < kMaxSegments) {
    const Queued& q = out_[end];
    if (q.to_len != first.to_len || std::memcmp(&q.to, &first.to, first.to_len) != 0 ||
        q.size > first.size || bytes + q.size > kMaxBytes)
      break;
    bytes += q.size;
    ++end;
    if (q.size < first.size) break;  // a shorter one ends the run
  }
  return end;
}

int UdpSocket::local_address(sockaddr_storage* out) const {
  if (!udp_) return UV_EBADF;
  int len = sizeof *out;
  return uv_udp_getsockname(udp_.get(), reinterpret_cast<sockaddr*>(out), &len);
}

}  // namespace udptun::runtime
