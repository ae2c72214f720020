// udp-server's "tun2socks" egress (the seed's server-side variant): datagrams leave as IP
// packets through an in-process tun2socks (a packet pipe, no TUN device) whose UDP goes
// through a SOCKS5 UDP ASSOCIATE (e.g. `ss-local -U` beside a TCP ss-local). Each flow gets a
// virtual source endpoint (100.64.0.0/10, or fd75:6470:7475::/48 for IPv6 targets); the
// packets tun2socks sends back to that endpoint are the flow's replies.
//
// Threading: tun2socks runs its own loop thread. Packets in are copied by tun2socks_packet_in;
// packets out are queued (bounded: beyond kMaxQueuedPackets they are dropped and counted) and
// handled on udp-server's loop through an async handle.
#pragma once

#include <uv.h>

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "udptun/protocol/address.hpp"
#include "udptun/protocol/bytes.hpp"
#include "udptun/protocol/status.hpp"
#include "udptun/runtime/event_loop.hpp"
#include "udptun/runtime/log.hpp"
#include "udptun/runtime/mailbox.hpp"
#include "udptun/runtime/uv_handle.hpp"
#include "udptun/tun2socks.h"

namespace udptun::udpserver {

class Tun2socksEgress {
 public:
  static constexpr size_t kMaxQueuedPackets = 8192;

  class Receiver {
   public:
    virtual ~Receiver() = default;
    virtual void on_egress_datagram(const protocol::Address& source,
                                    protocol::ByteView payload) = 0;
  };

  Tun2socksEgress(runtime::EventLoop& loop, runtime::Logger& log);
  ~Tun2socksEgress();
  Tun2socksEgress(const Tun2socksEgress&) = delete;
  Tun2socksEgress& operator=(const Tun2socksEgress&) = delete;

  // Starts the in-process tun2socks with UDP through `socks5`.
  Status start(const protocol::Address& socks5, const std::string& username,
               const std::string& password);
  void stop();

  // A virtual endpoint for a flow toward a target of this family.
  protocol::Address attach(Receiver& r, protocol::AddressType family);
  void detach(const protocol::Address& endpoint);
  // Sends a datagram from the endpoint to dst. false: dropped (queue full, not running).
  bool send(const protocol::Address& endpoint, const protocol::Address& dst,
            protocol::ByteView payload);
  // Sent datagrams refused, and replies lost to a full queue.
  uint64_t dropped() const { return dropped_ + inbox_.dropped(); }

 private:
  // Endpoints are looked up for every reply packet: a plain 64-bit key, no string.
  static uint64_t key(const protocol::Address& a);
  static void on_packet_out(void* user, const uint8_t* packet, size_t len);
  static void on_error(void* user, const char* message);
  // What tun2socks' thread hands over: reply packets, and a fatal error.
  struct Inbox {
    std::vector<std::vector<uint8_t>> packets;
    std::string error;
    bool empty() const { return packets.empty() && error.empty(); }
    void clear() {
      packets.clear();
      error.clear();
    }
  };
  void drain(Inbox& inbox);

  runtime::EventLoop& loop_;
  runtime::Logger& log_;
  tun2socks_t* stack_ = nullptr;
  runtime::Mailbox<Inbox> inbox_;
  uint32_t next_ = 0;
  std::unordered_map<uint64_t, Receiver*> endpoints_;
  std::vector<uint8_t> packet_;
  uint64_t dropped_ = 0;
};

}  // namespace udptun::udpserver
