/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The host interface: how traffic this machine itself sends and receives
 * passes through xdpsec.  XDP only sees frames arriving on an interface,
 * so the daemon creates a veth pair: the kernel routes protected
 * destinations into the host end (NAME), and the far end (NAME + "x")
 * carries the XDP program and AF_XDP sockets like any other interface.
 * Decrypted packets for this host go back the same way, into the kernel.
 *
 * Those routes live in their own table, looked up by a rule that the
 * workers' own route queries skip (they carry NH_ROUTE_MARK and find the
 * main table first), so the underlay stays reachable.
 */
#ifndef XDPSEC_HOST_H
#define XDPSEC_HOST_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xdpsec_common.h"

enum host_routing {
	HOST_TABLE = 0x7864,		/* the table of protected routes */
	HOST_RULE_PREF_MARK = 0x7863,	/* workers' queries: main table */
	HOST_RULE_PREF = 0x7864,	/* everything else: HOST_TABLE */
	HOST_RT_PROTO = 0x9c,		/* marks routes as ours */
	/*
	 * The pair's link MTU, at least: decrypted packets for this host
	 * arrive through it as large as the underlay carried them.  What
	 * the host sends into the tunnel is held to host_mtu by the MTU of
	 * the routes instead.
	 */
	HOST_LINK_MTU_MIN = 1500,
};

struct host_if {
	char name[IF_NAMESIZE];		/* the kernel's end */
	char peer[IF_NAMESIZE];		/* our end */
	int ifindex;
	int peer_ifindex;
	uint8_t mac[6];			/* of the kernel's end */
	uint32_t route_mtu;		/* host_mtu: the routes' MTU */
};

/*
 * Creates (or takes over an existing) pair NAME / NAME + "x", its routes to
 * carry the given MTU, brings both up, turns off ARP and checksum offload on the kernel's
 * end (frames leave it through XDP with finished checksums), and installs
 * the policy-routing rules for both families.
 */
int host_if_setup(struct host_if *h, const char *name, uint32_t mtu);

/*
 * A route in HOST_TABLE: into the host interface (traffic a policy
 * protects or discards), or a throw route (bypass inside such a prefix:
 * the lookup goes on to the main table).
 */
struct host_route {
	uint8_t family;
	uint8_t plen;
	bool throw;
	struct xdpsec_addr dst;
};

/*
 * Makes HOST_TABLE hold exactly the n routes of want: adds the missing
 * ones and deletes those of ours that are no longer wanted.  Returns 0 or
 * the first error; a prefix the kernel refuses does not stop the others.
 */
int host_routes_sync(struct host_if *h, const struct host_route *want,
		     size_t n);

/* Removes the routes and rules; the pair stays, so traffic fails closed. */
void host_routes_flush(void);

/* Deletes the pair and with it everything routed into it. */
int host_if_delete(const char *name);

#endif /* XDPSEC_HOST_H */
