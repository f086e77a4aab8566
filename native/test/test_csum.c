/*
 * test_csum.c - the RFC 1071 sum (csum.c, host order 64 bits at a time)
 * against a byte-pair reference: every length 0..600 and a few large ones,
 * at every alignment 0..7, on random data and on all-0xff data (carries on
 * every add), with a running sum carried in.
 */
#include "csum.h"
#include "engine_check.h"
#include "pkt_build.h"

#include <string.h>

static uint8_t buf[70000];

int main(void)
{
	uint32_t x = 12345;
	for (size_t i = 0; i < sizeof(buf); i++) {
		x = x * 1103515245u + 12345u;
		buf[i] = (uint8_t)(x >> 16);
	}
	for (int pass = 0; pass < 2; pass++) {
		if (pass == 1)
			memset(buf, 0xff, sizeof(buf));
		for (size_t off = 0; off < 8; off++) {
			for (size_t n = 0; n <= 600; n++)
				CHECK_EQ(sl_csum_fold(sl_csum_add(buf + off, n, 0x1234)), rfc1071(buf + off, n, 0x1234));
			size_t big[] = { 1499, 1500, 9001, 65535, 69990 };
			for (size_t k = 0; k < sizeof(big) / sizeof(big[0]); k++)
				CHECK_EQ(sl_csum_fold(sl_csum_add(buf + off, big[k], 0)), rfc1071(buf + off, big[k], 0));
		}
	}
	/* Chained calls over even-length pieces equal one call over the whole. */
	CHECK_EQ(sl_csum_fold(sl_csum_add(buf + 100, 40, sl_csum_add(buf, 100, 0))), rfc1071(buf, 140, 0));
	/* All zero sums to zero (the one case that folds to 0). */
	memset(buf, 0, 64);
	CHECK_EQ(sl_csum_fold(sl_csum_add(buf, 64, 0)), 0);
	TEST_DONE("test_csum");
}
