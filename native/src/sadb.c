/* sadb.c - SA hash tables and the outbound selector list. */
#include "sadb.h"

#include <stdlib.h>

static size_t bucket(uint32_t spi)
{
	/* SPIs are random (RFC 4303 §2.1) but a static config may number them
	 * densely; a multiplicative hash spreads both. */
	return (size_t)((spi * 2654435761u) >> 22) & (SL_SADB_BUCKETS - 1);
}

int sl_sadb_init(sl_sadb_t *db)
{
	*db = (sl_sadb_t){ 0 };
	pthread_rwlockattr_t attr;
	pthread_rwlockattr_init(&attr);
	/* Workers read all the time; without writer preference a delete could wait forever. */
	pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	int rc = pthread_rwlock_init(&db->lock, &attr);
	pthread_rwlockattr_destroy(&attr);
	return rc == 0 ? 0 : -1;
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
	free(db->sel);
	db->sel = NULL;
	db->nsel = db->capsel = 0;
	db->count = 0;
	pthread_rwlock_destroy(&db->lock);
}

void sl_sadb_rdlock(sl_sadb_t *db)
{
	pthread_rwlock_rdlock(&db->lock);
}
void sl_sadb_wrlock(sl_sadb_t *db)
{
	pthread_rwlock_wrlock(&db->lock);
}
void sl_sadb_unlock(sl_sadb_t *db)
{
	pthread_rwlock_unlock(&db->lock);
}

sl_sa_t *sl_sadb_find(sl_sadb_t *db, uint32_t spi, uint8_t dir)
{
	sl_sa_t *sa = (dir == SL_DIR_OUT ? db->out : db->in)[bucket(spi)];
	while (sa && sa->spi != spi)
		sa = sa->next;
	return sa;
}

/* Insert the new SA's selectors in front of every entry that is not more
 * specific, so ties go to the newest SA.  Allocation happens here (control
 * path), never on lookup. */
static int sel_insert(sl_sadb_t *db, sl_sa_t *sa)
{
	if (db->nsel + sa->nsels > db->capsel) {
		size_t cap = db->capsel ? db->capsel * 2 : 16;
		while (cap < db->nsel + sa->nsels)
			cap *= 2;
		sl_out_entry_t *n = realloc(db->sel, cap * sizeof(*n));
		if (!n)
			return -1;
		db->sel = n;
		db->capsel = cap;
	}
	for (size_t i = 0; i < sa->nsels; i++) {
		const sl_selector_t *s = &sa->sels[i];
		size_t pos = 0;
		while (pos < db->nsel && sl_selector_cmp(db->sel[pos].sel, s) < 0)
			pos++;
		for (size_t j = db->nsel; j > pos; j--)
			db->sel[j] = db->sel[j - 1];
		db->sel[pos] = (sl_out_entry_t){ .sel = s, .sa = sa };
		db->nsel++;
	}
	return 0;
}

static void sel_remove(sl_sadb_t *db, const sl_sa_t *sa)
{
	size_t w = 0;
	for (size_t r = 0; r < db->nsel; r++)
		if (db->sel[r].sa != sa)
			db->sel[w++] = db->sel[r];
	db->nsel = w;
}

int sl_sadb_add(sl_sadb_t *db, sl_sa_t *sa)
{
	sl_sadb_wrlock(db);
	if (sl_sadb_find(db, sa->spi, sa->dir)) {
		sl_sadb_unlock(db);
		return -1;
	}
	if (sa->dir == SL_DIR_OUT && sel_insert(db, sa) != 0) {
		sl_sadb_unlock(db);
		return -2;
	}
	sl_sa_t **head = &(sa->dir == SL_DIR_OUT ? db->out : db->in)[bucket(sa->spi)];
	sa->next = *head;
	*head = sa;
	db->count++;
	sl_sadb_unlock(db);
	return 0;
}

int sl_sadb_del(sl_sadb_t *db, uint32_t spi, uint8_t dir)
{
	sl_sadb_wrlock(db);
	sl_sa_t **pp = &(dir == SL_DIR_OUT ? db->out : db->in)[bucket(spi)];
	while (*pp && (*pp)->spi != spi)
		pp = &(*pp)->next;
	sl_sa_t *sa = *pp;
	if (!sa) {
		sl_sadb_unlock(db);
		return -1;
	}
	*pp = sa->next;
	if (dir == SL_DIR_OUT)
		sel_remove(db, sa);
	db->count--;
	/* Still under the write lock: no worker holds a pointer to sa. */
	sl_sa_free(sa);
	sl_sadb_unlock(db);
	return 0;
}

size_t sl_sadb_reap(sl_sadb_t *db)
{
	size_t n = 0;
	sl_sadb_wrlock(db);
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

sl_sa_t *sl_sadb_lookup_out(sl_sadb_t *db, const sl_flow_t *f)
{
	for (size_t i = 0; i < db->nsel; i++) {
		sl_out_entry_t *e = &db->sel[i];
		if (atomic_load_explicit(&e->sa->dead, memory_order_relaxed))
			continue;
		if (sl_selector_match(e->sel, f, false))
			return e->sa;
	}
	return NULL;
}
