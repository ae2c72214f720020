#include "udptun/runtime/descriptor_passing.hpp"

#include <poll.h>
#include <unistd.h>
#include "udptun/protocol/socket_api.hpp"

#include <cerrno>
#include <chrono>
#include <cstring>

namespace udptun::runtime {

namespace {

// The kernel takes at most SCM_MAX_FD (253) descriptors per message.
constexpr size_t kFdsPerMessage = 200;

using Clock = std::chrono::steady_clock;

bool wait_for(int fd, short events, Clock::time_point deadline) {
  while (true) {
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return false;
    pollfd p{fd, events, 0};
    int rc = poll(&p, 1, static_cast<int>(left));
    if (rc > 0) return true;
    if (rc < 0 && errno != EINTR) return false;
  }
}

bool send_all(int fd, const void* data, size_t len, const int* fds, size_t nfds,
              Clock::time_point deadline) {
  const char* p = static_cast<const char*>(data);
  bool fds_sent = nfds == 0;
  while (len > 0) {
    if (!wait_for(fd, POLLOUT, deadline)) return false;
    iovec iov{const_cast<char*>(p), len};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kFdsPerMessage)];
    if (!fds_sent) {
      msg.msg_control = control;
      msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
      cmsghdr* c = CMSG_FIRSTHDR(&msg);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
      std::memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
    }
    ssize_t n = sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return false;
    }
    fds_sent = true;  // they ride with the first byte that left
    p += n;
    len -= static_cast<size_t>(n);
  }
  return true;
}

// Reads exactly len bytes, collecting any descriptors that ride along.
bool receive_all(int fd, void* data, size_t len, std::vector<int>& fds, size_t max_fds,
                 Clock::time_point deadline) {
  char* p = static_cast<char*>(data);
  while (len > 0) {
    if (!wait_for(fd, POLLIN, deadline)) return false;
    iovec iov{p, len};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kFdsPerMessage)];
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return false;
    }
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
      size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (size_t i = 0; i < count; ++i) {
        int got;
        std::memcpy(&got, CMSG_DATA(c) + i * sizeof(int), sizeof got);
        fds.push_back(got);  // closed by the caller's cleanup if over the limit
      }
    }
    if (n == 0 || (msg.msg_flags & MSG_CTRUNC) || fds.size() > max_fds) return false;
    p += n;
    len -= static_cast<size_t>(n);
  }
  return true;
}

void put32(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (24 - 8 * i));
}
uint32_t get32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) << 24 | static_cast<uint32_t>(p[1]) << 16 |
         static_cast<uint32_t>(p[2]) << 8 | p[3];
}

}  // namespace

Status send_package(int socket_fd, const std::string& body, const std::vector<int>& fds,
                    int timeout_ms) {
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  // Header: body length, descriptor count. Then the descriptors, a batch per one-byte
  // message; then the body.
  uint8_t header[8];
  put32(header, body.size());
  put32(header + 4, fds.size());
  if (body.size() > UINT32_MAX ||
      !send_all(socket_fd, header, sizeof header, nullptr, 0, deadline)) {
    return Status::failure(std::string("cannot send the handover header: ") + std::strerror(errno),
                           -errno);
  }
  for (size_t i = 0; i < fds.size(); i += kFdsPerMessage) {
    size_t n = std::min(kFdsPerMessage, fds.size() - i);
    uint8_t mark = 'F';
    if (!send_all(socket_fd, &mark, 1, fds.data() + i, n, deadline)) {
      return Status::failure(std::string("cannot send descriptors: ") + std::strerror(errno),
                             -errno);
    }
  }
  if (!send_all(socket_fd, body.data(), body.size(), nullptr, 0, deadline)) {
    return Status::failure(std::string("cannot send the handover record: ") + std::strerror(errno),
                           -errno);
  }
  return Status::success();
}

Status receive_package(int socket_fd, std::string& body, std::vector<int>& fds, size_t max_body,
                       size_t max_fds, int timeout_ms) {
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  fds.clear();
  auto fail = [&](const char* what) {
    int e = errno;
    for (int fd : fds) close(fd);
    fds.clear();
    return Status::failure(std::string(what) + (e ? std::string(": ") + std::strerror(e) : ""),
                           e ? -e : Status::kFailed);
  };
  errno = 0;
  uint8_t header[8];
  if (!receive_all(socket_fd, header, sizeof header, fds, 0, deadline))
    return fail("no handover header");
  size_t body_size = get32(header), fd_count = get32(header + 4);
  if (body_size > max_body || fd_count > max_fds) return fail("handover larger than allowed");
  for (size_t i = 0; i < fd_count; i += kFdsPerMessage) {
    uint8_t mark = 0;
    size_t before = fds.size();
    if (!receive_all(socket_fd, &mark, 1, fds, fd_count, deadline) || mark != 'F' ||
        fds.size() != before + std::min(kFdsPerMessage, fd_count - i))
      return fail("descriptors missing from the handover");
  }
  // Grown as it arrives: a peer that announces a large record and sends little costs little.
  body.clear();
  while (body.size() < body_size) {
    size_t at = body.size();
    size_t n = std::min<size_t>(body_size - at, 64 * 1024);
    body.resize(at + n);
    if (!receive_all(socket_fd, body.data() + at, n, fds, fd_count, deadline)) {
      body.clear();
      body.shrink_to_fit();
      return fail("handover record cut short");
    }
  }
  return Status::success();
}

}  // namespace udptun::runtime
