// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of the AEAD contexts: the Wycheproof AES-GCM vectors that fit
 * ESP (96-bit nonce, 128-bit tag, 128- or 256-bit key), tag tampering,
 * context reuse and the algorithm table.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "aead.h"
#include "check.h"

#define VECTORS "tests/vectors/aes_gcm_test.json"

enum { BUF_MAX = 1024 };

/* A test vector field decoded from hex. */
struct blob {
	uint8_t data[BUF_MAX];
	size_t len;
};

static int hex_nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool hex_decode(const char *hex, struct blob *out)
{
	size_t n = strlen(hex);

	if (n % 2 || n / 2 > sizeof(out->data))
		return false;

	for (size_t i = 0; i < n / 2; i++) {
		int hi = hex_nibble(hex[2 * i]);
		int lo = hex_nibble(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return false;
		out->data[i] = (uint8_t)(hi << 4 | lo);
	}
	out->len = n / 2;
	return true;
}

static bool get_blob(struct json_object *test, const char *key,
		     struct blob *out)
{
	struct json_object *v;

	if (!json_object_object_get_ex(test, key, &v))
		return false;
	return hex_decode(json_object_get_string(v), out);
}

static int get_int(struct json_object *obj, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(obj, key, &v))
		return -1;
	return json_object_get_int(v);
}

struct vector {
	int id;
	bool valid;
	struct blob key, iv, aad, msg, ct, tag;
};

static bool vector_load(struct json_object *test, struct vector *v)
{
	struct json_object *res;

	v->id = get_int(test, "tcId");
	if (!json_object_object_get_ex(test, "result", &res))
		return false;
	v->valid = !strcmp(json_object_get_string(res), "valid");

	return get_blob(test, "key", &v->key) &&
	       get_blob(test, "iv", &v->iv) &&
	       get_blob(test, "aad", &v->aad) &&
	       get_blob(test, "msg", &v->msg) &&
	       get_blob(test, "ct", &v->ct) &&
	       get_blob(test, "tag", &v->tag);
}

static void vector_run(const struct vector *v)
{
	enum xdpsec_alg alg = v->key.len == 16 ? XDPSEC_ALG_AES_GCM_128 :
						 XDPSEC_ALG_AES_GCM_256;
	uint8_t buf[BUF_MAX], tag[AEAD_TAG_MAX];
	struct aead *a;
	int ret;

	CHECK(v->msg.len == v->ct.len && v->tag.len == AEAD_TAG_MAX &&
		      v->iv.len == AEAD_NONCE_LEN,
	      "tcId %d: vector sizes", v->id);

	a = aead_new(alg, v->key.data);
	CHECK(a, "tcId %d: aead_new", v->id);
	if (!a)
		return;

	/* Invalid vectors are about decryption; their sealing is not run. */
	if (v->valid) {
		memcpy(buf, v->msg.data, v->msg.len);
		ret = aead_seal(a, v->iv.data, v->aad.data, v->aad.len, buf,
				v->msg.len, tag);
		CHECK(ret == 0, "tcId %d: seal returned %d", v->id, ret);
		CHECK(!memcmp(buf, v->ct.data, v->ct.len),
		      "tcId %d: ciphertext differs", v->id);
		CHECK(!memcmp(tag, v->tag.data, AEAD_TAG_MAX),
		      "tcId %d: tag differs", v->id);
	}

	memcpy(buf, v->ct.data, v->ct.len);
	ret = aead_open(a, v->iv.data, v->aad.data, v->aad.len, buf, v->ct.len,
			v->tag.data);
	if (v->valid) {
		CHECK(ret == 0, "tcId %d: open returned %d", v->id, ret);
		CHECK(!memcmp(buf, v->msg.data, v->msg.len),
		      "tcId %d: plaintext differs", v->id);
	} else {
		CHECK(ret == -EBADMSG, "tcId %d: invalid vector opened: %d",
		      v->id, ret);
	}

	aead_free(a);
}

static bool group_applies(struct json_object *group)
{
	int key_size = get_int(group, "keySize");

	return get_int(group, "ivSize") == 96 &&
	       get_int(group, "tagSize") == 128 &&
	       (key_size == 128 || key_size == 256);
}

static void test_wycheproof(void)
{
	struct json_object *root, *groups;
	int run = 0, not_applicable = 0;
	struct vector *v;

	root = json_object_from_file(VECTORS);
	CHECK(root, "cannot read %s", VECTORS);
	if (!root)
		return;

	CHECK(json_object_object_get_ex(root, "testGroups", &groups),
	      "no testGroups in %s", VECTORS);

	v = malloc(sizeof(*v));
	for (size_t g = 0; v && g < json_object_array_length(groups); g++) {
		struct json_object *group, *tests;
		bool applies;

		group = json_object_array_get_idx(groups, g);
		if (!json_object_object_get_ex(group, "tests", &tests))
			continue;
		applies = group_applies(group);

		for (size_t t = 0; t < json_object_array_length(tests); t++) {
			struct json_object *test;

			if (!applies) {
				not_applicable++;
				continue;
			}

			test = json_object_array_get_idx(tests, t);
			if (!vector_load(test, v)) {
				CHECK(0, "group %zu test %zu: cannot parse", g,
				      t);
				continue;
			}
			vector_run(v);
			run++;
		}
	}

	CHECK(run >= 100, "only %d vectors run", run);
	printf("wycheproof: %d vectors run, %d not applicable "
	       "(nonce, tag or key size)\n",
	       run, not_applicable);

	free(v);
	json_object_put(root);
}

static void fill(uint8_t *p, size_t len, uint8_t seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(seed + i * 7);
}

static void test_tamper(enum xdpsec_alg alg)
{
	uint8_t key[AEAD_KEY_MAX], nonce[AEAD_NONCE_LEN], aad[12];
	uint8_t msg[100], buf[100], tag[AEAD_TAG_MAX], bad[AEAD_TAG_MAX];
	struct aead *a;
	int ret;

	fill(key, sizeof(key), 1);
	fill(nonce, sizeof(nonce), 2);
	fill(aad, sizeof(aad), 3);
	fill(msg, sizeof(msg), 4);

	a = aead_new(alg, key);
	CHECK(a, "alg %d: aead_new", alg);
	if (!a)
		return;

	memcpy(buf, msg, sizeof(buf));
	ret = aead_seal(a, nonce, aad, sizeof(aad), buf, sizeof(buf), tag);
	CHECK(ret == 0, "alg %d: seal", alg);
	CHECK(memcmp(buf, msg, sizeof(buf)), "alg %d: not encrypted", alg);

	for (int bit = 0; bit < AEAD_TAG_MAX * 8; bit += 13) {
		uint8_t ct[sizeof(buf)];

		memcpy(ct, buf, sizeof(ct));
		memcpy(bad, tag, sizeof(bad));
		bad[bit / 8] ^= 1 << (bit % 8);
		ret = aead_open(a, nonce, aad, sizeof(aad), ct, sizeof(ct),
				bad);
		CHECK(ret == -EBADMSG, "alg %d: tag bit %d flipped: %d", alg,
		      bit, ret);
	}

	/* A failed open must not disturb the next one on the same context. */
	ret = aead_open(a, nonce, aad, sizeof(aad), buf, sizeof(buf), tag);
	CHECK(ret == 0 && !memcmp(buf, msg, sizeof(buf)),
	      "alg %d: open after failures: %d", alg, ret);

	/* Wrong AAD, wrong nonce, flipped ciphertext. */
	ret = aead_seal(a, nonce, aad, sizeof(aad), buf, sizeof(buf), tag);
	CHECK(ret == 0, "alg %d: seal again", alg);
	{
		uint8_t ct[sizeof(buf)], aad2[sizeof(aad)];
		uint8_t nonce2[AEAD_NONCE_LEN];

		memcpy(ct, buf, sizeof(ct));
		memcpy(aad2, aad, sizeof(aad2));
		aad2[5] ^= 0x80;
		CHECK(aead_open(a, nonce, aad2, sizeof(aad2), ct, sizeof(ct),
				tag) == -EBADMSG,
		      "alg %d: wrong AAD", alg);

		memcpy(ct, buf, sizeof(ct));
		CHECK(aead_open(a, nonce, aad, 8, ct, sizeof(ct), tag) ==
			      -EBADMSG,
		      "alg %d: short AAD", alg);

		memcpy(ct, buf, sizeof(ct));
		memcpy(nonce2, nonce, sizeof(nonce2));
		nonce2[11] ^= 1;
		CHECK(aead_open(a, nonce2, aad, sizeof(aad), ct, sizeof(ct),
				tag) == -EBADMSG,
		      "alg %d: wrong nonce", alg);

		memcpy(ct, buf, sizeof(ct));
		ct[50] ^= 4;
		CHECK(aead_open(a, nonce, aad, sizeof(aad), ct, sizeof(ct),
				tag) == -EBADMSG,
		      "alg %d: flipped ciphertext", alg);
	}

	aead_free(a);
}

/* One context seals and opens alternately, with changing nonces. */
static void test_reuse(enum xdpsec_alg alg)
{
	uint8_t key[AEAD_KEY_MAX], nonce[AEAD_NONCE_LEN], aad[8];
	uint8_t msg[300], buf[300], first[300], tag[AEAD_TAG_MAX];
	uint8_t tag1[AEAD_TAG_MAX], nonce1[AEAD_NONCE_LEN];
	struct aead *a, *b;
	int bad = 0;

	fill(key, sizeof(key), 9);
	fill(nonce, sizeof(nonce), 10);
	fill(aad, sizeof(aad), 11);
	fill(msg, sizeof(msg), 12);

	a = aead_new(alg, key);
	b = aead_new(alg, key);
	CHECK(a && b, "alg %d: two contexts", alg);
	if (!a || !b)
		goto out;

	memcpy(nonce1, nonce, sizeof(nonce1));
	memcpy(first, msg, sizeof(first));
	aead_seal(a, nonce, aad, sizeof(aad), first, sizeof(first), tag1);

	for (int i = 0; i < 50; i++) {
		size_t len = (size_t)(i * 6) % sizeof(msg);

		nonce[11] = (uint8_t)i;
		memcpy(buf, msg, len);
		bad += !!aead_seal(a, nonce, aad, sizeof(aad), buf, len, tag);
		bad += !!aead_open(b, nonce, aad, sizeof(aad), buf, len, tag);
		bad += !!memcmp(buf, msg, len);
		bad += !!aead_seal(b, nonce, aad, sizeof(aad), buf, len, tag);
		bad += !!aead_open(a, nonce, aad, sizeof(aad), buf, len, tag);
		bad += !!memcmp(buf, msg, len);
	}
	CHECK(!bad, "alg %d: alternate seal/open (%d bad)", alg, bad);

	/* Same key and nonce give the same output: no state leaks across. */
	memcpy(buf, msg, sizeof(buf));
	aead_seal(b, nonce1, aad, sizeof(aad), buf, sizeof(buf), tag);
	CHECK(!memcmp(buf, first, sizeof(buf)) &&
		      !memcmp(tag, tag1, sizeof(tag)),
	      "alg %d: deterministic after reuse", alg);

	/* Empty message and empty AAD. */
	CHECK(aead_seal(a, nonce, NULL, 0, buf, 0, tag) == 0 &&
		      aead_open(b, nonce, NULL, 0, buf, 0, tag) == 0,
	      "alg %d: empty message", alg);
	tag[0] ^= 1;
	CHECK(aead_open(b, nonce, NULL, 0, buf, 0, tag) == -EBADMSG,
	      "alg %d: empty message, bad tag", alg);

out:
	aead_free(a);
	aead_free(b);
}

static void test_keys_differ(void)
{
	uint8_t key[AEAD_KEY_MAX], nonce[AEAD_NONCE_LEN] = { 0 };
	uint8_t buf[32] = { 0 }, tag[AEAD_TAG_MAX];
	struct aead *a, *b;

	fill(key, sizeof(key), 20);
	a = aead_new(XDPSEC_ALG_AES_GCM_128, key);
	key[0] ^= 1;
	b = aead_new(XDPSEC_ALG_AES_GCM_128, key);
	CHECK(a && b, "two keys");
	if (a && b) {
		aead_seal(a, nonce, NULL, 0, buf, sizeof(buf), tag);
		CHECK(aead_open(b, nonce, NULL, 0, buf, sizeof(buf), tag) ==
			      -EBADMSG,
		      "other key fails");
	}
	aead_free(a);
	aead_free(b);
}

static void test_table(void)
{
	const struct aead_info *i128, *i256;
	enum xdpsec_alg alg;
	uint8_t key[AEAD_KEY_MAX] = { 0 };

	i128 = aead_info(XDPSEC_ALG_AES_GCM_128);
	i256 = aead_info(XDPSEC_ALG_AES_GCM_256);
	CHECK(i128 && !strcmp(i128->name, "aes-gcm-128") &&
		      i128->key_len == 16 && i128->salt_len == 4 &&
		      i128->iv_len == 8 && i128->icv_len == 16,
	      "aes-gcm-128 info");
	CHECK(i256 && !strcmp(i256->name, "aes-gcm-256") &&
		      i256->key_len == 32 && i256->salt_len == 4 &&
		      i256->iv_len == 8 && i256->icv_len == 16,
	      "aes-gcm-256 info");
	CHECK(!aead_info(XDPSEC_ALG_NONE), "no info for ALG_NONE");
	CHECK(!aead_info((enum xdpsec_alg)3), "no info for 3");
	CHECK(!aead_info((enum xdpsec_alg)-1), "no info for -1");

	alg = XDPSEC_ALG_NONE;
	CHECK(aead_alg_parse("aes-gcm-128", &alg) == 0 &&
		      alg == XDPSEC_ALG_AES_GCM_128,
	      "parse aes-gcm-128");
	CHECK(aead_alg_parse("aes-gcm-256", &alg) == 0 &&
		      alg == XDPSEC_ALG_AES_GCM_256,
	      "parse aes-gcm-256");
	CHECK(aead_alg_parse("aes128gcm16", &alg) == 0 &&
		      alg == XDPSEC_ALG_AES_GCM_128,
	      "parse aes128gcm16");
	CHECK(aead_alg_parse("aes256gcm16", &alg) == 0 &&
		      alg == XDPSEC_ALG_AES_GCM_256,
	      "parse aes256gcm16");

	alg = XDPSEC_ALG_AES_GCM_128;
	CHECK(aead_alg_parse("aes-gcm-192", &alg) == -EINVAL,
	      "aes-gcm-192 rejected");
	CHECK(aead_alg_parse("", &alg) == -EINVAL, "empty name rejected");
	CHECK(aead_alg_parse("aes-gcm-1280", &alg) == -EINVAL,
	      "longer name rejected");
	CHECK(aead_alg_parse("aes-cbc-128", &alg) == -EINVAL,
	      "aes-cbc-128 rejected");
	CHECK(aead_alg_parse(NULL, &alg) == -EINVAL, "NULL name rejected");
	CHECK(alg == XDPSEC_ALG_AES_GCM_128, "failed parse leaves alg");

	CHECK(!aead_new(XDPSEC_ALG_NONE, key), "no context for ALG_NONE");
	CHECK(!aead_new((enum xdpsec_alg)7, key), "no context for 7");
	aead_free(NULL);
}

int main(void)
{
	test_table();
	test_wycheproof();
	test_tamper(XDPSEC_ALG_AES_GCM_128);
	test_tamper(XDPSEC_ALG_AES_GCM_256);
	test_reuse(XDPSEC_ALG_AES_GCM_128);
	test_reuse(XDPSEC_ALG_AES_GCM_256);
	test_keys_differ();

	return check_summary();
}
