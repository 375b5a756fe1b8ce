// SPDX-License-Identifier: GPL-2.0-only
/* Unit tests of the ICMP error builders and of their rate limiter. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "icmp.h"

#define NSEC 1000000000ull

static const uint8_t gw4[4] = { 192, 0, 2, 1 };
static const uint8_t host4[4] = { 198, 51, 100, 7 };
static const uint8_t peer4[4] = { 203, 0, 113, 9 };
static const uint8_t gw6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
static const uint8_t host6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 1, [15] = 7 };
static const uint8_t peer6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 2, [15] = 9 };

/* A packet under construction, and what the error should look like. */
struct want {
	uint8_t type, code;
	uint32_t info;
};

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)rd16(p) << 16 | rd16(p + 2);
}

static void wr16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* One's complement sum, 16 bits at a time, written independently. */
static uint32_t sum16(uint32_t acc, const uint8_t *d, size_t len)
{
	size_t i;

	for (i = 0; i + 2 <= len; i += 2)
		acc += rd16(d + i);
	if (i < len)
		acc += (uint32_t)d[i] << 8;
	return acc;
}

/* True if data including its stored checksum sums to 0xffff. */
static bool sum_ok(uint32_t acc)
{
	while (acc > 0xffff)
		acc = (acc >> 16) + (acc & 0xffff);
	return acc == 0xffff;
}

static void ip4_csum(uint8_t *h)
{
	uint32_t acc;
	size_t hlen = (h[0] & 0xf) * 4u;

	h[10] = h[11] = 0;
	acc = sum16(0, h, hlen);
	while (acc > 0xffff)
		acc = (acc >> 16) + (acc & 0xffff);
	wr16(h + 10, ~acc & 0xffff);
}

/* An IPv4 packet of len bytes with optlen bytes of options (NOPs). */
static void mk4(uint8_t *b, uint32_t len, uint32_t optlen, uint8_t proto,
		const uint8_t *src, const uint8_t *dst)
{
	uint32_t hlen = 20 + optlen;

	for (uint32_t i = 0; i < len; i++)
		b[i] = (uint8_t)(i * 7 + 3);
	memset(b, 0, hlen);
	b[0] = (uint8_t)(0x40 | hlen / 4);
	wr16(b + 2, len);
	wr16(b + 4, 0x1234);
	b[8] = 1;
	b[9] = proto;
	memcpy(b + 12, src, 4);
	memcpy(b + 16, dst, 4);
	memset(b + 20, 1, optlen);
	ip4_csum(b);
}

/* An IPv6 packet of len bytes, next header nh. */
static void mk6(uint8_t *b, uint32_t len, uint8_t nh, const uint8_t *src,
		const uint8_t *dst)
{
	for (uint32_t i = 0; i < len; i++)
		b[i] = (uint8_t)(i * 5 + 1);
	memset(b, 0, 40);
	b[0] = 0x60;
	wr16(b + 4, len - 40);
	b[6] = nh;
	b[7] = 1;
	memcpy(b + 8, src, 16);
	memcpy(b + 24, dst, 16);
}

/*
 * Runs a builder on a copy of b in a heap block of exactly len bytes, with
 * an output block of exactly cap bytes, so that valgrind sees any access
 * out of bounds.  Returns the length; the output is copied to out.
 */
static uint32_t run(const uint8_t *b, uint32_t len, bool too_big,
		    uint32_t mtu, const uint8_t *src, uint32_t cap,
		    uint8_t *out)
{
	uint8_t *in = malloc(len ? len : 1);
	uint8_t *o = malloc(cap ? cap : 1);
	struct pkt p = { .data = in, .len = len };
	struct xdpsec_addr a;
	uint32_t n;

	memset(&a, 0, sizeof(a));
	memcpy(a.v6, src, (b[0] >> 4) == 6 ? 16 : 4);
	memcpy(in, b, len);
	if (too_big)
		n = icmp_too_big(&p, mtu, &a, o, cap);
	else
		n = icmp_time_exceeded(&p, &a, o, cap);
	if (n && n <= cap && out)
		memcpy(out, o, n);
	CHECK(memcmp(in, b, len) == 0, "offender left untouched");
	free(in);
	free(o);
	return n;
}

static uint32_t big4(const uint8_t *b, uint32_t len, uint32_t mtu,
		     uint8_t *out)
{
	return run(b, len, true, mtu, gw4, 2048, out);
}

static uint32_t tex4(const uint8_t *b, uint32_t len, uint8_t *out)
{
	return run(b, len, false, 0, gw4, 2048, out);
}

static uint32_t big6(const uint8_t *b, uint32_t len, uint32_t mtu,
		     uint8_t *out)
{
	return run(b, len, true, mtu, gw6, 2048, out);
}

static uint32_t tex6(const uint8_t *b, uint32_t len, uint8_t *out)
{
	return run(b, len, false, 0, gw6, 2048, out);
}

/* Checks every field of an ICMPv4 error about the len-byte packet b. */
static void check4(const uint8_t *m, uint32_t n, const uint8_t *b,
		   uint32_t len, const struct want *w, const char *what)
{
	uint32_t q = len < 548 ? len : 548;

	CHECK(n == 28 + q, "%s: length %u, want %u", what, n, 28 + q);
	if (n != 28 + q)
		return;
	CHECK(m[0] == 0x45, "%s: version/IHL %#x", what, m[0]);
	CHECK(rd16(m + 2) == n, "%s: total length", what);
	CHECK((rd16(m + 6) & 0x3fff) == 0, "%s: not a fragment", what);
	CHECK(m[8] == 64, "%s: TTL %u", what, m[8]);
	CHECK(m[9] == 1, "%s: protocol %u", what, m[9]);
	CHECK(sum_ok(sum16(0, m, 20)), "%s: IP checksum", what);
	CHECK(memcmp(m + 12, gw4, 4) == 0, "%s: source", what);
	CHECK(memcmp(m + 16, b + 12, 4) == 0, "%s: destination", what);
	CHECK(m[20] == w->type && m[21] == w->code, "%s: type %u code %u",
	      what, m[20], m[21]);
	CHECK(rd32(m + 24) == w->info, "%s: info %u, want %u", what,
	      rd32(m + 24), w->info);
	CHECK(sum_ok(sum16(0, m + 20, n - 20)), "%s: ICMP checksum", what);
	CHECK(memcmp(m + 28, b, q) == 0, "%s: quoted bytes", what);
}

/* Checks every field of an ICMPv6 error about the len-byte packet b. */
static void check6(const uint8_t *m, uint32_t n, const uint8_t *b,
		   uint32_t len, const struct want *w, const char *what)
{
	uint32_t q = len < 1232 ? len : 1232;
	uint32_t acc;

	CHECK(n == 48 + q, "%s: length %u, want %u", what, n, 48 + q);
	if (n != 48 + q)
		return;
	CHECK(rd32(m) == 0x60000000, "%s: version/class/flow", what);
	CHECK(rd16(m + 4) == n - 40, "%s: payload length", what);
	CHECK(m[6] == 58, "%s: next header %u", what, m[6]);
	CHECK(m[7] == 64, "%s: hop limit %u", what, m[7]);
	CHECK(memcmp(m + 8, gw6, 16) == 0, "%s: source", what);
	CHECK(memcmp(m + 24, b + 8, 16) == 0, "%s: destination", what);
	CHECK(m[40] == w->type && m[41] == w->code, "%s: type %u code %u",
	      what, m[40], m[41]);
	CHECK(rd32(m + 44) == w->info, "%s: info %u, want %u", what,
	      rd32(m + 44), w->info);
	acc = sum16(0, m + 8, 32) + (n - 40) + 58;
	CHECK(sum_ok(sum16(acc, m + 40, n - 40)), "%s: ICMPv6 checksum",
	      what);
	CHECK(memcmp(m + 48, b, q) == 0, "%s: quoted bytes", what);
}

static void test_v4_basic(void)
{
	static const uint32_t lens[] = { 28, 100, 101, 547, 576, 577, 1500,
					 9000 };
	static uint8_t b[9000], m[2048];

	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		struct want w = { 3, 4, 1400 };
		uint32_t n;

		mk4(b, lens[i], 0, 17, host4, peer4);
		n = big4(b, lens[i], 1400, m);
		check4(m, n, b, lens[i], &w, "v4 too big");
		w = (struct want){ 11, 0, 0 };
		n = tex4(b, lens[i], m);
		check4(m, n, b, lens[i], &w, "v4 time exceeded");
	}

	/* Options are quoted with the header. */
	mk4(b, 1000, 40, 6, host4, peer4);
	check4(m, big4(b, 1000, 1300, m), b, 1000, &(struct want){ 3, 4, 1300 },
	       "v4 options");
	mk4(b, 64, 40, 6, host4, peer4);
	check4(m, tex4(b, 64, m), b, 64, &(struct want){ 11, 0, 0 },
	       "v4 options, short");

	/* A first fragment is answered. */
	mk4(b, 1500, 0, 17, host4, peer4);
	wr16(b + 6, 0x2000);
	ip4_csum(b);
	check4(m, big4(b, 1500, 1400, m), b, 1500, &(struct want){ 3, 4, 1400 },
	       "v4 first fragment");
}

static void test_v4_mtu(void)
{
	static uint8_t b[1500], m[2048];

	mk4(b, 1500, 0, 17, host4, peer4);
	CHECK(big4(b, 1500, 67, m) == 0, "v4 MTU 67 not reported");
	check4(m, big4(b, 1500, 68, m), b, 1500, &(struct want){ 3, 4, 68 },
	       "v4 MTU 68");
	check4(m, big4(b, 1500, 70000, m), b, 1500,
	       &(struct want){ 3, 4, 0xffff }, "v4 MTU clamped");
	check4(m, big4(b, 1500, 1279, m), b, 1500,
	       &(struct want){ 3, 4, 1279 }, "v4 odd MTU");
}

static void test_v4_icmp(void)
{
	static const uint8_t errors[] = { 3, 4, 5, 11, 12 };
	static const uint8_t infos[] = { 0, 8, 13, 14, 17, 18 };
	static uint8_t b[200], m[2048];

	for (size_t i = 0; i < sizeof(errors); i++) {
		mk4(b, 200, 0, 1, host4, peer4);
		b[20] = errors[i];
		CHECK(big4(b, 200, 1400, m) == 0, "no error about ICMP %u",
		      errors[i]);
		CHECK(tex4(b, 200, m) == 0, "no time exceeded about ICMP %u",
		      errors[i]);
	}
	for (size_t i = 0; i < sizeof(infos); i++) {
		mk4(b, 200, 0, 1, host4, peer4);
		b[20] = infos[i];
		check4(m, big4(b, 200, 1400, m), b, 200,
		       &(struct want){ 3, 4, 1400 }, "about ICMP query");
		check4(m, tex4(b, 200, m), b, 200,
		       &(struct want){ 11, 0, 0 }, "TE about ICMP query");
	}
	/* ICMP without a type byte might be an error. */
	mk4(b, 20, 0, 1, host4, peer4);
	CHECK(big4(b, 20, 1400, m) == 0, "no error about empty ICMP");
	/* Options: the type is behind them. */
	mk4(b, 200, 40, 1, host4, peer4);
	b[60] = 11;
	CHECK(tex4(b, 200, m) == 0, "ICMP error behind options");
	b[60] = 8;
	CHECK(tex4(b, 200, m) == 228, "ICMP echo behind options");
}

static void test_v4_silent(void)
{
	static const uint8_t bad_src[][4] = {
		{ 0, 0, 0, 0 }, { 0, 1, 2, 3 }, { 127, 0, 0, 1 },
		{ 127, 9, 9, 9 }, { 224, 0, 0, 5 }, { 239, 1, 1, 1 },
		{ 240, 0, 0, 1 }, { 255, 255, 255, 255 },
	};
	static const uint8_t bad_dst[][4] = {
		{ 224, 0, 0, 1 }, { 239, 255, 255, 250 },
		{ 255, 255, 255, 255 },
	};
	static uint8_t b[600], m[2048];

	for (size_t i = 0; i < sizeof(bad_src) / 4; i++) {
		mk4(b, 600, 0, 17, bad_src[i], peer4);
		CHECK(big4(b, 600, 500, m) == 0, "source %u.%u.%u.%u",
		      bad_src[i][0], bad_src[i][1], bad_src[i][2],
		      bad_src[i][3]);
		CHECK(tex4(b, 600, m) == 0, "TE source %u", bad_src[i][0]);
	}
	for (size_t i = 0; i < sizeof(bad_dst) / 4; i++) {
		mk4(b, 600, 0, 17, host4, bad_dst[i]);
		CHECK(big4(b, 600, 500, m) == 0, "destination %u.%u.%u.%u",
		      bad_dst[i][0], bad_dst[i][1], bad_dst[i][2],
		      bad_dst[i][3]);
		CHECK(tex4(b, 600, m) == 0, "TE destination %u", bad_dst[i][0]);
	}

	/* Non-first fragments, with and without MF. */
	mk4(b, 600, 0, 17, host4, peer4);
	wr16(b + 6, 0x2001);
	ip4_csum(b);
	CHECK(big4(b, 600, 500, m) == 0, "middle fragment");
	wr16(b + 6, 0x00b9);
	ip4_csum(b);
	CHECK(tex4(b, 600, m) == 0, "last fragment");
}

static void test_v4_malformed(void)
{
	static uint8_t b[600], m[2048];

	mk4(b, 600, 0, 17, host4, peer4);
	CHECK(big4(b, 0, 500, m) == 0, "empty packet");
	CHECK(big4(b, 19, 500, m) == 0, "19 bytes");
	CHECK(big4(b, 599, 500, m) == 0, "shorter than its length");
	b[0] = 0x44;
	CHECK(big4(b, 600, 500, m) == 0, "IHL 4");
	b[0] = 0x55;
	CHECK(tex4(b, 600, m) == 0, "version 5");
	mk4(b, 600, 0, 17, host4, peer4);
	wr16(b + 2, 19);
	CHECK(tex4(b, 600, m) == 0, "length below the header");
	/* Trailing bytes beyond the IP length are not quoted. */
	mk4(b, 600, 0, 17, host4, peer4);
	wr16(b + 2, 100);
	ip4_csum(b);
	check4(m, tex4(b, 600, m), b, 100, &(struct want){ 11, 0, 0 },
	       "Ethernet padding");
}

static void test_v4_cap(void)
{
	static uint8_t b[1500], m[2048];
	uint32_t n;

	mk4(b, 1500, 0, 17, host4, peer4);
	CHECK(run(b, 1500, true, 1400, gw4, 0, m) == 0, "cap 0");
	CHECK(run(b, 1500, true, 1400, gw4, 28, m) == 0, "cap 28");
	CHECK(run(b, 1500, true, 1400, gw4, 55, m) == 0, "cap 55");
	n = run(b, 1500, true, 1400, gw4, 56, m);
	CHECK(n == 56, "cap 56 gives %u", n);
	CHECK(memcmp(m + 28, b, 28) == 0, "cap 56 quotes 28 bytes");
	CHECK(sum_ok(sum16(0, m + 20, n - 20)), "cap 56 checksum");
	n = run(b, 1500, false, 0, gw4, 301, m);
	CHECK(n == 301 && sum_ok(sum16(0, m + 20, n - 20)), "cap 301: %u", n);

	mk4(b, 1500, 40, 17, host4, peer4);
	CHECK(run(b, 1500, true, 1400, gw4, 95, m) == 0, "options, cap 95");
	CHECK(run(b, 1500, true, 1400, gw4, 96, m) == 96, "options, cap 96");
	/* A short packet needs only room for itself. */
	mk4(b, 40, 0, 17, host4, peer4);
	CHECK(run(b, 40, false, 0, gw4, 100, m) == 68, "short, cap 100");
	CHECK(run(b, 40, false, 0, gw4, 67, m) == 67, "short, cap 67");
	CHECK(run(b, 40, false, 0, gw4, 56, m) == 56, "short, cap 56");
	CHECK(run(b, 40, false, 0, gw4, 55, m) == 0, "short, cap 55");
	/* Shorter than the header and 8 bytes: all of it is needed. */
	mk4(b, 24, 0, 17, host4, peer4);
	CHECK(run(b, 24, false, 0, gw4, 52, m) == 52, "24 bytes, cap 52");
	CHECK(run(b, 24, false, 0, gw4, 51, m) == 0, "24 bytes, cap 51");
}

/* An IPv6 packet whose ICMPv6 header follows hop-by-hop and dst options. */
static void mk6_ext(uint8_t *b, uint32_t len, uint8_t type)
{
	mk6(b, len, 0, host6, peer6);
	b[40] = 60;		/* hop-by-hop, 8 bytes */
	b[41] = 0;
	b[48] = 58;		/* destination options, 16 bytes */
	b[49] = 1;
	b[64] = type;
}

static void test_v6_basic(void)
{
	static const uint32_t lens[] = { 40, 48, 81, 1232, 1233, 1280, 1500,
					 9000 };
	static uint8_t b[9000], m[2048];

	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		struct want w = { 2, 0, 1400 };
		uint32_t n;

		mk6(b, lens[i], 17, host6, peer6);
		n = big6(b, lens[i], 1400, m);
		check6(m, n, b, lens[i], &w, "v6 too big");
		w = (struct want){ 3, 0, 0 };
		n = tex6(b, lens[i], m);
		check6(m, n, b, lens[i], &w, "v6 time exceeded");
	}
	mk6(b, 1500, 17, host6, peer6);
	CHECK(big6(b, 1500, 1279, m) == 0, "v6 MTU 1279 not reported");
	check6(m, big6(b, 1500, 1280, m), b, 1500, &(struct want){ 2, 0, 1280 },
	       "v6 MTU 1280");
	check6(m, big6(b, 1500, 70001, m), b, 1500,
	       &(struct want){ 2, 0, 70001 }, "v6 MTU 32 bits");
}

static void test_v6_icmp(void)
{
	static const uint8_t errors[] = { 0, 1, 2, 3, 4, 100, 127 };
	static const uint8_t infos[] = { 128, 129, 135, 200, 255 };
	static uint8_t b[300], m[2048];

	for (size_t i = 0; i < sizeof(errors); i++) {
		mk6(b, 300, 58, host6, peer6);
		b[40] = errors[i];
		CHECK(big6(b, 300, 1280, m) == 0, "no PTB about ICMPv6 %u",
		      errors[i]);
		mk6_ext(b, 300, errors[i]);
		CHECK(tex6(b, 300, m) == 0, "no TE about ICMPv6 %u behind "
		      "extension headers", errors[i]);
	}
	for (size_t i = 0; i < sizeof(infos); i++) {
		mk6(b, 300, 58, host6, peer6);
		b[40] = infos[i];
		check6(m, big6(b, 300, 1280, m), b, 300,
		       &(struct want){ 2, 0, 1280 }, "PTB about ICMPv6 query");
		mk6_ext(b, 300, infos[i]);
		check6(m, tex6(b, 300, m), b, 300, &(struct want){ 3, 0, 0 },
		       "TE about ICMPv6 query behind extension headers");
	}
	/* No type byte, or the extension headers overrun the packet. */
	mk6(b, 40, 58, host6, peer6);
	CHECK(big6(b, 40, 1280, m) == 0, "ICMPv6 without a type");
	mk6_ext(b, 64, 128);
	CHECK(tex6(b, 64, m) == 0, "type beyond the packet");
	mk6_ext(b, 300, 128);
	b[49] = 40;
	CHECK(tex6(b, 300, m) == 0, "extension header beyond the packet");
}

static void test_v6_frag_ext(void)
{
	static uint8_t b[300], m[2048];

	/* Later fragment of ICMPv6: cannot tell, so silent. */
	mk6(b, 300, 44, host6, peer6);
	b[40] = 58;
	wr16(b + 42, 185 << 3);
	CHECK(tex6(b, 300, m) == 0, "later ICMPv6 fragment");
	b[40] = 17;
	check6(m, tex6(b, 300, m), b, 300, &(struct want){ 3, 0, 0 },
	       "later UDP fragment");
	/* First fragment: the type is there. */
	b[40] = 58;
	wr16(b + 42, 1);
	b[48] = 1;
	CHECK(tex6(b, 300, m) == 0, "first fragment of an ICMPv6 error");
	b[48] = 128;
	check6(m, tex6(b, 300, m), b, 300, &(struct want){ 3, 0, 0 },
	       "first fragment of an echo");

	/* More extension headers than are walked: assume an error. */
	mk6(b, 300, 60, host6, peer6);
	for (int i = 0; i < 9; i++) {
		b[40 + 8 * i] = i < 8 ? 60 : 58;
		b[41 + 8 * i] = 0;
	}
	b[40 + 72] = 128;
	CHECK(tex6(b, 300, m) == 0, "nine extension headers");
	/* AH counts its length in 4-byte units. */
	mk6(b, 300, 51, host6, peer6);
	b[40] = 58;
	b[41] = 4;		/* (4 + 2) * 4 = 24 bytes */
	b[64] = 1;
	CHECK(tex6(b, 300, m) == 0, "ICMPv6 error behind AH");
	b[64] = 128;
	CHECK(tex6(b, 300, m) == 348, "ICMPv6 echo behind AH");
	/* ESP hides the rest: it is not ICMPv6. */
	mk6(b, 300, 50, host6, peer6);
	b[40] = 1;
	CHECK(tex6(b, 300, m) == 348, "ESP");
}

static void test_v6_silent(void)
{
	static const uint8_t zero[16], loop[16] = { [15] = 1 };
	static const uint8_t mcast[16] = { 0xff, 0x02, [15] = 1 };
	static const uint8_t two[16] = { [15] = 2 };
	static uint8_t b[1500], m[2048];

	mk6(b, 1500, 17, zero, peer6);
	CHECK(big6(b, 1500, 1280, m) == 0, "source ::");
	mk6(b, 1500, 17, loop, peer6);
	CHECK(tex6(b, 1500, m) == 0, "source ::1");
	mk6(b, 1500, 17, mcast, peer6);
	CHECK(big6(b, 1500, 1280, m) == 0, "multicast source");
	mk6(b, 1500, 17, two, peer6);
	CHECK(big6(b, 1500, 1280, m) == 1280, "source ::2 is a host");

	/* RFC 4443 2.4(e.3): PTB to multicast yes, time exceeded no. */
	mk6(b, 1500, 17, host6, mcast);
	check6(m, big6(b, 1500, 1400, m), b, 1500,
	       &(struct want){ 2, 0, 1400 }, "PTB about multicast");
	CHECK(tex6(b, 1500, m) == 0, "no TE about multicast");
}

static void test_v6_malformed_cap(void)
{
	static uint8_t b[1500], m[2048];

	mk6(b, 1500, 17, host6, peer6);
	CHECK(big6(b, 39, 1280, m) == 0, "39 bytes");
	CHECK(big6(b, 1499, 1280, m) == 0, "shorter than its length");
	CHECK(run(b, 1500, true, 1280, gw6, 95, m) == 0, "cap 95");
	CHECK(run(b, 1500, true, 1280, gw6, 96, m) == 96, "cap 96");
	CHECK(run(b, 1500, true, 1280, gw6, 47, m) == 0, "cap 47");
	CHECK(run(b, 1500, false, 0, gw6, 1279, m) == 1279, "cap 1279");
	mk6(b, 60, 17, host6, peer6);
	CHECK(run(b, 60, false, 0, gw6, 107, m) == 107, "short, cap 107");
	CHECK(run(b, 60, false, 0, gw6, 96, m) == 96, "short, cap 96");
	CHECK(run(b, 60, false, 0, gw6, 95, m) == 0, "short, cap 95");
	check6(m, run(b, 60, false, 0, gw6, 107 + 500, m), b, 60,
	       &(struct want){ 3, 0, 0 }, "short, big cap");
	mk6(b, 44, 17, host6, peer6);
	CHECK(run(b, 44, true, 1280, gw6, 92, m) == 92, "44 bytes, cap 92");
	CHECK(run(b, 44, true, 1280, gw6, 91, m) == 0, "44 bytes, cap 91");
}

static uint32_t rnd_state = 0x9e3779b9;

static uint32_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 17;
	rnd_state ^= rnd_state << 5;
	return rnd_state;
}

/* Random headers must never crash; what is built must be consistent. */
static void test_random(void)
{
	static uint8_t b[1600], m[2048];
	int bad = 0, built = 0;

	for (int i = 0; i < 20000; i++) {
		uint32_t len = rnd() % sizeof(b);
		uint32_t cap = rnd() % 1400;
		uint32_t n;

		for (uint32_t j = 0; j < len; j++)
			b[j] = (uint8_t)rnd();
		if (len)
			b[0] = (uint8_t)((rnd() & 1 ? 0x40 : 0x60) |
					 (b[0] & 0xf));
		if (len > 6 && b[0] >> 4 == 6) {
			wr16(b + 4, len - 40);
			b[6] = (uint8_t[]){ 0, 44, 51, 58, 60 }[rnd() % 5];
		} else if (len > 4) {
			wr16(b + 2, len);
		}
		n = run(b, len, rnd() & 1, 1280 + rnd() % 9000,
			(b[0] >> 4) == 6 ? gw6 : gw4, cap, m);
		if (!n)
			continue;
		built++;
		if (n > cap || (b[0] >> 4 == 4 && n > 576) || n > 1280)
			bad++;
		else if (b[0] >> 4 == 4 && !sum_ok(sum16(0, m + 20, n - 20)))
			bad++;
	}
	CHECK(bad == 0, "%d random packets gave bad errors", bad);
	CHECK(built > 1000, "only %d random packets answered", built);
}

static void test_limit(void)
{
	struct icmp_limit l;
	uint64_t t = 1000 * NSEC;
	int n = 0;

	icmp_limit_init(&l, 10, 5);
	for (int i = 0; i < 20; i++)
		n += icmp_limit_allow(&l, t);
	CHECK(n == 5, "burst of %d, want 5", n);
	CHECK(!icmp_limit_allow(&l, t + NSEC / 10 - 1), "just before 100 ms");
	CHECK(icmp_limit_allow(&l, t + NSEC / 10), "one at 100 ms");
	CHECK(!icmp_limit_allow(&l, t + NSEC / 10), "only one at 100 ms");
	CHECK(!icmp_limit_allow(&l, t + NSEC / 10 + NSEC / 20), "150 ms");
	CHECK(icmp_limit_allow(&l, t + 2 * NSEC / 10), "one at 200 ms");

	/* A steady stream gets exactly per_sec a second. */
	t += 10 * NSEC;
	n = 0;
	for (uint64_t ms = 0; ms < 10000; ms++)
		n += icmp_limit_allow(&l, t + ms * 1000000);
	CHECK(n == 5 + 99, "%d in 10 s, want 104", n);

	/* An idle bucket refills to burst, not beyond. */
	t += 3600 * NSEC;
	n = 0;
	for (int i = 0; i < 20; i++)
		n += icmp_limit_allow(&l, t);
	CHECK(n == 5, "refilled burst %d", n);

	/* A clock starting at zero. */
	icmp_limit_init(&l, 1, 1);
	CHECK(icmp_limit_allow(&l, 0), "first at 0");
	CHECK(!icmp_limit_allow(&l, NSEC - 1), "none before 1 s");
	CHECK(icmp_limit_allow(&l, NSEC), "one at 1 s");

	icmp_limit_init(&l, 0, 5);
	CHECK(!icmp_limit_allow(&l, t), "rate 0 allows nothing");
	icmp_limit_init(&l, 100, 0);
	CHECK(!icmp_limit_allow(&l, t), "burst 0 allows nothing");
}

int main(void)
{
	test_v4_basic();
	test_v4_mtu();
	test_v4_icmp();
	test_v4_silent();
	test_v4_malformed();
	test_v4_cap();
	test_v6_basic();
	test_v6_icmp();
	test_v6_frag_ext();
	test_v6_silent();
	test_v6_malformed_cap();
	test_random();
	test_limit();
	return check_summary();
}
