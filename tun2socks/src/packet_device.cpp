#include "packet_device.hpp"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace udptun::t2s {

TunDevice::TunDevice(runtime::EventLoop& loop, std::string name, int fd, unsigned mtu)
    : loop_(loop), name_(std::move(name)), fd_(fd), owns_fd_(fd < 0), mtu_(mtu) {}

TunDevice::~TunDevice() {
  stop();
}

int TunDevice::start(Receiver receiver, std::string& error) {
  receiver_ = std::move(receiver);
  if (fd_ < 0) {
    fd_ = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (fd_ < 0) {
      error = std::string("cannot open /dev/net/tun: ") + std::strerror(errno);
      return -errno;
    }
    ifreq ifr{};
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
    std::strncpy(ifr.ifr_name, name_.c_str(), IFNAMSIZ - 1);
    if (ioctl(fd_, TUNSETIFF, &ifr) < 0) {
      int e = errno;
      error = "cannot create TUN device " + name_ + ": " + std::strerror(e);
      close(fd_);
      fd_ = -1;
      return -e;
    }
    name_ = ifr.ifr_name;
  } else if (name_.empty()) {
    name_ = "fd:" + std::to_string(fd_);
  }
  int flags = fcntl(fd_, F_GETFL);
  fcntl(fd_, F_SETFL, flags | O_NONBLOCK);
  buffer_.resize(mtu_ + 64 > 65536 ? mtu_ + 64 : 65536);
  int rc = poll_.init(this, [&](uv_poll_t* p) { return uv_poll_init(loop_.get(), p, fd_); });
  if (rc == 0) rc = uv_poll_start(poll_.get(), UV_READABLE, on_readable);
  if (rc != 0) error = std::string("cannot watch the TUN device: ") + uv_strerror(rc);
  return rc;
}

void TunDevice::on_readable(uv_poll_t* p, int status, int) {
  auto* self = static_cast<TunDevice*>(p->data);
  if (!self || status < 0) return;
  // Bounded per wake-up, so the rest of the loop (sockets, timers) gets its turn.
  for (int i = 0; i < 256; ++i) {
    ssize_t n = read(self->fd_, self->buffer_.data(), self->buffer_.size());
    if (n <= 0) return;
    self->receiver_(self->buffer_.data(), static_cast<size_t>(n));
  }
}

bool TunDevice::send(const struct iovec* iov, int iovcnt) {
  if (fd_ < 0) return false;
  return writev(fd_, iov, iovcnt) > 0;
}

void TunDevice::stop() {
  poll_.close();
  if (owns_fd_ && fd_ >= 0) close(fd_);
  fd_ = -1;
}

CallbackDevice::CallbackDevice(runtime::EventLoop& loop, Output output)
    : loop_(loop), output_(std::move(output)) {}

CallbackDevice::~CallbackDevice() {
  stop();
}

int CallbackDevice::start(Receiver receiver, std::string& error) {
  receiver_ = std::move(receiver);
  int rc = wake_.init(this, [&](uv_async_t* a) { return uv_async_init(loop_.get(), a, on_wake); });
  if (rc != 0) {
    error = std::string("cannot set up the packet interface: ") + uv_strerror(rc);
    return rc;
  }
  std::lock_guard<std::mutex> lock(mutex_);
  open_ = true;
  return 0;
}

bool CallbackDevice::send(const struct iovec* iov, int iovcnt) {
  if (!output_) return false;
  if (iovcnt == 1) {
    output_(static_cast<const uint8_t*>(iov[0].iov_base), iov[0].iov_len);
    return true;
  }
  flat_.clear();
  for (int i = 0; i < iovcnt; ++i) {
    auto* b = static_cast<const uint8_t*>(iov[i].iov_base);
    flat_.insert(flat_.end(), b, b + iov[i].iov_len);
  }
  output_(flat_.data(), flat_.size());
  return true;
}

int CallbackDevice::push(const uint8_t* packet, size_t len) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!open_) return -EPIPE;
  if (inbox_.size() >= kMaxQueued) return -EAGAIN;
  bool was_empty = inbox_.empty();
  inbox_.emplace_back(packet, packet + len);
  if (was_empty) uv_async_send(wake_.get());
  return 0;
}

void CallbackDevice::on_wake(uv_async_t* a) {
  auto* self = static_cast<CallbackDevice*>(a->data);
  if (!self) return;
  std::vector<std::vector<uint8_t>> batch;
  {
    std::lock_guard<std::mutex> lock(self->mutex_);
    batch.swap(self->inbox_);
  }
  for (const auto& p : batch) self->receiver_(p.data(), p.size());
}

void CallbackDevice::stop() {
  std::lock_guard<std::mutex> lock(mutex_);
  open_ = false;
  inbox_.clear();
  wake_.close();
}

}  // namespace udptun::t2s
