// GET /metrics over HTTP/1.x for Prometheus, served from the instance's own loop: the page
// is rendered there (no locks, the counters as they are now), written, and the connection
// closed. Bounded against slow or hostile scrapers (Limits): a few connections at once, a
// request head of at most 4 KiB, and 5 s from connect to the last byte of the answer —
// nothing grows, nothing waits on a client. When every slot is taken, the connection that
// has waited longest without a whole request goes to make room (idle connections cannot
// lock Prometheus out); only when all are being answered is a newcomer closed. Refusals and
// evictions are logged (one line per 10 s at most) and exported with the page.
#pragma once

#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <string>

#include "udptun/protocol/address.hpp"
#include "udptun/protocol/cidr.hpp"
#include "udptun/protocol/status.hpp"
#include "udptun/runtime/tcp_stream.hpp"
#include "udptun/runtime/uv_handle.hpp"

namespace udptun::runtime {

class EventLoop;
class Logger;

struct MetricsEndpointLimits {
  size_t max_scrapers = 16;
  size_t max_request_bytes = 4096;
  uint64_t deadline_ms = 5000;  // from accept to the answer written
  // Scrapers at these addresses only (--metrics-allow; empty: any that can connect); others
  // are closed at accept, unanswered, and counted as refused.
  protocol::AllowList allowed;
};

class MetricsEndpoint {
 public:
  using Limits = MetricsEndpointLimits;
  static constexpr size_t kMaxResponseBytes = 4 << 20;

  using Render = std::function<std::string()>;  // the exposition text, on the loop

  MetricsEndpoint(EventLoop& loop, Logger& log, Render render, Limits limits = {});
  ~MetricsEndpoint();
  MetricsEndpoint(const MetricsEndpoint&) = delete;
  MetricsEndpoint& operator=(const MetricsEndpoint&) = delete;

  // Port 0 picks one: bound_address() tells which.
  Status listen(const protocol::Address& address);
  std::string bound_address() const;

  // Made and listening on `address`, or why not ("metrics: cannot listen on ...").
  static Result<std::unique_ptr<MetricsEndpoint>> open(EventLoop& loop, Logger& log,
                                                       const protocol::Address& address,
                                                       Render render, Limits limits = {});

  uint64_t scrapes() const { return scrapes_; }  // answered 200
  uint64_t refused() const { return refused_; }  // over the cap, malformed, timed out
  uint64_t evicted() const { return evicted_; }  // idle, closed to make room

 private:
  class Scraper;
  static void on_connection(uv_stream_t* listener, int status);
  void finished(Scraper* s);
  std::string respond(const std::string& request_line);
  void refuse(const char* why);
  void report(const char* why);  // a log line, at most one per 10 s
  bool evict_oldest_waiting();

  EventLoop& loop_;
  Logger& log_;
  Render render_;
  Limits limits_;
  UvHandle<uv_tcp_t> listener_;
  std::list<std::unique_ptr<Scraper>> scrapers_;
  uint64_t scrapes_ = 0;
  uint64_t refused_ = 0;
  uint64_t evicted_ = 0;
  uint64_t reported_ms_ = 0;
};

}  // namespace udptun::runtime
