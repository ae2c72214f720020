// One SOCKS5 UDP ASSOCIATE: a UDP relay socket for one client. Datagrams from that client
// (and no one else) are unwrapped and tunnelled; replies are wrapped with their source.
// It lives exactly as long as the client's TCP control connection.
#pragma once

#include "flow_table.hpp"
#include "udptun/protocol/socks5_reassembly.hpp"
#include "udptun/runtime/token_bucket.hpp"
#include "udptun/runtime/udp_socket.hpp"

namespace udptun::udplocal {

class Client;

class UdpAssociation : public runtime::UdpSocket::Events, public FlowOrigin {
 public:
  // `client_ip` must match every datagram's source; `client_port` too unless it is 0 (the
  // client did not know it yet: the first datagram fixes it).
  UdpAssociation(Client& client, const protocol::Address& client_ip, uint16_t client_port);
  ~UdpAssociation() override;
  int open(const protocol::Address& bind_ip);
  bool bound(protocol::Address& out) const;
  // The reassembly timer (from the front's sweep).
  // true when a sequence was given up.
  bool expire_fragments(uint64_t now_ms) { return reassembler_.expire(now_ms); }

  void deliver(LocalFlow& flow, protocol::ByteView payload,
               const protocol::Address& source) override;

 private:
  void on_datagram(protocol::ByteView payload, const struct sockaddr* from) override;
  void on_send_dropped(size_t count) override;

  Client& owner_;
  protocol::Address peer_;  // the associated client's address (port 0 until known)
  runtime::UdpSocket socket_;
  protocol::socks5::Reassembler reassembler_;
  runtime::RateLimit up_, down_;
};

}  // namespace udptun::udplocal
