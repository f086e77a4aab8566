/*
 * afalg_runners.h - the two batching designs test_crypto_afalg measures
 * against the io_uring runner the engine uses (afalg_uring.c), as
 * afalg_io.h runners:
 *   pool: every send of the round, then every read (a pool of op sockets
 *         lets packet N+1's sendmsg go before packet N's read);
 *   aio:  every send, then one io_submit of IOCB_CMD_PREADV on the op
 *         sockets (algif_aead supports AIO reads) and io_getevents.
 * Measurement only: not in the engine.
 */
#ifndef SL_AFALG_RUNNERS_H
#define SL_AFALG_RUNNERS_H

#include "afalg_io.h"

#include <errno.h>
#include <linux/aio_abi.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define RUNNER_MAX 32

static inline long msg_len(const struct msghdr *m)
{
	long n = 0;
	for (size_t i = 0; i < m->msg_iovlen; i++)
		n += (long)m->msg_iov[i].iov_len;
	return n;
}

/* Every sendmsg of the round; returns the syscalls spent. */
static inline int send_all(sl_afalg_io_op_t *ops, unsigned n)
{
	int sys = 0;
	for (unsigned i = 0; i < n; i++) {
		ssize_t r = sendmsg(ops[i].fd, ops[i].snd, 0);
		sys++;
		ops[i].snd_res = r < 0 ? -errno : (long)r;
		ops[i].rcv_res = -ECANCELED;
	}
	return sys;
}

static inline int pool_run(sl_afalg_io_t *io, sl_afalg_io_op_t *ops, unsigned n)
{
	(void)io;
	int sys = send_all(ops, n);
	for (unsigned i = 0; i < n; i++) {
		if (ops[i].snd_res != msg_len(ops[i].snd))
			continue;
		ssize_t r = recvmsg(ops[i].fd, ops[i].rcv, 0);
		sys++;
		ops[i].rcv_res = r < 0 ? -errno : (long)r;
	}
	return sys;
}

static inline void none_close(sl_afalg_io_t *io)
{
	(void)io;
}

static sl_afalg_io_t pool_io = { .run = pool_run, .close = none_close, .max_ops = RUNNER_MAX };

static aio_context_t aio_ctx;

static inline int aio_run(sl_afalg_io_t *io, sl_afalg_io_op_t *ops, unsigned n)
{
	struct iocb cb[RUNNER_MAX], *cbp[RUNNER_MAX];
	struct io_event ev[RUNNER_MAX];
	unsigned m = 0;
	(void)io;
	if (n > RUNNER_MAX)
		return -EINVAL;
	int sys = send_all(ops, n);
	for (unsigned i = 0; i < n; i++) {
		if (ops[i].snd_res != msg_len(ops[i].snd))
			continue;
		memset(&cb[m], 0, sizeof(cb[m]));
		cb[m].aio_data = i;
		cb[m].aio_lio_opcode = IOCB_CMD_PREADV;
		cb[m].aio_fildes = (uint32_t)ops[i].fd;
		cb[m].aio_buf = (uint64_t)(uintptr_t)ops[i].rcv->msg_iov;
		cb[m].aio_nbytes = ops[i].rcv->msg_iovlen;
		cbp[m] = &cb[m];
		m++;
	}
	long sub = m ? syscall(__NR_io_submit, aio_ctx, (long)m, cbp) : 0;
	sys += m ? 1 : 0;
	if (sub < 0)
		sub = 0; /* nothing submitted: those reads stay -ECANCELED */
	for (long got = 0; got < sub;) {
		long r = syscall(__NR_io_getevents, aio_ctx, sub - got, sub - got, ev, NULL);
		sys++;
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		for (long k = 0; k < r; k++)
			if (ev[k].data < n)
				ops[ev[k].data].rcv_res = (long)ev[k].res;
		got += r;
	}
	return sys;
}

static sl_afalg_io_t aio_io = { .run = aio_run, .close = none_close, .max_ops = RUNNER_MAX };

static inline int aio_io_open(void)
{
	return syscall(__NR_io_setup, RUNNER_MAX, &aio_ctx) == 0 ? 0 : -errno;
}

#endif
