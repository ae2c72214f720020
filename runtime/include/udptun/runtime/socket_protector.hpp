// Android's VpnService wants every socket the tunnel itself opens protect()ed before it
// connects, or that socket's traffic loops back into the VPN. A protector is called with
// each such socket's descriptor (created, not yet bound or connected); non-zero refuses it:
// the connect or open fails with kSocketRefused and the caller's retry/backoff goes on.
#pragma once

#include <uv.h>

#include <functional>

namespace udptun::runtime {

using SocketProtector = std::function<int(int fd)>;
inline constexpr int kSocketRefused = UV_EPERM;

// 0 when `handle`'s socket may be used (no protector, or it said yes), else kSocketRefused
// or libuv's error. Windows has no VpnService and no small-int descriptors: always 0 there.
inline int ask_protector(const SocketProtector& protector, const uv_handle_t* handle) {
  if (!protector) return 0;
#ifdef _WIN32
  (void)handle;
  return 0;
#else
  uv_os_fd_t fd = -1;
  int rc = uv_fileno(handle, &fd);
  if (rc != 0) return rc;
  return protector(fd) == 0 ? 0 : kSocketRefused;
#endif
}

}  // namespace udptun::runtime
