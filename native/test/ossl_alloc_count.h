/*
 * ossl_alloc_count.h - counts libcrypto's allocations, for the tests of the
 * no-allocation-per-packet rule (test_crypto_kat.c, test_gcm_cache.c).
 * ossl_count_allocs() must run before libcrypto allocates anything.
 */
#ifndef SL_OSSL_ALLOC_COUNT_H
#define SL_OSSL_ALLOC_COUNT_H

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>

static long ossl_allocs;

static void *count_malloc(size_t n, const char *f, int l)
{
	(void)f;
	(void)l;
	ossl_allocs++;
	return malloc(n);
}

static void *count_realloc(void *p, size_t n, const char *f, int l)
{
	(void)f;
	(void)l;
	ossl_allocs++;
	return realloc(p, n);
}

static void count_free(void *p, const char *f, int l)
{
	(void)f;
	(void)l;
	free(p);
}

/* 0, or 1 (said on stderr) when libcrypto has allocated already. */
static inline int ossl_count_allocs(void)
{
	if (CRYPTO_set_mem_functions(count_malloc, count_realloc, count_free))
		return 0;
	fprintf(stderr, "cannot hook libcrypto's allocator\n");
	return 1;
}

#endif
