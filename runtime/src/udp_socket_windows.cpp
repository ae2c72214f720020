// Windows: no sendmmsg or GSO, so a batch leaves one datagram per call (still at the end of
// the loop iteration); no descriptor passing, so nothing to hand over or adopt.
#include "udptun/runtime/udp_socket.hpp"

namespace udptun::runtime {

int UdpSocket::fd() const {
  return -1;
}

int UdpSocket::adopt(int) {
  return UV_ENOTSUP;
}

size_t UdpSocket::send_gso(size_t begin, size_t end) {
  return send_each(begin, end);
}

size_t UdpSocket::send_each(size_t begin, size_t end) {
  size_t dropped = 0;
  for (size_t i = begin; i < end; ++i) {
    const Queued& q = out_[i];
    uv_buf_t b = uv_buf_init(reinterpret_cast<char*>(out_bytes_.data() + q.offset),
                             static_cast<unsigned>(q.size));
    if (uv_udp_try_send(udp_.get(), &b, 1, reinterpret_cast<const sockaddr*>(&q.to)) < 0) ++dropped;
  }
  return dropped;
}

}  // namespace udptun::runtime
