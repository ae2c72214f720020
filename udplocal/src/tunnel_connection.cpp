#include "tunnel_connection.hpp"

#include "udptun/protocol/udp_over_socks5.hpp"
#include "udptun/protocol/udpgw.hpp"

#include <cstdio>
#include <cstring>
#include <string>

#include "udptun/runtime/secure_random.hpp"
#include "udptun/runtime/wall_clock.hpp"

namespace udptun::udplocal {

using protocol::ByteView;

namespace {

uint64_t monotonic_us() {
  return uv_hrtime() / 1000;
}

}  // namespace

TunnelConnection::TunnelConnection(runtime::EventLoop& loop, runtime::Logger& log,
                                   const ClientConfig& config, udplocal_stats& stats,
                                   Events& events, unsigned lane)
    : loop_(loop),
      log_(log),
      config_(config),
      stats_(stats),
      events_(events),
      lane_(lane),
      key_(ByteView(config.key)),
      carrier_(loop, config.carrier.queue(config.max_queued_bytes), stats.drops_queue_aged,
               stats.drops_queue_full),
      resolver_(loop),
      backoff_(config.reconnect_min_ms, config.reconnect_max_ms) {
  // Heartbeats and, while datagrams wait, a PING each tick go through the carrier's prober:
  // every PONG feeds its delay control and window, and the RTT statistics.
  carrier_.set_prober([this](uint64_t value) {
    if (state_ == State::up) write_frame(protocol::Ping{value});
  });
}

TunnelConnection::~TunnelConnection() = default;

void TunnelConnection::start(const char* session_tag) {
  if (lane_ == 0)
    std::snprintf(tag_, sizeof tag_, "%s", session_tag);
  else
    std::snprintf(tag_, sizeof tag_, "%s/%u", session_tag, lane_);
  retry_timer_.init(this, [&](uv_timer_t* t) { return uv_timer_init(loop_.get(), t); });
  tick_timer_.init(this, [&](uv_timer_t* t) { return uv_timer_init(loop_.get(), t); });
  uint64_t tick = std::min<uint64_t>(config_.heartbeat_interval_ms, 250);
  uv_timer_start(
      tick_timer_.get(), [](uv_timer_t* t) { static_cast<TunnelConnection*>(t->data)->tick(); },
      tick, tick);
  attempt();
}

void TunnelConnection::stop(protocol::GoAwayReason reason, const char* why) {
  carrier_.attach(nullptr);
  if (state_ == State::up && stream_) {
    protocol::GoAway g{reason, ByteView(reinterpret_cast<const uint8_t*>(why), std::strlen(why))};
    write_frame(g);
    stream_->close_flushing();
  }
  bool was_up = state_ == State::up;
  state_ = State::stopped;
  if (lane_ == 0 && was_up) stats_.link_up = 0;
  stream_.reset();
  retry_timer_.close();
  tick_timer_.close();
  resolver_.cancel();
}

void TunnelConnection::write_frame(const protocol::Frame& frame) {
  if (!stream_) return;
  std::vector<uint8_t> out;
  protocol::append_frame(out, frame);
  stream_->write(ByteView(out), true);
}

void TunnelConnection::attempt() {
  if (state_ == State::stopped) return;
  stats_.connects++;
  attempt_started_ms_ = loop_.now_ms();
  const protocol::Address& first_hop = config_.has_via_socks5 ? config_.via_socks5 : config_.server;
  if (first_hop.is_ip()) {
    sockaddr_storage ss;
    protocol::address_to_sockaddr(first_hop, &ss);
    connect_to(reinterpret_cast<sockaddr*>(&ss));
  } else {
    resolve(first_hop);
  }
}

void TunnelConnection::resolve(const protocol::Address& name) {
  state_ = State::resolving;
  Status started = resolver_.resolve(name, {SOCK_STREAM, false, false},
                                     [this](Result<sockaddr_storage> address) {
                                       if (!address.ok()) {
                                         link_failed(address.message().c_str());
                                         return;
                                       }
                                       connect_to(reinterpret_cast<sockaddr*>(&address.value()));
                                     });
  if (!started.ok()) link_failed(started.message().c_str());
}

void TunnelConnection::connect_to(const struct sockaddr* to) {
  state_ = State::connecting;
  stream_ = std::make_unique<runtime::TcpStream>(loop_, *this, config_.max_queued_bytes);
  stream_->set_carrier_options(config_.carrier.socket());
  if (protector_) stream_->set_protector(protector_);
  int rc = stream_->connect(to);
  if (rc == runtime::kSocketRefused && protector_)
    link_failed("protect_socket refused the socket");
  else if (rc != 0)
    link_failed(uv_strerror(rc));
}

void TunnelConnection::on_stream_connected(int status) {
  if (status != 0) {
    link_failed(uv_strerror(status));
    return;
  }
  int rc = stream_->start_reading();
  if (rc != 0) {
    link_failed(uv_strerror(rc));
    return;
  }
  if (!stream_->carrier_error().empty() && !carrier_warned_) {
    carrier_warned_ = true;
    LOG_WARN(log_, tag_, "the carrier runs without an option: %s",
             stream_->carrier_error().c_str());
  }
  inbox_.clear();
  if (config_.has_via_socks5) {
    state_ = State::proxying;
    proxy_ = std::make_unique<protocol::socks5::ClientHandshake>(protocol::socks5::Command::connect,
                                                                 config_.server);
    stream_->write(ByteView(proxy_->start()), true);
    return;
  }
  begin_handshake();
}

void TunnelConnection::begin_handshake() {
  if (config_.server_protocol != ServerProtocol::udptun) {
    // No handshake of ours: the stream translates our frames to the server's protocol and
    // back from now on (a SOCKS5 one does its own handshake inside, holding our datagrams).
    if (config_.server_protocol == ServerProtocol::udpgw) {
      stream_->set_codec(std::make_unique<protocol::udpgw::UdpgwClientTranslator>(
          static_cast<size_t>(config_.udpgw_max_connections)));
    } else {
      using Kind = protocol::socks5::UdpOverSocks5ClientTranslator::Kind;
      stream_->set_codec(std::make_unique<protocol::socks5::UdpOverSocks5ClientTranslator>(
          config_.server_protocol == ServerProtocol::uot ? Kind::uot : Kind::fwd_udp,
          config_.server_username, config_.server_password));
    }
    become_up(false);
    return;
  }
  // The server speaks first: our hello is bound to the challenge it sends (inside TLS when
  // it is on: the challenge arrives once the TLS handshake is done).
  state_ = State::handshaking;
  challenged_ = false;
  if (tls_) stream_->start_tls(*tls_);
}

void TunnelConnection::send_hello(const protocol::Challenge& challenge) {
  protocol::ClientHello hello;
  hello.challenge = challenge;
  hello.lane = static_cast<uint8_t>(lane_);
  hello.resume = lane_ == 0 && events_.wants_resume();
  hello.session = events_.session_id();
  hello.timestamp_ms = runtime::wall_clock_ms();
  runtime::fill_secure_random(hello.nonce);
  std::array<uint8_t, protocol::kClientHelloSize> wire;
  protocol::encode_client_hello(key_, hello, wire);
  hello_mac_ = hello.mac;
  stream_->write(ByteView(wire.data(), wire.size()), true);
}

void TunnelConnection::on_stream_data(ByteView data) {
  last_heard_ms_ = loop_.now_ms();
  if (state_ == State::proxying) {
    handle_proxy(data);
    if (state_ != State::handshaking || data.empty()) return;
  }
  if (state_ == State::handshaking) {
    handle_handshake(data);
    if (state_ != State::up || data.empty()) return;
  }
  if (state_ != State::up) return;
  feed_frames(data);
}

// Frames after the handshake, from whichever path delivered the bytes.
void TunnelConnection::feed_frames(ByteView data) {
  auto status = decoder_->feed(data, *this);
  if (status == protocol::FrameDecoder::Status::error) {
    LOG_WARN(log_, tag_, "protocol error from the server: %s", decoder_->error());
    link_failed("protocol error");
  } else if (pending_failure_) {
    const char* why = pending_failure_;
    pending_failure_ = nullptr;
    link_failed(why);
  }
}

void TunnelConnection::handle_proxy(ByteView& data) {
  inbox_.insert(inbox_.end(), data.data, data.data + data.size);
  data = ByteView();
  std::vector<uint8_t> out;
  size_t consumed = 0;
  auto st = proxy_->feed(ByteView(inbox_), out, consumed);
  if (!out.empty()) stream_->write(ByteView(out), true);
  if (st == protocol::socks5::ClientHandshake::Status::need_more) {
    inbox_.erase(inbox_.begin(), inbox_.begin() + static_cast<long>(consumed));
    return;
  }
  if (st == protocol::socks5::ClientHandshake::Status::failed) {
    LOG_WARN(log_, tag_, "SOCKS5 proxy %s: %s",
             protocol::format_address(config_.via_socks5).c_str(), proxy_->error());
    link_failed("SOCKS5 proxy refused");
    return;
  }
  // Anything after the reply is already the server's: keep it for the handshake.
  std::vector<uint8_t> rest(inbox_.begin() + static_cast<long>(consumed), inbox_.end());
  inbox_.clear();
  proxy_.reset();
  begin_handshake();
  if (!rest.empty()) {
    ByteView p(rest);
    handle_handshake(p);
    if (state_ == State::up && !p.empty()) feed_frames(p);
  }
}

void TunnelConnection::refused(const char* why) {
  stats_.handshake_refusals++;
  link_failed(why);
}

void TunnelConnection::handle_handshake(ByteView& data) {
  if (!challenged_) {
    size_t take = std::min(data.size, protocol::kServerChallengeSize - inbox_.size());
    inbox_.insert(inbox_.end(), data.data, data.data + take);
    data = data.after(take);
    auto parsed = protocol::decode_server_challenge(ByteView(inbox_));
    if (parsed.need_more()) return;
    if (parsed.failed() || parsed.value.version != protocol::kProtocolVersion) {
      if (parsed.failed())
        LOG_WARN(log_, tag_, "handshake: %s (is --server really a udp-server?)", parsed.error);
      else
        LOG_ERROR(log_, tag_,
                  "the server speaks protocol version %u, we speak %u: upgrade one side",
                  static_cast<unsigned>(parsed.value.version),
                  static_cast<unsigned>(protocol::kProtocolVersion));
      refused("bad server challenge");
      return;
    }
    inbox_.clear();
    challenged_ = true;
    send_hello(parsed.value.challenge);
    if (data.empty()) return;
  }
  size_t take = std::min(data.size, protocol::kServerHelloSize - inbox_.size());
  inbox_.insert(inbox_.end(), data.data, data.data + take);
  data = data.after(take);
  auto parsed = protocol::decode_server_hello(ByteView(inbox_));
  if (parsed.need_more()) return;
  if (parsed.failed()) {
    LOG_WARN(log_, tag_, "handshake: %s (is --server really a udp-server?)", parsed.error);
    refused("bad server hello");
    return;
  }
  const protocol::ServerHello& reply = parsed.value;
  if (!protocol::verify_server_hello(key_, hello_mac_, reply)) {
    LOG_ERROR(log_, tag_,
              "the server's reply does not carry our key's MAC%s: wrong key on one side?",
              reply.status == protocol::HelloStatus::refused ? " (it refused us)" : "");
    refused("server not authenticated");
    return;
  }
  if (reply.status == protocol::HelloStatus::refused) {
    // An added lane the server cannot join (another server behind a balancer, or the
    // session gone) is not a configuration error: the first connection decides.
    if (lane_ == 0)
      LOG_ERROR(log_, tag_, "the server refused the session: %s",
                protocol::refuse_reason_name(reply.reason));
    else if (failed_attempts_ == 0)  // behind a balancer this repeats: said once
      LOG_INFO(log_, tag_, "the server refused an added connection: %s",
               protocol::refuse_reason_name(reply.reason));
    else
      LOG_DEBUG(log_, tag_, "the server refused an added connection: %s",
                protocol::refuse_reason_name(reply.reason));
    // Behind a balancer an added lane may keep landing on a server without the session:
    // try again now and then, not at the reconnect pace.
    if (lane_ != 0 && reply.reason == protocol::RefuseReason::no_session) refused_join_ = true;
    refused("refused");
    return;
  }
  become_up(reply.status == protocol::HelloStatus::resumed);
}

void TunnelConnection::become_up(bool resumed) {
  bool ours = config_.server_protocol == ServerProtocol::udptun;
  inbox_.clear();
  state_ = State::up;
  backoff_.reset();
  failed_attempts_ = 0;
  decoder_ = std::make_unique<protocol::FrameDecoder>();
  last_heard_ms_ = loop_.now_ms();
  if (config_.per_flow_connections()) {
    // One of many (a connection per flow): the tunnel itself is up from the start.
    LOG_DEBUG(log_, tag_, "flow connection up via %s", stream_->peer_name().c_str());
  } else if (lane_ == 0) {
    stats_.link_up = 1;
    if (resumed)
      stats_.sessions_resumed++;
    else
      stats_.sessions_new++;
    LOG_INFO(log_, tag_, "tunnel up (%s) via %s",
             config_.server_protocol == ServerProtocol::udpgw ? "udpgw"
             : resumed                                        ? "resumed session"
                                                              : "new session",
             stream_->peer_name().c_str());
  } else {
    LOG_INFO(log_, tag_, "connection %u joined the session via %s", lane_,
             stream_->peer_name().c_str());
  }
  // The delay control sees through our own socket to udp-server; a carrier on this machine
  // (ss-tunnel, a SOCKS5 proxy) has buffers of its own (CarrierConfig::pacing says more).
  auto peer = stream_->peer_address();
  // Other protocols answer no PING: no delay control there.
  carrier_.attach(stream_.get(),
                  ours && config_.carrier.controls_delay(config_.has_via_socks5 ||
                                                         (peer && peer->is_loopback())));
  events_.on_connection_up(*this, resumed);
}

bool TunnelConnection::on_frame(const protocol::Frame& frame) {
  if (auto* p = std::get_if<protocol::Ping>(&frame)) {
    write_frame(protocol::Pong{p->value});
    return true;
  }
  if (auto* p = std::get_if<protocol::Pong>(&frame)) {
    uint64_t now = monotonic_us();
    if (p->value <= now) {
      events_.on_round_trip(now - p->value);
      carrier_.on_pong(p->value);
    }
    return true;
  }
  if (auto* g = std::get_if<protocol::GoAway>(&frame)) {
    LOG_INFO(log_, tag_, "server going away: %.*s", static_cast<int>(g->message.size),
             reinterpret_cast<const char*>(g->message.data));
    pending_failure_ = "server went away";
    return false;
  }
  events_.on_connection_frame(*this, frame);
  return state_ == State::up;
}

void TunnelConnection::on_stream_closed(const char* reason) {
  link_failed(reason);
}

void TunnelConnection::link_failed(const char* why) {
  if (state_ == State::stopped) return;
  bool was_up = state_ == State::up;
  if (was_up) {
    if (lane_ == 0) {
      stats_.link_losses++;
      stats_.link_up = 0;
    }
    LOG_WARN(log_, tag_, "%s down: %s", lane_ == 0 ? "tunnel" : "added connection", why);
  } else if (failed_attempts_ % 60 == 0) {
    // The first failure, then one line a minute or so: a server down for hours must not
    // fill the log with one line per attempt. TLS failures are configuration errors.
    if (std::strncmp(why, "TLS", 3) == 0)
      LOG_ERROR(log_, tag_, "cannot reach the server: %s (attempt %llu)", why,
                static_cast<unsigned long long>(failed_attempts_ + 1));
    else
      LOG_INFO(log_, tag_, "cannot reach the server: %s (attempt %llu)", why,
               static_cast<unsigned long long>(failed_attempts_ + 1));
  } else {
    LOG_DEBUG(log_, tag_, "cannot reach the server: %s", why);
  }
  failed_attempts_ = was_up ? 0 : failed_attempts_ + 1;
  carrier_.attach(nullptr);  // what waited for this link goes with it
  // The stream may be the one calling us: TcpStream allows being destroyed from its events.
  stream_.reset();
  proxy_.reset();
  state_ = State::waiting;
  uint64_t delay = backoff_.next_delay_ms();
  if (refused_join_) delay = std::max<uint64_t>(delay, kJoinRetryMs);
  refused_join_ = false;
  uv_timer_start(
      retry_timer_.get(), [](uv_timer_t* t) { static_cast<TunnelConnection*>(t->data)->attempt(); },
      delay, 0);
  events_.on_connection_down(*this, was_up);
}

void TunnelConnection::tick() {
  uint64_t now = loop_.now_ms();
  switch (state_) {
    case State::resolving:
    case State::connecting:
    case State::proxying:
    case State::handshaking:
      if (now - attempt_started_ms_ > config_.connect_timeout_ms)
        link_failed(
            state_ == State::handshaking && !challenged_ && !tls_
                ? "timed out: no challenge from the server (one with --tls-cert wants --tls)"
                : "timed out");
      break;
    case State::up:
      // Other protocols' servers never answer our heartbeats (udpgw keepalives, or nothing):
      // their links live until TCP says otherwise.
      if (config_.server_protocol == ServerProtocol::udptun &&
          now - last_heard_ms_ > config_.heartbeat_timeout_ms) {
        link_failed("no heartbeat from the server");
        return;
      }
      if (now - last_ping_ms_ >= config_.heartbeat_interval_ms) {
        last_ping_ms_ = now;
        carrier_.probe();
      }
      break;
    default:
      break;
  }
}

}  // namespace udptun::udplocal
