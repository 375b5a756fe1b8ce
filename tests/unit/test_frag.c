// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of IPv4 fragmentation: every fragment is checked field by
 * field, then the fragments are reassembled and compared with the original
 * payload.  Packets and fragment buffers are heap blocks of exactly their
 * size, so that valgrind sees any access out of bounds.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "frag.h"

/* Options, and what fragments after the first must carry of them. */
struct optset {
	const char *name;
	const uint8_t *opts;
	uint32_t len;		/* a multiple of 4 */
	const uint8_t *later;
	uint32_t later_len;
};

/* NOP, record route (not copied), router alert (copied). */
static const uint8_t opts_a[] = {
	1, 7, 7, 4, 0, 0, 0, 0, 0x94, 4, 0, 0,
};
static const uint8_t later_a[] = { 0x94, 4, 0, 0 };

/* Loose source route and security (copied), timestamp (not), padding. */
static const uint8_t opts_b[] = {
	0x83, 11, 4, 10, 0, 0, 1, 10, 0, 0, 2,
	0x44, 12, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0x82, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0,
};
static const uint8_t later_b[] = {
	0x83, 11, 4, 10, 0, 0, 1, 10, 0, 0, 2,
	0x82, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0,
};

/* A full header of record route: nothing is copied. */
static const uint8_t opts_c[40] = { 7, 39, 4 };

/* Router alert, end of list, then bytes that must be ignored. */
static const uint8_t opts_d[] = { 0x94, 4, 0, 0, 0, 0xff, 0x83, 0xff };
static const uint8_t later_d[] = { 0x94, 4, 0, 0 };

static const struct optset optsets[] = {
	{ "no options", NULL, 0, NULL, 0 },
	{ "RR+RA", opts_a, sizeof(opts_a), later_a, sizeof(later_a) },
	{ "LSRR+TS+SEC", opts_b, sizeof(opts_b), later_b, sizeof(later_b) },
	{ "RR only", opts_c, sizeof(opts_c), NULL, 0 },
	{ "RA+EOL", opts_d, sizeof(opts_d), later_d, sizeof(later_d) },
};
#define NOPTSETS (sizeof(optsets) / sizeof(optsets[0]))

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void wr16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* The one's complement sum of a header including its checksum. */
static bool hdr_sum_ok(const uint8_t *h, uint32_t hlen)
{
	uint32_t acc = 0;

	for (uint32_t i = 0; i < hlen; i += 2)
		acc += rd16(h + i);
	while (acc > 0xffff)
		acc = (acc >> 16) + (acc & 0xffff);
	return acc == 0xffff;
}

static void set_csum(uint8_t *h)
{
	uint32_t hlen = (h[0] & 0xf) * 4u;
	uint32_t acc = 0;

	h[10] = h[11] = 0;
	for (uint32_t i = 0; i < hlen; i += 2)
		acc += rd16(h + i);
	while (acc > 0xffff)
		acc = (acc >> 16) + (acc & 0xffff);
	wr16(h + 10, ~acc & 0xffff);
}

static uint8_t pattern(uint32_t i)
{
	return (uint8_t)(i * 131 + 7 + (i >> 8));
}

/* A UDP packet of plen payload bytes, with flags/offset fo. */
static uint8_t *mkpkt(const struct optset *os, uint32_t plen, uint16_t fo,
		      uint32_t *len)
{
	uint32_t hlen = 20 + os->len;
	uint8_t *b = malloc(hlen + plen);

	memset(b, 0, hlen);
	b[0] = (uint8_t)(0x40 | hlen / 4);
	b[1] = 0xb8;
	wr16(b + 2, hlen + plen);
	wr16(b + 4, 0xbeef);
	wr16(b + 6, fo);
	b[8] = 63;
	b[9] = 17;
	memcpy(b + 12, (const uint8_t[]){ 198, 51, 100, 7 }, 4);
	memcpy(b + 16, (const uint8_t[]){ 203, 0, 113, 9 }, 4);
	if (os->len)
		memcpy(b + 20, os->opts, os->len);
	set_csum(b);
	for (uint32_t i = 0; i < plen; i++)
		b[hlen + i] = pattern(i);
	*len = hlen + plen;
	return b;
}

/* Fragment buffers, each a heap block of exactly cap bytes. */
struct bufs {
	uint8_t **b;
	uint32_t *lens;
	unsigned int n;
	uint32_t cap;
};

static void bufs_alloc(struct bufs *bs, unsigned int n, uint32_t cap)
{
	bs->b = calloc(n, sizeof(*bs->b));
	bs->lens = calloc(n, sizeof(*bs->lens));
	bs->n = n;
	bs->cap = cap;
	for (unsigned int i = 0; i < n; i++) {
		bs->b[i] = malloc(cap);
		memset(bs->b[i], 0xa5, cap);
	}
}

static void bufs_free(struct bufs *bs)
{
	for (unsigned int i = 0; i < bs->n; i++)
		free(bs->b[i]);
	free(bs->b);
	free(bs->lens);
}

static int split(const uint8_t *o, uint32_t len, uint32_t mtu,
		 struct bufs *bs, unsigned int max)
{
	struct pkt p = { .data = (uint8_t *)(uintptr_t)o, .len = len };

	return frag_ipv4(&p, mtu, bs->b, bs->cap, bs->lens, max);
}

/* What one fragment must share with the original, and its options. */
static bool frag_header_ok(const uint8_t *f, uint32_t flen, const uint8_t *o,
			   bool first, const struct optset *os)
{
	uint32_t hlen = (f[0] & 0xf) * 4u;

	if (f[0] >> 4 != 4 || hlen < 20 || flen < hlen || rd16(f + 2) != flen)
		return false;
	if (!hdr_sum_ok(f, hlen) || f[1] != o[1] ||
	    rd16(f + 4) != rd16(o + 4) || f[8] != o[8] || f[9] != o[9] ||
	    memcmp(f + 12, o + 12, 8))
		return false;
	/* DF is clear, the reserved bit as it came. */
	if ((rd16(f + 6) & 0xc000) != (rd16(o + 6) & 0x8000))
		return false;
	if (first)
		return f[0] == o[0] && !memcmp(f + 20, o + 20, hlen - 20);
	if (!os)
		return true;
	return hlen == 20 + os->later_len &&
	       (!os->later_len || !memcmp(f + 20, os->later, os->later_len));
}

/*
 * Checks n fragments of o: headers, sizes against limit, offsets, MF,
 * then reassembles them and compares the payload.  os NULL skips the
 * options of later fragments.
 */
static bool frags_ok(const uint8_t *o, const struct bufs *bs, int n,
		     uint32_t limit, const struct optset *os)
{
	uint32_t ohlen = (o[0] & 0xf) * 4u;
	uint32_t plen = rd16(o + 2) - ohlen;
	uint32_t ooff = (rd16(o + 6) & 0x1fff) * 8u;
	uint8_t *got = calloc(plen + 1, 1);
	uint8_t *seen = calloc(plen + 1, 1);
	uint32_t next = 0;
	bool ok = n > 0;

	for (int i = 0; ok && i < n; i++) {
		const uint8_t *f = bs->b[i];
		uint32_t hlen = (f[0] & 0xf) * 4u;
		uint32_t fl = bs->lens[i];
		uint32_t d = fl - hlen;
		uint32_t off = (rd16(f + 6) & 0x1fff) * 8u;
		bool mf = rd16(f + 6) & 0x2000;
		bool last = i == n - 1;

		ok = fl <= limit && frag_header_ok(f, fl, o, i == 0, os) &&
		     off >= ooff && off - ooff == next && next + d <= plen;
		/* Full pieces: a multiple of 8 and no smaller than needed. */
		if (ok && !last)
			ok = mf && d % 8 == 0 && d == ((limit - hlen) & ~7u);
		if (ok && last)
			ok = mf == !!(rd16(o + 6) & 0x2000) && next + d == plen;
		for (uint32_t j = 0; ok && j < d; j++) {
			ok = !seen[next + j];
			seen[next + j] = 1;
			got[next + j] = f[hlen + j];
		}
		next += d;
	}
	ok = ok && !memcmp(got, o + ohlen, plen);
	free(got);
	free(seen);
	return ok;
}

/* Splits one packet and checks the result; returns the fragment count. */
static int run_case(const struct optset *os, uint32_t plen, uint16_t fo,
		    uint32_t mtu, uint32_t cap)
{
	uint32_t len, limit = mtu < cap ? mtu : cap;
	uint8_t *o = mkpkt(os, plen, fo, &len);
	uint32_t piece = limit > 68 ? (limit - 60) & ~7u : 8;
	unsigned int nb = plen / piece + 2;
	struct bufs bs;
	int n;

	bufs_alloc(&bs, nb, cap);
	n = split(o, len, mtu, &bs, nb);
	CHECK(n > 0 && frags_ok(o, &bs, n, limit, os),
	      "%s, payload %u, fo %#x, mtu %u, cap %u: %d fragments",
	      os->name, plen, fo, mtu, cap, n);
	CHECK((n == 1) == (len <= limit), "%s, %u in %u: %d fragments",
	      os->name, len, limit, n);
	bufs_free(&bs);
	free(o);
	return n;
}

static void test_sizes(void)
{
	static const uint32_t plens[] = { 1, 7, 8, 9, 100, 1000, 1473, 1480,
					  1481, 4000, 64000 };
	static const uint32_t mtus[] = { 68, 69, 75, 76, 100, 576, 577, 1279,
					 1280, 1400, 1500, 9000 };
	/* Whole packets, first, middle and last fragments. */
	static const uint16_t fos[] = { 0, 0x2000, 0x2000 | 185, 7 };

	for (size_t s = 0; s < NOPTSETS; s++)
		for (size_t i = 0; i < sizeof(plens) / sizeof(plens[0]); i++)
			for (size_t m = 0; m < sizeof(mtus) / sizeof(mtus[0]);
			     m++)
				for (size_t f = 0; f < 4; f++)
					run_case(&optsets[s], plens[i], fos[f],
						 mtus[m], mtus[m] + 3);
}

static void test_counts(void)
{
	/* 1480 + 1480 + 40 for the classic 3000-byte packet. */
	CHECK(run_case(&optsets[0], 2980, 0, 1500, 1500) == 3, "2980 in 1500");
	/* 1000 bytes into 68: 48 per piece, 21 pieces. */
	CHECK(run_case(&optsets[0], 1000, 0, 68, 68) == 21, "1000 in 68");
	/* Odd MTU 1279: 1256 per full piece, up to 1259 in the last. */
	CHECK(run_case(&optsets[0], 2515, 0, 1279, 1279) == 2, "2515 in 1279");
	CHECK(run_case(&optsets[0], 2516, 0, 1279, 1279) == 3, "2516 in 1279");
	/* The first piece carries 56 bytes of options, later ones 24. */
	CHECK(run_case(&optsets[2], 100, 0, 100, 100) == 3, "LSRR in 100");
	/* A cap smaller than the MTU limits the pieces. */
	run_case(&optsets[1], 3000, 0, 1500, 600);
	run_case(&optsets[0], 3000, 0x2000 | 100, 9000, 1001);
	/* Largest datagram: 8191 units of offset. */
	run_case(&optsets[0], 65515, 0, 1500, 1500);
	CHECK(run_case(&optsets[0], 15, 8190, 64, 64) == 1, "last offset");
	CHECK(run_case(&optsets[0], 15, 8190, 28, 28) == 2, "split at 64K");
}

static void test_df_and_limits(void)
{
	uint32_t len;
	uint8_t *o = mkpkt(&optsets[1], 2000, 0x4000, &len);
	struct bufs bs;
	int n;

	bufs_alloc(&bs, 4, 1500);
	CHECK(split(o, len, 1500, &bs, 4) == -EMSGSIZE, "DF set");
	CHECK(bs.b[0][0] == 0xa5, "nothing written with DF");
	/* A packet that fits is copied whole, DF or not. */
	n = split(o, len, 2100, &bs, 4);
	CHECK(n == -EMSGSIZE, "DF, cap 1500 < packet: %d", n);
	bufs_free(&bs);
	bufs_alloc(&bs, 1, 2100);
	n = split(o, len, 2100, &bs, 1);
	CHECK(n == 1 && bs.lens[0] == len && !memcmp(bs.b[0], o, len),
	      "DF, fits: %d", n);
	CHECK(split(o, len, 2100, &bs, 0) == -E2BIG, "fits, max 0");
	bufs_free(&bs);
	free(o);

	o = mkpkt(&optsets[0], 2980, 0, &len);
	bufs_alloc(&bs, 3, 1500);
	CHECK(split(o, len, 1500, &bs, 2) == -E2BIG, "3 pieces, max 2");
	CHECK(bs.b[0][0] == 0xa5 && bs.b[1][0] == 0xa5,
	      "nothing written when too many");
	CHECK(split(o, len, 1500, &bs, 3) == 3, "3 pieces, max 3");
	CHECK(frags_ok(o, &bs, 3, 1500, &optsets[0]), "3 pieces valid");
	bufs_free(&bs);
	free(o);

	/* The MTU must hold the header and 8 bytes. */
	o = mkpkt(&optsets[3], 100, 0, &len);
	bufs_alloc(&bs, 100, 200);
	CHECK(split(o, len, 67, &bs, 100) == -EINVAL, "MTU 67, 60-byte header");
	/* 8 bytes behind the options, then 48 behind a bare header. */
	CHECK(split(o, len, 68, &bs, 100) == 3, "MTU 68, 60-byte header");
	CHECK(frags_ok(o, &bs, 3, 68, &optsets[3]), "MTU 68 pieces");
	bufs_free(&bs);
	bufs_alloc(&bs, 100, 67);
	CHECK(split(o, len, 1500, &bs, 100) == -EINVAL, "cap 67");
	bufs_free(&bs);
	free(o);
}

/* Runs frag_ipv4 on the first len bytes of b, copied to an exact block. */
static int split_copy(const uint8_t *b, uint32_t len, uint32_t mtu,
		      struct bufs *bs)
{
	uint8_t *o = malloc(len ? len : 1);
	int n;

	memcpy(o, b, len);
	n = split(o, len, mtu, bs, bs->n);
	free(o);
	return n;
}

static void test_malformed(void)
{
	uint8_t b[200];
	uint32_t len;
	uint8_t *o = mkpkt(&optsets[1], 168, 0, &len);
	struct bufs bs;

	bufs_alloc(&bs, 16, 100);
	memcpy(b, o, len);
	free(o);
	CHECK(split_copy(b, 0, 100, &bs) == -EINVAL, "empty");
	CHECK(split_copy(b, 19, 100, &bs) == -EINVAL, "19 bytes");
	CHECK(split_copy(b, 199, 100, &bs) == -EINVAL, "truncated");
	b[0] = 0x6b;
	CHECK(split_copy(b, 200, 100, &bs) == -EINVAL, "version 6");
	b[0] = 0x44;
	CHECK(split_copy(b, 200, 100, &bs) == -EINVAL, "IHL 4");
	b[0] = 0x48;
	wr16(b + 2, 31);
	CHECK(split_copy(b, 200, 100, &bs) == -EINVAL, "length < IHL");
	wr16(b + 2, 200);

	b[22] = 0;		/* record route of length 0 */
	CHECK(split_copy(b, 200, 100, &bs) == -EINVAL, "option length 0");
	b[22] = 1;
	CHECK(split_copy(b, 200, 100, &bs) == -EINVAL, "option length 1");
	b[22] = 12;
	CHECK(split_copy(b, 200, 100, &bs) == -EINVAL, "option overruns");
	b[22] = 7;
	memset(b + 28, 1, 3);	/* the router alert's type is now last */
	b[31] = 0x94;
	CHECK(split_copy(b, 200, 100, &bs) == -EINVAL, "type without length");
	b[31] = 1;
	CHECK(split_copy(b, 200, 100, &bs) == 3, "all NOPs");

	/* Beyond 65535 bytes once reassembled. */
	o = mkpkt(&optsets[0], 100, 8180, &len);
	CHECK(split_copy(o, len, 100, &bs) == -EINVAL, "offset overflow");
	free(o);
	o = mkpkt(&optsets[0], 100, 8179, &len);
	CHECK(split_copy(o, len, 100, &bs) == 2, "last possible offset");
	free(o);
	bufs_free(&bs);
}

static uint32_t rnd_state = 0x2545f491;

static uint32_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 17;
	rnd_state ^= rnd_state << 5;
	return rnd_state;
}

/* Random headers and options must never crash nor give bad fragments. */
static void test_random(void)
{
	struct bufs bs;
	uint8_t b[1200];
	int bad = 0, split_ok = 0, multi = 0;

	bufs_alloc(&bs, 200, 1200);
	for (int i = 0; i < 20000; i++) {
		uint32_t len = rnd() % sizeof(b);
		uint32_t mtu = 20 + rnd() % 1200;
		int n;

		for (uint32_t j = 0; j < len; j++)
			b[j] = (uint8_t)(rnd() % 4 ? rnd() % 8 : rnd());
		if (len >= 20) {
			b[0] = (uint8_t)(0x40 | (5 + rnd() % 11));
			wr16(b + 2, len - rnd() % 3);
			wr16(b + 6, rnd() & 0xbfff);
			set_csum(b);
		}
		n = split_copy(b, len, mtu, &bs);
		if (n == -EINVAL || n == -E2BIG)
			continue;
		split_ok++;
		multi += n > 1;
		if (n < 1 || !frags_ok(b, &bs, n, mtu < 1200 ? mtu : 1200,
				       NULL))
			bad++;
	}
	CHECK(bad == 0, "%d random packets split badly", bad);
	CHECK(split_ok > 1000 && multi > 500, "only %d random packets split, "
	      "%d in several pieces", split_ok, multi);
	bufs_free(&bs);
}

int main(void)
{
	test_sizes();
	test_counts();
	test_df_and_limits();
	test_malformed();
	test_random();
	return check_summary();
}
