// proxy-controller: JSON commands on a Unix domain socket (the Outline-style routing-daemon
// envelope, see docs/CONTROL-API.md) and the supervision of the services it starts.
#pragma once

#include <cJSON.h>
#include <sys/types.h>
#include <uv.h>

#include <functional>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include <vector>

#include "route_journal.hpp"
#include "routing_platform.hpp"
#include "service_catalog.hpp"
#include "service_journal.hpp"
#include "service_supervisor.hpp"
#include "udptun/controller.h"
#include "udptun/runtime/event_loop.hpp"
#include "udptun/runtime/log.hpp"
#include "udptun/runtime/metrics_endpoint.hpp"
#include "udptun/runtime/option_table.hpp"
#include "udptun/runtime/uv_handle.hpp"

namespace udptun::controller {

struct ControllerConfig {
  std::string socket_path = PROXY_CONTROLLER_DEFAULT_SOCKET;
  std::string socket_group;  // empty: socket 0600, only root and our own uid may talk
  std::string state_dir = "/var/lib/udptun";
  std::string bin_dir;  // where tun2socks, udp-local and udp-server live (default: next to us)
  uint64_t max_quick_restarts = 5;
  size_t max_request_bytes = 64 * 1024;
  // Replies and events waiting for a client to read them: over this, its requests wait
  // (backpressure); over twice this, a client that reads nothing is disconnected.
  size_t max_output_bytes = 1024 * 1024;
  size_t max_connections = 64;
  size_t max_services = 64;  // past it, the oldest stopped service that was not declared goes
  // Services run as this user (when the controller is root), never as root. The default
  // falls back to "nobody" on a machine without a "udptun" user.
  std::string service_user = "udptun";
  bool service_user_is_default = true;
  // The services root declared: the "services" object of the configuration (JSON text).
  std::string services_json;
  runtime::LogLevel log_level = runtime::LogLevel::info;
  std::optional<protocol::Address> metrics;  // serve /metrics here
  protocol::AllowList metrics_allow;         // ... to scrapers at these addresses (empty: any)
  // Called (on the controller's thread) when it cannot run, e.g. the socket cannot be bound;
  // the controller has stopped by then.
  std::function<void(const std::string& why)> on_fatal;
};

// Every key proxy_controller_new's JSON may have (controller_options.cpp).
const runtime::OptionList<ControllerConfig>& controller_options();

class ControlConnection;

class Controller {
 public:
  explicit Controller(ControllerConfig config);
  ~Controller();
  int start();  // on a thread of its own; 0 or a negative code
  int run();    // on the calling thread until stopped
  void stop() { loop_.request_stop(); }

  // For connections (loop thread).
  runtime::Logger& log() { return log_; }
  runtime::EventLoop& loop() { return loop_; }
  // Handles one request object; returns the reply object's text.
  std::string handle(ControlConnection& from, const std::string& request);
  void connection_closed(ControlConnection& c);
  // The role of a peer with these credentials (all of its groups), nullopt when refused.
  std::optional<PeerRole> peer_role(uid_t uid, const std::vector<gid_t>& groups) const;
  size_t max_request_bytes() const { return config_.max_request_bytes; }
  size_t max_output_bytes() const { return config_.max_output_bytes; }

 private:
  Status listen();
  Status prepare_state_dir();
  // STATE_DIR/services/NAME, owned by the user the service runs as (mode 0700): where a
  // built-in keeps what must outlive its process (udp-local's session record). Empty with
  // `error` when it cannot be made safely.
  Result<std::string> service_state_dir(const std::string& name,
                                        const std::optional<Credentials>& run_as);
  void shutdown();
  // Supervisor events: to subscribers, and into the tunnel's connection status.
  void service_event(const std::string& event, const std::string& name, const std::string& detail);
  void broadcast_event(const std::string& event, const std::string& service,
                       const std::string& detail);
  std::string builtin_path(const std::string& name) const;
  // The control actions, one handler each, found by name in a table.
  using Action = Status (Controller::*)(ControlConnection& from, const cJSON* params,
                                        cJSON*& result);
  static const std::map<std::string, Action>& actions();
  Status action_status(ControlConnection& from, const cJSON* params, cJSON*& result);
  Status action_stats(ControlConnection& from, const cJSON* params, cJSON*& result);
  Status action_start(ControlConnection& from, const cJSON* params, cJSON*& result);
  Status action_stop(ControlConnection& from, const cJSON* params, cJSON*& result);
  Status action_restart(ControlConnection& from, const cJSON* params, cJSON*& result);
  // stop/restart: the named service, then the services journal.
  Status by_name(const cJSON* params, const std::function<Status(const std::string&)>& act);
  Status action_subscribe(ControlConnection& from, const cJSON* params, cJSON*& result);
  Status action_configure_routing(ControlConnection& from, const cJSON* params, cJSON*& result);
  Status action_reset_routing(ControlConnection& from, const cJSON* params, cJSON*& result);
  Status start_service(ControlConnection& from, const cJSON* params);
  // The plan as the supervisor runs it: the program, its descriptors, its user.
  Status launch(const std::string& name, const LaunchPlan& plan);
  void autostart_declared();
  static std::string tun_in_config_file(const std::vector<std::string>& flags);
  // The services journal: what should be running, rewritten whenever that changes.
  void save_services();
  // After a crash: what the journal says was running is cleaned up and started again.
  std::vector<JournaledService> take_over_journal();
  Status configure_routing(ControlConnection& from, const cJSON* params);
  Status reset_routing();
  void save_routing_journal(const RoutingState& state);
  // statusChanged: the Outline-style connectionStatus pushed to the clients that configured
  // routing (and to subscribers) whenever it changes.
  static constexpr int kConnected = 0, kDisconnected = 1, kReconnecting = 2;
  static constexpr uint64_t kNetworkSettleMs = 150;
  Status open_metrics();
  // A fatal error before serving: logged, reported (on_fatal), the loop told to stop.
  void fail_to_start(const Status& why);
  void watch_network();
  void network_changed();
  int current_tunnel_status() const;
  void update_tunnel_status();
  void push_status(int status);
  // session-up/session-down events, from our services' counters (udp-local's link_up,
  // udp-server's attached sessions), looked at every kSessionWatchMs.
  static constexpr uint64_t kSessionWatchMs = 250;
  void watch_sessions();
  // A TUN we created that its holder kept from being released at reset: retried on every
  // network change and service exit until it is gone.
  void release_pending_tun();

  ControllerConfig config_;
  runtime::EventLoop loop_;
  runtime::Logger log_;
  ServiceSupervisor supervisor_;
  ServiceCatalog catalog_;
  std::optional<Credentials> service_credentials_;  // nullopt: we are not root
  runtime::UvHandle<uv_pipe_t> listener_;
  runtime::UvHandle<uv_check_t> burial_;
  std::list<std::unique_ptr<ControlConnection>> connections_;
  std::vector<std::unique_ptr<ControlConnection>> closed_;
  gid_t socket_gid_ = static_cast<gid_t>(-1);
  uint64_t connections_refused_ = 0;
  std::unique_ptr<RoutingPlatform> routing_;
  RouteJournal journal_;
  ServiceJournal services_journal_;
  std::map<std::string, LaunchPlan> plans_;  // how each known service was launched
  bool stopping_ = false;
  std::optional<RoutingState> routing_state_;
  runtime::UvHandle<uv_poll_t> change_watch_;
  runtime::UvHandle<uv_timer_t> settle_;
  runtime::UvHandle<uv_timer_t> session_watch_;
  std::map<std::string, double> sessions_seen_;  // service -> link_up / sessions_attached
  std::set<std::string> tunnels_down_;  // client ends (udp-local, tun2socks) whose tunnel fell
  std::string pending_tun_release_;
  bool network_ok_ = true;
  int tunnel_status_ = kConnected;
  std::unique_ptr<runtime::MetricsEndpoint> metrics_;
  std::string render_metrics() const;  // controller_metrics.cpp
};

}  // namespace udptun::controller
