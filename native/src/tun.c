/* tun.c - TUN device creation via /dev/net/tun (Documentation/networking/tuntap.rst). */
#include "tun.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

int sl_tun_open(const char *name, int nqueues, int mtu, int *fds, char *err, size_t errlen)
{
	if (strlen(name) == 0 || strlen(name) >= IFNAMSIZ) {
		snprintf(err, errlen, "bad TUN name");
		return -1;
	}
	int i;
	for (i = 0; i < nqueues; i++) {
		int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0) {
			snprintf(err, errlen, "open /dev/net/tun: %s", strerror(errno));
			goto fail;
		}
		struct ifreq ifr;
		memset(&ifr, 0, sizeof(ifr));
		/* No packet-info header: the IP version nibble tells v4 from v6. */
		ifr.ifr_flags = IFF_TUN | IFF_NO_PI | IFF_MULTI_QUEUE | IFF_VNET_HDR;
		snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
		if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
			snprintf(err, errlen, "TUNSETIFF %s: %s", name, strerror(errno));
			close(fd);
			goto fail;
		}
		fds[i] = fd;
	}
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		goto fail;
	}
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
	ifr.ifr_mtu = mtu;
	if (ioctl(s, SIOCSIFMTU, &ifr) < 0) {
		snprintf(err, errlen, "set MTU %d on %s: %s", mtu, name, strerror(errno));
		close(s);
		goto fail;
	}
	/* The default 500-packet queue overflows while a worker is busy with a
	 * batch; every overflow is a TCP loss inside the tunnel. */
	ifr.ifr_qlen = 4096;
	if (ioctl(s, SIOCSIFTXQLEN, &ifr) < 0) {
		snprintf(err, errlen, "set txqueuelen on %s: %s", name, strerror(errno));
		close(s);
		goto fail;
	}
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0 ||
	    (ifr.ifr_flags |= IFF_UP | IFF_RUNNING, ioctl(s, SIOCSIFFLAGS, &ifr) < 0)) {
		snprintf(err, errlen, "bring %s up: %s", name, strerror(errno));
		close(s);
		goto fail;
	}
	close(s);
	return 0;
fail:
	while (i-- > 0)
		close(fds[i]);
	return -1;
}

/* UDP segmentation offload on TUN (Linux 6.2, include/uapi/linux/if_tun.h);
 * the build host's headers may predate it. */
#ifndef TUN_F_USO4
#define TUN_F_USO4 0x20
#endif
#ifndef TUN_F_USO6
#define TUN_F_USO6 0x40
#endif

int sl_tun_offload(int *fds, int nqueues, bool *tso, bool *uso)
{
	int sz = 10; /* struct virtio_net_hdr, no num_buffers */
	const unsigned long base = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6;
	/* The richest set the kernel takes, the same on every queue: checksum
	 * offload + TSO (TCP hands us up to 64 KiB per read) + USO (UDP_SEGMENT
	 * senders' trains, and our UDP GRO toward the TUN); without USO (before
	 * 6.2: EINVAL) TSO alone; without either (old kernels) packets come one
	 * by one and go back one by one. */
	const unsigned long sets[] = { base | TUN_F_USO4 | TUN_F_USO6, base, 0 };
	size_t k = 0;
	for (int i = 0; i < nqueues; i++) {
		if (ioctl(fds[i], TUNSETVNETHDRSZ, &sz) < 0)
			return -1;
		while (ioctl(fds[i], TUNSETOFFLOAD, sets[k]) < 0) {
			if (++k == sizeof(sets) / sizeof(sets[0]))
				return -1;
			/* A smaller set: the queues done so far step down too. */
			for (int j = 0; j < i; j++)
				if (ioctl(fds[j], TUNSETOFFLOAD, sets[k]) < 0)
					return -1;
		}
	}
	*tso = (sets[k] & TUN_F_TSO4) != 0;
	*uso = (sets[k] & TUN_F_USO4) != 0;
	return 0;
}
