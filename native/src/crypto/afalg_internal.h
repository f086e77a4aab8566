/*
 * afalg_internal.h - what the AF_ALG backend (afalg.c) shares with its
 * batched path (crypto_batch.c): the per-context state and one request laid
 * out as a sendmsg() + recvmsg() pair.
 */
#ifndef SL_AFALG_INTERNAL_H
#define SL_AFALG_INTERNAL_H

#include "crypto_internal.h"
#include "crypto_batch.h"

#include <linux/if_alg.h>
#include <sys/socket.h>
#include <sys/uio.h>

/* Op sockets per context: an AF_ALG op socket carries one request at a
 * time (af_alg_sendmsg refuses a second before the first is read), so a
 * syscall round can hold at most this many packets of one SA. */
#define SL_AFALG_MAX_LANES 8

typedef struct {
	int tfm;                      /* bound algorithm socket: holds the key */
	int op[SL_AFALG_MAX_LANES];   /* accepted op sockets; op[0] serves the unbatched path */
	int reserved;                 /* descriptors drawn from the budget */
	sl_lane_set_t lanes;          /* nlanes: op sockets opened; round/used: crypto_batch.c */
} afalg_t;

#define SL_AFALG_CTL_LEN                                                                   \
	(CMSG_SPACE(sizeof(uint32_t)) + CMSG_SPACE(sizeof(struct af_alg_iv) + SL_MAX_IV_LEN) + \
	 CMSG_SPACE(sizeof(uint32_t)))

/* One kernel operation: snd carries op, IV, assoclen and the input; rcv
 * puts the output straight back into the packet.  Self-contained (the
 * msghdrs point into the struct and the packet), so a batch keeps one per
 * entry, allocated once. */
typedef struct sl_afalg_req {
	struct msghdr snd, rcv;
	struct iovec in[3], out[3];
	size_t inlen, outlen;
	uint8_t hi_in[4], hi_out[4];
	union {
		struct cmsghdr align;
		uint8_t buf[SL_AFALG_CTL_LEN];
	} ctl;
} sl_afalg_req_t;

/* This thread's AF_ALG requests and the syscalls they took, batched or
 * not (sl_afalg_thread_tally in crypto.h: the probe, the workers' counters). */
extern _Thread_local uint64_t sl_afalg_tally_requests, sl_afalg_tally_syscalls;

/* Lay out the request for pkt (see afalg.c for the AAD layouts). */
int sl_afalg_req_build(const sl_crypto_t *c, sl_afalg_req_t *r, uint8_t *pkt, size_t len,
		       uint32_t seq_hi, bool enc);
/* Result of a finished request from its sendmsg and recvmsg results
 * (bytes, or -errno): SL_CRYPTO_OK, EAUTH (EBADMSG: the request completed,
 * the socket is clean) or EIO (the lane may hold half a request: the
 * caller resets it with sl_afalg_lane_reset). */
int sl_afalg_req_result(const sl_afalg_req_t *r, long snd_res, long rcv_res);
/* Replace op socket `lane` after a failed request (error path only). */
void sl_afalg_lane_reset(afalg_t *s, int lane);

#endif
