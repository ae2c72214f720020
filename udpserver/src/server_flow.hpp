// One flow on the server: one NAT mapping (RFC 4787) — one UDP socket, so every target the
// client's app source talks to sees the same source address and port — the target it was
// opened for, and its activity clock. Which senders may reach it is the server's filtering
// mode: anyone (endpoint-independent, full cone) or only endpoints it has sent to.
#pragma once

#include <uv.h>
#include "udptun/protocol/socket_api.hpp"

#include <cstdint>
#include <memory>
#include <vector>

#include "amplification_guard.hpp"
#include "tun2socks_egress.hpp"
#include "udptun/protocol/address.hpp"
#include "udptun/protocol/sequence_window.hpp"
#include "udptun/runtime/name_resolver.hpp"
#include "udptun/runtime/socks5_udp_association.hpp"
#include "udptun/runtime/udp_socket.hpp"

namespace udptun::udpserver {

class Session;

class ServerFlow : public runtime::UdpSocket::Events,
                   public runtime::Socks5UdpAssociation::Events,
                   public Tun2socksEgress::Receiver {
 public:
  ServerFlow(Session& session, uint32_t id, const protocol::Address& target);
  ~ServerFlow() override;
  ServerFlow(const ServerFlow&) = delete;
  ServerFlow& operator=(const ServerFlow&) = delete;

  // Resolves the target if it is a name, checks it against the policy and opens the socket;
  // the session hears the outcome through Session::flow_ready / flow_failed.
  void start();
  // Sends to the flow's target, or to `to` when given (an IP address).
  void send(protocol::ByteView payload, const protocol::Address* to);

  uint32_t id() const { return id_; }
  const protocol::Address& target() const { return target_; }
  // Only DNS so far (the first target and every other on port 53): the short idle timeout.
  bool is_dns() const { return dns_only_; }
  bool ready() const {
    return socket_.is_open() || (via_socks5_ && via_socks5_->ready()) || via_tun2socks_;
  }
  uint64_t last_active_ms() const { return last_active_ms_; }
  uint64_t created_ms() const { return created_ms_; }
  // A repeated OPEN_FLOW for this flow may be answered now (at most once a second).
  bool take_reopen_answer(uint64_t now_ms) {
    if (reopen_answered_ && now_ms - reopen_answered_ms_ < 1000) return false;
    reopen_answered_ = true;
    reopen_answered_ms_ = now_ms;
    return true;
  }
  // The server-side address targets see (valid once ready).
  bool bound_address(protocol::Address& out) const;
  // A flow a predecessor process handed over: its socket, and the address its target
  // resolved to. A failure (the descriptor closed) says why it cannot be used.
  Status adopt(int fd, const protocol::Address& target_ip, bool dns_only);
  // The socket to hand to a successor (-1: this flow cannot be handed over — its egress is
  // a SOCKS5 association or the tun2socks stack, or it is not ready).
  int handover_fd() const { return via_socks5_ || via_tun2socks_ ? -1 : socket_.fd(); }
  const protocol::Address& target_ip() const { return target_ip_; }
  // Which of the client's sequenced datagrams (sent on two connections) were delivered.
  protocol::SequenceWindow& copies() { return copies_; }

 private:
  void open_socket();
  void became_ready();
  void on_datagram(protocol::ByteView payload, const struct sockaddr* from) override;
  // The socks5 egress.
  void on_association_ready() override { became_ready(); }
  void on_association_datagram(const protocol::Address& source,
                               protocol::ByteView payload) override;
  // The tun2socks egress.
  void on_egress_datagram(const protocol::Address& source, protocol::ByteView payload) override {
    on_association_datagram(source, payload);
  }
  void on_association_failed(const char* why) override;
  void on_association_foreign() override;
  protocol::socks5::ReassemblyCounters* reassembly_counters() override;
  void on_association_send_dropped(size_t count) override { on_send_dropped(count); }
  void on_send_dropped(size_t count) override;
  // Filtering: remember where we sent; may `source` send to us?
  void note_contacted(const protocol::Address& to);
  bool permitted(const protocol::Address& source) const;
  void from_internet(protocol::ByteView payload, const protocol::Address& source);
  // Every reply goes through here: the amplification guard, then the session.
  void reply(protocol::ByteView payload, const protocol::Address* source);

  Session& session_;
  uint32_t id_;
  protocol::Address target_;
  sockaddr_storage target_sa_{};
  runtime::UdpSocket socket_;
  std::unique_ptr<runtime::Socks5UdpAssociation> via_socks5_;  // egress "socks5"
  protocol::Address target_ip_;                                // the target once resolved
  bool via_tun2socks_ = false;  // egress "tun2socks": packets from endpoint_
  protocol::Address endpoint_;
  bool ready_reported_ = false;
  uint64_t last_active_ms_ = 0;
  protocol::SequenceWindow copies_;
  uint64_t created_ms_ = 0;
  bool dns_only_ = false;
  AmplificationGuard guard_;
  // Endpoints sent to other than the target, for the dependent filtering modes: the most
  // recent kMaxContacted (a mapping talking to more peers forgets the oldest).
  std::vector<protocol::Address> contacted_;
  size_t contacted_next_ = 0;
  bool reopen_answered_ = false;
  uint64_t reopen_answered_ms_ = 0;
  runtime::NameResolver resolver_;  // a name target, until it resolved
  // Datagrams sent while resolving or associating: a few, within the session's budget.
  std::vector<std::vector<uint8_t>> waiting_;
  size_t waiting_bytes_ = 0;
};

}  // namespace udptun::udpserver
