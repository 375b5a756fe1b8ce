// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "log.h"
#include "spd.h"

enum {
	SPD_HALF = XDPSEC_MAX_POLICIES / 2,
	SPD_NO_SA = XDPSEC_MAX_SA,	/* an index XDP never finds */
};

int spd_init(struct spd *spd, int pol_fd, int spd4_fd, int spd6_fd)
{
	memset(spd, 0, sizeof(*spd));
	spd->pol_fd = pol_fd;
	spd->spd4_fd = spd4_fd;
	spd->spd6_fd = spd6_fd;
	spd->next_id = 1;
	return 0;
}

void spd_fini(struct spd *spd)
{
	free(spd->entries);
	spd->entries = NULL;
	spd->n = 0;
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

/* True if prefix (addr, plen) lies within the policy's destination. */
static bool dst_covers(const struct xdpsec_sel *sel, uint8_t family,
		       const struct xdpsec_addr *addr, uint8_t plen)
{
	return sel->family == family && sel->dst_plen <= plen &&
	       prefix_match(addr->v6, sel->dst.v6, sel->dst_plen);
}

static int spd_write_policies(struct spd *spd, struct sad *sad,
			      unsigned int base)
{
	for (size_t i = 0; i < spd->n; i++) {
		struct xdpsec_policy pol = spd->entries[i].conf.pol;
		const char *sa_name = spd->entries[i].conf.sa_name;
		uint32_t slot = base + i;
		struct sa *sa;

		pol.id = spd->entries[i].id;
		pol.sa_idx = SPD_NO_SA;
		if (sa_name[0]) {
			sa = sad_find_name(sad, sa_name);
			if (sa)
				pol.sa_idx = sa->idx;
		}
		if (bpf_map_update_elem(spd->pol_fd, &slot, &pol, BPF_ANY))
			return -errno;
	}
	return 0;
}

static int spd_chain_for(struct spd *spd, unsigned int base, uint8_t family,
			 const struct xdpsec_addr *addr, uint8_t plen,
			 struct xdpsec_spd_chain *chain, char *err,
			 size_t errlen)
{
	memset(chain, 0, sizeof(*chain));
	for (size_t i = 0; i < spd->n; i++) {
		if (!dst_covers(&spd->entries[i].conf.pol.sel, family, addr,
				plen))
			continue;
		if (chain->count == XDPSEC_CHAIN_LEN) {
			snprintf(err, errlen,
				 "more than %d policies cover one destination prefix",
				 XDPSEC_CHAIN_LEN);
			return -E2BIG;
		}
		chain->idx[chain->count++] = base + i;
	}
	return 0;
}

static int spd_trie_update(struct spd *spd, const struct xdpsec_sel *sel,
			   const struct xdpsec_spd_chain *chain)
{
	struct xdpsec_spd4_key k4 = { .prefixlen = sel->dst_plen };
	struct xdpsec_spd6_key k6 = { .prefixlen = sel->dst_plen };

	if (sel->family == XDPSEC_AF_INET) {
		k4.addr = sel->dst.v4;
		return bpf_map_update_elem(spd->spd4_fd, &k4, chain, BPF_ANY);
	}
	memcpy(k6.addr, sel->dst.v6, sizeof(k6.addr));
	return bpf_map_update_elem(spd->spd6_fd, &k6, chain, BPF_ANY);
}

/* Deletes trie keys that no policy's destination prefix uses any more. */
static void spd_trie_prune(struct spd *spd, int fd, uint8_t family,
			   size_t key_len)
{
	uint8_t key[sizeof(struct xdpsec_spd6_key)];
	uint8_t next[sizeof(struct xdpsec_spd6_key)];
	void *prev = NULL;

	while (!bpf_map_get_next_key(fd, prev, next)) {
		const uint32_t *plen = (const uint32_t *)next;
		struct xdpsec_addr addr = { 0 };
		bool used = false;

		memcpy(addr.v6, next + 4, key_len - 4);
		for (size_t i = 0; i < spd->n && !used; i++) {
			const struct xdpsec_sel *s = &spd->entries[i].conf.pol.sel;

			used = s->family == family && s->dst_plen == *plen &&
			       !memcmp(s->dst.v6, addr.v6, key_len - 4);
		}
		memcpy(key, next, key_len);
		if (!used && !bpf_map_delete_elem(fd, key))
			continue;	/* restart from the same point */
		prev = key;
	}
}

int spd_compile(struct spd *spd, struct sad *sad, char *err, size_t errlen)
{
	unsigned int half = spd->half ^ 1, base = half * SPD_HALF;
	struct xdpsec_spd_chain chain;
	int ret;

	if (spd->n > SPD_HALF) {
		snprintf(err, errlen, "too many policies (at most %d)",
			 SPD_HALF);
		return -E2BIG;
	}
	qsort(spd->entries, spd->n, sizeof(*spd->entries), entry_cmp);
	ret = spd_write_policies(spd, sad, base);
	if (ret) {
		snprintf(err, errlen, "cannot write policies: %s",
			 strerror(-ret));
		return ret;
	}

	for (size_t i = 0; i < spd->n; i++) {
		const struct xdpsec_sel *sel = &spd->entries[i].conf.pol.sel;

		ret = spd_chain_for(spd, base, sel->family, &sel->dst,
				    sel->dst_plen, &chain, err, errlen);
		if (ret)
			return ret;
		if (spd_trie_update(spd, sel, &chain)) {
			ret = -errno;
			snprintf(err, errlen, "cannot update the SPD trie: %s",
				 strerror(errno));
			return ret;
		}
	}
	spd_trie_prune(spd, spd->spd4_fd, XDPSEC_AF_INET,
		       sizeof(struct xdpsec_spd4_key));
	spd_trie_prune(spd, spd->spd6_fd, XDPSEC_AF_INET6,
		       sizeof(struct xdpsec_spd6_key));
	spd->half = half;
	return 0;
}

struct spd_entry *spd_find_name(struct spd *spd, const char *name)
{
	for (size_t i = 0; i < spd->n; i++)
		if (!strcmp(spd->entries[i].conf.name, name))
			return &spd->entries[i];
	return NULL;
}

/* Appends a policy without compiling; returns its id or -ENOMEM. */
static int spd_append(struct spd *spd, const struct policy_conf *conf,
		      bool from_config)
{
	struct spd_entry *grown;

	grown = realloc(spd->entries, (spd->n + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	spd->entries = grown;
	spd->entries[spd->n++] = (struct spd_entry){
		.id = spd->next_id++,
		.from_config = from_config,
		.conf = *conf,
	};
	return spd->entries[spd->n - 1].id;
}

int spd_add(struct spd *spd, struct sad *sad, const struct policy_conf *conf,
	    bool from_config, char *err, size_t errlen)
{
	int id, ret;

	if (spd_find_name(spd, conf->name)) {
		snprintf(err, errlen, "a policy named %s exists", conf->name);
		return -EEXIST;
	}
	id = spd_append(spd, conf, from_config);
	if (id < 0)
		return id;

	ret = spd_compile(spd, sad, err, errlen);
	if (ret) {
		/* Take it out again; the previous compile stays valid. */
		spd_del(spd, sad, id);
		return ret;
	}
	log_info("policy %s added (id %d)", conf->name, id);
	return id;
}

int spd_replace_config(struct spd *spd, struct sad *sad,
		       const struct policy_conf *confs, size_t n, char *err,
		       size_t errlen)
{
	size_t kept = 0;
	int ret;

	for (size_t i = 0; i < spd->n; i++)
		if (!spd->entries[i].from_config)
			spd->entries[kept++] = spd->entries[i];
	spd->n = kept;

	for (size_t i = 0; i < n; i++) {
		ret = spd_append(spd, &confs[i], true);
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
		spd->entries[i] = spd->entries[--spd->n];
		return spd_compile(spd, sad, err, sizeof(err));
	}
	return -ENOENT;
}
