/* snap.c - building and reading the immutable SADB snapshot (see snap.h). */
#include "snap.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define NODES_MAX 0x7fffffffu

static unsigned bit_at(const uint8_t *a, unsigned i)
{
	return (a[i / 8] >> (7 - i % 8)) & 1u;
}

/* Do the first len bits of a and b agree? */
static int prefix_eq(const uint8_t *a, const uint8_t *b, unsigned len)
{
	unsigned full = len / 8, rest = len % 8;
	if (memcmp(a, b, full) != 0)
		return 0;
	if (rest) {
		uint8_t mask = (uint8_t)(0xff << (8 - rest));
		if ((a[full] ^ b[full]) & mask)
			return 0;
	}
	return 1;
}

/* Number of leading bits a and b share, at most max. */
static unsigned common_bits(const uint8_t *a, const uint8_t *b, unsigned max)
{
	unsigned n = 0;
	while (n + 8 <= max && a[n / 8] == b[n / 8])
		n += 8;
	if (n < max && n / 8 < 16) {
		unsigned x = (unsigned)(a[n / 8] ^ b[n / 8]);
		n += x ? (unsigned)__builtin_clz(x) - (unsigned)(8 * sizeof(unsigned) - 8) : 8;
	}
	return n < max ? n : max;
}

static uint32_t spi_slot(uint32_t spi, unsigned bits)
{
	/* SPIs are random (RFC 4303 §2.1) but a static config may number them
	 * densely: the top bits of a multiplicative hash spread both. */
	return (uint32_t)((spi * 2654435761u) >> (32 - bits));
}

typedef struct builder {
	sl_snap_node_t *nodes;
	uint32_t n, cap;
} builder_t;

static uint32_t new_node(builder_t *b, const uint8_t *addr, unsigned len)
{
	if (b->n == b->cap) {
		if (b->cap >= NODES_MAX / 2)
			return 0;
		uint32_t cap = b->cap ? b->cap * 2 : 64;
		sl_snap_node_t *n = realloc(b->nodes, cap * sizeof(*n));
		if (!n)
			return 0;
		b->nodes = n;
		b->cap = cap;
	}
	sl_snap_node_t *t = &b->nodes[b->n];
	memset(t, 0, sizeof(*t));
	/* Keep only the prefix bits: the lookup compares whole bytes. */
	unsigned full = len / 8, rest = len % 8;
	memcpy(t->addr, addr, full);
	if (rest)
		t->addr[full] = (uint8_t)(addr[full] & (0xff << (8 - rest)));
	t->len = (uint8_t)len;
	return ++b->n; /* index + 1 */
}

/* Find or create the node for prefix (addr, len) under *link; returns its
 * index + 1, 0 on ENOMEM.  Links are indices, so realloc is harmless. */
static uint32_t trie_insert(builder_t *b, uint32_t *root, const uint8_t *addr, unsigned len)
{
	uint32_t parent = 0; /* index + 1 of the node whose child we follow; 0 = root */
	unsigned side = 0;
	uint32_t cur = *root;
	for (;;) {
		if (!cur) {
			uint32_t n = new_node(b, addr, len);
			if (n) {
				if (parent)
					b->nodes[parent - 1].child[side] = n;
				else
					*root = n;
			}
			return n;
		}
		sl_snap_node_t *t = &b->nodes[cur - 1];
		unsigned tl = t->len;
		unsigned c = common_bits(t->addr, addr, tl < len ? tl : len);
		if (c == tl && c == len)
			return cur;
		if (c == tl) { /* t is a prefix of the new one: go down */
			parent = cur;
			side = bit_at(addr, tl);
			cur = t->child[side];
			continue;
		}
		/* The new prefix branches off above t: insert a node between. */
		uint8_t taddr[16];
		memcpy(taddr, t->addr, 16);
		uint32_t mid;
		if (c == len) { /* the new prefix contains t */
			mid = new_node(b, addr, len);
			if (!mid)
				return 0;
			b->nodes[mid - 1].child[bit_at(taddr, len)] = cur;
		} else { /* they split at bit c: a plain branch node */
			mid = new_node(b, addr, c);
			if (!mid)
				return 0;
			uint32_t leaf = new_node(b, addr, len);
			if (!leaf)
				return 0;
			b->nodes[mid - 1].child[bit_at(taddr, c)] = cur;
			b->nodes[mid - 1].child[bit_at(addr, c)] = leaf;
			if (parent)
				b->nodes[parent - 1].child[side] = mid;
			else
				*root = mid;
			return leaf;
		}
		if (parent)
			b->nodes[parent - 1].child[side] = mid;
		else
			*root = mid;
		return mid;
	}
}

typedef struct pending {
	uint32_t node; /* index + 1 */
	sl_snap_entry_t e;
} pending_t;

static int pending_cmp(const void *pa, const void *pb)
{
	const pending_t *a = pa, *b = pb;
	if (a->node != b->node)
		return a->node < b->node ? -1 : 1;
	int c = sl_selector_cmp(&a->e.sel, &b->e.sel);
	if (c)
		return c;
	/* Equally specific: the newest SA first (a rekeyed SA takes over). */
	uint64_t ga = a->e.sa ? a->e.sa->gen : 0, gb = b->e.sa ? b->e.sa->gen : 0;
	if (ga != gb)
		return ga > gb ? -1 : 1;
	return 0;
}

static int build_in(sl_snap_t *s, sl_sa_t *const *ins, size_t nin)
{
	unsigned bits = 4;
	while (bits < 30 && ((size_t)1 << bits) < nin * 2)
		bits++;
	if (((size_t)1 << bits) < nin * 2)
		return -1;
	s->in_bits = bits;
	s->in = calloc((size_t)1 << bits, sizeof(*s->in));
	if (!s->in)
		return -1;
	uint32_t mask = (1u << bits) - 1;
	for (size_t i = 0; i < nin; i++) {
		uint32_t h = spi_slot(ins[i]->spi, bits);
		while (s->in[h].sa)
			h = (h + 1) & mask;
		s->in[h] = (sl_snap_spi_t){ .spi = ins[i]->spi, .sa = ins[i] };
	}
	return 0;
}

/* One (selector, SA) pair to place; SA NULL for bypass selectors. */
typedef struct source {
	const sl_selector_t *sel;
	sl_sa_t *sa;
} source_t;

static int build_trie(sl_snap_trie_t *t, const source_t *src, size_t total)
{
	if (total >= NODES_MAX / 4)
		return -1;
	pending_t *p = total ? calloc(total, sizeof(*p)) : NULL;
	if (total && !p)
		return -1;
	builder_t b = { 0 };
	size_t np = 0;
	for (size_t i = 0; i < total; i++) {
		const sl_selector_t *sel = src[i].sel;
		int fam = sel->remote.family == AF_INET ? 0 : sel->remote.family == AF_INET6 ? 1 : -1;
		unsigned max = fam == 0 ? 32 : 128;
		if (fam < 0 || sel->remote.len > max)
			continue; /* cannot match any flow */
		uint32_t n = trie_insert(&b, &t->root[fam], sel->remote.addr, sel->remote.len);
		if (!n) {
			free(b.nodes);
			free(p);
			return -1;
		}
		p[np].node = n;
		p[np].e = (sl_snap_entry_t){ .sel = *sel, .sa = src[i].sa, .weight = sl_selector_weight(sel) };
		np++;
	}
	if (np)
		qsort(p, np, sizeof(*p), pending_cmp);
	t->ent = np ? calloc(np, sizeof(*t->ent)) : NULL;
	if (np && !t->ent) {
		free(b.nodes);
		free(p);
		return -1;
	}
	for (size_t i = 0; i < np; i++) {
		sl_snap_node_t *n = &b.nodes[p[i].node - 1];
		if (n->count == 0)
			n->first = (uint32_t)i;
		n->count++;
		t->ent[i] = p[i].e;
	}
	t->nent = (uint32_t)np;
	t->nodes = b.nodes;
	t->nnodes = b.n;
	free(p);
	return 0;
}

static int build_out(sl_snap_t *s, sl_sa_t *const *outs, size_t nout, const sl_selector_t *byp,
		     size_t nbyp)
{
	size_t total = 0;
	for (size_t i = 0; i < nout; i++)
		total += outs[i]->nsels;
	size_t cap = total > nbyp ? total : nbyp;
	source_t *src = cap ? calloc(cap, sizeof(*src)) : NULL;
	if (cap && !src)
		return -1;
	size_t n = 0;
	for (size_t i = 0; i < nout; i++)
		for (size_t k = 0; k < outs[i]->nsels; k++)
			src[n++] = (source_t){ .sel = &outs[i]->sels[k], .sa = outs[i] };
	int rc = build_trie(&s->out, src, n);
	for (size_t i = 0; rc == 0 && i < nbyp; i++)
		src[i] = (source_t){ .sel = &byp[i], .sa = NULL };
	if (rc == 0)
		rc = build_trie(&s->bypass, src, nbyp);
	free(src);
	return rc;
}

sl_snap_t *sl_snap_build(sl_sa_t *const *ins, size_t nin, sl_sa_t *const *outs, size_t nout,
			 const sl_selector_t *byp, size_t nbyp)
{
	sl_snap_t *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	if (build_in(s, ins, nin) != 0 || build_out(s, outs, nout, byp, nbyp) != 0) {
		sl_snap_free(s);
		return NULL;
	}
	return s;
}

void sl_snap_free(sl_snap_t *s)
{
	if (!s)
		return;
	free(s->in);
	free(s->out.nodes);
	free(s->out.ent);
	free(s->bypass.nodes);
	free(s->bypass.ent);
	free(s);
}

sl_sa_t *sl_snap_find_in(const sl_snap_t *s, uint32_t spi)
{
	uint32_t mask = (1u << s->in_bits) - 1;
	uint32_t h = spi_slot(spi, s->in_bits);
	/* At most half full, so an empty slot ends every probe. */
	for (uint32_t i = 0; i <= mask; i++, h = (h + 1) & mask) {
		const sl_snap_spi_t *e = &s->in[h];
		if (!e->sa)
			return NULL;
		if (e->spi == spi)
			return e->sa;
	}
	return NULL;
}

/* Collect the nodes on the destination's path that hold entries, shallowest
 * first; returns how many (prefix lengths strictly grow: at most 129). */
static unsigned walk(const sl_snap_trie_t *t, const sl_flow_t *f, int fam, uint32_t path[129])
{
	unsigned max = fam == 0 ? 32 : 128;
	unsigned depth = 0;
	uint32_t cur = t->root[fam];
	while (cur && cur <= t->nnodes && depth < 129) {
		const sl_snap_node_t *n = &t->nodes[cur - 1];
		if (n->len > max || !prefix_eq(n->addr, f->dst, n->len))
			break;
		if (n->count)
			path[depth++] = cur - 1;
		if (n->len == max)
			break;
		cur = n->child[bit_at(f->dst, n->len)];
	}
	return depth;
}

/* Is there a bypass selector for the flow of weight >= w? */
static bool bypassed(const sl_snap_trie_t *t, const sl_flow_t *f, int fam, uint32_t w)
{
	uint32_t path[129];
	unsigned depth = walk(t, f, fam, path);
	for (unsigned d = 0; d < depth; d++) {
		const sl_snap_node_t *n = &t->nodes[path[d]];
		for (uint32_t i = n->first; i < n->first + n->count && i < t->nent; i++)
			if (t->ent[i].weight >= w && sl_selector_match(&t->ent[i].sel, f, false))
				return true;
	}
	return false;
}

sl_sa_t *sl_snap_lookup_out(const sl_snap_t *s, const sl_flow_t *f)
{
	int fam = f->family == AF_INET ? 0 : f->family == AF_INET6 ? 1 : -1;
	if (fam < 0)
		return NULL;
	uint32_t path[129];
	unsigned depth = walk(&s->out, f, fam, path);
	/* Deepest (longest remote prefix) first, as sl_selector_cmp orders. */
	while (depth > 0) {
		const sl_snap_node_t *n = &s->out.nodes[path[--depth]];
		for (uint32_t i = n->first; i < n->first + n->count && i < s->out.nent; i++) {
			const sl_snap_entry_t *e = &s->out.ent[i];
			if (atomic_load_explicit(&e->sa->dead, memory_order_relaxed))
				continue;
			if (!sl_selector_match(&e->sel, f, false))
				continue;
			if (s->bypass.nent && bypassed(&s->bypass, f, fam, e->weight))
				return NULL;
			return e->sa;
		}
	}
	return NULL;
}
