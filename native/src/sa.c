/* sa.c - SA creation (crypto contexts, replay window, per-worker blocks), destruction, readers. */
#include "sa.h"

#include <netinet/in.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

sl_sa_t *sl_sa_new(const sl_sa_spec_t *spec, int nctx, char *err, size_t errlen)
{
	sl_alg_t alg;
	size_t ek, ak;
	if (nctx < 1 || nctx > SL_MAX_WORKERS) {
		snprintf(err, errlen, "bad worker count %d", nctx);
		return NULL;
	}
	if (!spec->algorithm || sl_alg_parse(spec->algorithm, &alg, &ek, &ak) != 0) {
		snprintf(err, errlen, "unknown algorithm");
		return NULL;
	}
	if (spec->enc_key_len != ek || spec->auth_key_len != ak) {
		snprintf(err, errlen, "%s needs a %zu-byte encryption key and a %zu-byte auth key",
			 spec->algorithm, ek, ak);
		return NULL;
	}
	/* RFC 4303 §2.1: SPI 0 is reserved; 1..255 are reserved by IANA. */
	if (spec->spi < 256) {
		snprintf(err, errlen, "SPI %u is reserved", spec->spi);
		return NULL;
	}
	/* One allocation: the SA and its per-worker blocks, cache-line aligned
	 * so no block shares a line with another worker's or the SA's own. */
	size_t size = (sizeof(sl_sa_t) + (size_t)nctx * sizeof(sl_sa_worker_t) + 63) & ~(size_t)63;
	sl_sa_t *sa = aligned_alloc(64, size);
	if (!sa) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	memset(sa, 0, size);
	sa->alloc_size = size;
	sa->nworkers = nctx;
	sa->seq_chunk = SL_SEQ_SPAN / (uint32_t)nctx ? SL_SEQ_SPAN / (uint32_t)nctx : 1;
	atomic_init(&sa->remote_gen, 1); /* the workers' copies start at 0: stale */
	sa->spi = spec->spi;
	sa->dir = spec->dir;
	sa->encap = spec->encap;
	sa->esn = spec->esn;
	sa->reqid = spec->reqid;
	sa->alg = alg;
	snprintf(sa->alg_name, sizeof(sa->alg_name), "%s", spec->algorithm);
	sa->local = spec->local;
	sa->remote = spec->remote;
	sa->soft_bytes = spec->soft_bytes;
	sa->hard_bytes = spec->hard_bytes;
	sa->soft_packets = spec->soft_packets;
	sa->hard_packets = spec->hard_packets;
	sa->limited = spec->soft_bytes || spec->hard_bytes || spec->soft_packets || spec->hard_packets;
	sa->seq_max = spec->esn ? UINT64_MAX : UINT32_MAX;
	sa->seq_warn = sa->seq_max - SL_SEQ_OVERFLOW_MARGIN;
	pthread_spin_init(&sa->remote_lock, PTHREAD_PROCESS_PRIVATE);
	if (sl_replay_init(&sa->replay, spec->dir == SL_DIR_IN ? spec->replay_window : 0) != 0) {
		snprintf(err, errlen, "bad replay window %u (max %u)", spec->replay_window,
			 SL_REPLAY_MAX_WINDOW);
		goto fail;
	}
	if (spec->nselectors) {
		sa->sels = calloc(spec->nselectors, sizeof(sl_selector_t));
		if (!sa->sels) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		memcpy(sa->sels, spec->selectors, spec->nselectors * sizeof(sl_selector_t));
		sa->nsels = spec->nselectors;
	}
	sl_crypto_params_t p = {
		.alg = alg,
		.enc_key = spec->enc_key,
		.enc_key_len = spec->enc_key_len,
		.auth_key = spec->auth_key,
		.auth_key_len = spec->auth_key_len,
		.esn = spec->esn,
		/* An outbound SA only seals, an inbound one only opens. */
		.use = spec->dir == SL_DIR_OUT ? SL_CRYPTO_USE_SEAL : SL_CRYPTO_USE_OPEN,
	};
	sl_backend_t backend = spec->backend;
	if (backend == SL_BACKEND_AUTO) {
		/* By measurement, not by preference (probe.c). */
		sl_crypto_probe(alg, spec->enc_key_len, spec->auth_key_len, spec->esn, spec->dir == SL_DIR_IN,
				&sa->probe);
		backend = sa->probe.choice;
	}
	for (int i = 0; i < nctx; i++) {
		int rc = sl_crypto_new(&sa->ctx[i], &p, backend, err, errlen);
		if (rc != SL_CRYPTO_OK && spec->backend == SL_BACKEND_AUTO && backend == SL_BACKEND_AFALG) {
			/* AF_ALG refused (descriptor budget, ...): auto means OpenSSL then, for
			 * every worker of the SA alike. */
			for (int k = 0; k < sa->nctx; k++)
				sl_crypto_free(sa->ctx[k]);
			sa->nctx = 0;
			backend = SL_BACKEND_OPENSSL;
			i = -1;
			continue;
		}
		if (rc != SL_CRYPTO_OK)
			goto fail;
		sa->nctx = i + 1;
	}
	sa->iv_len = sl_crypto_iv_len(sa->ctx[0]);
	sa->icv_len = sl_crypto_icv_len(sa->ctx[0]);
	sa->block = sl_crypto_block_size(sa->ctx[0]);
	snprintf(sa->backend_name, sizeof(sa->backend_name), "%s", sl_crypto_backend_name(sa->ctx[0]));
	const char *drv = sl_crypto_driver(sa->ctx[0]);
	snprintf(sa->driver, sizeof(sa->driver), "%s", drv ? drv : "");
	if (sa->block < 4 || sa->block > 64 || (sa->block & (sa->block - 1)) || sa->iv_len > 16 ||
	    sa->icv_len > 32) {
		snprintf(err, errlen, "crypto backend reported unusable sizes");
		goto fail;
	}
	return sa;
fail:
	sl_sa_free(sa);
	return NULL;
}

void sl_sa_free(sl_sa_t *sa)
{
	if (!sa)
		return;
	for (int i = 0; i < sa->nctx; i++)
		sl_crypto_free(sa->ctx[i]);
	sl_replay_free(&sa->replay);
	free(sa->sels);
	pthread_spin_destroy(&sa->remote_lock);
	sl_wipe(sa, sa->alloc_size);
	free(sa);
}

void sl_sa_wipe_keys(sl_sa_t *sa)
{
	/* RFC 4301 §4.4.2.1: once the hard lifetime is reached the SA must not be
	 * used again, so there is no reason to keep its keys in memory until the
	 * owner gets round to deleting it. */
	for (int i = 0; i < sa->nctx; i++) {
		sl_crypto_free(sa->ctx[i]);
		sa->ctx[i] = NULL;
	}
	sa->nctx = 0;
	atomic_store(&sa->keys_wiped, true);
}

int sl_sa_set_remote(sl_sa_t *sa, const sl_endpoint_t *remote, int sock_family)
{
	struct sockaddr_storage ss;
	socklen_t len = 0;
	if (sock_family) {
		len = sl_endpoint_to_sockaddr(remote, sock_family, &ss);
		if (len == 0 || len > sizeof(sa->dests[0].ss))
			return -1;
		/* A raw IPv6 socket reads sin6_port as the protocol (0 or its
		 * own, 50: RFC 3542 §3.1) and refuses anything else; raw ESP has
		 * no port. */
		if (sa->encap == SL_ENCAP_NONE && ss.ss_family == AF_INET6)
			((struct sockaddr_in6 *)&ss)->sin6_port = 0;
	}
	pthread_spin_lock(&sa->remote_lock);
	sa->remote = *remote;
	atomic_fetch_add(&sa->remote_gen, 1);
	pthread_spin_unlock(&sa->remote_lock);
	if (len) {
		int spare = (atomic_load(&sa->cur_dest) & 1) ^ 1;
		memcpy(&sa->dests[spare].ss, &ss, len);
		sa->dests[spare].len = len;
		atomic_store_explicit(&sa->cur_dest, spare, memory_order_release);
	}
	return 0;
}

uint64_t sl_sa_seq(sl_sa_t *sa)
{
	if (sa->dir != SL_DIR_OUT)
		return sl_replay_top(&sa->replay);
	uint64_t top = 0;
	for (int i = 0; i < sa->nworkers; i++) {
		uint64_t s = SL_CNT_GET(sa->w[i].seq_sent);
		if (s > top)
			top = s;
	}
	return top;
}

sl_sa_counts_t sl_sa_counts(const sl_sa_t *sa)
{
	sl_sa_counts_t c = { 0 };
	for (int i = 0; i < sa->nworkers; i++) {
		const sl_sa_worker_t *w = &sa->w[i];
		c.packets += SL_CNT_GET(w->packets);
		c.bytes += SL_CNT_GET(w->bytes);
		c.drops_replay += SL_CNT_GET(w->drops_replay);
		c.drops_icv += SL_CNT_GET(w->drops_icv);
		c.drops_malformed += SL_CNT_GET(w->drops_malformed);
		c.drops_padding += SL_CNT_GET(w->drops_padding);
	}
	return c;
}

sl_endpoint_t sl_sa_remote(sl_sa_t *sa)
{
	pthread_spin_lock(&sa->remote_lock);
	sl_endpoint_t r = sa->remote;
	pthread_spin_unlock(&sa->remote_lock);
	return r;
}
