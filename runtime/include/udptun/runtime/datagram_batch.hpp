// Datagrams with their two endpoints, queued back to back for a hand-off between threads
// (tun2socks ⇄ an in-process udp-local): no allocation per datagram (payloads share one byte
// arena, endpoints are stored as compact sockaddrs), and a batch keeps its capacity when the
// consumer swaps it with an empty one. Not synchronised: the owner guards it.
#pragma once

#include "udptun/protocol/socket_api.hpp"

#include <cstdint>
#include <cstring>
#include <vector>

#include "udptun/protocol/bytes.hpp"

namespace udptun::runtime {

class DatagramBatch {
 public:
  // false when src/dst are not IPv4/IPv6.
  bool push(const struct sockaddr* src, const struct sockaddr* dst, const uint8_t* data,
            size_t len) {
    Entry e;
    if (!store(src, e.src) || !store(dst, e.dst)) return false;
    e.offset = bytes_.size();
    e.len = len;
    bytes_.insert(bytes_.end(), data, data + len);
    entries_.push_back(e);
    return true;
  }
  size_t size() const { return entries_.size(); }
  size_t byte_count() const { return bytes_.size(); }
  bool empty() const { return entries_.empty(); }
  void clear() {
    entries_.clear();
    bytes_.clear();
  }
  // fn(const sockaddr* src, const sockaddr* dst, ByteView payload) for each, in order.
  template <class Fn>
  void for_each(Fn&& fn) const {
    for (const Entry& e : entries_) {
      fn(reinterpret_cast<const sockaddr*>(&e.src), reinterpret_cast<const sockaddr*>(&e.dst),
         protocol::ByteView(bytes_.data() + e.offset, e.len));
    }
  }

 private:
  union Endpoint {
    sockaddr_in v4;
    sockaddr_in6 v6;
  };
  struct Entry {
    Endpoint src, dst;
    size_t offset = 0, len = 0;
  };
  static bool store(const struct sockaddr* sa, Endpoint& out) {
    if (sa->sa_family == AF_INET) {
      std::memcpy(&out.v4, sa, sizeof out.v4);
      return true;
    }
    if (sa->sa_family == AF_INET6) {
      std::memcpy(&out.v6, sa, sizeof out.v6);
      return true;
    }
    return false;
  }

  std::vector<Entry> entries_;
  std::vector<uint8_t> bytes_;
};

}  // namespace udptun::runtime
