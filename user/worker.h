/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A worker thread serves the RX queue of one AF_XDP socket: it takes a
 * batch of frames, runs ESP on each (decrypt what XDP marked as inbound
 * ESP, encrypt what it marked as PROTECT), and transmits the results on
 * whichever socket the next hop leaves through.
 */
#ifndef XDPSEC_WORKER_H
#define XDPSEC_WORKER_H

#include <pthread.h>
#include <stdint.h>

#include "daemon.h"
#include "icmp.h"

struct worker {
	unsigned int id;
	struct daemon *d;
	struct xsk *xsk;
	pthread_t thread;
	struct nh_cache *nh;
	__u64 *cnt;			/* this worker's row of "wstats" */
	uint64_t qs;			/* bumped at every quiescent point */
	int idle;			/* asleep in poll(), holding nothing */
	uint64_t cache[2 * XSK_BATCH];	/* free frames kept locally */
	uint32_t n_cache;
	struct icmp_limit icmp_limit;	/* ICMP errors this worker sends */
};

int worker_start(struct worker **out, struct daemon *d, unsigned int id,
		 struct xsk *xsk);
void worker_stop(struct worker *w);

#endif /* XDPSEC_WORKER_H */
