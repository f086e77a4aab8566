/*
 * test_sadb.c - outbound selection most-specific-first (the trie against a
 * brute-force scan of every selector), inbound lookup by SPI, and
 * add/update/delete while reader threads look SAs up without a lock (no use
 * after free: ctest runs it under ASan too, native/build-asan).
 */
#include "engine_check.h"
#include "sadb.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>

static uint8_t key[20] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20 };

static sl_selector_t sel(const char *local, const char *remote, uint8_t proto, uint16_t rlo,
			 uint16_t rhi)
{
	sl_selector_t s;
	memset(&s, 0, sizeof(s));
	CHECK_EQ(sl_prefix_parse(&s.local, local), 0);
	CHECK_EQ(sl_prefix_parse(&s.remote, remote), 0);
	s.proto = proto;
	s.lport_hi = 65535;
	s.rport_lo = rlo;
	s.rport_hi = rhi;
	return s;
}

static sl_sa_t *mk(uint32_t spi, uint8_t dir, const sl_selector_t *s, size_t ns)
{
	sl_sa_spec_t sp = { .spi = spi, .dir = dir, .algorithm = "aes128gcm16", .enc_key = key,
			    .enc_key_len = 20, .encap = SL_ENCAP_UDP, .replay_window = 64,
			    .backend = SL_BACKEND_OPENSSL, .selectors = s, .nselectors = ns };
	sl_endpoint_parse(&sp.remote, "192.0.2.1", 4500);
	char err[200];
	sl_sa_t *sa = sl_sa_new(&sp, 2, err, sizeof(err));
	if (!sa)
		fprintf(stderr, "sl_sa_new: %s\n", err);
	else
		CHECK_EQ(sl_sa_set_remote(sa, &sp.remote, AF_INET), 0);
	return sa;
}

static sl_flow_t flow(const char *src, const char *dst, uint8_t proto, uint16_t dport)
{
	sl_flow_t f;
	memset(&f, 0, sizeof(f));
	sl_prefix_t a, b;
	sl_prefix_parse(&a, src);
	sl_prefix_parse(&b, dst);
	f.family = a.family;
	memcpy(f.src, a.addr, 16);
	memcpy(f.dst, b.addr, 16);
	f.proto = proto;
	f.sport = 40000;
	f.dport = dport;
	return f;
}

static uint32_t lookup_spi(sl_sadb_t *db, sl_flow_t f)
{
	sl_sa_t *sa = sl_sadb_lookup_out(db, &f);
	return sa ? sa->spi : 0;
}

static void prefixes(void)
{
	sl_prefix_t p;
	CHECK_EQ(sl_prefix_parse(&p, "10.0.0.0/8"), 0);
	CHECK_EQ(p.len, 8);
	CHECK(sl_prefix_parse(&p, "10.0.0.1/8") != 0); /* host bits set */
	CHECK(sl_prefix_parse(&p, "10.0.0.0/33") != 0);
	CHECK(sl_prefix_parse(&p, "10.0.0.0/") != 0);
	CHECK(sl_prefix_parse(&p, "banana/8") != 0);
	CHECK_EQ(sl_prefix_parse(&p, "2001:db8::/32"), 0);
	CHECK_EQ(p.len, 32);
	CHECK_EQ(sl_prefix_parse(&p, "0.0.0.0/0"), 0);
	uint8_t a[4] = { 203, 0, 113, 9 };
	CHECK(sl_prefix_contains(&p, AF_INET, a));
	CHECK_EQ(sl_prefix_parse(&p, "203.0.112.0/23"), 0);
	CHECK(sl_prefix_contains(&p, AF_INET, a));
	CHECK_EQ(sl_prefix_parse(&p, "203.0.112.0/24"), 0);
	CHECK(!sl_prefix_contains(&p, AF_INET, a));
}

static void most_specific_first(void)
{
	sl_sadb_t db;
	sl_sadb_init(&db);
	sl_selector_t any = sel("0.0.0.0/0", "0.0.0.0/0", 0, 0, 65535);
	sl_selector_t net16 = sel("198.18.1.0/24", "198.18.0.0/16", 0, 0, 65535);
	sl_selector_t net24 = sel("198.18.1.0/24", "198.18.2.0/24", 0, 0, 65535);
	sl_selector_t tcp = sel("198.18.1.0/24", "198.18.2.0/24", 6, 0, 65535);
	sl_selector_t https = sel("198.18.1.0/24", "198.18.2.0/24", 6, 443, 443);
	sl_selector_t host = sel("198.18.1.0/24", "198.18.2.9/32", 0, 0, 65535);
	/* Added least specific first and in a scrambled order: order must not matter. */
	CHECK_EQ(sl_sadb_add(&db, mk(0x100, SL_DIR_OUT, &any, 1)), 0);
	CHECK_EQ(sl_sadb_add(&db, mk(0x300, SL_DIR_OUT, &net24, 1)), 0);
	CHECK_EQ(sl_sadb_add(&db, mk(0x500, SL_DIR_OUT, &https, 1)), 0);
	CHECK_EQ(sl_sadb_add(&db, mk(0x200, SL_DIR_OUT, &net16, 1)), 0);
	CHECK_EQ(sl_sadb_add(&db, mk(0x400, SL_DIR_OUT, &tcp, 1)), 0);
	CHECK_EQ(sl_sadb_add(&db, mk(0x600, SL_DIR_OUT, &host, 1)), 0);
	sl_sa_t *dup = mk(0x600, SL_DIR_OUT, &host, 1);
	CHECK_EQ(sl_sadb_add(&db, dup), -1); /* duplicate SPI: not taken, caller frees */
	sl_sa_free(dup);

	CHECK_EQ(lookup_spi(&db, flow("10.1.1.1", "8.8.8.8", 17, 53)), 0x100);
	CHECK_EQ(lookup_spi(&db, flow("198.18.1.5", "198.18.7.1", 17, 53)), 0x200);
	CHECK_EQ(lookup_spi(&db, flow("198.18.1.5", "198.18.2.1", 17, 53)), 0x300);
	CHECK_EQ(lookup_spi(&db, flow("198.18.1.5", "198.18.2.1", 6, 22)), 0x400);
	CHECK_EQ(lookup_spi(&db, flow("198.18.1.5", "198.18.2.1", 6, 443)), 0x500);
	CHECK_EQ(lookup_spi(&db, flow("198.18.1.5", "198.18.2.9", 6, 443)), 0x600);
	/* Local side outside 198.18.1.0/24 falls through to "any". */
	CHECK_EQ(lookup_spi(&db, flow("198.18.9.5", "198.18.2.9", 6, 443)), 0x100);
	/* Rekey: an equally specific newer SA takes over; deleting it restores the old. */
	CHECK_EQ(sl_sadb_add(&db, mk(0x301, SL_DIR_OUT, &net24, 1)), 0);
	CHECK_EQ(lookup_spi(&db, flow("198.18.1.5", "198.18.2.1", 17, 53)), 0x301);
	CHECK_EQ(sl_sadb_del(&db, 0x301, SL_DIR_OUT), 0);
	CHECK_EQ(lookup_spi(&db, flow("198.18.1.5", "198.18.2.1", 17, 53)), 0x300);
	CHECK_EQ(sl_sadb_del(&db, 0x500, SL_DIR_OUT), 0);
	CHECK_EQ(sl_sadb_del(&db, 0x500, SL_DIR_OUT), -1);
	CHECK_EQ(lookup_spi(&db, flow("198.18.1.5", "198.18.2.1", 6, 443)), 0x400);
	/* Directions are separate tables. */
	CHECK_EQ(sl_sadb_add(&db, mk(0x300, SL_DIR_IN, NULL, 0)), 0);
	sl_sadb_lock(&db);
	CHECK(sl_sadb_find(&db, 0x300, SL_DIR_IN) != NULL);
	CHECK(sl_sadb_find(&db, 0x300, SL_DIR_IN) != sl_sadb_find(&db, 0x300, SL_DIR_OUT));
	CHECK(sl_sadb_find(&db, 0x999, SL_DIR_IN) == NULL);
	CHECK(sl_sadb_lookup_in(&db, 0x300) == sl_sadb_find(&db, 0x300, SL_DIR_IN));
	sl_sadb_unlock(&db);
	CHECK(sl_sadb_lookup_in(&db, 0x999) == NULL);
	CHECK(sl_sadb_lookup_in(&db, 0x301) == NULL); /* outbound SPIs are not inbound */
	sl_sadb_destroy(&db);
}

/* Readers hammer lookups and touch the SA they get (as a worker would)
 * while a writer adds, retargets and deletes SAs. */
static sl_sadb_t cdb;
static atomic_bool stop;
static atomic_ulong found, inconsistent, spins;

static void *reader(void *arg)
{
	(void)arg;
	int slot = sl_sadb_reader_register(&cdb);
	CHECK(slot >= 0);
	sl_flow_t f = flow("198.18.1.5", "198.18.2.1", 17, 53);
	while (!atomic_load(&stop)) {
		atomic_fetch_add(&spins, 1);
		/* A "batch" of lookups between two quiescent points, as a worker does. */
		for (int k = 0; k < 8; k++) {
			sl_sa_t *sa = sl_sadb_lookup_out(&cdb, &f);
			if (sa) {
				/* A freed SA is wiped to zero (and ASan sees the use): its SPI,
				 * crypto and destination would be garbage. */
				const sl_sa_dest_t *d = sl_sa_dest(sa);
				const struct sockaddr_in *sin = (const struct sockaddr_in *)&d->ss;
				if (sa->spi < 0x1000 || sa->spi > 0x2000 || sl_crypto_icv_len(sa->ctx[1]) != 16 ||
				    d->len != sizeof(*sin) || sin->sin_family != AF_INET ||
				    ntohs(sin->sin_port) < 4500 || ntohs(sin->sin_port) > 4506)
					atomic_fetch_add(&inconsistent, 1);
				atomic_fetch_add_explicit(&sa->w[0].packets, 1, memory_order_relaxed);
				atomic_fetch_add(&found, 1);
			}
			sl_sa_t *in = sl_sadb_lookup_in(&cdb, 0x1fff);
			if (!in || in->spi != 0x1fff)
				atomic_fetch_add(&inconsistent, 1);
		}
		sl_sadb_quiescent(&cdb, slot);
		/* Real workers sleep in epoll_wait when idle; on an oversubscribed
		 * machine spinning readers would only stretch each grace period. */
		sched_yield();
	}
	sl_sadb_reader_unregister(&cdb, slot);
	return NULL;
}

static void concurrent(void)
{
	sl_sadb_init(&cdb);
	sl_selector_t s = sel("198.18.1.0/24", "198.18.2.0/24", 0, 0, 65535);
	CHECK_EQ(sl_sadb_add(&cdb, mk(0x1fff, SL_DIR_IN, NULL, 0)), 0);
	/* Unrelated prefixes around it, so every rebuild reshapes the trie. */
	sl_selector_t others[64];
	for (int i = 0; i < 64; i++) {
		char r[32];
		snprintf(r, sizeof(r), "198.%d.%d.0/24", 18 + (i & 1), 3 + i);
		others[i] = sel("198.18.1.0/24", r, 0, 0, 65535);
	}
	CHECK_EQ(sl_sadb_add(&cdb, mk(0x0f00, SL_DIR_OUT, others, 64)), 0);
	pthread_t th[2];
	for (int i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, reader, NULL);
	/* Let the readers get going before the writer starts. */
	while (atomic_load(&spins) < 300)
		sched_yield();
	sl_endpoint_t ep;
	for (uint32_t spi = 0x1000; spi < 0x1000 + 150; spi++) {
		CHECK_EQ(sl_sadb_add(&cdb, mk(spi, SL_DIR_OUT, &s, 1)), 0);
		/* Update in place (NAT port change) under the write lock. */
		sl_endpoint_parse(&ep, "192.0.2.1", (uint16_t)(4500 + spi % 7));
		CHECK_EQ(sl_sadb_set_remote(&cdb, spi, SL_DIR_OUT, &ep, AF_INET), 0);
		if (spi > 0x1000)
			CHECK_EQ(sl_sadb_del(&cdb, spi - 1, SL_DIR_OUT), 0);
		sched_yield();
	}
	/* The last SA stays: readers must see it sooner or later (bounded wait). */
	for (int i = 0; i < 2000000 && atomic_load(&found) == 0; i++)
		sched_yield();
	atomic_store(&stop, true);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	CHECK(atomic_load(&found) > 0);
	CHECK_EQ(atomic_load(&inconsistent), 0);
	CHECK_EQ(cdb.count, 3);
	sl_sadb_destroy(&cdb);
}

/* Deterministic generator (tests must replay). */
static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 11);
}

/* A random prefix of the family inside a small address space, so prefixes
 * nest and overlap a lot. */
static sl_prefix_t rnd_prefix(uint8_t family)
{
	sl_prefix_t p;
	memset(&p, 0, sizeof(p));
	p.family = family;
	unsigned max = family == AF_INET ? 32 : 128;
	p.addr[0] = family == AF_INET ? 10 : 0x20;
	p.addr[1] = (uint8_t)(rnd() & 3);
	for (unsigned i = 2; i < max / 8; i++)
		p.addr[i] = (uint8_t)(rnd() & (i < 4 ? 0x0f : 0xff));
	static const uint8_t lens4[] = { 0, 8, 14, 16, 20, 23, 24, 25, 28, 31, 32 };
	static const uint8_t lens6[] = { 0, 16, 18, 24, 48, 64, 65, 96, 120, 127, 128 };
	p.len = (family == AF_INET ? lens4 : lens6)[rnd() % 11];
	for (unsigned b = p.len; b < max; b++)
		p.addr[b / 8] &= (uint8_t)~(0x80 >> (b % 8));
	return p;
}

static sl_selector_t rnd_sel(uint8_t family)
{
	sl_selector_t s;
	memset(&s, 0, sizeof(s));
	s.remote = rnd_prefix(family);
	s.local = rnd_prefix(family);
	if (rnd() % 2)
		s.local.len = 0, memset(s.local.addr, 0, 16);
	s.proto = (rnd() % 3) ? 0 : (rnd() % 2 ? 6 : 17);
	s.lport_hi = s.rport_hi = 65535;
	if (s.proto && rnd() % 2) {
		s.rport_lo = (uint16_t)(rnd() % 4 + 80);
		s.rport_hi = (uint16_t)(s.rport_lo + rnd() % 2);
	}
	return s;
}

static sl_flow_t rnd_flow(uint8_t family)
{
	sl_flow_t f;
	memset(&f, 0, sizeof(f));
	f.family = family;
	sl_prefix_t a = rnd_prefix(family), b = rnd_prefix(family);
	memcpy(f.src, a.addr, 16);
	memcpy(f.dst, b.addr, 16);
	/* Random host bits too. */
	f.dst[(family == AF_INET ? 3 : 15)] = (uint8_t)rnd();
	f.proto = rnd() % 2 ? 6 : 17;
	f.sport = 40000;
	f.dport = (uint16_t)(rnd() % 6 + 79);
	return f;
}

/* The answer the previous implementation gave: every selector of every live
 * SA in most-specific-first order, ties to the newest. */
static sl_sa_t *brute(sl_sa_t **sas, size_t n, const sl_flow_t *f)
{
	sl_sa_t *best = NULL;
	const sl_selector_t *bs = NULL;
	for (size_t i = 0; i < n; i++) {
		if (!sas[i] || atomic_load(&sas[i]->dead))
			continue;
		for (size_t k = 0; k < sas[i]->nsels; k++) {
			const sl_selector_t *s = &sas[i]->sels[k];
			if (!sl_selector_match(s, f, false))
				continue;
			int c = bs ? sl_selector_cmp(s, bs) : -1;
			if (c < 0 || (c == 0 && sas[i]->gen > best->gen)) {
				best = sas[i];
				bs = s;
			}
		}
	}
	return best;
}

static void trie_vs_brute(void)
{
	enum { NSA = 300 };
	sl_sadb_t db;
	sl_sadb_init(&db);
	sl_sa_t *sas[NSA] = { 0 };
	for (int i = 0; i < NSA; i++) {
		uint8_t fam = i % 3 == 2 ? AF_INET6 : AF_INET;
		sl_selector_t s[3];
		size_t ns = 1 + rnd() % 3;
		for (size_t k = 0; k < ns; k++)
			s[k] = rnd_sel(fam);
		sas[i] = mk(0x10000 + (uint32_t)i, SL_DIR_OUT, s, ns);
		CHECK_EQ(sl_sadb_add(&db, sas[i]), 0);
		if (i % 17 == 0)
			atomic_store(&sas[i]->dead, true);
	}
	unsigned mismatches = 0, hits = 0;
	for (int round = 0; round < 3; round++) {
		for (int q = 0; q < 6000; q++) {
			sl_flow_t f = rnd_flow(q % 3 == 2 ? AF_INET6 : AF_INET);
			sl_sa_t *want = brute(sas, NSA, &f), *got = sl_sadb_lookup_out(&db, &f);
			if (got != want)
				mismatches++;
			hits += want != NULL;
		}
		/* Delete a third and check again (the trie is rebuilt each time). */
		for (int i = round; i < NSA; i += 3) {
			if (sas[i]) {
				CHECK_EQ(sl_sadb_del(&db, sas[i]->spi, SL_DIR_OUT), 0);
				sas[i] = NULL;
			}
		}
	}
	if (mismatches)
		fprintf(stderr, "trie_vs_brute: %u mismatches\n", mismatches);
	CHECK_EQ(mismatches, 0);
	CHECK(hits > 500); /* the flows do hit selectors, the test compares answers */
	/* Families never cross: an IPv6 flow finds nothing among IPv4 selectors. */
	sl_sadb_destroy(&db);
}

/* 1,000 tunnels (a hub): every tunnel's flows find their own SA, others none. */
static void thousand(void)
{
	sl_sadb_t db;
	sl_sadb_init(&db);
	for (uint32_t i = 0; i < 1000; i++) {
		char r[32];
		snprintf(r, sizeof(r), "10.%u.%u.0/24", i / 256, i % 256);
		sl_selector_t s = sel("198.18.1.0/24", r, 0, 0, 65535);
		CHECK_EQ(sl_sadb_add(&db, mk(0x20000 + i, SL_DIR_OUT, &s, 1)), 0);
		CHECK_EQ(sl_sadb_add(&db, mk(0x20000 + i, SL_DIR_IN, &s, 1)), 0);
	}
	for (uint32_t i = 0; i < 1000; i++) {
		char d[32];
		snprintf(d, sizeof(d), "10.%u.%u.77", i / 256, i % 256);
		CHECK_EQ(lookup_spi(&db, flow("198.18.1.5", d, 6, 443)), 0x20000 + i);
		sl_sa_t *in = sl_sadb_lookup_in(&db, 0x20000 + i);
		CHECK(in != NULL && in->spi == 0x20000 + i && in->dir == SL_DIR_IN);
	}
	CHECK_EQ(lookup_spi(&db, flow("198.18.1.5", "10.3.232.1", 6, 443)), 0); /* 1000 = 3.232 */
	CHECK_EQ(lookup_spi(&db, flow("198.18.2.5", "10.0.1.1", 6, 443)), 0);   /* wrong local side */
	CHECK(sl_sadb_lookup_in(&db, 0x20000 + 1000) == NULL);
	sl_sadb_destroy(&db);
}

/* Bypass selectors (permit/block filters): the most specific filter's action
 * is the only one applied, by the policy's weights (issue 17). */
static void bypass(void)
{
	sl_sadb_t db;
	sl_sadb_init(&db);
	sl_selector_t net = sel("198.18.1.0/24", "198.18.2.0/24", 0, 0, 65535);
	sl_selector_t web = sel("198.18.1.0/24", "198.18.2.0/24", 6, 443, 443);
	CHECK_EQ(sl_sadb_add(&db, mk(0x700, SL_DIR_OUT, &net, 1)), 0);
	CHECK_EQ(sl_sadb_add(&db, mk(0x701, SL_DIR_OUT, &web, 1)), 0);
	/* Weights as in weight.ts: /24 = 1 + 24 * 64 / 32 = 49, host 65, any 0. */
	CHECK_EQ(sl_selector_weight(&net), 8 * (49 + 49));
	CHECK_EQ(sl_selector_weight(&web), 8 * (49 + 49) + 4 + 2);
	sl_selector_t any = sel("0.0.0.0/0", "0.0.0.0/0", 0, 0, 65535);
	CHECK_EQ(sl_selector_weight(&any), 0);
	sl_selector_t b[3] = {
		/* Permit host -> host: more specific than both tunnels' selectors. */
		sel("198.18.1.5/32", "198.18.2.9/32", 0, 0, 65535),
		/* Permit any -> the subnet's UDP 53: less specific than "net" (0 + 49 vs 49 + 49). */
		sel("0.0.0.0/0", "198.18.2.0/24", 17, 53, 53),
		/* Block with exactly the weight of "web": ties go to the safer verdict. */
		sel("198.18.1.0/24", "198.18.2.0/24", 6, 443, 443),
	};
	CHECK_EQ(sl_sadb_set_bypass(&db, b, 2), 0);
	CHECK_EQ(lookup_spi(&db, flow("198.18.1.5", "198.18.2.9", 17, 53)), 0);     /* host permit */
	CHECK_EQ(lookup_spi(&db, flow("198.18.1.5", "198.18.2.9", 6, 443)), 0);     /* over the web SA too */
	CHECK_EQ(lookup_spi(&db, flow("198.18.1.6", "198.18.2.9", 17, 53)), 0x700); /* the broad permit loses */
	CHECK_EQ(lookup_spi(&db, flow("198.18.1.6", "198.18.2.9", 6, 443)), 0x701);
	CHECK_EQ(sl_sadb_set_bypass(&db, b, 3), 0);
	CHECK_EQ(lookup_spi(&db, flow("198.18.1.6", "198.18.2.9", 6, 443)), 0);     /* tie: bypass */
	CHECK_EQ(lookup_spi(&db, flow("198.18.1.6", "198.18.2.9", 6, 22)), 0x700);
	CHECK_EQ(sl_sadb_set_bypass(&db, NULL, 0), 0);
	CHECK_EQ(lookup_spi(&db, flow("198.18.1.5", "198.18.2.9", 17, 53)), 0x700); /* cleared */
	CHECK(sl_sadb_set_bypass(&db, b, SL_SADB_MAX_BYPASS + 1) == -1);
	sl_sadb_destroy(&db);
}

int main(void)
{
	prefixes();
	most_specific_first();
	trie_vs_brute();
	thousand();
	bypass();
	concurrent();
	TEST_DONE("test_sadb");
}
