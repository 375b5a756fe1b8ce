// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/dh.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "ike_ke.h"

/* How OpenSSL names a group, and how long its values are. */
enum ke_type {
	KE_ECX = 1,	/* Curve25519 */
	KE_EC,
	KE_MODP,
};

struct ke_group {
	uint16_t id;
	enum ke_type type;
	const char *name;	/* ours */
	const char *ossl;	/* OpenSSL's group or key type name */
	size_t len;		/* public value */
	size_t secret_len;
};

static const struct ke_group ke_groups[] = {
	{ IKE_GROUP_CURVE25519, KE_ECX, "curve25519", "X25519", 32, 32 },
	{ IKE_GROUP_ECP_256, KE_EC, "ecp256", "P-256", 64, 32 },
	{ IKE_GROUP_ECP_384, KE_EC, "ecp384", "P-384", 96, 48 },
	{ IKE_GROUP_MODP_2048, KE_MODP, "modp2048", "modp_2048", 256, 256 },
	{ IKE_GROUP_MODP_3072, KE_MODP, "modp3072", "modp_3072", 384, 384 },
};

/* Groups people still write, and why they are refused. */
static const struct {
	const char *name;
	const char *why;
} ke_refused[] = {
	{ "modp768", "RFC 8247: MODP-768 MUST NOT; use curve25519" },
	{ "modp1024", "RFC 8247: MODP-1024 SHOULD NOT; use curve25519" },
	{ "modp1536", "RFC 8247: MODP-1536 SHOULD NOT; use curve25519" },
};

struct ike_ke {
	const struct ke_group *g;
	EVP_PKEY *key;
};

static const struct ke_group *ke_group(uint16_t id)
{
	for (size_t i = 0; i < sizeof(ke_groups) / sizeof(ke_groups[0]); i++)
		if (ke_groups[i].id == id)
			return &ke_groups[i];
	return NULL;
}

size_t ike_ke_len(uint16_t group)
{
	const struct ke_group *g = ke_group(group);

	return g ? g->len : 0;
}

size_t ike_ke_secret_len(uint16_t group)
{
	const struct ke_group *g = ke_group(group);

	return g ? g->secret_len : 0;
}

const char *ike_ke_name(uint16_t group)
{
	const struct ke_group *g = ke_group(group);

	return g ? g->name : NULL;
}

int ike_ke_parse(const char *name, uint16_t *group, const char **why)
{
	*why = NULL;
	for (size_t i = 0; i < sizeof(ke_groups) / sizeof(ke_groups[0]); i++) {
		if (!strcmp(name, ke_groups[i].name)) {
			*group = ke_groups[i].id;
			return 0;
		}
	}
	for (size_t i = 0; i < sizeof(ke_refused) / sizeof(ke_refused[0]); i++)
		if (!strcmp(name, ke_refused[i].name))
			*why = ke_refused[i].why;
	return -EINVAL;
}

uint16_t ike_ke_group(const struct ike_ke *ke)
{
	return ke->g->id;
}

static EVP_PKEY *modp_generate(const struct ke_group *g)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "DH", NULL);
	EVP_PKEY *key = NULL;

	if (ctx && EVP_PKEY_keygen_init(ctx) > 0 &&
	    EVP_PKEY_CTX_set_group_name(ctx, g->ossl) > 0)
		EVP_PKEY_generate(ctx, &key);
	EVP_PKEY_CTX_free(ctx);
	return key;
}

static EVP_PKEY *ke_generate(const struct ke_group *g)
{
	switch (g->type) {
	case KE_ECX:
		return EVP_PKEY_Q_keygen(NULL, NULL, g->ossl);
	case KE_EC:
		return EVP_PKEY_Q_keygen(NULL, NULL, "EC", g->ossl);
	case KE_MODP:
		return modp_generate(g);
	}
	return NULL;
}

struct ike_ke *ike_ke_new(uint16_t group)
{
	const struct ke_group *g = ke_group(group);
	struct ike_ke *ke;

	if (!g)
		return NULL;
	ke = calloc(1, sizeof(*ke));
	if (!ke)
		return NULL;
	ke->g = g;
	ke->key = ke_generate(g);
	if (!ke->key) {
		free(ke);
		return NULL;
	}
	return ke;
}

/*
 * Builds a key of type ("EC" or "DH") from parameters: the group name and
 * one big number or octet string.  selection says which half it is.
 */
static EVP_PKEY *ke_fromdata(const char *type, const char *group,
			     const char *param, const uint8_t *val, size_t len,
			     bool as_bn, int selection)
{
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
	OSSL_PARAM *params = NULL;
	EVP_PKEY *key = NULL;
	BIGNUM *bn = NULL;

	if (!bld || !ctx)
		goto out;
	if (!OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
					     group, 0))
		goto out;
	if (as_bn) {
		bn = BN_bin2bn(val, (int)len, NULL);
		if (!bn || !OSSL_PARAM_BLD_push_BN(bld, param, bn))
			goto out;
	} else if (!OSSL_PARAM_BLD_push_octet_string(bld, param, val, len)) {
		goto out;
	}
	params = OSSL_PARAM_BLD_to_param(bld);
	if (params && EVP_PKEY_fromdata_init(ctx) > 0)
		EVP_PKEY_fromdata(ctx, &key, selection, params);
out:
	OSSL_PARAM_free(params);
	BN_clear_free(bn);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_BLD_free(bld);
	return key;
}

struct ike_ke *ike_ke_new_private(uint16_t group, const uint8_t *priv,
				  size_t len)
{
	const struct ke_group *g = ke_group(group);
	struct ike_ke *ke;

	if (!g || g->type == KE_MODP)
		return NULL;
	ke = calloc(1, sizeof(*ke));
	if (!ke)
		return NULL;
	ke->g = g;
	if (g->type == KE_ECX)
		ke->key = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL,
						       priv, len);
	else
		ke->key = ke_fromdata("EC", g->ossl, OSSL_PKEY_PARAM_PRIV_KEY,
				      priv, len, true, EVP_PKEY_KEYPAIR);
	if (!ke->key) {
		free(ke);
		return NULL;
	}
	return ke;
}

void ike_ke_free(struct ike_ke *ke)
{
	if (!ke)
		return;
	EVP_PKEY_free(ke->key);	/* clears the private key */
	free(ke);
}

int ike_ke_public(const struct ike_ke *ke, uint8_t *out, size_t len)
{
	uint8_t enc[1 + 2 * 48];
	size_t n = len;
	BIGNUM *bn = NULL;
	int ok = 0;

	if (len < ke->g->len)
		return -ENOSPC;
	switch (ke->g->type) {
	case KE_ECX:
		ok = EVP_PKEY_get_raw_public_key(ke->key, out, &n) > 0 &&
		     n == ke->g->len;
		break;
	case KE_EC:
		/* Uncompressed: 0x04 || x || y; IKE drops the 0x04. */
		ok = EVP_PKEY_get_octet_string_param(ke->key,
				OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, enc,
				sizeof(enc), &n) > 0 &&
		     n == ke->g->len + 1 && enc[0] == 0x04;
		if (ok)
			memcpy(out, enc + 1, ke->g->len);
		break;
	case KE_MODP:
		ok = EVP_PKEY_get_bn_param(ke->key, OSSL_PKEY_PARAM_PUB_KEY,
					   &bn) > 0 &&
		     BN_bn2binpad(bn, out, (int)ke->g->len) == (int)ke->g->len;
		BN_free(bn);
		break;
	}
	return ok ? 0 : -EIO;
}

/* The peer's public value as a key, or NULL if it is not a valid one. */
static EVP_PKEY *ke_peer(const struct ke_group *g, const uint8_t *val,
			 size_t len)
{
	uint8_t enc[1 + 2 * 48];
	EVP_PKEY_CTX *ctx;
	EVP_PKEY *key;
	int ok;

	switch (g->type) {
	case KE_ECX:
		return EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, val,
						   len);
	case KE_EC:
		enc[0] = 0x04;
		memcpy(enc + 1, val, len);
		key = ke_fromdata("EC", g->ossl, OSSL_PKEY_PARAM_PUB_KEY, enc,
				  len + 1, false, EVP_PKEY_PUBLIC_KEY);
		break;
	case KE_MODP:
	default:
		key = ke_fromdata("DH", g->ossl, OSSL_PKEY_PARAM_PUB_KEY, val,
				  len, true, EVP_PKEY_PUBLIC_KEY);
		break;
	}
	if (!key)
		return NULL;

	/*
	 * Points off the curve (invalid-curve attacks), and MODP values
	 * outside 1 < y < p - 1 or outside the subgroup of order q.
	 */
	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
	ok = ctx && EVP_PKEY_public_check(ctx) > 0;
	EVP_PKEY_CTX_free(ctx);
	if (!ok) {
		EVP_PKEY_free(key);
		return NULL;
	}
	return key;
}

static bool all_zero(const uint8_t *p, size_t len)
{
	static const uint8_t zeros[IKE_KE_MAX];

	return len <= sizeof(zeros) && !CRYPTO_memcmp(p, zeros, len);
}

int ike_ke_shared(struct ike_ke *ke, const uint8_t *peer, size_t len,
		  uint8_t *secret, size_t secret_len)
{
	const struct ke_group *g = ke->g;
	size_t n = secret_len;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pub;
	int ret = -EIO;

	if (len != g->len)
		return -EINVAL;
	if (secret_len < g->secret_len)
		return -ENOSPC;
	pub = ke_peer(g, peer, len);
	if (!pub)
		return -EBADMSG;

	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, ke->key, NULL);
	if (!ctx || EVP_PKEY_derive_init(ctx) <= 0)
		goto out;
	if (g->type == KE_MODP && EVP_PKEY_CTX_set_dh_pad(ctx, 1) <= 0)
		goto out;
	if (EVP_PKEY_derive_set_peer(ctx, pub) <= 0) {
		ret = -EBADMSG;
		goto out;
	}
	/* OpenSSL refuses an all-zero X25519 result; so does the check. */
	if (EVP_PKEY_derive(ctx, secret, &n) <= 0) {
		ret = g->type == KE_ECX ? -EBADMSG : -EIO;
		goto out;
	}
	if (n != g->secret_len)
		goto out;
	/*
	 * RFC 8031 section 2.3.  For ECP an x coordinate of zero is a point
	 * like any other; infinity has already failed in the derivation.
	 */
	ret = g->type == KE_ECX && all_zero(secret, n) ? -EBADMSG : 0;
out:
	if (ret)
		OPENSSL_cleanse(secret, secret_len);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(pub);
	return ret;
}
