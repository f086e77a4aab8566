/*
 * engine.h - the ESP engine: TUN + sockets + worker threads + SADB.
 * Packets only ever move inside the workers; the owner (the Node binding)
 * installs SAs, sends IKE and receives events through the sink.
 */
#ifndef SL_ENGINE_H
#define SL_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "drop.h"
#include "event.h"
#include "crypto.h"
#include "sa_spec.h"
#include "selector.h"

typedef struct sl_engine_cfg {
	char tun[16];
	sl_endpoint_t listen;
	bool raw_esp;
	int workers; /* 1..SL_MAX_WORKERS */
	int mtu;
	int sockbuf;
} sl_engine_cfg_t;

typedef struct sl_sa_status {
	uint32_t spi, reqid;
	uint8_t dir, encap;
	bool esn, dead;
	bool keys_wiped; /* dead and its keys already wiped (before any delete) */
	char algorithm[32];
	char backend[16];
	char driver[64];
	sl_probe_t probe; /* crypto-backend = auto: the measurement behind the choice */
	char probe_reason[SL_PROBE_REASON_LEN]; /* why, when probe.done */
	uint64_t seq, packets, bytes, drops_replay, drops_icv, drops_malformed, drops_padding;
	sl_endpoint_t local, remote;
} sl_sa_status_t;

typedef struct sl_engine sl_engine_t;

int sl_engine_open(sl_engine_t **out, const sl_engine_cfg_t *cfg, const sl_sink_t *sink,
		   char *err, size_t errlen);
/* Stops and joins the workers, closes TUN and sockets, wipes every SA. */
void sl_engine_close(sl_engine_t *e);

/* 0, or -1 with a reason. */
int sl_engine_add_sa(sl_engine_t *e, const sl_sa_spec_t *spec, char *err, size_t errlen);
/* -1 when absent, -2 when the address family cannot be used. */
int sl_engine_update_remote(sl_engine_t *e, uint32_t spi, uint8_t dir, const sl_endpoint_t *remote);
int sl_engine_del_sa(sl_engine_t *e, uint32_t spi, uint8_t dir);
/* Selectors of permit/block filters (snap.h): outbound packets whose SA
 * selector they match with at least its weight are not encrypted (dropped,
 * counted as no-SA).  Replaces the previous set; 0, or -1. */
int sl_engine_set_bypass(sl_engine_t *e, const sl_selector_t *sels, size_t n);
/* 0, or -1 when absent. */
int sl_engine_sa_status(sl_engine_t *e, uint32_t spi, uint8_t dir, sl_sa_status_t *st);
/* Fills up to max (spi, dir) pairs; returns how many SAs exist. */
size_t sl_engine_list(sl_engine_t *e, uint32_t *spis, uint8_t *dirs, size_t max);

/* Called from one owner thread only (counts in the owner's block). */
int sl_engine_send_ike(sl_engine_t *e, const uint8_t *msg, size_t len, const sl_endpoint_t *to);
/* RFC 3948 §2.3 keepalives to `to` every `seconds` (0 stops them). */
int sl_engine_set_keepalive(sl_engine_t *e, const sl_endpoint_t *to, unsigned seconds);
void sl_engine_counters(sl_engine_t *e, sl_counter_totals_t *t);
int sl_engine_workers(const sl_engine_t *e);

#endif
