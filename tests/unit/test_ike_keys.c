// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of the IKEv2 key schedule: the PRF against RFC 4231, and
 * prf+, SKEYSEED with the seven keys (new and rekeyed IKE SA), CHILD_SA
 * KEYMAT with and without PFS and the PSK AUTH value against a second
 * implementation of RFC 7296 (tests/tools/ike_keys_vectors.py, whose
 * output the arrays below are).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "ike_keys.h"

static const char prf_plus_384[] =
	"05dbb52a5ace04ac804da5d2d92b816ee4e32669f46f3f9d41a288ec3732a360"
	"56a279eaadcfabd1c53bb1ef8e79466dbf0a03061b25a6fa7db2b89fa600d7b1"
	"eb5815f22312bcc5bea29920da0c3cb6368d08bd9f45161d8339d8a23262c806"
	"c71ae3dc50f396825919a06d39b29dad9bb6a7c03ec4f56ad79fdbdf4e253885"
	"dfeae76704617c57c264882b31e1d8228d0bf57365a14810343d1a1de30e09cf"
	"4558411c9e1a7d56b6bb16b9d2f83f1207d77906a31f02ec9839666d436a97c8"
	"fa68d597d96bbd2b";
static const char keys_5_32_20[] =
	"63ef63d130242e629756c7441ab5c0f6df7661ab794ba1982f27504d65120387"
	"56a9c230f97d28137e982ec6808e90a4d55f1f8e4f974b65924467e046424285"
	"410bbfb3f32482ddc6989c472e22c94e8e334fb68f72b7c26f950cc595d70ecd"
	"22319d47d0ed7b8e4f2dfa4ea74f40d478556931569336ca2af7d4334da3b888"
	"28b2363217895f852b865b576507284034d55559bf31d0b7d5f61560a255151b"
	"be065a0910ffa9468ec59118c21816f8dd2a79f14580fe34380691aa754a0892"
	"e134a78645eca72b";
static const char keys_7_64_36[] =
	"3589b813bb764974ecc50ac83e25d4b0c8c1402628933aabe45528b6794318b4"
	"c055f918a97af0f8e36919e3e43bd88682325bc615357c06b21317cf85d8ad36"
	"32f65d8418fd885975f196ee7eacb0e31855633bfe43b2592294f4046d3f60d0"
	"697909ec24f21f5301d76a2cc1368867f3ada66f53152e0db653029f9a1a2af6"
	"f27d06e0393c160daaf42ceee6f555c9fab076aabb1d317e8e8750c30b0216be"
	"c4d698c9220861e1633e56c40e5329a976fd519275e879f7f813e7704760a709"
	"a398e7f527fecbbbbdd56477a8613a248e963d5a819236e1be677b75002cdcee"
	"6fa28640617b3619a5d21a2fe83c864bf63ea5a97d870487d4ccc32103f58f99"
	"b8aeae0e313ddbce81b866a9f29561a3a7dda038fbd94a7c9d453131fce0fa50"
	"54684e41611356997a5afbdce8a81363d7b087455da17a755f47f6267e0f1d3b"
	"1d7bdf491c89394fa75619ae1fb20637fd7844ee729ea67767996d1df87c354a"
	"c2f6022039fc47631aa20718f2e05cd3d37547db6504773c2d5764f636d80dd3"
	"eba13f96a292c5c0";
static const char keys_6_0_36[] =
	"60f8d053b637d68b3d6572aa65c40dd4648b545f1a7f20fc0928b5b4c25f4934"
	"e35a5a3e8e2e0f964e5f0d222d8f9035f6193545a46c427ea847499f14d455a5"
	"5ee1730280199344878ee956e02e47752765e185cd4a8926d5d2d9496953f6af"
	"8e8e2924380e3ff593a926a565d4f5fb873b77023ca7a65a4aa1a11490506e66"
	"dd3c389f7dd8559e9f03d76732f7ae6622cfd0037eb5fad8622bfdea7cffe585"
	"a11c39dabe949d006f667ef92fcf0eba38e0b2dc6ea3909505dfaaeced49de10"
	"48037d7f2af5c7228947cc1371222ed7af96710dc2fd565d";
static const char rekey_5[] =
	"d958e8603a17e1cd7ee9842b22b5a28d468d004f93fd48512b921ee0d6b39065"
	"dd52d6a1fe5011c9e9c373d55c5e215260a45ffed76e124210d5801c1d417d5b"
	"0e6e915e278cf495156ecddab128b1593c702e3e28e981eb7a8d7b0a42d5dd5d"
	"fcd57934b685dc84fd5d7051a559d641b1a0deee3e2213a481acffd8f70bc58b"
	"1e48da9f8d47a4e7310ea29183d0e7236d7fb97b63608ed64b612cee12c3c00a"
	"39eca69a5c471b439a6cf8ad6f6a4dabb597fae5e2f201b928f65e8725125216"
	"819065da7b3b3035";
static const char child_nopfs[] =
	"6f7e6ac90b9b91baac17d207c8859d36d22d859730f7716453b5d6c95401326b"
	"bf7665ddb622efa3";
static const char child_pfs[] =
	"b0fb4f3d9d5db32d0c131e9776acc62ae86f98f29343b79901d84189afa51827"
	"591122bb89cd9f54c6f3f80698abd53b7acea46219e1aef1a8c4923df7f5cc90"
	"4a8801006cc44e4ff0650ea44e428d27d834c9e567d5c21f705dcfa5931a4125"
	"0644bef78c19794f386e8508193ce980d6158757dd373f6c7ffce07196b87775";
static const char psk_auth[] =
	"54920c4d312f22b52c292f1549bd29e83bdc36cf29b07be53bd85d1297e7afbd";

static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = strlen(hex) / 2;

	for (size_t i = 0; i < n && i < cap; i++) {
		unsigned int b;

		sscanf(hex + 2 * i, "%2x", &b);
		out[i] = (uint8_t)b;
	}
	return n < cap ? n : cap;
}

static bool same(const uint8_t *got, const char *want_hex, size_t off,
		 size_t len)
{
	uint8_t want[512];
	size_t n = unhex(want_hex, want, sizeof(want));

	return off + len <= n && !memcmp(got, want + off, len);
}

/* The inputs of tests/tools/ike_keys_vectors.py. */
static uint8_t ni[32], nr[48], gir[32], old_sk_d[32], sk_p[32];
static const uint64_t spi_i = 0x0123456789abcdefULL;
static const uint64_t spi_r = 0xfedcba9876543210ULL;

static void inputs(void)
{
	for (int i = 0; i < 32; i++) {
		ni[i] = (uint8_t)i;
		gir[i] = (uint8_t)(7 * i + 3);
		old_sk_d[i] = (uint8_t)(200 + i);
		sk_p[i] = (uint8_t)(50 + i);
	}
	for (int i = 0; i < 48; i++)
		nr[i] = (uint8_t)(100 + i);
}

static void test_prf(void)
{
	static const char *data = "what do ya want for nothing?";
	const struct ike_seg seg = { data, strlen(data) };
	const char *want =
		"5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
	uint8_t out[IKE_PRF_MAX];

	CHECK(!ike_prf(IKE_PRF_HMAC_SHA2_256, (const uint8_t *)"Jefe", 4, &seg,
		       1, out) && same(out, want, 0, 32), "RFC 4231 case 2");
	CHECK(ike_prf(2, out, 4, &seg, 1, out) == -EINVAL,
	      "HMAC-SHA1 (2) is not a PRF we offer");
}

static void test_prf_plus(void)
{
	uint8_t key[20], out[255 * 48];
	const struct ike_seg seed = { "seed", 4 };

	memset(key, 0x0b, sizeof(key));
	CHECK(!ike_prf_plus(IKE_PRF_HMAC_SHA2_384, key, 20, &seed, 1, out, 200)
	      && same(out, prf_plus_384, 0, 200), "prf+ over 5 blocks");
	CHECK(!ike_prf_plus(IKE_PRF_HMAC_SHA2_384, key, 20, &seed, 1, out,
			    255 * 48), "prf+ to 255 blocks");
	CHECK(ike_prf_plus(IKE_PRF_HMAC_SHA2_384, key, 20, &seed, 1, out,
			   255 * 48 + 1) == -EINVAL, "prf+ past 255 blocks");
}

/* Every key lands where the RFC's order puts it. */
static void check_keys(const struct ike_sa_keys *k, const char *want,
		       const char *what)
{
	size_t p = k->prf_len, i = k->integ_len, e = k->encr_len, o = 0;

	CHECK(same(k->sk_d, want, o, p), "%s: SK_d", what);
	o += p;
	CHECK(same(k->sk_ai, want, o, i), "%s: SK_ai", what);
	o += i;
	CHECK(same(k->sk_ar, want, o, i), "%s: SK_ar", what);
	o += i;
	CHECK(same(k->sk_ei, want, o, e), "%s: SK_ei", what);
	o += e;
	CHECK(same(k->sk_er, want, o, e), "%s: SK_er", what);
	o += e;
	CHECK(same(k->sk_pi, want, o, p), "%s: SK_pi", what);
	o += p;
	CHECK(same(k->sk_pr, want, o, p), "%s: SK_pr", what);
}

static void test_derive(void)
{
	struct ike_keys_input in = {
		.ni = ni, .ni_len = sizeof(ni), .nr = nr, .nr_len = sizeof(nr),
		.gir = gir, .gir_len = sizeof(gir),
		.spi_i = spi_i, .spi_r = spi_r,
	};
	static const uint8_t zero[sizeof(struct ike_sa_keys)];
	struct ike_sa_keys k = { .integ_len = 32, .encr_len = 20 };

	CHECK(!ike_keys_derive(IKE_PRF_HMAC_SHA2_256, &in, &k), "derive");
	check_keys(&k, keys_5_32_20, "sha256, cbc/hmac");
	k = (struct ike_sa_keys){ .integ_len = 64, .encr_len = 36 };
	CHECK(!ike_keys_derive(IKE_PRF_HMAC_SHA2_512, &in, &k), "derive");
	check_keys(&k, keys_7_64_36, "sha512");
	k = (struct ike_sa_keys){ .integ_len = 0, .encr_len = 36 };
	CHECK(!ike_keys_derive(IKE_PRF_HMAC_SHA2_384, &in, &k), "derive");
	check_keys(&k, keys_6_0_36, "sha384, aead");

	in.old_sk_d = old_sk_d;
	in.old_sk_d_len = sizeof(old_sk_d);
	k = (struct ike_sa_keys){ .integ_len = 32, .encr_len = 20 };
	CHECK(!ike_keys_derive(IKE_PRF_HMAC_SHA2_256, &in, &k), "rekey");
	check_keys(&k, rekey_5, "rekeyed IKE SA");

	ike_keys_wipe(&k);
	CHECK(!memcmp(&k, zero, sizeof(k)), "wipe clears every key");
	k = (struct ike_sa_keys){ .integ_len = 65, .encr_len = 20 };
	CHECK(ike_keys_derive(IKE_PRF_HMAC_SHA2_256, &in, &k) == -EINVAL,
	      "oversized integrity key refused");
}

static void test_child(void)
{
	uint8_t out[128];

	CHECK(!ike_child_keymat(IKE_PRF_HMAC_SHA2_256, old_sk_d, 32, NULL, 0,
				ni, sizeof(ni), nr, sizeof(nr), out, 40) &&
	      same(out, child_nopfs, 0, 40), "CHILD_SA KEYMAT without PFS");
	CHECK(!ike_child_keymat(IKE_PRF_HMAC_SHA2_256, old_sk_d, 32, gir,
				sizeof(gir), ni, sizeof(ni), nr, sizeof(nr),
				out, 128) &&
	      same(out, child_pfs, 0, 128), "CHILD_SA KEYMAT with PFS");
}

static void test_psk(void)
{
	static const char msg_text[] = "IKE_SA_INIT request bytes";
	static const uint8_t id[] = "\x02\x00\x00\x00gw1.example";
	uint8_t msg[3 * (sizeof(msg_text) - 1)], out[IKE_PRF_MAX];

	for (int i = 0; i < 3; i++)
		memcpy(msg + i * (sizeof(msg_text) - 1), msg_text,
		       sizeof(msg_text) - 1);
	CHECK(!ike_psk_auth(IKE_PRF_HMAC_SHA2_256,
			    (const uint8_t *)"swordfish", 9, msg, sizeof(msg),
			    nr, sizeof(nr), sk_p, id, sizeof(id) - 1, out) &&
	      same(out, psk_auth, 0, 32), "PSK AUTH value");
}

int main(void)
{
	inputs();
	test_prf();
	test_prf_plus();
	test_derive();
	test_child();
	test_psk();
	return check_summary();
}
