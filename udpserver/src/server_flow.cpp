// A datagram's path, client → target: ClientLink → Session::on_frame (session.cpp) → here,
// ServerFlow::send: target policy, amplification bookkeeping → its UDP socket (or the SOCKS5 /
// tun2socks egress) → the target. And back: the socket → here, on_datagram: filtering mode,
// amplification guard → Session::deliver → the client's link.
#include "server_flow.hpp"

#include "udptun/protocol/socket_api.hpp"

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>

#include "server_config.hpp"
#include "session.hpp"
#include "worker.hpp"

namespace udptun::udpserver {

using protocol::Address;
using protocol::ByteView;

namespace {
constexpr size_t kMaxWaitingDatagrams = 8;
constexpr size_t kMaxContacted = 64;
}  // namespace

namespace {
AmplificationGuard::Limits guard_limits(const ServerConfig& c) {
  return {c.amplification_ratio, c.amplification_allowance_bytes, c.amplification_window_ms};
}
}  // namespace

ServerFlow::ServerFlow(Session& session, uint32_t id, const Address& target)
    : session_(session),
      id_(id),
      target_(target),
      socket_(session.worker().loop(), *this),
      guard_(guard_limits(session.worker().config())),
      resolver_(session.worker().loop()) {
  last_active_ms_ = created_ms_ = session.worker().loop().now_ms();
  dns_only_ = target.port == 53;
}

ServerFlow::~ServerFlow() {
  session_.release_held(waiting_bytes_);
  if (via_tun2socks_) {
    if (Tun2socksEgress* e = session_.worker().tun2socks_egress()) e->detach(endpoint_);
  }
}

void ServerFlow::start() {
  if (target_.is_ip()) {
    protocol::address_to_sockaddr(target_, &target_sa_);
    open_socket();
    return;
  }
  // Prefer IPv4 when both exist: every server has IPv4 egress, not every one has IPv6.
  Status started = resolver_.resolve(
      target_, {SOCK_DGRAM, true, true}, [this](Result<sockaddr_storage> address) {
        if (!address.ok()) {
          session_.flow_failed(*this, protocol::FlowState::resolve_failed,
                               address.message().c_str());
          return;  // the session may have destroyed us
        }
        target_sa_ = address.value();
        open_socket();
      });
  if (!started.ok())
    session_.flow_failed(*this, protocol::FlowState::resolve_failed, started.message().c_str());
}

void ServerFlow::open_socket() {
  // The policy is applied to the resolved address, so a name cannot smuggle in loopback.
  const sockaddr* to = reinterpret_cast<const sockaddr*>(&target_sa_);
  if (const char* why = session_.worker().policy().refuse_reason(to)) {
    session_.flow_failed(*this, protocol::FlowState::target_forbidden, why);
    return;
  }
  auto resolved = protocol::address_from_sockaddr(to);
  if (resolved) target_ip_ = *resolved;
  const ServerConfig& cfg = session_.worker().config();
  if (cfg.egress == ServerConfig::Egress::tun2socks && session_.worker().tun2socks_egress()) {
    endpoint_ = session_.worker().tun2socks_egress()->attach(*this, target_ip_.type);
    via_tun2socks_ = true;
    became_ready();
    return;
  }
  if (cfg.egress == ServerConfig::Egress::socks5) {
    // Our own socket is replaced by a UDP ASSOCIATE at the egress SOCKS5 server; the flow is
    // ready once the relay answered.
    via_socks5_ = std::make_unique<runtime::Socks5UdpAssociation>(
        session_.worker().loop(), *this, cfg.egress_socks5, cfg.egress_socks5_username,
        cfg.egress_socks5_password);
    if (!via_socks5_->start())
      session_.flow_failed(*this, protocol::FlowState::socket_error,
                           "cannot reach the egress SOCKS5 server");
    return;
  }
  sockaddr_storage any{};
  if (to->sa_family == AF_INET6) {
    auto* a6 = reinterpret_cast<sockaddr_in6*>(&any);
    a6->sin6_family = AF_INET6;
    a6->sin6_addr = in6addr_any;
  } else {
    auto* a4 = reinterpret_cast<sockaddr_in*>(&any);
    a4->sin_family = AF_INET;
    a4->sin_addr.s_addr = htonl(INADDR_ANY);
  }
  int rc = socket_.open(reinterpret_cast<sockaddr*>(&any));
  if (rc != 0) {
    session_.flow_failed(*this, protocol::FlowState::socket_error, uv_strerror(rc));
    return;
  }
  became_ready();
}

void ServerFlow::became_ready() {
  auto waiting = std::move(waiting_);
  waiting_.clear();
  session_.release_held(waiting_bytes_);
  waiting_bytes_ = 0;
  for (const auto& d : waiting) send(ByteView(d), nullptr);
  ready_reported_ = true;
  session_.flow_ready(*this);
}

void ServerFlow::on_association_datagram(const Address& source, ByteView payload) {
  bool from_target = target_.is_ip() && source.type == target_ip_.type &&
                     source.port == target_ip_.port && source.ip == target_ip_.ip;
  if (from_target) {
    last_active_ms_ = session_.worker().loop().now_ms();
    reply(payload, nullptr);
    return;
  }
  from_internet(payload, source);
}

void ServerFlow::from_internet(ByteView payload, const Address& source) {
  // Unsolicited datagrams do not keep a mapping alive under the dependent modes: only what the
  // app sent and what it asked for (RFC 4787 REQ-6 leaves this open; a port scan should not
  // pin sockets).
  if (!permitted(source)) {
    session_.worker().stats().drops_filtered++;
    return;
  }
  last_active_ms_ = session_.worker().loop().now_ms();
  // The client names the source only when it is not the target it asked for (a name is
  // never "the same": the client learns the address it resolved to).
  reply(payload, &source);
}

void ServerFlow::reply(ByteView payload, const Address* source) {
  if (!guard_.admit_reply(payload.size, session_.worker().loop().now_ms())) {
    session_.worker().stats().drops_amplification++;
    return;
  }
  session_.deliver(*this, payload, source);
}

void ServerFlow::note_contacted(const Address& to) {
  if (session_.worker().config().filtering == ServerConfig::Filtering::endpoint_independent) return;
  for (const Address& a : contacted_) {
    if (a.type == to.type && a.port == to.port && a.ip == to.ip) return;
  }
  if (contacted_.size() < kMaxContacted) {
    contacted_.push_back(to);
  } else {
    contacted_[contacted_next_] = to;
    contacted_next_ = (contacted_next_ + 1) % kMaxContacted;
  }
}

bool ServerFlow::permitted(const Address& source) const {
  auto mode = session_.worker().config().filtering;
  if (mode == ServerConfig::Filtering::endpoint_independent) return true;
  bool with_port = mode == ServerConfig::Filtering::address_and_port_dependent;
  auto matches = [&](const Address& a) {
    return a.type == source.type && a.ip == source.ip && (!with_port || a.port == source.port);
  };
  if (target_ip_.is_ip() && target_ip_.port != 0 && matches(target_ip_)) return true;
  return std::any_of(contacted_.begin(), contacted_.end(), matches);
}

protocol::socks5::ReassemblyCounters* ServerFlow::reassembly_counters() {
  return &session_.worker().egress_reassembly();
}

void ServerFlow::on_association_foreign() {
  session_.worker().stats().drops_not_from_relay++;
}

void ServerFlow::on_association_failed(const char* why) {
  if (ready_reported_) {
    // The association died under an open flow (the SOCKS5 server restarted): the client
    // forgets the flow and its next datagram opens a fresh one.
    session_.flow_lost(*this, why);
  } else {
    session_.flow_failed(*this, protocol::FlowState::socket_error, why);
  }
}

void ServerFlow::send(ByteView payload, const Address* to) {
  Worker& worker = session_.worker();
  udpserver_stats& st = worker.stats();
  last_active_ms_ = worker.loop().now_ms();
  if (!ready()) {
    if ((resolver_.busy() || via_socks5_) && waiting_.size() < kMaxWaitingDatagrams) {
      if (session_.hold(payload.size)) {  // else counted as drops_held
        waiting_.emplace_back(payload.data, payload.data + payload.size);
        waiting_bytes_ += payload.size;
      }
    } else {
      st.drops_send_failed++;
    }
    return;
  }
  const sockaddr* dest = reinterpret_cast<const sockaddr*>(&target_sa_);
  sockaddr_storage other;
  if (to) {
    if (!to->is_ip() || protocol::address_to_sockaddr(*to, &other) == 0 ||
        other.ss_family != target_sa_.ss_family) {
      st.drops_forbidden++;
      return;
    }
    dest = reinterpret_cast<const sockaddr*>(&other);
    if (worker.policy().refuse_reason(dest)) {
      st.drops_forbidden++;
      return;
    }
    if (to->port != 53) dns_only_ = false;
    note_contacted(*to);
  }
  guard_.on_request(payload.size, last_active_ms_);
  if (via_tun2socks_) {
    if (!worker.tun2socks_egress()->send(endpoint_, to ? *to : target_ip_, payload)) {
      st.drops_send_failed++;
      return;
    }
  } else if (via_socks5_)
    via_socks5_->send(to ? *to : target_ip_, payload);
  else
    socket_.queue(ByteView(), payload, dest);  // leaves with its batch at the end of the iteration
  st.datagrams_to_targets++;
  st.bytes_to_targets += payload.size;
}

void ServerFlow::on_send_dropped(size_t count) {
  udpserver_stats& st = session_.worker().stats();
  st.drops_send_failed += count;
  st.datagrams_to_targets -= std::min<uint64_t>(st.datagrams_to_targets, count);
}

void ServerFlow::on_datagram(ByteView payload, const struct sockaddr* from) {
  if (target_.is_ip() &&
      protocol::same_endpoint(from, reinterpret_cast<const sockaddr*>(&target_sa_))) {
    last_active_ms_ = session_.worker().loop().now_ms();
    reply(payload, nullptr);
    return;
  }
  auto source = protocol::address_from_sockaddr(from);
  if (!source) return;
  from_internet(payload, *source);
}

bool ServerFlow::bound_address(Address& out) const {
  sockaddr_storage ss;
  // Through the egress SOCKS5 server, the address targets see is the relay's, not known here.
  if (via_socks5_ || via_tun2socks_ || socket_.local_address(&ss) != 0) return false;
  auto a = protocol::address_from_sockaddr(reinterpret_cast<sockaddr*>(&ss));
  if (!a) return false;
  out = *a;
  return true;
}

}  // namespace udptun::udpserver
