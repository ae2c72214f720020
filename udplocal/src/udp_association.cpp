#include "udp_association.hpp"

#include <cstring>

#include "client.hpp"
#include "udptun/protocol/socks5.hpp"

namespace udptun::udplocal {

using protocol::Address;
using protocol::ByteView;

UdpAssociation::UdpAssociation(Client& owner, const Address& client_ip, uint16_t client_port)
    : owner_(owner),
      peer_(client_ip),
      socket_(owner.loop(), *this),
      reassembler_(owner.config().socks5_reassembly_max_bytes,
                   owner.config().socks5_reassembly_timeout_ms, owner.reassembly(),
                   &owner.reassembly_budget()),
      up_(owner.config().socks5_packets_per_second, owner.config().socks5_bytes_per_second),
      down_(up_) {
  peer_.port = client_port;
}

UdpAssociation::~UdpAssociation() {
  socket_.close();
  owner_.close_flows_of(this);
}

int UdpAssociation::open(const Address& bind_ip) {
  Address at = bind_ip;
  at.port = 0;
  sockaddr_storage ss;
  protocol::address_to_sockaddr(at, &ss);
  // 256 KiB: a few hundred datagrams of slack per association, however many there are.
  return socket_.open(reinterpret_cast<sockaddr*>(&ss), 256 << 10);
}

bool UdpAssociation::bound(Address& out) const {
  sockaddr_storage ss;
  if (socket_.local_address(&ss) != 0) return false;
  auto a = protocol::address_from_sockaddr(reinterpret_cast<sockaddr*>(&ss));
  if (!a) return false;
  out = *a;
  return true;
}

void UdpAssociation::on_datagram(ByteView payload, const struct sockaddr* from) {
  udplocal_stats& st = owner_.stats();
  auto source = protocol::address_from_sockaddr(from);
  if (!source) return;
  // Only the associated client may use this relay (RFC 1928 §7).
  Address expected = peer_;
  if (expected.port == 0) expected.port = source->port;  // port not known yet: IP must match
  if (*source != expected) {
    st.drops_socks5_foreign++;
    return;
  }
  auto header = protocol::socks5::decode_udp_header(payload);
  if (!header.ok()) {
    st.drops_socks5_malformed++;
    return;
  }
  if (peer_.port == 0) peer_.port = source->port;
  // Each fragment is a datagram the client sent: the limits apply before anything is held.
  if (!up_.admit(header.value.payload.size, owner_.loop().now_ms())) {
    st.drops_rate_limited++;
    return;
  }
  auto whole = reassembler_.add(header.value, owner_.loop().now_ms());
  if (!whole.complete) return;  // a fragment, held (or dropped, counted)
  owner_.submit(this, *source, whole.address, whole.payload);
  reassembler_.release();
}

void UdpAssociation::deliver(LocalFlow& flow, ByteView payload, const Address& source) {
  if (!down_.admit(payload.size, owner_.loop().now_ms())) {
    owner_.stats().drops_rate_limited++;
    return;
  }
  uint8_t header[protocol::socks5::kMaxUdpHeader];
  size_t n = protocol::socks5::encode_udp_header(source, header);
  sockaddr_storage to;
  protocol::address_to_sockaddr(flow.source, &to);
  socket_.queue(ByteView(header, n), payload, reinterpret_cast<sockaddr*>(&to));
  owner_.count_delivery(payload.size, 0);
}

void UdpAssociation::on_send_dropped(size_t count) {
  owner_.count_dropped_deliveries(count);
}

}  // namespace udptun::udplocal
