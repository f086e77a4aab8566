/*
 * fuzz_sa.h - SA fixtures shared by the libFuzzer harnesses: a pair of SAs
 * (outbound to seal, inbound to open) for each ESP transform, OpenSSL
 * backend, fixed keys, selectors 0.0.0.0/0 and ::/0 so the inner-packet
 * checks after decryption are reached with any addresses.
 */
#ifndef SL_FUZZ_SA_H
#define SL_FUZZ_SA_H

#include "esp.h"
#include "sadb.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const fuzz_algs[] = { "aes128gcm16",   "aes256gcm16",   "aes128-sha1",
					 "aes256-sha1",   "aes128-sha256", "aes256-sha256",
					 "3des-sha1",     "chacha20poly1305" };
#define FUZZ_NALGS (sizeof(fuzz_algs) / sizeof(fuzz_algs[0]))
#define FUZZ_SPI_BASE 0x1000u

static sl_counters_t fuzz_cnt;
static const sl_wctx_t fuzz_w = { .worker = 0, .cnt = &fuzz_cnt };

/* SPI FUZZ_SPI_BASE + i for transform i, both directions (the SADB keys by (spi, dir)). */
static inline sl_sa_t *fuzz_sa_new(size_t i, uint8_t dir, bool esn, uint32_t window)
{
	static const uint8_t enc[36] = { 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99 };
	static const uint8_t auth[32] = { 0xa1, 0xb2, 0xc3, 0xd4, 0xe5, 0xf6 };
	static sl_selector_t sel[2];
	memset(sel, 0, sizeof(sel));
	if (sl_prefix_parse(&sel[0].local, "0.0.0.0/0") || sl_prefix_parse(&sel[0].remote, "0.0.0.0/0") ||
	    sl_prefix_parse(&sel[1].local, "::/0") || sl_prefix_parse(&sel[1].remote, "::/0"))
		abort();
	for (int k = 0; k < 2; k++)
		sel[k].lport_hi = sel[k].rport_hi = 65535;
	sl_alg_t a;
	size_t ek, ak;
	if (sl_alg_parse(fuzz_algs[i], &a, &ek, &ak) != 0)
		abort();
	sl_sa_spec_t sp = { .spi = FUZZ_SPI_BASE + (uint32_t)i, .dir = dir, .algorithm = fuzz_algs[i],
			    .enc_key = enc, .enc_key_len = ek, .auth_key = ak ? auth : NULL,
			    .auth_key_len = ak, .encap = SL_ENCAP_UDP, .esn = esn,
			    .replay_window = window, .backend = SL_BACKEND_OPENSSL,
			    .selectors = sel, .nselectors = 2 };
	sl_endpoint_parse(&sp.remote, "192.0.2.1", 4500);
	sl_endpoint_parse(&sp.local, "192.0.2.2", 4500);
	char err[256] = "";
	sl_sa_t *sa = sl_sa_new(&sp, 1, err, sizeof(err));
	if (!sa) {
		fprintf(stderr, "fuzz: sl_sa_new(%s): %s\n", fuzz_algs[i], err);
		abort();
	}
	return sa;
}

/* Seal a hand-made ESP payload (plen bytes, a multiple of the block size,
 * trailer included) with the outbound SA at buf; returns the ESP length. */
static inline size_t fuzz_seal_raw(sl_sa_t *out, uint8_t *buf, const uint8_t *payload, size_t plen,
			    uint64_t seq)
{
	memcpy(buf + 8 + out->iv_len, payload, plen);
	uint32_t spi = out->spi;
	uint8_t hdr[8] = { (uint8_t)(spi >> 24), (uint8_t)(spi >> 16), (uint8_t)(spi >> 8), (uint8_t)spi,
			   (uint8_t)(seq >> 24), (uint8_t)(seq >> 16), (uint8_t)(seq >> 8), (uint8_t)seq };
	memcpy(buf, hdr, 8);
	if (sl_crypto_seal(out->ctx[0], buf, plen, seq) != SL_CRYPTO_OK)
		abort();
	return 8 + out->iv_len + plen + out->icv_len;
}

#endif
