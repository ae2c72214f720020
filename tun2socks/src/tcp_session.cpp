#include "tcp_session.hpp"

#include <cstdio>

#include "engine.hpp"

namespace udptun::tun2socks {

using protocol::ByteView;
namespace socks5 = protocol::socks5;

namespace {
// Bytes from the TUN held for the SOCKS socket before lwIP's window closes on the sender:
// lwIP's own window (TCP_WND) bounds it; this bounds the SOCKS-side queue refusal point.
constexpr size_t kSocksQueueCap = 8u << 20;
}  // namespace

TcpSession::TcpSession(Engine& engine, t2s_tcp* conn, const protocol::Address& destination,
                       uint64_t serial)
    : engine_(engine),
      conn_(conn),
      destination_(destination),
      socks_(engine.loop(), *this, kSocksQueueCap),
      created_ms_(engine.loop().now_ms()) {
  std::snprintf(tag_, sizeof tag_, "tcp=%llu", static_cast<unsigned long long>(serial));
  t2s_tcp_callbacks cb{};
  cb.recv = [](void* u, const uint8_t* d, size_t n) {
    static_cast<TcpSession*>(u)->tun_data(d, n);
  };
  cb.sent = [](void* u, size_t n) { static_cast<TcpSession*>(u)->tun_sent(n); };
  cb.gone = [](void* u, const char* why) { static_cast<TcpSession*>(u)->tun_gone(why); };
  t2s_tcp_set_callbacks(conn_, &cb, this);
}

TcpSession::~TcpSession() {
  if (conn_) t2s_tcp_close(conn_, 1);
  socks_.close();
}

bool TcpSession::start() {
  sockaddr_storage ss;
  protocol::address_to_sockaddr(engine_.config().socks5, &ss);
  if (auto protector = engine_.protector()) socks_.set_protector(protector);
  int rc = socks_.connect(reinterpret_cast<sockaddr*>(&ss));
  if (rc == 0) return true;
  conn_ = nullptr;  // lwIP's, refused by our caller
  finish(rc == runtime::kSocketRefused ? "protect_socket refused the socket" : uv_strerror(rc),
         false);
  return false;
}

void TcpSession::abort(const char* why) {
  finish(why, true);
}

void TcpSession::on_stream_connected(int status) {
  if (status != 0) {
    engine_.stats().tcp_refused++;
    finish(uv_strerror(status), true);
    return;
  }
  socks_.start_reading();
  stage_ = Stage::negotiating;
  const auto& cfg = engine_.config();
  handshake_ = std::make_unique<socks5::ClientHandshake>(socks5::Command::connect, destination_,
                                                         cfg.socks5_username, cfg.socks5_password);
  auto greeting = handshake_->start();
  socks_.write(ByteView(greeting), true);
}

void TcpSession::on_stream_data(ByteView data) {
  if (stage_ == Stage::negotiating) {
    inbox_.insert(inbox_.end(), data.data, data.data + data.size);
    std::vector<uint8_t> out;
    size_t consumed = 0;
    auto st = handshake_->feed(ByteView(inbox_), out, consumed);
    if (!out.empty()) socks_.write(ByteView(out), true);
    inbox_.erase(inbox_.begin(), inbox_.begin() + static_cast<long>(consumed));
    if (st == socks5::ClientHandshake::Status::need_more) return;
    if (st == socks5::ClientHandshake::Status::failed) {
      engine_.stats().tcp_refused++;
      LOG_INFO(engine_.log(), tag_, "SOCKS5 CONNECT to %s failed: %s",
               protocol::format_address(destination_).c_str(), handshake_->error());
      finish("SOCKS5 refused", true);
      return;
    }
    stage_ = Stage::relaying;
    handshake_.reset();
    LOG_DEBUG(engine_.log(), tag_, "connected to %s",
              protocol::format_address(destination_).c_str());
    // Whatever followed the reply is already the destination's.
    std::vector<uint8_t> rest = std::move(inbox_);
    inbox_.clear();
    if (!rest.empty()) to_tun_.insert(to_tun_.end(), rest.begin(), rest.end());
    if (!early_.empty()) {
      socks_.write(ByteView(early_), true);
      std::vector<uint8_t>().swap(early_);
    }
    if (tun_fin_ && unacked_to_socks_ == 0) socks_.shutdown_write();
    pump_to_tun();
    return;
  }
  if (stage_ != Stage::relaying) return;
  engine_.stats().tcp_bytes_down += data.size;
  to_tun_.insert(to_tun_.end(), data.data, data.data + data.size);
  pump_to_tun();
}

// Moves SOCKS-side bytes into lwIP as far as its send buffer allows; reading from SOCKS
// pauses while anything is left over and resumes when lwIP reports space (tun_sent).
void TcpSession::pump_to_tun() {
  if (!conn_) return;
  if (to_tun_done_ < to_tun_.size()) {
    long n = t2s_tcp_write(conn_, to_tun_.data() + to_tun_done_, to_tun_.size() - to_tun_done_);
    if (n > 0) {
      // An offset, not an erase: lwIP takes at most 64 KiB at a time and the buffer may
      // hold a megabyte; moving the rest down after every write would copy it again and again.
      to_tun_done_ += static_cast<size_t>(n);
      bytes_down_ += static_cast<uint64_t>(n);
    }
    if (to_tun_done_ == to_tun_.size()) {
      to_tun_.clear();
      to_tun_done_ = 0;
    }
  }
  if (to_tun_.empty()) {
    if (stage_ == Stage::relaying && !socks_fin_) socks_.start_reading();
    if (socks_fin_ && !tun_fin_sent_) {
      tun_fin_sent_ = true;
      t2s_tcp_shutdown_write(conn_);
    }
  } else {
    socks_.stop_reading();
  }
  maybe_finish();
}

void TcpSession::on_stream_closed(const char* reason) {
  if (stage_ == Stage::relaying && std::string(reason) == "closed by peer") {
    // The destination finished sending: pass the FIN on once everything is delivered.
    socks_fin_ = true;
    pump_to_tun();
    return;
  }
  finish(reason, true);
}

void TcpSession::on_stream_drained() {
  // The SOCKS socket took everything: reopen lwIP's window by that much.
  if (conn_ && unacked_to_socks_) {
    t2s_tcp_recved(conn_, unacked_to_socks_);
    unacked_to_socks_ = 0;
  }
  if (tun_fin_ && stage_ == Stage::relaying) socks_.shutdown_write();
  maybe_finish();
}

// lwIP callbacks (tun_data, tun_sent) must not close or abort their own pcb: anything that
// may do so runs from the engine's end-of-iteration pass (on_deferred) instead.
void TcpSession::tun_data(const uint8_t* data, size_t len) {
  if (len == 0) {
    tun_fin_ = true;
    if (stage_ == Stage::relaying && socks_.queued_bytes() == 0) socks_.shutdown_write();
    engine_.defer(this);
    return;
  }
  engine_.stats().tcp_bytes_up += len;
  bytes_up_ += len;
  unacked_to_socks_ += len;
  if (stage_ != Stage::relaying) {
    // Early bytes wait for the CONNECT to finish (lwIP's window bounds them).
    early_.insert(early_.end(), data, data + len);
    return;
  }
  if (!socks_.write(ByteView(data, len), true)) {
    deferred_failure_ = "SOCKS side gone";
    engine_.defer(this);
  }
}

void TcpSession::tun_sent(size_t) {
  engine_.defer(this);
}

void TcpSession::on_deferred() {
  if (stage_ == Stage::done) return;
  if (deferred_failure_) {
    finish(deferred_failure_, true);
    return;
  }
  pump_to_tun();
}

void TcpSession::tun_gone(const char* why) {
  conn_ = nullptr;  // lwIP freed it
  finish(why, false);
}

void TcpSession::maybe_finish() {
  // Both directions done and delivered: close quietly.
  if (tun_fin_ && socks_fin_ && tun_fin_sent_ && to_tun_.empty() && socks_.queued_bytes() == 0) {
    finish("both sides finished", false);
  }
}

void TcpSession::finish(const char* why, bool reset_tun) {
  if (stage_ == Stage::done) return;
  stage_ = Stage::done;
  LOG_DEBUG(engine_.log(), tag_, "closed: %s (%llu bytes up, %llu down)", why,
            static_cast<unsigned long long>(bytes_up_),
            static_cast<unsigned long long>(bytes_down_));
  if (conn_) {
    t2s_tcp_close(conn_, reset_tun ? 1 : 0);
    conn_ = nullptr;
  }
  socks_.close();
  engine_.retire(this);
}

}  // namespace udptun::tun2socks
