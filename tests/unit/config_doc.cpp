// docs/CONFIG.md's option tables against the libraries' option tables. Each table in the
// document stands between two markers and is made from one option table:
//   config_doc --check docs/CONFIG.md   fails, naming the table and line, when they differ
//   config_doc --write docs/CONFIG.md   rewrites the tables (after an option table changed)
#include <cstdio>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "udptun/controller_options.hpp"
#include "udptun/runtime/carrier_config.hpp"
#include "udptun/runtime/option_reference.hpp"
#include "udptun/tun2socks_options.hpp"
#include "udptun/udplocal_options.hpp"
#include "udptun/udpserver_options.hpp"

namespace {

using udptun::runtime::CommandLineOption;

struct Table {
  std::string name;  // the marker's: "udp-server"
  std::vector<CommandLineOption> options;
};

// The carrier's options are both daemons': CONFIG.md gives them once, in a table of their own.
std::vector<CommandLineOption> without_carrier(std::vector<CommandLineOption> options) {
  std::set<std::string> carrier;
  for (const auto& o : udptun::runtime::describe(udptun::runtime::carrier_options()))
    carrier.insert(o.key);
  std::vector<CommandLineOption> out;
  for (auto& o : options)
    if (!carrier.count(o.key)) out.push_back(std::move(o));
  return out;
}

std::vector<Table> tables() {
  return {{"udp-server", without_carrier(udptun::udpserver::describe_options())},
          {"udp-local", without_carrier(udptun::udplocal::describe_options())},
          {"carrier", udptun::runtime::describe(udptun::runtime::carrier_options())},
          {"tun2socks", udptun::tun2socks::describe_options()},
          {"proxy-controller", udptun::controller::describe_options()}};
}

std::string begin_marker(const std::string& name) {
  return "<!-- options: " + name +
         " (made from its option table: edit the table, then run build/tests/config_doc --write "
         "docs/CONFIG.md) -->\n";
}
std::string end_marker(const std::string& name) {
  return "<!-- end of options: " + name + " -->";
}

int first_different_line(const std::string& a, const std::string& b) {
  std::istringstream x(a), y(b);
  std::string lx, ly;
  for (int n = 1;; ++n) {
    bool gx = static_cast<bool>(std::getline(x, lx)), gy = static_cast<bool>(std::getline(y, ly));
    if (!gx && !gy) return 0;
    if (gx != gy || lx != ly) return n;
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3 || (std::strcmp(argv[1], "--check") != 0 && std::strcmp(argv[1], "--write") != 0)) {
    std::fprintf(stderr, "usage: config_doc --check|--write CONFIG.md\n");
    return 2;
  }
  const bool write = std::strcmp(argv[1], "--write") == 0;
  std::ifstream in(argv[2], std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string doc = buffer.str();
  if (!in || doc.empty()) {
    std::fprintf(stderr, "config_doc: cannot read %s\n", argv[2]);
    return 2;
  }
  int failures = 0;
  for (const Table& t : tables()) {
    const std::string begin = begin_marker(t.name), end = end_marker(t.name);
    size_t from = doc.find(begin), to = doc.find(end);
    if (from == std::string::npos || to == std::string::npos || to < from) {
      std::fprintf(stderr, "config_doc: %s has no table \"%s\" (between the markers:\n%s%s)\n",
                   argv[2], t.name.c_str(), begin.c_str(), end.c_str());
      ++failures;
      continue;
    }
    from += begin.size();
    const std::string made = udptun::runtime::options_markdown_table(t.options);
    const std::string there = doc.substr(from, to - from);
    if (there == made) continue;
    if (write) {
      doc.replace(from, to - from, made);
      continue;
    }
    std::fprintf(stderr,
                 "config_doc: %s's \"%s\" table differs from the option table (its line %d); "
                 "run build/tests/config_doc --write %s and review the "
                 "change\n",
                 argv[2], t.name.c_str(), first_different_line(there, made), argv[2]);
    ++failures;
  }
  if (write && failures == 0) {
    std::ofstream out(argv[2], std::ios::binary | std::ios::trunc);
    out << doc;
    if (!out) return 1;
  }
  if (failures == 0) std::printf("config_doc: %s agrees with the option tables\n", argv[2]);
  return failures == 0 ? 0 : 1;
}
