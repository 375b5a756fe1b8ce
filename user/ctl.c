// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <malloc.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <json-c/json.h>
#include <linux/if_link.h>
#include <openssl/crypto.h>

#include "counters.h"
#include "ctl.h"
#include "ike.h"
#include "log.h"
#include "mac.h"
#include "worker.h"
#include "skel.h"

enum {
	CTL_REQUEST_MAX = 1 << 20,
	CTL_TIMEOUT_MS = 2000,
};

/*
 * A batch: one connection that carries many requests.  Adds only append
 * to the SPD; it is compiled, and the host routes follow it, once, when
 * another kind of request comes or the batch ends.
 */
struct ctl_batch {
	bool compile;			/* an SA a policy waited for came */
	bool routes;			/* the SPD changed */
	unsigned long requests;
	unsigned long failed;
};

struct ctl_req {
	struct daemon *d;
	struct ctl_batch *batch;	/* NULL outside a batch */
	struct json_object *args;
	struct json_object *data;	/* reply payload, set by handlers */
	char err[CONFIG_ERR_MAX];
};

int ctl_listen(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	mode_t old;
	int fd, err;

	if (strlen(path) >= sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	strcpy(addr.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;

	unlink(path);
	/* Only root may talk to the daemon: the socket is created 0600. */
	old = umask(0177);
	err = bind(fd, (struct sockaddr *)&addr, sizeof(addr));
	umask(old);
	if (err || listen(fd, 16)) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

static const char *addr_str(uint8_t family, const struct xdpsec_addr *a,
			    char *buf, size_t len)
{
	int af = family == XDPSEC_AF_INET6 ? AF_INET6 : AF_INET;

	if (!inet_ntop(af, a, buf, len))
		snprintf(buf, len, "?");
	return buf;
}

static const char *prefix_str(uint8_t family, const struct xdpsec_addr *a,
			      uint8_t plen, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN];

	snprintf(buf, len, "%s/%u", addr_str(family, a, ip, sizeof(ip)), plen);
	return buf;
}

static const char *range_str(uint16_t lo, uint16_t hi, char *buf, size_t len)
{
	if (lo == 0 && hi == 0xffff)
		snprintf(buf, len, "any");
	else if (lo == hi)
		snprintf(buf, len, "%u", lo);
	else
		snprintf(buf, len, "%u-%u", lo, hi);
	return buf;
}

static void jadd_str(struct json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, json_object_new_string(v));
}

static void jadd_u64(struct json_object *o, const char *k, uint64_t v)
{
	json_object_object_add(o, k, json_object_new_uint64(v));
}

static const char *arg_str(struct ctl_req *r, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(r->args, key, &v))
		return NULL;
	return json_object_get_string(v);
}

static int ctl_status(struct ctl_req *r)
{
	struct daemon *d = r->d;
	struct json_object *ifs = json_object_new_array();
	struct json_object *maps = json_object_new_array();
	struct bpf_map *map;

	r->data = json_object_new_object();
	jadd_str(r->data, "instance", d->cfg.daemon.instance);
	jadd_u64(r->data, "pid", getpid());
	jadd_u64(r->data, "uptime_s", time(NULL) - d->started);
	jadd_str(r->data, "config", d->config_path);
	jadd_str(r->data, "pin_path", d->pin_path);
	jadd_str(r->data, "default_action",
		 config_action_name(d->cfg.daemon.default_action));
	jadd_u64(r->data, "workers", d->n_workers);
	jadd_u64(r->data, "sas", d->sad.count);
	jadd_u64(r->data, "policies", d->spd.n);

	for (unsigned int i = 0; i < d->n_ifaces; i++) {
		struct json_object *o = json_object_new_object();
		const struct iface *ifc = &d->ifaces[i];

		jadd_str(o, "name", ifc->name);
		jadd_u64(o, "ifindex", ifc->ifindex);
		jadd_str(o, "xdp_mode", ifc->xdp_flags & XDP_FLAGS_SKB_MODE ?
				      "generic" : "native");
		jadd_u64(o, "queues", ifc->n_queues);
		json_object_array_add(ifs, o);
	}
	json_object_object_add(r->data, "interfaces", ifs);

	bpf_object__for_each_map(map, d->skel->obj) {
		struct json_object *o = json_object_new_object();
		struct bpf_map_info info = { 0 };
		__u32 len = sizeof(info);

		bpf_obj_get_info_by_fd(bpf_map__fd(map), &info, &len);
		jadd_str(o, "name", bpf_map__name(map));
		jadd_u64(o, "id", info.id);
		json_object_array_add(maps, o);
	}
	json_object_object_add(r->data, "maps", maps);
	return 0;
}

static int ctl_stats(struct ctl_req *r)
{
	struct daemon *d = r->d;
	int ncpu = libbpf_num_possible_cpus();
	int fd = bpf_map__fd(d->skel->maps.counters);
	struct json_object *cnt = json_object_new_object();
	uint64_t *percpu = calloc(ncpu, sizeof(*percpu));

	if (!percpu)
		return -ENOMEM;
	for (uint32_t i = 1; i < XDPSEC_CNT_MAX; i++) {
		uint64_t sum = 0;

		if (!bpf_map_lookup_elem(fd, &i, percpu))
			for (int c = 0; c < ncpu; c++)
				sum += percpu[c];
		for (unsigned int w = 0; w < d->n_workers; w++)
			sum += __atomic_load_n(&d->wstats[w].cnt[i],
					       __ATOMIC_RELAXED);
		jadd_u64(cnt, counter_name(i), sum);
	}
	free(percpu);
	r->data = json_object_new_object();
	json_object_object_add(r->data, "counters", cnt);
	return 0;
}

static struct json_object *limits_json(const struct xdpsec_lifetime *l)
{
	struct json_object *o = json_object_new_object();

	jadd_u64(o, "bytes", l->bytes);
	jadd_u64(o, "packets", l->packets);
	jadd_u64(o, "seconds", l->seconds);
	return o;
}

/* Limits, and the age the time limits are measured against. */
static struct json_object *lifetime_json(const struct xdpsec_sa *s)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "soft", limits_json(&s->soft));
	json_object_object_add(o, "hard", limits_json(&s->hard));
	jadd_u64(o, "age_s", sad_now() - s->added);
	return o;
}

static struct json_object *sa_json(struct daemon *d, const struct sa *sa)
{
	const struct xdpsec_sa *s = &sa->pub;
	const struct xdpsec_sa_state *st = &d->sad.state[sa->idx];
	struct json_object *o = json_object_new_object();
	char buf[64], ip[INET6_ADDRSTRLEN];
	struct xdpsec_sa now = { 0 };

	bpf_map_lookup_elem(d->sad.sad_fd, &sa->idx, &now);
	jadd_u64(o, "id", sa->idx);
	jadd_str(o, "name", sa->name);
	jadd_str(o, "dir", config_dir_name(s->dir));
	snprintf(buf, sizeof(buf), "0x%08x", s->spi);
	jadd_str(o, "spi", buf);
	jadd_str(o, "mode", config_mode_name(s->mode));
	jadd_str(o, "proto", s->proto == XDPSEC_IPPROTO_AH ? "ah" : "esp");
	jadd_str(o, "alg", aead_info(s->alg) ? aead_info(s->alg)->name : "-");
	jadd_str(o, "integ", mac_info(s->integ) ? mac_info(s->integ)->name :
						  "-");
	json_object_object_add(o, "encap", json_object_new_boolean(
					       s->flags & XDPSEC_SA_F_UDP_ENCAP));
	jadd_str(o, "src", addr_str(s->family, &s->src, ip, sizeof(ip)));
	jadd_str(o, "dst", addr_str(s->family, &s->dst, ip, sizeof(ip)));
	jadd_str(o, "sel_src", prefix_str(s->sel.family, &s->sel.src,
					  s->sel.src_plen, buf, sizeof(buf)));
	jadd_str(o, "sel_dst", prefix_str(s->sel.family, &s->sel.dst,
					  s->sel.dst_plen, buf, sizeof(buf)));
	json_object_object_add(o, "esn", json_object_new_boolean(
					     s->flags & XDPSEC_SA_F_ESN));
	jadd_u64(o, "replay_window", s->replay_window);
	jadd_str(o, "state", now.state == XDPSEC_SA_ACTIVE ? "active" : "dead");
	jadd_u64(o, "seq", st->seq);
	jadd_u64(o, "packets", st->packets);
	jadd_u64(o, "bytes", st->bytes);
	jadd_u64(o, "auth_fails", st->auth_fails);
	jadd_u64(o, "replay_drops", st->replay_drops);
	jadd_u64(o, "other_drops", st->other_drops);
	jadd_str(o, "expired", st->expired & XDPSEC_EXPIRE_HARD ? "hard" :
			       st->expired & XDPSEC_EXPIRE_SOFT ? "soft" : "");
	json_object_object_add(o, "lifetime", lifetime_json(s));
	return o;
}

static int ctl_sa_list(struct ctl_req *r)
{
	const char *name = arg_str(r, "name");
	struct sa *one;

	r->data = json_object_new_array();
	/* One SA by name: a script need not fetch a large SAD to read it. */
	if (name) {
		one = sad_find_name(&r->d->sad, name);
		if (!one) {
			snprintf(r->err, sizeof(r->err), "no such SA: %s",
				 name);
			return -ENOENT;
		}
		json_object_array_add(r->data, sa_json(r->d, one));
		return 0;
	}
	for (uint32_t i = 1; i < r->d->sad.n_slots; i++) {
		struct sa *sa = r->d->sad.slots[i];

		if (sa)
			json_object_array_add(r->data, sa_json(r->d, sa));
	}
	return 0;
}

/* Applies every request argument but "name" through a setter. */
static int ctl_apply_args(struct ctl_req *r, int (*set)(void *, const char *,
							const char *, char *,
							size_t),
			  void *obj)
{
	json_object_object_foreach(r->args, key, val) {
		if (!strcmp(key, "name"))
			continue;
		if (set(obj, key, json_object_get_string(val), r->err,
			sizeof(r->err)))
			return -EINVAL;
	}
	return 0;
}

static int sa_setter(void *obj, const char *key, const char *val, char *err,
		     size_t errlen)
{
	return config_sa_set(obj, key, val, "/", err, errlen);
}

static int policy_setter(void *obj, const char *key, const char *val,
			 char *err, size_t errlen)
{
	return config_policy_set(obj, key, val, err, errlen);
}

static const char *ctl_name(struct ctl_req *r)
{
	const char *name = arg_str(r, "name");

	if (!name || !name[0] || strlen(name) >= CONFIG_NAME_MAX) {
		snprintf(r->err, sizeof(r->err), "a name is required");
		return NULL;
	}
	return name;
}

static int ctl_sa_add(struct ctl_req *r)
{
	struct daemon *d = r->d;
	const char *name = ctl_name(r);
	struct sa_conf conf;
	int ret;

	if (!name)
		return -EINVAL;
	config_sa_init(&conf, name);
	ret = ctl_apply_args(r, sa_setter, &conf);
	if (!ret && !arg_str(r, "replay_window"))
		conf.sa.replay_window = d->cfg.daemon.replay_window;
	if (!ret)
		ret = config_sa_check(&conf, r->err, sizeof(r->err));
	if (!ret)
		ret = sad_add(&d->sad, &conf, false, r->err, sizeof(r->err));
	OPENSSL_cleanse(&conf, sizeof(conf));
	if (ret < 0)
		return ret;

	/* Policies naming this SA now resolve to it, if any waited. */
	if (d->spd.unresolved && r->batch)
		r->batch->compile = true;
	else if (d->spd.unresolved)
		spd_compile(&d->spd, &d->sad, r->err, sizeof(r->err));
	r->data = json_object_new_object();
	jadd_u64(r->data, "id", ret);
	return 0;
}

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

static int ctl_sa_del(struct ctl_req *r)
{
	struct daemon *d = r->d;
	const char *name = arg_str(r, "name"), *id = arg_str(r, "id");
	struct sa *sa = NULL;

	if (name)
		sa = sad_find_name(&d->sad, name);
	else if (id && all_digits(id))
		sa = sad_get(&d->sad, strtoul(id, NULL, 10));
	if (!sa) {
		snprintf(r->err, sizeof(r->err), "no such SA: %s",
			 name ? name : id ? id : "(none given)");
		return -ENOENT;
	}
	sad_del(&d->sad, sa->idx, daemon_sync_workers, d);
	spd_compile(&d->spd, &d->sad, r->err, sizeof(r->err));
	return 0;
}

static struct json_object *policy_json(const struct spd_entry *e)
{
	const struct xdpsec_policy *p = &e->conf.pol;
	struct json_object *o = json_object_new_object();
	char buf[64];

	jadd_u64(o, "id", e->id);
	jadd_str(o, "name", e->conf.name);
	jadd_str(o, "dir", config_dir_name(p->dir));
	jadd_str(o, "src", prefix_str(p->sel.family, &p->sel.src,
				      p->sel.src_plen, buf, sizeof(buf)));
	jadd_str(o, "dst", prefix_str(p->sel.family, &p->sel.dst,
				      p->sel.dst_plen, buf, sizeof(buf)));
	if (p->sel.proto)
		snprintf(buf, sizeof(buf), "%u", p->sel.proto);
	else
		snprintf(buf, sizeof(buf), "any");
	jadd_str(o, "proto", buf);
	jadd_str(o, "sport", range_str(p->sel.sport_lo, p->sel.sport_hi, buf,
				       sizeof(buf)));
	jadd_str(o, "dport", range_str(p->sel.dport_lo, p->sel.dport_hi, buf,
				       sizeof(buf)));
	jadd_str(o, "action", config_action_name(p->action));
	jadd_str(o, "sa", e->conf.sa_name[0] ? e->conf.sa_name : "-");
	jadd_u64(o, "priority", p->priority);
	return o;
}

static int ctl_policy_list(struct ctl_req *r)
{
	r->data = json_object_new_array();
	for (size_t i = 0; i < r->d->spd.n; i++)
		json_object_array_add(r->data,
				      policy_json(&r->d->spd.entries[i]));
	return 0;
}

static int ctl_policy_add(struct ctl_req *r)
{
	struct daemon *d = r->d;
	const char *name = ctl_name(r);
	struct policy_conf conf;
	int ret;

	if (!name)
		return -EINVAL;
	config_policy_init(&conf, name);
	ret = ctl_apply_args(r, policy_setter, &conf);
	if (!ret)
		ret = config_policy_check(&conf, r->err, sizeof(r->err));
	if (ret)
		return ret;
	if (conf.sa_name[0] && !sad_find_name(&d->sad, conf.sa_name)) {
		snprintf(r->err, sizeof(r->err), "no SA named %s",
			 conf.sa_name);
		return -ENOENT;
	}
	ret = spd_add(&d->spd, &d->sad, &conf, false, r->err, sizeof(r->err));
	if (ret < 0)
		return ret;
	if (r->batch)
		r->batch->routes = true;
	else
		daemon_host_routes(d);
	r->data = json_object_new_object();
	jadd_u64(r->data, "id", ret);
	return 0;
}

static int ctl_policy_del(struct ctl_req *r)
{
	struct spd *spd = &r->d->spd;
	const char *name = arg_str(r, "name"), *id = arg_str(r, "id");
	struct spd_entry *e = NULL;
	int ret;

	if (name)
		e = spd_find_name(spd, name);
	for (size_t i = 0; !e && id && all_digits(id) && i < spd->n; i++)
		if (spd->entries[i].id == strtoul(id, NULL, 10))
			e = &spd->entries[i];
	if (!e) {
		snprintf(r->err, sizeof(r->err), "no such policy: %s",
			 name ? name : id ? id : "(none given)");
		return -ENOENT;
	}
	ret = spd_del(spd, &r->d->sad, e->id);
	if (!ret)
		daemon_host_routes(r->d);
	return ret;
}

static int ctl_reload(struct ctl_req *r)
{
	int ret = daemon_reload(r->d, r->err, sizeof(r->err));

	if (ret)
		return ret;
	r->data = json_object_new_object();
	jadd_u64(r->data, "sas", r->d->sad.count);
	jadd_u64(r->data, "policies", r->d->spd.n);
	return 0;
}

static int ctl_ike_list(struct ctl_req *r)
{
	r->data = ike_daemon_list(r->d);
	return 0;
}

static int ctl_tunnel(struct ctl_req *r, bool up)
{
	const char *name = ctl_name(r);

	if (!name)
		return -EINVAL;
	if (up)
		return ike_daemon_up(r->d, name, r->err, sizeof(r->err));
	return ike_daemon_down(r->d, name, r->err, sizeof(r->err));
}

static int ctl_tunnel_rekey(struct ctl_req *r)
{
	const char *name = json_object_get_string(
		json_object_object_get(r->args, "name"));

	if (!name)
		return -EINVAL;
	return ike_daemon_rekey(r->d, name, r->err, sizeof(r->err));
}

static int ctl_tunnel_up(struct ctl_req *r)
{
	return ctl_tunnel(r, true);
}

static int ctl_tunnel_down(struct ctl_req *r)
{
	return ctl_tunnel(r, false);
}

static const struct ctl_cmd {
	const char *name;
	int (*handler)(struct ctl_req *r);
} ctl_cmds[] = {
	{ "status", ctl_status },
	{ "stats", ctl_stats },
	{ "sa.list", ctl_sa_list },
	{ "sa.add", ctl_sa_add },
	{ "sa.del", ctl_sa_del },
	{ "policy.list", ctl_policy_list },
	{ "policy.add", ctl_policy_add },
	{ "policy.del", ctl_policy_del },
	{ "reload", ctl_reload },
	{ "ike.list", ctl_ike_list },
	{ "tunnel.up", ctl_tunnel_up },
	{ "tunnel.down", ctl_tunnel_down },
	{ "tunnel.rekey", ctl_tunnel_rekey },
};

static int ctl_dispatch(struct ctl_req *r, const char *cmd)
{
	for (size_t i = 0; i < sizeof(ctl_cmds) / sizeof(ctl_cmds[0]); i++) {
		int ret;

		if (strcmp(cmd, ctl_cmds[i].name))
			continue;
		pthread_mutex_lock(&r->d->lock);
		ret = ctl_cmds[i].handler(r);
		pthread_mutex_unlock(&r->d->lock);
		if (ret && !r->err[0])
			snprintf(r->err, sizeof(r->err), "%s", strerror(-ret));
		return ret;
	}
	snprintf(r->err, sizeof(r->err), "unknown command %s", cmd);
	return -EINVAL;
}

/*
 * The bytes of one connection, handed out a line at a time.  A line ends
 * at '\n' or at the end of the stream.
 */
struct ctl_conn {
	int fd;
	char *buf;
	size_t len;			/* bytes in buf */
	size_t off;			/* start of the next line */
	size_t cap;
	bool eof;
};

/* Reads more into the buffer: 1, 0 at the end, -errno. */
static int ctl_fill(struct ctl_conn *c)
{
	struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
	ssize_t n;

	if (c->off) {
		memmove(c->buf, c->buf + c->off, c->len - c->off);
		c->len -= c->off;
		c->off = 0;
	}
	if (c->len + 1 >= c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 4096;
		char *grown;

		if (cap > CTL_REQUEST_MAX + 1)
			return -E2BIG;
		grown = realloc(c->buf, cap);
		if (!grown)
			return -ENOMEM;
		c->buf = grown;
		c->cap = cap;
	}
	if (poll(&pfd, 1, CTL_TIMEOUT_MS) <= 0)
		return -ETIMEDOUT;
	n = read(c->fd, c->buf + c->len, c->cap - c->len - 1);
	if (n < 0)
		return -errno;
	c->len += n;
	if (!n)
		c->eof = true;
	return n > 0;
}

/*
 * The next line, NUL-terminated, in *line: 1, 0 once the stream has
 * ended, -errno.  all takes the rest of the stream as one line.
 */
static int ctl_line(struct ctl_conn *c, bool all, char **line)
{
	char *nl;
	int ret;

	for (;;) {
		nl = all ? NULL : memchr(c->buf + c->off, '\n',
					 c->len - c->off);
		if (nl || (c->eof && c->len > c->off)) {
			if (!nl)
				nl = c->buf + c->len;
			*nl = '\0';
			*line = c->buf + c->off;
			c->off = nl - c->buf + (nl < c->buf + c->len);
			return 1;
		}
		if (c->eof)
			return 0;
		ret = ctl_fill(c);
		if (ret < 0)
			return ret;
	}
}

/* Returns false if the client did not take the reply. */
static bool ctl_reply(int fd, struct ctl_req *r, int ret)
{
	struct json_object *reply = json_object_new_object();
	const char *s;
	size_t len, off = 0;

	json_object_object_add(reply, "ok", json_object_new_boolean(!ret));
	if (ret)
		jadd_str(reply, "error", r->err);
	else
		json_object_object_add(reply, "data",
				       r->data ? r->data : json_object_new_null());
	r->data = NULL;
	s = json_object_to_json_string_ext(reply, JSON_C_TO_STRING_PLAIN);
	len = strlen(s);
	while (off <= len) {
		/* The newline ends the reply: a batch gets one per request. */
		ssize_t n = off < len ? write(fd, s + off, len - off) :
					write(fd, "\n", 1);

		if (n <= 0)
			break;
		off += n;
	}
	json_object_put(reply);
	return off > len;
}

/* Runs a parsed request; req NULL is one that was not valid JSON. */
static int ctl_run(struct ctl_req *r, struct json_object *req)
{
	struct json_object *cmd;

	if (!req || !json_object_object_get_ex(req, "cmd", &cmd)) {
		snprintf(r->err, sizeof(r->err), "malformed request");
		return -EINVAL;
	}
	if (!json_object_object_get_ex(req, "args", &r->args) ||
	    !json_object_is_type(r->args, json_type_object)) {
		r->args = json_object_new_object();
		json_object_object_add(req, "args", r->args);
	}
	return ctl_dispatch(r, json_object_get_string(cmd));
}

static bool ctl_answer(int fd, struct ctl_req *r, struct json_object *req)
{
	int ret = ctl_run(r, req);
	bool sent = ctl_reply(fd, r, ret);

	if (r->batch) {
		r->batch->requests++;
		r->batch->failed += ret != 0;
	}
	if (r->data)
		json_object_put(r->data);
	return sent;
}

/* The request's "cmd"; "" if there is none. */
static const char *ctl_cmd(struct json_object *req)
{
	struct json_object *cmd;

	if (!req || !json_object_object_get_ex(req, "cmd", &cmd))
		return "";
	return json_object_get_string(cmd);
}

/*
 * Compiles what the batch appended.  On failure, the policies it
 * appended since the last compile are out again, and err says so.
 */
static int ctl_batch_flush(struct daemon *d, struct ctl_batch *b, char *err,
			   size_t errlen)
{
	char why[CONFIG_ERR_MAX] = "";
	size_t dropped = 0;
	int ret = 0;

	pthread_mutex_lock(&d->lock);
	if (d->spd.n_pending) {
		ret = spd_flush(&d->spd, &d->sad, &dropped, why, sizeof(why));
	} else if (b->compile) {
		ret = spd_compile(&d->spd, &d->sad, why, sizeof(why));
	}
	if (ret)
		snprintf(err, errlen,
			 "the SPD refused this batch's policies: %s; the %zu added since the last compile were taken out",
			 why, dropped);
	if (b->routes)
		daemon_host_routes(d);
	b->compile = b->routes = false;
	pthread_mutex_unlock(&d->lock);
	return ret;
}

static bool ctl_batch_appends(const char *cmd)
{
	return !strcmp(cmd, "sa.add") || !strcmp(cmd, "policy.add");
}

/*
 * One request per line until the client shuts its side down, each
 * answered on a line of its own; then one more reply for the batch as a
 * whole: the number of requests and of failures, or why the SPD could
 * not take the policies.
 */
static void ctl_serve_batch(struct daemon *d, struct ctl_conn *c)
{
	struct ctl_batch b = { 0 };
	struct ctl_req end = { .d = d };
	struct json_object *req;
	char *line;
	int ret, flushed;

	pthread_mutex_lock(&d->lock);
	d->spd.deferred = true;
	pthread_mutex_unlock(&d->lock);
	while ((ret = ctl_line(c, false, &line)) > 0) {
		struct ctl_req r = { .d = d, .batch = &b };
		bool sent;

		req = json_tokener_parse(line);
		/* Other requests see the SPD as the batch has made it. */
		if (!ctl_batch_appends(ctl_cmd(req)) &&
		    ctl_batch_flush(d, &b, r.err, sizeof(r.err))) {
			sent = ctl_reply(c->fd, &r, -EINVAL);
			b.requests++;
			b.failed++;
		} else {
			sent = ctl_answer(c->fd, &r, req);
		}
		json_object_put(req);
		/* A client that stops reading must not hold the daemon. */
		if (!sent) {
			ret = -EPIPE;
			break;
		}
	}

	flushed = ctl_batch_flush(d, &b, end.err, sizeof(end.err));
	pthread_mutex_lock(&d->lock);
	d->spd.deferred = false;
	pthread_mutex_unlock(&d->lock);
	if (ret < 0)
		snprintf(end.err, sizeof(end.err),
			 "batch cut short after %lu requests: %s", b.requests,
			 strerror(-ret));
	else
		ret = flushed;
	if (!ret) {
		end.data = json_object_new_object();
		jadd_u64(end.data, "requests", b.requests);
		jadd_u64(end.data, "failed", b.failed);
	}
	ctl_reply(c->fd, &end, ret);
	if (end.data)
		json_object_put(end.data);
	/*
	 * The compile's tables are freed by now; give their pages back, as
	 * the daemon locks every page it keeps.
	 */
	malloc_trim(0);
}

void ctl_serve_one(struct daemon *d, int lfd)
{
	const struct timeval send_timeout = {
		.tv_sec = CTL_TIMEOUT_MS / 1000,
	};
	struct ctl_conn c = { .fd = -1 };
	struct ctl_req r = { .d = d };
	struct json_object *req = NULL;
	char *text = NULL;

	c.fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (c.fd < 0)
		return;
	setsockopt(c.fd, SOL_SOCKET, SO_SNDTIMEO, &send_timeout,
		   sizeof(send_timeout));
	/*
	 * {"cmd": "batch"} on the first line opens a batch; anything else
	 * is one request, which may span lines, up to the end.
	 */
	if (ctl_line(&c, false, &text) > 0) {
		req = json_tokener_parse(text);
		if (!strcmp(ctl_cmd(req), "batch")) {
			ctl_serve_batch(d, &c);
			goto out;
		}
		json_object_put(req);
		req = NULL;
		if (c.off)
			text[strlen(text)] = '\n';
	}
	c.off = 0;
	if (ctl_line(&c, true, &text) > 0)
		req = json_tokener_parse(text);
	ctl_answer(c.fd, &r, req);
out:
	json_object_put(req);
	free(c.buf);
	close(c.fd);
}
