/*
 * addr.h - outer endpoints (address + UDP port) in one canonical form.
 *
 * IPv4 is always stored as IPv4, even when it arrives v4-mapped on an
 * AF_INET6 socket, so that comparisons (peer-moved detection) are exact.
 */
#ifndef SL_ADDR_H
#define SL_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

typedef struct sl_endpoint {
	uint8_t family; /* AF_INET or AF_INET6 */
	uint8_t addr[16];
	uint16_t port; /* host order */
} sl_endpoint_t;

/* 0 on success, -1 when addr is not an IPv4/IPv6 literal. */
int sl_endpoint_parse(sl_endpoint_t *ep, const char *addr, uint16_t port);
/* Address only, as text; buf should hold 46 bytes. */
void sl_endpoint_format(const sl_endpoint_t *ep, char *buf, size_t len);
bool sl_endpoint_eq(const sl_endpoint_t *a, const sl_endpoint_t *b);
/* Address length in bytes for the family (4 or 16). */
size_t sl_family_addr_len(uint8_t family);
/* Build a destination for a socket of sock_family (AF_INET6 sockets take
 * v4-mapped IPv4).  Returns the length, 0 when the family cannot carry it. */
socklen_t sl_endpoint_to_sockaddr(const sl_endpoint_t *ep, int sock_family,
				  struct sockaddr_storage *ss);
/* -1 for an unknown family. */
int sl_endpoint_from_sockaddr(sl_endpoint_t *ep, const struct sockaddr *sa, socklen_t len);

#endif
