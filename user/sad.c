// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <arpa/inet.h>

#include <bpf/bpf.h>
#include <openssl/crypto.h>

#include "log.h"
#include "sad.h"

_Static_assert(XDPSEC_MAX_WORKERS <= 64, "one bit per worker in keyed");

int sad_init(struct sad *db, int sad_fd, int spi_fd, int state_fd,
	     uint32_t n_slots, unsigned int n_workers)
{
	size_t len = sizeof(*db->state) * n_slots;
	struct sa **slots;
	void *state;

	slots = calloc(n_slots, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	state = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, state_fd,
		     0);
	if (state == MAP_FAILED) {
		free(slots);
		return -errno;
	}

	memset(db, 0, sizeof(*db));
	db->slots = slots;
	db->n_slots = n_slots;
	db->free_hint = 1;
	db->sad_fd = sad_fd;
	db->spi_fd = spi_fd;
	db->state = state;
	db->n_workers = n_workers;
	nametab_init(&db->names);
	return 0;
}

static bool sa_is_ah(const struct sa *sa)
{
	return sa->pub.proto == XDPSEC_IPPROTO_AH;
}

static void sa_free(struct sa *sa)
{
	for (unsigned int i = 0; i < sa->n_workers; i++) {
		if (!(sa->keyed & (1ull << i)))
			continue;
		if (sa->esp) {
			esp_sa_fini(sa->esp[i]);
			free(sa->esp[i]);
		}
		if (sa->ah) {
			ah_sa_fini(sa->ah[i]);
			free(sa->ah[i]);
		}
	}
	free(sa->esp);
	free(sa->ah);
	free(sa->more_sels);
	pthread_spin_destroy(&sa->replay_lock);
	OPENSSL_cleanse(sa, sizeof(*sa));
	free(sa);
}

/* Makes and keys context number w from the SA's key and public half. */
static int sa_context_init(struct sa *sa, unsigned int w)
{
	struct xdpsec_sa pub = sa->pub;
	struct esp_sa *esp;
	struct ah_sa *ah;
	int ret;

	pub.encap_dport = __atomic_load_n(&sa->pub.encap_dport,
					  __ATOMIC_SEQ_CST);
	if (sa_is_ah(sa)) {
		ah = calloc(1, sizeof(*ah));
		ret = ah ? ah_sa_init(ah, &pub, sa->key, sa->key_len) :
			   -ENOMEM;
		if (ret)
			free(ah);
		else
			sa->ah[w] = ah;
		return ret;
	}
	esp = calloc(1, sizeof(*esp));
	ret = esp ? esp_sa_init(esp, &pub, sa->key, sa->key_len) : -ENOMEM;
	if (ret)
		free(esp);
	else
		sa->esp[w] = esp;
	return ret;
}

int sa_worker_key(struct sa *sa, unsigned int w)
{
	uint16_t keyed_port, port;
	int ret;

	if (w >= sa->n_workers)
		return -EINVAL;
	ret = sa_context_init(sa, w);
	if (ret)
		return ret;
	__atomic_or_fetch(&sa->keyed, 1ull << w, __ATOMIC_SEQ_CST);
	if (!sa->esp)
		return 0;
	/*
	 * The peer's NAT may have moved its port while we keyed.  Both we
	 * and sad_set_encap_dport() store (our bit, its port), then load
	 * the other's word, in one total order: either it saw our bit and
	 * stores the new port into our context, or we see the new port
	 * here.  We replace only the port we keyed with, never one that it
	 * stored meanwhile.
	 */
	keyed_port = sa->esp[w]->encap_dport;
	port = __atomic_load_n(&sa->pub.encap_dport, __ATOMIC_SEQ_CST);
	__atomic_compare_exchange_n(&sa->esp[w]->encap_dport, &keyed_port,
				    port, false, __ATOMIC_RELAXED,
				    __ATOMIC_RELAXED);
	return 0;
}

/*
 * Room for a context pointer per worker: each worker makes and keys its
 * own on first use.  One trial keying here refuses, at once, a key that
 * the cipher would not take.
 */
static int sa_contexts_alloc(struct sa *sa, unsigned int n_workers)
{
	struct ah_sa ah;
	struct esp_sa esp;
	int ret;

	if (sa_is_ah(sa)) {
		sa->ah = calloc(n_workers, sizeof(*sa->ah));
		ret = ah_sa_init(&ah, &sa->pub, sa->key, sa->key_len);
		if (!ret)
			ah_sa_fini(&ah);
	} else {
		sa->esp = calloc(n_workers, sizeof(*sa->esp));
		ret = esp_sa_init(&esp, &sa->pub, sa->key, sa->key_len);
		if (!ret)
			esp_sa_fini(&esp);
	}
	if (!sa->ah && !sa->esp)
		return -ENOMEM;
	sa->n_workers = n_workers;
	return ret;
}

static int sad_slot_find(struct sad *db)
{
	/* Index 0 is never used, so that a zeroed field never names an SA. */
	for (uint32_t i = db->free_hint; i < db->n_slots; i++)
		if (!db->slots[i]) {
			db->free_hint = i + 1;
			return i;
		}
	return -ENOSPC;
}

struct sa *sad_find_name(struct sad *db, const char *name)
{
	uint32_t idx;

	if (nametab_get(&db->names, name, &idx))
		return NULL;
	return db->slots[idx];
}

static bool sad_spi_in_use(struct sad *db, const struct xdpsec_sa *pub)
{
	struct xdpsec_spi_key key = {
		.spi = htonl(pub->spi),
		.proto = pub->proto,
	};
	uint32_t idx;

	if (pub->dir != XDPSEC_DIR_IN)
		return false;
	return !bpf_map_lookup_elem(db->spi_fd, &key, &idx);
}

static int sad_publish(struct sad *db, struct sa *sa)
{
	struct xdpsec_spi_key key = {
		.spi = htonl(sa->pub.spi),
		.proto = sa->pub.proto,
	};
	struct xdpsec_sa_state zero = { 0 };
	int err;

	/* A fresh SA starts with its counters and replay top at zero. */
	db->state[sa->idx] = zero;
	sa->pub.state = XDPSEC_SA_ACTIVE;
	sa->pub.added = sad_now();
	err = bpf_map_update_elem(db->sad_fd, &sa->idx, &sa->pub, BPF_ANY);
	if (err)
		return err;
	__atomic_store_n(&db->slots[sa->idx], sa, __ATOMIC_RELEASE);
	if (sa->pub.dir != XDPSEC_DIR_IN)
		return 0;
	return bpf_map_update_elem(db->spi_fd, &key, &sa->idx, BPF_NOEXIST);
}

/* Most SAs have one selector: the others take memory only when there. */
static int sa_more_sels(struct sa *sa, const struct sa_conf *conf)
{
	unsigned int n = conf->n_more_sels < SA_SELS_MAX - 1 ?
			 conf->n_more_sels : SA_SELS_MAX - 1;

	if (!n)
		return 0;
	sa->more_sels = calloc(n, sizeof(*sa->more_sels));
	if (!sa->more_sels)
		return -ENOMEM;
	memcpy(sa->more_sels, conf->more_sels, n * sizeof(*sa->more_sels));
	sa->n_more_sels = n;
	return 0;
}

int sad_add(struct sad *db, const struct sa_conf *conf, bool from_config,
	    char *err, size_t errlen)
{
	struct sa *sa;
	int idx, ret;

	if (sad_find_name(db, conf->name)) {
		snprintf(err, errlen, "an SA named %s exists", conf->name);
		return -EEXIST;
	}
	if (sad_spi_in_use(db, &conf->sa)) {
		snprintf(err, errlen, "inbound SPI 0x%08x is in use",
			 conf->sa.spi);
		return -EEXIST;
	}
	idx = sad_slot_find(db);
	if (idx < 0) {
		snprintf(err, errlen,
			 "the SAD is full (%u SAs): raise max_sas in [daemon]",
			 db->n_slots - 1);
		return idx;
	}

	sa = calloc(1, sizeof(*sa));
	if (!sa)
		return -ENOMEM;
	sa->idx = idx;
	sa->from_config = from_config;
	snprintf(sa->name, sizeof(sa->name), "%s", conf->name);
	sa->pub = conf->sa;
	memcpy(sa->key, conf->key, conf->key_len);
	sa->key_len = conf->key_len;
	pthread_spin_init(&sa->replay_lock, PTHREAD_PROCESS_PRIVATE);
	ret = sa_more_sels(sa, conf);
	if (!ret)
		ret = replay_init(&sa->replay, sa->pub.replay_window);
	if (ret)
		goto err_free;
	ret = sa_contexts_alloc(sa, db->n_workers);
	if (ret)
		goto err_free;
	ret = nametab_add(&db->names, sa->name, idx);
	if (ret)
		goto err_free;
	ret = sad_publish(db, sa);
	if (ret)
		goto err_unpublish;

	db->count++;
	log_info("SA %s added: %s spi 0x%08x, index %u", sa->name,
		 config_dir_name(sa->pub.dir), sa->pub.spi, sa->idx);
	return idx;

err_unpublish:
	__atomic_store_n(&db->slots[idx], NULL, __ATOMIC_RELEASE);
	sa->pub.state = XDPSEC_SA_FREE;
	bpf_map_update_elem(db->sad_fd, &sa->idx, &sa->pub, BPF_ANY);
	nametab_del(&db->names, sa->name);
	if ((uint32_t)idx < db->free_hint)
		db->free_hint = idx;
err_free:
	snprintf(err, errlen, "cannot install SA %s: %s", conf->name,
		 strerror(-ret));
	sa_free(sa);
	return ret;
}

void sad_set_encap_dport(struct sad *db, struct sa *sa, uint16_t port)
{
	struct xdpsec_sa pub;

	/*
	 * The SA's copy first: a worker that keys its context now takes
	 * the port from there once keyed (sa_worker_key()); contexts not
	 * made yet will be made with it.
	 */
	__atomic_store_n(&sa->pub.encap_dport, port, __ATOMIC_SEQ_CST);
	for (unsigned int i = 0; sa->esp && i < sa->n_workers; i++)
		if (__atomic_load_n(&sa->keyed, __ATOMIC_SEQ_CST) &
		    (1ull << i))
			__atomic_store_n(&sa->esp[i]->encap_dport, port,
					 __ATOMIC_RELAXED);
	if (!bpf_map_lookup_elem(db->sad_fd, &sa->idx, &pub)) {
		pub.encap_dport = port;
		bpf_map_update_elem(db->sad_fd, &sa->idx, &pub, BPF_EXIST);
	}
}

void sad_kill(struct sad *db, struct sa *sa)
{
	struct xdpsec_sa dead = sa->pub;

	dead.state = XDPSEC_SA_DEAD;
	bpf_map_update_elem(db->sad_fd, &sa->idx, &dead, BPF_ANY);
}

int sad_del(struct sad *db, uint32_t idx, void (*sync)(void *), void *arg)
{
	struct xdpsec_spi_key key;
	struct xdpsec_sa freed = { 0 };
	struct sa *sa = sad_get(db, idx);

	if (!sa)
		return -ENOENT;

	/* First stop XDP from steering new packets to the SA... */
	sad_kill(db, sa);
	if (sa->pub.dir == XDPSEC_DIR_IN) {
		key = (struct xdpsec_spi_key){
			.spi = htonl(sa->pub.spi),
			.proto = sa->pub.proto,
		};
		bpf_map_delete_elem(db->spi_fd, &key);
	}
	__atomic_store_n(&db->slots[idx], NULL, __ATOMIC_RELEASE);
	nametab_del(&db->names, sa->name);

	/* ...then wait until no worker can still hold it, and wipe it. */
	sync(arg);
	bpf_map_update_elem(db->sad_fd, &idx, &freed, BPF_ANY);
	log_info("SA %s deleted (spi 0x%08x)", sa->name, sa->pub.spi);
	sa_free(sa);
	if (idx < db->free_hint)
		db->free_hint = idx;
	db->count--;
	return 0;
}

void sad_fini(struct sad *db, void (*sync)(void *), void *arg)
{
	for (uint32_t i = 1; i < db->n_slots; i++)
		if (db->slots[i])
			sad_del(db, i, sync, arg);
	munmap(db->state, sizeof(*db->state) * db->n_slots);
	nametab_fini(&db->names);
	free(db->slots);
	db->slots = NULL;
	db->n_slots = 0;
}

bool sad_conf_equal(const struct sa *sa, const struct sa_conf *conf)
{
	struct xdpsec_sa a = sa->pub, b = conf->sa;

	a.state = b.state = 0;
	a.added = b.added = 0;
	return !strcmp(sa->name, conf->name) && !memcmp(&a, &b, sizeof(a)) &&
	       sa->n_more_sels == conf->n_more_sels &&
	       (!sa->n_more_sels ||
		!memcmp(sa->more_sels, conf->more_sels,
			sa->n_more_sels * sizeof(sa->more_sels[0]))) &&
	       sa->key_len == conf->key_len &&
	       !CRYPTO_memcmp(sa->key, conf->key, sa->key_len);
}

uint64_t sad_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return ts.tv_sec;
}

enum {
	/* Sequence numbers left when a rekey becomes due. */
	SEQ_SOFT_MARGIN = 1u << 20,
};

/* Which limit an SA has reached, by name, or NULL. */
static const char *limit_reached(const struct xdpsec_lifetime *l,
				 const struct xdpsec_sa_state *st,
				 uint64_t age)
{
	if (l->bytes && st->bytes >= l->bytes)
		return "bytes";
	if (l->packets && st->packets >= l->packets)
		return "packets";
	if (l->seconds && age >= l->seconds)
		return "seconds";
	return NULL;
}

static bool seq_nearly_out(const struct sa *sa,
			   const struct xdpsec_sa_state *st)
{
	uint64_t last = sa->pub.flags & XDPSEC_SA_F_ESN ? UINT64_MAX :
							   UINT32_MAX;

	return sa->pub.dir == XDPSEC_DIR_OUT &&
	       st->seq >= last - SEQ_SOFT_MARGIN;
}

static void sa_expire_one(struct sad *db, struct sa *sa, uint64_t now,
			  void (*sync)(void *), void *arg)
{
	struct xdpsec_sa_state *st = &db->state[sa->idx];
	const char *why = limit_reached(&sa->pub.hard, st, now - sa->pub.added);

	if (!why && sa->exhausted)
		why = "sequence numbers";
	if (why) {
		__atomic_or_fetch(&st->expired, XDPSEC_EXPIRE_HARD,
				  __ATOMIC_RELAXED);
		log_info("SA %s: hard lifetime reached (%s), removed", sa->name,
			 why);
		sad_del(db, sa->idx, sync, arg);
		return;
	}
	if (st->expired & XDPSEC_EXPIRE_SOFT)
		return;
	why = limit_reached(&sa->pub.soft, st, now - sa->pub.added);
	if (!why && seq_nearly_out(sa, st))
		why = "sequence numbers";
	if (!why)
		return;
	__atomic_or_fetch(&st->expired, XDPSEC_EXPIRE_SOFT, __ATOMIC_RELAXED);
	log_info("SA %s: soft lifetime reached (%s), rekey due", sa->name,
		 why);
}

void sad_expire(struct sad *db, void (*sync)(void *), void *arg)
{
	uint64_t now = sad_now();

	for (uint32_t i = 1; i < db->n_slots; i++)
		if (db->slots[i])
			sa_expire_one(db, db->slots[i], now, sync, arg);
}
