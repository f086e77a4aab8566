/*
 * test_esp_v6.c - IPv6 through ESP tunnel mode: IPv6 inner packets (next
 * header 41, RFC 4303 §2.6) between IPv6 selectors (RFC 4301 §4.4.1), on SAs
 * whose peer is an IPv6 address (ESP-in-UDP, RFC 3948, and raw ESP).
 *
 *  - round trips of IPv6 packets of many sizes; the trailer says next header 41
 *  - the outbound lookup finds the SA by an IPv6 flow parsed from the packet
 *    (the per-family trie), and never by an IPv4 flow
 *  - inbound: an authentic IPv6 packet outside the SA's selectors, an IPv4
 *    packet in an IPv6 SA, and a packet whose payload length overruns the
 *    ESP payload are dropped as malformed (RFC 4301 §5.2), and good traffic
 *    passes afterwards
 *  - an authentic packet from a new IPv6 source port/address raises
 *    peer-moved with the IPv6 endpoint (RFC 3948 §3.5); raw ESP never does
 *  - the destination built for the socket: sockaddr_in6 with the UDP port, and
 *    port 0 for raw ESP (a raw IPv6 socket takes the port field as protocol)
 */
#include "engine_check.h"
#include "esp.h"
#include "esp_events.h"
#include "inner.h"
#include "sadb.h"

#include <netinet/in.h>
#include <string.h>

static uint8_t key_enc[36] = { 7, 6, 5, 4, 3, 2, 1 };

/* 2001:db8:a::/64 and 2001:db8:b::/64 with host part `host`. */
static void addr6(uint8_t *a, char site, uint8_t host)
{
	static const uint8_t base[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0 };
	memcpy(a, base, 16);
	a[5] = (uint8_t)(site == 'a' ? 0x0a : site == 'b' ? 0x0b : 0x0c);
	a[15] = host;
}

/* IPv6 packet from site `from` to site `to`, UDP 5000 -> 6000, total bytes. */
static size_t ipv6_pkt(uint8_t *p, size_t total, char from, char to, uint8_t fill)
{
	memset(p, fill, total);
	p[0] = 0x60;
	p[1] = p[2] = p[3] = 0;
	p[4] = (uint8_t)((total - 40) >> 8);
	p[5] = (uint8_t)(total - 40);
	p[6] = IPPROTO_UDP;
	p[7] = 64;
	addr6(p + 8, from, 0x10);
	addr6(p + 24, to, 0x10);
	if (total >= 48) {
		p[40] = 5000 >> 8;
		p[41] = 5000 & 0xff;
		p[42] = 6000 >> 8;
		p[43] = 6000 & 0xff;
	}
	return total;
}

static sl_sa_t *mk(uint32_t spi, uint8_t dir, uint8_t encap, const char *remote)
{
	static sl_selector_t sel;
	memset(&sel, 0, sizeof(sel));
	/* The sender is site b, the receiver site a: each SA as its own side sees it. */
	CHECK_EQ(sl_prefix_parse(&sel.local, dir == SL_DIR_OUT ? "2001:db8:b::/64" : "2001:db8:a::/64"), 0);
	CHECK_EQ(sl_prefix_parse(&sel.remote, dir == SL_DIR_OUT ? "2001:db8:a::/64" : "2001:db8:b::/64"), 0);
	sel.lport_hi = sel.rport_hi = 65535;
	sl_sa_spec_t sp = { .spi = spi, .dir = dir, .algorithm = "aes128gcm16", .enc_key = key_enc,
			    .enc_key_len = 20, .encap = encap, .esn = true, .replay_window = 64,
			    .backend = SL_BACKEND_OPENSSL, .selectors = &sel, .nselectors = 1 };
	CHECK_EQ(sl_endpoint_parse(&sp.remote, remote, encap == SL_ENCAP_UDP ? 4500 : 500), 0);
	CHECK_EQ(sl_endpoint_parse(&sp.local, "2001:db8:f1::2", 4500), 0);
	char err[256] = "";
	sl_sa_t *sa = sl_sa_new(&sp, 1, err, sizeof(err));
	if (!sa) {
		fprintf(stderr, "sl_sa_new: %s\n", err);
		return NULL;
	}
	CHECK_EQ(sl_sa_set_remote(sa, &sp.remote, AF_INET6), 0);
	return sa;
}

#define BUFSZ 2048
static uint8_t buf[BUFSZ], orig[BUFSZ];

static void run(uint8_t encap)
{
	sl_sadb_t db;
	sl_sadb_init(&db);
	/* One SPI for both directions: the outbound SA seals what the inbound one opens. */
	sl_sa_t *out = mk(0x6001, SL_DIR_OUT, encap, "2001:db8:f0::2");
	sl_sa_t *in = mk(0x6001, SL_DIR_IN, encap, "2001:db8:f0::2");
	if (!out || !in) {
		CHECK(!"SA creation failed");
		return;
	}
	CHECK_EQ(sl_sadb_add(&db, out), 0);
	CHECK_EQ(sl_sadb_add(&db, in), 0);

	/* The destination the workers send to. */
	const sl_sa_dest_t *d = sl_sa_dest(out);
	CHECK_EQ(d->ss.sa.sa_family, AF_INET6);
	CHECK_EQ(d->len, sizeof(struct sockaddr_in6));
	CHECK_EQ(ntohs(((const struct sockaddr_in6 *)&d->ss)->sin6_port), encap == SL_ENCAP_UDP ? 4500 : 0);

	sl_endpoint_t from;
	CHECK_EQ(sl_endpoint_parse(&from, "2001:db8:f0::2", encap == SL_ENCAP_UDP ? 4500 : 0), 0);
	size_t sizes[] = { 40, 41, 48, 63, 64, 100, 1000, 1280, 1400 };
	uint64_t good = 0;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		/* Outbound as a worker does it: parse the TUN packet, look the SA up by its flow. */
		size_t n = ipv6_pkt(orig, sizes[i], 'b', 'a', (uint8_t)i);
		sl_flow_t f;
		CHECK_EQ(sl_inner_parse(orig, n, 0, &f), (long)n);
		CHECK_EQ(f.family, AF_INET6);
		CHECK(sl_sadb_lookup_out(&db, &f) == out);
		memcpy(buf + SL_ESP_HEADROOM, orig, n);
		uint8_t *esp, *inner;
		size_t esp_len = 0, ilen;
		CHECK_EQ(sl_esp_encap(&W, out, buf, BUFSZ, n, IPPROTO_IPV6, &esp, &esp_len), SL_OK);
		sl_drop_t rc = sl_esp_decap(&W, &db, encap, esp, esp_len, &from, &inner, &ilen);
		CHECK_EQ(rc, SL_OK);
		if (rc != SL_OK)
			continue;
		CHECK_EQ(ilen, n);
		CHECK(memcmp(inner, orig, n) == 0);
		/* Trailer: ... pad length, next header 41 (RFC 4303 §2.6). */
		size_t plen = esp_len - 8 - out->iv_len - out->icv_len;
		CHECK_EQ(inner[plen - 1], IPPROTO_IPV6);
		good++;
	}
	/* No IPv4 flow finds an IPv6 SA. */
	sl_flow_t f4;
	memset(&f4, 0, sizeof(f4));
	f4.family = AF_INET;
	memcpy(f4.src, orig + 8, 4);
	memcpy(f4.dst, orig + 24, 4);
	CHECK(sl_sadb_lookup_out(&db, &f4) == NULL);

	/* Authentic but wrong inside: each dropped as malformed, counted on the SA. */
	uint64_t mal = sl_sa_counts(in).drops_malformed;
	uint8_t *esp, *inner;
	size_t esp_len, ilen;
	size_t n = ipv6_pkt(orig, 120, 'c', 'a', 0x33); /* source outside 2001:db8:b::/64 */
	memcpy(buf + SL_ESP_HEADROOM, orig, n);
	CHECK_EQ(sl_esp_encap(&W, out, buf, BUFSZ, n, IPPROTO_IPV6, &esp, &esp_len), SL_OK);
	CHECK_EQ(sl_esp_decap(&W, &db, encap, esp, esp_len, &from, &inner, &ilen), SL_DROP_MALFORMED);
	n = ipv6_pkt(orig, 120, 'b', 'a', 0x44);
	orig[0] = 0x45; /* says IPv4, ESP says 41 */
	memcpy(buf + SL_ESP_HEADROOM, orig, n);
	CHECK_EQ(sl_esp_encap(&W, out, buf, BUFSZ, n, IPPROTO_IPV6, &esp, &esp_len), SL_OK);
	CHECK_EQ(sl_esp_decap(&W, &db, encap, esp, esp_len, &from, &inner, &ilen), SL_DROP_MALFORMED);
	n = ipv6_pkt(orig, 120, 'b', 'a', 0x55);
	orig[5] = 200; /* payload length past the end */
	memcpy(buf + SL_ESP_HEADROOM, orig, n);
	CHECK_EQ(sl_esp_encap(&W, out, buf, BUFSZ, n, IPPROTO_IPV6, &esp, &esp_len), SL_OK);
	CHECK_EQ(sl_esp_decap(&W, &db, encap, esp, esp_len, &from, &inner, &ilen), SL_DROP_MALFORMED);
	CHECK_EQ(sl_sa_counts(in).drops_malformed, mal + 3);

	/* The peer moved (new IPv6 address and port): peer-moved over UDP only. */
	nevents = 0;
	sl_endpoint_t moved;
	CHECK_EQ(sl_endpoint_parse(&moved, "2001:db8:f0::99", encap == SL_ENCAP_UDP ? 40001 : 0), 0);
	n = ipv6_pkt(orig, 200, 'b', 'a', 0x66);
	memcpy(buf + SL_ESP_HEADROOM, orig, n);
	CHECK_EQ(sl_esp_encap(&W, out, buf, BUFSZ, n, IPPROTO_IPV6, &esp, &esp_len), SL_OK);
	CHECK_EQ(sl_esp_decap(&W, &db, encap, esp, esp_len, &moved, &inner, &ilen), SL_OK);
	good++;
	if (encap == SL_ENCAP_UDP) {
		CHECK_EQ(nevents, 1);
		CHECK_EQ(events[0].type, SL_EV_PEER_MOVED);
		CHECK_EQ(events[0].from.family, AF_INET6);
		CHECK_EQ(events[0].from.port, 40001);
		CHECK(memcmp(events[0].from.addr, moved.addr, 16) == 0);
	} else {
		CHECK_EQ(nevents, 0);
	}
	CHECK_EQ(sl_sa_counts(in).packets, good);
	sl_sadb_destroy(&db);
}

/* Link-scoped IPv6 destinations (the kernel's RS and MLD on the TUN): no no-SA event. */
static void link_scope(void)
{
	sl_flow_t f;
	memset(&f, 0, sizeof(f));
	f.family = AF_INET6;
	static const uint8_t yes[][2] = { { 0xfe, 0x80 }, { 0xfe, 0xbf }, { 0xff, 0x02 }, { 0xff, 0x12 }, { 0xff, 0x01 } };
	static const uint8_t no[][2] = { { 0xfe, 0xc0 }, { 0xff, 0x05 }, { 0xff, 0x0e }, { 0x20, 0x01 }, { 0xfd, 0x00 } };
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		f.dst[0] = yes[i][0];
		f.dst[1] = yes[i][1];
		CHECK(sl_flow_link_scoped(&f));
	}
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		f.dst[0] = no[i][0];
		f.dst[1] = no[i][1];
		CHECK(!sl_flow_link_scoped(&f));
	}
	f.family = AF_INET; /* 255.2.x.x is not an IPv6 scope */
	f.dst[0] = 0xff;
	f.dst[1] = 0x02;
	CHECK(!sl_flow_link_scoped(&f));
}

int main(void)
{
	link_scope();
	run(SL_ENCAP_UDP);
	run(SL_ENCAP_NONE);
	TEST_DONE("test_esp_v6");
}
