#include "control_connection.hpp"

#include <sys/socket.h>

#include <memory>

#include "controller.hpp"

namespace udptun::controller {

namespace {

// All of the peer's groups: its primary one and, through SO_PEERGROUPS, its supplementary
// ones (a user who is in the socket's group only as a supplementary group counts).
std::vector<gid_t> peer_groups(int fd, gid_t primary) {
  std::vector<gid_t> groups(64);
  socklen_t len = static_cast<socklen_t>(groups.size() * sizeof(gid_t));
  if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups.data(), &len) != 0) {
    if (errno != ERANGE) return {primary};
    groups.resize(len / sizeof(gid_t) + 1);
    len = static_cast<socklen_t>(groups.size() * sizeof(gid_t));
    if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups.data(), &len) != 0) return {primary};
  }
  groups.resize(len / sizeof(gid_t));
  groups.push_back(primary);
  return groups;
}

}  // namespace

ControlConnection::ControlConnection(Controller& controller)
    : controller_(controller), requests_(controller.max_request_bytes()), buffer_(16 * 1024) {}

ControlConnection::~ControlConnection() {
  pipe_.close();
}

bool ControlConnection::accept(uv_stream_t* listener) {
  if (pipe_.init(this,
                 [&](uv_pipe_t* p) { return uv_pipe_init(controller_.loop().get(), p, 0); }) != 0)
    return false;
  if (uv_accept(listener, pipe_.stream()) != 0) return false;
  uv_os_fd_t fd;
  ucred cred{};
  socklen_t len = sizeof cred;
  std::optional<PeerRole> role;
  if (uv_fileno(pipe_.base(), &fd) == 0 &&
      getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0)
    role = controller_.peer_role(cred.uid, peer_groups(fd, cred.gid));
  if (!role) {
    LOG_WARN(controller_.log(), "control", "refused a client (uid %d, gid %d, pid %d)",
             static_cast<int>(cred.uid), static_cast<int>(cred.gid), static_cast<int>(cred.pid));
    return false;
  }
  role_ = *role;
  LOG_DEBUG(controller_.log(), "control", "client uid %d pid %d (%s)", static_cast<int>(cred.uid),
            static_cast<int>(cred.pid), role_ == PeerRole::admin ? "admin" : "member");
  set_reading(true);
  return true;
}

void ControlConnection::set_reading(bool on) {
  if (closed_ || on == reading_) return;
  reading_ = on;
  if (!on) {
    uv_read_stop(pipe_.stream());
    return;
  }
  uv_read_start(
      pipe_.stream(),
      [](uv_handle_t* h, size_t, uv_buf_t* b) {
        auto* self = static_cast<ControlConnection*>(h->data);
        *b = uv_buf_init(self->buffer_.data(), static_cast<unsigned>(self->buffer_.size()));
      },
      on_read);
}

size_t ControlConnection::waiting_output() const {
  return pipe_ ? pipe_.stream()->write_queue_size : 0;
}

void ControlConnection::on_read(uv_stream_t* s, ssize_t n, const uv_buf_t* buf) {
  auto* self = static_cast<ControlConnection*>(s->data);
  if (!self || self->closed_) return;
  if (n < 0) {
    self->close();
    return;
  }
  std::vector<std::string> objects;
  const char* error = self->requests_.feed(
      protocol::ByteView(reinterpret_cast<const uint8_t*>(buf->base), static_cast<size_t>(n)),
      objects);
  for (auto& o : objects) self->queued_.push_back(std::move(o));
  if (error) {
    // Answered in turn, then start over at the next object: the connection stays usable.
    self->queued_.push_back(std::string("\x01") + error);
    self->requests_.reset();
  }
  self->handle_queued();
}

void ControlConnection::handle_queued() {
  while (!closed_ && !queued_.empty() && waiting_output() < controller_.max_output_bytes()) {
    std::string request = std::move(queued_.front());
    queued_.pop_front();
    if (!request.empty() && request[0] == '\x01') {
      send(std::string(R"({"action":"","statusCode":1,"errorMessage":"invalid request stream: )") +
           request.substr(1) + "\"}");
    } else {
      send(controller_.handle(*this, request));
    }
  }
  // Read more only once what is held is answered and the client keeps up with its replies.
  set_reading(queued_.empty() && waiting_output() < controller_.max_output_bytes());
}

void ControlConnection::send(const std::string& json) {
  if (closed_) return;
  if (waiting_output() > 2 * controller_.max_output_bytes()) {
    LOG_WARN(controller_.log(), "control",
             "a client has %zu bytes of replies and events unread: disconnected", waiting_output());
    close();
    return;
  }
  struct Write {
    uv_write_t req;
    std::string text;
  };
  auto w = std::make_unique<Write>();
  w->text = json + "\n";
  w->req.data = w.get();
  uv_buf_t b = uv_buf_init(w->text.data(), static_cast<unsigned>(w->text.size()));
  if (uv_write(&w->req, pipe_.stream(), &b, 1, [](uv_write_t* r, int status) {
        std::unique_ptr<Write> done(static_cast<Write*>(r->data));
        // The handle (and its owner) may be closing: only a live one is resumed.
        auto* self = static_cast<ControlConnection*>(r->handle->data);
        if (self && status == 0 && !self->closed_) self->handle_queued();
      }) == 0) {
    w.release();
  }
}

void ControlConnection::close() {
  if (closed_) return;
  closed_ = true;
  if (pipe_) uv_read_stop(pipe_.stream());
  controller_.connection_closed(*this);
}

}  // namespace udptun::controller
