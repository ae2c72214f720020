// A datagram's path, client → target: ClientLink (client_link.cpp) decodes the frame → here,
// Session::on_frame: rate limits, flows opened and closed, copies dropped → ServerFlow::send
// (server_flow.cpp) → the target. And back: ServerFlow → here, Session::deliver: rate limits,
// the lane chosen → the lane's CarrierQueue → its ClientLink → TCP → udp-local.
#include "session.hpp"

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "client_link.hpp"
#include "server.hpp"
#include "worker.hpp"

namespace udptun::udpserver {

using protocol::Address;
using protocol::ByteView;
using protocol::FlowState;

Session::Session(Worker& worker, const protocol::SessionId& id)
    : worker_(worker), id_(id), chooser_(worker.config().carrier.lanes()) {
  std::snprintf(tag_, sizeof tag_, "s=%s", protocol::session_id_hex(id, 4).c_str());
  last_active_ms_ = worker.loop().now_ms();
  detached_since_ms_ = last_active_ms_;
  open_tokens_ = static_cast<double>(worker.config().flow_opens_per_second);
  tokens_at_ms_ = last_active_ms_;
  const ServerConfig& cfg = worker.config();
  up_ = down_ = runtime::RateLimit(cfg.session_packets_per_second, cfg.session_bytes_per_second);
}

void Session::on_pong(uint64_t value, unsigned lane) {
  if (lanes_[lane].carrier) lanes_[lane].carrier->on_pong(value);
}

ClientLink* Session::link() const {
  for (const Lane& l : lanes_)
    if (l.link) return l.link;
  return nullptr;
}

uint32_t Session::lanes_up() const {
  uint32_t up = 0;
  for (unsigned i = 0; i < lanes_agreed_; ++i)
    if (lanes_[i].link) up |= 1u << i;
  return up;
}

bool Session::take_open_token() {
  uint64_t now = worker_.loop().now_ms();
  double rate = static_cast<double>(worker_.config().flow_opens_per_second);
  open_tokens_ =
      std::min(rate, open_tokens_ + rate * static_cast<double>(now - tokens_at_ms_) / 1000.0);
  tokens_at_ms_ = now;
  if (open_tokens_ < 1) return false;
  open_tokens_ -= 1;
  return true;
}

Session::~Session() {
  Server& server = worker_.server();
  (resumable() ? server.sessions_per_client() : server.connections_per_client())
      .give_back(client_key_);
  worker_.stats().flows -= flows_.size();
  worker_.server().release_flows(flows_.size());
}

void Session::attach(ClientLink* link, unsigned lane) {
  if (!this->link()) worker_.stats().sessions_attached++;
  Lane& l = lanes_[lane];
  l.link = link;
  link->set_session(this, lane);
  if (!l.carrier) {
    const ServerConfig& cfg = worker_.config();
    l.carrier = std::make_unique<runtime::CarrierQueue>(
        worker_.loop(), cfg.carrier.queue(cfg.max_queued_bytes), worker_.stats().drops_queue_aged,
        worker_.stats().drops_queue_full);
    l.carrier->share_sojourn(&worker_.sojourn());
    // While replies wait, a PING each tick measures the delay they see (and acknowledges
    // what arrived); udp-local answers.
    l.carrier->set_prober([this, lane](uint64_t value) {
      if (!lanes_[lane].link) return;
      std::vector<uint8_t> out;
      protocol::append_frame(out, protocol::Ping{value});
      lanes_[lane].link->stream().write(ByteView(out), true);
    });
  }
  auto peer = link->stream().peer_address();
  // Delay control needs udptun's PING/PONG, which other protocols do not carry.
  l.carrier->attach(&link->stream(),
                    link->wire() == Wire::udptun &&
                        worker_.config().carrier.controls_delay(peer && peer->is_loopback()));
  if (lane == 0) {
    client_ = worker_.client_rate(link->source_key());
    // A first connection may come from a new udp-local process, which numbers its copies
    // from 0 again; the session's older connections are gone, and their copies with them.
    for (auto& [id, flow] : flows_) flow->copies().reset();
  }
  last_active_ms_ = worker_.loop().now_ms();
}

void Session::detach(ClientLink* link) {
  for (Lane& l : lanes_) {
    if (l.link != link) continue;
    l.link = nullptr;
    l.carrier->attach(nullptr);
  }
  link->set_session(nullptr, 0);
  if (!this->link()) {
    worker_.stats().sessions_attached--;
    detached_since_ms_ = worker_.loop().now_ms();
  }
}

std::vector<ClientLink*> Session::take_links() {
  std::vector<ClientLink*> links;
  for (Lane& l : lanes_)
    if (l.link) links.push_back(l.link);
  for (ClientLink* l : links) detach(l);
  lanes_agreed_ = 1;
  chooser_.set_lanes(1, false);
  return links;
}

void Session::agree_lanes(const protocol::Lanes& asked) {
  const ServerConfig& cfg = worker_.config();
  auto count =
      static_cast<unsigned>(std::min<uint64_t>(asked.count, cfg.max_connections_per_session));
  bool sequenced = asked.features & protocol::lane_feature::kSequenced;
  lanes_agreed_ = count;
  chooser_.set_lanes(count, sequenced);
  LOG_DEBUG(worker_.log(), tag_, "%u connections agreed (%u asked)", count,
            static_cast<unsigned>(asked.count));
  std::vector<uint8_t> out;
  protocol::append_frame(
      out, protocol::Lanes{static_cast<uint8_t>(count), protocol::lane_feature::kSequenced});
  if (lanes_[0].link) lanes_[0].link->stream().write(ByteView(out), true);
}

void Session::write_control(const protocol::Frame& frame) {
  ClientLink* l = lanes_[static_cast<size_t>(chooser_.control_lane(lanes_up()))].link;
  if (!l) l = link();
  if (!l) return;
  std::vector<uint8_t> out;
  protocol::append_frame(out, frame);
  l->stream().write(ByteView(out), true);
}

void Session::on_data(uint32_t flow_id, const Address* to, ByteView payload) {
  auto it = flows_.find(flow_id);
  if (it == flows_.end()) {
    worker_.stats().drops_unknown_flow++;
    return;
  }
  uint64_t now = last_active_ms_;
  if (!up_.admit(payload.size, now) ||
      (client_ && !client_->admit(client_->up, payload.size, now))) {
    worker_.stats().drops_rate_limited_up++;
    return;
  }
  it->second->send(payload, to);
}

void Session::on_frame(const protocol::Frame& frame, unsigned lane) {
  last_active_ms_ = worker_.loop().now_ms();
  if (auto* d = std::get_if<protocol::Data>(&frame)) {
    on_data(d->flow_id, d->has_address ? &d->address : nullptr, d->payload);
  } else if (auto* sd = std::get_if<protocol::SequencedData>(&frame)) {
    // The first copy goes on; the other lane's is dropped. A copy that overtook its flow's
    // OPEN_FLOW is one too: the other copy follows the OPEN_FLOW on the flow's own lane.
    auto it = flows_.find(sd->flow_id);
    if (it == flows_.end() || !it->second->copies().first_copy(sd->seq)) {
      worker_.stats().duplicates_dropped++;
      return;
    }
    on_data(sd->flow_id, sd->has_address ? &sd->address : nullptr, sd->payload);
  } else if (auto* l = std::get_if<protocol::Lanes>(&frame)) {
    if (lane == 0) agree_lanes(*l);
  } else if (auto* o = std::get_if<protocol::OpenFlow>(&frame)) {
    open_flow(*o);
  } else if (auto* c = std::get_if<protocol::CloseFlow>(&frame)) {
    close_flow(c->flow_id, c->reason, false);
  }
  // FLOW_STATUS from a client means nothing; extensions are skipped.
}

void Session::open_flow(const protocol::OpenFlow& open) {
  uint64_t now = worker_.loop().now_ms();
  // A client with several connections sends a new flow's OPEN_FLOW on each: the first one
  // decides; the copies (within a second, same target) pass without a word, even when the
  // first was refused.
  for (const RecentRefusal& r : recent_refusals_)
    if (r.flow_id == open.flow_id && r.target == open.target && now - r.at_ms < kOpenCopyMs) return;
  auto existing = flows_.find(open.flow_id);
  if (existing != flows_.end() && existing->second->target() == open.target && lanes_agreed_ > 1 &&
      now - existing->second->created_ms() < kOpenCopyMs)
    return;
  if (existing != flows_.end() && existing->second->target() != open.target) {
    // The id names another flow now (a restarted client that lost its last flows reuses
    // ids the record did not know of): the old mapping ends, the new one starts clean.
    close_flow(open.flow_id, protocol::CloseReason::normal, false);
  }
  if (flows_.count(open.flow_id)) {
    // A client re-opening a flow it has (e.g. after a resume it was unsure of): keep the
    // socket, so the target still sees the same source port, and confirm it — once per
    // second at most, so a flood of re-opens costs no more than one answer each.
    Address bound;
    ServerFlow& f = *flows_[open.flow_id];
    if (!f.take_reopen_answer(worker_.loop().now_ms())) {
      worker_.stats().drops_duplicate_open++;
      return;
    }
    send_status(open.flow_id, FlowState::open,
                f.ready() && f.bound_address(bound) ? &bound : nullptr);
    return;
  }
  if (!worker_.server().reserve_flow()) {
    // Every descriptor for flows is in use: this session's other flows, and every other
    // session, go on; this one is refused until some close.
    worker_.stats().flows_refused++;
    worker_.stats().flows_refused_full++;
    remember_refusal(open.flow_id, open.target);
    send_status(open.flow_id, FlowState::flow_limit, nullptr);
    LOG_WARN_THROTTLED(worker_.log(), worker_.throttle(), "flows refused: server full",
                       worker_.loop().now_ms(), tag_, "flow %u refused: %llu flows in all",
                       open.flow_id,
                       static_cast<unsigned long long>(worker_.server().max_total_flows()));
    return;
  }
  if (!take_open_token()) {
    worker_.server().release_flows(1);
    worker_.stats().flows_refused++;
    remember_refusal(open.flow_id, open.target);
    send_status(open.flow_id, FlowState::flow_limit, nullptr);
    LOG_DEBUG(worker_.log(), tag_, "flow %u refused: opening flows too fast", open.flow_id);
    return;
  }
  if (flows_.size() >= worker_.config().max_flows_per_session) evict_least_recent_flow();
  auto flow = std::make_unique<ServerFlow>(*this, open.flow_id, open.target);
  ServerFlow& f = *flow;
  flows_.emplace(open.flow_id, std::move(flow));
  worker_.stats().flows++;
  worker_.stats().flows_opened++;
  LOG_DEBUG(worker_.log(), tag_, "flow %u open to %s", open.flow_id,
            protocol::format_address(open.target).c_str());
  f.start();  // may finish (or fail, removing the flow) before it returns
}

void Session::evict_least_recent_flow() {
  auto oldest = flows_.end();
  for (auto it = flows_.begin(); it != flows_.end(); ++it) {
    if (oldest == flows_.end() || it->second->last_active_ms() < oldest->second->last_active_ms()) {
      oldest = it;
    }
  }
  if (oldest == flows_.end()) return;
  worker_.stats().flows_evicted++;
  close_flow(oldest->first, protocol::CloseReason::evicted, true);
}

void Session::close_flow(uint32_t id, protocol::CloseReason reason, bool tell_client) {
  auto it = flows_.find(id);
  if (it == flows_.end()) return;
  flows_.erase(it);
  for (Lane& l : lanes_)
    if (l.carrier) l.carrier->forget(id);
  chooser_.forget(id);
  worker_.stats().flows--;
  worker_.server().release_flows(1);
  if (tell_client) write_control(protocol::CloseFlow{id, reason});
}

void Session::remember_refusal(uint32_t id, const Address& target) {
  if (lanes_agreed_ < 2) return;
  recent_refusals_[next_refusal_++ % recent_refusals_.size()] = {id, target,
                                                                 worker_.loop().now_ms()};
}

void Session::send_status(uint32_t id, FlowState state, const Address* bound) {
  protocol::FlowStatus st;
  st.flow_id = id;
  st.state = state;
  st.has_bound = bound != nullptr;
  if (bound) st.bound = *bound;
  write_control(st);
}

void Session::flow_ready(ServerFlow& flow) {
  Address bound;
  bool have = flow.bound_address(bound);
  LOG_DEBUG(worker_.log(), tag_, "flow %u ready, bound %s", flow.id(),
            have ? protocol::format_address(bound).c_str() : "?");
  send_status(flow.id(), FlowState::open, have ? &bound : nullptr);
}

void Session::flow_failed(ServerFlow& flow, FlowState state, const char* why) {
  uint32_t id = flow.id();
  LOG_INFO(worker_.log(), tag_, "flow %u to %s refused: %s", id,
           protocol::format_address(flow.target()).c_str(), why);
  if (state == FlowState::target_forbidden) worker_.stats().drops_forbidden++;
  worker_.stats().flows_refused++;
  remember_refusal(id, flow.target());
  send_status(id, state, nullptr);
  close_flow(id, protocol::CloseReason::refused, false);  // destroys `flow`
}

void Session::flow_lost(ServerFlow& flow, const char* why) {
  uint32_t id = flow.id();
  LOG_INFO(worker_.log(), tag_, "flow %u to %s lost: %s", id,
           protocol::format_address(flow.target()).c_str(), why);
  close_flow(id, protocol::CloseReason::error, true);  // destroys `flow`
}

void Session::deliver(ServerFlow& flow, ByteView payload, const Address* source) {
  udpserver_stats& st = worker_.stats();
  last_active_ms_ = worker_.loop().now_ms();
  uint32_t up = lanes_up();
  if (!up) {
    st.drops_detached++;
    return;
  }
  if (!down_.admit(payload.size, last_active_ms_) ||
      (client_ && !client_->admit(client_->down, payload.size, last_active_ms_))) {
    st.drops_rate_limited_down++;
    return;
  }
  auto choice = chooser_.choose(flow.id(), payload.size, last_active_ms_, up);
  uint8_t prefix[protocol::kMaxSequencedPrefix];
  size_t n =
      choice.sequenced
          ? protocol::encode_sequenced_prefix(prefix, flow.id(), choice.seq, source, payload.size)
          : protocol::encode_data_prefix(prefix, flow.id(), source, payload.size);
  // Drops are counted by the carriers.
  lanes_[static_cast<size_t>(choice.lane)].carrier->send(flow.id(), ByteView(prefix, n), payload);
  if (choice.copy_lane >= 0) {
    lanes_[static_cast<size_t>(choice.copy_lane)].carrier->send(flow.id(), ByteView(prefix, n),
                                                                payload);
    st.duplicates_sent++;
  }
  st.datagrams_from_targets++;
  st.bytes_from_targets += payload.size;
}

bool Session::hold(size_t bytes) {
  if (held_bytes_ + bytes > worker_.config().max_held_bytes_per_session) {
    worker_.stats().drops_held++;
    return false;
  }
  held_bytes_ += bytes;
  return true;
}

void Session::release_held(size_t bytes) {
  held_bytes_ -= std::min(held_bytes_, bytes);
}

void Session::sweep(uint64_t now_ms) {
  const ServerConfig& cfg = worker_.config();
  // The path's round trip without our queues, known before they fill: a PING a second (the
  // carrier's delay control compares later ones with the least of these).
  if (cfg.carrier.pacing != "off" && ++sweeps_ % kSweepsPerPing == 0)
    for (Lane& l : lanes_)
      if (l.link) l.carrier->probe();
  // Flows still resolving or waiting for their association past the setup timeout: given up
  // (their held datagrams with them); the client hears FLOW_STATUS and may try again.
  std::vector<ServerFlow*> stuck;
  for (auto& [id, flow] : flows_) {
    if (!flow->ready() && now_ms - flow->created_ms() >= cfg.flow_setup_timeout_ms)
      stuck.push_back(flow.get());
  }
  for (ServerFlow* f : stuck) {
    worker_.stats().flows_setup_timeout++;
    flow_failed(*f, f->target().is_ip() ? FlowState::socket_error : FlowState::resolve_failed,
                "not ready within the setup timeout");
  }
  std::vector<uint32_t> idle;
  for (auto& [id, flow] : flows_) {
    uint64_t timeout = flow->is_dns() ? cfg.dns_idle_timeout_ms : cfg.flow_idle_timeout_ms;
    if (now_ms - flow->last_active_ms() >= timeout) idle.push_back(id);
  }
  for (uint32_t id : idle) {
    worker_.stats().flows_closed_idle++;
    LOG_DEBUG(worker_.log(), tag_, "flow %u idle, closed", id);
    close_flow(id, protocol::CloseReason::idle, true);
  }
}

}  // namespace udptun::udpserver
