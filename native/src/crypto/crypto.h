/*
 * crypto.h - one interface for the ESP transforms, whatever backend runs them.
 *
 * A transform works on a whole ESP packet laid out contiguously (RFC 4303 §2):
 *
 *   pkt: | SPI (4) | Seq low (4) | IV (iv_len) | payload (len) | ICV (icv_len) |
 *
 * seal() writes the IV, encrypts the payload in place (already padded by the
 * caller to block_size with the ESP trailer) and writes the ICV.  open()
 * checks the ICV in constant time and decrypts in place.  seq_hi is the high
 * 32 bits of the extended sequence number (RFC 4303 §2.2.1, §3.3.3): it is
 * authenticated but never sent.  esn says whether it takes part.
 *
 * A context is used by one thread at a time (AF_ALG op sockets and OpenSSL
 * cipher contexts are not shareable); the engine keeps one per SA per worker.
 */
#ifndef SL_CRYPTO_H
#define SL_CRYPTO_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

typedef enum {
	SL_ALG_AES_GCM_16 = 1,          /* RFC 4106, key 16 or 32 + 4 salt */
	SL_ALG_AES_CBC_HMAC_SHA1_96,    /* RFC 3602 + RFC 2404 */
	SL_ALG_AES_CBC_HMAC_SHA256_128, /* RFC 3602 + RFC 4868 */
	SL_ALG_3DES_CBC_HMAC_SHA1_96,   /* RFC 2451 + RFC 2404 */
	SL_ALG_CHACHA20_POLY1305,       /* RFC 7634, key 32 + 4 salt */
} sl_alg_t;

typedef enum {
	SL_BACKEND_AUTO = 0,
	SL_BACKEND_AFALG,
	SL_BACKEND_OPENSSL,
} sl_backend_t;

enum {
	SL_CRYPTO_OK = 0,
	SL_CRYPTO_EAUTH = -1,   /* ICV mismatch */
	SL_CRYPTO_EINVAL = -2,  /* bad length / alignment */
	SL_CRYPTO_EIO = -3,     /* backend failure */
	SL_CRYPTO_ENOTSUP = -4, /* backend lacks the algorithm */
};

typedef struct sl_crypto_params {
	sl_alg_t alg;
	const uint8_t *enc_key; /* for AEADs: cipher key followed by the 4-byte salt */
	size_t enc_key_len;
	const uint8_t *auth_key; /* NULL for AEADs */
	size_t auth_key_len;
	bool esn;
	/* What the context will do (sl_crypto_use_t).  An SA only seals (out) or
	 * only opens (in): keying one direction halves its cipher state, and only
	 * a CBC sealer needs the IV pool.  0 (zeroed params) means both. */
	uint8_t use;
} sl_crypto_params_t;

typedef enum {
	SL_CRYPTO_USE_BOTH = 0,
	SL_CRYPTO_USE_SEAL = 1, /* sl_crypto_open refuses (EINVAL) */
	SL_CRYPTO_USE_OPEN = 2, /* sl_crypto_seal refuses (EINVAL) */
} sl_crypto_use_t;

typedef struct sl_crypto sl_crypto_t;

/* Create a transform on the wanted backend (AUTO: AF_ALG when the kernel offers
 * the algorithm, else OpenSSL).  On failure returns an SL_CRYPTO_E* code and
 * writes a reason to err. */
int sl_crypto_new(sl_crypto_t **out, const sl_crypto_params_t *p, sl_backend_t want,
		  char *err, size_t errlen);
/* Wipes every copy of the keys, then frees. NULL is fine. */
void sl_crypto_free(sl_crypto_t *c);

int sl_crypto_seal(sl_crypto_t *c, uint8_t *pkt, size_t payload_len, uint64_t seq);
int sl_crypto_open(sl_crypto_t *c, uint8_t *pkt, size_t payload_len, uint32_t seq_hi);

size_t sl_crypto_iv_len(const sl_crypto_t *c);
size_t sl_crypto_icv_len(const sl_crypto_t *c);
/* Payload must be padded to a multiple of this (4 for AEADs, RFC 4303 §2.4). */
size_t sl_crypto_block_size(const sl_crypto_t *c);
sl_backend_t sl_crypto_backend(const sl_crypto_t *c);
const char *sl_crypto_backend_name(const sl_crypto_t *c);
/* The kernel driver that serves it ("gcm-aes-ce", "generic-gcm-aesni", ...) from
 * /proc/crypto for AF_ALG, or "openssl" / the EVP implementation name. */
const char *sl_crypto_driver(const sl_crypto_t *c);

/* The start-up probe behind crypto-backend = auto (probe.c).  Each backend
 * is timed on the path the data plane takes for the SA's direction: seals
 * and opens both through a worker's batch (crypto_batch.h: AF_ALG rounds
 * over io_uring where the kernel allows, else sendmsg + recvmsg per packet),
 * as its flush and its received batches (esp_in_batch.h) run them.  Measured once per (algorithm, key
 * length, ESN) per process; each SA gets its direction's figures. */
typedef struct sl_probe_fig {
	uint32_t small_ns, mtu_ns; /* ns per packet, 64- and 1400-byte payloads; 0 = not measured */
	uint32_t sys_milli;        /* syscalls the backend made per 1000 packets */
	bool batched;              /* several packets per syscall round (io_uring) */
} sl_probe_fig_t;
typedef struct sl_probe {
	bool done;
	bool open; /* the figures are opens (inbound SA), else seals */
	sl_backend_t choice;
	sl_probe_fig_t afalg, openssl;
} sl_probe_t; /* kept in every SA: the reason is made when asked (sl_probe_choose) */
#define SL_PROBE_REASON_LEN 96
#define SL_PROBE_SMALL 64
#define SL_PROBE_MTU 1400
void sl_crypto_probe(sl_alg_t alg, size_t enc_key_len, size_t auth_key_len, bool esn, bool inbound,
		     sl_probe_t *out);
/* The choice from the figures (pure): AF_ALG only when it was measured and
 * is faster for MTU-sized packets, the bulk of tunnel traffic.  Writes why
 * into reason (truncated to reason_len; NULL, 0: not wanted). */
sl_backend_t sl_probe_choose(const sl_probe_fig_t *afalg, const sl_probe_fig_t *openssl, char *reason,
			     size_t reason_len);
/* This thread's AF_ALG requests so far and the syscalls they took. */
void sl_afalg_thread_tally(uint64_t *requests, uint64_t *syscalls);

/* Is AF_ALG usable at all on this kernel (socket(AF_ALG) works)? */
bool sl_afalg_available(void);
/* Process-wide cap on AF_ALG descriptors: a context takes the key socket
 * and SL_AFALG_MAX_LANES op sockets (for batching, crypto_batch.h) while
 * less than half the cap is in use, else 2; one context per SA per worker.
 * n < 0 restores the default, half of RLIMIT_NOFILE.  Past it an AF_ALG
 * context is refused (ENOTSUP) and AUTO falls back to OpenSSL. */
void sl_afalg_set_fd_budget(int n);
int sl_afalg_fd_budget(void);
int sl_afalg_fds_in_use(void);
/* Parse a name ("aes128gcm16", "aes256-sha256", "3des-sha1", "chacha20poly1305",
 * ...) into alg + expected key lengths; -1 when unknown. */
int sl_alg_parse(const char *name, sl_alg_t *alg, size_t *enc_key_len, size_t *auth_key_len);
const char *sl_alg_name(sl_alg_t alg, size_t enc_key_len);

/* Allocate what the backends keep per thread (ossl_chacha.c's scratch) now,
 * at a data-plane thread's start, rather than at its first packet.  Only
 * an optimisation of where the allocation happens: without it (or when it
 * fails) the first seal or open of the thread allocates instead. */
void sl_crypto_thread_prepare(void);

/* Constant-time comparison: 0 when equal. */
int sl_ct_memcmp(const void *a, const void *b, size_t n);
/* A memset the compiler cannot drop. */
void sl_wipe(void *p, size_t n);

#endif
