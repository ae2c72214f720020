#include "udptun/protocol/handshake.hpp"

#include <cstring>

#include "hmac_sha256.hpp"

namespace udptun::protocol {

std::string session_id_hex(const SessionId& id, size_t bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < bytes && i < id.size(); ++i) {
    out += kDigits[id[i] >> 4];
    out += kDigits[id[i] & 0xF];
  }
  return out;
}

namespace {

// Domain separation: a client MAC can never pass as a server MAC or the other way round.
constexpr char kClientLabel[] = "udptun/2 client hello";
constexpr char kServerLabel[] = "udptun/2 server hello";

ByteView label(const char* s, size_t n) {
  return {reinterpret_cast<const uint8_t*>(s), n - 1};
}

constexpr size_t kClientSignedSize = kClientHelloSize - 32;
constexpr size_t kServerSignedSize = kServerHelloSize - 32;

void write_client_signed(const ClientHello& h, uint8_t* out) {
  std::memcpy(out, kMagic.data(), 4);
  out[4] = h.version;
  out[5] = h.lane != 0 ? static_cast<uint8_t>(static_cast<uint8_t>(HelloFlag::join) | (h.lane << 4))
           : h.resume  ? static_cast<uint8_t>(HelloFlag::resume)
                       : 0;
  std::memcpy(out + 6, h.session.data(), 16);
  store_u64(out + 22, h.timestamp_ms);
  std::memcpy(out + 30, h.nonce.data(), 16);
}

void write_server_signed(const ServerHello& h, uint8_t* out) {
  std::memcpy(out, kMagic.data(), 4);
  out[4] = h.version;
  out[5] = static_cast<uint8_t>(h.status);
  out[6] = static_cast<uint8_t>(h.reason);
  out[7] = 0;
  std::memcpy(out + 8, h.session.data(), 16);
  std::memcpy(out + 24, h.nonce.data(), 16);
}

Mac client_mac(const PreSharedKey& key, const Challenge& challenge, const ClientHello& h) {
  uint8_t signed_part[kClientSignedSize];
  write_client_signed(h, signed_part);
  return detail::hmac_sha256(key.view(), {label(kClientLabel, sizeof kClientLabel),
                                          ByteView(challenge.data(), challenge.size()),
                                          ByteView(signed_part, sizeof signed_part)});
}

Mac server_mac(const PreSharedKey& key, const Mac& cmac, const ServerHello& h) {
  uint8_t signed_part[kServerSignedSize];
  write_server_signed(h, signed_part);
  return detail::hmac_sha256(
      key.view(), {label(kServerLabel, sizeof kServerLabel), ByteView(cmac.data(), cmac.size()),
                   ByteView(signed_part, sizeof signed_part)});
}

// Checks magic and version as soon as their bytes are there, so a wrong peer (an HTTP
// client, another protocol, another version) is told at once instead of waiting for more.
template <class T>
Parsed<T> check_preface(ByteView in) {
  using P = Parsed<T>;
  for (size_t i = 0; i < kMagic.size() && i < in.size; ++i) {
    if (in[i] != kMagic[i]) return P::reject("not a udptun peer (bad magic)");
  }
  if (in.size > 4 && in[4] != kProtocolVersion) {
    return P::reject("unsupported protocol version",
                     static_cast<uint8_t>(RefuseReason::unsupported_version));
  }
  return P::more();
}

}  // namespace

const char* refuse_reason_name(RefuseReason r) {
  switch (r) {
    case RefuseReason::none:
      return "none";
    case RefuseReason::bad_mac:
      return "authentication failed (wrong key?)";
    case RefuseReason::unsupported_version:
      return "unsupported protocol version";
    case RefuseReason::clock_skew:
      return "clock skew too large";
    case RefuseReason::replayed:
      return "replayed hello";
    case RefuseReason::server_full:
      return "server full";
    case RefuseReason::shutting_down:
      return "server shutting down";
    case RefuseReason::malformed:
      return "malformed hello";
    case RefuseReason::no_session:
      return "no such session to join";
  }
  return "unknown reason";
}

bool macs_equal(const Mac& a, const Mac& b) {
  uint8_t diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<uint8_t>(a[i] ^ b[i]);
  return diff == 0;
}

void encode_server_challenge(const ServerChallenge& c,
                             std::array<uint8_t, kServerChallengeSize>& out) {
  std::memcpy(out.data(), kMagic.data(), 4);
  out[4] = c.version;
  out[5] = out[6] = out[7] = 0;
  std::memcpy(out.data() + 8, c.challenge.data(), c.challenge.size());
}

Parsed<ServerChallenge> decode_server_challenge(ByteView in) {
  using P = Parsed<ServerChallenge>;
  for (size_t i = 0; i < kMagic.size() && i < in.size; ++i) {
    if (in[i] != kMagic[i]) return P::reject("not a udptun server (bad magic)");
  }
  for (size_t i = 5; i < 8 && i < in.size; ++i) {
    if (in[i] != 0) return P::reject("reserved byte is not zero");
  }
  if (in.size < kServerChallengeSize) return P::more();
  ServerChallenge c;
  c.version = in[4];
  std::memcpy(c.challenge.data(), in.data + 8, c.challenge.size());
  return P::done(c, kServerChallengeSize);
}

void encode_client_hello(const PreSharedKey& key, ClientHello& hello,
                         std::array<uint8_t, kClientHelloSize>& out) {
  hello.mac = client_mac(key, hello.challenge, hello);
  write_client_signed(hello, out.data());
  std::memcpy(out.data() + kClientSignedSize, hello.mac.data(), hello.mac.size());
}

Parsed<ClientHello> decode_client_hello(ByteView in) {
  using P = Parsed<ClientHello>;
  auto pre = check_preface<ClientHello>(in);
  if (pre.failed()) return pre;
  if (in.size > 5) {
    uint8_t flags = in[5];
    bool join = flags & static_cast<uint8_t>(HelloFlag::join);
    uint8_t lane = flags >> 4;
    if ((flags & 0x0c) != 0 || (!join && lane != 0))
      return P::reject("unknown hello flags", static_cast<uint8_t>(RefuseReason::malformed));
    if (join && (lane == 0 || (flags & static_cast<uint8_t>(HelloFlag::resume))))
      return P::reject("JOIN needs a lane of 1..15 and no RESUME",
                       static_cast<uint8_t>(RefuseReason::malformed));
  }
  if (in.size < kClientHelloSize) return P::more();
  ClientHello h;
  h.version = in[4];
  h.resume = (in[5] & static_cast<uint8_t>(HelloFlag::resume)) != 0;
  if (in[5] & static_cast<uint8_t>(HelloFlag::join)) h.lane = in[5] >> 4;
  std::memcpy(h.session.data(), in.data + 6, 16);
  h.timestamp_ms = load_u64(in.data + 22);
  std::memcpy(h.nonce.data(), in.data + 30, 16);
  std::memcpy(h.mac.data(), in.data + kClientSignedSize, 32);
  return P::done(h, kClientHelloSize);
}

bool verify_client_hello(const PreSharedKey& key, const Challenge& sent, const ClientHello& hello) {
  return macs_equal(client_mac(key, sent, hello), hello.mac);
}

void encode_server_hello(const PreSharedKey& key, const Mac& cmac, ServerHello& hello,
                         std::array<uint8_t, kServerHelloSize>& out) {
  hello.mac = server_mac(key, cmac, hello);
  write_server_signed(hello, out.data());
  std::memcpy(out.data() + kServerSignedSize, hello.mac.data(), hello.mac.size());
}

Parsed<ServerHello> decode_server_hello(ByteView in) {
  using P = Parsed<ServerHello>;
  // A server answers in its own version when refusing ours, so only the magic is checked
  // here; the version byte is the caller's to judge (it is reported in the value).
  for (size_t i = 0; i < kMagic.size() && i < in.size; ++i) {
    if (in[i] != kMagic[i]) return P::reject("not a udptun server (bad magic)");
  }
  if (in.size > 5 && in[5] > static_cast<uint8_t>(HelloStatus::refused)) {
    return P::reject("unknown hello status");
  }
  if (in.size > 6 && in[6] > static_cast<uint8_t>(RefuseReason::no_session)) {
    return P::reject("unknown refusal reason");
  }
  if (in.size > 7 && in[7] != 0) return P::reject("reserved byte is not zero");
  if (in.size < kServerHelloSize) return P::more();
  ServerHello h;
  h.version = in[4];
  h.status = static_cast<HelloStatus>(in[5]);
  h.reason = static_cast<RefuseReason>(in[6]);
  std::memcpy(h.session.data(), in.data + 8, 16);
  std::memcpy(h.nonce.data(), in.data + 24, 16);
  std::memcpy(h.mac.data(), in.data + kServerSignedSize, 32);
  return P::done(h, kServerHelloSize);
}

bool verify_server_hello(const PreSharedKey& key, const Mac& cmac, const ServerHello& hello) {
  return macs_equal(server_mac(key, cmac, hello), hello.mac);
}

}  // namespace udptun::protocol
