// Where a connection's datagrams are handled: Server::accept_one (server.cpp) takes the
// connection on worker 0; its handshake runs on a worker (the least busy with TLS); after the
// hello the link moves to the worker that owns its session (here, move_link/receive_link),
// whose loop then runs every step of its datagrams' path: ClientLink → Session → ServerFlow
// and back, without crossing a thread.
#include "worker.hpp"

#include <algorithm>
#include <cstring>
#include <future>
#include <tuple>

#include "client_link.hpp"
#include "server.hpp"
#include "session.hpp"
#include "udptun/runtime/secure_random.hpp"
#include "udptun/runtime/wall_clock.hpp"

namespace udptun::udpserver {

using protocol::HelloStatus;
using protocol::RefuseReason;

namespace {

constexpr uint64_t kDeadLinkLingerMs = 5'000;
constexpr uint64_t kOwnAddressesRefreshMs = 10'000;  // interfaces come and go (DHCP, VPNs)
constexpr uint64_t kHandshakeRateIdleMs = 5'000;     // a full bucket again: forget the address
constexpr size_t kMaxHandshakeSources = 100'000;

void add_counters(udpserver_stats& sum, const udpserver_stats& part) {
  static_assert(sizeof(udpserver_stats) % sizeof(uint64_t) == 0, "counters only");
  constexpr size_t n = sizeof(udpserver_stats) / sizeof(uint64_t);
  uint64_t a[n], b[n];
  std::memcpy(a, &sum, sizeof a);
  std::memcpy(b, &part, sizeof b);
  for (size_t i = 0; i < n; ++i) a[i] += b[i];  // gauges too: a moved link is -1 here, +1 there
  std::memcpy(&sum, a, sizeof a);
}

}  // namespace

Worker::Worker(Server& server, size_t index, runtime::EventLoop* server_loop)
    : server_(server),
      index_(index),
      own_loop_(server_loop ? nullptr : std::make_unique<runtime::EventLoop>()),
      loop_(server_loop ? *server_loop : *own_loop_) {
  const ServerConfig& cfg = server.config();
  for (const Cidr& c : cfg.allow_targets) policy_.allow(c);
  // The resolver udpgw's DNS flag names is the operator's choice: reachable even when it is
  // on loopback or a private address (systemd-resolved's 127.0.0.53).
  if (const auto& dns = server.udpgw_dns()) {
    Cidr exact;
    exact.family = dns->type == protocol::AddressType::ipv6 ? AF_INET6 : AF_INET;
    std::memcpy(exact.bytes, dns->ip.data(), exact.family == AF_INET6 ? 16 : 4);
    exact.prefix = exact.family == AF_INET6 ? 128 : 32;
    policy_.allow(exact);
  }
  policy_.set_own_addresses(TargetPolicy::interface_addresses());
  log_.set_level(cfg.log_level);
  if (auto sink = server.log_sink()) log_.set_sink(std::move(sink));
}

Worker::~Worker() {
  stop_thread();
}

const ServerConfig& Worker::config() const {
  return server_.config();
}
const protocol::PreSharedKey& Worker::key() const {
  return server_.key();
}
runtime::TlsContext* Worker::tls() {
  return server_.tls();
}
Tun2socksEgress* Worker::tun2socks_egress() {
  return server_.tun2socks_egress();
}
std::shared_ptr<ClientRate> Worker::client_rate(const std::string& source_key) {
  return server_.client_rate(source_key);
}

void Worker::open() {
  burial_.init(this, [&](uv_check_t* c) { return uv_check_init(loop_.get(), c); });
  uv_check_start(burial_.get(),
                 [](uv_check_t* c) { static_cast<Worker*>(c->data)->bury_dead_links(false); });
  turn_counter_.init(this, [&](uv_prepare_t* p) { return uv_prepare_init(loop_.get(), p); });
  uv_prepare_start(turn_counter_.get(),
                   [](uv_prepare_t* p) { static_cast<Worker*>(p->data)->turn_++; });
  resume_yielded_.init(this, [&](uv_check_t* c) { return uv_check_init(loop_.get(), c); });
  if (own_loop_) {
    // libuv keeps a spare descriptor per loop (its answer to EMFILE at accept) and opens it
    // with the loop's first TCP handle: taken now, so a worker's descriptors do not step up
    // at the first connection it is handed.
    runtime::UvHandle<uv_tcp_t> first;
    (void)first.init(this, [&](uv_tcp_t* t) { return uv_tcp_init(loop_.get(), t); });
    first.close();
    // Worker 0's sweep and counters are the Server's timers; the others run their own, and
    // publish as often as the Server does, so the sums are at most one interval old.
    start_timer(sweep_timer_, Server::kSweepIntervalMs,
                [](uv_timer_t* t) { static_cast<Worker*>(t->data)->sweep(); });
    start_timer(publish_timer_, config().stats_interval_ms,
                [](uv_timer_t* t) { static_cast<Worker*>(t->data)->publish(); });
  }
}

void Worker::start_timer(runtime::UvHandle<uv_timer_t>& timer, uint64_t every_ms, uv_timer_cb fn) {
  timer.init(this, [&](uv_timer_t* t) { return uv_timer_init(loop_.get(), t); });
  uv_timer_start(timer.get(), fn, every_ms, every_ms);
}

int Worker::start_thread() {
  if (!own_loop_ || thread_started_) return 0;
  int rc = loop_.start_thread([this] {
    open();
    loop_.run([this] { shutdown(); });
    publish();  // the last counters
  });
  thread_started_ = rc == 0;
  return rc;
}

void Worker::stop_thread() {
  if (!own_loop_) return;
  if (thread_started_) {
    thread_started_ = false;
    loop_.request_stop();
    loop_.join();
    return;
  }
  // Never started (the server failed to open, or stops before running): sessions a
  // predecessor handed over may be here, closed on this thread.
  if (sessions_.empty() && links_.empty()) return;
  loop_.request_stop();
  loop_.run([this] { shutdown(); });
  publish();
}

bool Worker::run_and_wait(const std::function<void()>& fn) {
  if (!own_loop_ || !thread_started_) {
    fn();
    return true;
  }
  std::promise<void> done;
  if (!loop_.post([&] {
        fn();
        done.set_value();
      }))
    return false;
  done.get_future().wait();
  return true;
}

void Worker::add_link(std::unique_ptr<ClientLink> link) {
  stats_.connections++;
  links_.push_back(std::move(link));
}

Worker& Worker::owner_of(const protocol::SessionId& id) {
  return server_.worker_for(id);
}

// The link leaves this worker as if closed, except that its connection lives on.
void Worker::release_link(ClientLink& link) {
  auto it =
      std::find_if(links_.begin(), links_.end(), [&](const auto& l) { return l.get() == &link; });
  if (it == links_.end()) return;
  handshake_over(link);
  if (std::exchange(link.connection_counted, false))
    server_.connections_per_client().give_back(link.source_key());
  yielded_.erase(std::remove(yielded_.begin(), yielded_.end(), &link), yielded_.end());
  stats_.connections--;
  dead_links_.push_back({std::move(*it), loop_.now_ms()});
  links_.erase(it);
}

void Worker::move_link(ClientLink& link, Worker& owner, const protocol::ClientHello& hello,
                       protocol::ByteView after_hello) {
  auto connection = link.stream().detach();
  if (!connection.ok()) {
    LOG_WARN(log_, link.tag(), "cannot hand the connection to worker %zu: %s", owner.index(),
             connection.status().message().c_str());
    link.end(protocol::GoAwayReason::normal, "server busy");
    return;
  }
  auto moved = std::make_shared<MovedLink>();
  moved->connection = std::move(connection).value();
  moved->serial = link.serial();
  moved->created_ms = link.created_ms();
  moved->hello = hello;
  moved->after_hello.assign(after_hello.data, after_hello.data + after_hello.size);
  LOG_DEBUG(log_, link.tag(), "connection handed to worker %zu", owner.index());
  link.mark_moved();
  release_link(link);
  Worker* to = &owner;
  // std::function copies its target: the move-only connection travels in a shared_ptr. If
  // the owner is stopping, it is dropped here and its descriptor closed.
  if (!owner.loop().post([to, moved] { to->receive_link(std::move(*moved)); }))
    server_.connection_closed();
}

void Worker::start_handshake(std::unique_ptr<ClientLink> link, const protocol::SessionId& session) {
  // Unauthenticated connections are the cheap attack: past this worker's share of
  // --max-pending-handshakes, its oldest one goes.
  if (link->pending_counted && handshakes_under_way_ > server_.pending_cap_per_worker())
    drop_oldest_pending();
  ClientLink* raw = link.get();
  add_link(std::move(link));
  if (raw->wire() == Wire::udptun) handshakes_++;
  int rc = draining_ ? UV_ECANCELED : raw->greet(session);
  if (rc != 0)
    raw->end(protocol::GoAwayReason::shutting_down,
             rc == UV_ECANCELED ? "server draining" : uv_strerror(rc));
}

void Worker::take_fresh_link(ClientLink& link, const protocol::SessionId& session) {
  auto fresh = std::make_shared<FreshLink>();
  fresh->wire = link.wire();
  fresh->session = session;
  fresh->serial = link.serial();
  fresh->created_ms = link.created_ms();
  fresh->source_key = link.source_key();
  auto connection = link.stream().detach();
  if (connection.ok()) {
    fresh->connection = std::move(connection).value();
    fresh->pending_counted = std::exchange(link.pending_counted, false);
    fresh->connection_counted = std::exchange(link.connection_counted, false);
    Worker* to = this;
    // std::function copies its target: the move-only connection travels in a shared_ptr.
    if (loop_.post([to, fresh] { to->receive_fresh_link(std::move(*fresh)); })) return;
  }
  // Not sent (this worker is stopping, or the socket could not be duplicated): the
  // connection is closed with the FreshLink, its counts given back.
  link.stream().close();
  if (fresh->pending_counted || link.pending_counted) {
    handshakes_under_way_--;
    server_.pending_per_client().give_back(fresh->source_key);
  }
  if (fresh->connection_counted || link.connection_counted)
    server_.connections_per_client().give_back(fresh->source_key);
  server_.connection_closed();
}

void Worker::receive_fresh_link(FreshLink&& fresh) {
  auto link = std::make_unique<ClientLink>(*this, fresh.serial, fresh.wire);
  protocol::SessionId session = fresh.session;
  int rc = link->arrive_fresh(std::move(fresh));
  if (rc != 0) {
    // Never added: its counts are given back here, as forget_link would.
    handshake_over(*link);
    if (std::exchange(link->connection_counted, false))
      server_.connections_per_client().give_back(link->source_key());
    link->stream().close();
    server_.connection_closed();
    return;
  }
  start_handshake(std::move(link), session);
}

uint64_t& Worker::clients_of(Wire wire) {
  return wire == Wire::socks5 ? stats_.socks5_clients : stats_.udpgw_clients;
}

void Worker::open_session_for(ClientLink& link, const protocol::SessionId& id) {
  // Not one of the --max-sessions: the accepting thread counted it against the address's
  // connections, a count the session takes over (and gives back when it goes).
  link.connection_counted = false;
  if (sessions_.count(id)) {  // 128 random bits drawn twice
    server_.connections_per_client().give_back(link.source_key());
    stats_.connections_refused++;
    link.end(protocol::GoAwayReason::normal, "session id in use");
    return;
  }
  Session* session = emplace_session(id, link.source_key(), link.wire());
  session->attach(&link, 0);
  clients_of(link.wire())++;
  LOG_INFO(log_, session->tag(), "%s client from %s (%s, worker %zu)", wire_name(link.wire()),
           link.stream().peer_name().c_str(), link.tag(), index_);
  report_session(*session, true);
}

void Worker::receive_link(MovedLink&& moved) {
  auto link = std::make_unique<ClientLink>(*this, moved.serial);
  ClientLink* raw = link.get();
  add_link(std::move(link));
  raw->arrive(std::move(moved));
  if (draining_) raw->ask_to_move(protocol::GoAwayReason::shutting_down, "server draining");
}

bool Worker::admit_handshake(const ClientLink& link) {
  uint64_t rate = config().handshakes_per_second_per_source;
  if (rate == 0) return true;
  uint64_t now = loop_.now_ms();
  // Bounded however many addresses come: past this many, the table starts afresh (a
  // flood from that many addresses is one the global caps handle).
  if (handshakes_by_source_.size() >= kMaxHandshakeSources) handshakes_by_source_.clear();
  auto [it, fresh] = handshakes_by_source_.try_emplace(
      link.source_key(), HandshakeRate{runtime::TokenBucket(rate), now});
  HandshakeRate& h = it->second;
  h.used_ms = now;
  if (!h.tokens.has(1, now)) return false;
  h.tokens.take(1);
  return true;
}

// Unauthenticated connections are the cheap attack: past the cap, the oldest one goes.
void Worker::drop_oldest_pending() {
  auto oldest =
      std::find_if(links_.begin(), links_.end(), [](const auto& l) { return !l->established(); });
  if (oldest == links_.end()) return;
  LOG_WARN_THROTTLED(log_, throttle_, "pending handshakes dropped", loop_.now_ms(),
                     (*oldest)->tag(), "too many pending handshakes, dropping the oldest");
  (*oldest)->end(protocol::GoAwayReason::normal, "too many pending handshakes");
}

protocol::ServerHello Worker::admit(ClientLink& link, const protocol::ClientHello& hello) {
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
  if (server_.stopping()) return refuse(RefuseReason::shutting_down);
  // Freshness comes from the challenge of this connection (a replayed hello fails here), not
  // from memory: it holds across restarts and across servers sharing a key.
  if (!protocol::verify_client_hello(key(), link.challenge(), hello))
    return refuse(RefuseReason::bad_mac);
  uint64_t now = runtime::wall_clock_ms();
  uint64_t skew = now > hello.timestamp_ms ? now - hello.timestamp_ms : hello.timestamp_ms - now;
  if (skew > config().max_clock_skew_ms) return refuse(RefuseReason::clock_skew);

  Session* session = nullptr;
  auto it = sessions_.find(hello.session);
  if (hello.lane != 0) {
    // An added connection of a live session, on a lane its first connection agreed to.
    if (it == sessions_.end() || hello.lane >= it->second->lanes_agreed())
      return refuse(RefuseReason::no_session);
    session = it->second.get();
    if (ClientLink* old = session->link_at(hello.lane)) {
      session->detach(old);
      old->end(protocol::GoAwayReason::replaced, "lane joined again on another connection");
    }
    session->attach(&link, hello.lane);
    reply.status = HelloStatus::resumed;
    stats_.lanes_joined++;
    LOG_DEBUG(log_, session->tag(), "connection %u joined from %s (%s)",
              static_cast<unsigned>(hello.lane), link.stream().peer_name().c_str(), link.tag());
    return reply;
  }
  if (hello.resume && it != sessions_.end()) {
    session = it->second.get();
    // The session's connections resume together: the client's added ones join again.
    for (ClientLink* old : session->take_links())
      old->end(protocol::GoAwayReason::replaced, "session resumed on another connection");
    reply.status = HelloStatus::resumed;
    stats_.sessions_resumed++;
  } else {
    if (it != sessions_.end()) remove_session(hello.session, "replaced by a new session");
    session = new_session(hello.session, link.source_key());
    if (!session) return refuse(RefuseReason::server_full);
    reply.status = HelloStatus::new_session;
  }
  session->attach(&link, 0);
  LOG_INFO(log_, session->tag(), "%s from %s (%s, %zu flows, worker %zu)",
           reply.status == HelloStatus::resumed ? "session resumed" : "session opened",
           link.stream().peer_name().c_str(), link.tag(), session->flow_count(), index_);
  report_session(*session, true);
  return reply;
}

Session* Worker::new_session(const protocol::SessionId& id, const std::string& source_key) {
  // An address at its share makes room with its own sessions, never another client's.
  PerSourceCount& per_client = server_.sessions_per_client();
  if (!per_client.take(source_key)) {
    if (!evict_one_session(&source_key) || !per_client.take(source_key)) return nullptr;
  }
  // The cap is the server's; what is evicted to make room is this worker's.
  if (!server_.reserve_session()) {
    evict_one_session();
    if (!server_.reserve_session()) {
      per_client.give_back(source_key);
      return nullptr;
    }
  }
  return emplace_session(id, source_key, Wire::udptun);
}

Session* Worker::emplace_session(const protocol::SessionId& id, const std::string& source_key,
                                 Wire wire) {
  auto s = std::make_unique<Session>(*this, id);
  s->set_client_key(source_key);
  s->set_wire(wire);
  Session* raw = s.get();
  sessions_.emplace(id, std::move(s));
  stats_.sessions++;
  stats_.sessions_opened++;
  return raw;
}

Session* Worker::adopt_session(const protocol::SessionId& id) {
  // Handed over without a connection: its address is learnt when its client comes back.
  return sessions_.count(id) ? nullptr : new_session(id, std::string());
}

// Which session goes: one without a connection first, then one of the address with the most
// sessions here (a client over its share pays before the others), then the least recent.
bool Worker::evict_one_session(const std::string* only_key) {
  std::map<std::string, size_t> per_client;
  for (auto& [id, s] : sessions_)
    if (s->resumable()) per_client[s->client_key()]++;
  Session* victim = nullptr;
  auto rank = [&](Session* s) {
    return std::make_tuple(s->link() != nullptr,
                           -static_cast<long long>(per_client[s->client_key()]),
                           s->last_active_ms());
  };
  for (auto& [id, s] : sessions_) {
    if (!s->resumable()) continue;  // not counted in --max-sessions: its connection bounds it
    if (only_key && s->client_key() != *only_key) continue;
    if (!victim || rank(s.get()) < rank(victim)) victim = s.get();
  }
  if (!victim) return false;
  stats_.sessions_evicted++;
  for (ClientLink* l : victim->take_links())
    l->end(protocol::GoAwayReason::normal, "session evicted: server full");
  remove_session(victim->id(), only_key ? "evicted (its address opened too many sessions)"
                                        : "evicted (server full)");
  return true;
}

void Worker::remove_session(const protocol::SessionId& id, const char* why) {
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return;
  Session& s = *it->second;
  for (ClientLink* l : s.take_links()) l->end(protocol::GoAwayReason::normal, why);
  LOG_INFO(log_, s.tag(), "session closed: %s", why);
  report_session(s, false);
  bool counted = s.resumable();
  if (!counted) clients_of(s.wire())--;
  sessions_.erase(it);
  stats_.sessions--;
  if (counted) server_.release_session();
}

void Worker::report_session(Session& s, bool up) {
  server_.report_session(protocol::session_id_hex(s.id()), up);
}

void Worker::yield_until_next_turn(ClientLink& link) {
  yielded_.push_back(&link);
  // After this turn's poll phase: reading again means the next poll serves it, after every
  // other connection had its turn.
  uv_check_start(resume_yielded_.get(), [](uv_check_t* c) {
    auto* self = static_cast<Worker*>(c->data);
    uv_check_stop(c);
    if (!self) return;
    auto links = std::move(self->yielded_);
    self->yielded_.clear();
    for (ClientLink* l : links) l->resume_after_yield();
  });
}

void Worker::handshake_over(ClientLink& link) {
  if (!link.pending_counted) return;
  link.pending_counted = false;
  handshakes_under_way_--;
  server_.pending_per_client().give_back(link.source_key());
}

void Worker::forget_link(ClientLink& link, const char* reason) {
  auto it =
      std::find_if(links_.begin(), links_.end(), [&](const auto& l) { return l.get() == &link; });
  if (it == links_.end()) return;  // already forgotten
  if (Session* s = link.session()) {
    unsigned lane = link.lane();
    s->detach(&link);
    if (!s->resumable()) {
      // Another protocol: nothing resumes it, its flows go with the connection.
      remove_session(s->id(), reason);
    } else if (lane != 0) {
      LOG_DEBUG(log_, s->tag(), "connection %u (%s) lost: %s", lane, link.tag(), reason);
    } else {
      LOG_INFO(log_, s->tag(), "connection %s lost (%s); session kept for resume", link.tag(),
               reason);
      if (!s->link()) report_session(*s, false);
    }
  } else {
    LOG_DEBUG(log_, link.tag(), "connection closed: %s", reason);
  }
  release_link(link);
  server_.connection_closed();
  check_drained();
}

void Worker::bury_dead_links(bool all) {
  uint64_t now = loop_.now_ms();
  for (auto it = dead_links_.begin(); it != dead_links_.end();) {
    if (all || !it->link->stream().is_open() || now - it->since_ms > kDeadLinkLingerMs) {
      it = dead_links_.erase(it);
    } else {
      ++it;
    }
  }
}

void Worker::sweep() {
  uint64_t now = loop_.now_ms();
  const ServerConfig& cfg = config();
  throttle_.flush(log_, now);
  if (now - own_addresses_at_ms_ >= kOwnAddressesRefreshMs) {
    own_addresses_at_ms_ = now;
    policy_.set_own_addresses(TargetPolicy::interface_addresses());
  }
  for (auto it = handshakes_by_source_.begin(); it != handshakes_by_source_.end();)
    it = now - it->second.used_ms > kHandshakeRateIdleMs ? handshakes_by_source_.erase(it)
                                                         : std::next(it);
  std::vector<ClientLink*> stale;
  for (auto& l : links_) {
    // A handshake has a deadline from accept: a byte now and then must not keep an
    // unauthenticated peer (and what it makes us hold) alive.
    bool stale_link = l->established() ? now - l->last_heard_ms() > l->silence_limit_ms()
                                       : now - l->created_ms() > cfg.handshake_timeout_ms;
    if (stale_link) stale.push_back(l.get());
  }
  for (ClientLink* l : stale) {
    if (l->established())
      LOG_INFO(log_, l->session() ? l->session()->tag() : l->tag(),
               "connection %s silent for %llu ms, closing", l->tag(),
               static_cast<unsigned long long>(now - l->last_heard_ms()));
    else
      LOG_INFO(log_, l->tag(), "connection %s not authenticated %llu ms after accept, closing",
               l->tag(), static_cast<unsigned long long>(now - l->created_ms()));
    l->end(protocol::GoAwayReason::normal, l->established() ? "link timeout" : "handshake timeout");
  }
  std::vector<protocol::SessionId> expired;
  for (auto& [id, s] : sessions_) {
    s->sweep(now);
    if (!s->link() && now - s->detached_since_ms() >= cfg.session_grace_ms) expired.push_back(id);
  }
  for (const auto& id : expired) {
    stats_.sessions_reaped++;
    remove_session(id, "no resume within the grace period");
  }
}

void Worker::begin_drain() {
  if (draining_) return;
  draining_ = true;
  std::vector<ClientLink*> open;
  for (auto& l : links_) open.push_back(l.get());
  for (ClientLink* l : open) {
    // Other protocols cannot be asked to move: their clients reconnect when closed.
    if (l->established() && l->wire() == Wire::udptun)
      l->ask_to_move(protocol::GoAwayReason::shutting_down, "server draining: reconnect");
    else
      l->end(protocol::GoAwayReason::shutting_down, "server draining");
  }
  check_drained();
}

void Worker::check_drained() {
  if (!draining_ || drained_reported_ || !links_.empty()) return;
  drained_reported_ = true;
  server_.worker_drained();
}

void Worker::publish() {
  WorkerCounters c;
  c.stats = stats_;
  c.sojourn = sojourn_;
  c.handshakes = handshakes_;
  c.stats.log_lines_suppressed = throttle_.suppressed_total();
  c.stats.egress_reassembled = egress_reassembly_.reassembled;
  c.stats.egress_fragments_dropped =
      egress_reassembly_.timed_out + egress_reassembly_.abandoned + egress_reassembly_.dropped;
  for (const auto& l : links_) {
    size_t q = l->stream().queued_bytes();
    c.queued_bytes += q;
    c.queued_bytes_max = std::max(c.queued_bytes_max, q);
  }
  std::lock_guard<std::mutex> lock(published_mutex_);
  published_ = c;
}

WorkerCounters Worker::counters() {
  // Worker 0 shares the Server's thread: its counters are read as they are now.
  if (!own_loop_) publish();
  std::lock_guard<std::mutex> lock(published_mutex_);
  return published_;
}

void Worker::shutdown() {
  burial_.close();
  turn_counter_.close();
  resume_yielded_.close();
  sweep_timer_.close();
  publish_timer_.close();
  yielded_.clear();
  // Tell every client why, then close: sessions go with the process.
  std::vector<ClientLink*> open;
  for (auto& l : links_) open.push_back(l.get());
  const char* why =
      server_.handed_over() ? "server restarting: reconnect and resume" : "server shutting down";
  for (ClientLink* l : open) l->end(protocol::GoAwayReason::shutting_down, why);
  while (!sessions_.empty())
    remove_session(sessions_.begin()->first,
                   server_.handed_over() ? "handed over to the successor" : "server stopped");
  for (auto& d : dead_links_) d.link->stream().close_flushing();
  bury_dead_links(true);
}

void sum_counters(WorkerCounters& sum, const WorkerCounters& part) {
  add_counters(sum.stats, part.stats);
  sum.sojourn.add(part.sojourn);
  sum.queued_bytes += part.queued_bytes;
  sum.handshakes += part.handshakes;
  sum.queued_bytes_max = std::max(sum.queued_bytes_max, part.queued_bytes_max);
}

}  // namespace udptun::udpserver
