// Opening a listening TCP socket on a loop, written once for udp-server's listeners, the SOCKS5
// front and /metrics: bind, listen, and learn the address the kernel gave (port 0 asks for one).
#pragma once

#include <uv.h>

#include <optional>

#include "udptun/protocol/address.hpp"
#include "udptun/protocol/status.hpp"
#include "udptun/runtime/event_loop.hpp"
#include "udptun/runtime/uv_handle.hpp"

namespace udptun::runtime {

// Listens on `at` into `out` (`owner` becomes the handle's data, `on_connection` its callback).
// The bound address, or why not ("cannot listen on ADDR: reason"); on failure `out` holds
// nothing.
Result<protocol::Address> listen_tcp(EventLoop& loop, void* owner, const protocol::Address& at,
                                     uv_connection_cb on_connection, UvHandle<uv_tcp_t>& out);

// The local address of a TCP handle; nullopt when the socket has none (closed, or not IP).
std::optional<protocol::Address> bound_address(const uv_tcp_t* tcp);

}  // namespace udptun::runtime
