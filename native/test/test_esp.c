/*
 * test_esp.c - ESP tunnel mode encap/decap (RFC 4303) through the OpenSSL
 * backend for every algorithm: round trips, padding and next header, each
 * kind of garbage dropped with the right counter (and good traffic passing
 * afterwards), lifetime limits, and sequence-number exhaustion.
 */
#include "engine_check.h"
#include "esp.h"
#include "esp_events.h"
#include "sadb.h"

#include <netinet/in.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

static const char *algs[] = { "aes128gcm16",   "aes256gcm16",   "aes128-sha1",
			      "aes256-sha1",   "aes128-sha256", "aes256-sha256",
			      "3des-sha1",     "chacha20poly1305" };

/* IPv4 packet src 198.18.2.5 -> dst (198.18.1.7 unless overridden), proto 253 (experimental), with checksum. */
static size_t ipv4(uint8_t *p, size_t total, uint8_t dst_last, uint8_t fill)
{
	memset(p, fill, total);
	p[0] = 0x45;
	p[1] = 0;
	p[2] = (uint8_t)(total >> 8);
	p[3] = (uint8_t)total;
	p[4] = p[5] = p[6] = p[7] = 0;
	p[8] = 64;
	p[9] = 253;
	p[10] = p[11] = 0;
	uint8_t src[4] = { 198, 18, 2, 5 }, dst[4] = { 198, 18, 1, dst_last };
	memcpy(p + 12, src, 4);
	memcpy(p + 16, dst, 4);
	uint32_t sum = 0;
	for (int i = 0; i < 20; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	p[10] = (uint8_t)(~sum >> 8);
	p[11] = (uint8_t)~sum;
	return total;
}

static size_t ipv6(uint8_t *p, size_t total)
{
	memset(p, 0x5a, total);
	p[0] = 0x60;
	p[1] = p[2] = p[3] = 0;
	p[4] = (uint8_t)((total - 40) >> 8);
	p[5] = (uint8_t)(total - 40);
	p[6] = 253;
	p[7] = 64;
	return total;
}

typedef struct pair {
	sl_sadb_t db;
	sl_sa_t *out, *in;
} pair_t;

static uint8_t key_enc[36], key_auth[32];

static sl_sa_t *mk(const char *alg, uint8_t dir, bool esn, uint64_t soft_p, uint64_t hard_p)
{
	sl_alg_t a;
	size_t ek, ak;
	if (sl_alg_parse(alg, &a, &ek, &ak) != 0)
		return NULL;
	static sl_selector_t sel;
	memset(&sel, 0, sizeof(sel));
	/* Viewed from the receiver: local 198.18.1.0/24, remote 198.18.2.0/24. */
	CHECK_EQ(sl_prefix_parse(&sel.local, dir == SL_DIR_IN ? "198.18.1.0/24" : "198.18.2.0/24"), 0);
	CHECK_EQ(sl_prefix_parse(&sel.remote, dir == SL_DIR_IN ? "198.18.2.0/24" : "198.18.1.0/24"), 0);
	sel.lport_hi = sel.rport_hi = 65535;
	sl_sa_spec_t sp = { .spi = 0x1001, .dir = dir, .algorithm = alg, .enc_key = key_enc,
			    .enc_key_len = ek, .auth_key = ak ? key_auth : NULL,
			    .auth_key_len = ak, .encap = SL_ENCAP_UDP, .esn = esn,
			    .replay_window = 1024, .backend = SL_BACKEND_OPENSSL,
			    .soft_packets = soft_p, .hard_packets = hard_p,
			    .selectors = &sel, .nselectors = 1 };
	sl_endpoint_parse(&sp.remote, "127.0.0.1", 4500);
	sl_endpoint_parse(&sp.local, "127.0.0.1", 4500);
	char err[256] = "";
	sl_sa_t *sa = sl_sa_new(&sp, 1, err, sizeof(err));
	if (!sa)
		fprintf(stderr, "sl_sa_new(%s): %s\n", alg, err);
	return sa;
}

static int pair_init(pair_t *p, const char *alg, bool esn)
{
	sl_sadb_init(&p->db);
	p->out = mk(alg, SL_DIR_OUT, esn, 0, 0);
	p->in = mk(alg, SL_DIR_IN, esn, 0, 0);
	if (!p->out || !p->in)
		return -1;
	CHECK_EQ(sl_sadb_add(&p->db, p->out), 0);
	CHECK_EQ(sl_sadb_add(&p->db, p->in), 0);
	return 0;
}

#define BUFSZ 2048
static uint8_t buf[BUFSZ], orig[BUFSZ], copy[BUFSZ];

/* Encapsulate inner (len bytes, next header nh) with p->out into buf; returns ESP length. */
static size_t seal(pair_t *p, const uint8_t *inner, size_t len, uint8_t nh, uint8_t **esp)
{
	memcpy(buf + SL_ESP_HEADROOM, inner, len);
	size_t esp_len = 0;
	CHECK_EQ(sl_esp_encap(&W, p->out, buf, BUFSZ, len, nh, esp, &esp_len), SL_OK);
	return esp_len;
}

static sl_drop_t open_pkt(pair_t *p, uint8_t *esp, size_t len, uint8_t **inner, size_t *ilen)
{
	sl_endpoint_t from;
	sl_endpoint_parse(&from, "127.0.0.1", 4500);
	return sl_esp_decap(&W, &p->db, SL_ENCAP_UDP, esp, len, &from, inner, ilen);
}

/* Hand-build an ESP payload (inner + custom trailer) and seal it with the
 * crypto context directly: lets us produce authentic packets with bad
 * padding or a bad inner header. */
static size_t seal_raw(pair_t *p, const uint8_t *payload, size_t plen, uint64_t seq, uint8_t **esp)
{
	sl_sa_t *sa = p->out;
	uint8_t *hdr = buf + SL_ESP_HEADROOM - 8 - sa->iv_len;
	memcpy(buf + SL_ESP_HEADROOM, payload, plen);
	hdr[0] = (uint8_t)(sa->spi >> 24);
	hdr[1] = (uint8_t)(sa->spi >> 16);
	hdr[2] = (uint8_t)(sa->spi >> 8);
	hdr[3] = (uint8_t)sa->spi;
	hdr[4] = (uint8_t)(seq >> 24);
	hdr[5] = (uint8_t)(seq >> 16);
	hdr[6] = (uint8_t)(seq >> 8);
	hdr[7] = (uint8_t)seq;
	CHECK_EQ(sl_crypto_seal(sa->ctx[0], hdr, plen, seq), SL_CRYPTO_OK);
	*esp = hdr;
	return 8 + sa->iv_len + plen + sa->icv_len;
}

static void round_trips(const char *alg, bool esn)
{
	pair_t p;
	if (pair_init(&p, alg, esn) != 0) {
		CHECK(!"SA creation failed");
		return;
	}
	size_t sizes[] = { 20, 21, 22, 23, 24, 63, 64, 65, 100, 1000, 1400 };
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t n = ipv4(orig, sizes[i], 7, (uint8_t)i);
		uint8_t *esp, *inner;
		size_t ilen, len = seal(&p, orig, n, IPPROTO_IPIP, &esp);
		size_t plen = len - 8 - p.out->iv_len - p.out->icv_len;
		CHECK_EQ(plen % p.out->block, 0);
		CHECK(plen >= n + 2 && plen < n + 2 + p.out->block);
		/* The wire carries only the low 32 bits of the sequence number. */
		CHECK_EQ(esp[7], (uint8_t)(i + 1));
		CHECK_EQ(open_pkt(&p, esp, len, &inner, &ilen), SL_OK);
		CHECK_EQ(ilen, n);
		CHECK(memcmp(inner, orig, n) == 0);
		/* The trailer that was decrypted: 1, 2, 3 ... padlen, nh 4 (§2.4, §2.6). */
		size_t padlen = plen - n - 2;
		for (size_t k = 0; k < padlen; k++)
			CHECK_EQ(inner[n + k], k + 1);
		CHECK_EQ(inner[n + padlen], padlen);
		CHECK_EQ(inner[n + padlen + 1], 4);
	}
	/* IPv6 inner packet with next header 41: the IPv4 selectors reject it (malformed). */
	size_t n6 = ipv6(orig, 80);
	uint8_t *esp, *inner;
	size_t ilen, len = seal(&p, orig, n6, IPPROTO_IPV6, &esp);
	uint64_t before = sl_sa_counts(p.in).drops_malformed;
	CHECK_EQ(open_pkt(&p, esp, len, &inner, &ilen), SL_DROP_MALFORMED);
	CHECK_EQ(sl_sa_counts(p.in).drops_malformed, before + 1);
	CHECK_EQ(sl_sa_seq(p.out), 12);
	CHECK_EQ(sl_sa_seq(p.in), 12);
	CHECK_EQ(sl_sa_counts(p.in).packets, 11);
	sl_sadb_destroy(&p.db);
}

static void garbage(const char *alg)
{
	pair_t p;
	if (pair_init(&p, alg, false) != 0) {
		CHECK(!"SA creation failed");
		return;
	}
	sl_sa_t *in = p.in;
	uint8_t *esp, *inner;
	size_t ilen, n = ipv4(orig, 200, 7, 0x11);
	size_t len = seal(&p, orig, n, IPPROTO_IPIP, &esp);
	memcpy(copy, esp, len);

	/* Truncated: shorter than SPI+seq, and shorter than header+one block+ICV. */
	CHECK_EQ(open_pkt(&p, copy, 7, &inner, &ilen), SL_DROP_MALFORMED);
	CHECK_EQ(open_pkt(&p, copy, 8 + in->iv_len + in->icv_len + in->block - 1, &inner, &ilen),
		 SL_DROP_MALFORMED);
	/* Not a whole number of blocks. */
	CHECK_EQ(open_pkt(&p, copy, len - 1, &inner, &ilen), SL_DROP_MALFORMED);
	/* Unknown SPI (§3.4.2). */
	memcpy(copy, esp, len);
	copy[3] ^= 0x40;
	CHECK_EQ(open_pkt(&p, copy, len, &inner, &ilen), SL_DROP_BADSPI);
	/* Tampered ICV, tampered ciphertext (§3.4.4). */
	memcpy(copy, esp, len);
	copy[len - 1] ^= 1;
	CHECK_EQ(open_pkt(&p, copy, len, &inner, &ilen), SL_DROP_ICV);
	memcpy(copy, esp, len);
	copy[8 + in->iv_len + 3] ^= 0x80;
	CHECK_EQ(open_pkt(&p, copy, len, &inner, &ilen), SL_DROP_ICV);
	CHECK_EQ(sl_sa_counts(in).drops_icv, 2);
	/* A failed ICV must not have advanced the window: the genuine packet passes. */
	memcpy(copy, esp, len);
	CHECK_EQ(open_pkt(&p, copy, len, &inner, &ilen), SL_OK);
	/* Replay of the same packet. */
	memcpy(copy, esp, len);
	CHECK_EQ(open_pkt(&p, copy, len, &inner, &ilen), SL_DROP_REPLAY);
	CHECK_EQ(sl_sa_counts(in).drops_replay, 1);

	/* Authentic packet with bad padding (must be 1, 2, 3, ...). */
	size_t bs = in->block < 4 ? 4 : in->block;
	uint8_t pl[512];
	size_t body = ipv4(pl, 200, 7, 0x22);
	size_t padded = (body + 2 + bs - 1) / bs * bs;
	if (padded - body - 2 < 2)
		padded += bs;
	size_t padlen = padded - body - 2;
	for (size_t k = 0; k < padlen; k++)
		pl[body + k] = (uint8_t)(k + 1);
	pl[body + padlen - 1] ^= 0x55;
	pl[body + padlen] = (uint8_t)padlen;
	pl[body + padlen + 1] = 4;
	len = seal_raw(&p, pl, padded, 100, &esp);
	CHECK_EQ(open_pkt(&p, esp, len, &inner, &ilen), SL_DROP_PADDING);
	/* Pad length pointing before the payload start. */
	pl[body + padlen - 1] = (uint8_t)padlen;
	pl[padded - 2] = 0xff;
	len = seal_raw(&p, pl, padded, 101, &esp);
	CHECK_EQ(open_pkt(&p, esp, len, &inner, &ilen), SL_DROP_PADDING);
	CHECK_EQ(sl_sa_counts(in).drops_padding, 2);
	/* Oversized: the inner header claims more bytes than were carried. */
	pl[padded - 2] = (uint8_t)padlen;
	pl[2] = 0x05;
	pl[3] = 0xdc; /* total length 1500 */
	len = seal_raw(&p, pl, padded, 102, &esp);
	CHECK_EQ(open_pkt(&p, esp, len, &inner, &ilen), SL_DROP_MALFORMED);
	/* Inner destination outside the SA's selectors (RFC 4301 §5.2). */
	n = ipv4(orig, 120, 7, 0x33);
	orig[18] = 3; /* 198.18.3.7 */
	orig[10] = orig[11] = 0;
	{
		uint32_t sum = 0;
		for (int i = 0; i < 20; i += 2)
			sum += (uint32_t)(orig[i] << 8 | orig[i + 1]);
		while (sum >> 16)
			sum = (sum & 0xffff) + (sum >> 16);
		orig[10] = (uint8_t)(~sum >> 8);
		orig[11] = (uint8_t)~sum;
	}
	len = seal(&p, orig, n, IPPROTO_IPIP, &esp);
	CHECK_EQ(open_pkt(&p, esp, len, &inner, &ilen), SL_DROP_MALFORMED);
	/* Unknown next header. */
	n = ipv4(orig, 60, 7, 0);
	len = seal(&p, orig, n, 17, &esp);
	CHECK_EQ(open_pkt(&p, esp, len, &inner, &ilen), SL_DROP_MALFORMED);
	/* Two truncations that reached the SA, then these three. */
	CHECK_EQ(sl_sa_counts(in).drops_malformed, 5);
	/* Encapsulation without room for the trailer is refused. */
	uint8_t *e2;
	size_t l2;
	CHECK_EQ(sl_esp_encap(&W, p.out, buf, SL_ESP_HEADROOM + 100, 100, 4, &e2, &l2),
		 SL_DROP_MALFORMED);
	/* Good traffic still passes after all that. */
	for (int i = 0; i < 5; i++) {
		n = ipv4(orig, 300 + (size_t)i, 7, (uint8_t)i);
		len = seal(&p, orig, n, IPPROTO_IPIP, &esp);
		CHECK_EQ(open_pkt(&p, esp, len, &inner, &ilen), SL_OK);
		CHECK(ilen == n && memcmp(inner, orig, n) == 0);
	}
	sl_sadb_destroy(&p.db);
}

/* Jump the outbound counter: the SA-wide reservation, and worker 0's run
 * used up so its next packet reserves after it. */
static void set_seq(sl_sa_t *sa, uint64_t last)
{
	atomic_store(&sa->seq_res, last);
	sa->w[0].seq_left = 0;
}

static void seq_overflow(bool esn)
{
	pair_t p;
	if (pair_init(&p, "aes128gcm16", esn) != 0) {
		CHECK(!"SA creation failed");
		return;
	}
	nevents = 0;
	sl_sa_t *out = p.out;
	uint8_t *esp;
	size_t len, n = ipv4(orig, 100, 7, 1);
	/* §3.3.3: well before the counter runs out, IKE is told to rekey. */
	set_seq(out, out->seq_warn - 2);
	seal(&p, orig, n, 4, &esp);
	CHECK_EQ(count_events(SL_EV_SEQ_OVERFLOW), 0);
	seal(&p, orig, n, 4, &esp);
	seal(&p, orig, n, 4, &esp);
	CHECK_EQ(count_events(SL_EV_SEQ_OVERFLOW), 1); /* once */
	CHECK(events[0].spi == 0x1001 && events[0].dir == SL_DIR_OUT);
	/* The last number is still used ... */
	set_seq(out, out->seq_max - 1);
	len = seal(&p, orig, n, 4, &esp);
	CHECK_EQ(esp[4] & esp[5] & esp[6] & esp[7], 0xff);
	(void)len;
	/* ... then the SA refuses to send rather than wrap. */
	memcpy(buf + SL_ESP_HEADROOM, orig, n);
	for (int i = 0; i < 3; i++)
		CHECK_EQ(sl_esp_encap(&W, out, buf, BUFSZ, n, 4, &esp, &len), SL_DROP_DEAD);
	CHECK_EQ(sl_sa_seq(out), out->seq_max);
	CHECK(esn ? out->seq_max == UINT64_MAX : out->seq_max == UINT32_MAX);
	sl_sadb_destroy(&p.db);
}

static void *reaper(void *arg)
{
	sl_sadb_t *db = arg;
	return (void *)(uintptr_t)sl_sadb_reap(db);
}

static void limits(void)
{
	sl_sadb_t db;
	sl_sadb_init(&db);
	sl_sa_t *out = mk("aes128gcm16", SL_DIR_OUT, false, 3, 5);
	sl_sa_t *live = mk("aes128-sha256", SL_DIR_IN, false, 0, 0);
	CHECK(out != NULL && live != NULL);
	if (!out || !live)
		return;
	sl_sadb_add(&db, out);
	sl_sadb_add(&db, live);
	atomic_bool reap = false;
	const sl_wctx_t WR = { .worker = 0, .cnt = &cnt, .sink = &sink, .reap = &reap };
	nevents = 0;
	size_t n = ipv4(orig, 100, 7, 1), len;
	uint8_t *esp;
	sl_drop_t r[7];
	for (int i = 0; i < 7; i++) {
		memcpy(buf + SL_ESP_HEADROOM, orig, n);
		r[i] = sl_esp_encap(&WR, out, buf, BUFSZ, n, 4, &esp, &len);
	}
	for (int i = 0; i < 5; i++)
		CHECK_EQ(r[i], SL_OK);
	CHECK_EQ(r[5], SL_DROP_DEAD);
	CHECK_EQ(r[6], SL_DROP_DEAD);
	CHECK_EQ(count_events(SL_EV_SOFT), 1);
	CHECK_EQ(count_events(SL_EV_HARD), 1);
	CHECK_EQ(sl_sa_counts(out).packets, 5);
	CHECK(atomic_load(&out->dead));
	/* A dead SA is skipped by the selector lookup. */
	sl_flow_t f = { .family = AF_INET };
	memcpy(f.src, orig + 12, 4);
	memcpy(f.dst, orig + 16, 4);
	CHECK(sl_sadb_lookup_out(&db, &f) == NULL);

	/* The dying worker asked for a reap; the keys are still there until then. */
	CHECK(atomic_load(&reap));
	CHECK(out->nctx == 1 && out->ctx[0] != NULL && !atomic_load(&out->keys_wiped));
	/* A worker mid-batch (an online reader that has not passed a quiescent
	 * point) keeps the contexts alive: the reap waits for its grace period. */
	int slot = sl_sadb_reader_register(&db);
	CHECK(slot >= 0);
	pthread_t th;
	CHECK_EQ(pthread_create(&th, NULL, reaper, &db), 0);
	struct timespec ts = { 0, 100 * 1000 * 1000 };
	nanosleep(&ts, NULL);
	CHECK(out->nctx == 1 && out->ctx[0] != NULL);
	sl_sadb_quiescent(&db, slot);
	void *wiped = NULL;
	pthread_join(th, &wiped);
	CHECK_EQ((uintptr_t)wiped, 1); /* only the dead SA, not the live one */
	CHECK(out->nctx == 0 && out->ctx[0] == NULL && atomic_load(&out->keys_wiped));
	sl_sadb_reader_unregister(&db, slot);
	CHECK(live->nctx == 1 && live->ctx[0] != NULL && !atomic_load(&live->keys_wiped));
	CHECK(strcmp(out->backend_name, "openssl") == 0); /* status still reads it */
	/* The dead SA is still refused without touching the (gone) contexts. */
	memcpy(buf + SL_ESP_HEADROOM, orig, n);
	CHECK_EQ(sl_esp_encap(&WR, out, buf, BUFSZ, n, 4, &esp, &len), SL_DROP_DEAD);
	CHECK_EQ(sl_sadb_reap(&db), 0); /* nothing left to wipe */
	CHECK_EQ(sl_sadb_del(&db, out->spi, SL_DIR_OUT), 0); /* delete after a wipe: no double free */

	/* Inbound: past its hard limit the SA dies on decap, and the reap wipes it. */
	sl_sa_t *o2 = mk("aes128gcm16", SL_DIR_OUT, false, 0, 0), *in2 = mk("aes128gcm16", SL_DIR_IN, false, 0, 2);
	CHECK(o2 && in2);
	if (o2 && in2) {
		o2->spi = in2->spi = 0x2002;
		sl_sadb_add(&db, o2);
		sl_sadb_add(&db, in2);
		atomic_store(&reap, false);
		sl_drop_t rr[3];
		for (int i = 0; i < 3; i++) {
			memcpy(buf + SL_ESP_HEADROOM, orig, n);
			CHECK_EQ(sl_esp_encap(&WR, o2, buf, BUFSZ, n, 4, &esp, &len), SL_OK);
			uint8_t *inner;
			size_t ilen;
			sl_endpoint_t from;
			sl_endpoint_parse(&from, "127.0.0.1", 4500);
			rr[i] = sl_esp_decap(&WR, &db, SL_ENCAP_UDP, esp, len, &from, &inner, &ilen);
		}
		CHECK_EQ(rr[0], SL_OK);
		CHECK_EQ(rr[1], SL_OK);
		CHECK_EQ(rr[2], SL_DROP_DEAD);
		CHECK(atomic_load(&reap) && atomic_load(&in2->dead));
		CHECK_EQ(sl_sadb_reap(&db), 1);
		CHECK(in2->nctx == 0 && atomic_load(&in2->keys_wiped) && o2->nctx == 1);
		memcpy(buf + SL_ESP_HEADROOM, orig, n);
		CHECK_EQ(sl_esp_encap(&WR, o2, buf, BUFSZ, n, 4, &esp, &len), SL_OK);
		sl_endpoint_t from;
		sl_endpoint_parse(&from, "127.0.0.1", 4500);
		uint8_t *inner;
		size_t ilen;
		CHECK_EQ(sl_esp_decap(&WR, &db, SL_ENCAP_UDP, esp, len, &from, &inner, &ilen), SL_DROP_DEAD);
	}
	sl_sadb_destroy(&db);
}

int main(void)
{
	for (size_t i = 0; i < sizeof(key_enc); i++)
		key_enc[i] = (uint8_t)(0x10 + i);
	for (size_t i = 0; i < sizeof(key_auth); i++)
		key_auth[i] = (uint8_t)(0xa0 + i);
	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		round_trips(algs[i], false);
		round_trips(algs[i], true);
		garbage(algs[i]);
		if (sl_test_failures) {
			fprintf(stderr, "failures after %s\n", algs[i]);
			break;
		}
	}
	seq_overflow(false);
	seq_overflow(true);
	limits();
	CHECK(SL_CNT_GET(cnt.drops[SL_DROP_MALFORMED]) == 0); /* decap never counts globally itself */
	TEST_DONE("test_esp");
}
