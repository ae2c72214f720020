#include "flow_table.hpp"

#include <cstring>

namespace udptun::udplocal {

using protocol::Address;

const std::string& FlowTable::make_key(FlowOrigin* origin, const Address& source,
                                       const Address& target) {
  uint8_t buf[sizeof origin + 2 * protocol::kMaxEncodedAddress];
  std::memcpy(buf, &origin, sizeof origin);
  size_t n = sizeof origin;
  n += protocol::encode_address(source, buf + n);
  if (target.is_ip())
    buf[n++] = static_cast<uint8_t>(target.type);  // one mapping per family
  else
    n += protocol::encode_address(target, buf + n);
  scratch_.assign(reinterpret_cast<const char*>(buf), n);
  return scratch_;
}

LocalFlow* FlowTable::find(FlowOrigin* origin, const Address& source, const Address& target) {
  auto it = by_key_.find(make_key(origin, source, target));
  return it == by_key_.end() ? nullptr : it->second;
}

uint32_t FlowTable::next_free_id() {
  while (next_id_ == 0 || by_id_.count(next_id_)) ++next_id_;
  return next_id_++;
}

LocalFlow* FlowTable::create(FlowOrigin* origin, const Address& source, const Address& target,
                             uint64_t now_ms) {
  if (full()) return nullptr;
  return restore(origin, next_free_id(), source, target, now_ms);
}

LocalFlow* FlowTable::restore(FlowOrigin* origin, uint32_t id, const Address& source,
                              const Address& target, uint64_t now_ms) {
  if (full() || id == 0 || by_id_.count(id) || find(origin, source, target)) return nullptr;
  auto flow = std::make_unique<LocalFlow>();
  flow->id = id;
  flow->origin = origin;
  flow->source = source;
  flow->target = target;
  flow->last_active_ms = now_ms;
  flow->dns_only = target.port == 53;
  flow->key = make_key(origin, source, target);
  LocalFlow* raw = flow.get();
  by_key_.emplace(flow->key, raw);
  by_id_.emplace(raw->id, std::move(flow));
  return raw;
}

LocalFlow* FlowTable::by_id(uint32_t id) {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : it->second.get();
}

void FlowTable::remove(uint32_t id) {
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return;
  by_key_.erase(it->second->key);
  by_id_.erase(it);
}

std::vector<uint32_t> FlowTable::idle(uint64_t now_ms, uint64_t timeout_ms,
                                      uint64_t dns_timeout_ms) const {
  std::vector<uint32_t> out;
  for (const auto& [id, f] : by_id_) {
    uint64_t limit = f->dns_only ? dns_timeout_ms : timeout_ms;
    if (now_ms - f->last_active_ms >= limit) out.push_back(id);
  }
  return out;
}

std::vector<uint32_t> FlowTable::of_origin(const FlowOrigin* origin) const {
  std::vector<uint32_t> out;
  for (const auto& [id, f] : by_id_) {
    if (f->origin == origin) out.push_back(id);
  }
  return out;
}

uint32_t FlowTable::least_recent() const {
  const LocalFlow* oldest = nullptr;
  for (const auto& [id, f] : by_id_) {
    if (!oldest || f->last_active_ms < oldest->last_active_ms) oldest = f.get();
  }
  return oldest ? oldest->id : 0;
}

}  // namespace udptun::udplocal
