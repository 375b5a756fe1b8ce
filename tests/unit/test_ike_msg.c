// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of the IKEv2 message codec: a hand-written IKE_SA_INIT
 * request, round trips of every payload through the builder and the
 * decoders, and every rule by which a message or payload is refused.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <openssl/crypto.h>

#include "check.h"
#include "ike_msg.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

enum {
	BUF_LEN = 4096,
	UNKNOWN_PAYLOAD = 60,	/* a payload type nobody has defined */
	PROPOSAL_LEN_ONE = 16,	/* a proposal of one bare transform */
};

/*
 * An IKE_SA_INIT request as a current implementation sends it: three IKE
 * proposals, an ECP-256 key share, a 32-byte nonce, both NAT detection
 * notifies, fragmentation support and the signature hashes of RFC 7427.
 */
static const uint8_t sa_init[] = {
	/* Header: SPIs, SA next, version 2.0, IKE_SA_INIT, I, ID 0. */
	0x8a, 0x3f, 0x1c, 0x2b, 0x5d, 0x6e, 0x7f, 0x90,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x21, 0x20, 0x22, 0x08, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x01, 0x5c,
	/* SA, 132 bytes, KE next. */
	0x22, 0x00, 0x00, 0x84,
	/* Proposal 1 of 3: IKE, no SPI, 4 transforms. */
	0x02, 0x00, 0x00, 0x2c, 0x01, 0x01, 0x00, 0x04,
	/* ENCR_AES_CBC, KEY_LENGTH 256. */
	0x03, 0x00, 0x00, 0x0c, 0x01, 0x00, 0x00, 0x0c,
	0x80, 0x0e, 0x01, 0x00,
	/* AUTH_HMAC_SHA2_256_128, PRF_HMAC_SHA2_256, group 19. */
	0x03, 0x00, 0x00, 0x08, 0x03, 0x00, 0x00, 0x0c,
	0x03, 0x00, 0x00, 0x08, 0x02, 0x00, 0x00, 0x05,
	0x00, 0x00, 0x00, 0x08, 0x04, 0x00, 0x00, 0x13,
	/* Proposal 2: ENCR_AES_GCM_16 256, PRF SHA2-384, groups 20, 31. */
	0x02, 0x00, 0x00, 0x2c, 0x02, 0x01, 0x00, 0x04,
	0x03, 0x00, 0x00, 0x0c, 0x01, 0x00, 0x00, 0x14,
	0x80, 0x0e, 0x01, 0x00,
	0x03, 0x00, 0x00, 0x08, 0x02, 0x00, 0x00, 0x06,
	0x03, 0x00, 0x00, 0x08, 0x04, 0x00, 0x00, 0x14,
	0x00, 0x00, 0x00, 0x08, 0x04, 0x00, 0x00, 0x1f,
	/* Proposal 3: ChaCha20-Poly1305, PRF SHA2-512, groups 31, 14. */
	0x00, 0x00, 0x00, 0x28, 0x03, 0x01, 0x00, 0x04,
	0x03, 0x00, 0x00, 0x08, 0x01, 0x00, 0x00, 0x1c,
	0x03, 0x00, 0x00, 0x08, 0x02, 0x00, 0x00, 0x07,
	0x03, 0x00, 0x00, 0x08, 0x04, 0x00, 0x00, 0x1f,
	0x00, 0x00, 0x00, 0x08, 0x04, 0x00, 0x00, 0x0e,
	/* KE, 72 bytes, Nonce next: group 19, x || y. */
	0x28, 0x00, 0x00, 0x48, 0x00, 0x13, 0x00, 0x00,
	0x5c, 0x1e, 0x33, 0x8a, 0x90, 0x0b, 0x27, 0xd4,
	0x6f, 0x41, 0xe2, 0x18, 0xab, 0x7c, 0x05, 0x96,
	0x3d, 0xc8, 0x52, 0xf1, 0x0e, 0x64, 0xb9, 0x2a,
	0x87, 0x15, 0xdc, 0x40, 0x9e, 0x73, 0x21, 0xfa,
	0x06, 0xbd, 0x48, 0x95, 0x1c, 0xe7, 0x3a, 0x60,
	0xd2, 0x8f, 0x14, 0x7b, 0xc3, 0x59, 0xa0, 0x2e,
	0xf6, 0x81, 0x4d, 0x3b, 0x97, 0x0c, 0x65, 0xe8,
	0x2b, 0xd0, 0x76, 0x19, 0xac, 0x43, 0xf5, 0x8e,
	/* Nonce, 36 bytes, N next. */
	0x29, 0x00, 0x00, 0x24,
	0x91, 0x4e, 0x07, 0xbb, 0x62, 0xd8, 0x35, 0xf0,
	0x1a, 0xc7, 0x7e, 0x23, 0x58, 0x9d, 0xe4, 0x0f,
	0xb6, 0x3c, 0x81, 0x5a, 0x27, 0xfe, 0x44, 0x99,
	0x0d, 0x70, 0xcb, 0x16, 0xa3, 0x6b, 0x38, 0xd5,
	/* NAT_DETECTION_SOURCE_IP, SHA-1 digest. */
	0x29, 0x00, 0x00, 0x1c, 0x00, 0x00, 0x40, 0x04,
	0xe3, 0x52, 0x0f, 0x9c, 0x7a, 0x21, 0xb8, 0x46,
	0xd1, 0x6e, 0x03, 0xaf, 0x58, 0xc4, 0x97, 0x2d,
	0x1b, 0x80, 0x3e, 0xf7,
	/* NAT_DETECTION_DESTINATION_IP. */
	0x29, 0x00, 0x00, 0x1c, 0x00, 0x00, 0x40, 0x05,
	0x46, 0xb9, 0x12, 0xe0, 0x8d, 0x35, 0x7f, 0xca,
	0x04, 0x6b, 0xd9, 0x21, 0x93, 0x5e, 0xa8, 0x1f,
	0xc2, 0x77, 0x0a, 0x3d,
	/* IKEV2_FRAGMENTATION_SUPPORTED. */
	0x29, 0x00, 0x00, 0x08, 0x00, 0x00, 0x40, 0x2e,
	/* SIGNATURE_HASH_ALGORITHMS: SHA2-256, -384, -512, Identity. */
	0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x40, 0x2f,
	0x00, 0x02, 0x00, 0x03, 0x00, 0x04, 0x00, 0x05,
};

/* Where the parts of sa_init start. */
enum sa_init_offsets {
	OFF_SA = 28,
	OFF_P1 = 32,
	OFF_P1_T1 = 40,
	OFF_P1_T2 = 52,
	OFF_P1_T4 = 68,
	OFF_P2 = 76,
	OFF_P3 = 120,
	OFF_KE = 160,
	OFF_NONCE = 232,
	OFF_NAT_SRC = 268,
	OFF_END = 348,
};

_Static_assert(sizeof(sa_init) == OFF_END, "sa_init length");

static const uint64_t sa_init_ispi = 0x8a3f1c2b5d6e7f90ULL;

/* The SA of sa_init as a builder's description. */
static const struct ike_transform sa_init_t1[] = {
	{ .type = IKE_TRANSFORM_ENCR, .id = IKE_ENCR_AES_CBC, .key_len = 256 },
	{ .type = IKE_TRANSFORM_INTEG, .id = IKE_INTEG_HMAC_SHA2_256_128 },
	{ .type = IKE_TRANSFORM_PRF, .id = IKE_PRF_HMAC_SHA2_256 },
	{ .type = IKE_TRANSFORM_KE, .id = IKE_GROUP_ECP_256 },
};

static const struct ike_transform sa_init_t2[] = {
	{ .type = IKE_TRANSFORM_ENCR, .id = IKE_ENCR_AES_GCM_16,
	  .key_len = 256 },
	{ .type = IKE_TRANSFORM_PRF, .id = IKE_PRF_HMAC_SHA2_384 },
	{ .type = IKE_TRANSFORM_KE, .id = IKE_GROUP_ECP_384 },
	{ .type = IKE_TRANSFORM_KE, .id = IKE_GROUP_CURVE25519 },
};

static const struct ike_transform sa_init_t3[] = {
	{ .type = IKE_TRANSFORM_ENCR, .id = IKE_ENCR_CHACHA20_POLY1305 },
	{ .type = IKE_TRANSFORM_PRF, .id = IKE_PRF_HMAC_SHA2_512 },
	{ .type = IKE_TRANSFORM_KE, .id = IKE_GROUP_CURVE25519 },
	{ .type = IKE_TRANSFORM_KE, .id = IKE_GROUP_MODP_2048 },
};

static const struct ike_proposal sa_init_props[] = {
	{ .protocol = IKE_PROTO_IKE, .ntransforms = 4,
	  .transforms = sa_init_t1 },
	{ .protocol = IKE_PROTO_IKE, .ntransforms = 4,
	  .transforms = sa_init_t2 },
	{ .protocol = IKE_PROTO_IKE, .ntransforms = 4,
	  .transforms = sa_init_t3 },
};

/* ---- Helpers ---- */

static int parse(const uint8_t *buf, size_t len, struct ike_err *err)
{
	static struct ike_msg m;

	memset(err, 0, sizeof(*err));
	return ike_msg_parse(&m, buf, len, err);
}

/* Parses sa_init after writing v into byte off of a copy. */
static int parse_patched(size_t off, uint8_t v, struct ike_err *err)
{
	uint8_t buf[sizeof(sa_init)];

	memcpy(buf, sa_init, sizeof(buf));
	buf[off] = v;
	return parse(buf, sizeof(buf), err);
}

static bool is_syntax(int rc, const struct ike_err *err)
{
	return rc == -EBADMSG && err->notify == IKE_N_INVALID_SYNTAX &&
	       err->what;
}

static void hdr_init(struct ike_hdr *h, uint8_t exchange)
{
	memset(h, 0, sizeof(*h));
	h->ispi = sa_init_ispi;
	h->rspi = 0x0102030405060708ULL;
	h->exchange = exchange;
	h->flags = IKE_FLAG_I;
	h->msg_id = 1;
}

/*
 * Ends the bare chain built in b, parses it back into m and returns its
 * only payload, or NULL when any step failed.
 */
static const struct ike_payload *reparse(struct ike_buf *b, struct ike_msg *m)
{
	struct ike_err err;

	if (ike_buf_finish(b))
		return NULL;
	if (ike_msg_parse_inner(m, b->first, b->data, b->len, &err))
		return NULL;
	return m->npayloads == 1 ? &m->payloads[0] : NULL;
}

/* ---- The IKE_SA_INIT request ---- */

static void test_sa_init_header(const struct ike_msg *m)
{
	CHECK(m->hdr.ispi == sa_init_ispi, "initiator SPI");
	CHECK(m->hdr.rspi == 0, "responder SPI");
	CHECK(m->hdr.next == IKE_PL_SA, "first payload");
	CHECK(m->hdr.version == 0x20, "version");
	CHECK(m->hdr.exchange == IKE_SA_INIT, "exchange");
	CHECK(m->hdr.flags == IKE_FLAG_I, "flags");
	CHECK(m->hdr.msg_id == 0, "message ID");
	CHECK(m->hdr.length == sizeof(sa_init), "length");
}

static void test_sa_init_sa(const struct ike_msg *m)
{
	static struct ike_sa_payload sa;
	const struct ike_payload *p = ike_msg_find(m, IKE_PL_SA, NULL);
	struct ike_err err;

	CHECK(p && ike_decode_sa(p, &sa, &err) == 0, "SA decodes");
	if (!p)
		return;
	CHECK(sa.nproposals == 3, "three proposals");
	CHECK(sa.ntransforms == 12, "twelve transforms");
	for (size_t i = 0; i < sa.nproposals; i++) {
		CHECK(sa.proposals[i].num == i + 1, "proposal %zu number", i);
		CHECK(!sa.proposals[i].spi, "proposal %zu without SPI", i);
		CHECK(ike_proposal_equal(&sa.proposals[i], &sa_init_props[i]),
		      "proposal %zu as described", i);
	}
	CHECK(sa.proposals[1].transforms[0].key_len == 256, "GCM key length");
	CHECK(sa.proposals[2].transforms[0].key_len == 0, "ChaCha20 has none");
}

static void test_sa_init_payloads(const struct ike_msg *m)
{
	const struct ike_payload *p;
	struct ike_notify n;
	struct ike_bytes nonce;
	struct ike_err err;
	struct ike_ke_payload ke;
	int count = 0;

	p = ike_msg_find(m, IKE_PL_KE, NULL);
	CHECK(p && ike_decode_ke(p, &ke, &err) == 0, "KE decodes");
	CHECK(p && ke.group == IKE_GROUP_ECP_256 && ke.len == 64 &&
		      ke.data == sa_init + OFF_KE + 8,
	      "KE group 19, 64 bytes in place");

	p = ike_msg_find(m, IKE_PL_NONCE, NULL);
	CHECK(p && ike_decode_nonce(p, &nonce, &err) == 0 && nonce.len == 32,
	      "nonce of 32 bytes");

	for (p = ike_msg_find(m, IKE_PL_N, NULL); p;
	     p = ike_msg_find(m, IKE_PL_N, p)) {
		CHECK(ike_decode_notify(p, &n, &err) == 0, "notify decodes");
		count++;
	}
	CHECK(count == 4, "four notifies, found %d", count);

	p = ike_msg_find(m, IKE_PL_N, NULL);
	CHECK(ike_decode_notify(p, &n, &err) == 0 &&
		      n.type == IKE_N_NAT_DETECTION_SOURCE_IP && n.len == 20 &&
		      n.data == sa_init + OFF_NAT_SRC + 8 && !n.spi,
	      "NAT_DETECTION_SOURCE_IP");
	p = &m->payloads[m->npayloads - 1];
	CHECK(ike_decode_notify(p, &n, &err) == 0 &&
		      n.type == IKE_N_SIGNATURE_HASH_ALGORITHMS && n.len == 8,
	      "SIGNATURE_HASH_ALGORITHMS last");
}

static void test_sa_init(void)
{
	static const uint8_t order[] = { IKE_PL_SA, IKE_PL_KE, IKE_PL_NONCE,
					 IKE_PL_N,  IKE_PL_N,  IKE_PL_N,
					 IKE_PL_N };
	static struct ike_msg m;
	struct ike_err err;
	bool same = true;

	CHECK(ike_msg_parse(&m, sa_init, sizeof(sa_init), &err) == 0,
	      "IKE_SA_INIT parses");
	CHECK(m.npayloads == ARRAY_SIZE(order), "payload count %zu",
	      m.npayloads);
	for (size_t i = 0; i < ARRAY_SIZE(order) && i < m.npayloads; i++)
		same &= m.payloads[i].type == order[i];
	CHECK(same, "payloads in order");
	CHECK(m.payloads[0].body == sa_init + OFF_SA + 4 &&
		      m.payloads[0].len == OFF_KE - OFF_SA - 4,
	      "SA body in place");

	test_sa_init_header(&m);
	test_sa_init_sa(&m);
	test_sa_init_payloads(&m);
}

/* The builder writes sa_init byte for byte. */
static void test_sa_init_build(void)
{
	static const uint8_t sig_hashes[] = { 0, 2, 0, 3, 0, 4, 0, 5 };
	uint8_t buf[BUF_LEN];
	struct ike_notify n = { 0 };
	struct ike_hdr h;
	struct ike_ke_payload ke = { IKE_GROUP_ECP_256, 64, sa_init + OFF_KE + 8 };
	struct ike_buf b;

	hdr_init(&h, IKE_SA_INIT);
	h.rspi = 0;
	h.msg_id = 0;

	ike_buf_init(&b, buf, sizeof(buf));
	ike_put_hdr(&b, &h);
	ike_put_sa(&b, sa_init_props, ARRAY_SIZE(sa_init_props));
	ike_put_ke(&b, &ke);
	ike_put_nonce(&b, sa_init + OFF_NONCE + 4, 32);
	n.type = IKE_N_NAT_DETECTION_SOURCE_IP;
	n.data = sa_init + OFF_NAT_SRC + 8;
	n.len = 20;
	ike_put_notify(&b, &n);
	n.type = IKE_N_NAT_DETECTION_DESTINATION_IP;
	n.data = sa_init + OFF_NAT_SRC + 28 + 8;
	ike_put_notify(&b, &n);
	n.type = IKE_N_IKEV2_FRAGMENTATION_SUPPORTED;
	n.len = 0;
	ike_put_notify(&b, &n);
	n.type = IKE_N_SIGNATURE_HASH_ALGORITHMS;
	n.data = sig_hashes;
	n.len = sizeof(sig_hashes);
	ike_put_notify(&b, &n);

	CHECK(ike_buf_finish(&b) == 0, "IKE_SA_INIT builds");
	CHECK(b.len == sizeof(sa_init) && !memcmp(buf, sa_init, b.len),
	      "built IKE_SA_INIT equals the hand-written one");
}

/* ---- Rejections of the message and chain ---- */

static void test_truncated(void)
{
	uint8_t buf[sizeof(sa_init)];
	struct ike_err err;
	int accepted = 0, patched = 0;

	/* As received: every prefix fails at least the length check. */
	for (size_t len = 0; len < sizeof(sa_init); len++)
		accepted += parse(sa_init, len, &err) == 0;
	CHECK(!accepted, "%d truncated messages accepted", accepted);

	/* With the length field agreeing, the payload chain must fail. */
	for (size_t len = IKE_HDR_LEN; len < sizeof(sa_init); len++) {
		memcpy(buf, sa_init, len);
		buf[26] = (uint8_t)(len >> 8);
		buf[27] = (uint8_t)len;
		patched += !is_syntax(parse(buf, len, &err), &err);
	}
	CHECK(!patched, "%d truncated chains not refused as syntax", patched);
}

static void test_header_rejections(void)
{
	struct ike_err err;
	int rc;

	rc = parse_patched(17, 0x10, &err);
	CHECK(rc == -EPROTONOSUPPORT &&
		      err.notify == IKE_N_INVALID_MAJOR_VERSION,
	      "version 1 refused");
	rc = parse_patched(17, 0x30, &err);
	CHECK(rc == -EPROTONOSUPPORT &&
		      err.notify == IKE_N_INVALID_MAJOR_VERSION,
	      "version 3 refused");
	CHECK(parse_patched(17, 0x21, &err) == 0, "minor version ignored");

	rc = parse_patched(27, 0x5d, &err);
	CHECK(is_syntax(rc, &err), "length field one more");
	rc = parse_patched(27, 0x5b, &err);
	CHECK(is_syntax(rc, &err), "length field one less");
	rc = parse(sa_init, IKE_HDR_LEN - 1, &err);
	CHECK(is_syntax(rc, &err), "shorter than a header");
}

static void test_chain_rejections(void)
{
	struct ike_err err;
	int rc;

	/* The KE payload's length is at OFF_KE + 2 and + 3. */
	rc = parse_patched(OFF_KE + 3, 3, &err);
	CHECK(is_syntax(rc, &err), "payload length 3");
	rc = parse_patched(OFF_KE + 3, 0, &err);
	CHECK(is_syntax(rc, &err), "payload length 0");
	rc = parse_patched(OFF_KE + 2, 0x10, &err);
	CHECK(is_syntax(rc, &err), "payload overruns the message");
	rc = parse_patched(OFF_KE + 3, 0x49, &err);
	CHECK(is_syntax(rc, &err), "payload one byte too long");

	/* The last payload names a next one that is not there. */
	rc = parse_patched(OFF_END - 16, IKE_PL_V, &err);
	CHECK(is_syntax(rc, &err), "chain runs past the end");

	/* The header says the chain is empty, yet bytes follow. */
	rc = parse_patched(16, IKE_PL_NONE, &err);
	CHECK(is_syntax(rc, &err), "bytes after the end of the chain");
}

static size_t build_unknown(uint8_t *buf, bool critical)
{
	static const uint8_t body[] = { 1, 2, 3, 4, 5 };
	static const uint8_t nonce[IKE_NONCE_MIN] = { 0 };
	struct ike_hdr h;
	struct ike_buf b;

	hdr_init(&h, IKE_INFORMATIONAL);
	ike_buf_init(&b, buf, BUF_LEN);
	ike_put_hdr(&b, &h);
	ike_put_nonce(&b, nonce, sizeof(nonce));
	ike_put_raw(&b, UNKNOWN_PAYLOAD, critical, body, sizeof(body));
	ike_put_vendor(&b, body, sizeof(body));
	return ike_buf_finish(&b) ? 0 : b.len;
}

static void test_unknown_payloads(void)
{
	static struct ike_msg m;
	uint8_t buf[BUF_LEN];
	struct ike_err err;
	size_t len;
	int rc;

	len = build_unknown(buf, true);
	rc = ike_msg_parse(&m, buf, len, &err);
	CHECK(rc == -EOPNOTSUPP &&
		      err.notify == IKE_N_UNSUPPORTED_CRITICAL_PAYLOAD &&
		      err.data_len == 1 && err.data[0] == UNKNOWN_PAYLOAD,
	      "unknown critical payload refused, naming its type");

	len = build_unknown(buf, false);
	rc = ike_msg_parse(&m, buf, len, &err);
	CHECK(rc == 0 && m.npayloads == 2 &&
		      m.payloads[0].type == IKE_PL_NONCE &&
		      m.payloads[1].type == IKE_PL_V,
	      "unknown non-critical payload skipped");

	/* The critical bit of a known payload means nothing. */
	buf[IKE_HDR_LEN + 1] = 0x80;
	CHECK(ike_msg_parse(&m, buf, len, &err) == 0 && m.payloads[0].critical,
	      "critical known payload accepted");
}

static void test_repeats(void)
{
	static const uint8_t vid[] = { 'x', 'd', 'p' };
	static struct ike_msg m;
	uint8_t buf[BUF_LEN];
	struct ike_err err;
	struct ike_buf b;
	int rc;

	ike_buf_init(&b, buf, sizeof(buf));
	ike_put_sa(&b, sa_init_props, 1);
	ike_put_sa(&b, sa_init_props, 1);
	CHECK(ike_buf_finish(&b) == 0, "two SA payloads build");
	rc = ike_msg_parse_inner(&m, b.first, buf, b.len, &err);
	CHECK(is_syntax(rc, &err), "duplicate SA refused");

	ike_buf_init(&b, buf, sizeof(buf));
	ike_put_vendor(&b, vid, sizeof(vid));
	ike_put_vendor(&b, vid, sizeof(vid));
	ike_put_raw(&b, IKE_PL_N, false, (const uint8_t *)"\0\0\x40\0", 4);
	ike_put_raw(&b, IKE_PL_N, false, (const uint8_t *)"\0\0\x40\0", 4);
	CHECK(ike_buf_finish(&b) == 0 &&
		      ike_msg_parse_inner(&m, b.first, buf, b.len, &err) == 0 &&
		      m.npayloads == 4,
	      "repeated V and N accepted");
}

static void test_sk_not_last(void)
{
	static const uint8_t body[32] = { 0 };
	static struct ike_msg m;
	struct ike_notify n = { .type = IKE_N_INITIAL_CONTACT };
	uint8_t buf[BUF_LEN];
	struct ike_err err;
	struct ike_hdr h;
	struct ike_buf b;
	size_t len;
	int rc;

	hdr_init(&h, IKE_AUTH);
	ike_buf_init(&b, buf, sizeof(buf));
	ike_put_hdr(&b, &h);
	ike_put_sk(&b, IKE_PL_IDI, body, sizeof(body));
	rc = ike_put_notify(&b, &n);
	CHECK(rc == -EINVAL && ike_buf_finish(&b) == -EINVAL && !b.overflow,
	      "builder refuses a payload after SK");

	/* The same by hand: SK's length covers its body only. */
	ike_buf_init(&b, buf, sizeof(buf));
	ike_put_hdr(&b, &h);
	ike_put_sk(&b, IKE_PL_IDI, body, sizeof(body));
	ike_buf_finish(&b);
	len = b.len;
	memcpy(buf + len, "\0\0\0\x08\0\0\x40\0", 8);
	len += 8;
	buf[27] = (uint8_t)len;
	rc = ike_msg_parse(&m, buf, len, &err);
	CHECK(is_syntax(rc, &err), "SK not last refused");

	/* SK as the last payload keeps the first inner type. */
	buf[27] = (uint8_t)(len - 8);
	rc = ike_msg_parse(&m, buf, len - 8, &err);
	CHECK(rc == 0 && m.npayloads == 1 && m.payloads[0].type == IKE_PL_SK &&
		      m.payloads[0].next == IKE_PL_IDI &&
		      m.payloads[0].len == sizeof(body),
	      "SK last accepted with its inner type");
}

static void test_too_many(void)
{
	static struct ike_msg m;
	uint8_t buf[BUF_LEN];
	struct ike_err err;
	struct ike_buf b;
	int rc;

	ike_buf_init(&b, buf, sizeof(buf));
	for (int i = 0; i < IKE_PAYLOADS_MAX; i++)
		ike_put_vendor(&b, (const uint8_t *)"v", 1);
	CHECK(ike_buf_finish(&b) == 0, "%d payloads build", IKE_PAYLOADS_MAX);
	rc = ike_msg_parse_inner(&m, b.first, buf, b.len, &err);
	CHECK(rc == 0 && m.npayloads == IKE_PAYLOADS_MAX,
	      "%d payloads accepted", IKE_PAYLOADS_MAX);

	ike_put_vendor(&b, (const uint8_t *)"v", 1);
	CHECK(ike_buf_finish(&b) == 0, "one more builds");
	rc = ike_msg_parse_inner(&m, b.first, buf, b.len, &err);
	CHECK(is_syntax(rc, &err), "%d payloads refused", IKE_PAYLOADS_MAX + 1);
}

/* ---- Rejections of the SA payload ---- */

static void test_sa_rejections(void)
{
	/* Proposal numbers are at + 4, transform counts at + 7. */
	static const struct {
		size_t off;
		uint8_t v;
		const char *what;
	} bad[] = {
		{ OFF_P1 + 4, 0, "proposal number 0" },
		{ OFF_P1 + 4, 2, "first proposal 2" },
		{ OFF_P2 + 4, 3, "proposals 1, 3" },
		{ OFF_P3 + 4, 2, "proposals 1, 2, 2" },
		{ OFF_P1, 0, "first proposal marked last" },
		{ OFF_P1, 3, "proposal last substructure 3" },
		{ OFF_P3, 2, "last proposal marked more" },
		{ OFF_P1_T1, 0, "first transform marked last" },
		{ OFF_P1_T2, 2, "transform last substructure 2" },
		{ OFF_P1_T4, 3, "last transform marked more" },
		{ OFF_P1 + 7, 3, "transform count one less" },
		{ OFF_P1 + 7, 5, "transform count one more" },
		{ OFF_P1 + 7, 0, "no transforms" },
		{ OFF_P1 + 6, 4, "IKE proposal with SPI size 4" },
		{ OFF_P1 + 5, 4, "proposal of protocol 4" },
		{ OFF_P1 + 3, 0x2d, "proposal length one more" },
		{ OFF_P1 + 3, 0x07, "proposal length under 8" },
		{ OFF_P1_T1 + 3, 0x0d, "transform length one more" },
		{ OFF_P1_T1 + 3, 0x0a, "transform cuts its attribute" },
		{ OFF_P1_T1 + 8, 0x00, "KEY_LENGTH as TLV, overrunning" },
		{ OFF_P1_T1 + 10, 0x00, "KEY_LENGTH of 0 (high byte)" },
	};
	static struct ike_msg m;
	static struct ike_sa_payload sa;
	uint8_t buf[sizeof(sa_init)];
	struct ike_err err;
	int rc;

	/* The chain parse does not look inside the SA payload. */
	rc = parse_patched(OFF_P2 + 4, 3, &err);
	CHECK(rc == 0, "bad proposal number passes the chain parse");

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		memcpy(buf, sa_init, sizeof(buf));
		buf[bad[i].off] = bad[i].v;
		if (bad[i].off == OFF_P1_T1 + 10)
			buf[bad[i].off + 1] = 0;
		rc = ike_msg_parse(&m, buf, sizeof(buf), &err);
		if (rc) {
			CHECK(0, "%s: chain refused", bad[i].what);
			continue;
		}
		rc = ike_decode_sa(&m.payloads[0], &sa, &err);
		CHECK(is_syntax(rc, &err), "%s refused (%d)", bad[i].what, rc);
	}
}

static void test_sa_prefixes(void)
{
	static struct ike_msg m;
	static struct ike_sa_payload sa;
	struct ike_payload p;
	struct ike_err err;
	int accepted = 0;

	ike_msg_parse(&m, sa_init, sizeof(sa_init), &err);
	p = m.payloads[0];
	for (p.len = 0; p.len < m.payloads[0].len; p.len++)
		accepted += ike_decode_sa(&p, &sa, &err) == 0;
	CHECK(!accepted, "%d truncated SA bodies accepted", accepted);
}

/* Builds an SA of nprops proposals of ntrans transforms each into b. */
static void build_big_sa(struct ike_buf *b, uint8_t *buf, size_t nprops,
			 uint8_t ntrans)
{
	static struct ike_transform t[IKE_TRANSFORMS_MAX];
	static struct ike_proposal props[IKE_PROPOSALS_MAX];

	for (size_t i = 0; i < ntrans; i++)
		t[i] = (struct ike_transform){ .type = IKE_TRANSFORM_KE,
					       .id = (uint16_t)i };
	for (size_t i = 0; i < nprops; i++)
		props[i] = (struct ike_proposal){ .protocol = IKE_PROTO_IKE,
						  .ntransforms = ntrans,
						  .transforms = t };
	ike_buf_init(b, buf, BUF_LEN * 4);
	ike_put_sa(b, props, nprops);
}

static void test_sa_limits(void)
{
	enum { PER_PROPOSAL = IKE_TRANSFORMS_MAX / IKE_PROPOSALS_MAX };
	static uint8_t buf[BUF_LEN * 4];
	static struct ike_msg m;
	static struct ike_sa_payload sa;
	const struct ike_payload *p;
	struct ike_err err;
	struct ike_buf b;
	size_t plen;

	build_big_sa(&b, buf, IKE_PROPOSALS_MAX, PER_PROPOSAL);
	p = reparse(&b, &m);
	CHECK(p && ike_decode_sa(p, &sa, &err) == 0 &&
		      sa.nproposals == IKE_PROPOSALS_MAX &&
		      sa.ntransforms == IKE_TRANSFORMS_MAX,
	      "%d proposals of %d transforms accepted", IKE_PROPOSALS_MAX,
	      PER_PROPOSAL);

	build_big_sa(&b, buf, IKE_PROPOSALS_MAX, PER_PROPOSAL + 1);
	p = reparse(&b, &m);
	CHECK(p && is_syntax(ike_decode_sa(p, &sa, &err), &err) &&
		      !strcmp(err.what, "too many transforms"),
	      "%d transforms refused", IKE_TRANSFORMS_MAX + IKE_PROPOSALS_MAX);

	/* A 33rd proposal, copied by hand from the 32nd. */
	build_big_sa(&b, buf, IKE_PROPOSALS_MAX, 1);
	ike_buf_finish(&b);
	plen = PROPOSAL_LEN_ONE;
	memcpy(buf + b.len, buf + b.len - plen, plen);
	buf[b.len - plen] = 2;			/* more proposals */
	buf[b.len + 4] = IKE_PROPOSALS_MAX + 1;	/* its number */
	b.len += plen;
	buf[2] = (uint8_t)(b.len >> 8);
	buf[3] = (uint8_t)b.len;
	p = reparse(&b, &m);
	CHECK(p && is_syntax(ike_decode_sa(p, &sa, &err), &err) &&
		      !strcmp(err.what, "too many proposals"),
	      "%d proposals refused", IKE_PROPOSALS_MAX + 1);
}

/* A responder's chosen proposal keeps the number it was offered at. */
static void test_sa_answer(void)
{
	/* Eight bytes, for the SPI of the wrong size below. */
	static const uint8_t spi[] = { 0xc0, 0x01, 0xd0, 0x0d, 1, 2, 3, 4 };
	static const struct ike_transform t[] = {
		{ .type = IKE_TRANSFORM_ENCR, .id = IKE_ENCR_AES_GCM_16,
		  .key_len = 128 },
		{ .type = IKE_TRANSFORM_ESN, .id = IKE_ESN_NO },
	};
	struct ike_proposal pr = {
		.num = 3, .protocol = IKE_PROTO_ESP, .spi_size = 4, .spi = spi,
		.ntransforms = 2, .transforms = t,
	};
	static struct ike_sa_payload sa;
	static struct ike_msg m;
	const struct ike_payload *p;
	uint8_t buf[BUF_LEN];
	struct ike_err err;
	struct ike_buf b;

	ike_buf_init(&b, buf, sizeof(buf));
	ike_put_sa(&b, &pr, 1);
	p = reparse(&b, &m);
	CHECK(p && ike_decode_sa(p, &sa, &err) == 0 && sa.nproposals == 1 &&
		      sa.proposals[0].num == 3 &&
		      ike_proposal_equal(&sa.proposals[0], &pr),
	      "lone proposal numbered 3 accepted");

	pr.spi_size = 8;
	ike_buf_init(&b, buf, sizeof(buf));
	ike_put_sa(&b, &pr, 1);
	p = reparse(&b, &m);
	CHECK(p && is_syntax(ike_decode_sa(p, &sa, &err), &err),
	      "ESP proposal with an 8-byte SPI refused");
}

/* ---- Round trips of every payload ---- */

static void test_rt_sa(void)
{
	static const uint8_t ike_spi[] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	static const uint8_t esp_spi[] = { 0xca, 0xfe, 0xf0, 0x0d };
	static const uint8_t blob[] = { 9, 8, 7 };
	static const struct ike_transform t_ike[] = {
		{ .type = IKE_TRANSFORM_ENCR, .id = IKE_ENCR_AES_GCM_16,
		  .key_len = 256 },
		{ .type = IKE_TRANSFORM_PRF, .id = IKE_PRF_HMAC_SHA2_256 },
		{ .type = IKE_TRANSFORM_KE, .id = IKE_GROUP_CURVE25519 },
	};
	static const struct ike_transform t_esp[] = {
		{ .type = IKE_TRANSFORM_ENCR, .id = IKE_ENCR_AES_CBC,
		  .key_len = 128, .nattrs = 2,
		  .attrs = { { .type = 99, .tv = true, .value = 7 },
			     { .type = 100, .len = 3, .data = blob } } },
		{ .type = IKE_TRANSFORM_INTEG,
		  .id = IKE_INTEG_HMAC_SHA2_512_256 },
		{ .type = IKE_TRANSFORM_ESN, .id = IKE_ESN_YES },
		{ .type = IKE_TRANSFORM_ESN, .id = IKE_ESN_NO },
	};
	const struct ike_proposal props[] = {
		{ .protocol = IKE_PROTO_IKE, .spi_size = IKE_SPI_SIZE_IKE,
		  .spi = ike_spi, .ntransforms = 3, .transforms = t_ike },
		{ .protocol = IKE_PROTO_ESP, .spi_size = IKE_SPI_SIZE_CHILD,
		  .spi = esp_spi, .ntransforms = 4, .transforms = t_esp },
		{ .protocol = IKE_PROTO_AH, .spi_size = IKE_SPI_SIZE_CHILD,
		  .spi = esp_spi, .ntransforms = 1, .transforms = t_esp + 1 },
	};
	static struct ike_msg m;
	static struct ike_sa_payload sa;
	const struct ike_payload *p;
	uint8_t buf[BUF_LEN];
	struct ike_err err;
	struct ike_buf b;
	bool same = true;

	ike_buf_init(&b, buf, sizeof(buf));
	ike_put_sa(&b, props, ARRAY_SIZE(props));
	p = reparse(&b, &m);
	CHECK(p && ike_decode_sa(p, &sa, &err) == 0 && sa.nproposals == 3,
	      "SA round trip decodes");
	if (!p || sa.nproposals != 3)
		return;
	for (size_t i = 0; i < ARRAY_SIZE(props); i++) {
		same &= ike_proposal_equal(&sa.proposals[i], &props[i]);
		same &= sa.proposals[i].num == i + 1;
	}
	CHECK(same, "SA round trip gives the same proposals, numbered");
	CHECK(sa.proposals[1].transforms[0].attrs[1].data[2] == 7,
	      "TLV attribute data in place");
	CHECK(!ike_proposal_equal(&sa.proposals[0], &sa.proposals[1]),
	      "different proposals differ");
}

static void test_rt_simple(void)
{
	static const uint8_t data[IKE_NONCE_MAX] = { 0x11, 0x22, 0x33 };
	static struct ike_msg m;
	const struct ike_payload *p;
	static const char fqdn[] = "gw.example.org";
	struct ike_id id = { IKE_ID_FQDN, sizeof(fqdn) - 1,
			     (const uint8_t *)fqdn };
	struct ike_auth auth = { IKE_AUTH_DIGITAL_SIGNATURE, 40, data };
	struct ike_ke_payload ke = { IKE_GROUP_MODP_2048, 256, data };
	struct ike_bytes v;
	uint8_t buf[BUF_LEN];
	struct ike_err err;
	struct ike_id id2;
	struct ike_auth auth2;
	struct ike_ke_payload ke2;
	struct ike_buf b;

	ike_buf_init(&b, buf, sizeof(buf));
	ike_put_ke(&b, &ke);
	p = reparse(&b, &m);
	CHECK(p && ike_decode_ke(p, &ke2, &err) == 0 && ke2.group == ke.group &&
		      ke2.len == ke.len && !memcmp(ke2.data, data, ke.len),
	      "KE round trip");

	for (uint8_t type = IKE_PL_IDI; type <= IKE_PL_IDR; type++) {
		ike_buf_init(&b, buf, sizeof(buf));
		ike_put_id(&b, type, &id);
		p = reparse(&b, &m);
		CHECK(p && p->type == type &&
			      ike_decode_id(p, &id2, &err) == 0 &&
			      id2.type == id.type && id2.len == id.len &&
			      !memcmp(id2.data, id.data, id.len),
		      "ID round trip, type %u", type);
	}

	ike_buf_init(&b, buf, sizeof(buf));
	ike_put_auth(&b, &auth);
	p = reparse(&b, &m);
	CHECK(p && ike_decode_auth(p, &auth2, &err) == 0 &&
		      auth2.method == auth.method && auth2.len == auth.len &&
		      !CRYPTO_memcmp(auth2.data, data, auth.len),
	      "AUTH round trip");

	ike_buf_init(&b, buf, sizeof(buf));
	ike_put_vendor(&b, data, 16);
	p = reparse(&b, &m);
	CHECK(p && ike_decode_vendor(p, &v, &err) == 0 && v.len == 16 &&
		      !memcmp(v.data, data, 16),
	      "Vendor ID round trip");
}

static void test_rt_nonce(void)
{
	static const uint8_t data[IKE_NONCE_MAX + 1] = { 0x5a };
	static const size_t lens[] = { 15, 16, 32, 256, 257 };
	static struct ike_msg m;
	const struct ike_payload *p;
	uint8_t buf[BUF_LEN];
	struct ike_bytes n;
	struct ike_err err;
	struct ike_buf b;
	int rc;

	for (size_t i = 0; i < ARRAY_SIZE(lens); i++) {
		bool ok = lens[i] >= IKE_NONCE_MIN && lens[i] <= IKE_NONCE_MAX;

		ike_buf_init(&b, buf, sizeof(buf));
		ike_put_nonce(&b, data, lens[i]);
		p = reparse(&b, &m);
		rc = p ? ike_decode_nonce(p, &n, &err) : -1;
		if (ok)
			CHECK(rc == 0 && n.len == lens[i] && n.data[0] == 0x5a,
			      "nonce of %zu bytes accepted", lens[i]);
		else
			CHECK(p && is_syntax(rc, &err),
			      "nonce of %zu bytes refused", lens[i]);
	}
}

static void test_rt_cert(void)
{
	static const uint8_t der[] = { 0x30, 0x82, 0x01, 0x0a, 0x02 };
	static const uint8_t hashes[2 * 20] = { 0xaa };
	const struct ike_cert certs[] = {
		{ IKE_CERT_X509_SIGNATURE, sizeof(der), der },
		{ IKE_CERT_X509_SIGNATURE, sizeof(hashes), hashes },
		{ IKE_CERT_X509_SIGNATURE, 0, NULL },
	};
	const uint8_t types[] = { IKE_PL_CERT, IKE_PL_CERTREQ, IKE_PL_CERTREQ };
	static struct ike_msg m;
	const struct ike_payload *p;
	uint8_t buf[BUF_LEN];
	struct ike_err err;
	struct ike_cert c;
	struct ike_buf b;

	for (size_t i = 0; i < ARRAY_SIZE(certs); i++) {
		ike_buf_init(&b, buf, sizeof(buf));
		ike_put_cert(&b, types[i], &certs[i]);
		p = reparse(&b, &m);
		CHECK(p && p->type == types[i] &&
			      ike_decode_cert(p, &c, &err) == 0 &&
			      c.encoding == certs[i].encoding &&
			      c.len == certs[i].len &&
			      (!c.len || !memcmp(c.data, certs[i].data, c.len)),
		      "CERT round trip %zu", i);
	}

	/* A CERTREQ of X.509 lists 20-byte hashes; a CERT has data. */
	ike_buf_init(&b, buf, sizeof(buf));
	ike_put_cert(&b, IKE_PL_CERTREQ,
		     &(struct ike_cert){ IKE_CERT_X509_SIGNATURE, 19, hashes });
	p = reparse(&b, &m);
	CHECK(p && is_syntax(ike_decode_cert(p, &c, &err), &err),
	      "CERTREQ of 19 bytes of hashes refused");
	ike_buf_init(&b, buf, sizeof(buf));
	ike_put_raw(&b, IKE_PL_CERT, false, hashes, 1);
	p = reparse(&b, &m);
	CHECK(p && is_syntax(ike_decode_cert(p, &c, &err), &err),
	      "empty CERT refused");
}

static void test_rt_notify(void)
{
	static const uint8_t spi[] = { 0, 0, 0x12, 0x34 };
	static const uint8_t cookie[] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	const struct ike_notify ns[] = {
		{ .protocol = IKE_PROTO_ESP, .spi_size = 4, .spi = spi,
		  .type = IKE_N_REKEY_SA },
		{ .type = IKE_N_COOKIE, .len = sizeof(cookie), .data = cookie },
		{ .type = IKE_N_INVALID_KE_PAYLOAD, .len = 2, .data = spi + 2 },
		{ .protocol = IKE_PROTO_ESP, .spi_size = 4, .spi = spi,
		  .type = IKE_N_INVALID_SELECTORS, .len = 8, .data = cookie },
	};
	static struct ike_msg m;
	const struct ike_payload *p;
	uint8_t buf[BUF_LEN];
	struct ike_notify n;
	struct ike_err err;
	struct ike_buf b;

	for (size_t i = 0; i < ARRAY_SIZE(ns); i++) {
		ike_buf_init(&b, buf, sizeof(buf));
		ike_put_notify(&b, &ns[i]);
		p = reparse(&b, &m);
		CHECK(p && ike_decode_notify(p, &n, &err) == 0 &&
			      n.protocol == ns[i].protocol &&
			      n.spi_size == ns[i].spi_size &&
			      n.type == ns[i].type && n.len == ns[i].len &&
			      (!n.spi_size ||
			       !memcmp(n.spi, ns[i].spi, n.spi_size)) &&
			      (!n.len || !memcmp(n.data, ns[i].data, n.len)),
		      "notify round trip %zu", i);
	}
}

static void test_notify_rejections(void)
{
	static const uint8_t data[32] = { 0 };
	const struct ike_notify bad[] = {
		{ .type = IKE_N_NAT_DETECTION_SOURCE_IP, .len = 19,
		  .data = data },
		{ .type = IKE_N_NAT_DETECTION_DESTINATION_IP, .len = 21,
		  .data = data },
		{ .type = IKE_N_COOKIE, .len = 0 },
		{ .type = IKE_N_SIGNATURE_HASH_ALGORITHMS, .len = 3,
		  .data = data },
		{ .type = IKE_N_UNSUPPORTED_CRITICAL_PAYLOAD, .len = 0 },
		{ .type = IKE_N_REKEY_SA, .spi_size = 3, .spi = data },
	};
	static struct ike_msg m;
	const struct ike_payload *p;
	uint8_t buf[BUF_LEN];
	struct ike_notify n;
	struct ike_err err;
	struct ike_buf b;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		ike_buf_init(&b, buf, sizeof(buf));
		ike_put_notify(&b, &bad[i]);
		p = reparse(&b, &m);
		CHECK(p && is_syntax(ike_decode_notify(p, &n, &err), &err),
		      "bad notify %zu refused", i);
	}

	/* The SPI size byte claims more than there is. */
	ike_buf_init(&b, buf, sizeof(buf));
	ike_put_raw(&b, IKE_PL_N, false, (const uint8_t *)"\3\x08\x40\x09", 4);
	p = reparse(&b, &m);
	CHECK(p && is_syntax(ike_decode_notify(p, &n, &err), &err),
	      "notify SPI overrun refused");
}

static void test_rt_delete(void)
{
	static const uint8_t spis[] = { 0xc1, 0, 0, 1, 0xc1, 0, 0, 2 };
	const struct ike_delete ds[] = {
		{ .protocol = IKE_PROTO_IKE },
		{ .protocol = IKE_PROTO_ESP, .spi_size = 4, .nspis = 2,
		  .spis = spis },
		{ .protocol = IKE_PROTO_AH, .spi_size = 4, .nspis = 1,
		  .spis = spis },
	};
	const struct ike_delete bad[] = {
		{ .protocol = IKE_PROTO_IKE, .spi_size = 4, .nspis = 1,
		  .spis = spis },
		{ .protocol = IKE_PROTO_IKE, .spi_size = 8, .nspis = 1,
		  .spis = spis },
		{ .protocol = IKE_PROTO_ESP, .spi_size = 4 },
		{ .protocol = IKE_PROTO_ESP, .spi_size = 8, .nspis = 1,
		  .spis = spis },
		{ .protocol = 9, .spi_size = 4, .nspis = 1, .spis = spis },
	};
	static struct ike_msg m;
	const struct ike_payload *p;
	uint8_t buf[BUF_LEN];
	struct ike_delete d;
	struct ike_err err;
	struct ike_buf b;

	for (size_t i = 0; i < ARRAY_SIZE(ds); i++) {
		ike_buf_init(&b, buf, sizeof(buf));
		ike_put_delete(&b, &ds[i]);
		p = reparse(&b, &m);
		CHECK(p && ike_decode_delete(p, &d, &err) == 0 &&
			      d.protocol == ds[i].protocol &&
			      d.spi_size == ds[i].spi_size &&
			      d.nspis == ds[i].nspis,
		      "delete round trip %zu", i);
	}
	CHECK(ike_delete_spi(&d, 0) == 0xc1000001, "SPI of a delete");

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		ike_buf_init(&b, buf, sizeof(buf));
		ike_put_delete(&b, &bad[i]);
		p = reparse(&b, &m);
		CHECK(p && is_syntax(ike_decode_delete(p, &d, &err), &err),
		      "bad delete %zu refused", i);
	}

	/* A count that does not match the SPIs that follow. */
	ike_buf_init(&b, buf, sizeof(buf));
	ike_put_raw(&b, IKE_PL_D, false,
		    (const uint8_t *)"\3\4\0\3\xc1\0\0\1\xc1\0\0\2", 12);
	p = reparse(&b, &m);
	CHECK(p && is_syntax(ike_decode_delete(p, &d, &err), &err),
	      "delete count 3 with 2 SPIs refused");
}

static void ts_fill(struct ike_ts_list *l)
{
	memset(l, 0, sizeof(*l));
	l->n = 3;
	l->ts[0].type = IKE_TS_IPV4_ADDR_RANGE;
	l->ts[0].ip_proto = 6;
	l->ts[0].start_port = 443;
	l->ts[0].end_port = 443;
	memcpy(l->ts[0].start, "\xc0\xa8\x01\x00", 4);
	memcpy(l->ts[0].end, "\xc0\xa8\x01\xff", 4);
	l->ts[1].type = IKE_TS_IPV6_ADDR_RANGE;
	l->ts[1].end_port = 65535;
	memset(l->ts[1].start, 0x20, IKE_IPV6_LEN);
	memset(l->ts[1].end, 0x21, IKE_IPV6_LEN);
	/* OPAQUE ports. */
	l->ts[2].type = IKE_TS_IPV4_ADDR_RANGE;
	l->ts[2].ip_proto = 17;
	l->ts[2].start_port = 65535;
	l->ts[2].end_port = 0;
}

static const struct ike_payload *ts_build(struct ike_msg *m, uint8_t *buf,
					  const struct ike_ts_list *l)
{
	struct ike_buf b;

	ike_buf_init(&b, buf, BUF_LEN);
	ike_put_ts(&b, IKE_PL_TSR, l);
	return reparse(&b, m);
}

static void test_rt_ts(void)
{
	static struct ike_ts_list l, l2;
	static struct ike_msg m;
	const struct ike_payload *p;
	uint8_t buf[BUF_LEN];
	struct ike_err err;
	int rc;

	ts_fill(&l);
	p = ts_build(&m, buf, &l);
	CHECK(p && ike_decode_ts(p, &l2, &err) == 0 && l2.n == l.n &&
		      !memcmp(l2.ts, l.ts, l.n * sizeof(l.ts[0])),
	      "TS round trip");

	l.ts[0].start_port = 444;
	p = ts_build(&m, buf, &l);
	CHECK(p && is_syntax(ike_decode_ts(p, &l2, &err), &err),
	      "TS start port after end port refused");

	/* An IPv6-sized selector labelled IPv4. */
	ts_fill(&l);
	p = ts_build(&m, buf, &l);
	buf[IKE_PAYLOAD_HDR_LEN + 4 + 16] = IKE_TS_IPV4_ADDR_RANGE;
	CHECK(p && is_syntax(ike_decode_ts(p, &l2, &err), &err),
	      "TS with addresses of the wrong length refused");

	buf[IKE_PAYLOAD_HDR_LEN + 4 + 16] = 10;
	rc = p ? ike_decode_ts(p, &l2, &err) : 0;
	CHECK(rc == -EOPNOTSUPP && err.notify == IKE_N_TS_UNACCEPTABLE,
	      "TS of an unknown type is TS_UNACCEPTABLE");

	buf[IKE_PAYLOAD_HDR_LEN + 4 + 16] = IKE_TS_IPV6_ADDR_RANGE;
	buf[IKE_PAYLOAD_HDR_LEN] = 4;
	CHECK(p && is_syntax(ike_decode_ts(p, &l2, &err), &err),
	      "TS count one more refused");
	buf[IKE_PAYLOAD_HDR_LEN] = 2;
	CHECK(p && is_syntax(ike_decode_ts(p, &l2, &err), &err),
	      "TS count one less refused");
	buf[IKE_PAYLOAD_HDR_LEN] = 0;
	CHECK(p && is_syntax(ike_decode_ts(p, &l2, &err), &err),
	      "TS without selectors refused");
	buf[IKE_PAYLOAD_HDR_LEN] = IKE_TS_MAX + 1;
	CHECK(p && is_syntax(ike_decode_ts(p, &l2, &err), &err),
	      "TS count over the limit refused");
}

static void test_rt_cp(void)
{
	static const uint8_t addr[] = { 10, 0, 0, 2 };
	static const uint8_t types[] = { 0, 1, 0, 3 };
	struct ike_cp cp = {
		.type = IKE_CFG_REPLY,
		.nattrs = 3,
		.attrs = { { IKE_CFG_INTERNAL_IP4_ADDRESS, 4, addr },
			   { IKE_CFG_INTERNAL_IP6_DNS, 0, NULL },
			   { IKE_CFG_SUPPORTED_ATTRIBUTES, 4, types } },
	};
	static struct ike_msg m;
	const struct ike_payload *p;
	uint8_t buf[BUF_LEN];
	struct ike_err err;
	struct ike_cp cp2;
	struct ike_buf b;
	bool same;

	ike_buf_init(&b, buf, sizeof(buf));
	ike_put_cp(&b, &cp);
	p = reparse(&b, &m);
	CHECK(p && ike_decode_cp(p, &cp2, &err) == 0, "CP decodes");
	same = p && cp2.type == cp.type && cp2.nattrs == cp.nattrs;
	for (size_t i = 0; same && i < cp.nattrs; i++)
		same = cp2.attrs[i].type == cp.attrs[i].type &&
		       cp2.attrs[i].len == cp.attrs[i].len &&
		       (!cp.attrs[i].len || !memcmp(cp2.attrs[i].value,
						    cp.attrs[i].value,
						    cp.attrs[i].len));
	CHECK(same, "CP round trip");

	cp.attrs[0].len = 3;
	ike_buf_init(&b, buf, sizeof(buf));
	ike_put_cp(&b, &cp);
	p = reparse(&b, &m);
	CHECK(p && is_syntax(ike_decode_cp(p, &cp2, &err), &err),
	      "INTERNAL_IP4_ADDRESS of 3 bytes refused");

	cp.attrs[0].len = 4;
	cp.type = 5;
	ike_buf_init(&b, buf, sizeof(buf));
	ike_put_cp(&b, &cp);
	p = reparse(&b, &m);
	CHECK(p && is_syntax(ike_decode_cp(p, &cp2, &err), &err),
	      "CP of type 5 refused");
}

/* An IKE_AUTH request: SK holding IDi, AUTH, SA, TSi, TSr once decrypted. */
static void test_rt_sk(void)
{
	static const uint8_t key[] = { 0x04, 0x01, 0x02, 0x03 };
	static struct ike_ts_list ts;
	static struct ike_msg m, inner;
	struct ike_id id = { IKE_ID_IPV4_ADDR, 4, key };
	struct ike_auth auth = { IKE_AUTH_PSK, 4, key };
	uint8_t plain[BUF_LEN], buf[BUF_LEN];
	const struct ike_payload *p;
	struct ike_buf pb, b;
	struct ike_err err;
	struct ike_hdr h;
	int rc;

	ts_fill(&ts);
	ike_buf_init(&pb, plain, sizeof(plain));
	ike_put_id(&pb, IKE_PL_IDI, &id);
	ike_put_auth(&pb, &auth);
	ike_put_sa(&pb, sa_init_props, 1);
	ike_put_ts(&pb, IKE_PL_TSI, &ts);
	ike_put_ts(&pb, IKE_PL_TSR, &ts);
	CHECK(ike_buf_finish(&pb) == 0 && pb.first == IKE_PL_IDI,
	      "inner chain builds");

	hdr_init(&h, IKE_AUTH);
	ike_buf_init(&b, buf, sizeof(buf));
	ike_put_hdr(&b, &h);
	ike_put_sk(&b, pb.first, plain, pb.len);
	CHECK(ike_buf_finish(&b) == 0 && buf[16] == IKE_PL_SK &&
		      (size_t)(buf[26] << 8 | buf[27]) == b.len,
	      "IKE_AUTH builds");

	rc = ike_msg_parse(&m, buf, b.len, &err);
	p = ike_msg_find(&m, IKE_PL_SK, NULL);
	CHECK(rc == 0 && p && p->next == IKE_PL_IDI && p->len == pb.len &&
		      m.hdr.rspi == h.rspi && m.hdr.msg_id == 1,
	      "IKE_AUTH parses");
	if (!p)
		return;

	rc = ike_msg_parse_inner(&inner, p->next, p->body, p->len, &err);
	CHECK(rc == 0 && inner.npayloads == 5 &&
		      inner.payloads[4].type == IKE_PL_TSR,
	      "SK content parses as a chain");

	/* Nothing encrypted inside what was encrypted. */
	rc = ike_msg_parse_inner(&inner, IKE_PL_SK, buf + IKE_HDR_LEN,
				 b.len - IKE_HDR_LEN, &err);
	CHECK(is_syntax(rc, &err), "SK inside SK refused");
}

static void test_skf(void)
{
	static const uint8_t data[48] = { 0x77 };
	static const struct {
		uint16_t number, total;
		bool ok;
	} cases[] = {
		{ 1, 1, true }, { 1, 3, true }, { 3, 3, true },
		{ 0, 3, false }, { 4, 3, false }, { 0, 0, false },
		{ 1, 0, false },
	};
	static struct ike_msg m;
	const struct ike_payload *p;
	uint8_t buf[BUF_LEN];
	struct ike_skf f, f2;
	struct ike_err err;
	struct ike_hdr h;
	struct ike_buf b;
	int rc;

	hdr_init(&h, IKE_AUTH);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		uint8_t first = cases[i].number == 1 ? IKE_PL_IDI : 0;

		f.number = cases[i].number;
		f.total = cases[i].total;
		f.data = data;
		f.len = sizeof(data);
		ike_buf_init(&b, buf, sizeof(buf));
		ike_put_hdr(&b, &h);
		ike_put_skf(&b, first, &f);
		ike_buf_finish(&b);
		rc = ike_msg_parse(&m, buf, b.len, &err);
		p = rc ? NULL : &m.payloads[0];
		rc = p ? ike_decode_skf(p, &f2, &err) : -1;
		if (cases[i].ok)
			CHECK(rc == 0 && f2.number == f.number &&
				      f2.total == f.total &&
				      f2.len == f.len && f2.data[0] == 0x77 &&
				      p->next == first,
			      "SKF %u/%u round trip", f.number, f.total);
		else
			CHECK(p && is_syntax(rc, &err), "SKF %u/%u refused",
			      f.number, f.total);
	}
}

static void test_eap(void)
{
	static const uint8_t eap[] = { 1, 7, 0, 5, 1 };
	static struct ike_msg m;
	const struct ike_payload *p;
	uint8_t buf[BUF_LEN];
	struct ike_buf b;

	ike_buf_init(&b, buf, sizeof(buf));
	ike_put_raw(&b, IKE_PL_EAP, false, eap, sizeof(eap));
	p = reparse(&b, &m);
	CHECK(p && p->type == IKE_PL_EAP && p->len == sizeof(eap) &&
		      !memcmp(p->body, eap, sizeof(eap)),
	      "EAP round trip");
}

/* ---- Payload rejections not covered above ---- */

static const struct ike_payload *raw(struct ike_msg *m, uint8_t *buf,
				     uint8_t type, const char *body,
				     size_t len)
{
	struct ike_buf b;

	ike_buf_init(&b, buf, BUF_LEN);
	ike_put_raw(&b, type, false, (const uint8_t *)body, len);
	return reparse(&b, m);
}

static void test_small_rejections(void)
{
	static struct ike_msg m;
	const struct ike_payload *p;
	uint8_t buf[BUF_LEN];
	struct ike_bytes v;
	struct ike_auth a;
	struct ike_err err;
	static struct ike_sa_payload sa;
	struct ike_ke_payload ke;
	struct ike_id id;

	p = raw(&m, buf, IKE_PL_KE, "\0\x13\0\0", 4);
	CHECK(p && is_syntax(ike_decode_ke(p, &ke, &err), &err),
	      "KE with empty data refused");
	p = raw(&m, buf, IKE_PL_KE, "\0\x13", 2);
	CHECK(p && is_syntax(ike_decode_ke(p, &ke, &err), &err),
	      "KE of 2 bytes refused");
	p = raw(&m, buf, IKE_PL_IDI, "\1\0\0\0\1\2\3\4\5", 9);
	CHECK(p && is_syntax(ike_decode_id(p, &id, &err), &err),
	      "ID_IPV4_ADDR of 5 bytes refused");
	p = raw(&m, buf, IKE_PL_IDR, "\5\0\0\0\1\2\3\4", 8);
	CHECK(p && is_syntax(ike_decode_id(p, &id, &err), &err),
	      "ID_IPV6_ADDR of 4 bytes refused");
	p = raw(&m, buf, IKE_PL_IDI, "\2\0\0\0", 4);
	CHECK(p && is_syntax(ike_decode_id(p, &id, &err), &err),
	      "empty ID refused");
	p = raw(&m, buf, IKE_PL_AUTH, "\2\0\0\0", 4);
	CHECK(p && is_syntax(ike_decode_auth(p, &a, &err), &err),
	      "empty AUTH refused");
	p = raw(&m, buf, IKE_PL_V, "", 0);
	CHECK(p && is_syntax(ike_decode_vendor(p, &v, &err), &err),
	      "empty Vendor ID refused");
	p = raw(&m, buf, IKE_PL_SA, "", 0);
	CHECK(p && is_syntax(ike_decode_sa(p, &sa, &err), &err),
	      "empty SA refused");
	p = raw(&m, buf, IKE_PL_V, "abcd", 4);
	CHECK(p && is_syntax(ike_decode_ke(p, &ke, &err), &err),
	      "decoder refuses a payload of another type");
}

/* KEY_LENGTH must be TV, once, and not 0; other attributes are kept. */
static void test_attr_rejections(void)
{
	struct ike_transform t = {
		.type = IKE_TRANSFORM_ENCR, .id = IKE_ENCR_AES_CBC,
		.nattrs = 1,
		.attrs = { { .type = IKE_ATTR_KEY_LENGTH, .len = 2,
			     .data = (const uint8_t *)"\1\0" } },
	};
	struct ike_proposal pr = { .protocol = IKE_PROTO_IKE,
				   .ntransforms = 1, .transforms = &t };
	static struct ike_msg m;
	static struct ike_sa_payload sa;
	const struct ike_payload *p;
	uint8_t buf[BUF_LEN];
	struct ike_err err;
	struct ike_buf b;

	ike_buf_init(&b, buf, sizeof(buf));
	ike_put_sa(&b, &pr, 1);
	p = reparse(&b, &m);
	CHECK(p && is_syntax(ike_decode_sa(p, &sa, &err), &err),
	      "KEY_LENGTH in TLV form refused");

	t.key_len = 128;
	t.attrs[0].tv = true;
	t.attrs[0].value = 256;
	ike_buf_init(&b, buf, sizeof(buf));
	ike_put_sa(&b, &pr, 1);
	p = reparse(&b, &m);
	CHECK(p && is_syntax(ike_decode_sa(p, &sa, &err), &err),
	      "KEY_LENGTH twice refused");

	t.nattrs = IKE_ATTRS_MAX;
	for (int i = 0; i < IKE_ATTRS_MAX; i++)
		t.attrs[i] = (struct ike_attr){ .type = 200, .tv = true };
	ike_buf_init(&b, buf, sizeof(buf));
	ike_put_sa(&b, &pr, 1);
	p = reparse(&b, &m);
	CHECK(p && ike_decode_sa(p, &sa, &err) == 0 &&
		      sa.transforms[0].nattrs == IKE_ATTRS_MAX &&
		      sa.transforms[0].key_len == 128,
	      "%d unknown attributes kept", IKE_ATTRS_MAX);

	/* One more than the limit, by hand: the builder checks nattrs. */
	memcpy(buf + b.len, "\x80\xc8\0\0", 4);
	b.len += 4;
	buf[IKE_PAYLOAD_HDR_LEN + 3] += 4;	/* proposal */
	buf[IKE_PAYLOAD_HDR_LEN + 8 + 3] += 4;	/* transform */
	buf[3] += 4;				/* SA payload */
	p = reparse(&b, &m);
	CHECK(p && is_syntax(ike_decode_sa(p, &sa, &err), &err),
	      "%d attributes refused", IKE_ATTRS_MAX + 1);
}

/* ---- The builder ---- */

static size_t build_sa_init(uint8_t *buf, size_t cap, int *rc,
			    bool *overflow)
{
	struct ike_ke_payload ke = { IKE_GROUP_ECP_256, 64, sa_init + OFF_KE + 8 };
	struct ike_hdr h;
	struct ike_buf b;

	hdr_init(&h, IKE_SA_INIT);
	ike_buf_init(&b, buf, cap);
	ike_put_hdr(&b, &h);
	ike_put_sa(&b, sa_init_props, ARRAY_SIZE(sa_init_props));
	ike_put_ke(&b, &ke);
	ike_put_nonce(&b, sa_init + OFF_NONCE + 4, 32);
	*rc = ike_buf_finish(&b);
	*overflow = b.overflow;
	return b.len;
}

static void test_builder(void)
{
	static struct ike_proposal many[IKE_PROPOSALS_MAX + 1];
	static uint8_t big[IKE_PAYLOAD_MAX + 1];
	static uint8_t out[2 * IKE_PAYLOAD_MAX];
	uint8_t buf[BUF_LEN];
	bool overflow;
	struct ike_buf b;
	size_t full;
	int rc, bad = 0;

	full = build_sa_init(buf, sizeof(buf), &rc, &overflow);
	CHECK(rc == 0 && !overflow, "message builds");
	for (size_t cap = 0; cap < full; cap++) {
		build_sa_init(buf, cap, &rc, &overflow);
		bad += rc != -ENOSPC || !overflow;
	}
	CHECK(!bad, "%d short buffers not refused with -ENOSPC", bad);
	build_sa_init(buf, full, &rc, &overflow);
	CHECK(rc == 0, "exact buffer suffices");

	for (size_t i = 0; i < ARRAY_SIZE(many); i++)
		many[i] = sa_init_props[0];
	ike_buf_init(&b, buf, sizeof(buf));
	CHECK(ike_put_sa(&b, many, ARRAY_SIZE(many)) == -EINVAL,
	      "too many proposals refused");
	ike_buf_init(&b, buf, sizeof(buf));
	CHECK(ike_put_sa(&b, many, 0) == -EINVAL, "no proposals refused");

	ike_buf_init(&b, buf, sizeof(buf));
	ike_put_vendor(&b, sa_init, 100);
	CHECK(ike_put_hdr(&b, &(struct ike_hdr){ 0 }) == -EINVAL,
	      "header after a payload refused");

	ike_buf_init(&b, out, sizeof(out));
	CHECK(ike_put_vendor(&b, big, IKE_PAYLOAD_MAX - 4) == 0,
	      "largest payload builds");
	ike_buf_init(&b, out, sizeof(out));
	CHECK(ike_put_vendor(&b, big, IKE_PAYLOAD_MAX - 3) == -EMSGSIZE,
	      "payload over 65535 bytes refused");
}

int main(void)
{
	test_sa_init();
	test_sa_init_build();
	test_truncated();
	test_header_rejections();
	test_chain_rejections();
	test_unknown_payloads();
	test_repeats();
	test_sk_not_last();
	test_too_many();
	test_sa_rejections();
	test_sa_prefixes();
	test_sa_answer();
	test_sa_limits();

	test_rt_sa();
	test_rt_simple();
	test_rt_nonce();
	test_rt_cert();
	test_rt_notify();
	test_notify_rejections();
	test_rt_delete();
	test_rt_ts();
	test_rt_cp();
	test_rt_sk();
	test_skf();
	test_eap();
	test_small_rejections();
	test_attr_rejections();
	test_builder();

	return check_summary();
}
