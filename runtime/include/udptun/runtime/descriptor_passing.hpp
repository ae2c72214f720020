// Bytes and open descriptors over a Unix stream socket (SCM_RIGHTS), as one package: what a
// restarting udp-server hands its successor. Blocking, with a deadline: it runs once, while
// neither side serves traffic on that socket.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace udptun::runtime {

// Sends `body` and `fds` (ours stay open: the receiver gets duplicates). false with `error`.
bool send_package(int socket_fd, const std::string& body, const std::vector<int>& fds,
                  int timeout_ms, std::string& error);
// Receives one package, at most max_body bytes and max_fds descriptors (every descriptor
// received is close-on-exec and ours to close). false with `error`, nothing left open.
bool receive_package(int socket_fd, std::string& body, std::vector<int>& fds, size_t max_body,
                     size_t max_fds, int timeout_ms, std::string& error);

}  // namespace udptun::runtime
