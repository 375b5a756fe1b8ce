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
 *
 * Built with XDPSEC_HAVE_IPSEC_MB, AES-GCM runs on Intel's multi-buffer
 * library instead when it works on this CPU: its one-call GCM is several
 * times faster than OpenSSL's on small packets.  Built with
 * XDPSEC_NO_CRYPTO, for benchmarks only, nothing is encrypted at all.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

/* The benchmark build without crypto uses no library for it either. */
#ifdef XDPSEC_NO_CRYPTO
#undef XDPSEC_HAVE_IPSEC_MB
#endif

#ifdef XDPSEC_HAVE_IPSEC_MB
#include <intel-ipsec-mb.h>
#endif

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

static const char *const aead_backend_names[] = {
	[AEAD_BACKEND_AUTO] = "auto",
	[AEAD_BACKEND_OPENSSL] = "openssl",
	[AEAD_BACKEND_IPSEC_MB] = "ipsec-mb",
	[AEAD_BACKEND_NOCRYPTO] = "none",
};

/*
 * Fetching a cipher walks the provider tables and takes locks, so it is
 * done once for the whole process rather than for every context, and the
 * backends are chosen at the same time.  What is set up then lives until
 * the process exits.
 */
static EVP_CIPHER *aead_ciphers[AEAD_NCIPHERS];
static EVP_CIPHER *ivgen_cipher;
static pthread_once_t aead_setup_once = PTHREAD_ONCE_INIT;

/*
 * The backend that new contexts prefer, an enum aead_backend: from
 * XDPSEC_CRYPTO at start, later from aead_backend_set().  Accessed
 * atomically, as one thread may set it while others create contexts.
 */
static int aead_preferred = AEAD_BACKEND_AUTO;

struct aead {
	EVP_CIPHER_CTX *ctx;	/* AEAD, GMAC; CBC: the encrypting one */
	EVP_CIPHER_CTX *dec;	/* CBC: the decrypting one */
	const struct aead_info *info;
	enum aead_backend backend;
#ifdef XDPSEC_HAVE_IPSEC_MB
	struct gcm_key_data *gcm;	/* ipsec-mb: round and hash keys */
#endif
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

/* ---- OpenSSL ---- */

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

static int aead_ossl_key(struct aead *a, enum xdpsec_alg alg,
			 const uint8_t *key)
{
	const EVP_CIPHER *cipher = aead_ciphers[alg];

	if (!cipher)
		return -ENOTSUP;

	a->ctx = aead_ctx_new(cipher, a->info, key, 1);
	if (!a->ctx)
		return -EIO;

	/*
	 * CBC decryption runs AES backwards, with its own key schedule.
	 * OpenSSL expands the key for one direction only when it is loaded,
	 * and keeps that schedule when a later init changes the direction
	 * without a key, so each direction gets a context of its own.  The
	 * other modes only ever run AES forwards.
	 */
	if (a->info->kind == AEAD_KIND_CIPHER) {
		a->dec = aead_ctx_new(cipher, a->info, key, 0);
		if (!a->dec)
			return -EIO;
	}
	return 0;
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

static int aead_ossl_seal(struct aead *a, const uint8_t *nonce,
			  const struct aead_seg *aad, unsigned int n,
			  uint8_t *buf, size_t len, uint8_t *tag)
{
	if (aead_start(a, nonce, 1, aad, n))
		return -EIO;

	if (aead_crypt(a->ctx, buf, len))
		return -EIO;

	if (EVP_CIPHER_CTX_ctrl(a->ctx, EVP_CTRL_AEAD_GET_TAG,
				(int)a->info->icv_len, tag) != 1)
		return -EIO;

	return 0;
}

static int aead_ossl_open(struct aead *a, const uint8_t *nonce,
			  const struct aead_seg *aad, unsigned int n,
			  uint8_t *buf, size_t len, const uint8_t *tag)
{
	uint8_t expected[AEAD_TAG_MAX];

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

/* ---- Intel's multi-buffer library ---- */

#ifdef XDPSEC_HAVE_IPSEC_MB
/*
 * One manager for the whole process, set up once.  The direct GCM calls
 * used here take nothing from it but the function picked for this CPU:
 * their state is the expanded key, read-only once aead_new() has made it,
 * and a scratch context on the caller's stack.  So any number of threads
 * can use the one manager at the same time, each with its own contexts.
 */
static IMB_MGR *aead_imb;
static IMB_ARCH aead_imb_arch;

enum { AEAD_IMB_ALIGN = 64 };

static const char *const aead_imb_arch_names[] = {
	[IMB_ARCH_NOAESNI] = "no AES-NI",
	[IMB_ARCH_SSE] = "SSE",
	[IMB_ARCH_AVX] = "AVX",
	[IMB_ARCH_AVX2] = "AVX2",
	[IMB_ARCH_AVX512] = "AVX-512",
};

/*
 * AES-GCM only.  GMAC stays on OpenSSL: its AAD is the whole packet, in
 * pieces, which the one-call GCM would need copied.  ChaCha20-Poly1305
 * stays there too, although the library's is faster: its ChaCha20 code
 * has not been reviewed and tested here as its GCM has.
 */
static bool aead_imb_serves(enum xdpsec_alg alg)
{
	return alg == XDPSEC_ALG_AES_GCM_128 || alg == XDPSEC_ALG_AES_GCM_256;
}

/*
 * The library's code wants the key data 64-byte aligned, which the
 * header of release 1.3 does not ask the compiler for on Linux.
 */
static int aead_imb_key(struct aead *a, const uint8_t *key)
{
	size_t size = (sizeof(*a->gcm) + AEAD_IMB_ALIGN - 1) &
		      ~(size_t)(AEAD_IMB_ALIGN - 1);

	a->gcm = aligned_alloc(AEAD_IMB_ALIGN, size);
	if (!a->gcm)
		return -ENOMEM;

	if (a->info->key_len == 16)
		IMB_AES128_GCM_PRE(aead_imb, key, a->gcm);
	else
		IMB_AES256_GCM_PRE(aead_imb, key, a->gcm);
	return 0;
}

static void aead_imb_free(struct aead *a)
{
	if (!a->gcm)
		return;

	OPENSSL_cleanse(a->gcm, sizeof(*a->gcm));
	free(a->gcm);
	a->gcm = NULL;
}

/*
 * The library takes the AAD in one piece.  ESP and IKE hand it over in one
 * piece already; several pieces are joined in flat, AEAD_AAD_MAX bytes.
 */
static int aead_aad_flat(const struct aead_seg *aad, unsigned int n,
			 uint8_t *flat, struct aead_seg *one)
{
	unsigned int pieces = 0;
	size_t len = 0;

	*one = (struct aead_seg){ NULL, 0 };
	for (unsigned int i = 0; i < n; i++) {
		if (aad[i].len) {
			*one = aad[i];
			pieces++;
		}
	}
	if (pieces < 2)
		return 0;

	for (unsigned int i = 0; i < n; i++) {
		if (!aad[i].len)
			continue;
		if (aad[i].len > AEAD_AAD_MAX - len)
			return -EINVAL;
		memcpy(flat + len, aad[i].data, aad[i].len);
		len += aad[i].len;
	}
	*one = (struct aead_seg){ flat, len };
	return 0;
}

/* One call en- or decrypts buf in place and gives the tag it computed. */
static void aead_imb_gcm(const struct aead *a, bool enc, const uint8_t *nonce,
			 const struct aead_seg *aad, uint8_t *buf, size_t len,
			 uint8_t *tag)
{
	const uint64_t tag_len = a->info->icv_len;
	struct gcm_context_data ctx;

	if (a->info->key_len == 16 && enc)
		IMB_AES128_GCM_ENC(aead_imb, a->gcm, &ctx, buf, buf, len,
				   nonce, aad->data, aad->len, tag, tag_len);
	else if (a->info->key_len == 16)
		IMB_AES128_GCM_DEC(aead_imb, a->gcm, &ctx, buf, buf, len,
				   nonce, aad->data, aad->len, tag, tag_len);
	else if (enc)
		IMB_AES256_GCM_ENC(aead_imb, a->gcm, &ctx, buf, buf, len,
				   nonce, aad->data, aad->len, tag, tag_len);
	else
		IMB_AES256_GCM_DEC(aead_imb, a->gcm, &ctx, buf, buf, len,
				   nonce, aad->data, aad->len, tag, tag_len);
}

static int aead_imb_seal(const struct aead *a, const uint8_t *nonce,
			 const struct aead_seg *aad, unsigned int n,
			 uint8_t *buf, size_t len, uint8_t *tag)
{
	uint8_t flat[AEAD_AAD_MAX];
	struct aead_seg one;

	if (aead_aad_flat(aad, n, flat, &one))
		return -EINVAL;

	aead_imb_gcm(a, true, nonce, &one, buf, len, tag);
	return 0;
}

/*
 * Decryption gives the tag computed over what came in; the comparison, in
 * constant time, is ours.  As with OpenSSL, buf is decrypted whether the
 * tag verifies or not.  The computed tag would make whatever came in
 * authentic, so it does not stay behind on the stack.
 */
static int aead_imb_open(const struct aead *a, const uint8_t *nonce,
			 const struct aead_seg *aad, unsigned int n,
			 uint8_t *buf, size_t len, const uint8_t *tag)
{
	uint8_t flat[AEAD_AAD_MAX], computed[AEAD_TAG_MAX];
	struct aead_seg one;
	int ret;

	if (aead_aad_flat(aad, n, flat, &one))
		return -EINVAL;

	aead_imb_gcm(a, false, nonce, &one, buf, len, computed);
	ret = CRYPTO_memcmp(computed, tag, a->info->icv_len) ? -EBADMSG : 0;
	OPENSSL_cleanse(computed, sizeof(computed));
	return ret;
}

/*
 * Before the library serves an algorithm, it must seal a message exactly
 * as OpenSSL does and open it again: a code path that is wrong for this
 * CPU shows up here rather than as packets the peer drops.
 */
static bool aead_imb_agrees(enum xdpsec_alg alg)
{
	struct aead ossl = { .info = &aead_infos[alg] };
	struct aead imb = { .info = &aead_infos[alg] };
	uint8_t key[AEAD_KEY_MAX], nonce[AEAD_NONCE_LEN], aad[12];
	uint8_t msg[61], x[61], y[61], tx[AEAD_TAG_MAX], ty[AEAD_TAG_MAX];
	struct aead_seg seg = { aad, sizeof(aad) };
	bool ok;

	for (size_t i = 0; i < sizeof(msg); i++) {
		msg[i] = (uint8_t)(i * 7 + 1);
		if (i < sizeof(key))
			key[i] = (uint8_t)(i * 13 + 5);
		if (i < sizeof(nonce))
			nonce[i] = (uint8_t)(i * 3 + 9);
		if (i < sizeof(aad))
			aad[i] = (uint8_t)(i * 11 + 2);
	}
	memcpy(x, msg, sizeof(x));
	memcpy(y, msg, sizeof(y));

	ok = !aead_ossl_key(&ossl, alg, key) && !aead_imb_key(&imb, key) &&
	     !aead_ossl_seal(&ossl, nonce, &seg, 1, x, sizeof(x), tx) &&
	     !aead_imb_seal(&imb, nonce, &seg, 1, y, sizeof(y), ty) &&
	     !memcmp(x, y, sizeof(x)) && !memcmp(tx, ty, sizeof(tx)) &&
	     !aead_imb_open(&imb, nonce, &seg, 1, y, sizeof(y), ty) &&
	     !memcmp(y, msg, sizeof(y));

	EVP_CIPHER_CTX_free(ossl.ctx);
	aead_imb_free(&imb);
	return ok;
}

/*
 * The library must pass its own self-test when it has one, and find real
 * AES instructions: without them OpenSSL is the better choice.
 */
static void aead_imb_setup(void)
{
	const uint64_t st = IMB_FEATURE_SELF_TEST | IMB_FEATURE_SELF_TEST_PASS;
	IMB_ARCH arch = IMB_ARCH_NONE;
	IMB_MGR *mgr = alloc_mb_mgr(0);

	if (!mgr)
		return;

	init_mb_mgr_auto(mgr, &arch);
	if (imb_get_errno(mgr) || arch < IMB_ARCH_SSE || arch >= IMB_ARCH_NUM ||
	    (mgr->features & st) == IMB_FEATURE_SELF_TEST) {
		free_mb_mgr(mgr);
		return;
	}
	aead_imb = mgr;
	aead_imb_arch = arch;

	if (!aead_imb_agrees(XDPSEC_ALG_AES_GCM_128) ||
	    !aead_imb_agrees(XDPSEC_ALG_AES_GCM_256)) {
		log_warn("intel-ipsec-mb %s disagrees with OpenSSL on AES-GCM; not using it",
			 imb_get_version_str());
		aead_imb = NULL;
		free_mb_mgr(mgr);
	}
}
#endif /* XDPSEC_HAVE_IPSEC_MB */

/* ---- No crypto at all ---- */

#ifdef XDPSEC_NO_CRYPTO
/*
 * The benchmark build: ESP is framed as usual, but sealing leaves the
 * payload as it is and writes a zero tag, and opening accepts a zero tag
 * and leaves the payload.  What is left to measure is everything but the
 * cipher.  No context is made unless the environment asks for this.
 */
#define AEAD_NOCRYPTO_ENV "XDPSEC_NO_CRYPTO"

static bool aead_nocrypto_allowed(void)
{
	const char *env = getenv(AEAD_NOCRYPTO_ENV);

	return env && !strcmp(env, "1");
}

static int aead_none_seal(const struct aead *a, uint8_t *tag)
{
	memset(tag, 0, a->info->icv_len);
	return 0;
}

static int aead_none_open(const struct aead *a, const uint8_t *tag)
{
	static const uint8_t zeros[AEAD_TAG_MAX];

	return CRYPTO_memcmp(tag, zeros, a->info->icv_len) ? -EBADMSG : 0;
}
#endif /* XDPSEC_NO_CRYPTO */

/* ---- Backends ---- */

/* XDPSEC_CRYPTO=openssl|ipsec-mb|auto chooses a backend for the process. */
static void aead_env_backend(void)
{
	const char *env = getenv("XDPSEC_CRYPTO");

	if (!env || !*env || !strcmp(env, "auto"))
		return;

	if (!strcmp(env, "openssl"))
		aead_preferred = AEAD_BACKEND_OPENSSL;
#ifdef XDPSEC_HAVE_IPSEC_MB
	else if (!strcmp(env, "ipsec-mb") && aead_imb)
		aead_preferred = AEAD_BACKEND_IPSEC_MB;
#endif
	else
		log_warn("XDPSEC_CRYPTO=%s: unknown or unusable here, ignored",
			 env);
}

static void aead_setup(void)
{
	aead_fetch_all();
#ifdef XDPSEC_HAVE_IPSEC_MB
	aead_imb_setup();
#endif
	aead_env_backend();
}

static bool aead_ready(void)
{
	return !pthread_once(&aead_setup_once, aead_setup);
}

const char *aead_backend_name(enum aead_backend b)
{
	if ((unsigned int)b >= sizeof(aead_backend_names) /
				       sizeof(aead_backend_names[0]))
		return "?";
	return aead_backend_names[b];
}

bool aead_backend_available(enum aead_backend b)
{
	if (!aead_ready())
		return false;

	switch (b) {
	case AEAD_BACKEND_AUTO:
		return true;
#ifdef XDPSEC_NO_CRYPTO
	case AEAD_BACKEND_NOCRYPTO:
		return true;
#else
	case AEAD_BACKEND_OPENSSL:
		return true;
#endif
#if defined(XDPSEC_HAVE_IPSEC_MB) && !defined(XDPSEC_NO_CRYPTO)
	case AEAD_BACKEND_IPSEC_MB:
		return aead_imb != NULL;
#endif
	default:
		return false;
	}
}

int aead_backend_set(enum aead_backend b)
{
	if (!aead_backend_available(b))
		return -ENOTSUP;

	__atomic_store_n(&aead_preferred, (int)b, __ATOMIC_RELAXED);
	return 0;
}

enum aead_backend aead_backend_for(enum xdpsec_alg alg)
{
#ifdef XDPSEC_NO_CRYPTO
	(void)alg;
	return AEAD_BACKEND_NOCRYPTO;
#else
	int pref;

	if (!aead_ready())
		return AEAD_BACKEND_OPENSSL;

	pref = __atomic_load_n(&aead_preferred, __ATOMIC_RELAXED);
#ifdef XDPSEC_HAVE_IPSEC_MB
	if (pref != AEAD_BACKEND_OPENSSL && aead_imb && aead_imb_serves(alg))
		return AEAD_BACKEND_IPSEC_MB;
#else
	(void)pref;
	(void)alg;
#endif
	return AEAD_BACKEND_OPENSSL;
#endif
}

enum aead_backend aead_backend_of(const struct aead *a)
{
	return a->backend;
}

void aead_backend_about(enum aead_backend b, char *buf, size_t len)
{
	switch (b) {
	case AEAD_BACKEND_OPENSSL:
		snprintf(buf, len, "%s", OpenSSL_version(OPENSSL_VERSION));
		return;
#ifdef XDPSEC_HAVE_IPSEC_MB
	case AEAD_BACKEND_IPSEC_MB:
		snprintf(buf, len, "intel-ipsec-mb %s, %s code",
			 imb_get_version_str(),
			 aead_imb ? aead_imb_arch_names[aead_imb_arch] :
				    "unusable");
		return;
#endif
	case AEAD_BACKEND_NOCRYPTO:
		snprintf(buf, len, "benchmark build, no encryption");
		return;
	default:
		snprintf(buf, len, "not built");
		return;
	}
}

/* One line per backend in use: what it is and which algorithms it does. */
static void aead_backend_log(void)
{
	char algs[256], about[128];

	for (int b = AEAD_BACKEND_OPENSSL; b <= AEAD_BACKEND_NOCRYPTO; b++) {
		size_t off = 0;

		algs[0] = '\0';
		for (size_t i = 0; i < AEAD_NALGS; i++) {
			const struct aead_info *info = aead_info(i);

			if (!info || info->kind == AEAD_KIND_NULL ||
			    aead_backend_for(i) != (enum aead_backend)b ||
			    off >= sizeof(algs))
				continue;
			off += (size_t)snprintf(algs + off, sizeof(algs) - off,
						" %s", info->name);
		}
		if (!off)
			continue;
		aead_backend_about(b, about, sizeof(about));
		log_info("crypto: %s (%s) for%s", aead_backend_name(b), about,
			 algs);
	}
}

int aead_startup(void)
{
#ifdef XDPSEC_NO_CRYPTO
	log_warn("****************************************************************");
	log_warn("* BENCHMARK BUILD WITHOUT CRYPTO: ESP is NEITHER ENCRYPTED NOR *");
	log_warn("* AUTHENTICATED, every ICV is zeros. Never put it on a network *");
	log_warn("****************************************************************");
	if (!aead_nocrypto_allowed()) {
		log_err("refusing to start: set %s=1 to run this benchmark build",
			AEAD_NOCRYPTO_ENV);
		return -EPERM;
	}
#endif
	if (!aead_ready())
		return -EIO;

	aead_backend_log();
	return 0;
}

/* ---- Contexts ---- */

/* Keys a fresh context; aead_free() undoes even a half-done keying. */
static int aead_key(struct aead *a, enum xdpsec_alg alg, const uint8_t *key)
{
	switch (a->backend) {
#ifdef XDPSEC_HAVE_IPSEC_MB
	case AEAD_BACKEND_IPSEC_MB:
		return aead_imb_key(a, key);
#endif
#ifdef XDPSEC_NO_CRYPTO
	case AEAD_BACKEND_NOCRYPTO:
		return 0;
#endif
	default:
		return aead_ossl_key(a, alg, key);
	}
}

struct aead *aead_new(enum xdpsec_alg alg, const uint8_t *key)
{
	const struct aead_info *info = aead_info(alg);
	struct aead *a;

	if (!info || info->kind == AEAD_KIND_NULL || !key || !aead_ready())
		return NULL;

#ifdef XDPSEC_NO_CRYPTO
	if (!aead_nocrypto_allowed()) {
		log_err("benchmark build without crypto: %s=1 is not set",
			AEAD_NOCRYPTO_ENV);
		return NULL;
	}
#endif

	a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	a->info = info;
	a->backend = aead_backend_for(alg);

	if (aead_key(a, alg, key)) {
		log_err("cannot create an %s context", info->name);
		aead_free(a);
		return NULL;
	}
	return a;
}

void aead_free(struct aead *a)
{
	if (!a)
		return;

	EVP_CIPHER_CTX_free(a->ctx);
	EVP_CIPHER_CTX_free(a->dec);
#ifdef XDPSEC_HAVE_IPSEC_MB
	aead_imb_free(a);
#endif
	OPENSSL_cleanse(a, sizeof(*a));
	free(a);
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

int aead_seal_v(struct aead *a, const uint8_t *nonce,
		const struct aead_seg *aad, unsigned int n, uint8_t *buf,
		size_t len, uint8_t *tag)
{
	int ret;

	ret = aead_check(a, len);
	if (ret)
		return ret;

	switch (a->backend) {
#ifdef XDPSEC_HAVE_IPSEC_MB
	case AEAD_BACKEND_IPSEC_MB:
		return aead_imb_seal(a, nonce, aad, n, buf, len, tag);
#endif
#ifdef XDPSEC_NO_CRYPTO
	case AEAD_BACKEND_NOCRYPTO:
		return aead_none_seal(a, tag);
#endif
	default:
		return aead_ossl_seal(a, nonce, aad, n, buf, len, tag);
	}
}

int aead_open_v(struct aead *a, const uint8_t *nonce,
		const struct aead_seg *aad, unsigned int n, uint8_t *buf,
		size_t len, const uint8_t *tag)
{
	int ret;

	ret = aead_check(a, len);
	if (ret)
		return ret;

	switch (a->backend) {
#ifdef XDPSEC_HAVE_IPSEC_MB
	case AEAD_BACKEND_IPSEC_MB:
		return aead_imb_open(a, nonce, aad, n, buf, len, tag);
#endif
#ifdef XDPSEC_NO_CRYPTO
	case AEAD_BACKEND_NOCRYPTO:
		return aead_none_open(a, tag);
#endif
	default:
		return aead_ossl_open(a, nonce, aad, n, buf, len, tag);
	}
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

#ifdef XDPSEC_NO_CRYPTO
	if (a->backend == AEAD_BACKEND_NOCRYPTO)
		return 0;
#endif

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

	if (!aead_ready() || !ivgen_cipher)
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
