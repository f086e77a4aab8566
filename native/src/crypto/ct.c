/*
 * ct.c - constant-time comparison and a wipe the optimiser cannot drop.
 */
#include "crypto.h"

#include <openssl/crypto.h>

int sl_ct_memcmp(const void *a, const void *b, size_t n)
{
	const volatile uint8_t *x = a;
	const volatile uint8_t *y = b;
	uint8_t acc = 0;

	/* Touch every byte whatever the data: timing must not tell where an
	 * ICV first differs (else forgeries can be built byte by byte). */
	for (size_t i = 0; i < n; i++)
		acc |= (uint8_t)(x[i] ^ y[i]);
	return acc != 0;
}

void sl_wipe(void *p, size_t n)
{
	if (p != NULL && n > 0)
		OPENSSL_cleanse(p, n);
}
