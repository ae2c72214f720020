#include "service_journal.hpp"

#include <cJSON.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "udptun/runtime/small_file.hpp"

namespace udptun::controller {

namespace {

cJSON* strings(const std::vector<std::string>& v) {
  cJSON* a = cJSON_CreateArray();
  for (const auto& s : v) cJSON_AddItemToArray(a, cJSON_CreateString(s.c_str()));
  return a;
}

std::string text_of(const cJSON* o, const char* key) {
  const cJSON* v = cJSON_GetObjectItemCaseSensitive(o, key);
  return cJSON_IsString(v) ? v->valuestring : "";
}

}  // namespace

uint64_t process_start_time(pid_t pid) {
  if (pid <= 0) return 0;
  auto read = runtime::read_small_file("/proc/" + std::to_string(pid) + "/stat", {});
  if (!read.ok()) return 0;
  const std::string& stat = read.value();
  // Field 22; the command (field 2) may hold spaces and parentheses: count after its ')'.
  size_t at = stat.rfind(')');
  if (at == std::string::npos) return 0;
  int field = 2;
  const char* p = stat.c_str() + at + 1;
  while (*p && field < 21) {
    if (*p == ' ') ++field;
    ++p;
  }
  return std::strtoull(p, nullptr, 10);
}

Status ServiceJournal::save(const std::vector<JournaledService>& services) {
  cJSON* root = cJSON_CreateObject();
  cJSON* list = cJSON_AddArrayToObject(root, "services");
  for (const auto& s : services) {
    cJSON* o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", s.name.c_str());
    cJSON_AddStringToObject(o, "builtin", s.plan.builtin.c_str());
    cJSON_AddItemToObject(o, "argv", strings(s.plan.argv));
    cJSON_AddStringToObject(o, "config", s.plan.config.c_str());
    cJSON_AddBoolToObject(o, "inproc", s.plan.in_process);
    cJSON_AddStringToObject(o, "tun", s.plan.tun.c_str());
    cJSON_AddStringToObject(o, "user", s.plan.user.c_str());
    cJSON_AddBoolToObject(o, "trusted", s.plan.trusted);
    cJSON_AddNumberToObject(o, "pid", s.pid);
    cJSON_AddNumberToObject(o, "startTime", static_cast<double>(s.start_time));
    cJSON_AddItemToArray(list, o);
  }
  char* text = cJSON_PrintUnformatted(root);
  std::string body = text ? text : "{}";
  cJSON_free(text);
  cJSON_Delete(root);
  // Not synced: it is for a controller killed, not a machine losing power (and it is
  // rewritten on every service event).
  return runtime::replace_small_file(path_, body, false).within("service journal");
}

std::vector<JournaledService> ServiceJournal::load() const {
  std::vector<JournaledService> out;
  runtime::FileLimits limits;
  limits.owner_only_writable = true;
  auto text = runtime::read_small_file(path_, limits);
  if (!text.ok()) return out;
  cJSON* root = cJSON_Parse(text->c_str());
  const cJSON* o;
  cJSON_ArrayForEach(o, cJSON_GetObjectItemCaseSensitive(root, "services")) {
    JournaledService s;
    s.name = text_of(o, "name");
    if (!valid_service_name(s.name)) continue;
    s.plan.builtin = text_of(o, "builtin");
    const cJSON* a;
    cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(o, "argv")) {
      if (cJSON_IsString(a)) s.plan.argv.emplace_back(a->valuestring);
    }
    s.plan.config = text_of(o, "config");
    s.plan.in_process = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "inproc"));
    s.plan.tun = text_of(o, "tun");
    s.plan.user = text_of(o, "user");
    s.plan.trusted = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "trusted"));
    const cJSON* pid = cJSON_GetObjectItemCaseSensitive(o, "pid");
    const cJSON* start = cJSON_GetObjectItemCaseSensitive(o, "startTime");
    s.pid = cJSON_IsNumber(pid) ? static_cast<pid_t>(pid->valuedouble) : 0;
    s.start_time = cJSON_IsNumber(start) ? static_cast<uint64_t>(start->valuedouble) : 0;
    if (!s.plan.builtin.empty() && !is_builtin_service(s.plan.builtin)) continue;
    if (s.plan.builtin.empty() && (s.plan.argv.empty() || s.plan.argv[0][0] != '/')) continue;
    out.push_back(std::move(s));
  }
  cJSON_Delete(root);
  return out;
}

void ServiceJournal::kill_leftovers(const JournaledService& s) {
  if (s.pid <= 1) return;
  uint64_t now = process_start_time(s.pid);
  // The leader still there under another start time: its pid was reused, not ours. Gone: its
  // group id cannot be reused while members are left, so the group is still ours.
  if (now != 0 && now != s.start_time) return;
  kill(-s.pid, SIGKILL);
  if (now != 0) kill(s.pid, SIGKILL);
}

}  // namespace udptun::controller
