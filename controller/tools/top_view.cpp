#include "top_view.hpp"

#include <cstdio>
#include <cstring>

namespace udptun::ctl {

namespace {

double number(const cJSON* o, const char* key) {
  const cJSON* v = cJSON_GetObjectItemCaseSensitive(o, key);
  return cJSON_IsNumber(v) ? v->valuedouble : 0;
}
bool has(const cJSON* o, const char* key) {
  return cJSON_GetObjectItemCaseSensitive(o, key) != nullptr;
}
std::string text(const cJSON* o, const char* key) {
  const cJSON* v = cJSON_GetObjectItemCaseSensitive(o, key);
  return cJSON_IsString(v) ? v->valuestring : "";
}
std::string integer(double v) {
  return std::to_string(static_cast<long long>(v));
}
std::string rtt_text(double us) {
  if (us <= 0) return "-";
  char b[16];
  if (us < 10'000)
    std::snprintf(b, sizeof b, "%.1fms", us / 1000);
  else
    std::snprintf(b, sizeof b, "%.0fms", us / 1000);
  return b;
}

// Which counters mean what, per kind of service (told apart by a key only it has).
void read_counters(const cJSON* stats, std::string& session, std::string& rtt, std::string& flows,
                   double (&c)[4]) {
  if (has(stats, "link_up")) {  // udp-local
    session = number(stats, "link_up") ? "up" : "down";
    rtt = rtt_text(number(stats, "rtt_us"));
    flows = integer(number(stats, "flows"));
    c[0] = number(stats, "datagrams_up");
    c[1] = number(stats, "datagrams_down");
    c[2] = number(stats, "bytes_up");
    c[3] = number(stats, "bytes_down");
  } else if (has(stats, "sessions_attached")) {  // udp-server: sessions attached
    session = integer(number(stats, "sessions_attached"));
    flows = integer(number(stats, "flows"));
    c[0] = number(stats, "datagrams_to_targets");
    c[1] = number(stats, "datagrams_from_targets");
    c[2] = number(stats, "bytes_to_targets");
    c[3] = number(stats, "bytes_from_targets");
  } else if (has(stats, "packets_in")) {  // tun2socks: UDP datagrams, TCP bytes
    session = has(stats, "udp_tunnel_up") && number(stats, "udp_tunnel_up") ? "up" : "-";
    rtt = rtt_text(number(stats, "udp_rtt_us"));
    flows = integer(number(stats, "udp_flows") + number(stats, "tcp_connections"));
    c[0] = number(stats, "udp_datagrams_up");
    c[1] = number(stats, "udp_datagrams_down");
    c[2] = number(stats, "tcp_bytes_up");
    c[3] = number(stats, "tcp_bytes_down");
  }
}

std::string fit(std::string line, size_t width) {
  if (line.size() > width) line.resize(width);
  return line;
}

}  // namespace

std::string compact_number(double v) {
  char b[16];
  if (v < 0) v = 0;
  // Thresholds just below the next unit, so rounding never makes "1000.0K".
  if (v < 9'999.5)
    std::snprintf(b, sizeof b, "%.0f", v);
  else if (v < 999'950)
    std::snprintf(b, sizeof b, "%.1fK", v / 1e3);
  else if (v < 999'950'000)
    std::snprintf(b, sizeof b, "%.1fM", v / 1e6);
  else if (v < 999'950'000'000.0)
    std::snprintf(b, sizeof b, "%.1fG", v / 1e9);
  else
    std::snprintf(b, sizeof b, "%.0fT", v / 1e12);
  return b;
}

void TopView::update(const cJSON* reply, double now_s) {
  const cJSON* result = cJSON_GetObjectItemCaseSensitive(reply, "result");
  rows_.clear();
  const cJSON* s;
  cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(result, "services")) {
    Row row;
    row.name = text(s, "name");
    row.state = text(s, "state");
    const cJSON* stats = cJSON_GetObjectItemCaseSensitive(s, "stats");
    double c[4] = {0, 0, 0, 0};
    if (cJSON_IsObject(stats)) {
      read_counters(stats, row.session, row.rtt, row.flows, c);
      const cJSON* v;
      cJSON_ArrayForEach(v, stats) {
        if (!cJSON_IsNumber(v) || v->valuedouble <= 0) continue;
        const char* key = v->string;
        if (std::strncmp(key, "drops_", 6) == 0) {
          row.drops[key + 6] = v->valuedouble;
        } else if (std::strcmp(key, "packets_dropped") == 0 ||
                   std::strcmp(key, "udp_dropped") == 0) {
          row.drops[key] = v->valuedouble;
        } else {
          continue;
        }
        row.totals.drops += v->valuedouble;
      }
    }
    row.totals.datagrams_up = c[0];
    row.totals.datagrams_down = c[1];
    row.totals.bytes_up = c[2];
    row.totals.bytes_down = c[3];
    auto prev = previous_.find(row.name);
    if (prev != previous_.end() && now_s > prev->second.second) {
      double dt = now_s - prev->second.second;
      const Counters& p = prev->second.first;
      row.has_rates = true;
      row.rates = {(row.totals.datagrams_up - p.datagrams_up) / dt,
                   (row.totals.datagrams_down - p.datagrams_down) / dt,
                   (row.totals.bytes_up - p.bytes_up) / dt,
                   (row.totals.bytes_down - p.bytes_down) / dt, (row.totals.drops - p.drops) / dt};
    }
    previous_[row.name] = {row.totals, now_s};
    rows_.push_back(std::move(row));
  }
  const cJSON* routing = cJSON_GetObjectItemCaseSensitive(result, "routing");
  if (cJSON_IsObject(routing)) {
    double st = number(routing, "connectionStatus");
    routing_ = "routing: via " + text(routing, "tun") + ", " +
               (st == 0   ? "connected"
                : st == 1 ? "disconnected"
                          : "reconnecting");
  } else {
    routing_ = "routing: not configured";
  }
}

std::vector<std::string> TopView::screen(const std::string& clock, size_t width) const {
  std::vector<std::string> lines;
  char b[256];
  std::snprintf(b, sizeof b, "udptun top  %s  %s  (q quits)", clock.c_str(), routing_.c_str());
  lines.push_back(fit(b, width));
  lines.push_back("");
  std::snprintf(b, sizeof b, "%-12s %-10s %4s %6s %6s %6s %6s %6s %6s %6s", "SERVICE", "STATE",
                "SESS", "RTT", "FLOWS", "PKT>/s", "PKT</s", "B>/s", "B</s", "DROP/s");
  lines.push_back(fit(b, width));
  for (const Row& r : rows_) {
    auto rate = [&](double v) { return r.has_rates ? compact_number(v) : std::string("-"); };
    std::snprintf(b, sizeof b, "%-12.12s %-10.10s %4.4s %6.6s %6.6s %6s %6s %6s %6s %6s",
                  r.name.c_str(), r.state.c_str(), r.session.c_str(), r.rtt.c_str(),
                  r.flows.c_str(), rate(r.rates.datagrams_up).c_str(),
                  rate(r.rates.datagrams_down).c_str(), rate(r.rates.bytes_up).c_str(),
                  rate(r.rates.bytes_down).c_str(), rate(r.rates.drops).c_str());
    lines.push_back(fit(b, width));
  }
  if (rows_.empty()) lines.push_back("(no services)");
  bool any_drops = false;
  for (const Row& r : rows_) {
    if (r.drops.empty()) continue;
    if (!any_drops) {
      lines.push_back("");
      lines.push_back("drops since start, by reason:");
      any_drops = true;
    }
    std::string line = "  " + r.name + ":";
    for (const auto& [reason, n] : r.drops) line += " " + reason + " " + compact_number(n);
    lines.push_back(fit(line, width));
  }
  lines.push_back("");
  lines.push_back(fit("> up, < down; B: bytes; SESS: the link, or a server's sessions", width));
  return lines;
}

}  // namespace udptun::ctl
