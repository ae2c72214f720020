// HMAC-SHA256 over several pieces, via mbedTLS. Internal to protocol/.
#pragma once

#include <initializer_list>

#include "udptun/protocol/bytes.hpp"
#include "udptun/protocol/handshake.hpp"

namespace udptun::protocol::detail {

Mac hmac_sha256(ByteView key, std::initializer_list<ByteView> pieces);

}  // namespace udptun::protocol::detail
