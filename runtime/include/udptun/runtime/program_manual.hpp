// A program's manual, written once: --help prints it as usage text and --manpage as a man
// page (roff), both from the same option table, so the two can never disagree. The
// packages' man pages are generated at build time with --manpage.
#pragma once

#include <string>
#include <vector>

#include "udptun/runtime/command_line.hpp"

namespace udptun::runtime {

// A term and what it means: an option without a JSON key (--config, --help), a command.
struct ManualEntry {
  std::string term;  // "--config FILE.json", "stats [NAME]"
  std::string text;
};

struct ManualSection {
  std::string title;  // "EXIT STATUS"
  // Paragraphs split by blank lines; a paragraph whose lines start with two spaces is shown
  // as it is (an example).
  std::string body;
  std::vector<ManualEntry> entries;  // a list of terms after the body
  bool in_help = false;              // --help shows it too (udptunctl's commands)
};

struct ProgramManual {
  std::string program;      // "udp-server"
  std::string purpose;      // the NAME line: "authenticated UDP relay behind a TCP listener"
  std::string synopsis;     // after the program's name: "[OPTIONS]"
  std::string description;  // --help's summary and the DESCRIPTION section
  std::vector<CommandLineOption> options;    // each shown with its JSON key
  std::vector<ManualEntry> general_options;  // options without a JSON key
  std::vector<ManualSection> sections;       // after OPTIONS
};

// The options every program built on build_config_from_args has (--config first), and
// --help, --version, --manpage, which every program has.
std::vector<ManualEntry> general_command_line_options(bool with_config = true);

std::string usage_text(const ProgramManual& manual);
// man(7) source: .TH, NAME, SYNOPSIS, DESCRIPTION, OPTIONS, then the manual's sections.
std::string manual_page(const ProgramManual& manual);
// "udp-server (udptun) 0.1.0"
std::string version_text(const std::string& program);

}  // namespace udptun::runtime
