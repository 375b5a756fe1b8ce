/* SPDX-License-Identifier: GPL-2.0-only */
/* The state of one xdpsecd instance, shared by its threads. */
#ifndef XDPSEC_DAEMON_H
#define XDPSEC_DAEMON_H

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <time.h>

#include "config.h"
#include "host.h"
#include "natt.h"
#include "nexthop.h"
#include "sad.h"
#include "spd.h"
#include "xsk.h"

struct xdpsec_bpf;
struct worker;
struct ike_daemon;

struct daemon {
	struct config cfg;
	char config_path[PATH_MAX];
	char pin_path[PATH_MAX];
	char sock_path[PATH_MAX];
	time_t started;

	struct xdpsec_bpf *skel;
	struct iface ifaces[XDPSEC_MAX_IFACES];
	unsigned int n_ifaces;
	struct umem umem;
	struct host_if host;		/* when host_interface is set */
	struct natt natt;
	time_t natt_last;
	struct nh_table *nh;
	struct xdpsec_wstats *wstats;	/* mmap of "wstats" */

	struct worker **workers;
	unsigned int n_workers;

	/* Control requests and reloads change the SAD and SPD under this. */
	pthread_mutex_t lock;
	struct sad sad;
	struct spd spd;

	struct ike_daemon *ike;		/* when there are [conn] sections */

	volatile int stop;
	volatile int reload;
};

/* Waits until every worker has passed a quiescent point. */
void daemon_sync_workers(void *daemon);

/* Re-reads the configuration file; err gets a message on failure. */
int daemon_reload(struct daemon *d, char *err, size_t errlen);

/* Brings the host interface's routes in line with the SPD. */
void daemon_host_routes(struct daemon *d);

/* The interface with this ifindex, or NULL if not ours. */
struct iface *daemon_iface(struct daemon *d, int ifindex);

#endif /* XDPSEC_DAEMON_H */
