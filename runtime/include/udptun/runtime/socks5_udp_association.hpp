// A SOCKS5 UDP ASSOCIATE (RFC 1928 §7) as a client: the control connection that keeps the
// association alive, the handshake, and the UDP socket whose datagrams carry the SOCKS5 UDP
// header to and from the relay the server named. Used by tun2socks (UDP from the TUN to
// ss-local) and by udp-server's socks5 egress.
#pragma once

#include "udptun/protocol/socket_api.hpp"

#include <memory>
#include <string>
#include <vector>

#include "udptun/protocol/address.hpp"
#include "udptun/protocol/frame.hpp"
#include "udptun/protocol/socks5_client.hpp"
#include "udptun/protocol/socks5_reassembly.hpp"
#include "udptun/runtime/tcp_stream.hpp"
#include "udptun/runtime/udp_socket.hpp"

namespace udptun::runtime {

class EventLoop;

class Socks5UdpAssociation : TcpStream::Events, UdpSocket::Events {
 public:
  class Events {
   public:
    virtual ~Events() = default;
    // The relay is known and the socket open: send() works from now on.
    virtual void on_association_ready() = 0;
    // A datagram from the relay, from `source` (the header's address). Must not close the
    // association from inside (defer it).
    virtual void on_association_datagram(const protocol::Address& source,
                                         protocol::ByteView payload) = 0;
    // It could not be made, or the control connection ended: it is closed already. May
    // destroy the association.
    virtual void on_association_failed(const char* why) = 0;
    // Datagrams the kernel refused at the end-of-iteration flush.
    virtual void on_association_send_dropped(size_t count) { (void)count; }
    // A datagram from the relay that was not a well-formed one.
    virtual void on_association_garbage() {}
    // Where fragmented replies are counted (RFC 1928 §7: reassembled within 5 s, at most one
    // maximal datagram held); nullptr: not counted.
    virtual protocol::socks5::ReassemblyCounters* reassembly_counters() { return nullptr; }
    // A datagram from anyone but the relay (BND.ADDR:BND.PORT): dropped, never delivered.
    virtual void on_association_foreign() {}
  };

  Socks5UdpAssociation(EventLoop& loop, Events& events, const protocol::Address& server,
                       std::string username = {}, std::string password = {});
  ~Socks5UdpAssociation() override;
  Socks5UdpAssociation(const Socks5UdpAssociation&) = delete;
  Socks5UdpAssociation& operator=(const Socks5UdpAssociation&) = delete;

  // Connects the control connection; the rest follows through Events. false: it cannot even
  // try (on_association_failed is not called then).
  // Before start: the control connection and the relay socket go through it (Android).
  void set_protector(const SocketProtector& protector) {
    control_.set_protector(protector);
    relay_socket_.set_protector(protector);
  }
  bool start();
  bool ready() const { return ready_; }
  // Queues a datagram for `dst` through the relay (only when ready).
  void send(const protocol::Address& dst, protocol::ByteView payload);
  // The UDP socket's own address (what the relay sees), once ready.
  int local_address(sockaddr_storage* out) const { return relay_socket_.local_address(out); }
  void close();

 private:
  void on_stream_connected(int status) override;
  void on_stream_data(protocol::ByteView data) override;
  void on_stream_closed(const char* reason) override;
  void on_datagram(protocol::ByteView payload, const struct sockaddr* from) override;
  void on_send_dropped(size_t count) override { events_.on_association_send_dropped(count); }
  void fail(const char* why);

  Events& events_;
  protocol::Address server_;
  std::string username_, password_;
  TcpStream control_;
  UdpSocket relay_socket_;
  std::unique_ptr<protocol::socks5::ClientHandshake> handshake_;
  std::vector<uint8_t> inbox_;
  sockaddr_storage relay_{};
  // Made at the first fragment: most relays never fragment.
  std::unique_ptr<protocol::socks5::Reassembler> reassembler_;
  protocol::socks5::ReassemblyCounters uncounted_;
  EventLoop& loop_;
  bool ready_ = false, failed_ = false;
};

}  // namespace udptun::runtime
