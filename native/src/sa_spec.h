/*
 * sa_spec.h - what an SA is created from (plain C, no atomics: the C++
 * binding includes it).
 */
#ifndef SL_SA_SPEC_H
#define SL_SA_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "crypto.h"
#include "selector.h"

#define SL_MAX_WORKERS 16

enum { SL_DIR_IN = 0, SL_DIR_OUT = 1 };
enum { SL_ENCAP_UDP = 0, SL_ENCAP_NONE = 1 };

/* Raise seq-overflow this many packets before the last sequence number, so
 * IKE has time to rekey (RFC 4303 §3.3.3: never wrap). */
#define SL_SEQ_OVERFLOW_MARGIN (1ull << 24)

typedef struct sl_sa_spec {
	uint32_t spi;
	uint8_t dir;
	const char *algorithm; /* sl_alg_parse name */
	const uint8_t *enc_key;
	size_t enc_key_len;
	const uint8_t *auth_key;
	size_t auth_key_len;
	sl_endpoint_t local, remote;
	uint8_t encap;
	bool esn;
	uint32_t replay_window;
	sl_backend_t backend;
	uint64_t soft_bytes, hard_bytes, soft_packets, hard_packets; /* 0 = none */
	const sl_selector_t *selectors;
	size_t nselectors;
	uint32_t reqid;
} sl_sa_spec_t;

#endif
