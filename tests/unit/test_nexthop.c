// SPDX-License-Identifier: GPL-2.0-only
/*
 * Next-hop resolution against the real kernel, inside a private network
 * namespace: nothing on the host is touched and everything disappears with
 * the process.  Neighbours are static entries so that every answer is
 * deterministic; the one left unresolved has no host behind it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "xdpsec_common.h"
#include "check.h"
#include "log.h"
#include "nexthop.h"

/* Exported by nexthop.c for this test only. */
unsigned long nh_cache_queries(const struct nh_cache *c);

#define WAIT_STEP_MS	10
#define WAIT_MAX_MS	2000

static const uint8_t mac_a[6] = { 0x02, 0, 0, 0, 0x0a, 0x01 };
static const uint8_t mac_gw2[6] = { 0x02, 0, 0, 0, 0, 0x02 };
static const uint8_t mac_gw2b[6] = { 0x02, 0, 0, 0, 0, 0x22 };
static const uint8_t mac_gw3[6] = { 0x02, 0, 0, 0, 0, 0x03 };
static const uint8_t mac_gw10[6] = { 0x02, 0, 0, 0, 0, 0x10 };
static const uint8_t mac_v6gw[6] = { 0x02, 0, 0, 0, 0, 0x62 };
static const uint8_t mac_v6gw_new[6] = { 0x02, 0, 0, 0, 0, 0x63 };

static int ifindex_a;

/* What a lookup should give; dmac NULL and mtu 0 are not checked. */
struct want {
	int rc;
	const uint8_t *dmac;
	uint32_t mtu;
};

static void msleep(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	CHECK(rc == 0, "command failed (%d): %s", rc, cmd);
	return rc;
}

/* Runs cmd and returns its first output line, "" if none. */
static void sh_read(const char *cmd, char *out, size_t size)
{
	FILE *f = popen(cmd, "r");

	out[0] = '\0';
	if (!f)
		return;
	if (!fgets(out, (int)size, f))
		out[0] = '\0';
	pclose(f);
}

static void addr(uint8_t family, const char *s, uint8_t *out)
{
	if (inet_pton(family, s, out) != 1) {
		fprintf(stderr, "bad address %s\n", s);
		exit(1);
	}
}

static bool hop_matches(int rc, const struct nh_hop *hop,
			const struct want *w)
{
	if (rc != w->rc)
		return false;
	if (rc != XDPSEC_CNT_OK)
		return true;
	if (hop->ifindex != ifindex_a || memcmp(hop->smac, mac_a, 6))
		return false;
	if (w->dmac && memcmp(hop->dmac, w->dmac, 6))
		return false;
	return !w->mtu || hop->mtu == w->mtu;
}

/*
 * Polls until the lookup gives what is wanted, at most WAIT_MAX_MS: the
 * monitor thread sees a change some time after the command returns.
 */
static bool wait_for(struct nh_cache *c, uint8_t family, const char *dst,
		     const struct want *w)
{
	uint8_t a[16];
	struct nh_hop hop;
	int rc = -1;

	addr(family, dst, a);
	for (int t = 0; t <= WAIT_MAX_MS; t += WAIT_STEP_MS) {
		memset(&hop, 0, sizeof(hop));
		rc = nh_lookup(c, family, a, &hop);
		if (hop_matches(rc, &hop, w))
			return true;
		msleep(WAIT_STEP_MS);
	}
	printf("  %s: last rc %d mtu %u dmac %02x:%02x\n", dst, rc, hop.mtu,
	       hop.dmac[4], hop.dmac[5]);
	return false;
}

static int lookup(struct nh_cache *c, uint8_t family, const char *dst,
		  struct nh_hop *hop)
{
	uint8_t a[16];

	addr(family, dst, a);
	memset(hop, 0, sizeof(*hop));
	return nh_lookup(c, family, a, hop);
}

static void setup_links(void)
{
	sh("ip link set lo up");
	sh("ip link add nhA address 02:00:00:00:0a:01 mtu 1500 type veth "
	   "peer name nhB address 02:00:00:00:0b:01");
	/* Keep IPv6 quiet: no link-local addresses, no router solicits. */
	sh("ip link set nhA addrgenmode none");
	sh("ip link set nhB addrgenmode none");
	sh("sysctl -qw net.ipv6.conf.nhB.disable_ipv6=1");
	sh("ip link set nhA up");
	sh("ip link set nhB up");
	sh("ip addr add 198.51.100.1/24 dev nhA");
	sh("ip addr add 2001:db8:1::1/64 dev nhA nodad");
	/* An interface that is not in the table. */
	sh("ip link add nhC type veth peer name nhD");
	sh("ip link set nhC addrgenmode none");
	sh("ip link set nhD addrgenmode none");
	sh("ip link set nhC up");
	sh("ip link set nhD up");
	sh("ip addr add 100.64.0.1/24 dev nhC");
}

static void setup_routes(void)
{
	sh("ip neigh replace 198.51.100.2 lladdr 02:00:00:00:00:02 dev nhA "
	   "nud permanent");
	sh("ip neigh replace 198.51.100.3 lladdr 02:00:00:00:00:03 dev nhA "
	   "nud permanent");
	sh("ip -6 neigh replace 2001:db8:1::2 lladdr 02:00:00:00:00:62 "
	   "dev nhA nud permanent");
	sh("ip route add 203.0.113.0/24 via 198.51.100.2");
	sh("ip -6 route add 2001:db8:2::/64 via 2001:db8:1::2");
	/* Its next hop stays unresolved until the retry test fills it. */
	sh("ip route add 192.0.2.0/24 via 198.51.100.10");
	/* IPv4 over an IPv6 gateway: the reply carries RTA_VIA. */
	sh("ip route add 203.0.114.0/24 via inet6 2001:db8:1::2 dev nhA");
	sh("ip route add blackhole 10.98.0.0/16");
	sh("ip route add unreachable 10.97.0.0/16");
	sh("ip neigh replace 100.64.0.7 lladdr 02:00:00:00:00:07 dev nhC "
	   "nud permanent");
}

static void test_table_api(struct nh_table *t)
{
	CHECK(nh_table_add_iface(t, 0) == -EINVAL, "ifindex 0 accepted");
	CHECK(nh_table_add_iface(t, 999999) < 0, "missing ifindex accepted");
	CHECK(nh_table_add_iface(t, ifindex_a) == 0, "cannot add nhA");
	CHECK(nh_table_add_iface(t, ifindex_a) == 0, "adding twice fails");
}

static void test_basic(struct nh_cache *c)
{
	struct nh_hop hop, again;
	unsigned long q;
	int rc;

	rc = lookup(c, AF_INET, "203.0.113.5", &hop);
	CHECK(rc == XDPSEC_CNT_OK, "v4 lookup: %d", rc);
	CHECK(hop.ifindex == ifindex_a, "v4 ifindex %d", hop.ifindex);
	CHECK(!memcmp(hop.smac, mac_a, 6), "v4 smac");
	CHECK(!memcmp(hop.dmac, mac_gw2, 6), "v4 dmac");
	CHECK(hop.mtu == 1500, "v4 mtu %u", hop.mtu);
	CHECK(hop.has_src && hop.src.v4 == inet_addr("198.51.100.1"),
	      "v4 preferred source");
	CHECK(!hop.local, "v4 hop is not local");

	/* The fast path: a second lookup sends no netlink request at all. */
	q = nh_cache_queries(c);
	rc = lookup(c, AF_INET, "203.0.113.5", &again);
	CHECK(rc == XDPSEC_CNT_OK, "v4 second lookup: %d", rc);
	CHECK(nh_cache_queries(c) == q, "cache hit cost %lu queries",
	      nh_cache_queries(c) - q);
	CHECK(!memcmp(&hop, &again, sizeof(hop)), "cache hit differs");

	rc = lookup(c, AF_INET6, "2001:db8:2::7", &hop);
	CHECK(rc == XDPSEC_CNT_OK, "v6 lookup: %d", rc);
	CHECK(hop.ifindex == ifindex_a, "v6 ifindex %d", hop.ifindex);
	CHECK(!memcmp(hop.smac, mac_a, 6), "v6 smac");
	CHECK(!memcmp(hop.dmac, mac_v6gw, 6), "v6 dmac");
	CHECK(hop.mtu == 1500, "v6 mtu %u", hop.mtu);

	rc = lookup(c, AF_INET, "203.0.114.5", &hop);
	CHECK(rc == XDPSEC_CNT_OK && !memcmp(hop.dmac, mac_v6gw, 6),
	      "v4 via v6 gateway: %d", rc);

	/* On-link destination: the next hop is the destination itself. */
	rc = lookup(c, AF_INET, "198.51.100.3", &hop);
	CHECK(rc == XDPSEC_CNT_OK && !memcmp(hop.dmac, mac_gw3, 6),
	      "on-link v4: %d", rc);
}

static void test_refused(struct nh_cache *c)
{
	struct nh_hop hop;
	unsigned long q;
	int rc;

	rc = lookup(c, AF_INET, "10.99.0.1", &hop);
	CHECK(rc == XDPSEC_CNT_DROP_NO_ROUTE, "v4 no route: %d", rc);
	q = nh_cache_queries(c);
	rc = lookup(c, AF_INET, "10.99.0.1", &hop);
	CHECK(rc == XDPSEC_CNT_DROP_NO_ROUTE, "v4 no route again: %d", rc);
	CHECK(nh_cache_queries(c) == q, "cached NO_ROUTE cost %lu queries",
	      nh_cache_queries(c) - q);

	rc = lookup(c, AF_INET6, "2001:db8:99::1", &hop);
	CHECK(rc == XDPSEC_CNT_DROP_NO_ROUTE, "v6 no route: %d", rc);
	rc = lookup(c, AF_INET, "100.64.0.7", &hop);
	CHECK(rc == XDPSEC_CNT_DROP_NO_ROUTE, "foreign iface: %d", rc);
	rc = lookup(c, AF_INET, "198.51.100.1", &hop);
	CHECK(rc == XDPSEC_CNT_DROP_NO_ROUTE, "v4 local: %d", rc);
	rc = lookup(c, AF_INET6, "2001:db8:1::1", &hop);
	CHECK(rc == XDPSEC_CNT_DROP_NO_ROUTE, "v6 local: %d", rc);
	rc = lookup(c, AF_INET, "10.98.0.1", &hop);
	CHECK(rc == XDPSEC_CNT_DROP_NO_ROUTE, "blackhole: %d", rc);
	rc = lookup(c, AF_INET, "10.97.0.1", &hop);
	CHECK(rc == XDPSEC_CNT_DROP_NO_ROUTE, "unreachable: %d", rc);
	rc = lookup(c, AF_INET, "198.51.100.255", &hop);
	CHECK(rc == XDPSEC_CNT_DROP_NO_ROUTE, "v4 broadcast: %d", rc);
	rc = nh_lookup(c, 7, "\0\0\0\0", &hop);
	CHECK(rc == XDPSEC_CNT_DROP_NO_ROUTE, "bad family: %d", rc);
}

/* More destinations than cache slots: evicted entries come back right. */
static void test_many(struct nh_cache *c)
{
	struct nh_hop hop;
	uint8_t a[16];
	int bad = 0;

	addr(AF_INET6, "2001:db8:2::", a);
	for (int round = 0; round < 2; round++) {
		for (int i = 1; i <= 1000; i++) {
			a[14] = (uint8_t)(i >> 8);
			a[15] = (uint8_t)i;
			if (nh_lookup(c, AF_INET6, a, &hop) != XDPSEC_CNT_OK ||
			    memcmp(hop.dmac, mac_v6gw, 6))
				bad++;
		}
	}
	CHECK(bad == 0, "%d of 2000 lookups wrong", bad);
}

/*
 * Without a monitor thread the generation never moves, so only the
 * time-based retry can notice that the neighbour has been resolved.
 */
static void test_retry_without_monitor(void)
{
	struct want ok = { XDPSEC_CNT_OK, mac_gw10, 1500 };
	struct nh_table *t = NULL;
	struct nh_cache *c;
	struct nh_hop hop;
	unsigned long q;
	uint64_t t0;
	int rc;

	CHECK(nh_table_new(&t) == 0, "table");
	CHECK(nh_table_add_iface(t, ifindex_a) == 0, "add nhA");
	c = nh_cache_new(t);
	CHECK(c != NULL, "cache");
	if (!c)
		goto out;
	t0 = now_ms();
	rc = lookup(c, AF_INET, "192.0.2.1", &hop);
	CHECK(rc == XDPSEC_CNT_DROP_NO_NEIGH, "unresolved: %d", rc);
	q = nh_cache_queries(c);
	rc = lookup(c, AF_INET, "192.0.2.1", &hop);
	CHECK(rc == XDPSEC_CNT_DROP_NO_NEIGH, "unresolved again: %d", rc);
	/* Only meaningful while inside the retry interval. */
	if (now_ms() - t0 < 50)
		CHECK(nh_cache_queries(c) == q, "negative entry not cached");
	sh("ip neigh replace 198.51.100.10 lladdr 02:00:00:00:00:10 dev nhA "
	   "nud permanent");
	CHECK(wait_for(c, AF_INET, "192.0.2.1", &ok), "retry missed it");
	nh_cache_free(c);
out:
	nh_table_free(t);
}

static void test_changes(struct nh_cache *c)
{
	struct want w = { XDPSEC_CNT_OK, mac_gw2b, 1500 };

	sh("ip neigh replace 198.51.100.2 lladdr 02:00:00:00:00:22 dev nhA "
	   "nud permanent");
	CHECK(wait_for(c, AF_INET, "203.0.113.5", &w), "new lladdr");

	sh("ip route replace 203.0.113.0/24 via 198.51.100.3");
	w.dmac = mac_gw3;
	CHECK(wait_for(c, AF_INET, "203.0.113.5", &w), "new gateway");

	sh("ip route replace 203.0.113.0/24 via 198.51.100.3 mtu 1300");
	w.mtu = 1300;
	CHECK(wait_for(c, AF_INET, "203.0.113.5", &w), "route mtu");

	sh("ip link set nhA mtu 1400");
	w.dmac = mac_v6gw_new;	/* as left by test_threads() */
	w.mtu = 1400;
	CHECK(wait_for(c, AF_INET6, "2001:db8:2::7", &w), "link mtu");
	/* The route metric still wins where it is lower. */
	w.dmac = mac_gw3;
	w.mtu = 1300;
	CHECK(wait_for(c, AF_INET, "203.0.113.5", &w), "route mtu kept");
}

static void test_unresolved(struct nh_cache *c)
{
	struct want w = { XDPSEC_CNT_DROP_NO_NEIGH, NULL, 0 };
	char line[256];

	sh("ip route replace 203.0.113.0/24 via 198.51.100.9");
	CHECK(wait_for(c, AF_INET, "203.0.113.5", &w), "no neighbour");
	sh_read("ip neigh show 198.51.100.9 dev nhA", line, sizeof(line));
	CHECK(strstr(line, "INCOMPLETE") || strstr(line, "FAILED"),
	      "resolution not started: '%s'", line);

	sh("ip route del 203.0.113.0/24");
	w.rc = XDPSEC_CNT_DROP_NO_ROUTE;
	CHECK(wait_for(c, AF_INET, "203.0.113.5", &w), "deleted route");
	sh("ip -6 route del 2001:db8:2::/64");
	CHECK(wait_for(c, AF_INET6, "2001:db8:2::7", &w), "deleted v6 route");
}

struct worker {
	struct nh_table *t;
	atomic_bool *stop;
	atomic_bool seen_new;
	atomic_int bad;
	atomic_int ok;
};

/* A worker thread with its own cache, as the daemon runs them. */
static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct nh_cache *c = nh_cache_new(w->t);
	uint8_t a[16];
	struct nh_hop hop;
	int rc;

	if (!c) {
		atomic_fetch_add(&w->bad, 1);
		return NULL;
	}
	addr(AF_INET6, "2001:db8:2::7", a);
	while (!atomic_load(w->stop)) {
		rc = nh_lookup(c, AF_INET6, a, &hop);
		if (rc != XDPSEC_CNT_OK || memcmp(hop.smac, mac_a, 6)) {
			atomic_fetch_add(&w->bad, 1);
			continue;
		}
		atomic_fetch_add(&w->ok, 1);
		if (!memcmp(hop.dmac, mac_v6gw_new, 6))
			atomic_store(&w->seen_new, true);
	}
	nh_cache_free(c);
	return NULL;
}

static bool workers_all_seen(struct worker *w, int n)
{
	for (int i = 0; i < n; i++)
		if (!atomic_load(&w[i].seen_new))
			return false;
	return true;
}

/* Several caches in parallel all follow one neighbour change. */
static void test_threads(struct nh_table *t)
{
	struct worker w[4];
	pthread_t th[4];
	atomic_bool stop = false;
	int n = 0;

	for (int i = 0; i < 4; i++) {
		w[i] = (struct worker){ .t = t, .stop = &stop };
		if (pthread_create(&th[i], NULL, worker_main, &w[i]))
			break;
		n++;
	}
	CHECK(n == 4, "started %d workers", n);
	msleep(20);
	sh("ip -6 neigh replace 2001:db8:1::2 lladdr 02:00:00:00:00:63 "
	   "dev nhA nud permanent");
	for (int ms = 0; ms < WAIT_MAX_MS && !workers_all_seen(w, n);
	     ms += WAIT_STEP_MS)
		msleep(WAIT_STEP_MS);
	atomic_store(&stop, true);
	for (int i = 0; i < n; i++) {
		pthread_join(th[i], NULL);
		CHECK(atomic_load(&w[i].bad) == 0 && atomic_load(&w[i].ok) > 0,
		      "worker %d: %d bad, %d ok", i, atomic_load(&w[i].bad),
		      atomic_load(&w[i].ok));
		CHECK(atomic_load(&w[i].seen_new),
		      "worker %d kept the old MAC", i);
	}
}

int main(void)
{
	struct nh_table *t = NULL;
	struct nh_cache *c;

	/* Every wait below is bounded; this bounds them all together. */
	alarm(120);
	if (unshare(CLONE_NEWNET) < 0) {
		printf("unshare(CLONE_NEWNET): %s (needs root)\n",
		       strerror(errno));
		printf("0 passed, 0 failed, 1 skipped\n");
		return 0;
	}
	log_init("test_nexthop", getenv("TEST_DEBUG") ? LOG_LVL_DEBUG :
		 LOG_LVL_WARN, false);
	setup_links();
	setup_routes();
	ifindex_a = (int)if_nametoindex("nhA");
	CHECK(ifindex_a > 0, "nhA missing");

	test_retry_without_monitor();

	CHECK(nh_table_new(&t) == 0, "table");
	test_table_api(t);
	CHECK(nh_table_start(t) == 0, "start");
	CHECK(nh_table_start(t) == -EALREADY, "started twice");
	c = nh_cache_new(t);
	CHECK(c != NULL, "cache");
	if (c) {
		test_basic(c);
		test_refused(c);
		test_many(c);
		test_threads(t);
		test_changes(c);
		test_unresolved(c);
		nh_cache_free(c);
	}
	nh_table_free(t);
	return check_summary();
}
