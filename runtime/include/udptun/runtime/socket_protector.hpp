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

}  // namespace udptun::runtime
