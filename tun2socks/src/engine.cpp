#include "engine.hpp"

#include "udptun/protocol/socket_api.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "socks5_udp_path.hpp"
#include "tcp_session.hpp"
#include "udptun/protocol/ip_fragment_guard.hpp"
#include "udptun/udplocal_guest.hpp"

namespace udptun::tun2socks {

namespace {
constexpr uint64_t kLwipTickMs = 50;  // lwIP's fastest timer is 250 ms; this keeps them on time
constexpr uint64_t kSweepIntervalMs = 1'000;

uint16_t port_of(const struct sockaddr* sa) {
  return sa->sa_family == AF_INET ? ntohs(reinterpret_cast<const sockaddr_in*>(sa)->sin_port)
                                  : ntohs(reinterpret_cast<const sockaddr_in6*>(sa)->sin6_port);
}
}  // namespace

Engine::Engine(EngineConfig config)
    : InstanceHost(
          {kSweepIntervalMs, config.stats_interval_ms, config.metrics, config.metrics_allow}),
      config_(std::move(config)) {
  log_.set_level(config_.log_level);
}

Engine::~Engine() {
  stop_and_join();
}

void Engine::on_running() {
  LOG_INFO(log_, "", "running on %s (MTU %u%s), TCP via SOCKS5 %s, UDP %s", device_->name().c_str(),
           config_.mtu, device_->features().c_str(),
           protocol::format_address(config_.socks5).c_str(),
           config_.udp == UdpMode::udp_local ? "via the in-process udp-local"
           : config_.udp == UdpMode::socks5  ? "via SOCKS5 UDP ASSOCIATE"
                                             : "off");
  if (cb_.started) cb_.started(user_, device_->name().c_str());
}

Status Engine::open() {
  t2s_stack_callbacks scb{};
  scb.output = on_output;
  scb.tcp_accept = on_tcp_accept;
  scb.udp_datagram = on_udp;
  stack_ = t2s_stack_new(config_.mtu, &scb, this);
  if (!stack_)
    return Status::failure(
        "another tun2socks instance is running in this process (lwIP is process-wide)");
  if (config_.device == DeviceKind::callbacks) {
    auto dev = std::make_unique<CallbackDevice>(loop_, [this](const uint8_t* p, size_t n) {
      if (cb_.packet_out) cb_.packet_out(user_, p, n);
    });
    {
      std::lock_guard<std::mutex> lock(device_mutex_);
      callback_device_ = dev.get();
    }
    device_ = std::move(dev);
  } else {
    device_ = std::make_unique<TunDevice>(loop_, config_.tun_name, config_.tun_fd);
  }
  Status device = device_->start([this](const uint8_t* p, size_t n) { on_packet(p, n); });
  if (!device.ok()) return device;

  if (config_.udp == UdpMode::udp_local) {
    char err[512];
    // A guest on our loop: datagrams go in and replies come out on this thread, no hop.
    udp_local_ = udplocal::new_guest(config_.udp_local_config.c_str(), loop_, err, sizeof err);
    if (!udp_local_) return Status::failure(std::string("udp-local: ") + err);
    udplocal_callbacks ucb{};
    ucb.datagram = on_udp_reply;
    if (cb_.protect_socket) {
      ucb.protect_socket = [](void* u, int fd) {
        auto* self = static_cast<Engine*>(u);
        return self->cb_.protect_socket(self->user_, fd);
      };
    }
    // udp-local's lines join ours.
    ucb.log = [](void* u, int level, const char* line) {
      static_cast<Engine*>(u)->log_.log(static_cast<runtime::LogLevel>(level), "udp-local", "%s",
                                        line);
    };
    if (udplocal_start(udp_local_, &ucb, this) != 0)
      return Status::failure("cannot start the in-process udp-local");
  }
  if (config_.udp == UdpMode::socks5) udp_socks5_ = std::make_unique<Socks5UdpPath>(*this);
  lwip_timer_.init(this, [&](uv_timer_t* t) { return uv_timer_init(loop_.get(), t); });
  uv_timer_start(
      lwip_timer_.get(),
      [](uv_timer_t* t) { t2s_stack_check_timeouts(static_cast<Engine*>(t->data)->stack_); },
      kLwipTickMs, kLwipTickMs);
  end_of_iteration_.init(this, [&](uv_check_t* c) { return uv_check_init(loop_.get(), c); });
  uv_check_start(end_of_iteration_.get(),
                 [](uv_check_t* c) { static_cast<Engine*>(c->data)->end_of_iteration(); });
  return Status::success();
}

// An ICMP or ICMPv6 echo request (the common, extension-header-free case).
static bool is_echo_request(const uint8_t* p, size_t len) {
  if (len >= 21 && (p[0] >> 4) == 4) {
    size_t ihl = static_cast<size_t>(p[0] & 0x0F) * 4;
    return p[9] == 1 && len > ihl && p[ihl] == 8;
  }
  return len >= 41 && (p[0] >> 4) == 6 && p[6] == 58 && p[40] == 128;
}

void Engine::on_packet(const uint8_t* packet, size_t len) {
  stats_.packets_in++;
  if (!config_.answer_ping && is_echo_request(packet, len)) {
    stats_.packets_dropped++;  // pings then time out, as they would through a TCP-only proxy
    return;
  }
  if (protocol::ipv6_fragment_refusal(protocol::ByteView(packet, len))) {
    stats_.packets_dropped++;  // the app's datagram is over what the stack can reassemble
    return;
  }
  if (t2s_stack_input(stack_, packet, len) != 0) stats_.packets_dropped++;
}

void Engine::on_output(void* user, const struct iovec* iov, int iovcnt) {
  auto* self = static_cast<Engine*>(user);
  if (self->device_ && self->device_->send(iov, iovcnt)) {
    self->stats_.packets_out++;
  } else {
    self->stats_.packets_dropped++;
  }
}

int Engine::on_tcp_accept(void* user, t2s_tcp* conn, const struct sockaddr* /*src*/,
                          const struct sockaddr* dst) {
  auto* self = static_cast<Engine*>(user);
  auto destination = protocol::address_from_sockaddr(dst);
  if (!destination || self->sessions_.size() >= self->config_.max_tcp_connections) {
    self->stats_.tcp_refused++;
    return 0;  // RST
  }
  auto session = std::make_unique<TcpSession>(*self, conn, *destination, self->next_serial_++);
  TcpSession* raw = session.get();
  self->sessions_.push_back(std::move(session));
  self->stats_.tcp_connections++;
  if (!raw->start()) {  // finished and retired already; lwIP resets the connection
    self->stats_.tcp_refused++;
    return 0;
  }
  self->stats_.tcp_opened++;
  return 1;
}

void Engine::on_udp(void* user, const struct sockaddr* src, const struct sockaddr* dst,
                    const uint8_t* data, size_t len) {
  auto* self = static_cast<Engine*>(user);
  const auto& drop = self->config_.drop_udp_ports;
  if ((!self->udp_local_ && !self->udp_socks5_) ||
      std::find(drop.begin(), drop.end(), port_of(dst)) != drop.end()) {
    self->stats_.udp_dropped++;
    return;
  }
  if (self->udp_socks5_) {
    auto s = protocol::address_from_sockaddr(src);
    auto d = protocol::address_from_sockaddr(dst);
    if (!s || !d || !self->udp_socks5_->submit(*s, *d, protocol::ByteView(data, len)))
      self->stats_.udp_dropped++;
    return;
  }
  if (udplocal_submit(self->udp_local_, src, dst, data, len) != 0) {
    self->stats_.udp_dropped++;
    return;
  }
  self->stats_.udp_datagrams_up++;
}

void Engine::on_udp_reply(void* user, const struct sockaddr* src, const struct sockaddr* dst,
                          const uint8_t* data, size_t len) {
  static_cast<Engine*>(user)->deliver_udp(src, dst, protocol::ByteView(data, len));
}

void Engine::deliver_udp(const struct sockaddr* src, const struct sockaddr* dst,
                         protocol::ByteView payload) {
  if (stack_ && t2s_udp_send(stack_, src, dst, payload.data, payload.size) == 0) {
    stats_.udp_datagrams_down++;
  } else {
    stats_.udp_dropped++;
  }
}

int Engine::packet_in(const uint8_t* packet, size_t len) {
  std::lock_guard<std::mutex> lock(device_mutex_);
  if (!callback_device_) return -EPIPE;
  return callback_device_->push(packet, len);
}

void Engine::defer(TcpSession* s) {
  deferred_.insert(s);
}

void Engine::retire(TcpSession* s) {
  deferred_.erase(s);
  auto it =
      std::find_if(sessions_.begin(), sessions_.end(), [&](const auto& p) { return p.get() == s; });
  if (it == sessions_.end()) return;
  retired_.push_back(std::move(*it));
  sessions_.erase(it);
  stats_.tcp_connections--;
}

void Engine::end_of_iteration() {
  while (!deferred_.empty()) {
    TcpSession* s = *deferred_.begin();
    deferred_.erase(deferred_.begin());
    s->on_deferred();
  }
  retired_.clear();
}

void Engine::sweep() {
  uint64_t now = loop_.now_ms();
  std::vector<TcpSession*> slow;
  for (auto& s : sessions_) {
    if (s->connecting() && now - s->created_ms() > config_.tcp_connect_timeout_ms)
      slow.push_back(s.get());
  }
  for (TcpSession* s : slow) s->abort("SOCKS5 connect timed out");
  if (udp_socks5_) udp_socks5_->sweep(now);
}

void Engine::refresh_derived_stats() {
  if (udp_local_) {
    udplocal_stats u{};
    udplocal_get_stats(udp_local_, &u);
    stats_.udp_tunnel_up = u.link_up;
    stats_.udp_rtt_us = u.rtt_us;
    stats_.udp_flows = u.flows;
  }
}

void Engine::shutdown() {
  LOG_INFO(log_, "", "stopping");
  lwip_timer_.close();
  end_of_iteration_.close();
  {
    std::lock_guard<std::mutex> lock(device_mutex_);
    callback_device_ = nullptr;
  }
  if (device_) device_->stop();
  std::vector<TcpSession*> open;
  for (auto& s : sessions_) open.push_back(s.get());
  for (TcpSession* s : open) s->abort("shutting down");
  deferred_.clear();
  retired_.clear();
  udp_socks5_.reset();
  if (udp_local_) {
    udplocal_stop(udp_local_);  // a guest: closes its handles now, no reply after this
    udplocal_free(udp_local_);
    udp_local_ = nullptr;
  }
  if (stack_) {
    t2s_stack_free(stack_);
    stack_ = nullptr;
  }
  device_.reset();
}

}  // namespace udptun::tun2socks
