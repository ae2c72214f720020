/* lwIP platform glue for Linux/glibc and other POSIX C libraries. */
#ifndef UDPTUN_LWIP_ARCH_CC_H
#define UDPTUN_LWIP_ARCH_CC_H

/* lwIP's arch.h assumes little-endian unless BYTE_ORDER says otherwise. */
#include <endian.h>
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
#define LWIP_RAND() ((u32_t)arc4random())

#endif
