// One SOCKS5 control connection to udp-local's front: method negotiation, optional
// username/password, then one request. UDP ASSOCIATE gets a UdpAssociation that lives as
// long as this connection; CONNECT is relayed to the upstream SOCKS5 server when one is
// configured (refused with 0x07 otherwise); BIND is refused with 0x07.
#pragma once

#include <memory>
#include <vector>

#include "udp_association.hpp"
#include "udptun/protocol/socks5.hpp"
#include "udptun/protocol/socks5_client.hpp"
#include "udptun/runtime/tcp_stream.hpp"

namespace udptun::udplocal {

class Client;
class Socks5Front;

class Socks5Session : public runtime::TcpStream::Events {
 public:
  Socks5Session(Socks5Front& front, uint64_t serial);
  ~Socks5Session() override;
  int accept(uv_stream_t* listener);
  std::optional<protocol::Address> peer_address() const { return stream_.peer_address(); }
  const char* tag() const { return tag_; }
  uint64_t created_ms() const { return created_ms_; }
  bool idle_in_negotiation(uint64_t now_ms, uint64_t limit_ms) const;
  // The SOCKS5 UDP reassembly timer.
  void expire_fragments(uint64_t now_ms);

 private:
  enum class Stage { greeting, auth, request, upstream, associated, relaying, done };

  // The client's stream.
  void on_stream_data(protocol::ByteView data) override;
  void on_stream_closed(const char* reason) override;
  void on_stream_drained() override;

  void negotiate();
  void reply(protocol::socks5::Reply code, const protocol::Address* bound);
  void refuse(protocol::socks5::Reply code, const char* why);
  void associate(const protocol::socks5::Request& req);
  void connect_upstream(const protocol::socks5::Request& req);
  void finish(const char* why);

  // The upstream SOCKS5 server's stream (CONNECT relay).
  class Upstream;
  friend class Upstream;
  void upstream_connected(int status);
  void upstream_data(protocol::ByteView data);
  void upstream_closed(const char* reason);
  void upstream_drained();

  Socks5Front& front_;
  Client& client_;
  runtime::TcpStream stream_;
  Stage stage_ = Stage::greeting;
  std::vector<uint8_t> inbox_;
  std::unique_ptr<UdpAssociation> association_;
  std::unique_ptr<Upstream> upstream_events_;
  std::unique_ptr<runtime::TcpStream> upstream_;
  std::unique_ptr<protocol::socks5::ClientHandshake> upstream_handshake_;
  std::vector<uint8_t> upstream_inbox_;
  uint64_t created_ms_;
  char tag_[24];
};

}  // namespace udptun::udplocal
