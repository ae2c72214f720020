// Unpredictable bytes (nonces, challenges, session ids) from the operating system's CSPRNG
// (getrandom on Linux, BCryptGenRandom on Windows, via libuv).
#pragma once

#include <uv.h>

#include <cstdint>
#include <cstdlib>

namespace udptun::runtime {

template <typename Bytes>
void fill_secure_random(Bytes& out) {
  // Synchronous: no loop, no callback. Fails only when the kernel has no entropy source at
  // all, and no nonce is better than a predictable one.
  if (uv_random(nullptr, nullptr, out.data(), out.size(), 0, nullptr) != 0) std::abort();
}

}  // namespace udptun::runtime
