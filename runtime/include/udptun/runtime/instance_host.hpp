// What every instance behind a C API (udp-server, udp-local, tun2socks) shares: its own loop
// and logger, the embedding application's callbacks, running on a thread of its own or on
// the caller's, and reporting a fatal error.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "udptun/protocol/address.hpp"
#include "udptun/runtime/event_loop.hpp"
#include "udptun/runtime/log.hpp"
#include "udptun/runtime/metrics_endpoint.hpp"

namespace udptun::runtime {

template <class Callbacks>
class InstanceHost {
 public:
  void stop() { loop_.request_stop(); }

 protected:
  InstanceHost() = default;
  ~InstanceHost() {
    loop_.request_stop();
    loop_.join();
  }

  // Takes the callbacks (when given) and sends log lines to the application's log callback.
  void adopt(const Callbacks* cb, void* user) {
    if (cb) cb_ = *cb;
    user_ = user;
    if (cb_.log) {
      log_.set_sink(
          [this](LogLevel l, const char* line) { cb_.log(user_, static_cast<int>(l), line); });
    }
  }
  // Runs `body` (the instance's run(), which adopts nothing more) on a new thread.
  template <class Body>
  int start_thread(const Callbacks* cb, void* user, Body body) {
    adopt(cb, user);
    return loop_.start_thread(body);
  }
  void report_error(const std::string& message) {
    LOG_ERROR(log_, "", "%s", message.c_str());
    if (cb_.error) cb_.error(user_, message.c_str());
  }
  // Serves /metrics on this loop when an address is configured (the "metrics" key). false,
  // with the error reported, when it cannot listen there.
  bool open_metrics(const std::optional<protocol::Address>& address,
                    MetricsEndpoint::Render render) {
    if (!address) return true;
    std::string error;
    metrics_ = MetricsEndpoint::open(loop_, log_, *address, std::move(render), error);
    if (!metrics_) report_error(error);
    return metrics_ != nullptr;
  }
  // Before the loop ends (the instance's shutdown).
  void close_metrics() { metrics_.reset(); }

  EventLoop loop_;
  Logger log_;
  Callbacks cb_{};
  void* user_ = nullptr;
  std::unique_ptr<MetricsEndpoint> metrics_;
};

}  // namespace udptun::runtime
