// The option table (runtime/option_table, runtime/option_reference) without a daemon: one
// declaration read as JSON (bounds, choices, parsers, a part's options lifted into the whole),
// described for the command line with the struct's defaults, and rendered as CONFIG.md's table.
#include <string>
#include <vector>

#include "udptun/runtime/option_reference.hpp"
#include "udptun/runtime/option_table.hpp"
// After ours: cmocka defines a macro fail(), which ConfigReader has as a method.
#include "cmocka_support.hpp"

using namespace udptun::runtime;

namespace {

struct Part {
  uint64_t depth = 7;
};

enum class Mode { fast, careful };

struct Whole {
  uint64_t count = 3;
  unsigned small = 9;
  std::string name = "first";
  bool on = false;
  Mode mode = Mode::careful;
  std::vector<std::string> words;
  std::vector<uint16_t> ports;
  udptun::protocol::AllowList allowed;
  Part part;
  std::optional<udptun::protocol::Address> metrics;
  udptun::protocol::AllowList metrics_allow;
  uint64_t stats_interval_ms = 1000;
  LogLevel log_level = LogLevel::info;
};

const OptionList<Part> kPart = {
    {"--depth", "depth", "N", number(&Part::depth, 1, 10), "how deep"},
};

OptionList<Whole> whole_options() {
  OptionList<Whole> own = {
      {"--count", "count", "N", number(&Whole::count, 1, 100), "how many"},
      {"--small", "small", "N", number(&Whole::small, 0, 50), "how small", nullptr, "nine"},
      {"--name", "name", "NAME", text(&Whole::name), "what it is called", "its `name`"},
      {"--on", "on", "", switch_on(&Whole::on), "turn it on"},
      {"--mode", "mode", "MODE",
       choice(&Whole::mode, {{"fast", Mode::fast}, {"careful", Mode::careful}}), "how it goes"},
      {"--word", "words", "WORD", parsed_list<Whole>([](const std::string& t, Whole& w) {
         if (t.empty()) return udptun::Status::failure("an empty word");
         w.words.push_back(t);
         return udptun::Status::success();
       }),
       "a word"},
      {"--port", "ports", "PORT", number_list(&Whole::ports, 1, 65'535), "a port"},
      {"--allow", "allowed", "CIDR", cidr_list(&Whole::allowed), "who may"},
      {nullptr, "secret", "", text(&Whole::name), "no flag", nullptr, nullptr, true},
  };
  return join<Whole>({own, lift_member(&Whole::part, kPart), common_options<Whole>()});
}

struct Read {
  bool ok;
  Whole value;
  std::string error;
};

Read read(const char* json) {
  ConfigReader r(json);
  Read out{false, {}, ""};
  out.ok = read_options(whole_options(), r, out.value) && r.no_unknown_keys();
  out.error = r.error();
  return out;
}

void test_keys_fill_their_members(void**) {
  Read r = read(R"({"count":42,"small":3,"name":"x","on":true,"mode":"fast","words":["a","b"],)"
                R"("ports":[53,443],"allowed":"10.0.0.0/8","depth":4,"log_level":"debug",)"
                R"("metrics":"127.0.0.1:9100","stats_interval_ms":500})");
  assert_true(r.ok);
  assert_int_equal(r.value.count, 42);
  assert_int_equal(r.value.small, 3);
  assert_string_equal(r.value.name.c_str(), "x");
  assert_true(r.value.on);
  assert_true(r.value.mode == Mode::fast);
  assert_int_equal(r.value.words.size(), 2);
  assert_int_equal(r.value.ports.size(), 2);
  assert_int_equal(r.value.ports[1], 443);
  assert_false(r.value.allowed.empty());
  assert_int_equal(r.value.part.depth, 4);  // lifted from the part's table
  assert_true(r.value.log_level == LogLevel::debug);
  assert_true(r.value.metrics.has_value());
  assert_int_equal(r.value.stats_interval_ms, 500);
  // Absent keys keep the struct's defaults.
  Read d = read("{}");
  assert_true(d.ok);
  assert_int_equal(d.value.count, 3);
  assert_int_equal(d.value.part.depth, 7);
  assert_true(d.value.mode == Mode::careful);
}

void test_bad_values_name_the_key(void**) {
  struct Case {
    const char* json;
    const char* error;
  } cases[] = {
      {R"({"count":0})", "\"count\""},
      {R"({"count":101})", "\"count\""},
      {R"({"depth":11})", "\"depth\""},
      {R"({"mode":"slow"})", "\"mode\" must be \"fast\" or \"careful\""},
      {R"({"words":["ok",""]})", "\"words\": an empty word"},
      {R"({"ports":[0]})", "\"ports\""},
      {R"({"allowed":"not-a-range"})", "not-a-range is not an address or CIDR range"},
      {R"({"log_level":"loud"})",
       "\"log_level\" must be \"error\", \"warn\", \"info\" or \"debug\""},
      {R"({"name":5})", "\"name\""},
      {R"({"nmae":"typo"})", "nmae"},
  };
  for (const Case& c : cases) {
    Read r = read(c.json);
    assert_false(r.ok);
    if (r.error.find(c.error) == std::string::npos) fail_msg("%s: %s", c.json, r.error.c_str());
  }
}

void test_descriptions_carry_defaults_and_values(void**) {
  auto d = describe(whole_options());
  auto find = [&](const char* key) -> const CommandLineOption& {
    for (const auto& o : d)
      if (o.key == key) return o;
    fail_msg("no %s", key);
    return d.front();
  };
  assert_string_equal(find("count").default_value.c_str(), "3");
  assert_string_equal(find("count").values.c_str(), "1..100");
  assert_string_equal(find("small").default_value.c_str(), "nine");  // shown instead
  assert_string_equal(find("name").default_value.c_str(), "`first`");
  assert_string_equal(find("mode").default_value.c_str(), "`careful`");
  assert_string_equal(find("mode").values.c_str(), "fast, careful");
  assert_string_equal(find("depth").default_value.c_str(), "7");
  assert_true(find("on").kind == CommandLineOption::Kind::flag);
  assert_true(find("words").kind == CommandLineOption::Kind::string_list);
  assert_true(find("ports").kind == CommandLineOption::Kind::integer_list);
  assert_true(find("secret").kind == CommandLineOption::Kind::json_only);
  assert_true(find("secret").flag.empty());
  assert_true(find("secret").names_path);
  assert_false(find("name").names_path);
  // --help: the help, "(repeatable)" for lists, the default worth saying.
  assert_string_equal(help_line(find("count")).c_str(), "how many (default 3)");
  assert_string_equal(help_line(find("ports")).c_str(), "a port (repeatable)");
}

void test_markdown_table_rows(void**) {
  auto d = describe(whole_options());
  std::string table = options_markdown_table(d);
  assert_true(table.rfind("| flag | JSON key | default | values | meaning |\n|---|", 0) == 0);
  assert_non_null(strstr(table.c_str(), "| `--count N` | `count` | 3 | 1..100 | how many |\n"));
  // The documentation, when there is some, is the meaning.
  assert_non_null(strstr(table.c_str(), "| `--name NAME` | `name` | `first` |  | its `name` |\n"));
  assert_non_null(
      strstr(table.c_str(), "| `--word WORD` (repeatable) | `words` (string or array) |"));
  assert_non_null(strstr(table.c_str(), "| — | `secret` |"));
  // Plain text for --help and the man page.
  assert_string_equal(plain_text("see [Metrics](#metrics) and `x`").c_str(), "see Metrics and x");
}

}  // namespace

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_keys_fill_their_members),
      cmocka_unit_test(test_bad_values_name_the_key),
      cmocka_unit_test(test_descriptions_carry_defaults_and_values),
      cmocka_unit_test(test_markdown_table_rows),
  };
  return cmocka_run_group_tests(tests, nullptr, nullptr);
}
