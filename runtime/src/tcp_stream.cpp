#include "udptun/runtime/tcp_stream.hpp"

#include "udptun/runtime/thread_check.hpp"

#ifndef _WIN32
#include <fcntl.h>
#include <unistd.h>
#endif

#include "udptun/runtime/carrier_socket.hpp"

#include "udptun/protocol/address.hpp"
#include "udptun/runtime/event_loop.hpp"
#include "udptun/runtime/tls.hpp"

namespace udptun::runtime {

using protocol::ByteView;

TcpStream::TcpStream(EventLoop& loop, Events& events, size_t max_queued_bytes)
    : loop_(loop), events_(events), max_queued_(max_queued_bytes) {
  tcp_.init(this, [&](uv_tcp_t* t) { return uv_tcp_init(loop_.get(), t); });
  flush_check_.init(this, [&](uv_check_t* c) { return uv_check_init(loop_.get(), c); });
}

TcpStream::~TcpStream() {
  close();
}

int TcpStream::accept_from(uv_stream_t* listener) {
  int rc = uv_accept(listener, tcp_.stream());
  if (rc == 0) {
    uv_tcp_nodelay(tcp_.get(), 1);
    apply_carrier_options();
  }
  return rc;
}

void TcpStream::apply_carrier_options() {
  int fd = descriptor();
  if (fd < 0) return;
  carrier_error_.clear();
  if (carrier_.notsent_lowat > 0)
    carrier_error_ = carrier_socket::set_notsent_lowat(fd, carrier_.notsent_lowat);
  if (!carrier_.congestion.empty() && carrier_error_.empty())
    carrier_error_ = carrier_socket::set_congestion(fd, carrier_.congestion);
}

int TcpStream::descriptor() const {
#ifdef _WIN32
  return -1;  // no carrier options there (carrier_socket.hpp)
#else
  uv_os_fd_t fd;
  if (!tcp_ || uv_fileno(tcp_.base(), &fd) != 0) return -1;
  return fd;
#endif
}

TcpStream::Detached::Detached() = default;
TcpStream::Detached::Detached(Detached&& other) noexcept {
  *this = std::move(other);
}
TcpStream::Detached& TcpStream::Detached::operator=(Detached&& other) noexcept {
  std::swap(fd, other.fd);
  tls = std::move(other.tls);
  queued = std::move(other.queued);
  tls_records = std::move(other.tls_records);
  return *this;
}
TcpStream::Detached::~Detached() {
#ifndef _WIN32
  if (fd >= 0) ::close(fd);
#endif
}

Result<TcpStream::Detached> TcpStream::detach() {
#ifdef _WIN32
  return Status::failure("a connection cannot move to another loop on Windows");
#else
  // libuv cannot let go of a socket: the new loop gets a duplicate, and closing this handle
  // takes the original out of our epoll set.
  uv_os_fd_t fd;
  if (!tcp_ || codec_ || inflight_ || connecting_ || close_when_flushed_ ||
      uv_fileno(tcp_.base(), &fd) != 0)
    return Status::failure("the connection is busy or closed");
  Detached d;
  d.fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
  if (d.fd < 0) return Status::failure("cannot duplicate the connection's descriptor");
  d.tls = std::move(tls_);
  d.queued = std::move(queued_);
  d.tls_records = std::move(tls_records_);
  close();
  return d;
#endif
}

int TcpStream::adopt(Detached&& d) {
  if (!tcp_) return UV_EBADF;
  int rc = uv_tcp_open(tcp_.get(), d.fd);
  if (rc != 0) return rc;  // d closes the descriptor
  d.fd = -1;
  uv_tcp_nodelay(tcp_.get(), 1);
  apply_carrier_options();
  tls_ = std::move(d.tls);
  queued_ = std::move(d.queued);
  tls_records_ = std::move(d.tls_records);
  if (!queued_.empty() || !tls_records_.empty()) schedule_flush();
  return 0;
}

int TcpStream::connect(const struct sockaddr* to) {
  if (protector_) {
    // The socket must exist before connect for the protector to see it: made now, for
    // the destination's family.
    int rc = tcp_.init(this, [&](uv_tcp_t* t) {
      return uv_tcp_init_ex(loop_.get(), t, static_cast<unsigned>(to->sa_family));
    });
    if (rc != 0) return rc;
    rc = ask_protector(protector_, tcp_.base());
    if (rc != 0) {
      tcp_.close();
      return rc;
    }
  }
  auto req = std::make_unique<ConnectRequest>();
  req->owner = this;
  req->req.data = req.get();
  int rc = uv_tcp_connect(&req->req, tcp_.get(), to, [](uv_connect_t* r, int status) {
    std::unique_ptr<ConnectRequest> done(static_cast<ConnectRequest*>(r->data));
    TcpStream* self = done->owner;
    if (!self) return;  // the stream closed first (status is UV_ECANCELED)
    self->connecting_ = nullptr;
    if (status == 0) {
      uv_tcp_nodelay(self->tcp_.get(), 1);
      self->apply_carrier_options();
      self->schedule_flush();
    }
    self->events_.on_stream_connected(status);  // last: may destroy us
  });
  if (rc != 0) return rc;
  connecting_ = req.release();
  return 0;
}

int TcpStream::start_reading() {
  if (!tcp_) return UV_EBADF;
  want_reading_ = true;
  if (held_) return 0;  // resumes once what the peer is owed is written
  return uv_read_start(tcp_.stream(), on_alloc, on_read);
}

void TcpStream::stop_reading() {
  want_reading_ = false;
  if (tcp_) uv_read_stop(tcp_.stream());
}

void TcpStream::hold_if_owing_too_much() {
  if (held_ || hold_above_ == 0 || !tcp_ || queued_bytes() <= hold_above_) return;
  held_ = true;
  uv_read_stop(tcp_.stream());
  events_.on_stream_reads_held();
}

void TcpStream::on_alloc(uv_handle_t* h, size_t, uv_buf_t* buf) {
  auto* self = static_cast<TcpStream*>(h->data);
  *buf = self->loop_.recv_buffer();
}

void TcpStream::set_codec(std::unique_ptr<protocol::StreamCodec> codec) {
  codec_ = std::move(codec);
  size_t before = tls_records_.size();
  codec_->start(tls_records_);
  if (tls_records_.size() != before) schedule_flush();
}

void TcpStream::start_tls(TlsContext& context) {
  tls_ = std::make_unique<TlsSession>(context);
  std::string error;
  if (tls_->start(tls_records_, error) != TlsSession::Status::ok) {
    fail(error.c_str());
    return;
  }
  schedule_flush();
}

void TcpStream::on_read(uv_stream_t* s, ssize_t n, const uv_buf_t* buf) {
  auto* self = static_cast<TcpStream*>(s->data);
  if (!self) return;
  if (n > 0 && self->carrier_.quick_ack) carrier_socket::ask_quick_ack(self->descriptor());
  if (n > 0 && self->tls_) {
    ByteView records(reinterpret_cast<const uint8_t*>(buf->base), static_cast<size_t>(n));
    bool was_established = self->tls_->established();
    // A TLS record starts with a content type 20..24: anything else is a peer without TLS.
    if (!was_established && (records.data[0] < 20 || records.data[0] > 24)) {
      self->fail("TLS: the peer does not speak TLS");
      return;
    }
    std::string error;
    self->tls_plaintext_.clear();
    auto status = self->tls_->receive(records, self->tls_records_, self->tls_plaintext_, error);
    if (status == TlsSession::Status::failed) {
      self->fail(error.c_str());
      return;
    }
    // Handshake replies to send, or (once established) what waited for it.
    if (!self->tls_records_.empty() || (!was_established && self->tls_->established()))
      self->schedule_flush();
    self->hold_if_owing_too_much();
    if (status == TlsSession::Status::closed) {
      self->fail("closed by peer");
      return;
    }
    if (!self->tls_plaintext_.empty()) {
      std::vector<uint8_t> plain;
      plain.swap(self->tls_plaintext_);
      self->events_.on_stream_data(ByteView(plain));
    }
    return;  // the handler may have destroyed us: touch nothing after it
  }
  if (n > 0 && self->codec_) {
    self->tls_plaintext_.clear();
    // The codec's answers (a handshake's) go straight to the outgoing bytes, after what
    // waits there: a codec stream has no TLS, that buffer is its wire.
    size_t answered = self->tls_records_.size();
    bool ok = self->codec_->decode(
        ByteView(reinterpret_cast<const uint8_t*>(buf->base), static_cast<size_t>(n)),
        self->tls_plaintext_, self->tls_records_);
    if (!ok) {
      self->close_flushing();  // a refusal's reply, if any, goes out first
      self->fail(self->codec_ ? self->codec_->error() : "closed");
      return;
    }
    if (self->tls_records_.size() != answered) {
      self->schedule_flush();
      self->hold_if_owing_too_much();
    }
    if (!self->tls_plaintext_.empty()) {
      std::vector<uint8_t> frames;
      frames.swap(self->tls_plaintext_);
      self->events_.on_stream_data(ByteView(frames));
    }
    return;  // the handler may have destroyed us: touch nothing after it
  }
  if (n > 0) {
    self->events_.on_stream_data(
        ByteView(reinterpret_cast<const uint8_t*>(buf->base), static_cast<size_t>(n)));
    return;  // the handler may have destroyed us: touch nothing after it
  }
  if (n < 0) self->fail(n == UV_EOF ? "closed by peer" : uv_strerror(static_cast<int>(n)));
}

void TcpStream::fail(const char* reason) {
  close();
  events_.on_stream_closed(reason);  // last: may destroy us
}

bool TcpStream::write(ByteView bytes, bool essential) {
  UDPTUN_ASSERT_LOOP_THREAD(loop_);
  if (!tcp_ || close_when_flushed_) return false;
  if (!essential && queued_bytes() + bytes.size > max_queued_) return false;
  queued_.insert(queued_.end(), bytes.data, bytes.data + bytes.size);
  schedule_flush();
  hold_if_owing_too_much();
  return true;
}

bool TcpStream::write(ByteView prefix, ByteView payload) {
  UDPTUN_ASSERT_LOOP_THREAD(loop_);
  if (!tcp_ || close_when_flushed_) return false;
  if (queued_bytes() + prefix.size + payload.size > max_queued_) return false;
  queued_.insert(queued_.end(), prefix.data, prefix.data + prefix.size);
  queued_.insert(queued_.end(), payload.data, payload.data + payload.size);
  schedule_flush();
  return true;
}

// Writing at the end of the loop iteration (check phase) lets every frame produced by one
// batch of socket reads leave in a single write() call.
void TcpStream::schedule_flush() {
  if (!inflight_ && !connecting_ && flush_check_ && !uv_is_active(flush_check_.base())) {
    uv_check_start(flush_check_.get(), on_check);
    loop_.expedite_flush();
  }
}

void TcpStream::on_check(uv_check_t* c) {
  auto* self = static_cast<TcpStream*>(c->data);
  uv_check_stop(c);
  if (self) self->flush();
}

void TcpStream::flush() {
  if (!tcp_ || inflight_ || connecting_) return;
  // Everything given is in the kernel: the next frames, if any wait (not before a TLS
  // handshake is done, nor once closing).
  if (source_ && queued_.empty() && tls_records_.empty() && !close_when_flushed_ &&
      !shutdown_when_flushed_ && (!tls_ || tls_->established()) && source_->pending())
    source_->pull(queued_, pull_chunk_);
  // On a TLS stream what leaves is records: application bytes wait for the handshake, then
  // follow any records the handshake itself produced.
  if (tls_ && tls_->established() && !queued_.empty()) {
    std::string error;
    if (tls_->send(ByteView(queued_), tls_records_, error) != TlsSession::Status::ok) {
      fail(error.c_str());
      return;
    }
    queued_.clear();
  }
  if (codec_ && !queued_.empty()) {
    if (!codec_->encode(ByteView(queued_), tls_records_)) {
      fail(codec_->error());
      return;
    }
    queued_.clear();
  }
  std::vector<uint8_t>& out = tls_ || codec_ ? tls_records_ : queued_;
  if (!out.empty()) {
    write_buffer(out);
    return;
  }
  if (!queued_.empty()) return;  // waiting for the TLS handshake
  if (close_when_flushed_)
    close();
  else if (shutdown_when_flushed_)
    shutdown_write();
}

// Writes `source`'s bytes; `source` is left empty. Most writes complete at once: tried first
// as a plain write (no request, and none of the poll changes uv_write makes each time); what
// the socket did not take goes to one uv_write (reusing the spare buffer).
void TcpStream::write_buffer(std::vector<uint8_t>& source) {
  uv_buf_t all =
      uv_buf_init(reinterpret_cast<char*>(source.data()), static_cast<unsigned>(source.size()));
  int written = uv_try_write(tcp_.stream(), &all, 1);
  if (written < 0 && written != UV_EAGAIN) {
    fail(uv_strerror(written));
    return;
  }
  size_t taken = written > 0 ? static_cast<size_t>(written) : 0;
  if (taken == source.size()) {
    source.clear();
    written_all();  // may destroy us
    return;
  }
  auto req = std::make_unique<WriteRequest>();
  req->bytes.swap(source);
  source.swap(spare_);
  source.clear();
  // The part the socket took stays in the buffer, skipped, not moved.
  req->size = req->bytes.size() - taken;
  req->owner = this;
  req->req.data = req.get();
  uv_buf_t buf = uv_buf_init(reinterpret_cast<char*>(req->bytes.data() + taken),
                             static_cast<unsigned>(req->size));
  int rc = uv_write(&req->req, tcp_.stream(), &buf, 1, on_write);
  if (rc != 0) {
    fail(uv_strerror(rc));
    return;
  }
  inflight_ = req.release();
}

void TcpStream::on_write(uv_write_t* r, int status) {
  std::unique_ptr<WriteRequest> req(static_cast<WriteRequest*>(r->data));
  TcpStream* self = req->owner;
  if (!self) return;  // the stream is gone; the request only owned its bytes
  self->inflight_ = nullptr;
  if (status != 0) {
    self->fail(uv_strerror(status));
    return;
  }
  if (self->spare_.capacity() < req->bytes.capacity() && req->bytes.capacity() <= (1u << 20)) {
    req->bytes.clear();
    self->spare_.swap(req->bytes);
  }
  self->written_all();
}

void TcpStream::written_all() {
  if (queued_.empty() && tls_records_.empty()) {
    if (close_when_flushed_) {
      close();
      return;
    }
    if (held_) {
      held_ = false;
      if (want_reading_ && uv_read_start(tcp_.stream(), on_alloc, on_read) != 0) {
        fail("cannot read again");
        return;
      }
    }
    if (source_ && source_->pending()) {  // the next frames, in the next check phase
      schedule_flush();
      return;
    }
    if (shutdown_when_flushed_) shutdown_write();
    events_.on_stream_drained();  // last: may destroy us
    return;
  }
  flush();
}

void TcpStream::shutdown_write() {
  if (!tcp_ || shut_down_) return;
  shutdown_when_flushed_ = true;
  if (!inflight_ && !connecting_ && queued_.empty()) {
    shut_down_ = true;
    // The request is freed in its callback, which needs no owner (it also runs, cancelled,
    // if the stream closes first).
    auto req = std::make_unique<uv_shutdown_t>();
    if (uv_shutdown(req.get(), tcp_.stream(),
                    [](uv_shutdown_t* r, int) { std::unique_ptr<uv_shutdown_t> done(r); }) == 0) {
      req.release();
    }
  } else {
    schedule_flush();
  }
}

void TcpStream::close_after_flush() {
  if (!tcp_) return;
  close_when_flushed_ = true;
  if (!inflight_ && queued_.empty()) {
    close();
  } else {
    stop_reading();
    schedule_flush();
  }
}

void TcpStream::close() {
  UDPTUN_ASSERT_LOOP_THREAD(loop_);
  if (inflight_) {
    inflight_->owner = nullptr;
    inflight_ = nullptr;
  }
  if (connecting_) {
    connecting_->owner = nullptr;
    connecting_ = nullptr;
  }
  flush_check_.close();
  tcp_.close();
  queued_.clear();
  queued_.shrink_to_fit();
  spare_ = {};
}

void TcpStream::close_flushing() {
  if (tls_) {
    // Never plaintext on a TLS connection: what can be encrypted now, or nothing.
    std::string error;
    if (tls_->established() && !queued_.empty() &&
        tls_->send(ByteView(queued_), tls_records_, error) == TlsSession::Status::ok)
      queued_.swap(tls_records_);
    else
      queued_.clear();
    tls_records_.clear();
  } else if (codec_) {
    if (!queued_.empty()) codec_->encode(ByteView(queued_), tls_records_);
    queued_.swap(tls_records_);
    tls_records_.clear();
  }
  if (tcp_ && !inflight_ && !connecting_ && !queued_.empty()) {
    uv_buf_t buf =
        uv_buf_init(reinterpret_cast<char*>(queued_.data()), static_cast<unsigned>(queued_.size()));
    uv_try_write(tcp_.stream(), &buf, 1);
  }
  close();
}

std::optional<protocol::Address> TcpStream::peer_address() const {
  if (!tcp_) return std::nullopt;
  sockaddr_storage ss;
  int len = sizeof ss;
  if (uv_tcp_getpeername(tcp_.get(), reinterpret_cast<sockaddr*>(&ss), &len) != 0)
    return std::nullopt;
  return protocol::address_from_sockaddr(reinterpret_cast<sockaddr*>(&ss));
}

std::optional<protocol::Address> TcpStream::local_address() const {
  if (!tcp_) return std::nullopt;
  sockaddr_storage ss;
  int len = sizeof ss;
  if (uv_tcp_getsockname(tcp_.get(), reinterpret_cast<sockaddr*>(&ss), &len) != 0)
    return std::nullopt;
  return protocol::address_from_sockaddr(reinterpret_cast<sockaddr*>(&ss));
}

std::string TcpStream::peer_name() const {
  auto a = peer_address();
  return a ? protocol::format_address(*a) : "-";
}

}  // namespace udptun::runtime
