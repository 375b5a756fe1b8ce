// SPDX-License-Identifier: GPL-2.0-only
/*
 * xdpsec's own ESP, called as a worker calls it: one outbound and one
 * inbound tunnel-mode SA, each with contexts of its own, esp_encap() on
 * each frame of a batch, then esp_decap() on each result with the ESP
 * header right after the outer IPv4 header.  Sequence numbers, the replay
 * window and the selectors, which the worker handles around these calls,
 * are left out: this measures the framing and the crypto.  There is one
 * such backend per cipher backend of aead.c built in: its contexts are
 * made with that one forced.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"

enum { BENCH_OUTER_LEN = 20 };	/* outer IPv4 header, no options */

struct bench_esp {
	struct esp_sa out;
	struct esp_sa in;
};

static void bench_esp_about(enum aead_backend be, char *buf, size_t len)
{
	char lib[96];

	aead_backend_about(be, lib, sizeof(lib));
	snprintf(buf, len, "esp.c and aead.c over %s", lib);
}

/* Whether aead.c, with backend be forced, gives alg to be. */
static bool bench_esp_supports(enum aead_backend be, enum xdpsec_alg alg)
{
	bool ok;

	if (!esp_key_len(alg, XDPSEC_INTEG_NONE) || aead_backend_set(be))
		return false;
	ok = aead_backend_for(alg) == be;
	aead_backend_set(AEAD_BACKEND_AUTO);
	return ok;
}

static void *bench_esp_new(enum xdpsec_alg alg, const uint8_t *key)
{
	struct xdpsec_sa pub = {
		.spi = BENCH_SPI,
		.alg = alg,
		.mode = XDPSEC_MODE_TUNNEL,
		.proto = XDPSEC_IPPROTO_ESP,
		.family = XDPSEC_AF_INET,
	};
	size_t key_len = esp_key_len(alg, XDPSEC_INTEG_NONE);
	struct bench_esp *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;

	/* Documentation addresses (RFC 5737) for the tunnel ends. */
	pub.src.v4 = htonl(0xcb007101);
	pub.dst.v4 = htonl(0xcb007102);

	pub.dir = XDPSEC_DIR_OUT;
	if (esp_sa_init(&e->out, &pub, key, key_len))
		goto err_free;

	pub.dir = XDPSEC_DIR_IN;
	if (esp_sa_init(&e->in, &pub, key, key_len))
		goto err_out;

	return e;

err_out:
	esp_sa_fini(&e->out);
err_free:
	free(e);
	return NULL;
}

static void bench_esp_destroy(void *st)
{
	struct bench_esp *e = st;

	esp_sa_fini(&e->in);
	esp_sa_fini(&e->out);
	free(e);
}

/* Both SAs' contexts made with backend be, which they must then have. */
static void *bench_esp_create(enum aead_backend be, enum xdpsec_alg alg,
			      const uint8_t *key)
{
	struct bench_esp *e;

	if (aead_backend_set(be))
		return NULL;
	e = bench_esp_new(alg, key);
	aead_backend_set(AEAD_BACKEND_AUTO);

	if (e && (aead_backend_of(e->out.aead) != be ||
		  aead_backend_of(e->in.aead) != be)) {
		bench_esp_destroy(e);
		e = NULL;
	}
	return e;
}

/* The packet a worker makes of a received frame. */
static void bench_pkt(const struct bench_batch *b, uint32_t i, struct pkt *p)
{
	p->data = bench_data(b, i);
	p->len = b->size;
	p->headroom = BENCH_HEADROOM;
	p->tailroom = BENCH_FRAME - BENCH_HEADROOM - b->size;
}

static int bench_esp_seal_one(void *st, struct bench_batch *b, uint32_t i,
			      uint64_t seq)
{
	struct bench_esp *e = st;
	struct pkt *p = &b->pkts[i];

	bench_pkt(b, i, p);
	return esp_encap(&e->out, seq, p) == XDPSEC_CNT_OK ? 0 : -1;
}

/* A decap succeeded when it gave back the inner packet where it was. */
static int bench_esp_open_one(void *st, struct bench_batch *b, uint32_t i,
			      uint64_t seq)
{
	struct bench_esp *e = st;
	struct pkt *p = &b->pkts[i];

	if (esp_decap(&e->in, seq, p, BENCH_OUTER_LEN) != XDPSEC_CNT_OK)
		return -1;
	return p->data == bench_data(b, i) && p->len == b->size ? 0 : -1;
}

static unsigned int bench_esp_seal(void *st, struct bench_batch *b,
				   uint64_t seq)
{
	return bench_each(st, b, seq, bench_esp_seal_one);
}

static unsigned int bench_esp_open(void *st, struct bench_batch *b,
				   uint64_t seq)
{
	return bench_each(st, b, seq, bench_esp_open_one);
}

static void bench_esp_ossl_about(char *buf, size_t len)
{
	bench_esp_about(AEAD_BACKEND_OPENSSL, buf, len);
}

static bool bench_esp_ossl_supports(enum xdpsec_alg alg)
{
	return bench_esp_supports(AEAD_BACKEND_OPENSSL, alg);
}

static void *bench_esp_ossl_create(enum xdpsec_alg alg, const uint8_t *key)
{
	return bench_esp_create(AEAD_BACKEND_OPENSSL, alg, key);
}

const struct bench_backend bench_esp_backend = {
	.name = "xdpsec+openssl",
	.about = bench_esp_ossl_about,
	.supports = bench_esp_ossl_supports,
	.create = bench_esp_ossl_create,
	.seal = bench_esp_seal,
	.open = bench_esp_open,
	.destroy = bench_esp_destroy,
};

#ifdef XDPSEC_HAVE_IPSEC_MB
static void bench_esp_imb_about(char *buf, size_t len)
{
	bench_esp_about(AEAD_BACKEND_IPSEC_MB, buf, len);
}

static bool bench_esp_imb_supports(enum xdpsec_alg alg)
{
	return bench_esp_supports(AEAD_BACKEND_IPSEC_MB, alg);
}

static void *bench_esp_imb_create(enum xdpsec_alg alg, const uint8_t *key)
{
	return bench_esp_create(AEAD_BACKEND_IPSEC_MB, alg, key);
}

const struct bench_backend bench_esp_imb_backend = {
	.name = "xdpsec+ipsec-mb",
	.about = bench_esp_imb_about,
	.supports = bench_esp_imb_supports,
	.create = bench_esp_imb_create,
	.seal = bench_esp_seal,
	.open = bench_esp_open,
	.destroy = bench_esp_destroy,
};
#endif
