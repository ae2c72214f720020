// udp-local's SOCKS5 server: the listener and its control connections.
#pragma once

#include <list>
#include <memory>
#include <string>

#include "socks5_session.hpp"
#include "udptun/protocol/status.hpp"
#include "udptun/runtime/uv_handle.hpp"

namespace udptun::udplocal {

class Client;

class Socks5Front {
 public:
  explicit Socks5Front(Client& client);
  ~Socks5Front();
  Status open();
  Client& client() { return client_; }
  size_t connection_count() const { return sessions_.size(); }
  // A session is finished: it is freed at the end of this loop iteration (it may be the
  // caller).
  void finished(Socks5Session& session);
  void sweep(uint64_t now_ms);

 private:
  static void on_connection(uv_stream_t* listener, int status);

  Client& client_;
  runtime::UvHandle<uv_tcp_t> listener_;
  runtime::UvHandle<uv_check_t> burial_;
  std::list<std::unique_ptr<Socks5Session>> sessions_;
  std::list<std::unique_ptr<Socks5Session>> finished_;
  uint64_t next_serial_ = 1;
};

}  // namespace udptun::udplocal
