// SPDX-License-Identifier: GPL-2.0-only
/*
 * Next-hop resolution over rtnetlink.
 *
 * The table holds the interfaces we may transmit on, with their MAC and
 * MTU, and a generation number.  A monitor thread listens for link,
 * neighbour and route notifications; after each batch it stores any new
 * MAC or MTU and then bumps the generation with release ordering.
 *
 * Each worker owns a cache: a small open-addressing hash from destination
 * address to the answer computed at some generation.  A lookup whose entry
 * carries the current generation costs no system call.  Otherwise the
 * worker asks the kernel with its own netlink socket: RTM_GETROUTE for the
 * destination, then RTM_GETNEIGH for the next hop on the output interface.
 * When the neighbour is not known yet, an RTM_NEWNEIGH request with NTF_USE
 * makes the kernel start ARP or neighbour discovery for it, exactly as if
 * the kernel had a packet of its own to send there.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>

#include "xdpsec_common.h"
#include "log.h"
#include "nexthop.h"

#define NH_CACHE_SLOTS	256		/* a power of two */
#define NH_PROBE_LEN	8		/* slots searched from the home slot */
#define NH_RETRY_NS	(100ull * 1000 * 1000)
#define NH_TIMEOUT_S	1		/* per netlink query */
#define NH_BUF_SIZE	32768		/* large enough for any link message */
#define NH_MON_RCVBUF	(4 << 20)

/* Neighbour states in which the kernel itself would use the address. */
#define NH_NUD_USABLE	(NUD_REACHABLE | NUD_STALE | NUD_DELAY |	\
			 NUD_PROBE | NUD_PERMANENT | NUD_NOARP)

struct nh_iface {
	int ifindex;			/* written once, before publication */
	_Atomic uint64_t mac;		/* packed, so it can never be torn */
	_Atomic uint32_t mtu;
};

struct nh_table {
	struct nh_iface ifaces[XDPSEC_MAX_IFACES];
	_Atomic unsigned int n_ifaces;	/* published with release ordering */
	_Atomic uint64_t gen;		/* starts at 1: 0 marks empty slots */
	pthread_mutex_t add_lock;	/* serialises writers of ifaces[] */
	struct mnl_socket *mon;
	int wake_fd;
	bool started;
	pthread_t thread;
	struct log_limit limit;
	int local_ifindex;		/* set before the workers start */
	uint8_t local_dmac[6];
	uint8_t buf[NH_BUF_SIZE] __attribute__((aligned(8)));
};

/* A netlink socket for request and reply exchanges. */
struct nl_conn {
	struct mnl_socket *nl;
	uint32_t portid;
	uint32_t seq;
	unsigned long sent;
	uint8_t buf[NH_BUF_SIZE] __attribute__((aligned(8)));
};

struct nh_key {
	uint8_t family;
	uint8_t addr[16];
};

struct nh_entry {
	uint64_t gen;			/* 0: the slot was never used */
	uint64_t retry_ns;		/* 0: good for the whole generation */
	struct nh_key key;
	int result;
	struct nh_hop hop;
};

struct nh_cache {
	struct nh_table *t;
	struct log_limit warn_limit;
	struct log_limit debug_limit;
	struct nh_entry slots[NH_CACHE_SLOTS];
	struct nl_conn conn;
};

/* What RTM_GETROUTE told us. */
struct nh_route {
	bool got;
	uint8_t family;
	uint8_t type;
	uint8_t gw_family;		/* 0: the destination is on-link */
	int oif;
	uint32_t mtu;			/* 0: the route has no MTU metric */
	uint8_t gw[16];
	bool has_src;
	uint8_t src[16];		/* preferred source address */
};

/* What RTM_GETNEIGH told us. */
struct nh_neigh {
	bool got;
	bool has_lladdr;
	uint16_t state;
	uint8_t lladdr[6];
};

struct nh_link {
	bool got;
	bool has_mac;
	int ifindex;
	uint32_t mtu;
	uint8_t mac[6];
};

typedef int (*nl_reply_cb)(const struct nlmsghdr *nlh, void *data);

/* The request in flight, to recognise its answers. */
struct nl_req {
	uint32_t seq;
	bool ack;
	nl_reply_cb cb;
	void *data;
};

/* nl_reply_one(): the exchange is not over yet. */
#define NL_MORE 1

/*
 * Debug messages use their own token bucket, and only when debugging is
 * on, so that they can never crowd out warnings.
 */
#define nh_debug(c, ...)						\
	do {								\
		if (log_get_level() >= LOG_LVL_DEBUG)			\
			log_ratelimited(&(c)->debug_limit,		\
					LOG_LVL_DEBUG, __VA_ARGS__);	\
	} while (0)

#define nh_warn(c, ...) \
	log_ratelimited(&(c)->warn_limit, LOG_LVL_WARN, __VA_ARGS__)

/*
 * The number of netlink requests a cache has sent.  Not part of the API:
 * the unit test uses it to tell a cache hit from a round trip.
 */
unsigned long nh_cache_queries(const struct nh_cache *c);

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static unsigned int addr_len(uint8_t family)
{
	if (family == AF_INET)
		return 4;
	if (family == AF_INET6)
		return 16;
	return 0;
}

static const char *addr_str(uint8_t family, const void *addr, char *buf,
			    size_t size)
{
	if (!inet_ntop(family, addr, buf, (socklen_t)size))
		snprintf(buf, size, "(family %u)", family);
	return buf;
}

static uint64_t mac_pack(const uint8_t *mac)
{
	uint64_t v = 0;

	for (int i = 0; i < 6; i++)
		v = v << 8 | mac[i];
	return v;
}

static void mac_unpack(uint64_t v, uint8_t *mac)
{
	for (int i = 5; i >= 0; i--) {
		mac[i] = (uint8_t)v;
		v >>= 8;
	}
}

/*
 * Errors that say nothing about the routing tables (a lost or late reply,
 * memory pressure) must not be remembered for a whole generation.
 */
static bool nl_err_transient(int err)
{
	return err == -ETIMEDOUT || err == -EINTR || err == -ENOBUFS ||
	       err == -ENOMEM || err == -EAGAIN || err == -ENOSPC ||
	       err == -EPROTO;
}

/* ---- Request and reply exchanges ---------------------------------- */

static int nl_conn_open(struct nl_conn *c)
{
	struct timeval tv = { .tv_sec = NH_TIMEOUT_S };
	int one = 1;
	int err;

	c->nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!c->nl)
		return -errno;
	if (mnl_socket_bind(c->nl, 0, MNL_SOCKET_AUTOPID) < 0)
		goto fail;
	/* A reply that never comes must not stall a worker for good. */
	if (setsockopt(mnl_socket_get_fd(c->nl), SOL_SOCKET, SO_RCVTIMEO,
		       &tv, sizeof(tv)) < 0)
		goto fail;
	/* Error replies need not carry a copy of our request. */
	mnl_socket_setsockopt(c->nl, NETLINK_CAP_ACK, &one, sizeof(one));
	c->portid = mnl_socket_get_portid(c->nl);
	c->seq = (uint32_t)time(NULL);
	return 0;

fail:
	err = -errno;
	mnl_socket_close(c->nl);
	c->nl = NULL;
	return err;
}

static void nl_conn_close(struct nl_conn *c)
{
	if (c->nl)
		mnl_socket_close(c->nl);
	c->nl = NULL;
}

static struct nlmsghdr *nl_req_start(struct nl_conn *c, uint16_t type,
				     uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(c->buf);

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	return nlh;
}

/*
 * Looks at one received message.  Anything with another sequence number
 * or port id is a late answer to a request that timed out, or not ours:
 * skip it.
 */
static int nl_reply_one(const struct nl_conn *c, const struct nlmsghdr *nlh,
			const struct nl_req *rq)
{
	const struct nlmsgerr *e;

	if (nlh->nlmsg_seq != rq->seq || nlh->nlmsg_pid != c->portid)
		return NL_MORE;
	if (nlh->nlmsg_type == NLMSG_ERROR) {
		if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*e)))
			return -EPROTO;
		e = mnl_nlmsg_get_payload(nlh);
		return e->error > 0 ? -EPROTO : e->error;
	}
	if (nlh->nlmsg_type == NLMSG_DONE)
		return 0;
	if (rq->cb && rq->cb(nlh, rq->data) < 0)
		return -EPROTO;
	/* A plain reply ends the exchange unless we asked for an ack. */
	if (rq->ack || (nlh->nlmsg_flags & NLM_F_MULTI))
		return NL_MORE;
	return 0;
}

static int nl_reply_walk(const struct nl_conn *c, ssize_t n,
			 const struct nl_req *rq)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)c->buf;
	int len = (int)n;
	int ret;

	for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
		ret = nl_reply_one(c, nlh, rq);
		if (ret != NL_MORE)
			return ret;
	}
	return NL_MORE;
}

/*
 * Sends the request built in c->buf and waits for its answer, at most
 * about NH_TIMEOUT_S.  Returns 0, the kernel's negative errno, or a local
 * negative errno (-ETIMEDOUT, -EPROTO for a malformed reply).
 */
static int nl_query(struct nl_conn *c, struct nlmsghdr *req, nl_reply_cb cb,
		    void *data)
{
	uint64_t deadline = now_ns() + NH_TIMEOUT_S * 1000000000ull;
	struct nl_req rq = { .cb = cb, .data = data };
	ssize_t n;
	int ret;

	req->nlmsg_seq = ++c->seq;
	rq.seq = req->nlmsg_seq;
	rq.ack = req->nlmsg_flags & NLM_F_ACK;
	c->sent++;
	if (mnl_socket_sendto(c->nl, req, req->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		n = mnl_socket_recvfrom(c->nl, c->buf, sizeof(c->buf));
		if (n < 0 && errno == EAGAIN)
			return -ETIMEDOUT;
		if (n < 0 && errno != EINTR)
			return -errno;
		if (n > 0) {
			ret = nl_reply_walk(c, n, &rq);
			if (ret != NL_MORE)
				return ret;
		}
		/* Late replies to earlier requests must not keep us here. */
		if (now_ns() > deadline)
			return -ETIMEDOUT;
	}
}

/* ---- Links -------------------------------------------------------- */

static int link_attr_cb(const struct nlattr *a, void *data)
{
	struct nh_link *l = data;
	uint16_t len = mnl_attr_get_payload_len(a);

	switch (mnl_attr_get_type(a)) {
	case IFLA_ADDRESS:
		if (len == 6) {
			memcpy(l->mac, mnl_attr_get_payload(a), 6);
			l->has_mac = true;
		}
		break;
	case IFLA_MTU:
		if (len < sizeof(uint32_t))
			return MNL_CB_ERROR;
		l->mtu = mnl_attr_get_u32(a);
		break;
	}
	return MNL_CB_OK;
}

static int link_parse(const struct nlmsghdr *nlh, void *data)
{
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	struct nh_link *l = data;

	if (nlh->nlmsg_type != RTM_NEWLINK ||
	    nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*ifi)))
		return -EPROTO;
	memset(l, 0, sizeof(*l));
	l->ifindex = ifi->ifi_index;
	if (mnl_attr_parse(nlh, sizeof(*ifi), link_attr_cb, l) < 0)
		return -EPROTO;
	l->got = true;
	return 0;
}

static int link_get(struct nl_conn *c, int ifindex, struct nh_link *l)
{
	struct nlmsghdr *nlh = nl_req_start(c, RTM_GETLINK, 0);
	struct ifinfomsg *ifi;
	int err;

	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	l->got = false;
	err = nl_query(c, nlh, link_parse, l);
	if (!err && !l->got)
		err = -EPROTO;
	return err;
}

/* Reads MAC and MTU of an interface with a socket of its own. */
static int link_read(int ifindex, struct nh_link *l)
{
	struct nl_conn *c = calloc(1, sizeof(*c));
	int err;

	if (!c)
		return -ENOMEM;
	err = nl_conn_open(c);
	if (err)
		goto out;
	err = link_get(c, ifindex, l);
	if (!err && (!l->has_mac || !l->mtu))
		err = -EINVAL;	/* we build Ethernet headers only */
	nl_conn_close(c);
out:
	free(c);
	return err;
}

/* ---- The table ---------------------------------------------------- */

static void gen_bump(struct nh_table *t)
{
	/* Release: a worker that sees the new number sees the new fields. */
	atomic_fetch_add_explicit(&t->gen, 1, memory_order_release);
}

static struct nh_iface *iface_find(struct nh_table *t, int ifindex)
{
	unsigned int n = atomic_load_explicit(&t->n_ifaces,
					      memory_order_acquire);

	for (unsigned int i = 0; i < n; i++)
		if (t->ifaces[i].ifindex == ifindex)
			return &t->ifaces[i];
	return NULL;
}

static void iface_store(struct nh_iface *ifc, const struct nh_link *l)
{
	if (l->has_mac)
		atomic_store_explicit(&ifc->mac, mac_pack(l->mac),
				      memory_order_relaxed);
	if (l->mtu)
		atomic_store_explicit(&ifc->mtu, l->mtu,
				      memory_order_relaxed);
}

int nh_table_new(struct nh_table **out)
{
	struct nh_table *t = calloc(1, sizeof(*t));

	if (!t)
		return -ENOMEM;
	atomic_init(&t->gen, 1);
	pthread_mutex_init(&t->add_lock, NULL);
	t->wake_fd = -1;
	t->limit = (struct log_limit)LOG_LIMIT_INIT(1, 5);
	*out = t;
	return 0;
}

int nh_table_add_iface(struct nh_table *t, int ifindex)
{
	struct nh_link l;
	unsigned int n;
	int err = 0;

	if (!t || ifindex <= 0)
		return -EINVAL;
	pthread_mutex_lock(&t->add_lock);
	n = atomic_load_explicit(&t->n_ifaces, memory_order_relaxed);
	if (iface_find(t, ifindex))
		goto out;
	err = -ENOSPC;
	if (n >= XDPSEC_MAX_IFACES)
		goto out;
	err = link_read(ifindex, &l);
	if (err) {
		log_warn("nexthop: interface %d: %s", ifindex, strerror(-err));
		goto out;
	}
	t->ifaces[n].ifindex = ifindex;
	iface_store(&t->ifaces[n], &l);
	atomic_store_explicit(&t->n_ifaces, n + 1, memory_order_release);
	/* Destinations refused for leaving through it may now be fine. */
	gen_bump(t);
out:
	pthread_mutex_unlock(&t->add_lock);
	return err;
}

/* ---- The monitor thread ------------------------------------------- */

static int monitor_open(struct nh_table *t)
{
	static const unsigned int groups[] = {
		RTNLGRP_LINK, RTNLGRP_NEIGH,
		RTNLGRP_IPV4_ROUTE, RTNLGRP_IPV6_ROUTE,
	};
	int size = NH_MON_RCVBUF;
	int fd, err;

	t->mon = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (!t->mon)
		return -errno;
	if (mnl_socket_bind(t->mon, 0, MNL_SOCKET_AUTOPID) < 0)
		goto fail;
	/* A larger buffer makes overruns (ENOBUFS) rarer; not fatal. */
	fd = mnl_socket_get_fd(t->mon);
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)))
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
		unsigned int g = groups[i];

		if (mnl_socket_setsockopt(t->mon, NETLINK_ADD_MEMBERSHIP, &g,
					  sizeof(g)) < 0)
			goto fail;
	}
	return 0;

fail:
	err = -errno;
	mnl_socket_close(t->mon);
	t->mon = NULL;
	return err;
}

static void monitor_link(struct nh_table *t, const struct nlmsghdr *nlh)
{
	struct nh_iface *ifc;
	struct nh_link l;

	if (link_parse(nlh, &l) < 0)
		return;
	ifc = iface_find(t, l.ifindex);
	if (ifc)
		iface_store(ifc, &l);
}

/*
 * Neighbours of interfaces that are not ours cannot change any answer:
 * destinations behind them are refused whatever their neighbour state.
 */
static bool monitor_neigh_ours(struct nh_table *t, const struct nlmsghdr *nlh)
{
	const struct ndmsg *ndm = mnl_nlmsg_get_payload(nlh);

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*ndm)))
		return true;
	return iface_find(t, ndm->ndm_ifindex) != NULL;
}

/*
 * Returns whether the message may change an answer.  Every link message
 * counts: IPv4 drops the routes of a link that goes down without any
 * route notification.
 */
static bool monitor_msg(struct nh_table *t, const struct nlmsghdr *nlh)
{
	switch (nlh->nlmsg_type) {
	case RTM_NEWLINK:
		monitor_link(t, nlh);
		return true;
	case RTM_NEWNEIGH:
	case RTM_DELNEIGH:
		return monitor_neigh_ours(t, nlh);
	default:
		return true;
	}
}

static bool monitor_batch(struct nh_table *t, ssize_t n)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)t->buf;
	bool changed = false;
	int len = (int)n;

	for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len))
		if (monitor_msg(t, nlh))
			changed = true;
	return changed;
}

/* Reads everything queued on the monitor socket. */
static void monitor_drain(struct nh_table *t)
{
	ssize_t n;

	for (;;) {
		n = mnl_socket_recvfrom(t->mon, t->buf, sizeof(t->buf));
		if (n > 0) {
			if (monitor_batch(t, n))
				gen_bump(t);
			continue;
		}
		if (n == 0 || errno == EAGAIN)
			return;
		if (errno == EINTR)
			continue;
		/*
		 * ENOBUFS: the socket overran and notifications were lost;
		 * ENOSPC: one did not fit.  Anything may have changed, so
		 * every cached answer must be computed again.
		 */
		log_ratelimited(&t->limit, LOG_LVL_WARN,
				"nexthop: monitor: %s, refreshing all",
				strerror(errno));
		gen_bump(t);
		if (errno != ENOBUFS && errno != ENOSPC)
			return;
	}
}

static void *monitor_main(void *arg)
{
	struct nh_table *t = arg;
	struct pollfd pfd[2] = {
		{ .fd = mnl_socket_get_fd(t->mon), .events = POLLIN },
		{ .fd = t->wake_fd, .events = POLLIN },
	};

	for (;;) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno != EINTR)
				log_ratelimited(&t->limit, LOG_LVL_WARN,
						"nexthop: poll: %s",
						strerror(errno));
			continue;
		}
		if (pfd[1].revents)
			break;
		/* POLLERR too: the socket reports overruns that way. */
		if (pfd[0].revents)
			monitor_drain(t);
	}
	return NULL;
}

/*
 * Reads MAC and MTU again: a change between nh_table_add_iface() and the
 * subscription would otherwise go unseen.
 */
static void monitor_refresh_ifaces(struct nh_table *t)
{
	unsigned int n;
	struct nh_link l;
	int err;

	pthread_mutex_lock(&t->add_lock);
	n = atomic_load_explicit(&t->n_ifaces, memory_order_relaxed);
	for (unsigned int i = 0; i < n; i++) {
		err = link_read(t->ifaces[i].ifindex, &l);
		if (!err)
			iface_store(&t->ifaces[i], &l);
		else
			log_warn("nexthop: interface %d: %s",
				 t->ifaces[i].ifindex, strerror(-err));
	}
	pthread_mutex_unlock(&t->add_lock);
}

static int monitor_spawn(struct nh_table *t)
{
	sigset_t all, old;
	int err;

	/* Signals are for the threads that expect them, not this one. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&t->thread, NULL, monitor_main, t);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return -err;
}

int nh_table_start(struct nh_table *t)
{
	int err;

	if (!t)
		return -EINVAL;
	if (t->started)
		return -EALREADY;
	err = monitor_open(t);
	if (err)
		return err;
	t->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (t->wake_fd < 0) {
		err = -errno;
		goto close_mon;
	}
	monitor_refresh_ifaces(t);
	/* Answers computed before we subscribed may already be stale. */
	gen_bump(t);
	err = monitor_spawn(t);
	if (err)
		goto close_wake;
	t->started = true;
	return 0;

close_wake:
	close(t->wake_fd);
	t->wake_fd = -1;
close_mon:
	mnl_socket_close(t->mon);
	t->mon = NULL;
	return err;
}

void nh_table_free(struct nh_table *t)
{
	uint64_t one = 1;

	if (!t)
		return;
	if (t->started) {
		while (write(t->wake_fd, &one, sizeof(one)) < 0 &&
		       errno == EINTR)
			;
		pthread_join(t->thread, NULL);
	}
	if (t->wake_fd >= 0)
		close(t->wake_fd);
	if (t->mon)
		mnl_socket_close(t->mon);
	pthread_mutex_destroy(&t->add_lock);
	free(t);
}

/* ---- Routes ------------------------------------------------------- */

static int route_metric_cb(const struct nlattr *a, void *data)
{
	struct nh_route *r = data;

	if (mnl_attr_get_type(a) != RTAX_MTU)
		return MNL_CB_OK;
	if (mnl_attr_get_payload_len(a) < sizeof(uint32_t))
		return MNL_CB_ERROR;
	r->mtu = mnl_attr_get_u32(a);
	return MNL_CB_OK;
}

/* RTA_VIA: a gateway of another family, such as IPv4 over IPv6. */
static int route_via(struct nh_route *r, const struct nlattr *a)
{
	const struct rtvia *via = mnl_attr_get_payload(a);
	uint16_t len = mnl_attr_get_payload_len(a);
	unsigned int alen;

	if (len < sizeof(*via))
		return MNL_CB_ERROR;
	alen = addr_len((uint8_t)via->rtvia_family);
	if (!alen || len < sizeof(*via) + alen)
		return MNL_CB_ERROR;
	r->gw_family = (uint8_t)via->rtvia_family;
	memcpy(r->gw, via->rtvia_addr, alen);
	return MNL_CB_OK;
}

static int route_attr_cb(const struct nlattr *a, void *data)
{
	struct nh_route *r = data;
	uint16_t len = mnl_attr_get_payload_len(a);

	switch (mnl_attr_get_type(a)) {
	case RTA_OIF:
		if (len < sizeof(uint32_t))
			return MNL_CB_ERROR;
		r->oif = (int)mnl_attr_get_u32(a);
		break;
	case RTA_GATEWAY:
		if (len != addr_len(r->family))
			return MNL_CB_ERROR;
		r->gw_family = r->family;
		memcpy(r->gw, mnl_attr_get_payload(a), len);
		break;
	case RTA_PREFSRC:
		if (len != addr_len(r->family))
			return MNL_CB_ERROR;
		r->has_src = true;
		memcpy(r->src, mnl_attr_get_payload(a), len);
		break;
	case RTA_VIA:
		return route_via(r, a);
	case RTA_METRICS:
		return mnl_attr_parse_nested(a, route_metric_cb, r) < 0 ?
			       MNL_CB_ERROR : MNL_CB_OK;
	}
	return MNL_CB_OK;
}

static int route_parse(const struct nlmsghdr *nlh, void *data)
{
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	struct nh_route *r = data;

	if (nlh->nlmsg_type != RTM_NEWROUTE ||
	    nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*rtm)))
		return -EPROTO;
	r->type = rtm->rtm_type;
	if (mnl_attr_parse(nlh, sizeof(*rtm), route_attr_cb, r) < 0)
		return -EPROTO;
	r->got = true;
	return 0;
}

/* Asks the kernel which route a packet to k->addr would take. */
static int route_get(struct nl_conn *c, const struct nh_key *k,
		     struct nh_route *r)
{
	struct nlmsghdr *nlh = nl_req_start(c, RTM_GETROUTE, 0);
	unsigned int alen = addr_len(k->family);
	struct rtmsg *rtm;
	int err;

	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = k->family;
	rtm->rtm_dst_len = (uint8_t)(alen * 8);
	mnl_attr_put(nlh, RTA_DST, alen, k->addr);
	mnl_attr_put_u32(nlh, RTA_MARK, NH_ROUTE_MARK);
	memset(r, 0, sizeof(*r));
	r->family = k->family;
	err = nl_query(c, nlh, route_parse, r);
	if (!err && !r->got)
		err = -EPROTO;
	return err;
}

/* ---- Neighbours --------------------------------------------------- */

static int neigh_attr_cb(const struct nlattr *a, void *data)
{
	struct nh_neigh *n = data;

	if (mnl_attr_get_type(a) == NDA_LLADDR &&
	    mnl_attr_get_payload_len(a) == 6) {
		memcpy(n->lladdr, mnl_attr_get_payload(a), 6);
		n->has_lladdr = true;
	}
	return MNL_CB_OK;
}

static int neigh_parse(const struct nlmsghdr *nlh, void *data)
{
	const struct ndmsg *ndm = mnl_nlmsg_get_payload(nlh);
	struct nh_neigh *n = data;

	if (nlh->nlmsg_type != RTM_NEWNEIGH ||
	    nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*ndm)))
		return -EPROTO;
	n->state = ndm->ndm_state;
	if (mnl_attr_parse(nlh, sizeof(*ndm), neigh_attr_cb, n) < 0)
		return -EPROTO;
	n->got = true;
	return 0;
}

static struct nlmsghdr *neigh_req(struct nl_conn *c, uint16_t type,
				  uint16_t flags, uint8_t family, int ifindex,
				  const uint8_t *addr)
{
	struct nlmsghdr *nlh = nl_req_start(c, type, flags);
	struct ndmsg *ndm;

	ndm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ndm));
	ndm->ndm_family = family;
	ndm->ndm_ifindex = ifindex;
	mnl_attr_put(nlh, NDA_DST, addr_len(family), addr);
	return nlh;
}

/* Returns -ENOENT when the kernel has no entry at all. */
static int neigh_get(struct nl_conn *c, uint8_t family, int ifindex,
		     const uint8_t *addr, struct nh_neigh *n)
{
	struct nlmsghdr *nlh;
	int err;

	nlh = neigh_req(c, RTM_GETNEIGH, 0, family, ifindex, addr);
	memset(n, 0, sizeof(*n));
	err = nl_query(c, nlh, neigh_parse, n);
	if (!err && !n->got)
		err = -EPROTO;
	return err;
}

/*
 * Makes the kernel resolve a neighbour, as "ip neigh replace ADDR dev DEV
 * use" does: RTM_NEWNEIGH with NTF_USE creates the entry if need be and
 * runs neigh_event_send() on it, which starts ARP or neighbour
 * solicitation (NONE or FAILED becomes INCOMPLETE) or confirms a STALE
 * entry (STALE becomes DELAY, then PROBE).  With NTF_USE the kernel keeps
 * the entry's own state and ignores ndm_state, except that NUD_PERMANENT
 * there would make a newly created entry exempt from garbage collection,
 * which iproute2's default does; NUD_NONE leaves it an ordinary entry.
 * Never send this for a PERMANENT entry: NTF_USE strips that state.
 */
static int neigh_kick(struct nl_conn *c, uint8_t family, int ifindex,
		      const uint8_t *addr)
{
	struct nlmsghdr *nlh;
	struct ndmsg *ndm;

	nlh = neigh_req(c, RTM_NEWNEIGH,
			NLM_F_CREATE | NLM_F_REPLACE | NLM_F_ACK, family,
			ifindex, addr);
	ndm = mnl_nlmsg_get_payload(nlh);
	ndm->ndm_state = NUD_NONE;
	ndm->ndm_flags = NTF_USE;
	return nl_query(c, nlh, NULL, NULL);
}

/* ---- The cache ---------------------------------------------------- */

unsigned long nh_cache_queries(const struct nh_cache *c)
{
	return c->conn.sent;
}

struct nh_cache *nh_cache_new(struct nh_table *t)
{
	struct nh_cache *c;
	int err;

	if (!t) {
		errno = EINVAL;
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->t = t;
	c->warn_limit = (struct log_limit)LOG_LIMIT_INIT(1, 5);
	c->debug_limit = (struct log_limit)LOG_LIMIT_INIT(20, 50);
	err = nl_conn_open(&c->conn);
	if (err) {
		free(c);
		errno = -err;
		return NULL;
	}
	return c;
}

void nh_cache_free(struct nh_cache *c)
{
	if (!c)
		return;
	nl_conn_close(&c->conn);
	free(c);
}

static int key_make(struct nh_key *k, uint8_t family, const void *dst)
{
	unsigned int alen = addr_len(family);

	if (!alen || !dst)
		return -EAFNOSUPPORT;
	memset(k, 0, sizeof(*k));
	k->family = family;
	memcpy(k->addr, dst, alen);
	return 0;
}

/* FNV-1a: cheap, and destinations are few and chosen by configuration. */
static unsigned int key_hash(const struct nh_key *k)
{
	uint32_t h = 2166136261u ^ k->family;

	for (size_t i = 0; i < sizeof(k->addr); i++)
		h = (h ^ k->addr[i]) * 16777619u;
	return h ^ h >> 16;
}

/*
 * Finds the slot of k, or the slot to give it.  Slots are never emptied,
 * so a key always sits before the first empty slot of its probe window;
 * when the window is full the entry of the oldest generation makes way.
 */
static struct nh_entry *cache_slot(struct nh_cache *c, const struct nh_key *k,
				   bool *hit)
{
	unsigned int h = key_hash(k);
	struct nh_entry *victim = NULL;
	struct nh_entry *e;

	*hit = false;
	for (unsigned int i = 0; i < NH_PROBE_LEN; i++) {
		e = &c->slots[(h + i) & (NH_CACHE_SLOTS - 1)];
		if (!e->gen)
			return e;
		if (!memcmp(&e->key, k, sizeof(*k))) {
			*hit = true;
			return e;
		}
		if (!victim || e->gen < victim->gen)
			victim = e;
	}
	return victim;
}

static bool entry_fresh(const struct nh_entry *e, uint64_t gen)
{
	if (e->gen != gen)
		return false;
	return !e->retry_ns || now_ns() < e->retry_ns;
}

static void hop_fill(struct nh_hop *hop, const struct nh_iface *ifc,
		     const struct nh_route *r, const uint8_t *dmac)
{
	uint32_t mtu = atomic_load_explicit(&ifc->mtu, memory_order_relaxed);

	hop->ifindex = r->oif;
	hop->local = false;
	mac_unpack(atomic_load_explicit(&ifc->mac, memory_order_relaxed),
		   hop->smac);
	memcpy(hop->dmac, dmac, 6);
	if (r->mtu && r->mtu < mtu)
		mtu = r->mtu;
	hop->mtu = mtu;
	hop->has_src = r->has_src;
	memset(&hop->src, 0, sizeof(hop->src));
	if (r->has_src)
		memcpy(hop->src.v6, r->src, addr_len(r->family));
}

/* The route's next hop, or the destination itself when on-link. */
static void route_next_hop(const struct nh_route *r, const struct nh_key *k,
			   uint8_t *family, const uint8_t **addr)
{
	*family = r->gw_family ? r->gw_family : k->family;
	*addr = r->gw_family ? r->gw : k->addr;
}

/*
 * Resolves the next hop's link-layer address.  A STALE entry is used,
 * but also handed to the kernel for confirmation: our frames bypass the
 * kernel, which would otherwise never notice that the neighbour is gone.
 */
static int neigh_resolve(struct nh_cache *c, struct nh_entry *e,
			 const struct nh_route *r, const struct nh_iface *ifc)
{
	const uint8_t *addr;
	struct nh_neigh n;
	uint8_t family;
	char buf[INET6_ADDRSTRLEN];
	int err;

	route_next_hop(r, &e->key, &family, &addr);
	err = neigh_get(&c->conn, family, r->oif, addr, &n);
	if (!err && (n.state & NH_NUD_USABLE) && n.has_lladdr) {
		hop_fill(&e->hop, ifc, r, n.lladdr);
		if (n.state & NUD_STALE)
			neigh_kick(&c->conn, family, r->oif, addr);
		return XDPSEC_CNT_OK;
	}
	if (err && err != -ENOENT)
		nh_warn(c, "nexthop: neighbour %s: %s",
			addr_str(family, addr, buf, sizeof(buf)),
			strerror(-err));
	err = neigh_kick(&c->conn, family, r->oif, addr);
	if (err)
		nh_warn(c, "nexthop: cannot resolve %s: %s",
			addr_str(family, addr, buf, sizeof(buf)),
			strerror(-err));
	/* A reply from the neighbour may come without any notification. */
	e->retry_ns = now_ns() + NH_RETRY_NS;
	return XDPSEC_CNT_DROP_NO_NEIGH;
}

/* Returns our interface the route leaves through, or NULL to refuse. */
static const struct nh_iface *route_check(struct nh_cache *c,
					  const struct nh_entry *e,
					  const struct nh_route *r)
{
	const struct nh_iface *ifc;
	char buf[INET6_ADDRSTRLEN];

	if (r->type != RTN_UNICAST) {
		nh_debug(c, "nexthop: %s: route type %u",
			 addr_str(e->key.family, e->key.addr, buf,
				  sizeof(buf)), r->type);
		return NULL;
	}
	ifc = iface_find(c->t, r->oif);
	if (!ifc)
		nh_debug(c, "nexthop: %s: leaves through interface %d",
			 addr_str(e->key.family, e->key.addr, buf,
				  sizeof(buf)), r->oif);
	return ifc;
}

int nh_table_set_local(struct nh_table *t, int ifindex, const uint8_t *dmac)
{
	if (!iface_find(t, ifindex))
		return -ENODEV;
	memcpy(t->local_dmac, dmac, sizeof(t->local_dmac));
	t->local_ifindex = ifindex;
	return 0;
}

/* The hop towards this host's own stack, through the host interface. */
static int local_hop(struct nh_table *t, struct nh_hop *hop)
{
	const struct nh_iface *ifc;

	if (!t->local_ifindex)
		return XDPSEC_CNT_DROP_NO_ROUTE;
	ifc = iface_find(t, t->local_ifindex);
	if (!ifc)
		return XDPSEC_CNT_DROP_NO_ROUTE;
	hop->ifindex = t->local_ifindex;
	mac_unpack(atomic_load_explicit(&ifc->mac, memory_order_relaxed),
		   hop->smac);
	memcpy(hop->dmac, t->local_dmac, sizeof(hop->dmac));
	hop->mtu = atomic_load_explicit(&ifc->mtu, memory_order_relaxed);
	hop->local = true;
	hop->has_src = false;
	return XDPSEC_CNT_OK;
}

/* Computes e->result (and e->hop, e->retry_ns) for e->key. */
static void resolve(struct nh_cache *c, struct nh_entry *e)
{
	const struct nh_iface *ifc;
	char buf[INET6_ADDRSTRLEN];
	struct nh_route r;
	int err;

	e->retry_ns = 0;
	e->result = XDPSEC_CNT_DROP_NO_ROUTE;
	err = route_get(&c->conn, &e->key, &r);
	if (err) {
		nh_debug(c, "nexthop: no route to %s: %s",
			 addr_str(e->key.family, e->key.addr, buf,
				  sizeof(buf)), strerror(-err));
		if (nl_err_transient(err)) {
			nh_warn(c, "nexthop: route query: %s", strerror(-err));
			e->retry_ns = now_ns() + NH_RETRY_NS;
		}
		return;
	}
	if (r.type == RTN_LOCAL) {
		e->result = local_hop(c->t, &e->hop);
		return;
	}
	ifc = route_check(c, e, &r);
	if (ifc)
		e->result = neigh_resolve(c, e, &r, ifc);
}

int nh_lookup(struct nh_cache *c, uint8_t family, const void *dst,
	      struct nh_hop *hop)
{
	/* Acquire: pairs with gen_bump() so the fields we read are new. */
	uint64_t gen = atomic_load_explicit(&c->t->gen, memory_order_acquire);
	struct nh_entry *e;
	struct nh_key k;
	bool hit;

	if (key_make(&k, family, dst) < 0)
		return XDPSEC_CNT_DROP_NO_ROUTE;
	e = cache_slot(c, &k, &hit);
	if (!hit || !entry_fresh(e, gen)) {
		e->key = k;
		e->gen = gen;
		resolve(c, e);
	}
	if (e->result == XDPSEC_CNT_OK)
		*hop = e->hop;
	return e->result;
}
