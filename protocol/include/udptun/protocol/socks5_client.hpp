// The client side of a SOCKS5 handshake as a pure state machine: greeting, optional
// username/password, one request, the reply. The owner moves bytes; this decides.
#pragma once

#include <string>
#include <vector>

#include "udptun/protocol/socks5.hpp"

namespace udptun::protocol::socks5 {

class ClientHandshake {
 public:
  enum class Status { need_more, done, failed };

  ClientHandshake(Command command, const Address& destination, std::string user = {},
                  std::string password = {});

  // The greeting, to send first.
  std::vector<uint8_t> start();
  // Feeds what the server sent (everything not yet consumed). Appends anything to send next
  // to `out`, and reports how many input bytes it consumed. After done, `reply()` holds the
  // server's reply; bytes after it belong to the application.
  Status feed(ByteView in, std::vector<uint8_t>& out, size_t& consumed);
  const ReplyMessage& reply() const { return reply_; }
  const char* error() const { return error_; }

 private:
  enum class Stage { method, auth, reply, finished };
  Status fail_with(const char* why);

  Command command_;
  Address destination_;
  std::string user_, password_;
  Stage stage_ = Stage::method;
  ReplyMessage reply_;
  const char* error_ = nullptr;
};

}  // namespace udptun::protocol::socks5
