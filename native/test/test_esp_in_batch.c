/*
 * test_esp_in_batch.c - inbound ESP decapsulated a received batch at a time
 * (esp_in_batch.h), the opens sharing one crypto batch, on each backend:
 * OpenSSL here; AF_ALG where the kernel offers it (the QEMU guest runs this
 * test from the image), else that half says SKIP.
 *
 * A stream of received batches mixes good packets with a forged one in the
 * middle of a batch, a duplicate within one batch (after its original, and
 * a forged copy of a packet the batch already holds), a forgery ahead of
 * its genuine packet in the same batch (the window moves only for authentic
 * packets, RFC 4303 §3.4.3), replays of earlier batches, a batch longer
 * than the queue (it flushes in the middle), and an SA that reaches its
 * hard packet limit inside a batch.  What the batched path delivers and
 * counts (per drop reason, worker and SA counters) must be what the one by
 * one path (sl_esp_decap, a packet at a time) gives for the same stream,
 * and what the stream was built to give.
 */
#include "engine_check.h"
#include "esp.h"
#include "esp_events.h"
#include "esp_in_batch.h"
#include "crypto_batch.h"
#include "pkt_build.h"
#include "sadb.h"

#include <netinet/in.h>
#include <string.h>

#define NSEQ 160   /* sequence numbers sealed */
#define NRX 400    /* received packets in the whole stream */
#define PKT_ROOM 1600
#define WIN 64     /* replay window: small, so the long batch pushes old numbers out */

/* What the stream holds at one position: a sealed packet by its sequence
 * number, genuine or forged (one ciphertext bit flipped). */
typedef struct {
	unsigned seq;
	bool forged;
} rx_item_t;

static uint8_t key_enc[36], key_auth[32];
static uint8_t wire[NSEQ + 1][PKT_ROOM]; /* sealed packets by sequence number */
static size_t wire_len[NSEQ + 1];
static uint8_t rxbuf[NRX][PKT_ROOM];    /* the "received" copies, decrypted in place */

typedef struct {
	unsigned n;
	unsigned tag[NRX]; /* the sequence number carried inside each delivered packet */
} delivered_t;

static void on_deliver(void *ctx, uint8_t *inner, size_t len)
{
	delivered_t *d = ctx;
	/* The tag sits right after the 40-byte IPv6 header (see seal_all). */
	CHECK(len >= 44);
	if (len >= 44 && d->n < NRX)
		d->tag[d->n++] = (unsigned)inner[40] << 24 | (unsigned)inner[41] << 16 |
				 (unsigned)inner[42] << 8 | inner[43];
}

static sl_sa_t *mk(const char *alg, uint8_t dir, bool esn, sl_backend_t be, uint64_t hard_p,
		   char *err, size_t errlen)
{
	sl_alg_t a;
	size_t ek, ak;
	if (sl_alg_parse(alg, &a, &ek, &ak) != 0) {
		snprintf(err, errlen, "unknown algorithm");
		return NULL;
	}
	sl_sa_spec_t sp = { .spi = 0x2001, .dir = dir, .algorithm = alg, .enc_key = key_enc,
			    .enc_key_len = ek, .auth_key = ak ? key_auth : NULL, .auth_key_len = ak,
			    .encap = SL_ENCAP_UDP, .esn = esn, .replay_window = WIN, .backend = be,
			    .hard_packets = hard_p };
	sl_endpoint_parse(&sp.remote, "127.0.0.1", 4500);
	sl_endpoint_parse(&sp.local, "127.0.0.1", 4500);
	return sl_sa_new(&sp, 1, err, errlen);
}

/* Seal sequence numbers 1..NSEQ on OpenSSL (the peer), each an IPv6 inner
 * packet of a size that varies, carrying its number as a tag. */
static bool seal_all(const char *alg, bool esn)
{
	char err[256] = "";
	sl_sa_t *out = mk(alg, SL_DIR_OUT, esn, SL_BACKEND_OPENSSL, 0, err, sizeof(err));
	if (out == NULL) {
		printf("  sealer for %s: %s\n", alg, err);
		return false;
	}
	static uint8_t buf[PKT_ROOM + SL_ESP_HEADROOM + SL_ESP_TAILROOM];
	for (unsigned s = 1; s <= NSEQ; s++) {
		size_t tot = 60 + (s * 37) % 1300;
		uint8_t *ip = buf + SL_ESP_HEADROOM;
		memset(ip, (int)(s & 0xff), tot);
		pkt_ip_header(ip, true, 253, tot, 0);
		ip[40] = (uint8_t)(s >> 24);
		ip[41] = (uint8_t)(s >> 16);
		ip[42] = (uint8_t)(s >> 8);
		ip[43] = (uint8_t)s;
		uint8_t *esp;
		size_t len = 0;
		CHECK_EQ(sl_esp_encap(&W, out, buf, sizeof(buf), tot, IPPROTO_IPV6, &esp, &len), SL_OK);
		CHECK(len > 0 && len <= PKT_ROOM);
		if (len == 0 || len > PKT_ROOM)
			break;
		memcpy(wire[s], esp, len);
		wire_len[s] = len;
	}
	sl_sa_free(out);
	return true;
}

/* The received stream, in batches (a received batch ends at each 0 seq). */
static rx_item_t stream[NRX];
static unsigned nstream;

static void put(unsigned seq, bool forged)
{
	if (nstream < NRX)
		stream[nstream++] = (rx_item_t){ seq, forged };
}

static void build_stream(void)
{
	nstream = 0;
	/* Batch 1: 1..20 with seq 8 forged in the middle, a duplicate of 5 after
	 * its original, and a forged copy of 12 (already in this batch). */
	for (unsigned s = 1; s <= 20; s++) {
		put(s, s == 8);
		if (s == 6)
			put(5, false);
		if (s == 14)
			put(12, true);
	}
	put(0, false);
	/* Batch 2: replays of batch 1 (3, and 12 twice), the genuine 8 whose
	 * forgery failed (accepted: the window never recorded 8), a forgery of
	 * 22 ahead of the genuine 22, and 21..30. */
	put(3, false);
	put(12, false);
	put(8, false);
	put(22, true);
	for (unsigned s = 21; s <= 30; s++)
		put(s, false);
	put(12, false);
	put(0, false);
	/* Batch 3: longer than the queue (SL_ESP_RXQ_LEN), so it flushes in the
	 * middle: 31..130 with a duplicate of 40 near the end (caught by the
	 * pre-check, the first flush having recorded 40) and of 120 just after
	 * it, then 35 (left of the window of 64 by then). */
	for (unsigned s = 31; s <= 130; s++) {
		put(s, false);
		if (s == 110)
			put(40, false);
		if (s == 121)
			put(120, false);
	}
	put(35, false);
	put(0, false);
	/* Batch 4: out of order within the window, and a last duplicate. */
	for (unsigned s = 160; s > 131; s -= 3)
		put(s, false);
	put(157, false);
	put(0, false);
}

typedef struct {
	delivered_t d;
	uint64_t drops[SL_DROP__COUNT];
	sl_sa_counts_t sa;
} outcome_t;

/* Copy stream position i's packet into its receive buffer (decrypted in
 * place from there). */
static uint8_t *rx_copy(unsigned i)
{
	const rx_item_t *it = &stream[i];
	memcpy(rxbuf[i], wire[it->seq], wire_len[it->seq]);
	if (it->forged)
		rxbuf[i][wire_len[it->seq] / 2] ^= 0x04; /* in the ciphertext */
	return rxbuf[i];
}

static void snapshot(outcome_t *o, const sl_sa_t *in)
{
	for (int k = 0; k < SL_DROP__COUNT; k++)
		o->drops[k] = SL_CNT_GET(cnt.drops[k]);
	o->sa = sl_sa_counts(in);
}

/* Run the stream through sl_esp_decap, one packet at a time. */
static void run_one_by_one(sl_sadb_t *db, sl_sa_t *in, outcome_t *o)
{
	memset(&cnt, 0, sizeof(cnt));
	o->d.n = 0;
	sl_endpoint_t from;
	sl_endpoint_parse(&from, "127.0.0.1", 4500);
	for (unsigned i = 0; i < nstream; i++) {
		if (stream[i].seq == 0)
			continue;
		uint8_t *inner;
		size_t ilen;
		uint8_t *p = rx_copy(i);
		sl_drop_t why = sl_esp_decap(&W, db, SL_ENCAP_UDP, p, wire_len[stream[i].seq], &from,
					     &inner, &ilen);
		if (why != SL_OK)
			sl_esp_count_drop(&W, why);
		else if (ilen)
			on_deliver(&o->d, inner, ilen);
	}
	snapshot(o, in);
}

/* The same stream through the queue, a received batch per flush. */
static void run_batched(sl_sadb_t *db, sl_sa_t *in, sl_crypto_batch_t *b, outcome_t *o)
{
	memset(&cnt, 0, sizeof(cnt));
	o->d.n = 0;
	sl_esp_rxq_t q = { .w = &W, .db = db, .batch = b, .deliver = on_deliver, .ctx = &o->d };
	sl_endpoint_t from;
	sl_endpoint_parse(&from, "127.0.0.1", 4500);
	for (unsigned i = 0; i < nstream; i++) {
		if (stream[i].seq == 0) {
			sl_esp_rxq_flush(&q);
			CHECK_EQ(sl_crypto_batch_len(b), 0);
			continue;
		}
		sl_esp_rxq_add(&q, SL_ENCAP_UDP, rx_copy(i), wire_len[stream[i].seq], &from);
	}
	sl_esp_rxq_flush(&q);
	snapshot(o, in);
}

static void compare(const outcome_t *a, const outcome_t *b, const char *what)
{
	CHECK_EQ(a->d.n, b->d.n);
	for (unsigned i = 0; i < a->d.n && i < b->d.n; i++) {
		if (a->d.tag[i] != b->d.tag[i]) {
			CHECK_EQ(a->d.tag[i], b->d.tag[i]);
			fprintf(stderr, "  %s: delivered packet %u differs\n", what, i);
			break;
		}
	}
	for (int k = 0; k < SL_DROP__COUNT; k++)
		CHECK_EQ(a->drops[k], b->drops[k]);
	CHECK_EQ(a->sa.packets, b->sa.packets);
	CHECK_EQ(a->sa.bytes, b->sa.bytes);
	CHECK_EQ(a->sa.drops_replay, b->sa.drops_replay);
	CHECK_EQ(a->sa.drops_icv, b->sa.drops_icv);
	CHECK_EQ(a->sa.drops_malformed, b->sa.drops_malformed);
}

/* What the stream was built to give (see build_stream). */
static void expect(const outcome_t *o, const char *what)
{
	/* Forged: 8 and 22 (ICV).  Replays: dup 5 and the forged copy of 12
	 * (its number is recorded by then: a replay before any ICV, as one by
	 * one) in batch 1; 3, 12, 12 in batch 2; dup 40, dup 120, 35 in batch 3;
	 * dup 157 in batch 4. */
	int fails = sl_test_failures;
	CHECK_EQ(o->drops[SL_DROP_ICV], 2);
	CHECK_EQ(o->drops[SL_DROP_REPLAY], 9);
	CHECK_EQ(o->sa.drops_icv, 2);
	CHECK_EQ(o->sa.drops_replay, 9);
	/* Delivered: every number of 1..130 once, then 160, 157, ..., 133. */
	unsigned want = 130 + 10;
	CHECK_EQ(o->d.n, want);
	bool seen[NSEQ + 1] = { false };
	for (unsigned i = 0; i < o->d.n; i++) {
		unsigned t = o->d.tag[i];
		CHECK(t >= 1 && t <= NSEQ && !seen[t]);
		if (t >= 1 && t <= NSEQ)
			seen[t] = true;
	}
	CHECK(seen[8] && seen[22] && seen[12]);
	/* In arrival order: the genuine 8 after 20 and before 21 (batch 2). */
	CHECK(o->d.n > 20 && o->d.tag[18] == 20 && o->d.tag[19] == 8 && o->d.tag[20] == 21);
	if (sl_test_failures != fails)
		fprintf(stderr, "  %s: not the built outcome\n", what);
}

/* A hard packet limit reached inside a batch: what follows it in the batch
 * is dropped as DEAD, as one by one. */
static void lifetime_mid_batch(const char *alg, bool esn, sl_backend_t be, sl_crypto_batch_t *b)
{
	outcome_t one, bat;
	char err[256];
	for (int pass = 0; pass < 2; pass++) {
		sl_sadb_t db;
		sl_sadb_init(&db);
		sl_sa_t *in = mk(alg, SL_DIR_IN, esn, be, 6, err, sizeof(err));
		CHECK(in != NULL);
		if (in == NULL)
			return;
		CHECK_EQ(sl_sadb_add(&db, in), 0);
		nstream = 0;
		for (unsigned s = 1; s <= 12; s++)
			put(s, false);
		if (pass == 0)
			run_one_by_one(&db, in, &one);
		else
			run_batched(&db, in, b, &bat);
		sl_sadb_destroy(&db);
	}
	compare(&one, &bat, "lifetime");
	/* Up to the limit delivered, the rest of the batch dropped as DEAD. */
	CHECK(bat.d.n >= 5 && bat.d.n <= 6);
	CHECK_EQ(bat.d.n + bat.drops[SL_DROP_DEAD], 12);
}

/* One algorithm on one backend; false when the backend lacks it. */
static bool run_alg(const char *alg, bool esn, sl_backend_t be, sl_crypto_batch_t *b)
{
	char what[96], err[256] = "";
	snprintf(what, sizeof(what), "%s%s on %s", alg, esn ? " esn" : "",
		 be == SL_BACKEND_AFALG ? "af_alg" : "openssl");
	if (!seal_all(alg, esn))
		return false;
	build_stream();
	outcome_t one, bat;
	for (int pass = 0; pass < 2; pass++) {
		sl_sadb_t db;
		sl_sadb_init(&db);
		sl_sa_t *in = mk(alg, SL_DIR_IN, esn, be, 0, err, sizeof(err));
		if (in == NULL) {
			sl_sadb_destroy(&db);
			printf("  SKIP %s: %s\n", what, err);
			return false;
		}
		CHECK_EQ(sl_sadb_add(&db, in), 0);
		if (pass == 0)
			run_one_by_one(&db, in, &one);
		else
			run_batched(&db, in, b, &bat);
		sl_sadb_destroy(&db);
	}
	int fails = sl_test_failures;
	compare(&one, &bat, what);
	expect(&bat, what);
	lifetime_mid_batch(alg, esn, be, b);
	printf("  %s: %u delivered, %llu forged and %llu replays dropped, as one by one%s\n", what,
	       bat.d.n, (unsigned long long)bat.drops[SL_DROP_ICV],
	       (unsigned long long)bat.drops[SL_DROP_REPLAY], sl_test_failures != fails ? ": FAILED" : "");
	return true;
}

static const char *algs[] = { "aes128gcm16", "aes256gcm16", "aes128-sha256", "aes256-sha1",
			      "3des-sha1", "chacha20poly1305" };

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (size_t i = 0; i < sizeof(key_enc); i++)
		key_enc[i] = (uint8_t)(0x31 + 7 * i);
	for (size_t i = 0; i < sizeof(key_auth); i++)
		key_auth[i] = (uint8_t)(0xc3 ^ (5 * i));
	sl_crypto_batch_t *b = sl_crypto_batch_new(SL_ESP_RXQ_LEN);
	CHECK(b != NULL);
	if (b == NULL)
		TEST_DONE("test_esp_in_batch");

	printf("received batches on OpenSSL SAs (their opens run as queued)\n");
	for (size_t a = 0; a < sizeof(algs) / sizeof(algs[0]); a++)
		for (int esn = 0; esn <= 1; esn++)
			CHECK(run_alg(algs[a], esn, SL_BACKEND_OPENSSL, b));

	printf("received batches on AF_ALG SAs (opens in shared syscall rounds)\n");
	if (!sl_afalg_available()) {
		printf("  SKIP AF_ALG half: this kernel has no AF_ALG (socket(AF_ALG) fails); "
		       "the QEMU guest runs it (test/qemu/image.test.ts)\n");
	} else {
		sl_crypto_batch_stats_t st0, st1;
		sl_crypto_batch_stats(b, &st0);
		unsigned ran = 0;
		for (size_t a = 0; a < sizeof(algs) / sizeof(algs[0]); a++)
			for (int esn = 0; esn <= 1; esn++)
				ran += run_alg(algs[a], esn, SL_BACKEND_AFALG, b);
		CHECK(ran > 0);
		sl_crypto_batch_stats(b, &st1);
		uint64_t req = st1.afalg_requests - st0.afalg_requests;
		uint64_t sys = st1.afalg_syscalls - st0.afalg_syscalls;
		CHECK(req > 0);
		/* Batched on io_uring, rounds of up to 8 opens of one SA share an
		 * io_uring_enter; one by one each takes a sendmsg and a recvmsg. */
		if (st1.uring)
			CHECK(sys < req);
		else
			CHECK(sys == 2 * req);
		printf("  AF_ALG: %u algorithm runs, %llu opens in %llu syscalls (%.2f per packet, %s)\n", ran,
		       (unsigned long long)req, (unsigned long long)sys, req ? (double)sys / (double)req : 0.0,
		       st1.uring ? "io_uring rounds" : "io_uring refused: one by one");
	}
	sl_crypto_batch_free(b);
	TEST_DONE("test_esp_in_batch");
}
