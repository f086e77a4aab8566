/*
 * worker.c - one data-plane thread: TUN queue -> ESP -> UDP/raw, and
 * UDP/raw -> ESP -> TUN, in batches (recvmmsg/sendmmsg) with buffers
 * allocated once at start.  SA lookups take no lock: the worker is a QSBR
 * reader of the SADB snapshot (sadb.h) and announces a quiescent state
 * between batches and goes offline while it sleeps in epoll_wait.
 */
#include "engine_internal.h"
#include "esp.h"
#include "inner.h"
#include "tso.h"
#include "demux.h"
#include "gro.h"
#include "ratelimit.h"
#include "crypto_batch.h"
#include "esp_in_batch.h"

#include <linux/virtio_net.h>
#include <netinet/udp.h>

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64
/* With UDP_GRO one datagram may carry many ESP packets of one size (RFC
 * 3948 traffic from a GSO sender): buffers take the largest UDP payload. */
#define RX_BATCH 32
#define RX_BUF 65536
#define MAX_INNER 1024
#define SCRATCH (SL_VNET_HDR_LEN + 65536)

enum { TAG_TUN = 1, TAG_UDP, TAG_RAW, TAG_RAW6, TAG_STOP, TAG_TIMER };

typedef struct wstate {
	sl_engine_t *e;
	sl_wctx_t w;
	int tun, udp, rawfd, raw6fd; /* raw6fd: IPv6 outer raw ESP, -1 without */
	size_t txbuf_len;
	uint8_t *scratch;                /* one TUN read: virtio_net_hdr + up to 64 KiB */
	uint8_t *tx;                     /* BATCH slots of txbuf_len: TUN -> net */
	uint8_t *rx;                     /* BATCH buffers of RX_BUF: net -> TUN */
	int nslots;                      /* encapsulated packets waiting in tx */
	int bidx[BATCH];                 /* slot -> its seal in w.batch (when batching) */
	uint8_t *esp[BATCH];
	size_t esp_len[BATCH];
	bool raw[BATCH];
	struct sockaddr_storage dst[BATCH];
	socklen_t dst_len[BATCH];
	struct mmsghdr gmsg[BATCH];      /* one per GSO group (or packet) */
	struct iovec giov[BATCH];
	union {
		char buf[CMSG_SPACE(sizeof(uint16_t))];
		struct cmsghdr align;
	} gcmsg[BATCH];
	int gsize[BATCH];
	struct mmsghdr rmsg[RX_BATCH];
	struct iovec riov[RX_BATCH];
	struct sockaddr_storage raddr[RX_BATCH];
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} rcmsg[RX_BATCH];
	sl_gro_t gro;
	/* The received batch's ESP packets: their opens share the crypto batch
	 * (AF_ALG: io_uring rounds), run before the batch's packets go out. */
	sl_esp_rxq_t rxq;
	int nout;                        /* inner packets waiting in inner[] */
	int rcu; /* SADB reader slot */
	uint8_t *inner[MAX_INNER];
	size_t inner_len[MAX_INNER];
	sl_rate_t nosa_rate; /* SL_EV_NO_SA budget */
	/* The last outbound lookup of this batch (see lookup_out): valid until
	 * the worker's next quiescent point only, so reset per batch. */
	sl_flow_t last_flow;
	sl_sa_t *last_sa;
} wstate_t;

/* Send groups [0, ng) on fd; a refused GSO group is retried packet by packet. */
static void send_groups(wstate_t *s, int fd, int ng)
{
	int off = 0;
	while (off < ng) {
		int r = sendmmsg(fd, s->gmsg + off, (unsigned)(ng - off), 0);
		SL_CNT_INC(s->w.cnt->sys_send);
		if (r > 0) {
			SL_CNT_ADD(s->w.cnt->send_msgs, r);
			SL_CNT_MAX(s->w.cnt->send_batch_max, r);
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			struct mmsghdr *m = &s->gmsg[off];
			if (s->gsize[off] > 1 && (errno == EINVAL || errno == EIO || errno == EMSGSIZE ||
						  errno == ENOPROTOOPT)) {
				/* No UDP GSO here (or segments over the MTU): stop using it
				 * and send this group's packets one by one. */
				atomic_store(&s->e->udp_gso, false);
				for (size_t k = 0; k < m->msg_hdr.msg_iovlen; k++) {
					struct msghdr one = { .msg_name = m->msg_hdr.msg_name,
							      .msg_namelen = m->msg_hdr.msg_namelen,
							      .msg_iov = &m->msg_hdr.msg_iov[k],
							      .msg_iovlen = 1 };
					ssize_t sent = sendmsg(fd, &one, 0);
					SL_CNT_INC(s->w.cnt->sys_send);
					if (sent >= 0) {
						SL_CNT_INC(s->w.cnt->tx_packets);
						SL_CNT_ADD(s->w.cnt->tx_bytes, sent);
					} else {
						sl_esp_count_drop(&s->w, SL_DROP_TXERR);
					}
				}
			} else {
				for (int k = 0; k < s->gsize[off]; k++)
					sl_esp_count_drop(&s->w, SL_DROP_TXERR);
			}
			off++;
			continue;
		}
		for (int i = off; i < off + r; i++) {
			SL_CNT_ADD(s->w.cnt->tx_packets, s->gsize[i]);
			SL_CNT_ADD(s->w.cnt->tx_bytes, s->gmsg[i].msg_len);
		}
		off += r;
	}
}

static void group_init(wstate_t *s, int g, int first, int count, uint16_t gso)
{
	struct msghdr *h = &s->gmsg[g].msg_hdr;
	memset(h, 0, sizeof(*h));
	h->msg_name = &s->dst[first];
	h->msg_namelen = s->dst_len[first];
	h->msg_iov = &s->giov[first];
	h->msg_iovlen = (size_t)count;
	s->gsize[g] = count;
	if (count > 1) {
		/* RFC 3948 packets of one size to one peer: one UDP GSO send. */
		h->msg_control = s->gcmsg[g].buf;
		h->msg_controllen = sizeof(s->gcmsg[g].buf);
		struct cmsghdr *c = CMSG_FIRSTHDR(h);
		c->cmsg_level = SOL_UDP;
		c->cmsg_type = UDP_SEGMENT;
		c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
		memcpy(CMSG_DATA(c), &gso, sizeof(gso));
	}
}

/* Run the slots' queued seals (AF_ALG: several per syscall round) and
 * drop, counted, the slots whose seal failed. */
static int seal_slots(wstate_t *s)
{
	sl_crypto_batch_t *b = s->w.batch;
	int n = s->nslots, keep = 0;
	if (b == NULL)
		return n;
	sl_crypto_batch_run(b);
	for (int i = 0; i < n; i++) {
		if (sl_crypto_batch_result(b, s->bidx[i]) != SL_CRYPTO_OK) {
			sl_esp_count_drop(&s->w, SL_DROP_TXERR);
			continue;
		}
		if (keep != i) {
			s->esp[keep] = s->esp[i];
			s->esp_len[keep] = s->esp_len[i];
			s->raw[keep] = s->raw[i];
			memcpy(&s->dst[keep], &s->dst[i], s->dst_len[i]);
			s->dst_len[keep] = s->dst_len[i];
		}
		keep++;
	}
	sl_crypto_batch_clear(b);
	return keep;
}

/* Send every encapsulated packet waiting in the slots (no lock held). */
static void flush(wstate_t *s)
{
	int n = seal_slots(s), ng = 0;
	bool gso = atomic_load_explicit(&s->e->udp_gso, memory_order_relaxed);
	for (int i = 0; i < n; i++) {
		s->giov[i].iov_base = s->esp[i];
		s->giov[i].iov_len = s->esp_len[i];
	}
	/* UDP: group runs to the same destination where every packet but the
	 * last has the first one's size (the UDP_SEGMENT contract). */
	for (int i = 0; i < n;) {
		if (s->raw[i]) {
			i++;
			continue;
		}
		int j = i + 1;
		size_t total = s->esp_len[i];
		while (gso && j < n && j - i < 64 && !s->raw[j] && s->esp_len[j - 1] == s->esp_len[i] &&
		       s->esp_len[j] <= s->esp_len[i] && total + s->esp_len[j] <= 65000 &&
		       s->dst_len[j] == s->dst_len[i] && memcmp(&s->dst[j], &s->dst[i], s->dst_len[i]) == 0) {
			total += s->esp_len[j];
			j++;
		}
		/* A group must be contiguous in the iov array: it is (slots i..j-1). */
		group_init(s, ng++, i, j - i, (uint16_t)s->esp_len[i]);
		i = j;
	}
	if (ng)
		send_groups(s, s->udp, ng);
	/* Raw ESP: one message per packet, on the raw socket of the
	 * destination's family (the SA was refused when we have none). */
	for (int fam = 0; fam < 2; fam++) {
		int fd = fam ? s->raw6fd : s->rawfd;
		sa_family_t want = fam ? AF_INET6 : AF_INET;
		ng = 0;
		for (int i = 0; i < n; i++)
			if (s->raw[i] && s->dst[i].ss_family == want)
				group_init(s, ng++, i, 1, 0);
		if (ng && fd >= 0)
			send_groups(s, fd, ng);
	}
	s->nslots = 0;
}

/* Tell the owner an outbound packet found no SA (within this worker's budget). */
static void report_no_sa(wstate_t *s, const sl_flow_t *f)
{
	const sl_sink_t *sink = s->w.sink;
	if (sink == NULL || sink->event == NULL)
		return;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	if (!sl_rate_allow(&s->nosa_rate, (uint64_t)ts.tv_sec, SL_NOSA_EVENTS_PER_SEC))
		return;
	sl_event_t ev = { .type = SL_EV_NO_SA, .proto = f->proto };
	size_t alen = sl_family_addr_len(f->family);
	ev.src.family = ev.dst.family = f->family;
	memcpy(ev.src.addr, f->src, alen);
	memcpy(ev.dst.addr, f->dst, alen);
	ev.src.port = f->sport;
	ev.dst.port = f->dport;
	sink->event(sink->ctx, &ev);
}

static bool same_flow(const sl_flow_t *a, const sl_flow_t *b)
{
	return a->family == b->family && a->proto == b->proto && a->sport == b->sport &&
	       a->dport == b->dport && memcmp(a->src, b->src, sl_family_addr_len(a->family)) == 0 &&
	       memcmp(a->dst, b->dst, sl_family_addr_len(a->family)) == 0;
}

/* The segments of one TCP/UDP super packet (and the packets of one flow in
 * a batch) share their flow and so their SA: look it up once.  The SA
 * pointer stays valid until our next quiescent point (sadb.h), hence the
 * reset per batch; one turned dead meanwhile is looked up again (the
 * lookup skips dead SAs).  An SA installed mid-batch takes over from the
 * next batch on, as it would for packets already read. */
static sl_sa_t *lookup_out(wstate_t *s, const sl_flow_t *f)
{
	if (s->last_sa && !atomic_load_explicit(&s->last_sa->dead, memory_order_relaxed) &&
	    same_flow(f, &s->last_flow))
		return s->last_sa;
	sl_sa_t *sa = sl_sadb_lookup_out(&s->e->db, f);
	s->last_sa = sa;
	if (sa)
		s->last_flow = *f;
	return sa;
}

/* Encapsulate the inner packet in slot k (len bytes at HEADROOM). */
static bool encap_slot(wstate_t *s, int k, size_t len)
{
	uint8_t *b = s->tx + (size_t)k * s->txbuf_len;
	sl_flow_t f;
	long ilen = sl_inner_parse(b + SL_ESP_HEADROOM, len, 0, &f);
	if (ilen < 0) {
		sl_esp_count_drop(&s->w, SL_DROP_MALFORMED);
		return false;
	}
	sl_sa_t *sa = lookup_out(s, &f);
	sl_drop_t why = SL_DROP_NOSA;
	if (sa) {
		why = sl_esp_encap(&s->w, sa, b, s->txbuf_len, (size_t)ilen,
				   f.family == AF_INET ? IPPROTO_IPIP : IPPROTO_IPV6, &s->esp[k], &s->esp_len[k]);
		if (why == SL_OK) {
			/* Copy the destination: the slot may be rewritten after our
			 * next quiescent point (sl_sadb_set_remote). */
			const sl_sa_dest_t *d = sl_sa_dest(sa);
			s->raw[k] = sa->encap == SL_ENCAP_NONE;
			if (s->w.batch != NULL)
				s->bidx[k] = (int)sl_crypto_batch_len(s->w.batch) - 1;
			memcpy(&s->dst[k], &d->ss, d->len);
			s->dst_len[k] = d->len;
		}
	}
	if (why != SL_OK) {
		sl_esp_count_drop(&s->w, why);
		/* The kernel's own link-scoped IPv6 (router solicitations, MLD
		 * reports on the TUN) never has an SA nor a policy: counted, but
		 * no event to the owner for it. */
		if (sa == NULL && !sl_flow_link_scoped(&f))
			report_no_sa(s, &f);
		return false;
	}
	return true;
}

static uint8_t *slot_get(void *ctx, size_t *cap)
{
	wstate_t *s = ctx;
	if (s->nslots == BATCH)
		flush(s);
	*cap = s->txbuf_len - SL_ESP_HEADROOM - SL_ESP_TAILROOM;
	return s->tx + (size_t)s->nslots * s->txbuf_len + SL_ESP_HEADROOM;
}

static void slot_commit(void *ctx, size_t len)
{
	wstate_t *s = ctx;
	SL_CNT_INC(s->w.cnt->tun_rx_packets);
	if (encap_slot(s, s->nslots, len))
		s->nslots++;
}

/* TUN -> network.  Returns the number of reads (0 = queue empty). */
static int tun_batch(wstate_t *s)
{
	const sl_tso_out_t out = { .get = slot_get, .commit = slot_commit, .ctx = s };
	int reads = 0;
	s->last_sa = NULL; /* a quiescent point may have passed since the last batch */
	for (; reads < BATCH; reads++) {
		ssize_t r = read(s->tun, s->scratch, SCRATCH);
		SL_CNT_INC(s->w.cnt->sys_tun_read);
		if (r <= 0)
			break;
		sl_vnet_t v;
		if (r < SL_VNET_HDR_LEN) {
			sl_esp_count_drop(&s->w, SL_DROP_MALFORMED);
			continue;
		}
		sl_vnet_parse(s->scratch, &v);
		uint8_t *pkt = s->scratch + SL_VNET_HDR_LEN;
		size_t len = (size_t)r - SL_VNET_HDR_LEN;
		if (v.gso_type != VIRTIO_NET_HDR_GSO_NONE) {
			if (sl_tso_segment(pkt, len, &v, &out) < 0)
				sl_esp_count_drop(&s->w, SL_DROP_MALFORMED);
			continue;
		}
		size_t cap;
		uint8_t *dst = slot_get(s, &cap);
		if (len > cap || sl_csum_complete(pkt, len, &v) != 0) {
			sl_esp_count_drop(&s->w, SL_DROP_MALFORMED);
			continue;
		}
		memcpy(dst, pkt, len);
		slot_commit(s, len);
	}
	if (s->nslots)
		flush(s);
	return reads;
}

static void write_tun(wstate_t *s, int n);

/* An authentic inner packet (rxq's deliver): written to the TUN with the
 * rest of the batch.  Pointers are into rx buffers, not SA memory. */
static void deliver_inner(void *ctx, uint8_t *inner, size_t len)
{
	wstate_t *s = ctx;
	if (s->nout == MAX_INNER) {
		write_tun(s, s->nout);
		s->nout = 0;
	}
	s->inner[s->nout] = inner;
	s->inner_len[s->nout] = len;
	s->nout++;
}

static void classify_udp(wstate_t *s, uint8_t *p, size_t len, const sl_endpoint_t *from)
{
	sl_engine_t *e = s->e;
	switch (sl_udp_demux(p, len)) {
	case SL_UDP_KEEPALIVE:
		SL_CNT_INC(s->w.cnt->keepalives_rx);
		return;
	case SL_UDP_IKE:
		if (e->sink.ike) {
			SL_CNT_INC(s->w.cnt->ike_rx);
			e->sink.ike(e->sink.ctx, p + SL_NON_ESP_MARKER, len - SL_NON_ESP_MARKER, from);
		} else {
			sl_esp_count_drop(&s->w, SL_DROP_MALFORMED);
		}
		return;
	case SL_UDP_MALFORMED:
		sl_esp_count_drop(&s->w, SL_DROP_MALFORMED);
		return;
	case SL_UDP_ESP:
		break;
	}
	sl_esp_rxq_add(&s->rxq, SL_ENCAP_UDP, p, len, from);
}

static void tun_write1(wstate_t *s, const uint8_t *buf, size_t len, int segs)
{
	SL_CNT_INC(s->w.cnt->sys_tun_write);
	if (write(s->tun, buf, len) == (ssize_t)len)
		SL_CNT_ADD(s->w.cnt->tun_tx_packets, segs);
	else
		sl_esp_count_drop(&s->w, SL_DROP_TXERR);
}

static void gro_flush(wstate_t *s)
{
	int segs = s->gro.nseg;
	size_t n = sl_gro_finish(&s->gro);
	if (n)
		tun_write1(s, s->gro.buf, n, segs);
}

static void write_tun(wstate_t *s, int n)
{
	for (int i = 0; i < n; i++) {
		if (sl_gro_append(&s->gro, s->inner[i], s->inner_len[i]))
			continue;
		gro_flush(s);
		if (sl_gro_start(&s->gro, s->inner[i], s->inner_len[i]))
			continue;
		/* Not TCP bulk data: one plain packet behind a zero virtio
		 * header (checksums verified by the stack as usual). */
		static const uint8_t vnet0[SL_VNET_HDR_LEN];
		struct iovec iov[2] = { { (void *)vnet0, sizeof(vnet0) },
					{ s->inner[i], s->inner_len[i] } };
		SL_CNT_INC(s->w.cnt->sys_tun_write);
		if (writev(s->tun, iov, 2) == (ssize_t)(sizeof(vnet0) + s->inner_len[i]))
			SL_CNT_INC(s->w.cnt->tun_tx_packets);
		else
			sl_esp_count_drop(&s->w, SL_DROP_TXERR);
	}
	gro_flush(s);
}

static void prep_rx(wstate_t *s)
{
	for (int i = 0; i < RX_BATCH; i++) {
		s->riov[i].iov_base = s->rx + (size_t)i * RX_BUF;
		s->riov[i].iov_len = RX_BUF;
		memset(&s->rmsg[i].msg_hdr, 0, sizeof(s->rmsg[i].msg_hdr));
		s->rmsg[i].msg_hdr.msg_name = &s->raddr[i];
		s->rmsg[i].msg_hdr.msg_namelen = sizeof(s->raddr[i]);
		s->rmsg[i].msg_hdr.msg_iov = &s->riov[i];
		s->rmsg[i].msg_hdr.msg_iovlen = 1;
		s->rmsg[i].msg_hdr.msg_control = s->rcmsg[i].buf;
		s->rmsg[i].msg_hdr.msg_controllen = sizeof(s->rcmsg[i].buf);
	}
}

/* Network -> TUN for the UDP socket (raw = 0) or a raw ESP socket of
 * family raw (AF_INET or AF_INET6). */
static int net_batch(wstate_t *s, int fd, int raw)
{
	prep_rx(s);
	int n = recvmmsg(fd, s->rmsg, RX_BATCH, MSG_DONTWAIT, NULL);
	SL_CNT_INC(s->w.cnt->sys_recv);
	if (n <= 0)
		return 0;
	SL_CNT_ADD(s->w.cnt->recv_msgs, n);
	SL_CNT_MAX(s->w.cnt->recv_batch_max, n);
	s->nout = 0;
	for (int i = 0; i < n; i++) {
		struct msghdr *h = &s->rmsg[i].msg_hdr;
		uint8_t *p = s->rx + (size_t)i * RX_BUF;
		size_t len = s->rmsg[i].msg_len;
		SL_CNT_ADD(s->w.cnt->rx_bytes, len);
		sl_endpoint_t from;
		if ((h->msg_flags & MSG_TRUNC) ||
		    sl_endpoint_from_sockaddr(&from, (struct sockaddr *)&s->raddr[i], h->msg_namelen) != 0) {
			sl_esp_count_drop(&s->w, SL_DROP_MALFORMED);
			continue;
		}
		if (!raw) {
			/* UDP_GRO: equal-size datagrams glued together, split them again. */
			size_t seg = len;
			for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c; c = CMSG_NXTHDR(h, c)) {
				if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO &&
				    c->cmsg_len >= CMSG_LEN(sizeof(int))) {
					int g;
					memcpy(&g, CMSG_DATA(c), sizeof(g));
					if (g > 0)
						seg = (size_t)g;
				}
			}
			for (size_t off = 0; off < len; off += seg) {
				size_t l = len - off < seg ? len - off : seg;
				SL_CNT_INC(s->w.cnt->rx_packets);
				classify_udp(s, p + off, l, &from);
			}
			continue;
		}
		SL_CNT_INC(s->w.cnt->rx_packets);
		/* Raw IPv4 sockets deliver the IP header, ESP starts after it; raw
		 * IPv6 sockets deliver from the ESP header on (RFC 3542 §3). */
		size_t ihl = 0;
		if (raw == AF_INET) {
			ihl = len ? (size_t)(p[0] & 0x0f) * 4 : 0;
			if (len < 20 || ihl < 20 || ihl > len) {
				sl_esp_count_drop(&s->w, SL_DROP_MALFORMED);
				continue;
			}
		}
		from.port = 0;
		sl_esp_rxq_add(&s->rxq, SL_ENCAP_NONE, p + ihl, len - ihl, &from);
	}
	/* The batch's opens, then the inner packets to the TUN (the SA
	 * pointers the queue holds are valid until our next quiescent point). */
	sl_esp_rxq_flush(&s->rxq);
	write_tun(s, s->nout);
	s->nout = 0;
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
	if (s)
		s->rcu = -1;
	int ep = epoll_create1(EPOLL_CLOEXEC);
	if (!s || ep < 0)
		goto out;
	s->e = e;
	s->w = (sl_wctx_t){ .worker = me->idx, .cnt = &e->cnt[me->idx], .sink = &e->sink,
			    .reap = &e->reap };
	s->tun = e->tun_fd[me->idx];
	s->udp = e->udp_q[me->idx];
	s->rawfd = e->raw_q[me->idx];
	s->raw6fd = e->raw6_q[me->idx];
	s->txbuf_len = ((size_t)e->cfg.mtu + SL_ESP_HEADROOM + SL_ESP_TAILROOM + 63) & ~(size_t)63;
	s->tx = malloc(s->txbuf_len * BATCH);
	s->scratch = malloc(SCRATCH);
	s->gro.buf = malloc(SL_VNET_HDR_LEN + SL_GRO_MAX);
	/* UDP trains toward the TUN only where the kernel takes GSO_UDP_L4. */
	s->gro.udp = e->uso;
	s->rx = malloc((size_t)RX_BUF * RX_BATCH);
	/* Seals, and the opens of a received batch, go through a crypto batch:
	 * AF_ALG ones share syscall rounds, OpenSSL ones run when queued as
	 * before.  Without one (out of memory) each runs at once.  The two
	 * directions take turns (each runs and clears it before returning). */
	s->w.batch = sl_crypto_batch_new(BATCH);
	/* Crypto's per-thread memory now, not at the first packet. */
	sl_crypto_thread_prepare();
	_Static_assert(BATCH >= SL_ESP_RXQ_LEN, "a received batch's opens fit the crypto batch");
	s->rxq = (sl_esp_rxq_t){ .w = &s->w, .db = &e->db, .batch = s->w.batch, .deliver = deliver_inner,
				 .ctx = s };
	if (!s->tx || !s->rx || !s->scratch || !s->gro.buf)
		goto out;
	/* Each worker owns its TUN queue and its UDP socket. */
	add_fd(ep, s->tun, TAG_TUN, 0);
	add_fd(ep, s->udp, TAG_UDP, 0);
	/* Raw ESP: our own sockets (one per family), which the kernel filter
	 * gives our SPIs only (sl_raw_esp_steer). */
	if (s->rawfd >= 0)
		add_fd(ep, s->rawfd, TAG_RAW, 0);
	if (s->raw6fd >= 0)
		add_fd(ep, s->raw6fd, TAG_RAW6, 0);
	add_fd(ep, e->stop_fd, TAG_STOP, 0);
	if (me->idx == 0)
		add_fd(ep, e->timer_fd, TAG_TIMER, 0);
	s->rcu = sl_sadb_reader_register(&e->db);
	if (s->rcu < 0)
		goto out; /* more threads than reader slots: cannot happen with SL_MAX_WORKERS */
	for (;;) {
		struct epoll_event evs[8];
		/* Asleep we hold no SA: writers need not wait for us. */
		sl_sadb_offline(&e->db, s->rcu);
		int n = epoll_wait(ep, evs, 8, -1);
		sl_sadb_online(&e->db, s->rcu);
		if (n < 0 && errno != EINTR)
			break;
		bool stop = false;
		for (int i = 0; i < n; i++) {
			switch (evs[i].data.u32) {
			case TAG_TUN:
				/* Bounded rounds so one direction cannot starve the other. */
				for (int r = 0; r < 8 && tun_batch(s) == BATCH; r++)
					sl_sadb_quiescent(&e->db, s->rcu);
				break;
			case TAG_UDP:
				for (int r = 0; r < 8 && net_batch(s, s->udp, 0) == RX_BATCH; r++)
					sl_sadb_quiescent(&e->db, s->rcu);
				break;
			case TAG_RAW:
				for (int r = 0; r < 8 && net_batch(s, s->rawfd, AF_INET) == RX_BATCH; r++)
					sl_sadb_quiescent(&e->db, s->rcu);
				break;
			case TAG_RAW6:
				for (int r = 0; r < 8 && net_batch(s, s->raw6fd, AF_INET6) == RX_BATCH; r++)
					sl_sadb_quiescent(&e->db, s->rcu);
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
			sl_sadb_quiescent(&e->db, s->rcu);
		}
		/* This thread's AF_ALG tally, for sitelinkctl sas's syscalls per packet. */
		uint64_t areq, asys;
		sl_afalg_thread_tally(&areq, &asys);
		atomic_store_explicit(&s->w.cnt->afalg_requests, areq, memory_order_relaxed);
		atomic_store_explicit(&s->w.cnt->afalg_syscalls, asys, memory_order_relaxed);
		if (stop)
			break;
		/* Outside any batch: a dead SA's keys are wiped here once every other
		 * worker has passed a quiescent point (we are offline meanwhile, so it
		 * does not wait for us).  Rare: once per SA death. */
		if (atomic_load_explicit(&e->reap, memory_order_relaxed) && atomic_exchange(&e->reap, false)) {
			sl_sadb_offline(&e->db, s->rcu);
			sl_sadb_reap(&e->db);
		}
	}
out:
	if (s && s->rcu >= 0)
		sl_sadb_reader_unregister(&e->db, s->rcu);
	if (ep >= 0)
		close(ep);
	if (s) {
		free(s->tx);
		free(s->scratch);
		free(s->gro.buf);
		free(s->rx);
		sl_crypto_batch_free(s->w.batch);
		free(s);
	}
	return NULL;
}
