#include "udptun/runtime/udp_socket.hpp"

#include "udptun/runtime/event_loop.hpp"

namespace udptun::runtime {

UdpSocket::UdpSocket(EventLoop& loop, Events& events) : loop_(loop), events_(events) {}

int UdpSocket::open(const struct sockaddr* at, int buffer_bytes) {
  family_ = at->sa_family;
  int rc = udp_.init(this, [&](uv_udp_t* u) {
    return uv_udp_init_ex(loop_.get(), u, static_cast<unsigned>(family_) | UV_UDP_RECVMMSG);
  });
  if (rc != 0) return rc;
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
  if (!udp_) return UV_EBADF;
  uv_buf_t b = uv_buf_init(const_cast<char*>(reinterpret_cast<const char*>(payload.data)),
                           static_cast<unsigned>(payload.size));
  int rc = uv_udp_try_send(udp_.get(), &b, 1, to);
  return rc < 0 ? rc : 0;
}

int UdpSocket::send(protocol::ByteView header, protocol::ByteView payload,
                    const struct sockaddr* to) {
  if (!udp_) return UV_EBADF;
  uv_buf_t b[2] = {
      uv_buf_init(const_cast<char*>(reinterpret_cast<const char*>(header.data)),
                  static_cast<unsigned>(header.size)),
      uv_buf_init(const_cast<char*>(reinterpret_cast<const char*>(payload.data)),
                  static_cast<unsigned>(payload.size))};
  int rc = uv_udp_try_send(udp_.get(), b, 2, to);
  return rc < 0 ? rc : 0;
}

int UdpSocket::local_address(sockaddr_storage* out) const {
  if (!udp_) return UV_EBADF;
  int len = sizeof *out;
  return uv_udp_getsockname(udp_.get(), reinterpret_cast<sockaddr*>(out), &len);
}

}  // namespace udptun::runtime
