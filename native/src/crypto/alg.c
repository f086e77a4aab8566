/*
 * alg.c - the ESP transforms we offer: sizes, names, kernel algorithm names.
 */
#include "crypto_internal.h"

#include <string.h>

static const sl_alg_info_t algs[] = {
	{
		/* RFC 4106: 8-byte IV, 16-byte ICV (the "-16" in aes*gcm16), 4-byte
		 * salt after the key (§8.1); payload aligned to 4 (RFC 4303 §2.4). */
		.alg = SL_ALG_AES_GCM_16, .aead = true,
		.iv_len = 8, .icv_len = 16, .block_size = 4,
		.enc_key_min = 16, .enc_key_max = 32, .enc_key_step = 16,
		.auth_key_len = 0,
		.kernel_name = "rfc4106(gcm(aes))", .kernel_name_esn = NULL,
	},
	{
		/* RFC 3602 (16-byte IV, block 16) + RFC 2404 (20-byte key, ICV 12). */
		.alg = SL_ALG_AES_CBC_HMAC_SHA1_96, .aead = false,
		.iv_len = 16, .icv_len = 12, .block_size = 16,
		.enc_key_min = 16, .enc_key_max = 32, .enc_key_step = 16,
		.auth_key_len = 20,
		.kernel_name = "authenc(hmac(sha1),cbc(aes))",
		.kernel_name_esn = "authencesn(hmac(sha1),cbc(aes))",
	},
	{
		/* RFC 3602 + RFC 4868 §2.1.1 (32-byte key, ICV 16). */
		.alg = SL_ALG_AES_CBC_HMAC_SHA256_128, .aead = false,
		.iv_len = 16, .icv_len = 16, .block_size = 16,
		.enc_key_min = 16, .enc_key_max = 32, .enc_key_step = 16,
		.auth_key_len = 32,
		.kernel_name = "authenc(hmac(sha256),cbc(aes))",
		.kernel_name_esn = "authencesn(hmac(sha256),cbc(aes))",
	},
	{
		/* RFC 2451 (24-byte key, 8-byte IV and block) + RFC 2404. */
		.alg = SL_ALG_3DES_CBC_HMAC_SHA1_96, .aead = false,
		.iv_len = 8, .icv_len = 12, .block_size = 8,
		.enc_key_min = 24, .enc_key_max = 24, .enc_key_step = 1,
		.auth_key_len = 20,
		.kernel_name = "authenc(hmac(sha1),cbc(des3_ede))",
		.kernel_name_esn = "authencesn(hmac(sha1),cbc(des3_ede))",
	},
	{
		/* RFC 7634 §2: 32-byte key + 4-byte salt, 8-byte IV, 16-byte ICV. */
		.alg = SL_ALG_CHACHA20_POLY1305, .aead = true,
		.iv_len = 8, .icv_len = 16, .block_size = 4,
		.enc_key_min = 32, .enc_key_max = 32, .enc_key_step = 1,
		.auth_key_len = 0,
		.kernel_name = "rfc7539esp(chacha20,poly1305)", .kernel_name_esn = NULL,
	},
};

const sl_alg_info_t *sl_alg_info(sl_alg_t alg)
{
	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
		if (algs[i].alg == alg)
			return &algs[i];
	return NULL;
}

/* Names as strongSwan's proposal keywords spell them. */
static const struct {
	const char *name;
	sl_alg_t alg;
	size_t enc_key_len; /* without salt */
} names[] = {
	{ "aes128gcm16", SL_ALG_AES_GCM_16, 16 },
	{ "aes256gcm16", SL_ALG_AES_GCM_16, 32 },
	{ "aes128-sha1", SL_ALG_AES_CBC_HMAC_SHA1_96, 16 },
	{ "aes256-sha1", SL_ALG_AES_CBC_HMAC_SHA1_96, 32 },
	{ "aes128-sha256", SL_ALG_AES_CBC_HMAC_SHA256_128, 16 },
	{ "aes256-sha256", SL_ALG_AES_CBC_HMAC_SHA256_128, 32 },
	{ "3des-sha1", SL_ALG_3DES_CBC_HMAC_SHA1_96, 24 },
	{ "chacha20poly1305", SL_ALG_CHACHA20_POLY1305, 32 },
};

/* enc_key_len out: what sl_crypto_params_t.enc_key_len must be, so salt
 * included for the AEADs. */
int sl_alg_parse(const char *name, sl_alg_t *alg, size_t *enc_key_len, size_t *auth_key_len)
{
	if (name == NULL)
		return -1;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(name, names[i].name) != 0)
			continue;
		const sl_alg_info_t *info = sl_alg_info(names[i].alg);
		if (info == NULL)
			return -1;
		if (alg != NULL)
			*alg = names[i].alg;
		if (enc_key_len != NULL)
			*enc_key_len = names[i].enc_key_len + (info->aead ? SL_AEAD_SALT_LEN : 0);
		if (auth_key_len != NULL)
			*auth_key_len = info->auth_key_len;
		return 0;
	}
	return -1;
}

/* enc_key_len may be given with or without the AEAD salt. */
const char *sl_alg_name(sl_alg_t alg, size_t enc_key_len)
{
	const sl_alg_info_t *info = sl_alg_info(alg);

	if (info == NULL)
		return NULL;
	if (info->aead && enc_key_len >= SL_AEAD_SALT_LEN &&
	    (enc_key_len - SL_AEAD_SALT_LEN == 16 || enc_key_len - SL_AEAD_SALT_LEN == 32))
		enc_key_len -= SL_AEAD_SALT_LEN;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].alg == alg && names[i].enc_key_len == enc_key_len)
			return names[i].name;
	return NULL;
}
