/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The security policy database.  Policies are kept here in their
 * configured form and compiled into the "policies" array and the
 * "spd4"/"spd6" tries that XDP walks.  Each compile writes into the half of
 * the policy array that XDP is not using, then swings the tries over, so
 * XDP never sees a half-written SPD.
 */
#ifndef XDPSEC_SPD_H
#define XDPSEC_SPD_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "nametab.h"
#include "sad.h"
#include "xdpsec_common.h"

struct spd_entry {
	uint32_t id;
	bool from_config;
	struct policy_conf conf;
};

struct spd {
	struct spd_entry *entries;	/* in SPD order after a compile */
	size_t n;
	size_t cap;
	uint32_t max;			/* max_policies: each half's size */
	uint32_t next_id;
	unsigned int half;		/* the half of "policies" XDP uses */
	uint32_t no_sa;			/* an SA index XDP never finds */
	size_t unresolved;		/* policies whose SA was missing */
	struct nametab names;		/* name -> index in entries */
	/*
	 * While set, adds only append and spd_flush() compiles once: a
	 * batch of requests then costs one compile, not one each.
	 */
	bool deferred;
	size_t n_pending;		/* appended since the last compile */
	int pol_fd;
	int spd4_fd;
	int spd6_fd;
};

/* max is max_policies; the "policies" map has 2 * max entries. */
int spd_init(struct spd *spd, int pol_fd, int spd4_fd, int spd6_fd,
	     uint32_t max);
void spd_fini(struct spd *spd);

/* Adds a checked policy and recompiles.  Returns its id or -errno. */
int spd_add(struct spd *spd, struct sad *sad, const struct policy_conf *conf,
	    bool from_config, char *err, size_t errlen);
int spd_del(struct spd *spd, struct sad *sad, uint32_t id);

/*
 * Replaces every policy that came from the configuration file with confs,
 * keeping those added through the control socket, and compiles once.
 */
int spd_replace_config(struct spd *spd, struct sad *sad,
		       const struct policy_conf *confs, size_t n, char *err,
		       size_t errlen);
struct spd_entry *spd_find_name(struct spd *spd, const char *name);

/* Rebuilds the maps, resolving SA names to indexes as they are now. */
int spd_compile(struct spd *spd, struct sad *sad, char *err, size_t errlen);

/*
 * Compiles what was appended while deferred.  If that fails, the policies
 * appended since the last good compile are taken out again, and the maps
 * stay as they were; *dropped says how many.
 */
int spd_flush(struct spd *spd, struct sad *sad, size_t *dropped, char *err,
	      size_t errlen);

/*
 * True if a packet with these fields matches sel: prefixes, protocol
 * (0 = any) and port ranges (ports only for TCP/UDP, has_ports false for
 * non-first fragments).
 */
bool sel_match(const struct xdpsec_sel *sel, uint8_t family,
	       const void *src, const void *dst, uint8_t proto, bool has_ports,
	       uint16_t sport, uint16_t dport);

#endif /* XDPSEC_SPD_H */
