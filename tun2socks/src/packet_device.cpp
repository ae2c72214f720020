#include "packet_device.hpp"

#include <cerrno>
#include <cstring>

namespace udptun::tun2socks {

CallbackDevice::CallbackDevice(runtime::EventLoop& loop, Output output)
    : loop_(loop), output_(std::move(output)) {}

CallbackDevice::~CallbackDevice() {
  stop();
}

Status CallbackDevice::start(Receiver receiver) {
  receiver_ = std::move(receiver);
  int rc = inbox_.open(loop_, [this](Packets& packets) {
    for (const auto& p : packets) receiver_(p.data(), p.size());
  });
  if (rc != 0)
    return Status::failure(std::string("cannot set up the packet interface: ") + uv_strerror(rc),
                           rc);
  return Status::success();
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
  return inbox_.post([&](Packets& pending) {
    if (pending.size() >= kMaxQueued) return -EAGAIN;
    pending.emplace_back(packet, packet + len);
    return 0;
  });
}

void CallbackDevice::stop() {
  inbox_.close();
}

}  // namespace udptun::tun2socks
