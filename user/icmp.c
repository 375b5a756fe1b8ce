// SPDX-License-Identifier: GPL-2.0-only
#include <string.h>

#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>

#include "bytes.h"
#include "icmp.h"
#include "ip.h"

enum {
	IP4_HLEN = 20,
	IP6_HLEN = 40,
	ICMP_HLEN = 8,
	ICMP_QUOTE_MIN = 8,	/* RFC 792: header plus 64 bits of data */
	ICMP_TTL = 64,
	ICMP4_TOS = 0xc0,	/* RFC 1812 4.3.2.5: internetwork control */
	ICMP6_EXT_MAX = 8,	/* extension headers walked to find a type */
};

enum {
	EXT6_HOP = 0,
	EXT6_ROUTING = 43,
	EXT6_FRAGMENT = 44,
	EXT6_AH = 51,
	EXT6_DSTOPTS = 60,
};

/* What differs between the errors built here. */
struct icmp_err {
	uint8_t type4, code4;
	uint8_t type6, code6;
	uint32_t info;		/* the 32 bits after the checksum */
	bool to_mcast6;		/* RFC 4443 2.4(e.3): to multicast too */
};

/* Adds big-endian 16-bit words; only the last chunk may be of odd length. */
static uint32_t csum_add(uint32_t sum, const uint8_t *d, uint32_t len)
{
	for (uint32_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)d[i] << 8 | d[i + 1];
	if (len & 1)
		sum += (uint32_t)d[len - 1] << 8;
	return sum;
}

/* Folds and complements a sum into the value to store (RFC 1071). */
static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/*
 * How many bytes of a len-byte packet to quote behind hdrs bytes of
 * headers, in a message of at most max bytes that must fit in cap.  At
 * least need bytes (or the whole packet) are required, else 0.
 */
static uint32_t quote_len(uint32_t len, uint32_t need, uint32_t hdrs,
			  uint32_t max, uint32_t cap)
{
	uint32_t room = (cap < max ? cap : max);

	if (room < hdrs)
		return 0;
	room -= hdrs;
	if (room < (len < need ? len : need))
		return 0;
	return len < room ? len : room;
}

/* RFC 1122 3.2.2 and RFC 1812 4.3.2.7: the address names one host. */
static bool ip4_one_host(const uint8_t *a)
{
	/* 0/8 "this network", 127/8 loopback, 224/4 multicast, 240/4 */
	return a[0] != 0 && a[0] != 127 && a[0] < 224;
}

static bool icmp4_is_error(uint8_t type)
{
	switch (type) {
	case ICMP_DEST_UNREACH:
	case ICMP_SOURCE_QUENCH:
	case ICMP_REDIRECT:
	case ICMP_TIME_EXCEEDED:
	case ICMP_PARAMETERPROB:
		return true;
	default:
		return false;
	}
}

static bool icmp4_may_answer(const uint8_t *ip, const struct ip_fields *f)
{
	uint32_t hlen = (ip[0] & 0xf) * 4u;

	/* A later fragment does not say what it belongs to. */
	if ((ip[6] << 8 | ip[7]) & 0x1fff)
		return false;
	if (!ip4_one_host(f->src) || !ip4_one_host(f->dst))
		return false;
	if (f->proto != IPPROTO_ICMP)
		return true;
	/* No type byte: it might be an error, so stay silent. */
	return f->len > hlen && !icmp4_is_error(ip[hlen]);
}

static uint32_t icmp4_build(const struct pkt *orig, const struct ip_fields *f,
			    const struct icmp_err *e,
			    const struct xdpsec_addr *src, uint8_t *out,
			    uint32_t cap)
{
	const uint8_t *ip = orig->data;
	uint32_t need = (ip[0] & 0xf) * 4u + ICMP_QUOTE_MIN;
	uint32_t q, len;
	uint8_t *icmp = out + IP4_HLEN;

	if (!icmp4_may_answer(ip, f))
		return 0;
	q = quote_len(f->len, need, IP4_HLEN + ICMP_HLEN, ICMP_V4_MAX, cap);
	if (!q)
		return 0;
	len = IP4_HLEN + ICMP_HLEN + q;

	/* ID 0 and DF clear: 576 bytes cross any path whole (RFC 791). */
	memset(out, 0, IP4_HLEN + ICMP_HLEN);
	out[0] = 0x45;
	out[1] = ICMP4_TOS;
	put_be16(out + 2, len);
	out[8] = ICMP_TTL;
	out[9] = IPPROTO_ICMP;
	memcpy(out + 12, &src->v4, 4);
	memcpy(out + 16, f->src, 4);
	put_be16(out + 10, csum_fold(csum_add(0, out, IP4_HLEN)));

	icmp[0] = e->type4;
	icmp[1] = e->code4;
	put_be32(icmp + 4, e->info);
	memcpy(icmp + ICMP_HLEN, ip, q);
	put_be16(icmp + 2, csum_fold(csum_add(0, icmp, ICMP_HLEN + q)));
	return len;
}

static bool ip6_one_host(const uint8_t *a)
{
	static const uint8_t zero[15];

	if (a[0] == 0xff)
		return false;
	/* :: (unspecified) and ::1 (loopback) */
	return memcmp(a, zero, sizeof(zero)) || a[15] > 1;
}

/*
 * Whether the packet is, or may be, an ICMPv6 error (RFC 4443 2.4(e.1)).
 * When the type cannot be found the answer is yes, so that two gateways
 * never bounce errors at each other.
 */
static bool icmp6_maybe_error(const uint8_t *ip, uint32_t len)
{
	uint32_t off = IP6_HLEN;
	uint8_t nh = ip[6];

	for (int i = 0; i < ICMP6_EXT_MAX; i++) {
		const uint8_t *ext;

		if (nh == IPPROTO_ICMPV6)
			return off >= len || !(ip[off] & ICMP6_INFOMSG_MASK);
		if (nh != EXT6_HOP && nh != EXT6_ROUTING &&
		    nh != EXT6_FRAGMENT && nh != EXT6_AH &&
		    nh != EXT6_DSTOPTS)
			return false;
		if (off + 8 > len)
			return true;
		ext = ip + off;
		/* A later fragment has no ICMPv6 header to look at. */
		if (nh == EXT6_FRAGMENT && (ext[2] << 8 | ext[3]) & 0xfff8)
			return ext[0] == IPPROTO_ICMPV6;
		if (nh == EXT6_FRAGMENT)
			off += 8;
		else if (nh == EXT6_AH)
			off += (ext[1] + 2) * 4u;
		else
			off += (ext[1] + 1) * 8u;
		nh = ext[0];
	}
	return true;
}

static bool icmp6_may_answer(const uint8_t *ip, const struct ip_fields *f,
			     const struct icmp_err *e)
{
	if (!ip6_one_host(f->src))
		return false;
	if (f->dst[0] == 0xff && !e->to_mcast6)
		return false;
	return !icmp6_maybe_error(ip, f->len);
}

static uint32_t icmp6_build(const struct pkt *orig, const struct ip_fields *f,
			    const struct icmp_err *e,
			    const struct xdpsec_addr *src, uint8_t *out,
			    uint32_t cap)
{
	uint32_t q, plen;
	uint32_t sum;
	uint8_t *icmp = out + IP6_HLEN;

	if (!icmp6_may_answer(orig->data, f, e))
		return 0;
	q = quote_len(f->len, IP6_HLEN + ICMP_QUOTE_MIN,
		      IP6_HLEN + ICMP_HLEN, ICMP_V6_MAX, cap);
	if (!q)
		return 0;
	plen = ICMP_HLEN + q;

	memset(out, 0, IP6_HLEN + ICMP_HLEN);
	out[0] = 0x60;
	put_be16(out + 4, plen);
	out[6] = IPPROTO_ICMPV6;
	out[7] = ICMP_TTL;
	memcpy(out + 8, src->v6, 16);
	memcpy(out + 24, f->src, 16);

	icmp[0] = e->type6;
	icmp[1] = e->code6;
	put_be32(icmp + 4, e->info);
	memcpy(icmp + ICMP_HLEN, orig->data, q);
	/* Pseudo-header (RFC 8200 8.1): addresses, length, next header. */
	sum = csum_add(0, out + 8, 32);
	sum += plen >> 16;
	sum += plen & 0xffff;
	sum += IPPROTO_ICMPV6;
	sum = csum_add(sum, icmp, plen);
	put_be16(icmp + 2, csum_fold(sum));
	return IP6_HLEN + plen;
}

static uint32_t icmp_build(const struct pkt *orig, const struct icmp_err *e,
			   const struct xdpsec_addr *src, uint8_t *out,
			   uint32_t cap)
{
	struct ip_fields f;

	if (ip_parse(orig, &f))
		return 0;
	if (f.family == XDPSEC_AF_INET)
		return icmp4_build(orig, &f, e, src, out, cap);
	return icmp6_build(orig, &f, e, src, out, cap);
}

uint32_t icmp_too_big(const struct pkt *orig, uint32_t mtu,
		      const struct xdpsec_addr *src, uint8_t *out,
		      uint32_t cap)
{
	struct icmp_err e = {
		.type4 = ICMP_DEST_UNREACH,
		.code4 = ICMP_FRAG_NEEDED,
		.type6 = ICMP6_PACKET_TOO_BIG,
		.code6 = 0,
		.to_mcast6 = true,
	};

	if (!orig->len)
		return 0;
	if ((orig->data[0] >> 4) == 4) {
		if (mtu < ICMP_V4_MIN_MTU)
			return 0;
		/* RFC 1191: the MTU is the low 16 bits; the rest is unused. */
		e.info = mtu > 0xffff ? 0xffff : mtu;
	} else {
		if (mtu < ICMP_V6_MIN_MTU)
			return 0;
		e.info = mtu;
	}
	return icmp_build(orig, &e, src, out, cap);
}

uint32_t icmp_time_exceeded(const struct pkt *orig,
			    const struct xdpsec_addr *src, uint8_t *out,
			    uint32_t cap)
{
	static const struct icmp_err e = {
		.type4 = ICMP_TIME_EXCEEDED,
		.code4 = ICMP_EXC_TTL,
		.type6 = ICMP6_TIME_EXCEEDED,
		.code6 = ICMP6_TIME_EXCEED_TRANSIT,
	};

	return icmp_build(orig, &e, src, out, cap);
}

void icmp_limit_init(struct icmp_limit *l, uint32_t per_sec, uint32_t burst)
{
	memset(l, 0, sizeof(*l));
	if (!per_sec || !burst) {
		l->off = true;
		return;
	}
	l->interval_ns = 1000000000ull / per_sec;
	l->slack_ns = (uint64_t)(burst - 1) * l->interval_ns;
}

bool icmp_limit_allow(struct icmp_limit *l, uint64_t now_ns)
{
	if (l->off)
		return false;
	/* Less than one token left: the bucket is empty. */
	if (l->full_ns > now_ns && l->full_ns - now_ns > l->slack_ns)
		return false;
	l->full_ns = (l->full_ns > now_ns ? l->full_ns : now_ns) +
		     l->interval_ns;
	return true;
}
