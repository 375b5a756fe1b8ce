// SPDX-License-Identifier: GPL-2.0-only
/*
 * The floor to compare xdpsec with: OpenSSL's EVP AEAD interface used the
 * way an ideal ESP would use it.  Each direction has a context keyed once;
 * per packet only the ESP header and IV are written, the nonce installed,
 * the 8-byte AAD and the payload fed through, and the tag produced or
 * checked.  No padding, no trailer, no outer header.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "bench.h"
#include "bytes.h"

struct bench_evp {
	EVP_CIPHER_CTX *enc;
	EVP_CIPHER_CTX *dec;
	uint8_t salt[AEAD_SALT_LEN];
};

static const char *bench_evp_cipher(enum xdpsec_alg alg)
{
	switch (alg) {
	case XDPSEC_ALG_AES_GCM_128:
		return "AES-128-GCM";
	case XDPSEC_ALG_AES_GCM_256:
		return "AES-256-GCM";
	case XDPSEC_ALG_CHACHA20_POLY1305:
		return "ChaCha20-Poly1305";
	default:
		return NULL;
	}
}

static void bench_evp_about(char *buf, size_t len)
{
	snprintf(buf, len, "%s", OpenSSL_version(OPENSSL_VERSION));
}

static bool bench_evp_supports(enum xdpsec_alg alg)
{
	return bench_evp_cipher(alg) != NULL;
}

static EVP_CIPHER_CTX *bench_evp_ctx(const EVP_CIPHER *cipher,
				     const uint8_t *key, int enc)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int ok;

	if (!ctx)
		return NULL;

	ok = enc ? EVP_EncryptInit_ex(ctx, cipher, NULL, key, NULL) :
		   EVP_DecryptInit_ex(ctx, cipher, NULL, key, NULL);
	if (ok != 1) {
		EVP_CIPHER_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

static void bench_evp_destroy(void *st)
{
	struct bench_evp *v = st;

	EVP_CIPHER_CTX_free(v->enc);
	EVP_CIPHER_CTX_free(v->dec);
	free(v);
}

/* Both default nonce lengths are the 12 bytes ESP uses. */
static void *bench_evp_create(enum xdpsec_alg alg, const uint8_t *key)
{
	const struct aead_info *info = aead_info(alg);
	struct bench_evp *v;
	EVP_CIPHER *cipher;

	cipher = EVP_CIPHER_fetch(NULL, bench_evp_cipher(alg), NULL);
	if (!cipher)
		return NULL;

	v = calloc(1, sizeof(*v));
	if (v) {
		memcpy(v->salt, key + info->key_len, AEAD_SALT_LEN);
		v->enc = bench_evp_ctx(cipher, key, 1);
		v->dec = bench_evp_ctx(cipher, key, 0);
	}
	EVP_CIPHER_free(cipher);

	if (v && (!v->enc || !v->dec)) {
		bench_evp_destroy(v);
		v = NULL;
	}
	return v;
}

static int bench_evp_seal_one(void *st, struct bench_batch *b, uint32_t i,
			      uint64_t seq)
{
	struct bench_evp *v = st;
	uint8_t *data = bench_data(b, i);
	uint32_t len = b->size;
	uint8_t *esph = bench_esp_head(data, seq);
	uint8_t nonce[AEAD_NONCE_LEN];
	int outl;

	bench_nonce(v->salt, esph + BENCH_ESP_HDR, nonce);
	if (EVP_EncryptInit_ex(v->enc, NULL, NULL, NULL, nonce) != 1 ||
	    EVP_EncryptUpdate(v->enc, NULL, &outl, esph, BENCH_ESP_HDR) != 1 ||
	    EVP_EncryptUpdate(v->enc, data, &outl, data, (int)len) != 1 ||
	    EVP_EncryptFinal_ex(v->enc, data + len, &outl) != 1)
		return -1;

	if (EVP_CIPHER_CTX_ctrl(v->enc, EVP_CTRL_AEAD_GET_TAG, BENCH_TAG,
				data + len) != 1)
		return -1;
	return 0;
}

static int bench_evp_open_one(void *st, struct bench_batch *b, uint32_t i,
			      uint64_t seq)
{
	struct bench_evp *v = st;
	uint8_t *data = bench_data(b, i);
	uint32_t len = b->size;
	const uint8_t *esph = data - BENCH_ESP_HDR - BENCH_IV;
	uint8_t nonce[AEAD_NONCE_LEN], fin[AEAD_BLOCK_MAX];
	int outl;

	/* The sequence number is read from the packet, as on the wire. */
	(void)seq;
	bench_nonce(v->salt, esph + BENCH_ESP_HDR, nonce);
	if (EVP_DecryptInit_ex(v->dec, NULL, NULL, NULL, nonce) != 1 ||
	    EVP_DecryptUpdate(v->dec, NULL, &outl, esph, BENCH_ESP_HDR) != 1 ||
	    EVP_DecryptUpdate(v->dec, data, &outl, data, (int)len) != 1 ||
	    EVP_CIPHER_CTX_ctrl(v->dec, EVP_CTRL_AEAD_SET_TAG, BENCH_TAG,
				data + len) != 1)
		return -1;

	/* The final step compares the tags, in constant time. */
	return EVP_DecryptFinal_ex(v->dec, fin, &outl) == 1 ? 0 : -1;
}

static unsigned int bench_evp_seal(void *st, struct bench_batch *b,
				   uint64_t seq)
{
	return bench_each(st, b, seq, bench_evp_seal_one);
}

static unsigned int bench_evp_open(void *st, struct bench_batch *b,
				   uint64_t seq)
{
	return bench_each(st, b, seq, bench_evp_open_one);
}

const struct bench_backend bench_evp_backend = {
	.name = "openssl",
	.about = bench_evp_about,
	.supports = bench_evp_supports,
	.create = bench_evp_create,
	.seal = bench_evp_seal,
	.open = bench_evp_open,
	.destroy = bench_evp_destroy,
};
