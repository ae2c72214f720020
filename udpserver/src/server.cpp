#include "server.hpp"

#include <algorithm>
#include <cstring>

#include "client_link.hpp"
#include "handover_point.hpp"
#include "session.hpp"
#include "tun2socks_egress.hpp"
#include "udptun/runtime/process_control.hpp"
#include "udptun/runtime/secure_random.hpp"
#include "udptun/runtime/tcp_listener.hpp"
#include "udptun/runtime/wall_clock.hpp"

namespace udptun::udpserver {

using protocol::ByteView;
using protocol::HelloStatus;
using protocol::RefuseReason;

namespace {

using runtime::wall_clock_ms;

constexpr uint64_t kSweepIntervalMs = 250;
constexpr uint64_t kDeadLinkLingerMs = 5'000;
constexpr uint64_t kOwnAddressesRefreshMs = 10'000;  // interfaces come and go (DHCP, VPNs)

}  // namespace

Server::Server(ServerConfig config)
    : InstanceHost({kSweepIntervalMs, config.stats_interval_ms, config.metrics}),
      config_(std::move(config)),
      key_(ByteView(config_.key)) {
  for (const Cidr& c : config_.allow_targets) policy_.allow(c);
  log_.set_level(config_.log_level);
}

Server::~Server() {
  stop_and_join();
}

Status Server::open() {
  if (config_.egress == ServerConfig::Egress::tun2socks) {
    egress_ = std::make_unique<Tun2socksEgress>(loop_, log_);
    Status egress = egress_->start(config_.egress_socks5, config_.egress_socks5_username,
                                   config_.egress_socks5_password);
    if (!egress.ok()) return egress;
  }
  derive_limits();
  policy_.set_own_addresses(TargetPolicy::interface_addresses());
  Status opened = open_tls();
  if (opened.ok() && !config_.handover_socket.empty()) opened = take_over();
  if (opened.ok()) opened = open_listeners();
  return opened;
}

void Server::on_running() {
  burial_.init(this, [&](uv_check_t* c) { return uv_check_init(loop_.get(), c); });
  uv_check_start(burial_.get(),
                 [](uv_check_t* c) { static_cast<Server*>(c->data)->bury_dead_links(false); });
  turn_counter_.init(this, [&](uv_prepare_t* p) { return uv_prepare_init(loop_.get(), p); });
  uv_prepare_start(turn_counter_.get(),
                   [](uv_prepare_t* p) { static_cast<Server*>(p->data)->turn_++; });
  resume_yielded_.init(this, [&](uv_check_t* c) { return uv_check_init(loop_.get(), c); });
  listen_for_successor();
}

Status Server::open_tls() {
  if (config_.tls_cert_file.empty()) return Status::success();
  auto tls = runtime::TlsContext::server({config_.tls_cert_file, config_.tls_key_file});
  if (!tls.ok()) return tls.status();
  tls_ = std::move(tls).value();
  return Status::success();
}

void Server::derive_limits() {
  // Every descriptor the hard limit allows: a busy server needs them, and the totals below
  // keep it from running out.
  uint64_t available = runtime::raise_descriptor_limit();
  // Headroom for listeners, resolver, logs; a quarter of the rest for connections, the rest
  // for flows (one socket each; two through a SOCKS5 egress: its TCP and its UDP).
  uint64_t budget = available > 128 ? available - 64 : 64;
  uint64_t per_flow = config_.egress == ServerConfig::Egress::socks5      ? 2
                      : config_.egress == ServerConfig::Egress::tun2socks ? 0
                                                                          : 1;
  max_connections_ =
      config_.max_connections ? config_.max_connections : std::max<uint64_t>(16, budget / 4);
  uint64_t for_flows = budget > budget / 4 ? budget - budget / 4 : 16;
  max_total_flows_ = config_.max_total_flows ? config_.max_total_flows
                     : per_flow              ? std::max<uint64_t>(16, for_flows / per_flow)
                                             : config_.max_sessions * config_.max_flows_per_session;
  LOG_DEBUG(log_, "", "limits: %llu connections, %llu flows in all (descriptors: %llu)",
            static_cast<unsigned long long>(max_connections_),
            static_cast<unsigned long long>(max_total_flows_),
            static_cast<unsigned long long>(available));
}

Status Server::open_listeners() {
  for (const auto& addr : config_.listen) {
    bool adopted = false;
    for (const auto& a : adopted_listeners_) {
      if (a.type == addr.type && a.ip == addr.ip && (a.port == addr.port || addr.port == 0))
        adopted = true;
    }
    if (adopted) continue;  // a predecessor's, already listening
    runtime::UvHandle<uv_tcp_t> l;
    auto bound = runtime::listen_tcp(loop_, this, addr, on_connection, l);
    if (!bound.ok()) return bound.status();
    std::string name = protocol::format_address(bound.value());
    LOG_INFO(log_, "", "listening on %s", name.c_str());
    if (cb_.started) cb_.started(user_, name.c_str());
    listeners_.push_back(std::move(l));
  }
  return Status::success();
}

void Server::on_connection(uv_stream_t* listener, int status) {
  auto* self = static_cast<Server*>(listener->data);
  if (!self || status != 0) return;
  self->accept_one(listener);
}

void Server::accept_one(uv_stream_t* listener) {
  auto link = std::make_unique<ClientLink>(*this, next_link_serial_++);
  if (link->accept(listener) != 0) return;
  uint64_t now = loop_.now_ms();
  // Accepted only to be closed at once (the backlog drains; the peer learns): the descriptor
  // budget is spent, or this address has enough unauthenticated connections already.
  auto refuse = [&](const char* why) {
    stats_.connections_refused++;
    LOG_WARN_THROTTLED(log_, throttle_, "connection refused", now, link->tag(),
                       "connection from %s refused: %s", link->stream().peer_name().c_str(), why);
    link->stream().close();
  };
  if (!config_.allow_clients.empty()) {
    auto peer = link->stream().peer_address();
    sockaddr_storage ss{};
    if (!peer || !protocol::address_to_sockaddr(*peer, &ss) ||
        !config_.allow_clients.permits(reinterpret_cast<sockaddr*>(&ss)))
      return refuse("not in --allow-client");
  }
  if (stats_.connections >= max_connections_) return refuse("too many connections");
  uint32_t& from_source = pending_by_source_[link->source_key()];
  if (from_source >= config_.max_pending_handshakes_per_source) {
    return refuse("too many unauthenticated connections from this address");
  }
  from_source++;
  link->pending_counted = true;
  size_t pending = static_cast<size_t>(
      std::count_if(links_.begin(), links_.end(), [](const auto& l) { return !l->established(); }));
  if (pending >= config_.max_pending_handshakes) {
    // Unauthenticated connections are the cheap attack: past the cap, the oldest one goes.
    auto oldest =
        std::find_if(links_.begin(), links_.end(), [](const auto& l) { return !l->established(); });
    LOG_WARN_THROTTLED(log_, throttle_, "pending handshakes dropped", now, (*oldest)->tag(),
                       "too many pending handshakes, dropping the oldest");
    (*oldest)->end(protocol::GoAwayReason::normal, "too many pending handshakes");
  }
  stats_.connections++;
  LOG_DEBUG(log_, link->tag(), "connection from %s", link->stream().peer_name().c_str());
  links_.push_back(std::move(link));
}

protocol::ServerHello Server::admit(ClientLink& link, const protocol::ClientHello& hello) {
  protocol::ServerHello reply;
  reply.session = hello.session;
  runtime::fill_secure_random(reply.nonce);
  auto refuse = [&](RefuseReason r) {
    stats_.auth_failures++;
    LOG_WARN_THROTTLED(log_, throttle_, "handshake refused", loop_.now_ms(), link.tag(),
                       "handshake from %s refused: %s", link.stream().peer_name().c_str(),
                       protocol::refuse_reason_name(r));
    reply.status = HelloStatus::refused;
    reply.reason = r;
    return reply;
  };
  if (stopping_) return refuse(RefuseReason::shutting_down);
  // Freshness comes from the challenge of this connection (a replayed hello fails here), not
  // from memory: it holds across restarts and across servers sharing a key.
  if (!protocol::verify_client_hello(key_, link.challenge(), hello))
    return refuse(RefuseReason::bad_mac);
  uint64_t now = wall_clock_ms();
  uint64_t skew = now > hello.timestamp_ms ? now - hello.timestamp_ms : hello.timestamp_ms - now;
  if (skew > config_.max_clock_skew_ms) return refuse(RefuseReason::clock_skew);

  Session* session = nullptr;
  auto it = sessions_.find(hello.session);
  if (hello.resume && it != sessions_.end()) {
    session = it->second.get();
    if (ClientLink* old = session->link()) {
      old->set_session(nullptr);
      session->detach();
      stats_.sessions_attached--;
      old->end(protocol::GoAwayReason::replaced, "session resumed on another connection");
    }
    reply.status = HelloStatus::resumed;
    stats_.sessions_resumed++;
  } else {
    if (it != sessions_.end()) remove_session(hello.session, "replaced by a new session");
    session = new_session(hello.session);
    if (!session) return refuse(RefuseReason::server_full);
    reply.status = HelloStatus::new_session;
  }
  session->attach(&link);
  link.set_session(session);
  stats_.sessions_attached++;
  LOG_INFO(log_, session->tag(), "%s from %s (%s, %zu flows)",
           reply.status == HelloStatus::resumed ? "session resumed" : "session opened",
           link.stream().peer_name().c_str(), link.tag(), session->flow_count());
  report_session(*session, true);
  return reply;
}

Session* Server::new_session(const protocol::SessionId& id) {
  if (sessions_.size() >= config_.max_sessions) evict_one_session();
  if (sessions_.size() >= config_.max_sessions) return nullptr;
  auto s = std::make_unique<Session>(*this, id);
  Session* raw = s.get();
  sessions_.emplace(id, std::move(s));
  stats_.sessions++;
  stats_.sessions_opened++;
  return raw;
}

// The least recently active session goes, preferring one without a connection.
void Server::evict_one_session() {
  Session* victim = nullptr;
  for (auto& [id, s] : sessions_) {
    bool better =
        !victim || (!s->link() && victim->link()) ||
        ((!s->link()) == (!victim->link()) && s->last_active_ms() < victim->last_active_ms());
    if (better) victim = s.get();
  }
  if (!victim) return;
  stats_.sessions_evicted++;
  if (ClientLink* l = victim->link()) {
    l->set_session(nullptr);
    victim->detach();
    stats_.sessions_attached--;
    l->end(protocol::GoAwayReason::normal, "session evicted: server full");
  }
  remove_session(victim->id(), "evicted (server full)");
}

void Server::remove_session(const protocol::SessionId& id, const char* why) {
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return;
  Session& s = *it->second;
  if (ClientLink* l = s.link()) {
    l->set_session(nullptr);
    stats_.sessions_attached--;
    l->end(protocol::GoAwayReason::normal, why);
  }
  LOG_INFO(log_, s.tag(), "session closed: %s", why);
  report_session(s, false);
  sessions_.erase(it);
  stats_.sessions--;
}

std::shared_ptr<ClientRate> Server::client_rate(const std::string& source_key) {
  if (!config_.client_packets_per_second && !config_.client_bytes_per_second) return nullptr;
  auto& weak = client_rates_[source_key];
  auto rate = weak.lock();
  if (!rate) {
    rate = std::make_shared<ClientRate>();
    rate->up = rate->down =
        runtime::RateLimit(config_.client_packets_per_second, config_.client_bytes_per_second);
    weak = rate;
  }
  return rate;
}

void Server::yield_until_next_turn(ClientLink& link) {
  yielded_.push_back(&link);
  // After this turn's poll phase: reading again means the next poll serves it, after every
  // other connection had its turn.
  uv_check_start(resume_yielded_.get(), [](uv_check_t* c) {
    auto* self = static_cast<Server*>(c->data);
    uv_check_stop(c);
    if (!self) return;
    auto links = std::move(self->yielded_);
    self->yielded_.clear();
    for (ClientLink* l : links) l->resume_after_yield();
  });
}

void Server::handshake_over(ClientLink& link) {
  if (!link.pending_counted) return;
  link.pending_counted = false;
  auto it = pending_by_source_.find(link.source_key());
  if (it != pending_by_source_.end() && --it->second == 0) pending_by_source_.erase(it);
}

void Server::forget_link(ClientLink& link, const char* reason) {
  auto it =
      std::find_if(links_.begin(), links_.end(), [&](const auto& l) { return l.get() == &link; });
  if (it == links_.end()) return;  // already forgotten
  handshake_over(link);
  yielded_.erase(std::remove(yielded_.begin(), yielded_.end(), &link), yielded_.end());
  if (Session* s = link.session()) {
    link.set_session(nullptr);
    s->detach();
    stats_.sessions_attached--;
    LOG_INFO(log_, s->tag(), "connection %s lost (%s); session kept for resume", link.tag(),
             reason);
    report_session(*s, false);
  } else {
    LOG_DEBUG(log_, link.tag(), "connection closed: %s", reason);
  }
  stats_.connections--;
  dead_links_.push_back({std::move(*it), loop_.now_ms()});
  links_.erase(it);
  if (draining_ && links_.empty()) {
    LOG_INFO(log_, "", "drained: every client moved");
    loop_.request_stop();
  }
}

void Server::bury_dead_links(bool all) {
  uint64_t now = loop_.now_ms();
  for (auto it = dead_links_.begin(); it != dead_links_.end();) {
    if (all || !it->link->stream().is_open() || now - it->since_ms > kDeadLinkLingerMs) {
      it = dead_links_.erase(it);
    } else {
      ++it;
    }
  }
}

void Server::sweep() {
  uint64_t now = loop_.now_ms();
  throttle_.flush(log_, now);
  if (now - own_addresses_at_ms_ >= kOwnAddressesRefreshMs) {
    own_addresses_at_ms_ = now;
    // Addresses none of whose sessions is left: their shared limits go.
    for (auto it = client_rates_.begin(); it != client_rates_.end();)
      it = it->second.expired() ? client_rates_.erase(it) : std::next(it);
    policy_.set_own_addresses(TargetPolicy::interface_addresses());
  }
  std::vector<ClientLink*> stale;
  for (auto& l : links_) {
    uint64_t limit = l->established() ? config_.link_timeout_ms : config_.handshake_timeout_ms;
    if (now - l->last_heard_ms() > limit) stale.push_back(l.get());
  }
  for (ClientLink* l : stale) {
    LOG_INFO(log_, l->session() ? l->session()->tag() : l->tag(),
             "connection %s silent for %llu ms, closing", l->tag(),
             static_cast<unsigned long long>(now - l->last_heard_ms()));
    l->end(protocol::GoAwayReason::normal, l->established() ? "link timeout" : "handshake timeout");
  }
  std::vector<protocol::SessionId> expired;
  for (auto& [id, s] : sessions_) {
    s->sweep(now);
    if (!s->link() && now - s->detached_since_ms() >= config_.session_grace_ms)
      expired.push_back(id);
  }
  for (const auto& id : expired) {
    stats_.sessions_reaped++;
    remove_session(id, "no resume within the grace period");
  }
}

void Server::report_session(Session& s, bool up) {
  if (!cb_.session) return;
  cb_.session(user_, protocol::session_id_hex(s.id()).c_str(), up ? 1 : 0);
}

void Server::refresh_derived_stats() {
  stats_.log_lines_suppressed = throttle_.suppressed_total();
  stats_.egress_reassembled = egress_reassembly_.reassembled;
  stats_.egress_fragments_dropped =
      egress_reassembly_.timed_out + egress_reassembly_.abandoned + egress_reassembly_.dropped;
}

void Server::shutdown() {
  stopping_ = true;
  LOG_INFO(log_, "", "stopping");
  listeners_.clear();
  drain_timer_.close();
  if (handover_) handover_->close(!handed_over_);
  burial_.close();
  turn_counter_.close();
  resume_yielded_.close();
  yielded_.clear();
  // Tell every client why, then close: sessions go with the process.
  std::vector<ClientLink*> open;
  for (auto& l : links_) open.push_back(l.get());
  for (ClientLink* l : open) l->end(protocol::GoAwayReason::shutting_down, "server shutting down");
  while (!sessions_.empty())
    remove_session(sessions_.begin()->first,
                   handed_over_ ? "handed over to the successor" : "server stopped");
  for (auto& d : dead_links_) d.link->stream().close_flushing();
  bury_dead_links(true);
  if (egress_) egress_->stop();  // after the flows: they detach from it
}

}  // namespace udptun::udpserver
