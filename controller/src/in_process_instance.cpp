#include "in_process_instance.hpp"

#include "udptun/runtime/instance_api.hpp"
#include "udptun/runtime/mailbox.hpp"
#include "udptun/tun2socks.h"
#include "udptun/udplocal.h"
#include "udptun/udpserver.h"

namespace udptun::controller {

namespace {

// A fatal error an instance reports on its own thread, for the controller's loop.
struct FatalNote {
  std::string message;
  bool empty() const { return message.empty(); }
  void clear() { message.clear(); }
};

template <class Handle, class Callbacks>
class HostedInstance final : public InProcessInstance {
 public:
  using Api = runtime::InstanceApi<Handle, Callbacks>;
  HostedInstance(runtime::EventLoop& loop, Api api) : loop_(loop), api_(api) {}
  ~HostedInstance() override { stop(); }

  Status start(const std::string& config_json, ExitSink on_exit) override {
    stop();
    char err[512] = "";
    handle_ = api_.create(config_json.c_str(), err, sizeof err);
    if (!handle_) return Status::failure(err);
    on_exit_ = std::move(on_exit);
    int rc = died_.open(loop_, [this](FatalNote& note) { reap(note.message); });
    Callbacks cb{};
    cb.error = [](void* user, const char* message) {
      std::string why = message && *message ? message : "fatal error";
      // Refused only once the controller closed the mailbox (stopping the instance anyway).
      (void)static_cast<HostedInstance*>(user)->died_.post([&](FatalNote& note) {
        note.message = why;
        return 0;
      });
    };
    if (rc != 0 || api_.start(handle_, &cb, this) != 0) {
      api_.destroy(handle_);
      handle_ = nullptr;
      died_.close();
      return Status::failure("cannot start its thread");
    }
    return Status::success();
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
    typename Api::Stats s{};
    api_.get_stats(handle_, &s);
    char text[2048];
    size_t n = api_.stats_json(&s, text, sizeof text);
    return n < sizeof text ? std::string(text, n) : "";
  }

 private:
  void reap(const std::string& message) {
    if (!handle_) return;
    stop();
    if (on_exit_) on_exit_("error: " + message);
  }

  runtime::EventLoop& loop_;
  Api api_;
  Handle* handle_ = nullptr;
  ExitSink on_exit_;
  runtime::Mailbox<FatalNote> died_;
};

template <class Handle, class Callbacks>
std::unique_ptr<InProcessInstance> host(runtime::EventLoop& loop,
                                        runtime::InstanceApi<Handle, Callbacks> api) {
  return std::make_unique<HostedInstance<Handle, Callbacks>>(loop, api);
}

}  // namespace

Result<std::unique_ptr<InProcessInstance>> InProcessInstance::make(const std::string& kind,
                                                                   runtime::EventLoop& loop) {
  if (kind == "udp-local") return host(loop, UDPTUN_INSTANCE_API(udplocal));
  if (kind == "udp-server") return host(loop, UDPTUN_INSTANCE_API(udpserver));
  if (kind == "tun2socks") return host(loop, UDPTUN_INSTANCE_API(tun2socks));
  return Status::failure("only tun2socks, udp-local and udp-server can run in-process");
}

}  // namespace udptun::controller
