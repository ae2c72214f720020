// Counters as one flat JSON object, for the *_stats_json C functions (the daemons' stats
// channel to proxy-controller, embedding apps' dashboards).
#pragma once

#include <cinttypes>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

namespace udptun::runtime {

class StatsJson {
 public:
  StatsJson& add(const char* key, uint64_t value) {
    char item[96];
    std::snprintf(item, sizeof item, "%s\"%s\":%" PRIu64, text_.size() > 1 ? "," : "", key, value);
    text_ += item;
    return *this;
  }
  // snprintf-style: writes at most cap-1 bytes and a NUL, returns the length the whole
  // object needs (so a caller can retry with a bigger buffer).
  size_t copy_to(char* out, size_t cap) {
    text_ += '}';
    if (out && cap) std::snprintf(out, cap, "%s", text_.c_str());
    return text_.size();
  }

 private:
  std::string text_ = "{";
};

}  // namespace udptun::runtime
