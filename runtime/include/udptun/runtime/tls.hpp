// The built-in TLS carrier (mbedTLS): frames travel inside TLS between udp-local and
// udp-server when no other encrypting tunnel (shadowsocks) carries them. TLS 1.2 with ECDHE and
// AEAD suites (Debian 12's mbedTLS 2.28 has no TLS 1.3); the server is authenticated by a
// pinned SHA-256 of its certificate or by a CA file, and the PSK handshake runs inside.
// A TlsContext is per instance (keys, certificates, the random generator); a TlsSession per
// connection, driven by bytes: no I/O of its own, TcpStream moves the records.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "udptun/protocol/bytes.hpp"
#include "udptun/protocol/status.hpp"

namespace udptun::runtime {

struct TlsClientOptions {
  std::string pin_sha256;   // hex SHA-256 of the server certificate (DER); or
  std::string ca_file;      // PEM CAs the server certificate must chain to
  std::string server_name;  // SNI, and the name checked against a CA-issued certificate
};
struct TlsServerOptions {
  std::string cert_file, key_file;  // PEM
};

class TlsContext {
 public:
  static Result<std::unique_ptr<TlsContext>> client(const TlsClientOptions& options);
  static Result<std::unique_ptr<TlsContext>> server(const TlsServerOptions& options);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  struct Impl;
  Impl& impl() { return *impl_; }

 private:
  explicit TlsContext(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

class TlsSession {
 public:
  explicit TlsSession(TlsContext& context);
  ~TlsSession();
  TlsSession(const TlsSession&) = delete;
  TlsSession& operator=(const TlsSession&) = delete;

  enum class Status { ok, failed, closed };
  // Starts the handshake (a client's hello goes to `records`).
  Status start(std::vector<uint8_t>& records, std::string& error);
  // Records from the peer: handshake replies go to `records`, application bytes to
  // `plaintext`.
  Status receive(protocol::ByteView ciphertext, std::vector<uint8_t>& records,
                 std::vector<uint8_t>& plaintext, std::string& error);
  bool established() const { return established_; }
  // Application bytes to records (only once established).
  Status send(protocol::ByteView plaintext, std::vector<uint8_t>& records, std::string& error);

 private:
  Status drive_handshake(std::string& error);
  struct Impl;
  std::unique_ptr<Impl> impl_;
  bool established_ = false;
};

}  // namespace udptun::runtime
