// A datagram's path, client → target: udp-local's Tunnel → TCP → here, ClientLink: the
// handshake, then frames decoded (FrameDecoder) and handed to the Session (session.cpp) →
// ServerFlow (server_flow.cpp) → the target. Replies leave through the Session's
// CarrierQueue into this link's TcpStream.
#include "client_link.hpp"
#include "udptun/runtime/secure_random.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "server.hpp"
#include "session.hpp"
#include "udptun/protocol/cidr.hpp"
#include "udptun/protocol/udp_over_socks5.hpp"
#include "udptun/protocol/udpgw.hpp"
#include "worker.hpp"

namespace udptun::udpserver {

using protocol::ByteView;

ClientLink::ClientLink(Worker& worker, uint64_t serial, Wire wire)
    : worker_(worker),
      wire_(wire),
      stream_(worker.loop(), *this, worker.config().max_queued_bytes),
      serial_(serial),
      created_ms_(worker.loop().now_ms()),
      last_heard_ms_(created_ms_) {
  std::snprintf(tag_, sizeof tag_, "c=%llu", static_cast<unsigned long long>(serial));
  // Replies to control frames (PONG, FLOW_STATUS), the handshake's and TLS's own records may
  // pass the queue's cap; what bounds them, before authentication and after, is this: a peer
  // owed more than the cap (and room for one read's replies) is not read until it has read
  // what we have for it. Its frames wait in its own socket.
  stream_.hold_reading_above(worker.config().max_queued_bytes + kReplyReserve);
  stream_.set_carrier_options(worker.config().carrier.socket());
}

int ClientLink::accept(uv_stream_t* listener) {
  int rc = stream_.accept_from(listener);
  if (rc != 0) return rc;
  if (!stream_.carrier_error().empty())
    LOG_WARN_THROTTLED(worker_.log(), worker_.throttle(), "carrier option", worker_.loop().now_ms(),
                       tag_, "the connection runs without an option: %s",
                       stream_.carrier_error().c_str());
  note_peer();
  return 0;
}

int ClientLink::arrive_fresh(FreshLink&& fresh) {
  pending_counted = fresh.pending_counted;
  connection_counted = fresh.connection_counted;
  created_ms_ = last_heard_ms_ = fresh.created_ms;
  int rc = stream_.adopt(std::move(fresh.connection));
  if (rc == 0) note_peer();
  return rc;
}

const char* wire_name(Wire w) {
  switch (w) {
    case Wire::udpgw:
      return "udpgw";
    case Wire::socks5:
      return "socks5";
    case Wire::udptun:
      break;
  }
  return "udptun";
}

uint64_t ClientLink::silence_limit_ms() const {
  uint64_t t = worker_.config().link_timeout_ms;
  switch (wire_) {
    case Wire::udpgw:
      // badvpn-tun2socks sends a keepalive every 10 s: twice the timeout (20 s by default,
      // what badvpn's own udpgw gives them).
      return 2 * t;
    case Wire::socks5:
      // FWD UDP and UDP-over-TCP have no heartbeat: a client may stay silent as long as a flow
      // may stay idle.
      return std::max(worker_.config().flow_idle_timeout_ms, 2 * t);
    case Wire::udptun:
      break;
  }
  return t;
}

int ClientLink::greet(const protocol::SessionId& session) {
  if (wire_ != Wire::udptun) {
    const ServerConfig& cfg = worker_.config();
    if (wire_ == Wire::udpgw)
      stream_.set_codec(std::make_unique<protocol::udpgw::UdpgwTranslator>(
          static_cast<size_t>(cfg.udpgw_max_connections), worker_.server().udpgw_dns()));
    else
      stream_.set_codec(std::make_unique<protocol::socks5::UdpOverSocks5Translator>(
          cfg.socks5_listen_username, cfg.socks5_listen_password));
    int rc = stream_.start_reading();
    if (rc != 0) return rc;
    state_ = State::established;
    worker_.open_session_for(*this, session);
    return 0;
  }
  int rc = stream_.start_reading();
  if (rc != 0) return rc;
  if (runtime::TlsContext* tls = worker_.tls()) stream_.start_tls(*tls);  // the challenge waits
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

void ClientLink::note_peer() {
  if (auto peer = stream_.peer_address())
    source_key_ = protocol::source_key(peer->ip.data(), peer->type == protocol::AddressType::ipv6,
                                       static_cast<unsigned>(worker_.config().ipv6_source_prefix));
}

void ClientLink::arrive(MovedLink&& moved) {
  int rc = stream_.adopt(std::move(moved.connection));
  if (rc == 0) rc = stream_.start_reading();
  if (rc != 0) {
    state_ = State::closed;
    stream_.close();
    worker_.forget_link(*this, uv_strerror(rc));
    return;
  }
  note_peer();
  created_ms_ = moved.created_ms;
  challenge_ = moved.hello.challenge;
  complete_handshake(moved.hello);
  if (state_ == State::established && !moved.after_hello.empty())
    on_stream_data(ByteView(moved.after_hello));
}

void ClientLink::on_stream_data(ByteView data) {
  last_heard_ms_ = worker_.loop().now_ms();
  if (turn_ != worker_.turn()) {
    turn_ = worker_.turn();
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
    worker_.stats().protocol_errors++;
    LOG_WARN_THROTTLED(worker_.log(), worker_.throttle(), "protocol error", worker_.loop().now_ms(),
                       session_ ? session_->tag() : tag_, "protocol error from %s: %s",
                       stream_.peer_name().c_str(), decoder_.error());
    end(protocol::GoAwayReason::protocol_error, decoder_.error());
    return;
  }
  if (state_ == State::established && !yielded_ && read_this_turn_ >= Worker::kReadBudgetPerTurn) {
    yielded_ = true;
    stream_.stop_reading();
    worker_.yield_until_next_turn(*this);
  }
}

void ClientLink::on_stream_reads_held() {
  worker_.stats().links_paused++;
}

void ClientLink::resume_after_yield() {
  yielded_ = false;
  if (state_ == State::established) stream_.start_reading();
}

void ClientLink::handshake(ByteView& data) {
  size_t take = std::min(data.size, protocol::kClientHelloSize - hello_.size());
  hello_.insert(hello_.end(), data.data, data.data + take);
  data = data.after(take);
  auto parsed = protocol::decode_client_hello(ByteView(hello_));
  if (parsed.need_more()) return;
  if (parsed.failed()) {
    worker_.stats().auth_failures++;
    LOG_WARN_THROTTLED(worker_.log(), worker_.throttle(), "handshake refused",
                       worker_.loop().now_ms(), tag_, "handshake from %s refused: %s",
                       stream_.peer_name().c_str(), parsed.error);
    if (parsed.code == 0) {  // not a udptun client at all: say nothing
      state_ = State::closed;
      stream_.close();
      worker_.forget_link(*this, parsed.error);
      return;
    }
    protocol::ServerHello reply;
    reply.status = protocol::HelloStatus::refused;
    reply.reason = static_cast<protocol::RefuseReason>(parsed.code);
    answer_hello(reply, protocol::Mac{});
    return;
  }
  parsed.value.challenge = challenge_;
  Worker& owner = worker_.owner_of(parsed.value.session);
  if (&owner != &worker_) {
    worker_.move_link(*this, owner, parsed.value, data);
    data = ByteView();
    return;
  }
  complete_handshake(parsed.value);
}

void ClientLink::complete_handshake(const protocol::ClientHello& hello) {
  answer_hello(worker_.admit(*this, hello), hello.mac);
}

void ClientLink::answer_hello(protocol::ServerHello reply, const protocol::Mac& client_mac) {
  std::array<uint8_t, protocol::kServerHelloSize> wire;
  protocol::encode_server_hello(worker_.key(), client_mac, reply, wire);
  stream_.write(ByteView(wire.data(), wire.size()), true);
  if (reply.status == protocol::HelloStatus::refused) {
    state_ = State::closed;
    stream_.close_after_flush();
    worker_.forget_link(*this, protocol::refuse_reason_name(reply.reason));
    return;
  }
  state_ = State::established;
  worker_.handshake_over(*this);
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
  if (auto* p = std::get_if<protocol::Pong>(&frame)) {
    if (session_) session_->on_pong(p->value, lane_);
    return true;
  }
  if (auto* g = std::get_if<protocol::GoAway>(&frame)) {
    LOG_INFO(worker_.log(), session_ ? session_->tag() : tag_, "client going away (%u): %.*s",
             static_cast<unsigned>(g->reason), static_cast<int>(g->message.size),
             reinterpret_cast<const char*>(g->message.data));
    state_ = State::closed;
    stream_.close();
    worker_.forget_link(*this, "client went away");
    return false;
  }
  if (session_) session_->on_frame(frame, lane_);
  return state_ == State::established;
}

void ClientLink::on_stream_closed(const char* reason) {
  if (state_ == State::closed) return;
  state_ = State::closed;
  worker_.forget_link(*this, reason);
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
  worker_.forget_link(*this, why);
}

}  // namespace udptun::udpserver
