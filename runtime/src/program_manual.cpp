#include "udptun/runtime/program_manual.hpp"

#include <cctype>

#include "udptun/runtime/option_reference.hpp"

#ifndef UDPTUN_VERSION
#error "UDPTUN_VERSION comes from the project's version in CMakeLists.txt"
#endif

namespace udptun::runtime {

namespace {

constexpr size_t kTermColumn = 34;

std::string option_term(const CommandLineOption& o) {
  std::string term = o.flag;
  if (o.kind != CommandLineOption::Kind::preset && !o.value_name.empty())
    term += " " + o.value_name;
  return term;
}

// "  term" padded to the help column, or on a line of its own when it is too long.
void append_help_row(std::string& s, const std::string& term, const std::string& text) {
  std::string left = "  " + term;
  if (left.size() < kTermColumn) {
    left.resize(kTermColumn, ' ');
  } else {
    left += "\n" + std::string(kTermColumn, ' ');
  }
  s += left + " " + text + "\n";
}

// Text for roff: backslashes escaped, hyphens as minus signs (what a reader types), and a
// leading dot or quote kept from being read as a request.
std::string roff_escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '\\')
      out += "\\e";
    else if (c == '-')
      out += "\\-";
    else
      out += c;
  }
  return out;
}

std::string roff_line(const std::string& line) {
  std::string escaped = roff_escape(line);
  if (!escaped.empty() && (escaped[0] == '.' || escaped[0] == '\'')) escaped = "\\&" + escaped;
  return escaped;
}

std::vector<std::string> split(const std::string& text, const std::string& separator) {
  std::vector<std::string> parts;
  size_t from = 0;
  while (from <= text.size()) {
    size_t at = text.find(separator, from);
    if (at == std::string::npos) at = text.size();
    parts.push_back(text.substr(from, at - from));
    from = at + separator.size();
  }
  return parts;
}

// Paragraphs (blank-line separated) into roff; an indented paragraph is kept as it is.
void append_roff_paragraphs(std::string& s, const std::string& body) {
  bool first = true;
  for (const std::string& paragraph : split(body, "\n\n")) {
    if (paragraph.empty()) continue;
    if (!first) s += ".PP\n";
    first = false;
    bool example = paragraph.compare(0, 2, "  ") == 0;
    if (example) s += ".nf\n.RS 4\n";
    for (const std::string& line : split(paragraph, "\n"))
      s += roff_line(example ? line.substr(std::min<size_t>(2, line.size())) : line) + "\n";
    if (example) s += ".RE\n.fi\n";
  }
}

// A term in bold, what it names (after the first space: a value, arguments) in italics.
void append_roff_entry(std::string& s, const std::string& term, const std::string& text) {
  size_t space = term.find(' ');
  s += ".TP\n\\fB" + roff_escape(term.substr(0, space)) + "\\fR";
  if (space != std::string::npos) s += " \\fI" + roff_escape(term.substr(space + 1)) + "\\fR";
  s += "\n";
  for (const std::string& line : split(text, "\n")) s += roff_line(line) + "\n";
}

// Words filled into lines of at most `width` (a word longer than that keeps its own line).
std::string wrap(const std::string& text, size_t width) {
  std::string out;
  for (const std::string& paragraph : split(text, "\n\n")) {
    if (!out.empty()) out += "\n\n";
    std::string line;
    for (const std::string& raw : split(paragraph, "\n")) {
      for (const std::string& word : split(raw, " ")) {
        if (word.empty()) continue;
        if (!line.empty() && line.size() + 1 + word.size() > width) {
          out += line + "\n";
          line.clear();
        }
        line += (line.empty() ? "" : " ") + word;
      }
    }
    out += line;
  }
  return out;
}

std::string upper(std::string text) {
  for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return text;
}

}  // namespace

std::vector<ManualEntry> general_command_line_options(bool with_config) {
  std::vector<ManualEntry> options = {
      {"--help", "this text"},
      {"--version", "the program's version"},
      {"--manpage", "this program's manual page (roff), as installed with the package"},
  };
  if (with_config)
    options.insert(options.begin(),
                   {"--config FILE.json", "read options from a JSON object; flags override it"});
  return options;
}

std::string usage_text(const ProgramManual& m) {
  std::string s = "usage: " + m.program + " " + m.synopsis + "\n" + wrap(m.description, 79) + "\n";
  for (const ManualSection& section : m.sections) {
    if (!section.in_help) continue;
    s += "\n" + section.title + ":\n";
    for (const ManualEntry& e : section.entries) append_help_row(s, e.term, e.text);
  }
  if (!m.options.empty() || !m.general_options.empty()) s += "\noptions:\n";
  for (const CommandLineOption& o : m.options) {
    if (o.flag.empty()) continue;  // a JSON key only: CONFIG.md and the man page have it
    append_help_row(s, option_term(o), help_line(o) + "  [json: \"" + o.key + "\"]");
  }
  for (const ManualEntry& e : m.general_options) append_help_row(s, e.term, e.text);
  return s;
}

std::string manual_page(const ProgramManual& m) {
  std::string s = ".\\\" Generated by " + m.program + " --manpage from its option table.\n";
  s += ".TH " + upper(m.program) + " 1 \"\" \"udptun " UDPTUN_VERSION "\" \"udptun manual\"\n";
  s += ".SH NAME\n" + roff_escape(m.program) + " \\- " + roff_escape(m.purpose) + "\n";
  s += ".SH SYNOPSIS\n.B " + roff_escape(m.program) + "\n" + roff_line(m.synopsis) + "\n";
  s += ".SH DESCRIPTION\n";
  append_roff_paragraphs(s, m.description);
  if (!m.options.empty() || !m.general_options.empty()) s += ".SH OPTIONS\n";
  for (const CommandLineOption& o : m.options) {
    append_roff_entry(s, o.flag.empty() ? "(JSON only)" : option_term(o), manual_text(o));
    s += ".br\nJSON configuration key: \\fB" + roff_escape(o.key) + "\\fR\n";
  }
  for (const ManualEntry& e : m.general_options) append_roff_entry(s, e.term, e.text);
  for (const ManualSection& section : m.sections) {
    s += ".SH " + upper(section.title) + "\n";
    append_roff_paragraphs(s, section.body);
    for (const ManualEntry& e : section.entries) append_roff_entry(s, e.term, e.text);
  }
  return s;
}

std::string version_text(const std::string& program) {
  return program + " (udptun) " UDPTUN_VERSION "\n";
}

}  // namespace udptun::runtime
