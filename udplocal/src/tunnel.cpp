// A datagram's path, app → target: a front → Client::submit (client.cpp) → here,
// Tunnel::send_data: framed (DATA, or SEQUENCED_DATA copied on two lanes) into the chosen
// connection's CarrierQueue (tunnel_connection.cpp; or a connection per flow,
// flow_connections.cpp) → TCP → udp-server's ClientLink. Replies arrive here first
// (on_connection_frame: copies dropped) and go on to Client::on_tunnel_frame.
#include "tunnel.hpp"

#include <cstdio>

#include "udptun/runtime/secure_random.hpp"

namespace udptun::udplocal {

using protocol::ByteView;

Tunnel::Tunnel(runtime::EventLoop& loop, runtime::Logger& log, const ClientConfig& config,
               udplocal_stats& stats, Events& events)
    : loop_(loop),
      log_(log),
      config_(config),
      stats_(stats),
      events_(events),
      chooser_(config.carrier.lanes()) {
  lanes_.push_back(std::make_unique<TunnelConnection>(loop_, log_, config_, stats_, *this, 0));
  lanes_[0]->carrier().share_sojourn(&sojourn_);
  runtime::fill_secure_random(session_id_);
  std::snprintf(tag_, sizeof tag_, "s=%s", protocol::session_id_hex(session_id_, 4).c_str());
  if (config.per_flow_connections())
    per_flow_ = std::make_unique<FlowConnections>(
        loop_, log_, config_, stats_, session_id_,
        [this](const protocol::Frame& frame) { events_.on_tunnel_frame(frame); });
}

void Tunnel::resume_session(const protocol::SessionId& id) {
  session_id_ = id;
  has_session_ = true;
  std::snprintf(tag_, sizeof tag_, "s=%s", protocol::session_id_hex(session_id_, 4).c_str());
}

Tunnel::~Tunnel() = default;

Status Tunnel::enable_tls() {
  auto tls =
      runtime::TlsContext::client({config_.tls_pin, config_.tls_ca_file, config_.tls_server_name});
  if (!tls.ok()) return tls.status();
  tls_ = std::move(tls).value();
  return Status::success();
}

std::unique_ptr<TunnelConnection> Tunnel::make_lane(unsigned lane) {
  auto c = std::make_unique<TunnelConnection>(loop_, log_, config_, stats_, *this, lane);
  if (protector_) c->set_protector(protector_);
  c->set_tls(tls_.get());
  c->carrier().share_sojourn(&sojourn_);
  return c;
}

void Tunnel::start() {
  if (per_flow_) {
    // Nothing to connect before a flow: each flow brings its connection.
    if (protector_) per_flow_->set_protector(protector_);
    stats_.link_up = 1;
    LOG_INFO(log_, tag_, "a connection per flow to %s (%s)",
             protocol::format_address(config_.server).c_str(),
             config_.server_protocol == ServerProtocol::uot ? "UDP-over-TCP" : "FWD UDP");
    events_.on_tunnel_up(false);
    return;
  }
  if (protector_) lanes_[0]->set_protector(protector_);
  lanes_[0]->set_tls(tls_.get());
  lanes_[0]->start(tag_);
}

void Tunnel::stop() {
  if (per_flow_) per_flow_->stop();
  stop_added_lanes();
  lanes_[0]->stop(protocol::GoAwayReason::shutting_down, "");
  lanes_up_ = 0;
  stats_.lanes_up = 0;
}

void Tunnel::stop_added_lanes() {
  while (lanes_.size() > 1) {
    lanes_.back()->stop(protocol::GoAwayReason::normal, "");
    lanes_.pop_back();
  }
  lanes_up_ &= 1;
  stats_.lanes_up = lanes_up_ & 1;
  chooser_.set_lanes(1, false);
  received_.clear();
}

void Tunnel::on_connection_up(TunnelConnection& c, bool resumed) {
  lanes_up_ |= 1u << c.lane();
  stats_.lanes_up++;
  if (c.lane() != 0) return;
  has_session_ = true;
  // The server drops a session's other connections when its first one comes back (they
  // may belong to a process before this one): ours start again once it agrees to them.
  stop_added_lanes();
  if (config_.connections > 1)
    c.write_frame(protocol::Lanes{static_cast<uint8_t>(config_.connections),
                                  protocol::lane_feature::kSequenced});
  events_.on_tunnel_up(resumed);
  flush_queue();
}

void Tunnel::agree_lanes(const protocol::Lanes& granted) {
  unsigned count = std::min<unsigned>(granted.count, config_.connections);
  if (count < 2 || lanes_.size() > 1) return;  // asked once per connection
  bool sequenced = granted.features & protocol::lane_feature::kSequenced;
  chooser_.set_lanes(count, sequenced);
  LOG_INFO(log_, tag_,
           "the server takes %u connections for this session (copies of small flows: %s)", count,
           sequenced && config_.carrier.duplicate_below_kbps ? "on" : "off");
  for (unsigned i = 1; i < count; ++i) {
    lanes_.push_back(make_lane(i));
    lanes_.back()->start(tag_);
  }
}

void Tunnel::on_connection_frame(TunnelConnection& c, const protocol::Frame& frame) {
  if (auto* l = std::get_if<protocol::Lanes>(&frame)) {
    if (c.lane() == 0) agree_lanes(*l);
    return;
  }
  if (auto* d = std::get_if<protocol::SequencedData>(&frame)) {
    deliver_sequenced(*d);
    return;
  }
  if (auto* cf = std::get_if<protocol::CloseFlow>(&frame)) received_.erase(cf->flow_id);
  events_.on_tunnel_frame(frame);
}

void Tunnel::deliver_sequenced(const protocol::SequencedData& d) {
  // Only a flow we know takes a window: copies for forgotten flows cost no memory.
  if (received_.size() >= config_.max_flows && !received_.count(d.flow_id)) received_.clear();
  if (!received_[d.flow_id].first_copy(d.seq)) {
    stats_.duplicates_dropped++;
    return;
  }
  events_.on_tunnel_frame(protocol::Data{d.flow_id, d.has_address, d.address, d.payload});
}

void Tunnel::on_connection_down(TunnelConnection& c, bool was_up) {
  if (!was_up) return;
  lanes_up_ &= ~(1u << c.lane());
  stats_.lanes_up--;
  if (c.lane() != 0) return;  // its flows take the first connection meanwhile
  stop_added_lanes();
  events_.on_tunnel_down();
}

void Tunnel::on_round_trip(uint64_t us) {
  stats_.rtt_us = us;
  rtt_histogram_.observe(static_cast<double>(us) / 1e6);
}

bool Tunnel::send_data(uint32_t flow_id, ByteView payload, const protocol::Address* to) {
  if (per_flow_) return per_flow_->send(flow_id, payload, to);
  if (up()) {
    auto choice = chooser_.choose(flow_id, payload.size, loop_.now_ms(), lanes_up_);
    uint8_t prefix[protocol::kMaxSequencedPrefix];
    size_t n = choice.sequenced ? protocol::encode_sequenced_prefix(prefix, flow_id, choice.seq, to,
                                                                    payload.size)
                                : protocol::encode_data_prefix(prefix, flow_id, to, payload.size);
    // Drops are counted by the carriers.
    lanes_[static_cast<size_t>(choice.lane)]->carrier().send(flow_id, ByteView(prefix, n), payload);
    if (choice.copy_lane >= 0) {
      lanes_[static_cast<size_t>(choice.copy_lane)]->carrier().send(flow_id, ByteView(prefix, n),
                                                                    payload);
      stats_.duplicates_sent++;
    }
    stats_.datagrams_up++;
    stats_.bytes_up += payload.size;
    return true;
  }
  if (queue_.size() >= config_.link_down_queue_datagrams ||
      queued_bytes_ + payload.size > config_.link_down_queue_bytes) {
    stats_.drops_link_down++;
    return false;
  }
  queue_.push_back({flow_id, to != nullptr, to ? *to : protocol::Address{},
                    std::vector<uint8_t>(payload.data, payload.data + payload.size)});
  queued_bytes_ += payload.size;
  return true;
}

void Tunnel::flush_queue() {
  auto queue = std::move(queue_);
  queue_.clear();
  queued_bytes_ = 0;
  for (const auto& q : queue)
    send_data(q.flow_id, ByteView(q.payload), q.has_address ? &q.address : nullptr);
}

void Tunnel::send_control(const protocol::Frame& frame) {
  if (per_flow_) {
    if (auto* o = std::get_if<protocol::OpenFlow>(&frame)) per_flow_->open(*o, tag_);
    if (auto* c = std::get_if<protocol::CloseFlow>(&frame)) per_flow_->close(c->flow_id);
    return;
  }
  if (!up()) return;
  if (auto* c = std::get_if<protocol::CloseFlow>(&frame)) {
    chooser_.forget(c->flow_id);
    received_.erase(c->flow_id);
  }
  // A flow's OPEN_FLOW goes on every connection up, so its first datagrams come after it
  // whichever they take (udp-server takes the first and lets the others pass).
  if (std::holds_alternative<protocol::OpenFlow>(frame)) {
    for (auto& lane : lanes_)
      if (lane->up()) lane->write_frame(frame);
    return;
  }
  lanes_[static_cast<size_t>(chooser_.control_lane(lanes_up_))]->write_frame(frame);
}

size_t Tunnel::output_queued_bytes() const {
  size_t sum = 0;
  for (const auto& l : lanes_)
    sum += l->stream_queued_bytes() + l->carrier().scheduler().queued_bytes();
  if (per_flow_) sum += per_flow_->queued_bytes();
  return sum;
}

uint64_t Tunnel::pacing_Bps() const {
  uint64_t sum = 0;
  for (const auto& l : lanes_) sum += l->carrier().pacing_Bps();
  return sum;
}

}  // namespace udptun::udplocal
