/* lwIP platform glue for Linux/glibc and other POSIX C libraries. */
#ifndef UDPTUN_LWIP_ARCH_CC_H
#define UDPTUN_LWIP_ARCH_CC_H

/* lwIP's arch.h assumes little-endian unless BYTE_ORDER says otherwise (Windows runs on
 * little-endian machines only). */
#ifndef _WIN32
#include <endian.h>
#else
#define _CRT_RAND_S /* rand_s, from the system's CSPRNG */
#endif
#include <stdio.h>
#include <stdlib.h>

#define LWIP_PLATFORM_DIAG(x) \
  do {                        \
    printf x;                 \
  } while (0)
#define LWIP_PLATFORM_ASSERT(x)                                                 \
  do {                                                                          \
    fprintf(stderr, "lwIP assertion \"%s\" at %s:%d\n", x, __FILE__, __LINE__); \
    abort();                                                                    \
  } while (0)

/* Initial sequence numbers and ephemeral ports: not predictable from outside (glibc >= 2.36
 * declares arc4random in stdlib.h). */
#ifdef _WIN32
static inline unsigned int udptun_lwip_rand(void) {
  unsigned int r = 0;
  rand_s(&r);
  return r;
}
#define LWIP_RAND() ((u32_t)udptun_lwip_rand())
#else
#define LWIP_RAND() ((u32_t)arc4random())
#endif

#endif
