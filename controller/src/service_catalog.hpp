// What the controller may run, as root decided it: the services declared in its own
// configuration file, our three built-in daemons (their options validated, the program fixed),
// and an ad hoc command only for a client that is root already. A start request from the
// socket becomes a LaunchPlan here; nothing in this file runs anything.
#pragma once

#include "udptun/protocol/status.hpp"

#include <cJSON.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "child_process.hpp"

namespace udptun::controller {

// Who is on the other end of the control socket.
enum class PeerRole {
  admin,   // root (or the controller's own user): may also run an ad hoc command, in-process
  member,  // a member of --socket-group: routing, and declared or built-in services by name
};

struct LaunchPlan {
  std::string builtin;            // "udp-local", "udp-server", "tun2socks"; "" for a program
  std::vector<std::string> argv;  // a program: itself and its arguments; a built-in: its flags
  std::string config;             // a built-in's JSON configuration, "" when given as flags
  bool in_process = false;
  std::string tun;         // tun2socks in a process: the TUN the controller opens and hands it
  std::string user;        // run as this user ("" = the controller's service user)
  bool autostart = false;  // declared: started with the controller
  // Root decided it (declared, or asked for by a root client): the controller may read the
  // files it names as root (tun2socks' --config, to learn its TUN).
  bool trusted = false;
};

inline bool is_builtin_service(const std::string& name) {
  return name == "tun2socks" || name == "udp-local" || name == "udp-server";
}

class ServiceCatalog {
 public:
  // The "services" object of the controller's configuration:
  //   {"NAME": {"exec": "/usr/bin/ss-tunnel", "args": [...], "user": "udptun",
  //             "autostart": true},
  //    "NAME": {"builtin": "tun2socks", "args": [...] | "config": {...},
  //             "mode": "process" | "inproc", "user": ..., "autostart": ...}}
  // A failure names the service and the key.
  Status load(const cJSON* services);
  const std::map<std::string, LaunchPlan>& declared() const { return declared_; }
  bool is_declared(const std::string& name) const { return declared_.count(name) != 0; }

  // The "parameters" of a start request → the plan, or why it is refused for this role.
  Status plan_start(const cJSON* params, PeerRole role, LaunchPlan& out) const;

 private:
  std::map<std::string, LaunchPlan> declared_;
};

// A service name: 1..64 of letters, digits, '.', '_', '-'.
bool valid_service_name(const std::string& name);

}  // namespace udptun::controller
