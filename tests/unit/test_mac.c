// SPDX-License-Identifier: GPL-2.0-only
/*
 * HMAC-SHA2 with truncation, against the Wycheproof HMAC vectors: every
 * vector whose key is the length RFC 4868 uses and whose tag is the
 * truncated length ESP and AH send.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "check.h"
#include "mac.h"

static int unhex(const char *s, uint8_t *out, size_t cap)
{
	size_t n = strlen(s) / 2;

	if (n > cap)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned int b;

		if (sscanf(s + 2 * i, "%2x", &b) != 1)
			return -1;
		out[i] = b;
	}
	return n;
}

static const char *jstr(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) ?
		       json_object_get_string(v) : "";
}

static int jint(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) ?
		       json_object_get_int(v) : -1;
}

/* Runs one vector; returns 1 if it applied. */
static int run_vector(enum xdpsec_integ integ, struct json_object *t,
		      int tag_bits)
{
	const struct mac_info *info = mac_info(integ);
	uint8_t key[MAC_KEY_MAX], tag[MAC_ICV_MAX], msg[4096];
	int klen = unhex(jstr(t, "key"), key, sizeof(key));
	int tlen = unhex(jstr(t, "tag"), tag, sizeof(tag));
	int mlen = unhex(jstr(t, "msg"), msg, sizeof(msg));
	bool valid = !strcmp(jstr(t, "result"), "valid");
	struct mac_seg seg = { msg, mlen > 0 ? mlen : 0 };
	uint8_t got[MAC_ICV_MAX];
	struct mac *m;
	int id = jint(t, "tcId");

	if (klen != (int)info->key_len || tag_bits != (int)info->icv_len * 8 ||
	    tlen != (int)info->icv_len || mlen < 0)
		return 0;
	m = mac_new(integ, key);
	CHECK(m, "%s #%d: mac_new", info->name, id);
	if (!m)
		return 1;
	CHECK(!mac_compute(m, &seg, 1, got), "%s #%d: compute", info->name,
	      id);
	if (valid) {
		CHECK(!memcmp(got, tag, tlen), "%s #%d: tag", info->name, id);
		CHECK(!mac_verify(m, &seg, 1, tag), "%s #%d: verify",
		      info->name, id);
	} else {
		CHECK(mac_verify(m, &seg, 1, tag) == -EBADMSG,
		      "%s #%d: invalid tag accepted", info->name, id);
	}
	mac_free(m);
	return 1;
}

static void run_file(const char *path, enum xdpsec_integ integ)
{
	struct json_object *root = json_object_from_file(path), *groups;
	int used = 0;

	CHECK(root, "cannot read %s", path);
	if (!root || !json_object_object_get_ex(root, "testGroups", &groups))
		return;
	for (size_t g = 0; g < json_object_array_length(groups); g++) {
		struct json_object *grp = json_object_array_get_idx(groups, g);
		struct json_object *tests;
		int tag_bits = jint(grp, "tagSize");

		if (!json_object_object_get_ex(grp, "tests", &tests))
			continue;
		for (size_t i = 0; i < json_object_array_length(tests); i++)
			used += run_vector(integ,
					   json_object_array_get_idx(tests, i),
					   tag_bits);
	}
	printf("%s: %d vectors with the RFC 4868 key and tag sizes\n", path,
	       used);
	CHECK(used > 0, "%s: no vector applied", path);
	json_object_put(root);
}

/* Split input must give the same ICV as one piece. */
static void test_segments(void)
{
	uint8_t key[64] = { 1, 2, 3 }, data[300], a[32], b[32];
	struct mac_seg one = { data, sizeof(data) };
	struct mac_seg three[3] = {
		{ data, 7 }, { data + 7, 0 }, { data + 7, sizeof(data) - 7 },
	};
	struct mac *m = mac_new(XDPSEC_INTEG_HMAC_SHA512_256, key);

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = i * 7;
	CHECK(m && !mac_compute(m, &one, 1, a) && !mac_compute(m, three, 3, b)
		      && !memcmp(a, b, 32),
	      "segments give the same ICV as one piece");
	mac_free(m);
}

static void test_names(void)
{
	enum xdpsec_integ integ;

	CHECK(!mac_parse("hmac-sha256-128", &integ) &&
		      integ == XDPSEC_INTEG_HMAC_SHA256_128, "sha256 name");
	CHECK(!mac_parse("sha384", &integ) &&
		      integ == XDPSEC_INTEG_HMAC_SHA384_192, "sha384 alias");
	CHECK(mac_parse("hmac-md5-96", &integ) == -EINVAL, "md5 unknown");
	CHECK(!mac_info(XDPSEC_INTEG_NONE), "none has no info");
}

int main(void)
{
	run_file("tests/vectors/hmac_sha256_test.json",
		 XDPSEC_INTEG_HMAC_SHA256_128);
	run_file("tests/vectors/hmac_sha384_test.json",
		 XDPSEC_INTEG_HMAC_SHA384_192);
	run_file("tests/vectors/hmac_sha512_test.json",
		 XDPSEC_INTEG_HMAC_SHA512_256);
	test_segments();
	test_names();
	return check_summary();
}
