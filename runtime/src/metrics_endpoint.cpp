#include "udptun/runtime/metrics_endpoint.hpp"

#include "udptun/runtime/tcp_listener.hpp"

#include <algorithm>
#include <cstring>

#include "udptun/runtime/event_loop.hpp"
#include "udptun/runtime/log.hpp"

namespace udptun::runtime {

// One scrape: read the request head, answer once, close after the answer is written.
class MetricsEndpoint::Scraper : public TcpStream::Events {
 public:
  Scraper(MetricsEndpoint& owner)
      : owner_(owner), stream_(owner.loop_, *this, MetricsEndpoint::kMaxResponseBytes) {}

  int accept(uv_stream_t* listener) {
    int rc = stream_.accept_from(listener);
    if (rc != 0) return rc;
    rc = deadline_.init(this, [&](uv_timer_t* t) { return uv_timer_init(owner_.loop_.get(), t); });
    if (rc == 0)
      rc = uv_timer_start(
          deadline_.get(),
          [](uv_timer_t* t) {
            if (auto* self = owner_of<Scraper>(t)) self->give_up();
          },
          owner_.limits_.deadline_ms, 0);
    if (rc == 0) rc = stream_.start_reading();
    return rc;
  }

  void close_now() { stream_.close(); }
  bool allowed(const protocol::AllowList& list) const {
    auto peer = stream_.peer_address();
    return peer && list.permits(*peer);
  }
  bool answered() const { return answered_; }

  void on_stream_data(protocol::ByteView data) override {
    if (answered_) return;  // anything after the request is ignored
    request_.append(reinterpret_cast<const char*>(data.data), data.size);
    size_t head_end = request_.find("\r\n\r\n");
    if (head_end == std::string::npos) head_end = request_.find("\n\n");
    if (head_end == std::string::npos) {
      if (request_.size() > owner_.limits_.max_request_bytes) give_up();
      return;
    }
    answered_ = true;
    std::string line = request_.substr(0, request_.find_first_of("\r\n"));
    std::string response = owner_.respond(line);
    // The deadline keeps running: a scraper that does not read its answer is cut off too.
    stream_.write({reinterpret_cast<const uint8_t*>(response.data()), response.size()}, true);
  }

  void on_stream_drained() override {  // the answer is written
    stream_.close();
    owner_.finished(this);  // last: destroys us
  }

  void on_stream_closed(const char*) override { owner_.finished(this); }  // last: destroys us

 private:
  void give_up() {
    owner_.refuse(answered_ ? "answer not read in time" : "no whole request in time");
    stream_.close();
    owner_.finished(this);
  }

  MetricsEndpoint& owner_;
  TcpStream stream_;
  UvHandle<uv_timer_t> deadline_;
  std::string request_;
  bool answered_ = false;
};

MetricsEndpoint::MetricsEndpoint(EventLoop& loop, Logger& log, Render render, Limits limits)
    : loop_(loop), log_(log), render_(std::move(render)), limits_(limits) {}

MetricsEndpoint::~MetricsEndpoint() {
  listener_.close();
  auto scrapers = std::move(scrapers_);
  for (auto& s : scrapers) s->close_now();
}

Status MetricsEndpoint::listen(const protocol::Address& address) {
  auto bound = listen_tcp(loop_, this, address, on_connection, listener_);
  if (!bound.ok()) return bound.status().within("metrics");
  LOG_INFO(log_, "", "metrics on http://%s/metrics",
           protocol::format_address(bound.value()).c_str());
  return Status::success();
}

Result<std::unique_ptr<MetricsEndpoint>> MetricsEndpoint::open(EventLoop& loop, Logger& log,
                                                               const protocol::Address& address,
                                                               Render render, Limits limits) {
  auto endpoint =
      std::make_unique<MetricsEndpoint>(loop, log, std::move(render), std::move(limits));
  Status listening = endpoint->listen(address);
  if (!listening.ok()) return listening;
  return endpoint;
}

std::string MetricsEndpoint::bound_address() const {
  auto a = runtime::bound_address(listener_.get());
  return a ? protocol::format_address(*a) : "";
}

void MetricsEndpoint::on_connection(uv_stream_t* listener, int status) {
  auto* self = owner_of<MetricsEndpoint>(listener);
  if (!self || status != 0) return;
  auto scraper = std::make_unique<Scraper>(*self);
  if (scraper->accept(listener) != 0) return;
  if (!self->limits_.allowed.empty() && !scraper->allowed(self->limits_.allowed)) {
    self->refuse("a scraper outside --metrics-allow");
    scraper->close_now();
    return;
  }
  if (self->scrapers_.size() >= self->limits_.max_scrapers && !self->evict_oldest_waiting()) {
    self->refuse("every slot busy");  // accepted only to be closed: the backlog drains
    scraper->close_now();
    return;
  }
  self->scrapers_.push_back(std::move(scraper));
}

// The oldest connection still without a whole request (the list is in accept order).
bool MetricsEndpoint::evict_oldest_waiting() {
  auto it = std::find_if(scrapers_.begin(), scrapers_.end(),
                         [](const std::unique_ptr<Scraper>& s) { return !s->answered(); });
  if (it == scrapers_.end()) return false;
  evicted_++;
  (*it)->close_now();
  scrapers_.erase(it);
  report("every slot taken: the oldest idle connection closed");
  return true;
}

void MetricsEndpoint::refuse(const char* why) {
  refused_++;
  report(why);
}

void MetricsEndpoint::report(const char* why) {
  uint64_t now = loop_.now_ms();
  if (reported_ms_ != 0 && now - reported_ms_ < 10'000) return;
  reported_ms_ = now;
  LOG_WARN(log_, "",
           "metrics: %s; %llu requests refused and %llu idle connections closed since the start "
           "(bind --metrics to loopback, name scrapers with --metrics-allow, or firewall it)",
           why, static_cast<unsigned long long>(refused_),
           static_cast<unsigned long long>(evicted_));
}

void MetricsEndpoint::finished(Scraper* s) {
  auto it = std::find_if(scrapers_.begin(), scrapers_.end(),
                         [s](const std::unique_ptr<Scraper>& p) { return p.get() == s; });
  if (it == scrapers_.end()) return;
  // Not destroyed inside its own callback's stack frame beyond this point: the stream's
  // callbacks may destroy their owner (TcpStream's rule).
  scrapers_.erase(it);
}

std::string MetricsEndpoint::respond(const std::string& line) {
  auto reply = [](const char* status, const std::string& type, const std::string& body) {
    return std::string("HTTP/1.1 ") + status + "\r\nContent-Type: " + type +
           "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" +
           body;
  };
  size_t sp1 = line.find(' ');
  size_t sp2 = sp1 == std::string::npos ? std::string::npos : line.find(' ', sp1 + 1);
  if (sp2 == std::string::npos || line.compare(sp2 + 1, 5, "HTTP/") != 0) {
    refuse("malformed request");
    return reply("400 Bad Request", "text/plain", "malformed request\n");
  }
  std::string method = line.substr(0, sp1);
  std::string target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string path = target.substr(0, target.find('?'));
  if (method != "GET" && method != "HEAD") {
    refuse("method not allowed");
    return reply("405 Method Not Allowed", "text/plain", "only GET /metrics\n");
  }
  if (path != "/metrics") {
    refuse("not /metrics");
    return reply("404 Not Found", "text/plain", "only /metrics is served here\n");
  }
  scrapes_++;
  std::string body = render_();
  // The endpoint's own counters: a scrape that gets through shows how many did not.
  body +=
      "# HELP udptun_metrics_requests_total Requests to this endpoint: answered, refused "
      "(malformed, too slow, no free slot, outside --metrics-allow), and idle connections closed "
      "to make room.\n"
      "# TYPE udptun_metrics_requests_total counter\n";
  body += "udptun_metrics_requests_total{outcome=\"answered\"} " + std::to_string(scrapes_) + "\n";
  body += "udptun_metrics_requests_total{outcome=\"refused\"} " + std::to_string(refused_) + "\n";
  body += "udptun_metrics_requests_total{outcome=\"evicted\"} " + std::to_string(evicted_) + "\n";
  std::string head = reply("200 OK", "text/plain; version=0.0.4; charset=utf-8", body);
  if (method == "HEAD") head.resize(head.size() - body.size());
  return head;
}

}  // namespace udptun::runtime
