// udptunctl top: the controller's status redrawn every second until `q` (or Ctrl-C). The
// terminal is put in non-canonical mode for single keys and restored on every way out.
#include "udptunctl_top.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "top_view.hpp"

namespace udptun::ctl {

namespace {

volatile sig_atomic_t g_interrupted = 0;

// Single keys without Enter, no echo; restored by the destructor (also after Ctrl-C).
class RawTerminal {
 public:
  RawTerminal() {
    if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved_) != 0) return;
    termios raw = saved_;
    raw.c_lflag &= static_cast<tcflag_t>(~(ICANON | ECHO));
    raw.c_cc[VMIN] = 0;
    raw.c_cc[VTIME] = 0;
    active_ = tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
  }
  ~RawTerminal() {
    if (active_) tcsetattr(STDIN_FILENO, TCSANOW, &saved_);
  }
  RawTerminal(const RawTerminal&) = delete;
  RawTerminal& operator=(const RawTerminal&) = delete;

 private:
  termios saved_{};
  bool active_ = false;
};

double monotonic_s() {
  timespec t{};
  clock_gettime(CLOCK_MONOTONIC, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9;
}

std::string wall_clock() {
  time_t now = time(nullptr);
  tm local{};
  localtime_r(&now, &local);
  char b[16];
  strftime(b, sizeof b, "%H:%M:%S", &local);
  return b;
}

// One request, one reply line over a fresh connection; "" when the controller is away.
std::string ask(const std::string& socket_path, const std::string& request) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return "";
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strncpy(a.sun_path, socket_path.c_str(), sizeof a.sun_path - 1);
  std::string reply;
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size())) {
    char buf[8192];
    for (;;) {
      pollfd p{fd, POLLIN, 0};
      if (poll(&p, 1, 2000) <= 0) break;  // a stuck controller must not freeze the screen
      ssize_t n = read(fd, buf, sizeof buf);
      if (n <= 0) break;
      reply.append(buf, static_cast<size_t>(n));
      if (reply.find('\n') != std::string::npos) break;
    }
  }
  close(fd);
  return reply.substr(0, reply.find('\n'));
}

// Waits up to `ms` for a key; true when it asks to quit.
bool quit_key_within(int ms) {
  pollfd p{STDIN_FILENO, POLLIN, 0};
  if (poll(&p, 1, ms) <= 0) return false;
  char c = 0;
  ssize_t n = read(STDIN_FILENO, &c, 1);
  if (n == 0) {  // stdin closed (not a terminal): keep refreshing until interrupted
    usleep(static_cast<useconds_t>(ms) * 1000);
    return false;
  }
  return n == 1 && (c == 'q' || c == 'Q');
}

}  // namespace

int run_top(const std::string& socket_path, int refresh_ms) {
  struct sigaction sa {};
  sa.sa_handler = [](int) { g_interrupted = 1; };
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  RawTerminal terminal;
  TopView view;
  std::fputs("\x1b[?1049h\x1b[?25l", stdout);  // the alternate screen, no cursor
  while (!g_interrupted) {
    std::string line = ask(socket_path, "{\"action\":\"status\",\"parameters\":{}}");
    std::string frame = "\x1b[H\x1b[2J";
    cJSON* reply = line.empty() ? nullptr : cJSON_Parse(line.c_str());
    if (!reply) {
      frame += "udptun top  " + wall_clock() + "  cannot reach the controller at " + socket_path +
               "  (q quits)\n";
    } else {
      view.update(reply, monotonic_s());
      for (const std::string& l : view.screen(wall_clock())) frame += l + "\n";
      cJSON_Delete(reply);
    }
    std::fputs(frame.c_str(), stdout);
    std::fflush(stdout);
    if (quit_key_within(refresh_ms)) break;
  }
  std::fputs("\x1b[?25h\x1b[?1049l", stdout);
  std::fflush(stdout);
  return 0;
}

}  // namespace udptun::ctl
