/*
 * crypto_internal.h - what the crypto front end (crypto.c) and the backends
 * (ossl_*.c, afalg*.c) share.  Not part of the engine contract (crypto.h).
 */
#ifndef SL_CRYPTO_INTERNAL_H
#define SL_CRYPTO_INTERNAL_H

#include "crypto.h"

#include <stddef.h>
#include <stdint.h>

/* An ESP packet never carries more than 64 KiB of payload (the IP length
 * field bounds it); refusing more keeps every length below in int range. */
#define SL_CRYPTO_MAX_PAYLOAD 65535u

#define SL_ESP_HDR_LEN 8u  /* SPI (4) + sequence number low (4), RFC 4303 §2 */
#define SL_AEAD_SALT_LEN 4u /* RFC 4106 §8.1, RFC 7634 §2 */
#define SL_MAX_IV_LEN 16u
#define SL_MAX_ICV_LEN 16u

/* Static description of one transform. */
typedef struct sl_alg_info {
	sl_alg_t alg;
	bool aead;
	size_t iv_len;
	size_t icv_len;
	size_t block_size;     /* payload must be a multiple of this */
	size_t enc_key_min;    /* cipher key without salt */
	size_t enc_key_max;
	size_t enc_key_step;   /* allowed lengths: min, min+step, ..., max */
	size_t auth_key_len;   /* HMAC key length, 0 for AEADs */
	const char *kernel_name;     /* AF_ALG "aead" algorithm */
	const char *kernel_name_esn; /* same with ESN (authencesn), or NULL when the AEAD handles ESN itself */
} sl_alg_info_t;

const sl_alg_info_t *sl_alg_info(sl_alg_t alg);

struct sl_backend_ops;

struct sl_crypto {
	const sl_alg_info_t *info;
	const struct sl_backend_ops *ops;
	void *be;            /* backend state: calloc'd by ops->init, freed by sl_crypto_free */
	size_t be_size;
	size_t enc_key_len;  /* cipher key length without salt */
	bool esn;
	bool dead;           /* keys wiped: every operation fails */
	uint8_t use;         /* sl_crypto_use_t: which of seal/open the backend keyed */
	sl_backend_t backend;
	char driver[64];     /* as long as the SA's copy (sa.h) */
};

/* Whether the context was keyed to seal / to open (params.use). */
static inline bool sl_crypto_seals(const sl_crypto_t *c)
{
	return c->use != SL_CRYPTO_USE_OPEN;
}
static inline bool sl_crypto_opens(const sl_crypto_t *c)
{
	return c->use != SL_CRYPTO_USE_SEAL;
}

/* A backend works on a packet whose IV is already in place. */
typedef struct sl_backend_ops {
	const char *name;
	int (*init)(sl_crypto_t *c, const sl_crypto_params_t *p, char *err, size_t errlen);
	int (*seal)(sl_crypto_t *c, uint8_t *pkt, size_t len, uint32_t seq_hi);
	int (*open)(sl_crypto_t *c, uint8_t *pkt, size_t len, uint32_t seq_hi);
	/* Wipe every key copy this backend holds and release its resources
	 * (EVP contexts, sockets); c->be itself stays allocated (zeroed keys). */
	void (*fini)(sl_crypto_t *c);
	/* Where this backend keeps key copies in user memory (for the wipe test). */
	void (*keymat)(const sl_crypto_t *c, const uint8_t **p, size_t *n);
} sl_backend_ops_t;

/* The AEAD backends' state begins with the salt (RFC 4106 §8.1, RFC 7634
 * §2: the last 4 bytes of the key material).  sl_aead_state_new allocates
 * `size` bytes of zeroed state as c->be with the salt copied to its start
 * (NULL and err set when out of memory); sl_salt_keymat is their keymat. */
void *sl_aead_state_new(sl_crypto_t *c, const sl_crypto_params_t *p, size_t size, char *err,
			size_t errlen);
void sl_salt_keymat(const sl_crypto_t *c, const uint8_t **p, size_t *n);

/* ossl_chacha.c's per-thread scratch (sl_crypto_thread_prepare). */
void sl_ossl_chacha_thread_prepare(void);

extern const sl_backend_ops_t sl_ossl_aead_ops;   /* AES-GCM */
extern const sl_backend_ops_t sl_ossl_chacha_ops; /* ChaCha20-Poly1305 */
extern const sl_backend_ops_t sl_ossl_cbc_ops;
extern const sl_backend_ops_t sl_afalg_ops;

/* Fill iv with unpredictable bytes from the calling thread's pool (ivpool.c). */
int sl_ivpool_take(uint8_t *iv, size_t n);

static inline void sl_put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline uint32_t sl_get_be32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/* The front end's halves of seal/open, for the batched path
 * (crypto_batch.c): checks and IV placement before the backend runs, the
 * wipe of a forged packet's output after. */
int sl_crypto_seal_prep(sl_crypto_t *c, uint8_t *pkt, size_t payload_len, uint64_t seq);
int sl_crypto_open_prep(const sl_crypto_t *c, const uint8_t *pkt, size_t payload_len,
			uint32_t seq_hi);
int sl_crypto_open_done(const sl_crypto_t *c, uint8_t *pkt, size_t payload_len, int rc);

void sl_crypto_seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
