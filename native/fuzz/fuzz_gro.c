/*
 * fuzz_gro.c - the inner-packet paths around the TUN device: inner IP
 * parsing (inner.c), user-space GRO of decrypted TCP segments and UDP
 * datagrams (gro.c) and TSO/USO of TUN super packets (tso.c, uso.c).
 *
 * Input: one byte of mode, then
 *  mode bit 0 = 0: decrypted packets, each 2-byte length + bytes, written
 *    the way the worker writes them (write_tun): parsed, merged into trains;
 *  mode bit 0 = 1: a virtio_net_hdr (10 bytes) and a TUN super packet, cut
 *    into segments (sl_tso_segment, UDP ones by sl_uso_segment); mode bit 1
 *    flips one bit in one segment (the two bytes after the header say
 *    where); the segments then go through GRO as if they had come back
 *    decrypted;
 *  mode bit 2: UDP trains allowed in GRO (a TUN with USO).
 * Properties: every packet is written exactly once; one written alone is
 * byte for byte what came in; a merged one carries a checksum that is
 * valid once completed (so every segment in it was valid: issue 16), and is
 * UDP only when UDP trains are allowed; the segments TSO/USO make all carry
 * valid IPv4 header and TCP/UDP checksums; the sizes never exceed the
 * buffers.
 */
#include "csum.h"
#include "gro.h"
#include "inner.h"
#include "tso.h"

#include <linux/virtio_net.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#define MAXPKTS 64
#define SEGCAP 2048

static uint8_t grobuf[SL_VNET_HDR_LEN + SL_GRO_MAX];
static uint8_t *pk[MAXPKTS];
static size_t pklen[MAXPKTS];
static int npk;

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static bool udp_allowed;

/* Valid IPv4 header (when v4) and TCP or UDP checksum (a UDP one present)
 * over a whole packet. */
static bool l4_valid(const uint8_t *p, size_t len)
{
	if (len < 1)
		return false;
	bool v6 = (p[0] >> 4) == 6;
	size_t l3 = v6 ? 40 : (size_t)(p[0] & 0x0f) * 4;
	if (len < l3 + 8)
		return false;
	uint8_t proto = v6 ? p[6] : p[9];
	if (proto == IPPROTO_UDP) {
		if ((p[l3 + 6] | p[l3 + 7]) == 0 || (size_t)rd16(p + l3 + 4) != len - l3)
			return false;
	} else if (proto != IPPROTO_TCP || len < l3 + 20) {
		return false;
	}
	if (!v6 && sl_csum_fold(sl_csum_add(p, l3, 0)) != 0xffff)
		return false;
	uint64_t ps = sl_csum_pseudo(p, v6, proto, len - l3);
	return sl_csum_fold(sl_csum_add(p + l3, len - l3, ps)) == 0xffff;
}

static void check_written(const uint8_t *buf, size_t n, int segs, int first)
{
	if (n < SL_VNET_HDR_LEN || n > SL_VNET_HDR_LEN + SL_GRO_MAX || segs < 1 || first < 0 ||
	    first + segs > npk)
		abort();
	const uint8_t *p = buf + SL_VNET_HDR_LEN;
	size_t len = n - SL_VNET_HDR_LEN;
	if (segs == 1) {
		if (buf[0] != 0 || buf[1] != VIRTIO_NET_HDR_GSO_NONE || len != pklen[first] ||
		    memcmp(p, pk[first], len) != 0)
			abort();
		return;
	}
	/* A train is consecutive packets: each must have been valid on its own. */
	for (int j = first; j < first + segs; j++)
		if (!l4_valid(pk[j], pklen[j]))
			abort();
	sl_vnet_t v;
	sl_vnet_parse(buf, &v);
	if (v.gso_type == VIRTIO_NET_HDR_GSO_UDP_L4 && !udp_allowed)
		abort();
	static uint8_t whole[SL_GRO_MAX];
	memcpy(whole, p, len);
	if (!(v.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) || sl_csum_complete(whole, len, &v) != 0 ||
	    !l4_valid(whole, len))
		abort();
}

/* The worker's write_tun() over what decapsulation let through (packets that
 * parse as IP): merge what continues the train, flush otherwise. */
static void write_all(void)
{
	int kept = 0;
	for (int i = 0; i < npk; i++) {
		sl_flow_t f;
		long ilen = sl_inner_parse(pk[i], pklen[i], 0, &f);
		if (ilen > 0 && (size_t)ilen > pklen[i])
			abort();
		if (ilen <= 0) {
			free(pk[i]);
			continue;
		}
		pk[kept] = pk[i];
		pklen[kept++] = (size_t)ilen; /* TFC padding dropped, as esp_in.c does */
	}
	npk = kept;
	sl_gro_t g = { .buf = grobuf, .udp = udp_allowed };
	int written = 0, head = -1;
	for (int i = 0; i < npk; i++) {
		if (sl_gro_append(&g, pk[i], pklen[i]))
			continue;
		int segs = g.nseg;
		size_t n = sl_gro_finish(&g);
		if (n) {
			check_written(grobuf, n, segs, head);
			written += segs;
		}
		head = i;
		if (!sl_gro_start(&g, pk[i], pklen[i]))
			written++; /* written alone behind a zero header */
	}
	int segs = g.nseg;
	size_t n = sl_gro_finish(&g);
	if (n) {
		check_written(grobuf, n, segs, head);
		written += segs;
	}
	if (written != npk)
		abort();
}

static uint8_t *pending;

static uint8_t *get(void *ctx, size_t *cap)
{
	(void)ctx;
	free(pending);
	pending = NULL;
	if (npk >= MAXPKTS) {
		*cap = 0;
		return NULL;
	}
	pending = malloc(SEGCAP);
	*cap = SEGCAP;
	return pending;
}

static void commit(void *ctx, size_t len)
{
	(void)ctx;
	if (!pending || len > SEGCAP || !l4_valid(pending, len))
		abort();
	pk[npk] = pending;
	pklen[npk++] = len;
	pending = NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t mode = data[0];
	npk = 0;
	udp_allowed = (mode & 4) != 0;
	if (!(mode & 1)) {
		for (size_t off = 1; off + 2 <= size && npk < MAXPKTS;) {
			size_t len = rd16(data + off);
			off += 2;
			if (len > size - off)
				len = size - off;
			pk[npk] = malloc(len ? len : 1);
			memcpy(pk[npk], data + off, len);
			pklen[npk++] = len;
			off += len;
		}
	} else if (size >= 1 + 2 + SL_VNET_HDR_LEN) {
		size_t flip = rd16(data + 1);
		sl_vnet_t v;
		sl_vnet_parse(data + 3, &v);
		size_t len = size - 3 - SL_VNET_HDR_LEN;
		uint8_t *super = malloc(len ? len : 1);
		memcpy(super, data + 3 + SL_VNET_HDR_LEN, len);
		sl_tso_out_t out = { .get = get, .commit = commit };
		int n = sl_tso_segment(super, len, &v, &out);
		free(super);
		free(pending); /* taken by get() but never committed (a refused segment) */
		pending = NULL;
		if (n >= 0 && n != npk)
			abort();
		if ((mode & 2) && npk > 0) {
			int k = (int)(flip % (size_t)npk);
			pk[k][(flip / (size_t)npk) % pklen[k]] ^= 0x10;
		}
	}
	write_all();
	for (int i = 0; i < npk; i++)
		free(pk[i]);
	return 0;
}
