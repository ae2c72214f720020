#include "tunnel.hpp"

#include "udptun/runtime/secure_random.hpp"
#include "udptun/runtime/wall_clock.hpp"

#include <cstdio>
#include <cstring>
#include <string>

namespace udptun::udplocal {

using protocol::ByteView;

namespace {

using runtime::wall_clock_ms;

uint64_t monotonic_us() {
  return uv_hrtime() / 1000;
}

}  // namespace

Tunnel::Tunnel(runtime::EventLoop& loop, runtime::Logger& log, const ClientConfig& config,
               udplocal_stats& stats, Events& events)
    : loop_(loop),
      log_(log),
      config_(config),
      stats_(stats),
      events_(events),
      key_(ByteView(config.key)),
      carrier_(loop, config.carrier.queue(config.max_queued_bytes), stats.drops_queue_aged,
               stats.drops_queue_full),
      resolver_(loop),
      backoff_(config.reconnect_min_ms, config.reconnect_max_ms) {
  runtime::fill_secure_random(session_id_);
  std::snprintf(tag_, sizeof tag_, "s=%s", protocol::session_id_hex(session_id_, 4).c_str());
  // Heartbeats and, while datagrams wait, a PING each tick go through the carrier's prober:
  // every PONG feeds its delay control and window, and the RTT statistics.
  carrier_.set_prober([this](uint64_t value) {
    if (state_ != State::up || !stream_) return;
    std::vector<uint8_t> out;
    protocol::append_frame(out, protocol::Ping{value});
    stream_->write(ByteView(out), true);
  });
}

void Tunnel::resume_session(const protocol::SessionId& id) {
  session_id_ = id;
  has_session_ = true;
  std::snprintf(tag_, sizeof tag_, "s=%s", protocol::session_id_hex(session_id_, 4).c_str());
}

Tunnel::~Tunnel() = default;

void Tunnel::start() {
  retry_timer_.init(this, [&](uv_timer_t* t) { return uv_timer_init(loop_.get(), t); });
  tick_timer_.init(this, [&](uv_timer_t* t) { return uv_timer_init(loop_.get(), t); });
  uint64_t tick = std::min<uint64_t>(config_.heartbeat_interval_ms, 250);
  uv_timer_start(
      tick_timer_.get(), [](uv_timer_t* t) { static_cast<Tunnel*>(t->data)->tick(); }, tick, tick);
  attempt();
}

void Tunnel::stop() {
  carrier_.attach(nullptr);
  if (state_ == State::up && stream_) {
    protocol::GoAway g{protocol::GoAwayReason::shutting_down, ByteView()};
    std::vector<uint8_t> out;
    protocol::append_frame(out, g);
    stream_->write(ByteView(out), true);
    stream_->close_flushing();
  }
  state_ = State::stopped;
  stream_.reset();
  retry_timer_.close();
  tick_timer_.close();
  resolver_.cancel();
}

void Tunnel::attempt() {
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

void Tunnel::resolve(const protocol::Address& name) {
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

void Tunnel::connect_to(const struct sockaddr* to) {
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

void Tunnel::on_stream_connected(int status) {
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

Status Tunnel::enable_tls() {
  auto tls =
      runtime::TlsContext::client({config_.tls_pin, config_.tls_ca_file, config_.tls_server_name});
  if (!tls.ok()) return tls.status();
  tls_ = std::move(tls).value();
  return Status::success();
}

void Tunnel::begin_handshake() {
  // The server speaks first: our hello is bound to the challenge it sends (inside TLS when
  // it is on: the challenge arrives once the TLS handshake is done).
  state_ = State::handshaking;
  challenged_ = false;
  if (tls_) stream_->start_tls(*tls_);
}

void Tunnel::send_hello(const protocol::Challenge& challenge) {
  protocol::ClientHello hello;
  hello.challenge = challenge;
  hello.resume = has_session_;
  hello.session = session_id_;
  hello.timestamp_ms = wall_clock_ms();
  runtime::fill_secure_random(hello.nonce);
  std::array<uint8_t, protocol::kClientHelloSize> wire;
  protocol::encode_client_hello(key_, hello, wire);
  hello_mac_ = hello.mac;
  stream_->write(ByteView(wire.data(), wire.size()), true);
}

void Tunnel::on_stream_data(ByteView data) {
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
void Tunnel::feed_frames(ByteView data) {
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

void Tunnel::handle_proxy(ByteView& data) {
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
  inbox_ = std::move(rest);
  if (!inbox_.empty()) {
    std::vector<uint8_t> pending = std::move(inbox_);
    inbox_.clear();
    ByteView p(pending);
    handle_handshake(p);
    if (state_ == State::up && !p.empty()) feed_frames(p);
  }
}

void Tunnel::handle_handshake(ByteView& data) {
  if (!challenged_) {
    size_t take = std::min(data.size, protocol::kServerChallengeSize - inbox_.size());
    inbox_.insert(inbox_.end(), data.data, data.data + take);
    data = data.after(take);
    auto parsed = protocol::decode_server_challenge(ByteView(inbox_));
    if (parsed.need_more()) return;
    if (parsed.failed() || parsed.value.version != protocol::kProtocolVersion) {
      stats_.handshake_refusals++;
      if (parsed.failed())
        LOG_WARN(log_, tag_, "handshake: %s (is --server really a udp-server?)", parsed.error);
      else
        LOG_ERROR(log_, tag_,
                  "the server speaks protocol version %u, we speak %u: upgrade one side",
                  static_cast<unsigned>(parsed.value.version),
                  static_cast<unsigned>(protocol::kProtocolVersion));
      link_failed("bad server challenge");
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
    stats_.handshake_refusals++;
    link_failed("bad server hello");
    return;
  }
  const protocol::ServerHello& reply = parsed.value;
  if (!protocol::verify_server_hello(key_, hello_mac_, reply)) {
    stats_.handshake_refusals++;
    LOG_ERROR(log_, tag_,
              "the server's reply does not carry our key's MAC%s: wrong key on one side?",
              reply.status == protocol::HelloStatus::refused ? " (it refused us)" : "");
    link_failed("server not authenticated");
    return;
  }
  if (reply.status == protocol::HelloStatus::refused) {
    stats_.handshake_refusals++;
    LOG_ERROR(log_, tag_, "the server refused the session: %s",
              protocol::refuse_reason_name(reply.reason));
    link_failed("refused");
    return;
  }
  bool resumed = reply.status == protocol::HelloStatus::resumed;
  inbox_.clear();
  state_ = State::up;
  has_session_ = true;
  backoff_.reset();
  failed_attempts_ = 0;
  decoder_ = std::make_unique<protocol::FrameDecoder>();
  last_heard_ms_ = loop_.now_ms();
  stats_.link_up = 1;
  if (resumed) {
    stats_.sessions_resumed++;
  } else {
    stats_.sessions_new++;
  }
  LOG_INFO(log_, tag_, "tunnel up (%s session) via %s", resumed ? "resumed" : "new",
           stream_->peer_name().c_str());
  events_.on_tunnel_up(resumed);
  // The delay control sees through our own socket to udp-server; a carrier on this machine
  // (ss-tunnel, a SOCKS5 proxy) has buffers of its own (CarrierConfig::pacing says more).
  auto peer = stream_->peer_address();
  carrier_.attach(stream_.get(), config_.carrier.controls_delay(config_.has_via_socks5 ||
                                                                (peer && peer->is_loopback())));
  flush_queue();
}

bool Tunnel::on_frame(const protocol::Frame& frame) {
  if (auto* p = std::get_if<protocol::Ping>(&frame)) {
    std::vector<uint8_t> out;
    protocol::append_frame(out, protocol::Pong{p->value});
    stream_->write(ByteView(out), true);
    return true;
  }
  if (auto* p = std::get_if<protocol::Pong>(&frame)) {
    uint64_t now = monotonic_us();
    if (p->value <= now) {
      stats_.rtt_us = now - p->value;
      rtt_histogram_.observe(static_cast<double>(stats_.rtt_us) / 1e6);
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
  events_.on_tunnel_frame(frame);
  return state_ == State::up;
}

void Tunnel::on_stream_closed(const char* reason) {
  link_failed(reason);
}

void Tunnel::link_failed(const char* why) {
  if (state_ == State::stopped) return;
  bool was_up = state_ == State::up;
  if (was_up) {
    stats_.link_losses++;
    stats_.link_up = 0;
    LOG_WARN(log_, tag_, "tunnel down: %s", why);
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
  uv_timer_start(
      retry_timer_.get(), [](uv_timer_t* t) { static_cast<Tunnel*>(t->data)->attempt(); }, delay,
      0);
  if (was_up) events_.on_tunnel_down();
}

void Tunnel::tick() {
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
      if (now - last_heard_ms_ > config_.heartbeat_timeout_ms) {
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

bool Tunnel::send_data(uint32_t flow_id, ByteView payload, const protocol::Address* to) {
  if (state_ == State::up) {
    uint8_t prefix[protocol::kMaxDataPrefix];
    size_t n = protocol::encode_data_prefix(prefix, flow_id, to, payload.size);
    carrier_.send(flow_id, ByteView(prefix, n), payload);  // drops are counted there
    stats_.datagrams_up++;
    stats_.bytes_up += payload.size;
    return true;
  }
  if (queue_.size() >= config_.link_down_queue_datagrams ||
      queued_bytes_ + payload.size > config_.link_down_queue_bytes) {
    stats_.drops_link_down++;
    return false;
  }
  queue_.push_back({flow_id, to != nullptr, to ? *to : protocol::Address{},
                    std::vector<uint8_t>(payload.data, payload.data + payload.size)});
  queued_bytes_ += payload.size;
  return true;
}

void Tunnel::flush_queue() {
  auto queue = std::move(queue_);
  queue_.clear();
  queued_bytes_ = 0;
  for (const auto& q : queue)
    send_data(q.flow_id, ByteView(q.payload), q.has_address ? &q.address : nullptr);
}

void Tunnel::send_control(const protocol::Frame& frame) {
  if (state_ != State::up) return;
  std::vector<uint8_t> out;
  protocol::append_frame(out, frame);
  stream_->write(ByteView(out), true);
}

}  // namespace udptun::udplocal
