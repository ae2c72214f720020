/* libudptun_controller: proxy-controller as a library. JSON commands on a Unix domain
 * socket (docs/CONTROL-API.md), the TUN device and routes, supervision of the services it
 * starts (child processes, or udp-local/udp-server/tun2socks in-process).
 *
 * Threading: callbacks run on the instance's own loop thread; proxy_controller_stop may be
 * called from any thread. Routing is machine-wide state, so one instance per network
 * namespace is what makes sense, though nothing global stops several. */
#ifndef UDPTUN_CONTROLLER_H
#define UDPTUN_CONTROLLER_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Where the control socket is unless configured: the path Outline-style GUI clients use. */
#define PROXY_CONTROLLER_DEFAULT_SOCKET "/var/run/proxy_controller_domain_socket"

typedef struct proxy_controller proxy_controller_t;

typedef struct proxy_controller_callbacks {
  /* It cannot run (e.g. the socket cannot be bound); it has stopped by then. */
  void (*error)(void* user, const char* message);
} proxy_controller_callbacks;

/* Configuration (every key optional):
 *   {"socket": "/var/run/proxy_controller_domain_socket", "socket_group": "netdev",
 *    "state_dir": "/var/lib/udptun", "bin_dir": "/usr/bin", "max_quick_restarts": 5,
 *    "max_request_bytes": 65536, "log_level": "info"}
 * NULL and a message in err when it is invalid. */
proxy_controller_t* proxy_controller_new(const char* config_json, char* err, size_t errlen);
/* Runs on a thread of its own; 0 or a negative code. */
int proxy_controller_start(proxy_controller_t* c, const proxy_controller_callbacks* cb, void* user);
/* Runs on the calling thread until stopped; 0 on a clean stop, negative if it could not run. */
int proxy_controller_run(proxy_controller_t* c, const proxy_controller_callbacks* cb, void* user);
/* Thread-safe, returns at once. On its way out the controller stops its services and
 * restores routing. */
void proxy_controller_stop(proxy_controller_t* c);
/* Stops if needed, joins the thread if any, frees everything. */
void proxy_controller_free(proxy_controller_t* c);

#ifdef __cplusplus
}
#endif

#endif
