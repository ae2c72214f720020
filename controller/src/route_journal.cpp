#include "route_journal.hpp"

#include <cJSON.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "udptun/runtime/small_file.hpp"

namespace udptun::controller {

Status RouteJournal::save(const RoutingState& s) {
  cJSON* j = cJSON_CreateObject();
  cJSON_AddStringToObject(j, "tun", s.tun_name.c_str());
  cJSON_AddBoolToObject(j, "tunCreated", s.tun_created);
  cJSON_AddStringToObject(j, "gateway", s.gateway.c_str());
  cJSON_AddStringToObject(j, "gatewayDev", s.gateway_dev.c_str());
  cJSON_AddBoolToObject(j, "splitDefault", s.split_default);
  cJSON_AddStringToObject(j, "gateway6", s.gateway6.c_str());
  cJSON_AddStringToObject(j, "gateway6Dev", s.gateway6_dev.c_str());
  cJSON_AddBoolToObject(j, "splitDefault6", s.split_default6);
  cJSON* routes = cJSON_AddArrayToObject(j, "proxyRoutes");
  for (const auto& r : s.proxy_routes) cJSON_AddItemToArray(routes, cJSON_CreateString(r.c_str()));
  cJSON* guards = cJSON_AddArrayToObject(j, "proxyGuards");
  for (const auto& r : s.proxy_guards) cJSON_AddItemToArray(guards, cJSON_CreateString(r.c_str()));
  char* text = cJSON_Print(j);
  std::string body = text ? text : "{}";
  cJSON_free(text);
  cJSON_Delete(j);
  // Synced: it must survive the crash it is there for.
  return runtime::replace_small_file(path_, body, true).within("routing journal");
}

std::optional<RoutingState> RouteJournal::load() const {
  runtime::FileLimits limits;
  limits.owner_only_writable = true;
  auto text = runtime::read_small_file(path_, limits);
  if (!text.ok()) return std::nullopt;
  cJSON* j = cJSON_Parse(text->c_str());
  if (!j) return std::nullopt;
  RoutingState s;
  auto str = [&](const char* k) {
    const cJSON* v = cJSON_GetObjectItemCaseSensitive(j, k);
    return cJSON_IsString(v) ? std::string(v->valuestring) : std::string();
  };
  s.tun_name = str("tun");
  s.gateway = str("gateway");
  s.gateway_dev = str("gatewayDev");
  s.gateway6 = str("gateway6");
  s.gateway6_dev = str("gateway6Dev");
  s.split_default6 = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "splitDefault6"));
  s.tun_created = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "tunCreated"));
  s.split_default = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "splitDefault"));
  const cJSON* r;
  cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(j, "proxyRoutes")) {
    if (cJSON_IsString(r)) s.proxy_routes.emplace_back(r->valuestring);
  }
  cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(j, "proxyGuards")) {
    if (cJSON_IsString(r)) s.proxy_guards.emplace_back(r->valuestring);
  }
  cJSON_Delete(j);
  return s;
}

void RouteJournal::remove() {
  unlink(path_.c_str());
}

}  // namespace udptun::controller
