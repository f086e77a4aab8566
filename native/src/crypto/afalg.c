/*
 * afalg.c - ESP transforms through the kernel crypto API (AF_ALG "aead"),
 * so a board's crypto engine does the work when it has a driver.
 *
 * A packet is one sendmsg() (op, IV, assoclen as control data, the packet
 * as iovecs) and one recvmsg() on an op socket, in place, with no
 * allocation.  A context keeps up to SL_AFALG_MAX_LANES op sockets so that
 * a worker's batch can carry several packets of one SA per syscall round
 * (crypto_batch.c); the unbatched path uses the first.  The kernel's IPsec
 * AEAD templates define the layout:
 *
 *   rfc4106(gcm(aes)), rfc7539esp(chacha20,poly1305):
 *     key = cipher key | salt; AAD handed over = SPI | [Seq high |] Seq low | IV
 *     (the template strips the trailing 8-byte IV from the AAD itself).
 *   authenc(hmac(H),cbc(C)):
 *     key = rtattr{enckeylen} | auth key | enc key; AAD = SPI | Seq low | IV,
 *     so the HMAC covers SPI | Seq | IV | ciphertext (RFC 4303 §3.3.2).
 *   authencesn(hmac(H),cbc(C)) (ESN):
 *     AAD = SPI | Seq high | Seq low | IV; the template moves Seq high to
 *     the end of the MAC input (RFC 4303 §3.3.2.1).
 *
 * Output of an encryption is AAD | ciphertext | ICV, of a decryption
 * AAD | plaintext; the iovecs put it straight back into the packet.  A
 * forged packet makes the read fail with EBADMSG.
 *
 * Descriptors: each context holds the keyed tfm socket and its op sockets.
 * A hub with 1,000 tunnels would otherwise run the process out of
 * descriptors (and lose its UDP sockets with it), so contexts draw from a
 * process-wide budget, by default half of RLIMIT_NOFILE; past it AF_ALG
 * refuses and "auto" uses OpenSSL.  The extra lanes are taken only while
 * less than half the budget is in use, so the first SAs batch and the
 * later ones still get AF_ALG with one lane (2 descriptors).
 */
#include "afalg_internal.h"
#include "afalg_proc.h"

#include <errno.h>
#include <linux/if_alg.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdatomic.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#ifndef AF_ALG
#define AF_ALG 38
#endif
#ifndef SOL_ALG
#define SOL_ALG 279
#endif

/* From the kernel's include/crypto/authenc.h (not exported as uapi). */
#define SL_CRYPTO_AUTHENC_KEYA_PARAM 1

#define FDS_MIN 2                            /* tfm + one op socket */
#define FDS_MAX (1 + SL_AFALG_MAX_LANES)

static atomic_int fds_in_use;
static atomic_int fd_budget = -1; /* -1: not set, use the default */

static int budget(void)
{
	int b = atomic_load(&fd_budget);
	if (b >= 0)
		return b;
	struct rlimit rl;
	long lim = 1024;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		lim = (long)rl.rlim_cur;
	else if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
		lim = 1 << 20;
	if (lim > (1 << 22))
		lim = 1 << 22;
	return (int)(lim / 2);
}

void sl_afalg_set_fd_budget(int n)
{
	atomic_store(&fd_budget, n < 0 ? -1 : n);
}

int sl_afalg_fd_budget(void)
{
	return budget();
}

int sl_afalg_fds_in_use(void)
{
	return atomic_load(&fds_in_use);
}

static bool reserve(int n)
{
	int lim = budget();
	int cur = atomic_load(&fds_in_use);
	do {
		if (cur + n > lim)
			return false;
	} while (!atomic_compare_exchange_weak(&fds_in_use, &cur, cur + n));
	return true;
}

bool sl_afalg_available(void)
{
	int fd = socket(AF_ALG, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

static void afalg_fini(sl_crypto_t *c)
{
	afalg_t *s = c->be;

	/* Closing every socket frees the kernel tfm, whose key memory the
	 * crypto API zeroes (crypto_destroy_tfm -> kfree_sensitive). */
	for (int i = 0; i < SL_AFALG_MAX_LANES; i++) {
		if (s->op[i] >= 0)
			close(s->op[i]);
		s->op[i] = -1;
	}
	s->lanes.nlanes = 0;
	if (s->tfm >= 0)
		close(s->tfm);
	s->tfm = -1;
	atomic_fetch_sub(&fds_in_use, s->reserved);
	s->reserved = 0;
}

/* Pack the authenc key: struct rtattr { len, type = KEYA_PARAM }, be32
 * enckeylen, then the auth key, then the enc key. */
static size_t authenc_key(uint8_t *buf, size_t buflen, const sl_crypto_params_t *p)
{
	struct rtattr rta;
	size_t hdr = RTA_SPACE(sizeof(uint32_t));
	size_t n = hdr + p->auth_key_len + p->enc_key_len;

	if (n > buflen)
		return 0;
	memset(buf, 0, hdr);
	rta.rta_len = (unsigned short)RTA_LENGTH(sizeof(uint32_t));
	rta.rta_type = SL_CRYPTO_AUTHENC_KEYA_PARAM;
	memcpy(buf, &rta, sizeof(rta));
	sl_put_be32(buf + RTA_LENGTH(0), (uint32_t)p->enc_key_len);
	memcpy(buf + hdr, p->auth_key, p->auth_key_len);
	memcpy(buf + hdr + p->auth_key_len, p->enc_key, p->enc_key_len);
	return n;
}

static int afalg_init(sl_crypto_t *c, const sl_crypto_params_t *p, char *err, size_t errlen)
{
	const char *name = c->esn && c->info->kernel_name_esn != NULL ? c->info->kernel_name_esn
								    : c->info->kernel_name;
	struct sockaddr_alg sa;
	uint8_t key[128];
	size_t keylen;

	afalg_t *s = calloc(1, sizeof(*s));
	if (s == NULL) {
		sl_crypto_seterr(err, errlen, "out of memory");
		return SL_CRYPTO_EIO;
	}
	s->tfm = -1;
	for (int i = 0; i < SL_AFALG_MAX_LANES; i++)
		s->op[i] = -1;
	c->be = s;
	c->be_size = sizeof(*s);

	/* All lanes while under half the budget, else one (see the top). */
	int want = sl_afalg_fds_in_use() + FDS_MAX <= budget() / 2 ? FDS_MAX : FDS_MIN;
	if (!reserve(want) && (want == FDS_MIN || !reserve(want = FDS_MIN))) {
		sl_crypto_seterr(err, errlen, "af_alg: descriptor budget exhausted (%d of %d in use)",
				 sl_afalg_fds_in_use(), budget());
		return SL_CRYPTO_ENOTSUP;
	}
	s->reserved = want;
	s->tfm = socket(AF_ALG, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (s->tfm < 0) {
		sl_crypto_seterr(err, errlen, "af_alg: socket: %s", strerror(errno));
		return SL_CRYPTO_ENOTSUP;
	}
	memset(&sa, 0, sizeof(sa));
	sa.salg_family = AF_ALG;
	memcpy(sa.salg_type, "aead", sizeof("aead"));
	if (strlen(name) >= sizeof(sa.salg_name)) {
		sl_crypto_seterr(err, errlen, "af_alg: algorithm name too long");
		return SL_CRYPTO_EINVAL;
	}
	memcpy(sa.salg_name, name, strlen(name) + 1);
	if (bind(s->tfm, (const struct sockaddr *)&sa, sizeof(sa)) != 0) {
		sl_crypto_seterr(err, errlen, "af_alg: kernel lacks %s: %s", name, strerror(errno));
		return SL_CRYPTO_ENOTSUP;
	}

	if (c->info->aead) {
		if (p->enc_key_len > sizeof(key))
			return SL_CRYPTO_EINVAL;
		memcpy(key, p->enc_key, p->enc_key_len); /* cipher key | salt */
		keylen = p->enc_key_len;
	} else {
		keylen = authenc_key(key, sizeof(key), p);
		if (keylen == 0)
			return SL_CRYPTO_EINVAL;
	}
	int rc = setsockopt(s->tfm, SOL_ALG, ALG_SET_KEY, key, (socklen_t)keylen);
	int saved = errno;
	sl_wipe(key, sizeof(key));
	if (rc != 0) {
		sl_crypto_seterr(err, errlen, "af_alg: %s rejected the key: %s", name, strerror(saved));
		return SL_CRYPTO_EINVAL;
	}
	/* Truncated ICV length: 12 for HMAC-SHA1-96 (RFC 2404), 16 otherwise. */
	if (setsockopt(s->tfm, SOL_ALG, ALG_SET_AEAD_AUTHSIZE, NULL, (socklen_t)c->info->icv_len) != 0) {
		sl_crypto_seterr(err, errlen, "af_alg: %s: ICV length %zu: %s", name,
				 c->info->icv_len, strerror(errno));
		return SL_CRYPTO_ENOTSUP;
	}
	for (int i = 0; i < s->reserved - 1; i++) {
		s->op[i] = accept4(s->tfm, NULL, NULL, SOCK_CLOEXEC);
		if (s->op[i] < 0 && i == 0) {
			sl_crypto_seterr(err, errlen, "af_alg: accept: %s", strerror(errno));
			return SL_CRYPTO_EIO;
		}
		if (s->op[i] < 0)
			break; /* fewer lanes: batching still works, in smaller rounds */
		s->lanes.nlanes = (unsigned)i + 1;
	}
	if (sl_afalg_proc_driver(NULL, name, c->driver, sizeof(c->driver)) != 0)
		snprintf(c->driver, sizeof(c->driver), "%s", name);
	return SL_CRYPTO_OK;
}

/* After a failed or partial operation the op socket may hold half a
 * request that would be glued onto the next packet: replace it (error
 * path only; the key stays on the tfm socket).  A lane that cannot be
 * replaced stays closed (-1): its requests fail with EIO, counted. */
void sl_afalg_lane_reset(afalg_t *s, int lane)
{
	if (lane < 0 || lane >= SL_AFALG_MAX_LANES)
		return;
	if (s->op[lane] >= 0)
		close(s->op[lane]);
	s->op[lane] = s->tfm >= 0 ? accept4(s->tfm, NULL, NULL, SOCK_CLOEXEC) : -1;
}

/*
 * The iovecs for pkt (SPI | Seq low | IV | data) with the AAD the kernel
 * wants.  Without ESN the AAD is the packet's own first bytes; with ESN
 * Seq high is slotted in between SPI and Seq low from a side buffer (and
 * on output the kernel's copy of it lands in a scratch word).
 */
static int build_iov(const sl_crypto_t *c, uint8_t *pkt, size_t tail, uint8_t *hi,
		     struct iovec *iov, size_t *total)
{
	size_t body = SL_ESP_HDR_LEN + c->info->iv_len + tail;

	if (!c->esn) {
		iov[0].iov_base = pkt;
		iov[0].iov_len = body;
		*total = body;
		return 1;
	}
	iov[0].iov_base = pkt;
	iov[0].iov_len = 4;
	iov[1].iov_base = hi;
	iov[1].iov_len = 4;
	iov[2].iov_base = pkt + 4;
	iov[2].iov_len = body - 4;
	*total = body + 4;
	return 3;
}

static struct cmsghdr *put_cmsg(struct cmsghdr *cm, int type, size_t len)
{
	cm->cmsg_level = SOL_ALG;
	cm->cmsg_type = type;
	cm->cmsg_len = CMSG_LEN(len);
	return cm;
}

int sl_afalg_req_build(const sl_crypto_t *c, sl_afalg_req_t *r, uint8_t *pkt, size_t len,
		       uint32_t seq_hi, bool enc)
{
	size_t iv_len = c->info->iv_len, icv = c->info->icv_len;
	uint32_t op = enc ? ALG_OP_ENCRYPT : ALG_OP_DECRYPT;
	uint32_t assoclen = (uint32_t)(SL_ESP_HDR_LEN + (c->esn ? 4u : 0u) + iv_len);
	uint32_t ivlen32 = (uint32_t)iv_len;

	if (iv_len > SL_MAX_IV_LEN || len > SL_CRYPTO_MAX_PAYLOAD)
		return SL_CRYPTO_EINVAL;
	memset(&r->snd, 0, sizeof(r->snd));
	memset(&r->rcv, 0, sizeof(r->rcv));
	memset(&r->ctl, 0, sizeof(r->ctl));
	sl_put_be32(r->hi_in, seq_hi);
	int nin = build_iov(c, pkt, enc ? len : len + icv, r->hi_in, r->in, &r->inlen);
	int nout = build_iov(c, pkt, enc ? len + icv : len, r->hi_out, r->out, &r->outlen);

	r->snd.msg_control = r->ctl.buf;
	r->snd.msg_controllen = CMSG_SPACE(sizeof(uint32_t)) +
				CMSG_SPACE(sizeof(struct af_alg_iv) + iv_len) +
				CMSG_SPACE(sizeof(uint32_t));
	r->snd.msg_iov = r->in;
	r->snd.msg_iovlen = (size_t)nin;
	r->rcv.msg_iov = r->out;
	r->rcv.msg_iovlen = (size_t)nout;

	struct cmsghdr *cm = put_cmsg(CMSG_FIRSTHDR(&r->snd), ALG_SET_OP, sizeof(op));
	memcpy(CMSG_DATA(cm), &op, sizeof(op));
	cm = CMSG_NXTHDR(&r->snd, cm);
	if (cm == NULL)
		return SL_CRYPTO_EIO;
	put_cmsg(cm, ALG_SET_IV, sizeof(struct af_alg_iv) + iv_len);
	memcpy(CMSG_DATA(cm), &ivlen32, sizeof(ivlen32)); /* struct af_alg_iv.ivlen */
	memcpy(CMSG_DATA(cm) + offsetof(struct af_alg_iv, iv), pkt + SL_ESP_HDR_LEN, iv_len);
	cm = CMSG_NXTHDR(&r->snd, cm);
	if (cm == NULL)
		return SL_CRYPTO_EIO;
	put_cmsg(cm, ALG_SET_AEAD_ASSOCLEN, sizeof(assoclen));
	memcpy(CMSG_DATA(cm), &assoclen, sizeof(assoclen));
	return SL_CRYPTO_OK;
}

int sl_afalg_req_result(const sl_afalg_req_t *r, long snd_res, long rcv_res)
{
	if (snd_res < 0 || (size_t)snd_res != r->inlen)
		return SL_CRYPTO_EIO;
	if (rcv_res == -EBADMSG)
		return SL_CRYPTO_EAUTH; /* the request completed: socket still clean */
	if (rcv_res < 0 || (size_t)rcv_res != r->outlen)
		return SL_CRYPTO_EIO;
	return SL_CRYPTO_OK;
}

_Thread_local uint64_t sl_afalg_tally_requests, sl_afalg_tally_syscalls;

void sl_afalg_thread_tally(uint64_t *requests, uint64_t *syscalls)
{
	*requests = sl_afalg_tally_requests;
	*syscalls = sl_afalg_tally_syscalls;
}

/* The unbatched path: one sendmsg() and one recvmsg() on lane 0. */
static int afalg_do(sl_crypto_t *c, uint8_t *pkt, size_t len, uint32_t seq_hi, bool enc)
{
	afalg_t *s = c->be;
	sl_afalg_req_t r;
	ssize_t sn, rn = -1;

	int rc = sl_afalg_req_build(c, &r, pkt, len, seq_hi, enc);
	if (rc != SL_CRYPTO_OK)
		return rc;
	sl_afalg_tally_requests++;
	do
		sn = sendmsg(s->op[0], &r.snd, 0), sl_afalg_tally_syscalls++;
	while (sn < 0 && errno == EINTR);
	if (sn < 0)
		sn = -errno;
	if (sn == (ssize_t)r.inlen) {
		do
			rn = recvmsg(s->op[0], &r.rcv, 0), sl_afalg_tally_syscalls++;
		while (rn < 0 && errno == EINTR);
		if (rn < 0)
			rn = -errno;
	}
	rc = sl_afalg_req_result(&r, (long)sn, (long)rn);
	if (rc == SL_CRYPTO_EIO)
		sl_afalg_lane_reset(s, 0);
	return rc;
}

static int afalg_seal(sl_crypto_t *c, uint8_t *pkt, size_t len, uint32_t seq_hi)
{
	return afalg_do(c, pkt, len, seq_hi, true);
}

static int afalg_open(sl_crypto_t *c, uint8_t *pkt, size_t len, uint32_t seq_hi)
{
	return afalg_do(c, pkt, len, seq_hi, false);
}

static void afalg_keymat(const sl_crypto_t *c, const uint8_t **p, size_t *n)
{
	/* The key lives only in the kernel; nothing in user memory. */
	(void)c;
	*p = NULL;
	*n = 0;
}

const sl_backend_ops_t sl_afalg_ops = {
	.name = "afalg",
	.init = afalg_init,
	.seal = afalg_seal,
	.open = afalg_open,
	.fini = afalg_fini,
	.keymat = afalg_keymat,
};
