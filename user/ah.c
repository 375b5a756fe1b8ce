// SPDX-License-Identifier: GPL-2.0-only
/*
 * AH (RFC 4302) in tunnel and transport mode, on packet buffers.
 *
 * Packet layouts, IP header first:
 *
 *   tunnel:     outer IP | AH | inner packet
 *   transport:  IP header [+ IPv6 extension headers] | AH | upper layer
 *
 *   AH: next header | payload len | reserved | SPI | seq_lo | ICV | padding
 *
 * The ICV covers the whole IP packet with the fields that may change in
 * transit zeroed (section 3.3.3.1), the ICV field zeroed, and, with ESN,
 * the high half of the sequence number after the packet (3.3.3.2.2).
 * Rather than zeroing fields in the packet and putting them back, the
 * headers in front of AH are copied into a scratch buffer and zeroed
 * there, so a packet that fails verification is never touched.
 *
 * Simplifications, which the peer must share for such packets to verify:
 * - every IPv4 option is treated as mutable and zeroed, type and length
 *   included, rather than classified as appendix A.1 does;
 * - IPv6 routing headers enter the ICV as they are: type 0 (deprecated)
 *   and type 2 (Mobile IPv6), whose addresses are rearranged in transit,
 *   are not predicted;
 * - an atomic IPv6 fragment header (offset 0, M clear) in front of AH
 *   enters the ICV as it is; real fragments are refused (3.4.1).
 *
 * Packet bytes may sit at any alignment, so fields are read and written
 * byte by byte.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "ah.h"

enum {
	IPV4_HDR_LEN = 20,
	IPV6_HDR_LEN = 40,
	IPV6_EXT_UNIT = 8,
	IPV6_FRAG_LEN = 8,
	IP_MAX_LEN = 65535,
	AH_SEQ_HI_LEN = 4,
	AH_SEGS = 6,	/* headers, AH, ICV, padding, payload, seq_hi */
};

/* IPv6 extension headers (RFC 8200 section 4). */
enum {
	EXT_HOP = 0,
	EXT_ROUTING = 43,
	EXT_FRAGMENT = 44,
	EXT_DSTOPTS = 60,
};

enum {
	OUTER_TTL = 64,
	ECN_MASK = 0x3,
	ECN_NOT_ECT = 0x0,
	ECN_CE = 0x3,
	IPV4_DF = 0x4000,
	IPV4_MF_OFFSET = 0x3fff,	/* MF and the fragment offset */
	IPV6_FRAG_OFF_M = 0xfff9,	/* fragment offset and M */
	OPT_PAD1 = 0,
	OPT_MUTABLE = 0x20,	/* RFC 8200 4.2: data may change en route */
};

/* The ICV field is zero while the ICV is computed; never written. */
static const uint8_t ah_zeros[MAC_ICV_MAX];

/* What framing needs to know of an IP header. */
struct ip_info {
	uint8_t version;	/* 4 or 6 */
	uint8_t tos;		/* IPv4 TOS or IPv6 traffic class */
	bool df;		/* IPv4 "don't fragment" */
	bool frag;		/* IPv4 fragment: MF or an offset */
	uint32_t hdr_len;	/* IPv4 with options; IPv6 fixed header */
	uint32_t len;		/* whole packet, by its own length field */
};

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = (uint8_t)v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	put_be16(p, v >> 16);
	put_be16(p + 2, (uint16_t)v);
}

static uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)get_be16(p) << 16 | get_be16(p + 2);
}

/* The Internet checksum of len bytes (RFC 1071), in host order. */
static uint16_t ip_csum(const uint8_t *data, size_t len)
{
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += get_be16(data + i);
	if (len & 1)
		sum += (uint32_t)data[len - 1] << 8;

	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/*
 * Updates a checksum (host order) for one 16-bit word changing from old to
 * new, as in equation 3 of RFC 1624.
 */
static uint16_t csum_replace(uint16_t check, uint16_t old, uint16_t new)
{
	uint32_t sum = (uint16_t)~check + (uint32_t)(uint16_t)~old + new;

	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void ipv4_set_csum(uint8_t *h, uint32_t hdr_len)
{
	put_be16(h + 10, 0);
	put_be16(h + 10, ip_csum(h, hdr_len));
}

static int ipv4_parse(const uint8_t *d, uint32_t avail, struct ip_info *ip)
{
	uint32_t hdr_len, tot_len;
	uint16_t frag;

	if (avail < IPV4_HDR_LEN)
		return -1;

	hdr_len = (d[0] & 0xf) * 4u;
	tot_len = get_be16(d + 2);
	if (hdr_len < IPV4_HDR_LEN || tot_len < hdr_len || tot_len > avail)
		return -1;

	frag = get_be16(d + 6);
	ip->version = 4;
	ip->tos = d[1];
	ip->df = frag & IPV4_DF;
	ip->frag = frag & IPV4_MF_OFFSET;
	ip->hdr_len = hdr_len;
	ip->len = tot_len;
	return 0;
}

/*
 * A payload length of 0 is taken literally (a bare header): jumbograms
 * cannot occur in frames of our size.
 */
static int ipv6_parse(const uint8_t *d, uint32_t avail, struct ip_info *ip)
{
	uint32_t len;

	if (avail < IPV6_HDR_LEN)
		return -1;

	len = IPV6_HDR_LEN + get_be16(d + 4);
	if (len > avail)
		return -1;

	ip->version = 6;
	ip->tos = (uint8_t)(get_be16(d) >> 4);
	ip->df = false;
	ip->frag = false;
	ip->hdr_len = IPV6_HDR_LEN;
	ip->len = len;
	return 0;
}

/*
 * Checks that d holds a plausible IP packet of at most avail bytes and
 * describes it.  Bytes after the length its header gives (Ethernet padding
 * of short frames) are not part of it.
 */
static int ip_parse(const uint8_t *d, uint32_t avail, struct ip_info *ip)
{
	if (avail < 1)
		return -1;

	switch (d[0] >> 4) {
	case 4:
		return ipv4_parse(d, avail, ip);
	case 6:
		return ipv6_parse(d, avail, ip);
	default:
		return -1;
	}
}

static uint8_t family_version(uint8_t family)
{
	switch (family) {
	case XDPSEC_AF_INET:
		return 4;
	case XDPSEC_AF_INET6:
		return 6;
	default:
		return 0;
	}
}

static uint32_t outer_hdr_len(uint8_t family)
{
	switch (family) {
	case XDPSEC_AF_INET:
		return IPV4_HDR_LEN;
	case XDPSEC_AF_INET6:
		return IPV6_HDR_LEN;
	default:
		return 0;
	}
}

static uint32_t align_up(uint32_t v, uint32_t to)
{
	return (v + to - 1) / to * to;
}

/*
 * RFC 4302 2.6 and 3.3.3.2.1: AH, ICV included, is padded to 32 bits over
 * IPv4 and to 64 bits over IPv6, and only as far as that.
 */
static uint32_t ah_len_for(const struct ah_sa *a, uint8_t version)
{
	return align_up(AH_FIXED_LEN + a->icv_len, version == 4 ? 4 : 8);
}

/*
 * On receipt, IPv4 AH may also be padded to 64 bits, which Linux sends
 * unless told otherwise; the padding is covered by the ICV either way.
 */
static bool ah_len_ok(const struct ah_sa *a, uint8_t version,
		      uint32_t ah_len)
{
	if (ah_len == ah_len_for(a, 6))
		return true;
	return version == 4 && ah_len == ah_len_for(a, 4);
}

static bool ah_sa_usable(const struct ah_sa *a)
{
	return a->mac && a->icv_len && a->icv_len <= MAC_ICV_MAX &&
	       outer_hdr_len(a->family) &&
	       (a->mode == XDPSEC_MODE_TUNNEL ||
		a->mode == XDPSEC_MODE_TRANSPORT);
}

static bool ipv6_is_ext(uint8_t type)
{
	return type == EXT_HOP || type == EXT_ROUTING ||
	       type == EXT_FRAGMENT || type == EXT_DSTOPTS;
}

/*
 * The length of the extension header of the given type at off, which must
 * end by end.  Returns 0 if it does not.
 */
static uint32_t ipv6_ext_len(const uint8_t *d, uint32_t off, uint32_t end,
			     uint8_t type)
{
	uint32_t len;

	if (type == EXT_FRAGMENT) {
		len = IPV6_FRAG_LEN;
	} else {
		if ((uint64_t)off + 2 > end)
			return 0;
		len = (d[off + 1] + 1u) * IPV6_EXT_UNIT;
	}
	return (uint64_t)off + len <= end ? len : 0;
}

/*
 * Only an atomic fragment (RFC 6946) is a whole packet; AH is neither
 * applied to nor verified on fragments (RFC 4302 3.1.1 and 3.4.1).
 */
static bool ipv6_frag_is_real(const uint8_t *fh)
{
	return get_be16(fh + 2) & IPV6_FRAG_OFF_M;
}

/*
 * Zeroes, in the copy c of an options header of len bytes at off, the data
 * of each option whose type says it may change en route (RFC 4302 A.2).
 */
static int ipv6_zero_mutable_opts(uint8_t *c, uint32_t off, uint32_t len)
{
	uint32_t i = off + 2, end = off + len;

	while (i < end) {
		uint32_t opt_len;

		if (c[i] == OPT_PAD1) {
			i++;
			continue;
		}
		if (i + 2 > end)
			return -1;
		opt_len = c[i + 1];
		if (i + 2 + opt_len > end)
			return -1;
		if (c[i] & OPT_MUTABLE)
			memset(c + i + 2, 0, opt_len);
		i += 2 + opt_len;
	}
	return 0;
}

/*
 * The ICV form of the IPv4 header, options included (all taken as
 * mutable, see above).  The protocol and total length are those of the
 * packet with AH, as sent.
 */
static int ah_canon_ipv4(const uint8_t *d, const struct ip_info *ip,
			 uint32_t ah_off, uint8_t *c, uint32_t *nh_off)
{
	if (ah_off != ip->hdr_len)
		return XDPSEC_CNT_DROP_ESP_MALFORMED;

	memcpy(c, d, IPV4_HDR_LEN);
	c[1] = 0;			/* DSCP and ECN */
	put_be16(c + 6, 0);		/* flags and fragment offset */
	c[8] = 0;			/* TTL */
	put_be16(c + 10, 0);		/* checksum */
	memset(c + IPV4_HDR_LEN, 0, ah_off - IPV4_HDR_LEN);

	*nh_off = 9;
	return XDPSEC_CNT_OK;
}

/*
 * The ICV form of the IPv6 header and the extension headers up to AH at
 * ah_off, and where the next header field pointing to AH is.
 */
static int ah_canon_ipv6(const uint8_t *d, uint32_t ah_off, uint8_t *c,
			 uint32_t *nh_off)
{
	uint32_t off = IPV6_HDR_LEN, nh_at = 6;

	if (ah_off < IPV6_HDR_LEN)
		return XDPSEC_CNT_DROP_ESP_MALFORMED;

	memcpy(c, d, ah_off);
	c[0] &= 0xf0;			/* traffic class, flow label */
	c[1] = 0;
	put_be16(c + 2, 0);
	c[7] = 0;			/* hop limit */

	while (off < ah_off) {
		uint8_t type = d[nh_at];
		uint32_t len;

		len = ipv6_is_ext(type) ? ipv6_ext_len(d, off, ah_off, type) :
					  0;
		if (!len)
			return XDPSEC_CNT_DROP_ESP_MALFORMED;
		if (type == EXT_FRAGMENT && ipv6_frag_is_real(d + off))
			return XDPSEC_CNT_DROP_FRAGMENT;
		if ((type == EXT_HOP || type == EXT_DSTOPTS) &&
		    ipv6_zero_mutable_opts(c, off, len))
			return XDPSEC_CNT_DROP_ESP_MALFORMED;
		nh_at = off;
		off += len;
	}

	*nh_off = nh_at;
	return XDPSEC_CNT_OK;
}

/*
 * Writes into c what the ICV covers of the headers in front of AH at
 * ah_off and finds the next header field that names AH.  ip describes d,
 * and ah_off lies inside it.
 */
static int ah_canon(const uint8_t *d, const struct ip_info *ip,
		    uint32_t ah_off, uint8_t *c, uint32_t *nh_off)
{
	if (ah_off > AH_HDRS_MAX)
		return XDPSEC_CNT_DROP_ESP_MALFORMED;
	if (ip->version == 4)
		return ah_canon_ipv4(d, ip, ah_off, c, nh_off);
	return ah_canon_ipv6(d, ah_off, c, nh_off);
}

/* The pieces the ICV covers, in order, pointing into the packet d. */
static unsigned int ah_icv_segs(const struct ah_sa *a, uint64_t seq,
				const uint8_t *d, const uint8_t *canon,
				uint32_t ah_off, uint32_t ah_len,
				uint32_t ip_len, uint8_t *seq_hi,
				struct mac_seg *segs)
{
	uint32_t icv_end = ah_off + AH_FIXED_LEN + a->icv_len;
	unsigned int n = 0;

	segs[n++] = (struct mac_seg){ canon, ah_off };
	segs[n++] = (struct mac_seg){ d + ah_off, AH_FIXED_LEN };
	segs[n++] = (struct mac_seg){ ah_zeros, a->icv_len };
	/* 3.3.3.2.1: the padding counts with whatever value it was sent. */
	segs[n++] = (struct mac_seg){ d + icv_end, ah_off + ah_len - icv_end };
	segs[n++] = (struct mac_seg){ d + ah_off + ah_len,
				      ip_len - ah_off - ah_len };

	if (a->flags & XDPSEC_SA_F_ESN) {
		put_be32(seq_hi, (uint32_t)(seq >> 32));
		segs[n++] = (struct mac_seg){ seq_hi, AH_SEQ_HI_LEN };
	}
	return n;
}

/* Writes AH with a zero ICV and zero padding. */
static void ah_write_hdr(const struct ah_sa *a, uint64_t seq, uint8_t *ah,
			 uint32_t ah_len, uint8_t next_hdr)
{
	ah[0] = next_hdr;
	ah[1] = (uint8_t)(ah_len / 4 - 2);
	put_be16(ah + 2, 0);
	put_be32(ah + 4, a->spi);
	put_be32(ah + 8, (uint32_t)seq);
	memset(ah + AH_FIXED_LEN, 0, ah_len - AH_FIXED_LEN);
}

/*
 * Computes the ICV of the finished packet d of ip_len bytes into its AH
 * header; canon holds the headers in front of AH in their ICV form.
 */
static int ah_sign(const struct ah_sa *a, uint64_t seq, uint8_t *d,
		   const uint8_t *canon, uint32_t ah_off, uint32_t ah_len,
		   uint32_t ip_len)
{
	uint8_t seq_hi[AH_SEQ_HI_LEN];
	struct mac_seg segs[AH_SEGS];
	unsigned int n;

	n = ah_icv_segs(a, seq, d, canon, ah_off, ah_len, ip_len, seq_hi,
			segs);

	/*
	 * The MAC fails only on an internal library error; there is no
	 * counter for that, so it is counted with the other ICV failures.
	 */
	if (mac_compute(a->mac, segs, n, d + ah_off + AH_FIXED_LEN))
		return XDPSEC_CNT_DROP_AUTH;
	return XDPSEC_CNT_OK;
}

static void outer4_write(const struct ah_sa *a, uint64_t seq,
			 const struct ip_info *inner, uint8_t *out,
			 uint32_t tot_len)
{
	memset(out, 0, IPV4_HDR_LEN);
	out[0] = 0x45;

	/*
	 * RFC 6040 normal mode: DSCP and ECN are both copied, so that
	 * congestion marks set on the tunnel can be carried to the inner
	 * packet at the far end.  Neither is covered by the ICV.
	 */
	out[1] = inner->tos;
	put_be16(out + 2, (uint16_t)tot_len);

	/*
	 * The identification only has to be unique while fragments may be
	 * in flight; the sequence number never repeats within an SA.
	 */
	put_be16(out + 4, (uint16_t)seq);
	put_be16(out + 6, inner->df ? IPV4_DF : 0);
	out[8] = OUTER_TTL;
	out[9] = XDPSEC_IPPROTO_AH;
	memcpy(out + 12, &a->src.v4, 4);
	memcpy(out + 16, &a->dst.v4, 4);
	ipv4_set_csum(out, IPV4_HDR_LEN);
}

static void outer6_write(const struct ah_sa *a, const struct ip_info *inner,
			 uint8_t *out, uint32_t tot_len)
{
	/* Traffic class copied as for IPv4; the flow label is left 0. */
	put_be32(out, 6u << 28 | (uint32_t)inner->tos << 20);
	put_be16(out + 4, (uint16_t)(tot_len - IPV6_HDR_LEN));
	out[6] = XDPSEC_IPPROTO_AH;
	out[7] = OUTER_TTL;
	memcpy(out + 8, a->src.v6, 16);
	memcpy(out + 24, a->dst.v6, 16);
}

/* The ICV form of an outer header without options or extension headers. */
static void outer_canon(const uint8_t *outer, uint32_t outer_len,
			uint8_t *c)
{
	uint32_t nh_off;
	struct ip_info ip = {
		.version = outer_len == IPV4_HDR_LEN ? 4 : 6,
		.hdr_len = outer_len,
	};

	/* Cannot fail: the header has just been written, with AH after it. */
	ah_canon(outer, &ip, outer_len, c, &nh_off);
}

/*
 * The largest packet an IP header of this version can describe: the IPv4
 * total length counts the header, the IPv6 payload length does not.
 */
static uint32_t ip_max_len(uint8_t version)
{
	return IP_MAX_LEN + (version == 6 ? IPV6_HDR_LEN : 0);
}

static int ah_encap_tunnel(const struct ah_sa *a, uint64_t seq,
			   struct pkt *p, const struct ip_info *inner)
{
	uint8_t version = family_version(a->family);
	uint32_t outer_len = outer_hdr_len(a->family);
	uint32_t ah_len = ah_len_for(a, version);
	uint32_t head = outer_len + ah_len;
	uint32_t tot_len = head + inner->len;
	uint8_t canon[IPV6_HDR_LEN];
	uint8_t *outer;

	if (p->headroom < head || tot_len > ip_max_len(version))
		return XDPSEC_CNT_DROP_TOO_BIG;

	outer = p->data - head;
	if (version == 4)
		outer4_write(a, seq, inner, outer, tot_len);
	else
		outer6_write(a, inner, outer, tot_len);
	ah_write_hdr(a, seq, outer + outer_len, ah_len,
		     inner->version == 4 ? XDPSEC_IPPROTO_IPIP :
					   XDPSEC_IPPROTO_IPV6);
	outer_canon(outer, outer_len, canon);

	/* Anything after the inner packet's own end is link-layer padding. */
	p->tailroom += p->len - inner->len;
	p->data = outer;
	p->len = tot_len;
	p->headroom -= head;
	return ah_sign(a, seq, outer, canon, outer_len, ah_len, tot_len);
}

/*
 * Where transport mode puts AH in an IPv6 packet (RFC 4302 3.1.1): after
 * the headers routers look at (hop-by-hop, routing, fragment, and
 * destination options meant for each hop of a routing header), in front
 * of the ones for the final destination.  *nh_off is the next header field
 * that will name AH.
 */
static int ipv6_ah_point(const uint8_t *d, const struct ip_info *ip,
			 uint32_t *ins, uint32_t *nh_off)
{
	uint32_t off = IPV6_HDR_LEN, nh_at = 6;

	*ins = IPV6_HDR_LEN;
	*nh_off = nh_at;

	while (ipv6_is_ext(d[nh_at])) {
		uint8_t type = d[nh_at];
		uint32_t len = ipv6_ext_len(d, off, ip->len, type);

		if (!len)
			return XDPSEC_CNT_DROP_ESP_MALFORMED;
		if (type == EXT_FRAGMENT && ipv6_frag_is_real(d + off))
			return XDPSEC_CNT_DROP_FRAGMENT;
		nh_at = off;
		off += len;
		if (type != EXT_DSTOPTS) {
			*ins = off;
			*nh_off = nh_at;
		}
	}
	return XDPSEC_CNT_OK;
}

static int ah_transport_point(const uint8_t *d, const struct ip_info *ip,
			      uint32_t *ins, uint32_t *nh_off)
{
	if (ip->version == 6)
		return ipv6_ah_point(d, ip, ins, nh_off);

	if (ip->frag)
		return XDPSEC_CNT_DROP_FRAGMENT;
	*ins = ip->hdr_len;
	*nh_off = 9;
	return XDPSEC_CNT_OK;
}

/* Sets the length field of an IP header for a packet of len bytes. */
static void ip_put_len(uint8_t *d, uint8_t version, uint32_t len)
{
	if (version == 4)
		put_be16(d + 2, (uint16_t)len);
	else
		put_be16(d + 4, (uint16_t)(len - IPV6_HDR_LEN));
}

/*
 * The ICV form of the headers that will be in front of AH at ins, made
 * from the packet as it is, so that malformed options are found before
 * the packet is changed.  Only the length and the field naming AH differ.
 */
static int transport_canon(const uint8_t *d, const struct ip_info *ip,
			   uint32_t ins, uint32_t tot_len, uint8_t *canon)
{
	uint32_t nh_off;
	int ret;

	ret = ah_canon(d, ip, ins, canon, &nh_off);
	if (ret)
		return ret;
	canon[nh_off] = XDPSEC_IPPROTO_AH;
	ip_put_len(canon, ip->version, tot_len);
	return XDPSEC_CNT_OK;
}

static int ah_encap_transport(const struct ah_sa *a, uint64_t seq,
			      struct pkt *p, const struct ip_info *ip)
{
	uint32_t ins, nh_off, ah_len, tot_len;
	uint8_t canon[AH_HDRS_MAX];
	uint8_t *d;
	uint8_t proto;
	int ret;

	if (ip->version != family_version(a->family))
		return XDPSEC_CNT_DROP_NO_SA;

	ret = ah_transport_point(p->data, ip, &ins, &nh_off);
	if (ret)
		return ret;

	ah_len = ah_len_for(a, ip->version);
	tot_len = ip->len + ah_len;
	if (p->headroom < ah_len || tot_len > ip_max_len(ip->version))
		return XDPSEC_CNT_DROP_TOO_BIG;

	ret = transport_canon(p->data, ip, ins, tot_len, canon);
	if (ret)
		return ret;

	/* The headers in front of AH move; the rest stays in place. */
	d = p->data - ah_len;
	memmove(d, p->data, ins);
	proto = d[nh_off];
	d[nh_off] = XDPSEC_IPPROTO_AH;
	ah_write_hdr(a, seq, d + ins, ah_len, proto);
	ip_put_len(d, ip->version, tot_len);
	if (ip->version == 4)
		ipv4_set_csum(d, ins);

	p->tailroom += p->len - ip->len;
	p->data = d;
	p->len = tot_len;
	p->headroom -= ah_len;
	return ah_sign(a, seq, d, canon, ins, ah_len, tot_len);
}

uint32_t ah_encap_len(const struct ah_sa *a, uint32_t inner_len)
{
	uint32_t ah_len = ah_len_for(a, family_version(a->family));

	if (a->mode == XDPSEC_MODE_TUNNEL)
		return outer_hdr_len(a->family) + ah_len + inner_len;
	return ah_len + inner_len;
}

int ah_encap(const struct ah_sa *a, uint64_t seq, struct pkt *p)
{
	struct ip_info ip;

	if (!ah_sa_usable(a))
		return XDPSEC_CNT_DROP_NO_SA;
	if (ip_parse(p->data, p->len, &ip))
		return XDPSEC_CNT_DROP_ESP_MALFORMED;

	switch (a->mode) {
	case XDPSEC_MODE_TUNNEL:
		return ah_encap_tunnel(a, seq, p, &ip);
	case XDPSEC_MODE_TRANSPORT:
		return ah_encap_transport(a, seq, p, &ip);
	default:
		return XDPSEC_CNT_DROP_NO_SA;
	}
}

int ah_peek(const struct pkt *p, uint32_t ah_off, uint32_t *spi,
	    uint32_t *seq_lo, uint8_t *next_hdr)
{
	if ((uint64_t)ah_off + AH_FIXED_LEN > p->len)
		return XDPSEC_CNT_DROP_ESP_MALFORMED;

	*next_hdr = p->data[ah_off];
	*spi = get_be32(p->data + ah_off + 4);
	*seq_lo = get_be32(p->data + ah_off + 8);
	return XDPSEC_CNT_OK;
}

/* Checks that a whole AH header of the SA's size sits at ah_off. */
static int ah_check_hdr(const struct ah_sa *a, const uint8_t *d,
			const struct ip_info *ip, uint32_t ah_off,
			uint32_t *ah_len)
{
	if ((uint64_t)ah_off + AH_FIXED_LEN > ip->len)
		return XDPSEC_CNT_DROP_ESP_MALFORMED;

	*ah_len = (d[ah_off + 1] + 2u) * 4;
	if (!ah_len_ok(a, ip->version, *ah_len) ||
	    (uint64_t)ah_off + *ah_len > ip->len)
		return XDPSEC_CNT_DROP_ESP_MALFORMED;
	return XDPSEC_CNT_OK;
}

/* Verifies the ICV of the packet d without changing it. */
static int ah_verify(const struct ah_sa *a, uint64_t seq, const uint8_t *d,
		     const struct ip_info *ip, uint32_t ah_off,
		     uint32_t *ah_len, uint32_t *nh_off)
{
	uint8_t canon[AH_HDRS_MAX], seq_hi[AH_SEQ_HI_LEN];
	struct mac_seg segs[AH_SEGS];
	unsigned int n;
	int ret;

	/* 3.4.1: fragments are reassembled before AH sees them. */
	if (ip->frag)
		return XDPSEC_CNT_DROP_FRAGMENT;

	ret = ah_check_hdr(a, d, ip, ah_off, ah_len);
	if (ret)
		return ret;
	ret = ah_canon(d, ip, ah_off, canon, nh_off);
	if (ret)
		return ret;

	n = ah_icv_segs(a, seq, d, canon, ah_off, *ah_len, ip->len, seq_hi,
			segs);
	if (mac_verify(a->mac, segs, n, d + ah_off + AH_FIXED_LEN))
		return XDPSEC_CNT_DROP_AUTH;
	return XDPSEC_CNT_OK;
}

/*
 * RFC 6040 section 4.2: a CE mark on the outer header is carried to an
 * ECN-capable inner packet.  A Not-ECT inner packet is left as it is, as
 * ESP decapsulation does.
 */
static void ah_ecn_decap(uint8_t outer_tos, uint8_t *inner,
			 const struct ip_info *info)
{
	uint8_t ecn = info->tos & ECN_MASK;

	if ((outer_tos & ECN_MASK) != ECN_CE || ecn == ECN_NOT_ECT ||
	    ecn == ECN_CE)
		return;

	if (info->version == 4) {
		uint16_t old = get_be16(inner);

		/*
		 * Updated rather than recomputed, so that a header that was
		 * damaged stays detectably damaged.
		 */
		inner[1] |= ECN_CE;
		put_be16(inner + 10, csum_replace(get_be16(inner + 10), old,
						  get_be16(inner)));
	} else {
		/* The ECN bits are bits 5 and 4 of the second byte. */
		inner[1] |= ECN_CE << 4;
	}
}

static int ah_decap_tunnel(struct pkt *p, const struct ip_info *outer,
			   uint32_t ah_off, uint32_t ah_len)
{
	uint8_t *buf_end = p->data + p->len + p->tailroom;
	uint32_t inner_off = ah_off + ah_len;
	uint8_t *inner = p->data + inner_off;
	uint8_t next_hdr = p->data[ah_off];
	struct ip_info ip;
	uint8_t version;

	if (next_hdr == XDPSEC_IPPROTO_IPIP)
		version = 4;
	else if (next_hdr == XDPSEC_IPPROTO_IPV6)
		version = 6;
	else
		return XDPSEC_CNT_DROP_NEXT_HEADER;

	if (inner_off >= outer->len)
		return XDPSEC_CNT_DROP_ESP_MALFORMED;
	if (inner[0] >> 4 != version)
		return XDPSEC_CNT_DROP_NEXT_HEADER;
	if (ip_parse(inner, outer->len - inner_off, &ip))
		return XDPSEC_CNT_DROP_ESP_MALFORMED;

	ah_ecn_decap(outer->tos, inner, &ip);

	p->data = inner;
	p->len = ip.len;
	p->headroom += inner_off;
	p->tailroom = buf_end - (inner + ip.len);
	return XDPSEC_CNT_OK;
}

static void ah_decap_transport(struct pkt *p, const struct ip_info *ip,
			       uint32_t ah_off, uint32_t ah_len,
			       uint32_t nh_off)
{
	uint8_t *buf_end = p->data + p->len + p->tailroom;
	uint8_t next_hdr = p->data[ah_off];
	uint8_t *d = p->data + ah_len;

	/* The headers in front of AH move over it; the rest stays. */
	memmove(d, p->data, ah_off);
	d[nh_off] = next_hdr;
	ip_put_len(d, ip->version, ip->len - ah_len);
	if (ip->version == 4)
		ipv4_set_csum(d, ah_off);

	p->data = d;
	p->len = ip->len - ah_len;
	p->headroom += ah_len;
	p->tailroom = buf_end - (d + p->len);
}

int ah_decap(const struct ah_sa *a, uint64_t seq, struct pkt *p,
	     uint32_t ah_off)
{
	uint32_t ah_len, nh_off;
	struct ip_info ip;
	int ret;

	if (!ah_sa_usable(a))
		return XDPSEC_CNT_DROP_NO_SA;

	/*
	 * The IP length field is the packet's end: a short frame may carry
	 * Ethernet padding after it, which the ICV does not cover.
	 */
	if (ip_parse(p->data, p->len, &ip))
		return XDPSEC_CNT_DROP_ESP_MALFORMED;

	ret = ah_verify(a, seq, p->data, &ip, ah_off, &ah_len, &nh_off);
	if (ret)
		return ret;

	switch (a->mode) {
	case XDPSEC_MODE_TUNNEL:
		return ah_decap_tunnel(p, &ip, ah_off, ah_len);
	case XDPSEC_MODE_TRANSPORT:
		ah_decap_transport(p, &ip, ah_off, ah_len, nh_off);
		return XDPSEC_CNT_OK;
	default:
		return XDPSEC_CNT_DROP_NO_SA;
	}
}

int ah_sa_init(struct ah_sa *a, const struct xdpsec_sa *pub,
	       const uint8_t *key, size_t key_len)
{
	const struct mac_info *info = mac_info(pub->integ);

	memset(a, 0, sizeof(*a));
	if (pub->proto != XDPSEC_IPPROTO_AH || !info ||
	    key_len != info->key_len || !family_version(pub->family))
		return -EINVAL;
	if (pub->mode != XDPSEC_MODE_TUNNEL &&
	    pub->mode != XDPSEC_MODE_TRANSPORT)
		return -EINVAL;

	a->mac = mac_new(pub->integ, key);
	if (!a->mac)
		return -ENOMEM;

	a->spi = pub->spi;
	a->mode = pub->mode;
	a->family = pub->family;
	a->flags = pub->flags;
	a->icv_len = (uint8_t)info->icv_len;
	a->src = pub->src;
	a->dst = pub->dst;
	return 0;
}

void ah_sa_fini(struct ah_sa *a)
{
	mac_free(a->mac);
	memset(a, 0, sizeof(*a));
}
