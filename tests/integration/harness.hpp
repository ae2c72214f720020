// Test doubles and helpers for loopback integration tests: daemons run as real processes
// (so they can be killed -9), a UDP echo target, a TCP relay that can cut its connections,
// and a UDP client. Everything binds to loopback only.
#pragma once

#include <sys/types.h>

#include "portable_harness.hpp"
#include "udptun/protocol/socket_api.hpp"

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace harness {

// A fresh temporary directory, removed with everything in it at destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string write(const std::string& name, const std::string& content) const;

 private:
  std::string path_;
};

// A port that was free a moment ago (bind port 0, read it, close).
uint16_t free_port(int family = AF_INET, int type = SOCK_DGRAM);
// Waits until nothing holds UDP `port` on loopback (false after `timeout_ms`).
bool wait_udp_port_free(int family, uint16_t port, int timeout_ms);

// A child process with its output in a log file.
class Process {
 public:
  Process(std::string program, std::vector<std::string> args, std::string log_path);
  ~Process();  // SIGKILL if still running
  // The child's descriptor 3 writes to this file (a daemon's --stats-fd 3).
  void set_fd3_path(std::string path) { fd3_path_ = std::move(path); }
  bool start();
  void kill9();
  // SIGTERM, then wait up to `ms`; returns the exit status (or -1 if it had to be killed).
  int terminate(int ms = 5000);
  bool running();
  // Waits up to `ms` for it to exit by itself and reaps it, leaving the rest of its process
  // group running (a successor it started); the group dies with this object. Returns the
  // exit status, or -1 if it did not exit in time.
  int wait_exit(int ms);
  // After wait_exit reaped it: the most memory it ever held (KiB), from the kernel.
  long peak_rss_kib_at_exit() const { return peak_rss_kib_at_exit_; }
  pid_t pid() const { return pid_; }
  std::string log() const;

 private:
  std::string program_;
  std::vector<std::string> args_;
  std::string log_path_;
  std::string fd3_path_;
  pid_t pid_ = -1;
  pid_t orphaned_group_ = -1;  // the group of a process reaped by wait_exit
  long peak_rss_kib_at_exit_ = -1;
};

sockaddr_storage loopback(int family, uint16_t port);
std::string endpoint(int family, uint16_t port);  // "127.0.0.1:P" or "[::1]:P"

// A UDP echo target on loopback. Optionally also answers from a second socket (another
// port), to prove full-cone replies get through.
class EchoServer {
 public:
  explicit EchoServer(int family = AF_INET, bool also_reply_from_second_port = false);
  ~EchoServer();
  uint16_t port() const { return port_; }
  uint16_t second_port() const { return second_port_; }
  uint64_t received() const { return received_.load(); }
  // Source port of the last datagram received (what the target sees of the tunnel).
  uint16_t last_source_port() const { return last_source_port_.load(); }
  std::vector<uint16_t> source_ports() const;

 private:
  void serve();
  int fd_ = -1, second_fd_ = -1, wake_[2] = {-1, -1};
  uint16_t port_ = 0, second_port_ = 0;
  std::atomic<uint64_t> received_{0};
  std::atomic<uint16_t> last_source_port_{0};
  mutable std::mutex ports_mutex_;
  std::vector<uint16_t> ports_seen_;
  std::thread thread_;
};

class UdpClient {
 public:
  explicit UdpClient(int family = AF_INET);
  // Bound to this address (port 0: any), e.g. 127.0.0.2 to be another app on loopback.
  explicit UdpClient(const sockaddr_storage& bind_to);
  ~UdpClient();
  bool send_to(const sockaddr_storage& to, const void* data, size_t len);
  // Receives one datagram within timeout_ms; returns its size or -1.
  ssize_t receive(void* buf, size_t cap, int timeout_ms, sockaddr_storage* from = nullptr);
  // Sends `msg` and waits for the same bytes back (skipping stale replies).
  bool echo(const sockaddr_storage& to, const std::string& msg, int timeout_ms);
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
};

// A TCP relay between a client and a server that can drop every connection it carries
// (with RST), as a broken network path would. New connections go through again.
class CuttableRelay {
 public:
  CuttableRelay(uint16_t upstream_port);
  ~CuttableRelay();
  uint16_t port() const { return port_; }
  void cut();
  // While blocked, new connections are accepted and closed at once.
  void set_blocked(bool b) { blocked_ = b; }
  int connections_seen() const { return accepted_.load(); }
  // Every byte relayed so far, both directions (what a capture on the wire would see).
  std::string captured() const {
    std::lock_guard<std::mutex> lock(capture_mutex_);
    return captured_;
  }

 private:
  void serve();
  int listen_fd_ = -1, wake_[2] = {-1, -1};
  uint16_t port_ = 0, upstream_port_;
  std::atomic<bool> cut_requested_{false};
  std::atomic<bool> blocked_{false};
  std::atomic<int> accepted_{0};
  std::thread thread_;
  mutable std::mutex capture_mutex_;
  std::string captured_;
};

// A self-signed certificate (EC P-256, CN and DNS name `name`) made by openssl in `dir`:
// PEM files, and the SHA-256 pin of the certificate as `udp-local --tls-pin` takes it. An
// empty pin when openssl could not make one.
struct Certificate {
  std::string cert, key, pin;
};
Certificate make_certificate(const std::string& dir, const std::string& name);
// A certificate for `name` issued by the CA `ca` (made in `dir` on first use: ca.pem).
Certificate make_issued_certificate(const std::string& dir, const std::string& ca,
                                    const std::string& name);

// The daemons under test, built alongside the tests.
// UDPTUN_TEST_UDP_SERVER / UDPTUN_TEST_UDP_LOCAL (with UDPTUN_TEST_LAUNCHER, e.g. wine64)
// replace them: the Windows build's daemons driven by these same tests.
std::string udp_server_bin();
std::string udp_local_bin();
bool daemons_are_windows();

// Open file descriptors and resident memory of this process (or of another).
int count_open_fds(pid_t pid = 0);
long resident_kib(pid_t pid = 0);
// Memory bounds under AddressSanitizer: freed memory waits in its quarantine before it is
// reused, so a daemon's resident size grows by up to the quarantine. Tests that bound a
// daemon's memory call bound_sanitizer_quarantine() first (children inherit a 16 MiB
// quarantine) and allow sanitizer_slack_kib() more (0 in a normal build).
long sanitizer_slack_kib();
void bound_sanitizer_quarantine();

// The value of "name" in the last complete JSON line of a stats file (-1 if none yet).
double last_counter(const std::string& stats_path, const std::string& name);
// How many snapshots the daemon has written there.
size_t snapshots(const std::string& stats_path);
// Waits (at most timeout_ms) until `count` more snapshots than now were written: a counter read
// after that includes everything the daemon had done when this was called.
bool fresh_snapshots(const std::string& stats_path, size_t count = 2, int timeout_ms = 3000);

// Live processes whose command line holds `needle` (not this one).
std::vector<pid_t> processes_with(const std::string& needle);

}  // namespace harness
