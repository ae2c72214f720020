#include "in_process_front.hpp"

#include <cerrno>

#include "client.hpp"

namespace udptun::udplocal {

using protocol::Address;
using protocol::ByteView;

InProcessFront::InProcessFront(Client& client) : client_(client) {}

InProcessFront::~InProcessFront() {
  close();
  client_.close_flows_of(this);
}

int InProcessFront::open() {
  loop_thread_ = uv_thread_self();
  return inbox_.open(client_.loop(), [this](runtime::DatagramBatch& batch) {
    batch.for_each([this](const sockaddr* src, const sockaddr* dst, ByteView payload) {
      auto source = protocol::address_from_sockaddr(src);
      auto target = protocol::address_from_sockaddr(dst);
      if (source && target) client_.submit(this, *source, *target, payload);
    });
  });
}

void InProcessFront::close() {
  closed_ = true;
  inbox_.close();
}

int InProcessFront::submit(const struct sockaddr* src, const struct sockaddr* dst,
                           const uint8_t* data, size_t len) {
  if (!src || !dst || (!data && len) || len > protocol::kMaxDatagram) return -EINVAL;
  uv_thread_t self = uv_thread_self();
  if (uv_thread_equal(&self, &loop_thread_)) {
    auto source = protocol::address_from_sockaddr(src);
    auto target = protocol::address_from_sockaddr(dst);
    if (!source || !target) return -EINVAL;
    if (closed_) return -EPIPE;
    client_.submit(this, *source, *target, ByteView(data, len));
    return 0;
  }
  return inbox_.post([&](runtime::DatagramBatch& pending) {
    if (pending.size() >= kMaxQueuedDatagrams || pending.byte_count() + len > kMaxQueuedBytes)
      return -EAGAIN;
    return pending.push(src, dst, data, len) ? 0 : -EINVAL;  // not IPv4/IPv6
  });
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

}  // namespace udptun::udplocal
