/*
 * test_sadb.c - outbound selection most-specific-first, inbound lookup by SPI,
 * and add/update/delete while other threads look SAs up (no use after free:
 * run it under ASan/TSan too; here it must at least be consistent).
 */
#include "engine_check.h"
#include "sadb.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>

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
	sl_sadb_rdlock(db);
	sl_sa_t *sa = sl_sadb_lookup_out(db, &f);
	uint32_t spi = sa ? sa->spi : 0;
	sl_sadb_unlock(db);
	return spi;
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
	sl_sadb_rdlock(&db);
	CHECK(sl_sadb_find(&db, 0x300, SL_DIR_IN) != NULL);
	CHECK(sl_sadb_find(&db, 0x300, SL_DIR_IN) != sl_sadb_find(&db, 0x300, SL_DIR_OUT));
	CHECK(sl_sadb_find(&db, 0x999, SL_DIR_IN) == NULL);
	sl_sadb_unlock(&db);
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
	sl_flow_t f = flow("198.18.1.5", "198.18.2.1", 17, 53);
	while (!atomic_load(&stop)) {
		atomic_fetch_add(&spins, 1);
		sl_sadb_rdlock(&cdb);
		sl_sa_t *sa = sl_sadb_lookup_out(&cdb, &f);
		if (sa) {
			/* A freed SA is wiped to zero: its SPI and crypto would be garbage. */
			if (sa->spi < 0x1000 || sa->spi > 0x2000 || sl_crypto_icv_len(sa->ctx[1]) != 16)
				atomic_fetch_add(&inconsistent, 1);
			atomic_fetch_add_explicit(&sa->packets, 1, memory_order_relaxed);
			atomic_fetch_add(&found, 1);
		}
		sl_sa_t *in = sl_sadb_find(&cdb, 0x1fff, SL_DIR_IN);
		if (in && in->spi != 0x1fff)
			atomic_fetch_add(&inconsistent, 1);
		sl_sadb_unlock(&cdb);
	}
	return NULL;
}

static void concurrent(void)
{
	sl_sadb_init(&cdb);
	sl_selector_t s = sel("198.18.1.0/24", "198.18.2.0/24", 0, 0, 65535);
	CHECK_EQ(sl_sadb_add(&cdb, mk(0x1fff, SL_DIR_IN, NULL, 0)), 0);
	pthread_t th[3];
	for (int i = 0; i < 3; i++)
		pthread_create(&th[i], NULL, reader, NULL);
	/* Let the readers get going before the writer starts. */
	while (atomic_load(&spins) < 300)
		sched_yield();
	sl_endpoint_t ep;
	for (uint32_t spi = 0x1000; spi < 0x1000 + 300; spi++) {
		CHECK_EQ(sl_sadb_add(&cdb, mk(spi, SL_DIR_OUT, &s, 1)), 0);
		/* Update in place (NAT port change) under the write lock. */
		sl_endpoint_parse(&ep, "192.0.2.1", (uint16_t)(4500 + spi % 7));
		sl_sadb_wrlock(&cdb);
		sl_sa_t *sa = sl_sadb_find(&cdb, spi, SL_DIR_OUT);
		CHECK(sa != NULL);
		if (sa)
			CHECK_EQ(sl_sa_set_remote(sa, &ep, AF_INET), 0);
		sl_sadb_unlock(&cdb);
		if (spi > 0x1000)
			CHECK_EQ(sl_sadb_del(&cdb, spi - 1, SL_DIR_OUT), 0);
		sched_yield();
	}
	/* The last SA stays: readers must see it sooner or later (bounded wait). */
	for (int i = 0; i < 2000000 && atomic_load(&found) == 0; i++)
		sched_yield();
	atomic_store(&stop, true);
	for (int i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
	CHECK(atomic_load(&found) > 0);
	CHECK_EQ(atomic_load(&inconsistent), 0);
	CHECK_EQ(cdb.count, 2);
	sl_sadb_destroy(&cdb);
}

int main(void)
{
	prefixes();
	most_specific_first();
	concurrent();
	TEST_DONE("test_sadb");
}
