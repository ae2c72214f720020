// udptunctl top's screen, without a terminal: fed the controller's status replies (one a
// second), it keeps the previous counters to turn them into rates and draws a table that
// fits 80 columns. Pure, so it is unit-tested apart from the terminal loop.
#pragma once

#include <cJSON.h>

#include <map>
#include <string>
#include <vector>

namespace udptun::ctl {

class TopView {
 public:
  // A status reply ({"statusCode":0,"result":{"services":[...],"routing":...}}) taken at
  // `now_s` (seconds, monotonic).
  void update(const cJSON* status_reply, double now_s);
  // The screen: lines of at most `width` characters, `clock` ("01:50:03") in the title.
  std::vector<std::string> screen(const std::string& clock, size_t width = 80) const;

 private:
  struct Counters {
    double datagrams_up = 0, datagrams_down = 0, bytes_up = 0, bytes_down = 0, drops = 0;
  };
  struct Row {
    std::string name, state, session = "-", rtt = "-", flows = "-";
    Counters totals;
    bool has_rates = false;
    Counters rates;                       // per second, since the previous update
    std::map<std::string, double> drops;  // reason -> total, the non-zero ones
  };
  std::vector<Row> rows_;
  std::map<std::string, std::pair<Counters, double>> previous_;  // name -> (totals, when)
  std::string routing_ = "routing: not configured";
};

// "12", "3.4K", "5.6M": a rate or count in 6 characters at most.
std::string compact_number(double v);

}  // namespace udptun::ctl
