#include "inproc_front.hpp"

#include <cerrno>

#include "client.hpp"

namespace udptun::local {

using protocol::Address;
using protocol::ByteView;

InProcessFront::InProcessFront(Client& client) : client_(client) {}

InProcessFront::~InProcessFront() {
  close();
  client_.close_flows_of(this);
}

int InProcessFront::open() {
  loop_thread_ = uv_thread_self();
  int rc = wake_.init(
      this, [&](uv_async_t* a) { return uv_async_init(client_.loop().get(), a, on_wake); });
  if (rc == 0) {
    std::lock_guard<std::mutex> lock(mutex_);
    open_ = true;
  }
  return rc;
}

void InProcessFront::close() {
  std::lock_guard<std::mutex> lock(mutex_);
  open_ = false;
  pending_.clear();
  pending_bytes_ = 0;
  wake_.close();  // under the lock: no submitter can be inside uv_async_send meanwhile
}

int InProcessFront::submit(const struct sockaddr* src, const struct sockaddr* dst,
                           const uint8_t* data, size_t len) {
  if (!src || !dst || (!data && len) || len > protocol::kMaxDatagram) return -EINVAL;
  auto source = protocol::address_from_sockaddr(src);
  auto target = protocol::address_from_sockaddr(dst);
  if (!source || !target) return -EINVAL;
  uv_thread_t self = uv_thread_self();
  if (uv_thread_equal(&self, &loop_thread_)) {
    if (!open_) return -EPIPE;
    client_.submit(this, *source, *target, ByteView(data, len));
    return 0;
  }
  std::lock_guard<std::mutex> lock(mutex_);
  if (!open_) return -EPIPE;
  if (pending_.size() >= kMaxQueuedDatagrams || pending_bytes_ + len > kMaxQueuedBytes)
    return -EAGAIN;
  bool was_empty = pending_.empty();
  pending_.push_back({*source, *target, std::vector<uint8_t>(data, data + len)});
  pending_bytes_ += len;
  if (was_empty) uv_async_send(wake_.get());
  return 0;
}

void InProcessFront::on_wake(uv_async_t* a) {
  if (auto* self = static_cast<InProcessFront*>(a->data)) self->drain();
}

void InProcessFront::drain() {
  std::vector<Pending> batch;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    batch.swap(pending_);
    pending_bytes_ = 0;
  }
  for (const Pending& p : batch) client_.submit(this, p.src, p.dst, ByteView(p.data));
}

void InProcessFront::deliver(LocalFlow& flow, ByteView payload, const Address& source) {
  sockaddr_storage from, to;
  unsigned from_len = protocol::address_to_sockaddr(source, &from);
  protocol::address_to_sockaddr(flow.source, &to);
  if (from_len == 0) {
    // A reply from a name-addressed target carries its IP; only a domain target with no
    // address given would land here, and the flow's target is then the best answer.
    client_.count_delivery(payload.size, -1);
    return;
  }
  client_.deliver_in_process(reinterpret_cast<sockaddr*>(&from), reinterpret_cast<sockaddr*>(&to),
                             payload);
}

}  // namespace udptun::local
