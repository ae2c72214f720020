#include "controller.hpp"

#include <cJSON.h>
#include <grp.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "control_connection.hpp"
#include "routing_request.hpp"
#include "udptun/runtime/file_reader.hpp"

namespace udptun::controller {

namespace {

struct Json {
  cJSON* p;
  explicit Json(cJSON* j) : p(j) {}
  ~Json() { cJSON_Delete(p); }
  Json(const Json&) = delete;
  Json& operator=(const Json&) = delete;
};

// The reply envelope: action, statusCode, errorMessage when it failed, id and result when given.
std::string reply(const std::string& action, int code, const std::string& error, const cJSON* id,
                  cJSON* result /* taken */) {
  Json r(cJSON_CreateObject());
  cJSON_AddStringToObject(r.p, "action", action.c_str());
  cJSON_AddNumberToObject(r.p, "statusCode", code);
  if (!error.empty()) cJSON_AddStringToObject(r.p, "errorMessage", error.c_str());
  if (id) cJSON_AddItemToObject(r.p, "id", cJSON_Duplicate(id, 1));
  if (result) cJSON_AddItemToObject(r.p, "result", result);
  char* text = cJSON_PrintUnformatted(r.p);
  std::string out = text ? text : "{}";
  cJSON_free(text);
  return out;
}

}  // namespace

Controller::Controller(ControllerConfig config)
    : config_(std::move(config)),
      supervisor_(
          loop_,
          [this](const std::string& e, const std::string& n, const std::string& d) {
            service_event(e, n, d);
          },
          config_.max_quick_restarts, config_.max_services),
      routing_(make_linux_routing()),
      journal_(config_.state_dir + "/routing.json"),
      services_journal_(config_.state_dir + "/services.json") {
  log_.set_level(config_.log_level);
  if (config_.bin_dir.empty()) {
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
      self[n] = '\0';
      std::string p(self);
      config_.bin_dir = p.substr(0, p.rfind('/'));
    }
  }
}

Controller::~Controller() {
  stop();
  loop_.join();
}

int Controller::start() {
  return loop_.start_thread([this] { run(); });
}

int Controller::run() {
  std::string error;
  int rc = 0;
  bool usable = prepare_state_dir(error);
  if (usable) {
    Json services(
        cJSON_Parse(config_.services_json.empty() ? "{}" : config_.services_json.c_str()));
    usable = catalog_.load(services.p, error);
  }
  if (usable && geteuid() == 0) {
    service_credentials_ =
        lookup_service_user(config_.service_user, config_.service_user_is_default, error);
    usable = service_credentials_.has_value();
    if (usable && service_credentials_->user != config_.service_user)
      LOG_WARN(log_, "", "no user \"%s\": services run as \"%s\"", config_.service_user.c_str(),
               service_credentials_->user.c_str());
  }
  if (!usable) {
    LOG_ERROR(log_, "", "%s", error.c_str());
    loop_.request_stop();
    if (config_.on_fatal) config_.on_fatal(error);
    loop_.run([this] { shutdown(); });
    return -1;
  }
  std::vector<JournaledService> recovered = take_over_journal();
  // A journal left behind means a controller died with routes applied: undo them first.
  if (auto left = journal_.load()) {
    LOG_WARN(log_, "routing", "found %s from a previous run: undoing its routing changes",
             journal_.path().c_str());
    routing_->reset(*left);
    journal_.remove();
  }
  if (!listen(error)) {
    LOG_ERROR(log_, "", "%s", error.c_str());
    rc = -1;
    loop_.request_stop();
    if (config_.on_fatal) config_.on_fatal(error);
  }
  if (rc == 0) {
    for (const auto& s : recovered) {
      std::string why = launch(s.name, s.plan);
      if (!why.empty())
        LOG_WARN(log_, "service", "%s: cannot start again: %s", s.name.c_str(), why.c_str());
    }
    autostart_declared();
    save_services();
  }
  loop_.run([this] { shutdown(); });
  return rc;
}

bool Controller::prepare_state_dir(std::string& error) {
  // The state directory holds the routing journal, which a restarted controller acts on as
  // root: only root may be able to write there.
  const std::string& dir = config_.state_dir;
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    error = "cannot create the state directory " + dir + ": " + std::strerror(errno);
    return false;
  }
  struct stat st {};
  if (lstat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    error = "the state directory " + dir + " is not a directory";
    return false;
  }
  if (st.st_uid != geteuid() || (st.st_mode & (S_IWGRP | S_IWOTH))) {
    error = "the state directory " + dir +
            " must belong to the controller's user and be writable by it alone";
    return false;
  }
  return true;
}

bool Controller::listen(std::string& error) {
  if (!config_.socket_group.empty()) {
    group* g = getgrnam(config_.socket_group.c_str());
    if (!g) {
      error = "no such group: " + config_.socket_group;
      return false;
    }
    socket_gid_ = g->gr_gid;
  }
  // Bound under a temporary name and renamed into place once listening: a client that waits
  // for the socket to appear is never refused by one that is not listening yet.
  const std::string fresh = config_.socket_path + ".new";
  unlink(fresh.c_str());
  int rc = listener_.init(this, [&](uv_pipe_t* p) { return uv_pipe_init(loop_.get(), p, 0); });
  // The socket is created with no permissions for others, then opened up only as configured.
  mode_t old = umask(0177);
  if (rc == 0) rc = uv_pipe_bind(listener_.get(), fresh.c_str());
  umask(old);
  if (rc == 0 && socket_gid_ != static_cast<gid_t>(-1)) {
    if (chown(fresh.c_str(), static_cast<uid_t>(-1), socket_gid_) != 0 ||
        chmod(fresh.c_str(), 0660) != 0) {
      rc = UV_EPERM;
    }
  }
  if (rc == 0) {
    rc = uv_listen(listener_.stream(), 16, [](uv_stream_t* l, int status) {
      auto* self = static_cast<Controller*>(l->data);
      if (!self || status != 0) return;
      auto c = std::make_unique<ControlConnection>(*self);
      if (!c->accept(l)) return;
      if (self->connections_.size() >= self->config_.max_connections) {
        // Accepted only to be closed: the backlog drains and the client learns at once.
        if (self->connections_refused_++ % 100 == 0)
          LOG_WARN(self->log_, "control", "%zu clients connected already: refused (%llu so far)",
                   self->connections_.size(),
                   static_cast<unsigned long long>(self->connections_refused_));
        return;
      }
      self->connections_.push_back(std::move(c));
    });
  }
  // Replaces a stale socket from a previous run in one step.
  if (rc == 0 && rename(fresh.c_str(), config_.socket_path.c_str()) != 0)
    rc = uv_translate_sys_error(errno);
  if (rc != 0) {
    unlink(fresh.c_str());
    error = "cannot listen on " + config_.socket_path + ": " + uv_strerror(rc);
    return false;
  }
  burial_.init(this, [&](uv_check_t* c) { return uv_check_init(loop_.get(), c); });
  uv_check_start(burial_.get(),
                 [](uv_check_t* c) { static_cast<Controller*>(c->data)->closed_.clear(); });
  LOG_INFO(log_, "", "listening on %s", config_.socket_path.c_str());
  watch_network();
  session_watch_.init(this, [&](uv_timer_t* t) { return uv_timer_init(loop_.get(), t); });
  uv_timer_start(
      session_watch_.get(),
      [](uv_timer_t* t) {
        if (auto* self = static_cast<Controller*>(t->data)) self->watch_sessions();
      },
      kSessionWatchMs, kSessionWatchMs);
  return true;
}

std::optional<PeerRole> Controller::peer_role(uid_t uid, const std::vector<gid_t>& groups) const {
  if (uid == 0 || uid == geteuid()) return PeerRole::admin;
  if (socket_gid_ != static_cast<gid_t>(-1) &&
      std::find(groups.begin(), groups.end(), socket_gid_) != groups.end())
    return PeerRole::member;
  return std::nullopt;
}

std::string Controller::start_service(ControlConnection& from, const cJSON* params) {
  auto param = [&](const char* key) {
    return params ? cJSON_GetObjectItemCaseSensitive(params, key) : nullptr;
  };
  const cJSON* name = param("name");
  // A service known from before (stopped, or failed) started again by name, as it was.
  if (cJSON_IsString(name) && supervisor_.exists(name->valuestring) &&
      !catalog_.is_declared(name->valuestring) && !param("argv") && !param("args") &&
      !param("config") && !param("mode"))
    return supervisor_.start_again(name->valuestring);
  LaunchPlan plan;
  std::string why = catalog_.plan_start(params, from.role(), plan);
  if (!why.empty()) return why;
  return launch(name->valuestring, plan);
}

std::string Controller::launch(const std::string& name, const LaunchPlan& plan) {
  plans_[name] = plan;
  ServiceOptions options;
  std::vector<std::string> command;
  if (plan.inproc) {
    options.inproc_kind = plan.builtin;
    options.inproc_config = plan.config;
    return supervisor_.start(name, {}, options);
  }
  if (service_credentials_) {
    if (plan.user.empty()) {
      options.run_as = service_credentials_;
    } else {
      std::string error;
      options.run_as = lookup_service_user(plan.user, false, error);
      if (!options.run_as) return error;
    }
  }
  if (plan.builtin.empty()) {
    command = plan.argv;
  } else {
    // Our own services report their counters on descriptor 3 (see `stats`).
    command = {builtin_path(plan.builtin), "--stats-fd", "3"};
    options.stats_channel = true;
    if (!plan.config.empty()) {
      std::string config = plan.config;
      if (!plan.tun.empty()) {
        Json j(cJSON_Parse(config.c_str()));
        cJSON_DeleteItemFromObjectCaseSensitive(j.p, "tun");
        cJSON_AddNumberToObject(j.p, "tun_fd", 4);
        char* text = cJSON_PrintUnformatted(j.p);
        config = text ? text : "{}";
        cJSON_free(text);
      }
      options.stdin_text = config;
      command.insert(command.end(), {"--config", "/dev/stdin"});
    }
    command.insert(command.end(), plan.argv.begin(), plan.argv.end());
    std::string tun_name = plan.tun;
    if (tun_name.empty() && plan.builtin == "tun2socks" && plan.trusted)
      tun_name = tun_in_config_file(plan.argv);
    if (!tun_name.empty()) {
      command.insert(command.end(), {"--tun-fd", "4"});
      // tun2socks runs without privileges: the controller opens the device for it, at every
      // (re)start. Only our routed TUN, or a new device that lives as long as tun2socks.
      std::string tun = tun_name;
      options.prepare_fds = [this, tun](std::vector<std::pair<int, int>>& fds) -> std::string {
        bool ours = routing_state_ && routing_state_->tun_name == tun;
        if (!ours && routing_->device_exists(tun))
          return "the device " + tun + " exists and is not the controller's TUN";
        std::string error;
        int fd = routing_->open_tun(tun, error);
        if (fd < 0) return error;
        fds.push_back({4, fd});
        return "";
      };
    }
  }
  return supervisor_.start(name, command, options);
}

void Controller::save_services() {
  if (stopping_) return;
  std::vector<JournaledService> wanted;
  for (const auto& s : supervisor_.status()) {
    auto plan = plans_.find(s.name);
    if (plan == plans_.end() ||
        (s.state != ServiceState::running && s.state != ServiceState::restarting))
      continue;
    JournaledService j;
    j.name = s.name;
    j.plan = plan->second;
    j.pid = s.pid;
    j.start_time = process_start_time(s.pid);
    wanted.push_back(std::move(j));
  }
  std::string error;
  if (!services_journal_.save(wanted, error)) LOG_WARN(log_, "service", "%s", error.c_str());
}

std::vector<JournaledService> Controller::take_over_journal() {
  std::vector<JournaledService> left = services_journal_.load();
  for (const auto& s : left) {
    LOG_WARN(log_, "service", "%s was running when the last controller died: starting it again",
             s.name.c_str());
    ServiceJournal::kill_leftovers(s);
  }
  return left;
}

std::string Controller::tun_in_config_file(const std::vector<std::string>& flags) {
  // tun2socks --config FILE naming its device ("tun"): the device is ours to open for it.
  // Only for what root decided (the file is read as root).
  for (size_t i = 0; i + 1 < flags.size(); ++i) {
    if (flags[i] != "--config") continue;
    std::string text, error;
    runtime::FileLimits limits;
    limits.owner_only_writable = true;
    if (!runtime::read_small_file(flags[i + 1], limits, text, error)) return "";
    Json config(cJSON_Parse(text.c_str()));
    const cJSON* tun = cJSON_GetObjectItemCaseSensitive(config.p, "tun");
    return cJSON_IsString(tun) ? tun->valuestring : "";
  }
  return "";
}

void Controller::autostart_declared() {
  for (const auto& [name, plan] : catalog_.declared()) {
    if (!plan.autostart || supervisor_.exists(name)) continue;
    std::string why = launch(name, plan);
    if (!why.empty()) LOG_WARN(log_, "service", "%s: cannot start: %s", name.c_str(), why.c_str());
  }
}

void Controller::connection_closed(ControlConnection& c) {
  auto it = std::find_if(connections_.begin(), connections_.end(),
                         [&](const auto& p) { return p.get() == &c; });
  if (it == connections_.end()) return;
  closed_.push_back(std::move(*it));  // freed at the end of the iteration: we may be inside it
  connections_.erase(it);
}

std::string Controller::builtin_path(const std::string& name) const {
  if (is_builtin_service(name)) {
    // The build tree keeps each in its component's folder; an install puts them side by side.
    std::string flat = config_.bin_dir + "/" + name;
    if (access(flat.c_str(), X_OK) == 0) return flat;
    std::string folder = name == "tun2socks"   ? "tun2socks"
                         : name == "udp-local" ? "udplocal"
                                               : "udpserver";
    return config_.bin_dir + "/../" + folder + "/" + name;
  }
  return "";
}

// Each action's handler: "" or why it failed; `result` (taken) is the reply's data.
const std::map<std::string, Controller::Action>& Controller::actions() {
  static const std::map<std::string, Action> table = {
      {"status", &Controller::action_status},
      {"stats", &Controller::action_stats},
      {"start", &Controller::action_start},
      {"stop", &Controller::action_stop},
      {"restart", &Controller::action_restart},
      {"subscribe", &Controller::action_subscribe},
      {"configureRouting", &Controller::action_configure_routing},
      {"resetRouting", &Controller::action_reset_routing},
  };
  return table;
}

std::string Controller::handle(ControlConnection& from, const std::string& request) {
  Json req(cJSON_Parse(request.c_str()));
  if (!req.p || !cJSON_IsObject(req.p)) return reply("", 1, "invalid JSON", nullptr, nullptr);
  const cJSON* action = cJSON_GetObjectItemCaseSensitive(req.p, "action");
  const cJSON* id = cJSON_GetObjectItemCaseSensitive(req.p, "id");
  if (!cJSON_IsString(action)) return reply("", 1, "\"action\" must be a string", id, nullptr);
  std::string name = action->valuestring;
  const cJSON* params = cJSON_GetObjectItemCaseSensitive(req.p, "parameters");
  if (params && !cJSON_IsObject(params))
    return reply(name, 1, "\"parameters\" must be an object", id, nullptr);
  auto handler = actions().find(name);
  if (handler == actions().end())
    return reply(name, 1, "unknown action \"" + name + "\"", id, nullptr);
  LOG_DEBUG(log_, "control", "request %s", name.c_str());
  cJSON* result = nullptr;
  std::string why = (this->*handler->second)(from, params, result);
  if (!why.empty()) {
    cJSON_Delete(result);
    return reply(name, 1, why, id, nullptr);
  }
  return reply(name, 0, "", id, result);
}

namespace {

// A required, non-empty string parameter: "" and `out` set, or why not.
std::string string_param(const cJSON* params, const char* key, std::string& out) {
  const cJSON* v = params ? cJSON_GetObjectItemCaseSensitive(params, key) : nullptr;
  if (!cJSON_IsString(v) || !*v->valuestring)
    return std::string("parameter \"") + key + "\" (a string) is required";
  out = v->valuestring;
  return "";
}

}  // namespace

std::string Controller::action_status(ControlConnection&, const cJSON*, cJSON*& result) {
  result = cJSON_CreateObject();
  cJSON* list = cJSON_AddArrayToObject(result, "services");
  for (const auto& s : supervisor_.status()) {
    cJSON* o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", s.name.c_str());
    cJSON_AddStringToObject(o, "state", service_state_name(s.state));
    cJSON_AddNumberToObject(o, "pid", s.pid);
    cJSON_AddNumberToObject(o, "uptimeMs", static_cast<double>(s.uptime_ms));
    cJSON_AddNumberToObject(o, "restarts", static_cast<double>(s.restarts));
    cJSON_AddStringToObject(o, "lastExit", s.last_exit.c_str());
    cJSON_AddStringToObject(o, "mode", s.mode.c_str());
    if (cJSON* counters = s.stats.empty() ? nullptr : cJSON_Parse(s.stats.c_str()))
      cJSON_AddItemToObject(o, "stats", counters);
    cJSON_AddItemToArray(list, o);
  }
  if (routing_state_) {
    cJSON* r = cJSON_AddObjectToObject(result, "routing");
    cJSON_AddStringToObject(r, "tun", routing_state_->tun_name.c_str());
    cJSON_AddStringToObject(r, "gateway", routing_state_->gateway.c_str());
    cJSON_AddStringToObject(r, "gatewayDev", routing_state_->gateway_dev.c_str());
    cJSON_AddBoolToObject(r, "ipv6", routing_state_->split_default6);
    cJSON_AddNumberToObject(r, "connectionStatus", tunnel_status_);
  }
  return "";
}

std::string Controller::action_stats(ControlConnection&, const cJSON* params, cJSON*& result) {
  // Each service's latest counters: what our daemons report on their stats channel.
  std::string only;
  if (params && cJSON_GetObjectItemCaseSensitive(params, "name")) {
    std::string why = string_param(params, "name", only);
    if (!why.empty()) return why;
    if (!supervisor_.exists(only)) return "no such service: " + only;
  }
  result = cJSON_CreateObject();
  cJSON* list = cJSON_AddArrayToObject(result, "services");
  for (const auto& s : supervisor_.status()) {
    if (!only.empty() && s.name != only) continue;
    cJSON* o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", s.name.c_str());
    cJSON_AddStringToObject(o, "state", service_state_name(s.state));
    cJSON* counters = s.stats.empty() ? nullptr : cJSON_Parse(s.stats.c_str());
    cJSON_AddItemToObject(o, "stats", counters ? counters : cJSON_CreateObject());
    cJSON_AddItemToArray(list, o);
  }
  return "";
}

std::string Controller::action_start(ControlConnection& from, const cJSON* params, cJSON*&) {
  return start_service(from, params);
}

std::string Controller::action_stop(ControlConnection&, const cJSON* params, cJSON*&) {
  std::string name;
  std::string why = string_param(params, "name", name);
  if (why.empty()) why = supervisor_.stop(name);
  if (why.empty()) save_services();
  return why;
}

std::string Controller::action_restart(ControlConnection&, const cJSON* params, cJSON*&) {
  std::string name;
  std::string why = string_param(params, "name", name);
  if (why.empty()) why = supervisor_.restart(name);
  if (why.empty()) save_services();
  return why;
}

std::string Controller::action_subscribe(ControlConnection& from, const cJSON*, cJSON*&) {
  from.set_subscribed();
  return "";
}

std::string Controller::action_configure_routing(ControlConnection& from, const cJSON* params,
                                                 cJSON*&) {
  return configure_routing(from, params);
}

std::string Controller::action_reset_routing(ControlConnection&, const cJSON*, cJSON*&) {
  return reset_routing();
}

std::string Controller::configure_routing(ControlConnection& from, const cJSON* params) {
  RoutingRequest req;
  std::string why = parse_routing_request(params, req);
  if (!why.empty()) return why;         // nothing was changed
  if (routing_state_) reset_routing();  // a new configuration replaces the old one
  // The journal lists only what this controller added, written after every step: a restart
  // after a crash undoes exactly that, never a route or device that was there before us.
  req.reuse_tun = !pending_tun_release_.empty() && pending_tun_release_ == req.tun_name;
  RoutingState planned;
  planned.tun_name = req.tun_name;
  std::string error;
  if (!journal_.save(planned, error)) return error;
  RoutingState state;
  error = routing_->configure(req, state, [this](const RoutingState& now) {
    std::string e;
    if (!journal_.save(now, e)) LOG_WARN(log_, "routing", "%s", e.c_str());
  });
  if (!error.empty()) {
    routing_->reset(state);
    journal_.remove();
    LOG_WARN(log_, "routing", "configureRouting failed: %s", error.c_str());
    return error;
  }
  if (req.reuse_tun) pending_tun_release_.clear();
  journal_.save(state, error);  // now exact: what really was added
  routing_state_ = state;
  from.set_wants_status();
  network_ok_ = true;
  tunnel_status_ = kConnected;
  LOG_INFO(log_, "routing", "routing through %s%s, proxy kept via %s", state.tun_name.c_str(),
           state.split_default6 ? " (IPv4 and IPv6)" : " (IPv4)",
           state.gateway.empty() ? state.gateway_dev.c_str() : state.gateway.c_str());
  broadcast_event("routing-changed", "", "configured through " + state.tun_name);
  return "";
}

void Controller::release_pending_tun() {
  if (pending_tun_release_.empty()) return;
  if (routing_->release_tun(pending_tun_release_)) {
    LOG_DEBUG(log_, "routing", "%s released", pending_tun_release_.c_str());
    pending_tun_release_.clear();
  } else {
    LOG_INFO(log_, "routing", "%s is still held (tun2socks running?): released when it lets go",
             pending_tun_release_.c_str());
  }
}

void Controller::watch_sessions() {
  for (const auto& s : supervisor_.status()) {
    if (s.stats.empty()) continue;  // not running, or nothing reported yet
    Json stats(cJSON_Parse(s.stats.c_str()));
    const cJSON* link = cJSON_GetObjectItemCaseSensitive(stats.p, "link_up");
    if (!link) link = cJSON_GetObjectItemCaseSensitive(stats.p, "udp_tunnel_up");
    const cJSON* attached = cJSON_GetObjectItemCaseSensitive(stats.p, "sessions_attached");
    const cJSON* v = cJSON_IsNumber(link) ? link : attached;
    if (!cJSON_IsNumber(v)) continue;
    auto it = sessions_seen_.emplace(s.name, 0.0).first;
    double before = it->second;
    it->second = v->valuedouble;
    if (v->valuedouble == before) continue;
    bool up = v->valuedouble > before;
    std::string detail =
        link ? (up ? "tunnel up" : "tunnel down")
             : std::to_string(static_cast<long>(v->valuedouble)) + " session(s) attached";
    LOG_INFO(log_, "service", "%s: %s", s.name.c_str(), detail.c_str());
    broadcast_event(up ? "session-up" : "session-down", s.name, detail);
    if (link) {
      // A client end whose tunnel went down: the GUI sees "reconnecting" until it is back.
      if (up)
        tunnels_down_.erase(s.name);
      else
        tunnels_down_.insert(s.name);
      update_tunnel_status();
    }
  }
}

void Controller::watch_network() {
  int fd = routing_->change_fd();
  if (fd < 0) {
    LOG_WARN(log_, "routing", "cannot watch network changes (rtnetlink): no statusChanged pushes");
    return;
  }
  change_watch_.init(this, [&](uv_poll_t* p) { return uv_poll_init(loop_.get(), p, fd); });
  settle_.init(this, [&](uv_timer_t* t) { return uv_timer_init(loop_.get(), t); });
  uv_poll_start(change_watch_.get(), UV_READABLE, [](uv_poll_t* p, int, int) {
    auto* self = static_cast<Controller*>(p->data);
    if (!self) return;
    self->routing_->drain_changes();
    // A link flap or a DHCP renewal comes as a burst of messages: look once it settled.
    if (self->routing_state_ || !self->pending_tun_release_.empty())
      uv_timer_start(
          self->settle_.get(),
          [](uv_timer_t* t) {
            auto* c = static_cast<Controller*>(t->data);
            if (c) c->network_changed();
          },
          kNetworkSettleMs, 0);
  });
}

void Controller::network_changed() {
  release_pending_tun();
  if (!routing_state_) return;
  Uplink up = routing_->uplink(false);
  if (!up.usable) {
    if (network_ok_) {
      LOG_WARN(log_, "routing", "the uplink is gone (%s): waiting for it",
               up.dev.empty() ? "no default route" : (up.dev + " is down").c_str());
    }
    network_ok_ = false;
    update_tunnel_status();
    return;
  }
  const std::string before = routing_state_->gateway + "%" + routing_state_->gateway_dev;
  bool changed = false;
  std::string why = routing_->follow_uplink(*routing_state_, changed);
  if (changed) {
    std::string error;
    journal_.save(*routing_state_, error);
    LOG_INFO(log_, "routing", "routes re-applied: proxy via %s%%%s (was %s)%s%s",
             routing_state_->gateway.c_str(), routing_state_->gateway_dev.c_str(), before.c_str(),
             why.empty() ? "" : "; ", why.c_str());
    broadcast_event("routing-changed", "", "re-applied via " + routing_state_->gateway_dev);
    // The proxy's path changed under the tunnel: clients see it reconnect.
    if (network_ok_ && tunnel_status_ == kConnected) push_status(kReconnecting);
  }
  network_ok_ = true;
  update_tunnel_status();
}

int Controller::current_tunnel_status() const {
  if (!network_ok_) return kReconnecting;
  int status = tunnels_down_.empty() ? kConnected : kReconnecting;
  for (const auto& s : supervisor_.status()) {
    if (s.state == ServiceState::failed) return kDisconnected;
    if (s.state == ServiceState::restarting) status = kReconnecting;
  }
  return status;
}

void Controller::update_tunnel_status() {
  if (!routing_state_) return;
  int now = current_tunnel_status();
  if (now != tunnel_status_) push_status(now);
}

void Controller::push_status(int status) {
  tunnel_status_ = status;
  LOG_INFO(log_, "routing", "connection status %d (%s)", status,
           status == kConnected      ? "connected"
           : status == kDisconnected ? "disconnected"
                                     : "reconnecting");
  Json e(cJSON_CreateObject());
  cJSON_AddStringToObject(e.p, "action", "statusChanged");
  cJSON_AddNumberToObject(e.p, "statusCode", 0);
  cJSON_AddNumberToObject(e.p, "connectionStatus", status);
  char* text = cJSON_PrintUnformatted(e.p);
  for (auto& c : connections_) {
    if (c->wants_status() || c->subscribed()) c->send(text);
  }
  cJSON_free(text);
}

std::string Controller::reset_routing() {
  if (!routing_state_) {
    if (auto left = journal_.load()) routing_->reset(*left);
    journal_.remove();
    return "";  // idempotent
  }
  std::string error = routing_->reset(*routing_state_);
  if (routing_state_->tun_created) {
    pending_tun_release_ = routing_state_->tun_name;
    release_pending_tun();
  }
  routing_state_.reset();
  journal_.remove();
  if (settle_) uv_timer_stop(settle_.get());
  LOG_INFO(log_, "routing", "routing restored");
  broadcast_event("routing-changed", "", "restored");
  return error;
}

void Controller::service_event(const std::string& event, const std::string& name,
                               const std::string& detail) {
  LOG_INFO(log_, "service", "%s %s (%s)", name.c_str(), event.c_str(), detail.c_str());
  broadcast_event("service-" + event, name, detail);
  if (event == "up" || event == "down") {
    // A new process (or none): what the last one said about its tunnel no longer holds.
    auto seen = sessions_seen_.find(name);
    if (event == "down" && seen != sessions_seen_.end() && seen->second > 0)
      broadcast_event("session-down", name, "service down");
    if (seen != sessions_seen_.end()) sessions_seen_.erase(seen);
    tunnels_down_.erase(name);
  }
  if (event == "down") release_pending_tun();
  save_services();
  update_tunnel_status();
}

void Controller::broadcast_event(const std::string& event, const std::string& service,
                                 const std::string& detail) {
  Json e(cJSON_CreateObject());
  cJSON_AddStringToObject(e.p, "action", "event");
  cJSON_AddNumberToObject(e.p, "statusCode", 0);
  cJSON_AddStringToObject(e.p, "event", event.c_str());
  if (!service.empty()) cJSON_AddStringToObject(e.p, "service", service.c_str());
  cJSON_AddStringToObject(e.p, "detail", detail.c_str());
  char* text = cJSON_PrintUnformatted(e.p);
  for (auto& c : connections_) {
    if (c->subscribed()) c->send(text);
  }
  cJSON_free(text);
}

void Controller::shutdown() {
  LOG_INFO(log_, "", "stopping: stopping services, restoring routing");
  // A clean stop: nothing to start again next time (declared autostart services aside).
  stopping_ = true;
  if (listener_) unlink(services_journal_.path().c_str());  // not when it never served
  if (routing_state_) reset_routing();
  listener_.close();
  change_watch_.close();
  settle_.close();
  session_watch_.close();
  unlink(config_.socket_path.c_str());
  supervisor_.stop_all([this] {
    release_pending_tun();  // in-process tun2socks has let go of it by now
    connections_.clear();
    closed_.clear();
    burial_.close();
  });
}

}  // namespace udptun::controller
