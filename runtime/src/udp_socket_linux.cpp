// Linux: batches leave in one syscall (sendmmsg), or in one UDP GSO send when they are
// the same size to the same address; a predecessor's sockets can be adopted (handover).
#include <netinet/udp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "udptun/runtime/event_loop.hpp"
#include "udptun/runtime/udp_socket.hpp"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef SOL_UDP
#define SOL_UDP 17
#endif

namespace udptun::runtime {

int UdpSocket::fd() const {
  uv_os_fd_t fd = -1;
  if (!udp_ || uv_fileno(udp_.base(), &fd) != 0) return -1;
  return fd;
}

int UdpSocket::adopt(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  int type = 0;
  socklen_t tlen = sizeof type;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0 ||
      getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) != 0 || type != SOCK_DGRAM ||
      (ss.ss_family != AF_INET && ss.ss_family != AF_INET6)) {
    ::close(fd);
    return UV_EINVAL;
  }
  family_ = ss.ss_family;
  // AF_UNSPEC: libuv makes no socket of its own, so it can take this one.
  int rc = udp_.init(this, [&](uv_udp_t* u) {
    return uv_udp_init_ex(loop_.get(), u, AF_UNSPEC | UV_UDP_RECVMMSG);
  });
  if (rc != 0) {
    ::close(fd);
    return rc;
  }
  rc = uv_udp_open(udp_.get(), fd);
  if (rc != 0) {
    ::close(fd);
    udp_.close();
    return rc;
  }
  rc = uv_udp_recv_start(udp_.get(), on_alloc, on_recv);
  if (rc != 0) udp_.close();  // closes fd with the handle
  return rc;
}

size_t UdpSocket::send_gso(size_t begin, size_t end) {
  // A run's payloads lie back to back in out_bytes_.
  const Queued& last = out_[end - 1];
  iovec iov{out_bytes_.data() + out_[begin].offset, last.offset + last.size - out_[begin].offset};
  msghdr msg{};
  msg.msg_name = &out_[begin].to;
  msg.msg_namelen = out_[begin].to_len;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(uint16_t))] = {};
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  cmsghdr* cm = CMSG_FIRSTHDR(&msg);
  cm->cmsg_level = SOL_UDP;
  cm->cmsg_type = UDP_SEGMENT;
  cm->cmsg_len = CMSG_LEN(sizeof(uint16_t));
  uint16_t segment = static_cast<uint16_t>(out_[begin].size);
  std::memcpy(CMSG_DATA(cm), &segment, sizeof segment);
  ssize_t n = sendmsg(fd(), &msg, MSG_DONTWAIT);
  if (n >= 0) return 0;
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) return end - begin;
  // Not supported here (old kernel, a device without GSO): never try again on this socket.
  gso_ = false;
  return send_each(begin, end);
}

size_t UdpSocket::send_each(size_t begin, size_t end) {
  mmsghdr msgs[kMaxBatch];
  iovec iov[kMaxBatch];
  size_t n = end - begin;
  for (size_t i = 0; i < n; ++i) {
    Queued& q = out_[begin + i];
    iov[i] = {out_bytes_.data() + q.offset, q.size};
    msgs[i].msg_hdr = {};
    msgs[i].msg_hdr.msg_name = &q.to;
    msgs[i].msg_hdr.msg_namelen = q.to_len;
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
    msgs[i].msg_len = 0;
  }
  size_t done = 0, dropped = 0;
  const int fd = this->fd();
  while (done < n) {
    int r = sendmmsg(fd, msgs + done, static_cast<unsigned>(n - done), MSG_DONTWAIT);
    if (r > 0) {
      done += static_cast<size_t>(r);
    } else if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOBUFS) {
      ++dropped;  // this one failed for itself (e.g. unreachable): skip it, keep the rest
      ++done;
    } else {
      dropped += n - done;  // the socket buffer is full: the rest is dropped
      break;
    }
  }
  return dropped;
}

}  // namespace udptun::runtime
