/*
 * crypto_kat.h - hooks for known-answer and wipe tests.  Not for the data
 * path: a caller-chosen IV breaks the uniqueness (AEAD) and unpredictability
 * (CBC) the real seal() guarantees.
 */
#ifndef SL_CRYPTO_KAT_H
#define SL_CRYPTO_KAT_H

#include "crypto.h"

/* seal() with a given IV (iv_len bytes), so published vectors can be
 * reproduced.  seq as for sl_crypto_seal(). */
int sl_crypto_seal_kat(sl_crypto_t *c, uint8_t *pkt, size_t payload_len, uint64_t seq,
		       const uint8_t *iv);

/* Batched seal with a given IV (crypto_batch.h), for the same vectors. */
struct sl_crypto_batch;
int sl_crypto_batch_seal_kat(struct sl_crypto_batch *b, sl_crypto_t *c, uint8_t *pkt,
			     size_t payload_len, uint64_t seq, const uint8_t *iv);
/* Make the batch hand its AF_ALG rounds to io (a fake, or the plain
 * runner) instead of its io_uring (NULL: its own again). */
struct sl_afalg_io;
void sl_crypto_batch_test_io(struct sl_crypto_batch *b, struct sl_afalg_io *io);

/* Wipe every key copy now (user memory and kernel: AF_ALG sockets are
 * closed); the context stays allocated but every operation fails with
 * SL_CRYPTO_EIO.  sl_crypto_free() does this first. */
void sl_crypto_wipe_keys(sl_crypto_t *c);

/* The user-memory region where the backend keeps its key copies (salt,
 * HMAC pad states); NULL/0 when it keeps none or after a wipe.  The region
 * stays readable until sl_crypto_free(). */
void sl_crypto_test_keymat(const sl_crypto_t *c, const uint8_t **p, size_t *n);

/* The HMAC primitive the OpenSSL CBC backend uses, for RFC 2202 / 4868
 * vectors: mac = HMAC-md(key, data) truncated to mac_len.  md is 1 for
 * SHA-1, 256 for SHA-256. */
int sl_hmac_oneshot(int md, const uint8_t *key, size_t key_len, const uint8_t *data,
		    size_t data_len, uint8_t *mac, size_t mac_len);

#endif
