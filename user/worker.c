// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>
#include <net/ethernet.h>
#include <netinet/ip.h>

#include "frag.h"
#include "ip.h"
#include "log.h"
#include "worker.h"

enum {
	WORKER_POLL_MS = 100,	/* bounds how long a grace period waits */
	WORKER_KICKS_MAX = 4,	/* per flush: at most this many sendto() */
	WORKER_TX_MAX = 2 * XSK_BATCH,	/* received frames + made ones */
	WORKER_FRAGS_MAX = 8,	/* fragments of one packet */
	ICMP_PER_SEC = 100,	/* RFC 4443 2.4(f): errors are rate-limited */
	ICMP_BURST = 20,
	/* The most ESP or AH padding can grow when a packet shrinks. */
	PAD_SLACK = 15,
	IPV4_MIN_MTU = 68,	/* RFC 791: every link carries this much */
};

/* A frame ready to go out, and the socket it goes out on. */
struct tx_item {
	struct xsk *xsk;
	uint64_t addr;
	uint32_t len;
};

/* What one batch sends: processed frames, ICMP errors and fragments. */
struct batch {
	struct tx_item tx[WORKER_TX_MAX];
	uint32_t n;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static inline void worker_count(struct worker *w, unsigned int reason)
{
	w->cnt[reason]++;
}

/* Frames come back to a small local cache first, then to the pool. */
static void worker_free_frame(struct worker *w, uint64_t addr)
{
	if (w->n_cache == sizeof(w->cache) / sizeof(w->cache[0])) {
		pool_put(&w->d->umem.pool, w->cache, XSK_BATCH);
		w->n_cache -= XSK_BATCH;
		memmove(w->cache, w->cache + XSK_BATCH,
			w->n_cache * sizeof(w->cache[0]));
	}
	w->cache[w->n_cache++] = umem_frame_base(addr);
}

static bool worker_frame_alloc(struct worker *w, uint64_t *addr)
{
	if (!w->n_cache)
		w->n_cache = pool_get(&w->d->umem.pool, w->cache, XSK_BATCH);
	if (!w->n_cache)
		return false;
	*addr = w->cache[--w->n_cache];
	return true;
}

/* A fresh frame, as an empty packet buffer with the usual headroom. */
static bool worker_pkt_new(struct worker *w, uint64_t *addr, struct pkt *p)
{
	if (!worker_frame_alloc(w, addr))
		return false;
	p->data = umem_data(&w->d->umem, *addr + XSK_HEADROOM);
	p->len = 0;
	p->headroom = XSK_HEADROOM;
	p->tailroom = XSK_FRAME_SIZE - XSK_HEADROOM;
	return true;
}

static void worker_refill(struct worker *w)
{
	struct xsk *x = w->xsk;
	uint32_t free_slots = xsk_prod_nb_free(&x->fill, XSK_BATCH);
	uint32_t n, idx;

	if (free_slots > XSK_BATCH)
		free_slots = XSK_BATCH;
	if (w->n_cache < free_slots)
		w->n_cache += pool_get(&w->d->umem.pool, w->cache + w->n_cache,
				       free_slots - w->n_cache);
	n = free_slots < w->n_cache ? free_slots : w->n_cache;
	if (!n || xsk_ring_prod__reserve(&x->fill, n, &idx) != n)
		return;
	for (uint32_t i = 0; i < n; i++)
		*xsk_ring_prod__fill_addr(&x->fill, idx + i) =
			w->cache[--w->n_cache];
	xsk_ring_prod__submit(&x->fill, n);
}

static bool worker_sel_ok(const struct sa *sa, const struct pkt *p)
{
	struct ip_fields f;

	if (ip_parse(p, &f))
		return false;
	if (sel_match(&sa->pub.sel, f.family, f.src, f.dst, f.proto,
		      f.has_ports, f.sport, f.dport))
		return true;
	for (unsigned int i = 0; i < sa->n_more_sels; i++)
		if (sel_match(&sa->more_sels[i], f.family, f.src, f.dst,
			      f.proto, f.has_ports, f.sport, f.dport))
			return true;
	return false;
}

static void sa_account(struct worker *w, struct sa *sa, uint32_t bytes)
{
	struct xdpsec_sa_state *st = &w->d->sad.state[sa->idx];

	__atomic_add_fetch(&st->packets, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&st->bytes, bytes, __ATOMIC_RELAXED);
}

static void sa_count_drop(struct worker *w, struct sa *sa, int reason)
{
	struct xdpsec_sa_state *st = &w->d->sad.state[sa->idx];
	__u64 *c = reason == XDPSEC_CNT_DROP_AUTH ? &st->auth_fails :
		      reason == XDPSEC_CNT_DROP_REPLAY ? &st->replay_drops :
							  &st->other_drops;

	__atomic_add_fetch(c, 1, __ATOMIC_RELAXED);
}

/* The full sequence number of an inbound packet, or 0 if it is invalid. */
static uint64_t esp_in_seq(struct sa *sa, uint32_t seq_lo)
{
	uint64_t seq;

	if (!(sa->pub.flags & XDPSEC_SA_F_ESN))
		return seq_lo;
	pthread_spin_lock(&sa->replay_lock);
	seq = replay_esn_infer(&sa->replay, seq_lo);
	pthread_spin_unlock(&sa->replay_lock);
	return seq;
}

static int replay_checked(struct sa *sa, uint64_t seq)
{
	enum replay_verdict v;

	pthread_spin_lock(&sa->replay_lock);
	v = replay_check(&sa->replay, seq);
	pthread_spin_unlock(&sa->replay_lock);
	return v == REPLAY_OK ? XDPSEC_CNT_OK : XDPSEC_CNT_DROP_REPLAY;
}

/* Moves the window; only after the ICV has verified (RFC 4303 3.4.3). */
static int replay_commit(struct worker *w, struct sa *sa, uint64_t seq)
{
	int reason = XDPSEC_CNT_OK;

	pthread_spin_lock(&sa->replay_lock);
	if (replay_check(&sa->replay, seq) != REPLAY_OK) {
		/* Another worker accepted the same packet meanwhile. */
		reason = XDPSEC_CNT_DROP_REPLAY;
	} else {
		replay_update(&sa->replay, seq);
		__atomic_store_n(&w->d->sad.state[sa->idx].seq,
				 sa->replay.top, __ATOMIC_RELAXED);
	}
	pthread_spin_unlock(&sa->replay_lock);
	return reason;
}

static int worker_output(struct worker *w, struct pkt *p,
			 const struct nh_hop *hop, unsigned int queue,
			 struct tx_item *out);

/*
 * Answers p, which cannot go on, with an ICMP error to its source: "too
 * big" with mtu, or "time exceeded" when mtu is 0.  Errors are limited in
 * rate, and never sent about errors (icmp.c decides).
 */
static void worker_icmp(struct worker *w, const struct pkt *p, uint32_t mtu,
			struct batch *b)
{
	struct xdpsec_addr src = { 0 };
	struct ip_fields f;
	struct nh_hop back;
	uint64_t addr;
	struct pkt e;
	uint32_t len;

	if (b->n == WORKER_TX_MAX || ip_parse(p, &f) ||
	    nh_lookup(w->nh, f.family, f.src, &back) ||
	    !icmp_limit_allow(&w->icmp_limit, now_ns()))
		return;
	/* Towards our own stack the route has no source: speak for dst. */
	if (back.has_src)
		src = back.src;
	else
		memcpy(src.v6, f.dst, f.family == XDPSEC_AF_INET ? 4 : 16);

	if (!worker_pkt_new(w, &addr, &e))
		return;
	len = mtu ? icmp_too_big(p, mtu, &src, e.data, e.tailroom) :
		    icmp_time_exceeded(p, &src, e.data, e.tailroom);
	e.len = len;
	e.tailroom -= len;
	if (!len || worker_output(w, &e, &back, w->xsk->queue, &b->tx[b->n])) {
		worker_free_frame(w, addr);
		return;
	}
	b->n++;
	worker_count(w, XDPSEC_CNT_ICMP_SENT);
}

/* ESP or AH, whichever the SA speaks: the header's SPI and sequence. */
static int sa_peek(struct sa *sa, const struct pkt *p, uint32_t off,
		   uint32_t *spi, uint32_t *seq_lo)
{
	uint8_t next_hdr;

	if (sa->ah)
		return ah_peek(p, off, spi, seq_lo, &next_hdr);
	return esp_peek(p, off, spi, seq_lo);
}

static int sa_decap(struct worker *w, struct sa *sa, uint64_t seq,
		    struct pkt *p, uint32_t off)
{
	if (sa->ah)
		return ah_decap(sa->ah[w->id], seq, p, off);
	return esp_decap(sa->esp[w->id], seq, p, off);
}

/* The exact length p will have once protected. */
static uint32_t sa_encap_len(struct worker *w, struct sa *sa,
			     const struct pkt *p)
{
	if (sa->ah)
		return ah_encap_len(sa->ah[w->id], p->len);
	return esp_encap_len_pkt(sa->esp[w->id], p);
}

static int sa_encap(struct worker *w, struct sa *sa, uint64_t seq,
		    struct pkt *p)
{
	if (sa->ah)
		return ah_encap(sa->ah[w->id], seq, p);
	return esp_encap(sa->esp[w->id], seq, p);
}

/*
 * Inbound ESP or AH (RFC 4303 3.4, RFC 4302 3.4): sequence number, replay
 * check, integrity check and decryption, replay window update, and the
 * check of what was inside against the SA's selectors.
 */
static int ipsec_in_sa(struct worker *w, struct sa *sa,
		       const struct xdpsec_meta *m, struct pkt *p)
{
	uint32_t off = m->l4_off - m->l3_off, spi, seq_lo;
	uint64_t seq;
	int reason;

	reason = sa_peek(sa, p, off, &spi, &seq_lo);
	if (reason)
		return reason;
	if (spi != sa->pub.spi)
		return XDPSEC_CNT_DROP_BAD_META;

	seq = esp_in_seq(sa, seq_lo);
	if (!seq)
		return XDPSEC_CNT_DROP_REPLAY;
	reason = replay_checked(sa, seq);
	if (reason)
		return reason;

	reason = sa_decap(w, sa, seq, p, off);
	if (reason)
		return reason;
	reason = replay_commit(w, sa, seq);
	if (reason)
		return reason;

	if (!worker_sel_ok(sa, p))
		return XDPSEC_CNT_DROP_SELECTOR;
	sa_account(w, sa, p->len);
	worker_count(w, sa->ah ? XDPSEC_CNT_AH_VERIFIED :
				 XDPSEC_CNT_ESP_DECRYPTED);
	return XDPSEC_CNT_OK;
}

static int worker_ipsec_in(struct worker *w, const struct xdpsec_meta *m,
			   struct pkt *p, struct nh_hop *hop)
{
	struct sa *sa = sad_get(&w->d->sad, m->sa_idx);
	struct ip_fields f;
	int reason;

	if (!sa || sa->pub.dir != XDPSEC_DIR_IN ||
	    (m->kind == XDPSEC_META_AH_IN) != !!sa->ah)
		return XDPSEC_CNT_DROP_SA_DEAD;
	if (sa_hard_reached(sa, &w->d->sad.state[sa->idx]))
		return XDPSEC_CNT_DROP_EXPIRED;
	/* Our context of the SA is keyed with its first packet. */
	if (sa_worker_ready(sa, w->id))
		return XDPSEC_CNT_DROP_NO_CRYPTO;
	reason = ipsec_in_sa(w, sa, m, p);
	if (reason) {
		sa_count_drop(w, sa, reason);
		return reason;
	}

	/* The inner packet goes where the kernel routes its destination. */
	if (ip_parse(p, &f))
		return XDPSEC_CNT_DROP_ESP_MALFORMED;
	reason = nh_lookup(w->nh, f.family, f.dst, hop);
	if (reason)
		return reason;
	if (hop->local) {
		worker_count(w, XDPSEC_CNT_LOCAL_DELIVERED);
		return XDPSEC_CNT_OK;
	}
	/* Forwarding it on makes us a router for the inner packet. */
	return ip_forward_ttl(p) ? XDPSEC_CNT_OK : XDPSEC_CNT_DROP_TTL;
}

/* Hands out the next sequence number; 0 once the space is used up. */
static uint64_t esp_out_seq(struct worker *w, struct sa *sa)
{
	__u64 *top = &w->d->sad.state[sa->idx].seq;
	uint64_t seq = __atomic_add_fetch(top, 1, __ATOMIC_RELAXED);
	uint64_t last = sa->pub.flags & XDPSEC_SA_F_ESN ? UINT64_MAX - 1 :
							   UINT32_MAX;

	if (seq <= last)
		return seq;
	/* RFC 4303 3.3.3: never wrap; the SA stops sending. */
	if (!__atomic_exchange_n(&sa->exhausted, 1, __ATOMIC_RELAXED)) {
		sad_kill(&w->d->sad, sa);
		log_warn("SA %s: sequence numbers exhausted, SA stopped",
			 sa->name);
	}
	return 0;
}

/* The largest inner packet that still fits mtu once protected. */
static uint32_t sa_inner_mtu(struct worker *w, struct sa *sa,
			     const struct pkt *p, uint32_t mtu)
{
	uint32_t over = sa_encap_len(w, sa, p) - p->len;

	return mtu > over + PAD_SLACK ? mtu - over - PAD_SLACK : 0;
}

/* Sequence number, ESP or AH, accounting: the last steps out. */
static int sa_protect(struct worker *w, struct sa *sa, struct pkt *p)
{
	uint32_t len = p->len;
	uint64_t seq;
	int reason;

	seq = esp_out_seq(w, sa);
	if (!seq)
		return XDPSEC_CNT_DROP_SEQ_EXHAUSTED;
	reason = sa_encap(w, sa, seq, p);
	if (reason)
		return reason;
	sa_account(w, sa, len);
	worker_count(w, sa->ah ? XDPSEC_CNT_AH_PROTECTED :
				 XDPSEC_CNT_ESP_ENCRYPTED);
	return XDPSEC_CNT_OK;
}

/*
 * Splits an IPv4 packet without DF into fragments that fit once
 * protected, and protects and queues each (RFC 4301 8.1 allows
 * fragmenting before IPsec).  Returns XDPSEC_CNT_FRAGMENTED when the
 * fragments went out in place of p.
 */
static int worker_fragment(struct worker *w, struct sa *sa,
			   const struct pkt *p, uint32_t inner_mtu,
			   const struct nh_hop *hop, struct batch *b)
{
	unsigned int room = WORKER_TX_MAX - b->n, n_frames = 0;
	bool queued[WORKER_FRAGS_MAX] = { false };
	uint64_t addrs[WORKER_FRAGS_MAX];
	uint8_t *bufs[WORKER_FRAGS_MAX];
	uint32_t lens[WORKER_FRAGS_MAX];
	int n, reason = XDPSEC_CNT_FRAGMENTED;

	if (room > WORKER_FRAGS_MAX)
		room = WORKER_FRAGS_MAX;
	for (; n_frames < room; n_frames++) {
		struct pkt e;

		if (!worker_pkt_new(w, &addrs[n_frames], &e))
			break;
		bufs[n_frames] = e.data;
	}
	n = frag_ipv4(p, inner_mtu, bufs, inner_mtu, lens, n_frames);
	if (n < 0)
		reason = XDPSEC_CNT_DROP_TOO_BIG;

	for (int i = 0; i < n && reason == XDPSEC_CNT_FRAGMENTED; i++) {
		struct pkt f = {
			.data = bufs[i],
			.len = lens[i],
			.headroom = XSK_HEADROOM,
			.tailroom = XSK_FRAME_SIZE - XSK_HEADROOM - lens[i],
		};

		reason = sa_protect(w, sa, &f);
		if (!reason)
			reason = worker_output(w, &f, hop, sa->idx,
					       &b->tx[b->n]);
		if (reason)
			break;
		b->n++;
		queued[i] = true;
		reason = XDPSEC_CNT_FRAGMENTED;
	}
	for (unsigned int i = 0; i < n_frames; i++)
		if (!queued[i])
			worker_free_frame(w, addrs[i]);
	return reason;
}

/*
 * A packet too big for the path once protected: fragmented if IPv4 lets
 * us, otherwise refused with "fragmentation needed" or "packet too big"
 * carrying the MTU that fits (RFC 4301 8.2), so the sender adapts.
 */
static int worker_too_big(struct worker *w, struct sa *sa, struct pkt *p,
			  const struct nh_hop *hop, struct batch *b)
{
	uint32_t inner_mtu = sa_inner_mtu(w, sa, p, hop->mtu);
	const struct iphdr *ip4 = (const struct iphdr *)p->data;

	if ((p->data[0] >> 4) == 4 && !(ip4->frag_off & htons(IP_DF)) &&
	    inner_mtu >= IPV4_MIN_MTU)
		return worker_fragment(w, sa, p, inner_mtu, hop, b);
	worker_icmp(w, p, inner_mtu, b);
	return XDPSEC_CNT_DROP_TOO_BIG;
}

static int worker_protect(struct worker *w, const struct xdpsec_meta *m,
			  struct pkt *p, struct nh_hop *hop, unsigned int *queue,
			  struct batch *b)
{
	struct sa *sa = sad_get(&w->d->sad, m->sa_idx);
	struct ip_fields f;
	int reason;

	if (!sa || sa->pub.dir != XDPSEC_DIR_OUT || sa->exhausted)
		return XDPSEC_CNT_DROP_SA_DEAD;
	if (sa_hard_reached(sa, &w->d->sad.state[sa->idx]))
		return XDPSEC_CNT_DROP_EXPIRED;
	if (sa_worker_ready(sa, w->id))
		return XDPSEC_CNT_DROP_NO_CRYPTO;
	if (ip_parse(p, &f))
		return XDPSEC_CNT_DROP_MALFORMED;
	/* Ethernet may pad short frames: the IP length is the truth. */
	p->tailroom += p->len - f.len;
	p->len = f.len;

	/*
	 * Everything that can still fail is checked before a sequence
	 * number is taken, so the first packet on the wire carries 1 and
	 * numbers are not burnt on packets that never leave.
	 */
	reason = nh_lookup(w->nh, sa->pub.family, sa->pub.dst.v6, hop);
	if (reason)
		return reason;
	/* The host's own packets are sent, not forwarded. */
	if (!w->xsk->iface->host && !ip_forward_ttl(p)) {
		worker_icmp(w, p, 0, b);
		return XDPSEC_CNT_DROP_TTL;
	}
	if (sa_encap_len(w, sa, p) > hop->mtu)
		return worker_too_big(w, sa, p, hop, b);

	reason = sa_protect(w, sa, p);
	if (reason)
		return reason;
	/*
	 * All of an SA's packets leave on one queue, so the peer receives
	 * them on one queue, in order: spread over several workers they
	 * would arrive reordered, and beyond the replay window, dropped.
	 */
	*queue = sa->idx;
	return XDPSEC_CNT_OK;
}

/* Prepends the Ethernet header for the next hop and picks the socket. */
static int worker_output(struct worker *w, struct pkt *p,
			 const struct nh_hop *hop, unsigned int queue,
			 struct tx_item *out)
{
	struct daemon *d = w->d;
	struct ether_header *eth;
	struct iface *ifc;

	if (p->len > hop->mtu)
		return XDPSEC_CNT_DROP_TOO_BIG;
	ifc = daemon_iface(d, hop->ifindex);
	if (!ifc || p->headroom < sizeof(*eth))
		return XDPSEC_CNT_DROP_NO_ROUTE;

	eth = (struct ether_header *)(p->data - sizeof(*eth));
	memcpy(eth->ether_dhost, hop->dmac, ETH_ALEN);
	memcpy(eth->ether_shost, hop->smac, ETH_ALEN);
	eth->ether_type = htons((p->data[0] >> 4) == 4 ? ETHERTYPE_IP :
							  ETHERTYPE_IPV6);

	out->xsk = ifc->xsks[queue % ifc->n_queues];
	out->addr = (uint64_t)((uint8_t *)eth - (uint8_t *)d->umem.area);
	out->len = p->len + sizeof(*eth);
	return XDPSEC_CNT_OK;
}

static int worker_frame(struct worker *w, uint64_t addr, uint32_t len,
			struct batch *b)
{
	uint8_t *data = umem_data(&w->d->umem, addr);
	uint32_t off = addr - umem_frame_base(addr);
	const struct xdpsec_meta *m = (const void *)(data - sizeof(*m));
	unsigned int queue = w->xsk->queue;
	struct xdpsec_meta meta;
	struct nh_hop hop;
	struct pkt p;
	int reason;

	if (off < sizeof(meta) || len > XSK_FRAME_SIZE - off)
		return XDPSEC_CNT_DROP_BAD_META;
	memcpy(&meta, m, sizeof(meta));
	/* PROTECT leaves l4_off 0 when there is no L4 header (fragments). */
	if (meta.magic != XDPSEC_META_MAGIC || meta.l3_off >= len ||
	    meta.l4_off > len ||
	    (meta.kind != XDPSEC_META_PROTECT && meta.l4_off < meta.l3_off))
		return XDPSEC_CNT_DROP_BAD_META;

	p.data = data + meta.l3_off;
	p.len = len - meta.l3_off;
	p.headroom = off + meta.l3_off;
	p.tailroom = XSK_FRAME_SIZE - off - len;

	if (meta.kind == XDPSEC_META_ESP_IN || meta.kind == XDPSEC_META_AH_IN)
		reason = worker_ipsec_in(w, &meta, &p, &hop);
	else if (meta.kind == XDPSEC_META_PROTECT)
		reason = worker_protect(w, &meta, &p, &hop, &queue, b);
	else
		reason = XDPSEC_CNT_DROP_BAD_META;
	if (reason)
		return reason;
	if (b->n == WORKER_TX_MAX)
		return XDPSEC_CNT_DROP_TX_FULL;
	reason = worker_output(w, &p, &hop, queue, &b->tx[b->n]);
	if (!reason)
		b->n++;
	return reason;
}

static uint32_t tx_ring_pending(const struct xsk *x)
{
	return x->tx.cached_prod - __atomic_load_n(x->tx.consumer,
						   __ATOMIC_ACQUIRE);
}

/* Sends the items bound for socket x; returns how many it could queue. */
static uint32_t worker_tx_one(struct worker *w, struct xsk *x,
			      struct tx_item *items, uint32_t n)
{
	uint32_t idx, got;

	pthread_spin_lock(&x->tx_lock);
	xsk_drain_completions(x, &w->d->umem.pool);
	got = xsk_ring_prod__reserve(&x->tx, n, &idx);
	for (uint32_t i = 0; i < got; i++) {
		struct xdp_desc *desc = xsk_ring_prod__tx_desc(&x->tx, idx + i);

		desc->addr = items[i].addr;
		desc->len = items[i].len;
		desc->options = 0;
	}
	xsk_ring_prod__submit(&x->tx, got);
	pthread_spin_unlock(&x->tx_lock);

	for (int k = 0; k < WORKER_KICKS_MAX && tx_ring_pending(x); k++)
		xsk_kick_tx(x);
	return got;
}

/* Groups the batch by output socket, so each lock is taken once. */
static void worker_flush(struct worker *w, struct tx_item *items, uint32_t n)
{
	struct tx_item group[WORKER_TX_MAX];

	while (n) {
		struct xsk *x = items[0].xsk;
		uint32_t g = 0, rest = 0, sent;

		for (uint32_t i = 0; i < n; i++) {
			if (items[i].xsk == x)
				group[g++] = items[i];
			else
				items[rest++] = items[i];
		}
		sent = worker_tx_one(w, x, group, g);
		w->cnt[XDPSEC_CNT_TX_PACKETS] += sent;
		for (uint32_t i = sent; i < g; i++) {
			worker_count(w, XDPSEC_CNT_DROP_TX_FULL);
			worker_free_frame(w, group[i].addr);
		}
		n = rest;
	}
}

static void worker_batch(struct worker *w, uint32_t n, uint32_t idx)
{
	struct xsk *x = w->xsk;
	struct batch b = { .n = 0 };

	for (uint32_t i = 0; i < n; i++) {
		const struct xdp_desc *desc =
			xsk_ring_cons__rx_desc(&x->rx, idx + i);
		int reason;

		reason = worker_frame(w, desc->addr, desc->len, &b);
		if (reason) {
			/* Dropped, or replaced by its fragments. */
			worker_count(w, reason);
			worker_free_frame(w, desc->addr);
		}
	}
	xsk_ring_cons__release(&x->rx, n);
	worker_flush(w, b.tx, b.n);
}

/* While idle, return frames that finished transmitting to the pool. */
static void worker_idle(struct worker *w)
{
	struct daemon *d = w->d;

	for (unsigned int i = 0; i < d->n_ifaces; i++) {
		struct iface *ifc = &d->ifaces[i];
		struct xsk *x = ifc->xsks[w->xsk->queue % ifc->n_queues];

		if (pthread_spin_trylock(&x->tx_lock))
			continue;
		xsk_drain_completions(x, &d->umem.pool);
		pthread_spin_unlock(&x->tx_lock);
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct pollfd pfd = { .fd = w->xsk->fd, .events = POLLIN };
	uint32_t n, idx;

	while (!w->d->stop) {
		/* Between batches a worker holds no SA: a quiescent point. */
		__atomic_add_fetch(&w->qs, 1, __ATOMIC_RELEASE);
		worker_refill(w);
		n = xsk_ring_cons__peek(&w->xsk->rx, XSK_BATCH, &idx);
		if (n) {
			worker_batch(w, n, idx);
			continue;
		}
		worker_idle(w);
		__atomic_store_n(&w->idle, 1, __ATOMIC_RELEASE);
		poll(&pfd, 1, WORKER_POLL_MS);
		__atomic_store_n(&w->idle, 0, __ATOMIC_RELEASE);
	}
	return NULL;
}

int worker_start(struct worker **out, struct daemon *d, unsigned int id,
		 struct xsk *xsk)
{
	struct worker *w;
	int err;

	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->id = id;
	w->d = d;
	w->xsk = xsk;
	w->cnt = d->wstats[id].cnt;
	icmp_limit_init(&w->icmp_limit, ICMP_PER_SEC, ICMP_BURST);
	w->nh = nh_cache_new(d->nh);
	if (!w->nh) {
		err = -ENOMEM;
		goto err_free;
	}
	err = -pthread_create(&w->thread, NULL, worker_main, w);
	if (err)
		goto err_nh;
	*out = w;
	return 0;

err_nh:
	nh_cache_free(w->nh);
err_free:
	free(w);
	return err;
}

void worker_stop(struct worker *w)
{
	pthread_join(w->thread, NULL);
	nh_cache_free(w->nh);
	free(w);
}
