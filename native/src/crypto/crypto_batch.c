/*
 * crypto_batch.c - several packets per syscall round (crypto_batch.h).
 *
 * Why rounds and lanes: an AF_ALG op socket takes one request at a time
 * (af_alg_sendmsg returns EINVAL while a finished request is still unread,
 * and the IV and assoclen are per socket), and algif_aead turns everything
 * sent before a read into one AEAD operation.  So packets of one SA can
 * only share a syscall round on different op sockets: each AF_ALG context
 * keeps up to SL_AFALG_MAX_LANES of them (afalg.c) and a round holds at
 * most one request per lane.  Chosen by measurement in the QEMU arm64
 * guest (test_crypto_afalg, a worker's batch of 64 seals over 4 SAs):
 * syscalls per packet 2.00 unbatched, 2.00 with a pool of op sockets
 * (sendmsg of packet N+1 before the read of N saves nothing), 1.06 with
 * Linux AIO (only the reads can be queued: one sendmsg per packet stays),
 * 0.03 with io_uring (0.12 when all 64 belong to one SA: rounds of 8).
 * TCG timings there are emulator timings and too noisy to rank the three
 * batched designs; the syscall counts are real.
 */
#include "crypto_batch.h"
#include "afalg_internal.h"
#include "afalg_io.h"
#include "crypto_kat.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
	sl_crypto_t *c;
	uint8_t *pkt;
	size_t len;
	uint32_t seq_hi;
	bool enc;
	int rc;
	unsigned lane;
} entry_t;

struct sl_crypto_batch {
	unsigned cap, n;
	entry_t *e;
	bool *done;             /* per entry: result known */
	sl_lane_set_t **sets;   /* per entry: its context's lanes (AF_ALG only) */
	sl_afalg_req_t *req;    /* per entry */
	sl_afalg_io_op_t ops[SL_CRYPTO_BATCH_ROUND];
	unsigned pick[SL_CRYPTO_BATCH_ROUND], lane[SL_CRYPTO_BATCH_ROUND], of[SL_CRYPTO_BATCH_ROUND];
	unsigned round;
	sl_afalg_io_t uring;
	sl_afalg_io_t *io;
	sl_crypto_batch_stats_t st;
};

unsigned sl_batch_plan(sl_lane_set_t *const *sets, const bool *done, unsigned n, unsigned round,
		       unsigned max, unsigned *pick, unsigned *lane)
{
	unsigned k = 0;
	for (unsigned i = 0; i < n && k < max; i++) {
		sl_lane_set_t *s = sets[i];
		if (done[i] || s == NULL)
			continue;
		if (s->round != round) {
			s->round = round;
			s->used = 0;
		}
		if (s->used >= s->nlanes)
			continue; /* its lanes are taken: a later round */
		pick[k] = i;
		lane[k] = s->used++;
		k++;
	}
	return k;
}

sl_crypto_batch_t *sl_crypto_batch_new(unsigned cap)
{
	if (cap == 0 || cap > 4096)
		return NULL;
	sl_crypto_batch_t *b = calloc(1, sizeof(*b));
	if (b == NULL)
		return NULL;
	b->cap = cap;
	b->e = calloc(cap, sizeof(*b->e));
	b->done = calloc(cap, sizeof(*b->done));
	b->sets = calloc(cap, sizeof(*b->sets));
	b->req = calloc(cap, sizeof(*b->req));
	if (b->e == NULL || b->done == NULL || b->sets == NULL || b->req == NULL) {
		sl_crypto_batch_free(b);
		return NULL;
	}
	/* Without io_uring (old kernel, kernel.io_uring_disabled, seccomp) the
	 * requests go one by one, as unbatched. */
	b->io = &sl_afalg_io_plain;
	if (sl_afalg_available() && sl_afalg_uring_open(&b->uring, SL_CRYPTO_BATCH_ROUND) == 0)
		b->io = &b->uring;
	b->st.uring = b->io == &b->uring;
	return b;
}

void sl_crypto_batch_free(sl_crypto_batch_t *b)
{
	if (b == NULL)
		return;
	if (b->uring.close != NULL)
		b->uring.close(&b->uring);
	/* The requests held IVs and packet pointers, never keys. */
	free(b->e);
	free(b->done);
	free(b->sets);
	free(b->req);
	free(b);
}

void sl_crypto_batch_test_io(sl_crypto_batch_t *b, sl_afalg_io_t *io)
{
	if (io == NULL) /* back to the batch's own */
		io = b->uring.run != NULL ? &b->uring : &sl_afalg_io_plain;
	b->io = io;
	b->st.uring = io == &b->uring;
}

static bool is_afalg(const sl_crypto_t *c)
{
	return c->ops == &sl_afalg_ops && c->be != NULL;
}

/* Queue an entry that passed the front end's checks: AF_ALG waits for
 * run, any other backend runs now. */
static int queue(sl_crypto_batch_t *b, sl_crypto_t *c, uint8_t *pkt, size_t len, uint32_t seq_hi,
		 bool enc)
{
	unsigned i = b->n++;
	entry_t *e = &b->e[i];
	*e = (entry_t){ .c = c, .pkt = pkt, .len = len, .seq_hi = seq_hi, .enc = enc };
	if (is_afalg(c)) {
		b->sets[i] = &((afalg_t *)c->be)->lanes;
		b->done[i] = false;
		return (int)i;
	}
	b->sets[i] = NULL;
	b->done[i] = true;
	e->rc = enc ? c->ops->seal(c, pkt, len, seq_hi)
		    : sl_crypto_open_done(c, pkt, len, c->ops->open(c, pkt, len, seq_hi));
	if (e->rc != SL_CRYPTO_OK)
		b->st.failed++;
	return (int)i;
}

/* A seal: the checks of sl_crypto_seal and the IV placed now (drawn, or
 * the given one for known-answer tests), then queued. */
static int queue_seal(sl_crypto_batch_t *b, sl_crypto_t *c, uint8_t *pkt, size_t payload_len,
		      uint64_t seq, const uint8_t *iv)
{
	if (b == NULL || b->n >= b->cap)
		return SL_CRYPTO_EINVAL;
	int rc = sl_crypto_seal_prep(c, pkt, payload_len, seq);
	if (rc != SL_CRYPTO_OK)
		return rc;
	if (iv != NULL)
		memmove(pkt + SL_ESP_HDR_LEN, iv, sl_crypto_iv_len(c));
	return queue(b, c, pkt, payload_len, (uint32_t)(seq >> 32), true);
}

int sl_crypto_batch_seal(sl_crypto_batch_t *b, sl_crypto_t *c, uint8_t *pkt, size_t payload_len,
			 uint64_t seq)
{
	return queue_seal(b, c, pkt, payload_len, seq, NULL);
}

int sl_crypto_batch_seal_kat(sl_crypto_batch_t *b, sl_crypto_t *c, uint8_t *pkt,
			     size_t payload_len, uint64_t seq, const uint8_t *iv)
{
	if (c == NULL || iv == NULL)
		return SL_CRYPTO_EINVAL;
	return queue_seal(b, c, pkt, payload_len, seq, iv);
}

int sl_crypto_batch_open(sl_crypto_batch_t *b, sl_crypto_t *c, uint8_t *pkt, size_t payload_len,
			 uint32_t seq_hi)
{
	if (b == NULL || b->n >= b->cap)
		return SL_CRYPTO_EINVAL;
	int rc = sl_crypto_open_prep(c, pkt, payload_len, seq_hi);
	if (rc != SL_CRYPTO_OK)
		return rc;
	return queue(b, c, pkt, payload_len, seq_hi, false);
}

/* One round: build the chosen requests, run them, take the results. */
static void run_round(sl_crypto_batch_t *b, unsigned k)
{
	unsigned m = 0;
	for (unsigned j = 0; j < k; j++) {
		unsigned i = b->pick[j];
		entry_t *e = &b->e[i];
		afalg_t *s = e->c->be;
		e->lane = b->lane[j];
		int rc = sl_afalg_req_build(e->c, &b->req[i], e->pkt, e->len, e->seq_hi, e->enc);
		if (rc != SL_CRYPTO_OK || e->lane >= SL_AFALG_MAX_LANES) {
			e->rc = rc != SL_CRYPTO_OK ? rc : SL_CRYPTO_EIO;
			b->done[i] = true;
			b->st.failed++;
			continue;
		}
		b->ops[m] = (sl_afalg_io_op_t){ .fd = s->op[e->lane], .snd = &b->req[i].snd,
						.rcv = &b->req[i].rcv };
		b->of[m++] = i;
	}
	if (m == 0)
		return;
	int sys = b->io->run(b->io, b->ops, m);
	if (sys < 0) {
		/* The kernel refused the mechanism (nothing ran): one by one from
		 * now on. */
		b->io = &sl_afalg_io_plain;
		b->st.uring = false;
		sys = b->io->run(b->io, b->ops, m);
	}
	b->st.rounds++;
	b->st.afalg_requests += m;
	b->st.afalg_syscalls += (uint64_t)(sys > 0 ? sys : 0);
	sl_afalg_tally_requests += m;
	sl_afalg_tally_syscalls += (uint64_t)(sys > 0 ? sys : 0);
	for (unsigned j = 0; j < m; j++) {
		unsigned i = b->of[j];
		entry_t *e = &b->e[i];
		int rc = sl_afalg_req_result(&b->req[i], b->ops[j].snd_res, b->ops[j].rcv_res);
		if (rc == SL_CRYPTO_EIO)
			sl_afalg_lane_reset(e->c->be, (int)e->lane);
		if (!e->enc)
			rc = sl_crypto_open_done(e->c, e->pkt, e->len, rc);
		e->rc = rc;
		b->done[i] = true;
		if (rc != SL_CRYPTO_OK)
			b->st.failed++;
	}
}

void sl_crypto_batch_run(sl_crypto_batch_t *b)
{
	if (b == NULL)
		return;
	unsigned max = b->io->max_ops < SL_CRYPTO_BATCH_ROUND ? b->io->max_ops : SL_CRYPTO_BATCH_ROUND;
	for (;;) {
		if (++b->round == 0)
			b->round = 1; /* 0 would match a fresh lane set's stale zero */
		unsigned k = sl_batch_plan(b->sets, b->done, b->n, b->round, max, b->pick, b->lane);
		if (k == 0)
			break;
		run_round(b, k);
	}
	/* Whatever no round could take (a context left with no lanes) fails. */
	for (unsigned i = 0; i < b->n; i++) {
		if (!b->done[i]) {
			b->e[i].rc = SL_CRYPTO_EIO;
			b->done[i] = true;
			b->st.failed++;
		}
	}
}

int sl_crypto_batch_result(const sl_crypto_batch_t *b, int idx)
{
	if (b == NULL || idx < 0 || (unsigned)idx >= b->n || !b->done[idx])
		return SL_CRYPTO_EINVAL;
	return b->e[idx].rc;
}

unsigned sl_crypto_batch_len(const sl_crypto_batch_t *b)
{
	return b != NULL ? b->n : 0;
}

void sl_crypto_batch_clear(sl_crypto_batch_t *b)
{
	if (b != NULL)
		b->n = 0;
}

void sl_crypto_batch_stats(const sl_crypto_batch_t *b, sl_crypto_batch_stats_t *out)
{
	if (b == NULL) {
		memset(out, 0, sizeof(*out));
		return;
	}
	*out = b->st;
}
