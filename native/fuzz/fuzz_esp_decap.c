/*
 * fuzz_esp_decap.c - ESP decapsulation (RFC 4303 §3.4) of authentic packets
 * for each transform, so the fuzzer gets past the ICV to what follows it:
 * the sequence number with and without ESN, the window, the trailer
 * (padding, pad length, next header, §2.4-2.6) and the inner IP packet.
 *
 * Input: one byte of set-up (bits 0-2 the transform, bit 3 ESN, bits 4-5 the
 * replay window: none, 32, 1024, 65536), then records of
 *   seq (8, big-endian, the full 64-bit number the sender uses)
 *   flags (1: bit 0 = flip one ciphertext/ICV bit, at the next byte)
 *   length (2) | payload (length bytes, cut to a multiple of the block)
 * each sealed with the outbound SA and opened with the inbound one.
 * Properties: a tampered packet never passes; an accepted packet decrypts to
 * exactly what was sealed, its inner packet lies inside it; a sequence
 * number is never accepted twice.
 */
#include "fuzz_sa.h"

#define MAXP 2048
#define MAX_ACCEPTED 256

static uint64_t rd(const uint8_t *p, size_t n)
{
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	static const uint32_t windows[4] = { 0, 32, 1024, 65536 };
	size_t alg = data[0] & 7;
	bool esn = data[0] & 8;
	uint32_t window = windows[(data[0] >> 4) & 3];
	sl_sadb_t db;
	sl_sadb_init(&db);
	sl_sa_t *out = fuzz_sa_new(alg, SL_DIR_OUT, esn, window);
	sl_sa_t *in = fuzz_sa_new(alg, SL_DIR_IN, esn, window);
	if (sl_sadb_add(&db, out) != 0 || sl_sadb_add(&db, in) != 0)
		abort();
	uint64_t accepted[MAX_ACCEPTED];
	size_t naccepted = 0;
	size_t off = 1;
	while (off + 11 <= size) {
		uint64_t seq = rd(data + off, 8);
		if (!esn)
			seq &= 0xffffffffu; /* only ESN has a high half to send */
		uint8_t flags = data[off + 8];
		size_t plen = (size_t)rd(data + off + 9, 2);
		off += 11;
		if (plen > size - off)
			plen = size - off;
		const uint8_t *payload = data + off;
		off += plen;
		if (plen > MAXP)
			plen = MAXP;
		plen -= plen % out->block;
		if (plen == 0)
			continue;
		size_t esp_len = 8 + out->iv_len + plen + out->icv_len;
		/* Exactly sized: ASan catches any read past the packet. */
		uint8_t *pkt = malloc(esp_len);
		fuzz_seal_raw(out, pkt, payload, plen, seq);
		bool tampered = false;
		if ((flags & 1) && off < size) {
			/* Anywhere after the SPI: sequence number, IV, ciphertext or ICV. */
			size_t at = 4 + data[off++] % (esp_len - 4);
			pkt[at] ^= 0x01;
			tampered = true;
		}
		sl_endpoint_t from;
		sl_endpoint_parse(&from, "192.0.2.1", 4500);
		uint8_t *inner = NULL;
		size_t ilen = 0;
		sl_drop_t why = sl_esp_decap(&fuzz_w, &db, SL_ENCAP_UDP, pkt, esp_len, &from, &inner, &ilen);
		if (why == SL_OK) {
			if (tampered)
				abort(); /* a forgery got through */
			const uint8_t *body = pkt + 8 + out->iv_len;
			if (inner != body || ilen + 2 > plen || memcmp(inner, payload, ilen) != 0)
				abort(); /* decrypted to something else, or outside the packet */
			for (size_t k = 0; k < naccepted; k++)
				if (accepted[k] == seq && window != 0)
					abort(); /* replayed */
			if (naccepted < MAX_ACCEPTED)
				accepted[naccepted++] = seq;
		}
		free(pkt);
	}
	sl_sadb_destroy(&db);
	return 0;
}
