// The controller below its socket: configureRouting's parameters checked apart from applying
// them (every refusal names the parameter; nothing half-filled is used), and the route
// journal a crashed controller's successor acts on (round trip, torn or hostile files).
#include <cJSON.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "route_journal.hpp"
#include "routing_request.hpp"
// Last: cmocka defines macros the headers above must not see.
#include "cmocka_support.hpp"

using namespace udptun::controller;

namespace {

std::string parse(const char* json, RoutingRequest& req) {
  cJSON* params = cJSON_Parse(json);
  udptun::Status parsed = parse_routing_request(params, req);
  cJSON_Delete(params);
  return parsed.message();
}

bool refused_naming(const char* json, const char* name) {
  RoutingRequest req;
  std::string why = parse(json, req);
  return !why.empty() && why.find(name) != std::string::npos;
}

}  // namespace

static void test_a_good_request(void**) {
  RoutingRequest req;
  assert_string_equal(parse(R"({"proxyIp":["203.0.113.10","2001:db8::1"],"routerIp":"10.0.85.1",)"
                            R"("tunName":"utun-7","mtu":9000,"ipv6":false,"isAutoConnect":true})",
                            req)
                          .c_str(),
                      "");
  assert_int_equal(req.proxy_ips.size(), 2);
  assert_string_equal(udptun::protocol::format_address(req.router_ip).c_str(), "10.0.85.1:0");
  assert_string_equal(req.tun_name.c_str(), "utun-7");
  assert_int_equal(req.mtu, 9000);
  assert_false(req.ipv6);
  // The seed's single string form, and the defaults.
  RoutingRequest simple;
  assert_string_equal(parse(R"({"proxyIp":"203.0.113.10","routerIp":"10.0.85.1"})", simple).c_str(),
                      "");
  assert_string_equal(simple.tun_name.c_str(), "udptun0");
  assert_int_equal(simple.mtu, 1500);
  assert_true(simple.ipv6);
}

static void test_bad_requests_name_the_parameter(void**) {
  assert_true(refused_naming(R"({"proxyIp":"203.0.113.10"})", "routerIp"));
  assert_true(refused_naming(R"({"proxyIp":"203.0.113.10","routerIp":"fd00::1"})", "routerIp"));
  assert_true(refused_naming(R"({"proxyIp":"203.0.113.10","routerIp":"router.lan"})", "routerIp"));
  assert_true(
      refused_naming(R"({"proxyIp":"203.0.113.10","routerIp":"10.0.85.1:53"})", "routerIp"));
  assert_true(refused_naming(R"({"routerIp":"10.0.85.1"})", "proxyIp"));
  assert_true(refused_naming(R"({"proxyIp":[],"routerIp":"10.0.85.1"})", "proxyIp"));
  assert_true(refused_naming(R"({"proxyIp":["example.com"],"routerIp":"10.0.85.1"})", "proxyIp"));
  assert_true(refused_naming(R"({"proxyIp":[1],"routerIp":"10.0.85.1"})", "proxyIp"));
  assert_true(refused_naming(R"({"proxyIp":"1.2.3.4","routerIp":"10.0.85.1","tunName":"../x"})",
                             "tunName"));
  assert_true(refused_naming(
      R"({"proxyIp":"1.2.3.4","routerIp":"10.0.85.1","tunName":"a-name-far-too-long"})",
      "tunName"));
  assert_true(refused_naming(R"({"proxyIp":"1.2.3.4","routerIp":"10.0.85.1","tunName":"Eth0"})",
                             "tunName"));
  assert_true(refused_naming(R"({"proxyIp":"1.2.3.4","routerIp":"10.0.85.1","mtu":100})", "mtu"));
  assert_true(
      refused_naming(R"({"proxyIp":"1.2.3.4","routerIp":"10.0.85.1","mtu":"1500"})", "mtu"));
  assert_true(refused_naming(R"({"proxyIp":"1.2.3.4","routerIp":"10.0.85.1","ipv6":1})", "ipv6"));
  assert_true(refused_naming(
      R"({"proxyIp":"1.2.3.4","routerIp":"10.0.85.1","routerIp6":"10.1.1.1"})", "routerIp6"));
  assert_true(refused_naming(
      R"({"proxyIp":"1.2.3.4","routerIp":"10.0.85.1","isAutoConnect":"yes"})", "isAutoConnect"));
  RoutingRequest req;
  assert_false(parse_routing_request(nullptr, req).ok());  // no parameters at all
  // The router address becomes an address of this machine: a remote one is refused.
  for (const char* ip : {"203.0.113.7", "8.8.8.8", "127.0.0.1", "169.254.1.1", "11.0.0.1",
                         "172.32.0.1", "192.169.0.1"})
    assert_true(refused_naming(
        (std::string(R"({"proxyIp":"1.2.3.4","routerIp":")") + ip + "\"}").c_str(), "private"));
  for (const char* ip :
       {"10.0.85.1", "172.16.0.1", "172.31.255.1", "192.168.7.1", "100.64.0.1", "198.18.0.1"}) {
    RoutingRequest ok;
    assert_string_equal(
        parse((std::string(R"({"proxyIp":"1.2.3.4","routerIp":")") + ip + "\"}").c_str(), ok)
            .c_str(),
        "");
  }
  assert_true(refused_naming(
      R"({"proxyIp":"1.2.3.4","routerIp":"10.0.85.1","routerIp6":"2001:db8::1"})", "fc00::/7"));
}

// The router address and its /24 against what the system has: never an address in use,
// never a network routed elsewhere; ours (the TUN) and the default route do not count.
static void test_router_ip_must_be_free(void**) {
  udptun::protocol::Address router;
  uint8_t ip[4] = {10, 0, 85, 1};
  router = udptun::protocol::Address::ipv4(ip, 0);
  std::vector<ExistingRoute> routes = {{0, 0, "eth0"},                         // default
                                       {0x0A000000, 0xFFFFFF00u, "eth0"},      // 10.0.0.0/24
                                       {0x0A005500, 0xFFFFFF00u, "udptun0"}};  // ours
  std::vector<ExistingAddress> addresses = {{0x0A000002, "eth0"}, {0x0A005501, "udptun0"}};
  assert_true(check_router_ip_free(router, routes, addresses, "udptun0").ok());
  // Another device's /16 holds it; another device's /32 inside it; its address elsewhere.
  auto with = [&](ExistingRoute r) {
    auto more = routes;
    more.push_back(r);
    return check_router_ip_free(router, more, addresses, "udptun0");
  };
  assert_false(with({0x0A000000, 0xFFFF0000u, "lan0"}).ok());
  assert_false(with({0x0A005509, 0xFFFFFFFFu, "wg0"}).ok());
  assert_true(with({0x0A005600, 0xFFFFFF00u, "wg0"}).ok());  // the next /24: fine
  auto taken = addresses;
  taken.push_back({0x0A005501, "eth1"});
  udptun::Status s = check_router_ip_free(router, routes, taken, "udptun0");
  assert_false(s.ok());
  assert_non_null(strstr(s.message().c_str(), "eth1"));
}

static void test_journal_round_trip_and_hostile_files(void**) {
  char dir[] = "/tmp/udptun-journal-XXXXXX";
  assert_non_null(mkdtemp(dir));
  std::string path = std::string(dir) + "/routing.json";
  RouteJournal journal(path);
  assert_false(journal.load().has_value());  // none yet
  RoutingState s;
  s.tun_name = "udptun0";
  s.tun_created = true;
  s.gateway = "192.0.2.254";
  s.gateway_dev = "eth0";
  s.gateway6 = "fe80::1";
  s.gateway6_dev = "eth0";
  s.proxy_routes = {"203.0.113.10/32", "2001:db8::1/128"};
  s.proxy_guards = {"203.0.113.10/32"};
  s.split_default = true;
  s.split_default6 = true;
  assert_true(journal.save(s).ok());
  struct stat st {};
  assert_int_equal(stat(path.c_str(), &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);  // only root reads what it will act on
  auto back = journal.load();
  assert_true(back.has_value());
  assert_string_equal(back->tun_name.c_str(), "udptun0");
  assert_true(back->tun_created && back->split_default && back->split_default6);
  assert_string_equal(back->gateway_dev.c_str(), "eth0");
  assert_string_equal(back->gateway6.c_str(), "fe80::1");
  assert_int_equal(back->proxy_routes.size(), 2);
  assert_string_equal(back->proxy_routes[1].c_str(), "2001:db8::1/128");
  assert_int_equal(back->proxy_guards.size(), 1);
  // A torn or foreign file is no journal: nothing is undone on its say-so.
  FILE* f = std::fopen(path.c_str(), "w");
  std::fputs("{\"tun\":\"udptun0\",\"proxyRou", f);
  std::fclose(f);
  chmod(path.c_str(), 0600);
  assert_false(journal.load().has_value());
  // One that others may write is refused: a root daemon acts on root's decisions only.
  assert_true(journal.save(s).ok());
  chmod(path.c_str(), 0666);
  assert_false(journal.load().has_value());
  journal.remove();
  assert_int_not_equal(access(path.c_str(), F_OK), 0);
  rmdir(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_a_good_request),
      cmocka_unit_test(test_bad_requests_name_the_parameter),
      cmocka_unit_test(test_router_ip_must_be_free),
      cmocka_unit_test(test_journal_round_trip_and_hostile_files),
  };
  return cmocka_run_group_tests_name("routing_request", tests, nullptr, nullptr);
}
