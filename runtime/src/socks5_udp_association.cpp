#include "udptun/runtime/socks5_udp_association.hpp"

#include <algorithm>
#include <cstring>

#include "udptun/protocol/socks5.hpp"
#include "udptun/runtime/event_loop.hpp"

namespace udptun::runtime {

using protocol::Address;
using protocol::ByteView;
namespace socks5 = protocol::socks5;

Socks5UdpAssociation::Socks5UdpAssociation(EventLoop& loop, Events& events, const Address& server,
                                           std::string username, std::string password)
    : events_(events),
      server_(server),
      username_(std::move(username)),
      password_(std::move(password)),
      control_(loop, *this, 64 * 1024),
      relay_socket_(loop, *this),
      loop_(loop) {}

Socks5UdpAssociation::~Socks5UdpAssociation() {
  close();
}

bool Socks5UdpAssociation::start() {
  sockaddr_storage ss;
  if (protocol::address_to_sockaddr(server_, &ss) == 0) return false;
  return control_.connect(reinterpret_cast<sockaddr*>(&ss)) == 0;
}

void Socks5UdpAssociation::send(const Address& dst, ByteView payload) {
  if (!ready_) return;
  uint8_t header[socks5::kMaxUdpHeader];
  size_t n = socks5::encode_udp_header(dst, header);
  relay_socket_.queue(ByteView(header, n), payload, reinterpret_cast<sockaddr*>(&relay_));
}

void Socks5UdpAssociation::close() {
  ready_ = false;
  control_.close();
  relay_socket_.close();
}

void Socks5UdpAssociation::on_stream_connected(int status) {
  if (status != 0) return fail("cannot reach the SOCKS5 server");
  control_.start_reading();
  uint8_t any[4] = {0, 0, 0, 0};
  handshake_ = std::make_unique<socks5::ClientHandshake>(
      socks5::Command::udp_associate, Address::ipv4(any, 0), username_, password_);
  auto greeting = handshake_->start();
  control_.write(ByteView(greeting), true);
}

void Socks5UdpAssociation::on_stream_data(ByteView data) {
  if (!handshake_) return;  // after the reply, the control connection only keeps us alive
  inbox_.insert(inbox_.end(), data.data, data.data + data.size);
  std::vector<uint8_t> out;
  size_t consumed = 0;
  auto st = handshake_->feed(ByteView(inbox_), out, consumed);
  if (!out.empty()) control_.write(ByteView(out), true);
  inbox_.erase(inbox_.begin(), inbox_.begin() + static_cast<long>(consumed));
  if (st == socks5::ClientHandshake::Status::need_more) return;
  if (st == socks5::ClientHandshake::Status::failed) return fail(handshake_->error());
  Address bound = handshake_->reply().bound;
  handshake_.reset();
  inbox_.clear();
  if (!bound.is_ip()) return fail("the relay's address is a name");
  // An unspecified relay address means "the server's own address" (RFC 1928 practice).
  bool unspecified = std::all_of(
      bound.ip.begin(), bound.ip.begin() + (bound.type == protocol::AddressType::ipv4 ? 4 : 16),
      [](uint8_t b) { return b == 0; });
  if (unspecified) {
    uint16_t port = bound.port;
    bound = server_;
    bound.port = port;
  }
  protocol::address_to_sockaddr(bound, &relay_);
  // Bound to the address we reach the SOCKS5 server from (not the wildcard), and below only
  // the relay's datagrams are taken: anyone else who finds the port cannot pose as a reply.
  sockaddr_storage local{};
  local.ss_family = relay_.ss_family;
  auto ours = control_.local_address();
  if (ours && ours->type == bound.type) {
    protocol::Address at = *ours;
    at.port = 0;
    protocol::address_to_sockaddr(at, &local);
  }
  if (relay_socket_.open(reinterpret_cast<sockaddr*>(&local)) != 0)
    return fail("cannot open a UDP socket");
  ready_ = true;
  events_.on_association_ready();
}

void Socks5UdpAssociation::on_stream_closed(const char* reason) {
  fail(reason);
}

void Socks5UdpAssociation::on_datagram(ByteView payload, const struct sockaddr* from) {
  if (!protocol::same_endpoint(from, reinterpret_cast<const sockaddr*>(&relay_))) {
    events_.on_association_foreign();
    return;
  }
  auto h = socks5::decode_udp_header(payload);
  if (!h.ok() || !h.value.address.is_ip()) {
    events_.on_association_garbage();
    return;
  }
  if (h.value.fragment == 0 && !reassembler_) {
    events_.on_association_datagram(h.value.address, h.value.payload);
    return;
  }
  if (!reassembler_) {
    socks5::ReassemblyCounters* counters = events_.reassembly_counters();
    // The timer is lazy (checked at each fragment): a stale sequence holds at most one
    // datagram's bytes until the next fragment or the association's end.
    reassembler_ = std::make_unique<socks5::Reassembler>(protocol::kMaxDatagram,
                                                         socks5::Reassembler::kMinTimeoutMs,
                                                         counters ? *counters : uncounted_);
  }
  auto whole = reassembler_->add(h.value, loop_.now_ms());
  if (whole.complete) events_.on_association_datagram(whole.address, whole.payload);
}

void Socks5UdpAssociation::fail(const char* why) {
  if (failed_) return;
  failed_ = true;
  close();
  events_.on_association_failed(why);
}

}  // namespace udptun::runtime
