// A plain UDP port forward (the udptunnel use): every datagram arriving on `listen` goes to
// one fixed target through the tunnel; replies go back to the sender from the same port.
#pragma once

#include "client_config.hpp"
#include "flow_table.hpp"
#include "udptun/runtime/udp_socket.hpp"

namespace udptun::udplocal {

class Client;

class ForwardFront : public runtime::UdpSocket::Events, public FlowOrigin {
 public:
  static constexpr int kFrontSocketBuffer = 4 << 20;
  ForwardFront(Client& client, const ForwardRule& rule);
  int open();
  std::string bound_name() const;

  void deliver(LocalFlow& flow, protocol::ByteView payload,
               const protocol::Address& source) override;
  std::string persistent_name() const override;

 private:
  void on_datagram(protocol::ByteView payload, const struct sockaddr* from) override;
  void on_send_dropped(size_t count) override;

  Client& client_;
  ForwardRule rule_;
  runtime::UdpSocket socket_;
};

}  // namespace udptun::udplocal
