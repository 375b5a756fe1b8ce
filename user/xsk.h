/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * AF_XDP sockets.  One UMEM serves every socket of the daemon, so a frame
 * received on one interface can be transmitted on another without a copy.
 * Each socket (interface, queue) has its own fill and completion rings.
 * The RX and fill rings belong to the socket's worker alone; TX and
 * completion are shared by every worker that transmits on the socket, under
 * tx_lock, taken once per batch.
 */
#ifndef XDPSEC_XSK_H
#define XDPSEC_XSK_H

#include <net/if.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <xdp/xsk.h>

enum xsk_sizes {
	XSK_FRAME_SIZE = 4096,
	XSK_HEADROOM = 256,	/* where packet data starts in a frame */
	XSK_RING_SIZE = 2048,
	XSK_FRAMES_PER_SOCKET = 2 * XSK_RING_SIZE,
	XSK_BATCH = 64,
	XSK_TX_BUDGET = 64,	/* descriptors the kernel sends per kick */
};

struct iface {
	char name[IF_NAMESIZE];
	int ifindex;
	uint32_t slot;
	unsigned int n_queues;
	uint32_t xdp_flags;		/* how the program is attached */
	bool host;			/* the far end of the host interface */
	bool attached;
	struct xsk **xsks;		/* one per queue */
};

struct xsk {
	struct iface *iface;
	unsigned int queue;
	struct xsk_socket *sock;
	int fd;
	struct xsk_ring_cons rx;
	struct xsk_ring_prod fill;
	pthread_spinlock_t tx_lock;
	struct xsk_ring_prod tx;
	struct xsk_ring_cons comp;
	uint32_t tx_pending;		/* submitted, not yet sent */
};

/* Frames not in any ring, shared by all workers. */
struct frame_pool {
	pthread_spinlock_t lock;
	uint64_t *addrs;
	uint32_t n;
	uint32_t cap;
};

struct umem {
	void *area;
	size_t len;
	struct xsk_umem *umem;
	struct xsk_ring_prod fill0;	/* rings created with the UMEM */
	struct xsk_ring_cons comp0;
	struct frame_pool pool;
};

int umem_create(struct umem *u, uint32_t n_frames);
void umem_destroy(struct umem *u);

/* Take up to n frames from the pool; returns how many were taken. */
uint32_t pool_get(struct frame_pool *p, uint64_t *addrs, uint32_t n);
void pool_put(struct frame_pool *p, const uint64_t *addrs, uint32_t n);

/*
 * Creates the socket for (iface, queue), fills its fill ring from the pool
 * and registers it in the XSK map at slot * XDPSEC_MAX_QUEUES + queue.
 */
int xsk_open(struct xsk **out, struct umem *u, struct iface *ifc,
	     unsigned int queue, int xsks_map_fd);
void xsk_close(struct xsk *x, int xsks_map_fd);

/* Moves completed TX frames back to the pool.  Call with tx_lock held. */
void xsk_drain_completions(struct xsk *x, struct frame_pool *pool);

/* Asks the kernel to send what is in the TX ring (copy mode needs it). */
void xsk_kick_tx(struct xsk *x);

static inline void *umem_data(const struct umem *u, uint64_t addr)
{
	return (uint8_t *)u->area + addr;
}

static inline uint64_t umem_frame_base(uint64_t addr)
{
	return addr & ~((uint64_t)XSK_FRAME_SIZE - 1);
}

#endif /* XDPSEC_XSK_H */
