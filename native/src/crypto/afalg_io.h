/*
 * afalg_io.h - how a round of AF_ALG requests reaches the kernel.
 *
 * A round is a set of (op socket, sendmsg, recvmsg) triples on distinct
 * op sockets.  Two runners: io_uring (afalg_uring.c: every request as a
 * SENDMSG SQE linked to its RECVMSG SQE, the whole round in one
 * io_uring_enter) and the plain one (a sendmsg() and a recvmsg() per
 * request, what the unbatched path does).  Unit tests plug in a fake.
 */
#ifndef SL_AFALG_IO_H
#define SL_AFALG_IO_H

#include <stdint.h>
#include <sys/socket.h>

typedef struct sl_afalg_io_op {
	int fd;
	struct msghdr *snd, *rcv;
	long snd_res, rcv_res; /* out: bytes or -errno (-ECANCELED: not run) */
} sl_afalg_io_op_t;

typedef struct sl_afalg_io {
	/* Run ops[0..n) (n <= max_ops).  Returns the number of syscalls it
	 * spent, or -errno when the mechanism itself refused before running
	 * any request (the caller then runs the round, and every later one,
	 * through the plain runner). */
	int (*run)(struct sl_afalg_io *io, sl_afalg_io_op_t *ops, unsigned n);
	void (*close)(struct sl_afalg_io *io);
	unsigned max_ops;
	void *priv;
} sl_afalg_io_t;

/* A sendmsg() and a recvmsg() per request: 2 syscalls each. */
extern sl_afalg_io_t sl_afalg_io_plain;

/* An io_uring for rounds of up to max_ops requests.  Returns -errno when
 * the kernel offers no io_uring (ENOSYS), refuses it (EPERM: sysctl
 * kernel.io_uring_disabled, seccomp) or lacks SENDMSG/RECVMSG (EOPNOTSUPP). */
int sl_afalg_uring_open(sl_afalg_io_t *io, unsigned max_ops);

#endif
