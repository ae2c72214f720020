// One child process of the controller: fork + exec with everything a root daemon owes the
// programs it runs, which uv_spawn cannot do: the child dies with the controller
// (PR_SET_PDEATHSIG), leads its own process group (so a stop reaches the plugins it started),
// runs as an unprivileged user with no supplementary groups, and gets exactly the descriptors
// it is given. Its exit is watched through a pidfd on the controller's loop.
#pragma once

#include <sys/types.h>
#include <uv.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "udptun/protocol/status.hpp"
#include "udptun/runtime/uv_handle.hpp"

namespace udptun::controller {

struct Credentials {
  uid_t uid = 0;
  gid_t gid = 0;
  std::string user;  // for messages
};

struct ChildSpec {
  std::vector<std::string> argv;  // argv[0] is an absolute path, exec'd (never a shell)
  // Descriptors of ours the child gets as (its number, our descriptor); stdout and stderr are
  // inherited; stdin is `stdin_fd` or /dev/null.
  std::vector<std::pair<int, int>> fds;
  int stdin_fd = -1;
  std::optional<Credentials> run_as;  // nullopt: as ourselves (only when we are not root)
};

class ChildProcess {
 public:
  // (exit status, or -1; the terminating signal, or 0).
  using ExitCallback = std::function<void(int status, int signal)>;

  ChildProcess() = default;
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // A failure has a negative errno and says what failed (exec's own error included: the
  // child reports it through a close-on-exec pipe before it exits).
  Status spawn(uv_loop_t* loop, const ChildSpec& spec, ExitCallback on_exit);
  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0; }
  // To its whole process group.
  void signal(int sig) const;

 private:
  static void on_pidfd(uv_poll_t* p, int status, int events);
  void reap();
  void reap_failed(bool wait);

  pid_t pid_ = 0;
  int pidfd_ = -1;
  runtime::UvHandle<uv_poll_t> watch_;
  ExitCallback on_exit_;
  std::vector<pid_t> failed_;  // children whose exec failed, not reaped yet
};

// The user and group that services run as: `name` if it exists, else "nobody" when `name` is
// the default. A failure when neither exists (or it is root).
Result<Credentials> lookup_service_user(const std::string& name, bool is_default);

}  // namespace udptun::controller
