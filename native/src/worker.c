/*
 * worker.c - one data-plane thread: TUN queue -> ESP -> UDP/raw, and
 * UDP/raw -> ESP -> TUN, in batches (recvmmsg/sendmmsg) with buffers
 * allocated once at start.  The SADB read lock is held per batch, never
 * across a syscall.
 */
#include "engine_internal.h"
#include "esp.h"
#include "inner.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define BATCH 64
#define RX_BUF 16384 /* largest datagram accepted (IKE messages included) */

enum { TAG_TUN = 1, TAG_UDP, TAG_RAW, TAG_STOP, TAG_TIMER };

typedef struct wstate {
	sl_engine_t *e;
	sl_wctx_t w;
	int tun, udp;
	size_t txbuf_len;
	uint8_t *tx;                     /* BATCH buffers of txbuf_len: TUN -> net */
	uint8_t *rx;                     /* BATCH buffers of RX_BUF: net -> TUN */
	struct mmsghdr omsg[BATCH], rmsg[BATCH];
	struct iovec oiov[BATCH], riov[BATCH];
	struct sockaddr_storage oaddr[BATCH], raddr[BATCH];
	struct mmsghdr raw_msg[BATCH];
	struct iovec raw_iov[BATCH];
	struct sockaddr_storage raw_addr[BATCH];
	uint8_t *inner[BATCH];
	size_t inner_len[BATCH];
} wstate_t;

static void send_all(wstate_t *s, int fd, struct mmsghdr *m, int n)
{
	int off = 0;
	while (off < n) {
		int r = sendmmsg(fd, m + off, (unsigned)(n - off), 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			/* Skip the message the kernel refused (e.g. no route) and go on. */
			sl_esp_count_drop(&s->w, SL_DROP_TXERR);
			off++;
			continue;
		}
		for (int i = off; i < off + r; i++)
			SL_CNT_ADD(s->w.cnt->tx_bytes, m[i].msg_len);
		SL_CNT_ADD(s->w.cnt->tx_packets, r);
		off += r;
	}
}

/* TUN -> network. Returns the number of packets read (0 = queue empty). */
static int tun_batch(wstate_t *s)
{
	sl_engine_t *e = s->e;
	size_t room = s->txbuf_len - SL_ESP_HEADROOM - SL_ESP_TAILROOM;
	int nread = 0, nudp = 0, nraw = 0;
	ssize_t lens[BATCH];
	for (; nread < BATCH; nread++) {
		uint8_t *b = s->tx + (size_t)nread * s->txbuf_len;
		ssize_t r = read(s->tun, b + SL_ESP_HEADROOM, room);
		if (r <= 0)
			break;
		lens[nread] = r;
	}
	if (nread == 0)
		return 0;
	SL_CNT_ADD(s->w.cnt->tun_rx_packets, nread);
	sl_sadb_rdlock(&e->db);
	for (int i = 0; i < nread; i++) {
		uint8_t *b = s->tx + (size_t)i * s->txbuf_len;
		sl_flow_t f;
		long ilen = sl_inner_parse(b + SL_ESP_HEADROOM, (size_t)lens[i], 0, &f);
		if (ilen < 0) {
			sl_esp_count_drop(&s->w, SL_DROP_MALFORMED);
			continue;
		}
		sl_sa_t *sa = sl_sadb_lookup_out(&e->db, &f);
		if (!sa) {
			sl_esp_count_drop(&s->w, SL_DROP_NOSA);
			continue;
		}
		uint8_t *esp;
		size_t esp_len;
		sl_drop_t why = sl_esp_encap(&s->w, sa, b, s->txbuf_len, (size_t)ilen,
					     f.family == AF_INET ? IPPROTO_IPIP : IPPROTO_IPV6, &esp,
					     &esp_len);
		if (why != SL_OK) {
			sl_esp_count_drop(&s->w, why);
			continue;
		}
		bool raw = sa->encap == SL_ENCAP_NONE;
		int k = raw ? nraw++ : nudp++;
		struct mmsghdr *m = raw ? &s->raw_msg[k] : &s->omsg[k];
		struct iovec *iov = raw ? &s->raw_iov[k] : &s->oiov[k];
		struct sockaddr_storage *a = raw ? &s->raw_addr[k] : &s->oaddr[k];
		/* Copy the destination: the SA may change once the lock is dropped. */
		memcpy(a, &sa->dst, sa->dst_len);
		iov->iov_base = esp;
		iov->iov_len = esp_len;
		memset(&m->msg_hdr, 0, sizeof(m->msg_hdr));
		m->msg_hdr.msg_name = a;
		m->msg_hdr.msg_namelen = sa->dst_len;
		m->msg_hdr.msg_iov = iov;
		m->msg_hdr.msg_iovlen = 1;
	}
	sl_sadb_unlock(&e->db);
	if (nudp)
		send_all(s, s->udp, s->omsg, nudp);
	if (nraw && e->raw_fd >= 0)
		send_all(s, e->raw_fd, s->raw_msg, nraw);
	return nread;
}

static void classify_udp(wstate_t *s, uint8_t *p, size_t len, const sl_endpoint_t *from, int *nout)
{
	sl_engine_t *e = s->e;
	/* RFC 3948 §2.2/§2.3: 0xFF alone is a keepalive, a zero first word marks IKE. */
	if (len == 1 && p[0] == 0xff) {
		SL_CNT_INC(s->w.cnt->keepalives_rx);
		return;
	}
	if (len >= 4 && p[0] == 0 && p[1] == 0 && p[2] == 0 && p[3] == 0) {
		if (len > 4 && e->sink.ike) {
			SL_CNT_INC(s->w.cnt->ike_rx);
			e->sink.ike(e->sink.ctx, p + 4, len - 4, from);
		} else {
			sl_esp_count_drop(&s->w, SL_DROP_MALFORMED);
		}
		return;
	}
	uint8_t *inner;
	size_t ilen;
	sl_drop_t why = sl_esp_decap(&s->w, &e->db, SL_ENCAP_UDP, p, len, from, &inner, &ilen);
	if (why != SL_OK) {
		sl_esp_count_drop(&s->w, why);
		return;
	}
	if (ilen) {
		s->inner[*nout] = inner;
		s->inner_len[*nout] = ilen;
		(*nout)++;
	}
}

static void write_tun(wstate_t *s, int n)
{
	for (int i = 0; i < n; i++) {
		if (write(s->tun, s->inner[i], s->inner_len[i]) == (ssize_t)s->inner_len[i])
			SL_CNT_INC(s->w.cnt->tun_tx_packets);
		else
			sl_esp_count_drop(&s->w, SL_DROP_TXERR);
	}
}

static void prep_rx(wstate_t *s)
{
	for (int i = 0; i < BATCH; i++) {
		s->riov[i].iov_base = s->rx + (size_t)i * RX_BUF;
		s->riov[i].iov_len = RX_BUF;
		memset(&s->rmsg[i].msg_hdr, 0, sizeof(s->rmsg[i].msg_hdr));
		s->rmsg[i].msg_hdr.msg_name = &s->raddr[i];
		s->rmsg[i].msg_hdr.msg_namelen = sizeof(s->raddr[i]);
		s->rmsg[i].msg_hdr.msg_iov = &s->riov[i];
		s->rmsg[i].msg_hdr.msg_iovlen = 1;
	}
}

/* Network -> TUN for the UDP socket (raw = false) or the raw ESP socket. */
static int net_batch(wstate_t *s, int fd, bool raw)
{
	prep_rx(s);
	int n = recvmmsg(fd, s->rmsg, BATCH, MSG_DONTWAIT, NULL);
	if (n <= 0)
		return 0;
	int nout = 0;
	sl_sadb_rdlock(&s->e->db);
	for (int i = 0; i < n; i++) {
		struct msghdr *h = &s->rmsg[i].msg_hdr;
		uint8_t *p = s->rx + (size_t)i * RX_BUF;
		size_t len = s->rmsg[i].msg_len;
		SL_CNT_INC(s->w.cnt->rx_packets);
		SL_CNT_ADD(s->w.cnt->rx_bytes, len);
		sl_endpoint_t from;
		if ((h->msg_flags & MSG_TRUNC) ||
		    sl_endpoint_from_sockaddr(&from, (struct sockaddr *)&s->raddr[i], h->msg_namelen) != 0) {
			sl_esp_count_drop(&s->w, SL_DROP_MALFORMED);
			continue;
		}
		if (!raw) {
			classify_udp(s, p, len, &from, &nout);
			continue;
		}
		/* Raw IPv4 sockets deliver the IP header; ESP starts after it. */
		size_t ihl = len ? (size_t)(p[0] & 0x0f) * 4 : 0;
		if (len < 20 || ihl < 20 || ihl > len) {
			sl_esp_count_drop(&s->w, SL_DROP_MALFORMED);
			continue;
		}
		from.port = 0;
		uint8_t *inner;
		size_t ilen;
		sl_drop_t why = sl_esp_decap(&s->w, &s->e->db, SL_ENCAP_NONE, p + ihl, len - ihl,
					     &from, &inner, &ilen);
		if (why != SL_OK)
			sl_esp_count_drop(&s->w, why);
		else if (ilen) {
			s->inner[nout] = inner;
			s->inner_len[nout] = ilen;
			nout++;
		}
	}
	sl_sadb_unlock(&s->e->db);
	write_tun(s, nout);
	return n;
}

static int add_fd(int ep, int fd, uint32_t tag, uint32_t flags)
{
	struct epoll_event ev = { .events = EPOLLIN | flags, .data.u32 = tag };
	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

void *sl_worker_main(void *arg)
{
	sl_worker_t *me = arg;
	sl_engine_t *e = me->e;
	wstate_t *s = calloc(1, sizeof(*s));
	int ep = epoll_create1(EPOLL_CLOEXEC);
	if (!s || ep < 0)
		goto out;
	s->e = e;
	s->w = (sl_wctx_t){ .worker = me->idx, .cnt = &e->cnt[me->idx], .sink = &e->sink };
	s->tun = e->tun_fd[me->idx];
	s->udp = e->udp_q[me->idx];
	s->txbuf_len = ((size_t)e->cfg.mtu + SL_ESP_HEADROOM + SL_ESP_TAILROOM + 63) & ~(size_t)63;
	s->tx = malloc(s->txbuf_len * BATCH);
	s->rx = malloc((size_t)RX_BUF * BATCH);
	if (!s->tx || !s->rx)
		goto out;
	/* Each worker owns its TUN queue and its UDP socket. */
	add_fd(ep, s->tun, TAG_TUN, 0);
	add_fd(ep, s->udp, TAG_UDP, 0);
	/* One reader for raw ESP: several would reorder packets inside an SA. */
	if (e->raw_fd >= 0 && me->idx == 0)
		add_fd(ep, e->raw_fd, TAG_RAW, 0);
	add_fd(ep, e->stop_fd, TAG_STOP, 0);
	if (me->idx == 0)
		add_fd(ep, e->timer_fd, TAG_TIMER, 0);
	for (;;) {
		struct epoll_event evs[8];
		int n = epoll_wait(ep, evs, 8, -1);
		if (n < 0 && errno != EINTR)
			break;
		bool stop = false;
		for (int i = 0; i < n; i++) {
			switch (evs[i].data.u32) {
			case TAG_TUN:
				/* Bounded rounds so one direction cannot starve the other. */
				for (int r = 0; r < 8 && tun_batch(s) == BATCH; r++)
					;
				break;
			case TAG_UDP:
				for (int r = 0; r < 8 && net_batch(s, s->udp, false) == BATCH; r++)
					;
				break;
			case TAG_RAW:
				for (int r = 0; r < 8 && net_batch(s, e->raw_fd, true) == BATCH; r++)
					;
				break;
			case TAG_TIMER: {
				uint64_t ticks;
				if (read(e->timer_fd, &ticks, sizeof(ticks)) == sizeof(ticks))
					sl_keepalive_tick(e, s->w.cnt);
				break;
			}
			case TAG_STOP:
				stop = true;
				break;
			}
		}
		if (stop)
			break;
	}
out:
	if (ep >= 0)
		close(ep);
	if (s) {
		free(s->tx);
		free(s->rx);
		free(s);
	}
	return NULL;
}
