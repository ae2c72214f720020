// Command lines and manuals (runtime/command_line, runtime/program_manual) without running a
// daemon: flags into the JSON configuration (--config first, flags on top, lists appended,
// presets, a positional argument), refusals with a reason, and --help and the man page
// rendered from the one option table.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "cmocka_support.hpp"
#include "udptun/runtime/command_line.hpp"
#include "udptun/runtime/program_manual.hpp"

using namespace udptun::runtime;
using Kind = CommandLineOption::Kind;

namespace {

const std::vector<CommandLineOption> kOptions = {
    {"--listen", "listen", Kind::string_list, "ADDR:PORT", "accept here (repeatable)"},
    {"--psk-file", "psk_file", Kind::string, "FILE", "the key"},
    {"--mtu", "mtu", Kind::integer, "BYTES", "the MTU"},
    {"--drop-udp-port", "drop_udp_ports", Kind::integer_list, "PORT", "drop this port"},
    {"--tls", "tls", Kind::flag, "", "use TLS"},
    {"--no-answer-ping", "answer_ping", Kind::clear_flag, "", "do not answer pings"},
    {"-d", "log_level", Kind::preset, "debug", "log at debug level"},
};

struct Outcome {
  bool ok;
  std::string json;
  std::string error;
  CommandLineRequest request;
};

Outcome parse(std::vector<std::string> args, const CommandLineSyntax& syntax = {}) {
  args.insert(args.begin(), "program");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  auto built = build_config_from_args(static_cast<int>(args.size()), argv.data(), kOptions, syntax);
  if (!built.ok()) return Outcome{false, "", built.message(), CommandLineRequest::run};
  return Outcome{true, built->json, "", built->request};
}

std::string write_temp(const std::string& text, mode_t mode) {
  char path[] = "/tmp/udptun-cmdline-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  fchmod(fd, mode);
  close(fd);
  return path;
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

}  // namespace

static void test_flags_become_json_keys(void**) {
  Outcome o =
      parse({"--listen", "127.0.0.1:1", "--psk-file", "k", "--listen", "[::1]:2", "--mtu", "9000",
             "--drop-udp-port", "443", "--drop-udp-port", "80", "--tls", "--no-answer-ping", "-d"});
  assert_true(o.ok);
  assert_true(o.request == CommandLineRequest::run);
  assert_string_equal(o.json.c_str(),
                      "{\"listen\":[\"127.0.0.1:1\",\"[::1]:2\"],\"psk_file\":\"k\",\"mtu\":9000,"
                      "\"drop_udp_ports\":[443,80],\"tls\":true,\"answer_ping\":false,"
                      "\"log_level\":\"debug\"}");
}

static void test_flags_override_the_file_wherever_it_stands(void**) {
  std::string file = write_temp(R"({"psk_file":"from-file","mtu":1500,"listen":"a:1"})", 0600);
  Outcome o = parse({"--psk-file", "from-flag", "--config", file, "--listen", "b:2"});
  unlink(file.c_str());
  assert_true(o.ok);
  // The file's single listen becomes a list the flag appends to; its mtu stays.
  assert_string_equal(o.json.c_str(),
                      "{\"mtu\":1500,\"listen\":[\"a:1\",\"b:2\"],\"psk_file\":\"from-flag\"}");
}

static void test_bad_command_lines_say_why(void**) {
  Outcome o = parse({"--nope"});
  assert_false(o.ok);
  assert_string_equal(o.error.c_str(), "unknown option --nope (see --help)");
  o = parse({"--mtu"});
  assert_false(o.ok);
  assert_string_equal(o.error.c_str(), "--mtu needs a value (BYTES)");
  o = parse({"--mtu", "-5"});
  assert_false(o.ok);
  assert_string_equal(o.error.c_str(), "--mtu: not a non-negative integer: -5");
  o = parse({"--mtu", "12x"});
  assert_false(o.ok);
  o = parse({"--config"});
  assert_false(o.ok);
  assert_string_equal(o.error.c_str(), "--config needs a FILE");
  std::string file = write_temp("[1,2]", 0600);
  o = parse({"--config", file});
  assert_false(o.ok);
  assert_true(contains(o.error, "not a JSON object"));
  unlink(file.c_str());
  o = parse({"stray"});  // no positional argument in this syntax
  assert_false(o.ok);
  assert_string_equal(o.error.c_str(), "unknown option stray (see --help)");
}

static void test_positional_argument_and_file_limits(void**) {
  CommandLineSyntax syntax;
  syntax.positional_key = "socket";
  syntax.config_file_limits.owner_only_writable = true;
  Outcome o = parse({"/run/ctl.sock", "-d"}, syntax);
  assert_true(o.ok);
  assert_string_equal(o.json.c_str(), "{\"socket\":\"/run/ctl.sock\",\"log_level\":\"debug\"}");
  // A configuration that others may write is refused when the syntax says so.
  std::string file = write_temp("{}", 0666);
  chmod(file.c_str(), 0666);
  o = parse({"--config", file}, syntax);
  assert_false(o.ok);
  assert_true(contains(o.error, file));
  o = parse({"--config", file});  // the daemons' own syntax does not ask
  assert_true(o.ok);
  unlink(file.c_str());
}

static void test_help_version_and_manpage_are_requests(void**) {
  assert_true(parse({"--mtu", "1", "--help"}).request == CommandLineRequest::help);
  assert_true(parse({"-h"}).request == CommandLineRequest::help);
  assert_true(parse({"--version"}).request == CommandLineRequest::version);
  assert_true(parse({"--manpage"}).request == CommandLineRequest::manpage);
  assert_string_equal(version_text("udp-server").c_str(),
                      (std::string("udp-server (udptun) ") + UDPTUN_VERSION + "\n").c_str());
}

static ProgramManual sample_manual() {
  ProgramManual m;
  m.program = "sample-daemon";
  m.purpose = "a sample for the test";
  m.synopsis = "[OPTIONS]";
  m.description =
      "First paragraph, long enough to be wrapped by usage_text at the width "
      "of a terminal so that no line of it is longer than 79 characters.\n\n"
      ".A line that starts with a dot.";
  m.options = kOptions;
  m.general_options = general_command_line_options();
  m.sections = {{"EXAMPLES", "Run it:\n\n  sample-daemon --listen 0.0.0.0:1 \\\n      --tls", {}},
                {"commands", "", {{"status", "what it does"}}, /*in_help=*/true}};
  return m;
}

static void test_help_lists_every_option_with_its_key(void**) {
  std::string help = usage_text(sample_manual());
  assert_true(contains(help, "usage: sample-daemon [OPTIONS]\n"));
  for (const auto& o : kOptions) assert_true(contains(help, std::string("\n  ") + o.flag));
  assert_true(contains(help, "  --listen ADDR:PORT"));
  assert_true(contains(help, "[json: \"drop_udp_ports\"]"));
  assert_false(contains(help, "-d debug"));  // a preset takes no value
  assert_true(contains(help, "\ncommands:\n  status"));
  assert_true(contains(help, "  --manpage"));
  assert_false(contains(help, "EXAMPLES"));  // only sections marked for --help
  size_t from = 0;
  std::string description = help.substr(0, help.find("\n\n"));
  while (from < description.size()) {
    size_t end = description.find('\n', from);
    if (end == std::string::npos) end = description.size();
    assert_true(end - from <= 79);
    from = end + 1;
  }
}

static void test_man_page_is_roff_from_the_same_table(void**) {
  std::string page = manual_page(sample_manual());
  assert_true(contains(page, ".TH SAMPLE-DAEMON 1 \"\" \"udptun " UDPTUN_VERSION "\""));
  assert_true(contains(page, ".SH NAME\nsample\\-daemon \\- a sample for the test\n"));
  // Options: the flag in bold with hyphens as minus signs, the value in italics, the key.
  assert_true(contains(page, ".TP\n\\fB\\-\\-listen\\fR \\fIADDR:PORT\\fR\naccept here"));
  assert_true(contains(page, "JSON configuration key: \\fBdrop_udp_ports\\fR"));
  assert_true(contains(page, ".TP\n\\fB\\-d\\fR\nlog at debug level"));
  for (const auto& o : kOptions) {
    std::string flag;
    for (char c : o.flag) flag += c == '-' ? std::string("\\-") : std::string(1, c);
    assert_true(contains(page, "\\fB" + flag + "\\fR"));
  }
  // A line starting with a dot is text, not a request; an example keeps its lines.
  assert_true(contains(page, "\n\\&.A line that starts with a dot."));
  assert_true(contains(page, ".SH EXAMPLES\nRun it:\n.PP\n.nf\n.RS 4\nsample\\-daemon"));
  assert_true(contains(page, "\\e\n    \\-\\-tls\n.RE\n.fi\n"));
  assert_true(contains(page, ".SH COMMANDS\n"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_flags_become_json_keys),
      cmocka_unit_test(test_flags_override_the_file_wherever_it_stands),
      cmocka_unit_test(test_bad_command_lines_say_why),
      cmocka_unit_test(test_positional_argument_and_file_limits),
      cmocka_unit_test(test_help_version_and_manpage_are_requests),
      cmocka_unit_test(test_help_lists_every_option_with_its_key),
      cmocka_unit_test(test_man_page_is_roff_from_the_same_table),
  };
  return cmocka_run_group_tests_name("command_line", tests, nullptr, nullptr);
}
