// UDP from the TUN through a SOCKS5 server's UDP ASSOCIATE (ss-local -u, or a TCP-only
// ss-local beside an `ss-local -U` on the same port: the seed's split). One association per
// application source address and port, so a source keeps one relay mapping whatever it talks
// to (endpoint-independent, what games and STUN want). Replies come back from the address
// the relay names.
#pragma once

#include <list>
#include <memory>
#include <string>
#include <vector>

#include "udptun/protocol/address.hpp"
#include "udptun/runtime/socks5_udp_association.hpp"

namespace udptun::tun2socks {

class Engine;

class Socks5UdpPath {
 public:
  static constexpr size_t kMaxAssociations = 1024;
  static constexpr uint64_t kIdleTimeoutMs = 60'000;

  explicit Socks5UdpPath(Engine& engine);
  ~Socks5UdpPath();
  // A datagram from the TUN. Returns false when it was dropped.
  bool submit(const protocol::Address& src, const protocol::Address& dst,
              protocol::ByteView payload);
  void sweep(uint64_t now_ms);
  size_t size() const { return associations_.size(); }

 private:
  class Association;
  void remove(Association* a);

  Engine& engine_;
  std::list<std::unique_ptr<Association>> associations_;
  std::vector<std::unique_ptr<Association>> dead_;
};

}  // namespace udptun::tun2socks
