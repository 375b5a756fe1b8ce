// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "log.h"
#include "xdpsec_common.h"
#include "xsk.h"

#ifndef SOL_XDP
#define SOL_XDP 283
#endif
#ifndef XDP_MAX_TX_SKB_BUDGET
#define XDP_MAX_TX_SKB_BUDGET 9		/* Linux 6.17 and later */
#endif

int umem_create(struct umem *u, uint32_t n_frames)
{
	struct xsk_umem_config cfg = {
		.fill_size = XSK_RING_SIZE,
		.comp_size = XSK_RING_SIZE,
		.frame_size = XSK_FRAME_SIZE,
		.frame_headroom = 0,
	};
	int err;

	memset(u, 0, sizeof(*u));
	u->len = (size_t)n_frames * XSK_FRAME_SIZE;
	u->area = mmap(NULL, u->len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (u->area == MAP_FAILED)
		return -errno;

	err = xsk_umem__create(&u->umem, u->area, u->len, &u->fill0, &u->comp0,
			       &cfg);
	if (err)
		goto err_unmap;

	u->pool.addrs = calloc(n_frames, sizeof(*u->pool.addrs));
	if (!u->pool.addrs) {
		err = -ENOMEM;
		goto err_umem;
	}
	pthread_spin_init(&u->pool.lock, PTHREAD_PROCESS_PRIVATE);
	u->pool.cap = n_frames;
	for (uint32_t i = 0; i < n_frames; i++)
		u->pool.addrs[u->pool.n++] = (uint64_t)i * XSK_FRAME_SIZE;
	return 0;

err_umem:
	xsk_umem__delete(u->umem);
err_unmap:
	munmap(u->area, u->len);
	return err;
}

void umem_destroy(struct umem *u)
{
	if (u->umem)
		xsk_umem__delete(u->umem);
	if (u->area && u->area != MAP_FAILED)
		munmap(u->area, u->len);
	free(u->pool.addrs);
	memset(u, 0, sizeof(*u));
}

uint32_t pool_get(struct frame_pool *p, uint64_t *addrs, uint32_t n)
{
	pthread_spin_lock(&p->lock);
	if (n > p->n)
		n = p->n;
	p->n -= n;
	memcpy(addrs, p->addrs + p->n, n * sizeof(*addrs));
	pthread_spin_unlock(&p->lock);
	return n;
}

void pool_put(struct frame_pool *p, const uint64_t *addrs, uint32_t n)
{
	pthread_spin_lock(&p->lock);
	memcpy(p->addrs + p->n, addrs, n * sizeof(*addrs));
	p->n += n;
	pthread_spin_unlock(&p->lock);
}

static int xsk_fill_initial(struct xsk *x, struct frame_pool *pool)
{
	uint64_t addrs[XSK_BATCH];
	uint32_t want = XSK_RING_SIZE, idx;

	while (want) {
		uint32_t n = pool_get(pool, addrs,
				      want < XSK_BATCH ? want : XSK_BATCH);

		if (!n)
			return -ENOMEM;
		if (xsk_ring_prod__reserve(&x->fill, n, &idx) != n) {
			pool_put(pool, addrs, n);
			return -ENOSPC;
		}
		for (uint32_t i = 0; i < n; i++)
			*xsk_ring_prod__fill_addr(&x->fill, idx + i) = addrs[i];
		xsk_ring_prod__submit(&x->fill, n);
		want -= n;
	}
	return 0;
}

static void xsk_set_tx_budget(struct xsk *x)
{
	int budget = XSK_TX_BUDGET;

	/*
	 * In copy mode each kick sends at most 32 frames unless the kernel
	 * lets us raise the budget; older kernels refuse the option, which
	 * only costs extra kicks.
	 */
	if (setsockopt(x->fd, SOL_XDP, XDP_MAX_TX_SKB_BUDGET, &budget,
		       sizeof(budget)))
		log_debug("%s queue %u: XDP_MAX_TX_SKB_BUDGET: %s",
			  x->iface->name, x->queue, strerror(errno));
}

int xsk_open(struct xsk **out, struct umem *u, struct iface *ifc,
	     unsigned int queue, int xsks_map_fd)
{
	struct xsk_socket_config cfg = {
		.rx_size = XSK_RING_SIZE,
		.tx_size = XSK_RING_SIZE,
		.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD,
		.bind_flags = XDP_USE_NEED_WAKEUP,
	};
	uint32_t key = ifc->slot * XDPSEC_MAX_QUEUES + queue;
	struct xsk *x;
	int err;

	x = calloc(1, sizeof(*x));
	if (!x)
		return -ENOMEM;
	x->iface = ifc;
	x->queue = queue;
	pthread_spin_init(&x->tx_lock, PTHREAD_PROCESS_PRIVATE);

	err = xsk_socket__create_shared(&x->sock, ifc->name, queue, u->umem,
					&x->rx, &x->tx, &x->fill, &x->comp,
					&cfg);
	if (err)
		goto err_free;
	x->fd = xsk_socket__fd(x->sock);
	xsk_set_tx_budget(x);

	err = xsk_fill_initial(x, &u->pool);
	if (err)
		goto err_sock;
	if (bpf_map_update_elem(xsks_map_fd, &key, &x->fd, BPF_ANY)) {
		err = -errno;
		goto err_sock;
	}
	*out = x;
	return 0;

err_sock:
	xsk_socket__delete(x->sock);
err_free:
	free(x);
	return err;
}

void xsk_close(struct xsk *x, int xsks_map_fd)
{
	uint32_t key = x->iface->slot * XDPSEC_MAX_QUEUES + x->queue;

	bpf_map_delete_elem(xsks_map_fd, &key);
	xsk_socket__delete(x->sock);
	free(x);
}

void xsk_drain_completions(struct xsk *x, struct frame_pool *pool)
{
	uint64_t addrs[XSK_BATCH];
	uint32_t idx, n;

	while ((n = xsk_ring_cons__peek(&x->comp, XSK_BATCH, &idx))) {
		for (uint32_t i = 0; i < n; i++)
			addrs[i] = umem_frame_base(
				*xsk_ring_cons__comp_addr(&x->comp, idx + i));
		xsk_ring_cons__release(&x->comp, n);
		pool_put(pool, addrs, n);
		x->tx_pending = x->tx_pending > n ? x->tx_pending - n : 0;
	}
}

void xsk_kick_tx(struct xsk *x)
{
	/*
	 * EAGAIN, EBUSY and ENOBUFS mean "not everything went yet": the next
	 * kick continues.  Anything else is a real error, but still not one
	 * a packet should die of, so it is only counted by the caller's
	 * tx_pending staying high.
	 */
	if (!xsk_ring_prod__needs_wakeup(&x->tx))
		return;
	sendto(x->fd, NULL, 0, MSG_DONTWAIT, NULL, 0);
}
