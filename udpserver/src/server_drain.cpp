// udp-server's graceful stop (udpserver_drain, SIGTERM in the daemon): for rolling upgrades
// behind a balancer. No new connections, every client told to move, relaying goes on for
// those still here; the instance stops once every worker's clients left or the grace passed.
#include "server.hpp"
#include "worker.hpp"

namespace udptun::udpserver {

Status Server::drain() {
  if (!loop_.post([this] { begin_drain(); }))
    return Status::failure("udp-server is stopping already: nothing to drain");
  return Status::success();
}

void Server::begin_drain() {
  if (draining_ || stopping_) return;
  draining_ = true;
  LOG_INFO(log_, "",
           "draining: no new connections; every client asked to move; stopping when they left "
           "or in %llu ms",
           static_cast<unsigned long long>(config_.drain_grace_ms));
  listeners_.clear();  // a balancer's health check fails now: new clients go elsewhere
  for (auto& w : workers_) {
    Worker* worker = w.get();
    worker->loop().post([worker] { worker->begin_drain(); });  // worker 0's loop is this one
  }
  drain_timer_.init(this, [&](uv_timer_t* t) { return uv_timer_init(loop_.get(), t); });
  uv_timer_start(
      drain_timer_.get(),
      [](uv_timer_t* t) {
        auto* self = static_cast<Server*>(t->data);
        LOG_INFO(self->log_, "", "drain grace period over: %llu clients still here",
                 static_cast<unsigned long long>(self->open_connections_.load()));
        self->loop_.request_stop();
      },
      config_.drain_grace_ms, 0);
}

}  // namespace udptun::udpserver
