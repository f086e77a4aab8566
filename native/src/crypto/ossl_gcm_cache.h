/*
 * ossl_gcm_cache.h - each thread's keyed AES-GCM contexts (ossl_gcm_cache.c),
 * for the OpenSSL AES-GCM backend (ossl_aead.c).
 */
#ifndef SL_OSSL_GCM_CACHE_H
#define SL_OSSL_GCM_CACHE_H

#include <openssl/evp.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sl_gcm_slot sl_gcm_slot_t; /* opaque: a slot held by its thread */
/* Where an SA context's key was keyed last (one per context and direction,
 * NULL at first): lets a hit skip any search. */
typedef _Atomic(void *) sl_gcm_hint_t;

/* A process-unique id for one SA context's key (never 0, never reused). */
uint64_t sl_gcm_cache_new_id(void);

/* The tag of (id, direction) in the caches: seal and open keep apart. */
static inline uint64_t sl_gcm_cache_tag(uint64_t id, int enc)
{
	return (id << 1) | (enc ? 1u : 0u);
}

/* Make the calling thread's contexts now (a worker, when it starts) rather
 * than at its first packet. */
void sl_gcm_cache_thread_prepare(void);

/* The calling thread's context keyed with key (16 or 32 bytes) for tag and
 * direction enc, re-keying a slot if the thread holds none for tag.  The slot
 * is held until sl_gcm_cache_put; NULL when the thread has no contexts (out
 * of memory) or libcrypto refused the key. */
EVP_CIPHER_CTX *sl_gcm_cache_get(uint64_t tag, const uint8_t *key, size_t key_len, int enc,
				 sl_gcm_hint_t *hint, sl_gcm_slot_t **held);
void sl_gcm_cache_put(sl_gcm_slot_t *held);

/* The key of tag is dead: every thread's slot holding it is re-keyed with
 * zeros.  No thread may use tag any more (the SA is past its quiescent point). */
void sl_gcm_cache_forget(uint64_t tag, size_t key_len);

/* The tag an OpenSSL AES-GCM context keys the caches with (ossl_aead.c; tests). */
struct sl_crypto;
uint64_t sl_ossl_aead_tag(const struct sl_crypto *c, int enc);

/* How many slots, in all threads, hold tag (tests: forget left none). */
unsigned sl_gcm_cache_holding(uint64_t tag);

#endif
