// The services that should be running, kept in the state directory so a controller started
// after a crash (kill -9) makes them run again exactly once: what the dead controller left
// behind (a plugin its child started, say; the children themselves die with it) is killed
// first, then each service is started again from its plan.
#pragma once

#include "udptun/protocol/status.hpp"

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "service_catalog.hpp"

namespace udptun::controller {

struct JournaledService {
  std::string name;
  LaunchPlan plan;
  pid_t pid = 0;            // its process group too (0: in-process or not running)
  uint64_t start_time = 0;  // /proc/PID/stat's start time, so a reused pid is never hit
};

class ServiceJournal {
 public:
  explicit ServiceJournal(std::string path) : path_(std::move(path)) {}
  Status save(const std::vector<JournaledService>& services);
  std::vector<JournaledService> load() const;
  // Kills what is left of each service's process group, if it is still the one journaled.
  static void kill_leftovers(const JournaledService& s);
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// The start time of a process (clock ticks since boot), 0 when there is no such process.
uint64_t process_start_time(pid_t pid);

}  // namespace udptun::controller
