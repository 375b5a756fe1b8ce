// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of the IKE Encrypted payload: messages protected by a second
 * implementation (tests/tools/ike_sk_vectors.py, on Python's cryptography
 * package) open, and seal to the same bytes where the IV is a counter;
 * round trips for every transform; any flipped bit anywhere in a message
 * makes it fail to open; wrong lengths and bad padding are refused.  The
 * transforms go through each cipher backend built in that does them.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "aead.h"
#include "check.h"
#include "ike_sk.h"

static const char gcm128_msg[] =
	"112233445566778899aabbccddeeff002e202308000000010000005e23000042"
	"00000000000000012f1f72971ea40731fe002976bf77b40977d278edb6bccbe7"
	"32b0de4454862d779a8eabd85131602d7ce4c4f9f0e17c90d133b0ac64fe";
static const char gcm256_msg[] =
	"112233445566778899aabbccddeeff002e202308000000010000005e23000042"
	"0000000000000001d9c1d6eb1e54b6d562b6c20b1f182de52b3af83348295768"
	"f694d80a66de55f69a8b4e6d11bb1fe662b18e9069361703e8560f08d16d";
static const char chacha_msg[] =
	"112233445566778899aabbccddeeff002e202308000000010000005e23000042"
	"00000000000000014eb25bab28952a1170ffa47578bae0c1a3e36f9e38f6b74e"
	"c334b014db949c5f5baaad6eba000366b7b4a5c93d2c6189f29997e0a7cf";
static const char gcm128_badpad_msg[] =
	"112233445566778899aabbccddeeff002e20230800000001000000482300002c"
	"000000000000000146711cf26c847750876c4617db0494ae6b76d8def9b34778"
	"d213efc56ed84601";
static const char cbc128_sha256_msg[] =
	"112233445566778899aabbccddeeff002e202308000000010000007023000054"
	"000102030405060708090a0b0c0d0e0fa5a086952e2d70b83d45b01bebb87ac5"
	"d4abcfeb5e2fcb6ea8164731a8b2231750be55ed354074bc25db5d28f2c99387"
	"e5125ae3f46dd8b534749939fe133bed";
static const char cbc256_sha512_msg[] =
	"112233445566778899aabbccddeeff002e202308000000010000008023000064"
	"000102030405060708090a0b0c0d0e0f970f64cd912f899d9b504a9ea3796379"
	"fe15ef11c57a5bada1ecd1df37a3b859484e9f1026ce9c98da70a7ba483428d2"
	"b62dd5605c4e9143b5ad306701b4b3be03b06c4150c082ecac725e02145a90ee";

static const char inner[] = "inner payloads of an IKE_AUTH request";

enum { MSG_MAX = 512, SK_OFF = IKE_HDR_LEN, SK_HDR = 4 };

static size_t unhex(const char *hex, uint8_t *out)
{
	size_t n = strlen(hex) / 2;

	for (size_t i = 0; i < n; i++) {
		unsigned int b;

		sscanf(hex + 2 * i, "%2x", &b);
		out[i] = (uint8_t)b;
	}
	return n;
}

struct xform {
	const char *name;
	enum xdpsec_alg alg;
	enum xdpsec_integ integ;
	size_t key_len;		/* with the salt */
	size_t integ_len;
	const char *msg;	/* as the second implementation sealed it */
	bool counter_iv;	/* sealing gives the same bytes */
};

static const struct xform xforms[] = {
	{ "aes-gcm-128", XDPSEC_ALG_AES_GCM_128, XDPSEC_INTEG_NONE, 20, 0,
	  gcm128_msg, true },
	{ "aes-gcm-256", XDPSEC_ALG_AES_GCM_256, XDPSEC_INTEG_NONE, 36, 0,
	  gcm256_msg, true },
	{ "chacha20-poly1305", XDPSEC_ALG_CHACHA20_POLY1305, XDPSEC_INTEG_NONE,
	  36, 0, chacha_msg, true },
	{ "aes-cbc-128/sha256", XDPSEC_ALG_AES_CBC_128,
	  XDPSEC_INTEG_HMAC_SHA256_128, 16, 32, cbc128_sha256_msg, false },
	{ "aes-cbc-256/sha512", XDPSEC_ALG_AES_CBC_256,
	  XDPSEC_INTEG_HMAC_SHA512_256, 32, 64, cbc256_sha512_msg, false },
};

/* The keys of tests/tools/ike_sk_vectors.py. */
static struct ike_sk *sk_for(const struct xform *x)
{
	uint8_t ekey[36], ikey[64];

	for (size_t i = 0; i < sizeof(ekey); i++)
		ekey[i] = (uint8_t)i;
	if (x->integ == XDPSEC_INTEG_NONE)
		memcpy(ekey + x->key_len - 4, "\xa0\xa1\xa2\xa3", 4);
	for (size_t i = 0; i < sizeof(ikey); i++)
		ikey[i] = (uint8_t)(64 + i);
	return ike_sk_new(x->alg, x->integ, ekey, ikey);
}

/* Opens the second implementation's message. */
static void test_open_known(const struct xform *x)
{
	struct ike_sk *sk = sk_for(x);
	uint8_t msg[MSG_MAX], *plain;
	size_t len = unhex(x->msg, msg), plain_len;

	CHECK(sk, "%s: keys", x->name);
	if (!sk)
		return;
	CHECK(!ike_sk_open(sk, msg, len, SK_OFF, SK_HDR, &plain, &plain_len) &&
	      plain_len == strlen(inner) && !memcmp(plain, inner, plain_len),
	      "%s: opens the known message", x->name);
	ike_sk_free(sk);
}

/*
 * Seals: the same bytes as the second implementation when the IV is the
 * counter's first value; then the message opens, and no bit of it can be
 * flipped without the opening failing.
 */
static void test_seal(const struct xform *x)
{
	struct ike_sk *tx = sk_for(x), *rx = sk_for(x);
	uint8_t msg[MSG_MAX], want[MSG_MAX], copy[MSG_MAX], *plain;
	size_t want_len = unhex(x->msg, want), len = 0, plain_len;
	int flips_caught = 0, flips = 0;

	CHECK(tx && rx, "%s: keys", x->name);
	if (!tx || !rx)
		goto out;
	memcpy(msg, want, SK_OFF + SK_HDR);	/* the two headers */
	memcpy(msg + ike_sk_plain_off(tx, SK_OFF, SK_HDR), inner,
	       strlen(inner));
	CHECK(!ike_sk_seal(tx, msg, sizeof(msg), SK_OFF, SK_HDR, strlen(inner),
			   &len) && len == want_len, "%s: seals, %zu bytes",
	      x->name, len);
	if (x->counter_iv)
		CHECK(!memcmp(msg, want, want_len),
		      "%s: sealed as the second implementation", x->name);

	for (size_t i = 0; i < len; i++) {
		for (int bit = 0; bit < 8; bit += 3) {
			memcpy(copy, msg, len);
			copy[i] ^= (uint8_t)(1 << bit);
			flips++;
			if (ike_sk_open(rx, copy, len, SK_OFF, SK_HDR, &plain,
					&plain_len) == -EBADMSG)
				flips_caught++;
		}
	}
	CHECK(flips_caught == flips, "%s: %d of %d flipped bits caught",
	      x->name, flips_caught, flips);
	CHECK(!ike_sk_open(rx, msg, len, SK_OFF, SK_HDR, &plain, &plain_len) &&
	      plain_len == strlen(inner) && !memcmp(plain, inner, plain_len),
	      "%s: round trip", x->name);
	CHECK(ike_sk_open(rx, msg, SK_OFF + SK_HDR + 8, SK_OFF, SK_HDR, &plain,
			  &plain_len) == -EBADMSG, "%s: too short", x->name);
	CHECK(ike_sk_seal(tx, msg, len - 1, SK_OFF, SK_HDR, strlen(inner),
			  &len) == -ENOSPC, "%s: no room", x->name);
out:
	ike_sk_free(tx);
	ike_sk_free(rx);
}

static void test_iv_unique(void)
{
	struct ike_sk *sk = sk_for(&xforms[0]);
	uint8_t a[MSG_MAX] = { 0 }, b[MSG_MAX] = { 0 };
	size_t len;

	ike_sk_seal(sk, a, sizeof(a), SK_OFF, SK_HDR, 10, &len);
	ike_sk_seal(sk, b, sizeof(b), SK_OFF, SK_HDR, 10, &len);
	CHECK(memcmp(a + SK_OFF + SK_HDR, b + SK_OFF + SK_HDR, 8),
	      "two messages, two IVs");
	ike_sk_free(sk);
}

static void test_refused(void)
{
	uint8_t key[64] = { 0 };

	CHECK(!ike_sk_new(XDPSEC_ALG_AES_GCM_128, XDPSEC_INTEG_HMAC_SHA256_128,
			  key, key), "AEAD with an integ refused");
	CHECK(!ike_sk_new(XDPSEC_ALG_AES_CBC_128, XDPSEC_INTEG_NONE, key, key),
	      "CBC without an integ refused");
	CHECK(!ike_sk_new(XDPSEC_ALG_NULL, XDPSEC_INTEG_HMAC_SHA256_128, key,
			  key), "NULL encryption refused");
	CHECK(!ike_sk_new(XDPSEC_ALG_AES_GMAC_128, XDPSEC_INTEG_NONE, key, key),
	      "GMAC refused");
}

/* A pad length that claims more than the payload holds, under a valid tag. */
static void test_bad_padding(void)
{
	struct ike_sk *tx = sk_for(&xforms[0]), *rx = sk_for(&xforms[0]);
	uint8_t msg[MSG_MAX] = { 0 }, *plain;
	size_t len = unhex(gcm128_badpad_msg, msg), plain_len;

	CHECK(ike_sk_open(rx, msg, len, SK_OFF, SK_HDR, &plain, &plain_len) ==
	      -EBADMSG, "pad length beyond the payload refused");
	memset(msg, 0, sizeof(msg));
	ike_sk_seal(tx, msg, sizeof(msg), SK_OFF, SK_HDR, 0, &len);
	CHECK(!ike_sk_open(rx, msg, len, SK_OFF, SK_HDR, &plain, &plain_len) &&
	      plain_len == 0, "empty inner payloads open");
	ike_sk_free(tx);
	ike_sk_free(rx);
}

/* OpenSSL does every transform, ipsec-mb the two AES-GCM ones. */
static void test_backend(enum aead_backend b, int want)
{
	int n = 0;

	if (aead_backend_set(b)) {
		printf("ike_sk: backend %s SKIPPED (not built in or not usable here)\n",
		       aead_backend_name(b));
		return;
	}
	for (size_t i = 0; i < sizeof(xforms) / sizeof(xforms[0]); i++) {
		if (aead_backend_for(xforms[i].alg) != b)
			continue;
		test_open_known(&xforms[i]);
		test_seal(&xforms[i]);
		n++;
	}
	CHECK(n == want, "%s: %d transforms", aead_backend_name(b), n);
	printf("ike_sk: %d transforms through %s\n", n, aead_backend_name(b));
	aead_backend_set(AEAD_BACKEND_AUTO);
}

int main(void)
{
	test_backend(AEAD_BACKEND_OPENSSL, 5);
	test_backend(AEAD_BACKEND_IPSEC_MB, 2);
	test_iv_unique();
	test_refused();
	test_bad_padding();
	return check_summary();
}
