#include "socks5_udp_path.hpp"

#include <netinet/in.h>

#include <algorithm>
#include <cstring>

#include "engine.hpp"
#include "udptun/protocol/socks5.hpp"

namespace udptun::t2s {

using protocol::Address;
using protocol::ByteView;
namespace socks5 = protocol::socks5;

class Socks5UdpPath::Association : public runtime::TcpStream::Events,
                                   public runtime::UdpSocket::Events {
 public:
  Association(Socks5UdpPath& path, const Address& app)
      : path_(path),
        engine_(path.engine_),
        app_(app),
        control_(engine_.loop(), *this, 64 * 1024),
        relay_socket_(engine_.loop(), *this),
        last_active_ms_(engine_.loop().now_ms()) {}

  const Address& app() const { return app_; }
  uint64_t last_active_ms() const { return last_active_ms_; }

  bool start() {
    sockaddr_storage ss;
    protocol::address_to_sockaddr(server(), &ss);
    return control_.connect(reinterpret_cast<sockaddr*>(&ss)) == 0;
  }

  void send(const Address& dst, ByteView payload) {
    last_active_ms_ = engine_.loop().now_ms();
    if (!ready_) {
      if (waiting_.size() < 16) {
        waiting_.push_back({dst, std::vector<uint8_t>(payload.data, payload.data + payload.size)});
      } else {
        engine_.stats().udp_dropped++;
      }
      return;
    }
    uint8_t header[socks5::kMaxUdpHeader];
    size_t n = socks5::encode_udp_header(dst, header);
    relay_socket_.queue(ByteView(header, n), payload, reinterpret_cast<sockaddr*>(&relay_));
    engine_.stats().udp_datagrams_up++;
  }

  void close() {
    control_.close();
    relay_socket_.close();
  }

 private:
  const Address& server() const {
    const auto& cfg = engine_.config();
    return cfg.has_udp_socks5 ? cfg.udp_socks5 : cfg.socks5;
  }

  void on_stream_connected(int status) override {
    if (status != 0) return fail("cannot reach the SOCKS5 server");
    control_.start_reading();
    uint8_t any[4] = {0, 0, 0, 0};
    handshake_ = std::make_unique<socks5::ClientHandshake>(
        socks5::Command::udp_associate, Address::ipv4(any, 0), engine_.config().socks5_username,
        engine_.config().socks5_password);
    auto greeting = handshake_->start();
    control_.write(ByteView(greeting), true);
  }

  void on_stream_data(ByteView data) override {
    if (!handshake_) return;  // after the reply, the control connection only keeps us alive
    inbox_.insert(inbox_.end(), data.data, data.data + data.size);
    std::vector<uint8_t> out;
    size_t consumed = 0;
    auto st = handshake_->feed(ByteView(inbox_), out, consumed);
    if (!out.empty()) control_.write(ByteView(out), true);
    inbox_.erase(inbox_.begin(), inbox_.begin() + static_cast<long>(consumed));
    if (st == socks5::ClientHandshake::Status::need_more) return;
    if (st == socks5::ClientHandshake::Status::failed) return fail(handshake_->error());
    Address bound = handshake_->reply().bound;
    handshake_.reset();
    if (!bound.is_ip()) return fail("the relay's address is a name");
    // An unspecified relay address means "the server's own address" (RFC 1928 practice).
    bool unspecified = std::all_of(
        bound.ip.begin(), bound.ip.begin() + (bound.type == protocol::AddressType::ipv4 ? 4 : 16),
        [](uint8_t b) { return b == 0; });
    if (unspecified) {
      uint16_t port = bound.port;
      bound = server();
      bound.port = port;
    }
    protocol::address_to_sockaddr(bound, &relay_);
    sockaddr_storage any{};
    any.ss_family = relay_.ss_family;
    if (relay_socket_.open(reinterpret_cast<sockaddr*>(&any)) != 0)
      return fail("cannot open a UDP socket");
    ready_ = true;
    auto waiting = std::move(waiting_);
    waiting_.clear();
    for (const auto& w : waiting) send(w.dst, ByteView(w.data));
  }

  void on_stream_closed(const char* reason) override { fail(reason); }

  void on_datagram(ByteView payload, const struct sockaddr* from) override {
    (void)from;
    auto h = socks5::decode_udp_header(payload);
    if (!h.ok() || h.value.fragment != 0 || !h.value.address.is_ip()) {
      engine_.stats().udp_dropped++;
      return;
    }
    last_active_ms_ = engine_.loop().now_ms();
    sockaddr_storage src, dst;
    protocol::address_to_sockaddr(h.value.address, &src);
    protocol::address_to_sockaddr(app_, &dst);
    if (src.ss_family != dst.ss_family) {
      engine_.stats().udp_dropped++;
      return;
    }
    engine_.deliver_udp(reinterpret_cast<sockaddr*>(&src), reinterpret_cast<sockaddr*>(&dst),
                        h.value.payload);
  }

  void fail(const char* why) {
    if (failed_) return;
    failed_ = true;
    LOG_INFO(engine_.log(), "udp-socks5", "association for %s ends: %s",
             protocol::format_address(app_).c_str(), why);
    engine_.stats().udp_dropped += waiting_.size();
    close();
    path_.remove(this);
  }

  struct Waiting {
    Address dst;
    std::vector<uint8_t> data;
  };
  Socks5UdpPath& path_;
  Engine& engine_;
  Address app_;
  runtime::TcpStream control_;
  runtime::UdpSocket relay_socket_;
  std::unique_ptr<socks5::ClientHandshake> handshake_;
  std::vector<uint8_t> inbox_;
  std::vector<Waiting> waiting_;
  sockaddr_storage relay_{};
  bool ready_ = false, failed_ = false;
  uint64_t last_active_ms_;
};

Socks5UdpPath::Socks5UdpPath(Engine& engine) : engine_(engine) {}

Socks5UdpPath::~Socks5UdpPath() {
  for (auto& a : associations_) a->close();
}

bool Socks5UdpPath::submit(const Address& src, const Address& dst, ByteView payload) {
  dead_.clear();  // never inside an association's own callback: this runs from lwIP input
  auto it = std::find_if(associations_.begin(), associations_.end(),
                         [&](const auto& a) { return a->app() == src; });
  if (it == associations_.end()) {
    if (associations_.size() >= kMaxAssociations) {
      auto oldest = std::min_element(
          associations_.begin(), associations_.end(),
          [](const auto& a, const auto& b) { return a->last_active_ms() < b->last_active_ms(); });
      (*oldest)->close();
      associations_.erase(oldest);
    }
    auto a = std::make_unique<Association>(*this, src);
    if (!a->start()) return false;
    associations_.push_back(std::move(a));
    it = std::prev(associations_.end());
  }
  (*it)->send(dst, payload);
  return true;
}

void Socks5UdpPath::remove(Association* a) {
  auto it = std::find_if(associations_.begin(), associations_.end(),
                         [&](const auto& p) { return p.get() == a; });
  if (it == associations_.end()) return;
  dead_.push_back(std::move(*it));  // freed later: we may be inside its callback
  associations_.erase(it);
}

void Socks5UdpPath::sweep(uint64_t now_ms) {
  dead_.clear();
  for (auto it = associations_.begin(); it != associations_.end();) {
    if (now_ms - (*it)->last_active_ms() > kIdleTimeoutMs) {
      (*it)->close();
      it = associations_.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace udptun::t2s
