// SPDX-License-Identifier: GPL-2.0-only
/*
 * The SPD compiler against real maps of the kinds XDP reads: each
 * destination prefix's chain lists every policy that covers it, in
 * priority order; deleted prefixes leave the tries; a batch the SPD cannot
 * take leaves the maps as they were; and a large SPD compiles.  The SAD is
 * a stand-in with a few named SAs.  Needs CAP_BPF: skipped without it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "check.h"
#include "spd.h"

enum {
	MAX_POLICIES = 32768,
	N_SLOTS = 64,		/* of the stand-in SAD */
	MANY = 20000,
};

static struct sa stand_in[2] = {
	{ .idx = 5, .name = "sa-a" },
	{ .idx = 6, .name = "sa-b" },
};
static unsigned int n_stand_in = 1;	/* sa-b comes later */

/* The stand-in SAD: spd.c only looks SAs up by name. */
struct sa *sad_find_name(struct sad *db, const char *name)
{
	(void)db;
	for (unsigned int i = 0; i < n_stand_in; i++)
		if (!strcmp(stand_in[i].name, name))
			return &stand_in[i];
	return NULL;
}

static struct sad sad = { .n_slots = N_SLOTS };
static struct spd spd;

static int maps_create(void)
{
	LIBBPF_OPTS(bpf_map_create_opts, lpm,
		    .map_flags = BPF_F_NO_PREALLOC);
	int pol, t4, t6;

	pol = bpf_map_create(BPF_MAP_TYPE_ARRAY, "policies", sizeof(__u32),
			     sizeof(struct xdpsec_policy), 2 * MAX_POLICIES,
			     NULL);
	t4 = bpf_map_create(BPF_MAP_TYPE_LPM_TRIE, "spd4",
			    sizeof(struct xdpsec_spd4_key),
			    sizeof(struct xdpsec_spd_chain), MAX_POLICIES,
			    &lpm);
	t6 = bpf_map_create(BPF_MAP_TYPE_LPM_TRIE, "spd6",
			    sizeof(struct xdpsec_spd6_key),
			    sizeof(struct xdpsec_spd_chain), MAX_POLICIES,
			    &lpm);
	if (pol < 0 || t4 < 0 || t6 < 0)
		return -errno;
	return spd_init(&spd, pol, t4, t6, MAX_POLICIES);
}

static int add(const char *name, const char *dir, const char *dst,
	       const char *prio, const char *sa)
{
	char err[CONFIG_ERR_MAX] = "";
	struct policy_conf c;

	config_policy_init(&c, name);
	if (config_policy_set(&c, "dir", dir, err, sizeof(err)) ||
	    config_policy_set(&c, "src", strchr(dst, ':') ? "::/0" :
			      "0.0.0.0/0", err, sizeof(err)) ||
	    config_policy_set(&c, "dst", dst, err, sizeof(err)) ||
	    config_policy_set(&c, "priority", prio, err, sizeof(err)) ||
	    config_policy_set(&c, "action", sa ? "protect" : "bypass", err,
			      sizeof(err)) ||
	    (sa && config_policy_set(&c, "sa", sa, err, sizeof(err)))) {
		printf("policy %s: %s\n", name, err);
		return -EINVAL;
	}
	return spd_add(&spd, &sad, &c, false, err, sizeof(err));
}

/* The policy ids of the chain at (dst, plen), in order, as "1,2,3". */
static const char *chain_ids(const char *dst, unsigned int plen, char *buf,
			     size_t len)
{
	struct xdpsec_spd4_key k4 = { .prefixlen = plen };
	struct xdpsec_spd6_key k6 = { .prefixlen = plen };
	struct xdpsec_spd_chain chain;
	struct xdpsec_policy pol;
	size_t off = 0;
	int ret;

	if (strchr(dst, ':')) {
		inet_pton(AF_INET6, dst, k6.addr);
		ret = bpf_map_lookup_elem(spd.spd6_fd, &k6, &chain);
	} else {
		inet_pton(AF_INET, dst, &k4.addr);
		ret = bpf_map_lookup_elem(spd.spd4_fd, &k4, &chain);
	}
	if (ret)
		return "none";
	buf[0] = '\0';
	for (__u32 i = 0; i < chain.count && off < len; i++) {
		if (bpf_map_lookup_elem(spd.pol_fd, &chain.idx[i], &pol))
			return "bad index";
		off += snprintf(buf + off, len - off, "%s%u", i ? "," : "",
				pol.id);
	}
	return buf;
}

/* Whether the IPv4 trie holds exactly (dst, plen): lookups match longest. */
static bool trie4_has(const char *dst, unsigned int plen)
{
	struct xdpsec_spd4_key want = { .prefixlen = plen }, key, *prev = NULL;

	inet_pton(AF_INET, dst, &want.addr);
	while (!bpf_map_get_next_key(spd.spd4_fd, prev, &key)) {
		if (!memcmp(&key, &want, sizeof(key)))
			return true;
		prev = &key;
	}
	return false;
}

/* Nested prefixes of both families, with priorities out of add order. */
static void test_chains(void)
{
	char b[128];

	CHECK(add("a", "out", "10.0.0.0/8", "100", NULL) == 1, "add a");
	CHECK(add("b", "out", "10.1.0.0/16", "50", "sa-a") == 2, "add b");
	CHECK(add("c", "out", "10.1.2.3/32", "200", "sa-b") == 3, "add c");
	CHECK(add("d", "out", "0.0.0.0/0", "300", NULL) == 4, "add d");
	CHECK(add("e", "in", "2001:db8::/32", "10", NULL) == 5, "add e");
	CHECK(add("a", "out", "10.9.0.0/16", "10", NULL) == -EEXIST,
	      "a name once");

	CHECK(!strcmp(chain_ids("10.1.2.3", 32, b, sizeof(b)), "2,1,3,4"),
	      "10.1.2.3/32: %s", b);
	CHECK(!strcmp(chain_ids("10.1.0.0", 16, b, sizeof(b)), "2,1,4"),
	      "10.1.0.0/16: %s", b);
	CHECK(!strcmp(chain_ids("10.0.0.0", 8, b, sizeof(b)), "1,4"),
	      "10.0.0.0/8: %s", b);
	CHECK(!strcmp(chain_ids("0.0.0.0", 0, b, sizeof(b)), "4"),
	      "0.0.0.0/0: %s", b);
	CHECK(!strcmp(chain_ids("2001:db8::", 32, b, sizeof(b)), "5"),
	      "2001:db8::/32: %s", b);
	CHECK(spd.unresolved == 1, "sa-b is not there yet: %zu",
	      spd.unresolved);
	CHECK(spd_find_name(&spd, "c") &&
		      spd_find_name(&spd, "c")->conf.pol.priority == 200,
	      "found by name");
}

/* An SA that comes later is resolved by the next compile. */
static void test_resolve(void)
{
	struct xdpsec_policy pol;
	char err[CONFIG_ERR_MAX];
	__u32 slot = spd.half * MAX_POLICIES + 3;	/* c: fourth */

	CHECK(!bpf_map_lookup_elem(spd.pol_fd, &slot, &pol) && pol.id == 3 &&
		      pol.sa_idx == N_SLOTS,
	      "c points past the SAD: %u", pol.sa_idx);
	n_stand_in = 2;
	CHECK(!spd_compile(&spd, &sad, err, sizeof(err)), "compile: %s", err);
	slot = spd.half * MAX_POLICIES + 3;
	CHECK(!bpf_map_lookup_elem(spd.pol_fd, &slot, &pol) && pol.id == 3 &&
		      pol.sa_idx == 6 && spd.unresolved == 0,
	      "c resolved to sa-b: %u", pol.sa_idx);
}

/* A deleted policy's prefix leaves the trie; the others follow. */
static void test_delete(void)
{
	char b[128];

	CHECK(!spd_del(&spd, &sad, 2), "delete b");
	CHECK(!trie4_has("10.1.0.0", 16) && trie4_has("10.0.0.0", 8),
	      "10.1.0.0/16 pruned, 10.0.0.0/8 kept");
	CHECK(!strcmp(chain_ids("10.1.2.3", 32, b, sizeof(b)), "1,3,4"),
	      "10.1.2.3/32 after: %s", b);
	CHECK(!spd_find_name(&spd, "b") && spd_find_name(&spd, "e"),
	      "names follow the delete");
	CHECK(spd_del(&spd, &sad, 2) == -ENOENT, "b is gone");
}

/* Seventeen policies over one prefix: refused, and taken out again. */
static void test_refused_batch(void)
{
	char name[16], b[128], err[CONFIG_ERR_MAX] = "";
	size_t n = spd.n, dropped = 0;
	int ret = 0;

	spd.deferred = true;
	for (int i = 0; i < XDPSEC_CHAIN_LEN + 1 && ret >= 0; i++) {
		snprintf(name, sizeof(name), "w%d", i);
		ret = add(name, "out", "10.1.2.0/24", "100", NULL);
	}
	CHECK(ret > 0 && spd.n_pending == XDPSEC_CHAIN_LEN + 1,
	      "deferred adds only append: %d", ret);
	CHECK(!trie4_has("10.1.2.0", 24), "nothing compiled yet");
	ret = spd_flush(&spd, &sad, &dropped, err, sizeof(err));
	spd.deferred = false;
	CHECK(ret == -E2BIG && strstr(err, "more than 16 policies"),
	      "flush refused: %d %s", ret, err);
	CHECK(dropped == XDPSEC_CHAIN_LEN + 1 && spd.n == n &&
		      !spd_find_name(&spd, "w0"),
	      "taken out: %zu dropped, %zu left", dropped, spd.n);
	CHECK(!strcmp(chain_ids("10.1.2.3", 32, b, sizeof(b)), "1,3,4"),
	      "the maps are as before: %s", b);
	CHECK(add("w0", "out", "10.1.2.0/24", "100", NULL) > 0,
	      "a single add works after");
}

/* Many /32s under one /24, added as a batch, compiled once. */
static void test_many(void)
{
	char name[32], dst[32], b[128], err[CONFIG_ERR_MAX] = "";
	struct timespec t0, t1;
	size_t dropped;
	int bad = 0;
	double s;

	spd.deferred = true;
	for (int i = 1; i <= MANY; i++) {
		snprintf(name, sizeof(name), "h%d", i);
		snprintf(dst, sizeof(dst), "198.%d.%d.%d/32", 18 + (i >> 16),
			 (i >> 8) & 255, i & 255);
		bad += add(name, "out", dst, "500", NULL) <= 0;
	}
	spd.deferred = false;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK(!bad && !spd_flush(&spd, &sad, &dropped, err, sizeof(err)),
	      "%d adds failed, flush: %s", bad, err);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	s = t1.tv_sec - t0.tv_sec + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("compiled %zu policies in %.3f s\n", spd.n, s);
	CHECK(!strcmp(chain_ids("198.18.78.32", 32, b, sizeof(b)), "4,20023"),
	      "198.18.78.32/32: %s", b);
	CHECK(add("wide", "out", "198.18.78.0/24", "400", NULL) > 0,
	      "a /24 over them");
	CHECK(!strcmp(chain_ids("198.18.78.32", 32, b, sizeof(b)),
		      "4,20024,20023"),
	      "198.18.78.32/32 with the /24: %s", b);
}

int main(void)
{
	int ret = maps_create();

	if (ret) {
		printf("cannot create BPF maps (%s): skipped\n",
		       strerror(-ret));
		printf("0 passed, 0 failed, 1 skipped\n");
		return 0;
	}
	test_chains();
	test_resolve();
	test_delete();
	test_refused_batch();
	test_many();
	spd_fini(&spd);
	return check_summary();
}
