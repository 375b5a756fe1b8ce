// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of the IKE key exchange: the Wycheproof X25519 and ECDH P-256
 * vectors (peer values that are not valid public keys must be refused, and
 * so must every all-zero Curve25519 secret), both ends of each group
 * agreeing on g^ir, and peer values of the wrong length or degenerate
 * value refused.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>

#include "check.h"
#include "ike_ke.h"

enum { BUF_MAX = 512 };

struct blob {
	uint8_t data[BUF_MAX];
	size_t len;
};

static bool get_hex(struct json_object *o, const char *key, struct blob *b)
{
	struct json_object *v;
	const char *hex;
	size_t n;

	if (!json_object_object_get_ex(o, key, &v))
		return false;
	hex = json_object_get_string(v);
	n = strlen(hex);
	if (n % 2 || n / 2 > sizeof(b->data))
		return false;
	for (size_t i = 0; i < n / 2; i++) {
		unsigned int byte;

		if (sscanf(hex + 2 * i, "%2x", &byte) != 1)
			return false;
		b->data[i] = (uint8_t)byte;
	}
	b->len = n / 2;
	return true;
}

static bool has_flag(struct json_object *test, const char *flag)
{
	struct json_object *flags;

	if (!json_object_object_get_ex(test, "flags", &flags))
		return false;
	for (size_t i = 0; i < json_object_array_length(flags); i++)
		if (!strcmp(json_object_get_string(
				json_object_array_get_idx(flags, i)), flag))
			return true;
	return false;
}

static const char *result_of(struct json_object *test)
{
	struct json_object *r;

	return json_object_object_get_ex(test, "result", &r) ?
	       json_object_get_string(r) : "";
}

/* Calls fn for every test of every group in a Wycheproof file. */
static void each_vector(const char *file,
			void (*fn)(struct json_object *test, int id))
{
	struct json_object *root = json_object_from_file(file), *groups;

	CHECK(root, "cannot read %s", file);
	if (!root)
		return;
	json_object_object_get_ex(root, "testGroups", &groups);
	for (size_t g = 0; g < json_object_array_length(groups); g++) {
		struct json_object *tests;

		json_object_object_get_ex(json_object_array_get_idx(groups, g),
					  "tests", &tests);
		for (size_t t = 0; t < json_object_array_length(tests); t++) {
			struct json_object *test =
				json_object_array_get_idx(tests, t);
			struct json_object *id;

			json_object_object_get_ex(test, "tcId", &id);
			fn(test, json_object_get_int(id));
		}
	}
	json_object_put(root);
}

static int n_x25519, n_x25519_zero;

static void x25519_vector(struct json_object *test, int id)
{
	struct blob priv, pub, shared;
	uint8_t out[32];
	struct ike_ke *ke;
	int ret;

	if (!get_hex(test, "private", &priv) || !get_hex(test, "public", &pub) ||
	    !get_hex(test, "shared", &shared)) {
		CHECK(false, "x25519 %d: unreadable", id);
		return;
	}
	ke = ike_ke_new_private(IKE_GROUP_CURVE25519, priv.data, priv.len);
	CHECK(ke, "x25519 %d: key", id);
	if (!ke)
		return;
	ret = ike_ke_shared(ke, pub.data, pub.len, out, sizeof(out));
	if (has_flag(test, "ZeroSharedSecret")) {
		/* RFC 8031 section 2.3: an all-zero secret is refused. */
		CHECK(ret == -EBADMSG, "x25519 %d: zero secret gave %d", id, ret);
		n_x25519_zero++;
	} else {
		CHECK(ret == 0 && shared.len == 32 &&
		      !memcmp(out, shared.data, 32), "x25519 %d: ret %d", id, ret);
	}
	n_x25519++;
	ike_ke_free(ke);
}

static int n_p256, n_p256_invalid;

/*
 * IKE carries ECP values as x || y: only uncompressed points can be
 * expressed, so compressed ones and other encodings are not run.
 */
static void p256_vector(struct json_object *test, int id)
{
	struct blob priv, pub, shared;
	bool valid = strcmp(result_of(test), "invalid");
	uint8_t out[32];
	struct ike_ke *ke;
	int ret;

	if (!get_hex(test, "private", &priv) || !get_hex(test, "public", &pub) ||
	    !get_hex(test, "shared", &shared)) {
		CHECK(false, "p256 %d: unreadable", id);
		return;
	}
	if (pub.len != 65 || pub.data[0] != 0x04)
		return;
	ke = ike_ke_new_private(IKE_GROUP_ECP_256, priv.data, priv.len);
	CHECK(ke, "p256 %d: key", id);
	if (!ke)
		return;
	ret = ike_ke_shared(ke, pub.data + 1, 64, out, sizeof(out));
	if (valid) {
		CHECK(ret == 0 && shared.len == 32 &&
		      !memcmp(out, shared.data, 32), "p256 %d: ret %d", id, ret);
	} else {
		CHECK(ret == -EBADMSG, "p256 %d: invalid point gave %d", id, ret);
		n_p256_invalid++;
	}
	n_p256++;
	ike_ke_free(ke);
}

/* Both ends of a fresh exchange agree; values of other lengths are refused. */
static void test_agreement(uint16_t group)
{
	struct ike_ke *a = ike_ke_new(group), *b = ike_ke_new(group);
	size_t len = ike_ke_len(group), slen = ike_ke_secret_len(group);
	uint8_t pa[IKE_KE_MAX], pb[IKE_KE_MAX];
	uint8_t sa[IKE_KE_MAX], sb[IKE_KE_MAX];

	CHECK(a && b && len, "%s: keys", ike_ke_name(group));
	if (!a || !b)
		goto out;
	CHECK(!ike_ke_public(a, pa, sizeof(pa)) &&
	      !ike_ke_public(b, pb, sizeof(pb)), "%s: public values",
	      ike_ke_name(group));
	CHECK(!ike_ke_shared(a, pb, len, sa, sizeof(sa)) &&
	      !ike_ke_shared(b, pa, len, sb, sizeof(sb)) &&
	      !memcmp(sa, sb, slen), "%s: both ends compute one g^ir",
	      ike_ke_name(group));
	CHECK(memcmp(pa, pb, len), "%s: two keys differ", ike_ke_name(group));
	CHECK(ike_ke_shared(a, pb, len - 1, sa, sizeof(sa)) == -EINVAL,
	      "%s: short value refused", ike_ke_name(group));
	CHECK(ike_ke_shared(a, pb, len + 1, sa, sizeof(sa)) == -EINVAL,
	      "%s: long value refused", ike_ke_name(group));
out:
	ike_ke_free(a);
	ike_ke_free(b);
}

/*
 * MODP peer values 0, 1, p - 1 and p are refused (RFC 7296 section 5);
 * p comes from OpenSSL's own copy of the RFC 3526 group.
 */
static void test_modp_degenerate(uint16_t group, const char *ossl_name)
{
	struct ike_ke *ke = ike_ke_new(group);
	size_t len = ike_ke_len(group);
	uint8_t v[IKE_KE_MAX], s[IKE_KE_MAX];
	BIGNUM *p = NULL, *x = BN_new();
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "DH", NULL);
	EVP_PKEY *dh = NULL;

	if (ctx && EVP_PKEY_paramgen_init(ctx) > 0 &&
	    EVP_PKEY_CTX_set_group_name(ctx, ossl_name) > 0 &&
	    EVP_PKEY_generate(ctx, &dh) > 0)
		EVP_PKEY_get_bn_param(dh, OSSL_PKEY_PARAM_FFC_P, &p);
	EVP_PKEY_free(dh);
	EVP_PKEY_CTX_free(ctx);
	CHECK(ke && p && x && (size_t)BN_num_bytes(p) == len, "%s: setup",
	      ike_ke_name(group));
	if (!ke || !p || !x)
		goto out;
	for (int i = 0; i < 4; i++) {
		BN_copy(x, p);
		if (i == 0)
			BN_zero(x);
		if (i == 1)
			BN_one(x);
		if (i == 2)
			BN_sub_word(x, 1);
		BN_bn2binpad(x, v, (int)len);
		CHECK(ike_ke_shared(ke, v, len, s, sizeof(s)) == -EBADMSG,
		      "%s: degenerate value %d accepted", ike_ke_name(group), i);
	}
out:
	BN_free(x);
	BN_free(p);
	ike_ke_free(ke);
}

/* Points off the curve, and the point at infinity written as zeros. */
static void test_ecp_invalid(uint16_t group)
{
	struct ike_ke *ke = ike_ke_new(group);
	size_t len = ike_ke_len(group);
	uint8_t v[IKE_KE_MAX], s[IKE_KE_MAX];

	if (!ke)
		return;
	ike_ke_public(ke, v, sizeof(v));
	v[len - 1] ^= 1;	/* y off by one: not on the curve */
	CHECK(ike_ke_shared(ke, v, len, s, sizeof(s)) == -EBADMSG,
	      "%s: point off the curve accepted", ike_ke_name(group));
	memset(v, 0, len);
	CHECK(ike_ke_shared(ke, v, len, s, sizeof(s)) == -EBADMSG,
	      "%s: all-zero point accepted", ike_ke_name(group));
	ike_ke_free(ke);
}

static void test_names(void)
{
	const char *why;
	uint16_t g = 0;

	CHECK(!ike_ke_parse("curve25519", &g, &why) &&
	      g == IKE_GROUP_CURVE25519, "curve25519 parses");
	CHECK(!ike_ke_parse("modp3072", &g, &why) && g == IKE_GROUP_MODP_3072,
	      "modp3072 parses");
	CHECK(ike_ke_parse("modp1024", &g, &why) == -EINVAL && why &&
	      strstr(why, "RFC 8247"), "modp1024 refused with a reason");
	CHECK(ike_ke_parse("modp768", &g, &why) == -EINVAL && why,
	      "modp768 refused with a reason");
	CHECK(ike_ke_parse("ecp999", &g, &why) == -EINVAL && !why,
	      "unknown group: no reason");
	CHECK(!ike_ke_new(IKE_GROUP_MODP_1024), "no key for MODP-1024");
}

int main(void)
{
	static const uint16_t groups[] = {
		IKE_GROUP_CURVE25519, IKE_GROUP_ECP_256, IKE_GROUP_ECP_384,
		IKE_GROUP_MODP_2048, IKE_GROUP_MODP_3072,
	};

	each_vector("tests/vectors/x25519_test.json", x25519_vector);
	printf("x25519: %d vectors, %d with an all-zero secret\n", n_x25519,
	       n_x25519_zero);
	CHECK(n_x25519 > 500 && n_x25519_zero > 10, "x25519 vectors ran");
	each_vector("tests/vectors/ecdh_secp256r1_ecpoint_test.json",
		    p256_vector);
	printf("p256: %d uncompressed vectors, %d invalid points\n", n_p256,
	       n_p256_invalid);
	CHECK(n_p256 > 300 && n_p256_invalid > 10, "p256 vectors ran");

	for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
		test_agreement(groups[i]);
	test_modp_degenerate(IKE_GROUP_MODP_2048, "modp_2048");
	test_modp_degenerate(IKE_GROUP_MODP_3072, "modp_3072");
	test_ecp_invalid(IKE_GROUP_ECP_256);
	test_ecp_invalid(IKE_GROUP_ECP_384);
	test_names();
	return check_summary();
}
