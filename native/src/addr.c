/* addr.c - endpoint parsing, formatting and sockaddr conversion. */
#include "addr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

static const uint8_t v4mapped_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

size_t sl_family_addr_len(uint8_t family)
{
	return family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;
}

int sl_endpoint_parse(sl_endpoint_t *ep, const char *addr, uint16_t port)
{
	memset(ep, 0, sizeof(*ep));
	ep->port = port;
	if (inet_pton(AF_INET, addr, ep->addr) == 1) {
		ep->family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, addr, ep->addr) == 1) {
		ep->family = AF_INET6;
		if (memcmp(ep->addr, v4mapped_prefix, 12) == 0) {
			memmove(ep->addr, ep->addr + 12, 4);
			memset(ep->addr + 4, 0, 12);
			ep->family = AF_INET;
		}
		return 0;
	}
	return -1;
}

void sl_endpoint_format(const sl_endpoint_t *ep, char *buf, size_t len)
{
	if (len == 0)
		return;
	if (!inet_ntop(ep->family, ep->addr, buf, (socklen_t)len))
		buf[0] = '\0';
}

bool sl_endpoint_eq(const sl_endpoint_t *a, const sl_endpoint_t *b)
{
	return a->family == b->family && a->port == b->port &&
	       memcmp(a->addr, b->addr, sl_family_addr_len(a->family)) == 0;
}

socklen_t sl_endpoint_to_sockaddr(const sl_endpoint_t *ep, int sock_family,
				  struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (sock_family == AF_INET) {
		if (ep->family != AF_INET)
			return 0;
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons(ep->port);
		memcpy(&s4->sin_addr, ep->addr, 4);
		return sizeof(*s4);
	}
	if (sock_family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(ep->port);
		if (ep->family == AF_INET) {
			memcpy(s6->sin6_addr.s6_addr, v4mapped_prefix, 12);
			memcpy(s6->sin6_addr.s6_addr + 12, ep->addr, 4);
		} else {
			memcpy(s6->sin6_addr.s6_addr, ep->addr, 16);
		}
		return sizeof(*s6);
	}
	return 0;
}

int sl_endpoint_from_sockaddr(sl_endpoint_t *ep, const struct sockaddr *sa, socklen_t len)
{
	memset(ep, 0, sizeof(*ep));
	if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
		ep->family = AF_INET;
		ep->port = ntohs(s4->sin_port);
		memcpy(ep->addr, &s4->sin_addr, 4);
		return 0;
	}
	if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
		ep->port = ntohs(s6->sin6_port);
		if (memcmp(s6->sin6_addr.s6_addr, v4mapped_prefix, 12) == 0) {
			ep->family = AF_INET;
			memcpy(ep->addr, s6->sin6_addr.s6_addr + 12, 4);
		} else {
			ep->family = AF_INET6;
			memcpy(ep->addr, s6->sin6_addr.s6_addr, 16);
		}
		return 0;
	}
	return -1;
}
