/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The crypto benchmark: one batch of packets laid out as the workers see
 * them (one UMEM-sized frame each, the packet XSK_HEADROOM bytes in), and
 * the backends that protect and unprotect such a batch.  A backend is
 * xdpsec's own ESP over one of aead.c's cipher backends, or a bare AEAD
 * library call per packet to compare it with.
 */
#ifndef XDPSEC_BENCH_H
#define XDPSEC_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "esp.h"
#include "xdpsec_common.h"
#include "xsk.h"

enum bench_sizes {
	BENCH_BATCH = XSK_BATCH,
	BENCH_FRAME = XSK_FRAME_SIZE,
	BENCH_HEADROOM = XSK_HEADROOM,
	BENCH_ESP_HDR = 8,	/* SPI || sequence number */
	BENCH_IV = 8,		/* the explicit IV: the sequence number */
	BENCH_TAG = 16,
	BENCH_SPI = 0x1000b001,
};

/*
 * Packets of one size.  Before protection, and after a successful
 * unprotection, each frame holds plain at BENCH_HEADROOM.  pkts[] is what
 * the xdpsec backend hands from protection to unprotection.
 */
struct bench_batch {
	uint8_t *frames;	/* BENCH_BATCH frames of BENCH_FRAME bytes */
	uint32_t size;		/* inner packet, in bytes */
	const uint8_t *plain;	/* the inner packet, size bytes */
	struct pkt pkts[BENCH_BATCH];
};

static inline uint8_t *bench_frame(const struct bench_batch *b, uint32_t i)
{
	return b->frames + (size_t)i * BENCH_FRAME;
}

static inline uint8_t *bench_data(const struct bench_batch *b, uint32_t i)
{
	return bench_frame(b, i) + BENCH_HEADROOM;
}

/*
 * One way of doing ESP's cryptography.  seal() protects the whole batch
 * with sequence numbers seq, seq + 1, ...; open() checks and decrypts
 * what seal() made with the same numbers.  Both return the number of
 * packets that failed.  key is the cipher key followed by the 4-byte
 * salt, as in an SA.
 */
struct bench_backend {
	const char *name;
	/* Writes the library's version and the code path it takes. */
	void (*about)(char *buf, size_t len);
	bool (*supports)(enum xdpsec_alg alg);
	void *(*create)(enum xdpsec_alg alg, const uint8_t *key);
	unsigned int (*seal)(void *st, struct bench_batch *b, uint64_t seq);
	unsigned int (*open)(void *st, struct bench_batch *b, uint64_t seq);
	void (*destroy)(void *st);
};

extern const struct bench_backend bench_esp_backend;
extern const struct bench_backend bench_evp_backend;
#ifdef XDPSEC_HAVE_IPSEC_MB
extern const struct bench_backend bench_esp_imb_backend;
extern const struct bench_backend bench_ipsecmb_backend;
#endif

/* What a backend does to packet i of a batch: 0, or -1 when it failed. */
typedef int bench_one_fn(void *st, struct bench_batch *b, uint32_t i,
			 uint64_t seq);

/*
 * Runs one on every packet of the batch, with sequence numbers from seq
 * on, and counts the failures.  Being inlined with a known function, the
 * loop calls it directly, as a worker calls ESP.
 */
static inline __attribute__((always_inline)) unsigned int
bench_each(void *st, struct bench_batch *b, uint64_t seq, bench_one_fn *one)
{
	unsigned int fails = 0;

	for (uint32_t i = 0; i < BENCH_BATCH; i++)
		fails += one(st, b, i, seq + i) != 0;
	return fails;
}

/* The nonce of RFC 4106 and RFC 7634: salt || explicit IV. */
void bench_nonce(const uint8_t *salt, const uint8_t *iv, uint8_t *nonce);

/*
 * Writes the ESP header and IV an ideal ESP puts in front of the payload
 * at data and returns the header: the AAD is its first 8 bytes, the IV
 * the next 8.
 */
uint8_t *bench_esp_head(uint8_t *data, uint64_t seq);

#endif /* XDPSEC_BENCH_H */
