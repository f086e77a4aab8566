/*
 * esp_events.h - the worker context the ESP tests (test_esp.c,
 * test_esp_v6.c) run encap/decap in: worker 0, its own counters, and a sink
 * that records the first EVENTS_MAX events (lifetimes, peer-moved, ...) for
 * the checks.  One copy per test program (static, like engine_check.h).
 */
#ifndef SL_TEST_ESP_EVENTS_H
#define SL_TEST_ESP_EVENTS_H

#include "esp.h"

#define EVENTS_MAX 64

static sl_event_t events[EVENTS_MAX];
static int nevents;

static inline void on_event(void *ctx, const sl_event_t *ev)
{
	(void)ctx;
	if (nevents < EVENTS_MAX)
		events[nevents++] = *ev;
}

static const sl_sink_t sink = { .event = on_event };
static sl_counters_t cnt;
static const sl_wctx_t W = { .worker = 0, .cnt = &cnt, .sink = &sink };

/* How many of the recorded events are of type t. */
static inline int count_events(sl_event_type_t t)
{
	int n = 0;
	for (int i = 0; i < nevents; i++)
		n += events[i].type == t;
	return n;
}

#endif
