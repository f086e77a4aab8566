/*
 * test_tso.c - user-space TCP segmentation of TUN super packets: every
 * segment is a valid IPv4/IPv6 TCP packet (header and TCP checksums checked
 * here with an independent one's-complement sum), sequence numbers advance
 * by the MSS, FIN/PSH only on the last and CWR only on the first segment,
 * and the payloads concatenate to the original.  Plus partial-checksum
 * completion and malformed input.
 */
#include "engine_check.h"
#include "gro.h"
#include "pkt_build.h"
#include "tso.h"

#include <linux/virtio_net.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <string.h>

static size_t build(uint8_t *p, bool v6, size_t payload, uint8_t flags)
{
	size_t l3 = v6 ? 40 : 20, tot = l3 + 32 + payload;
	pkt_ip_header(p, v6, IPPROTO_TCP, tot, 0x1234);
	memset(p + l3, 0, 32);
	uint8_t *t = p + l3;
	t[0] = 0x9c, t[1] = 0x40, t[2] = 0x14, t[3] = 0x51;
	t[4] = 0xff, t[5] = 0xff, t[6] = 0xf0, t[7] = 0x00; /* seq wraps during the run */
	t[12] = 8 << 4; /* 32-byte header: 12 bytes of options */
	t[13] = flags;
	t[20] = 1, t[21] = 1, t[22] = 8, t[23] = 10; /* NOP NOP TS */
	for (size_t i = 0; i < payload; i++)
		p[l3 + 32 + i] = (uint8_t)(i * 13 + 7);
	return tot;
}

static void check_segments(const uint8_t *orig, size_t len, bool v6, size_t mss, uint8_t flags)
{
	size_t l3 = v6 ? 40 : 20, hdr = l3 + 32, data = len - hdr;
	size_t want = (data + mss - 1) / mss, off = 0;
	CHECK_EQ(nseg, want);
	for (int k = 0; k < nseg; k++) {
		const uint8_t *s = segs[k];
		size_t n = seglen[k], pay = n - hdr;
		CHECK_EQ(pay, k + 1 < nseg ? mss : data - off);
		CHECK(memcmp(s + hdr, orig + hdr + off, pay) == 0);
		if (v6) {
			CHECK_EQ((s[4] << 8 | s[5]), n - 40);
		} else {
			CHECK_EQ((s[2] << 8 | s[3]), n);
			CHECK_EQ((s[4] << 8 | s[5]), 0x1234 + k);
			CHECK_EQ(rfc1071(s, 20, 0), 0xffff);
		}
		CHECK_EQ(rfc1071(s + l3, n - l3, pkt_pseudo(s, v6, IPPROTO_TCP, n - l3)), 0xffff);
		const uint8_t *t = s + l3;
		uint32_t seq = (uint32_t)t[4] << 24 | (uint32_t)t[5] << 16 | (uint32_t)t[6] << 8 | t[7];
		CHECK_EQ(seq, (uint32_t)(0xfffff000u + off));
		bool last = k + 1 == nseg, first = k == 0;
		CHECK_EQ(t[13] & 0x09, last ? (flags & 0x09) : 0);
		CHECK_EQ(t[13] & 0x80, first ? (flags & 0x80) : 0);
		CHECK_EQ(t[13] & 0x10, flags & 0x10); /* ACK everywhere */
		off += pay;
	}
	CHECK_EQ(off, data);
}

static uint8_t pkt[70000];

/* GRO is TSO's inverse: segments glued back must equal the super packet
 * (modulo IP ID), and re-segmenting the glued packet must give back the
 * very same segments, checksums included. */
static uint8_t grobuf[SL_VNET_HDR_LEN + SL_GRO_MAX];
static void gro_round_trip(bool v6, size_t payload)
{
	uint8_t flags = 0x18; /* ACK PSH: PSH must end up on the last segment only */
	size_t len = build(pkt, v6, payload, flags);
	sl_vnet_t v = { .gso_type = v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4,
			.gso_size = 1000 };
	nseg = 0;
	int n = sl_tso_segment(pkt, len, &v, &seg_out);
	CHECK(n > 0);
	seg_keep();
	int n1 = nkept;
	sl_gro_t g = { .buf = grobuf };
	CHECK(sl_gro_start(&g, kept[0], keptlen[0]));
	for (int k = 1; k < n1; k++)
		CHECK(sl_gro_append(&g, kept[k], keptlen[k]));
	/* Out-of-order or foreign segments never join. */
	CHECK(!sl_gro_append(&g, kept[0], keptlen[0]));
	size_t w = sl_gro_finish(&g);
	CHECK_EQ(w, SL_VNET_HDR_LEN + len);
	uint8_t *glued = grobuf + SL_VNET_HDR_LEN;
	size_t l3 = v6 ? 40 : 20;
	CHECK(memcmp(glued + l3 + 32, pkt + l3 + 32, payload) == 0);
	CHECK(memcmp(glued + l3, pkt + l3, 14) == 0); /* ports, seq, ack, offset, flags */
	if (n1 == 1) {
		CHECK_EQ(grobuf[1], VIRTIO_NET_HDR_GSO_NONE);
		return;
	}
	sl_vnet_t gv;
	sl_vnet_parse(grobuf, &gv);
	CHECK_EQ(gv.gso_size, 1000);
	CHECK_EQ(gv.csum_start, l3);
	CHECK_EQ(gv.csum_offset, 16);
	if (!v6)
		CHECK_EQ(rfc1071(glued, 20, 0), 0xffff);
	/* CHECKSUM_PARTIAL: the field holds the folded pseudo-header sum over
	 * the full TCP length, which is what a NIC or the kernel completes. */
	uint32_t ps = pkt_pseudo(glued, v6, IPPROTO_TCP, len - l3);
	CHECK_EQ((glued[l3 + 16] << 8 | glued[l3 + 17]), rfc1071(NULL, 0, ps));
	/* Completing it must give a valid checksum over the whole packet. */
	gv.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	static uint8_t whole[70000];
	memcpy(whole, glued, len);
	CHECK_EQ(sl_csum_complete(whole, len, &gv), 0);
	CHECK_EQ(rfc1071(whole + l3, len - l3, ps), 0xffff);
	static uint8_t again[70000];
	memcpy(again, glued, len);
	nseg = 0;
	CHECK_EQ(sl_tso_segment(again, len, &gv, &seg_out), n1);
	CHECK(seg_same_as_kept());
}

static void gro_refusals(void)
{
	sl_gro_t g = { .buf = grobuf };
	size_t len = build(pkt, false, 500, 0x02); /* SYN */
	CHECK(!sl_gro_start(&g, pkt, len));
	len = build(pkt, false, 500, 0x11); /* FIN */
	CHECK(!sl_gro_start(&g, pkt, len));
	len = build(pkt, false, 0, 0x10); /* pure ACK: nothing to merge */
	CHECK(!sl_gro_start(&g, pkt, len));
	len = build(pkt, false, 500, 0x10);
	pkt[6] = 0x20; /* more fragments */
	CHECK(!sl_gro_start(&g, pkt, len));
	/* Different window, shorter-then-longer, different address: no merge. */
	len = build(pkt, false, 4000, 0x10);
	sl_vnet_t v = { .gso_type = VIRTIO_NET_HDR_GSO_TCPV4, .gso_size = 1000 };
	nseg = 0;
	sl_tso_segment(pkt, len, &v, &seg_out);
	CHECK(sl_gro_start(&g, segs[0], seglen[0]));
	segs[1][20 + 15] ^= 1; /* window */
	CHECK(!sl_gro_append(&g, segs[1], seglen[1]));
	segs[1][20 + 15] ^= 1;
	segs[1][19] ^= 1; /* destination */
	CHECK(!sl_gro_append(&g, segs[1], seglen[1]));
	segs[1][19] ^= 1;
	CHECK(sl_gro_append(&g, segs[1], seglen[1]));
	CHECK(!sl_gro_append(&g, segs[3], seglen[3])); /* gap in sequence numbers */
	sl_gro_finish(&g);
}

/* The worker's write_tun() loop over a burst of decrypted packets: each
 * output is what one TUN write would carry. */
static uint8_t outs[64][SL_VNET_HDR_LEN + SL_GRO_MAX];
static size_t outlen[64];
static int nsegs_of[64], nout;

static void emit_train(sl_gro_t *g)
{
	int n_in = g->nseg;
	size_t n = sl_gro_finish(g);
	if (n) {
		memcpy(outs[nout], g->buf, n);
		outlen[nout] = n;
		nsegs_of[nout++] = n_in;
	}
}

static void write_burst(uint8_t (*p)[SEG_CAP], const size_t *len, int n)
{
	sl_gro_t g = { .buf = grobuf };
	nout = 0;
	for (int i = 0; i < n; i++) {
		if (sl_gro_append(&g, p[i], len[i]))
			continue;
		emit_train(&g);
		if (sl_gro_start(&g, p[i], len[i]))
			continue;
		memset(outs[nout], 0, SL_VNET_HDR_LEN);
		memcpy(outs[nout] + SL_VNET_HDR_LEN, p[i], len[i]);
		outlen[nout] = SL_VNET_HDR_LEN + len[i];
		nsegs_of[nout++] = 1;
	}
	emit_train(&g);
}

/* A written packet as the receiving stack sees it: a lone one must be the
 * segment exactly as decrypted (its own checksums untouched), a merged one
 * must have a complete, valid checksum after the kernel fills it in. */
static bool written_csum_valid(int k, bool v6)
{
	size_t l3 = v6 ? 40 : 20, len = outlen[k] - SL_VNET_HDR_LEN;
	static uint8_t w[SL_GRO_MAX];
	memcpy(w, outs[k] + SL_VNET_HDR_LEN, len);
	sl_vnet_t v;
	sl_vnet_parse(outs[k], &v);
	if (sl_csum_complete(w, len, &v) != 0)
		return false;
	uint32_t ps = pkt_pseudo(w, v6, IPPROTO_TCP, len - l3);
	return (v6 || rfc1071(w, 20, 0) == 0xffff) && rfc1071(w + l3, len - l3, ps) == 0xffff;
}

/* issue 16: segments whose TCP (or IPv4 header) checksum is wrong must not be
 * merged under a fresh checksum; each is written alone, unchanged, and the
 * good ones around it still merge. */
static void gro_bad_checksums(bool v6)
{
	size_t l3 = v6 ? 40 : 20;
	/* corrupt: which segment (of 8), how */
	enum { PAYLOAD, CSUM_FIELD, IP_HEADER };
	struct { int seg, how; } cases[] = {
		{ 0, PAYLOAD }, { 3, PAYLOAD }, { 7, PAYLOAD }, { 1, CSUM_FIELD }, { 5, IP_HEADER },
	};
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		if (v6 && cases[c].how == IP_HEADER)
			continue; /* IPv6 has no header checksum */
		size_t len = build(pkt, v6, 8000, 0x10);
		sl_vnet_t v = { .gso_type = v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4,
				.gso_size = 1000 };
		nseg = 0;
		CHECK_EQ(sl_tso_segment(pkt, len, &v, &seg_out), 8);
		int bad = cases[c].seg;
		if (cases[c].how == PAYLOAD)
			segs[bad][seglen[bad] - 100] ^= 0x40; /* a flipped bit in transit */
		else if (cases[c].how == CSUM_FIELD)
			segs[bad][l3 + 17] ^= 0x01;
		else
			segs[bad][8] -= 1; /* TTL changed, header checksum not updated */
		static uint8_t corrupted[SEG_CAP];
		memcpy(corrupted, segs[bad], seglen[bad]);
		write_burst(segs, seglen, 8);
		int total = 0, alone = -1;
		for (int k = 0; k < nout; k++) {
			total += nsegs_of[k];
			if (outlen[k] == SL_VNET_HDR_LEN + seglen[bad] &&
			    memcmp(outs[k] + SL_VNET_HDR_LEN, corrupted, seglen[bad]) == 0)
				alone = k;
			else
				CHECK(written_csum_valid(k, v6));
		}
		CHECK_EQ(total, 8);
		CHECK(alone >= 0);
		if (alone < 0)
			continue;
		/* Written alone behind a plain header, its checksum still wrong. */
		CHECK_EQ(nsegs_of[alone], 1);
		CHECK_EQ(outs[alone][0], 0);
		CHECK_EQ(outs[alone][1], VIRTIO_NET_HDR_GSO_NONE);
		CHECK(!written_csum_valid(alone, v6));
		/* The good segments before and after it still merged. */
		CHECK_EQ(nout, 1 + (bad > 0) + (bad < 7));
		if (bad > 0)
			CHECK_EQ(nsegs_of[0], bad);
		if (bad < 7)
			CHECK_EQ(nsegs_of[nout - 1], 7 - bad);
	}
	/* All good: one train of eight. */
	size_t len = build(pkt, v6, 8000, 0x10);
	sl_vnet_t v = { .gso_type = v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4,
			.gso_size = 1000 };
	nseg = 0;
	sl_tso_segment(pkt, len, &v, &seg_out);
	write_burst(segs, seglen, 8);
	CHECK_EQ(nout, 1);
	CHECK_EQ(nsegs_of[0], 8);
	CHECK(written_csum_valid(0, v6));
}

int main(void)
{
	for (int v6 = 0; v6 < 2; v6++) {
		size_t sizes[] = { 1, 1348, 1349, 5000, 65000 };
		for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			uint8_t flags = 0x10 | 0x08 | 0x01 | 0x80; /* ACK PSH FIN CWR */
			size_t len = build(pkt, v6, sizes[i], flags);
			sl_vnet_t v = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
					.gso_type = v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4,
					.gso_size = 1348, .hdr_len = (uint16_t)((v6 ? 40 : 20) + 32) };
			nseg = 0;
			CHECK_EQ(sl_tso_segment(pkt, len, &v, &seg_out), (int)((sizes[i] + 1347) / 1348));
			check_segments(pkt, len, v6, 1348, flags);
		}
	}
	/* Partial checksum completion: pseudo-header sum in the field, as the kernel leaves it. */
	size_t len = build(pkt, false, 300, 0x18);
	uint32_t ps = pkt_pseudo(pkt, false, IPPROTO_TCP, len - 20);
	uint16_t folded = rfc1071(NULL, 0, ps);
	pkt[20 + 16] = (uint8_t)(folded >> 8);
	pkt[20 + 17] = (uint8_t)folded;
	sl_vnet_t v = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = 20, .csum_offset = 16 };
	CHECK_EQ(sl_csum_complete(pkt, len, &v), 0);
	CHECK_EQ(rfc1071(pkt + 20, len - 20, ps - (uint32_t)0), 0xffff);
	v.csum_start = (uint16_t)len;
	CHECK_EQ(sl_csum_complete(pkt, len, &v), -1);
	/* Malformed super packets are refused, not segmented. */
	len = build(pkt, false, 3000, 0x10);
	sl_vnet_t g = { .gso_type = VIRTIO_NET_HDR_GSO_TCPV4, .gso_size = 1000 };
	nseg = 0;
	CHECK_EQ(sl_tso_segment(pkt, 30, &g, &seg_out), -1);           /* truncated TCP header */
	g.gso_type = VIRTIO_NET_HDR_GSO_TCPV6;
	CHECK_EQ(sl_tso_segment(pkt, len, &g, &seg_out), -1);          /* v4 packet, v6 GSO type */
	g.gso_type = VIRTIO_NET_HDR_GSO_UDP;
	CHECK_EQ(sl_tso_segment(pkt, len, &g, &seg_out), -1);          /* UDP fragmentation offload */
	g.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
	g.gso_size = 0;
	CHECK_EQ(sl_tso_segment(pkt, len, &g, &seg_out), -1);          /* no MSS */
	pkt[9] = IPPROTO_UDP;
	g.gso_size = 1000;
	CHECK_EQ(sl_tso_segment(pkt, len, &g, &seg_out), -1);          /* not TCP */
	CHECK_EQ(nseg, 0);
	/* A header without data (pure ACK) is one segment, and is counted as one
	 * (fuzz_gro found it returned 0); a version-0 packet is not IPv6. */
	len = build(pkt, false, 0, 0x10);
	g = (sl_vnet_t){ .gso_type = VIRTIO_NET_HDR_GSO_TCPV4, .gso_size = 1000 };
	CHECK_EQ(sl_tso_segment(pkt, len, &g, &seg_out), 1);
	CHECK_EQ(nseg, 1);
	len = build(pkt, true, 100, 0x10);
	pkt[0] = 0x00;
	g.gso_type = VIRTIO_NET_HDR_GSO_TCPV6;
	CHECK_EQ(sl_tso_segment(pkt, len, &g, &seg_out), -1);
	for (int v6 = 0; v6 < 2; v6++) {
		gro_round_trip(v6, 1);
		gro_round_trip(v6, 999);
		gro_round_trip(v6, 1000);
		gro_round_trip(v6, 4321);
		gro_round_trip(v6, 60000);
	}
	gro_refusals();
	gro_bad_checksums(false);
	gro_bad_checksums(true);
	TEST_DONE("test_tso");
}
