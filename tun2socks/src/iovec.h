/* struct iovec, the (base, length) pair packets are passed around in: <sys/uio.h> on POSIX,
 * declared here with the same layout on Windows (which has no such header). */
#ifndef UDPTUN_TUN2SOCKS_IOVEC_H
#define UDPTUN_TUN2SOCKS_IOVEC_H

#ifdef _WIN32
#include <stddef.h>
struct iovec {
  void* iov_base;
  size_t iov_len;
};
#else
#include <sys/uio.h>
#endif

#endif
