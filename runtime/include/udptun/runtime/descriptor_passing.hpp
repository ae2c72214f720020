// Bytes and open descriptors over a Unix stream socket (SCM_RIGHTS), as one package: what a
// restarting udp-server hands its successor. Blocking, with a deadline: it runs once, while
// neither side serves traffic on that socket.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "udptun/protocol/status.hpp"

namespace udptun::runtime {

// Sends `body` and `fds` (ours stay open: the receiver gets duplicates).
Status send_package(int socket_fd, const std::string& body, const std::vector<int>& fds,
                    int timeout_ms);
// Receives one package, at most max_body bytes and max_fds descriptors (every descriptor
// received is close-on-exec and ours to close). On failure nothing is left open.
Status receive_package(int socket_fd, std::string& body, std::vector<int>& fds, size_t max_body,
                       size_t max_fds, int timeout_ms);

}  // namespace udptun::runtime
