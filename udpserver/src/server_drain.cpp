// udp-server's graceful stop (udpserver_drain, SIGTERM in the daemon): for rolling upgrades
// behind a balancer. No new connections, every client told to move, relaying goes on for
// those still here; the instance stops once all left (forget_link) or the grace passed.
#include "client_link.hpp"
#include "server.hpp"

namespace udptun::udpserver {

bool Server::drain() {
  return loop_.post([this] { begin_drain(); });
}

void Server::begin_drain() {
  if (draining_ || stopping_) return;
  draining_ = true;
  LOG_INFO(log_, "",
           "draining: no new connections; %zu clients asked to move; stopping when "
           "they left or in %llu ms",
           links_.size(), static_cast<unsigned long long>(config_.drain_grace_ms));
  listeners_.clear();  // a balancer's health check fails now: new clients go elsewhere
  std::vector<ClientLink*> open;
  for (auto& l : links_) open.push_back(l.get());
  for (ClientLink* l : open) {
    if (l->established())
      l->ask_to_move(protocol::GoAwayReason::shutting_down, "server draining: reconnect");
    else
      l->end(protocol::GoAwayReason::shutting_down, "server draining");
  }
  if (links_.empty()) {
    loop_.request_stop();
    return;
  }
  drain_timer_.init(this, [&](uv_timer_t* t) { return uv_timer_init(loop_.get(), t); });
  uv_timer_start(
      drain_timer_.get(),
      [](uv_timer_t* t) {
        auto* self = static_cast<Server*>(t->data);
        LOG_INFO(self->log_, "", "drain grace period over: %zu clients still here",
                 self->links_.size());
        self->loop_.request_stop();
      },
      config_.drain_grace_ms, 0);
}

}  // namespace udptun::udpserver
