// Helpers shared by the line-based records (session_record, server_handover): words split
// on single spaces, decimal numbers without signs, lowercase hex session ids.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "udptun/protocol/handshake.hpp"

namespace udptun::protocol::record_text {

std::vector<std::string_view> split_words(std::string_view line);
bool parse_u32(std::string_view s, uint32_t& out);
bool parse_session_id(std::string_view s, SessionId& out);
std::string format_session_id(const SessionId& id);

}  // namespace udptun::protocol::record_text
