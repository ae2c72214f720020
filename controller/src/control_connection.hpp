// One client of the control socket: requests split by JSON object boundaries (with or
// without newlines), one reply object per request, and pushed events once subscribed.
#pragma once

#include <uv.h>

#include <string>
#include <vector>

#include "udptun/protocol/json_object_stream.hpp"
#include "udptun/runtime/uv_handle.hpp"

namespace udptun::controller {

class Controller;

class ControlConnection {
 public:
  explicit ControlConnection(Controller& controller);
  ~ControlConnection();
  // Accepts from the listener and checks the peer's credentials. false: refused.
  bool accept(uv_stream_t* listener);
  void send(const std::string& json);
  bool subscribed() const { return subscribed_; }
  void set_subscribed() { subscribed_ = true; }
  // It configured routing: it gets statusChanged pushes for as long as it stays connected.
  bool wants_status() const { return wants_status_; }
  void set_wants_status() { wants_status_ = true; }
  void close();

 private:
  static void on_read(uv_stream_t* s, ssize_t n, const uv_buf_t* buf);

  Controller& controller_;
  runtime::UvHandle<uv_pipe_t> pipe_;
  protocol::JsonObjectStream requests_;
  std::vector<char> buffer_;
  bool subscribed_ = false;
  bool wants_status_ = false;
  bool closed_ = false;
};

}  // namespace udptun::controller
