/* sadb.c - SA control tables and publication of the data-plane snapshot. */
#include "sadb.h"

#include <stdlib.h>
#include <string.h>

static size_t bucket(uint32_t spi)
{
	/* SPIs are random (RFC 4303 §2.1) but a static config may number them
	 * densely; a multiplicative hash spreads both. */
	return (size_t)((spi * 2654435761u) >> 22) & (SL_SADB_BUCKETS - 1);
}

int sl_sadb_init(sl_sadb_t *db)
{
	*db = (sl_sadb_t){ 0 };
	sl_qsbr_init(&db->qsbr);
	if (pthread_mutex_init(&db->lock, NULL) != 0)
		return -1;
	sl_snap_t *s = sl_snap_build(NULL, 0, NULL, 0, NULL, 0);
	if (!s) {
		pthread_mutex_destroy(&db->lock);
		return -1;
	}
	atomic_init(&db->snap, s);
	return 0;
}

void sl_sadb_destroy(sl_sadb_t *db)
{
	for (size_t b = 0; b < SL_SADB_BUCKETS; b++) {
		for (int d = 0; d < 2; d++) {
			sl_sa_t *sa = d ? db->out[b] : db->in[b];
			while (sa) {
				sl_sa_t *next = sa->next;
				sl_sa_free(sa);
				sa = next;
			}
		}
		db->in[b] = db->out[b] = NULL;
	}
	sl_snap_free(atomic_exchange(&db->snap, NULL));
	free(db->bypass);
	db->bypass = NULL;
	db->nbypass = 0;
	db->count = db->nin = db->nout = 0;
	pthread_mutex_destroy(&db->lock);
}

int sl_sadb_reader_register(sl_sadb_t *db)
{
	return sl_qsbr_register(&db->qsbr);
}
void sl_sadb_reader_unregister(sl_sadb_t *db, int slot)
{
	sl_qsbr_unregister(&db->qsbr, slot);
}
void sl_sadb_quiescent(sl_sadb_t *db, int slot)
{
	sl_qsbr_quiescent(&db->qsbr, slot);
}
void sl_sadb_offline(sl_sadb_t *db, int slot)
{
	sl_qsbr_offline(&db->qsbr, slot);
}
void sl_sadb_online(sl_sadb_t *db, int slot)
{
	sl_qsbr_online(&db->qsbr, slot);
}

void sl_sadb_lock(sl_sadb_t *db)
{
	pthread_mutex_lock(&db->lock);
}
void sl_sadb_unlock(sl_sadb_t *db)
{
	pthread_mutex_unlock(&db->lock);
}

sl_sa_t *sl_sadb_find(sl_sadb_t *db, uint32_t spi, uint8_t dir)
{
	sl_sa_t *sa = (dir == SL_DIR_OUT ? db->out : db->in)[bucket(spi)];
	while (sa && sa->spi != spi)
		sa = sa->next;
	return sa;
}

sl_sa_t *sl_sadb_lookup_in(sl_sadb_t *db, uint32_t spi)
{
	const sl_snap_t *s = atomic_load_explicit(&db->snap, memory_order_acquire);
	return s ? sl_snap_find_in(s, spi) : NULL;
}

sl_sa_t *sl_sadb_lookup_out(sl_sadb_t *db, const sl_flow_t *f)
{
	const sl_snap_t *s = atomic_load_explicit(&db->snap, memory_order_acquire);
	return s ? sl_snap_lookup_out(s, f) : NULL;
}

/* Build a snapshot of the chains, leaving out `skip` (an SA being deleted).
 * Allocation happens here, on the control path, never on lookup. */
static sl_snap_t *build(sl_sadb_t *db, const sl_sa_t *skip)
{
	size_t nin = db->nin, nout = db->nout;
	sl_sa_t **ins = calloc(nin ? nin : 1, sizeof(*ins));
	sl_sa_t **outs = calloc(nout ? nout : 1, sizeof(*outs));
	sl_snap_t *s = NULL;
	if (ins && outs) {
		size_t i = 0, o = 0;
		for (size_t b = 0; b < SL_SADB_BUCKETS; b++) {
			for (sl_sa_t *sa = db->in[b]; sa; sa = sa->next)
				if (sa != skip && i < nin)
					ins[i++] = sa;
			for (sl_sa_t *sa = db->out[b]; sa; sa = sa->next)
				if (sa != skip && o < nout)
					outs[o++] = sa;
		}
		s = sl_snap_build(ins, i, outs, o, db->bypass, db->nbypass);
	}
	free(ins);
	free(outs);
	return s;
}

/* Publish s, wait until no reader can hold the old one, free it. */
static void publish(sl_sadb_t *db, sl_snap_t *s)
{
	sl_snap_t *old = atomic_exchange_explicit(&db->snap, s, memory_order_acq_rel);
	atomic_fetch_add(&db->rebuilds, 1);
	sl_qsbr_synchronize(&db->qsbr);
	sl_snap_free(old);
}

int sl_sadb_add(sl_sadb_t *db, sl_sa_t *sa)
{
	sl_sadb_lock(db);
	if (sl_sadb_find(db, sa->spi, sa->dir)) {
		sl_sadb_unlock(db);
		return -1;
	}
	sa->gen = ++db->next_gen;
	sl_sa_t **head = &(sa->dir == SL_DIR_OUT ? db->out : db->in)[bucket(sa->spi)];
	sa->next = *head;
	*head = sa;
	if (sa->dir == SL_DIR_OUT)
		db->nout++;
	else
		db->nin++;
	sl_snap_t *s = build(db, NULL);
	if (!s) {
		*head = sa->next;
		sa->next = NULL;
		if (sa->dir == SL_DIR_OUT)
			db->nout--;
		else
			db->nin--;
		sl_sadb_unlock(db);
		return -2;
	}
	db->count++;
	publish(db, s);
	sl_sadb_unlock(db);
	return 0;
}

int sl_sadb_del(sl_sadb_t *db, uint32_t spi, uint8_t dir)
{
	sl_sadb_lock(db);
	sl_sa_t **pp = &(dir == SL_DIR_OUT ? db->out : db->in)[bucket(spi)];
	while (*pp && (*pp)->spi != spi)
		pp = &(*pp)->next;
	sl_sa_t *sa = *pp;
	if (!sa) {
		sl_sadb_unlock(db);
		return -1;
	}
	sl_snap_t *s = build(db, sa);
	if (!s) {
		sl_sadb_unlock(db);
		return -2;
	}
	*pp = sa->next;
	if (dir == SL_DIR_OUT)
		db->nout--;
	else
		db->nin--;
	db->count--;
	/* After the grace period in publish() no reader holds sa. */
	publish(db, s);
	sl_sa_free(sa);
	sl_sadb_unlock(db);
	return 0;
}

int sl_sadb_set_remote(sl_sadb_t *db, uint32_t spi, uint8_t dir, const sl_endpoint_t *remote,
		       int sock_family)
{
	sl_sadb_lock(db);
	sl_sa_t *sa = sl_sadb_find(db, spi, dir);
	int rc = -1;
	if (sa) {
		rc = sl_sa_set_remote(sa, remote, sock_family) == 0 ? 0 : -2;
		/* The slot just retired may still be read by a worker: the next
		 * change (which writes it) must wait for them. */
		if (rc == 0)
			sl_qsbr_synchronize(&db->qsbr);
	}
	sl_sadb_unlock(db);
	return rc;
}

int sl_sadb_set_bypass(sl_sadb_t *db, const sl_selector_t *sels, size_t n)
{
	if (n > SL_SADB_MAX_BYPASS)
		return -1;
	sl_selector_t *copy = n ? calloc(n, sizeof(*copy)) : NULL;
	if (n && !copy)
		return -2;
	if (n)
		memcpy(copy, sels, n * sizeof(*copy));
	sl_sadb_lock(db);
	sl_selector_t *old = db->bypass;
	size_t oldn = db->nbypass;
	db->bypass = copy;
	db->nbypass = n;
	sl_snap_t *s = build(db, NULL);
	if (!s) {
		db->bypass = old;
		db->nbypass = oldn;
		sl_sadb_unlock(db);
		free(copy);
		return -2;
	}
	/* The old snapshot points into the old array: free it after the grace period. */
	publish(db, s);
	sl_sadb_unlock(db);
	free(old);
	return 0;
}

size_t sl_sadb_reap(sl_sadb_t *db)
{
	size_t n = 0;
	sl_sadb_lock(db);
	/* Every dead flag was set before this call: once each reader has passed
	 * a quiescent point it has seen them and will not touch ctx[] again. */
	sl_qsbr_synchronize(&db->qsbr);
	for (size_t b = 0; b < SL_SADB_BUCKETS; b++) {
		for (int d = 0; d < 2; d++) {
			for (sl_sa_t *sa = d ? db->out[b] : db->in[b]; sa; sa = sa->next) {
				if (sa->nctx > 0 && atomic_load(&sa->dead)) {
					sl_sa_wipe_keys(sa);
					n++;
				}
			}
		}
	}
	sl_sadb_unlock(db);
	return n;
}
