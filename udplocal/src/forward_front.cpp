#include "forward_front.hpp"

#include "client.hpp"

namespace udptun::udplocal {

ForwardFront::ForwardFront(Client& client, const ForwardRule& rule)
    : client_(client), rule_(rule), socket_(client.loop(), *this) {}

int ForwardFront::open() {
  sockaddr_storage ss;
  protocol::address_to_sockaddr(rule_.listen, &ss);
  return socket_.open(reinterpret_cast<sockaddr*>(&ss), kFrontSocketBuffer);
}

std::string ForwardFront::bound_name() const {
  sockaddr_storage ss;
  if (socket_.local_address(&ss) != 0) return "?";
  auto a = protocol::address_from_sockaddr(reinterpret_cast<sockaddr*>(&ss));
  return a ? protocol::format_address(*a) : "?";
}

void ForwardFront::on_datagram(protocol::ByteView payload, const struct sockaddr* from) {
  auto source = protocol::address_from_sockaddr(from);
  if (!source) return;
  if (!client_.config().allow_clients.permits(from)) {
    client_.stats().drops_not_allowed++;
    return;
  }
  client_.submit(this, *source, rule_.target, payload);
}

void ForwardFront::deliver(LocalFlow& flow, protocol::ByteView payload, const protocol::Address&) {
  sockaddr_storage to;
  protocol::address_to_sockaddr(flow.source, &to);
  socket_.queue(protocol::ByteView(), payload, reinterpret_cast<sockaddr*>(&to));
  client_.count_delivery(payload.size, 0);
}

void ForwardFront::on_send_dropped(size_t count) {
  client_.count_dropped_deliveries(count);
}

std::string ForwardFront::persistent_name() const {
  // An ephemeral port is another socket after a restart: nothing to restore.
  if (rule_.listen.port == 0) return {};
  return "forward:" + protocol::format_address(rule_.listen);
}

}  // namespace udptun::udplocal
