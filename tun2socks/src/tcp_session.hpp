// One TCP connection from the TUN, relayed through a SOCKS5 CONNECT. Flow control both ways:
// lwIP's window reopens (t2s_tcp_recved) only once the SOCKS socket took the bytes, and the
// SOCKS socket is not read while lwIP's send buffer is full. Half-closes pass through.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "lwip_glue.h"
#include "udptun/protocol/address.hpp"
#include "udptun/protocol/socks5_client.hpp"
#include "udptun/runtime/tcp_stream.hpp"

namespace udptun::tun2socks {

class Engine;

class TcpSession : public runtime::TcpStream::Events {
 public:
  TcpSession(Engine& engine, t2s_tcp* conn, const protocol::Address& destination, uint64_t serial);
  ~TcpSession() override;
  // Starts the SOCKS5 CONNECT. false when it failed at once (protect_socket refused the
  // socket, no route): the session is finished without touching the lwIP connection, which
  // the caller (inside lwIP's accept) refuses — closing it from there would break lwIP.
  bool start();
  uint64_t created_ms() const { return created_ms_; }
  bool connecting() const { return stage_ != Stage::relaying && stage_ != Stage::done; }
  // The engine shuts everything: RST toward the TUN side, close the SOCKS side.
  void abort(const char* why);

  // lwIP side (called from lwip_glue callbacks).
  void tun_data(const uint8_t* data, size_t len);
  void tun_sent(size_t len);
  void tun_gone(const char* why);
  // The engine's end-of-iteration pass for this session (see tun_data).
  void on_deferred();

 private:
  enum class Stage { connecting, negotiating, relaying, done };
  void on_stream_connected(int status) override;
  void on_stream_data(protocol::ByteView data) override;
  void on_stream_closed(const char* reason) override;
  void on_stream_drained() override;
  void pump_to_tun();
  void maybe_finish();
  void finish(const char* why, bool reset_tun);

  Engine& engine_;
  t2s_tcp* conn_;  // null once lwIP's side is gone or closed
  protocol::Address destination_;
  runtime::TcpStream socks_;
  std::unique_ptr<protocol::socks5::ClientHandshake> handshake_;
  std::vector<uint8_t> inbox_;   // SOCKS negotiation bytes
  std::vector<uint8_t> early_;   // from the TUN before the CONNECT succeeded
  std::vector<uint8_t> to_tun_;  // from SOCKS, waiting for lwIP send space
  size_t to_tun_done_ = 0;       // how much of to_tun_ lwIP has taken
  size_t unacked_to_socks_ = 0;  // bytes from the TUN written to SOCKS, window not reopened yet
  bool tun_fin_ = false, socks_fin_ = false, tun_fin_sent_ = false;
  Stage stage_ = Stage::connecting;
  uint64_t bytes_up_ = 0, bytes_down_ = 0;
  const char* deferred_failure_ = nullptr;
  uint64_t created_ms_;
  char tag_[24];
};

}  // namespace udptun::tun2socks
