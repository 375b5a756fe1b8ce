// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of the cipher contexts: the Wycheproof vectors that fit ESP
 * (AES-GCM, ChaCha20-Poly1305 and AES-GMAC with a 96-bit nonce and 128-bit
 * tag, AES-CBC with its 128-bit IV; 128- or 256-bit AES keys), tampering,
 * context reuse, the CBC IV generator and the algorithm table.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/crypto.h>

#include "aead.h"
#include "check.h"

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
	unsigned int fields;
	bool (*applies)(struct json_object *group);
	void (*run)(const struct vector *v);
	int min_run;
};

static const struct suite suites[] = {
	{ "tests/vectors/aes_gcm_test.json", VEC_AAD | VEC_CT | VEC_TAG,
	  group_aead, vector_run_gcm, 100 },
	{ "tests/vectors/chacha20_poly1305_test.json",
	  VEC_AAD | VEC_CT | VEC_TAG, group_aead, vector_run_chacha, 300 },
	{ "tests/vectors/aes_gmac_test.json", VEC_TAG, group_aead,
	  vector_run_gmac, 130 },
	{ "tests/vectors/aes_cbc_pkcs5_test.json", VEC_CT, group_cbc,
	  vector_run_cbc, 140 },
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
	printf("wycheproof %s: %d vectors run, %d not applicable "
	       "(nonce, tag or key size)\n",
	       strrchr(st->file, '/') + 1, run, not_applicable);

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

int main(void)
{
	static const enum xdpsec_alg aeads[] = {
		XDPSEC_ALG_AES_GCM_128,
		XDPSEC_ALG_AES_GCM_256,
		XDPSEC_ALG_CHACHA20_POLY1305,
	};

	test_table();
	for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++)
		test_wycheproof(&suites[i]);

	for (size_t i = 0; i < sizeof(aeads) / sizeof(aeads[0]); i++) {
		test_tamper(aeads[i]);
		test_reuse(aeads[i]);
	}
	test_keys_differ();
	test_gmac(XDPSEC_ALG_AES_GMAC_128);
	test_gmac(XDPSEC_ALG_AES_GMAC_256);
	test_cbc(XDPSEC_ALG_AES_CBC_128);
	test_cbc(XDPSEC_ALG_AES_CBC_256);
	test_ivgen();

	return check_summary();
}
