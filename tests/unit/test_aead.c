// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of the cipher contexts: the Wycheproof vectors that fit ESP
 * (AES-GCM, ChaCha20-Poly1305 and AES-GMAC with a 96-bit nonce and 128-bit
 * tag, AES-CBC with its 128-bit IV; 128- or 256-bit AES keys), tampering,
 * context reuse, the CBC IV generator and the algorithm table.  The
 * vectors, tampering and reuse tests run once per backend built in, each
 * on the algorithms that backend does; one not built in, or not usable on
 * this CPU, is reported as skipped.  Both backends must then agree.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/crypto.h>

#include "aead.h"
#include "check.h"

enum { BUF_MAX = 1024 };

/* The backend the tests now running expect their contexts to have. */
static enum aead_backend want_backend = AEAD_BACKEND_OPENSSL;

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

/* The fields a schema has; those it lacks stay empty. */
enum vec_fields {
	VEC_AAD = 1 << 0,
	VEC_CT = 1 << 1,
	VEC_TAG = 1 << 2,
};

static bool vector_load(struct json_object *test, unsigned int fields,
			struct vector *v)
{
	struct json_object *res;

	v->id = get_int(test, "tcId");
	if (!json_object_object_get_ex(test, "result", &res))
		return false;
	v->valid = !strcmp(json_object_get_string(res), "valid");
	v->aad.len = v->ct.len = v->tag.len = 0;

	return get_blob(test, "key", &v->key) &&
	       get_blob(test, "iv", &v->iv) &&
	       get_blob(test, "msg", &v->msg) &&
	       (!(fields & VEC_AAD) || get_blob(test, "aad", &v->aad)) &&
	       (!(fields & VEC_CT) || get_blob(test, "ct", &v->ct)) &&
	       (!(fields & VEC_TAG) || get_blob(test, "tag", &v->tag));
}

/* GCM and ChaCha20-Poly1305: seal valid vectors, open all of them. */
static void vector_run_aead(const struct vector *v, enum xdpsec_alg alg)
{
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
	CHECK(aead_backend_of(a) == want_backend, "tcId %d: backend %s",
	      v->id, aead_backend_name(aead_backend_of(a)));

	/* Invalid vectors are about decryption; their sealing is not run. */
	if (v->valid) {
		memcpy(buf, v->msg.data, v->msg.len);
		ret = aead_seal(a, v->iv.data, v->aad.data, v->aad.len, buf,
				v->msg.len, tag);
		CHECK(ret == 0, "tcId %d: seal returned %d", v->id, ret);
		CHECK(!memcmp(buf, v->ct.data, v->ct.len),
		      "tcId %d: ciphertext differs", v->id);
		CHECK(!CRYPTO_memcmp(tag, v->tag.data, AEAD_TAG_MAX),
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

static void vector_run_gcm(const struct vector *v)
{
	vector_run_aead(v, v->key.len == 16 ? XDPSEC_ALG_AES_GCM_128 :
					      XDPSEC_ALG_AES_GCM_256);
}

static void vector_run_chacha(const struct vector *v)
{
	vector_run_aead(v, XDPSEC_ALG_CHACHA20_POLY1305);
}

/* GMAC: the message is all AAD, nothing is encrypted. */
static void vector_run_gmac(const struct vector *v)
{
	enum xdpsec_alg alg = v->key.len == 16 ? XDPSEC_ALG_AES_GMAC_128 :
						 XDPSEC_ALG_AES_GMAC_256;
	uint8_t tag[AEAD_TAG_MAX];
	struct aead *a;
	int ret;

	CHECK(v->tag.len == AEAD_TAG_MAX && v->iv.len == AEAD_NONCE_LEN,
	      "tcId %d: vector sizes", v->id);

	a = aead_new(alg, v->key.data);
	CHECK(a, "tcId %d: aead_new", v->id);
	if (!a)
		return;

	if (v->valid) {
		ret = aead_seal(a, v->iv.data, v->msg.data, v->msg.len, NULL, 0,
				tag);
		CHECK(ret == 0 && !CRYPTO_memcmp(tag, v->tag.data, AEAD_TAG_MAX),
		      "tcId %d: GMAC tag %d", v->id, ret);
	}

	ret = aead_open(a, v->iv.data, v->msg.data, v->msg.len, NULL, 0,
			v->tag.data);
	CHECK(ret == (v->valid ? 0 : -EBADMSG), "tcId %d: GMAC check %d",
	      v->id, ret);

	aead_free(a);
}

/* Checks and strips PKCS #5 padding, as the vectors' consumer must. */
static bool pkcs5_unpad(const uint8_t *buf, size_t len, size_t *msg_len)
{
	uint8_t n;

	if (!len || len % 16)
		return false;
	n = buf[len - 1];
	if (n < 1 || n > 16)
		return false;
	for (size_t i = len - n; i < len; i++) {
		if (buf[i] != n)
			return false;
	}
	*msg_len = len - n;
	return true;
}

/*
 * CBC without padding: valid vectors are encrypted after the test adds the
 * PKCS #5 padding, and every vector is decrypted raw, the padding being
 * checked by the test.  Invalid vectors have bad padding: a CBC context
 * must decrypt them all the same, and the padding check must fail.
 */
static void vector_run_cbc(const struct vector *v)
{
	enum xdpsec_alg alg = v->key.len == 16 ? XDPSEC_ALG_AES_CBC_128 :
						 XDPSEC_ALG_AES_CBC_256;
	uint8_t buf[BUF_MAX];
	size_t len, msg_len = 0;
	struct aead *a;
	bool unpadded;
	int ret;

	a = aead_new(alg, v->key.data);
	CHECK(a && v->iv.len == AEAD_CBC_IV_LEN, "tcId %d: aead_new", v->id);
	if (!a)
		return;

	if (v->valid) {
		uint8_t n = (uint8_t)(16 - v->msg.len % 16);

		len = v->msg.len + n;
		memcpy(buf, v->msg.data, v->msg.len);
		memset(buf + v->msg.len, n, n);
		ret = aead_encrypt(a, v->iv.data, buf, len);
		CHECK(ret == 0 && len == v->ct.len &&
			      !memcmp(buf, v->ct.data, len),
		      "tcId %d: CBC encryption %d", v->id, ret);
	}

	memcpy(buf, v->ct.data, v->ct.len);
	ret = aead_decrypt(a, v->iv.data, buf, v->ct.len);
	CHECK(ret == 0, "tcId %d: CBC decryption %d", v->id, ret);
	unpadded = !ret && pkcs5_unpad(buf, v->ct.len, &msg_len);
	if (v->valid)
		CHECK(unpadded && msg_len == v->msg.len &&
			      !memcmp(buf, v->msg.data, msg_len),
		      "tcId %d: CBC plaintext", v->id);
	else
		CHECK(!unpadded, "tcId %d: bad padding accepted", v->id);

	aead_free(a);
}

static bool key_ok(struct json_object *group)
{
	int key_size = get_int(group, "keySize");

	return key_size == 128 || key_size == 256;
}

/* ESP's nonces are 96 bits and its tags 128 (RFC 4106, 4543, 7634). */
static bool group_aead(struct json_object *group)
{
	return get_int(group, "ivSize") == 96 &&
	       get_int(group, "tagSize") == 128 && key_ok(group);
}

static bool group_cbc(struct json_object *group)
{
	return get_int(group, "ivSize") == 128 && key_ok(group);
}

struct suite {
	const char *file;
	enum xdpsec_alg alg;	/* one of the vectors', picks a backend */
	unsigned int fields;
	bool (*applies)(struct json_object *group);
	void (*run)(const struct vector *v);
	int min_run;
};

static const struct suite suites[] = {
	{ "tests/vectors/aes_gcm_test.json", XDPSEC_ALG_AES_GCM_128,
	  VEC_AAD | VEC_CT | VEC_TAG, group_aead, vector_run_gcm, 100 },
	{ "tests/vectors/chacha20_poly1305_test.json",
	  XDPSEC_ALG_CHACHA20_POLY1305, VEC_AAD | VEC_CT | VEC_TAG, group_aead,
	  vector_run_chacha, 300 },
	{ "tests/vectors/aes_gmac_test.json", XDPSEC_ALG_AES_GMAC_128, VEC_TAG,
	  group_aead, vector_run_gmac, 130 },
	{ "tests/vectors/aes_cbc_pkcs5_test.json", XDPSEC_ALG_AES_CBC_128,
	  VEC_CT, group_cbc, vector_run_cbc, 140 },
};

static void run_tests(const struct suite *st, struct json_object *tests,
		      bool applies, struct vector *v, int *run, int *skipped)
{
	for (size_t t = 0; t < json_object_array_length(tests); t++) {
		struct json_object *test;

		if (!applies) {
			(*skipped)++;
			continue;
		}

		test = json_object_array_get_idx(tests, t);
		if (!vector_load(test, st->fields, v)) {
			CHECK(0, "%s test %zu: cannot parse", st->file, t);
			continue;
		}
		st->run(v);
		(*run)++;
	}
}

static void test_wycheproof(const struct suite *st)
{
	struct json_object *root, *groups;
	int run = 0, not_applicable = 0;
	struct vector *v;

	root = json_object_from_file(st->file);
	CHECK(root, "cannot read %s", st->file);
	if (!root)
		return;

	CHECK(json_object_object_get_ex(root, "testGroups", &groups),
	      "no testGroups in %s", st->file);

	v = malloc(sizeof(*v));
	for (size_t g = 0; v && g < json_object_array_length(groups); g++) {
		struct json_object *group, *tests;

		group = json_object_array_get_idx(groups, g);
		if (!json_object_object_get_ex(group, "tests", &tests))
			continue;
		run_tests(st, tests, st->applies(group), v, &run,
			  &not_applicable);
	}

	CHECK(run >= st->min_run, "%s: only %d vectors run", st->file, run);
	printf("wycheproof %s (%s): %d vectors run, %d not applicable "
	       "(nonce, tag or key size)\n",
	       strrchr(st->file, '/') + 1, aead_backend_name(want_backend), run,
	       not_applicable);

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
	CHECK(aead_backend_of(a) == want_backend, "alg %d: backend %s", alg,
	      aead_backend_name(aead_backend_of(a)));

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
		      !CRYPTO_memcmp(tag, tag1, sizeof(tag)),
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

/* GMAC authenticates without encrypting: only AAD, any change fails. */
static void test_gmac(enum xdpsec_alg alg)
{
	uint8_t key[AEAD_KEY_MAX], nonce[AEAD_NONCE_LEN], msg[77];
	uint8_t tag[AEAD_TAG_MAX], buf[4] = { 1, 2, 3, 4 };
	struct aead_seg segs[3];
	struct aead *a;
	int bad = 0;

	fill(key, sizeof(key), 30);
	fill(nonce, sizeof(nonce), 31);
	fill(msg, sizeof(msg), 32);

	a = aead_new(alg, key);
	CHECK(a, "alg %d: aead_new", alg);
	if (!a)
		return;

	CHECK(aead_seal(a, nonce, msg, sizeof(msg), NULL, 0, tag) == 0,
	      "alg %d: GMAC seal", alg);

	/* The tag of pieces is the tag of their concatenation. */
	segs[0] = (struct aead_seg){ msg, 5 };
	segs[1] = (struct aead_seg){ msg + 5, 0 };
	segs[2] = (struct aead_seg){ msg + 5, sizeof(msg) - 5 };
	CHECK(aead_open_v(a, nonce, segs, 3, NULL, 0, tag) == 0,
	      "alg %d: GMAC over segments", alg);

	for (size_t i = 0; i < sizeof(msg); i += 7) {
		msg[i] ^= 0x40;
		bad += aead_open(a, nonce, msg, sizeof(msg), NULL, 0, tag) !=
		       -EBADMSG;
		msg[i] ^= 0x40;
	}
	CHECK(!bad, "alg %d: GMAC flipped AAD accepted (%d)", alg, bad);

	nonce[0] ^= 1;
	CHECK(aead_open(a, nonce, msg, sizeof(msg), NULL, 0, tag) == -EBADMSG,
	      "alg %d: GMAC wrong nonce", alg);
	nonce[0] ^= 1;

	/* Nothing to encrypt, and nothing a GMAC context will encrypt. */
	CHECK(aead_seal(a, nonce, msg, 8, buf, sizeof(buf), tag) == -EINVAL &&
		      buf[0] == 1,
	      "alg %d: GMAC refuses to encrypt", alg);
	CHECK(aead_encrypt(a, nonce, buf, 0) == -EINVAL,
	      "alg %d: GMAC is not a plain cipher", alg);

	aead_free(a);
}

/* CBC: in-place round trips, IV dependence, lengths, contexts reused. */
static void test_cbc(enum xdpsec_alg alg)
{
	uint8_t key[AEAD_KEY_MAX], iv[AEAD_CBC_IV_LEN], iv2[AEAD_CBC_IV_LEN];
	uint8_t msg[160], buf[160], first[160], tag[AEAD_TAG_MAX];
	struct aead *a, *b;
	int bad = 0;

	fill(key, sizeof(key), 40);
	fill(iv, sizeof(iv), 41);
	fill(msg, sizeof(msg), 42);

	a = aead_new(alg, key);
	b = aead_new(alg, key);
	CHECK(a && b, "alg %d: two CBC contexts", alg);
	if (!a || !b)
		goto out;

	memcpy(first, msg, sizeof(first));
	CHECK(aead_encrypt(a, iv, first, sizeof(first)) == 0 &&
		      memcmp(first, msg, sizeof(first)),
	      "alg %d: CBC encrypts", alg);

	/* Encryptions and decryptions alternate on both contexts. */
	for (int i = 0; i < 40; i++) {
		size_t len = (size_t)(i % 11) * 16;

		iv[15] = (uint8_t)i;
		memcpy(buf, msg, len);
		bad += !!aead_encrypt(a, iv, buf, len);
		bad += !!aead_decrypt(b, iv, buf, len);
		bad += !!memcmp(buf, msg, len);
		bad += !!aead_encrypt(b, iv, buf, len);
		bad += !!aead_decrypt(a, iv, buf, len);
		bad += !!memcmp(buf, msg, len);
	}
	CHECK(!bad, "alg %d: alternate encrypt/decrypt (%d bad)", alg, bad);

	/* Same key and IV, same output; another IV, another output. */
	fill(iv, sizeof(iv), 41);
	memcpy(buf, msg, sizeof(buf));
	aead_encrypt(b, iv, buf, sizeof(buf));
	CHECK(!memcmp(buf, first, sizeof(buf)), "alg %d: deterministic", alg);
	memcpy(iv2, iv, sizeof(iv2));
	iv2[3] ^= 1;
	memcpy(buf, msg, sizeof(buf));
	aead_encrypt(b, iv2, buf, sizeof(buf));
	CHECK(memcmp(buf, first, 16), "alg %d: IV changes the output", alg);

	/* A wrong IV garbles only the first block, as CBC does. */
	memcpy(buf, first, sizeof(buf));
	aead_decrypt(a, iv2, buf, sizeof(buf));
	CHECK(memcmp(buf, msg, 16) && !memcmp(buf + 16, msg + 16, 144),
	      "alg %d: wrong IV, first block only", alg);

	memcpy(buf, msg, sizeof(buf));
	CHECK(aead_encrypt(a, iv, buf, 15) == -EINVAL &&
		      aead_decrypt(a, iv, buf, 17) == -EINVAL &&
		      !memcmp(buf, msg, sizeof(buf)),
	      "alg %d: partial blocks refused", alg);
	CHECK(aead_seal(a, iv, NULL, 0, buf, 16, tag) == -EINVAL &&
		      aead_open(a, iv, NULL, 0, buf, 16, tag) == -EINVAL,
	      "alg %d: CBC is not an AEAD", alg);

out:
	aead_free(a);
	aead_free(b);
}

static void test_ivgen(void)
{
	enum { N = 2000 };
	static uint8_t ivs[N][AEAD_CBC_IV_LEN];
	uint8_t iv[AEAD_CBC_IV_LEN], plain[AEAD_CBC_IV_LEN] = { 0 };
	struct aead_ivgen *g, *h;
	int dup = 0, plainish = 0;

	g = aead_ivgen_new();
	h = aead_ivgen_new();
	CHECK(g && h, "two IV generators");
	if (!g || !h)
		goto out;

	for (uint64_t seq = 0; seq < N; seq++) {
		CHECK(aead_ivgen_next(g, seq, ivs[seq]) == 0, "ivgen %d",
		      (int)seq);

		/* The IV is not the sequence number, nor close to it. */
		for (int i = 0; i < 8; i++)
			plain[15 - i] = (uint8_t)(seq >> (8 * i));
		plainish += !memcmp(ivs[seq], plain, 8) ||
			    !memcmp(ivs[seq] + 8, plain + 8, 8);
	}
	CHECK(!plainish, "IVs look like sequence numbers (%d)", plainish);

	for (int i = 0; i < N; i++) {
		for (int j = 0; j < i; j++)
			dup += !memcmp(ivs[i], ivs[j], AEAD_CBC_IV_LEN);
	}
	CHECK(!dup, "IVs repeat (%d)", dup);

	/* Same generator and seq: same IV; another generator: another. */
	aead_ivgen_next(g, 77, iv);
	CHECK(!memcmp(iv, ivs[77], sizeof(iv)), "IV of a seq is stable");
	aead_ivgen_next(h, 77, iv);
	CHECK(memcmp(iv, ivs[77], sizeof(iv)), "generators have own keys");
	aead_ivgen_next(g, 1ULL << 40, iv);
	CHECK(memcmp(iv, ivs[0], sizeof(iv)), "high sequence bits count");

out:
	aead_ivgen_free(g);
	aead_ivgen_free(h);
	aead_ivgen_free(NULL);
}

struct want_info {
	enum xdpsec_alg alg;
	const char *name;
	size_t key_len, salt_len, iv_len, icv_len, block;
	enum aead_kind kind;
};

static const struct want_info want_infos[] = {
	{ XDPSEC_ALG_AES_GCM_128, "aes-gcm-128", 16, 4, 8, 16, 1,
	  AEAD_KIND_AEAD },
	{ XDPSEC_ALG_AES_GCM_256, "aes-gcm-256", 32, 4, 8, 16, 1,
	  AEAD_KIND_AEAD },
	{ XDPSEC_ALG_CHACHA20_POLY1305, "chacha20-poly1305", 32, 4, 8, 16, 1,
	  AEAD_KIND_AEAD },
	{ XDPSEC_ALG_AES_GMAC_128, "aes-gmac-128", 16, 4, 8, 16, 1,
	  AEAD_KIND_AUTH_ONLY },
	{ XDPSEC_ALG_AES_GMAC_256, "aes-gmac-256", 32, 4, 8, 16, 1,
	  AEAD_KIND_AUTH_ONLY },
	{ XDPSEC_ALG_AES_CBC_128, "aes-cbc-128", 16, 0, 16, 0, 16,
	  AEAD_KIND_CIPHER },
	{ XDPSEC_ALG_AES_CBC_256, "aes-cbc-256", 32, 0, 16, 0, 16,
	  AEAD_KIND_CIPHER },
	{ XDPSEC_ALG_NULL, "null", 0, 0, 0, 0, 1, AEAD_KIND_NULL },
};

static const struct {
	const char *name;
	enum xdpsec_alg alg;
} want_names[] = {
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

static void test_table(void)
{
	static const char *const rejected[] = {
		"aes-gcm-192", "", "aes-gcm-1280", "aes-cbc-192", "aes192",
		"AES-GCM-128", "nul", "null ", "chacha20", "aes-gmac",
	};
	uint8_t key[AEAD_KEY_MAX] = { 0 };
	enum xdpsec_alg alg;

	for (size_t i = 0; i < sizeof(want_infos) / sizeof(*want_infos);
	     i++) {
		const struct want_info *w = &want_infos[i];
		const struct aead_info *info = aead_info(w->alg);

		CHECK(info && !strcmp(info->name, w->name) &&
			      info->key_len == w->key_len &&
			      info->salt_len == w->salt_len &&
			      info->iv_len == w->iv_len &&
			      info->icv_len == w->icv_len &&
			      info->block == w->block && info->kind == w->kind,
		      "%s info", w->name);
		if (!info)
			continue;
		CHECK(info->key_len <= AEAD_KEY_MAX &&
			      info->iv_len <= AEAD_IV_MAX &&
			      info->icv_len <= AEAD_TAG_MAX &&
			      info->block <= AEAD_BLOCK_MAX,
		      "%s fits the maxima", w->name);

		alg = XDPSEC_ALG_NONE;
		CHECK(aead_alg_parse(w->name, &alg) == 0 && alg == w->alg,
		      "parse %s", w->name);
	}
	CHECK(!aead_info(XDPSEC_ALG_NONE), "no info for ALG_NONE");
	CHECK(!aead_info((enum xdpsec_alg)9), "no info for 9");
	CHECK(!aead_info((enum xdpsec_alg)-1), "no info for -1");

	for (size_t i = 0; i < sizeof(want_names) / sizeof(*want_names); i++) {
		alg = XDPSEC_ALG_NONE;
		CHECK(aead_alg_parse(want_names[i].name, &alg) == 0 &&
			      alg == want_names[i].alg,
		      "parse %s", want_names[i].name);
	}

	alg = XDPSEC_ALG_AES_GCM_128;
	for (size_t i = 0; i < sizeof(rejected) / sizeof(*rejected); i++)
		CHECK(aead_alg_parse(rejected[i], &alg) == -EINVAL,
		      "\"%s\" rejected", rejected[i]);
	CHECK(aead_alg_parse(NULL, &alg) == -EINVAL, "NULL name rejected");
	CHECK(alg == XDPSEC_ALG_AES_GCM_128, "failed parse leaves alg");

	CHECK(!aead_new(XDPSEC_ALG_NONE, key), "no context for ALG_NONE");
	CHECK(!aead_new(XDPSEC_ALG_NULL, key), "no context for NULL");
	CHECK(!aead_new((enum xdpsec_alg)9, key), "no context for 9");
	CHECK(!aead_new(XDPSEC_ALG_AES_CBC_128, NULL), "no key, no context");
	aead_free(NULL);
}

/*
 * The AAD in pieces: any split gives the tag of the concatenation, a long
 * piece is fine, and several pieces beyond AEAD_AAD_MAX in all are
 * refused by ipsec-mb contexts, before anything is touched.
 */
static void test_aad_segments(enum xdpsec_alg alg)
{
	uint8_t key[AEAD_KEY_MAX], nonce[AEAD_NONCE_LEN], aad[300];
	uint8_t msg[77], buf[77], ct[77], tag[AEAD_TAG_MAX];
	uint8_t tag1[AEAD_TAG_MAX];
	struct aead_seg segs[4];
	struct aead *a;
	int ret, want;

	fill(key, sizeof(key), 50);
	fill(nonce, sizeof(nonce), 51);
	fill(aad, sizeof(aad), 52);
	fill(msg, sizeof(msg), 53);

	a = aead_new(alg, key);
	CHECK(a && aead_backend_of(a) == want_backend, "alg %d: aead_new",
	      alg);
	if (!a)
		return;

	memcpy(ct, msg, sizeof(ct));
	CHECK(aead_seal(a, nonce, aad, 40, ct, sizeof(ct), tag1) == 0,
	      "alg %d: seal, AAD in one piece", alg);

	segs[0] = (struct aead_seg){ aad, 4 };
	segs[1] = (struct aead_seg){ NULL, 0 };
	segs[2] = (struct aead_seg){ aad + 4, 8 };
	segs[3] = (struct aead_seg){ aad + 12, 28 };
	memcpy(buf, msg, sizeof(buf));
	CHECK(aead_seal_v(a, nonce, segs, 4, buf, sizeof(buf), tag) == 0 &&
		      !memcmp(buf, ct, sizeof(buf)) &&
		      !CRYPTO_memcmp(tag, tag1, sizeof(tag)),
	      "alg %d: seal, AAD in pieces", alg);
	CHECK(aead_open_v(a, nonce, segs, 4, buf, sizeof(buf), tag) == 0 &&
		      !memcmp(buf, msg, sizeof(buf)),
	      "alg %d: open, AAD in pieces", alg);

	memcpy(buf, msg, sizeof(buf));
	ret = aead_seal(a, nonce, aad, sizeof(aad), buf, sizeof(buf), tag);
	CHECK(ret == 0 && aead_open(a, nonce, aad, sizeof(aad), buf,
				    sizeof(buf), tag) == 0 &&
		      !memcmp(buf, msg, sizeof(buf)),
	      "alg %d: %zu bytes of AAD in one piece", alg, sizeof(aad));

	want = want_backend == AEAD_BACKEND_IPSEC_MB ? -EINVAL : 0;
	segs[0] = (struct aead_seg){ aad, AEAD_AAD_MAX };
	segs[1] = (struct aead_seg){ aad + AEAD_AAD_MAX, 1 };
	memcpy(buf, msg, sizeof(buf));
	ret = aead_seal_v(a, nonce, segs, 2, buf, sizeof(buf), tag);
	CHECK(ret == want && (ret || aead_open_v(a, nonce, segs, 2, buf,
						  sizeof(buf), tag) == 0) &&
		      !memcmp(buf, msg, sizeof(buf)),
	      "alg %d: AEAD_AAD_MAX + 1 bytes in two pieces: %d", alg, ret);
	segs[0].len = AEAD_AAD_MAX - 1;
	ret = aead_seal_v(a, nonce, segs, 2, buf, sizeof(buf), tag);
	CHECK(ret == 0 && aead_open_v(a, nonce, segs, 2, buf, sizeof(buf),
				      tag) == 0 &&
		      !memcmp(buf, msg, sizeof(buf)),
	      "alg %d: AEAD_AAD_MAX bytes in two pieces: %d", alg, ret);

	aead_free(a);
}

/* What one backend seals, the other opens, to the same bytes. */
static void test_cross(enum xdpsec_alg alg)
{
	uint8_t key[AEAD_KEY_MAX], nonce[AEAD_NONCE_LEN], aad[12];
	uint8_t msg[100], x[100], y[100], tx[AEAD_TAG_MAX], ty[AEAD_TAG_MAX];
	struct aead_seg segs[3] = { { aad, 4 }, { aad + 4, 4 },
				    { aad + 8, 4 } };
	struct aead *o, *m;
	int bad = 0;

	fill(key, sizeof(key), 60);
	fill(nonce, sizeof(nonce), 61);
	fill(aad, sizeof(aad), 62);
	fill(msg, sizeof(msg), 63);

	aead_backend_set(AEAD_BACKEND_OPENSSL);
	o = aead_new(alg, key);
	aead_backend_set(AEAD_BACKEND_IPSEC_MB);
	m = aead_new(alg, key);
	aead_backend_set(AEAD_BACKEND_AUTO);
	CHECK(o && m && aead_backend_of(o) == AEAD_BACKEND_OPENSSL &&
		      aead_backend_of(m) == AEAD_BACKEND_IPSEC_MB,
	      "alg %d: one context per backend", alg);
	if (!o || !m)
		goto out;

	for (size_t len = 0; len <= sizeof(msg); len += 7) {
		nonce[11] = (uint8_t)len;
		memcpy(x, msg, len);
		memcpy(y, msg, len);
		bad += !!aead_seal_v(o, nonce, segs, 3, x, len, tx);
		bad += !!aead_seal_v(m, nonce, segs, 3, y, len, ty);
		bad += memcmp(x, y, len) || CRYPTO_memcmp(tx, ty, sizeof(tx));
		bad += !!aead_open_v(m, nonce, segs, 3, x, len, tx);
		bad += !!aead_open_v(o, nonce, segs, 3, y, len, ty);
		bad += memcmp(x, msg, len) || memcmp(y, msg, len);
	}
	CHECK(!bad, "alg %d: openssl and ipsec-mb disagree (%d)", alg, bad);

out:
	aead_free(o);
	aead_free(m);
}

enum { THREADS = 4, THREAD_PKTS = 32, THREAD_LEN = 200, THREAD_ROUNDS = 100 };

/* What every thread must get: the same key, nonces and messages. */
struct thread_ref {
	enum xdpsec_alg alg;
	uint8_t key[AEAD_KEY_MAX];
	uint8_t aad[8];
	uint8_t msg[THREAD_LEN];
	uint8_t ct[THREAD_PKTS][THREAD_LEN];
	uint8_t tag[THREAD_PKTS][AEAD_TAG_MAX];
};

static void thread_nonce(int i, uint8_t *nonce)
{
	memset(nonce, 0x77, AEAD_NONCE_LEN);
	nonce[AEAD_NONCE_LEN - 1] = (uint8_t)i;
}

/* One worker: its own context, sealing and opening over and over. */
static void *thread_run(void *arg)
{
	const struct thread_ref *r = arg;
	uint8_t nonce[AEAD_NONCE_LEN], buf[THREAD_LEN], tag[AEAD_TAG_MAX];
	struct aead *a = aead_new(r->alg, r->key);
	uintptr_t bad = 0;

	if (!a || aead_backend_of(a) != want_backend)
		bad++;
	for (int n = 0; a && n < THREAD_ROUNDS; n++) {
		for (int i = 0; i < THREAD_PKTS; i++) {
			size_t len = THREAD_LEN - (size_t)i;

			thread_nonce(i, nonce);
			memcpy(buf, r->msg, len);
			bad += aead_seal(a, nonce, r->aad, sizeof(r->aad), buf,
					 len, tag) != 0;
			bad += memcmp(buf, r->ct[i], len) != 0 ||
			       CRYPTO_memcmp(tag, r->tag[i], sizeof(tag)) != 0;
			bad += aead_open(a, nonce, r->aad, sizeof(r->aad), buf,
					 len, tag) != 0;
			bad += memcmp(buf, r->msg, len) != 0;
		}
	}
	aead_free(a);
	return (void *)bad;
}

/* Threads with a context each, at the same time, as the workers run. */
static void test_threads(enum xdpsec_alg alg)
{
	static struct thread_ref r;
	uint8_t nonce[AEAD_NONCE_LEN];
	pthread_t tids[THREADS];
	uintptr_t bad = 0;
	struct aead *a;
	int started = 0;

	r.alg = alg;
	fill(r.key, sizeof(r.key), 70);
	fill(r.aad, sizeof(r.aad), 71);
	fill(r.msg, sizeof(r.msg), 72);
	a = aead_new(alg, r.key);
	CHECK(a, "alg %d: aead_new", alg);
	if (!a)
		return;
	for (int i = 0; i < THREAD_PKTS; i++) {
		thread_nonce(i, nonce);
		memcpy(r.ct[i], r.msg, sizeof(r.msg));
		aead_seal(a, nonce, r.aad, sizeof(r.aad), r.ct[i],
			  THREAD_LEN - (size_t)i, r.tag[i]);
	}
	aead_free(a);

	for (int t = 0; t < THREADS; t++)
		started += !pthread_create(&tids[t], NULL, thread_run, &r);
	for (int t = 0; t < started; t++) {
		void *ret;

		pthread_join(tids[t], &ret);
		bad += (uintptr_t)ret;
	}
	CHECK(started == THREADS && !bad, "alg %d: %d threads, %lu bad", alg,
	      started, (unsigned long)bad);
}

static void test_backend_api(void)
{
	bool imb = aead_backend_available(AEAD_BACKEND_IPSEC_MB);
	char about[128];

	CHECK(aead_backend_available(AEAD_BACKEND_OPENSSL), "openssl there");
	CHECK(!strcmp(aead_backend_name(AEAD_BACKEND_OPENSSL), "openssl") &&
		      !strcmp(aead_backend_name(AEAD_BACKEND_IPSEC_MB),
			      "ipsec-mb") &&
		      !strcmp(aead_backend_name((enum aead_backend)9), "?"),
	      "backend names");
	CHECK(aead_backend_set(AEAD_BACKEND_NOCRYPTO) == -ENOTSUP &&
		      aead_backend_set((enum aead_backend)9) == -ENOTSUP,
	      "no backend without crypto in this build");
	CHECK(aead_backend_set(AEAD_BACKEND_IPSEC_MB) == (imb ? 0 : -ENOTSUP),
	      "ipsec-mb set as available");

	CHECK(aead_backend_set(AEAD_BACKEND_OPENSSL) == 0 &&
		      aead_backend_for(XDPSEC_ALG_AES_GCM_128) ==
			      AEAD_BACKEND_OPENSSL,
	      "GCM on OpenSSL when asked");
	CHECK(aead_backend_set(AEAD_BACKEND_AUTO) == 0 &&
		      aead_backend_for(XDPSEC_ALG_AES_GCM_256) ==
			      (imb ? AEAD_BACKEND_IPSEC_MB :
				     AEAD_BACKEND_OPENSSL),
	      "GCM on the fastest backend by default");
	CHECK(aead_backend_for(XDPSEC_ALG_CHACHA20_POLY1305) ==
			      AEAD_BACKEND_OPENSSL &&
		      aead_backend_for(XDPSEC_ALG_AES_GMAC_128) ==
			      AEAD_BACKEND_OPENSSL &&
		      aead_backend_for(XDPSEC_ALG_AES_CBC_256) ==
			      AEAD_BACKEND_OPENSSL,
	      "the other algorithms on OpenSSL");

	aead_backend_about(AEAD_BACKEND_OPENSSL, about, sizeof(about));
	CHECK(strstr(about, "OpenSSL"), "openssl about: %s", about);
}

/*
 * Everything that goes through one backend: the vector suites and the
 * tests of the algorithms it does.
 */
static void test_backend(enum aead_backend b)
{
	static const enum xdpsec_alg aeads[] = {
		XDPSEC_ALG_AES_GCM_128,
		XDPSEC_ALG_AES_GCM_256,
		XDPSEC_ALG_CHACHA20_POLY1305,
	};
	int suites_run = 0;
	char about[128];

	aead_backend_about(b, about, sizeof(about));
	if (aead_backend_set(b)) {
		printf("backend %s: SKIPPED (%s)\n", aead_backend_name(b),
		       about);
		return;
	}
	printf("backend %s: %s\n", aead_backend_name(b), about);
	want_backend = b;

	for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++) {
		if (aead_backend_for(suites[i].alg) != b)
			continue;
		test_wycheproof(&suites[i]);
		suites_run++;
	}
	/* OpenSSL does every suite; ipsec-mb the AES-GCM one. */
	CHECK(suites_run == (b == AEAD_BACKEND_OPENSSL ? 4 : 1),
	      "%s: %d vector suites run", aead_backend_name(b), suites_run);

	for (size_t i = 0; i < sizeof(aeads) / sizeof(aeads[0]); i++) {
		if (aead_backend_for(aeads[i]) != b)
			continue;
		test_tamper(aeads[i]);
		test_reuse(aeads[i]);
		test_aad_segments(aeads[i]);
		test_threads(aeads[i]);
	}
	test_keys_differ();

	aead_backend_set(AEAD_BACKEND_AUTO);
}

int main(void)
{
	test_table();
	test_backend_api();
	test_backend(AEAD_BACKEND_OPENSSL);
	test_backend(AEAD_BACKEND_IPSEC_MB);
	if (aead_backend_available(AEAD_BACKEND_IPSEC_MB)) {
		test_cross(XDPSEC_ALG_AES_GCM_128);
		test_cross(XDPSEC_ALG_AES_GCM_256);
	}

	want_backend = AEAD_BACKEND_OPENSSL;
	test_gmac(XDPSEC_ALG_AES_GMAC_128);
	test_gmac(XDPSEC_ALG_AES_GMAC_256);
	test_cbc(XDPSEC_ALG_AES_CBC_128);
	test_cbc(XDPSEC_ALG_AES_CBC_256);
	test_ivgen();

	return check_summary();
}
