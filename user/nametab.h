/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Names to numbers: the SAD finds SAs and the SPD policies by name through
 * this, so that lookups stay constant-time with hundreds of thousands of
 * entries.  A chained hash table that grows as it fills; not thread-safe
 * (the daemon changes the SAD and SPD under one lock).
 */
#ifndef XDPSEC_NAMETAB_H
#define XDPSEC_NAMETAB_H

#include <stddef.h>
#include <stdint.h>

struct nametab_node;

struct nametab {
	struct nametab_node **buckets;
	size_t n_buckets;		/* a power of two, or 0 */
	size_t count;
};

void nametab_init(struct nametab *t);
void nametab_fini(struct nametab *t);

/* Adds name -> val; -EEXIST if name is there, -ENOMEM. */
int nametab_add(struct nametab *t, const char *name, uint32_t val);
/* Sets the value of a name that is there; -ENOENT otherwise. */
int nametab_set(struct nametab *t, const char *name, uint32_t val);
/* 0 and *val, or -ENOENT. */
int nametab_get(const struct nametab *t, const char *name, uint32_t *val);
/* Removes name; -ENOENT if it is not there. */
int nametab_del(struct nametab *t, const char *name);

#endif /* XDPSEC_NAMETAB_H */
