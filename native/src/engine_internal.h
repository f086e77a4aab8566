/* engine_internal.h - engine state shared by engine.c (control) and worker.c (data). */
#ifndef SL_ENGINE_INTERNAL_H
#define SL_ENGINE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include "counters.h"
#include "engine.h"
#include "sadb.h"

#define SL_MAX_KEEPALIVES 64

typedef struct sl_keepalive {
	sl_endpoint_t to;
	unsigned interval;
	unsigned left; /* seconds until the next one */
} sl_keepalive_t;

struct sl_engine;

typedef struct sl_worker {
	struct sl_engine *e;
	int idx;
	pthread_t thread;
	bool started;
} sl_worker_t;

struct sl_engine {
	sl_engine_cfg_t cfg;
	sl_sink_t sink;
	sl_sadb_t db;
	bool db_ready;
	/* One UDP socket per worker on the same port (SO_REUSEPORT): the kernel
	 * keeps each peer's flow on one socket, so one worker, so no reordering
	 * inside an SA.  udp_fd (= udp_q[0]) also sends IKE and keepalives. */
	int udp_fd, udp_q[SL_MAX_WORKERS];
	/* Raw ESP: one socket per worker and address family, steered by SPI
	 * (sl_raw_esp_steer); raw_fd = raw_q[0], -1 without raw ESP; raw6_q[i]
	 * -1 also when the kernel has no IPv6. */
	int raw_q[SL_MAX_WORKERS], raw6_q[SL_MAX_WORKERS];
	int udp_family, raw_fd, stop_fd, timer_fd;
	bool tso;             /* TUN hands us TCP super packets */
	bool uso;             /* ... and UDP ones, and takes UDP GRO trains back */
	atomic_bool udp_gso;  /* UDP_SEGMENT works (cleared on the first refusal) */
	int tun_fd[SL_MAX_WORKERS];
	int nworkers;
	sl_worker_t w[SL_MAX_WORKERS];
	/* One block per worker plus one for the owner thread (IKE sends). */
	sl_counters_t cnt[SL_MAX_WORKERS + 1];
	pthread_mutex_t ka_lock;
	sl_keepalive_t ka[SL_MAX_KEEPALIVES];
	int nka;
	/* A worker made an SA dead: the next worker outside a batch wipes its keys. */
	atomic_bool reap;
};

void *sl_worker_main(void *arg);
/* Worker 0 runs this once a second. */
void sl_keepalive_tick(struct sl_engine *e, sl_counters_t *cnt);

#endif
