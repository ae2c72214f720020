#include "service_catalog.hpp"

#include <set>

#include "udptun/tun2socks_options.hpp"
#include "udptun/udplocal_options.hpp"
#include "udptun/udpserver_options.hpp"

namespace udptun::controller {

namespace {

std::string strings_of(const cJSON* array, const char* what, std::vector<std::string>& out) {
  if (!cJSON_IsArray(array)) return std::string("\"") + what + "\" must be an array of strings";
  const cJSON* a;
  cJSON_ArrayForEach(a, array) {
    if (!cJSON_IsString(a)) return std::string("\"") + what + "\" must hold only strings";
    out.emplace_back(a->valuestring);
  }
  return "";
}

// Flags of a built-in daemon. The controller owns the descriptors (--stats-fd, --tun-fd);
// tun2socks' --tun NAME becomes a descriptor the controller opens (see Controller).
std::string builtin_flags(const std::string& builtin, const cJSON* args, LaunchPlan& plan) {
  std::vector<std::string> flags;
  std::string why = strings_of(args, "args", flags);
  if (!why.empty()) return why;
  for (size_t i = 0; i < flags.size(); ++i) {
    const std::string& f = flags[i];
    if (f == "--stats-fd" || f == "--tun-fd")
      return f + " is the controller's to give (it passes the descriptors itself)";
    if (f == "--state-dir") return f + " is the controller's to give (STATE_DIR/services/NAME)";
    if (builtin == "tun2socks" && f == "--tun" && i + 1 < flags.size()) {
      plan.tun = flags[++i];
      continue;
    }
    plan.argv.push_back(f);
  }
  return "";
}

std::string builtin_config(const std::string& builtin, const cJSON* config, LaunchPlan& plan) {
  if (!cJSON_IsObject(config))
    return "\"config\" must be an object (the service's JSON configuration, docs/CONFIG.md)";
  if (cJSON_GetObjectItemCaseSensitive(config, "stats_fd") ||
      cJSON_GetObjectItemCaseSensitive(config, "tun_fd"))
    return "\"stats_fd\" and \"tun_fd\" are the controller's to give";
  const cJSON* tun = cJSON_GetObjectItemCaseSensitive(config, "tun");
  if (builtin == "tun2socks" && tun) {
    if (!cJSON_IsString(tun)) return "\"tun\" must be a device name";
    plan.tun = tun->valuestring;
  }
  char* text = cJSON_PrintUnformatted(config);
  plan.config = text ? text : "{}";
  cJSON_free(text);
  return "";
}

// What a member of the socket group may not set on a built-in it starts: every option that
// names a file, a directory or a socket. The service runs as the service user, which can
// read and write what root's declared services use (their keys, state, handover sockets); a
// member naming them would act with what it cannot read itself. These are root's to give
// (declare the service), or the controller's (--state-dir, the descriptors).
struct PathOptions {
  std::set<std::string> flags{"--config"}, keys;
};

// Taken from the built-ins' option tables (names_path), so a new option that names a path is
// refused to members the day it is added.
const PathOptions& path_options() {
  static const PathOptions paths = [] {
    PathOptions p;
    for (const auto& table : {udplocal::describe_options(), udpserver::describe_options(),
                              tun2socks::describe_options()})
      for (const runtime::CommandLineOption& o : table) {
        if (!o.names_path) continue;
        if (!o.flag.empty()) p.flags.insert(o.flag);
        p.keys.insert(o.key);
      }
    return p;
  }();
  return paths;
}

std::string member_flag_refusal(const std::vector<std::string>& argv) {
  for (const std::string& f : argv) {
    std::string flag = f.substr(0, f.find('='));
    if (path_options().flags.count(flag))
      return flag + " names a file or socket: only root may give one (declare the service)";
  }
  return "";
}

// Anywhere in the object (tun2socks' "udp_local" object holds udp-local's keys).
std::string member_key_refusal(const cJSON* config) {
  const cJSON* k;
  cJSON_ArrayForEach(k, config) {
    if (k->string && path_options().keys.count(k->string))
      return std::string("\"") + k->string +
             "\" names a file, directory or socket: only root may give one (declare the "
             "service)";
    if (cJSON_IsObject(k)) {
      std::string why = member_key_refusal(k);
      if (!why.empty()) return why;
    }
  }
  return "";
}

bool valid_device_name(const std::string& n) {
  return !n.empty() && n.size() < 16 &&
         n.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") ==
             std::string::npos;
}

}  // namespace

bool valid_service_name(const std::string& name) {
  // It names a directory (STATE_DIR/services/NAME): never "." or "..".
  return !name.empty() && name.size() <= 64 && name[0] != '.' &&
         name.find_first_not_of(
             "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") ==
             std::string::npos;
}

Status ServiceCatalog::load(const cJSON* services) {
  declared_.clear();
  if (!services) return Status::success();
  if (!cJSON_IsObject(services))
    return Status::failure("\"services\" must be an object of service declarations");
  static const std::set<std::string> kKeys = {"exec", "builtin", "args",     "config",
                                              "mode", "user",    "autostart"};
  const cJSON* s;
  cJSON_ArrayForEach(s, services) {
    std::string name = s->string;
    auto fail = [&](const std::string& why) {
      declared_.clear();  // all or nothing
      return Status::failure("service \"" + name + "\": " + why);
    };
    if (!valid_service_name(name))
      return fail("not a valid name (letters, digits, . _ -, not starting with .)");
    if (!cJSON_IsObject(s)) return fail("must be an object");
    const cJSON* k;
    cJSON_ArrayForEach(k, s) {
      if (!kKeys.count(k->string)) return fail(std::string("unknown key \"") + k->string + "\"");
    }
    LaunchPlan plan;
    const cJSON* exec = cJSON_GetObjectItemCaseSensitive(s, "exec");
    const cJSON* builtin = cJSON_GetObjectItemCaseSensitive(s, "builtin");
    const cJSON* args = cJSON_GetObjectItemCaseSensitive(s, "args");
    const cJSON* config = cJSON_GetObjectItemCaseSensitive(s, "config");
    const cJSON* mode = cJSON_GetObjectItemCaseSensitive(s, "mode");
    const cJSON* user = cJSON_GetObjectItemCaseSensitive(s, "user");
    const cJSON* autostart = cJSON_GetObjectItemCaseSensitive(s, "autostart");
    if (!exec == !builtin) return fail("give either \"exec\" (a program) or \"builtin\"");
    if (exec) {
      if (!cJSON_IsString(exec) || exec->valuestring[0] != '/')
        return fail("\"exec\" must be an absolute path");
      if (config || mode) return fail("\"config\" and \"mode\" are for built-ins");
      plan.argv.push_back(exec->valuestring);
      if (args) {
        std::string why = strings_of(args, "args", plan.argv);
        if (!why.empty()) return fail(why);
      }
    } else {
      if (!cJSON_IsString(builtin) || !is_builtin_service(builtin->valuestring))
        return fail("\"builtin\" must be tun2socks, udp-local or udp-server");
      plan.builtin = builtin->valuestring;
      if (mode && (!cJSON_IsString(mode) || (std::string(mode->valuestring) != "process" &&
                                             std::string(mode->valuestring) != "inproc")))
        return fail("\"mode\" must be \"process\" or \"inproc\"");
      plan.in_process = mode && std::string(mode->valuestring) == "inproc";
      if (args && config) return fail("give \"args\" or \"config\", not both");
      if (plan.in_process && !config) return fail("in-process needs \"config\"");
      std::string why = config ? builtin_config(plan.builtin, config, plan)
                        : args ? builtin_flags(plan.builtin, args, plan)
                               : "";
      if (!why.empty()) return fail(why);
      if (plan.in_process) plan.tun.clear();  // in-process, tun2socks opens its device itself
      if (!plan.tun.empty() && !valid_device_name(plan.tun))
        return fail("\"tun\": not a valid device name");
    }
    if (user) {
      if (!cJSON_IsString(user) || !*user->valuestring) return fail("\"user\" must be a user name");
      plan.user = user->valuestring;
    }
    if (autostart) {
      if (!cJSON_IsBool(autostart)) return fail("\"autostart\" must be true or false");
      plan.autostart = cJSON_IsTrue(autostart);
    }
    plan.trusted = true;
    declared_[name] = plan;
  }
  return Status::success();
}

Status ServiceCatalog::plan_start(const cJSON* params, PeerRole role, LaunchPlan& out) const {
  auto param = [&](const char* key) {
    return params ? cJSON_GetObjectItemCaseSensitive(params, key) : nullptr;
  };
  const cJSON* name_item = param("name");
  if (!cJSON_IsString(name_item) || !*name_item->valuestring)
    return Status::failure("parameter \"name\" (a string) is required");
  std::string name = name_item->valuestring;
  if (!valid_service_name(name))
    return Status::failure(
        "\"name\" must be 1-64 letters, digits, '.', '_' or '-', not starting with '.'");
  const cJSON* argv = param("argv");
  const cJSON* args = param("args");
  const cJSON* config = param("config");
  const cJSON* mode = param("mode");
  out = LaunchPlan{};
  if (is_declared(name)) {
    // Root declared it: it runs as declared, whoever asks.
    if (argv || args || config || mode)
      return Status::failure(
          "\"" + name + "\" is declared in the controller's configuration: start it by name only");
    out = declared_.at(name);
    return Status::success();
  }
  if (mode && (!cJSON_IsString(mode) || (std::string(mode->valuestring) != "process" &&
                                         std::string(mode->valuestring) != "inproc")))
    return Status::failure("\"mode\" must be \"process\" or \"inproc\"");
  bool in_process = mode && std::string(mode->valuestring) == "inproc";
  out.trusted = role == PeerRole::admin;
  if (is_builtin_service(name)) {
    out.builtin = name;
    if (argv)
      return Status::failure("\"" + name +
                             "\" is ours: give its options as \"args\" or \"config\"");
    if (in_process) {
      // Inside the controller it runs as root: only root's clients may do that.
      if (role != PeerRole::admin)
        return Status::failure(
            "in-process services run as root: only root may start one (or declare it)");
      if (!config)
        return Status::failure(
            "parameter \"config\" (the service's JSON configuration, docs/CONFIG.md) is "
            "required in-process");
      out.in_process = true;
      std::string why = builtin_config(name, config, out);
      out.tun.clear();
      return why.empty() ? Status::success() : Status::failure(why);
    }
    if (args && config) return Status::failure("give \"args\" or \"config\", not both");
    std::string why = config ? builtin_config(name, config, out)
                      : args ? builtin_flags(name, args, out)
                             : "";
    if (why.empty() && role != PeerRole::admin)
      why = config ? member_key_refusal(config) : member_flag_refusal(out.argv);
    if (!why.empty()) return Status::failure(why);
    if (!out.tun.empty() && !valid_device_name(out.tun))
      return Status::failure("\"tun\": not a valid device name");
    return Status::success();
  }
  if (in_process)
    return Status::failure("only tun2socks, udp-local and udp-server can run in-process");
  if (!argv)
    return Status::failure("no such service: \"" + name +
                           "\" (declare it in the controller's configuration, or give \"argv\")");
  if (role != PeerRole::admin)
    return Status::failure("only root may start a command of its choosing: declare \"" + name +
                           "\" in the controller's configuration");
  std::string why = strings_of(argv, "argv", out.argv);
  if (!why.empty()) return Status::failure(why);
  if (out.argv.empty() || out.argv[0].empty() || out.argv[0][0] != '/')
    return Status::failure(
        "the command must be an absolute path (it is exec'd, never run by a shell)");
  return Status::success();
}

}  // namespace udptun::controller
