#include "packet_device.hpp"

#include <cerrno>
#include <cstring>

namespace udptun::t2s {

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
