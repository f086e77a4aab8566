/*
 * test_raw_steer.c - raw ESP on every worker: each worker's raw socket keeps
 * only the SPIs with SPI mod workers == its index (sl_raw_esp_steer), so every
 * ESP packet is read exactly once and all packets of an SA by one worker.
 *
 * Runs in a private network namespace (unshare) on its loopback; needs root
 * (CAP_NET_ADMIN, CAP_NET_RAW): without it prints SKIPPED and exits 77.
 */
#include "engine_check.h"
#include "sock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#define EXIT_SKIP 77
#define NW 3
#define NSPI 60

static int lo_up(void)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	int rc = ioctl(fd, SIOCGIFFLAGS, &ifr);
	if (rc == 0) {
		ifr.ifr_flags |= IFF_UP;
		rc = ioctl(fd, SIOCSIFFLAGS, &ifr);
	}
	close(fd);
	return rc;
}

/* Sends NSPI ESP-looking packets (and a runt) to loopback of family fam and
 * checks each reaches exactly the worker socket its SPI belongs to.  IPv4
 * reads carry the IP header, IPv6 reads start at the ESP header. */
static void steer_family(int fam)
{
	char err[128];
	int rx[NW];
	for (int i = 0; i < NW; i++) {
		rx[i] = sl_raw_esp_open(fam, 1 << 20, err, sizeof(err));
		CHECK(rx[i] >= 0);
		if (rx[i] < 0)
			return;
		CHECK_EQ(sl_raw_esp_steer(rx[i], fam, (unsigned)i, NW), 0);
	}
	CHECK(sl_raw_esp_steer(rx[0], fam, NW, NW) != 0); /* index out of range refused */
	int tx = sl_raw_esp_open(fam, 1 << 20, err, sizeof(err));
	CHECK(tx >= 0);
	struct sockaddr_storage to;
	socklen_t tolen;
	memset(&to, 0, sizeof(to));
	if (fam == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&to;
		s4->sin_family = AF_INET;
		s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		tolen = sizeof(*s4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&to;
		s6->sin6_family = AF_INET6;
		s6->sin6_addr = in6addr_loopback;
		tolen = sizeof(*s6);
	}
	/* ESP header (SPI, sequence number) and some payload; the filter only reads the SPI. */
	for (uint32_t k = 0; k < NSPI; k++) {
		uint32_t spi = 0x1000 + k * 7919;
		uint8_t p[64] = { 0 };
		p[0] = (uint8_t)(spi >> 24);
		p[1] = (uint8_t)(spi >> 16);
		p[2] = (uint8_t)(spi >> 8);
		p[3] = (uint8_t)spi;
		p[7] = 1;
		CHECK_EQ(sendto(tx, p, sizeof(p), 0, (struct sockaddr *)&to, tolen), (ssize_t)sizeof(p));
	}
	/* A packet too short to carry an SPI reaches nobody. */
	uint8_t runt[2] = { 0xaa, 0xbb };
	CHECK_EQ(sendto(tx, runt, sizeof(runt), 0, (struct sockaddr *)&to, tolen), 2);
	int total = 0;
	for (int i = 0; i < NW; i++) {
		uint8_t buf[256];
		ssize_t n;
		int got = 0;
		while ((n = recv(rx[i], buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
			size_t ihl = fam == AF_INET ? (size_t)(buf[0] & 0x0f) * 4 : 0;
			CHECK(n >= (ssize_t)(ihl + 4));
			if (n < (ssize_t)(ihl + 4))
				continue;
			uint32_t spi = ((uint32_t)buf[ihl] << 24) | ((uint32_t)buf[ihl + 1] << 16) |
				       ((uint32_t)buf[ihl + 2] << 8) | buf[ihl + 3];
			CHECK_EQ(spi % NW, (uint32_t)i);
			got++;
		}
		CHECK(got > 0); /* the SPIs spread over every worker */
		total += got;
	}
	CHECK_EQ(total, NSPI); /* each packet read exactly once; the runt by nobody */
	for (int i = 0; i < NW; i++)
		close(rx[i]);
	close(tx);
}

int main(void)
{
	if (unshare(CLONE_NEWNET) != 0 || lo_up() != 0) {
		printf("test_raw_steer: SKIPPED (no private network namespace: %s)\n", strerror(errno));
		return EXIT_SKIP;
	}
	steer_family(AF_INET);
	steer_family(AF_INET6);
	char err[128];
	CHECK(sl_raw_esp_open(AF_UNSPEC, 1 << 20, err, sizeof(err)) < 0); /* no such family */
	TEST_DONE("test_raw_steer");
}
