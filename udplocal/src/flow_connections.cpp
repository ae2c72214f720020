#include "flow_connections.hpp"

namespace udptun::udplocal {

using protocol::ByteView;

FlowConnections::FlowConnections(runtime::EventLoop& loop, runtime::Logger& log,
                                 const ClientConfig& config, udplocal_stats& stats,
                                 const protocol::SessionId& session, FrameHandler frames)
    : loop_(loop),
      log_(log),
      config_(config),
      stats_(stats),
      session_(session),
      frames_(std::move(frames)) {}

FlowConnections::~FlowConnections() {
  stop();
}

void FlowConnections::open(const protocol::OpenFlow& open, const char* tag) {
  retired_.clear();
  if (links_.count(open.flow_id)) return;
  Link& link = links_[open.flow_id];
  link.open = open;
  link.connection = std::make_unique<TunnelConnection>(loop_, log_, config_, stats_, *this, 0);
  if (protector_) link.connection->set_protector(protector_);
  flow_of_[link.connection.get()] = open.flow_id;
  link.connection->start(tag);
}

void FlowConnections::close(uint32_t flow_id) {
  auto it = links_.find(flow_id);
  if (it == links_.end()) return;
  flow_of_.erase(it->second.connection.get());
  it->second.connection->stop(protocol::GoAwayReason::normal, "");
  retired_.push_back(std::move(it->second.connection));
  links_.erase(it);
}

void FlowConnections::stop() {
  for (auto& [id, link] : links_) link.connection->stop(protocol::GoAwayReason::shutting_down, "");
  links_.clear();
  flow_of_.clear();
}

void FlowConnections::write(Link& link, ByteView payload, const protocol::Address* to) {
  uint8_t prefix[protocol::kMaxDataPrefix];
  size_t n = protocol::encode_data_prefix(prefix, link.open.flow_id, to, payload.size);
  link.connection->carrier().send(link.open.flow_id, ByteView(prefix, n), payload);
  stats_.datagrams_up++;
  stats_.bytes_up += payload.size;
}

bool FlowConnections::send(uint32_t flow_id, ByteView payload, const protocol::Address* to) {
  auto it = links_.find(flow_id);
  if (it == links_.end()) return false;
  Link& link = it->second;
  if (link.connection->up()) {
    write(link, payload, to);
    return true;
  }
  if (link.waiting.size() >= kMaxWaitingDatagrams ||
      link.waiting_bytes + payload.size > kMaxWaitingBytes) {
    stats_.drops_link_down++;
    return false;
  }
  link.waiting.push_back({to != nullptr, to ? *to : protocol::Address{},
                          std::vector<uint8_t>(payload.data, payload.data + payload.size)});
  link.waiting_bytes += payload.size;
  return true;
}

void FlowConnections::on_connection_up(TunnelConnection& c, bool) {
  auto f = flow_of_.find(&c);
  if (f == flow_of_.end()) return;
  Link& link = links_.at(f->second);
  // The flow again on each new connection (a new socket at the server), then what waited.
  c.write_frame(link.open);
  auto waiting = std::move(link.waiting);
  link.waiting.clear();
  link.waiting_bytes = 0;
  for (const auto& w : waiting)
    write(link, ByteView(w.payload), w.has_address ? &w.address : nullptr);
}

void FlowConnections::on_connection_frame(TunnelConnection&, const protocol::Frame& frame) {
  frames_(frame);
}

void FlowConnections::on_connection_down(TunnelConnection&, bool) {
  // It reconnects by itself while its flow lives; datagrams wait meanwhile.
}

size_t FlowConnections::queued_bytes() const {
  size_t sum = 0;
  for (const auto& [id, link] : links_)
    sum += link.waiting_bytes + link.connection->stream_queued_bytes() +
           link.connection->carrier().scheduler().queued_bytes();
  return sum;
}

}  // namespace udptun::udplocal
