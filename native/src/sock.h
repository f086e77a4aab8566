/* sock.h - the engine's network sockets. */
#ifndef SL_SOCK_H
#define SL_SOCK_H

#include <stdbool.h>
#include <stddef.h>
#include "addr.h"

/* The shared IKE / ESP-in-UDP socket (RFC 3948) bound to listen, with large
 * buffers (facts.md: receive-buffer drops dominate otherwise).  Returns the
 * fd, -1 on error. */
int sl_udp_open(const sl_endpoint_t *listen, int bufsize, bool reuseport, char *err, size_t errlen);
/* Raw socket of family AF_INET or AF_INET6 for IP protocol 50 (RFC 4303
 * without encapsulation).  IPv4 reads start at the IP header, IPv6 reads at
 * the ESP header. */
int sl_raw_esp_open(int family, int bufsize, char *err, size_t errlen);
/* Keep only ESP packets whose SPI mod n == idx on this raw socket of family
 * (one socket per worker and family, each SA on one worker).  0, or -1 with
 * errno. */
int sl_raw_esp_steer(int fd, int family, unsigned idx, unsigned n);

#endif
