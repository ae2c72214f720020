#include "udptun/runtime/option_reference.hpp"

namespace udptun::runtime {

namespace {

bool repeatable(CommandLineOption::Kind kind) {
  return kind == CommandLineOption::Kind::string_list ||
         kind == CommandLineOption::Kind::integer_list;
}

bool is_switch(CommandLineOption::Kind kind) {
  return kind == CommandLineOption::Kind::flag || kind == CommandLineOption::Kind::clear_flag;
}

std::string flag_cell(const CommandLineOption& o) {
  if (o.flag.empty()) return "—";
  std::string cell = "`" + o.flag;
  if (!o.value_name.empty() && o.kind != CommandLineOption::Kind::preset)
    cell += " " + o.value_name;
  cell += "`";
  if (repeatable(o.kind)) cell += " (repeatable)";
  return cell;
}

std::string key_cell(const CommandLineOption& o) {
  std::string cell = "`" + o.key + "`";
  if (o.kind == CommandLineOption::Kind::string_list) cell += " (string or array)";
  if (o.kind == CommandLineOption::Kind::integer_list) cell += " (number or array)";
  return cell;
}

// A table cell holds no line break and no unescaped bar.
std::string cell(const std::string& text) {
  std::string out;
  for (char c : text)
    out += c == '\n' ? std::string(" ") : c == '|' ? std::string("\\|") : std::string(1, c);
  return out;
}

}  // namespace

std::string options_markdown_table(const std::vector<CommandLineOption>& options) {
  std::string s = "| flag | JSON key | default | values | meaning |\n|---|---|---|---|---|\n";
  for (const CommandLineOption& o : options) {
    s += "| " + flag_cell(o) + " | " + key_cell(o) + " | " + cell(o.default_value) + " | " +
         cell(o.values) + " | " + cell(o.doc.empty() ? o.help : o.doc) + " |\n";
  }
  return s;
}

std::string plain_text(const std::string& markdown) {
  std::string out;
  for (size_t i = 0; i < markdown.size(); ++i) {
    char c = markdown[i];
    if (c == '`') continue;
    if (c == '[') {
      size_t close = markdown.find("](", i);
      size_t end = close == std::string::npos ? close : markdown.find(')', close);
      if (end != std::string::npos && markdown.find('\n', i) > close) {
        out += markdown.substr(i + 1, close - i - 1);
        i = end;
        continue;
      }
    }
    out += c;
  }
  return out;
}

std::string help_line(const CommandLineOption& o) {
  std::string line = o.help;
  if (repeatable(o.kind)) line += " (repeatable)";
  // A default worth a word: not a switch's (its help says what it changes), not "none" or
  // "required".
  const std::string& d = o.default_value;
  if (!is_switch(o.kind) && !d.empty() && d != "none" && d.find("required") == std::string::npos)
    line += " (default " + plain_text(d) + ")";
  return line;
}

std::string manual_text(const CommandLineOption& o) {
  std::string text = plain_text(o.doc.empty() ? o.help : o.doc);
  if (!o.default_value.empty()) text += "\nDefault: " + plain_text(o.default_value) + ".";
  if (!o.values.empty() && !is_switch(o.kind)) text += " Values: " + plain_text(o.values) + ".";
  return text;
}

}  // namespace udptun::runtime
