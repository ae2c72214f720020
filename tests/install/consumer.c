/* A program written against the installed headers and libraries only (pkg-config): a
 * udp-server and a udp-local in one process, the tunnel up between them, then a tun2socks
 * and a proxy-controller configuration checked. Exits 0 when all of it worked. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#ifndef _WIN32 /* the controller is Linux-only */
#include <udptun/controller.h>
#endif
#include <udptun/tun2socks.h>
#include <udptun/udplocal.h>
#include <udptun/udpserver.h>

static char server_address[64];
static volatile int session_up;

static void on_server_started(void* user, const char* address) {
  (void)user;
  snprintf(server_address, sizeof server_address, "%s", address);
}

static void on_session(void* user, const char* id, int up, int resumed) {
  (void)user;
  (void)id;
  (void)resumed;
  session_up = up;
}

/* The whole file, NUL-terminated, in buf (at most cap-1 bytes); 0 when unreadable. */
static int slurp(const char* path, char* buf, size_t cap) {
  FILE* f = fopen(path, "rb");
  if (!f) return 0;
  size_t n = fread(buf, 1, cap - 1, f);
  fclose(f);
  buf[n] = '\0';
  return 1;
}

static void sleep_ms(long ms) {
  struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&t, NULL);
}

int main(int argc, char** argv) {
  const char* key = argc > 1 ? argv[1] : "/dev/null";
  char err[256], config[512];
  snprintf(config, sizeof config, "{\"listen\":\"127.0.0.1:0\",\"psk_file\":\"%s\"}", key);
  udpserver_t* server = udpserver_new(config, err, sizeof err);
  if (!server) return fprintf(stderr, "udpserver_new: %s\n", err), 1;
  udpserver_callbacks scb;
  memset(&scb, 0, sizeof scb);
  scb.started = on_server_started;
  if (udpserver_start(server, &scb, NULL) != 0) return 1;
  for (int i = 0; i < 300 && !server_address[0]; ++i) sleep_ms(10);
  if (!server_address[0]) return fprintf(stderr, "the server did not start\n"), 1;

  snprintf(config, sizeof config, "{\"server\":\"%s\",\"psk_file\":\"%s\",\"in_process\":true}",
           server_address, key);
  udplocal_t* local = udplocal_new(config, err, sizeof err);
  if (!local) return fprintf(stderr, "udplocal_new: %s\n", err), 1;
  udplocal_callbacks lcb;
  memset(&lcb, 0, sizeof lcb);
  lcb.session = on_session;
  if (udplocal_start(local, &lcb, NULL) != 0) return 1;
  for (int i = 0; i < 300 && !session_up; ++i) sleep_ms(10);
  if (!session_up) return fprintf(stderr, "no session\n"), 1;
  udplocal_stats stats;
  udplocal_get_stats(local, &stats);
  char json[2048];
  udplocal_stats_json(&stats, json, sizeof json);
  printf("tunnel up: %s\n", json);
  udplocal_free(local);
  udpserver_free(server);

  /* The shipped example configurations are valid (argv: server, local, tun2socks,
   * controller). */
  if (argc > 4) {
    char text[4096];
    udpserver_t* s2 =
        slurp(argv[2], text, sizeof text) ? udpserver_new(text, err, sizeof err) : NULL;
    if (!s2) return fprintf(stderr, "%s: %s\n", argv[2], err), 1;
    udpserver_free(s2);
    udplocal_t* l2 = slurp(argv[3], text, sizeof text) ? udplocal_new(text, err, sizeof err) : NULL;
    if (!l2) return fprintf(stderr, "%s: %s\n", argv[3], err), 1;
    udplocal_free(l2);
    tun2socks_t* t2 =
        slurp(argv[4], text, sizeof text) ? tun2socks_new(text, err, sizeof err) : NULL;
    if (!t2) return fprintf(stderr, "%s: %s\n", argv[4], err), 1;
    tun2socks_free(t2);
#ifndef _WIN32
    if (argc > 5) { /* the controller's, with its declared services */
      proxy_controller_t* c2 =
          slurp(argv[5], text, sizeof text) ? proxy_controller_new(text, err, sizeof err) : NULL;
      if (!c2) return fprintf(stderr, "%s: %s\n", argv[5], err), 1;
      proxy_controller_free(c2);
    }
#endif
    printf("the example configurations are accepted\n");
  }
  if (tun2socks_new("{\"no_such_key\":1}", err, sizeof err) != NULL) return 1;
  printf("tun2socks refused a bad configuration: %s\n", err);
#ifndef _WIN32
  proxy_controller_t* controller =
      proxy_controller_new("{\"socket\":\"/tmp/x.sock\"}", err, sizeof err);
  if (!controller) return fprintf(stderr, "proxy_controller_new: %s\n", err), 1;
  proxy_controller_free(controller);
#endif
  printf("ok\n");
  return 0;
}
