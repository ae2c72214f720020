#include "server.hpp"

#include <algorithm>
#include <cstring>

#include "client_link.hpp"
#include "handover_point.hpp"
#include "session.hpp"
#include "system_resolver.hpp"
#include "tun2socks_egress.hpp"
#include "udptun/runtime/process_control.hpp"
#include "udptun/runtime/secure_random.hpp"
#include "udptun/runtime/tcp_listener.hpp"
#include "worker.hpp"

namespace udptun::udpserver {

using protocol::ByteView;

namespace {

constexpr uint64_t kClientRatesSweepMs = 10'000;

}  // namespace

Server::Server(ServerConfig config, runtime::EventLoop* host)
    : InstanceHost(
          {kSweepIntervalMs, config.stats_interval_ms, config.metrics, config.metrics_allow}, host),
      config_(std::move(config)),
      key_(ByteView(config_.key)) {
  log_.set_level(config_.log_level);
  if (!config_.udpgw_listen.empty())
    udpgw_dns_ = config_.udpgw_dns ? config_.udpgw_dns : system_resolver();
  worker_count_ = config_.workers;
  if (worker_count_ == 0) {
#ifdef _WIN32
    worker_count_ = 1;  // a socket cannot move between loops there
#else
    worker_count_ = config_.egress == ServerConfig::Egress::tun2socks
                        ? 1
                        : std::max(1u, uv_available_parallelism());
#endif
  }
}

Server::~Server() {
  stop_and_join();
}

Status Server::open() {
  // From now on the application's log callback may be called from every worker: one at a time.
  if (auto sink = log_sink()) log_.set_sink(std::move(sink));
  if (config_.egress == ServerConfig::Egress::tun2socks) {
    egress_ = std::make_unique<Tun2socksEgress>(loop_, log_);
    Status egress = egress_->start(config_.egress_socks5, config_.egress_socks5_username,
                                   config_.egress_socks5_password);
    if (!egress.ok()) return egress;
  }
  derive_limits();
  Status opened = open_tls();
  if (opened.ok()) opened = open_workers();
  if (opened.ok() && !config_.handover_socket.empty()) opened = take_over();
  if (opened.ok()) opened = open_listeners();
  return opened;
}

Status Server::open_workers() {
  // Each worker holds its share of the unauthenticated connections (all on worker 0 when
  // handshakes are not spread).
  size_t running_handshakes = tls_ ? worker_count_ : 1;
  pending_cap_per_worker_ =
      std::max<uint64_t>(1, config_.max_pending_handshakes / running_handshakes);
  for (size_t i = 0; i < worker_count_; ++i)
    workers_.push_back(std::make_unique<Worker>(*this, i, i == 0 ? &loop_ : nullptr));
  LOG_INFO(log_, "", "%zu worker%s", worker_count_, worker_count_ == 1 ? "" : "s");
  return Status::success();
}

void Server::on_running() {
  workers_[0]->open();
  for (size_t i = 1; i < workers_.size(); ++i) {
    int rc = workers_[i]->start_thread();
    if (rc != 0) {
      report_error(std::string("cannot start a worker thread: ") + uv_strerror(rc));
      loop_.request_stop();
      return;
    }
  }
  listen_for_successor();
}

Worker& Server::worker_for(const protocol::SessionId& id) {
  // Session ids are random (the client's secure random): their first bytes spread evenly.
  uint64_t h = 0;
  std::memcpy(&h, id.data(), sizeof h);
  return *workers_[h % workers_.size()];
}

runtime::Logger::Sink Server::log_sink() {
  if (!cb_.log) return nullptr;
  return [this](runtime::LogLevel l, const char* line) {
    std::lock_guard<std::mutex> lock(callback_mutex_);
    cb_.log(user_, static_cast<int>(l), line);
  };
}

void Server::report_session(const std::string& id_hex, bool up) {
  if (!cb_.session) return;
  std::lock_guard<std::mutex> lock(callback_mutex_);
  cb_.session(user_, id_hex.c_str(), up ? 1 : 0);
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
  for (const auto& addr : config_.listen)
    if (Status s = open_listener(addr, Wire::udptun); !s.ok()) return s;
  for (const auto& addr : config_.udpgw_listen)
    if (Status s = open_listener(addr, Wire::udpgw); !s.ok()) return s;
  for (const auto& addr : config_.socks5_listen)
    if (Status s = open_listener(addr, Wire::socks5); !s.ok()) return s;
  return Status::success();
}

Status Server::open_listener(const protocol::Address& addr, Wire wire) {
  for (const auto& a : adopted_listeners_) {
    if (a.type == addr.type && a.ip == addr.ip && (a.port == addr.port || addr.port == 0))
      return Status::success();  // a predecessor's, already listening
  }
  runtime::UvHandle<uv_tcp_t> l;
  auto bound = runtime::listen_tcp(loop_, this, addr, connection_callback(wire), l);
  if (!bound.ok()) return bound.status();
  std::string name = protocol::format_address(bound.value());
  if (wire != Wire::udptun) {
    LOG_INFO(log_, "", "listening on %s for %s clients", name.c_str(), wire_name(wire));
    // No key: anyone who reaches the port relays through us, unless credentials (SOCKS5) or
    // an allow-list say who may.
    bool credentials = wire == Wire::socks5 && !config_.socks5_listen_username.empty();
    if (!addr.is_loopback() && config_.allow_clients.empty() && !credentials)
      LOG_WARN(log_, "",
               "the %s listener %s is not on loopback and has neither credentials nor "
               "--allow-client: anyone who reaches it can send UDP through this server",
               wire_name(wire), name.c_str());
  } else {
    LOG_INFO(log_, "", "listening on %s", name.c_str());
  }
  if (cb_.started) cb_.started(user_, name.c_str());
  listeners_.push_back(std::move(l));
  return Status::success();
}

template <Wire W>
void Server::on_connection(uv_stream_t* listener, int status) {
  auto* self = static_cast<Server*>(listener->data);
  if (!self || status != 0) return;
  self->accept_one(listener, W);
}

uv_connection_cb Server::connection_callback(Wire wire) {
  switch (wire) {
    case Wire::udpgw:
      return on_connection<Wire::udpgw>;
    case Wire::socks5:
      return on_connection<Wire::socks5>;
    case Wire::udptun:
      break;
  }
  return on_connection<Wire::udptun>;
}

// Every connection is accepted on worker 0 (this loop) and checked here; its handshake runs
// where handshake_worker() says.
void Server::accept_one(uv_stream_t* listener, Wire wire) {
  Worker& first = *workers_[0];
  auto link = std::make_unique<ClientLink>(first, next_link_serial_++, wire);
  if (link->accept(listener) != 0) return;
  uint64_t now = loop_.now_ms();
  // Accepted only to be closed at once (the backlog drains; the peer learns): the descriptor
  // budget is spent, or this address has enough unauthenticated connections already.
  auto refuse = [&](const char* why) {
    first.stats().connections_refused++;
    LOG_WARN_THROTTLED(log_, first.throttle(), "connection refused", now, link->tag(),
                       "connection from %s refused: %s", link->stream().peer_name().c_str(), why);
    link->stream().close();
  };
  if (!config_.allow_clients.empty()) {
    auto peer = link->stream().peer_address();
    if (!peer || !config_.allow_clients.permits(*peer)) return refuse("not in --allow-client");
  }
  if (open_connections_ >= max_connections_) return refuse("too many connections");
  Worker* runner = nullptr;
  protocol::SessionId id{};  // another protocol's: the session the connection opens
  if (wire == Wire::udptun) {
    if (!first.admit_handshake(*link)) return refuse("new connections from this address too fast");
    if (!pending_per_client_.take(link->source_key()))
      return refuse("too many unauthenticated connections from this address");
    link->pending_counted = true;
    runner = &handshake_worker();
    runner->expect_handshake();
  } else {
    // No handshake (nothing costly to rate-limit): the connection is a session of its own from
    // the start, on the worker its (random) id belongs to; --max-connections-per-client and
    // --max-connections bound them.
    if (!connections_per_client_.take(link->source_key()))
      return refuse("too many connections from this address");
    link->connection_counted = true;
    runtime::fill_secure_random(id);
    runner = &worker_for(id);
  }
  open_connections_++;
  LOG_DEBUG(log_, link->tag(), "%s connection from %s, on worker %zu", wire_name(wire),
            link->stream().peer_name().c_str(), runner->index());
  if (runner == &first)
    first.start_handshake(std::move(link), id);
  else
    runner->take_fresh_link(*link, id);
}

Worker& Server::handshake_worker() {
  if (!tls_ || workers_.size() == 1) return *workers_[0];
  // The least busy, searched from a rotating start so that equals take turns.
  size_t n = workers_.size(), best = next_handshake_worker_ % n;
  for (size_t k = 1; k < n; ++k) {
    size_t i = (next_handshake_worker_ + k) % n;
    if (workers_[i]->handshakes_under_way() < workers_[best]->handshakes_under_way()) best = i;
  }
  next_handshake_worker_ = best + 1;
  return *workers_[best];
}

std::shared_ptr<ClientRate> Server::client_rate(const std::string& source_key) {
  if (!config_.client_packets_per_second && !config_.client_bytes_per_second) return nullptr;
  std::lock_guard<std::mutex> lock(client_rates_mutex_);
  auto& weak = client_rates_[source_key];
  auto rate = weak.lock();
  if (!rate) {
    rate = std::make_shared<ClientRate>(worker_count_ > 1);
    rate->up = rate->down =
        runtime::RateLimit(config_.client_packets_per_second, config_.client_bytes_per_second);
    weak = rate;
  }
  return rate;
}

void Server::worker_drained() {
  // From any worker: counted on this loop.
  loop_.post([this] {
    if (++workers_drained_ < workers_.size()) return;
    LOG_INFO(log_, "", "drained: every client moved");
    loop_.request_stop();
  });
}

void Server::sweep() {
  uint64_t now = loop_.now_ms();
  workers_[0]->sweep();
  if (now - client_rates_swept_ms_ >= kClientRatesSweepMs) {
    client_rates_swept_ms_ = now;
    // Addresses none of whose sessions is left: their shared limits go.
    std::lock_guard<std::mutex> lock(client_rates_mutex_);
    for (auto it = client_rates_.begin(); it != client_rates_.end();)
      it = it->second.expired() ? client_rates_.erase(it) : std::next(it);
  }
}

WorkerCounters Server::all_counters() {
  WorkerCounters sum;
  for (auto& w : workers_) sum_counters(sum, w->counters());
  return sum;
}

void Server::refresh_derived_stats() {
  if (!workers_.empty()) stats_ = all_counters().stats;
}

void Server::shutdown() {
  stopping_ = true;
  LOG_INFO(log_, "", "stopping");
  listeners_.clear();
  drain_timer_.close();
  if (handover_) handover_->close(!handed_over_);
  // Workers 1..N-1 close on their own threads (their clients told why); worker 0 here.
  for (size_t i = workers_.size(); i-- > 1;) workers_[i]->stop_thread();
  if (!workers_.empty()) workers_[0]->shutdown();
  if (egress_) egress_->stop();  // after the flows: they detach from it
}

}  // namespace udptun::udpserver
