// SPDX-License-Identifier: GPL-2.0-only
/*
 * AES-GCM for ESP (RFC 4106) on top of OpenSSL 3.
 *
 * A context is keyed once when it is created.  For each packet only the
 * nonce (salt || explicit IV) is installed, which restarts GCM without
 * touching the AES key schedule or the GHASH key, so the per-packet cost is
 * the cipher work alone and nothing is allocated on the data path.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "aead.h"
#include "log.h"

static const struct aead_info aead_infos[] = {
	[XDPSEC_ALG_AES_GCM_128] = {
		.name = "aes-gcm-128",
		.key_len = 16,
		.salt_len = AEAD_SALT_LEN,
		.iv_len = AEAD_IV_LEN,
		.icv_len = 16,
	},
	[XDPSEC_ALG_AES_GCM_256] = {
		.name = "aes-gcm-256",
		.key_len = 32,
		.salt_len = AEAD_SALT_LEN,
		.iv_len = AEAD_IV_LEN,
		.icv_len = 16,
	},
};

#define AEAD_NALGS (sizeof(aead_infos) / sizeof(aead_infos[0]))

/* Names accepted in configuration files, including the strongSwan ones. */
static const struct {
	const char *name;
	enum xdpsec_alg alg;
} aead_names[] = {
	{ "aes-gcm-128", XDPSEC_ALG_AES_GCM_128 },
	{ "aes-gcm-256", XDPSEC_ALG_AES_GCM_256 },
	{ "aes128gcm16", XDPSEC_ALG_AES_GCM_128 },
	{ "aes256gcm16", XDPSEC_ALG_AES_GCM_256 },
};

/* OpenSSL's names for the ciphers, by algorithm. */
static const char *const aead_ossl_names[] = {
	[XDPSEC_ALG_AES_GCM_128] = "AES-128-GCM",
	[XDPSEC_ALG_AES_GCM_256] = "AES-256-GCM",
};

/*
 * Fetching a cipher walks the provider tables and takes locks, so it is
 * done once for the whole process rather than for every context.  The
 * fetched ciphers live until the process exits.
 */
static EVP_CIPHER *aead_ciphers[AEAD_NALGS];
static pthread_once_t aead_fetch_once = PTHREAD_ONCE_INIT;

struct aead {
	EVP_CIPHER_CTX *ctx;
	const struct aead_info *info;
};

const struct aead_info *aead_info(enum xdpsec_alg alg)
{
	if ((unsigned int)alg >= AEAD_NALGS || !aead_infos[alg].name)
		return NULL;
	return &aead_infos[alg];
}

int aead_alg_parse(const char *name, enum xdpsec_alg *alg)
{
	if (!name)
		return -EINVAL;

	for (size_t i = 0; i < sizeof(aead_names) / sizeof(aead_names[0]);
	     i++) {
		if (!strcmp(name, aead_names[i].name)) {
			*alg = aead_names[i].alg;
			return 0;
		}
	}
	return -EINVAL;
}

static void aead_fetch_all(void)
{
	for (size_t i = 0; i < AEAD_NALGS; i++) {
		if (!aead_ossl_names[i])
			continue;

		aead_ciphers[i] = EVP_CIPHER_fetch(NULL, aead_ossl_names[i],
						   NULL);
		if (!aead_ciphers[i])
			log_err("OpenSSL has no %s cipher", aead_ossl_names[i]);
	}
}

static const EVP_CIPHER *aead_cipher(enum xdpsec_alg alg)
{
	if (pthread_once(&aead_fetch_once, aead_fetch_all))
		return NULL;
	return aead_ciphers[alg];
}

struct aead *aead_new(enum xdpsec_alg alg, const uint8_t *key)
{
	const struct aead_info *info = aead_info(alg);
	const EVP_CIPHER *cipher;
	struct aead *a;

	if (!info || !key)
		return NULL;

	cipher = aead_cipher(alg);
	if (!cipher)
		return NULL;

	a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	a->info = info;

	a->ctx = EVP_CIPHER_CTX_new();
	if (!a->ctx)
		goto err;

	/*
	 * Select the cipher first, then fix the nonce length, which must be
	 * done before any IV is set, then load the key.  The key is expanded
	 * into the context, which is the only copy we keep:
	 * EVP_CIPHER_CTX_free() cleanses it.
	 */
	if (EVP_CipherInit_ex(a->ctx, cipher, NULL, NULL, NULL, 1) != 1)
		goto err;

	if (EVP_CIPHER_CTX_ctrl(a->ctx, EVP_CTRL_AEAD_SET_IVLEN,
				AEAD_NONCE_LEN, NULL) != 1)
		goto err;

	if (EVP_CipherInit_ex(a->ctx, NULL, NULL, key, NULL, -1) != 1)
		goto err;

	return a;

err:
	log_err("cannot create an %s context", info->name);
	aead_free(a);
	return NULL;
}

void aead_free(struct aead *a)
{
	if (!a)
		return;

	EVP_CIPHER_CTX_free(a->ctx);
	OPENSSL_cleanse(a, sizeof(*a));
	free(a);
}

/*
 * Installs the nonce and the direction, and feeds the additional
 * authenticated data.  The key stays as it was loaded by aead_new().
 */
static int aead_start(struct aead *a, const uint8_t *nonce, int enc,
		      const uint8_t *aad, size_t aad_len)
{
	int outl;

	if (aad_len > INT_MAX)
		return -EIO;

	if (EVP_CipherInit_ex(a->ctx, NULL, NULL, NULL, nonce, enc) != 1)
		return -EIO;

	if (aad_len &&
	    EVP_CipherUpdate(a->ctx, NULL, &outl, aad, (int)aad_len) != 1)
		return -EIO;

	return 0;
}

int aead_seal(struct aead *a, const uint8_t *nonce, const uint8_t *aad,
	      size_t aad_len, uint8_t *buf, size_t len, uint8_t *tag)
{
	int outl = 0;
	int finl;

	if (len > INT_MAX)
		return -EIO;

	if (aead_start(a, nonce, 1, aad, aad_len))
		return -EIO;

	/* GCM is a stream mode: the output is exactly as long as the input. */
	if (len && EVP_CipherUpdate(a->ctx, buf, &outl, buf, (int)len) != 1)
		return -EIO;

	if (EVP_CipherFinal_ex(a->ctx, buf + outl, &finl) != 1)
		return -EIO;

	if (EVP_CIPHER_CTX_ctrl(a->ctx, EVP_CTRL_AEAD_GET_TAG,
				(int)a->info->icv_len, tag) != 1)
		return -EIO;

	return 0;
}

int aead_open(struct aead *a, const uint8_t *nonce, const uint8_t *aad,
	      size_t aad_len, uint8_t *buf, size_t len, const uint8_t *tag)
{
	uint8_t expected[AEAD_TAG_MAX];
	int outl = 0;
	int finl;
	int ret;

	if (len > INT_MAX || a->info->icv_len > sizeof(expected))
		return -EIO;

	if (aead_start(a, nonce, 0, aad, aad_len))
		return -EIO;

	/*
	 * OpenSSL wants a writable pointer for the tag it will check, and
	 * ours may point into a packet we must treat as read-only here, so
	 * hand it a copy.
	 */
	memcpy(expected, tag, a->info->icv_len);
	if (EVP_CIPHER_CTX_ctrl(a->ctx, EVP_CTRL_AEAD_SET_TAG,
				(int)a->info->icv_len, expected) != 1)
		return -EIO;

	if (len && EVP_CipherUpdate(a->ctx, buf, &outl, buf, (int)len) != 1)
		return -EIO;

	/*
	 * The final step computes the tag and compares it with the expected
	 * one.  OpenSSL does that comparison with CRYPTO_memcmp(), in
	 * constant time, so the time taken tells an attacker nothing about
	 * how many tag bytes were right.  In GCM decryption a failure here
	 * can only be a tag mismatch.
	 */
	ret = EVP_CipherFinal_ex(a->ctx, buf + outl, &finl);
	if (ret != 1)
		return -EBADMSG;

	return 0;
}
