/* selector.c - prefix matching and the most-specific-first order. */
#include "selector.h"
#include "addr.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

int sl_prefix_parse(sl_prefix_t *p, const char *cidr)
{
	char buf[64];
	size_t n = strlen(cidr);
	if (n == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, cidr, n + 1);
	char *slash = strchr(buf, '/');
	memset(p, 0, sizeof(*p));
	long plen = -1;
	if (slash) {
		*slash = '\0';
		char *end;
		if (slash[1] == '\0')
			return -1;
		plen = strtol(slash + 1, &end, 10);
		if (*end != '\0' || plen < 0)
			return -1;
	}
	if (inet_pton(AF_INET, buf, p->addr) == 1)
		p->family = AF_INET;
	else if (inet_pton(AF_INET6, buf, p->addr) == 1)
		p->family = AF_INET6;
	else
		return -1;
	long max = p->family == AF_INET ? 32 : 128;
	if (plen < 0)
		plen = max;
	if (plen > max)
		return -1;
	p->len = (uint8_t)plen;
	/* Host bits must be zero: a typo like 10.0.0.1/24 is rejected, not guessed. */
	for (long bit = plen; bit < max; bit++)
		if (p->addr[bit / 8] & (0x80 >> (bit % 8)))
			return -1;
	return 0;
}

bool sl_prefix_contains(const sl_prefix_t *p, uint8_t family, const uint8_t *addr)
{
	if (p->family != family)
		return false;
	unsigned full = p->len / 8, rest = p->len % 8;
	if (memcmp(p->addr, addr, full) != 0)
		return false;
	if (rest) {
		uint8_t mask = (uint8_t)(0xff << (8 - rest));
		if ((p->addr[full] & mask) != (addr[full] & mask))
			return false;
	}
	return true;
}

static bool port_in(uint16_t port, uint16_t lo, uint16_t hi)
{
	return port >= lo && port <= hi;
}

bool sl_selector_match(const sl_selector_t *s, const sl_flow_t *f, bool inbound)
{
	const uint8_t *local = inbound ? f->dst : f->src;
	const uint8_t *remote = inbound ? f->src : f->dst;
	uint16_t lport = inbound ? f->dport : f->sport;
	uint16_t rport = inbound ? f->sport : f->dport;
	if (!sl_prefix_contains(&s->remote, f->family, remote) ||
	    !sl_prefix_contains(&s->local, f->family, local))
		return false;
	if (s->proto && s->proto != f->proto)
		return false;
	bool any_ports = s->lport_lo == 0 && s->lport_hi == 65535 && s->rport_lo == 0 &&
			 s->rport_hi == 65535;
	if (any_ports)
		return true;
	return port_in(lport, s->lport_lo, s->lport_hi) && port_in(rport, s->rport_lo, s->rport_hi);
}

int sl_selector_cmp(const sl_selector_t *a, const sl_selector_t *b)
{
	if (a->remote.len != b->remote.len)
		return a->remote.len > b->remote.len ? -1 : 1;
	if (a->local.len != b->local.len)
		return a->local.len > b->local.len ? -1 : 1;
	if ((a->proto != 0) != (b->proto != 0))
		return a->proto ? -1 : 1;
	uint32_t wa = (uint32_t)(a->rport_hi - a->rport_lo) + (uint32_t)(a->lport_hi - a->lport_lo);
	uint32_t wb = (uint32_t)(b->rport_hi - b->rport_lo) + (uint32_t)(b->lport_hi - b->lport_lo);
	if (wa != wb)
		return wa < wb ? -1 : 1;
	return 0;
}

static uint32_t score(const sl_prefix_t *p)
{
	unsigned bits = p->family == AF_INET6 ? 128 : 32;
	if (p->len == 0)
		return 0;
	if (p->len >= bits)
		return 65;
	return 1 + (uint32_t)p->len * 64 / bits;
}

uint32_t sl_selector_weight(const sl_selector_t *s)
{
	bool rports = !(s->rport_lo == 0 && s->rport_hi == 65535);
	bool lports = !(s->lport_lo == 0 && s->lport_hi == 65535);
	return 8 * (score(&s->local) + score(&s->remote)) + (s->proto ? 4 : 0) + (rports ? 2 : 0) +
	       (lports ? 1 : 0);
}
