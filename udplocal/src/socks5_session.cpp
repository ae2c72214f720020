#include "socks5_session.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "client.hpp"
#include "socks5_front.hpp"

namespace udptun::udplocal {

using protocol::Address;
using protocol::ByteView;
using protocol::ByteWriter;
namespace socks5 = protocol::socks5;

namespace {
// Relay backpressure: stop reading one side while the other has this much queued.
constexpr size_t kRelayHighWater = 1u << 20;
constexpr size_t kRelayQueueCap = 8u << 20;
}  // namespace

class Socks5Session::Upstream : public runtime::TcpStream::Events {
 public:
  explicit Upstream(Socks5Session& s) : s_(s) {}
  void on_stream_data(ByteView d) override { s_.upstream_data(d); }
  void on_stream_closed(const char* r) override { s_.upstream_closed(r); }
  void on_stream_connected(int status) override { s_.upstream_connected(status); }
  void on_stream_drained() override { s_.upstream_drained(); }

 private:
  Socks5Session& s_;
};

Socks5Session::Socks5Session(Socks5Front& front, uint64_t serial)
    : front_(front),
      client_(front.client()),
      stream_(front.client().loop(), *this, kRelayQueueCap),
      created_ms_(front.client().loop().now_ms()) {
  std::snprintf(tag_, sizeof tag_, "socks5=%llu", static_cast<unsigned long long>(serial));
}

Socks5Session::~Socks5Session() {
  association_.reset();  // closes its flows while the client is still whole
  upstream_.reset();
  stream_.close_flushing();  // a last reply (a refusal) still goes out
}

int Socks5Session::accept(uv_stream_t* listener) {
  int rc = stream_.accept_from(listener);
  if (rc == 0) rc = stream_.start_reading();
  return rc;
}

void Socks5Session::expire_fragments(uint64_t now_ms) {
  if (association_ && association_->expire_fragments(now_ms))
    LOG_DEBUG(client_.log(), tag_, "SOCKS5 fragments: a sequence not whole in time, given up");
}

bool Socks5Session::idle_in_negotiation(uint64_t now_ms, uint64_t limit_ms) const {
  bool negotiating = stage_ == Stage::greeting || stage_ == Stage::auth ||
                     stage_ == Stage::request || stage_ == Stage::upstream;
  return negotiating && now_ms - created_ms_ > limit_ms;
}

void Socks5Session::finish(const char* why) {
  if (stage_ == Stage::done) return;
  stage_ = Stage::done;
  LOG_DEBUG(client_.log(), tag_, "SOCKS5 connection ends: %s", why);
  stream_.close_after_flush();
  upstream_.reset();
  association_.reset();
  front_.finished(*this);
}

void Socks5Session::on_stream_closed(const char* reason) {
  finish(reason);
}

void Socks5Session::on_stream_data(ByteView data) {
  if (stage_ == Stage::relaying) {
    if (!upstream_->write(data, true)) {
      finish("upstream gone");
      return;
    }
    if (upstream_->queued_bytes() > kRelayHighWater) stream_.stop_reading();
    return;
  }
  if (stage_ == Stage::associated) return;  // nothing more is said on the control connection
  if (stage_ == Stage::done || stage_ == Stage::upstream) return;
  inbox_.insert(inbox_.end(), data.data, data.data + data.size);
  if (inbox_.size() > 1024) {  // no valid negotiation message is this long
    refuse(socks5::Reply::general_failure, "negotiation too long");
    return;
  }
  negotiate();
}

void Socks5Session::reply(socks5::Reply code, const Address* bound) {
  socks5::ReplyMessage m;
  m.reply = code;
  if (bound) {
    m.bound = *bound;
  } else {
    uint8_t zero[4] = {0, 0, 0, 0};
    m.bound = Address::ipv4(zero, 0);
  }
  std::vector<uint8_t> out;
  ByteWriter w(out);
  socks5::encode_reply(w, m);
  stream_.write(ByteView(out), true);
}

void Socks5Session::refuse(socks5::Reply code, const char* why) {
  LOG_INFO(client_.log(), tag_, "SOCKS5 request refused (%s): %s", socks5::reply_name(code), why);
  reply(code, nullptr);
  finish(why);
}

void Socks5Session::negotiate() {
  const ClientConfig& cfg = client_.config();
  while (stage_ == Stage::greeting || stage_ == Stage::auth || stage_ == Stage::request) {
    ByteView in(inbox_);
    size_t used = 0;
    if (stage_ == Stage::greeting) {
      auto g = socks5::decode_greeting(in);
      if (g.need_more()) return;
      if (g.failed()) {
        LOG_INFO(client_.log(), tag_, "not a SOCKS5 client: %s", g.error);
        finish(g.error);
        return;
      }
      used = g.consumed;
      bool need_auth = !cfg.socks5_username.empty();
      uint8_t method = need_auth ? socks5::method::kUserPass : socks5::method::kNoAuth;
      if (!g.value.offers(method)) method = socks5::method::kNoAcceptable;
      std::vector<uint8_t> out;
      ByteWriter w(out);
      socks5::encode_method_selection(w, socks5::MethodSelection{method});
      stream_.write(ByteView(out), true);
      if (method == socks5::method::kNoAcceptable) {
        finish(need_auth ? "client offers no username/password" : "client offers no usable method");
        return;
      }
      stage_ = need_auth ? Stage::auth : Stage::request;
    } else if (stage_ == Stage::auth) {
      auto u = socks5::decode_user_pass_request(in);
      if (u.need_more()) return;
      bool good = u.ok() && u.value.user_name() == cfg.socks5_username &&
                  u.value.password_text() == cfg.socks5_password;
      std::vector<uint8_t> out;
      ByteWriter w(out);
      socks5::encode_user_pass_status(w,
                                      socks5::UserPassStatus{static_cast<uint8_t>(good ? 0 : 1)});
      stream_.write(ByteView(out), true);
      if (!good) {
        LOG_WARN(client_.log(), tag_, "SOCKS5 authentication failed%s%s", u.failed() ? ": " : "",
                 u.failed() ? u.error : "");
        finish("authentication failed");
        return;
      }
      used = u.consumed;
      stage_ = Stage::request;
    } else {
      auto q = socks5::decode_request(in);
      if (q.need_more()) return;
      if (q.failed()) {
        refuse(static_cast<socks5::Reply>(q.code ? q.code : 1), q.error);
        return;
      }
      inbox_.erase(inbox_.begin(), inbox_.begin() + static_cast<long>(q.consumed));
      switch (q.value.command) {
        case socks5::Command::udp_associate:
          associate(q.value);
          return;
        case socks5::Command::connect:
          connect_upstream(q.value);
          return;
        case socks5::Command::bind:
          refuse(socks5::Reply::command_not_supported, "BIND is not supported");
          return;
      }
      return;
    }
    inbox_.erase(inbox_.begin(), inbox_.begin() + static_cast<long>(used));
  }
}

void Socks5Session::associate(const socks5::Request& req) {
  auto peer = stream_.peer_address();
  auto local = stream_.local_address();
  if (!peer || !local) {
    refuse(socks5::Reply::general_failure, "connection has no address");
    return;
  }
  // The client's UDP source: the IP it named, else its TCP address; the port it named, or
  // 0 = not known yet (its first datagram fixes it).
  const Address& named = req.destination;
  size_t ip_len = named.type == protocol::AddressType::ipv4 ? 4 : 16;
  bool named_ip =
      named.is_ip() && std::any_of(named.ip.begin(), named.ip.begin() + static_cast<long>(ip_len),
                                   [](uint8_t b) { return b != 0; });
  Address client_ip = named_ip ? named : *peer;
  // The relay listens on the address the client reached us on, so the client can send there.
  association_ = std::make_unique<UdpAssociation>(client_, client_ip, named.port);
  int rc = association_->open(*local);
  Address bound;
  if (rc != 0 || !association_->bound(bound)) {
    association_.reset();
    refuse(socks5::Reply::general_failure, rc ? uv_strerror(rc) : "no relay address");
    return;
  }
  stage_ = Stage::associated;
  reply(socks5::Reply::succeeded, &bound);
  LOG_DEBUG(client_.log(), tag_, "UDP ASSOCIATE for %s: relay at %s",
            protocol::format_address(client_ip).c_str(), protocol::format_address(bound).c_str());
}

void Socks5Session::connect_upstream(const socks5::Request& req) {
  const ClientConfig& cfg = client_.config();
  if (!cfg.has_upstream_socks5) {
    refuse(socks5::Reply::command_not_supported, "CONNECT needs --upstream-socks5");
    return;
  }
  if (!cfg.upstream_socks5.is_ip()) {
    refuse(socks5::Reply::general_failure, "the upstream SOCKS5 server must be an IP address");
    return;
  }
  stage_ = Stage::upstream;
  stream_.stop_reading();
  upstream_events_ = std::make_unique<Upstream>(*this);
  upstream_ =
      std::make_unique<runtime::TcpStream>(client_.loop(), *upstream_events_, kRelayQueueCap);
  upstream_handshake_ =
      std::make_unique<socks5::ClientHandshake>(socks5::Command::connect, req.destination);
  sockaddr_storage ss;
  protocol::address_to_sockaddr(cfg.upstream_socks5, &ss);
  int rc = upstream_->connect(reinterpret_cast<sockaddr*>(&ss));
  if (rc != 0) refuse(socks5::Reply::general_failure, uv_strerror(rc));
}

void Socks5Session::upstream_connected(int status) {
  if (status != 0) {
    refuse(socks5::Reply::general_failure, uv_strerror(status));
    return;
  }
  upstream_->start_reading();
  upstream_->write(ByteView(upstream_handshake_->start()), true);
}

void Socks5Session::upstream_data(ByteView data) {
  if (stage_ == Stage::relaying) {
    if (!stream_.write(data, true)) {
      finish("client gone");
      return;
    }
    if (stream_.queued_bytes() > kRelayHighWater) upstream_->stop_reading();
    return;
  }
  if (stage_ != Stage::upstream) return;
  upstream_inbox_.insert(upstream_inbox_.end(), data.data, data.data + data.size);
  std::vector<uint8_t> out;
  size_t consumed = 0;
  auto st = upstream_handshake_->feed(ByteView(upstream_inbox_), out, consumed);
  if (!out.empty()) upstream_->write(ByteView(out), true);
  if (st == socks5::ClientHandshake::Status::need_more) {
    upstream_inbox_.erase(upstream_inbox_.begin(),
                          upstream_inbox_.begin() + static_cast<long>(consumed));
    return;
  }
  if (st == socks5::ClientHandshake::Status::failed) {
    // Pass the upstream's verdict through when it gave one.
    socks5::Reply code = upstream_handshake_->reply().reply != socks5::Reply::succeeded
                             ? upstream_handshake_->reply().reply
                             : socks5::Reply::general_failure;
    refuse(code, upstream_handshake_->error());
    return;
  }
  Address bound = upstream_handshake_->reply().bound;
  reply(socks5::Reply::succeeded, &bound);
  stage_ = Stage::relaying;
  // Bytes after the reply, and bytes the client sent early, flow on.
  if (consumed < upstream_inbox_.size()) {
    stream_.write(ByteView(upstream_inbox_.data() + consumed, upstream_inbox_.size() - consumed),
                  true);
  }
  upstream_inbox_.clear();
  upstream_inbox_.shrink_to_fit();
  if (!inbox_.empty()) {
    upstream_->write(ByteView(inbox_), true);
    inbox_.clear();
  }
  stream_.start_reading();
}

void Socks5Session::upstream_closed(const char* reason) {
  if (stage_ == Stage::upstream) {
    refuse(socks5::Reply::general_failure, reason);
    return;
  }
  finish(reason);
}

void Socks5Session::on_stream_drained() {
  if (stage_ == Stage::relaying && upstream_) upstream_->start_reading();
}

void Socks5Session::upstream_drained() {
  if (stage_ == Stage::relaying) stream_.start_reading();
}

}  // namespace udptun::udplocal
