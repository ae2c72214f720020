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
#include "controller_json.hpp"

namespace udptun::controller {

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
  Status usable = prepare_state_dir();
  if (usable.ok()) {
    Json services(
        cJSON_Parse(config_.services_json.empty() ? "{}" : config_.services_json.c_str()));
    usable = catalog_.load(services.p);
  }
  if (usable.ok() && geteuid() == 0) {
    auto user = lookup_service_user(config_.service_user, config_.service_user_is_default);
    usable = user.status();
    if (user.ok()) {
      service_credentials_ = user.value();
      if (service_credentials_->user != config_.service_user)
        LOG_WARN(log_, "", "no user \"%s\": services run as \"%s\"", config_.service_user.c_str(),
                 service_credentials_->user.c_str());
    }
  }
  if (!usable.ok()) {
    fail_to_start(usable);
    loop_.run([this] { shutdown(); });
    return -1;
  }
  std::vector<JournaledService> recovered = take_over_journal();
  // A journal left behind means a controller died with routes applied: undo them first.
  if (auto left = journal_.load()) {
    LOG_WARN(log_, "routing", "found %s from a previous run: undoing its routing changes",
             journal_.path().c_str());
    Status undone = routing_->reset(*left);
    if (!undone.ok())
      LOG_WARN(log_, "routing", "not all of it could be undone: %s", undone.message().c_str());
    journal_.remove();
  }
  Status serving = listen();
  if (serving.ok()) serving = open_metrics();
  int rc = 0;
  if (!serving.ok()) {
    fail_to_start(serving);
    rc = -1;
  }
  if (rc == 0) {
    for (const auto& s : recovered) {
      Status launched = launch(s.name, s.plan);
      if (!launched.ok())
        LOG_WARN(log_, "service", "%s: cannot start again: %s", s.name.c_str(),
                 launched.message().c_str());
    }
    autostart_declared();
    save_services();
  }
  loop_.run([this] { shutdown(); });
  return rc;
}

void Controller::fail_to_start(const Status& why) {
  LOG_ERROR(log_, "", "%s", why.message().c_str());
  loop_.request_stop();
  if (config_.on_fatal) config_.on_fatal(why.message());
}

Status Controller::open_metrics() {
  if (!config_.metrics) return Status::success();
  runtime::MetricsEndpoint::Limits limits;
  limits.allowed = config_.metrics_allow;
  auto metrics = runtime::MetricsEndpoint::open(
      loop_, log_, *config_.metrics, [this] { return render_metrics(); }, std::move(limits));
  if (!metrics.ok()) return metrics.status();
  metrics_ = std::move(metrics).value();
  return Status::success();
}

Status Controller::prepare_state_dir() {
  // The state directory holds the routing journal, which a restarted controller acts on as
  // root: only root may be able to write there.
  const std::string& dir = config_.state_dir;
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return Status::failure("cannot create the state directory " + dir + ": " +
                           std::strerror(errno));
  }
  struct stat st {};
  if (lstat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return Status::failure("the state directory " + dir + " is not a directory");
  }
  if (st.st_uid != geteuid() || (st.st_mode & (S_IWGRP | S_IWOTH))) {
    return Status::failure("the state directory " + dir +
                           " must belong to the controller's user and be writable by it alone");
  }
  return Status::success();
}

Result<std::string> Controller::service_state_dir(const std::string& name,
                                                  const std::optional<Credentials>& run_as) {
  // The service user must reach its own directory without seeing the rest: the state
  // directory and services/ are traversable (x) but not listable or writable by others.
  const std::string base = config_.state_dir + "/services";
  if (mkdir(base.c_str(), 0711) != 0 && errno != EEXIST) {
    return Status::failure("cannot create " + base + ": " + std::strerror(errno));
  }
  struct stat st {};
  if (lstat(base.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid() ||
      (st.st_mode & (S_IWGRP | S_IWOTH))) {
    return Status::failure(base +
                           " must be a directory of the controller's user, writable by it alone");
  }
  if (run_as) {
    struct stat top {};
    if (stat(config_.state_dir.c_str(), &top) != 0 ||
        chmod(config_.state_dir.c_str(), (top.st_mode & 07755) | 0011) != 0 ||
        chmod(base.c_str(), 0711) != 0) {
      return Status::failure("cannot make " + base + " traversable: " + std::strerror(errno));
    }
  }
  const std::string dir = base + "/" + name;
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return Status::failure("cannot create " + dir + ": " + std::strerror(errno));
  }
  if (lstat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return Status::failure(dir + " is not a directory");
  }
  uid_t uid = run_as ? run_as->uid : geteuid();
  gid_t gid = run_as ? run_as->gid : getegid();
  if ((st.st_uid != uid || st.st_gid != gid) && lchown(dir.c_str(), uid, gid) != 0) {
    return Status::failure("cannot give " + dir + " to its service: " + std::strerror(errno));
  }
  if (chmod(dir.c_str(), 0700) != 0) {
    return Status::failure("cannot restrict " + dir + ": " + std::strerror(errno));
  }
  return dir;
}

Status Controller::listen() {
  if (!config_.socket_group.empty()) {
    group* g = getgrnam(config_.socket_group.c_str());
    if (!g) {
      return Status::failure("no such group: " + config_.socket_group);
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
    return Status::failure("cannot listen on " + config_.socket_path + ": " + uv_strerror(rc));
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
  return Status::success();
}

std::optional<PeerRole> Controller::peer_role(uid_t uid, const std::vector<gid_t>& groups) const {
  if (uid == 0 || uid == geteuid()) return PeerRole::admin;
  if (socket_gid_ != static_cast<gid_t>(-1) &&
      std::find(groups.begin(), groups.end(), socket_gid_) != groups.end())
    return PeerRole::member;
  return std::nullopt;
}

void Controller::connection_closed(ControlConnection& c) {
  auto it = std::find_if(connections_.begin(), connections_.end(),
                         [&](const auto& p) { return p.get() == &c; });
  if (it == connections_.end()) return;
  closed_.push_back(std::move(*it));  // freed at the end of the iteration: we may be inside it
  connections_.erase(it);
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
  if (routing_state_) {
    Status undone = reset_routing();
    if (!undone.ok())
      LOG_WARN(log_, "routing", "not all routing was restored: %s", undone.message().c_str());
  }
  listener_.close();
  metrics_.reset();
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
