// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of ESP tunnel mode framing: round trips for every algorithm,
 * ESN setting and family combination over a spread of sizes, the wire
 * format checked independently of esp_decap(), tampering, truncation,
 * hand-made packets with bad trailers, ECN and link-layer padding.
 */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "aead.h"
#include "check.h"
#include "esp.h"

enum {
	BUF_LEN = 2048,
	HEADROOM = 256,
	ICV = 16,
	ESP_FIXED = 16,		/* ESP header and IV */
	V4 = 4,
	V6 = 6,
};

static const uint8_t salt_bytes[AEAD_SALT_LEN] = { 0xca, 0xfe, 0xba, 0xbe };

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
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static uint64_t rd64(const uint8_t *p)
{
	return (uint64_t)rd32(p) << 32 | rd32(p + 4);
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

/* One's complement sum, folded; a header with a valid checksum gives 0xffff. */
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

static uint32_t hdr_len(int version)
{
	return version == V4 ? 20 : 40;
}

static uint8_t family_of(int version)
{
	return version == V4 ? XDPSEC_AF_INET : XDPSEC_AF_INET6;
}

static void pkt_at(struct pkt *p, struct tbuf *t, uint32_t len)
{
	p->data = t->b + HEADROOM;
	p->len = len;
	p->headroom = HEADROOM;
	p->tailroom = BUF_LEN - HEADROOM - len;
}

static bool pkt_eq(const struct pkt *a, const struct pkt *b)
{
	return a->data == b->data && a->len == b->len &&
	       a->headroom == b->headroom && a->tailroom == b->tailroom;
}

/* ---- Inner packets ---- */

/*
 * Writes an IP packet of the given version with payload_len bytes of UDP-ish
 * payload.  tos is the IPv4 TOS or IPv6 traffic class.  Returns its length.
 */
static uint32_t make_inner(uint8_t *d, int version, uint32_t payload_len,
			   uint8_t tos, bool df, uint8_t seed)
{
	uint32_t hl = hdr_len(version);

	memset(d, 0, hl);
	if (version == V4) {
		d[0] = 0x45;
		d[1] = tos;
		wr16(d + 2, (uint16_t)(hl + payload_len));
		wr16(d + 4, 0x1234);
		wr16(d + 6, df ? 0x4000 : 0);
		d[8] = 63;
		d[9] = 17;
		wr32(d + 12, 0x0a000001);
		wr32(d + 16, 0x0a000101);
		ipv4_set_csum(d);
	} else {
		wr32(d, 6u << 28 | (uint32_t)tos << 20 | 0x12345);
		wr16(d + 4, (uint16_t)payload_len);
		d[6] = 17;
		d[7] = 63;
		d[8] = 0xfd;
		d[23] = 1;
		d[24] = 0xfd;
		d[39] = 2;
	}

	for (uint32_t i = 0; i < payload_len; i++)
		d[hl + i] = (uint8_t)(seed + i * 31);
	return hl + payload_len;
}

static uint8_t inner_tos(const uint8_t *d)
{
	if (d[0] >> 4 == V4)
		return d[1];
	return (uint8_t)(rd32(d) >> 20);
}

/* ---- SAs ---- */

static void sa_init(struct esp_sa *sa, struct aead *a, int outer_ver,
		    bool esn)
{
	memset(sa, 0, sizeof(*sa));
	sa->aead = a;
	memcpy(sa->salt, salt_bytes, sizeof(sa->salt));
	sa->spi = 0xc0ffee01;
	sa->mode = XDPSEC_MODE_TUNNEL;
	sa->family = family_of(outer_ver);
	sa->flags = esn ? XDPSEC_SA_F_ESN : 0;
	sa->icv_len = ICV;

	if (outer_ver == V4) {
		sa->src.v4 = htonl(0xc0000201);
		sa->dst.v4 = htonl(0xc6336402);
	} else {
		sa->src.v6[0] = 0x20;
		sa->src.v6[1] = 0x01;
		sa->src.v6[15] = 0x11;
		sa->dst.v6[0] = 0x20;
		sa->dst.v6[1] = 0x01;
		sa->dst.v6[15] = 0x22;
	}
}

static void key_for(enum xdpsec_alg alg, uint8_t *key)
{
	for (int i = 0; i < AEAD_KEY_MAX; i++)
		key[i] = (uint8_t)(alg * 50 + i);
}

/* ---- Independent view of the wire format ---- */

static size_t build_aad(const struct esp_sa *sa, uint64_t seq, uint8_t *aad)
{
	wr32(aad, sa->spi);
	if (sa->flags & XDPSEC_SA_F_ESN) {
		wr32(aad + 4, (uint32_t)(seq >> 32));
		wr32(aad + 8, (uint32_t)seq);
		return 12;
	}
	wr32(aad + 4, (uint32_t)seq);
	return 8;
}

static void build_nonce(uint64_t seq, uint8_t *nonce)
{
	memcpy(nonce, salt_bytes, AEAD_SALT_LEN);
	wr32(nonce + 4, (uint32_t)(seq >> 32));
	wr32(nonce + 8, (uint32_t)seq);
}

/*
 * Opens a copy of the ESP payload with the test's own AAD and nonce and
 * checks that it is inner || 1, 2, 3... || pad_len || next header.
 */
static bool wire_plaintext_ok(struct aead *a, const struct esp_sa *sa,
			      uint64_t seq, const uint8_t *ct, uint32_t ct_len,
			      const uint8_t *inner, uint32_t inner_len)
{
	uint8_t pt[BUF_LEN], aad[12], nonce[AEAD_NONCE_LEN];
	size_t aad_len = build_aad(sa, seq, aad);
	uint8_t nh = inner[0] >> 4 == V4 ? 4 : 41;
	uint32_t pad;

	if (ct_len < inner_len + 2)
		return false;
	pad = ct_len - inner_len - 2;
	if (pad > 3)
		return false;

	build_nonce(seq, nonce);
	memcpy(pt, ct, ct_len);
	if (aead_open(a, nonce, aad, aad_len, pt, ct_len, ct + ct_len))
		return false;

	if (memcmp(pt, inner, inner_len))
		return false;
	for (uint32_t i = 0; i < pad; i++) {
		if (pt[inner_len + i] != i + 1)
			return false;
	}
	return pt[ct_len - 2] == pad && pt[ct_len - 1] == nh;
}

/*
 * Builds an ESP packet by hand around plaintext pt (already including its
 * padding and trailer), with a minimal outer header.
 */
static void build_raw(const struct esp_sa *sa, uint64_t seq, int outer_ver,
		      const uint8_t *pt, uint32_t pt_len, struct tbuf *t,
		      struct pkt *p)
{
	uint32_t hl = hdr_len(outer_ver);
	uint32_t len = hl + ESP_FIXED + pt_len + ICV;
	uint8_t aad[12], nonce[AEAD_NONCE_LEN];
	uint8_t *d, *ct;
	size_t aad_len;

	memset(t->b, 0, sizeof(t->b));
	pkt_at(p, t, len);
	d = p->data;

	if (outer_ver == V4) {
		d[0] = 0x45;
		wr16(d + 2, (uint16_t)len);
		d[8] = 64;
		d[9] = 50;
		ipv4_set_csum(d);
	} else {
		d[0] = 0x60;
		wr16(d + 4, (uint16_t)(len - 40));
		d[6] = 50;
		d[7] = 64;
	}

	wr32(d + hl, sa->spi);
	wr32(d + hl + 4, (uint32_t)seq);
	wr32(d + hl + 8, (uint32_t)(seq >> 32));
	wr32(d + hl + 12, (uint32_t)seq);

	ct = d + hl + ESP_FIXED;
	memcpy(ct, pt, pt_len);
	aad_len = build_aad(sa, seq, aad);
	build_nonce(seq, nonce);
	aead_seal(sa->aead, nonce, aad, aad_len, ct, pt_len, ct + pt_len);
}

/* ---- Round trips ---- */

struct combo {
	enum xdpsec_alg alg;
	bool esn;
	int outer;
	int inner;
};

static const char *combo_str(const struct combo *c)
{
	static char s[64];

	snprintf(s, sizeof(s), "alg %d esn %d outer v%d inner v%d", c->alg,
		 c->esn, c->outer, c->inner);
	return s;
}

static void check_outer(const struct combo *c, const struct esp_sa *sa,
			const struct pkt *p, uint64_t seq, const uint8_t *inner,
			uint32_t inner_len, bool df, uint32_t plen)
{
	const uint8_t *d = p->data;
	uint32_t hl = hdr_len(c->outer);
	uint32_t pad = (4 - (inner_len + 2) % 4) % 4;
	uint32_t expect_len = hl + ESP_FIXED + inner_len + pad + 2 + ICV;
	uint8_t tos = inner_tos(inner);
	bool ok;

	CHECK(p->len == expect_len, "%s len %u: outer length %u, expected %u",
	      combo_str(c), plen, p->len, expect_len);
	CHECK(p->headroom == HEADROOM - hl - ESP_FIXED &&
		      p->headroom + p->len + p->tailroom == BUF_LEN,
	      "%s len %u: headroom/tailroom", combo_str(c), plen);

	if (c->outer == V4) {
		ok = d[0] == 0x45 && d[1] == tos && rd16(d + 2) == p->len &&
		     rd16(d + 4) == (uint16_t)seq &&
		     rd16(d + 6) == (df && c->inner == V4 ? 0x4000 : 0) &&
		     d[8] == 64 && d[9] == 50 && ipv4_csum_ok(d) &&
		     !memcmp(d + 12, &sa->src.v4, 4) &&
		     !memcmp(d + 16, &sa->dst.v4, 4);
	} else {
		ok = rd32(d) == (6u << 28 | (uint32_t)tos << 20) &&
		     rd16(d + 4) == p->len - 40 && d[6] == 50 && d[7] == 64 &&
		     !memcmp(d + 8, sa->src.v6, 16) &&
		     !memcmp(d + 24, sa->dst.v6, 16);
	}
	CHECK(ok, "%s len %u: outer header fields", combo_str(c), plen);

	CHECK(rd32(d + hl) == sa->spi && rd32(d + hl + 4) == (uint32_t)seq &&
		      rd64(d + hl + 8) == seq,
	      "%s len %u: ESP header and IV", combo_str(c), plen);
}

static void roundtrip(const struct combo *c, struct esp_sa *sa,
		      struct aead *verifier, uint32_t plen, uint64_t seq)
{
	uint8_t tos = (uint8_t)(plen * 37 + 5);
	bool df = plen & 1;
	uint8_t orig[BUF_LEN];
	uint32_t inner_len, hl = hdr_len(c->outer);
	struct tbuf t;
	struct pkt p;
	int ret;

	inner_len = make_inner(t.b + HEADROOM, c->inner, plen, tos, df,
			       (uint8_t)seq);
	memcpy(orig, t.b + HEADROOM, inner_len);
	pkt_at(&p, &t, inner_len);

	ret = esp_encap(sa, seq, &p);
	CHECK(ret == XDPSEC_CNT_OK, "%s len %u: encap %d", combo_str(c), plen,
	      ret);
	if (ret)
		return;

	CHECK(p.data == t.b + HEADROOM - hl - ESP_FIXED,
	      "%s len %u: outer start", combo_str(c), plen);
	check_outer(c, sa, &p, seq, orig, inner_len, df, plen);
	CHECK(wire_plaintext_ok(verifier, sa, seq, p.data + hl + ESP_FIXED,
				p.len - hl - ESP_FIXED - ICV, orig,
				inner_len),
	      "%s len %u: wire plaintext", combo_str(c), plen);

	ret = esp_decap(sa, seq, &p, hl);
	CHECK(ret == XDPSEC_CNT_OK, "%s len %u: decap %d", combo_str(c), plen,
	      ret);
	CHECK(p.data == t.b + HEADROOM && p.len == inner_len &&
		      p.headroom == HEADROOM &&
		      p.tailroom == BUF_LEN - HEADROOM - inner_len,
	      "%s len %u: decapped packet position", combo_str(c), plen);
	CHECK(!memcmp(p.data, orig, inner_len), "%s len %u: inner differs",
	      combo_str(c), plen);
}

/* Encapsulates a fresh inner packet; returns the ESP offset. */
static uint32_t encap_one(const struct combo *c, struct esp_sa *sa,
			  uint64_t seq, uint32_t plen, struct tbuf *t,
			  struct pkt *p)
{
	uint32_t len;

	len = make_inner(t->b + HEADROOM, c->inner, plen, 0x28, true, 7);
	pkt_at(p, t, len);
	CHECK(esp_encap(sa, seq, p) == XDPSEC_CNT_OK, "%s: encap",
	      combo_str(c));
	return hdr_len(c->outer);
}

static void test_tamper(const struct combo *c, struct esp_sa *sa)
{
	uint64_t seq = c->esn ? (5ULL << 32 | 100) : 100;
	struct {
		const char *what;
		int off;	/* from ESP; negative: from the end */
	} flips[] = {
		{ "SPI", 0 },	     { "SPI low", 3 },	 { "seq", 4 },
		{ "seq low", 7 },    { "IV", 8 },	 { "IV low", 15 },
		{ "ciphertext", 16 }, { "ciphertext", 40 }, { "ICV", -16 },
		{ "ICV", -1 },	     { "trailer", -17 }, { "padding", -19 },
	};
	struct tbuf t;
	struct pkt p;
	uint32_t off;
	int ret;

	for (size_t i = 0; i < sizeof(flips) / sizeof(flips[0]); i++) {
		uint8_t *byte;

		off = encap_one(c, sa, seq, 101, &t, &p);
		byte = flips[i].off >= 0 ? p.data + off + flips[i].off :
					   p.data + p.len + flips[i].off;
		*byte ^= 0x10;
		ret = esp_decap(sa, seq, &p, off);
		CHECK(ret == XDPSEC_CNT_DROP_AUTH, "%s: flipped %s: %d",
		      combo_str(c), flips[i].what, ret);
	}

	/* The high half of an ESN sequence number is authenticated too. */
	off = encap_one(c, sa, seq, 50, &t, &p);
	ret = esp_decap(sa, seq - (1ULL << 32), &p, off);
	if (c->esn)
		CHECK(ret == XDPSEC_CNT_DROP_AUTH, "%s: wrong seq_hi: %d",
		      combo_str(c), ret);
	else
		CHECK(ret == XDPSEC_CNT_OK,
		      "%s: seq_hi must not matter without ESN: %d",
		      combo_str(c), ret);

	off = encap_one(c, sa, seq, 50, &t, &p);
	ret = esp_decap(sa, seq + (1ULL << 32), &p, off);
	CHECK(ret == (c->esn ? XDPSEC_CNT_DROP_AUTH : XDPSEC_CNT_OK),
	      "%s: seq_hi + 1: %d", combo_str(c), ret);
}

/* Sets the outer length field to len (where the header is complete). */
static void set_outer_len(int outer_ver, uint8_t *d, uint32_t len)
{
	if (outer_ver == V4) {
		if (len >= 20) {
			wr16(d + 2, (uint16_t)len);
			ipv4_set_csum(d);
		}
	} else if (len >= 40) {
		wr16(d + 4, (uint16_t)(len - 40));
	}
}

static void test_truncated(const struct combo *c, struct esp_sa *sa)
{
	uint64_t seq = 77;
	struct tbuf t, saved;
	uint32_t off, full;
	struct pkt p, p0;
	int bad = 0;

	off = encap_one(c, sa, seq, 60, &t, &p);
	saved = t;
	p0 = p;
	full = p.len;

	/* Shorter buffer, length field intact: always malformed. */
	for (uint32_t len = 0; len < full; len++) {
		t = saved;
		p = p0;
		p.len = len;
		bad += esp_decap(sa, seq, &p, off) !=
		       XDPSEC_CNT_DROP_ESP_MALFORMED;
	}
	CHECK(!bad, "%s: short buffer not malformed (%d)", combo_str(c), bad);

	/*
	 * Shorter packet with a matching length field: malformed when the
	 * ESP framing does not fit, otherwise the ICV fails.
	 */
	bad = 0;
	for (uint32_t len = 0; len < full; len++) {
		uint32_t min = off + ESP_FIXED + 2 + ICV;
		int want, ret;

		t = saved;
		p = p0;
		set_outer_len(c->outer, p.data, len);
		p.len = len;

		want = len < min || (len - off - ESP_FIXED - ICV) % 4 ?
			       XDPSEC_CNT_DROP_ESP_MALFORMED :
			       XDPSEC_CNT_DROP_AUTH;
		ret = esp_decap(sa, seq, &p, off);
		if (ret != want) {
			printf("  len %u: %d, expected %d\n", len, ret, want);
			bad++;
		}
	}
	CHECK(!bad, "%s: truncated packets (%d wrong)", combo_str(c), bad);

	/* ESP offsets that do not fit the packet or the outer header. */
	{
		const uint32_t offs[] = { 0, off - 1, full - 8, full,
					  full + 100, UINT32_MAX - 4,
					  UINT32_MAX };

		bad = 0;
		for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
			t = saved;
			p = p0;
			bad += esp_decap(sa, seq, &p, offs[i]) !=
			       XDPSEC_CNT_DROP_ESP_MALFORMED;
		}
		CHECK(!bad, "%s: bad ESP offsets (%d)", combo_str(c), bad);
	}

	/* Nothing left of the packet was moved by any failure. */
	CHECK(pkt_eq(&p, &p0), "%s: p kept on failure",
	      combo_str(c));
}

static void test_peek(void)
{
	uint8_t b[16] = { 0 };
	struct pkt p = { .data = b, .len = 16 };
	uint32_t spi = 0, seq = 0;

	wr32(b + 4, 0x11223344);
	wr32(b + 8, 0xfffffffe);
	CHECK(esp_peek(&p, 4, &spi, &seq) == XDPSEC_CNT_OK &&
		      spi == 0x11223344 && seq == 0xfffffffe,
	      "peek reads SPI and seq");
	CHECK(esp_peek(&p, 8, &spi, &seq) == XDPSEC_CNT_OK, "peek at the end");
	CHECK(esp_peek(&p, 9, &spi, &seq) == XDPSEC_CNT_DROP_ESP_MALFORMED,
	      "peek past the end");
	CHECK(esp_peek(&p, UINT32_MAX - 3, &spi, &seq) ==
		      XDPSEC_CNT_DROP_ESP_MALFORMED,
	      "peek with a huge offset");
	p.len = 0;
	CHECK(esp_peek(&p, 0, &spi, &seq) == XDPSEC_CNT_DROP_ESP_MALFORMED,
	      "peek on an empty packet");
}

/* ---- Hand-made trailers ---- */

/*
 * Plaintext = inner packet (of inner_ver with plen payload bytes, unless
 * inner_ver is 0: then plen raw bytes) || pad bytes || pad_len || nh.
 */
static uint32_t make_pt(uint8_t *pt, int inner_ver, uint32_t plen,
			const uint8_t *pad, uint32_t npad, uint8_t pad_len,
			uint8_t nh)
{
	uint32_t n;

	if (inner_ver) {
		n = make_inner(pt, inner_ver, plen, 0, false, 3);
	} else {
		for (n = 0; n < plen; n++)
			pt[n] = (uint8_t)(n * 13);
	}
	memcpy(pt + n, pad, npad);
	n += npad;
	pt[n++] = pad_len;
	pt[n++] = nh;
	return n;
}

static void test_trailers(const struct combo *c, struct esp_sa *sa)
{
	static const uint8_t good[16] = { 1, 2,	 3,  4,	 5,  6,	 7,  8,
					  9, 10, 11, 12, 13, 14, 15, 16 };
	static const uint8_t bad3[3] = { 1, 2, 4 };
	static const uint8_t zero3[3] = { 0, 0, 0 };
	uint8_t nh = c->inner == V4 ? 4 : 41;
	uint8_t other_nh = c->inner == V4 ? 41 : 4;
	uint32_t hl = hdr_len(c->outer), ilen = hdr_len(c->inner);
	uint8_t pt[BUF_LEN], ref[BUF_LEN];
	uint64_t seq = c->esn ? (2ULL << 32 | 9) : 9;
	struct tbuf t, t2;
	struct pkt p, p2;
	uint32_t n;
	int ret;

	/*
	 * Both inner headers are a multiple of four bytes long, so the
	 * payload lengths below are chosen to keep payload, padding and
	 * trailer 4-byte aligned: otherwise the packet would be refused
	 * as malformed before its padding is looked at.
	 */
	n = make_pt(pt, c->inner, 2, good, 0, 0, nh);
	build_raw(sa, seq, c->outer, pt, n, &t, &p);
	ret = esp_decap(sa, seq, &p, hl);
	CHECK(ret == XDPSEC_CNT_OK && p.len == ilen + 2,
	      "%s: hand-made packet: %d", combo_str(c), ret);

	/* esp_encap() produces exactly the hand-made ESP part. */
	memcpy(ref, p.data, p.len);
	n = make_inner(t2.b + HEADROOM, c->inner, 2, 0, false, 3);
	pkt_at(&p2, &t2, n);
	CHECK(!memcmp(t2.b + HEADROOM, ref, n), "%s: same inner", combo_str(c));
	CHECK(esp_encap(sa, seq, &p2) == XDPSEC_CNT_OK, "%s: encap ref",
	      combo_str(c));
	n = make_pt(pt, c->inner, 2, good, 0, 0, nh);
	build_raw(sa, seq, c->outer, pt, n, &t, &p);
	CHECK(p.len == p2.len &&
		      !memcmp(p.data + hl, p2.data + hl, p.len - hl),
	      "%s: esp_encap matches the hand-made packet", combo_str(c));

	/* Longer valid padding than needed is allowed (RFC 4303 2.4). */
	n = make_pt(pt, c->inner, 2, good, 12, 12, nh);
	build_raw(sa, seq, c->outer, pt, n, &t, &p);
	ret = esp_decap(sa, seq, &p, hl);
	CHECK(ret == XDPSEC_CNT_OK && p.len == ilen + 2,
	      "%s: 12 bytes of padding: %d", combo_str(c), ret);

	n = make_pt(pt, c->inner, 3, bad3, 3, 3, nh);
	build_raw(sa, seq, c->outer, pt, n, &t, &p);
	ret = esp_decap(sa, seq, &p, hl);
	CHECK(ret == XDPSEC_CNT_DROP_PADDING, "%s: pad 1,2,4: %d",
	      combo_str(c), ret);

	n = make_pt(pt, c->inner, 3, zero3, 3, 3, nh);
	build_raw(sa, seq, c->outer, pt, n, &t, &p);
	ret = esp_decap(sa, seq, &p, hl);
	CHECK(ret == XDPSEC_CNT_DROP_PADDING, "%s: pad 0,0,0: %d",
	      combo_str(c), ret);

	/* A pad length reaching before the start of the payload. */
	n = make_pt(pt, 0, 2, good, 0, 3, nh);
	build_raw(sa, seq, c->outer, pt, n, &t, &p);
	ret = esp_decap(sa, seq, &p, hl);
	CHECK(ret == XDPSEC_CNT_DROP_PADDING, "%s: pad_len 3 of 2: %d",
	      combo_str(c), ret);

	n = make_pt(pt, c->inner, 1, good, 1, 255, nh);
	build_raw(sa, seq, c->outer, pt, n, &t, &p);
	ret = esp_decap(sa, seq, &p, hl);
	CHECK(ret == XDPSEC_CNT_DROP_PADDING, "%s: pad_len 255: %d",
	      combo_str(c), ret);

	/* Dummy packets: random payload, next header 59. */
	n = make_pt(pt, 0, 42, good, 0, 0, 59);
	build_raw(sa, seq, c->outer, pt, n, &t, &p);
	ret = esp_decap(sa, seq, &p, hl);
	CHECK(ret == XDPSEC_CNT_DROP_DUMMY, "%s: dummy: %d", combo_str(c), ret);

	n = make_pt(pt, 0, 0, good, 2, 2, 59);
	build_raw(sa, seq, c->outer, pt, n, &t, &p);
	ret = esp_decap(sa, seq, &p, hl);
	CHECK(ret == XDPSEC_CNT_DROP_DUMMY, "%s: empty dummy: %d",
	      combo_str(c), ret);

	/* Next headers that are not an IP packet, or the other version. */
	n = make_pt(pt, c->inner, 2, good, 0, 0, 6);
	build_raw(sa, seq, c->outer, pt, n, &t, &p);
	ret = esp_decap(sa, seq, &p, hl);
	CHECK(ret == XDPSEC_CNT_DROP_NEXT_HEADER, "%s: next header 6: %d",
	      combo_str(c), ret);

	n = make_pt(pt, c->inner, 2, good, 0, 0, other_nh);
	build_raw(sa, seq, c->outer, pt, n, &t, &p);
	ret = esp_decap(sa, seq, &p, hl);
	CHECK(ret == XDPSEC_CNT_DROP_NEXT_HEADER,
	      "%s: next header of the other version: %d", combo_str(c), ret);

	/* Nothing before the padding. */
	n = make_pt(pt, 0, 0, good, 2, 2, nh);
	build_raw(sa, seq, c->outer, pt, n, &t, &p);
	ret = esp_decap(sa, seq, &p, hl);
	CHECK(ret == XDPSEC_CNT_DROP_ESP_MALFORMED, "%s: empty payload: %d",
	      combo_str(c), ret);

	/* Inner length field beyond the payload. */
	n = make_pt(pt, c->inner, 2, good, 0, 0, nh);
	if (c->inner == V4)
		wr16(pt + 2, (uint16_t)(ilen + 3));
	else
		wr16(pt + 4, 3);
	build_raw(sa, seq, c->outer, pt, n, &t, &p);
	ret = esp_decap(sa, seq, &p, hl);
	CHECK(ret == XDPSEC_CNT_DROP_ESP_MALFORMED,
	      "%s: inner longer than payload: %d", combo_str(c), ret);

	/* Payload too short for an inner header of its version. */
	n = make_pt(pt, 0, 10, good, 0, 0, nh);
	pt[0] = (uint8_t)((c->inner == V4 ? 0x45 : 0x60));
	build_raw(sa, seq, c->outer, pt, n, &t, &p);
	ret = esp_decap(sa, seq, &p, hl);
	CHECK(ret == XDPSEC_CNT_DROP_ESP_MALFORMED,
	      "%s: truncated inner header: %d", combo_str(c), ret);

	/* Inner packet shorter than the payload: TFC padding is trimmed. */
	n = make_pt(pt, c->inner, 2, good, 0, 0, nh);
	memmove(pt + ilen + 2 + 8, pt + ilen + 2, 2);
	memset(pt + ilen + 2, 0xee, 8);
	n += 8;
	build_raw(sa, seq, c->outer, pt, n, &t, &p);
	ret = esp_decap(sa, seq, &p, hl);
	CHECK(ret == XDPSEC_CNT_OK && p.len == ilen + 2 &&
		      p.tailroom == BUF_LEN - HEADROOM - hl - ESP_FIXED -
					    ilen - 2,
	      "%s: TFC padding trimmed: %d len %u", combo_str(c), ret, p.len);
}

/* ---- ECN and link-layer padding ---- */

static void set_outer_ecn(int outer_ver, uint8_t *d, uint8_t ecn)
{
	if (outer_ver == V4) {
		d[1] = (uint8_t)((d[1] & ~3) | ecn);
		ipv4_set_csum(d);
	} else {
		d[1] = (uint8_t)((d[1] & ~0x30) | ecn << 4);
	}
}

static void test_ecn(const struct combo *c, struct esp_sa *sa)
{
	static const struct {
		uint8_t inner, outer, result;
	} cases[] = {
		{ 2, 3, 3 }, /* ECT(0) + CE -> CE */
		{ 1, 3, 3 }, /* ECT(1) + CE -> CE */
		{ 0, 3, 0 }, /* Not-ECT stays */
		{ 3, 3, 3 },
		{ 2, 2, 2 },
		{ 2, 0, 2 },
		{ 1, 1, 1 },
	};
	uint32_t hl = hdr_len(c->outer);

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t tos = (uint8_t)(0xb8 | cases[i].inner);
		uint8_t orig[BUF_LEN];
		uint32_t len;
		struct tbuf t;
		struct pkt p;
		int ret;

		len = make_inner(t.b + HEADROOM, c->inner, 33, tos, false, 1);
		memcpy(orig, t.b + HEADROOM, len);
		pkt_at(&p, &t, len);
		CHECK(esp_encap(sa, 500 + i, &p) == XDPSEC_CNT_OK,
		      "%s: encap", combo_str(c));
		CHECK(inner_tos(p.data) == tos, "%s: ECN copied on encap",
		      combo_str(c));

		set_outer_ecn(c->outer, p.data, cases[i].outer);
		ret = esp_decap(sa, 500 + i, &p, hl);
		CHECK(ret == XDPSEC_CNT_OK, "%s: decap %d", combo_str(c), ret);
		CHECK(inner_tos(p.data) == (0xb8 | cases[i].result),
		      "%s: inner ECN %u outer %u: got tos %#x", combo_str(c),
		      cases[i].inner, cases[i].outer, inner_tos(p.data));

		if (c->inner == V4) {
			CHECK(ipv4_csum_ok(p.data), "%s: inner checksum",
			      combo_str(c));
			/* Only TOS and checksum may change. */
			CHECK(!memcmp(p.data, orig, 1) &&
				      !memcmp(p.data + 2, orig + 2, 8) &&
				      !memcmp(p.data + 12, orig + 12, len - 12),
			      "%s: rest of the inner packet", combo_str(c));
		} else {
			CHECK(p.data[0] == orig[0] &&
				      (p.data[1] & 0xcf) == (orig[1] & 0xcf) &&
				      !memcmp(p.data + 2, orig + 2, len - 2),
			      "%s: rest of the inner packet", combo_str(c));
		}
	}
}

static void test_link_padding(const struct combo *c, struct esp_sa *sa)
{
	uint32_t hl = hdr_len(c->outer);
	uint8_t orig[BUF_LEN];
	uint32_t len;
	struct tbuf t;
	struct pkt p;
	int ret;

	/* Outer packet followed by Ethernet padding. */
	len = make_inner(t.b + HEADROOM, c->inner, 0, 0, false, 2);
	memcpy(orig, t.b + HEADROOM, len);
	pkt_at(&p, &t, len);
	CHECK(esp_encap(sa, 1, &p) == XDPSEC_CNT_OK, "%s: encap",
	      combo_str(c));
	memset(p.data + p.len, 0, 10);
	p.len += 10;
	p.tailroom -= 10;
	ret = esp_decap(sa, 1, &p, hl);
	CHECK(ret == XDPSEC_CNT_OK && p.len == len &&
		      !memcmp(p.data, orig, len) &&
		      p.headroom + p.len + p.tailroom == BUF_LEN,
	      "%s: outer link padding ignored: %d", combo_str(c), ret);

	/* Inner packet followed by link padding: not encrypted along. */
	len = make_inner(t.b + HEADROOM, c->inner, 5, 0, false, 2);
	memcpy(orig, t.b + HEADROOM, len);
	memset(t.b + HEADROOM + len, 0xaa, 7);
	pkt_at(&p, &t, len + 7);
	CHECK(esp_encap(sa, 2, &p) == XDPSEC_CNT_OK, "%s: encap padded",
	      combo_str(c));
	CHECK(p.len == hl + ESP_FIXED + len + (4 - (len + 2) % 4) % 4 + 2 +
			       ICV &&
		      p.headroom + p.len + p.tailroom == BUF_LEN,
	      "%s: inner link padding dropped", combo_str(c));
	ret = esp_decap(sa, 2, &p, hl);
	CHECK(ret == XDPSEC_CNT_OK && p.len == len &&
		      !memcmp(p.data, orig, len),
	      "%s: padded inner round trip: %d", combo_str(c), ret);
}

/* ---- Encapsulation errors ---- */

static void test_encap_errors(const struct combo *c, struct esp_sa *sa)
{
	uint32_t hl = hdr_len(c->outer), ilen, head, tail;
	struct esp_sa bad_sa;
	struct tbuf t;
	struct pkt p, p0;
	int ret;

	ilen = make_inner(t.b + HEADROOM, c->inner, 9, 0, false, 2);
	head = hl + ESP_FIXED;
	tail = (4 - (ilen + 2) % 4) % 4 + 2 + ICV;

	/* Exactly enough room works, one byte less at either end does not. */
	pkt_at(&p, &t, ilen);
	p.headroom = head;
	p.tailroom = tail;
	ret = esp_encap(sa, 3, &p);
	CHECK(ret == XDPSEC_CNT_OK && p.headroom == 0 && p.tailroom == 0,
	      "%s: exact room: %d", combo_str(c), ret);

	make_inner(t.b + HEADROOM, c->inner, 9, 0, false, 2);
	pkt_at(&p, &t, ilen);
	p.headroom = head - 1;
	p0 = p;
	ret = esp_encap(sa, 3, &p);
	CHECK(ret == XDPSEC_CNT_DROP_TOO_BIG && pkt_eq(&p, &p0),
	      "%s: headroom short by one: %d", combo_str(c), ret);

	pkt_at(&p, &t, ilen);
	p.tailroom = tail - 1;
	p0 = p;
	ret = esp_encap(sa, 3, &p);
	CHECK(ret == XDPSEC_CNT_DROP_TOO_BIG && pkt_eq(&p, &p0),
	      "%s: tailroom short by one: %d", combo_str(c), ret);

	/* Not an IP packet, or one whose length field lies. */
	pkt_at(&p, &t, 0);
	CHECK(esp_encap(sa, 3, &p) == XDPSEC_CNT_DROP_ESP_MALFORMED,
	      "%s: empty inner", combo_str(c));

	make_inner(t.b + HEADROOM, c->inner, 9, 0, false, 2);
	pkt_at(&p, &t, ilen - 1);
	CHECK(esp_encap(sa, 3, &p) == XDPSEC_CNT_DROP_ESP_MALFORMED,
	      "%s: length field beyond the packet", combo_str(c));

	pkt_at(&p, &t, hdr_len(c->inner) - 1);
	CHECK(esp_encap(sa, 3, &p) == XDPSEC_CNT_DROP_ESP_MALFORMED,
	      "%s: truncated inner header", combo_str(c));

	t.b[HEADROOM] = (uint8_t)((t.b[HEADROOM] & 0x0f) | 0x50);
	pkt_at(&p, &t, ilen);
	CHECK(esp_encap(sa, 3, &p) == XDPSEC_CNT_DROP_ESP_MALFORMED,
	      "%s: version 5", combo_str(c));

	if (c->inner == V4) {
		make_inner(t.b + HEADROOM, c->inner, 9, 0, false, 2);
		t.b[HEADROOM] = 0x44;
		pkt_at(&p, &t, ilen);
		CHECK(esp_encap(sa, 3, &p) == XDPSEC_CNT_DROP_ESP_MALFORMED,
		      "%s: IHL 4", combo_str(c));

		make_inner(t.b + HEADROOM, c->inner, 9, 0, false, 2);
		wr16(t.b + HEADROOM + 2, 19);
		pkt_at(&p, &t, ilen);
		CHECK(esp_encap(sa, 3, &p) == XDPSEC_CNT_DROP_ESP_MALFORMED,
		      "%s: total length below the header", combo_str(c));
	}

	/* SAs this code cannot serve. */
	make_inner(t.b + HEADROOM, c->inner, 9, 0, false, 2);
	bad_sa = *sa;
	bad_sa.icv_len = 12;
	pkt_at(&p, &t, ilen);
	CHECK(esp_encap(&bad_sa, 3, &p) == XDPSEC_CNT_DROP_NO_SA,
	      "%s: ICV 12 refused", combo_str(c));
	bad_sa = *sa;
	bad_sa.family = 0;
	CHECK(esp_encap(&bad_sa, 3, &p) == XDPSEC_CNT_DROP_NO_SA,
	      "%s: family 0 refused", combo_str(c));
}

/* ---- Driver ---- */

static const uint32_t spread_extra[] = {
	17,  31,  32,  33,  63,  64,  100, 101, 102, 103,  255,	 256,
	511, 512, 513, 514, 999, 1000, 1001, 1002, 1397, 1398, 1399, 1400,
};

static void run_combo(const struct combo *c)
{
	uint8_t key[AEAD_KEY_MAX];
	struct aead *a, *verifier;
	struct esp_sa sa;
	uint64_t seq;
	uint32_t n = 0;

	key_for(c->alg, key);
	a = aead_new(c->alg, key);
	verifier = aead_new(c->alg, key);
	CHECK(a && verifier, "%s: contexts", combo_str(c));
	if (!a || !verifier)
		goto out;
	sa_init(&sa, a, c->outer, c->esn);

	/*
	 * Sequence numbers near the 2^32 boundary, so that with ESN the
	 * high half changes in the middle of the run.
	 */
	seq = c->esn ? 0xffffffe0ULL : 1;

	for (uint32_t plen = 0; plen <= 16; plen++)
		roundtrip(c, &sa, verifier, plen, seq + n++);
	for (size_t i = 0; i < sizeof(spread_extra) / sizeof(spread_extra[0]);
	     i++)
		roundtrip(c, &sa, verifier, spread_extra[i], seq + n++);

	test_tamper(c, &sa);
	test_truncated(c, &sa);
	test_trailers(c, &sa);
	test_ecn(c, &sa);
	test_link_padding(c, &sa);
	test_encap_errors(c, &sa);

out:
	aead_free(a);
	aead_free(verifier);
}

int main(void)
{
	static const enum xdpsec_alg algs[] = { XDPSEC_ALG_AES_GCM_128,
						XDPSEC_ALG_AES_GCM_256 };

	test_peek();

	for (size_t a = 0; a < 2; a++) {
		for (int esn = 0; esn < 2; esn++) {
			for (int o = 0; o < 2; o++) {
				for (int i = 0; i < 2; i++) {
					struct combo c = {
						.alg = algs[a],
						.esn = esn,
						.outer = o ? V6 : V4,
						.inner = i ? V6 : V4,
					};

					run_combo(&c);
				}
			}
		}
	}

	return check_summary();
}
