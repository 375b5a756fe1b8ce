// SPDX-License-Identifier: GPL-2.0-only
/*
 * xdpsecd: loads the XDP program, pins its maps, runs one AF_XDP worker per
 * RX queue of each configured interface and serves the control socket.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <linux/magic.h>
#include <openssl/crypto.h>

#include "aead.h"
#include "ctl.h"
#include "daemon.h"
#include "ike.h"
#include "log.h"
#include "worker.h"
#include "skel.h"

#define BPFFS_ROOT "/sys/fs/bpf"
#define RUN_DIR "/run/xdpsec"
#define DEFAULT_CONFIG "/etc/xdpsec/xdpsec.conf"

enum {
	SYNC_WAIT_US = 1000,
	SYNC_MAX_WAITS = 5000,	/* five seconds, then give up loudly */
	TICK_MS = 250,
	XSK_BUSY_RETRIES = 50,
	XSK_BUSY_WAIT_US = 100000,
};

static const char usage[] =
	"Usage: xdpsecd [-c CONFIG] [-n INSTANCE] [-v] [-s]\n"
	"       xdpsecd [-c CONFIG] [-n INSTANCE] --detach\n"
	"       xdpsecd [-c CONFIG] --check\n"
	"  -c, --config FILE    configuration (default " DEFAULT_CONFIG ")\n"
	"  -n, --instance NAME  instance name (overrides the file)\n"
	"  -v, --verbose        log debug messages\n"
	"  -s, --syslog         log to syslog instead of stderr\n"
	"  -D, --detach         remove the XDP program from the configured\n"
	"                       interfaces and the pinned maps, then exit\n"
	"  -t, --check          only check the configuration file\n";

struct iface *daemon_iface(struct daemon *d, int ifindex)
{
	for (unsigned int i = 0; i < d->n_ifaces; i++)
		if (d->ifaces[i].ifindex == ifindex)
			return &d->ifaces[i];
	return NULL;
}

void daemon_sync_workers(void *arg)
{
	struct daemon *d = arg;
	uint64_t seen[XDPSEC_MAX_WORKERS];

	if (!d->workers)
		return;	/* no worker runs, so none can hold anything */
	for (unsigned int i = 0; i < d->n_workers; i++)
		seen[i] = __atomic_load_n(&d->workers[i]->qs, __ATOMIC_ACQUIRE);

	for (unsigned int i = 0; i < d->n_workers; i++) {
		struct worker *w = d->workers[i];
		int waits = 0;

		while (__atomic_load_n(&w->qs, __ATOMIC_ACQUIRE) == seen[i] &&
		       !__atomic_load_n(&w->idle, __ATOMIC_ACQUIRE)) {
			if (++waits == SYNC_MAX_WAITS) {
				log_err("worker %u seems stuck", i);
				break;
			}
			usleep(SYNC_WAIT_US);
		}
	}
}

static int bpffs_ensure(void)
{
	struct statfs st;

	if (!statfs(BPFFS_ROOT, &st) && st.f_type == BPF_FS_MAGIC)
		return 0;
	/* "ip netns exec" gives a fresh /sys without a bpffs on it. */
	if (mount("bpf", BPFFS_ROOT, "bpf", 0, "mode=0700")) {
		log_err("cannot mount bpffs on %s: %s", BPFFS_ROOT,
			strerror(errno));
		return -errno;
	}
	return 0;
}

static int mkdir_p(const char *path, mode_t mode)
{
	char buf[PATH_MAX];

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) && errno != EEXIST)
		return -errno;
	return 0;
}

/* Removes what an earlier run of this instance left pinned. */
static void pins_remove(const char *dir)
{
	char path[PATH_MAX];
	struct dirent *e;
	DIR *dp = opendir(dir);

	if (!dp)
		return;
	while ((e = readdir(dp))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	closedir(dp);
	rmdir(dir);
}

static unsigned int iface_queues(const char *name)
{
	char path[PATH_MAX];
	unsigned int n = 0;
	struct dirent *e;
	DIR *dp;

	snprintf(path, sizeof(path), "/sys/class/net/%s/queues", name);
	dp = opendir(path);
	if (!dp)
		return 1;
	while ((e = readdir(dp)))
		if (!strncmp(e->d_name, "rx-", 3))
			n++;
	closedir(dp);
	if (n > XDPSEC_MAX_QUEUES)
		n = XDPSEC_MAX_QUEUES;
	return n ? n : 1;
}

static int iface_add(struct daemon *d, const char *name, bool host)
{
	struct iface *ifc = &d->ifaces[d->n_ifaces];
	struct xdpsec_iface val = { .slot = d->n_ifaces };

	if (d->n_ifaces == XDPSEC_MAX_IFACES)
		return -E2BIG;
	snprintf(ifc->name, sizeof(ifc->name), "%.*s", IF_NAMESIZE - 1, name);
	ifc->ifindex = if_nametoindex(ifc->name);
	if (!ifc->ifindex) {
		log_err("interface %s: %s", ifc->name, strerror(errno));
		return -ENODEV;
	}
	ifc->slot = d->n_ifaces;
	ifc->host = host;
	ifc->n_queues = iface_queues(ifc->name);
	ifc->xsks = calloc(ifc->n_queues, sizeof(*ifc->xsks));
	if (!ifc->xsks)
		return -ENOMEM;
	if (bpf_map_update_elem(bpf_map__fd(d->skel->maps.ifaces),
				&ifc->ifindex, &val, BPF_ANY))
		return -errno;
	d->n_ifaces++;
	d->n_workers += ifc->n_queues;
	return 0;
}

/* The veth pair that carries this host's own protected traffic. */
static int host_setup(struct daemon *d)
{
	const struct daemon_conf *c = &d->cfg.daemon;
	int ret;

	ret = host_if_setup(&d->host, c->host_if, c->host_mtu);
	if (ret) {
		log_err("host interface %s: %s", c->host_if, strerror(-ret));
		return ret;
	}
	log_info("host interface %s (MTU %u): protected routes in table %d",
		 d->host.name, c->host_mtu, HOST_TABLE);
	return iface_add(d, d->host.peer, true);
}

/*
 * Routes every destination an outbound policy protects or discards into
 * the host interface, and throws those it bypasses back to the main
 * table: called whenever the SPD changes.  A prefix two policies name
 * gets the route of the one that comes first.
 */
void daemon_host_routes(struct daemon *d)
{
	struct host_route *want;
	size_t n = 0;
	int ret;

	if (!d->host.ifindex)
		return;
	want = calloc(d->spd.n ? d->spd.n : 1, sizeof(*want));
	if (!want) {
		log_warn("host routes: out of memory");
		return;
	}
	for (size_t i = 0; i < d->spd.n; i++) {
		const struct xdpsec_policy *p = &d->spd.entries[i].conf.pol;
		struct host_route r = {
			.family = p->sel.family,
			.plen = p->sel.dst_plen,
			.throw = p->action == XDPSEC_ACT_BYPASS,
			.dst = p->sel.dst,
		};
		bool dup = false;

		if (p->dir != XDPSEC_DIR_OUT)
			continue;
		for (size_t j = 0; j < n && !dup; j++)
			dup = want[j].family == r.family &&
			      want[j].plen == r.plen &&
			      !memcmp(&want[j].dst, &r.dst, sizeof(r.dst));
		if (!dup)
			want[n++] = r;
	}
	ret = host_routes_sync(&d->host, want, n);
	if (ret)
		log_warn("host routes into %s: %s", d->host.name, strerror(-ret));
	free(want);
}

static int ifaces_setup(struct daemon *d)
{
	int ret;

	for (unsigned int i = 0; i < d->cfg.daemon.n_ifaces; i++) {
		ret = iface_add(d, d->cfg.daemon.ifaces[i], false);
		if (ret)
			return ret;
	}
	if (d->cfg.daemon.host_if[0]) {
		ret = host_setup(d);
		if (ret)
			return ret;
	}
	if (d->n_workers > XDPSEC_MAX_WORKERS) {
		log_err("%u RX queues in all; at most %d are supported",
			d->n_workers, XDPSEC_MAX_WORKERS);
		return -E2BIG;
	}
	return 0;
}

/*
 * The kernel frees a closed socket's UMEM binding from a work queue, so a
 * daemon restarted at once may find the queue still busy for a moment.
 */
static int xsk_open_retry(struct daemon *d, struct iface *ifc, unsigned int q,
			  int map_fd)
{
	int err;

	for (int i = 0; i < XSK_BUSY_RETRIES; i++) {
		err = xsk_open(&ifc->xsks[q], &d->umem, ifc, q, map_fd);
		if (err != -EBUSY)
			break;
		usleep(XSK_BUSY_WAIT_US);
	}
	return err;
}

static int sockets_open(struct daemon *d)
{
	int map_fd = bpf_map__fd(d->skel->maps.xsks);
	int err;

	err = umem_create(&d->umem, d->n_workers * XSK_FRAMES_PER_SOCKET);
	if (err) {
		log_err("cannot create the UMEM: %s", strerror(-err));
		return err;
	}
	for (unsigned int i = 0; i < d->n_ifaces; i++) {
		struct iface *ifc = &d->ifaces[i];

		for (unsigned int q = 0; q < ifc->n_queues; q++) {
			err = xsk_open_retry(d, ifc, q, map_fd);
			if (err) {
				log_err("AF_XDP socket on %s queue %u: %s",
					ifc->name, q, strerror(-err));
				return err;
			}
		}
	}
	return 0;
}

static void sockets_close(struct daemon *d)
{
	int map_fd = bpf_map__fd(d->skel->maps.xsks);

	for (unsigned int i = 0; i < d->n_ifaces; i++) {
		struct iface *ifc = &d->ifaces[i];

		for (unsigned int q = 0; q < ifc->n_queues; q++)
			if (ifc->xsks[q])
				xsk_close(ifc->xsks[q], map_fd);
		free(ifc->xsks);
		ifc->xsks = NULL;
	}
	umem_destroy(&d->umem);
}

static int workers_start(struct daemon *d)
{
	unsigned int id = 0;
	int err;

	d->workers = calloc(d->n_workers, sizeof(*d->workers));
	if (!d->workers)
		return -ENOMEM;
	for (unsigned int i = 0; i < d->n_ifaces; i++) {
		struct iface *ifc = &d->ifaces[i];

		for (unsigned int q = 0; q < ifc->n_queues; q++, id++) {
			err = worker_start(&d->workers[id], d, id,
					   ifc->xsks[q]);
			if (err)
				return err;
		}
	}
	return 0;
}

static void workers_stop(struct daemon *d)
{
	d->stop = 1;
	for (unsigned int i = 0; i < d->n_workers && d->workers; i++)
		if (d->workers[i])
			worker_stop(d->workers[i]);
	free(d->workers);
	d->workers = NULL;
}

static int xdp_attach(struct daemon *d, struct iface *ifc)
{
	int prog = bpf_program__fd(d->skel->progs.xdpsec_xdp);
	enum xdp_attach_mode mode = d->cfg.daemon.xdp_mode;
	int err = -EOPNOTSUPP;

	if (mode != XDP_ATTACH_GENERIC) {
		ifc->xdp_flags = XDP_FLAGS_DRV_MODE;
		err = bpf_xdp_attach(ifc->ifindex, prog, ifc->xdp_flags, NULL);
		if (err && mode == XDP_ATTACH_NATIVE) {
			log_err("%s: native XDP: %s", ifc->name,
				strerror(-err));
			return err;
		}
	}
	if (err) {
		ifc->xdp_flags = XDP_FLAGS_SKB_MODE;
		err = bpf_xdp_attach(ifc->ifindex, prog, ifc->xdp_flags, NULL);
	}
	if (err) {
		log_err("%s: cannot attach XDP: %s", ifc->name, strerror(-err));
		return err;
	}
	ifc->attached = true;
	log_info("%s: XDP attached in %s mode, %u queue(s)", ifc->name,
		 ifc->xdp_flags & XDP_FLAGS_SKB_MODE ? "generic" : "native",
		 ifc->n_queues);
	return 0;
}

static int config_map_write(struct daemon *d)
{
	struct xdpsec_config val = {
		.default_action = d->cfg.daemon.default_action,
	};
	uint32_t key = 0;

	return bpf_map_update_elem(bpf_map__fd(d->skel->maps.config), &key,
				   &val, BPF_ANY);
}

static int config_apply_sas(struct daemon *d, const struct config *cfg,
			    char *err, size_t errlen)
{
	for (size_t i = 0; i < cfg->n_sas; i++) {
		const struct sa_conf *c = &cfg->sas[i];
		struct sa *old = sad_find_name(&d->sad, c->name);
		int ret;

		/* An unchanged SA keeps its sequence numbers and window. */
		if (old && sad_conf_equal(old, c))
			continue;
		if (old)
			sad_del(&d->sad, old->idx, daemon_sync_workers, d);
		ret = sad_add(&d->sad, c, true, err, errlen);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* Drops configured SAs that the new file no longer has. */
static void config_prune_sas(struct daemon *d, const struct config *cfg)
{
	for (uint32_t i = 1; i < d->sad.n_slots; i++) {
		struct sa *sa = d->sad.slots[i];
		bool keep = false;

		if (!sa || !sa->from_config)
			continue;
		for (size_t j = 0; j < cfg->n_sas && !keep; j++)
			keep = !strcmp(cfg->sas[j].name, sa->name);
		if (!keep)
			sad_del(&d->sad, i, daemon_sync_workers, d);
	}
}

/*
 * Once installed, keys live in the SAD only: the parsed file's copies are
 * wiped, so that deleting an SA leaves no key behind.
 */
static void config_forget_sas(struct config *cfg)
{
	struct daemon_conf keep = cfg->daemon;
	struct conn_conf *conns = cfg->conns;
	size_t n_conns = cfg->n_conns;

	/* Connections stay: IKE starts and answers from them. */
	cfg->conns = NULL;
	cfg->n_conns = 0;
	config_free(cfg);
	cfg->daemon = keep;
	cfg->conns = conns;
	cfg->n_conns = n_conns;
}

/* The reloaded connections replace the old; IKE SAs keep their copies. */
static void conns_swap(struct config *cur, struct config *fresh)
{
	struct conn_conf *old = cur->conns;
	size_t n_old = cur->n_conns;

	cur->conns = fresh->conns;
	cur->n_conns = fresh->n_conns;
	fresh->conns = old;
	fresh->n_conns = n_old;
}

static int config_apply(struct daemon *d, const struct config *cfg, char *err,
			size_t errlen)
{
	int ret;

	config_prune_sas(d, cfg);
	ret = config_apply_sas(d, cfg, err, errlen);
	if (ret)
		return ret;
	return spd_replace_config(&d->spd, &d->sad, cfg->policies,
				  cfg->n_policies, err, errlen);
}

int daemon_reload(struct daemon *d, char *err, size_t errlen)
{
	struct config cfg;
	int ret;

	ret = config_load(d->config_path, &cfg, err, errlen);
	if (ret)
		return ret;
	if (cfg.daemon.n_ifaces != d->cfg.daemon.n_ifaces ||
	    memcmp(cfg.daemon.ifaces, d->cfg.daemon.ifaces,
		   sizeof(cfg.daemon.ifaces)))
		log_warn("interface changes take effect at the next start");
	if (cfg.daemon.max_sas != d->cfg.daemon.max_sas ||
	    cfg.daemon.max_policies != d->cfg.daemon.max_policies)
		log_warn("max_sas and max_policies take effect at the next start");
	if (cfg.n_sas >= d->sad.n_slots ||
	    cfg.n_policies > d->cfg.daemon.max_policies) {
		snprintf(err, errlen,
			 "%s: %zu SAs and %zu policies do not fit the running daemon's max_sas = %u, max_policies = %u",
			 d->config_path, cfg.n_sas, cfg.n_policies,
			 d->sad.n_slots - 1, d->cfg.daemon.max_policies);
		config_free(&cfg);
		return -E2BIG;
	}
	ret = config_apply(d, &cfg, err, errlen);
	if (ret) {
		config_free(&cfg);
		return ret;
	}
	daemon_host_routes(d);
	d->cfg.daemon.default_action = cfg.daemon.default_action;
	d->cfg.daemon.replay_window = cfg.daemon.replay_window;
	d->cfg.daemon.natt_keepalive = cfg.daemon.natt_keepalive;
	log_set_level(cfg.daemon.log_level);
	config_map_write(d);
	if (!d->ike && cfg.n_conns)
		log_warn("IKE connections take effect at the next start");
	else
		conns_swap(&d->cfg, &cfg);
	config_free(&cfg);
	log_info("configuration reloaded: %u SAs, %zu policies", d->sad.count,
		 d->spd.n);
	return 0;
}

/*
 * The SAD and SPD maps take their sizes from [daemon] max_sas and
 * max_policies.  Index 0 of the SAD is never used; the policy array has
 * two halves (spd.h); each policy adds at most one prefix to a trie.
 */
static int bpf_size_maps(struct daemon *d)
{
	const struct daemon_conf *c = &d->cfg.daemon;
	struct {
		struct bpf_map *map;
		uint32_t size;
	} sizes[] = {
		{ d->skel->maps.sad, c->max_sas + 1 },
		{ d->skel->maps.sa_state, c->max_sas + 1 },
		{ d->skel->maps.spi_in, c->max_sas },
		{ d->skel->maps.policies, c->max_policies * 2 },
		{ d->skel->maps.spd4, c->max_policies },
		{ d->skel->maps.spd6, c->max_policies },
	};
	int err;

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		err = bpf_map__set_max_entries(sizes[i].map, sizes[i].size);
		if (err)
			return err;
	}
	return 0;
}

static int bpf_setup(struct daemon *d)
{
	int err;

	d->skel = xdpsec_bpf__open();
	if (!d->skel) {
		log_err("cannot open the XDP program: %s", strerror(errno));
		return -errno;
	}
	err = bpf_size_maps(d);
	if (!err)
		err = xdpsec_bpf__load(d->skel);
	if (err) {
		log_err("cannot load the XDP program (max_sas %u, max_policies %u): %s",
			d->cfg.daemon.max_sas, d->cfg.daemon.max_policies,
			strerror(-err));
		return err;
	}
	/*
	 * Every start pins fresh maps and removes the old pins first, so
	 * maps of another size are never reused.
	 */
	err = bpffs_ensure();
	if (err)
		return err;
	pins_remove(d->pin_path);
	err = mkdir_p(d->pin_path, 0700);
	if (!err)
		err = bpf_object__pin_maps(d->skel->obj, d->pin_path);
	if (err) {
		log_err("cannot pin maps under %s: %s", d->pin_path,
			strerror(-err));
		return err;
	}
	d->wstats = mmap(NULL, sizeof(*d->wstats) * XDPSEC_MAX_WORKERS,
			 PROT_READ | PROT_WRITE, MAP_SHARED,
			 bpf_map__fd(d->skel->maps.wstats), 0);
	if (d->wstats == MAP_FAILED) {
		d->wstats = NULL;
		return -errno;
	}
	return config_map_write(d);
}

static int libbpf_log(enum libbpf_print_level level, const char *fmt,
		      va_list ap)
{
	char buf[512];

	/* libbpf's messages go one level below their own. */
	if (level == LIBBPF_DEBUG && log_get_level() < LOG_LVL_DEBUG)
		return 0;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	buf[strcspn(buf, "\n")] = '\0';
	log_msg(level == LIBBPF_WARN ? LOG_LVL_INFO : LOG_LVL_DEBUG,
		"libbpf: %s", buf);
	return 0;
}

static void process_protect(void)
{
	struct rlimit unlimited = { RLIM_INFINITY, RLIM_INFINITY };

	/* Keys must never reach a core dump or swap. */
	prctl(PR_SET_DUMPABLE, 0);
	setrlimit(RLIMIT_CORE, &(struct rlimit){ 0, 0 });
	setrlimit(RLIMIT_MEMLOCK, &unlimited);
	if (mlockall(MCL_CURRENT | MCL_FUTURE))
		log_warn("mlockall: %s", strerror(errno));
}

static int signals_open(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	return signalfd(-1, &set, SFD_CLOEXEC);
}

/* Keepalives for every outbound SA that encapsulates in UDP. */
static void natt_tick(struct daemon *d)
{
	static struct log_limit limit = LOG_LIMIT_INIT(1, 5);
	time_t now = time(NULL);
	int ret;

	if (!d->cfg.daemon.natt_keepalive || d->natt.fd4 < 0 ||
	    now - d->natt_last < (time_t)d->cfg.daemon.natt_keepalive)
		return;
	d->natt_last = now;
	for (uint32_t i = 1; i < d->sad.n_slots; i++) {
		const struct sa *sa = d->sad.slots[i];

		if (!sa || sa->pub.dir != XDPSEC_DIR_OUT ||
		    !(sa->pub.flags & XDPSEC_SA_F_UDP_ENCAP))
			continue;
		ret = natt_keepalive(&d->natt, &sa->pub);
		if (ret)
			log_ratelimited(&limit, LOG_LVL_WARN,
					"SA %s: NAT-T keepalive: %s", sa->name,
					strerror(-ret));
	}
}

/* Once a second: lifetimes and keepalives. */
static void daemon_tick(struct daemon *d)
{
	uint32_t before = d->sad.count;
	char err[CONFIG_ERR_MAX];

	natt_tick(d);
	sad_expire(&d->sad, daemon_sync_workers, d);
	/* Policies naming a removed SA now drop what they protect. */
	if (d->sad.count != before && spd_compile(&d->spd, &d->sad, err,
						  sizeof(err)))
		log_err("SPD: %s", err);
}

/* Signals: SIGHUP reloads, the others that reach us stop the daemon. */
static void signal_serve(struct daemon *d, int sig_fd)
{
	struct signalfd_siginfo si;
	char err[CONFIG_ERR_MAX];

	if (read(sig_fd, &si, sizeof(si)) != sizeof(si))
		return;
	if (si.ssi_signo == SIGHUP) {
		pthread_mutex_lock(&d->lock);
		if (daemon_reload(d, err, sizeof(err)))
			log_err("reload failed: %s", err);
		pthread_mutex_unlock(&d->lock);
	} else if (si.ssi_signo != SIGPIPE) {
		log_info("signal %u: stopping", si.ssi_signo);
		d->stop = 1;
	}
}

static void main_loop(struct daemon *d, int ctl_fd, int sig_fd)
{
	struct pollfd pfd[2 + IKE_POLL_FDS] = {
		{ .fd = ctl_fd, .events = POLLIN },
		{ .fd = sig_fd, .events = POLLIN },
	};
	time_t last_tick = 0;
	int wait_ms = TICK_MS;

	while (!d->stop) {
		int n_ike = ike_daemon_pollfds(d, pfd + 2);

		if (poll(pfd, 2 + n_ike, wait_ms) < 0 && errno != EINTR)
			break;
		pthread_mutex_lock(&d->lock);
		if (time(NULL) != last_tick) {
			last_tick = time(NULL);
			daemon_tick(d);
		}
		ike_daemon_input(d, pfd + 2, n_ike);
		wait_ms = ike_daemon_run(d);
		pthread_mutex_unlock(&d->lock);
		if (wait_ms > TICK_MS)
			wait_ms = TICK_MS;
		if (pfd[0].revents & POLLIN)
			ctl_serve_one(d, ctl_fd);
		if (pfd[1].revents & POLLIN)
			signal_serve(d, sig_fd);
	}
}

static void daemon_teardown(struct daemon *d)
{
	ike_daemon_stop(d);
	workers_stop(d);
	if (d->sad.state)
		sad_fini(&d->sad, daemon_sync_workers, d);
	spd_fini(&d->spd);
	if (d->skel)
		sockets_close(d);
	if (d->nh)
		nh_table_free(d->nh);
	if (d->wstats)
		munmap(d->wstats, sizeof(*d->wstats) * XDPSEC_MAX_WORKERS);
	xdpsec_bpf__destroy(d->skel);
	natt_close(&d->natt);
	config_free(&d->cfg);
}

static int daemon_setup(struct daemon *d)
{
	char err[CONFIG_ERR_MAX];
	int ret;

	if (natt_open(&d->natt))
		log_warn("raw sockets: %s; no NAT-T keepalives",
			 strerror(errno));
	ret = bpf_setup(d);
	if (!ret)
		ret = ifaces_setup(d);
	if (!ret)
		ret = sad_init(&d->sad,
			       bpf_map__fd(d->skel->maps.sad),
			       bpf_map__fd(d->skel->maps.spi_in),
			       bpf_map__fd(d->skel->maps.sa_state),
			       d->cfg.daemon.max_sas + 1, d->n_workers);
	if (!ret)
		ret = spd_init(&d->spd, bpf_map__fd(d->skel->maps.policies),
			       bpf_map__fd(d->skel->maps.spd4),
			       bpf_map__fd(d->skel->maps.spd6),
			       d->cfg.daemon.max_policies);
	if (ret)
		return ret;

	ret = config_apply(d, &d->cfg, err, sizeof(err));
	if (ret) {
		log_err("%s: %s", d->config_path, err);
		return ret;
	}
	config_forget_sas(&d->cfg);
	daemon_host_routes(d);
	ret = nh_table_new(&d->nh);
	for (unsigned int i = 0; !ret && i < d->n_ifaces; i++)
		ret = nh_table_add_iface(d->nh, d->ifaces[i].ifindex);
	if (!ret && d->host.ifindex)
		ret = nh_table_set_local(d->nh, d->host.peer_ifindex,
					 d->host.mac);
	if (!ret)
		ret = nh_table_start(d->nh);
	if (!ret)
		ret = sockets_open(d);
	if (!ret)
		ret = workers_start(d);
	/* Attach last: by now every policy and socket is in place. */
	for (unsigned int i = 0; !ret && i < d->n_ifaces; i++)
		ret = xdp_attach(d, &d->ifaces[i]);
	if (!ret)
		ret = ike_daemon_start(d);
	return ret;
}

static int detach_all(struct daemon *d)
{
	int ret = 0;

	for (unsigned int i = 0; i < d->cfg.daemon.n_ifaces; i++) {
		const char *name = d->cfg.daemon.ifaces[i];
		int ifindex = if_nametoindex(name);

		if (!ifindex || bpf_xdp_detach(ifindex, XDP_FLAGS_SKB_MODE,
					       NULL) ||
		    bpf_xdp_detach(ifindex, XDP_FLAGS_DRV_MODE, NULL)) {
			log_err("%s: cannot detach: %s", name,
				strerror(errno));
			ret = -1;
			continue;
		}
		log_info("%s: XDP program removed", name);
	}
	if (d->cfg.daemon.host_if[0]) {
		host_routes_flush();
		if (host_if_delete(d->cfg.daemon.host_if))
			log_warn("%s: cannot delete", d->cfg.daemon.host_if);
	}
	if (!bpffs_ensure())
		pins_remove(d->pin_path);
	return ret;
}

static int run(struct daemon *d)
{
	int ctl_fd, sig_fd, ret;

	sig_fd = signals_open();
	ret = daemon_setup(d);
	if (ret)
		goto out;
	mkdir_p(RUN_DIR, 0700);
	ctl_fd = ctl_listen(d->sock_path);
	if (ctl_fd < 0) {
		ret = ctl_fd;
		log_err("control socket %s: %s", d->sock_path, strerror(-ret));
		goto out;
	}
	log_info("instance %s running: %u worker(s), control socket %s",
		 d->cfg.daemon.instance, d->n_workers, d->sock_path);
	main_loop(d, ctl_fd, sig_fd);
	close(ctl_fd);
	unlink(d->sock_path);
	/*
	 * The XDP program stays attached when we stop or die: with the
	 * sockets gone, protected traffic is dropped, never sent in clear.
	 */
	log_info("stopped; XDP stays attached, so protected traffic is "
		 "dropped until xdpsecd runs again or --detach removes it");
out:
	daemon_teardown(d);
	close(sig_fd);
	return ret;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "instance", required_argument, NULL, 'n' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "syslog", no_argument, NULL, 's' },
		{ "detach", no_argument, NULL, 'D' },
		{ "check", no_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	static struct daemon d = {
		.lock = PTHREAD_MUTEX_INITIALIZER,
		.natt = { .fd4 = -1, .fd6 = -1 },
	};
	const char *instance = NULL;
	bool verbose = false, use_syslog = false, detach = false;
	bool check_only = false;
	char err[CONFIG_ERR_MAX];
	int c;

	snprintf(d.config_path, sizeof(d.config_path), "%s", DEFAULT_CONFIG);
	while ((c = getopt_long(argc, argv, "c:n:vsDth", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			snprintf(d.config_path, sizeof(d.config_path), "%s",
				 optarg);
			break;
		case 'n':
			instance = optarg;
			break;
		case 'v':
			verbose = true;
			break;
		case 's':
			use_syslog = true;
			break;
		case 'D':
			detach = true;
			break;
		case 't':
			check_only = true;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}

	log_init("xdpsecd", LOG_LVL_INFO, use_syslog);
	libbpf_set_print(libbpf_log);
	if (config_load(d.config_path, &d.cfg, err, sizeof(err))) {
		log_err("%s", err);
		return 1;
	}
	if (check_only) {
		printf("%s: OK, %zu SAs, %zu policies, %zu connections\n",
		       d.config_path, d.cfg.n_sas, d.cfg.n_policies,
		       d.cfg.n_conns);
		config_free(&d.cfg);
		return 0;
	}
	if (instance)
		snprintf(d.cfg.daemon.instance, sizeof(d.cfg.daemon.instance),
			 "%s", instance);
	log_set_level(verbose ? LOG_LVL_DEBUG : d.cfg.daemon.log_level);
	snprintf(d.pin_path, sizeof(d.pin_path), "%s/xdpsec/%s", BPFFS_ROOT,
		 d.cfg.daemon.instance);
	snprintf(d.sock_path, sizeof(d.sock_path), "%s/%s.sock", RUN_DIR,
		 d.cfg.daemon.instance);
	d.started = time(NULL);

	if (detach) {
		c = detach_all(&d);
		config_free(&d.cfg);
		return c ? 1 : 0;
	}
	if (aead_startup()) {
		config_free(&d.cfg);
		return 1;
	}
	process_protect();
	return run(&d) ? 1 : 0;
}
