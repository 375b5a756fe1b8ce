// SPDX-License-Identifier: GPL-2.0-only
/*
 * The ciphers of ESP on top of OpenSSL 3: AES-GCM (RFC 4106),
 * ChaCha20-Poly1305 (RFC 7634), AES-GMAC (RFC 4543) and AES-CBC
 * (RFC 3602).
 *
 * A context is keyed once when it is created.  For each packet only the
 * nonce or IV is installed, which restarts the mode without touching the
 * key schedule (nor the GHASH key), so the per-packet cost is the cipher
 * work alone and nothing is allocated on the data path.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "aead.h"
#include "log.h"

static const struct aead_info aead_infos[] = {
	[XDPSEC_ALG_AES_GCM_128] = {
		.name = "aes-gcm-128",
		.key_len = 16,
		.salt_len = AEAD_SALT_LEN,
		.iv_len = AEAD_IV_LEN,
		.icv_len = 16,
		.block = 1,
		.kind = AEAD_KIND_AEAD,
	},
	[XDPSEC_ALG_AES_GCM_256] = {
		.name = "aes-gcm-256",
		.key_len = 32,
		.salt_len = AEAD_SALT_LEN,
		.iv_len = AEAD_IV_LEN,
		.icv_len = 16,
		.block = 1,
		.kind = AEAD_KIND_AEAD,
	},
	[XDPSEC_ALG_CHACHA20_POLY1305] = {
		.name = "chacha20-poly1305",
		.key_len = 32,
		.salt_len = AEAD_SALT_LEN,
		.iv_len = AEAD_IV_LEN,
		.icv_len = 16,
		.block = 1,
		.kind = AEAD_KIND_AEAD,
	},
	[XDPSEC_ALG_AES_GMAC_128] = {
		.name = "aes-gmac-128",
		.key_len = 16,
		.salt_len = AEAD_SALT_LEN,
		.iv_len = AEAD_IV_LEN,
		.icv_len = 16,
		.block = 1,
		.kind = AEAD_KIND_AUTH_ONLY,
	},
	[XDPSEC_ALG_AES_GMAC_256] = {
		.name = "aes-gmac-256",
		.key_len = 32,
		.salt_len = AEAD_SALT_LEN,
		.iv_len = AEAD_IV_LEN,
		.icv_len = 16,
		.block = 1,
		.kind = AEAD_KIND_AUTH_ONLY,
	},
	[XDPSEC_ALG_AES_CBC_128] = {
		.name = "aes-cbc-128",
		.key_len = 16,
		.iv_len = AEAD_CBC_IV_LEN,
		.block = 16,
		.kind = AEAD_KIND_CIPHER,
	},
	[XDPSEC_ALG_AES_CBC_256] = {
		.name = "aes-cbc-256",
		.key_len = 32,
		.iv_len = AEAD_CBC_IV_LEN,
		.block = 16,
		.kind = AEAD_KIND_CIPHER,
	},
	[XDPSEC_ALG_NULL] = {
		.name = "null",
		.block = 1,
		.kind = AEAD_KIND_NULL,
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
	{ "chacha20-poly1305", XDPSEC_ALG_CHACHA20_POLY1305 },
	{ "aes-gmac-128", XDPSEC_ALG_AES_GMAC_128 },
	{ "aes-gmac-256", XDPSEC_ALG_AES_GMAC_256 },
	{ "aes-cbc-128", XDPSEC_ALG_AES_CBC_128 },
	{ "aes-cbc-256", XDPSEC_ALG_AES_CBC_256 },
	{ "null", XDPSEC_ALG_NULL },
	{ "aes128gcm16", XDPSEC_ALG_AES_GCM_128 },
	{ "aes256gcm16", XDPSEC_ALG_AES_GCM_256 },
	{ "chacha20poly1305", XDPSEC_ALG_CHACHA20_POLY1305 },
	{ "aes128gmac", XDPSEC_ALG_AES_GMAC_128 },
	{ "aes256gmac", XDPSEC_ALG_AES_GMAC_256 },
	{ "aes128", XDPSEC_ALG_AES_CBC_128 },
	{ "aes256", XDPSEC_ALG_AES_CBC_256 },
};

/* OpenSSL's names for the ciphers, by algorithm.  GMAC is GCM. */
static const char *const aead_ossl_names[] = {
	[XDPSEC_ALG_AES_GCM_128] = "AES-128-GCM",
	[XDPSEC_ALG_AES_GCM_256] = "AES-256-GCM",
	[XDPSEC_ALG_CHACHA20_POLY1305] = "ChaCha20-Poly1305",
	[XDPSEC_ALG_AES_GMAC_128] = "AES-128-GCM",
	[XDPSEC_ALG_AES_GMAC_256] = "AES-256-GCM",
	[XDPSEC_ALG_AES_CBC_128] = "AES-128-CBC",
	[XDPSEC_ALG_AES_CBC_256] = "AES-256-CBC",
};

#define AEAD_NCIPHERS (sizeof(aead_ossl_names) / sizeof(aead_ossl_names[0]))

/* The IV generator's block cipher, and the size of its random key. */
#define IVGEN_OSSL_NAME "AES-256-ECB"
enum { IVGEN_KEY_LEN = 32 };

/*
 * Fetching a cipher walks the provider tables and takes locks, so it is
 * done once for the whole process rather than for every context.  The
 * fetched ciphers live until the process exits.
 */
static EVP_CIPHER *aead_ciphers[AEAD_NCIPHERS];
static EVP_CIPHER *ivgen_cipher;
static pthread_once_t aead_fetch_once = PTHREAD_ONCE_INIT;

struct aead {
	EVP_CIPHER_CTX *ctx;	/* AEAD, GMAC; CBC: the encrypting one */
	EVP_CIPHER_CTX *dec;	/* CBC: the decrypting one */
	const struct aead_info *info;
};

struct aead_ivgen {
	EVP_CIPHER_CTX *ctx;
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

static EVP_CIPHER *aead_fetch(const char *name)
{
	EVP_CIPHER *cipher = EVP_CIPHER_fetch(NULL, name, NULL);

	if (!cipher)
		log_err("OpenSSL has no %s cipher", name);
	return cipher;
}

static void aead_fetch_all(void)
{
	for (size_t i = 0; i < AEAD_NCIPHERS; i++) {
		if (aead_ossl_names[i])
			aead_ciphers[i] = aead_fetch(aead_ossl_names[i]);
	}
	ivgen_cipher = aead_fetch(IVGEN_OSSL_NAME);
}

static bool aead_fetched(void)
{
	return !pthread_once(&aead_fetch_once, aead_fetch_all);
}

/*
 * A context for one direction.  The cipher is selected first, then for
 * the AEADs the nonce length is fixed, which must happen before any IV is
 * set, then the key is loaded.  The key is expanded into the context,
 * which is the only copy kept: EVP_CIPHER_CTX_free() cleanses it.
 */
static EVP_CIPHER_CTX *aead_ctx_new(const EVP_CIPHER *cipher,
				    const struct aead_info *info,
				    const uint8_t *key, int enc)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();

	if (!ctx)
		return NULL;

	if (EVP_CipherInit_ex(ctx, cipher, NULL, NULL, NULL, enc) != 1)
		goto err;

	if (info->salt_len &&
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, AEAD_NONCE_LEN,
				NULL) != 1)
		goto err;

	if (EVP_CipherInit_ex(ctx, NULL, NULL, key, NULL, enc) != 1)
		goto err;

	/*
	 * RFC 3602: ESP does its own padding, so the cipher must neither add
	 * nor strip any.
	 */
	if (info->kind == AEAD_KIND_CIPHER &&
	    EVP_CIPHER_CTX_set_padding(ctx, 0) != 1)
		goto err;

	return ctx;

err:
	EVP_CIPHER_CTX_free(ctx);
	return NULL;
}

struct aead *aead_new(enum xdpsec_alg alg, const uint8_t *key)
{
	const struct aead_info *info = aead_info(alg);
	const EVP_CIPHER *cipher;
	struct aead *a;

	if (!info || info->kind == AEAD_KIND_NULL || !key || !aead_fetched())
		return NULL;

	cipher = aead_ciphers[alg];
	if (!cipher)
		return NULL;

	a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	a->info = info;

	a->ctx = aead_ctx_new(cipher, info, key, 1);
	if (!a->ctx)
		goto err;

	/*
	 * CBC decryption runs AES backwards, with its own key schedule.
	 * OpenSSL expands the key for one direction only when it is loaded,
	 * and keeps that schedule when a later init changes the direction
	 * without a key, so each direction gets a context of its own.  The
	 * other modes only ever run AES forwards.
	 */
	if (info->kind == AEAD_KIND_CIPHER) {
		a->dec = aead_ctx_new(cipher, info, key, 0);
		if (!a->dec)
			goto err;
	}

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
	EVP_CIPHER_CTX_free(a->dec);
	OPENSSL_cleanse(a, sizeof(*a));
	free(a);
}

/*
 * Installs the nonce and the direction, and feeds the additional
 * authenticated data.  The key stays as it was loaded by aead_new().
 */
static int aead_start(struct aead *a, const uint8_t *nonce, int enc,
		      const struct aead_seg *aad, unsigned int n)
{
	int outl;

	if (EVP_CipherInit_ex(a->ctx, NULL, NULL, NULL, nonce, enc) != 1)
		return -EIO;

	for (unsigned int i = 0; i < n; i++) {
		if (!aad[i].len)
			continue;
		if (aad[i].len > INT_MAX ||
		    EVP_CipherUpdate(a->ctx, NULL, &outl, aad[i].data,
				     (int)aad[i].len) != 1)
			return -EIO;
	}

	return 0;
}

/*
 * GCM and ChaCha20-Poly1305 encrypt; GMAC is GCM fed nothing but AAD, so
 * a GMAC context must not be given anything to encrypt.
 */
static int aead_check(const struct aead *a, size_t len)
{
	switch (a->info->kind) {
	case AEAD_KIND_AEAD:
		return len > INT_MAX ? -EINVAL : 0;
	case AEAD_KIND_AUTH_ONLY:
		return len ? -EINVAL : 0;
	default:
		return -EINVAL;
	}
}

/*
 * Runs the stream part and the final step.  These modes output exactly as
 * many bytes as they take in, so the final step writes nothing; it is
 * given a scratch block all the same, not a pointer into the packet.
 */
static int aead_crypt(EVP_CIPHER_CTX *ctx, uint8_t *buf, size_t len)
{
	uint8_t fin[2 * AEAD_BLOCK_MAX];
	int outl = 0, finl = 0;

	if (len && (EVP_CipherUpdate(ctx, buf, &outl, buf, (int)len) != 1 ||
		    (size_t)outl != len))
		return -EIO;

	if (EVP_CipherFinal_ex(ctx, fin, &finl) != 1)
		return -EBADMSG;

	return finl ? -EIO : 0;
}

int aead_seal_v(struct aead *a, const uint8_t *nonce,
		const struct aead_seg *aad, unsigned int n, uint8_t *buf,
		size_t len, uint8_t *tag)
{
	int ret;

	ret = aead_check(a, len);
	if (ret)
		return ret;

	if (aead_start(a, nonce, 1, aad, n))
		return -EIO;

	if (aead_crypt(a->ctx, buf, len))
		return -EIO;

	if (EVP_CIPHER_CTX_ctrl(a->ctx, EVP_CTRL_AEAD_GET_TAG,
				(int)a->info->icv_len, tag) != 1)
		return -EIO;

	return 0;
}

int aead_open_v(struct aead *a, const uint8_t *nonce,
		const struct aead_seg *aad, unsigned int n, uint8_t *buf,
		size_t len, const uint8_t *tag)
{
	uint8_t expected[AEAD_TAG_MAX];
	int ret;

	ret = aead_check(a, len);
	if (ret)
		return ret;

	if (aead_start(a, nonce, 0, aad, n))
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

	/*
	 * The final step computes the tag and compares it with the expected
	 * one.  OpenSSL does that comparison with CRYPTO_memcmp(), in
	 * constant time, so the time taken tells an attacker nothing about
	 * how many tag bytes were right.  In these modes a failure of the
	 * final step can only be a tag mismatch.
	 */
	return aead_crypt(a->ctx, buf, len);
}

int aead_seal(struct aead *a, const uint8_t *nonce, const uint8_t *aad,
	      size_t aad_len, uint8_t *buf, size_t len, uint8_t *tag)
{
	struct aead_seg seg = { aad, aad_len };

	return aead_seal_v(a, nonce, &seg, 1, buf, len, tag);
}

int aead_open(struct aead *a, const uint8_t *nonce, const uint8_t *aad,
	      size_t aad_len, uint8_t *buf, size_t len, const uint8_t *tag)
{
	struct aead_seg seg = { aad, aad_len };

	return aead_open_v(a, nonce, &seg, 1, buf, len, tag);
}

static int aead_cbc(struct aead *a, EVP_CIPHER_CTX *ctx, const uint8_t *iv,
		    uint8_t *buf, size_t len)
{
	if (a->info->kind != AEAD_KIND_CIPHER || len > INT_MAX ||
	    len % a->info->block)
		return -EINVAL;

	/* -1 keeps the direction the context was made for. */
	if (EVP_CipherInit_ex(ctx, NULL, NULL, NULL, iv, -1) != 1)
		return -EIO;

	/*
	 * With padding off and whole blocks, CBC neither holds data back nor
	 * adds any: the output is exactly the input's length.
	 */
	return aead_crypt(ctx, buf, len) ? -EIO : 0;
}

int aead_encrypt(struct aead *a, const uint8_t *iv, uint8_t *buf,
		 size_t len)
{
	return aead_cbc(a, a->ctx, iv, buf, len);
}

int aead_decrypt(struct aead *a, const uint8_t *iv, uint8_t *buf,
		 size_t len)
{
	return aead_cbc(a, a->dec, iv, buf, len);
}

/*
 * RFC 3602 section 3 wants each CBC IV unpredictable to an attacker: a
 * counter, or the last ciphertext block of the previous packet, lets a
 * chosen-plaintext attacker test guesses about other blocks.  Drawing 16
 * random bytes per packet would put the random generator, and its
 * occasional reseeding from the kernel, on the data path.  Instead the IV
 * is the sequence number encrypted with AES under a random key of this
 * generator's own (the construction of NIST SP 800-38A appendix C):
 *
 *  - unique: AES is a permutation and a sequence number never repeats
 *    within an SA;
 *  - unpredictable: without K_iv, AES outputs for fresh inputs look
 *    random, even to someone who has seen every earlier IV;
 *  - cheap: one block encryption, no system call, no allocation.
 *
 * K_iv is independent of the SA key, so the IVs tell nothing about it.
 */
struct aead_ivgen *aead_ivgen_new(void)
{
	uint8_t key[IVGEN_KEY_LEN];
	struct aead_ivgen *g;

	if (!aead_fetched() || !ivgen_cipher)
		return NULL;

	g = calloc(1, sizeof(*g));
	if (!g)
		return NULL;

	g->ctx = EVP_CIPHER_CTX_new();
	if (!g->ctx || RAND_bytes(key, sizeof(key)) != 1)
		goto err;

	if (EVP_EncryptInit_ex(g->ctx, ivgen_cipher, NULL, key, NULL) != 1 ||
	    EVP_CIPHER_CTX_set_padding(g->ctx, 0) != 1)
		goto err;

	OPENSSL_cleanse(key, sizeof(key));
	return g;

err:
	log_err("cannot create a CBC IV generator");
	OPENSSL_cleanse(key, sizeof(key));
	aead_ivgen_free(g);
	return NULL;
}

void aead_ivgen_free(struct aead_ivgen *g)
{
	if (!g)
		return;

	EVP_CIPHER_CTX_free(g->ctx);
	free(g);
}

int aead_ivgen_next(struct aead_ivgen *g, uint64_t seq, uint8_t *iv)
{
	uint8_t block[AEAD_CBC_IV_LEN] = { 0 };
	int outl = 0;

	for (int i = 0; i < 8; i++)
		block[AEAD_CBC_IV_LEN - 1 - i] = (uint8_t)(seq >> (8 * i));

	/*
	 * ECB keeps no state between blocks, so one whole block in gives
	 * one block out and leaves the context ready for the next call.
	 */
	if (EVP_EncryptUpdate(g->ctx, iv, &outl, block, sizeof(block)) != 1 ||
	    outl != AEAD_CBC_IV_LEN)
		return -EIO;

	return 0;
}
