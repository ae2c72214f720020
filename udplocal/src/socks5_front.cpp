#include "socks5_front.hpp"

#include "udptun/runtime/tcp_listener.hpp"

#include <algorithm>

#include "client.hpp"

namespace udptun::udplocal {

namespace {
constexpr uint64_t kNegotiationTimeoutMs = 10'000;  // slowloris: finish the handshake or go
constexpr size_t kMaxControlConnections = 1'024;
}  // namespace

Socks5Front::Socks5Front(Client& client) : client_(client) {}

Socks5Front::~Socks5Front() {
  listener_.close();
  burial_.close();
  sessions_.clear();
  finished_.clear();
}

Status Socks5Front::open() {
  const auto& at = client_.config().socks5_listen;
  auto bound = runtime::listen_tcp(client_.loop(), this, at, on_connection, listener_);
  if (!bound.ok()) return bound.status().within("SOCKS5");
  burial_.init(this, [&](uv_check_t* c) { return uv_check_init(client_.loop().get(), c); });
  uv_check_start(burial_.get(),
                 [](uv_check_t* c) { static_cast<Socks5Front*>(c->data)->finished_.clear(); });
  std::string name = protocol::format_address(bound.value());
  LOG_INFO(client_.log(), "", "SOCKS5 front on %s%s", name.c_str(),
           client_.config().socks5_username.empty() ? "" : " (username/password required)");
  const auto& listen_at = client_.config().socks5_listen;
  bool loopback = (listen_at.type == protocol::AddressType::ipv4 && listen_at.ip[0] == 127) ||
                  (listen_at.type == protocol::AddressType::ipv6 && name.rfind("[::1]", 0) == 0);
  if (!loopback && client_.config().socks5_username.empty() &&
      client_.config().allow_clients.empty()) {
    LOG_WARN(client_.log(), "",
             "the SOCKS5 front on %s takes anyone who can reach it: set "
             "--socks5-username/--socks5-password or --allow-client, or listen on loopback",
             name.c_str());
  }
  client_.report_started("socks5", name);
  return Status::success();
}

void Socks5Front::on_connection(uv_stream_t* listener, int status) {
  auto* self = static_cast<Socks5Front*>(listener->data);
  if (!self || status != 0) return;
  auto session = std::make_unique<Socks5Session>(*self, self->next_serial_++);
  if (session->accept(listener) != 0) return;
  if (!self->client_.config().allow_clients.empty()) {
    auto peer = session->peer_address();
    if (!peer || !self->client_.config().allow_clients.permits(*peer)) {
      self->client_.stats().drops_not_allowed++;
      return;  // destroyed here: the connection closes
    }
  }
  if (self->sessions_.size() >= kMaxControlConnections) {
    LOG_WARN(self->client_.log(), session->tag(), "too many SOCKS5 connections, refusing");
    return;  // destroyed here: the connection closes
  }
  self->sessions_.push_back(std::move(session));
}

void Socks5Front::finished(Socks5Session& session) {
  auto it = std::find_if(sessions_.begin(), sessions_.end(),
                         [&](const auto& s) { return s.get() == &session; });
  if (it == sessions_.end()) return;
  finished_.push_back(std::move(*it));
  sessions_.erase(it);
}

void Socks5Front::sweep(uint64_t now_ms) {
  std::vector<Socks5Session*> slow;
  for (auto& s : sessions_) {
    s->expire_fragments(now_ms);
    if (s->idle_in_negotiation(now_ms, kNegotiationTimeoutMs)) slow.push_back(s.get());
  }
  for (Socks5Session* s : slow) {
    LOG_INFO(client_.log(), s->tag(), "SOCKS5 negotiation timed out");
    finished(*s);
  }
}

}  // namespace udptun::udplocal
