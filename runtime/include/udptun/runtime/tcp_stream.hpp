// A TCP connection with a bounded, coalescing output queue. Bytes written during one loop
// iteration leave in one write (writev-style batching happens by appending), with
// TCP_NODELAY so nothing waits for Nagle. Output beyond the cap is refused, not buffered:
// the caller drops (UDP may drop; the process may not bloat).
#pragma once

#include <uv.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "udptun/protocol/address.hpp"
#include "udptun/protocol/bytes.hpp"
#include "udptun/protocol/status.hpp"
#include "udptun/protocol/stream_codec.hpp"
#include "udptun/runtime/socket_protector.hpp"
#include "udptun/runtime/uv_handle.hpp"

struct sockaddr;

namespace udptun::runtime {

class EventLoop;
class TlsContext;
class TlsSession;

class TcpStream {
 public:
  class Events {
   public:
    virtual ~Events() = default;
    // Bytes arrived. The view is valid only during the call. The handler may close or
    // destroy the stream from inside.
    virtual void on_stream_data(protocol::ByteView data) = 0;
    // EOF or an error; the stream is closed already. May destroy the stream.
    virtual void on_stream_closed(const char* reason) = 0;
    // connect() finished: status 0 or a libuv error. May destroy the stream.
    virtual void on_stream_connected(int status) { (void)status; }
    // Everything queued has been written (for relays that pause reading meanwhile).
    virtual void on_stream_drained() {}
    // Reading stopped by itself: the peer is not reading what we owe it (hold_reading_above).
    virtual void on_stream_reads_held() {}
  };

  // Where a stream that has written everything it was given finds more: frames waiting in
  // a scheduler until the connection can take them (so they wait where they can be
  // reordered and dropped fairly, not in this stream's FIFO or the kernel's).
  class Source {
   public:
    virtual ~Source() = default;
    virtual bool pending() const = 0;
    // Appends about `budget` bytes (whole frames) to `out`.
    virtual void pull(std::vector<uint8_t>& out, size_t budget) = 0;
  };

  // What the carrier's socket is asked to do (applied at connect, accept or adoption).
  struct CarrierOptions {
    // TCP_NOTSENT_LOWAT: the kernel takes new bytes only while fewer than this wait unsent,
    // so the queue stays here, where it is scheduled. 0: the kernel's default (unbounded).
    size_t notsent_lowat = 0;
    std::string congestion;  // TCP_CONGESTION ("bbr", "cubic"…); empty: the system's
    // Acknowledge at once what arrives: the peer's writer, held to a few unsent bytes, is
    // woken by our ACKs; a delayed ACK (40 ms) would stall it that long.
    bool quick_ack = false;
  };

  // A connection on its way to another loop (udp-server's workers): its socket (a descriptor
  // of its own, closed unless adopted), its TLS session and what was queued but not written.
  struct Detached {
    int fd = -1;
    std::unique_ptr<TlsSession> tls;
    std::vector<uint8_t> queued, tls_records;
    Detached();
    Detached(Detached&& other) noexcept;
    Detached& operator=(Detached&& other) noexcept;
    ~Detached();
  };

  TcpStream(EventLoop& loop, Events& events, size_t max_queued_bytes);
  ~TcpStream();
  TcpStream(const TcpStream&) = delete;
  TcpStream& operator=(const TcpStream&) = delete;

  int accept_from(uv_stream_t* listener);
  // Gives the connection up to be adopted on another loop; this stream is closed afterwards
  // (without on_stream_closed). Refused while a write or a connect is under way, and where a
  // socket cannot be moved between loops (Windows).
  Result<Detached> detach();
  // Takes a detached connection (on this stream's loop, before reading): 0, or a libuv error
  // and the descriptor closed.
  int adopt(Detached&& connection);
  // Frames come from `source`, `chunk` bytes at a time, whenever everything given before is
  // in the kernel. wake() after the source gets something.
  void set_source(Source* source, size_t chunk) {
    source_ = source;
    pull_chunk_ = chunk;
  }
  void wake() { schedule_flush(); }
  // Before connect (or right after accept): the socket options above. An option the system
  // refuses is reported in `error` (the stream still works, without it).
  void set_carrier_options(const CarrierOptions& options) { carrier_ = options; }
  const std::string& carrier_error() const { return carrier_error_; }
  // The socket, for the carrier's kernel options (carrier_socket.hpp); -1 when closed.
  int descriptor() const;
  // Before connect: the new socket goes through `protector` first (Android's protect()).
  void set_protector(SocketProtector protector) { protector_ = std::move(protector); }
  // 0, a libuv error, or kSocketRefused when the protector said no.
  int connect(const struct sockaddr* to);
  // What the owner wants; a stream held (below) reads again only once the owner wants it.
  int start_reading();
  void stop_reading();
  // A peer that makes us owe it more than `bytes` (replies, TLS alerts, handshake records: all
  // it provokes and does not read) is not read until that is written: its requests wait in
  // its own socket. Off (0) by default: a relay pausing one direction on the other's
  // backpressure could deadlock the protocol it carries.
  void hold_reading_above(size_t bytes) { hold_above_ = bytes; }
  // From now on the connection carries TLS (after a plaintext prologue such as a SOCKS5
  // CONNECT): what is read arrives decrypted; what is written waits for the handshake, then
  // leaves encrypted, coalesced as before. A TLS failure closes the stream with its reason.
  void start_tls(TlsContext& context);
  // From now on (before reading) the connection speaks another protocol that `codec`
  // translates to and from udptun frames (udp-server's udpgw listener): what is read arrives
  // as frames, what is written leaves translated. Not with TLS; such a stream is not detached.
  void set_codec(std::unique_ptr<protocol::StreamCodec> codec);
  protocol::StreamCodec* codec() const { return codec_.get(); }

  // Queues bytes. `essential` bytes (handshakes, control frames) bypass the cap; others are
  // refused with false when the queue is full.
  bool write(protocol::ByteView bytes, bool essential = false);
  bool write(protocol::ByteView prefix, protocol::ByteView payload);
  // Closes once everything queued has been written (e.g. after a GOAWAY).
  void close_after_flush();
  // Half-close: sends FIN once everything queued has been written; reading goes on.
  void shutdown_write();
  void close();
  // Shutting down: one non-blocking attempt to write what is queued, then close.
  void close_flushing();
  bool is_open() const { return static_cast<bool>(tcp_); }

  // Everything this stream will write: application bytes, TLS records (ours, or ones a peer
  // provoked), and the write under way.
  size_t queued_bytes() const {
    return queued_.size() + tls_records_.size() + (inflight_ ? inflight_->size : 0);
  }
  std::string peer_name() const;  // "1.2.3.4:5678", for logs
  std::optional<protocol::Address> peer_address() const;
  std::optional<protocol::Address> local_address() const;

 private:
  struct WriteRequest {
    uv_write_t req;
    std::vector<uint8_t> bytes;
    size_t size = 0;
    TcpStream* owner = nullptr;  // cleared when the stream goes away first
  };

  static void on_alloc(uv_handle_t* h, size_t suggested, uv_buf_t* buf);
  static void on_read(uv_stream_t* s, ssize_t n, const uv_buf_t* buf);
  // The bytes handed to the socket are all out: close or shut down if asked, tell the owner
  // (on_stream_drained), or write what was queued meanwhile.
  void written_all();
  static void on_write(uv_write_t* req, int status);
  static void on_check(uv_check_t* c);
  void schedule_flush();
  void flush();
  void write_buffer(std::vector<uint8_t>& source);
  void fail(const char* reason);
  void hold_if_owing_too_much();
  void apply_carrier_options();

  EventLoop& loop_;
  Events& events_;
  size_t max_queued_;
  UvHandle<uv_tcp_t> tcp_;
  UvHandle<uv_check_t> flush_check_;
  struct ConnectRequest {
    uv_connect_t req;
    TcpStream* owner = nullptr;
  };
  ConnectRequest* connecting_ = nullptr;  // owned by libuv until its callback
  bool close_when_flushed_ = false;
  bool shutdown_when_flushed_ = false;
  bool shut_down_ = false;
  bool want_reading_ = false;  // the owner's wish
  bool held_ = false;          // not reading: owing the peer more than hold_above_
  size_t hold_above_ = 0;
  Source* source_ = nullptr;
  size_t pull_chunk_ = 0;
  CarrierOptions carrier_;
  std::string carrier_error_;
  std::vector<uint8_t> queued_;
  std::vector<uint8_t> spare_;  // the last written buffer, reused to avoid reallocating
  WriteRequest* inflight_ = nullptr;
  std::unique_ptr<TlsSession> tls_;
  SocketProtector protector_;
  std::unique_ptr<protocol::StreamCodec> codec_;
  std::vector<uint8_t> tls_records_;    // TLS records (or the codec's bytes) waiting to be written
  std::vector<uint8_t> tls_plaintext_;  // decrypted (or decoded) bytes, for on_stream_data
};

}  // namespace udptun::runtime
