// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "log.h"
#include "spd.h"

int spd_init(struct spd *spd, int pol_fd, int spd4_fd, int spd6_fd,
	     uint32_t max)
{
	memset(spd, 0, sizeof(*spd));
	spd->pol_fd = pol_fd;
	spd->spd4_fd = spd4_fd;
	spd->spd6_fd = spd6_fd;
	spd->max = max;
	spd->next_id = 1;
	nametab_init(&spd->names);
	return 0;
}

void spd_fini(struct spd *spd)
{
	free(spd->entries);
	spd->entries = NULL;
	spd->n = 0;
	spd->cap = 0;
	nametab_fini(&spd->names);
}

static bool prefix_match(const uint8_t *addr, const uint8_t *net,
			 unsigned int plen)
{
	unsigned int bytes = plen / 8, bits = plen % 8;

	if (memcmp(addr, net, bytes))
		return false;
	if (!bits)
		return true;
	return !((addr[bytes] ^ net[bytes]) & (0xff00 >> bits));
}

static bool range_narrowed(uint16_t lo, uint16_t hi)
{
	return lo != 0 || hi != 0xffff;
}

bool sel_match(const struct xdpsec_sel *sel, uint8_t family,
	       const void *src, const void *dst, uint8_t proto, bool has_ports,
	       uint16_t sport, uint16_t dport)
{
	bool ports = range_narrowed(sel->sport_lo, sel->sport_hi) ||
		     range_narrowed(sel->dport_lo, sel->dport_hi);

	if (sel->family != family)
		return false;
	if (!prefix_match(src, sel->src.v6, sel->src_plen) ||
	    !prefix_match(dst, sel->dst.v6, sel->dst_plen))
		return false;
	if (sel->proto && sel->proto != proto)
		return false;
	if (!ports)
		return true;
	if (!has_ports || (proto != XDPSEC_IPPROTO_TCP &&
			   proto != XDPSEC_IPPROTO_UDP))
		return false;
	return sport >= sel->sport_lo && sport <= sel->sport_hi &&
	       dport >= sel->dport_lo && dport <= sel->dport_hi;
}

/* SPD order: priority, then the order policies were added. */
static int entry_cmp(const void *a, const void *b)
{
	const struct spd_entry *x = a, *y = b;

	if (x->conf.pol.priority != y->conf.pol.priority)
		return x->conf.pol.priority < y->conf.pol.priority ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* Sorts the entries into SPD order; the name index follows them. */
static void spd_sort(struct spd *spd)
{
	qsort(spd->entries, spd->n, sizeof(*spd->entries), entry_cmp);
	for (size_t i = 0; i < spd->n; i++)
		nametab_set(&spd->names, spd->entries[i].conf.name, i);
}

/*
 * The destination prefixes of the SPD, each with the policies that name
 * it exactly, in SPD order: an open-addressing table rebuilt by each
 * compile.  A prefix's chain is then found by looking up each shorter
 * prefix that contains it, at most 129 lookups, instead of checking every
 * policy against it.
 */
struct spd_group {
	struct xdpsec_addr addr;	/* masked to plen */
	uint8_t family;			/* 0: an empty slot */
	uint8_t plen;
	uint32_t head;			/* first entry; next[] links the rest */
	uint32_t tail;
};

struct spd_groups {
	struct spd_group *tab;
	size_t size;			/* a power of two */
	uint32_t *next;			/* per entry; UINT32_MAX ends a list */
	struct spd_group **list;	/* the used slots, in no order */
	size_t n;
};

static void addr_masked(const struct xdpsec_addr *in, uint8_t family,
			unsigned int plen, struct xdpsec_addr *out)
{
	unsigned int len = family == XDPSEC_AF_INET ? 4 : 16;
	unsigned int bytes = plen / 8, bits = plen % 8;

	memset(out, 0, sizeof(*out));
	memcpy(out->v6, in->v6, bytes < len ? bytes : len);
	if (bits && bytes < len)
		out->v6[bytes] = in->v6[bytes] & (0xff00 >> bits);
}

static size_t group_hash(uint8_t family, uint8_t plen,
			 const struct xdpsec_addr *a)
{
	uint64_t h = 0xcbf29ce484222325ull ^ (family << 8 | plen);

	for (size_t i = 0; i < sizeof(a->v6); i++)
		h = (h ^ a->v6[i]) * 0x100000001b3ull;
	return h ^ (h >> 29);
}

/* The group of a masked prefix, or the empty slot where it would go. */
static struct spd_group *group_slot(const struct spd_groups *g,
				    uint8_t family, uint8_t plen,
				    const struct xdpsec_addr *a)
{
	size_t i = group_hash(family, plen, a) & (g->size - 1);

	for (;; i = (i + 1) & (g->size - 1)) {
		struct spd_group *s = &g->tab[i];

		if (!s->family || (s->family == family && s->plen == plen &&
				   !memcmp(&s->addr, a, sizeof(*a))))
			return s;
	}
}

static void groups_free(struct spd_groups *g)
{
	free(g->tab);
	free(g->next);
	free(g->list);
	memset(g, 0, sizeof(*g));
}

static int groups_build(const struct spd *spd, struct spd_groups *g)
{
	memset(g, 0, sizeof(*g));
	for (g->size = 16; g->size < spd->n * 2; g->size *= 2)
		;
	g->tab = calloc(g->size, sizeof(*g->tab));
	g->next = calloc(spd->n ? spd->n : 1, sizeof(*g->next));
	g->list = calloc(spd->n ? spd->n : 1, sizeof(*g->list));
	if (!g->tab || !g->next || !g->list) {
		groups_free(g);
		return -ENOMEM;
	}
	for (size_t i = 0; i < spd->n; i++) {
		const struct xdpsec_sel *sel = &spd->entries[i].conf.pol.sel;
		struct xdpsec_addr a;
		struct spd_group *s;

		addr_masked(&sel->dst, sel->family, sel->dst_plen, &a);
		s = group_slot(g, sel->family, sel->dst_plen, &a);
		g->next[i] = UINT32_MAX;
		if (s->family) {
			g->next[s->tail] = i;
			s->tail = i;
			continue;
		}
		*s = (struct spd_group){ .addr = a, .family = sel->family,
					 .plen = sel->dst_plen, .head = i,
					 .tail = i };
		g->list[g->n++] = s;
	}
	return 0;
}

static int idx_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * Every policy whose destination contains the group's prefix, in SPD
 * order (entries are sorted, so that is index order).
 */
static int chain_for(const struct spd_groups *g, const struct spd_group *grp,
		     unsigned int base, struct xdpsec_spd_chain *chain,
		     char *err, size_t errlen)
{
	memset(chain, 0, sizeof(*chain));
	for (unsigned int plen = 0; plen <= grp->plen; plen++) {
		const struct spd_group *s;
		struct xdpsec_addr a;

		addr_masked(&grp->addr, grp->family, plen, &a);
		s = group_slot(g, grp->family, plen, &a);
		for (uint32_t i = s->family ? s->head : UINT32_MAX;
		     i != UINT32_MAX; i = g->next[i]) {
			if (chain->count == XDPSEC_CHAIN_LEN) {
				snprintf(err, errlen,
					 "more than %d policies cover one destination prefix",
					 XDPSEC_CHAIN_LEN);
				return -E2BIG;
			}
			chain->idx[chain->count++] = i;
		}
	}
	qsort(chain->idx, chain->count, sizeof(chain->idx[0]), idx_cmp);
	for (uint32_t i = 0; i < chain->count; i++)
		chain->idx[i] += base;
	return 0;
}

/* Writes n values at keys base.. into an array map, in one call if it can. */
static int array_write(int fd, unsigned int base, const void *vals,
		       size_t val_size, size_t n)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	uint32_t *keys = malloc((n ? n : 1) * sizeof(*keys));
	__u32 count = n;
	int ret = 0;

	if (!keys)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		keys[i] = base + i;
	if (n && bpf_map_update_batch(fd, keys, vals, &count, &opts)) {
		/* Kernels without batch updates take them one by one. */
		for (size_t i = 0; i < n && !ret; i++)
			if (bpf_map_update_elem(fd, &keys[i],
						(const char *)vals +
							i * val_size,
						BPF_ANY))
				ret = -errno;
	}
	free(keys);
	return ret;
}

static int spd_write_policies(struct spd *spd, struct sad *sad,
			      unsigned int base)
{
	struct xdpsec_policy *pols;
	int ret;

	pols = calloc(spd->n ? spd->n : 1, sizeof(*pols));
	if (!pols)
		return -ENOMEM;
	spd->unresolved = 0;
	for (size_t i = 0; i < spd->n; i++) {
		const char *sa_name = spd->entries[i].conf.sa_name;
		struct sa *sa = sa_name[0] ? sad_find_name(sad, sa_name) :
					     NULL;

		pols[i] = spd->entries[i].conf.pol;
		pols[i].id = spd->entries[i].id;
		/* An index past the map's end: XDP never finds it. */
		pols[i].sa_idx = sa ? sa->idx : sad->n_slots;
		if (sa_name[0] && !sa)
			spd->unresolved++;
	}
	ret = array_write(spd->pol_fd, base, pols, sizeof(*pols), spd->n);
	free(pols);
	return ret;
}

static int spd_trie_update(struct spd *spd, const struct spd_group *grp,
			   const struct xdpsec_spd_chain *chain)
{
	struct xdpsec_spd4_key k4 = { .prefixlen = grp->plen };
	struct xdpsec_spd6_key k6 = { .prefixlen = grp->plen };

	if (grp->family == XDPSEC_AF_INET) {
		k4.addr = grp->addr.v4;
		return bpf_map_update_elem(spd->spd4_fd, &k4, chain, BPF_ANY);
	}
	memcpy(k6.addr, grp->addr.v6, sizeof(k6.addr));
	return bpf_map_update_elem(spd->spd6_fd, &k6, chain, BPF_ANY);
}

/* Deletes trie keys that no policy's destination prefix uses any more. */
static void spd_trie_prune(const struct spd_groups *g, int fd,
			   uint8_t family, size_t key_len)
{
	uint8_t key[sizeof(struct xdpsec_spd6_key)];
	uint8_t next[sizeof(struct xdpsec_spd6_key)];
	void *prev = NULL;

	while (!bpf_map_get_next_key(fd, prev, next)) {
		const uint32_t *plen = (const uint32_t *)next;
		struct xdpsec_addr addr = { 0 };

		memcpy(addr.v6, next + 4, key_len - 4);
		memcpy(key, next, key_len);
		if (!group_slot(g, family, *plen, &addr)->family &&
		    !bpf_map_delete_elem(fd, key))
			continue;	/* restart from the same point */
		prev = key;
	}
}

/* Every chain, before any map is touched: a refusal changes nothing. */
static int spd_chains(const struct spd_groups *g, unsigned int base,
		      struct xdpsec_spd_chain **out, char *err, size_t errlen)
{
	struct xdpsec_spd_chain *chains;
	int ret;

	chains = calloc(g->n ? g->n : 1, sizeof(*chains));
	if (!chains)
		return -ENOMEM;
	for (size_t i = 0; i < g->n; i++) {
		ret = chain_for(g, g->list[i], base, &chains[i], err, errlen);
		if (ret) {
			free(chains);
			return ret;
		}
	}
	*out = chains;
	return 0;
}

static int spd_write_tries(struct spd *spd, const struct spd_groups *g,
			   const struct xdpsec_spd_chain *chains, char *err,
			   size_t errlen)
{
	for (size_t i = 0; i < g->n; i++) {
		if (spd_trie_update(spd, g->list[i], &chains[i])) {
			snprintf(err, errlen, "cannot update the SPD trie: %s",
				 strerror(errno));
			return -errno;
		}
	}
	spd_trie_prune(g, spd->spd4_fd, XDPSEC_AF_INET,
		       sizeof(struct xdpsec_spd4_key));
	spd_trie_prune(g, spd->spd6_fd, XDPSEC_AF_INET6,
		       sizeof(struct xdpsec_spd6_key));
	return 0;
}

int spd_compile(struct spd *spd, struct sad *sad, char *err, size_t errlen)
{
	unsigned int half = spd->half ^ 1, base = half * spd->max;
	struct xdpsec_spd_chain *chains = NULL;
	struct spd_groups g;
	int ret;

	if (spd->n > spd->max) {
		snprintf(err, errlen,
			 "too many policies (max_policies is %u)", spd->max);
		return -E2BIG;
	}
	spd_sort(spd);
	ret = groups_build(spd, &g);
	if (!ret)
		ret = spd_chains(&g, base, &chains, err, errlen);
	if (ret)
		goto out;

	ret = spd_write_policies(spd, sad, base);
	if (ret) {
		snprintf(err, errlen, "cannot write policies: %s",
			 strerror(-ret));
		goto out;
	}
	ret = spd_write_tries(spd, &g, chains, err, errlen);
	if (ret)
		goto out;
	spd->half = half;
	spd->n_pending = 0;
out:
	if (ret == -ENOMEM && !err[0])
		snprintf(err, errlen, "out of memory");
	free(chains);
	groups_free(&g);
	return ret;
}

struct spd_entry *spd_find_name(struct spd *spd, const char *name)
{
	uint32_t i;

	if (nametab_get(&spd->names, name, &i))
		return NULL;
	return &spd->entries[i];
}

/* Appends a policy without compiling; returns its id or -errno. */
static int spd_append(struct spd *spd, const struct policy_conf *conf,
		      bool from_config)
{
	struct spd_entry *grown;
	size_t cap;
	int ret;

	if (spd->n == spd->cap) {
		cap = spd->cap ? spd->cap * 2 : 64;
		grown = realloc(spd->entries, cap * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		spd->entries = grown;
		spd->cap = cap;
	}
	ret = nametab_add(&spd->names, conf->name, spd->n);
	if (ret)
		return ret;
	spd->entries[spd->n++] = (struct spd_entry){
		.id = spd->next_id++,
		.from_config = from_config,
		.conf = *conf,
	};
	return spd->entries[spd->n - 1].id;
}

/* Takes entry i out of the list, without compiling. */
static void spd_remove_at(struct spd *spd, size_t i)
{
	nametab_del(&spd->names, spd->entries[i].conf.name);
	spd->entries[i] = spd->entries[--spd->n];
	if (i < spd->n)
		nametab_set(&spd->names, spd->entries[i].conf.name, i);
}

/* Takes out the policies with ids from first on, and restores SPD order. */
static size_t spd_drop_from(struct spd *spd, uint32_t first)
{
	size_t dropped = 0;

	for (size_t i = spd->n; i-- > 0;) {
		if (spd->entries[i].id < first)
			continue;
		spd_remove_at(spd, i);
		dropped++;
	}
	spd_sort(spd);
	return dropped;
}

int spd_add(struct spd *spd, struct sad *sad, const struct policy_conf *conf,
	    bool from_config, char *err, size_t errlen)
{
	int id, ret;

	if (spd_find_name(spd, conf->name)) {
		snprintf(err, errlen, "a policy named %s exists", conf->name);
		return -EEXIST;
	}
	if (spd->n >= spd->max) {
		snprintf(err, errlen,
			 "the SPD is full (%u policies): raise max_policies in [daemon]",
			 spd->max);
		return -ENOSPC;
	}
	id = spd_append(spd, conf, from_config);
	if (id < 0)
		return id;
	if (spd->deferred) {
		spd->n_pending++;
		return id;
	}

	ret = spd_compile(spd, sad, err, errlen);
	if (ret) {
		/* A refused compile left the maps as they were. */
		spd_drop_from(spd, id);
		return ret;
	}
	log_info("policy %s added (id %d)", conf->name, id);
	return id;
}

int spd_flush(struct spd *spd, struct sad *sad, size_t *dropped, char *err,
	      size_t errlen)
{
	uint32_t first = spd->next_id - spd->n_pending;
	int ret;

	*dropped = 0;
	if (!spd->n_pending)
		return 0;
	ret = spd_compile(spd, sad, err, errlen);
	if (ret) {
		*dropped = spd_drop_from(spd, first);
		spd->n_pending = 0;
		return ret;
	}
	log_info("%u policies added, SPD compiled once", spd->next_id - first);
	return 0;
}

int spd_replace_config(struct spd *spd, struct sad *sad,
		       const struct policy_conf *confs, size_t n, char *err,
		       size_t errlen)
{
	int ret;

	for (size_t i = spd->n; i-- > 0;)
		if (spd->entries[i].from_config)
			spd_remove_at(spd, i);

	for (size_t i = 0; i < n; i++) {
		ret = spd_append(spd, &confs[i], true);
		if (ret == -EEXIST)
			snprintf(err, errlen,
				 "[policy %s]: a policy of that name was added through the control socket",
				 confs[i].name);
		else if (ret < 0)
			snprintf(err, errlen, "[policy %s]: %s", confs[i].name,
				 strerror(-ret));
		if (ret < 0)
			return ret;
	}
	return spd_compile(spd, sad, err, errlen);
}

int spd_del(struct spd *spd, struct sad *sad, uint32_t id)
{
	char err[CONFIG_ERR_MAX];

	for (size_t i = 0; i < spd->n; i++) {
		if (spd->entries[i].id != id)
			continue;
		spd_remove_at(spd, i);
		return spd_compile(spd, sad, err, sizeof(err));
	}
	return -ENOENT;
}
