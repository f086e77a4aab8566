/*
 * afalg_uring.c - the runners of afalg_io.h.
 *
 * io_uring without liburing: io_uring_setup/enter/register as raw
 * syscalls and the rings mapped as the uapi header lays them out.  A
 * request is a SENDMSG SQE linked (IOSQE_IO_LINK) to the RECVMSG SQE on the
 * same op socket, so the read runs only after its send; requests on
 * different op sockets are independent.  One io_uring_enter submits the
 * round and waits for all of it: for CPU drivers the kernel runs each
 * request inline during submission; a hardware engine's async completion
 * is waited for in the same call.  If a send fails, its linked read
 * completes with -ECANCELED and the caller resets that op socket.
 *
 * The ring only ever holds one round (we wait for every completion before
 * returning, since the requests point into the caller's packets), so the
 * completion queue (twice the submission queue) cannot overflow.
 */
#include "afalg_io.h"

#include <errno.h>
#include <linux/io_uring.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#ifndef __NR_io_uring_setup
#define __NR_io_uring_setup 425 /* the same number on every architecture */
#endif
#ifndef __NR_io_uring_enter
#define __NR_io_uring_enter 426
#endif
#ifndef __NR_io_uring_register
#define __NR_io_uring_register 427
#endif

static long total_len(const struct msghdr *m)
{
	long n = 0;
	for (size_t i = 0; i < m->msg_iovlen; i++)
		n += (long)m->msg_iov[i].iov_len;
	return n;
}

static int plain_run(sl_afalg_io_t *io, sl_afalg_io_op_t *ops, unsigned n)
{
	int sys = 0;
	(void)io;
	for (unsigned i = 0; i < n; i++) {
		ssize_t r;
		do {
			r = sendmsg(ops[i].fd, ops[i].snd, 0);
			sys++;
		} while (r < 0 && errno == EINTR);
		ops[i].snd_res = r < 0 ? -errno : (long)r;
		ops[i].rcv_res = -ECANCELED;
		if (ops[i].snd_res != total_len(ops[i].snd))
			continue; /* the read would see half a request */
		do {
			r = recvmsg(ops[i].fd, ops[i].rcv, 0);
			sys++;
		} while (r < 0 && errno == EINTR);
		ops[i].rcv_res = r < 0 ? -errno : (long)r;
	}
	return sys;
}

static void plain_close(sl_afalg_io_t *io)
{
	(void)io;
}

sl_afalg_io_t sl_afalg_io_plain = { .run = plain_run, .close = plain_close, .max_ops = 1u << 16 };

typedef struct {
	int fd;
	unsigned *sq_head, *sq_tail, *sq_mask, *sq_array;
	unsigned *cq_head, *cq_tail, *cq_mask;
	struct io_uring_sqe *sqes;
	struct io_uring_cqe *cqes;
	void *sq_ring, *cq_ring;
	size_t sq_ring_sz, cq_ring_sz, sqes_sz;
	unsigned sq_entries;
} uring_t;

static void *at(void *base, unsigned off)
{
	return (uint8_t *)base + off;
}

static void uring_free(uring_t *u)
{
	if (u->sqes != NULL && u->sqes != MAP_FAILED)
		munmap(u->sqes, u->sqes_sz);
	if (u->cq_ring != NULL && u->cq_ring != MAP_FAILED && u->cq_ring != u->sq_ring)
		munmap(u->cq_ring, u->cq_ring_sz);
	if (u->sq_ring != NULL && u->sq_ring != MAP_FAILED)
		munmap(u->sq_ring, u->sq_ring_sz);
	if (u->fd >= 0)
		close(u->fd);
	free(u);
}

static void uring_close(sl_afalg_io_t *io)
{
	if (io->priv != NULL)
		uring_free(io->priv);
	io->priv = NULL;
}

static void prep(uring_t *u, unsigned *tail, uint8_t opcode, int fd, struct msghdr *m,
		 uint8_t flags, uint64_t user_data)
{
	unsigned idx = *tail & *u->sq_mask;
	struct io_uring_sqe *sqe = &u->sqes[idx];

	memset(sqe, 0, sizeof(*sqe));
	sqe->opcode = opcode;
	sqe->flags = flags;
	sqe->fd = fd;
	sqe->addr = (uint64_t)(uintptr_t)m;
	sqe->len = 1; /* one msghdr */
	sqe->user_data = user_data;
	u->sq_array[idx] = idx;
	(*tail)++;
}

/* Collect what has completed; returns how many. */
static unsigned reap(uring_t *u, sl_afalg_io_op_t *ops, unsigned n)
{
	unsigned head = *u->cq_head, got = 0;
	unsigned tail = __atomic_load_n(u->cq_tail, __ATOMIC_ACQUIRE);

	for (; head != tail; head++, got++) {
		const struct io_uring_cqe *cqe = &u->cqes[head & *u->cq_mask];
		uint64_t i = cqe->user_data >> 1;
		if (i >= n)
			continue; /* not ours: cannot happen, the ring is private */
		if (cqe->user_data & 1)
			ops[i].rcv_res = cqe->res;
		else
			ops[i].snd_res = cqe->res;
	}
	__atomic_store_n(u->cq_head, head, __ATOMIC_RELEASE);
	return got;
}

static int uring_run(sl_afalg_io_t *io, sl_afalg_io_op_t *ops, unsigned n)
{
	uring_t *u = io->priv;
	if (u == NULL || n > io->max_ops)
		return -EINVAL;
	if (n == 0)
		return 0;

	unsigned tail = *u->sq_tail;
	for (unsigned i = 0; i < n; i++) {
		ops[i].snd_res = ops[i].rcv_res = -ECANCELED;
		prep(u, &tail, IORING_OP_SENDMSG, ops[i].fd, ops[i].snd, IOSQE_IO_LINK, (uint64_t)i << 1);
		prep(u, &tail, IORING_OP_RECVMSG, ops[i].fd, ops[i].rcv, 0, ((uint64_t)i << 1) | 1);
	}
	__atomic_store_n(u->sq_tail, tail, __ATOMIC_RELEASE);

	unsigned to_submit = 2 * n, pending = 0;
	int sys = 0;
	for (;;) {
		long r = syscall(__NR_io_uring_enter, u->fd, to_submit, to_submit + pending,
				 IORING_ENTER_GETEVENTS, NULL, 0);
		sys++;
		if (r >= 0) {
			if ((unsigned long)r > to_submit)
				r = (long)to_submit;
			to_submit -= (unsigned)r;
			pending += (unsigned)r;
		} else if (errno == EINTR || ((errno == EAGAIN || errno == EBUSY) && pending > 0)) {
			/* Interrupted, or short of resources while requests are in
			 * flight: they must finish (they write into the packets). */
		} else if (pending == 0 && to_submit == 2 * n) {
			/* Refused before anything ran: take the round back. */
			int e = errno;
			__atomic_store_n(u->sq_tail, tail - 2 * n, __ATOMIC_RELEASE);
			return -e;
		} else {
			/* Part of the round went in: drop the rest from the ring (those
			 * requests stay -ECANCELED, failed and counted by the caller). */
			unsigned head = __atomic_load_n(u->sq_head, __ATOMIC_ACQUIRE);
			__atomic_store_n(u->sq_tail, head, __ATOMIC_RELEASE);
			to_submit = 0;
		}
		unsigned got = reap(u, ops, n);
		pending = got > pending ? 0 : pending - got;
		if (to_submit == 0 && pending == 0)
			return sys;
	}
}

int sl_afalg_uring_open(sl_afalg_io_t *io, unsigned max_ops)
{
	struct io_uring_params p;
	uring_t *u;

	if (max_ops == 0 || max_ops > 2048)
		return -EINVAL;
	u = calloc(1, sizeof(*u));
	if (u == NULL)
		return -ENOMEM;
	memset(&p, 0, sizeof(p));
	u->fd = (int)syscall(__NR_io_uring_setup, 2 * max_ops, &p);
	if (u->fd < 0) {
		int e = errno;
		free(u);
		return -e;
	}

	/* Both opcodes must exist (5.3+); the probe itself is 5.6+. */
	union {
		struct io_uring_probe pr;
		uint8_t buf[sizeof(struct io_uring_probe) + 256 * sizeof(struct io_uring_probe_op)];
	} probe;
	memset(&probe, 0, sizeof(probe));
	if (syscall(__NR_io_uring_register, u->fd, IORING_REGISTER_PROBE, &probe, 256) != 0 ||
	    probe.pr.last_op < IORING_OP_RECVMSG ||
	    !(probe.pr.ops[IORING_OP_SENDMSG].flags & IO_URING_OP_SUPPORTED) ||
	    !(probe.pr.ops[IORING_OP_RECVMSG].flags & IO_URING_OP_SUPPORTED)) {
		uring_free(u);
		return -EOPNOTSUPP;
	}

	u->sq_entries = p.sq_entries;
	u->sq_ring_sz = p.sq_off.array + p.sq_entries * sizeof(unsigned);
	u->cq_ring_sz = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	bool single = (p.features & IORING_FEAT_SINGLE_MMAP) != 0;
	if (single && u->cq_ring_sz > u->sq_ring_sz)
		u->sq_ring_sz = u->cq_ring_sz;
	u->sq_ring = mmap(NULL, u->sq_ring_sz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
			  u->fd, IORING_OFF_SQ_RING);
	if (u->sq_ring == MAP_FAILED) {
		int e = errno;
		uring_free(u);
		return -e;
	}
	u->cq_ring = single ? u->sq_ring
			    : mmap(NULL, u->cq_ring_sz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
				   u->fd, IORING_OFF_CQ_RING);
	u->sqes_sz = p.sq_entries * sizeof(struct io_uring_sqe);
	u->sqes = u->cq_ring == MAP_FAILED
			  ? MAP_FAILED
			  : mmap(NULL, u->sqes_sz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
				 u->fd, IORING_OFF_SQES);
	if (u->cq_ring == MAP_FAILED || u->sqes == MAP_FAILED) {
		int e = errno;
		uring_free(u);
		return -e;
	}
	u->sq_head = at(u->sq_ring, p.sq_off.head);
	u->sq_tail = at(u->sq_ring, p.sq_off.tail);
	u->sq_mask = at(u->sq_ring, p.sq_off.ring_mask);
	u->sq_array = at(u->sq_ring, p.sq_off.array);
	u->cq_head = at(u->cq_ring, p.cq_off.head);
	u->cq_tail = at(u->cq_ring, p.cq_off.tail);
	u->cq_mask = at(u->cq_ring, p.cq_off.ring_mask);
	u->cqes = at(u->cq_ring, p.cq_off.cqes);
	if (p.sq_entries < 2 * max_ops) { /* the kernel clamps to its maximum */
		uring_free(u);
		return -EINVAL;
	}

	io->run = uring_run;
	io->close = uring_close;
	io->max_ops = max_ops;
	io->priv = u;
	return 0;
}
