/*
 * crypto_batch_checks.h - checks of the batched path (crypto_batch.h),
 * shared by test_crypto_afalg_batch.c (host, OpenSSL contexts and the
 * runners) and test_crypto_afalg.c (the QEMU guest, AF_ALG contexts).
 */
#ifndef SL_CRYPTO_BATCH_CHECKS_H
#define SL_CRYPTO_BATCH_CHECKS_H

#include "crypto.h"
#include "crypto_batch.h"
#include "crypto_kat.h"
#include "crypto_checks.h"

#define BATCH_PKTS 40 /* more than SL_AFALG_MAX_LANES per SA: several rounds */
#define BATCH_SAS 3

/* A published ESP packet through the batch: open it, then seal it again
 * with its IV, and compare with the published bytes. */
static inline int check_batch_vector(sl_crypto_batch_t *b, const esp_vec_t *v, sl_backend_t be)
{
	esp_pkt_t p;
	sl_crypto_t *c = NULL;
	uint8_t open_buf[512], seal_buf[512];
	char what[160];

	esp_pkt_load(&p, v);
	sl_crypto_params_t prm = esp_pkt_params(&p, v);
	snprintf(what, sizeof(what), "batched %s", v->what);
	if (make_ctx(&c, &prm, be, what) != SL_CRYPTO_OK)
		return 0;
	size_t total = esp_pkt_total(&p);
	memcpy(open_buf, p.buf, total);
	memcpy(seal_buf, p.buf, 8);
	memset(seal_buf + 8, 0xee, sizeof(seal_buf) - 8);
	if (p.have_plain)
		memcpy(seal_buf + 8 + p.iv_len, p.plain, p.len);

	sl_crypto_batch_clear(b);
	int io = sl_crypto_batch_open(b, c, open_buf, p.len, (uint32_t)(v->seq >> 32));
	int is = p.have_plain ? sl_crypto_batch_seal_kat(b, c, seal_buf, p.len, v->seq, p.iv) : -1;
	CHECK(io >= 0, "%s: queue open: %d", what, io);
	sl_crypto_batch_run(b);
	CHECK(sl_crypto_batch_result(b, io) == SL_CRYPTO_OK, "%s: open: %d", what,
	      sl_crypto_batch_result(b, io));
	if (p.have_plain) {
		CHECK(memcmp(open_buf + 8 + p.iv_len, p.plain, p.len) == 0, "%s: plaintext differs", what);
		CHECK(is >= 0 && sl_crypto_batch_result(b, is) == SL_CRYPTO_OK, "%s: seal: %d", what,
		      is >= 0 ? sl_crypto_batch_result(b, is) : is);
		CHECK(memcmp(seal_buf, p.buf, total) == 0, "%s: sealed packet differs", what);
	}
	sl_crypto_batch_clear(b);
	sl_crypto_free(c);
	return 1;
}

typedef struct {
	uint8_t pkt[BATCH_PKTS][PKT_MAX];
	uint8_t plain[BATCH_PKTS][PKT_MAX];
	size_t len[BATCH_PKTS];
	uint64_t seq[BATCH_PKTS];
	int idx[BATCH_PKTS];
} batch_bufs_t;

static inline size_t batch_len(sl_crypto_t *c, unsigned k)
{
	size_t bs = sl_crypto_block_size(c);
	/* 64 bytes to about 1400, mixed, on the block boundary. */
	size_t len = k % 3 == 0 ? 64 : k % 3 == 1 ? 1400 : 64 + 37 * k;
	return (len + bs - 1) / bs * bs;
}

/*
 * BATCH_PKTS packets spread over BATCH_SAS SAs: sealed in one batch on
 * s[] and opened one by one on o[], then sealed one by one on o[] and opened
 * in one batch on s[] with every seventh packet forged: those, and only
 * those, must fail (EAUTH, payload wiped); one packet of a wrong length is
 * refused when queued.  s[] and o[] hold the same keys pairwise.
 */
static inline void check_batch_cross(sl_crypto_batch_t *b, sl_crypto_t *const *s,
				     sl_crypto_t *const *o, bool esn, const char *what)
{
	static batch_bufs_t B;
	sl_crypto_batch_clear(b);
	for (unsigned k = 0; k < BATCH_PKTS; k++) {
		sl_crypto_t *c = s[k % BATCH_SAS];
		size_t ivl = sl_crypto_iv_len(c);
		B.len[k] = batch_len(c, k);
		B.seq[k] = (esn ? 0x500000000ull : 0) + 1000 + k;
		fill_pattern(B.plain[k], B.len[k], 900 + k);
		put_be32(B.pkt[k], 0x7000 + k % BATCH_SAS);
		put_be32(B.pkt[k] + 4, (uint32_t)B.seq[k]);
		memcpy(B.pkt[k] + 8 + ivl, B.plain[k], B.len[k]);
		B.idx[k] = sl_crypto_batch_seal(b, c, B.pkt[k], B.len[k], B.seq[k]);
		CHECK(B.idx[k] >= 0, "%s: queue seal %u: %d", what, k, B.idx[k]);
	}
	/* Bad length: refused at once, nothing queued. */
	unsigned before = sl_crypto_batch_len(b);
	CHECK(sl_crypto_batch_seal(b, s[0], B.pkt[0], 0, 1) == SL_CRYPTO_EINVAL,
	      "%s: zero-length payload queued", what);
	CHECK(sl_crypto_batch_len(b) == before, "%s: a refused entry took a slot", what);
	sl_crypto_batch_run(b);
	for (unsigned k = 0; k < BATCH_PKTS; k++) {
		sl_crypto_t *c = o[k % BATCH_SAS];
		size_t ivl = sl_crypto_iv_len(c);
		CHECK(sl_crypto_batch_result(b, B.idx[k]) == SL_CRYPTO_OK, "%s: batched seal %u: %d", what,
		      k, sl_crypto_batch_result(b, B.idx[k]));
		int rc = sl_crypto_open(c, B.pkt[k], B.len[k], (uint32_t)(B.seq[k] >> 32));
		CHECK(rc == SL_CRYPTO_OK, "%s: peer opens batched packet %u: %d", what, k, rc);
		CHECK(memcmp(B.pkt[k] + 8 + ivl, B.plain[k], B.len[k]) == 0,
		      "%s: batched packet %u round trip differs", what, k);
	}

	sl_crypto_batch_clear(b);
	for (unsigned k = 0; k < BATCH_PKTS; k++) {
		sl_crypto_t *c = o[k % BATCH_SAS];
		size_t ivl = sl_crypto_iv_len(c);
		put_be32(B.pkt[k] + 4, (uint32_t)B.seq[k]);
		memcpy(B.pkt[k] + 8 + ivl, B.plain[k], B.len[k]);
		CHECK(sl_crypto_seal(c, B.pkt[k], B.len[k], B.seq[k]) == SL_CRYPTO_OK, "%s: peer seal %u",
		      what, k);
		if (k % 7 == 3)
			B.pkt[k][8 + ivl + B.len[k] / 2] ^= 0x01; /* forged */
		B.idx[k] = sl_crypto_batch_open(b, s[k % BATCH_SAS], B.pkt[k], B.len[k],
						(uint32_t)(B.seq[k] >> 32));
		CHECK(B.idx[k] >= 0, "%s: queue open %u: %d", what, k, B.idx[k]);
	}
	sl_crypto_batch_run(b);
	for (unsigned k = 0; k < BATCH_PKTS; k++) {
		size_t ivl = sl_crypto_iv_len(s[k % BATCH_SAS]);
		int rc = sl_crypto_batch_result(b, B.idx[k]);
		if (k % 7 == 3) {
			static const uint8_t zero[PKT_MAX];
			CHECK(rc == SL_CRYPTO_EAUTH, "%s: forged packet %u in a batch: %d", what, k, rc);
			CHECK(memcmp(B.pkt[k] + 8 + ivl, zero, B.len[k]) == 0,
			      "%s: forged packet %u's output not wiped", what, k);
		} else {
			CHECK(rc == SL_CRYPTO_OK, "%s: batched open %u: %d", what, k, rc);
			CHECK(memcmp(B.pkt[k] + 8 + ivl, B.plain[k], B.len[k]) == 0,
			      "%s: batched open %u differs", what, k);
		}
	}
	sl_crypto_batch_clear(b);
}

#endif
