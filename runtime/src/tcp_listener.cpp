#include "udptun/runtime/tcp_listener.hpp"

#include "udptun/protocol/socket_api.hpp"

#include <string>

namespace udptun::runtime {

Result<protocol::Address> listen_tcp(EventLoop& loop, void* owner, const protocol::Address& at,
                                     uv_connection_cb on_connection, UvHandle<uv_tcp_t>& out) {
  sockaddr_storage ss;
  protocol::address_to_sockaddr(at, &ss);
  UvHandle<uv_tcp_t> listener;
  int rc = listener.init(owner, [&](uv_tcp_t* t) { return uv_tcp_init(loop.get(), t); });
  if (rc == 0) rc = uv_tcp_bind(listener.get(), reinterpret_cast<sockaddr*>(&ss), 0);
  if (rc == 0) rc = uv_listen(listener.stream(), 128, on_connection);
  std::optional<protocol::Address> bound;
  if (rc == 0) {
    bound = bound_address(listener.get());
    if (!bound) rc = UV_EADDRNOTAVAIL;
  }
  if (rc != 0) {
    return Status::failure(
        "cannot listen on " + protocol::format_address(at) + ": " + uv_strerror(rc), rc);
  }
  out = std::move(listener);
  return *bound;
}

std::optional<protocol::Address> bound_address(const uv_tcp_t* tcp) {
  if (!tcp) return std::nullopt;
  sockaddr_storage ss;
  int len = sizeof ss;
  if (uv_tcp_getsockname(tcp, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return std::nullopt;
  return protocol::address_from_sockaddr(reinterpret_cast<sockaddr*>(&ss));
}

}  // namespace udptun::runtime
