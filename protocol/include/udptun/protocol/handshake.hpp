// The tunnel handshake: the server speaks first with a fresh challenge; the client's hello
// proves knowledge of the pre-shared key over that challenge (so a recorded hello is worthless
// on any other connection, to any server, before or after a restart) and names the session
// it wants (new or resumed); the server's hello answers, proving the key too.
// Layouts are in docs/PROTOCOL.md.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "udptun/protocol/bytes.hpp"
#include "udptun/protocol/parse_result.hpp"

namespace udptun::protocol {

constexpr std::array<uint8_t, 4> kMagic = {'U', 'D', 'P', 'T'};
constexpr uint8_t kProtocolVersion = 2;

using SessionId = std::array<uint8_t, 16>;
// The id in lower-case hex: all 32 digits (the C APIs' session callbacks), or the first
// `bytes` of it (8 digits in log tags, "s=1a2b3c4d").
std::string session_id_hex(const SessionId& id, size_t bytes = 16);
using Nonce = std::array<uint8_t, 16>;
using Mac = std::array<uint8_t, 32>;  // HMAC-SHA256
using Challenge = std::array<uint8_t, 16>;

// The server's first bytes on every connection: magic, version, 3 reserved zero bytes and 16
// random bytes the client's hello must be bound to.
struct ServerChallenge {
  uint8_t version = kProtocolVersion;
  Challenge challenge{};
};
constexpr size_t kServerChallengeSize = 4 + 1 + 3 + 16;  // 24
void encode_server_challenge(const ServerChallenge& c,
                             std::array<uint8_t, kServerChallengeSize>& out);
// The version byte is reported, not judged: a client that does not speak it says so.
Parsed<ServerChallenge> decode_server_challenge(ByteView in);

// The pre-shared key. Any length from 16 bytes; the HMAC hashes longer keys itself.
class PreSharedKey {
 public:
  static constexpr size_t kMinLength = 16;
  explicit PreSharedKey(ByteView key) : bytes_(key.data, key.data + key.size) {}
  ByteView view() const { return ByteView(bytes_); }

 private:
  std::vector<uint8_t> bytes_;
};

// FLAGS: bit 0 RESUME; bit 1 JOIN with the lane index in bits 4-7 (an added connection of a
// live session whose lanes were agreed: see the LANES frame); bits 2-3 are 0.
enum class HelloFlag : uint8_t { resume = 0x01, join = 0x02 };

struct ClientHello {
  uint8_t version = kProtocolVersion;
  bool resume = false;
  uint8_t lane = 0;  // 1..15: JOIN as that lane (resume is then false)
  SessionId session{};
  uint64_t timestamp_ms = 0;  // the client's wall clock (Unix epoch, ms): a sanity check
  Nonce nonce{};
  Mac mac{};
  // Not on the wire: the challenge of this connection, which the MAC covers.
  Challenge challenge{};
};
constexpr size_t kClientHelloSize = 4 + 1 + 1 + 16 + 8 + 16 + 32;  // 78

enum class HelloStatus : uint8_t { resumed = 0, new_session = 1, refused = 2 };

enum class RefuseReason : uint8_t {
  none = 0,
  bad_mac = 1,              // wrong key, or a tampered hello
  unsupported_version = 2,  // the server speaks another version (its own is in the reply)
  clock_skew = 3,           // timestamp too far from the server's clock
  replayed = 4,             // (version 1; a challenge makes replays fail as bad_mac now)
  server_full = 5,          // session cap reached and nothing could be evicted
  shutting_down = 6,
  malformed = 7,   // flags or fields out of range
  no_session = 8,  // a JOIN for a session this server does not have (or with no such lane)
};
const char* refuse_reason_name(RefuseReason r);

struct ServerHello {
  uint8_t version = kProtocolVersion;
  HelloStatus status = HelloStatus::refused;
  RefuseReason reason = RefuseReason::none;
  SessionId session{};
  Nonce nonce{};
  Mac mac{};
};
constexpr size_t kServerHelloSize = 4 + 1 + 1 + 1 + 1 + 16 + 16 + 32;  // 72

// Fills hello.mac (over hello.challenge too) and writes the 78 wire bytes.
void encode_client_hello(const PreSharedKey& key, ClientHello& hello,
                         std::array<uint8_t, kClientHelloSize>& out);
// Structure only (magic, version, flags); the MAC is checked by verify_client_hello.
// An unsupported version is reported as soon as its byte arrives, with code
// RefuseReason::unsupported_version, so the server can answer without reading further.
Parsed<ClientHello> decode_client_hello(ByteView in);
// Checks the MAC against the challenge this connection was sent.
bool verify_client_hello(const PreSharedKey& key, const Challenge& sent, const ClientHello& hello);

// Fills hello.mac (bound to the client hello's MAC, so a reply cannot be replayed to another
// hello) and writes the 72 wire bytes.
void encode_server_hello(const PreSharedKey& key, const Mac& client_mac, ServerHello& hello,
                         std::array<uint8_t, kServerHelloSize>& out);
Parsed<ServerHello> decode_server_hello(ByteView in);
bool verify_server_hello(const PreSharedKey& key, const Mac& client_mac, const ServerHello& hello);

// Constant-time comparison for MACs.
bool macs_equal(const Mac& a, const Mac& b);

}  // namespace udptun::protocol
