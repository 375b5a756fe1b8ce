/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The security association database.  The public half of each SA lives in
 * the "sad" map (what XDP and bpftool see); keys, AEAD contexts and the
 * replay window live only here, in daemon memory that is never dumped.
 */
#ifndef XDPSEC_SAD_H
#define XDPSEC_SAD_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "ah.h"
#include "config.h"
#include "esp.h"
#include "nametab.h"
#include "replay.h"
#include "xdpsec_common.h"

struct sa {
	uint32_t idx;
	char name[CONFIG_NAME_MAX];
	bool from_config;		/* loaded from the file, not the CLI */
	int exhausted;			/* outbound: no sequence numbers left */
	struct xdpsec_sa pub;		/* copy of the map entry */
	/* Beside pub.sel, for IKE's extra selector pairs; NULL if none. */
	struct xdpsec_sel *more_sels;
	unsigned int n_more_sels;
	uint8_t key[CONFIG_KEY_MAX];
	size_t key_len;
	unsigned int n_workers;
	/*
	 * ESP or AH: one context per worker, made and keyed by that worker
	 * when it first needs it (sa_worker_key()), so that an SA that
	 * carries no traffic costs a pointer per worker.  Bit w of keyed is
	 * set once worker w's context is ready; only worker w writes it.
	 */
	struct esp_sa **esp;
	struct ah_sa **ah;
	uint64_t keyed;
	pthread_spinlock_t replay_lock;	/* inbound: one writer at a time */
	struct replay replay;
};

struct sad {
	struct sa **slots;		/* by index; read by workers */
	uint32_t n_slots;		/* the size of the "sad" map */
	uint32_t free_hint;		/* no free slot below this */
	uint32_t count;
	struct nametab names;		/* name -> index */
	int sad_fd;
	int spi_fd;
	struct xdpsec_sa_state *state;	/* mmap of "sa_state" */
	unsigned int n_workers;
};

/*
 * n_slots is the size of the "sad" and "sa_state" maps: index 0 is never
 * used, so n_slots - 1 SAs fit.
 */
int sad_init(struct sad *db, int sad_fd, int spi_fd, int state_fd,
	     uint32_t n_slots, unsigned int n_workers);
void sad_fini(struct sad *db, void (*sync)(void *), void *arg);

/*
 * Adds an SA described by conf (fully checked).  Refuses a duplicate name,
 * or an inbound SPI already in use.  Returns the SA index or -errno, with a
 * message in err.
 */
int sad_add(struct sad *db, const struct sa_conf *conf, bool from_config,
	    char *err, size_t errlen);

/*
 * Sends an outbound UDP-encapsulated SA to another port of the same peer
 * (its NAT moved it).  Workers see the new port with their next packet.
 */
void sad_set_encap_dport(struct sad *db, struct sa *sa, uint16_t port);

/*
 * Removes an SA: XDP stops steering to it at once; its memory and keys are
 * wiped only after sync() has waited for every worker to let go.
 */
int sad_del(struct sad *db, uint32_t idx, void (*sync)(void *), void *arg);

struct sa *sad_find_name(struct sad *db, const char *name);

/* Marks an SA dead in the map (sequence space exhausted, say). */
void sad_kill(struct sad *db, struct sa *sa);

/* Seconds on CLOCK_BOOTTIME, the clock of SA ages. */
uint64_t sad_now(void);

/*
 * Applies lifetimes (RFC 4301 4.4.2.1), once a second: an SA past a soft
 * limit, or close to running out of sequence numbers, is marked for
 * rekeying; one past a hard limit, or out of sequence numbers, is removed.
 */
void sad_expire(struct sad *db, void (*sync)(void *), void *arg);

/* True once the SA has used up its packet or byte hard limit. */
static inline bool sa_hard_reached(const struct sa *sa,
				   const struct xdpsec_sa_state *st)
{
	const struct xdpsec_lifetime *h = &sa->pub.hard;

	return (h->packets && st->packets >= h->packets) ||
	       (h->bytes && st->bytes >= h->bytes);
}

/* Compares two configured SAs: same name, parameters and key. */
bool sad_conf_equal(const struct sa *sa, const struct sa_conf *conf);

static inline struct sa *sad_get(struct sad *db, uint32_t idx)
{
	if (idx >= db->n_slots)
		return NULL;
	return __atomic_load_n(&db->slots[idx], __ATOMIC_ACQUIRE);
}

/*
 * Keys worker w's context of sa from the key the SA keeps.  Called by
 * worker w only, and only when sa_worker_ready() says it must.
 */
int sa_worker_key(struct sa *sa, unsigned int w);

/* 0 once worker w's context of sa is keyed, -errno if it cannot be. */
static inline int sa_worker_ready(struct sa *sa, unsigned int w)
{
	if (__atomic_load_n(&sa->keyed, __ATOMIC_ACQUIRE) & (1ull << w))
		return 0;
	return sa_worker_key(sa, w);
}

#endif /* XDPSEC_SAD_H */
