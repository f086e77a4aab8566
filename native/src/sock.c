/* sock.c - UDP 4500 and raw ESP sockets. */
#include "sock.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void set_buffers(int fd, int size)
{
	/* The *FORCE variants exceed net.core.rmem_max (we run as root); fall
	 * back to the capped ones otherwise. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
}

int sl_udp_open(const sl_endpoint_t *listen, int bufsize, bool reuseport, char *err, size_t errlen)
{
	int fam = listen->family;
	int fd = socket(fam, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDP);
	if (fd < 0) {
		snprintf(err, errlen, "UDP socket: %s", strerror(errno));
		return -1;
	}
	int one = 1, zero = 0;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0) {
		snprintf(err, errlen, "SO_REUSEPORT: %s", strerror(errno));
		close(fd);
		return -1;
	}
	if (fam == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	set_buffers(fd, bufsize);
	/* Receive GSO trains from the peer as one datagram (split in the worker). */
	setsockopt(fd, SOL_UDP, UDP_GRO, &one, sizeof(one));
	/* Let the kernel fragment outer packets rather than refuse them: the
	 * inner MTU already keeps them below the path MTU in normal set-ups. */
	int pmtu = IP_PMTUDISC_DONT;
	if (fam == AF_INET)
		setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &pmtu, sizeof(pmtu));
	struct sockaddr_storage ss;
	socklen_t len = sl_endpoint_to_sockaddr(listen, fam, &ss);
	if (bind(fd, (struct sockaddr *)&ss, len) < 0) {
		char a[64];
		sl_endpoint_format(listen, a, sizeof(a));
		snprintf(err, errlen, "bind UDP %s:%u: %s", a, listen->port, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Raw ESP (IP protocol 50, RFC 4303 without RFC 3948 encapsulation).
 *
 * Known limitations (by design for now, enforced elsewhere, not silent):
 *  - IPv4 outer addresses only.  This is one AF_INET socket; an SA with
 *    encap 'none' and an IPv6 remote is refused by sl_engine_add_sa (and
 *    updateRemote), so nothing is ever accepted that could not be sent.
 *    IPv6 would need a second AF_INET6 raw socket, whose reads carry no IP
 *    header (RFC 3542 §3) unlike the AF_INET ones the worker parses.
 *  - One reader: only worker 0 polls this socket (see sl_worker_main).  A raw
 *    socket has no SO_REUSEPORT flow steering, so several readers would take
 *    packets of one SA in turn and reorder them, which costs replay-window
 *    slack and throughput (RFC 4303 §3.4.3).  Raw ESP therefore runs on one
 *    core inbound; outbound still uses every worker (sends need no steering).
 *    NAT-T (ESP-in-UDP) is the scaled path and what branch sites behind NAT
 *    use anyway.
 */
int sl_raw_esp_open(int bufsize, char *err, size_t errlen)
{
	int fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ESP);
	if (fd < 0) {
		snprintf(err, errlen, "raw ESP socket: %s", strerror(errno));
		return -1;
	}
	set_buffers(fd, bufsize);
	int pmtu = IP_PMTUDISC_DONT;
	setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &pmtu, sizeof(pmtu));
	return fd;
}
