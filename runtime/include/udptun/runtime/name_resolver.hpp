// Resolving a host name on the loop (uv_getaddrinfo), written once for udp-local's server name
// and udp-server's flow targets. The request may outlive its owner: once the NameResolver is
// destroyed or cancel()led, the callback never runs, and the request frees itself when libuv is
// done with it.
#pragma once

#include <uv.h>

#include <functional>

#include "udptun/protocol/address.hpp"
#include "udptun/protocol/socket_api.hpp"
#include "udptun/protocol/status.hpp"
#include "udptun/runtime/event_loop.hpp"

namespace udptun::runtime {

class NameResolver {
 public:
  struct Query {
    int socktype = SOCK_STREAM;
    bool configured_families_only = false;  // AI_ADDRCONFIG
    bool prefer_ipv4 = false;               // else the resolver's first answer
  };
  // The address picked (with the port asked for), or why there is none. Called on the loop;
  // it may destroy the NameResolver's owner.
  using Done = std::function<void(Result<sockaddr_storage> address)>;

  explicit NameResolver(EventLoop& loop) : loop_(loop) {}
  ~NameResolver() { cancel(); }
  NameResolver(const NameResolver&) = delete;
  NameResolver& operator=(const NameResolver&) = delete;

  // Starts resolving `name` (a domain address and its port), replacing a lookup under way.
  // A failure to start is returned and `done` is not called.
  Status resolve(const protocol::Address& name, const Query& query, Done done);
  void cancel();
  bool busy() const { return request_ != nullptr; }

 private:
  struct Request;
  static void on_resolved(uv_getaddrinfo_t* r, int status, struct addrinfo* res);

  EventLoop& loop_;
  Request* request_ = nullptr;  // owned by libuv until its callback
};

}  // namespace udptun::runtime
