/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Next hops for frames the workers transmit: output interface, source and
 * destination MAC, MTU, taken from the kernel's routing and neighbour
 * tables over rtnetlink.  A monitor thread listens for route, neighbour and
 * link changes and bumps a generation number; each worker keeps its own
 * cache and refreshes an entry when the generation has moved.
 */
#ifndef XDPSEC_NEXTHOP_H
#define XDPSEC_NEXTHOP_H

#include <stdbool.h>
#include <stdint.h>

#include "xdpsec_common.h"

struct nh_table;	/* shared by all workers */
struct nh_cache;	/* one per worker, not thread-safe */

struct nh_hop {
	int ifindex;
	uint8_t smac[6];
	uint8_t dmac[6];
	uint32_t mtu;
	bool local;			/* delivered to this host's stack */
	bool has_src;
	struct xdpsec_addr src;		/* our address towards dst */
};

/*
 * Route queries carry this firewall mark, so that a policy-routing rule
 * can send them to the main table, past the routes that steer the host's
 * own protected traffic into xdpsec (see host.h).
 */
enum { NH_ROUTE_MARK = 0x78647073 };

int nh_table_new(struct nh_table **out);
/* Only interfaces added here are acceptable output interfaces. */
int nh_table_add_iface(struct nh_table *t, int ifindex);
/*
 * Packets for this host's own addresses leave through ifindex (one of the
 * table's interfaces: the far end of the host interface pair) towards
 * dmac (the host end), so that the kernel receives them.  Without it they
 * count as having no route.
 */
int nh_table_set_local(struct nh_table *t, int ifindex, const uint8_t *dmac);

/* Starts the monitor thread.  Returns 0 or a negative errno. */
int nh_table_start(struct nh_table *t);
void nh_table_free(struct nh_table *t);

struct nh_cache *nh_cache_new(struct nh_table *t);
void nh_cache_free(struct nh_cache *c);

/*
 * Resolves the next hop towards dst (4 or 16 bytes, by family).  Returns
 * XDPSEC_CNT_OK, XDPSEC_CNT_DROP_NO_ROUTE (no route, or the route leaves
 * through an interface that is not ours, or is local), or
 * XDPSEC_CNT_DROP_NO_NEIGH (no usable neighbour entry yet: resolution has
 * been started and a later packet will succeed).  Touches netlink only on
 * a cache miss or after a change.
 */
int nh_lookup(struct nh_cache *c, uint8_t family, const void *dst,
	      struct nh_hop *hop);

#endif /* XDPSEC_NEXTHOP_H */
