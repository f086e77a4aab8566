/*
 * fuzz_sadb_lookup.c - the outbound selector trie (snap.c) against a
 * brute-force most-specific-first scan: any input decodes into up to 24
 * selectors (both families, any prefix, protocol and port ranges) and
 * flows; a different answer, a crash or an out-of-bounds read aborts.
 * SAs are bare structs: the snapshot reads only selectors, gen and dead.
 */
#include "snap.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define MAX_SA 24

typedef struct {
	const uint8_t *p;
	size_t n;
} rd_t;

static uint8_t byte(rd_t *r)
{
	if (r->n == 0)
		return 0;
	r->n--;
	return *r->p++;
}

static void prefix(rd_t *r, sl_prefix_t *p, uint8_t family)
{
	unsigned max = family == AF_INET ? 32 : 128;
	memset(p, 0, sizeof(*p));
	p->family = family;
	/* Few distinct leading bytes so prefixes nest. */
	p->addr[0] = byte(r) & 3;
	for (unsigned i = 1; i < max / 8; i++)
		p->addr[i] = i < 3 ? byte(r) : (i == max / 8 - 1 ? byte(r) : 0);
	p->len = (uint8_t)(byte(r) % (max + 1));
	for (unsigned b = p->len; b < max; b++)
		p->addr[b / 8] &= (uint8_t)~(0x80 >> (b % 8));
}

static sl_sa_t *brute(sl_sa_t *sas, size_t n, const sl_flow_t *f)
{
	sl_sa_t *best = NULL;
	const sl_selector_t *bs = NULL;
	for (size_t i = 0; i < n; i++) {
		if (atomic_load(&sas[i].dead))
			continue;
		for (size_t k = 0; k < sas[i].nsels; k++) {
			const sl_selector_t *s = &sas[i].sels[k];
			if (!sl_selector_match(s, f, false))
				continue;
			int c = bs ? sl_selector_cmp(s, bs) : -1;
			if (c < 0 || (c == 0 && sas[i].gen > best->gen)) {
				best = &sas[i];
				bs = s;
			}
		}
	}
	return best;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	rd_t r = { data, size };
	size_t nsa = byte(&r) % (MAX_SA + 1);
	sl_sa_t *sas = calloc(MAX_SA, sizeof(*sas));
	sl_selector_t *sels = calloc(MAX_SA * 2, sizeof(*sels));
	sl_sa_t *outs[MAX_SA];
	if (!sas || !sels)
		abort();
	for (size_t i = 0; i < nsa; i++) {
		uint8_t flags = byte(&r);
		uint8_t fam = flags & 1 ? AF_INET6 : AF_INET;
		sas[i].sels = &sels[i * 2];
		sas[i].nsels = 1 + ((flags >> 1) & 1);
		sas[i].gen = byte(&r) % 4; /* duplicates on purpose */
		atomic_init(&sas[i].dead, (flags >> 2 & 7) == 0);
		for (size_t k = 0; k < sas[i].nsels; k++) {
			sl_selector_t *s = &sels[i * 2 + k];
			prefix(&r, &s->remote, fam);
			prefix(&r, &s->local, fam);
			uint8_t pp = byte(&r);
			s->proto = pp & 1 ? (pp & 2 ? 6 : 17) : 0;
			s->lport_lo = 0;
			s->lport_hi = 65535;
			s->rport_lo = (uint16_t)(pp & 4 ? 80 + (byte(&r) & 3) : 0);
			s->rport_hi = (uint16_t)(pp & 4 ? s->rport_lo + (byte(&r) & 1) : 65535);
		}
		outs[i] = &sas[i];
	}
	sl_snap_t *snap = sl_snap_build(NULL, 0, outs, nsa, NULL, 0);
	if (!snap)
		abort();
	while (r.n > 0) {
		sl_flow_t f;
		memset(&f, 0, sizeof(f));
		uint8_t flags = byte(&r);
		f.family = flags & 1 ? AF_INET6 : AF_INET;
		sl_prefix_t a, b;
		prefix(&r, &a, f.family);
		prefix(&r, &b, f.family);
		memcpy(f.src, a.addr, 16);
		memcpy(f.dst, b.addr, 16);
		f.dst[f.family == AF_INET ? 3 : 15] = byte(&r);
		f.proto = flags & 2 ? 6 : 17;
		f.dport = (uint16_t)(79 + (byte(&r) & 7));
		if (sl_snap_lookup_out(snap, &f) != brute(sas, nsa, &f))
			abort();
	}
	sl_snap_free(snap);
	free(sels);
	free(sas);
	return 0;
}
