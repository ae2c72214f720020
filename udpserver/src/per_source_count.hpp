// A count per client address (its source key) shared by every worker, with a cap: sessions
// per client, unauthenticated connections per client. Taken when a handshake or a session
// begins and given back when it ends, so never on the data path: a mutex is enough.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>

namespace udptun::udpserver {

class PerSourceCount {
 public:
  // cap 0: unlimited (nothing is counted).
  explicit PerSourceCount(uint64_t cap) : cap_(cap) {}

  // One more for `source_key`: false (and nothing counted) at the cap. An unknown address
  // ("") is not counted: the global caps bound it.
  bool take(const std::string& source_key) {
    if (cap_ == 0 || source_key.empty()) return true;
    std::lock_guard<std::mutex> lock(mutex_);
    uint64_t& n = counts_[source_key];
    if (n >= cap_) return false;
    n++;
    return true;
  }

  void give_back(const std::string& source_key) {
    if (cap_ == 0 || source_key.empty()) return;
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = counts_.find(source_key);
    if (it != counts_.end() && --it->second == 0) counts_.erase(it);
  }

 private:
  const uint64_t cap_;
  std::mutex mutex_;
  std::map<std::string, uint64_t> counts_;  // only addresses with at least one
};

}  // namespace udptun::udpserver
