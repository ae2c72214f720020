#include "child_process.hpp"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

extern char** environ;

namespace udptun::controller {

namespace {

// Only async-signal-safe calls between fork and exec: everything is prepared before.
[[noreturn]] __attribute__((noinline)) void child_main(const ChildSpec& spec, char* const* argv,
                                                       pid_t parent, int devnull, int report) {
  auto fail = [&](int step) {
    int e[2] = {step, errno};
    (void)!write(report, e, sizeof e);
    _exit(127);
  };
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(127);  // the controller died before the line above
  setpgid(0, 0);
  report = fcntl(report, F_DUPFD_CLOEXEC, 64);  // clear of every target number
  if (report < 0) _exit(127);
  // Sources first out of the way of every target number, then onto their targets (dup2
  // clears close-on-exec on the copy).
  int moved[16];
  size_t n = spec.fds.size() < 16 ? spec.fds.size() : 16;
  for (size_t i = 0; i < n; ++i) {
    moved[i] = fcntl(spec.fds[i].second, F_DUPFD_CLOEXEC, 64);
    if (moved[i] < 0) fail(1);
  }
  int in = spec.stdin_fd >= 0 ? spec.stdin_fd : devnull;
  if (dup2(in, 0) < 0) fail(1);
  for (size_t i = 0; i < n; ++i) {
    if (dup2(moved[i], spec.fds[i].first) < 0) fail(1);
  }
  // Nothing else of ours crosses exec, even a descriptor someone forgot to mark.
  int highest = 2;
  for (size_t i = 0; i < n; ++i)
    highest = spec.fds[i].first > highest ? spec.fds[i].first : highest;
  if (syscall(SYS_close_range, highest + 1, report - 1, 0) != 0 ||
      syscall(SYS_close_range, report + 1, ~0U, 0) != 0) {
    for (int fd = highest + 1; fd < 4096; ++fd) {
      if (fd != report) close(fd);
    }
  }
  // The daemon blocks its stop signals for sigwait; libuv may ignore SIGPIPE: a fresh start.
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP) sigaction(sig, &dfl, nullptr);
  }
  if (spec.run_as) {
    // Raw system calls: glibc's wrappers apply credentials to every thread of the process,
    // which in a vfork child would reach the controller's own threads.
    gid_t g = spec.run_as->gid;
    uid_t u = spec.run_as->uid;
    if (syscall(SYS_setgroups, 0, nullptr) != 0) fail(2);
    if (syscall(SYS_setresgid, g, g, g) != 0) fail(2);
    if (syscall(SYS_setresuid, u, u, u) != 0) fail(2);
    // A change of credentials clears the parent-death signal: set it again.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
  }
  execve(argv[0], argv, environ);
  fail(3);
  _exit(127);
}

}  // namespace

void ChildProcess::reap_failed(bool wait) {
  std::vector<pid_t> left;
  for (pid_t p : failed_) {
    if (waitpid(p, nullptr, wait ? 0 : WNOHANG) == 0) left.push_back(p);
  }
  failed_.swap(left);
}

ChildProcess::~ChildProcess() {
  reap_failed(true);
  if (pid_ > 0) {
    signal(SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  watch_.close();
  if (pidfd_ >= 0) close(pidfd_);
}

Status ChildProcess::spawn(uv_loop_t* loop, const ChildSpec& spec, ExitCallback on_exit) {
  if (pid_ > 0) {
    return Status::failure("already running", -EBUSY);
  }
  reap_failed(false);
  if (spec.argv.empty() || spec.argv[0].empty() || spec.argv[0][0] != '/') {
    return Status::failure("the command must be an absolute path", -EINVAL);
  }
  if (spec.fds.size() > 16) {
    return Status::failure("too many descriptors for a child", -EINVAL);
  }
  std::vector<char*> argv;
  for (const auto& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
  int report[2];
  if (devnull < 0 || pipe2(report, O_CLOEXEC) != 0) {
    int e = errno;
    if (devnull >= 0) close(devnull);
    return Status::failure(std::string("cannot prepare the child: ") + std::strerror(e), -e);
  }
  pid_t parent = getpid();
  // vfork: no copy of our address space to make (a fork costs milliseconds, and a client may
  // ask for many starts); we are suspended until the child has exec'd or exited. The child
  // only reads what is prepared above and writes its own frame (child_main, never inlined).
  pid_t pid = vfork();
  if (pid == 0) child_main(spec, argv.data(), parent, devnull, report[1]);
  int fork_errno = errno;
  close(devnull);
  close(report[1]);
  if (pid < 0) {
    close(report[0]);
    return Status::failure(std::string("vfork failed: ") + std::strerror(fork_errno), -fork_errno);
  }
  setpgid(pid, pid);  // also from here: a signal to the group may come before the child ran
  // The report pipe closes at exec (success) or carries (step, errno) from a failed child.
  int e[2] = {0, 0};
  ssize_t got;
  do {
    got = read(report[0], e, sizeof e);
  } while (got < 0 && errno == EINTR);
  close(report[0]);
  if (got == static_cast<ssize_t>(sizeof e)) {
    // It is exiting: reaped later rather than waited for here (an exit takes a millisecond,
    // and a client may ask for a thousand failing starts).
    failed_.push_back(pid);
    static const char* const kStep[] = {"", "cannot pass descriptors", "cannot drop privileges",
                                        "cannot execute"};
    return Status::failure(std::string(kStep[e[0] >= 1 && e[0] <= 3 ? e[0] : 0]) + " " +
                               spec.argv[0] + ": " + std::strerror(e[1]),
                           -e[1]);
  }
  pid_ = pid;
  on_exit_ = std::move(on_exit);
  pidfd_ = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  int rc = pidfd_ < 0
               ? -errno
               : watch_.init(this, [&](uv_poll_t* p) { return uv_poll_init(loop, p, pidfd_); });
  if (rc == 0) rc = uv_poll_start(watch_.get(), UV_READABLE, on_pidfd);
  if (rc != 0) {
    // Without a way to learn of its exit the child cannot be supervised: not started.
    signal(SIGKILL);
    waitpid(pid, nullptr, 0);
    pid_ = 0;
    watch_.close();
    if (pidfd_ >= 0) close(pidfd_);
    pidfd_ = -1;
    return Status::failure(std::string("cannot watch the child: ") + std::strerror(-rc), rc);
  }
  return Status::success();
}

void ChildProcess::signal(int sig) const {
  if (pid_ <= 0) return;
  if (kill(-pid_, sig) != 0) kill(pid_, sig);
}

void ChildProcess::on_pidfd(uv_poll_t* p, int, int) {
  auto* self = static_cast<ChildProcess*>(p->data);
  if (self) self->reap();
}

void ChildProcess::reap() {
  int status = 0;
  pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == 0) return;
  pid_t was = pid_;
  pid_ = 0;
  watch_.close();
  close(pidfd_);
  pidfd_ = -1;
  // Whatever it started (a shadowsocks plugin, say) goes with it.
  kill(-was, SIGKILL);
  auto done = std::move(on_exit_);
  on_exit_ = nullptr;
  if (!done) return;
  if (r < 0) {
    done(-1, 0);
  } else if (WIFSIGNALED(status)) {
    done(-1, WTERMSIG(status));
  } else {
    done(WEXITSTATUS(status), 0);
  }
}

Result<Credentials> lookup_service_user(const std::string& name, bool is_default) {
  for (const std::string& candidate : {name, std::string("nobody")}) {
    if (candidate != name && !is_default) break;
    passwd pw{};
    passwd* found = nullptr;
    std::vector<char> buf(16384);
    if (getpwnam_r(candidate.c_str(), &pw, buf.data(), buf.size(), &found) == 0 && found) {
      if (found->pw_uid == 0) {
        return Status::failure("services never run as root: \"" + candidate + "\" has uid 0");
      }
      Credentials c;
      c.uid = found->pw_uid;
      c.gid = found->pw_gid;
      c.user = candidate;
      return c;
    }
  }
  return Status::failure("no such user: " + name);
}

}  // namespace udptun::controller
