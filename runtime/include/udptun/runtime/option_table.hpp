// Every configuration key declared once. An Option names its flag, its JSON key, how its value
// is read (type, bounds, choices), the configuration member it fills, its help and its longer
// documentation; the default shown is the configuration struct's own. From one table come the
// JSON parser (read_options), the command line and --help and the man page (describe), and
// docs/CONFIG.md's tables (tests/unit/config_doc.cpp keeps them equal).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "udptun/protocol/address.hpp"
#include "udptun/protocol/cidr.hpp"
#include "udptun/protocol/status.hpp"
#include "udptun/runtime/command_line.hpp"
#include "udptun/runtime/config_reader.hpp"
#include "udptun/runtime/log.hpp"

namespace udptun::runtime {

// How one key is read into a Config, and what it takes.
template <class Config>
struct OptionField {
  using Reader = std::function<bool(ConfigReader&, const char* key, Config&)>;
  CommandLineOption::Kind kind;
  Reader read;
  std::string values;         // "1..16", "auto, on, off"
  std::string default_value;  // from a default-constructed Config ("" when it has none)
};

template <class Config>
struct Option {
  const char* flag;        // nullptr: a JSON key only
  const char* key;         // "listen"
  const char* value_name;  // "ADDR:PORT"; "" for switches
  OptionField<Config> field;
  const char* help;           // --help's line
  const char* doc = nullptr;  // CONFIG.md and the man page, when more than help
  const char* shown_default =
      nullptr;              // instead of the struct's (e.g. "from the descriptor limit")
  bool names_path = false;  // a file, directory or socket (root's to give)
};

template <class Config>
using OptionList = std::vector<Option<Config>>;

// The fields. Each takes the member it fills; `parsed` ones a function that checks the text and
// fills what it means (an address, a rule), its failure prefixed with the key.

template <class C, class T>
OptionField<C> number(T C::*member, uint64_t min, uint64_t max) {
  static_assert(std::is_unsigned<T>::value, "numbers are unsigned");
  return {CommandLineOption::Kind::integer,
          [member, min, max](ConfigReader& r, const char* key, C& c) {
            uint64_t v = c.*member;
            if (!r.get_uint(key, min, max, v)) return false;
            c.*member = static_cast<T>(v);
            return true;
          },
          std::to_string(min) + ".." + std::to_string(max), std::to_string(C{}.*member)};
}

template <class C>
OptionField<C> text(std::string C::*member) {
  const std::string preset = C{}.*member;
  return {CommandLineOption::Kind::string,
          [member](ConfigReader& r, const char* key, C& c) { return r.get_string(key, c.*member); },
          "", preset.empty() ? "none" : "`" + preset + "`"};
}

// A JSON boolean; its flag sets it (true), or with switch_off clears it (--no-answer-ping).
template <class C>
OptionField<C> switch_on(bool C::*member) {
  return {CommandLineOption::Kind::flag,
          [member](ConfigReader& r, const char* key, C& c) { return r.get_bool(key, c.*member); },
          "true, false", C{}.*member ? "true" : "false"};
}
template <class C>
OptionField<C> switch_off(bool C::*member) {
  OptionField<C> f = switch_on(member);
  f.kind = CommandLineOption::Kind::clear_flag;
  return f;
}

// "IP:PORT" to listen on (never a name).
template <class C>
OptionField<C> endpoint(std::optional<protocol::Address> C::*member) {
  return {CommandLineOption::Kind::string,
          [member](ConfigReader& r, const char* key, C& c) {
            return r.get_ip_endpoint(key, c.*member);
          },
          "", "none"};
}

// A JSON object, kept as its text (no flag).
template <class C>
OptionField<C> object(std::string C::*member) {
  return {CommandLineOption::Kind::json_only,
          [member](ConfigReader& r, const char* key, C& c) { return r.get_object(key, c.*member); },
          "an object", "none"};
}

// One of a few names, each standing for a value of the member.
template <class C, class T>
OptionField<C> choice(T C::*member, std::vector<std::pair<const char*, T>> names) {
  std::string values, preset;
  const T initial = C{}.*member;
  for (const auto& [name, value] : names) {
    values += (values.empty() ? "" : ", ") + std::string(name);
    if (value == initial) preset = std::string("`") + name + "`";
  }
  return {CommandLineOption::Kind::string,
          [member, names](ConfigReader& r, const char* key, C& c) {
            if (!r.has(key)) return true;
            std::string given;
            if (!r.get_string(key, given)) return false;
            std::string expected;
            for (size_t i = 0; i < names.size(); ++i) {
              if (given == names[i].first) {
                c.*member = names[i].second;
                return true;
              }
              expected += std::string(i == 0                  ? ""
                                      : i + 1 == names.size() ? " or "
                                                              : ", ") +
                          "\"" + names[i].first + "\"";
            }
            return r.fail("\"" + std::string(key) + "\" must be " + expected);
          },
          values, preset};
}

template <class C>
OptionField<C> log_level(LogLevel C::*member) {
  return choice(member, {{"error", LogLevel::error},
                         {"warn", LogLevel::warn},
                         {"info", LogLevel::info},
                         {"debug", LogLevel::debug}});
}

template <class C>
using TextParser = std::function<Status(const std::string& text, C& config)>;

template <class C>
OptionField<C> parsed(TextParser<C> parse) {
  return {CommandLineOption::Kind::string,
          [parse](ConfigReader& r, const char* key, C& c) {
            if (!r.has(key)) return true;
            std::string given;
            if (!r.get_string(key, given)) return false;
            Status s = parse(given, c);
            return s.ok() || r.fail("\"" + std::string(key) + "\": " + s.message());
          },
          "", "none"};
}

// A string or an array of strings (the flag repeats), each parsed in turn.
template <class C>
OptionField<C> parsed_list(TextParser<C> parse) {
  return {CommandLineOption::Kind::string_list,
          [parse](ConfigReader& r, const char* key, C& c) {
            std::vector<std::string> given;
            if (!r.get_strings(key, given)) return false;
            for (const std::string& g : given) {
              Status s = parse(g, c);
              if (!s.ok()) return r.fail("\"" + std::string(key) + "\": " + s.message());
            }
            return true;
          },
          "", "none"};
}

// Addresses or CIDR ranges (the flag repeats).
template <class C>
OptionField<C> cidr_list(protocol::AllowList C::*member) {
  OptionField<C> f =
      parsed_list<C>([member](const std::string& t, C& c) { return (c.*member).add(t); });
  f.default_value = "any";
  return f;
}

// A number or an array of numbers within [min, max] (the flag repeats).
template <class C, class T>
OptionField<C> number_list(std::vector<T> C::*member, uint64_t min, uint64_t max) {
  return {CommandLineOption::Kind::integer_list,
          [member, min, max](ConfigReader& r, const char* key, C& c) {
            std::vector<uint64_t> given;
            if (!r.get_uints(key, min, max, given)) return false;
            for (uint64_t v : given) (c.*member).push_back(static_cast<T>(v));
            return true;
          },
          std::to_string(min) + ".." + std::to_string(max), "none"};
}

// A part's options (a member's, or a base class's) as options of the whole.
template <class Whole, class Part, class Project>
OptionList<Whole> lift(const OptionList<Part>& part, Project project) {
  OptionList<Whole> out;
  for (const Option<Part>& o : part) {
    auto read = o.field.read;
    OptionField<Whole> field{o.field.kind,
                             [read, project](ConfigReader& r, const char* key, Whole& w) {
                               return read(r, key, project(w));
                             },
                             o.field.values, o.field.default_value};
    out.push_back({o.flag, o.key, o.value_name, std::move(field), o.help, o.doc, o.shown_default,
                   o.names_path});
  }
  return out;
}
template <class Whole, class Part>
OptionList<Whole> lift_member(Part Whole::*member, const OptionList<Part>& part) {
  return lift<Whole>(part, [member](Whole& w) -> Part& { return w.*member; });
}
template <class Whole, class Part>
OptionList<Whole> lift_base(const OptionList<Part>& part) {
  static_assert(std::is_base_of<Part, Whole>::value, "a base class's options");
  return lift<Whole>(part, [](Whole& w) -> Part& { return w; });
}

template <class C>
OptionList<C> join(std::initializer_list<OptionList<C>> lists) {
  OptionList<C> out;
  for (const auto& l : lists) out.insert(out.end(), l.begin(), l.end());
  return out;
}

// Reads every key of the table that the JSON has; false with the reader's error (which names
// the key). Keys the table does not know are left for ConfigReader::no_unknown_keys.
template <class C>
bool read_options(const OptionList<C>& options, ConfigReader& reader, C& config) {
  for (const Option<C>& o : options)
    if (!o.field.read(reader, o.key, config)) return false;
  return true;
}

// The table as the command line, --help, the man page and CONFIG.md see it.
template <class C>
std::vector<CommandLineOption> describe(const OptionList<C>& options) {
  std::vector<CommandLineOption> out;
  for (const Option<C>& o : options) {
    CommandLineOption d{o.flag ? o.flag : "", o.key,
                        o.flag ? o.field.kind : CommandLineOption::Kind::json_only, o.value_name,
                        o.help};
    d.doc = o.doc ? o.doc : "";
    d.default_value = o.shown_default ? o.shown_default : o.field.default_value;
    d.values = o.field.values;
    d.names_path = o.names_path;
    out.push_back(std::move(d));
  }
  return out;
}

// Who may read /metrics ("metrics_allow") and how much is logged ("log_level"): every daemon's,
// proxy-controller's too, the same members in each.
template <class C>
Option<C> metrics_allow_option() {
  return {"--metrics-allow",
          "metrics_allow",
          "CIDR",
          cidr_list(&C::metrics_allow),
          "answer only scrapers at these addresses",
          "answer only scrapers at these addresses (e.g. the Prometheus server's); others are "
          "closed at accept, unanswered, and counted (`outcome=\"refused\"`). The page is not "
          "authenticated: off loopback, give this or firewall the port"};
}
template <class C>
Option<C> log_level_option() {
  return {"--log-level", "log_level", "LEVEL", log_level(&C::log_level),
          "error, warn, info or debug"};
}

// "metrics", "metrics_allow", "stats_interval_ms", "log_level": the library daemons', the same
// members in each.
template <class C>
OptionList<C> common_options() {
  return {
      {"--metrics", "metrics", "ADDR:PORT", endpoint(&C::metrics),
       "serve Prometheus metrics at http://ADDR:PORT/metrics (e.g. 127.0.0.1:9101)",
       "serve Prometheus metrics at `http://ADDR:PORT/metrics` (see [Metrics](#metrics))", "off"},
      metrics_allow_option<C>(),
      {"--stats-interval-ms", "stats_interval_ms", "MS",
       number(&C::stats_interval_ms, 100, 86'400'000), "how often counters are published"},
      log_level_option<C>(),
  };
}

}  // namespace udptun::runtime
