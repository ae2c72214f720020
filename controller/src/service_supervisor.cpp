#include "service_supervisor.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include "in_process_instance.hpp"

namespace udptun::controller {

struct ServiceSupervisor::Service {
  ServiceSupervisor* owner = nullptr;
  std::string name;
  std::vector<std::string> argv;
  ServiceState state = ServiceState::stopped;
  ChildProcess child;
  runtime::UvHandle<uv_timer_t> timer;  // restart backoff, or the SIGKILL grace period
  uint64_t started_ms = 0;
  uint64_t changed_ms = 0;  // when it last started or stopped (the oldest is forgotten first)
  uint64_t restarts = 0;
  uint64_t quick_deaths = 0;
  bool wanted = false;  // should be running
  std::string last_exit;
  runtime::ExponentialBackoff backoff{200, 10'000};
  ServiceOptions options;
  std::unique_ptr<InProcessInstance> in_process;  // "mode":"inproc"
  runtime::UvHandle<uv_pipe_t> reports;           // the stats channel, when options.stats_channel
  std::string report_line;
  std::string stats;
  char read_buffer[4096];
};

const char* service_state_name(ServiceState s) {
  switch (s) {
    case ServiceState::stopped:
      return "stopped";
    case ServiceState::running:
      return "running";
    case ServiceState::restarting:
      return "restarting";
    case ServiceState::failed:
      return "failed";
  }
  return "?";
}

namespace {
constexpr size_t kMaxReportLine = 16 * 1024;  // a longer line is garbage: dropped
}

ServiceSupervisor::ServiceSupervisor(runtime::EventLoop& loop, EventSink sink,
                                     uint64_t max_quick_restarts, size_t max_services)
    : loop_(loop),
      sink_(std::move(sink)),
      max_quick_restarts_(max_quick_restarts),
      max_services_(max_services) {}

ServiceSupervisor::~ServiceSupervisor() {
  // Children are killed (and reaped) by their ChildProcess.
}

bool ServiceSupervisor::alive(const Service& s) {
  return s.child.running() || (s.in_process && s.in_process->running());
}

Status ServiceSupervisor::start(const std::string& name, const std::vector<std::string>& argv,
                                ServiceOptions options) {
  if (argv.empty() && options.in_process_kind.empty())
    return Status::failure("a service needs a command (argv)");
  auto existing = services_.find(name);
  if (existing != services_.end() && alive(*existing->second))
    return Status::failure("already running (stop or restart it)");
  std::unique_ptr<InProcessInstance> in_process;
  if (!options.in_process_kind.empty()) {
    auto made = InProcessInstance::make(options.in_process_kind, loop_);
    if (!made.ok()) return made.status();
    in_process = std::move(made).value();
  }
  if (existing == services_.end() && !make_room())
    return Status::failure("too many services (" + std::to_string(max_services_) + " running)");
  auto& slot = services_[name];
  if (!slot) {
    slot = std::make_unique<Service>();
    slot->owner = this;
    slot->name = name;
    slot->timer.init(slot.get(), [&](uv_timer_t* t) { return uv_timer_init(loop_.get(), t); });
  }
  Service& s = *slot;
  s.argv = argv;
  s.options = options;
  s.in_process = std::move(in_process);
  s.wanted = true;
  s.quick_deaths = 0;
  s.backoff.reset();
  uv_timer_stop(s.timer.get());
  spawn(s);
  return alive(s) ? Status::success() : Status::failure("cannot start: " + s.last_exit);
}

void ServiceSupervisor::spawn(Service& s) {
  if (s.in_process) {
    start_in_process(s);
    return;
  }
  ChildSpec spec;
  spec.argv = s.argv;
  spec.run_as = s.options.run_as;
  std::vector<int> ours;  // closed once the child has its copies
  Status spawned = prepare_descriptors(s, spec, ours);
  if (spawned.ok()) {
    spawned = s.child.spawn(loop_.get(), spec, [svc = &s](int status, int signal) {
      svc->owner->on_exit(
          *svc, signal ? "signal " + std::to_string(signal) : "exit " + std::to_string(status));
    });
  }
  for (int fd : ours) close(fd);
  if (!spawned.ok()) {
    s.reports.close();
    spawn_failed(s, spawned.message());
    return;
  }
  if (s.reports) {
    uv_read_start(
        s.reports.stream(),
        [](uv_handle_t* h, size_t, uv_buf_t* b) {
          auto* svc = static_cast<Service*>(h->data);
          *b = uv_buf_init(svc->read_buffer, sizeof svc->read_buffer);
        },
        on_report);
  }
  s.started_ms = s.changed_ms = loop_.now_ms();
  s.state = ServiceState::running;
  sink_("up", s.name, "pid " + std::to_string(s.child.pid()));
}

void ServiceSupervisor::start_in_process(Service& s) {
  Status started = s.in_process->start(s.options.in_process_config,
                                       [this, &s](const std::string& r) { on_exit(s, r); });
  if (!started.ok()) {
    spawn_failed(s, started.message());
    return;
  }
  s.started_ms = loop_.now_ms();
  s.state = ServiceState::running;
  sink_("up", s.name, "in-process");
}

Status ServiceSupervisor::prepare_descriptors(Service& s, ChildSpec& spec, std::vector<int>& ours) {
  s.reports.close();
  s.report_line.clear();
  s.stats.clear();
  if (s.options.stats_channel) {
    int p[2];
    if (pipe2(p, O_CLOEXEC) == 0) {
      if (s.reports.init(&s, [&](uv_pipe_t* h) { return uv_pipe_init(loop_.get(), h, 0); }) == 0 &&
          uv_pipe_open(s.reports.get(), p[0]) == 0) {
        spec.fds.push_back({3, p[1]});
      } else {
        s.reports.close();
        close(p[0]);
      }
      ours.push_back(p[1]);
    }
  }
  if (s.options.prepare_fds) {
    std::vector<std::pair<int, int>> extra;
    Status prepared = s.options.prepare_fds(extra);
    for (auto& [target, fd] : extra) {
      spec.fds.push_back({target, fd});
      ours.push_back(fd);
    }
    if (!prepared.ok()) return prepared;
  }
  if (!s.options.stdin_text.empty()) {
    // A memfd, not a pipe: any size, and nothing for us to feed later.
    int fd = memfd_create("udptun-service-config", MFD_CLOEXEC);
    if (fd >= 0) ours.push_back(fd);
    const std::string& text = s.options.stdin_text;
    if (fd < 0 || write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size()) ||
        lseek(fd, 0, SEEK_SET) != 0)
      return Status::failure("cannot hand the configuration over");
    spec.stdin_fd = fd;
  }
  return Status::success();
}

void ServiceSupervisor::spawn_failed(Service& s, const std::string& why) {
  s.last_exit = why;
  s.changed_ms = loop_.now_ms();
  s.state = ServiceState::failed;
  s.wanted = false;
  sink_("failed", s.name, s.last_exit);
}

void ServiceSupervisor::on_report(uv_stream_t* stream, ssize_t n, const uv_buf_t* buf) {
  auto* s = static_cast<Service*>(stream->data);
  if (!s) return;
  if (n < 0) {
    s->reports.close();
    return;
  }
  s->report_line.append(buf->base, static_cast<size_t>(n));
  size_t nl;
  while ((nl = s->report_line.find('\n')) != std::string::npos) {
    std::string line = s->report_line.substr(0, nl);
    s->report_line.erase(0, nl + 1);
    // {"stats":{...}}: keep the inner object's text; anything else is ignored.
    static const std::string kHead = "{\"stats\":";
    if (line.size() > kHead.size() + 1 && line.compare(0, kHead.size(), kHead) == 0 &&
        line.back() == '}') {
      s->stats = line.substr(kHead.size(), line.size() - kHead.size() - 1);
    }
  }
  if (s->report_line.size() > kMaxReportLine) s->report_line.clear();
}

void ServiceSupervisor::on_exit(Service& s, const std::string& reason) {
  s.last_exit = reason;
  s.changed_ms = loop_.now_ms();
  uv_timer_stop(s.timer.get());
  if (!s.wanted) {
    s.state = ServiceState::stopped;
    sink_("down", s.name, s.last_exit);
    check_all_stopped();
    return;
  }
  sink_("down", s.name, s.last_exit);
  bool quick = loop_.now_ms() - s.started_ms < kStableAfterMs;
  s.quick_deaths = quick ? s.quick_deaths + 1 : 0;
  if (!quick) s.backoff.reset();
  if (s.quick_deaths > max_quick_restarts_) {
    s.state = ServiceState::failed;
    s.wanted = false;
    sink_("failed", s.name,
          "crash loop: " + std::to_string(s.quick_deaths) + " quick exits, last " + s.last_exit);
    return;
  }
  schedule_restart(s);
}

void ServiceSupervisor::schedule_restart(Service& s) {
  s.state = ServiceState::restarting;
  uint64_t delay = s.backoff.next_delay_ms();
  sink_("restarting", s.name, "in " + std::to_string(delay) + " ms");
  uv_timer_start(
      s.timer.get(),
      [](uv_timer_t* t) {
        auto* svc = static_cast<Service*>(t->data);
        if (svc && svc->wanted && !alive(*svc)) {
          svc->restarts++;
          svc->owner->spawn(*svc);
        }
      },
      delay, 0);
}

Status ServiceSupervisor::start_again(const std::string& name) {
  auto it = services_.find(name);
  if (it == services_.end()) return Status::failure("no such service");
  if (alive(*it->second)) return Status::failure("already running (stop or restart it)");
  std::vector<std::string> argv = it->second->argv;
  ServiceOptions options = it->second->options;
  return start(name, argv, options);
}

bool ServiceSupervisor::make_room() {
  if (services_.size() < max_services_) return true;
  auto oldest = services_.end();
  for (auto it = services_.begin(); it != services_.end(); ++it) {
    const Service& s = *it->second;
    if (alive(s) || s.wanted || all_stopped_) continue;  // running, or about to be restarted
    if (oldest == services_.end() || s.changed_ms < oldest->second->changed_ms) oldest = it;
  }
  if (oldest == services_.end()) return false;
  services_.erase(oldest);
  return true;
}

Status ServiceSupervisor::stop(const std::string& name) {
  auto it = services_.find(name);
  if (it == services_.end()) return Status::failure("no such service");
  Service& s = *it->second;
  s.wanted = false;
  uv_timer_stop(s.timer.get());
  if (s.in_process && s.in_process->running()) {
    s.in_process->stop();  // synchronous: the instance's thread is joined
    on_exit(s, "stopped");
  } else if (s.child.running()) {
    s.child.signal(SIGTERM);
    // Not gone after 5 s: SIGKILL.
    uv_timer_start(
        s.timer.get(),
        [](uv_timer_t* t) {
          auto* svc = static_cast<Service*>(t->data);
          if (svc) svc->child.signal(SIGKILL);
        },
        5'000, 0);
  } else {
    s.state = ServiceState::stopped;
  }
  return Status::success();
}

Status ServiceSupervisor::restart(const std::string& name) {
  auto it = services_.find(name);
  if (it == services_.end()) return Status::failure("no such service");
  Service& s = *it->second;
  if (s.in_process && s.in_process->running()) {
    s.in_process->stop();
    s.restarts++;
    s.wanted = true;
    sink_("down", s.name, "restart");
    spawn(s);
    return alive(s) ? Status::success() : Status::failure("cannot start: " + s.last_exit);
  }
  if (s.child.running()) {
    // Killing it makes the exit path restart it (it stays wanted), with no crash counted.
    s.wanted = true;
    s.quick_deaths = 0;
    s.started_ms = 0;
    s.child.signal(SIGTERM);
    return Status::success();
  }
  return start(name, s.argv, s.options);
}

std::vector<ServiceStatus> ServiceSupervisor::status() const {
  std::vector<ServiceStatus> out;
  for (const auto& [name, s] : services_) {
    ServiceStatus st;
    st.name = name;
    st.state = s->state;
    st.pid = s->child.pid();
    st.uptime_ms = alive(*s) ? loop_.now_ms() - s->started_ms : 0;
    st.mode = s->in_process ? "inproc" : "process";
    st.restarts = s->restarts;
    st.last_exit = s->last_exit;
    st.argv = s->argv;
    if (s->in_process)
      st.stats = s->in_process->stats_json();
    else if (s->child.running())
      st.stats = s->stats;
    out.push_back(st);
  }
  return out;
}

void ServiceSupervisor::stop_all(std::function<void()> done) {
  all_stopped_ = std::move(done);
  for (auto& [name, s] : services_) (void)stop(name);  // a known name: it cannot fail
  check_all_stopped();
}

void ServiceSupervisor::check_all_stopped() {
  if (!all_stopped_) return;
  for (auto& [name, s] : services_) {
    if (alive(*s)) return;
  }
  for (auto& [name, s] : services_) {
    s->timer.close();
    s->reports.close();
    s->in_process.reset();
  }
  auto done = std::move(all_stopped_);
  all_stopped_ = nullptr;
  done();
}

}  // namespace udptun::controller
