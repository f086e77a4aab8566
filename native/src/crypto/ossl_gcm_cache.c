/*
 * ossl_gcm_cache.c - keyed AES-GCM contexts per thread instead of per SA.
 *
 * A keyed EVP_CIPHER_CTX for AES-GCM is 1,168 bytes of heap (OpenSSL 3.0:
 * key schedule, GHASH table, EVP state; mallinfo2).  One per SA and worker
 * was 4.7 KB per tunnel on two workers, most of it for workers and SAs that
 * carry no packet at that moment: a hub's 1,000 idle spokes held 4.7 MB of
 * key schedules (issue 10, memory per tunnel).  An SA now keeps only its key
 * (ossl_aead.c), and each thread that seals or opens keeps a fixed set of
 * keyed contexts: 1,024 per key size.  The table is made when the
 * thread starts (a worker: sl_crypto_thread_prepare), each slot's context at
 * the slot's first use: at most 2,048 allocations in a thread's life, never per
 * packet or per SA, and a gateway with one tunnel makes one or two per
 * worker.  A packet of an SA that holds no slot in the thread re-keys one
 * (EVP_CipherInit_ex with the key alone: ~150 ns here against ~420 ns to
 * seal 1,400 bytes, and no allocation; measured), so memory follows the SAs
 * a worker has traffic on, bounded, and a worker with more busy SAs than
 * slots pays that re-key instead of failing.
 *
 * Keys die with their SA (sl_gcm_cache_forget, from the backend's fini): every
 * thread's slot still keyed for it is re-keyed with a zero key, which
 * overwrites the key schedule and the whole GCM state (CRYPTO_gcm128_init
 * clears it first).  A slot's flag is held by its thread while it uses the
 * slot and by forget while it wipes it; fini runs after the workers' quiescent
 * point (sadb.c), so forget only ever waits for a slot that another SA's packet
 * is using at that moment.
 */
#include "ossl_gcm_cache.h"

#include "crypto_internal.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

/* Slots per key size and thread: a hub's thousand tunnels busy at once on one
 * worker still fit (bench_crypto: packets spread over 1,000 SAs in turn). */
#define NSLOTS 1024u
#define NSIZES 2u /* 16- and 32-byte keys (RFC 4106: AES-128 and AES-256) */
#define NONCE_LEN 12

typedef struct {
	atomic_flag busy;
	uint8_t used;         /* CLOCK's reference bit: the owning thread's alone */
	_Atomic uint64_t tag; /* sl_gcm_cache_tag of the key in x; 0: none */
	EVP_CIPHER_CTX *x;
} slot_t;

/* Fully associative: an SA context remembers its slot (the hint), a miss
 * takes the slot the CLOCK hand finds unused since its last pass. */
typedef struct cache {
	struct cache *prev, *next; /* the registry, under reg_lock */
	slot_t slot[NSIZES][NSLOTS];
	unsigned hand[NSIZES];
} cache_t;

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static cache_t *registry;
static pthread_key_t cache_key;
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;
static int cache_key_ok;
static _Thread_local cache_t *mine;
static _Atomic uint64_t next_id = 1;

uint64_t sl_gcm_cache_new_id(void)
{
	return atomic_fetch_add_explicit(&next_id, 1, memory_order_relaxed);
}

static unsigned size_index(size_t key_len)
{
	return key_len == 32;
}

static void cache_free(cache_t *k)
{
	for (unsigned z = 0; z < NSIZES; z++)
		for (unsigned i = 0; i < NSLOTS; i++)
			EVP_CIPHER_CTX_free(k->slot[z][i].x); /* cleanses the key schedule */
	free(k);
}

/* pthread key destructor: the thread ends, its cache leaves the registry. */
static void cache_release(void *p)
{
	cache_t *k = p;

	mine = NULL; /* runs on the thread that ends: nothing of it may use k again */
	pthread_mutex_lock(&reg_lock);
	if (k->prev != NULL)
		k->prev->next = k->next;
	else
		registry = k->next;
	if (k->next != NULL)
		k->next->prev = k->prev;
	pthread_mutex_unlock(&reg_lock);
	cache_free(k);
}

static void cache_key_make(void)
{
	cache_key_ok = pthread_key_create(&cache_key, cache_release) == 0;
}

static cache_t *cache_make(void)
{
	pthread_once(&cache_once, cache_key_make);
	if (!cache_key_ok)
		return NULL;
	cache_t *k = calloc(1, sizeof(*k)); /* 48 KB: the slots' contexts come at their first use */
	if (k == NULL)
		return NULL;
	for (unsigned z = 0; z < NSIZES; z++) {
		for (unsigned i = 0; i < NSLOTS; i++) {
			atomic_flag_clear(&k->slot[z][i].busy);
			atomic_init(&k->slot[z][i].tag, 0);
		}
	}
	if (pthread_setspecific(cache_key, k) != 0) {
		cache_free(k);
		return NULL;
	}
	pthread_mutex_lock(&reg_lock);
	k->next = registry;
	if (registry != NULL)
		registry->prev = k;
	registry = k;
	pthread_mutex_unlock(&reg_lock);
	return k;
}

void sl_gcm_cache_thread_prepare(void)
{
	if (mine == NULL)
		mine = cache_make();
}

/* A slot's context at its first use: the cipher and nonce length now, so that
 * keying it later allocates nothing.  At most NSLOTS x NSIZES of these per
 * thread, ever. */
static EVP_CIPHER_CTX *slot_context(unsigned z)
{
	EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();

	if (x == NULL)
		return NULL;
	if (EVP_CipherInit_ex(x, z ? EVP_aes_256_gcm() : EVP_aes_128_gcm(), NULL, NULL, NULL, 1) != 1 ||
	    EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_SET_IVLEN, NONCE_LEN, NULL) != 1) {
		EVP_CIPHER_CTX_free(x);
		return NULL;
	}
	return x;
}

static void slot_lock(slot_t *sl)
{
	while (atomic_flag_test_and_set_explicit(&sl->busy, memory_order_acquire))
		;
}

static void slot_unlock(slot_t *sl)
{
	atomic_flag_clear_explicit(&sl->busy, memory_order_release);
}

/* The slot a miss takes: CLOCK (second chance) over the thread's slots of one
 * key size; at most one pass clears every reference bit, so it ends. */
static slot_t *clock_victim(cache_t *k, unsigned z)
{
	for (;;) {
		slot_t *sl = &k->slot[z][k->hand[z]];
		k->hand[z] = (k->hand[z] + 1) % NSLOTS;
		if (!sl->used)
			return sl;
		sl->used = 0;
	}
}

EVP_CIPHER_CTX *sl_gcm_cache_get(uint64_t tag, const uint8_t *key, size_t key_len, int enc,
				 sl_gcm_hint_t *hint, sl_gcm_slot_t **held)
{
	if (mine == NULL)
		mine = cache_make(); /* a thread that was not prepared: once, at its first packet */
	cache_t *k = mine;
	if (k == NULL || tag == 0 || (key_len != 16 && key_len != 32))
		return NULL;
	unsigned z = size_index(key_len);
	/* The hint may point into another thread's table (a context used by two
	 * threads) or at a slot re-keyed since: only this thread's slot still
	 * tagged for us is a hit, and forget may zero the tag meanwhile, so it is
	 * checked again under the flag. */
	slot_t *sl = atomic_load_explicit(hint, memory_order_relaxed);
	uintptr_t at = (uintptr_t)sl, first = (uintptr_t)&k->slot[z][0];
	if (sl == NULL || at < first || at >= first + sizeof(k->slot[z]) ||
	    atomic_load_explicit(&sl->tag, memory_order_relaxed) != tag) {
		sl = clock_victim(k, z);
		atomic_store_explicit(hint, sl, memory_order_relaxed);
	}
	sl->used = 1;
	slot_lock(sl);
	if (sl->x == NULL && (sl->x = slot_context(z)) == NULL) {
		slot_unlock(sl);
		return NULL;
	}
	if (atomic_load_explicit(&sl->tag, memory_order_relaxed) != tag) {
		atomic_store_explicit(&sl->tag, 0, memory_order_relaxed);
		if (EVP_CipherInit_ex(sl->x, NULL, NULL, key, NULL, enc) != 1) {
			slot_unlock(sl);
			return NULL;
		}
		atomic_store_explicit(&sl->tag, tag, memory_order_relaxed);
	}
	*held = (sl_gcm_slot_t *)sl;
	return sl->x;
}

void sl_gcm_cache_put(sl_gcm_slot_t *held)
{
	slot_unlock((slot_t *)held);
}

void sl_gcm_cache_forget(uint64_t tag, size_t key_len)
{
	static const uint8_t zero[32];

	if (tag == 0 || (key_len != 16 && key_len != 32))
		return;
	unsigned z = size_index(key_len);
	pthread_mutex_lock(&reg_lock);
	for (cache_t *k = registry; k != NULL; k = k->next) {
		/* Every slot: an SA's contexts may have been keyed in any thread's
		 * table (a few microseconds per SA that dies). */
		for (unsigned i = 0; i < NSLOTS; i++) {
			slot_t *sl = &k->slot[z][i];
			if (atomic_load_explicit(&sl->tag, memory_order_relaxed) != tag)
				continue;
			slot_lock(sl);
			if (atomic_load_explicit(&sl->tag, memory_order_relaxed) == tag) {
				/* Cannot fail with a cipher already set; the tag goes either way. */
				(void)EVP_CipherInit_ex(sl->x, NULL, NULL, zero, NULL, 1);
				atomic_store_explicit(&sl->tag, 0, memory_order_relaxed);
			}
			slot_unlock(sl);
		}
	}
	pthread_mutex_unlock(&reg_lock);
}

unsigned sl_gcm_cache_holding(uint64_t tag)
{
	unsigned n = 0;

	pthread_mutex_lock(&reg_lock);
	for (cache_t *k = registry; k != NULL; k = k->next)
		for (unsigned z = 0; z < NSIZES; z++)
			for (unsigned i = 0; i < NSLOTS; i++)
				n += atomic_load_explicit(&k->slot[z][i].tag, memory_order_relaxed) == tag;
	pthread_mutex_unlock(&reg_lock);
	return n;
}
