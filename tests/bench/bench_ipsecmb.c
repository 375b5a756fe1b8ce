// SPDX-License-Identifier: GPL-2.0-only
/*
 * A second library to compare with: Intel's multi-buffer crypto
 * (libipsec-mb), through its direct one-packet AEAD calls, used as an
 * ideal ESP would use them.  The key is expanded once; per packet the ESP
 * header and IV are written and one call (three for ChaCha20-Poly1305)
 * encrypts or decrypts and computes the tag.  Decryption gives the tag it
 * computed, which is compared with the packet's in constant time.  Built
 * only when the library is built in (see IPSEC_MB in the Makefile).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <intel-ipsec-mb.h>
#include <openssl/crypto.h>

#include "bench.h"

enum { BENCH_IMB_ALIGN = 64 };

struct bench_imb {
	IMB_MGR *mgr;
	enum xdpsec_alg alg;
	uint8_t salt[AEAD_SALT_LEN];
	uint8_t key[AEAD_KEY_MAX];	/* ChaCha20 takes the raw key */
	struct gcm_key_data *gcm;	/* AES: expanded key and hash key */
};

static const char *const bench_imb_archs[] = {
	[IMB_ARCH_NOAESNI] = "no AES-NI",
	[IMB_ARCH_SSE] = "SSE",
	[IMB_ARCH_AVX] = "AVX",
	[IMB_ARCH_AVX2] = "AVX2",
	[IMB_ARCH_AVX512] = "AVX-512",
};

static void bench_imb_about(char *buf, size_t len)
{
	IMB_ARCH arch = IMB_ARCH_NONE;
	IMB_MGR *mgr = alloc_mb_mgr(0);
	const char *name = NULL;

	if (mgr) {
		init_mb_mgr_auto(mgr, &arch);
		free_mb_mgr(mgr);
	}
	if (arch > IMB_ARCH_NONE && arch < IMB_ARCH_NUM)
		name = bench_imb_archs[arch];
	snprintf(buf, len, "intel-ipsec-mb %s, %s code", imb_get_version_str(),
		 name ? name : "unknown");
}

static bool bench_imb_supports(enum xdpsec_alg alg)
{
	return alg == XDPSEC_ALG_AES_GCM_128 || alg == XDPSEC_ALG_AES_GCM_256 ||
	       alg == XDPSEC_ALG_CHACHA20_POLY1305;
}

static void bench_imb_destroy(void *st)
{
	struct bench_imb *m = st;

	free_mb_mgr(m->mgr);
	free(m->gcm);
	OPENSSL_cleanse(m, sizeof(*m));
	free(m);
}

/* Picks the fastest code for this CPU and expands an AES key. */
static int bench_imb_init(struct bench_imb *m, const uint8_t *key)
{
	m->mgr = alloc_mb_mgr(0);
	if (!m->mgr)
		return -1;

	init_mb_mgr_auto(m->mgr, NULL);
	if (imb_get_errno(m->mgr))
		return -1;

	if (m->alg == XDPSEC_ALG_CHACHA20_POLY1305)
		return 0;

	m->gcm = aligned_alloc(BENCH_IMB_ALIGN, sizeof(*m->gcm));
	if (!m->gcm)
		return -1;

	if (m->alg == XDPSEC_ALG_AES_GCM_128)
		IMB_AES128_GCM_PRE(m->mgr, key, m->gcm);
	else
		IMB_AES256_GCM_PRE(m->mgr, key, m->gcm);
	return 0;
}

static void *bench_imb_create(enum xdpsec_alg alg, const uint8_t *key)
{
	const struct aead_info *info = aead_info(alg);
	struct bench_imb *m;

	if (!bench_imb_supports(alg))
		return NULL;

	m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;

	m->alg = alg;
	memcpy(m->key, key, info->key_len);
	memcpy(m->salt, key + info->key_len, AEAD_SALT_LEN);
	if (bench_imb_init(m, key)) {
		bench_imb_destroy(m);
		return NULL;
	}
	return m;
}

/* AES-GCM: one call en- or decrypts len bytes at data and gives the tag. */
static void bench_imb_gcm(struct bench_imb *m, bool enc, const uint8_t *nonce,
			  const uint8_t *aad, uint8_t *data, uint32_t len,
			  uint8_t *tag)
{
	struct gcm_context_data ctx;
	IMB_MGR *mgr = m->mgr;

	if (m->alg == XDPSEC_ALG_AES_GCM_128 && enc)
		IMB_AES128_GCM_ENC(mgr, m->gcm, &ctx, data, data, len, nonce,
				   aad, BENCH_ESP_HDR, tag, BENCH_TAG);
	else if (m->alg == XDPSEC_ALG_AES_GCM_128)
		IMB_AES128_GCM_DEC(mgr, m->gcm, &ctx, data, data, len, nonce,
				   aad, BENCH_ESP_HDR, tag, BENCH_TAG);
	else if (enc)
		IMB_AES256_GCM_ENC(mgr, m->gcm, &ctx, data, data, len, nonce,
				   aad, BENCH_ESP_HDR, tag, BENCH_TAG);
	else
		IMB_AES256_GCM_DEC(mgr, m->gcm, &ctx, data, data, len, nonce,
				   aad, BENCH_ESP_HDR, tag, BENCH_TAG);
}

/* ChaCha20-Poly1305 has no one-call form: init, update, finalize. */
static void bench_imb_chacha(struct bench_imb *m, bool enc,
			     const uint8_t *nonce, const uint8_t *aad,
			     uint8_t *data, uint32_t len, uint8_t *tag)
{
	struct chacha20_poly1305_context_data ctx;
	IMB_MGR *mgr = m->mgr;

	IMB_CHACHA20_POLY1305_INIT(mgr, m->key, &ctx, nonce, aad,
				   BENCH_ESP_HDR);
	if (enc) {
		IMB_CHACHA20_POLY1305_ENC_UPDATE(mgr, m->key, &ctx, data, data,
						 len);
		IMB_CHACHA20_POLY1305_ENC_FINALIZE(mgr, &ctx, tag, BENCH_TAG);
	} else {
		IMB_CHACHA20_POLY1305_DEC_UPDATE(mgr, m->key, &ctx, data, data,
						 len);
		IMB_CHACHA20_POLY1305_DEC_FINALIZE(mgr, &ctx, tag, BENCH_TAG);
	}
}

/*
 * One packet either way: the len bytes at data en- or decrypted in place,
 * the tag written to tag.
 */
static void bench_imb_crypt(struct bench_imb *m, bool enc, const uint8_t *esph,
			    uint8_t *data, uint32_t len, uint8_t *tag)
{
	uint8_t nonce[AEAD_NONCE_LEN];

	bench_nonce(m->salt, esph + BENCH_ESP_HDR, nonce);
	if (m->alg == XDPSEC_ALG_CHACHA20_POLY1305)
		bench_imb_chacha(m, enc, nonce, esph, data, len, tag);
	else
		bench_imb_gcm(m, enc, nonce, esph, data, len, tag);
}

static int bench_imb_seal_one(void *st, struct bench_batch *b, uint32_t i,
			      uint64_t seq)
{
	uint8_t *data = bench_data(b, i);
	uint8_t *esph = bench_esp_head(data, seq);

	bench_imb_crypt(st, true, esph, data, b->size, data + b->size);
	return 0;
}

/* The sequence number is read from the packet, as on the wire. */
static int bench_imb_open_one(void *st, struct bench_batch *b, uint32_t i,
			      uint64_t seq)
{
	uint8_t *data = bench_data(b, i);
	uint8_t *esph = data - BENCH_ESP_HDR - BENCH_IV;
	uint8_t tag[BENCH_TAG];

	(void)seq;
	bench_imb_crypt(st, false, esph, data, b->size, tag);
	return CRYPTO_memcmp(tag, data + b->size, BENCH_TAG) ? -1 : 0;
}

static unsigned int bench_imb_seal(void *st, struct bench_batch *b,
				   uint64_t seq)
{
	return bench_each(st, b, seq, bench_imb_seal_one);
}

static unsigned int bench_imb_open(void *st, struct bench_batch *b,
				   uint64_t seq)
{
	return bench_each(st, b, seq, bench_imb_open_one);
}

const struct bench_backend bench_ipsecmb_backend = {
	.name = "ipsec-mb",
	.about = bench_imb_about,
	.supports = bench_imb_supports,
	.create = bench_imb_create,
	.seal = bench_imb_seal,
	.open = bench_imb_open,
	.destroy = bench_imb_destroy,
};
