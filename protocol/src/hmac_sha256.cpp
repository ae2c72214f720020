#include "hmac_sha256.hpp"

#include <mbedtls/md.h>

#include <cstdlib>

namespace udptun::protocol::detail {

Mac hmac_sha256(ByteView key, std::initializer_list<ByteView> pieces) {
  Mac out{};
  const mbedtls_md_info_t* info = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
  mbedtls_md_context_t ctx;
  mbedtls_md_init(&ctx);
  // Setup only fails on allocation failure or a missing SHA-256 in the library build;
  // neither can be recovered from, and an all-zero MAC must never be produced silently.
  if (info == nullptr || mbedtls_md_setup(&ctx, info, 1) != 0 ||
      mbedtls_md_hmac_starts(&ctx, key.data, key.size) != 0) {
    std::abort();
  }
  for (ByteView p : pieces) mbedtls_md_hmac_update(&ctx, p.data, p.size);
  mbedtls_md_hmac_finish(&ctx, out.data());
  mbedtls_md_free(&ctx);
  return out;
}

}  // namespace udptun::protocol::detail
