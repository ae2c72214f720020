#include "control_connection.hpp"

#include <sys/socket.h>

#include <memory>

#include "controller.hpp"

namespace udptun::controller {

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
  if (uv_fileno(pipe_.base(), &fd) != 0 ||
      getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 ||
      !controller_.peer_allowed(cred.uid, cred.gid)) {
    LOG_WARN(controller_.log(), "control", "refused a client (uid %d, gid %d)",
             static_cast<int>(cred.uid), static_cast<int>(cred.gid));
    return false;
  }
  uv_read_start(
      pipe_.stream(),
      [](uv_handle_t* h, size_t, uv_buf_t* b) {
        auto* self = static_cast<ControlConnection*>(h->data);
        *b = uv_buf_init(self->buffer_.data(), static_cast<unsigned>(self->buffer_.size()));
      },
      on_read);
  return true;
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
  for (const auto& o : objects) self->send(self->controller_.handle(*self, o));
  if (error) {
    // Answer, then start over at the next object: the connection stays usable.
    self->send(
        std::string(R"({"action":"","statusCode":1,"errorMessage":"invalid request stream: )") +
        error + "\"}");
    self->requests_.reset();
  }
}

void ControlConnection::send(const std::string& json) {
  if (closed_) return;
  struct Write {
    uv_write_t req;
    std::string text;
  };
  auto w = std::make_unique<Write>();
  w->text = json + "\n";
  w->req.data = w.get();
  uv_buf_t b = uv_buf_init(w->text.data(), static_cast<unsigned>(w->text.size()));
  if (uv_write(&w->req, pipe_.stream(), &b, 1, [](uv_write_t* r, int) {
        std::unique_ptr<Write> done(static_cast<Write*>(r->data));
      }) == 0) {
    w.release();
  }
}

void ControlConnection::close() {
  if (closed_) return;
  closed_ = true;
  controller_.connection_closed(*this);
}

}  // namespace udptun::controller
