// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <json-c/json.h>
#include <openssl/crypto.h>

#include "config.h"
#include "daemon.h"
#include "ike.h"
#include "ike_ke.h"
#include "ike_sa.h"
#include "skel.h"
#include "log.h"
#include "nexthop.h"

enum {
	IKE_RECV_BATCH = 64,		/* datagrams per socket per poll */
	IKE_RETRY_MS = 5000,		/* a failed connection tries again */
	IKE_RESTART_MS = 1000,		/* a fallen one, after 1-3 s */
	IKE_RUN_MAX_MS = 1000,		/* the longest the main loop may sleep */
	CHILD_POLICIES_MAX = 32,	/* policy pairs of one CHILD_SA */
};

/* A start = trap connection's outbound hold policies, and their hits. */
struct conn_trap {
	uint32_t ids[CHILD_POLICIES_MAX];
	unsigned int n;
	uint64_t seen;			/* packets they had trapped */
};

struct ike_daemon {
	struct ike ike;
	struct ike_sock sock;
	uint64_t *retry_ms;		/* per connection: next start attempt */
	size_t n_retry;
	struct conn_trap *traps;	/* per connection at start */
	size_t n_traps;
};

/* What a CHILD_SA installed: its two SAs and its policies, by name. */
struct child_names {
	char sa_in[CONFIG_NAME_MAX], sa_out[CONFIG_NAME_MAX];
	unsigned int n_pol;
	char pol[2 * CHILD_POLICIES_MAX][CONFIG_NAME_MAX];
};

/* ---- Traffic selectors into policies ---- */

typedef unsigned __int128 u128;

static u128 addr_get(const uint8_t *a, size_t alen)
{
	u128 v = 0;

	for (size_t i = 0; i < alen; i++)
		v = v << 8 | a[i];
	return v;
}

static void addr_put(u128 v, size_t alen, struct xdpsec_addr *out)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = alen; i-- > 0; v >>= 8)
		out->v6[i] = (uint8_t)v;
}

struct prefix {
	struct xdpsec_addr addr;
	uint8_t plen;
};

/* The fewest prefixes that cover exactly start..end; returns how many. */
static size_t range_prefixes(const struct ike_ts *t, struct prefix *out,
			     size_t max)
{
	size_t alen = t->type == IKE_TS_IPV4_ADDR_RANGE ? 4 : 16;
	unsigned int width = 8 * (unsigned int)alen;
	u128 s = addr_get(t->start, alen), e = addr_get(t->end, alen);
	u128 top = width == 128 ? ~(u128)0 : ((u128)1 << width) - 1;
	size_t n = 0;

	if (s == 0 && e == top && max) {
		addr_put(0, alen, &out[0].addr);
		out[0].plen = 0;
		return 1;
	}
	while (s <= e && n < max) {
		unsigned int host = 0;

		/* Grow the block while it stays aligned and within the end. */
		while (host + 1 < width) {
			u128 size = (u128)1 << (host + 1);

			if ((s & (size - 1)) || s + (size - 1) > e)
				break;
			host++;
		}
		addr_put(s, alen, &out[n].addr);
		out[n++].plen = (uint8_t)(width - host);
		if (s + (((u128)1 << host) - 1) >= e)
			break;
		s += (u128)1 << host;
	}
	return n;
}

static void sel_fill(struct xdpsec_sel *sel, const struct ike_ts *src,
		     const struct prefix *sp, const struct ike_ts *dst,
		     const struct prefix *dp)
{
	memset(sel, 0, sizeof(*sel));
	sel->family = src->type == IKE_TS_IPV4_ADDR_RANGE ? AF_INET : AF_INET6;
	sel->src = sp->addr;
	sel->src_plen = sp->plen;
	sel->dst = dp->addr;
	sel->dst_plen = dp->plen;
	sel->proto = src->ip_proto ? src->ip_proto : dst->ip_proto;
	sel->sport_lo = src->start_port;
	sel->sport_hi = src->end_port;
	sel->dport_lo = dst->start_port;
	sel->dport_hi = dst->end_port;
}

/*
 * Every pair of local and remote selectors of one family, as prefixes:
 * out[i] is local -> remote.  Returns how many, at most max.
 */
static size_t child_sels(const struct ike_child *c, struct xdpsec_sel *out,
			 size_t max)
{
	struct prefix lp[CHILD_POLICIES_MAX], rp[CHILD_POLICIES_MAX];
	size_t n = 0;

	for (size_t i = 0; i < c->ts_local.n; i++) {
		const struct ike_ts *l = &c->ts_local.ts[i];
		size_t nl = range_prefixes(l, lp, CHILD_POLICIES_MAX);

		for (size_t j = 0; j < c->ts_remote.n; j++) {
			const struct ike_ts *r = &c->ts_remote.ts[j];
			size_t nr;

			if (l->type != r->type)
				continue;
			nr = range_prefixes(r, rp, CHILD_POLICIES_MAX);
			for (size_t a = 0; a < nl; a++)
				for (size_t b = 0; b < nr && n < max; b++)
					sel_fill(&out[n++], l, &lp[a], r,
						 &rp[b]);
		}
	}
	return n;
}

static void sel_reverse(const struct xdpsec_sel *s, struct xdpsec_sel *out)
{
	*out = *s;
	out->src = s->dst;
	out->src_plen = s->dst_plen;
	out->dst = s->src;
	out->dst_plen = s->src_plen;
	out->sport_lo = s->dport_lo;
	out->sport_hi = s->dport_hi;
	out->dport_lo = s->sport_lo;
	out->dport_hi = s->sport_hi;
}

/* ---- CHILD_SAs into the SAD and SPD ---- */

static void outer_addr(const union ike_sockaddr *a, struct xdpsec_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (a->sa.sa_family == AF_INET)
		memcpy(&out->v4, &a->in4.sin_addr, 4);
	else
		memcpy(out->v6, &a->in6.sin6_addr, 16);
}

/*
 * IKE rekeys a CHILD_SA at 80-90 % of its lifetime, and when its SAs
 * reach the soft byte or packet limit (or near the end of their sequence
 * numbers).  If that fails, the hard limits remove the SAs: a quarter
 * beyond the soft ones, an eighth (and two seconds, the data plane's
 * clock being in seconds) beyond the lifetime.  Traffic then meets the
 * connection's discard policies, never the clear.
 */
static void child_lifetimes(const struct conn_conf *conn, struct xdpsec_sa *s)
{
	s->soft.bytes = conn->child_bytes;
	s->soft.packets = conn->child_packets;
	s->hard.bytes = conn->child_bytes + conn->child_bytes / 4;
	s->hard.packets = conn->child_packets + conn->child_packets / 4;
	if (conn->child_lifetime)
		s->hard.seconds = conn->child_lifetime +
				  conn->child_lifetime / 8 + 2;
}

/* One of the two SAs: dir says which; sels[0..n) are local -> remote. */
static int child_sa_add(struct daemon *d, const struct ike_sa *sa,
			const struct ike_child *c, uint8_t dir,
			const uint8_t *key, size_t key_len, const char *name,
			const struct xdpsec_sel *sels, size_t n)
{
	bool out = dir == XDPSEC_DIR_OUT;
	struct xdpsec_sa *s;
	struct sa_conf *conf;
	char err[CONFIG_ERR_MAX];
	int ret;

	conf = calloc(1, sizeof(*conf));
	if (!conf)
		return -ENOMEM;
	config_sa_init(conf, name);
	s = &conf->sa;
	s->spi = out ? c->spi_out : c->spi_in;
	s->dir = dir;
	s->mode = c->mode;
	s->proto = XDPSEC_IPPROTO_ESP;
	s->alg = ike_encr_alg(c->xf.encr, c->xf.encr_bits);
	s->integ = ike_integ_alg(c->xf.integ);
	s->family = sa->dg.remote.sa.sa_family;
	s->replay_window = out ? 0 : d->cfg.daemon.replay_window;
	outer_addr(out ? &sa->dg.local : &sa->dg.remote, &s->src);
	outer_addr(out ? &sa->dg.remote : &sa->dg.local, &s->dst);
	if (c->esn)
		s->flags |= XDPSEC_SA_F_ESN;
	if (c->encap) {
		s->flags |= XDPSEC_SA_F_UDP_ENCAP;
		s->encap_sport = ike_sockaddr_port(out ? &sa->dg.local :
							 &sa->dg.remote);
		s->encap_dport = ike_sockaddr_port(out ? &sa->dg.remote :
							 &sa->dg.local);
	}
	child_lifetimes(&sa->conn, s);
	if (out)
		s->sel = sels[0];
	else
		sel_reverse(&sels[0], &s->sel);
	for (size_t i = 1; i < n && i < SA_SELS_MAX; i++) {
		if (out)
			conf->more_sels[i - 1] = sels[i];
		else
			sel_reverse(&sels[i], &conf->more_sels[i - 1]);
		conf->n_more_sels++;
	}
	memcpy(conf->key, key, key_len);
	conf->key_len = key_len;
	ret = config_sa_check_built(conf, err, sizeof(err));
	if (!ret)
		ret = sad_add(&d->sad, conf, false, err, sizeof(err));
	if (ret < 0)
		log_warn("IKE %s: SA %s: %s", sa->conn.name, name, err);
	OPENSSL_cleanse(conf, sizeof(*conf));
	free(conf);
	return ret < 0 ? ret : 0;
}

static int child_policy_add(struct daemon *d, struct child_names *cn,
			    const struct xdpsec_sel *sel, uint8_t dir,
			    const char *sa_name)
{
	char err[CONFIG_ERR_MAX], name[CONFIG_NAME_MAX];
	struct policy_conf p;
	int ret;

	snprintf(name, sizeof(name), "%.40s.p%u", sa_name, cn->n_pol);
	config_policy_init(&p, name);
	p.pol.sel = *sel;
	p.pol.dir = dir;
	p.pol.action = XDPSEC_ACT_PROTECT;
	p.pol.priority = config_policy_priority(&p);
	snprintf(p.sa_name, sizeof(p.sa_name), "%s", sa_name);
	ret = spd_add(&d->spd, &d->sad, &p, false, err, sizeof(err));
	if (ret < 0) {
		log_warn("IKE: policy %s: %s", p.name, err);
		return ret;
	}
	snprintf(cn->pol[cn->n_pol++], CONFIG_NAME_MAX, "%s", p.name);
	return 0;
}

static void child_down(void *arg, const struct ike_sa *sa, struct ike_child *c)
{
	struct child_names *cn = c->priv;
	struct daemon *d = arg;
	struct spd_entry *e;
	struct sa *s;
	char err[CONFIG_ERR_MAX];

	(void)sa;
	if (!cn)
		return;
	for (unsigned int i = 0; i < cn->n_pol; i++) {
		e = spd_find_name(&d->spd, cn->pol[i]);
		if (e)
			spd_del(&d->spd, &d->sad, e->id);
	}
	s = sad_find_name(&d->sad, cn->sa_out);
	if (s)
		sad_del(&d->sad, s->idx, daemon_sync_workers, d);
	s = sad_find_name(&d->sad, cn->sa_in);
	if (s)
		sad_del(&d->sad, s->idx, daemon_sync_workers, d);
	spd_compile(&d->spd, &d->sad, err, sizeof(err));
	daemon_host_routes(d);
	free(cn);
	c->priv = NULL;
}

static int child_up(void *arg, const struct ike_sa *sa, struct ike_child *c,
		    const struct ike_child_keys *k)
{
	struct xdpsec_sel sels[CHILD_POLICIES_MAX], rev;
	struct daemon *d = arg;
	struct child_names *cn;
	size_t n = child_sels(c, sels, CHILD_POLICIES_MAX);
	int ret;

	if (!n)
		return -EINVAL;
	cn = calloc(1, sizeof(*cn));
	if (!cn)
		return -ENOMEM;
	c->priv = cn;
	snprintf(cn->sa_in, sizeof(cn->sa_in), "%.40s.%08x.in", sa->conn.name,
		 c->spi_in);
	snprintf(cn->sa_out, sizeof(cn->sa_out), "%.40s.%08x.out",
		 sa->conn.name, c->spi_in);

	ret = child_sa_add(d, sa, c, XDPSEC_DIR_IN, k->in, k->len, cn->sa_in,
			   sels, n);
	if (!ret)
		ret = child_sa_add(d, sa, c, XDPSEC_DIR_OUT, k->out, k->len,
				   cn->sa_out, sels, n);
	for (size_t i = 0; !ret && i < n; i++) {
		sel_reverse(&sels[i], &rev);
		ret = child_policy_add(d, cn, &sels[i], XDPSEC_DIR_OUT,
				       cn->sa_out);
		if (!ret)
			ret = child_policy_add(d, cn, &rev, XDPSEC_DIR_IN,
					       cn->sa_in);
	}
	if (ret) {
		child_down(d, sa, c);
		return ret;
	}
	daemon_host_routes(d);
	return 0;
}

/* Takes the CHILD_SA's outbound policies away: its successor's remain. */
static void child_retire(void *arg, const struct ike_sa *sa,
			 struct ike_child *c)
{
	struct child_names *cn = c->priv;
	size_t n = cn ? strlen(cn->sa_out) : 0;
	struct daemon *d = arg;
	struct spd_entry *e;
	char err[CONFIG_ERR_MAX];

	(void)sa;
	for (unsigned int i = 0; cn && i < cn->n_pol; i++) {
		if (strncmp(cn->pol[i], cn->sa_out, n) || cn->pol[i][n] != '.')
			continue;
		e = spd_find_name(&d->spd, cn->pol[i]);
		if (e)
			spd_del(&d->spd, &d->sad, e->id);
	}
	if (cn)
		spd_compile(&d->spd, &d->sad, err, sizeof(err));
}

/* Whether the data plane has marked either SA soft-expired. */
static bool child_expiring(void *arg, const struct ike_sa *sa,
			   const struct ike_child *c)
{
	const struct child_names *cn = c->priv;
	const char *names[2];
	struct daemon *d = arg;
	struct sa *s;

	(void)sa;
	if (!cn)
		return false;
	names[0] = cn->sa_in;
	names[1] = cn->sa_out;
	for (int i = 0; i < 2; i++) {
		s = sad_find_name(&d->sad, names[i]);
		if (s && (d->sad.state[s->idx].expired & XDPSEC_EXPIRE_SOFT))
			return true;
	}
	return false;
}

/*
 * Until IKE has negotiated a CHILD_SA, what a connection would protect is
 * dropped, never sent in clear: a discard policy per selector pair, one
 * step below where the CHILD_SA's protect policies will sit.
 */
static void conn_hold(struct daemon *d, const struct conn_conf *conn,
		      struct conn_trap *trap)
{
	struct ike_child c = { 0 };
	struct xdpsec_sel sels[CHILD_POLICIES_MAX];
	char err[CONFIG_ERR_MAX];
	size_t n;
	int id;

	ike_conn_ts(conn, &c.ts_local, &c.ts_remote);
	n = child_sels(&c, sels, CHILD_POLICIES_MAX);
	for (size_t i = 0; i < n; i++) {
		for (int dir = 0; dir < 2; dir++) {
			struct policy_conf p;
			char name[CONFIG_NAME_MAX];

			snprintf(name, sizeof(name), "%.40s.hold%zu%s",
				 conn->name, i, dir ? "o" : "i");
			config_policy_init(&p, name);
			if (dir)
				p.pol.sel = sels[i];
			else
				sel_reverse(&sels[i], &p.pol.sel);
			p.pol.dir = dir ? XDPSEC_DIR_OUT : XDPSEC_DIR_IN;
			p.pol.action = dir && trap ? XDPSEC_ACT_TRAP :
						     XDPSEC_ACT_DISCARD;
			p.pol.priority = config_policy_priority(&p) + 1;
			id = spd_add(&d->spd, &d->sad, &p, false, err,
				     sizeof(err));
			if (id < 0)
				log_warn("IKE %s: %s", conn->name, err);
			else if (dir && trap && trap->n < CHILD_POLICIES_MAX)
				trap->ids[trap->n++] = (uint32_t)id;
		}
	}
}

/* ---- The main loop's side ---- */

int ike_daemon_start(struct daemon *d)
{
	struct ike_daemon *id;
	struct ike_env env = {
		.arg = d,
		.child_up = child_up,
		.child_down = child_down,
		.child_expiring = child_expiring,
		.child_retire = child_retire,
	};
	int ret;

	if (!d->cfg.n_conns)
		return 0;
	id = calloc(1, sizeof(*id));
	if (!id)
		return -ENOMEM;
	ret = ike_sock_open(&id->sock, 0, 0, NH_ROUTE_MARK);
	if (ret) {
		log_err("IKE sockets: %s", strerror(-ret));
		free(id);
		return ret;
	}
	env.sock = &id->sock;
	env.mark = NH_ROUTE_MARK;
	ret = ike_init(&id->ike, &env);
	if (ret) {
		ike_sock_close(&id->sock);
		free(id);
		return ret;
	}
	d->ike = id;
	id->traps = calloc(d->cfg.n_conns, sizeof(*id->traps));
	id->n_traps = id->traps ? d->cfg.n_conns : 0;
	for (size_t i = 0; i < d->cfg.n_conns; i++)
		conn_hold(d, &d->cfg.conns[i],
			  i < id->n_traps &&
					  d->cfg.conns[i].start == CONN_START_TRAP ?
				  &id->traps[i] : NULL);
	daemon_host_routes(d);
	log_info("IKE: %zu connections, ports %u and %u", d->cfg.n_conns,
		 id->sock.port, id->sock.natt_port);
	return 0;
}

void ike_daemon_stop(struct daemon *d)
{
	struct ike_daemon *id = d->ike;

	if (!id)
		return;
	ike_fini(&id->ike);
	ike_sock_close(&id->sock);
	free(id->retry_ms);
	free(id->traps);
	free(id);
	d->ike = NULL;
}

int ike_daemon_pollfds(struct daemon *d, struct pollfd *pfd)
{
	struct ike_daemon *id = d->ike;
	int n = 0;

	if (!id)
		return 0;
	for (int i = 0; i < IKE_SOCK_N; i++) {
		if (id->sock.fd[i] < 0)
			continue;
		pfd[n].fd = id->sock.fd[i];
		pfd[n].events = POLLIN;
		pfd[n++].revents = 0;
	}
	return n;
}

static enum ike_sock_slot slot_of(struct ike_daemon *id, int fd)
{
	for (int i = 0; i < IKE_SOCK_N; i++)
		if (id->sock.fd[i] == fd)
			return (enum ike_sock_slot)i;
	return IKE_SOCK_N;
}

/*
 * Behind a NAT, IKE answers the port of the peer's last authenticated
 * message (RFC 7296 section 2.23); UDP-encapsulated ESP must go there
 * too, or it keeps going to a mapping the NAT has dropped.  Only the port
 * is followed: it is a 16-bit store that the workers may read at any
 * time.  Inbound ESP is found by its SPI alone, whatever its source.
 */
static void children_follow(struct daemon *d, const struct ike_sa *sa)
{
	static struct log_limit moved_log = LOG_LIMIT_INIT(5, 20);
	uint16_t port = ike_sockaddr_port(&sa->dg.remote);
	struct xdpsec_addr dst;
	struct sa *s;

	if (sa->state != IKE_SA_ESTABLISHED || !sa->dg.natt)
		return;
	outer_addr(&sa->dg.remote, &dst);
	for (const struct ike_child *c = sa->children; c; c = c->next) {
		const struct child_names *cn = c->priv;

		if (!cn || !c->encap)
			continue;
		s = sad_find_name(&d->sad, cn->sa_out);
		if (!s || s->pub.encap_dport == port)
			continue;
		if (memcmp(&s->pub.dst, &dst, sizeof(dst))) {
			log_ratelimited(&moved_log, LOG_LVL_WARN,
					"IKE %s: peer moved to a new address; SA %s keeps the old one",
					sa->conn.name, s->name);
			continue;
		}
		log_info("IKE %s: peer's NAT moved it from port %u to %u; SA %s follows",
			 sa->conn.name, s->pub.encap_dport, port, s->name);
		sad_set_encap_dport(&d->sad, s, port);
	}
}

void ike_daemon_input(struct daemon *d, const struct pollfd *pfd, int n)
{
	struct ike_daemon *id = d->ike;
	uint8_t buf[IKE_MSG_MAX];
	struct ike_dgram dg;

	if (!id)
		return;
	for (int i = 0; i < n; i++) {
		enum ike_sock_slot slot = slot_of(id, pfd[i].fd);

		if (!(pfd[i].revents & POLLIN) || slot == IKE_SOCK_N)
			continue;
		for (int j = 0; j < IKE_RECV_BATCH; j++) {
			ssize_t len = ike_sock_recv(&id->sock, slot, buf,
						    sizeof(buf), &dg);

			if (len == -EMSGSIZE)
				continue;	/* too big: dropped, go on */
			if (len < 0)
				break;		/* empty (EAGAIN), or failed */
			ike_input(&id->ike, buf, (size_t)len, &dg,
				  d->cfg.conns, d->cfg.n_conns);
		}
	}
	for (const struct ike_sa *sa = id->ike.sas; sa; sa = sa->next)
		children_follow(d, sa);
}

/* What a trap connection's hold policies have caught so far. */
static uint64_t trap_hits(struct daemon *d, const struct conn_trap *t)
{
	int fd = bpf_map__fd(d->skel->maps.acquire);
	uint64_t sum = 0, n;

	for (unsigned int i = 0; i < t->n; i++) {
		uint32_t key = t->ids[i] % XDPSEC_ACQUIRE_SLOTS;

		if (!bpf_map_lookup_elem(fd, &key, &n))
			sum += n;
	}
	return sum;
}

/*
 * Whether a trap connection has caught a packet since it last looked:
 * then it starts (RFC 4301's acquire, from the data plane's counts).
 */
static bool trap_sprung(struct daemon *d, struct ike_daemon *id, size_t i)
{
	uint64_t hits;

	if (i >= id->n_traps || !id->traps[i].n)
		return false;
	hits = trap_hits(d, &id->traps[i]);
	if (hits <= id->traps[i].seen)
		return false;
	id->traps[i].seen = hits;
	return true;
}

/* Connections that start themselves, and come back when they fall. */
static void start_actions(struct daemon *d, struct ike_daemon *id,
			  uint64_t now)
{
	if (id->n_retry != d->cfg.n_conns) {
		free(id->retry_ms);
		id->retry_ms = calloc(d->cfg.n_conns, sizeof(*id->retry_ms));
		id->n_retry = id->retry_ms ? d->cfg.n_conns : 0;
	}
	for (size_t i = 0; i < id->n_retry; i++) {
		const struct conn_conf *c = &d->cfg.conns[i];

		if (c->start == CONN_START_WAIT)
			continue;
		/*
		 * While it is up, the next start is pushed 1-3 s ahead: a
		 * peer that deletes the IKE SA to bring up a new one itself
		 * (reauthentication) gets there first, rather than both at
		 * once.
		 */
		if (ike_find_conn(&id->ike, c->name)) {
			id->retry_ms[i] = now + IKE_RESTART_MS +
					  now % (2 * IKE_RESTART_MS);
			continue;
		}
		if (now < id->retry_ms[i])
			continue;
		if (c->start == CONN_START_TRAP && !trap_sprung(d, id, i))
			continue;
		id->retry_ms[i] = now + IKE_RETRY_MS;
		ike_initiate(&id->ike, c);
	}
}

int ike_daemon_run(struct daemon *d)
{
	struct ike_daemon *id = d->ike;
	uint64_t now, next;

	if (!id)
		return IKE_RUN_MAX_MS;
	now = ike_clock_ms();
	start_actions(d, id, now);
	next = ike_run_timers(&id->ike, now);
	if (next <= now)
		return 0;
	return next - now < IKE_RUN_MAX_MS ? (int)(next - now) :
					     IKE_RUN_MAX_MS;
}

/* ---- Control ---- */

/* A negotiated proposal as configurations spell it. */
static const char *prop_text(const struct conn_proposal *p, char *buf,
			     size_t len)
{
	static const char *const integ[] = {
		[IKE_INTEG_HMAC_SHA2_256_128] = "/hmac-sha256-128",
		[IKE_INTEG_HMAC_SHA2_384_192] = "/hmac-sha384-192",
		[IKE_INTEG_HMAC_SHA2_512_256] = "/hmac-sha512-256",
	};
	static const char *const prf[] = {
		[IKE_PRF_HMAC_SHA2_256] = "/prf-sha256",
		[IKE_PRF_HMAC_SHA2_384] = "/prf-sha384",
		[IKE_PRF_HMAC_SHA2_512] = "/prf-sha512",
	};
	const char *group = p->group ? ike_ke_name(p->group) : NULL;
	char encr[32];

	switch (p->encr) {
	case IKE_ENCR_AES_GCM_16:
		snprintf(encr, sizeof(encr), "aes-gcm-%u", p->encr_bits);
		break;
	case IKE_ENCR_AES_CBC:
		snprintf(encr, sizeof(encr), "aes-cbc-%u", p->encr_bits);
		break;
	case IKE_ENCR_NULL_AUTH_AES_GMAC:
		snprintf(encr, sizeof(encr), "aes-gmac-%u", p->encr_bits);
		break;
	case IKE_ENCR_CHACHA20_POLY1305:
		snprintf(encr, sizeof(encr), "chacha20-poly1305");
		break;
	default:
		snprintf(encr, sizeof(encr), "encr-%u", p->encr);
	}
	snprintf(buf, len, "%s%s%s%s%s%s", encr,
		 p->integ < 15 && integ[p->integ] ? integ[p->integ] : "",
		 p->prf < 8 && prf[p->prf] ? prf[p->prf] : "",
		 group ? "/" : "", group ? group : "",
		 p->esn == CONN_ESN_YES ? "/esn" : "");
	return buf;
}

/* Seconds until a rekey is due, or -1 for none. */
static int64_t due_in_s(uint64_t due_ms, uint64_t now)
{
	if (!due_ms)
		return -1;
	return due_ms > now ? (int64_t)((due_ms - now) / 1000) : 0;
}

static struct json_object *child_json(const struct ike_child *c,
				      uint64_t now)
{
	struct json_object *o = json_object_new_object();
	char buf[96];

	snprintf(buf, sizeof(buf), "%08x", c->spi_in);
	json_object_object_add(o, "spi_in", json_object_new_string(buf));
	snprintf(buf, sizeof(buf), "%08x", c->spi_out);
	json_object_object_add(o, "spi_out", json_object_new_string(buf));
	json_object_object_add(o, "mode", json_object_new_string(
		config_mode_name(c->mode)));
	json_object_object_add(o, "esn", json_object_new_boolean(c->esn));
	json_object_object_add(o, "encap", json_object_new_boolean(c->encap));
	json_object_object_add(o, "transform", json_object_new_string(
		prop_text(&c->xf, buf, sizeof(buf))));
	json_object_object_add(o, "age_s", json_object_new_int64(
		(int64_t)((now - c->created_ms) / 1000)));
	json_object_object_add(o, "rekey_in_s", json_object_new_int64(
		due_in_s(c->rekey_due_ms, now)));
	return o;
}

static struct json_object *sa_json(const struct ike_sa *sa, uint64_t now)
{
	struct json_object *o = json_object_new_object(), *kids;
	char buf[96];

	json_object_object_add(o, "conn", json_object_new_string(sa->conn.name));
	snprintf(buf, sizeof(buf), "%016llx", (unsigned long long)sa->spi_i);
	json_object_object_add(o, "spi_i", json_object_new_string(buf));
	snprintf(buf, sizeof(buf), "%016llx", (unsigned long long)sa->spi_r);
	json_object_object_add(o, "spi_r", json_object_new_string(buf));
	json_object_object_add(o, "state", json_object_new_string(
		ike_state_name(sa->state)));
	json_object_object_add(o, "initiator",
			       json_object_new_boolean(sa->initiator));
	json_object_object_add(o, "local", json_object_new_string(
		ike_sockaddr_str(&sa->dg.local, buf, sizeof(buf))));
	json_object_object_add(o, "remote", json_object_new_string(
		ike_sockaddr_str(&sa->dg.remote, buf, sizeof(buf))));
	json_object_object_add(o, "peer_id", json_object_new_string(sa->peer_id));
	json_object_object_add(o, "nat", json_object_new_boolean(
		sa->nat_here || sa->nat_there));
	json_object_object_add(o, "transform", json_object_new_string(
		prop_text(&sa->xf, buf, sizeof(buf))));
	json_object_object_add(o, "age_s", json_object_new_int64(
		(int64_t)((now - sa->created_ms) / 1000)));
	json_object_object_add(o, "rekey_in_s", json_object_new_int64(
		due_in_s(sa->rekey_due_ms, now)));
	json_object_object_add(o, "msgs_in", json_object_new_int64(
		(int64_t)sa->msgs_in));
	json_object_object_add(o, "msgs_out", json_object_new_int64(
		(int64_t)sa->msgs_out));
	json_object_object_add(o, "retransmits", json_object_new_int64(
		(int64_t)sa->retransmits));
	json_object_object_add(o, "child_rekeys", json_object_new_int64(
		(int64_t)sa->child_rekeys));
	json_object_object_add(o, "ike_rekeys", json_object_new_int64(
		(int64_t)sa->ike_rekeys));
	json_object_object_add(o, "fragments_in", json_object_new_int64(
		(int64_t)sa->frags_in));
	json_object_object_add(o, "fragments_out", json_object_new_int64(
		(int64_t)sa->frags_out));
	kids = json_object_new_array();
	for (const struct ike_child *c = sa->children; c; c = c->next)
		json_object_array_add(kids, child_json(c, now));
	json_object_object_add(o, "children", kids);
	return o;
}

struct json_object *ike_daemon_list(struct daemon *d)
{
	struct json_object *a = json_object_new_array();
	struct ike_daemon *id = d->ike;
	uint64_t now = ike_clock_ms();

	if (!id)
		return a;
	for (const struct ike_sa *sa = id->ike.sas; sa; sa = sa->next)
		if (sa->state != IKE_SA_DEAD)
			json_object_array_add(a, sa_json(sa, now));
	return a;
}

static const struct conn_conf *conn_named(struct daemon *d, const char *name)
{
	for (size_t i = 0; i < d->cfg.n_conns; i++)
		if (!strcmp(d->cfg.conns[i].name, name))
			return &d->cfg.conns[i];
	return NULL;
}

int ike_daemon_up(struct daemon *d, const char *conn, char *err, size_t len)
{
	const struct conn_conf *c = conn_named(d, conn);
	int ret;

	if (!c || !d->ike) {
		snprintf(err, len, "no connection named %s", conn);
		return -ENOENT;
	}
	ret = ike_initiate(&d->ike->ike, c);
	if (ret)
		snprintf(err, len, "cannot initiate %s: %s", conn,
			 strerror(-ret));
	return ret;
}

int ike_daemon_rekey(struct daemon *d, const char *conn, char *err,
		     size_t len)
{
	if (!conn_named(d, conn) || !d->ike) {
		snprintf(err, len, "no connection named %s", conn);
		return -ENOENT;
	}
	if (!ike_rekey_now(&d->ike->ike, conn)) {
		snprintf(err, len, "%s has no CHILD_SA", conn);
		return -ENOENT;
	}
	return 0;
}

int ike_daemon_down(struct daemon *d, const char *conn, char *err,
		    size_t len)
{
	if (!conn_named(d, conn) || !d->ike) {
		snprintf(err, len, "no connection named %s", conn);
		return -ENOENT;
	}
	if (!ike_terminate(&d->ike->ike, conn)) {
		snprintf(err, len, "%s has no IKE SA", conn);
		return -ENOENT;
	}
	return 0;
}
