// A datagram's path, app → target (docs/ARCHITECTURE.md, "A datagram's path"):
//   1. a front (forward socket, SOCKS5 association, in-process submit) receives it;
//   2. here, Client::submit: the FlowTable names its flow (a new one is announced: OPEN_FLOW);
//   3. Tunnel::send_data frames it onto a connection (tunnel.cpp);
//   4. udp-server: ClientLink → Session → ServerFlow → the target.
// And back: ServerFlow → Session → the link → here, on_tunnel_frame → the flow's origin.
#include "client.hpp"

#include <cstdio>

#include <algorithm>
#include <cerrno>

#include "forward_front.hpp"
#include "in_process_front.hpp"
#include "socks5_front.hpp"

namespace udptun::udplocal {

using protocol::ByteView;

namespace {
constexpr uint64_t kSweepIntervalMs = 1'000;
constexpr uint64_t kRefusedHoldMs = 5'000;  // a refused flow drops datagrams this long
}  // namespace

Client::Client(ClientConfig config, runtime::EventLoop* host)
    : InstanceHost(
          {kSweepIntervalMs, config.stats_interval_ms, config.metrics, config.metrics_allow}, host),
      config_(std::move(config)),
      flows_(config_.max_flows),
      tunnel_(loop_, log_, config_, stats_, *this),
      store_(config_.state_dir, log_) {
  log_.set_level(config_.log_level);
  reassembly_budget_.limit = config_.socks5_reassembly_total_bytes;
  if (config_.in_process) in_process_ = std::make_unique<InProcessFront>(*this);
}

Client::~Client() {
  stop_and_join();
}

Status Client::open() {
  Status state_dir = store_.prepare();
  if (!state_dir.ok()) return state_dir;
  for (const auto& rule : config_.forwards) {
    auto front = std::make_unique<ForwardFront>(*this, rule);
    int err = front->open();
    if (err != 0) {
      return Status::failure(
          "cannot listen on " + protocol::format_address(rule.listen) + ": " + uv_strerror(err),
          err);
    }
    LOG_INFO(log_, "", "forwarding %s to %s", front->bound_name().c_str(),
             protocol::format_address(rule.target).c_str());
    bool loopback = (rule.listen.type == protocol::AddressType::ipv4 && rule.listen.ip[0] == 127) ||
                    front->bound_name().rfind("[::1]", 0) == 0;
    if (!loopback && config_.allow_clients.empty())
      LOG_WARN(log_, "",
               "the forward on %s takes datagrams from anyone who can reach it: set "
               "--allow-client or listen on loopback",
               front->bound_name().c_str());
    report_started("forward", front->bound_name());
    forwards_.push_back(std::move(front));
  }
  if (in_process_) {
    int err = in_process_->open();
    if (err != 0)
      return Status::failure(std::string("cannot open the in-process front: ") + uv_strerror(err),
                             err);
  }
  if (config_.tls) {
    Status tls = tunnel_.enable_tls();
    if (!tls.ok()) return tls;
  }
  if (config_.has_socks5) {
    socks5_ = std::make_unique<Socks5Front>(*this);
    Status listening = socks5_->open();
    if (!listening.ok()) return listening;
  }
  return Status::success();
}

void Client::on_running() {
  restore_session();
  if (cb_.protect_socket)
    tunnel_.set_protector([this](int fd) { return cb_.protect_socket(user_, fd); });
  tunnel_.start();
}

void Client::report_started(const char* kind, const std::string& address) {
  if (cb_.started) cb_.started(user_, kind, address.c_str());
}

int Client::submit_in_process(const struct sockaddr* src, const struct sockaddr* dst,
                              const uint8_t* data, size_t len) {
  if (!in_process_) return -EINVAL;  // "in_process" is not set in the configuration
  return in_process_->submit(src, dst, data, len);
}

void Client::deliver_in_process(const struct sockaddr* src, const struct sockaddr* dst,
                                ByteView payload) {
  if (!cb_.datagram) {
    stats_.drops_send_failed++;
    return;
  }
  cb_.datagram(user_, src, dst, payload.data, payload.size);
  stats_.datagrams_down++;
  stats_.bytes_down += payload.size;
}

void Client::submit(FlowOrigin* origin, const protocol::Address& source,
                    const protocol::Address& target, ByteView payload) {
  uint64_t now = loop_.now_ms();
  LocalFlow* flow = flows_.find(origin, source, target);
  if (!flow) {
    if (flows_.full()) {
      // The least recently used flow makes room: a busy client keeps working.
      uint32_t victim = flows_.least_recent();
      if (victim) close_flow(victim, true);
    }
    flow = flows_.create(origin, source, target, now);
    if (!flow) {
      stats_.drops_flow_limit++;
      return;
    }
    stats_.flows++;
    stats_.flows_opened++;
    record_dirty_ = true;
    // Recorded at once when that is cheap (no save within the last sweep interval), so a
    // crash right after a first flow still keeps it; under churn, once per sweep.
    if (store_.enabled() &&
        (flows_.next_id() >= reserved_ids_until_ || now - saved_at_ms_ >= kSweepIntervalMs))
      save_session();
    LOG_DEBUG(log_, tunnel_.tag(), "flow %u: %s -> %s", flow->id,
              protocol::format_address(source).c_str(), protocol::format_address(target).c_str());
    announce(*flow);
  }
  flow->last_active_ms = now;
  if (flow->refused_until_ms > now) {
    stats_.drops_refused++;
    return;
  }
  if (flow->refused_until_ms != 0) {
    // The hold is over: ask the server again (a refusal may have been transient, e.g. its
    // egress SOCKS5 server restarting).
    flow->refused_until_ms = 0;
    announce(*flow);
  }
  if (target.port != 53) flow->dns_only = false;
  // Another target of the same mapping: the datagram names it (the server sends it from the
  // mapping's socket).
  tunnel_.send_data(flow->id, payload, target == flow->target ? nullptr : &target);
}

void Client::announce(const LocalFlow& flow) {
  protocol::OpenFlow open;
  open.flow_id = flow.id;
  open.target = flow.target;
  open.has_source = flow.source.is_ip();
  open.source = flow.source;
  tunnel_.send_control(open);  // dropped while down: on_tunnel_up announces every flow
}

void Client::close_flow(uint32_t id, bool tell_server) {
  if (!flows_.by_id(id)) return;
  flows_.remove(id);
  stats_.flows--;
  record_dirty_ = true;
  if (tell_server) tunnel_.send_control(protocol::CloseFlow{id, protocol::CloseReason::normal});
}

void Client::close_flows_of(FlowOrigin* origin) {
  for (uint32_t id : flows_.of_origin(origin)) close_flow(id, true);
}

void Client::count_delivery(size_t bytes, int send_result) {
  if (send_result != 0) {
    stats_.drops_send_failed++;
    return;
  }
  stats_.datagrams_down++;
  stats_.bytes_down += bytes;
}

void Client::count_dropped_deliveries(size_t count) {
  stats_.drops_send_failed += count;
  stats_.datagrams_down -= std::min<uint64_t>(stats_.datagrams_down, count);
}

void Client::restore_session() {
  auto record = store_.load();
  if (record) {
    tunnel_.resume_session(record->session);
    flows_.set_next_id(record->next_flow_id);
    std::vector<FlowOrigin*> origins;
    for (auto& f : forwards_) origins.push_back(f.get());
    if (in_process_) origins.push_back(in_process_.get());
    uint64_t now = loop_.now_ms();
    size_t restored = 0;
    for (const auto& rf : record->flows) {
      FlowOrigin* origin = nullptr;
      for (FlowOrigin* o : origins) {
        if (o->persistent_name() == rf.origin) origin = o;
      }
      if (origin && flows_.restore(origin, rf.id, rf.source, rf.target, now)) {
        stats_.flows++;
        restored++;
      } else {
        stale_ids_.push_back(rf.id);
      }
    }
    LOG_INFO(log_, tunnel_.tag(),
             "resuming the session recorded in %s: %zu flows restored, %zu gone",
             store_.path().c_str(), restored, stale_ids_.size());
  }
  save_session();    // the session id and the id reservation are on disk before any flow
  saved_at_ms_ = 0;  // so the first flow is recorded at once
}

void Client::save_session() {
  if (!store_.enabled()) return;
  protocol::SessionRecord record;
  record.session = tunnel_.session_id();
  uint64_t reserve = static_cast<uint64_t>(flows_.next_id()) + SessionStore::kReservedIds;
  record.next_flow_id = static_cast<uint32_t>(std::min<uint64_t>(reserve, UINT32_MAX));
  flows_.for_each([&](LocalFlow& f) {
    if (record.flows.size() >= protocol::kMaxRecordedFlows) return;
    std::string origin = f.origin->persistent_name();
    if (!origin.empty()) record.flows.push_back({f.id, std::move(origin), f.source, f.target});
  });
  saved_at_ms_ = loop_.now_ms();
  Status saved = store_.save(record);
  if (!saved.ok()) {
    LOG_WARN(log_, tunnel_.tag(), "cannot save: %s", saved.message().c_str());
    return;
  }
  reserved_ids_until_ = record.next_flow_id;
  record_dirty_ = false;
}

void Client::on_tunnel_up(bool resumed) {
  // Flows the earlier process had and this one cannot restore: the server frees them now.
  for (uint32_t id : stale_ids_)
    tunnel_.send_control(protocol::CloseFlow{id, protocol::CloseReason::normal});
  stale_ids_.clear();
  // Every flow is announced again, resumed or not: an OPEN_FLOW lost with the old connection
  // would otherwise leave the server without the flow. The server keeps an existing flow's
  // socket (and so its source port) when it sees the same id again.
  flows_.for_each([&](LocalFlow& f) {
    f.refused_until_ms = 0;
    announce(f);
  });
  report_session(true, resumed);
}

void Client::on_tunnel_down() {
  report_session(false, false);
}

void Client::on_tunnel_frame(const protocol::Frame& frame) {
  if (auto* d = std::get_if<protocol::Data>(&frame)) {
    LocalFlow* flow = flows_.by_id(d->flow_id);
    if (!flow) return;
    flow->last_active_ms = loop_.now_ms();
    flow->origin->deliver(*flow, d->payload, d->has_address ? d->address : flow->target);
  } else if (auto* s = std::get_if<protocol::FlowStatus>(&frame)) {
    LocalFlow* flow = flows_.by_id(s->flow_id);
    if (!flow || s->state == protocol::FlowState::open) return;
    stats_.flows_refused++;
    flow->refused_until_ms = loop_.now_ms() + kRefusedHoldMs;
    LOG_WARN(log_, tunnel_.tag(), "flow %u to %s refused by the server (state %u)", s->flow_id,
             protocol::format_address(flow->target).c_str(), static_cast<unsigned>(s->state));
  } else if (auto* c = std::get_if<protocol::CloseFlow>(&frame)) {
    // The server closed it (idle there, or evicted): forget it; new datagrams make a new one.
    LOG_DEBUG(log_, tunnel_.tag(), "flow %u closed by the server (reason %u)", c->flow_id,
              static_cast<unsigned>(c->reason));
    close_flow(c->flow_id, false);
  }
}

void Client::sweep() {
  if (record_dirty_) save_session();
  if (socks5_) socks5_->sweep(loop_.now_ms());
  auto idle =
      flows_.idle(loop_.now_ms(), config_.flow_idle_timeout_ms, config_.dns_idle_timeout_ms);
  for (uint32_t id : idle) {
    stats_.flows_closed_idle++;
    close_flow(id, true);
  }
}

void Client::report_session(bool up, bool resumed) {
  if (!cb_.session) return;
  cb_.session(user_, protocol::session_id_hex(tunnel_.session_id()).c_str(), up ? 1 : 0,
              resumed ? 1 : 0);
}

void Client::refresh_derived_stats() {
  if (socks5_) stats_.socks5_connections = socks5_->connection_count();
  stats_.socks5_reassembled = reassembly_.reassembled;
  stats_.socks5_reassembly_timeouts = reassembly_.timed_out;
  stats_.socks5_reassembly_abandoned = reassembly_.abandoned;
  stats_.drops_socks5_fragment = reassembly_.dropped;
}

void Client::shutdown() {
  LOG_INFO(log_, tunnel_.tag(), "stopping");
  save_session();  // before the fronts close their flows: a restart resumes them
  tunnel_.stop();
  socks5_.reset();
  forwards_.clear();
  if (in_process_) {
    in_process_->close();
    close_flows_of(in_process_.get());
  }
}

}  // namespace udptun::udplocal
