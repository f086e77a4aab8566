/*
 * crypto_vectors.h - published known-answer vectors for the ESP transforms,
 * shared by test_crypto_kat.c (OpenSSL backend) and test_crypto_afalg.c
 * (kernel backend), plus the small helpers both tests use.
 *
 * Bytes are transcribed from the cited documents as hex (spaces ignored).
 * The AEAD packets carry their own integrity check: one wrong byte in a
 * transcription makes open() fail, so a typo cannot pass silently.
 */
#ifndef SL_CRYPTO_VECTORS_H
#define SL_CRYPTO_VECTORS_H

#include "crypto.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- A whole ESP packet (RFC 4303 §2): SPI | Seq | IV | payload | ICV ---- */
typedef struct esp_vec {
	const char *what;     /* source and case */
	sl_alg_t alg;
	const char *enc_key;  /* AEADs: key | salt */
	const char *auth_key; /* NULL for AEADs */
	bool esn;
	uint32_t spi;
	uint64_t seq;         /* high half only with ESN */
	const char *iv;
	const char *plain;    /* NULL where the source publishes only ciphertext */
	const char *cipher;
	const char *icv;
} esp_vec_t;

static const esp_vec_t esp_vectors[] = {
	/* draft-mcgrew-gcm-test-01 (test cases for RFC 4106 in ESP); the
	 * 12-byte AAD cases are ESN: SPI | Seq high | Seq low. */
	{
		"draft-mcgrew-gcm-test-01 p. 6 (AES-128, ESN)", SL_ALG_AES_GCM_16,
		"4c80cdefbb5d10da906ac73c3613a634 2e443b68", NULL, true,
		0x00004321, 0x8765432100000000ull, "4956ed7e3b244cfe",
		"45000048699a000080114db7c0a80102c0a801010a9bf15638d3010000010000"
		"00000000045f736970045f756470037369700963796265726369747902646b00"
		"0021000101020201",
		"fecf537e729d5b07dc30df528dd22b768d1b98736696a6fd348509fa13ceac34"
		"cfa2436f14a3f3cf65925bf1f4a13c5d15b21e1884f5ff6247aeabb786b93bce"
		"61bc17d768fd9732",
		"459018148f6cbe722fd04796562dfdb4",
	},
	{
		"draft-mcgrew-gcm-test-01 p. 7 (AES-128)", SL_ALG_AES_GCM_16,
		"feffe9928665731c6d6a8f9467308308 cafebabe", NULL, false,
		0x0000a5f8, 0x0000000a, "facedbaddecaf888", NULL,
		"deb22cd9b07c72c16e3a65beeb8df304a5a5897d33ae530f1ba76d5d114d2a5c"
		"3de81827c10e9a4f51330d0eec416642cfbb85a5b47e48a4ec3b9ba95d918bd1",
		"83b70d3aa8bc6ee4c309e9d85a41ad4a",
	},
	{
		"draft-mcgrew-gcm-test-01 p. 8 (AES-256)", SL_ALG_AES_GCM_16,
		"abbccddef00112233445566778899aab abbccddef00112233445566778899aab 11223344",
		NULL, false, 0x4a2cbfe3, 0x00000002, "0102030405060708", NULL,
		"ff425c9b724599df7a3bcd510194e00d6a78107f1b0b1cbf06efae9d65a5d763"
		"748a637985771d347f0545659f14e99def842d8e",
		"b335f4eecfdbf831824b4c4915956c96",
	},
	{
		"draft-mcgrew-gcm-test-01 p. 9 (AES-128, zero key)", SL_ALG_AES_GCM_16,
		"00000000000000000000000000000000 00000000", NULL, false,
		0x00000000, 0x00000001, "0000000000000000", NULL,
		"4688daf2f973a392732909c331d56d60f694abaa414b5e7ff5fdcdfff5e9a284"
		"456476492719ffb64de7d9dca1e1d894bc3bd57873ed4d181d19d4d5c8c18af3",
		"f821d496eeb096e98ad2b69e4799c71d",
	},
	{
		"draft-mcgrew-gcm-test-01 p. 12 (AES-128, ESN)", SL_ALG_AES_GCM_16,
		"abbccddef00112233445566778899aab decaf888", NULL, true,
		0x00000100, 0x0000000000000001ull, "cafedebaceface74", NULL,
		"18a6fd42f72cbf4ab2a2ea901f73d814e3e7f243d95412e1c349c1d2fbec168f"
		"9190feebaf2cb01984e65863965d7472b79da345e0e780191f0d2f0e0f496c22"
		"6f2127b27db35724e7845d68",
		"651f57e65f354f75ff17015769623436",
	},
	{
		"draft-mcgrew-gcm-test-01 p. 13 (AES-256, ESN)", SL_ALG_AES_GCM_16,
		"abbccddef00112233445566778899aab abbccddef00112233445566778899aab 73616c74",
		NULL, true, 0x17405e67, 0x156f3126dd0db99bull, "616e640169766563", NULL,
		"f2d69ecdbd5a0d5b8d5ef38bad4da58d1f278fde98ef67549d524a3018d9a57f"
		"f4d3a31ce673119e",
		"451626c2415771e3b7eebca614c89b35",
	},
	{
		"draft-mcgrew-gcm-test-01 p. 16 (AES-128, 4-byte payload)", SL_ALG_AES_GCM_16,
		"7d773d00c144c525ac619d18c84a3f47 d9664267", NULL, false,
		0x335467ae, 0xffffffff, "43457e9182443bc6", NULL,
		"437f866b",
		"cb3f699fe9b0822bac961c4504bef270",
	},
	{
		"draft-mcgrew-gcm-test-01 p. 17 (AES-256, ESN all ones)", SL_ALG_AES_GCM_16,
		"6c6567616c697a656d6172696a75616e 61616e64646f69746265666f72656961 7475726e",
		NULL, true, 0x796b6963, 0xffffffffffffffffull, "333021696765746d", NULL,
		"f97ab2aa356d8edce17644ac8c78e25dd24dedbb29ebf1b64a274b39b49c3a86"
		"4cd3d78ca4ae68a32b42458fb57dbe821dcc63b9",
		"d0937ba2945f669368661a329fb4c053",
	},
	/* RFC 7634 Appendix A: ChaCha20-Poly1305 ESP example (ICMP echo, tunnel mode). */
	{
		"RFC 7634 Appendix A (ChaCha20-Poly1305)", SL_ALG_CHACHA20_POLY1305,
		"808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f a0a1a2a3",
		NULL, false, 0x01020304, 0x00000005, "1011121314151617",
		"45000054a6f200004001e778c6336405c000020508005b7a3a080000553bec10"
		"0007362708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20212223"
		"2425262728292a2b2c2d2e2f303132333435363701020204",
		"24039428b97f417e3c13753a4f05087b67c352e6a7fab1b982d466ef407ae5c6"
		"14ee8099d52844eb61aa95dfab4c02f72aa71e7c4c4f64c9befe2facc638e8f3"
		"cbec163fac469b502773f6fb94e664da9165b82829f641e0",
		"76aaa8266b7fb0f7b11b369907e1ad43",
	},
};

/* ---- Block cipher vectors for the CBC transforms (no ESP packet with
 * HMAC is published): payload = plaintext, IV as given. ---- */
typedef struct cbc_vec {
	const char *what;
	sl_alg_t alg;
	const char *enc_key;
	const char *iv;
	const char *plain;
	const char *cipher;
} cbc_vec_t;

static const cbc_vec_t cbc_vectors[] = {
	{ "RFC 3602 §4 case 1 (AES-128-CBC)", SL_ALG_AES_CBC_HMAC_SHA1_96,
	  "06a9214036b8a15b512e03d534120006", "3dafba429d9eb430b422da802c9fac41",
	  "53696e676c6520626c6f636b206d7367", /* "Single block msg" */
	  "e353779c1079aeb82708942dbe77181a" },
	{ "RFC 3602 §4 case 2 (AES-128-CBC)", SL_ALG_AES_CBC_HMAC_SHA256_128,
	  "c286696d887c9aa0611bbb3e2025a45a", "562e17996d093d28ddb3ba695a2e6f58",
	  "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
	  "d296cd94c2cccf8a3a863028b5e1dc0a7586602d253cfff91b8266bea6d61ab1" },
	{ "RFC 3602 §4 case 3 (AES-128-CBC)", SL_ALG_AES_CBC_HMAC_SHA1_96,
	  "56e47a38c5598974bc46903dba290349", "8ce82eefbea0da3c44699ed7db51b7d9",
	  "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
	  "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf",
	  "c30e32ffedc0774e6aff6af0869f71aa0f3af07a9a31a9c684db207eb0ef8e4e"
	  "35907aa632c3ffdf868bb7b29d3d46ad83ce9f9a102ee99d49a53e87f4c3da55" },
	{ "NIST SP 800-38A F.2.5 (AES-256-CBC)", SL_ALG_AES_CBC_HMAC_SHA256_128,
	  "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4",
	  "000102030405060708090a0b0c0d0e0f",
	  "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
	  "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710",
	  "f58c4c04d6e5f1ba779eabfb5f7bfbd69cfc4e967edb808d679f777bc6702c7d"
	  "39f23369a9d9bacfa530e26304231461b2eb05e2c39be9fcda6c19078c6a9d1b" },
	{ "NIST TDES MMT (CAVP) example 1 (3DES-CBC)", SL_ALG_3DES_CBC_HMAC_SHA1_96,
	  "627f460e08104a1043cd265d5840eaf1313edf97df2a8a8c", "8e29f75ea77e5475",
	  "326a494cd33fe756", "b22b8d66de970692" },
	{ "NIST TDES MMT (CAVP) example 2 (3DES-CBC)", SL_ALG_3DES_CBC_HMAC_SHA1_96,
	  "37ae5ebf46dff2dc0754b94f31cbb3855e7fd36dc870bfae", "3d1de3cc132e3b65",
	  "84401f78fe6c10876d8ea23094ea5309", "7b1f7c7e3b1c948ebd04a75ffba7d2f5" },
};

/* ---- HMAC vectors (RFC 2202 §3 for SHA-1, whose first 96 bits are the
 * RFC 2404 ICV; RFC 4868 §2.7.2.1 AUTH256 with 32-byte keys). ---- */
typedef struct hmac_vec {
	const char *what;
	int md;
	const char *key;
	const char *data;
	const char *mac; /* full length, or truncated as the RFC gives it */
} hmac_vec_t;

static const hmac_vec_t hmac_vectors[] = {
	{ "RFC 2202 HMAC-SHA-1 case 1", 1, "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b",
	  "4869205468657265", "b617318655057264e28bc0b6fb378c8ef146be00" },
	{ "RFC 2202 HMAC-SHA-1 case 2", 1, "4a656665",
	  "7768617420646f2079612077616e7420666f72206e6f7468696e673f",
	  "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79" },
	{ "RFC 2202 HMAC-SHA-1 case 3", 1, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	  "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
	  "dddddddddddddddddddd",
	  "125d7342b9ac11cd91a39af48aa17b4f63f175d3" },
	{ "RFC 2202 HMAC-SHA-1 case 4", 1, "0102030405060708090a0b0c0d0e0f10111213141516171819",
	  "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd"
	  "cdcdcdcdcdcdcdcdcdcd",
	  "4c9007f4026250c6bc8414f9bf50c86c2d7235da" },
	{ "RFC 2202 HMAC-SHA-1 case 6 (key longer than a block)", 1,
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	  "54657374205573696e67204c6172676572205468616e20426c6f636b2d53697a65204b6579202d20"
	  "48617368204b6579204669727374",
	  "aa4ae5e15272d00e95705637ce8a3b55ed402112" },
	{ "RFC 4868 §2.7.2.1 AUTH256 case 1", 256,
	  "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b",
	  "4869205468657265", "198a607eb44bfbc69903a0f1cf2bbdc5" },
	{ "RFC 4868 §2.7.2.1 AUTH256 case 2", 256,
	  "4a6566654a6566654a6566654a6566654a6566654a6566654a6566654a656665",
	  "7768617420646f2079612077616e7420666f72206e6f7468696e673f",
	  "167f928588c5cc2eef8e3093caa0e87c" },
	{ "RFC 4868 §2.7.2.1 AUTH256 case 3", 256,
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	  "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
	  "dddddddddddddddddddd",
	  "cdcb1220d1ecccea91e53aba3092f962" },
	{ "RFC 4868 §2.7.1 PRF case 1 (RFC 4231)", 256,
	  "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "4869205468657265",
	  "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7" },
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* ---- helpers ---- */

static int test_failures;

#define CHECK(cond, ...)                                                   \
	do {                                                               \
		if (!(cond)) {                                             \
			test_failures++;                                   \
			fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
			fprintf(stderr, __VA_ARGS__);                      \
			fputc('\n', stderr);                               \
		}                                                          \
	} while (0)

/* Hex to bytes, spaces ignored; aborts the test on malformed input. */
static inline size_t unhex(const char *s, uint8_t *out, size_t cap)
{
	size_t n = 0;
	int hi = -1;

	for (; s != NULL && *s != '\0'; s++) {
		int v;
		if (*s == ' ')
			continue;
		if (*s >= '0' && *s <= '9')
			v = *s - '0';
		else if (*s >= 'a' && *s <= 'f')
			v = *s - 'a' + 10;
		else if (*s >= 'A' && *s <= 'F')
			v = *s - 'A' + 10;
		else {
			fprintf(stderr, "bad hex digit '%c'\n", *s);
			exit(2);
		}
		if (hi < 0) {
			hi = v;
			continue;
		}
		if (n >= cap) {
			fprintf(stderr, "hex longer than %zu bytes\n", cap);
			exit(2);
		}
		out[n++] = (uint8_t)(hi << 4 | v);
		hi = -1;
	}
	if (hi >= 0) {
		fprintf(stderr, "odd number of hex digits\n");
		exit(2);
	}
	return n;
}

static inline void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* A vector as a ready packet buffer. */
typedef struct esp_pkt {
	uint8_t key[64], akey[64];
	size_t key_len, akey_len;
	uint8_t buf[512];  /* SPI | Seq | IV | payload | ICV */
	uint8_t plain[512];
	uint8_t iv[16];
	size_t iv_len, len, icv_len;
	bool have_plain;
} esp_pkt_t;

static inline void esp_pkt_load(esp_pkt_t *p, const esp_vec_t *v)
{
	uint8_t cipher[512], icv[32];

	memset(p, 0, sizeof(*p));
	p->key_len = unhex(v->enc_key, p->key, sizeof(p->key));
	p->akey_len = v->auth_key != NULL ? unhex(v->auth_key, p->akey, sizeof(p->akey)) : 0;
	p->iv_len = unhex(v->iv, p->iv, sizeof(p->iv));
	p->len = unhex(v->cipher, cipher, sizeof(cipher));
	p->icv_len = unhex(v->icv, icv, sizeof(icv));
	if (v->plain != NULL) {
		size_t n = unhex(v->plain, p->plain, sizeof(p->plain));
		if (n != p->len) {
			fprintf(stderr, "%s: plaintext %zu bytes, ciphertext %zu\n", v->what, n, p->len);
			exit(2);
		}
		p->have_plain = true;
	}
	put_be32(p->buf, v->spi);
	put_be32(p->buf + 4, (uint32_t)v->seq);
	memcpy(p->buf + 8, p->iv, p->iv_len);
	memcpy(p->buf + 8 + p->iv_len, cipher, p->len);
	memcpy(p->buf + 8 + p->iv_len + p->len, icv, p->icv_len);
}

static inline size_t esp_pkt_total(const esp_pkt_t *p)
{
	return 8 + p->iv_len + p->len + p->icv_len;
}

static inline sl_crypto_params_t esp_pkt_params(const esp_pkt_t *p, const esp_vec_t *v)
{
	sl_crypto_params_t prm = {
		.alg = v->alg,
		.enc_key = p->key,
		.enc_key_len = p->key_len,
		.auth_key = p->akey_len ? p->akey : NULL,
		.auth_key_len = p->akey_len,
		.esn = v->esn,
	};
	return prm;
}

/* Fill with a deterministic pattern (test data only). */
static inline void fill_pattern(uint8_t *p, size_t n, uint32_t seed)
{
	uint32_t x = seed * 2654435761u + 1;

	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (uint8_t)x;
	}
}

/* Every transform with every key size: name, ESN or not. */
static const char *const all_alg_names[] = {
	"aes128gcm16", "aes256gcm16", "aes128-sha1", "aes256-sha1",
	"aes128-sha256", "aes256-sha256", "3des-sha1", "chacha20poly1305",
};

/* Keys for a named transform from a pattern. */
static inline sl_crypto_params_t params_for(const char *name, bool esn, uint8_t *ek,
					    uint8_t *ak, uint32_t seed)
{
	sl_crypto_params_t prm;
	size_t ekl = 0, akl = 0;
	sl_alg_t alg = SL_ALG_AES_GCM_16;

	if (sl_alg_parse(name, &alg, &ekl, &akl) != 0) {
		fprintf(stderr, "sl_alg_parse(%s) failed\n", name);
		exit(2);
	}
	fill_pattern(ek, ekl, seed);
	fill_pattern(ak, akl, seed + 7);
	prm.alg = alg;
	prm.enc_key = ek;
	prm.enc_key_len = ekl;
	prm.auth_key = akl ? ak : NULL;
	prm.auth_key_len = akl;
	prm.esn = esn;
	prm.use = SL_CRYPTO_USE_BOTH;
	return prm;
}

#endif
