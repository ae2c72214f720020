#include "socks5_udp_path.hpp"

#include "udptun/protocol/socket_api.hpp"

#include <algorithm>
#include <cstring>

#include "engine.hpp"

namespace udptun::tun2socks {

using protocol::Address;
using protocol::ByteView;
namespace socks5 = protocol::socks5;

class Socks5UdpPath::Association : public runtime::Socks5UdpAssociation::Events {
 public:
  Association(Socks5UdpPath& path, const Address& app)
      : path_(path),
        engine_(path.engine_),
        app_(app),
        association_(engine_.loop(), *this, server(), engine_.config().socks5_username,
                     engine_.config().socks5_password),
        last_active_ms_(engine_.loop().now_ms()) {}

  const Address& app() const { return app_; }
  uint64_t last_active_ms() const { return last_active_ms_; }
  bool start() {
    if (auto protector = engine_.protector()) association_.set_protector(protector);
    return association_.start();
  }

  void send(const Address& dst, ByteView payload) {
    last_active_ms_ = engine_.loop().now_ms();
    if (!association_.ready()) {
      if (waiting_.size() < 16) {
        waiting_.push_back({dst, std::vector<uint8_t>(payload.data, payload.data + payload.size)});
      } else {
        engine_.stats().udp_dropped++;
      }
      return;
    }
    association_.send(dst, payload);
    engine_.stats().udp_datagrams_up++;
  }

  void close() { association_.close(); }

 private:
  const Address& server() const {
    const auto& cfg = engine_.config();
    return cfg.has_udp_socks5 ? cfg.udp_socks5 : cfg.socks5;
  }

  void on_association_ready() override {
    auto waiting = std::move(waiting_);
    waiting_.clear();
    for (const auto& w : waiting) send(w.dst, ByteView(w.data));
  }

  void on_association_datagram(const Address& source, ByteView payload) override {
    last_active_ms_ = engine_.loop().now_ms();
    sockaddr_storage src, dst;
    protocol::address_to_sockaddr(source, &src);
    protocol::address_to_sockaddr(app_, &dst);
    if (src.ss_family != dst.ss_family) {
      engine_.stats().udp_dropped++;
      return;
    }
    engine_.deliver_udp(reinterpret_cast<sockaddr*>(&src), reinterpret_cast<sockaddr*>(&dst),
                        payload);
  }

  void on_association_garbage() override { engine_.stats().udp_dropped++; }
  void on_association_foreign() override { engine_.stats().udp_dropped++; }

  void on_association_failed(const char* why) override {
    LOG_INFO(engine_.log(), "udp-socks5", "association for %s ends: %s",
             protocol::format_address(app_).c_str(), why);
    engine_.stats().udp_dropped += waiting_.size();
    waiting_.clear();
    path_.remove(this);
  }

  struct Waiting {
    Address dst;
    std::vector<uint8_t> data;
  };
  Socks5UdpPath& path_;
  Engine& engine_;
  Address app_;
  runtime::Socks5UdpAssociation association_;
  std::vector<Waiting> waiting_;
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

}  // namespace udptun::tun2socks
