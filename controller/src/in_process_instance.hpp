// One of udptun's own services run inside the controller through its C library
// ("mode":"inproc" in the control API), instead of as a child process: same configuration (the
// library's JSON, docs/CONFIG.md), same supervision, counters read straight from the instance.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "udptun/protocol/status.hpp"
#include "udptun/runtime/event_loop.hpp"

namespace udptun::controller {

class InProcessInstance {
 public:
  // Called on the controller's loop when the instance stopped by itself (a fatal error).
  using ExitSink = std::function<void(const std::string& reason)>;

  virtual ~InProcessInstance() = default;
  // kind: "udp-local", "udp-server" or "tun2socks".
  static Result<std::unique_ptr<InProcessInstance>> make(const std::string& kind,
                                                         runtime::EventLoop& loop);
  // Creates the library instance from `config_json` and runs it on a thread of its own.
  // A failure carries the library's own message for a bad configuration.
  virtual Status start(const std::string& config_json, ExitSink on_exit) = 0;
  // Stops and frees the instance (joins its thread). No ExitSink call follows.
  virtual void stop() = 0;
  virtual bool running() const = 0;
  // The latest counters as a JSON object, "" when not running.
  virtual std::string stats_json() const = 0;
};

}  // namespace udptun::controller
