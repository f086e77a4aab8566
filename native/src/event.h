/*
 * event.h - what the engine tells its owner (JS): SA lifetime events and
 * inbound IKE messages.  The sink must never block (the binding hands the
 * event to a napi threadsafe function in non-blocking mode).
 */
#ifndef SL_EVENT_H
#define SL_EVENT_H

#include <stddef.h>
#include <stdint.h>
#include "addr.h"

typedef enum {
	SL_EV_SOFT = 1,
	SL_EV_HARD,
	SL_EV_SEQ_OVERFLOW,
	SL_EV_PEER_MOVED,
	/* An outbound packet routed to the engine found no SA: the owner may
	 * start a negotiation for it (start = trap, the "acquire" of RFC 4301
	 * §5.2 step 3a implementations).  At most SL_NOSA_EVENTS_PER_SEC per
	 * worker; every such packet is still dropped and counted (drops_nosa). */
	SL_EV_NO_SA,
} sl_event_type_t;

#define SL_NOSA_EVENTS_PER_SEC 8

typedef enum { SL_REASON_NONE = 0, SL_REASON_BYTES, SL_REASON_PACKETS } sl_event_reason_t;

typedef struct sl_event {
	sl_event_type_t type;
	uint32_t spi;
	uint8_t dir; /* SL_DIR_* */
	sl_event_reason_t reason;
	uint32_t reqid;
	sl_endpoint_t from; /* peer-moved only */
	/* no-sa only: the inner packet's source and destination (ports 0 when
	 * the protocol has none) and its protocol. */
	sl_endpoint_t src, dst;
	uint8_t proto;
} sl_event_t;

typedef struct sl_sink {
	void (*event)(void *ctx, const sl_event_t *ev);
	/* Inbound IKE message, non-ESP marker already stripped (RFC 3948 §2.2). */
	void (*ike)(void *ctx, const uint8_t *msg, size_t len, const sl_endpoint_t *from);
	void *ctx;
} sl_sink_t;

#endif
