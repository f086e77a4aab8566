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
/* Raw IPv4 socket for IP protocol 50 (RFC 4303 without encapsulation). */
int sl_raw_esp_open(int bufsize, char *err, size_t errlen);
/* Keep only ESP packets whose SPI mod n == idx on this raw socket (one socket
 * per worker, each SA on one worker).  0, or -1 with errno. */
int sl_raw_esp_steer(int fd, unsigned idx, unsigned n);

#endif
