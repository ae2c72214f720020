#include "inproc_instance.hpp"

#include <mutex>

#include "udptun/runtime/uv_handle.hpp"
#include "udptun/tun2socks.h"
#include "udptun/udplocal.h"
#include "udptun/udpserver.h"

namespace udptun::controller {

namespace {

// The part of a library's C API a hosted instance needs; the three libraries have the same
// shape.
template <class Handle, class Callbacks, class Stats>
struct LibraryApi {
  Handle* (*create)(const char* json, char* err, size_t errlen);
  int (*start)(Handle* h, const Callbacks* cb, void* user);
  void (*stop)(Handle* h);
  void (*destroy)(Handle* h);
  void (*get_stats)(Handle* h, Stats* out);
  size_t (*stats_json)(const Stats* s, char* out, size_t cap);
};

template <class Handle, class Callbacks, class Stats>
class HostedInstance final : public InprocInstance {
 public:
  HostedInstance(runtime::EventLoop& loop, LibraryApi<Handle, Callbacks, Stats> api)
      : loop_(loop), api_(api) {}
  ~HostedInstance() override { stop(); }

  std::string start(const std::string& config_json, ExitSink on_exit) override {
    stop();
    char err[512] = "";
    handle_ = api_.create(config_json.c_str(), err, sizeof err);
    if (!handle_) return err;
    on_exit_ = std::move(on_exit);
    // The instance reports a fatal error on its own thread: the controller hears of it on its
    // loop, through this async handle.
    died_.init(this, [&](uv_async_t* a) {
      return uv_async_init(loop_.get(), a, [](uv_async_t* h) {
        auto* self = static_cast<HostedInstance*>(h->data);
        if (self) self->reap();
      });
    });
    Callbacks cb{};
    cb.error = [](void* user, const char* message) {
      auto* self = static_cast<HostedInstance*>(user);
      {
        std::lock_guard<std::mutex> lock(self->mutex_);
        self->error_ = message ? message : "fatal error";
      }
      uv_async_send(self->died_.get());
    };
    if (api_.start(handle_, &cb, this) != 0) {
      api_.destroy(handle_);
      handle_ = nullptr;
      died_.close();
      return "cannot start its thread";
    }
    return "";
  }

  void stop() override {
    if (!handle_) return;
    api_.stop(handle_);
    api_.destroy(handle_);  // joins the instance's thread: no callback runs after this
    handle_ = nullptr;
    died_.close();
  }

  bool running() const override { return handle_ != nullptr; }

  std::string stats_json() const override {
    if (!handle_) return "";
    Stats s{};
    api_.get_stats(handle_, &s);
    char text[2048];
    size_t n = api_.stats_json(&s, text, sizeof text);
    return n < sizeof text ? std::string(text, n) : "";
  }

 private:
  void reap() {
    if (!handle_) return;
    std::string why;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      why = "error: " + error_;
    }
    stop();
    if (on_exit_) on_exit_(why);
  }

  runtime::EventLoop& loop_;
  LibraryApi<Handle, Callbacks, Stats> api_;
  Handle* handle_ = nullptr;
  ExitSink on_exit_;
  runtime::UvHandle<uv_async_t> died_;
  mutable std::mutex mutex_;  // error_ only: written on the instance's thread
  std::string error_;
};

}  // namespace

std::unique_ptr<InprocInstance> InprocInstance::make(const std::string& kind,
                                                     runtime::EventLoop& loop, std::string& error) {
  if (kind == "udp-local") {
    return std::make_unique<HostedInstance<udplocal_t, udplocal_callbacks, udplocal_stats>>(
        loop, LibraryApi<udplocal_t, udplocal_callbacks, udplocal_stats>{
                  udplocal_new, udplocal_start, udplocal_stop, udplocal_free, udplocal_get_stats,
                  udplocal_stats_json});
  }
  if (kind == "udp-server") {
    return std::make_unique<HostedInstance<udpserver_t, udpserver_callbacks, udpserver_stats>>(
        loop, LibraryApi<udpserver_t, udpserver_callbacks, udpserver_stats>{
                  udpserver_new, udpserver_start, udpserver_stop, udpserver_free,
                  udpserver_get_stats, udpserver_stats_json});
  }
  if (kind == "tun2socks") {
    return std::make_unique<HostedInstance<tun2socks_t, tun2socks_callbacks, tun2socks_stats>>(
        loop, LibraryApi<tun2socks_t, tun2socks_callbacks, tun2socks_stats>{
                  tun2socks_new, tun2socks_start, tun2socks_stop, tun2socks_free,
                  tun2socks_get_stats, tun2socks_stats_json});
  }
  error = "only tun2socks, udp-local and udp-server can run in-process";
  return nullptr;
}

}  // namespace udptun::controller
