/* tun.h - the engine's TUN device (one queue per worker, IFF_MULTI_QUEUE). */
#ifndef SL_TUN_H
#define SL_TUN_H

#include <stddef.h>

/* Create/attach nqueues queues of TUN device name (IFF_TUN | IFF_NO_PI), set
 * its MTU and bring it up.  fds[] receives non-blocking queue fds.  -1 on
 * error with a reason in err. */
int sl_tun_open(const char *name, int nqueues, int mtu, int *fds, char *err, size_t errlen);

#endif
