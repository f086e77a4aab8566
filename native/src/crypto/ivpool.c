/*
 * ivpool.c - unpredictable CBC IVs without a syscall per packet.
 *
 * RFC 3602 §3 requires AES-CBC IVs chosen at random and unpredictable (a
 * predictable IV opens chosen-plaintext attacks on CBC); 3DES-CBC (RFC 2451)
 * gets the same treatment.  We draw 1 KiB
 * from the kernel CSPRNG at a time, so a 16-byte IV costs one getrandom()
 * per 64 packets and no allocation.
 *
 * One pool per thread, shared by every SA that thread seals for: the bytes
 * are fresh CSPRNG output whichever SA takes them, each handed out once, and
 * an IV is public once sent, so the pool is no key material to wipe with an
 * SA.  (A pool per context cost 1 KiB per worker per outbound CBC SA.)
 */
#include "crypto_internal.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

#define POOL_LEN 1024

struct sl_ivpool {
	uint8_t buf[POOL_LEN];
	size_t pos;
};

/* Static TLS: nothing allocated when a worker takes its first IV. */
static _Thread_local struct sl_ivpool pool = { .pos = POOL_LEN }; /* empty: first take refills */

static int refill(struct sl_ivpool *p)
{
	size_t got = 0;

	while (got < sizeof(p->buf)) {
		ssize_t r = getrandom(p->buf + got, sizeof(p->buf) - got, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return SL_CRYPTO_EIO;
		}
		got += (size_t)r;
	}
	p->pos = 0;
	return SL_CRYPTO_OK;
}

int sl_ivpool_take(uint8_t *iv, size_t n)
{
	struct sl_ivpool *p = &pool;

	if (n > sizeof(p->buf))
		return SL_CRYPTO_EINVAL;
	if (p->pos > sizeof(p->buf) - n) {
		int rc = refill(p);
		if (rc != SL_CRYPTO_OK)
			return rc;
	}
	memcpy(iv, p->buf + p->pos, n);
	/* Never hand the same bytes out twice. */
	memset(p->buf + p->pos, 0, n);
	p->pos += n;
	return SL_CRYPTO_OK;
}
