// Routing and what follows it: configureRouting/resetRouting (validated in
// routing_request.cpp, applied by the RoutingPlatform, journaled step by step), the network
// watch that keeps the proxy's routes on the uplink, and the tunnel status the GUI is pushed.
#include <cJSON.h>
#include <unistd.h>

#include <cstring>

#include "control_connection.hpp"
#include "controller.hpp"
#include "controller_json.hpp"
#include "routing_request.hpp"

namespace udptun::controller {

Status Controller::configure_routing(ControlConnection& from, const cJSON* params) {
  RoutingRequest req;
  Status valid = parse_routing_request(params, req);
  if (!valid.ok()) return valid;  // nothing was changed
  if (routing_state_) {
    // A new configuration replaces the old one; what could not be undone is said, and the
    // new routes go in all the same (they are what the user asks for now).
    Status reset = reset_routing();
    if (!reset.ok())
      LOG_WARN(log_, "routing", "the previous routing was not fully undone: %s",
               reset.message().c_str());
  }
  // The journal lists only what this controller added, written after every step: a restart
  // after a crash undoes exactly that, never a route or device that was there before us.
  req.reuse_tun = !pending_tun_release_.empty() && pending_tun_release_ == req.tun_name;
  RoutingState planned;
  planned.tun_name = req.tun_name;
  Status journaled = journal_.save(planned);
  if (!journaled.ok()) return journaled;
  RoutingState state;
  Status configured = routing_->configure(
      req, state, [this](const RoutingState& now) { save_routing_journal(now); });
  if (!configured.ok()) {
    Status undone = routing_->reset(state);
    journal_.remove();
    LOG_WARN(log_, "routing", "configureRouting failed: %s%s%s", configured.message().c_str(),
             undone.ok() ? "" : "; undoing it: ", undone.message().c_str());
    return configured;
  }
  if (req.reuse_tun) pending_tun_release_.clear();
  save_routing_journal(state);  // now exact: what really was added
  routing_state_ = state;
  from.set_wants_status();
  network_ok_ = true;
  tunnel_status_ = kConnected;
  LOG_INFO(log_, "routing", "routing through %s%s, proxy kept via %s", state.tun_name.c_str(),
           state.split_default6 ? " (IPv4 and IPv6)" : " (IPv4)",
           state.gateway.empty() ? state.gateway_dev.c_str() : state.gateway.c_str());
  broadcast_event("routing-changed", "", "configured through " + state.tun_name);
  return Status::success();
}

void Controller::save_routing_journal(const RoutingState& state) {
  // A journal that cannot be written costs only the undo after a crash: routing goes on.
  Status saved = journal_.save(state);
  if (!saved.ok()) LOG_WARN(log_, "routing", "%s", saved.message().c_str());
}

void Controller::release_pending_tun() {
  if (pending_tun_release_.empty()) return;
  if (routing_->release_tun(pending_tun_release_)) {
    LOG_DEBUG(log_, "routing", "%s released", pending_tun_release_.c_str());
    pending_tun_release_.clear();
  } else {
    LOG_INFO(log_, "routing", "%s is still held (tun2socks running?): released when it lets go",
             pending_tun_release_.c_str());
  }
}

void Controller::watch_sessions() {
  for (const auto& s : supervisor_.status()) {
    if (s.stats.empty()) continue;  // not running, or nothing reported yet
    Json stats(cJSON_Parse(s.stats.c_str()));
    const cJSON* link = cJSON_GetObjectItemCaseSensitive(stats.p, "link_up");
    if (!link) link = cJSON_GetObjectItemCaseSensitive(stats.p, "udp_tunnel_up");
    const cJSON* attached = cJSON_GetObjectItemCaseSensitive(stats.p, "sessions_attached");
    const cJSON* v = cJSON_IsNumber(link) ? link : attached;
    if (!cJSON_IsNumber(v)) continue;
    auto it = sessions_seen_.emplace(s.name, 0.0).first;
    double before = it->second;
    it->second = v->valuedouble;
    if (v->valuedouble == before) continue;
    bool up = v->valuedouble > before;
    std::string detail =
        link ? (up ? "tunnel up" : "tunnel down")
             : std::to_string(static_cast<long>(v->valuedouble)) + " session(s) attached";
    LOG_INFO(log_, "service", "%s: %s", s.name.c_str(), detail.c_str());
    broadcast_event(up ? "session-up" : "session-down", s.name, detail);
    if (link) {
      // A client end whose tunnel went down: the GUI sees "reconnecting" until it is back.
      if (up)
        tunnels_down_.erase(s.name);
      else
        tunnels_down_.insert(s.name);
      update_tunnel_status();
    }
  }
}

void Controller::watch_network() {
  int fd = routing_->change_fd();
  if (fd < 0) {
    LOG_WARN(log_, "routing", "cannot watch network changes (rtnetlink): no statusChanged pushes");
    return;
  }
  change_watch_.init(this, [&](uv_poll_t* p) { return uv_poll_init(loop_.get(), p, fd); });
  settle_.init(this, [&](uv_timer_t* t) { return uv_timer_init(loop_.get(), t); });
  uv_poll_start(change_watch_.get(), UV_READABLE, [](uv_poll_t* p, int, int) {
    auto* self = static_cast<Controller*>(p->data);
    if (!self) return;
    self->routing_->drain_changes();
    // A link flap or a DHCP renewal comes as a burst of messages: look once it settled.
    if (self->routing_state_ || !self->pending_tun_release_.empty())
      uv_timer_start(
          self->settle_.get(),
          [](uv_timer_t* t) {
            auto* c = static_cast<Controller*>(t->data);
            if (c) c->network_changed();
          },
          kNetworkSettleMs, 0);
  });
}

void Controller::network_changed() {
  release_pending_tun();
  if (!routing_state_) return;
  Uplink up = routing_->uplink(false);
  if (!up.usable) {
    if (network_ok_) {
      LOG_WARN(log_, "routing", "the uplink is gone (%s): waiting for it",
               up.dev.empty() ? "no default route" : (up.dev + " is down").c_str());
    }
    network_ok_ = false;
    update_tunnel_status();
    return;
  }
  const std::string before = routing_state_->gateway + "%" + routing_state_->gateway_dev;
  bool changed = false;
  Status followed = routing_->follow_uplink(*routing_state_, changed);
  if (!followed.ok() && !changed)
    LOG_WARN(log_, "routing", "cannot follow the uplink: %s", followed.message().c_str());
  if (changed) {
    save_routing_journal(*routing_state_);
    LOG_INFO(log_, "routing", "routes re-applied: proxy via %s%%%s (was %s)%s%s",
             routing_state_->gateway.c_str(), routing_state_->gateway_dev.c_str(), before.c_str(),
             followed.ok() ? "" : "; ", followed.message().c_str());
    broadcast_event("routing-changed", "", "re-applied via " + routing_state_->gateway_dev);
    // The proxy's path changed under the tunnel: clients see it reconnect.
    if (network_ok_ && tunnel_status_ == kConnected) push_status(kReconnecting);
  }
  network_ok_ = true;
  update_tunnel_status();
}

int Controller::current_tunnel_status() const {
  if (!network_ok_) return kReconnecting;
  int status = tunnels_down_.empty() ? kConnected : kReconnecting;
  for (const auto& s : supervisor_.status()) {
    if (s.state == ServiceState::failed) return kDisconnected;
    if (s.state == ServiceState::restarting) status = kReconnecting;
  }
  return status;
}

void Controller::update_tunnel_status() {
  if (!routing_state_) return;
  int now = current_tunnel_status();
  if (now != tunnel_status_) push_status(now);
}

void Controller::push_status(int status) {
  tunnel_status_ = status;
  LOG_INFO(log_, "routing", "connection status %d (%s)", status,
           status == kConnected      ? "connected"
           : status == kDisconnected ? "disconnected"
                                     : "reconnecting");
  Json e(cJSON_CreateObject());
  cJSON_AddStringToObject(e.p, "action", "statusChanged");
  cJSON_AddNumberToObject(e.p, "statusCode", 0);
  cJSON_AddNumberToObject(e.p, "connectionStatus", status);
  char* text = cJSON_PrintUnformatted(e.p);
  for (auto& c : connections_) {
    if (c->wants_status() || c->subscribed()) c->send(text);
  }
  cJSON_free(text);
}

Status Controller::reset_routing() {
  if (!routing_state_) {
    Status undone;
    if (auto left = journal_.load()) undone = routing_->reset(*left);
    journal_.remove();
    return undone;  // idempotent
  }
  Status undone = routing_->reset(*routing_state_);
  if (routing_state_->tun_created) {
    pending_tun_release_ = routing_state_->tun_name;
    release_pending_tun();
  }
  routing_state_.reset();
  journal_.remove();
  if (settle_) uv_timer_stop(settle_.get());
  LOG_INFO(log_, "routing", "routing restored");
  broadcast_event("routing-changed", "", "restored");
  return undone;
}

}  // namespace udptun::controller
