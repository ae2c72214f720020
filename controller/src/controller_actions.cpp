// The control socket's actions (one handler each, found by name in a table) and what the
// service actions do: plan a start from a request, launch it, journal what runs.
#include <cJSON.h>
#include <unistd.h>

#include <cstring>

#include "control_connection.hpp"
#include "controller.hpp"
#include "controller_json.hpp"
#include "udptun/runtime/small_file.hpp"

namespace udptun::controller {

namespace {

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

Status Controller::start_service(ControlConnection& from, const cJSON* params) {
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
  Status planned = catalog_.plan_start(params, from.role(), plan);
  if (!planned.ok()) return planned;
  return launch(name->valuestring, plan);
}

Status Controller::launch(const std::string& name, const LaunchPlan& plan) {
  plans_[name] = plan;
  ServiceOptions options;
  std::vector<std::string> command;
  if (plan.in_process) {
    options.in_process_kind = plan.builtin;
    options.in_process_config = plan.config;
    return supervisor_.start(name, {}, options);
  }
  if (service_credentials_) {
    if (plan.user.empty()) {
      options.run_as = service_credentials_;
    } else {
      auto user = lookup_service_user(plan.user, false);
      if (!user.ok()) return user.status();
      options.run_as = user.value();
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
    if (plan.builtin == "udp-local" || plan.builtin == "tun2socks") {
      // Its session record lives here, so a restart (ours, or after a crash) resumes the
      // session and keeps the flows' server-side ports.
      auto dir = service_state_dir(name, options.run_as);
      if (!dir.ok()) return dir.status();
      command.insert(command.end(), {"--state-dir", dir.value()});
    }
    std::string tun_name = plan.tun;
    if (tun_name.empty() && plan.builtin == "tun2socks" && plan.trusted)
      tun_name = tun_in_config_file(plan.argv);
    if (!tun_name.empty()) {
      command.insert(command.end(), {"--tun-fd", "4"});
      // tun2socks runs without privileges: the controller opens the device for it, at every
      // (re)start. Only our routed TUN, or a new device that lives as long as tun2socks.
      std::string tun = tun_name;
      options.prepare_fds = [this, tun](std::vector<std::pair<int, int>>& fds) {
        bool ours = routing_state_ && routing_state_->tun_name == tun;
        if (!ours && routing_->device_exists(tun))
          return Status::failure("the device " + tun + " exists and is not the controller's TUN");
        auto fd = routing_->open_tun(tun);
        if (!fd.ok()) return fd.status();
        fds.push_back({4, fd.value()});
        return Status::success();
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
  Status saved = services_journal_.save(wanted);
  if (!saved.ok()) LOG_WARN(log_, "service", "%s", saved.message().c_str());
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
    runtime::FileLimits limits;
    limits.owner_only_writable = true;
    auto text = runtime::read_small_file(flags[i + 1], limits);
    if (!text.ok()) return "";
    Json config(cJSON_Parse(text->c_str()));
    const cJSON* tun = cJSON_GetObjectItemCaseSensitive(config.p, "tun");
    return cJSON_IsString(tun) ? tun->valuestring : "";
  }
  return "";
}

void Controller::autostart_declared() {
  for (const auto& [name, plan] : catalog_.declared()) {
    if (!plan.autostart || supervisor_.exists(name)) continue;
    Status launched = launch(name, plan);
    if (!launched.ok())
      LOG_WARN(log_, "service", "%s: cannot start: %s", name.c_str(), launched.message().c_str());
  }
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

// Each action's handler: success, or why it failed; `result` (taken) is the reply's data.
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
  Status done = (this->*handler->second)(from, params, result);
  if (!done.ok()) {
    cJSON_Delete(result);
    return reply(name, 1, done.message(), id, nullptr);
  }
  return reply(name, 0, "", id, result);
}

namespace {

// A required, non-empty string parameter into `out`.
Status string_param(const cJSON* params, const char* key, std::string& out) {
  const cJSON* v = params ? cJSON_GetObjectItemCaseSensitive(params, key) : nullptr;
  if (!cJSON_IsString(v) || !*v->valuestring)
    return Status::failure(std::string("parameter \"") + key + "\" (a string) is required");
  out = v->valuestring;
  return Status::success();
}

}  // namespace

Status Controller::action_status(ControlConnection&, const cJSON*, cJSON*& result) {
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
  return Status::success();
}

Status Controller::action_stats(ControlConnection&, const cJSON* params, cJSON*& result) {
  // Each service's latest counters: what our daemons report on their stats channel.
  std::string only;
  if (params && cJSON_GetObjectItemCaseSensitive(params, "name")) {
    Status named = string_param(params, "name", only);
    if (!named.ok()) return named;
    if (!supervisor_.exists(only)) return Status::failure("no such service: " + only);
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
  return Status::success();
}

Status Controller::action_start(ControlConnection& from, const cJSON* params, cJSON*&) {
  return start_service(from, params);
}

Status Controller::action_stop(ControlConnection&, const cJSON* params, cJSON*&) {
  return by_name(params, [this](const std::string& n) { return supervisor_.stop(n); });
}

Status Controller::action_restart(ControlConnection&, const cJSON* params, cJSON*&) {
  return by_name(params, [this](const std::string& n) { return supervisor_.restart(n); });
}

Status Controller::by_name(const cJSON* params,
                           const std::function<Status(const std::string&)>& act) {
  std::string name;
  Status done = string_param(params, "name", name);
  if (done.ok()) done = act(name);
  if (done.ok()) save_services();
  return done;
}

Status Controller::action_subscribe(ControlConnection& from, const cJSON*, cJSON*&) {
  from.set_subscribed();
  return Status::success();
}

Status Controller::action_configure_routing(ControlConnection& from, const cJSON* params, cJSON*&) {
  return configure_routing(from, params);
}

Status Controller::action_reset_routing(ControlConnection&, const cJSON*, cJSON*&) {
  return reset_routing();
}

}  // namespace udptun::controller
