/* tun.h - the engine's TUN device (one queue per worker, IFF_MULTI_QUEUE). */
#ifndef SL_TUN_H
#define SL_TUN_H

#include <stdbool.h>
#include <stddef.h>

/* Create/attach nqueues queues of TUN device name (IFF_TUN | IFF_NO_PI), set
 * its MTU and bring it up.  fds[] receives non-blocking queue fds.  -1 on
 * error with a reason in err. */
int sl_tun_open(const char *name, int nqueues, int mtu, int *fds, char *err, size_t errlen);
/* Every queue carries a virtio_net_hdr (IFF_VNET_HDR); *tso tells whether
 * the kernel also accepted TCP segmentation offload (super packets), *uso
 * UDP segmentation offload (TUN_F_USO4/6, Linux 6.2): UDP super packets
 * from the TUN, and UDP GRO trains written to it. */
int sl_tun_offload(int *fds, int nqueues, bool *tso, bool *uso);

#endif
