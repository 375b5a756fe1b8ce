// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of AH framing (RFC 4302): round trips for every integrity
 * algorithm, mode, family combination and ESN setting over a spread of
 * sizes; the wire format and the ICV checked against the test's own
 * canonical form hashed with OpenSSL's one-shot HMAC(); fields changed in
 * transit; a sweep flipping every byte of protected packets; truncation;
 * hand-made packets from a sender padding differently; bad lengths,
 * fragments, next headers, ECN, link-layer padding and size limits.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "ah.h"
#include "check.h"

enum {
	BUF_LEN = 4096,
	HEADROOM = 256,
	V4 = 4,
	V6 = 6,
	TEST_SPI = 0x0badf00d,
	FLIP = 0x5a,		/* keeps an IPv6 option type's change bit */
	INFLIGHT = 0x84,	/* changes DSCP and flow label, not ECN */
};

/* The algorithms, described independently of mac.c. */
struct talg {
	enum xdpsec_integ integ;
	const char *name;
	const EVP_MD *(*md)(void);
	uint32_t key_len;
	uint32_t icv_len;
	uint32_t ah4;		/* AH length over IPv4 */
	uint32_t ah6;		/* over IPv6: 64-bit aligned */
};

static const struct talg talgs[] = {
	{ XDPSEC_INTEG_HMAC_SHA256_128, "sha256", EVP_sha256, 32, 16, 28, 32 },
	{ XDPSEC_INTEG_HMAC_SHA384_192, "sha384", EVP_sha384, 48, 24, 36, 40 },
	{ XDPSEC_INTEG_HMAC_SHA512_256, "sha512", EVP_sha512, 64, 32, 44, 48 },
};

#define NALGS (sizeof(talgs) / sizeof(talgs[0]))

/* What a change to a byte of a protected packet must lead to. */
enum bclass {
	B_AUTH = 0,	/* covered by the ICV: DROP_AUTH */
	B_MUT,		/* zeroed for the ICV: still verifies */
	B_STRUCT,	/* read to find the headers: some drop */
};

/* Inner or unprotected packet shapes. */
enum shape {
	SH_V4,		/* IPv4, no options */
	SH_V4_OPT,	/* IPv4 with 8 bytes of options */
	SH_V6,		/* IPv6, UDP after the fixed header */
	SH_V6_EXT,	/* hop-by-hop, dest, routing, fragment, dest */
	SH_V6_DST,	/* destination options only: they go after AH */
	SH_MAX,
};

static const char *const shape_names[SH_MAX] = {
	"v4", "v4+opt", "v6", "v6+ext", "v6+dst",
};

/*
 * A packet as the test built it: bytes, which bits change in transit
 * (mut, zeroed for the ICV), what a change must lead to (cls), where
 * transport mode must put AH and which next header field must name it.
 */
struct tpkt {
	uint8_t d[BUF_LEN];
	uint8_t mut[BUF_LEN];
	uint8_t cls[BUF_LEN];
	uint32_t len;
	int version;
	uint32_t ah_at;
	uint32_t nh_off;
};

/* Packet buffer: the packet starts HEADROOM bytes in. */
struct tbuf {
	uint8_t b[BUF_LEN];
};

/* ---- Byte access ---- */

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)rd16(p) << 16 | rd16(p + 2);
}

static void wr16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = (uint8_t)v;
}

static void wr32(uint8_t *p, uint32_t v)
{
	wr16(p, v >> 16);
	wr16(p + 2, (uint16_t)v);
}

static uint16_t csum_fold(const uint8_t *p, size_t len)
{
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += rd16(p + i);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static void ipv4_set_csum(uint8_t *h)
{
	wr16(h + 10, 0);
	wr16(h + 10, (uint16_t)~csum_fold(h, (h[0] & 0xf) * 4u));
}

static bool ipv4_csum_ok(const uint8_t *h)
{
	return csum_fold(h, (h[0] & 0xf) * 4u) == 0xffff;
}

static uint8_t family_of(int version)
{
	return version == V4 ? XDPSEC_AF_INET : XDPSEC_AF_INET6;
}

static uint32_t ah_len_of(const struct talg *t, int version)
{
	return version == V4 ? t->ah4 : t->ah6;
}

static void pkt_at(struct pkt *p, struct tbuf *b, uint32_t len)
{
	p->data = b->b + HEADROOM;
	p->len = len;
	p->headroom = HEADROOM;
	p->tailroom = BUF_LEN - HEADROOM - len;
}

static bool pkt_same(const struct pkt *x, const struct pkt *y)
{
	return x->data == y->data && x->len == y->len &&
	       x->headroom == y->headroom && x->tailroom == y->tailroom;
}

/* ---- Test packets ---- */

static void mark(struct tpkt *tp, uint32_t off, uint32_t len, uint8_t mut,
		 enum bclass cls)
{
	for (uint32_t i = off; i < off + len; i++) {
		tp->mut[i] = mut;
		tp->cls[i] = cls;
	}
}

static void fill_payload(struct tpkt *tp, uint32_t off, uint32_t len,
			 uint8_t seed)
{
	for (uint32_t i = 0; i < len; i++)
		tp->d[off + i] = (uint8_t)(seed + i * 29);
}

/* Marks an IPv4 header of hl bytes: see RFC 4302 A.1. */
static void mark_ipv4(struct tpkt *tp, uint32_t off, uint32_t hl)
{
	mark(tp, off, 1, 0, B_STRUCT);		/* version, IHL */
	mark(tp, off + 1, 1, 0xff, B_MUT);	/* DSCP, ECN */
	mark(tp, off + 2, 2, 0, B_STRUCT);	/* total length */
	mark(tp, off + 6, 2, 0xff, B_STRUCT);	/* flags: MF drops */
	mark(tp, off + 8, 1, 0xff, B_MUT);	/* TTL */
	mark(tp, off + 10, 2, 0xff, B_MUT);	/* checksum */
	mark(tp, off + 20, hl - 20, 0xff, B_MUT);	/* all options */
}

static void mark_ipv6(struct tpkt *tp, uint32_t off)
{
	mark(tp, off, 1, 0x0f, B_STRUCT);	/* version, traffic class */
	mark(tp, off + 1, 3, 0xff, B_MUT);	/* traffic class, flow */
	mark(tp, off + 4, 2, 0, B_STRUCT);	/* payload length */
	mark(tp, off + 6, 1, 0, B_STRUCT);	/* next header */
	mark(tp, off + 7, 1, 0xff, B_MUT);	/* hop limit */
}

static void build_v4(struct tpkt *tp, bool opts, uint32_t plen, uint8_t tos,
		     bool df, uint8_t seed)
{
	uint32_t hl = opts ? 28 : 20;
	uint8_t *d = tp->d;

	memset(tp, 0, sizeof(*tp));
	d[0] = 0x40 | hl / 4;
	d[1] = tos;
	wr16(d + 2, (uint16_t)(hl + plen));
	wr16(d + 4, 0x1234);
	wr16(d + 6, df ? 0x4000 : 0);
	d[8] = 63;
	d[9] = 17;
	wr32(d + 12, 0x0a000001);
	wr32(d + 16, 0x0a000102);
	if (opts) {
		/* Router alert, three NOPs, end of list. */
		static const uint8_t o[8] = { 0x94, 4, 0, 0, 1, 1, 1, 0 };

		memcpy(d + 20, o, sizeof(o));
	}
	ipv4_set_csum(d);
	fill_payload(tp, hl, plen, seed);

	tp->len = hl + plen;
	tp->version = V4;
	tp->ah_at = hl;
	tp->nh_off = 9;
	mark_ipv4(tp, 0, hl);
}

/* An option: type, length, data; marked by its type's change bit. */
static uint32_t put_opt(struct tpkt *tp, uint32_t off, uint8_t type,
			uint8_t len, uint8_t seed)
{
	tp->d[off] = type;
	tp->d[off + 1] = len;
	fill_payload(tp, off + 2, len, seed);
	mark(tp, off + 1, 1, 0, B_STRUCT);
	mark(tp, off + 2, len, type & 0x20 ? 0xff : 0,
	     type & 0x20 ? B_MUT : B_AUTH);
	return off + 2 + len;
}

/* The start of an extension header: next header and length. */
static void put_ext(struct tpkt *tp, uint32_t off, uint8_t nh, uint8_t len)
{
	tp->d[off] = nh;
	tp->d[off + 1] = len;
	mark(tp, off, 2, 0, B_STRUCT);
}

/*
 * Hop-by-hop (router alert, a mutable option, PadN), destination options
 * for the routing header's hops, an experimental routing header, an atomic
 * fragment header, then destination options for the final destination
 * (with a mutable option, covered in full behind AH) and UDP.
 */
static uint32_t build_v6_ext(struct tpkt *tp)
{
	uint32_t o = 40;

	tp->d[6] = 0;
	put_ext(tp, o, 60, 1);
	put_opt(tp, o + 2, 0x05, 2, 0x11);
	put_opt(tp, o + 6, 0x23, 4, 0x21);
	put_opt(tp, o + 12, 0x01, 2, 0);
	o += 16;
	put_ext(tp, o, 43, 0);
	put_opt(tp, o + 2, 0x1e, 4, 0x31);
	o += 8;
	put_ext(tp, o, 44, 2);
	tp->d[o + 2] = 253;			/* RFC 4727 experiment */
	tp->d[o + 3] = 0;			/* segments left */
	fill_payload(tp, o + 4, 20, 0x41);
	o += 24;
	tp->d[o] = 60;				/* atomic fragment */
	mark(tp, o, 1, 0, B_STRUCT);
	wr32(tp->d + o + 4, 0xfeedbeef);
	mark(tp, o + 2, 2, 0, B_STRUCT);	/* offset and M drop */
	o += 8;
	tp->ah_at = o;
	tp->nh_off = o - 8;
	tp->d[o] = 17;
	tp->d[o + 1] = 0;
	put_opt(tp, o + 2, 0x3f, 4, 0x51);
	return o + 8;
}

static uint32_t build_v6_dst(struct tpkt *tp)
{
	tp->d[6] = 60;
	tp->ah_at = 40;
	tp->nh_off = 6;
	tp->d[40] = 17;
	tp->d[41] = 0;
	put_opt(tp, 42, 0x3f, 4, 0x61);
	return 48;
}

static void build_v6(struct tpkt *tp, enum shape sh, uint32_t plen,
		     uint8_t tc, uint8_t seed)
{
	uint8_t *d = tp->d;
	uint32_t hl = 40;

	memset(tp, 0, sizeof(*tp));
	wr32(d, 6u << 28 | (uint32_t)tc << 20 | 0x9abcd);
	d[6] = 17;
	d[7] = 63;
	d[8] = 0x20;
	d[9] = 0x01;
	d[23] = 0x0a;
	d[24] = 0x20;
	d[25] = 0x01;
	d[39] = 0x0b;
	tp->ah_at = 40;
	tp->nh_off = 6;
	mark_ipv6(tp, 0);

	if (sh == SH_V6_EXT)
		hl = build_v6_ext(tp);
	else if (sh == SH_V6_DST)
		hl = build_v6_dst(tp);

	/* The field that will name AH is covered, not walked. */
	mark(tp, tp->nh_off, 1, 0, B_AUTH);
	fill_payload(tp, hl, plen, seed);
	wr16(d + 4, (uint16_t)(hl - 40 + plen));
	tp->len = hl + plen;
	tp->version = V6;
}

static void build(struct tpkt *tp, enum shape sh, uint32_t plen, uint8_t tos,
		  bool df, uint8_t seed)
{
	if (sh == SH_V4 || sh == SH_V4_OPT)
		build_v4(tp, sh == SH_V4_OPT, plen, tos, df, seed);
	else
		build_v6(tp, sh, plen, tos, seed);
}

static int shape_version(enum shape sh)
{
	return sh == SH_V4 || sh == SH_V4_OPT ? V4 : V6;
}

/* ---- SAs ---- */

static void key_for(const struct talg *t, uint8_t *key)
{
	for (uint32_t i = 0; i < t->key_len; i++)
		key[i] = (uint8_t)(t->integ * 40 + i * 7);
}

static void pub_init(struct xdpsec_sa *pub, const struct talg *t, int mode,
		     int version, bool esn)
{
	memset(pub, 0, sizeof(*pub));
	pub->spi = TEST_SPI;
	pub->proto = XDPSEC_IPPROTO_AH;
	pub->mode = mode;
	pub->family = family_of(version);
	pub->flags = esn ? XDPSEC_SA_F_ESN : 0;
	pub->integ = t->integ;
	if (version == V4) {
		wr32((uint8_t *)&pub->src.v4, 0xc0000201);
		wr32((uint8_t *)&pub->dst.v4, 0xc6336402);
	} else {
		pub->src.v6[0] = 0x20;
		pub->src.v6[1] = 0x01;
		pub->src.v6[15] = 0x11;
		pub->dst.v6[0] = 0x20;
		pub->dst.v6[1] = 0x01;
		pub->dst.v6[15] = 0x22;
	}
}

/* ---- The test's own view of the wire format ---- */

struct combo {
	const struct talg *t;
	int mode;
	int outer;		/* tunnel mode; the shape's own otherwise */
	enum shape sh;
	bool esn;
};

static const char *combo_str(const struct combo *c)
{
	static char s[96];

	snprintf(s, sizeof(s), "%s %s outer v%d %s esn %d", c->t->name,
		 c->mode == XDPSEC_MODE_TUNNEL ? "tunnel" : "transport",
		 c->outer, shape_names[c->sh], c->esn);
	return s;
}

/* Where things are in a protected packet, and how each byte behaves. */
struct wire {
	uint32_t len;
	uint32_t ah_off;
	uint32_t ah_len;
	uint8_t mut[BUF_LEN];
	uint8_t cls[BUF_LEN];
};

static void wire_ah(struct wire *w)
{
	uint32_t a = w->ah_off;

	memset(w->mut + a, 0, w->len - a);
	memset(w->cls + a, B_AUTH, w->len - a);
	w->cls[a + 1] = B_STRUCT;		/* payload length */
}

/* The layout ah_encap() must produce from tp. */
static void wire_expect(const struct combo *c, const struct tpkt *tp,
			struct wire *w)
{
	struct tpkt outer;

	memset(w, 0, sizeof(*w));
	if (c->mode == XDPSEC_MODE_TRANSPORT) {
		w->ah_off = tp->ah_at;
		w->ah_len = ah_len_of(c->t, tp->version);
		w->len = tp->len + w->ah_len;
		wire_ah(w);
		memcpy(w->mut, tp->mut, tp->ah_at);
		memcpy(w->cls, tp->cls, tp->ah_at);
		/* Once it names AH, the protocol byte is only covered. */
		w->cls[tp->nh_off] = B_AUTH;
		w->mut[tp->nh_off] = 0;
		return;
	}

	memset(&outer, 0, sizeof(outer));
	if (c->outer == V4) {
		mark_ipv4(&outer, 0, 20);
	} else {
		mark_ipv6(&outer, 0);
		mark(&outer, 6, 1, 0, B_AUTH);
	}
	w->ah_off = c->outer == V4 ? 20 : 40;
	w->ah_len = ah_len_of(c->t, c->outer);
	w->len = w->ah_off + w->ah_len + tp->len;
	wire_ah(w);
	memcpy(w->mut, outer.mut, w->ah_off);
	memcpy(w->cls, outer.cls, w->ah_off);
	if (c->outer == V4)
		w->cls[9] = B_AUTH;
}

/*
 * The ICV of packet d as RFC 4302 3.3.3 defines it, computed from the
 * test's own record of the mutable bits, with OpenSSL's HMAC().
 */
static void test_icv(const struct combo *c, const struct wire *w,
		     const uint8_t *d, uint64_t seq, uint8_t *icv)
{
	static uint8_t buf[70000];
	uint8_t key[64], md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	size_t n = w->len;

	memcpy(buf, d, n);
	for (uint32_t i = 0; i < w->ah_off; i++)
		buf[i] &= (uint8_t)~w->mut[i];
	memset(buf + w->ah_off + 12, 0, c->t->icv_len);
	if (c->esn) {
		wr32(buf + n, (uint32_t)(seq >> 32));
		n += 4;
	}
	key_for(c->t, key);
	HMAC(c->t->md(), key, (int)c->t->key_len, buf, n, md, &md_len);
	memcpy(icv, md, c->t->icv_len);
}

static bool icv_matches(const struct combo *c, const struct wire *w,
			const uint8_t *d, uint64_t seq)
{
	uint8_t icv[64];

	test_icv(c, w, d, seq, icv);
	return !memcmp(icv, d + w->ah_off + 12, c->t->icv_len);
}

/* Re-signs a packet the test changed, as a peer with the key would. */
static void test_sign(const struct combo *c, const struct wire *w,
		      uint8_t *d, uint64_t seq)
{
	test_icv(c, w, d, seq, d + w->ah_off + 12);
}

static bool ah_hdr_ok(const struct combo *c, const struct wire *w,
		      const uint8_t *d, uint64_t seq, uint8_t nh)
{
	const uint8_t *ah = d + w->ah_off;

	for (uint32_t i = 12 + c->t->icv_len; i < w->ah_len; i++) {
		if (ah[i])
			return false;
	}
	return ah[0] == nh && ah[1] == w->ah_len / 4 - 2 && !rd16(ah + 2) &&
	       rd32(ah + 4) == TEST_SPI && rd32(ah + 8) == (uint32_t)seq;
}

static bool outer_ok(const struct combo *c, const struct ah_sa *a,
		     const uint8_t *d, const struct tpkt *tp, uint32_t len,
		     uint64_t seq)
{
	const uint8_t *in = tp->d;
	uint8_t tos = tp->version == V4 ? in[1] : (uint8_t)(rd16(in) >> 4);
	uint16_t df = tp->version == V4 ? rd16(in + 6) & 0x4000 : 0;

	if (c->outer == V4)
		return d[0] == 0x45 && d[1] == tos && rd16(d + 2) == len &&
		       rd16(d + 4) == (uint16_t)seq && rd16(d + 6) == df &&
		       d[8] == 64 && d[9] == 51 && ipv4_csum_ok(d) &&
		       !memcmp(d + 12, &a->src.v4, 4) &&
		       !memcmp(d + 16, &a->dst.v4, 4);
	return rd32(d) == (6u << 28 | (uint32_t)tos << 20) &&
	       rd16(d + 4) == len - 40 && d[6] == 51 && d[7] == 64 &&
	       !memcmp(d + 8, a->src.v6, 16) && !memcmp(d + 24, a->dst.v6, 16);
}

/* The transport header: the original with AH named and the length. */
static bool transport_hdr_ok(const struct tpkt *tp, const uint8_t *d,
			     uint32_t len)
{
	uint8_t want[BUF_LEN];

	memcpy(want, tp->d, tp->ah_at);
	want[tp->nh_off] = 51;
	if (tp->version == V4) {
		wr16(want + 2, (uint16_t)len);
		ipv4_set_csum(want);
	} else {
		wr16(want + 4, (uint16_t)(len - 40));
	}
	return !memcmp(want, d, tp->ah_at);
}

static uint8_t orig_proto(const struct combo *c, const struct tpkt *tp)
{
	if (c->mode == XDPSEC_MODE_TUNNEL)
		return tp->version == V4 ? 4 : 41;
	return tp->d[tp->nh_off];
}

static void check_wire(const struct combo *c, const struct ah_sa *a,
		       const struct tpkt *tp, const struct wire *w,
		       const struct pkt *p, uint64_t seq)
{
	const uint8_t *d = p->data;
	uint32_t after = w->ah_off + w->ah_len;
	bool ok;

	CHECK(p->len == w->len && p->len == ah_encap_len(a, tp->len),
	      "%s len %u: length %u, expected %u", combo_str(c), tp->len,
	      p->len, w->len);
	if (p->len != w->len)
		return;
	CHECK(p->headroom == HEADROOM - (w->len - tp->len) &&
		      p->headroom + p->len + p->tailroom == BUF_LEN,
	      "%s len %u: headroom/tailroom", combo_str(c), tp->len);
	CHECK(ah_hdr_ok(c, w, d, seq, orig_proto(c, tp)),
	      "%s len %u: AH header", combo_str(c), tp->len);

	if (c->mode == XDPSEC_MODE_TUNNEL) {
		ok = outer_ok(c, a, d, tp, w->len, seq) &&
		     !memcmp(d + after, tp->d, tp->len);
	} else {
		ok = transport_hdr_ok(tp, d, w->len) &&
		     !memcmp(d + after, tp->d + tp->ah_at,
			     tp->len - tp->ah_at);
	}
	CHECK(ok, "%s len %u: packet around AH", combo_str(c), tp->len);
	CHECK(icv_matches(c, w, d, seq), "%s len %u: ICV differs from HMAC()",
	      combo_str(c), tp->len);
}

/* ---- Round trips ---- */

static uint64_t seq_for(const struct combo *c, uint32_t n)
{
	return c->esn ? (3ULL << 32 | (0xfffffff0u + n)) : 1000 + n;
}

/* Builds tp and protects a copy of it in b; returns ah_encap's result. */
static int protect(const struct combo *c, const struct ah_sa *a,
		   struct tpkt *tp, uint32_t plen, uint64_t seq,
		   struct tbuf *b, struct pkt *p)
{
	build(tp, c->sh, plen, (uint8_t)(plen * 37 + 2), plen & 1,
	      (uint8_t)seq);
	memset(b->b, 0xee, sizeof(b->b));
	memcpy(b->b + HEADROOM, tp->d, tp->len);
	pkt_at(p, b, tp->len);
	return ah_encap(a, seq, p);
}

static void roundtrip(const struct combo *c, const struct ah_sa *a,
		      uint32_t plen, uint64_t seq)
{
	static struct tpkt tp;
	static struct wire w;
	struct tbuf b;
	struct pkt p;
	int ret;

	ret = protect(c, a, &tp, plen, seq, &b, &p);
	CHECK(ret == XDPSEC_CNT_OK, "%s plen %u: encap %d", combo_str(c),
	      plen, ret);
	if (ret)
		return;
	wire_expect(c, &tp, &w);
	check_wire(c, a, &tp, &w, &p, seq);

	ret = ah_decap(a, seq, &p, w.ah_off);
	CHECK(ret == XDPSEC_CNT_OK, "%s plen %u: decap %d", combo_str(c),
	      plen, ret);
	CHECK(p.data == b.b + HEADROOM && p.len == tp.len &&
		      p.headroom == HEADROOM &&
		      p.tailroom == BUF_LEN - HEADROOM - tp.len,
	      "%s plen %u: decapped position", combo_str(c), plen);
	CHECK(!memcmp(p.data, tp.d, tp.len), "%s plen %u: packet differs",
	      combo_str(c), plen);
}

/*
 * Changes every mutable field in transit (and DF, and the reserved flag)
 * and checks that the packet verifies and comes out with the changes the
 * network made, which transport mode keeps and tunnel mode drops.
 */
static void test_inflight(const struct combo *c, const struct ah_sa *a)
{
	static struct tpkt tp;
	static struct wire w;
	uint64_t seq = seq_for(c, 7);
	uint8_t want[BUF_LEN];
	struct tbuf b;
	struct pkt p;
	int ret;

	if (protect(c, a, &tp, 45, seq, &b, &p))
		return;
	wire_expect(c, &tp, &w);
	memcpy(want, tp.d, tp.len);

	for (uint32_t i = 0; i < w.ah_off; i++) {
		uint8_t x = INFLIGHT & w.mut[i];

		if (w.cls[i] != B_MUT)
			continue;
		p.data[i] ^= x;
		if (c->mode == XDPSEC_MODE_TRANSPORT)
			want[i] ^= x;
	}
	if ((c->mode == XDPSEC_MODE_TUNNEL ? c->outer : tp.version) == V4) {
		p.data[6] ^= 0xc0;	/* DF and the reserved flag */
		if (c->mode == XDPSEC_MODE_TRANSPORT) {
			want[6] ^= 0xc0;
			ipv4_set_csum(want);
		}
	}

	ret = ah_decap(a, seq, &p, w.ah_off);
	CHECK(ret == XDPSEC_CNT_OK, "%s: decap after changes in transit %d",
	      combo_str(c), ret);
	CHECK(!ret && p.len == tp.len && !memcmp(p.data, want, tp.len),
	      "%s: packet after changes in transit", combo_str(c));
	if (!ret && tp.version == V4)
		CHECK(ipv4_csum_ok(p.data), "%s: checksum after transit",
		      combo_str(c));
}

static const char *const class_names[] = { "covered", "mutable", "header" };

/* Flips each byte of a protected packet in turn. */
static void test_sweep(const struct combo *c, const struct ah_sa *a)
{
	static struct tpkt tp;
	static struct wire w;
	uint64_t seq = seq_for(c, 9);
	uint8_t good[BUF_LEN];
	struct tbuf b;
	struct pkt p;

	if (protect(c, a, &tp, 21, seq, &b, &p))
		return;
	wire_expect(c, &tp, &w);
	memcpy(good, p.data, p.len);

	for (uint32_t i = 0; i < w.len; i++) {
		struct pkt q = p;
		int ret;
		bool ok;

		memcpy(q.data, good, w.len);
		q.data[i] ^= FLIP;

		ret = ah_decap(a, seq, &q, w.ah_off);
		if (w.cls[i] == B_MUT)
			ok = ret == XDPSEC_CNT_OK;
		else if (w.cls[i] == B_AUTH)
			ok = ret == XDPSEC_CNT_DROP_AUTH;
		else
			ok = ret != XDPSEC_CNT_OK;
		CHECK(ok, "%s: byte %u (%s, AH at %u) flipped: %d",
		      combo_str(c), i, class_names[w.cls[i]], w.ah_off, ret);

		/* A dropped packet is left as it arrived. */
		p.data[i] ^= FLIP;
		CHECK(ret == XDPSEC_CNT_OK || (!memcmp(p.data, good, w.len) &&
					      pkt_same(&p, &q)),
		      "%s: byte %u: drop %d changed the packet",
		      combo_str(c), i, ret);
	}
}

/* ESN: the high half is covered though never sent. */
static void test_esn(const struct combo *c, const struct ah_sa *a)
{
	static struct tpkt tp;
	static struct wire w;
	uint64_t seq = seq_for(c, 3);
	uint8_t good[BUF_LEN];
	struct tbuf b;
	struct pkt p;
	int ret;

	if (protect(c, a, &tp, 10, seq, &b, &p))
		return;
	wire_expect(c, &tp, &w);
	memcpy(good, p.data, p.len);

	ret = ah_decap(a, seq + (1ULL << 32), &p, w.ah_off);
	if (c->esn)
		CHECK(ret == XDPSEC_CNT_DROP_AUTH,
		      "%s: wrong high sequence half accepted: %d",
		      combo_str(c), ret);
	else
		CHECK(ret == XDPSEC_CNT_OK,
		      "%s: high half used without ESN: %d", combo_str(c),
		      ret);
	CHECK(ret == XDPSEC_CNT_OK || !memcmp(p.data, good, w.len),
	      "%s: packet changed by a failed decap", combo_str(c));
}

/* The packet, cut short, with and without its length field adjusted. */
static void test_truncated(const struct combo *c, const struct ah_sa *a)
{
	static struct tpkt tp;
	static struct wire w;
	uint64_t seq = seq_for(c, 5);
	struct tbuf b;
	struct pkt p;

	if (protect(c, a, &tp, 30, seq, &b, &p))
		return;
	wire_expect(c, &tp, &w);

	for (uint32_t len = 0; len < w.len; len++) {
		for (int fix = 0; fix < 2; fix++) {
			/* Exactly len bytes, so valgrind sees any overrun. */
			uint8_t *buf = malloc(len ? len : 1);
			struct pkt q = { buf, len, 0, 0 };
			uint32_t spi, sl;
			uint8_t nh;
			int ret;

			memcpy(buf, p.data, len);
			if (fix && c->outer == V4 && len >= 4)
				wr16(buf + 2, (uint16_t)len);
			if (fix && c->outer == V6 && len >= 40)
				wr16(buf + 4, (uint16_t)(len - 40));

			ret = ah_peek(&q, w.ah_off, &spi, &sl, &nh);
			CHECK((ret == XDPSEC_CNT_OK) == (len >= w.ah_off + 12),
			      "%s: peek at %u bytes: %d", combo_str(c), len,
			      ret);
			ret = ah_decap(a, seq, &q, w.ah_off);
			CHECK(ret != XDPSEC_CNT_OK,
			      "%s: truncated to %u (fix %d) accepted",
			      combo_str(c), len, fix);
			free(buf);
		}
	}
}

/* The original packet cut short, into an exact buffer, protected. */
static void test_encap_truncated(const struct combo *c, const struct ah_sa *a)
{
	static struct tpkt tp;

	build(&tp, c->sh, 30, 0, false, 1);
	for (uint32_t len = 0; len <= tp.len; len++) {
		for (int fix = 0; fix < 2; fix++) {
			uint8_t *buf = malloc(HEADROOM + len);
			struct pkt q = { buf + HEADROOM, len, HEADROOM, 0 };
			int ret;

			memcpy(buf + HEADROOM, tp.d, len);
			if (fix && tp.version == V4 && len >= 4)
				wr16(q.data + 2, (uint16_t)len);
			if (fix && tp.version == V6 && len >= 40)
				wr16(q.data + 4, (uint16_t)(len - 40));

			ret = ah_encap(a, 1, &q);
			CHECK(ret == XDPSEC_CNT_OK ||
				      ret == XDPSEC_CNT_DROP_ESP_MALFORMED,
			      "%s: encap of %u bytes (fix %d): %d",
			      combo_str(c), len, fix, ret);
			if (len == tp.len)
				CHECK(ret == XDPSEC_CNT_OK,
				      "%s: whole packet refused: %d",
				      combo_str(c), ret);
			if (!fix && len < tp.len)
				CHECK(ret == XDPSEC_CNT_DROP_ESP_MALFORMED,
				      "%s: short packet accepted",
				      combo_str(c));
			free(buf);
		}
	}
}

/* Link-layer padding after the IP packet, on the way in and out. */
static void test_link_padding(const struct combo *c, const struct ah_sa *a)
{
	static struct tpkt tp;
	static struct wire w;
	uint64_t seq = seq_for(c, 11);
	struct tbuf b;
	struct pkt p;
	int ret;

	build(&tp, c->sh, 4, 0, false, 3);
	wire_expect(c, &tp, &w);
	memset(b.b, 0xee, sizeof(b.b));
	memcpy(b.b + HEADROOM, tp.d, tp.len);
	pkt_at(&p, &b, tp.len + 6);
	ret = ah_encap(a, seq, &p);
	CHECK(ret == XDPSEC_CNT_OK && p.len == w.len &&
		      p.headroom + p.len + p.tailroom == BUF_LEN,
	      "%s: encap with link padding: %d len %u", combo_str(c), ret,
	      p.len);
	if (ret)
		return;
	CHECK(icv_matches(c, &w, p.data, seq), "%s: ICV with link padding",
	      combo_str(c));

	memset(p.data + p.len, 0xa5, 9);
	p.len += 9;
	p.tailroom -= 9;
	ret = ah_decap(a, seq, &p, w.ah_off);
	CHECK(ret == XDPSEC_CNT_OK && p.len == tp.len &&
		      p.data == b.b + HEADROOM &&
		      p.tailroom == BUF_LEN - HEADROOM - tp.len &&
		      !memcmp(p.data, tp.d, tp.len),
	      "%s: decap with link padding: %d len %u", combo_str(c), ret,
	      p.len);
}

/* Every AH length the receiver does not expect is refused. */
static void test_ah_lengths(const struct combo *c, const struct ah_sa *a)
{
	static struct tpkt tp;
	static struct wire w;
	uint64_t seq = seq_for(c, 13);
	uint8_t good[BUF_LEN];
	struct tbuf b;
	struct pkt p;
	uint8_t *d;
	int version;

	if (protect(c, a, &tp, 100, seq, &b, &p))
		return;
	wire_expect(c, &tp, &w);
	memcpy(good, p.data, p.len);
	d = p.data;
	version = c->mode == XDPSEC_MODE_TUNNEL ? c->outer : tp.version;

	for (uint32_t plen = 0; plen < 256; plen++) {
		uint32_t len = (plen + 2) * 4;
		bool fits = len == c->t->ah6 ||
			    (version == V4 && len == c->t->ah4);
		struct pkt q = p;
		int ret;

		if (len == w.ah_len)
			continue;
		memcpy(d, good, w.len);
		d[w.ah_off + 1] = (uint8_t)plen;
		ret = ah_decap(a, seq, &q, w.ah_off);
		CHECK(fits ? ret != XDPSEC_CNT_OK :
			     ret == XDPSEC_CNT_DROP_ESP_MALFORMED,
		      "%s: AH length %u: %d", combo_str(c), len, ret);
	}
}

static void run_combo(const struct combo *c)
{
	static const uint32_t plens[] = { 0, 1, 2, 3, 5, 8, 63, 200, 1400 };
	struct xdpsec_sa pub;
	uint8_t key[64];
	struct ah_sa a;
	int ret;

	pub_init(&pub, c->t, c->mode, c->outer, c->esn);
	key_for(c->t, key);
	ret = ah_sa_init(&a, &pub, key, c->t->key_len);
	CHECK(ret == 0, "%s: ah_sa_init %d", combo_str(c), ret);
	if (ret)
		return;

	for (size_t i = 0; i < sizeof(plens) / sizeof(plens[0]); i++)
		roundtrip(c, &a, plens[i], seq_for(c, (uint32_t)i));
	test_inflight(c, &a);
	test_sweep(c, &a);
	test_esn(c, &a);
	test_truncated(c, &a);
	test_encap_truncated(c, &a);
	test_link_padding(c, &a);
	test_ah_lengths(c, &a);
	ah_sa_fini(&a);
}

static void test_combos(void)
{
	for (size_t i = 0; i < NALGS; i++) {
		for (int esn = 0; esn < 2; esn++) {
			for (int sh = 0; sh < SH_MAX; sh++) {
				struct combo c = {
					&talgs[i], XDPSEC_MODE_TRANSPORT,
					shape_version(sh), sh, esn,
				};

				run_combo(&c);
				for (int o = V4; o <= V6; o += V6 - V4) {
					c.mode = XDPSEC_MODE_TUNNEL;
					c.outer = o;
					run_combo(&c);
				}
			}
		}
	}
}

/* ---- Individual cases ---- */

static int sa_for(struct ah_sa *a, const struct talg *t, int mode,
		  int version, bool esn)
{
	struct xdpsec_sa pub;
	uint8_t key[64];

	pub_init(&pub, t, mode, version, esn);
	key_for(t, key);
	return ah_sa_init(a, &pub, key, t->key_len);
}

static void test_sa_init(void)
{
	struct xdpsec_sa pub;
	uint8_t key[65] = { 0 };
	struct ah_sa a;

	for (size_t i = 0; i < NALGS; i++) {
		const struct talg *t = &talgs[i];

		pub_init(&pub, t, XDPSEC_MODE_TUNNEL, V6, true);
		CHECK(ah_sa_init(&a, &pub, key, t->key_len - 1) == -EINVAL,
		      "%s: short key", t->name);
		CHECK(ah_sa_init(&a, &pub, key, t->key_len + 1) == -EINVAL,
		      "%s: long key", t->name);
		CHECK(ah_sa_init(&a, &pub, key, 0) == -EINVAL, "%s: no key",
		      t->name);
		CHECK(!ah_sa_init(&a, &pub, key, t->key_len) && a.mac &&
			      a.icv_len == t->icv_len && a.spi == TEST_SPI &&
			      a.mode == XDPSEC_MODE_TUNNEL &&
			      a.family == XDPSEC_AF_INET6 &&
			      a.flags == XDPSEC_SA_F_ESN &&
			      !memcmp(&a.dst, &pub.dst, sizeof(a.dst)),
		      "%s: init", t->name);
		ah_sa_fini(&a);
		CHECK(!a.mac, "%s: fini", t->name);
	}

	pub_init(&pub, &talgs[0], XDPSEC_MODE_TRANSPORT, V4, false);
	pub.integ = XDPSEC_INTEG_NONE;
	CHECK(ah_sa_init(&a, &pub, key, 32) == -EINVAL, "integ none");
	pub.integ = 77;
	CHECK(ah_sa_init(&a, &pub, key, 32) == -EINVAL, "integ unknown");
	pub.integ = talgs[0].integ;
	pub.mode = 0;
	CHECK(ah_sa_init(&a, &pub, key, 32) == -EINVAL, "no mode");
	pub.mode = XDPSEC_MODE_TRANSPORT;
	pub.family = 0;
	CHECK(ah_sa_init(&a, &pub, key, 32) == -EINVAL, "no family");
	pub.family = XDPSEC_AF_INET;
	pub.proto = XDPSEC_IPPROTO_ESP;
	CHECK(ah_sa_init(&a, &pub, key, 32) == -EINVAL, "ESP SA");
	CHECK(!a.mac, "no context left after a failure");
}

static void test_encap_len(void)
{
	for (size_t i = 0; i < NALGS; i++) {
		const struct talg *t = &talgs[i];
		struct ah_sa a;

		sa_for(&a, t, XDPSEC_MODE_TUNNEL, V4, false);
		CHECK(ah_encap_len(&a, 100) == 120 + t->ah4, "%s tunnel v4",
		      t->name);
		ah_sa_fini(&a);
		sa_for(&a, t, XDPSEC_MODE_TUNNEL, V6, false);
		CHECK(ah_encap_len(&a, 100) == 140 + t->ah6, "%s tunnel v6",
		      t->name);
		ah_sa_fini(&a);
		sa_for(&a, t, XDPSEC_MODE_TRANSPORT, V4, false);
		CHECK(ah_encap_len(&a, 100) == 100 + t->ah4,
		      "%s transport v4", t->name);
		ah_sa_fini(&a);
		sa_for(&a, t, XDPSEC_MODE_TRANSPORT, V6, false);
		CHECK(ah_encap_len(&a, 100) == 100 + t->ah6,
		      "%s transport v6", t->name);
		ah_sa_fini(&a);

		/* RFC 4302 2.6: 4 bytes of padding over IPv6, none over v4. */
		CHECK(t->ah6 - 12 - t->icv_len == 4 &&
			      t->ah4 == 12 + t->icv_len,
		      "%s: padding table", t->name);
	}
}

/*
 * A packet from a sender that pads IPv4 AH to 64 bits (as Linux does by
 * default) with non-zero padding, built and signed by the test alone.
 */
static void test_foreign_padding(void)
{
	for (size_t i = 0; i < NALGS; i++) {
		struct combo c = { &talgs[i], XDPSEC_MODE_TRANSPORT, V4, SH_V4,
				   false };
		static struct tpkt tp;
		static struct wire w;
		uint32_t pad_at;
		struct tbuf b;
		struct ah_sa a;
		struct pkt p;
		uint8_t *d;
		int ret;

		sa_for(&a, c.t, c.mode, V4, false);
		build(&tp, SH_V4, 33, 0x10, true, 9);
		wire_expect(&c, &tp, &w);
		w.ah_len = c.t->ah6;
		w.len = tp.len + w.ah_len;
		memset(w.mut + 20, 0, w.len - 20);
		memset(w.cls + 20, B_AUTH, w.len - 20);

		memset(b.b, 0, sizeof(b.b));
		pkt_at(&p, &b, w.len);
		d = p.data;
		memcpy(d, tp.d, 20);
		d[9] = 51;
		wr16(d + 2, (uint16_t)w.len);
		ipv4_set_csum(d);
		d[20] = 17;
		d[21] = (uint8_t)(w.ah_len / 4 - 2);
		wr32(d + 24, TEST_SPI);
		wr32(d + 28, 77);
		pad_at = 32 + c.t->icv_len;
		memset(d + pad_at, 0xd5, w.ah_len - 12 - c.t->icv_len);
		memcpy(d + 20 + w.ah_len, tp.d + 20, tp.len - 20);
		test_sign(&c, &w, d, 77);

		ret = ah_decap(&a, 77, &p, 20);
		CHECK(ret == XDPSEC_CNT_OK && p.len == tp.len &&
			      !memcmp(p.data, tp.d, tp.len),
		      "%s: 64-bit aligned IPv4 AH: %d", c.t->name, ret);

		pkt_at(&p, &b, w.len);
		memcpy(d, tp.d, 20);
		d[9] = 51;
		wr16(d + 2, (uint16_t)w.len);
		ipv4_set_csum(d);
		d[20] = 17;
		d[21] = (uint8_t)(w.ah_len / 4 - 2);
		test_sign(&c, &w, d, 77);
		d[pad_at] ^= 1;
		ret = ah_decap(&a, 77, &p, 20);
		CHECK(ret == XDPSEC_CNT_DROP_AUTH,
		      "%s: padding not covered: %d", c.t->name, ret);
		ah_sa_fini(&a);
	}
}

/*
 * Tunnel packets signed by the test whose AH next header does not match
 * the inner packet, or whose inner packet is damaged.
 */
static void test_next_header(void)
{
	static const struct {
		enum shape sh;
		uint8_t nh;
		int delta;	/* added to the inner length field */
		int want;
	} cases[] = {
		{ SH_V4, 41, 0, XDPSEC_CNT_DROP_NEXT_HEADER },
		{ SH_V4, 6, 0, XDPSEC_CNT_DROP_NEXT_HEADER },
		{ SH_V4, 59, 0, XDPSEC_CNT_DROP_NEXT_HEADER },
		{ SH_V6, 4, 0, XDPSEC_CNT_DROP_NEXT_HEADER },
		{ SH_V4, 4, 1, XDPSEC_CNT_DROP_ESP_MALFORMED },
		{ SH_V6, 41, 1, XDPSEC_CNT_DROP_ESP_MALFORMED },
		{ SH_V4, 4, -1, XDPSEC_CNT_OK },	/* TFC-like tail */
	};
	struct combo c = { &talgs[1], XDPSEC_MODE_TUNNEL, V6, SH_V4, false };
	static struct tpkt tp;
	static struct wire w;
	struct ah_sa a;

	sa_for(&a, c.t, c.mode, c.outer, false);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tbuf b;
		struct pkt p;
		uint8_t *inner;
		int ret;

		c.sh = cases[i].sh;
		if (protect(&c, &a, &tp, 40, 5, &b, &p))
			break;
		wire_expect(&c, &tp, &w);
		inner = p.data + w.ah_off + w.ah_len;
		p.data[w.ah_off] = cases[i].nh;
		if (tp.version == V4) {
			wr16(inner + 2,
			     (uint16_t)(tp.len + cases[i].delta));
			ipv4_set_csum(inner);
		} else {
			wr16(inner + 4,
			     (uint16_t)(tp.len - 40 + cases[i].delta));
		}
		test_sign(&c, &w, p.data, 5);

		ret = ah_decap(&a, 5, &p, w.ah_off);
		CHECK(ret == cases[i].want, "%s next header %u, inner %+d: %d",
		      shape_names[c.sh], cases[i].nh, cases[i].delta, ret);
		if (!ret)
			CHECK(p.len == tp.len - 1 &&
				      p.tailroom == BUF_LEN - HEADROOM -
							    tp.len + 1,
			      "inner packet shorter than the payload");
	}
	ah_sa_fini(&a);
}

/* RFC 6040: outer CE reaches an ECN-capable inner packet only. */
static void test_ecn(void)
{
	static const struct {
		uint8_t inner;
		uint8_t want;
	} cases[] = {
		{ 0x02, 0x03 },		/* ECT(0) */
		{ 0x01, 0x03 },		/* ECT(1) */
		{ 0x00, 0x00 },		/* Not-ECT stays */
		{ 0x03, 0x03 },
	};

	for (int o = V4; o <= V6; o += V6 - V4) {
		for (int sh = SH_V4; sh <= SH_V6; sh += SH_V6 - SH_V4) {
			struct combo c = { &talgs[0], XDPSEC_MODE_TUNNEL, o,
					   sh, false };
			struct ah_sa a;

			sa_for(&a, c.t, c.mode, o, false);
			for (size_t i = 0; i < 4; i++) {
				static struct tpkt tp;
				struct tbuf b;
				struct pkt p;
				uint8_t ecn;
				int ret;

				build(&tp, sh, 20, 0xb8 | cases[i].inner,
				      false, 2);
				memcpy(b.b + HEADROOM, tp.d, tp.len);
				pkt_at(&p, &b, tp.len);
				ret = ah_encap(&a, 9, &p);
				if (o == V4)
					p.data[1] |= 3;
				else
					p.data[1] |= 0x30;
				ret |= ah_decap(&a, 9, &p, o == V4 ? 20 : 40);
				ecn = sh == SH_V4 ? p.data[1] & 3 :
						    p.data[1] >> 4 & 3;
				CHECK(!ret && ecn == cases[i].want &&
					      (sh != SH_V4 ||
					       ipv4_csum_ok(p.data)),
				      "ECN outer v%d %s inner %u: %d got %u", o,
				      shape_names[sh], cases[i].inner, ret,
				      ecn);
			}
			ah_sa_fini(&a);
		}
	}
}

/* RFC 4302 3.1.1 and 3.4.1: no AH on or for fragments. */
static void test_fragments(void)
{
	static struct tpkt tp;
	struct combo c = { &talgs[0], XDPSEC_MODE_TRANSPORT, V4, SH_V4,
			   false };
	static struct wire w;
	struct tbuf b;
	struct ah_sa a, t4;
	struct pkt p;
	int ret;

	sa_for(&a, c.t, c.mode, V4, false);
	sa_for(&t4, c.t, XDPSEC_MODE_TUNNEL, V4, false);
	for (int i = 0; i < 3; i++) {
		static const uint16_t frag[3] = { 0x2000, 0x0001, 0x4010 };

		build(&tp, SH_V4, 20, 0, false, 1);
		wr16(tp.d + 6, frag[i]);
		ipv4_set_csum(tp.d);
		memcpy(b.b + HEADROOM, tp.d, tp.len);
		pkt_at(&p, &b, tp.len);
		ret = ah_encap(&a, 1, &p);
		CHECK(ret == XDPSEC_CNT_DROP_FRAGMENT &&
			      p.data == b.b + HEADROOM,
		      "transport AH on IPv4 fragment %#x: %d", frag[i], ret);
		ret = ah_encap(&t4, 1, &p);
		CHECK(ret == XDPSEC_CNT_OK, "tunnel of fragment %#x: %d",
		      frag[i], ret);
	}

	/* A protected packet fragmented in transit is not verified. */
	if (protect(&c, &a, &tp, 20, 1, &b, &p))
		return;
	wire_expect(&c, &tp, &w);
	p.data[6] |= 0x20;
	ret = ah_decap(&a, 1, &p, w.ah_off);
	CHECK(ret == XDPSEC_CNT_DROP_FRAGMENT, "MF on arrival: %d", ret);
	ah_sa_fini(&a);
	ah_sa_fini(&t4);

	/* IPv6: a real fragment header, either way. */
	c.sh = SH_V6_EXT;
	c.outer = V6;
	sa_for(&a, c.t, c.mode, V6, false);
	build(&tp, SH_V6_EXT, 20, 0, false, 1);
	tp.d[tp.ah_at - 8 + 3] = 1;
	memcpy(b.b + HEADROOM, tp.d, tp.len);
	pkt_at(&p, &b, tp.len);
	ret = ah_encap(&a, 1, &p);
	CHECK(ret == XDPSEC_CNT_DROP_FRAGMENT && p.data == b.b + HEADROOM &&
		      !memcmp(p.data, tp.d, tp.len),
	      "transport AH on IPv6 fragment: %d", ret);
	if (!protect(&c, &a, &tp, 20, 1, &b, &p)) {
		wire_expect(&c, &tp, &w);
		wr16(p.data + tp.ah_at - 8 + 2, 8 << 3);
		ret = ah_decap(&a, 1, &p, w.ah_off);
		CHECK(ret == XDPSEC_CNT_DROP_FRAGMENT,
		      "IPv6 fragment on arrival: %d", ret);
	}
	ah_sa_fini(&a);
}

/* Encapsulates a zero-filled packet of len bytes in big. */
static int encap_big(const struct ah_sa *a, int v, uint32_t len,
		     uint8_t *big)
{
	struct pkt p = { big + HEADROOM, len, HEADROOM, 0 };

	memset(big, 0, HEADROOM + len);
	if (v == V4) {
		p.data[0] = 0x45;
		wr16(p.data + 2, (uint16_t)len);
		p.data[9] = 17;
	} else {
		p.data[0] = 0x60;
		wr16(p.data + 4, (uint16_t)(len - 40));
		p.data[6] = 17;
	}
	return ah_encap(a, 1, &p);
}

static void too_big_one(const struct talg *t, int mode, int v, uint8_t *big)
{
	uint32_t outer = mode == XDPSEC_MODE_TUNNEL ? (v == V4 ? 20 : 40) : 0;
	uint32_t need = ah_len_of(t, v) + outer;
	static struct tpkt tp;
	struct ah_sa a;
	struct tbuf b;
	struct pkt p;
	int ret;

	sa_for(&a, t, mode, v, false);
	build(&tp, v == V4 ? SH_V4 : SH_V6_EXT, 50, 0, false, 4);
	memcpy(b.b + HEADROOM, tp.d, tp.len);
	pkt_at(&p, &b, tp.len);
	p.headroom = need - 1;
	ret = ah_encap(&a, 1, &p);
	CHECK(ret == XDPSEC_CNT_DROP_TOO_BIG && p.data == b.b + HEADROOM &&
		      p.len == tp.len && !memcmp(p.data, tp.d, tp.len),
	      "%s mode %d v%d: headroom %u: %d", t->name, mode, v, need - 1,
	      ret);
	p.headroom = need;
	ret = ah_encap(&a, 1, &p);
	CHECK(ret == XDPSEC_CNT_OK && !p.headroom,
	      "%s mode %d v%d: exact headroom: %d", t->name, mode, v, ret);

	/*
	 * The largest packet that fits, and one more byte: the IPv6 payload
	 * length leaves out the fixed header.
	 */
	for (uint32_t more = 0; more < 2; more++) {
		uint32_t len = 65535 - need + more + (v == V6 ? 40 : 0);

		ret = encap_big(&a, v, len, big);
		CHECK(ret == (more ? XDPSEC_CNT_DROP_TOO_BIG : XDPSEC_CNT_OK),
		      "%s mode %d v%d: %u bytes: %d", t->name, mode, v, len,
		      ret);
	}
	ah_sa_fini(&a);
}

/* Headroom and the IP length limit. */
static void test_too_big(void)
{
	static uint8_t big[HEADROOM + 70000];

	for (size_t i = 0; i < NALGS; i++) {
		for (int v = V4; v <= V6; v += V6 - V4) {
			too_big_one(&talgs[i], XDPSEC_MODE_TUNNEL, v, big);
			too_big_one(&talgs[i], XDPSEC_MODE_TRANSPORT, v, big);
		}
	}
}

/* SAs that cannot be used, and packets of the wrong family. */
static void test_no_sa(void)
{
	static struct tpkt tp;
	struct ah_sa a, zero;
	struct tbuf b;
	struct pkt p;

	memset(&zero, 0, sizeof(zero));
	build(&tp, SH_V4, 10, 0, false, 1);
	memcpy(b.b + HEADROOM, tp.d, tp.len);
	pkt_at(&p, &b, tp.len);
	CHECK(ah_encap(&zero, 1, &p) == XDPSEC_CNT_DROP_NO_SA,
	      "encap without SA");
	CHECK(ah_decap(&zero, 1, &p, 20) == XDPSEC_CNT_DROP_NO_SA,
	      "decap without SA");

	sa_for(&a, &talgs[0], XDPSEC_MODE_TRANSPORT, V6, false);
	CHECK(ah_encap(&a, 1, &p) == XDPSEC_CNT_DROP_NO_SA &&
		      p.data == b.b + HEADROOM,
	      "IPv4 packet for an IPv6 transport SA");
	ah_sa_fini(&a);
}

/* AH offsets that do not follow the headers. */
static void test_bad_offsets(void)
{
	static const uint32_t v4_offs[] = { 0, 1, 12, 16, 20, 24, 32,
					    0xfffffff0, 0xffffffff };
	static const uint32_t v6_offs[] = { 0, 8, 39, 48, 56, 64, 88, 100,
					    0xfffffff8, 0xffffffff };

	for (int sh = SH_V4_OPT; sh <= SH_V6_EXT; sh += SH_V6_EXT - SH_V4_OPT) {
		int v = shape_version(sh);
		struct combo c = { &talgs[2], XDPSEC_MODE_TRANSPORT, v, sh,
				   true };
		const uint32_t *offs = v == V4 ? v4_offs : v6_offs;
		size_t n = v == V4 ? sizeof(v4_offs) / sizeof(v4_offs[0]) :
				     sizeof(v6_offs) / sizeof(v6_offs[0]);
		static struct tpkt tp;
		struct ah_sa a;
		struct tbuf b;
		struct pkt p;

		sa_for(&a, c.t, c.mode, v, true);
		if (!protect(&c, &a, &tp, 60, 2, &b, &p)) {
			for (size_t i = 0; i < n; i++) {
				struct pkt q = p;
				int ret = ah_decap(&a, 2, &q, offs[i]);

				CHECK(ret != XDPSEC_CNT_OK &&
					      ret != XDPSEC_CNT_DROP_AUTH,
				      "%s: AH offset %u: %d",
				      shape_names[sh], offs[i], ret);
			}
			CHECK(!ah_decap(&a, 2, &p, tp.ah_at), "%s: intact",
			      shape_names[sh]);
		}
		ah_sa_fini(&a);
	}
}

/*
 * IPv6 headers in front of AH longer than the module copies: refused in
 * transport mode, carried as payload in tunnel mode.
 */
static void test_long_headers(void)
{
	static struct tpkt tp;
	static uint8_t buf[HEADROOM + 2400];
	struct ah_sa tr, tu;
	struct pkt p;
	uint32_t off;
	int ret;

	build(&tp, SH_V6, 8, 0, false, 1);
	memset(buf, 0, sizeof(buf));
	memcpy(buf + HEADROOM, tp.d, 40);
	p = (struct pkt){ buf + HEADROOM, 40 + 2048 + 8, HEADROOM, 0 };
	wr16(p.data + 4, 2048 + 8);
	p.data[6] = 0;
	p.data[40] = 17;
	p.data[41] = 255;
	/* 2046 bytes of PadN options. */
	for (off = 42; off + 257 <= 40 + 2048; off += 257)
		p.data[off] = 1, p.data[off + 1] = 255;
	p.data[off] = 1;
	p.data[off + 1] = (uint8_t)(40 + 2048 - off - 2);

	sa_for(&tr, &talgs[0], XDPSEC_MODE_TRANSPORT, V6, false);
	sa_for(&tu, &talgs[0], XDPSEC_MODE_TUNNEL, V6, false);
	ret = ah_encap(&tr, 1, &p);
	CHECK(ret == XDPSEC_CNT_DROP_ESP_MALFORMED &&
		      p.data == buf + HEADROOM,
	      "2 KB of hop-by-hop options in transport mode: %d", ret);
	ret = ah_encap(&tu, 1, &p);
	CHECK(ret == XDPSEC_CNT_OK, "2 KB of options in tunnel mode: %d",
	      ret);
	ret = ah_decap(&tu, 1, &p, 40);
	CHECK(ret == XDPSEC_CNT_OK && p.len == 40 + 2048 + 8,
	      "2 KB of options through a tunnel: %d", ret);

	/* The same options in front of an AH header on arrival. */
	memmove(p.data + 2088 + 32, p.data + 2088, 8);
	p.data[40] = 51;
	p.len += 32;
	wr16(p.data + 4, (uint16_t)(p.len - 40));
	p.data[2088] = 17;
	p.data[2089] = 6;
	ret = ah_decap(&tr, 1, &p, 2088);
	CHECK(ret == XDPSEC_CNT_DROP_ESP_MALFORMED,
	      "AH behind 2 KB of options: %d", ret);
	ah_sa_fini(&tr);
	ah_sa_fini(&tu);
}

/* Malformed options in front of AH are found before anything changes. */
static void test_bad_options(void)
{
	static struct tpkt tp;
	struct combo c = { &talgs[0], XDPSEC_MODE_TRANSPORT, V6, SH_V6_EXT,
			   false };
	struct ah_sa a;
	struct tbuf b;
	struct pkt p;
	int ret;

	sa_for(&a, c.t, c.mode, V6, false);
	build(&tp, SH_V6_EXT, 20, 0, false, 1);
	tp.d[40 + 7] = 9;	/* the mutable option overruns its header */
	memcpy(b.b + HEADROOM, tp.d, tp.len);
	pkt_at(&p, &b, tp.len);
	ret = ah_encap(&a, 1, &p);
	CHECK(ret == XDPSEC_CNT_DROP_ESP_MALFORMED &&
		      p.data == b.b + HEADROOM && p.len == tp.len &&
		      !memcmp(p.data, tp.d, tp.len),
	      "option overrunning its header: %d", ret);
	ah_sa_fini(&a);
}

static void test_peek(void)
{
	struct combo c = { &talgs[0], XDPSEC_MODE_TUNNEL, V4, SH_V6, true };
	static struct tpkt tp;
	uint32_t spi = 0, seq_lo = 0;
	uint8_t nh = 0;
	struct ah_sa a;
	struct tbuf b;
	struct pkt p;

	sa_for(&a, c.t, c.mode, V4, true);
	if (!protect(&c, &a, &tp, 9, 0x500000007ULL, &b, &p))
		CHECK(!ah_peek(&p, 20, &spi, &seq_lo, &nh) &&
			      spi == TEST_SPI && seq_lo == 7 && nh == 41,
		      "peek: spi %#x seq %u nh %u", spi, seq_lo, nh);
	ah_sa_fini(&a);
}

int main(void)
{
	test_sa_init();
	test_encap_len();
	test_combos();
	test_foreign_padding();
	test_next_header();
	test_ecn();
	test_fragments();
	test_too_big();
	test_no_sa();
	test_bad_offsets();
	test_long_headers();
	test_bad_options();
	test_peek();
	return check_summary();
}
