#include "harness.hpp"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iterator>
#include <map>
#include <random>
#include <set>
#include <sstream>

extern char** environ;

namespace harness {

// A setting the run gives in the environment (scripts/test), or the built-in one.
static std::string from_environment(const char* name, const char* otherwise) {
  const char* v = std::getenv(name);
  return v && *v ? v : otherwise;
}

TempDir::TempDir() {
  char tmpl[] = "/tmp/udptun-test-XXXXXX";
  char* p = mkdtemp(tmpl);
  path_ = p ? p : "/tmp";
  // Readable by others: run as root, proxy-controller starts its services as an unprivileged
  // user, and they read the keys and configurations the test writes here.
  if (p) chmod(p, 0755);
}

TempDir::~TempDir() {
  if (path_.rfind("/tmp/udptun-test-", 0) != 0) return;
  std::string cmd = "rm -rf '" + path_ + "'";
  if (std::system(cmd.c_str()) != 0) std::fprintf(stderr, "could not remove %s\n", path_.c_str());
}

std::string TempDir::write(const std::string& name, const std::string& content) const {
  std::string p = path_ + "/" + name;
  std::ofstream out(p, std::ios::binary);
  out << content;
  return p;
}

// Ports are drawn below the kernel's ephemeral range (32768+ by default), so no outgoing
// connection of a parallel test can take one between this check and its use; and both TCP
// and UDP must be free, so a daemon may use it for either.
// Whether a UDP socket can bind `port` on loopback now.
static bool udp_port_free(int family, uint16_t port) {
  int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_storage ss = loopback(family, port);
  socklen_t len = family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
  bool free = bind(fd, reinterpret_cast<sockaddr*>(&ss), len) == 0;
  close(fd);
  return free;
}

bool wait_udp_port_free(int family, uint16_t port, int timeout_ms) {
  return eventually([&] { return udp_port_free(family, port); }, timeout_ms);
}

uint16_t free_port(int family, int) {
  static std::mt19937 rng(static_cast<unsigned>(getpid()) * 7919u +
                          static_cast<unsigned>(time(nullptr)));
  for (int attempt = 0; attempt < 1000; ++attempt) {
    uint16_t port = static_cast<uint16_t>(20000 + rng() % 12000);
    bool free = true;
    for (int type : {SOCK_STREAM, SOCK_DGRAM}) {
      int fd = socket(family, type | SOCK_CLOEXEC, 0);
      sockaddr_storage ss = loopback(family, port);
      socklen_t len = family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
      free = free && bind(fd, reinterpret_cast<sockaddr*>(&ss), len) == 0;
      close(fd);
    }
    if (free) return port;
  }
  std::abort();
}

sockaddr_storage loopback(int family, uint16_t port) {
  sockaddr_storage ss{};
  if (family == AF_INET) {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  } else {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    a->sin6_addr = in6addr_loopback;
  }
  return ss;
}

std::string endpoint(int family, uint16_t port) {
  return (family == AF_INET ? "127.0.0.1:" : "[::1]:") + std::to_string(port);
}

static socklen_t sa_len(const sockaddr_storage& ss) {
  return ss.ss_family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
}

static uint16_t sa_port(const sockaddr_storage& ss) {
  return ss.ss_family == AF_INET ? ntohs(reinterpret_cast<const sockaddr_in*>(&ss)->sin_port)
                                 : ntohs(reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_port);
}

// ---- Process ----

Process::Process(std::string program, std::vector<std::string> args, std::string log_path)
    : program_(std::move(program)), args_(std::move(args)), log_path_(std::move(log_path)) {}

// Every process a test started and has not reaped: killed (with its process group) when the
// test program exits, even after a failed assertion skipped the destructors.
namespace {
std::mutex live_mutex;
// Never destroyed: the exit handler below runs after static destructors may have.
std::set<pid_t>& live_groups() {
  static auto* groups = new std::set<pid_t>;
  return *groups;
}
void kill_live_groups() {
  std::lock_guard<std::mutex> lock(live_mutex);
  for (pid_t g : live_groups()) {
    ::kill(-g, SIGKILL);
    ::kill(g, SIGKILL);
    waitpid(g, nullptr, 0);
  }
  live_groups().clear();
}
void track(pid_t pid, bool live) {
  static bool registered = (std::atexit(kill_live_groups), true);
  (void)registered;
  std::lock_guard<std::mutex> lock(live_mutex);
  if (live)
    live_groups().insert(pid);
  else
    live_groups().erase(pid);
}
}  // namespace

Process::~Process() {
  if (pid_ > 0) kill9();
  if (orphaned_group_ > 0) {
    ::kill(-orphaned_group_, SIGKILL);
    track(orphaned_group_, false);
  }
}

int Process::wait_exit(int ms) {
  if (pid_ <= 0) return -1;
  int status = 0;
  for (int waited = 0; waited < ms; waited += 10) {
    rusage usage{};
    if (wait4(pid_, &status, WNOHANG, &usage) == pid_) {
      peak_rss_kib_at_exit_ = usage.ru_maxrss;  // KiB on Linux
      orphaned_group_ = pid_;  // still tracked: the exit handler kills what is left of it
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    usleep(10'000);
  }
  return -1;
}

bool Process::start() {
  // A Windows program runs under the launcher the run names (Wine).
  static std::string launcher = from_environment("UDPTUN_TEST_LAUNCHER", "");
  std::vector<char*> argv;
  if (!launcher.empty() && program_.size() > 4 && program_.substr(program_.size() - 4) == ".exe")
    argv.push_back(launcher.data());
  argv.push_back(const_cast<char*>(program_.c_str()));
  for (auto& a : args_) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  int log = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
  int fd3 = fd3_path_.empty()
                ? -1
                : open(fd3_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log < 0 || null < 0 || (!fd3_path_.empty() && fd3 < 0)) {
    if (log >= 0) close(log);
    if (null >= 0) close(null);
    if (fd3 >= 0) close(fd3);
    return false;
  }
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid == 0) {
    // Dies with the test (even one killed by ctest's timeout), in a process group of its own
    // so whatever it started goes with it.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    setpgid(0, 0);
    dup2(null, 0);
    dup2(log, 1);
    dup2(log, 2);
    if (fd3 >= 0) dup2(fd3, 3);
    // The child must not inherit our blocked signals or ignored SIGPIPE.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    signal(SIGPIPE, SIG_DFL);
    execve(argv[0], argv.data(), environ);
    _exit(127);
  }
  close(log);
  close(null);
  if (fd3 >= 0) close(fd3);
  if (pid < 0) return false;
  setpgid(pid, pid);
  pid_ = pid;
  track(pid_, true);
  return true;
}

void Process::kill9() {
  if (pid_ <= 0) return;
  ::kill(-pid_, SIGKILL);
  ::kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  track(pid_, false);
  pid_ = -1;
}

int Process::terminate(int ms) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  int status = 0;
  for (int waited = 0; waited < ms; waited += 10) {
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      ::kill(-pid_, SIGKILL);  // anything it left in its group
      track(pid_, false);
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    usleep(10'000);
  }
  kill9();
  return -1;
}

bool Process::running() {
  if (pid_ <= 0) return false;
  int status;
  if (waitpid(pid_, &status, WNOHANG) == pid_) {
    ::kill(-pid_, SIGKILL);
    track(pid_, false);
    pid_ = -1;
    return false;
  }
  return true;
}

std::string Process::log() const {
  std::ifstream in(log_path_);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// ---- EchoServer ----

static int bound_udp(int family, uint16_t& port) {
  int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_storage ss = loopback(family, 0);
  int big = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
  bind(fd, reinterpret_cast<sockaddr*>(&ss), sa_len(ss));
  socklen_t len = sizeof ss;
  getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  port = sa_port(ss);
  return fd;
}

EchoServer::EchoServer(int family, bool also_reply_from_second_port) {
  fd_ = bound_udp(family, port_);
  if (also_reply_from_second_port) second_fd_ = bound_udp(family, second_port_);
  if (pipe2(wake_, O_CLOEXEC) != 0) std::abort();
  thread_ = std::thread([this] { serve(); });
}

EchoServer::~EchoServer() {
  (void)!write(wake_[1], "x", 1);
  thread_.join();
  close(fd_);
  if (second_fd_ >= 0) close(second_fd_);
  close(wake_[0]);
  close(wake_[1]);
}

std::vector<uint16_t> EchoServer::source_ports() const {
  std::lock_guard<std::mutex> lock(ports_mutex_);
  return ports_seen_;
}

void EchoServer::serve() {
  std::vector<char> buf(70'000);
  pollfd fds[2] = {{fd_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
  while (true) {
    if (poll(fds, 2, -1) < 0) continue;
    if (fds[1].revents) return;
    sockaddr_storage from;
    socklen_t len = sizeof from;
    ssize_t n = recvfrom(fd_, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &len);
    if (n < 0) continue;
    received_++;
    uint16_t p = sa_port(from);
    last_source_port_ = p;
    {
      std::lock_guard<std::mutex> lock(ports_mutex_);
      if (ports_seen_.empty() || ports_seen_.back() != p) ports_seen_.push_back(p);
    }
    sendto(fd_, buf.data(), static_cast<size_t>(n), 0, reinterpret_cast<sockaddr*>(&from), len);
    if (second_fd_ >= 0) {
      std::string tagged = "second:" + std::string(buf.data(), static_cast<size_t>(n));
      sendto(second_fd_, tagged.data(), tagged.size(), 0, reinterpret_cast<sockaddr*>(&from), len);
    }
  }
}

// ---- UdpClient ----

UdpClient::UdpClient(int family) {
  fd_ = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  int big = 4 << 20;
  setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
  sockaddr_storage ss = loopback(family, 0);
  bind(fd_, reinterpret_cast<sockaddr*>(&ss), sa_len(ss));
}

UdpClient::UdpClient(const sockaddr_storage& bind_to) {
  fd_ = socket(bind_to.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  int big = 4 << 20;
  setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
  bind(fd_, reinterpret_cast<const sockaddr*>(&bind_to), sa_len(bind_to));
}

UdpClient::~UdpClient() {
  close(fd_);
}

bool UdpClient::send_to(const sockaddr_storage& to, const void* data, size_t len) {
  return sendto(fd_, data, len, 0, reinterpret_cast<const sockaddr*>(&to), sa_len(to)) ==
         static_cast<ssize_t>(len);
}

ssize_t UdpClient::receive(void* buf, size_t cap, int timeout_ms, sockaddr_storage* from) {
  pollfd p{fd_, POLLIN, 0};
  if (poll(&p, 1, timeout_ms) <= 0) return -1;
  sockaddr_storage ss;
  socklen_t len = sizeof ss;
  ssize_t n = recvfrom(fd_, buf, cap, 0, reinterpret_cast<sockaddr*>(&ss), &len);
  if (from) *from = ss;
  return n;
}

bool UdpClient::echo(const sockaddr_storage& to, const std::string& msg, int timeout_ms) {
  if (!send_to(to, msg.data(), msg.size())) return false;
  std::vector<char> buf(70'000);
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (true) {
    int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                    end - std::chrono::steady_clock::now())
                                    .count());
    if (left <= 0) return false;
    ssize_t n = receive(buf.data(), buf.size(), left);
    if (n < 0) return false;
    if (static_cast<size_t>(n) == msg.size() &&
        std::memcmp(buf.data(), msg.data(), msg.size()) == 0) {
      return true;
    }
  }
}

// ---- CuttableRelay ----

CuttableRelay::CuttableRelay(uint16_t upstream_port) : upstream_port_(upstream_port) {
  listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_storage ss = loopback(AF_INET, 0);
  bind(listen_fd_, reinterpret_cast<sockaddr*>(&ss), sizeof(sockaddr_in));
  listen(listen_fd_, 16);
  socklen_t len = sizeof ss;
  getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&ss), &len);
  port_ = sa_port(ss);
  if (pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0) std::abort();
  thread_ = std::thread([this] { serve(); });
}

CuttableRelay::~CuttableRelay() {
  (void)!write(wake_[1], "q", 1);
  thread_.join();
  close(listen_fd_);
  close(wake_[0]);
  close(wake_[1]);
}

void CuttableRelay::cut() {
  cut_requested_ = true;
  (void)!write(wake_[1], "c", 1);
}

static void close_with_reset(int fd) {
  linger l{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  close(fd);
}

void CuttableRelay::serve() {
  std::map<int, int> peer;  // fd -> the other side
  std::vector<char> buf(256 * 1024);
  while (true) {
    std::vector<pollfd> fds{{listen_fd_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
    for (auto& [fd, other] : peer) fds.push_back({fd, POLLIN, 0});
    if (poll(fds.data(), fds.size(), -1) < 0) continue;
    if (fds[1].revents) {
      char c;
      bool quit = false;
      while (read(wake_[0], &c, 1) == 1) quit |= c == 'q';
      if (cut_requested_.exchange(false) || quit) {
        for (auto& [fd, other] : peer) close_with_reset(fd);
        peer.clear();
      }
      if (quit) return;
      continue;
    }
    if (fds[0].revents) {
      int c = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c >= 0) {
        accepted_++;
        if (blocked_) {
          close_with_reset(c);
        } else {
          int u = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
          sockaddr_storage to = loopback(AF_INET, upstream_port_);
          if (connect(u, reinterpret_cast<sockaddr*>(&to), sizeof(sockaddr_in)) != 0) {
            close_with_reset(c);
            close(u);
          } else {
            int one = 1;
            setsockopt(c, IPPROTO_TCP, 1 /* TCP_NODELAY */, &one, sizeof one);
            setsockopt(u, IPPROTO_TCP, 1, &one, sizeof one);
            peer[c] = u;
            peer[u] = c;
          }
        }
      }
    }
    for (size_t i = 2; i < fds.size(); ++i) {
      if (!fds[i].revents) continue;
      int fd = fds[i].fd;
      auto it = peer.find(fd);
      if (it == peer.end()) continue;
      ssize_t n = read(fd, buf.data(), buf.size());
      if (n > 0) {
        std::lock_guard<std::mutex> lock(capture_mutex_);
        if (captured_.size() < (64u << 20)) captured_.append(buf.data(), static_cast<size_t>(n));
      }
      int other = it->second;
      if (n <= 0) {
        close_with_reset(fd);
        close_with_reset(other);
        peer.erase(fd);
        peer.erase(other);
        continue;
      }
      size_t off = 0;
      while (off < static_cast<size_t>(n)) {
        ssize_t w = write(other, buf.data() + off, static_cast<size_t>(n) - off);
        if (w <= 0) break;
        off += static_cast<size_t>(w);
      }
    }
  }
}

// The Windows build's daemons, when the run says so: these same tests then drive
// udp-server.exe and udp-local.exe under Wine.
std::string udp_server_bin() {
  return from_environment("UDPTUN_TEST_UDP_SERVER", UDPTUN_UDP_SERVER_BIN);
}
std::string udp_local_bin() {
  return from_environment("UDPTUN_TEST_UDP_LOCAL", UDPTUN_UDP_LOCAL_BIN);
}
bool daemons_are_windows() {
  static const bool windows = !from_environment("UDPTUN_TEST_LAUNCHER", "").empty();
  return windows;
}

int count_open_fds(pid_t pid) {
  if (!pid) return own_open_handles();
  int n = 0;
  if (DIR* d = opendir(("/proc/" + std::to_string(pid) + "/fd").c_str())) {
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] != '.') ++n;
    }
    closedir(d);
  }
  return n;
}

long resident_kib(pid_t pid) {
  if (!pid) return own_resident_kib();
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return -1;
}

long sanitizer_slack_kib() {
#ifdef UDPTUN_TEST_ASAN
  return 48 * 1024;  // the quarantine below, ASan's own bookkeeping and allocator caches
#else
  return 0;
#endif
}

void bound_sanitizer_quarantine() {
#ifdef UDPTUN_TEST_ASAN
  const char* now = std::getenv("ASAN_OPTIONS");
  std::string options = now ? now : "";
  if (options.find("quarantine_size_mb") == std::string::npos)
    options += std::string(options.empty() ? "" : ":") + "quarantine_size_mb=16";
  setenv("ASAN_OPTIONS", options.c_str(), 1);
#endif
}

double last_counter(const std::string& stats_path, const std::string& name) {
  std::ifstream in(stats_path);
  std::string line, last;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '}') last = line;
  }
  std::string key = "\"" + name + "\":";
  size_t at = last.find(key);
  if (at == std::string::npos) return -1;
  return std::strtod(last.c_str() + at + key.size(), nullptr);
}

size_t snapshots(const std::string& stats_path) {
  std::ifstream in(stats_path);
  std::string line;
  size_t n = 0;
  while (std::getline(in, line))
    if (!line.empty() && line.back() == '}') n++;
  return n;
}

bool fresh_snapshots(const std::string& stats_path, size_t count, int timeout_ms) {
  size_t now = snapshots(stats_path);
  return eventually([&] { return snapshots(stats_path) >= now + count; }, timeout_ms);
}

std::vector<pid_t> processes_with(const std::string& needle) {
  std::vector<pid_t> out;
  if (DIR* d = opendir("/proc")) {
    while (dirent* e = readdir(d)) {
      pid_t pid = std::atoi(e->d_name);
      if (pid <= 0 || pid == getpid()) continue;
      // read(2), not a stream: a process may exit while we read (ESRCH), which is "not it".
      std::string cmdline;
      int fd = open(("/proc/" + std::string(e->d_name) + "/cmdline").c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) continue;
      char buf[4096];
      ssize_t n;
      while ((n = read(fd, buf, sizeof buf)) > 0) cmdline.append(buf, static_cast<size_t>(n));
      close(fd);
      for (char& c : cmdline) c = c ? c : ' ';
      // A zombie has an empty command line: only live processes count.
      if (cmdline.find(needle) != std::string::npos) out.push_back(pid);
    }
    closedir(d);
  }
  return out;
}

// Runs `cmd` (openssl, ending in `x509 -noout -fingerprint -sha256`) and returns the
// fingerprint it printed ("" when it failed).
static std::string run_for_fingerprint(const std::string& cmd) {
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return "";
  char line[256] = {};
  std::string pin;
  if (std::fgets(line, sizeof line, p)) {
    const char* eq = std::strchr(line, '=');
    if (eq) pin = std::string(eq + 1, std::strcspn(eq + 1, "\n"));
  }
  pclose(p);
  return pin;
}

Certificate make_certificate(const std::string& dir, const std::string& name) {
  Certificate c;
  c.cert = dir + "/" + name + ".pem";
  c.key = dir + "/" + name + ".key";
  std::string cmd =
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
      "-keyout " +
      c.key + " -out " + c.cert + " -days 2 -subj /CN=" + name +
      " -addext subjectAltName=DNS:" + name + " 2>/dev/null && openssl x509 -in " + c.cert +
      " -noout -fingerprint -sha256";
  c.pin = run_for_fingerprint(cmd);
  return c;
}

Certificate make_issued_certificate(const std::string& dir, const std::string& ca,
                                    const std::string& name) {
  Certificate c;
  std::string ca_pem = dir + "/" + ca + ".pem", ca_key = dir + "/" + ca + ".key";
  c.cert = dir + "/" + name + ".pem";
  c.key = dir + "/" + name + ".key";
  std::string ext = dir + "/" + name + ".ext";
  std::string ec = " -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes ";
  std::string cmd =
      "{ [ -f " + ca_pem + " ] || openssl req -x509" + ec + "-keyout " + ca_key + " -out " +
      ca_pem + " -days 2 -subj /CN=" + ca +
      " -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign; } && "
      "printf 'subjectAltName=DNS:" +
      name + "\\n' > " + ext + " && openssl req" + ec + "-keyout " + c.key + " -out " + c.cert +
      ".csr -subj /CN=" + name + " && openssl x509 -req -in " + c.cert + ".csr -CA " + ca_pem +
      " -CAkey " + ca_key + " -CAcreateserial -out " + c.cert + " -days 2 -extfile " + ext +
      " && openssl x509 -in " + c.cert + " -noout -fingerprint -sha256";
  cmd = "(" + cmd + ") 2>/dev/null";
  c.pin = run_for_fingerprint(cmd);
  return c;
}

}  // namespace harness
