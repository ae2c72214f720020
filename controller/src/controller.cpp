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
            broadcast(e, n, d);
          },
          config_.max_quick_restarts),
      routing_(make_linux_routing()),
      journal_(config_.state_dir + "/routing.json") {
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
  // The state directory holds the routing journal: private to root.
  if (mkdir(config_.state_dir.c_str(), 0700) != 0 && errno != EEXIST) {
    LOG_WARN(log_, "", "cannot create the state directory %s: %s (configureRouting will fail)",
             config_.state_dir.c_str(), std::strerror(errno));
  }
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
  }
  loop_.run([this] { shutdown(); });
  return rc;
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
  unlink(config_.socket_path.c_str());  // a stale socket from a previous run
  int rc = listener_.init(this, [&](uv_pipe_t* p) { return uv_pipe_init(loop_.get(), p, 0); });
  // The socket is created with no permissions for others, then opened up only as configured.
  mode_t old = umask(0177);
  if (rc == 0) rc = uv_pipe_bind(listener_.get(), config_.socket_path.c_str());
  umask(old);
  if (rc == 0 && socket_gid_ != static_cast<gid_t>(-1)) {
    if (chown(config_.socket_path.c_str(), static_cast<uid_t>(-1), socket_gid_) != 0 ||
        chmod(config_.socket_path.c_str(), 0660) != 0) {
      rc = UV_EPERM;
    }
  }
  if (rc == 0) {
    rc = uv_listen(listener_.stream(), 16, [](uv_stream_t* l, int status) {
      auto* self = static_cast<Controller*>(l->data);
      if (!self || status != 0) return;
      auto c = std::make_unique<ControlConnection>(*self);
      if (!c->accept(l)) return;
      self->connections_.push_back(std::move(c));
    });
  }
  if (rc != 0) {
    error = "cannot listen on " + config_.socket_path + ": " + uv_strerror(rc);
    return false;
  }
  burial_.init(this, [&](uv_check_t* c) { return uv_check_init(loop_.get(), c); });
  uv_check_start(burial_.get(),
                 [](uv_check_t* c) { static_cast<Controller*>(c->data)->closed_.clear(); });
  LOG_INFO(log_, "", "listening on %s", config_.socket_path.c_str());
  return true;
}

bool Controller::peer_allowed(uid_t uid, gid_t gid) const {
  return uid == 0 || uid == geteuid() ||
         (socket_gid_ != static_cast<gid_t>(-1) && gid == socket_gid_);
}

void Controller::connection_closed(ControlConnection& c) {
  auto it = std::find_if(connections_.begin(), connections_.end(),
                         [&](const auto& p) { return p.get() == &c; });
  if (it == connections_.end()) return;
  closed_.push_back(std::move(*it));  // freed at the end of the iteration: we may be inside it
  connections_.erase(it);
}

std::string Controller::builtin_path(const std::string& name) const {
  if (name == "tun2socks" || name == "udp-local" || name == "udp-server") {
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

std::string Controller::handle(ControlConnection& from, const std::string& request) {
  Json req(cJSON_Parse(request.c_str()));
  if (!req.p || !cJSON_IsObject(req.p)) return reply("", 1, "invalid JSON", nullptr, nullptr);
  const cJSON* action = cJSON_GetObjectItemCaseSensitive(req.p, "action");
  const cJSON* id = cJSON_GetObjectItemCaseSensitive(req.p, "id");
  if (!cJSON_IsString(action)) return reply("", 1, "\"action\" must be a string", id, nullptr);
  std::string name_of_action = action->valuestring;
  const cJSON* params = cJSON_GetObjectItemCaseSensitive(req.p, "parameters");
  if (params && !cJSON_IsObject(params))
    return reply(name_of_action, 1, "\"parameters\" must be an object", id, nullptr);
  auto param_string = [&](const char* key, std::string& out) -> std::string {
    const cJSON* v = params ? cJSON_GetObjectItemCaseSensitive(params, key) : nullptr;
    if (!cJSON_IsString(v) || !*v->valuestring)
      return std::string("parameter \"") + key + "\" (a string) is required";
    out = v->valuestring;
    return "";
  };
  LOG_DEBUG(log_, "control", "request %s", name_of_action.c_str());

  if (name_of_action == "status") {
    cJSON* result = cJSON_CreateObject();
    cJSON* list = cJSON_AddArrayToObject(result, "services");
    for (const auto& s : supervisor_.status()) {
      cJSON* o = cJSON_CreateObject();
      cJSON_AddStringToObject(o, "name", s.name.c_str());
      cJSON_AddStringToObject(o, "state", s.state.c_str());
      cJSON_AddNumberToObject(o, "pid", s.pid);
      cJSON_AddNumberToObject(o, "uptimeMs", static_cast<double>(s.uptime_ms));
      cJSON_AddNumberToObject(o, "restarts", static_cast<double>(s.restarts));
      cJSON_AddStringToObject(o, "lastExit", s.last_exit.c_str());
      cJSON_AddItemToArray(list, o);
    }
    return reply(name_of_action, 0, "", id, result);
  }
  if (name_of_action == "start") {
    std::string name;
    std::string why = param_string("name", name);
    if (!why.empty()) return reply(name_of_action, 1, why, id, nullptr);
    const cJSON* mode = params ? cJSON_GetObjectItemCaseSensitive(params, "mode") : nullptr;
    if (mode && (!cJSON_IsString(mode) || std::string(mode->valuestring) != "process")) {
      return reply(name_of_action, 1,
                   "\"mode\" must be \"process\" (in-process services are not available yet)", id,
                   nullptr);
    }
    const cJSON* argv = cJSON_GetObjectItemCaseSensitive(params, "argv");
    const cJSON* args = cJSON_GetObjectItemCaseSensitive(params, "args");
    std::vector<std::string> command;
    std::string builtin = builtin_path(name);
    if (!builtin.empty()) {
      command.push_back(builtin);
      argv = args;  // for our own services, "args" follow the program
    } else if (!argv) {
      return reply(name_of_action, 1,
                   "parameter \"argv\" (an array of strings) is required for an external command",
                   id, nullptr);
    }
    if (argv) {
      if (!cJSON_IsArray(argv))
        return reply(name_of_action, 1, "\"argv\"/\"args\" must be an array of strings", id,
                     nullptr);
      const cJSON* a;
      cJSON_ArrayForEach(a, argv) {
        if (!cJSON_IsString(a))
          return reply(name_of_action, 1, "\"argv\"/\"args\" must hold only strings", id, nullptr);
        command.emplace_back(a->valuestring);
      }
    }
    if (command.empty() || command[0].empty() || command[0][0] != '/') {
      return reply(name_of_action, 1,
                   "the command must be an absolute path (it is exec'd, never run by a shell)", id,
                   nullptr);
    }
    why = supervisor_.start(name, command);
    return reply(name_of_action, why.empty() ? 0 : 1, why, id, nullptr);
  }
  if (name_of_action == "stop" || name_of_action == "restart") {
    std::string name;
    std::string why = param_string("name", name);
    if (why.empty())
      why = name_of_action == "stop" ? supervisor_.stop(name) : supervisor_.restart(name);
    return reply(name_of_action, why.empty() ? 0 : 1, why, id, nullptr);
  }
  if (name_of_action == "subscribe") {
    from.set_subscribed();
    return reply(name_of_action, 0, "", id, nullptr);
  }
  if (name_of_action == "configureRouting") {
    std::string why = configure_routing(params);
    return reply(name_of_action, why.empty() ? 0 : 1, why, id, nullptr);
  }
  if (name_of_action == "resetRouting") {
    std::string why = reset_routing();
    return reply(name_of_action, why.empty() ? 0 : 1, why, id, nullptr);
  }
  return reply(name_of_action, 1, "unknown action \"" + name_of_action + "\"", id, nullptr);
}

std::string Controller::configure_routing(const cJSON* params) {
  RoutingRequest req;
  const cJSON* router = params ? cJSON_GetObjectItemCaseSensitive(params, "routerIp") : nullptr;
  const cJSON* proxy = params ? cJSON_GetObjectItemCaseSensitive(params, "proxyIp") : nullptr;
  const cJSON* tun = params ? cJSON_GetObjectItemCaseSensitive(params, "tunName") : nullptr;
  const cJSON* mtu = params ? cJSON_GetObjectItemCaseSensitive(params, "mtu") : nullptr;
  const cJSON* automatic =
      params ? cJSON_GetObjectItemCaseSensitive(params, "isAutoConnect") : nullptr;
  auto ipv4 = [](const char* text, protocol::Address& out) {
    auto t = protocol::parse_address_text(std::string(text) + ":0");
    if (!t.address || t.address->type != protocol::AddressType::ipv4) return false;
    out = *t.address;
    return true;
  };
  if (!cJSON_IsString(router) || !ipv4(router->valuestring, req.router_ip)) {
    return "parameter \"routerIp\" must be an IPv4 address";
  }
  std::vector<const cJSON*> proxies;
  if (cJSON_IsString(proxy)) {
    proxies.push_back(proxy);
  } else if (cJSON_IsArray(proxy)) {
    const cJSON* p;
    cJSON_ArrayForEach(p, proxy) proxies.push_back(p);
  }
  if (proxies.empty())
    return "parameter \"proxyIp\" (an IPv4 address or an array of them) is required";
  for (const cJSON* p : proxies) {
    protocol::Address a;
    if (!cJSON_IsString(p) || !ipv4(p->valuestring, a))
      return "\"proxyIp\" must hold IPv4 addresses";
    req.proxy_ips.push_back(a);
  }
  if (tun) {
    std::string n = cJSON_IsString(tun) ? tun->valuestring : "";
    if (n.empty() || n.size() >= 16 ||
        n.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-_.") != std::string::npos) {
      return "\"tunName\" must be an interface name (lower-case letters, digits, - _ ., under 16 "
             "bytes)";
    }
    req.tun_name = n;
  }
  if (mtu) {
    if (!cJSON_IsNumber(mtu) || mtu->valueint < 576 || mtu->valueint > 65535)
      return "\"mtu\" must be 576..65535";
    req.mtu = static_cast<unsigned>(mtu->valueint);
  }
  if (automatic && !cJSON_IsBool(automatic)) return "\"isAutoConnect\" must be true or false";
  if (routing_state_) reset_routing();  // a new configuration replaces the old one
  // Journal what is about to be done, before doing it.
  RoutingState planned;
  planned.tun_name = req.tun_name;
  planned.tun_created = true;
  planned.split_default = true;
  for (const auto& p : req.proxy_ips) {
    std::string d = protocol::format_address(p);
    planned.proxy_routes.push_back(d.substr(0, d.rfind(':')));
  }
  std::string error;
  if (!journal_.save(planned, error)) return error;
  RoutingState state;
  error = routing_->configure(req, state);
  if (!error.empty()) {
    routing_->reset(state);
    journal_.remove();
    LOG_WARN(log_, "routing", "configureRouting failed: %s", error.c_str());
    return error;
  }
  journal_.save(state, error);  // now exact: what really was added
  routing_state_ = state;
  LOG_INFO(log_, "routing", "routing through %s, proxy kept via %s", state.tun_name.c_str(),
           state.gateway.empty() ? state.gateway_dev.c_str() : state.gateway.c_str());
  return "";
}

std::string Controller::reset_routing() {
  if (!routing_state_) {
    if (auto left = journal_.load()) routing_->reset(*left);
    journal_.remove();
    return "";  // idempotent
  }
  std::string error = routing_->reset(*routing_state_);
  routing_state_.reset();
  journal_.remove();
  LOG_INFO(log_, "routing", "routing restored");
  return error;
}

void Controller::broadcast(const std::string& event, const std::string& name,
                           const std::string& detail) {
  LOG_INFO(log_, "service", "%s %s (%s)", name.c_str(), event.c_str(), detail.c_str());
  Json e(cJSON_CreateObject());
  cJSON_AddStringToObject(e.p, "action", "event");
  cJSON_AddNumberToObject(e.p, "statusCode", 0);
  cJSON_AddStringToObject(e.p, "event", ("service-" + event).c_str());
  cJSON_AddStringToObject(e.p, "service", name.c_str());
  cJSON_AddStringToObject(e.p, "detail", detail.c_str());
  char* text = cJSON_PrintUnformatted(e.p);
  for (auto& c : connections_) {
    if (c->subscribed()) c->send(text);
  }
  cJSON_free(text);
}

void Controller::shutdown() {
  LOG_INFO(log_, "", "stopping: stopping services, restoring routing");
  if (routing_state_) reset_routing();
  listener_.close();
  unlink(config_.socket_path.c_str());
  supervisor_.stop_all([this] {
    connections_.clear();
    closed_.clear();
    burial_.close();
  });
}

}  // namespace udptun::controller
