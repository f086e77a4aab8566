/* engine.c - engine lifecycle and the owner-facing control calls. */
#include "engine_internal.h"
#include "sock.h"
#include "tun.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

int sl_engine_workers(const sl_engine_t *e)
{
	return e->nworkers;
}

static int dst_family(const sl_engine_t *e, uint8_t encap, uint8_t remote_family)
{
	/* Raw ESP goes through the raw socket of the remote's own family (see
	 * sl_raw_esp_open); UDP through the shared socket, which takes IPv4 as
	 * v4-mapped when it is an IPv6 one (dual stack). */
	return encap == SL_ENCAP_NONE ? remote_family : e->udp_family;
}

/* Why an SA towards `remote` cannot be carried, or NULL when it can. */
static const char *remote_unusable(const sl_engine_t *e, uint8_t encap, const sl_endpoint_t *remote)
{
	if (encap == SL_ENCAP_NONE && remote->family == AF_INET6 && e->raw_fd >= 0 && e->raw6_q[0] < 0)
		return "encap 'none' (raw ESP) to an IPv6 remote needs an IPv6 raw socket, which this kernel refused; use 'udp'";
	if (encap != SL_ENCAP_NONE && remote->family == AF_INET6 && e->udp_family != AF_INET6)
		return "an IPv6 remote needs the engine's UDP socket on an IPv6 address (listen '::' for both families)";
	return NULL;
}

int sl_engine_open(sl_engine_t **out, const sl_engine_cfg_t *cfg, const sl_sink_t *sink,
		   char *err, size_t errlen)
{
	if (cfg->workers < 1 || cfg->workers > SL_MAX_WORKERS) {
		snprintf(err, errlen, "workers must be 1..%d", SL_MAX_WORKERS);
		return -1;
	}
	if (cfg->mtu < 576 || cfg->mtu > 9000) {
		snprintf(err, errlen, "mtu must be 576..9000");
		return -1;
	}
	sl_engine_t *e = calloc(1, sizeof(*e));
	if (!e) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	e->cfg = *cfg;
	if (sink)
		e->sink = *sink;
	e->nworkers = cfg->workers;
	e->udp_fd = e->raw_fd = e->stop_fd = e->timer_fd = -1;
	for (int i = 0; i < SL_MAX_WORKERS; i++)
		e->tun_fd[i] = e->udp_q[i] = e->raw_q[i] = e->raw6_q[i] = -1;
	pthread_mutex_init(&e->ka_lock, NULL);
	if (sl_sadb_init(&e->db) != 0) {
		snprintf(err, errlen, "SADB init failed");
		goto fail;
	}
	e->db_ready = true;
	e->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	e->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (e->stop_fd < 0 || e->timer_fd < 0) {
		snprintf(err, errlen, "eventfd/timerfd: %s", strerror(errno));
		goto fail;
	}
	struct itimerspec its = { .it_interval = { 1, 0 }, .it_value = { 1, 0 } };
	timerfd_settime(e->timer_fd, 0, &its, NULL);
	sl_endpoint_t bind_to = cfg->listen;
	for (int i = 0; i < e->nworkers; i++) {
		e->udp_q[i] = sl_udp_open(&bind_to, cfg->sockbuf, e->nworkers > 1, err, errlen);
		if (e->udp_q[i] < 0)
			goto fail;
		if (i == 0 && bind_to.port == 0) {
			/* Ephemeral port (tests): the other queues join the one we got. */
			struct sockaddr_storage ss;
			socklen_t sl = sizeof(ss);
			if (getsockname(e->udp_q[0], (struct sockaddr *)&ss, &sl) == 0)
				sl_endpoint_from_sockaddr(&bind_to, (struct sockaddr *)&ss, sl);
			bind_to.family = cfg->listen.family;
			memcpy(bind_to.addr, cfg->listen.addr, sizeof(bind_to.addr));
		}
	}
	e->udp_fd = e->udp_q[0];
	e->udp_family = cfg->listen.family;
	if (cfg->raw_esp) {
		for (int i = 0; i < e->nworkers; i++) {
			e->raw_q[i] = sl_raw_esp_open(AF_INET, cfg->sockbuf, err, errlen);
			if (e->raw_q[i] < 0)
				goto fail;
			if (sl_raw_esp_steer(e->raw_q[i], AF_INET, (unsigned)i, (unsigned)e->nworkers) != 0) {
				snprintf(err, errlen, "raw ESP steering filter: %s", strerror(errno));
				goto fail;
			}
			/* IPv6 outer addresses: a second socket; a kernel without IPv6
			 * (EAFNOSUPPORT) runs IPv4 only and says so per SA. */
			e->raw6_q[i] = sl_raw_esp_open(AF_INET6, cfg->sockbuf, err, errlen);
			if (e->raw6_q[i] < 0 && errno != EAFNOSUPPORT)
				goto fail;
			if (e->raw6_q[i] >= 0 &&
			    sl_raw_esp_steer(e->raw6_q[i], AF_INET6, (unsigned)i, (unsigned)e->nworkers) != 0) {
				snprintf(err, errlen, "raw ESP (IPv6) steering filter: %s", strerror(errno));
				goto fail;
			}
		}
		if (e->raw6_q[0] < 0)
			for (int i = 1; i < e->nworkers; i++)
				if (e->raw6_q[i] >= 0) {
					/* All or none: an SA's worker must have the socket. */
					close(e->raw6_q[i]);
					e->raw6_q[i] = -1;
				}
		err[0] = '\0';
		e->raw_fd = e->raw_q[0];
	}
	if (sl_tun_open(cfg->tun, e->nworkers, cfg->mtu, e->tun_fd, err, errlen) != 0)
		goto fail;
	if (sl_tun_offload(e->tun_fd, e->nworkers, &e->tso, &e->uso) != 0) {
		snprintf(err, errlen, "TUN virtio header: %s", strerror(errno));
		goto fail;
	}
	atomic_store(&e->udp_gso, true);
	for (int i = 0; i < e->nworkers; i++) {
		e->w[i] = (sl_worker_t){ .e = e, .idx = i };
		if (pthread_create(&e->w[i].thread, NULL, sl_worker_main, &e->w[i]) != 0) {
			snprintf(err, errlen, "pthread_create failed");
			goto fail;
		}
		e->w[i].started = true;
	}
	*out = e;
	return 0;
fail:
	sl_engine_close(e);
	return -1;
}

void sl_engine_close(sl_engine_t *e)
{
	if (!e)
		return;
	if (e->stop_fd >= 0) {
		uint64_t one = 1;
		if (write(e->stop_fd, &one, sizeof(one)) < 0) {
			/* eventfd write only fails on overflow; the workers see it anyway */
		}
	}
	for (int i = 0; i < e->nworkers; i++)
		if (e->w[i].started)
			pthread_join(e->w[i].thread, NULL);
	for (int i = 0; i < SL_MAX_WORKERS; i++)
		if (e->tun_fd[i] >= 0)
			close(e->tun_fd[i]);
	for (int i = 0; i < SL_MAX_WORKERS; i++)
		if (e->udp_q[i] >= 0)
			close(e->udp_q[i]);
	for (int i = 0; i < SL_MAX_WORKERS; i++) {
		if (e->raw_q[i] >= 0)
			close(e->raw_q[i]);
		if (e->raw6_q[i] >= 0)
			close(e->raw6_q[i]);
	}
	int fds[] = { e->stop_fd, e->timer_fd };
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (fds[i] >= 0)
			close(fds[i]);
	if (e->db_ready)
		sl_sadb_destroy(&e->db); /* wipes every SA's keys */
	pthread_mutex_destroy(&e->ka_lock);
	free(e);
}

int sl_engine_add_sa(sl_engine_t *e, const sl_sa_spec_t *spec, char *err, size_t errlen)
{
	sl_sa_t *sa = sl_sa_new(spec, e->nworkers, err, errlen);
	if (!sa)
		return -1;
	if (spec->encap == SL_ENCAP_NONE && e->raw_fd < 0 && spec->dir == SL_DIR_OUT) {
		snprintf(err, errlen, "encap 'none' needs the engine opened with rawEsp");
		sl_sa_free(sa);
		return -1;
	}
	const char *why = remote_unusable(e, spec->encap, &spec->remote);
	if (why) {
		snprintf(err, errlen, "%s", why);
		sl_sa_free(sa);
		return -1;
	}
	if (sl_sa_set_remote(sa, &spec->remote, dst_family(e, spec->encap, spec->remote.family)) != 0) {
		snprintf(err, errlen, "remote address family does not fit the socket");
		sl_sa_free(sa);
		return -1;
	}
	int rc = sl_sadb_add(&e->db, sa);
	if (rc != 0) {
		snprintf(err, errlen, rc == -1 ? "SA with this SPI and direction exists" : "out of memory");
		sl_sa_free(sa);
		return -1;
	}
	return 0;
}

int sl_engine_update_remote(sl_engine_t *e, uint32_t spi, uint8_t dir, const sl_endpoint_t *remote)
{
	sl_sadb_lock(&e->db);
	sl_sa_t *sa = sl_sadb_find(&e->db, spi, dir);
	int fam = sa ? dst_family(e, sa->encap, remote->family) : 0;
	bool unusable = sa && remote_unusable(e, sa->encap, remote) != NULL;
	sl_sadb_unlock(&e->db);
	if (!sa)
		return -1;
	if (unusable)
		return -2;
	return sl_sadb_set_remote(&e->db, spi, dir, remote, fam);
}

int sl_engine_set_bypass(sl_engine_t *e, const sl_selector_t *sels, size_t n)
{
	return sl_sadb_set_bypass(&e->db, sels, n) == 0 ? 0 : -1;
}

int sl_engine_del_sa(sl_engine_t *e, uint32_t spi, uint8_t dir)
{
	return sl_sadb_del(&e->db, spi, dir);
}

int sl_engine_sa_status(sl_engine_t *e, uint32_t spi, uint8_t dir, sl_sa_status_t *st)
{
	memset(st, 0, sizeof(*st));
	sl_sadb_lock(&e->db);
	sl_sa_t *sa = sl_sadb_find(&e->db, spi, dir);
	if (!sa) {
		sl_sadb_unlock(&e->db);
		return -1;
	}
	st->spi = sa->spi;
	st->reqid = sa->reqid;
	st->dir = sa->dir;
	st->encap = sa->encap;
	st->esn = sa->esn;
	st->dead = atomic_load(&sa->dead);
	snprintf(st->algorithm, sizeof(st->algorithm), "%s", sa->alg_name);
	st->keys_wiped = atomic_load(&sa->keys_wiped);
	/* The cached names: ctx[] is gone once a dead SA's keys are wiped. */
	snprintf(st->backend, sizeof(st->backend), "%s", sa->backend_name);
	snprintf(st->driver, sizeof(st->driver), "%s", sa->driver);
	st->probe = sa->probe;
	if (sa->probe.done)
		sl_probe_choose(&sa->probe.afalg, &sa->probe.openssl, st->probe_reason, sizeof(st->probe_reason));
	st->seq = sl_sa_seq(sa);
	if (st->seq > sa->seq_max)
		st->seq = sa->seq_max;
	sl_sa_counts_t c = sl_sa_counts(sa); /* summed over the workers' blocks */
	st->packets = c.packets;
	st->bytes = c.bytes;
	st->drops_replay = c.drops_replay;
	st->drops_icv = c.drops_icv;
	st->drops_malformed = c.drops_malformed;
	st->drops_padding = c.drops_padding;
	st->local = sa->local;
	st->remote = sl_sa_remote(sa);
	sl_sadb_unlock(&e->db);
	return 0;
}

size_t sl_engine_list(sl_engine_t *e, uint32_t *spis, uint8_t *dirs, size_t max)
{
	size_t n = 0;
	sl_sadb_lock(&e->db);
	for (size_t b = 0; b < SL_SADB_BUCKETS; b++) {
		for (int d = 0; d < 2; d++) {
			for (sl_sa_t *sa = d ? e->db.out[b] : e->db.in[b]; sa; sa = sa->next) {
				if (n < max) {
					spis[n] = sa->spi;
					dirs[n] = sa->dir;
				}
				n++;
			}
		}
	}
	sl_sadb_unlock(&e->db);
	return n;
}

int sl_engine_send_ike(sl_engine_t *e, const uint8_t *msg, size_t len, const sl_endpoint_t *to)
{
	struct sockaddr_storage ss;
	socklen_t sl = sl_endpoint_to_sockaddr(to, e->udp_family, &ss);
	if (sl == 0 || len == 0 || len > 65000)
		return -1;
	/* RFC 3948 §2.2: IKE on the ESP port starts with a 4-byte zero non-ESP marker. */
	static const uint8_t marker[4] = { 0, 0, 0, 0 };
	struct iovec iov[2] = { { (void *)marker, 4 }, { (void *)msg, len } };
	struct msghdr mh = { .msg_name = &ss, .msg_namelen = sl, .msg_iov = iov, .msg_iovlen = 2 };
	if (sendmsg(e->udp_fd, &mh, 0) < 0)
		return -1;
	SL_CNT_INC(e->cnt[SL_MAX_WORKERS].ike_tx);
	return 0;
}

int sl_engine_set_keepalive(sl_engine_t *e, const sl_endpoint_t *to, unsigned seconds)
{
	int rc = 0;
	pthread_mutex_lock(&e->ka_lock);
	int i;
	for (i = 0; i < e->nka; i++)
		if (sl_endpoint_eq(&e->ka[i].to, to))
			break;
	if (seconds == 0) {
		if (i < e->nka)
			e->ka[i] = e->ka[--e->nka];
	} else if (i < e->nka) {
		e->ka[i].interval = e->ka[i].left = seconds;
	} else if (e->nka < SL_MAX_KEEPALIVES) {
		e->ka[e->nka++] = (sl_keepalive_t){ .to = *to, .interval = seconds, .left = seconds };
	} else {
		rc = -1;
	}
	pthread_mutex_unlock(&e->ka_lock);
	return rc;
}

void sl_keepalive_tick(sl_engine_t *e, sl_counters_t *cnt)
{
	/* RFC 3948 §2.3: a NAT-keepalive is a single 0xFF byte. */
	static const uint8_t ka = 0xff;
	pthread_mutex_lock(&e->ka_lock);
	for (int i = 0; i < e->nka; i++) {
		if (--e->ka[i].left > 0)
			continue;
		e->ka[i].left = e->ka[i].interval;
		struct sockaddr_storage ss;
		socklen_t sl = sl_endpoint_to_sockaddr(&e->ka[i].to, e->udp_family, &ss);
		if (sl && sendto(e->udp_fd, &ka, 1, MSG_DONTWAIT, (struct sockaddr *)&ss, sl) == 1)
			SL_CNT_INC(cnt->keepalives_tx);
	}
	pthread_mutex_unlock(&e->ka_lock);
}

void sl_engine_counters(sl_engine_t *e, sl_counter_totals_t *t)
{
	memset(t, 0, sizeof(*t));
	for (int i = 0; i <= SL_MAX_WORKERS; i++) {
		sl_counters_t *c = &e->cnt[i];
		t->rx_packets += SL_CNT_GET(c->rx_packets);
		t->tx_packets += SL_CNT_GET(c->tx_packets);
		t->tun_rx_packets += SL_CNT_GET(c->tun_rx_packets);
		t->tun_tx_packets += SL_CNT_GET(c->tun_tx_packets);
		t->rx_bytes += SL_CNT_GET(c->rx_bytes);
		t->tx_bytes += SL_CNT_GET(c->tx_bytes);
		t->ike_rx += SL_CNT_GET(c->ike_rx);
		t->ike_tx += SL_CNT_GET(c->ike_tx);
		t->keepalives_rx += SL_CNT_GET(c->keepalives_rx);
		t->keepalives_tx += SL_CNT_GET(c->keepalives_tx);
		for (int d = 0; d < SL_DROP__COUNT; d++)
			t->drops[d] += SL_CNT_GET(c->drops[d]);
		t->sys_tun_read += SL_CNT_GET(c->sys_tun_read);
		t->sys_tun_write += SL_CNT_GET(c->sys_tun_write);
		t->sys_recv += SL_CNT_GET(c->sys_recv);
		t->sys_send += SL_CNT_GET(c->sys_send);
		t->recv_msgs += SL_CNT_GET(c->recv_msgs);
		t->send_msgs += SL_CNT_GET(c->send_msgs);
		t->afalg_requests += SL_CNT_GET(c->afalg_requests);
		t->afalg_syscalls += SL_CNT_GET(c->afalg_syscalls);
		if (SL_CNT_GET(c->recv_batch_max) > t->recv_batch_max)
			t->recv_batch_max = SL_CNT_GET(c->recv_batch_max);
		if (SL_CNT_GET(c->send_batch_max) > t->send_batch_max)
			t->send_batch_max = SL_CNT_GET(c->send_batch_max);
	}
}
