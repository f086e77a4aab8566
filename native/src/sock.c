/* sock.c - UDP 4500 and raw ESP sockets. */
#include "sock.h"

#include <linux/filter.h>

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
	setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &pmtu, sizeof(pmtu)); /* IPv4 and v4-mapped */
	if (fam == AF_INET6) {
		int pmtu6 = IPV6_PMTUDISC_DONT;
		setsockopt(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &pmtu6, sizeof(pmtu6));
	}
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
 * Raw ESP (IP protocol 50, RFC 4303 without RFC 3948 encapsulation), one
 * socket per address family and per worker.
 *
 *  - IPv4 and IPv6 outer addresses.  An AF_INET raw socket delivers the IPv4
 *    header before the ESP header; an AF_INET6 one delivers the ESP header
 *    alone (RFC 3542 §3: IPv6 raw sockets never pass the IPv6 header up),
 *    so the worker and the steering filter skip a header for IPv4 only.  A
 *    kernel without IPv6 gives no AF_INET6 socket: the engine then refuses
 *    an IPv6 remote with encap 'none' (sl_engine_add_sa), never silently.
 *  - Every worker has its own raw sockets.  A raw socket has no SO_REUSEPORT
 *    flow steering and each one gets a copy of every ESP packet, so each
 *    carries a classic BPF filter (sl_raw_esp_steer) that keeps only the SPIs
 *    with SPI mod workers == its index: every packet is read exactly once,
 *    and all packets of one SA by the same worker, so nothing is reordered
 *    inside an SA (RFC 4303 §3.4.3 replay window).
 */
int sl_raw_esp_open(int family, int bufsize, char *err, size_t errlen)
{
	if (family != AF_INET && family != AF_INET6) {
		snprintf(err, errlen, "raw ESP socket: unknown address family %d", family);
		return -1;
	}
	int fd = socket(family, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ESP);
	if (fd < 0) {
		snprintf(err, errlen, "raw ESP socket (%s): %s", family == AF_INET ? "IPv4" : "IPv6",
			 strerror(errno));
		return -1;
	}
	set_buffers(fd, bufsize);
	/* Let the kernel fragment an outer packet over the path MTU rather than
	 * refuse it (IPv6: fragmented by us, the source, RFC 8200 §4.5). */
	if (family == AF_INET) {
		int pmtu = IP_PMTUDISC_DONT;
		setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &pmtu, sizeof(pmtu));
	} else {
		int pmtu = IPV6_PMTUDISC_DONT;
		setsockopt(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &pmtu, sizeof(pmtu));
	}
	return fd;
}

int sl_raw_esp_steer(int fd, int family, unsigned idx, unsigned n)
{
	if (n < 1 || idx >= n || (family != AF_INET && family != AF_INET6)) {
		errno = EINVAL;
		return -1;
	}
	/* A raw IPv4 socket's filter sees the packet from the IP header on, a raw
	 * IPv6 socket's from the ESP header on; the SPI is the first word of the
	 * ESP header (RFC 4303 §2.1).  A packet too short to hold one fails the
	 * load, which drops it (it is malformed). */
	struct sock_filter v4[] = {
		BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 0),      /* X = IHL * 4 */
		BPF_STMT(BPF_LD | BPF_W | BPF_IND, 0),       /* A = SPI */
		BPF_STMT(BPF_ALU | BPF_MOD | BPF_K, n),      /* A = SPI mod n */
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, idx, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, 0xffffffffu),      /* ours: whole packet */
		BPF_STMT(BPF_RET | BPF_K, 0),                /* another worker's */
	};
	struct sock_filter v6[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0),       /* A = SPI */
		BPF_STMT(BPF_ALU | BPF_MOD | BPF_K, n),      /* A = SPI mod n */
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, idx, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, 0xffffffffu),
		BPF_STMT(BPF_RET | BPF_K, 0),
	};
	struct sock_fprog fp = family == AF_INET
		? (struct sock_fprog){ .len = sizeof(v4) / sizeof(v4[0]), .filter = v4 }
		: (struct sock_fprog){ .len = sizeof(v6) / sizeof(v6[0]), .filter = v6 };
	return setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &fp, sizeof(fp));
}
