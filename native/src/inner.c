/* inner.c - IPv4 (RFC 791) / IPv6 (RFC 8200) header checks and flow extraction. */
#include "inner.h"

#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static bool has_ports(uint8_t proto)
{
	return proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_SCTP ||
	       proto == IPPROTO_UDPLITE;
}

static void ports(sl_flow_t *f, const uint8_t *l4, size_t l4len)
{
	f->sport = f->dport = 0;
	if (has_ports(f->proto) && l4len >= 4) {
		f->sport = rd16(l4);
		f->dport = rd16(l4 + 2);
	}
}

static long parse4(const uint8_t *p, size_t len, sl_flow_t *f)
{
	if (len < 20)
		return -1;
	size_t ihl = (size_t)(p[0] & 0x0f) * 4;
	size_t tot = rd16(p + 2);
	if (ihl < 20 || tot < ihl || tot > len)
		return -1;
	/* Header checksum (RFC 791): a corrupted header is not forwarded. */
	uint32_t sum = 0;
	for (size_t i = 0; i < ihl; i += 2)
		sum += rd16(p + i);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	if (sum != 0xffff)
		return -1;
	f->family = AF_INET;
	f->proto = p[9];
	memset(f->src, 0, 16);
	memset(f->dst, 0, 16);
	memcpy(f->src, p + 12, 4);
	memcpy(f->dst, p + 16, 4);
	bool first_fragment = (rd16(p + 6) & 0x1fff) == 0;
	if (first_fragment)
		ports(f, p + ihl, tot - ihl);
	else
		f->sport = f->dport = 0;
	return (long)tot;
}

static long parse6(const uint8_t *p, size_t len, sl_flow_t *f)
{
	if (len < 40)
		return -1;
	size_t tot = 40 + (size_t)rd16(p + 4);
	if (tot > len)
		return -1;
	f->family = AF_INET6;
	f->proto = p[6];
	memcpy(f->src, p + 8, 16);
	memcpy(f->dst, p + 24, 16);
	/* Extension headers are not walked: the selector sees their type as the
	 * protocol and no ports, the conservative reading. */
	ports(f, p + 40, tot - 40);
	return (long)tot;
}

long sl_inner_parse(const uint8_t *p, size_t len, uint8_t nh, sl_flow_t *f)
{
	if (len < 1)
		return -1;
	uint8_t ver = p[0] >> 4;
	if (ver == 4 && (nh == 0 || nh == IPPROTO_IPIP))
		return parse4(p, len, f);
	if (ver == 6 && (nh == 0 || nh == IPPROTO_IPV6))
		return parse6(p, len, f);
	return -1;
}

bool sl_flow_link_scoped(const sl_flow_t *f)
{
	if (f->family != AF_INET6)
		return false;
	const uint8_t *d = f->dst;
	return (d[0] == 0xfe && (d[1] & 0xc0) == 0x80) ||
	       (d[0] == 0xff && ((d[1] & 0x0f) == 0x01 || (d[1] & 0x0f) == 0x02));
}
