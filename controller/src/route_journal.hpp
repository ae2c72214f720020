// The routing changes in force, kept in a state file before they are made, so a controller
// started after a crash (kill -9) can undo what the dead one left: a machine is never left
// without its own routes.
#pragma once

#include "udptun/protocol/status.hpp"

#include <optional>
#include <string>

#include "routing_platform.hpp"

namespace udptun::controller {

class RouteJournal {
 public:
  explicit RouteJournal(std::string path) : path_(std::move(path)) {}
  // Written to a temporary file, synced, then renamed over the old one: never half-written.
  Status save(const RoutingState& state);
  std::optional<RoutingState> load() const;
  void remove();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace udptun::controller
