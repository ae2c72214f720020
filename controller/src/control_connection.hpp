// One client of the control socket: requests split by JSON object boundaries (with or
// without newlines), one reply object per request, and pushed events once subscribed.
//
// Bounded: replies and events wait in libuv's write queue; while more than
// max_output_bytes wait, requests are held (and the socket is not read), so a client that
// never reads its replies cannot grow the controller. Events keep coming regardless, so a
// subscriber whose backlog passes twice the bound is disconnected.
#pragma once

#include <uv.h>

#include <deque>
#include <string>
#include <vector>

#include "service_catalog.hpp"
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
  PeerRole role() const { return role_; }
  void close();

 private:
  static void on_read(uv_stream_t* s, ssize_t n, const uv_buf_t* buf);
  void handle_queued();
  void set_reading(bool on);
  size_t waiting_output() const;

  Controller& controller_;
  runtime::UvHandle<uv_pipe_t> pipe_;
  protocol::JsonObjectStream requests_;
  std::deque<std::string> queued_;  // requests read but not yet answered (output over bound)
  std::vector<char> buffer_;
  PeerRole role_ = PeerRole::member;
  bool subscribed_ = false;
  bool wants_status_ = false;
  bool reading_ = false;
  bool closed_ = false;
};

}  // namespace udptun::controller
