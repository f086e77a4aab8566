/*
 * test_uso.c - UDP segmentation of TUN super packets (uso.c) and UDP GRO of
 * decrypted datagrams toward the TUN (gro.c with udp set), checked with an
 * independent one's-complement sum:
 *  - every datagram USO makes is a valid IPv4/IPv6 UDP packet (header
 *    checksum, UDP length, UDP checksum over the pseudo-header, RFC 768),
 *    payloads of gso_size (the last shorter), concatenating to the original,
 *    for odd sizes and a payload of one byte and of nothing;
 *  - GRO is USO's inverse: the datagrams glued back carry a GSO_UDP_L4
 *    header whose partial checksum completes to a valid one, and cutting the
 *    glued packet again gives the same datagrams byte for byte;
 *  - refusals: truncated/optioned/non-UDP super packets; GRO never merges a
 *    datagram with a bad or absent (IPv4 zero) checksum, another flow, a
 *    longer one after a shorter one, nor anything UDP while udp is unset.
 */
#include "engine_check.h"
#include "gro.h"
#include "pkt_build.h"
#include "tso.h"

#include <linux/virtio_net.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <string.h>

static bool udp_valid(const uint8_t *p, size_t len, bool v6)
{
	size_t l3 = v6 ? 40 : 20;
	if (len < l3 + 8)
		return false;
	if (v6 ? (size_t)(p[4] << 8 | p[5]) + 40 != len
	       : ((size_t)(p[2] << 8 | p[3]) != len || rfc1071(p, 20, 0) != 0xffff))
		return false;
	const uint8_t *u = p + l3;
	return (size_t)(u[4] << 8 | u[5]) == len - l3 && (u[6] | u[7]) != 0 &&
	       rfc1071(u, len - l3, pkt_pseudo(p, v6, IPPROTO_UDP, len - l3)) == 0xffff;
}

/* A super packet as the kernel hands it: headers for the whole train, the
 * UDP checksum field holding only the pseudo-header sum (NEEDS_CSUM). */
static size_t build(uint8_t *p, bool v6, size_t payload)
{
	size_t l3 = v6 ? 40 : 20, tot = l3 + 8 + payload;
	pkt_ip_header(p, v6, IPPROTO_UDP, tot, 0xfffe); /* IDs wrap during the train */
	if (!v6)
		p[6] = 0x40; /* DF */
	memset(p + l3, 0, 8);
	uint8_t *u = p + l3;
	u[0] = 0x11, u[1] = 0x5c, u[2] = 0x12, u[3] = 0x34;
	u[4] = (uint8_t)((tot - l3) >> 8);
	u[5] = (uint8_t)(tot - l3);
	uint16_t ps = rfc1071(NULL, 0, pkt_pseudo(p, v6, IPPROTO_UDP, tot - l3));
	u[6] = (uint8_t)(ps >> 8);
	u[7] = (uint8_t)ps;
	for (size_t i = 0; i < payload; i++)
		p[l3 + 8 + i] = (uint8_t)(i * 31 + 3);
	return tot;
}

static uint8_t pkt[70000];
static uint8_t grobuf[SL_VNET_HDR_LEN + SL_GRO_MAX];

static sl_vnet_t uso_hdr(bool v6, size_t mss)
{
	return (sl_vnet_t){ .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .gso_type = VIRTIO_NET_HDR_GSO_UDP_L4,
			    .gso_size = (uint16_t)mss, .hdr_len = (uint16_t)((v6 ? 40 : 20) + 8),
			    .csum_start = (uint16_t)(v6 ? 40 : 20), .csum_offset = 6 };
}

static void segment_check(bool v6, size_t payload, size_t mss)
{
	size_t len = build(pkt, v6, payload), l3 = v6 ? 40 : 20;
	sl_vnet_t v = uso_hdr(v6, mss);
	nseg = 0;
	size_t want = payload ? (payload + mss - 1) / mss : 1;
	/* Through the TSO entry point, as the worker calls it. */
	CHECK_EQ(sl_tso_segment(pkt, len, &v, &seg_out), want);
	CHECK_EQ(nseg, want);
	size_t off = 0;
	for (int k = 0; k < nseg; k++) {
		size_t pay = seglen[k] - l3 - 8;
		CHECK_EQ(pay, k + 1 < nseg ? mss : payload - off);
		CHECK(udp_valid(segs[k], seglen[k], v6));
		CHECK(memcmp(segs[k] + l3 + 8, pkt + l3 + 8 + off, pay) == 0);
		CHECK(memcmp(segs[k] + l3, pkt + l3, 4) == 0); /* ports */
		if (!v6)
			CHECK_EQ((segs[k][4] << 8 | segs[k][5]), (uint16_t)(0xfffe + k));
		off += pay;
	}
	CHECK_EQ(off, payload);
}

static void round_trip(bool v6, size_t payload, size_t mss)
{
	size_t len = build(pkt, v6, payload), l3 = v6 ? 40 : 20;
	sl_vnet_t v = uso_hdr(v6, mss);
	nseg = 0;
	CHECK(sl_uso_segment(pkt, len, &v, &seg_out) > 0);
	seg_keep();
	int n = nkept;
	sl_gro_t g = { .buf = grobuf, .udp = true };
	CHECK(sl_gro_start(&g, kept[0], keptlen[0]));
	for (int k = 1; k < n; k++)
		CHECK(sl_gro_append(&g, kept[k], keptlen[k]));
	size_t w = sl_gro_finish(&g);
	CHECK_EQ(w, SL_VNET_HDR_LEN + len);
	uint8_t *glued = grobuf + SL_VNET_HDR_LEN;
	CHECK(memcmp(glued + l3 + 8, pkt + l3 + 8, payload) == 0);
	if (n == 1) {
		/* A lone datagram is written exactly as it came. */
		CHECK_EQ(grobuf[1], VIRTIO_NET_HDR_GSO_NONE);
		CHECK(memcmp(glued, kept[0], keptlen[0]) == 0);
		return;
	}
	sl_vnet_t gv;
	sl_vnet_parse(grobuf, &gv);
	CHECK_EQ(gv.gso_type, VIRTIO_NET_HDR_GSO_UDP_L4);
	CHECK_EQ(gv.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	CHECK_EQ(gv.gso_size, mss);
	CHECK_EQ(gv.hdr_len, l3 + 8);
	CHECK_EQ(gv.csum_start, l3);
	CHECK_EQ(gv.csum_offset, 6);
	CHECK_EQ((glued[l3 + 4] << 8 | glued[l3 + 5]), len - l3);
	if (!v6)
		CHECK_EQ(rfc1071(glued, 20, 0), 0xffff);
	CHECK_EQ((glued[l3 + 6] << 8 | glued[l3 + 7]), rfc1071(NULL, 0, pkt_pseudo(glued, v6, IPPROTO_UDP, len - l3)));
	static uint8_t whole[70000];
	memcpy(whole, glued, len);
	CHECK_EQ(sl_csum_complete(whole, len, &gv), 0);
	CHECK(udp_valid(whole, len, v6));
	/* Cut again: the same datagrams, checksums included. */
	nseg = 0;
	CHECK_EQ(sl_tso_segment(glued, len, &gv, &seg_out), n);
	CHECK(seg_same_as_kept());
}

static void refusals(void)
{
	sl_vnet_t v = uso_hdr(false, 500);
	size_t len = build(pkt, false, 3000);
	nseg = 0;
	CHECK_EQ(sl_uso_segment(pkt, 27, &v, &seg_out), -1);  /* truncated UDP header */
	CHECK_EQ(sl_uso_segment(pkt, 19, &v, &seg_out), -1);  /* truncated IP header */
	CHECK_EQ(sl_uso_segment(pkt, 0, &v, &seg_out), -1);
	v.gso_size = 0;
	CHECK_EQ(sl_uso_segment(pkt, len, &v, &seg_out), -1); /* no segment size */
	v.gso_size = 500;
	pkt[0] = 0x46; /* IP options */
	CHECK_EQ(sl_uso_segment(pkt, len, &v, &seg_out), -1);
	pkt[0] = 0x45;
	pkt[9] = IPPROTO_TCP;
	CHECK_EQ(sl_uso_segment(pkt, len, &v, &seg_out), -1); /* not UDP */
	len = build(pkt, true, 3000);
	pkt[6] = 0; /* hop-by-hop extension header */
	CHECK_EQ(sl_uso_segment(pkt, len, &v, &seg_out), -1);
	pkt[0] = 0x00;
	CHECK_EQ(sl_uso_segment(pkt, len, &v, &seg_out), -1); /* neither version */
	CHECK_EQ(nseg, 0);
	/* A segment buffer too small for a datagram: refused, nothing committed. */
	len = build(pkt, false, 3000);
	v.gso_size = SEG_CAP;
	CHECK_EQ(sl_uso_segment(pkt, len, &v, &seg_out), -1);
	CHECK_EQ(nseg, 0);
}

/* Datagrams of one flow cut at 1000 bytes: n of them in segs[]. */
static int datagrams(bool v6, size_t payload)
{
	size_t len = build(pkt, v6, payload);
	sl_vnet_t v = uso_hdr(v6, 1000);
	nseg = 0;
	return sl_uso_segment(pkt, len, &v, &seg_out);
}

static void gro_refusals(bool v6)
{
	size_t l3 = v6 ? 40 : 20;
	sl_gro_t g = { .buf = grobuf, .udp = false };
	/* UDP trains only where the TUN took USO. */
	CHECK_EQ(datagrams(v6, 3000), 3);
	CHECK(!sl_gro_start(&g, segs[0], seglen[0]));
	g.udp = true;
	CHECK(sl_gro_start(&g, segs[0], seglen[0]));
	segs[1][l3 + 1] ^= 1; /* another source port */
	CHECK(!sl_gro_append(&g, segs[1], seglen[1]));
	segs[1][l3 + 1] ^= 1;
	segs[1][v6 ? 39 : 19] ^= 1; /* another destination */
	CHECK(!sl_gro_append(&g, segs[1], seglen[1]));
	segs[1][v6 ? 39 : 19] ^= 1;
	if (!v6) {
		segs[1][8] ^= 1; /* another TTL */
		CHECK(!sl_gro_append(&g, segs[1], seglen[1]));
		segs[1][8] ^= 1;
	}
	segs[1][seglen[1] - 7] ^= 0x20; /* a flipped payload bit: checksum wrong */
	CHECK(!sl_gro_append(&g, segs[1], seglen[1]));
	segs[1][seglen[1] - 7] ^= 0x20;
	CHECK(sl_gro_append(&g, segs[1], seglen[1]));
	CHECK_EQ(g.nseg, 2);
	sl_gro_finish(&g);

	/* A shorter datagram ends the train: a longer one cannot follow. */
	CHECK_EQ(datagrams(v6, 2999), 3);
	CHECK(sl_gro_start(&g, segs[2], seglen[2]));   /* 999 bytes */
	CHECK(!sl_gro_append(&g, segs[0], seglen[0])); /* 1000 bytes */
	sl_gro_finish(&g);
	CHECK(sl_gro_start(&g, segs[0], seglen[0]));
	CHECK(sl_gro_append(&g, segs[2], seglen[2]));
	CHECK(!sl_gro_append(&g, segs[1], seglen[1])); /* closed by the short one */
	sl_gro_finish(&g);

	/* A bad head is written alone: the train closes at its first merge. */
	CHECK_EQ(datagrams(v6, 3000), 3);
	segs[0][l3 + 8] ^= 1;
	CHECK(sl_gro_start(&g, segs[0], seglen[0]));
	CHECK(!sl_gro_append(&g, segs[1], seglen[1]));
	CHECK_EQ(sl_gro_finish(&g), SL_VNET_HDR_LEN + seglen[0]);
	CHECK_EQ(grobuf[1], VIRTIO_NET_HDR_GSO_NONE);
	CHECK(memcmp(grobuf + SL_VNET_HDR_LEN, segs[0], seglen[0]) == 0);

	/* UDP length not the packet's, or no checksum (IPv4 zero): not merged. */
	CHECK_EQ(datagrams(v6, 3000), 3);
	segs[0][l3 + 5] ^= 4;
	CHECK(!sl_gro_start(&g, segs[0], seglen[0]));
	segs[0][l3 + 5] ^= 4;
	segs[0][l3 + 6] = segs[0][l3 + 7] = 0;
	CHECK(!sl_gro_start(&g, segs[0], seglen[0]));
	/* An empty datagram has nothing to merge. */
	CHECK_EQ(datagrams(v6, 0), 1);
	CHECK(!sl_gro_start(&g, segs[0], seglen[0]));
	/* Truncated: shorter than the IP + UDP headers. */
	CHECK_EQ(datagrams(v6, 3000), 3);
	CHECK(!sl_gro_start(&g, segs[0], l3 + 7));
}

/* UDP and TCP never mix in one train, and 64 datagrams at most. */
static void gro_limits(void)
{
	sl_gro_t g = { .buf = grobuf, .udp = true };
	size_t len = build(pkt, false, 100 * 500);
	sl_vnet_t v = uso_hdr(false, 500);
	nseg = 0;
	CHECK_EQ(sl_uso_segment(pkt, len, &v, &seg_out), 100);
	CHECK(sl_gro_start(&g, segs[0], seglen[0]));
	int k = 1;
	while (k < 100 && sl_gro_append(&g, segs[k], seglen[k]))
		k++;
	CHECK_EQ(k, SL_GRO_MAX_SEGS);
	CHECK_EQ(g.nseg, SL_GRO_MAX_SEGS);
	sl_gro_finish(&g);
	CHECK_EQ(g.len, 0);
}

int main(void)
{
	for (int v6 = 0; v6 < 2; v6++) {
		size_t sizes[] = { 0, 1, 999, 1000, 1001, 1471, 4321, 65000 - 48 };
		for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			segment_check(v6, sizes[i], 1000);
			segment_check(v6, sizes[i], 1471);
		}
		round_trip(v6, 1, 1000);
		round_trip(v6, 1000, 1000);
		round_trip(v6, 1001, 1000);
		round_trip(v6, 7777, 1000);
		round_trip(v6, 63 * 1000, 1000);
		round_trip(v6, 64 * 777, 777);
		gro_refusals(v6);
	}
	refusals();
	gro_limits();
	TEST_DONE("test_uso");
}
