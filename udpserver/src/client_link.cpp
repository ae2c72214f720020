#include "client_link.hpp"
#include "udptun/runtime/secure_random.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "server.hpp"
#include "session.hpp"

namespace udptun::udpserver {

using protocol::ByteView;

ClientLink::ClientLink(Server& server, uint64_t serial)
    : server_(server),
      stream_(server.loop(), *this, server.config().max_queued_bytes),
      created_ms_(server.loop().now_ms()),
      last_heard_ms_(created_ms_) {
  std::snprintf(tag_, sizeof tag_, "c=%llu", static_cast<unsigned long long>(serial));
}

int ClientLink::accept(uv_stream_t* listener) {
  int rc = stream_.accept_from(listener);
  if (rc == 0) rc = stream_.start_reading();
  if (rc != 0) return rc;
  if (runtime::TlsContext* tls = server_.tls()) stream_.start_tls(*tls);  // the challenge waits
  if (auto peer = stream_.peer_address())
    source_key_.assign(reinterpret_cast<const char*>(peer->ip.data()),
                       peer->type == protocol::AddressType::ipv4 ? 4 : 16);
  // Our first bytes: a challenge this connection's hello must be bound to, so no hello
  // recorded anywhere else (another connection, before a restart, at another server with the
  // same key) is ever accepted here.
  protocol::ServerChallenge c;
  runtime::fill_secure_random(challenge_);
  c.challenge = challenge_;
  std::array<uint8_t, protocol::kServerChallengeSize> wire;
  protocol::encode_server_challenge(c, wire);
  stream_.write(ByteView(wire.data(), wire.size()), true);
  return 0;
}

void ClientLink::on_stream_data(ByteView data) {
  last_heard_ms_ = server_.loop().now_ms();
  if (turn_ != server_.turn()) {
    turn_ = server_.turn();
    read_this_turn_ = 0;
  }
  read_this_turn_ += data.size;
  if (state_ == State::handshaking) {
    handshake(data);
    if (state_ != State::established || data.empty()) return;
  }
  if (state_ != State::established) return;
  auto status = decoder_.feed(data, *this);
  if (status == protocol::FrameDecoder::Status::error) {
    server_.stats().protocol_errors++;
    LOG_WARN_THROTTLED(server_.log(), server_.throttle(), "protocol error", server_.loop().now_ms(),
                       session_ ? session_->tag() : tag_, "protocol error from %s: %s",
                       stream_.peer_name().c_str(), decoder_.error());
    end(protocol::GoAwayReason::protocol_error, decoder_.error());
    return;
  }
  // Replies to control frames (PONG, FLOW_STATUS) must not be dropped, so they may pass the
  // queue's cap; what bounds them is this: over the cap, the client's frames wait in its own
  // socket until it has read what we have for it.
  if (state_ == State::established && !paused_ &&
      stream_.queued_bytes() > server_.config().max_queued_bytes) {
    paused_ = true;
    server_.stats().links_paused++;
    stream_.stop_reading();
  }
  if (state_ == State::established && !paused_ && !yielded_ &&
      read_this_turn_ >= Server::kReadBudgetPerTurn) {
    yielded_ = true;
    stream_.stop_reading();
    server_.yield_until_next_turn(*this);
  }
}

void ClientLink::on_stream_drained() {
  if (!paused_ || state_ != State::established) return;
  paused_ = false;
  if (!yielded_) stream_.start_reading();
}

void ClientLink::resume_after_yield() {
  yielded_ = false;
  if (state_ == State::established && !paused_) stream_.start_reading();
}

void ClientLink::handshake(ByteView& data) {
  size_t take = std::min(data.size, protocol::kClientHelloSize - hello_.size());
  hello_.insert(hello_.end(), data.data, data.data + take);
  data = data.after(take);
  auto parsed = protocol::decode_client_hello(ByteView(hello_));
  if (parsed.need_more()) return;
  protocol::ServerHello reply;
  protocol::Mac client_mac{};
  if (parsed.failed()) {
    server_.stats().auth_failures++;
    LOG_WARN_THROTTLED(server_.log(), server_.throttle(), "handshake refused",
                       server_.loop().now_ms(), tag_, "handshake from %s refused: %s",
                       stream_.peer_name().c_str(), parsed.error);
    if (parsed.code == 0) {  // not a udptun client at all: say nothing
      state_ = State::closed;
      stream_.close();
      server_.forget_link(*this, parsed.error);
      return;
    }
    reply.status = protocol::HelloStatus::refused;
    reply.reason = static_cast<protocol::RefuseReason>(parsed.code);
  } else {
    client_mac = parsed.value.mac;
    reply = server_.admit(*this, parsed.value);
  }
  std::array<uint8_t, protocol::kServerHelloSize> wire;
  protocol::encode_server_hello(server_.key(), client_mac, reply, wire);
  stream_.write(ByteView(wire.data(), wire.size()), true);
  if (reply.status == protocol::HelloStatus::refused) {
    state_ = State::closed;
    stream_.close_after_flush();
    server_.forget_link(*this, protocol::refuse_reason_name(reply.reason));
    return;
  }
  state_ = State::established;
  server_.handshake_over(*this);
  hello_.clear();
  hello_.shrink_to_fit();
}

bool ClientLink::on_frame(const protocol::Frame& frame) {
  if (auto* p = std::get_if<protocol::Ping>(&frame)) {
    std::vector<uint8_t> out;
    protocol::append_frame(out, protocol::Pong{p->value});
    stream_.write(ByteView(out), true);
    return true;
  }
  if (std::holds_alternative<protocol::Pong>(frame)) return true;
  if (auto* g = std::get_if<protocol::GoAway>(&frame)) {
    LOG_INFO(server_.log(), session_ ? session_->tag() : tag_, "client going away (%u): %.*s",
             static_cast<unsigned>(g->reason), static_cast<int>(g->message.size),
             reinterpret_cast<const char*>(g->message.data));
    state_ = State::closed;
    stream_.close();
    server_.forget_link(*this, "client went away");
    return false;
  }
  if (session_) session_->on_frame(frame);
  return state_ == State::established;
}

void ClientLink::on_stream_closed(const char* reason) {
  if (state_ == State::closed) return;
  state_ = State::closed;
  server_.forget_link(*this, reason);
}

void ClientLink::ask_to_move(protocol::GoAwayReason reason, const char* why) {
  if (state_ != State::established) return;
  protocol::GoAway g;
  g.reason = reason;
  g.message = ByteView(reinterpret_cast<const uint8_t*>(why), std::strlen(why));
  std::vector<uint8_t> out;
  protocol::append_frame(out, g);
  stream_.write(ByteView(out), true);
}

void ClientLink::end(protocol::GoAwayReason reason, const char* why) {
  if (state_ == State::closed) return;
  ask_to_move(reason, why);
  state_ = State::closed;
  stream_.close_after_flush();
  server_.forget_link(*this, why);
}

}  // namespace udptun::udpserver
