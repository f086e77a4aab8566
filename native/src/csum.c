/* csum.c - RFC 1071 one's-complement sums, 32 bits at a time. */
#include "csum.h"

uint64_t sl_csum_add(const uint8_t *p, size_t n, uint64_t sum)
{
	while (n >= 4) {
		sum += ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
		p += 4;
		n -= 4;
	}
	if (n >= 2) {
		sum += ((uint32_t)p[0] << 8) | p[1];
		p += 2;
		n -= 2;
	}
	if (n)
		sum += (uint32_t)p[0] << 8;
	return sum;
}

uint16_t sl_csum_fold(uint64_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

uint64_t sl_csum_pseudo(const uint8_t *p, bool v6, uint8_t proto, size_t l4len)
{
	/* IPv4: source and destination at 12..19; IPv6: at 8..39. */
	uint64_t sum = v6 ? sl_csum_add(p + 8, 32, 0) : sl_csum_add(p + 12, 8, 0);
	return sum + proto + l4len;
}
