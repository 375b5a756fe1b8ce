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
#include "iphdr.h"

enum {
	AH_SEQ_HI_LEN = 4,
	AH_SEGS = 6,	/* headers, AH, ICV, padding, payload, seq_hi */
	OPT_PAD1 = 0,
	OPT_MUTABLE = 0x20,	/* RFC 8200 4.2: data may change en route */
};

/* The ICV field is zero while the ICV is computed; never written. */
static const uint8_t ah_zeros[MAC_ICV_MAX];

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
	       ip_family_hdr_len(a->family) &&
	       (a->mode == XDPSEC_MODE_TUNNEL ||
		a->mode == XDPSEC_MODE_TRANSPORT);
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

	*nh_off = IPV4_PROTO_OFF;
	return XDPSEC_CNT_OK;
}

/*
 * The ICV form of the IPv6 header and the extension headers up to AH at
 * ah_off, and where the next header field pointing to AH is.
 */
static int ah_canon_ipv6(const uint8_t *d, uint32_t ah_off, uint8_t *c,
			 uint32_t *nh_off)
{
	struct ip6_walk w;

	if (ah_off < IPV6_HDR_LEN)
		return XDPSEC_CNT_DROP_ESP_MALFORMED;

	memcpy(c, d, ah_off);
	c[0] &= 0xf0;			/* traffic class, flow label */
	c[1] = 0;
	put_be16(c + 2, 0);
	c[7] = 0;			/* hop limit */

	ip6_walk_init(&w, d, ah_off);
	while (w.off < ah_off) {
		if (ip6_walk_next(&w) <= 0)
			return XDPSEC_CNT_DROP_ESP_MALFORMED;
		if (w.frag)
			return XDPSEC_CNT_DROP_FRAGMENT;
		if ((w.type == IP6_EXT_HOP || w.type == IP6_EXT_DSTOPTS) &&
		    ipv6_zero_mutable_opts(c, w.nh_off, w.off - w.nh_off))
			return XDPSEC_CNT_DROP_ESP_MALFORMED;
	}

	*nh_off = w.nh_off;
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

static int ah_encap_tunnel(const struct ah_sa *a, uint64_t seq,
			   struct pkt *p, const struct ip_info *inner)
{
	uint32_t outer_len = ip_family_hdr_len(a->family);
	uint32_t ah_len = ah_len_for(a, ip_family_version(a->family));
	uint32_t head = outer_len + ah_len;
	struct ip_outer o = {
		.family = a->family,
		.proto = XDPSEC_IPPROTO_AH,
		.id = (uint16_t)seq,
		.tot_len = head + inner->len,
		.src = &a->src,
		.dst = &a->dst,
	};
	uint8_t canon[IPV6_HDR_LEN];
	uint8_t *outer;

	if (p->headroom < head || o.tot_len > ip_max_len(a->family))
		return XDPSEC_CNT_DROP_TOO_BIG;

	/* The outer DSCP and ECN are mutable: the ICV does not cover them. */
	outer = p->data - head;
	ip_outer_write(outer, &o, inner);
	ah_write_hdr(a, seq, outer + outer_len, ah_len,
		     ip_tunnel_proto(inner));
	outer_canon(outer, outer_len, canon);

	/* Link-layer padding after the inner packet's end becomes tailroom. */
	pkt_set(p, outer, o.tot_len);
	return ah_sign(a, seq, outer, canon, outer_len, ah_len, o.tot_len);
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
	ip_set_len(canon, tot_len);
	return XDPSEC_CNT_OK;
}

static int ah_encap_transport(const struct ah_sa *a, uint64_t seq,
			      struct pkt *p, const struct ip_info *ip)
{
	uint32_t ah_len, tot_len;
	uint8_t canon[AH_HDRS_MAX];
	struct ip_ins at;
	uint8_t *d;
	int ret;

	if (ip->version != ip_family_version(a->family))
		return XDPSEC_CNT_DROP_NO_SA;

	/*
	 * RFC 4302 3.1.1: no AH on fragments, even when what follows the
	 * fragment header is malformed.  The walk takes as many extension
	 * headers as the packet holds; ah_canon() bounds those in front of
	 * AH.
	 */
	ret = ip_ins_point(p->data, ip, IP6_EXT_ANY, &at);
	if (at.frag)
		return XDPSEC_CNT_DROP_FRAGMENT;
	if (ret)
		return ret;

	ah_len = ah_len_for(a, ip->version);
	tot_len = ip->len + ah_len;
	if (p->headroom < ah_len || tot_len > ip_max_len(a->family))
		return XDPSEC_CNT_DROP_TOO_BIG;

	ret = transport_canon(p->data, ip, at.off, tot_len, canon);
	if (ret)
		return ret;

	/* The headers in front of AH move; the rest stays in place. */
	d = p->data - ah_len;
	memmove(d, p->data, at.off);
	ah_write_hdr(a, seq, d + at.off, ah_len, d[at.nh_off]);
	ip_hdr_update(d, at.nh_off, XDPSEC_IPPROTO_AH, tot_len);

	pkt_set(p, d, tot_len);
	return ah_sign(a, seq, d, canon, at.off, ah_len, tot_len);
}

uint32_t ah_encap_len(const struct ah_sa *a, uint32_t inner_len)
{
	uint32_t ah_len = ah_len_for(a, ip_family_version(a->family));

	if (a->mode == XDPSEC_MODE_TUNNEL)
		return ip_family_hdr_len(a->family) + ah_len + inner_len;
	return ah_len + inner_len;
}

/* Checks the SA and describes the IP packet p, before anything else. */
static int ah_begin(const struct ah_sa *a, const struct pkt *p,
		    struct ip_info *ip)
{
	if (!ah_sa_usable(a))
		return XDPSEC_CNT_DROP_NO_SA;

	/*
	 * The IP length field is the packet's end: a short frame may carry
	 * Ethernet padding after it, which AH neither covers nor sends.
	 */
	return ip_info_parse(p->data, p->len, ip);
}

int ah_encap(const struct ah_sa *a, uint64_t seq, struct pkt *p)
{
	struct ip_info ip;
	int ret;

	ret = ah_begin(a, p, &ip);
	if (ret)
		return ret;

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

static int ah_decap_tunnel(struct pkt *p, const struct ip_info *outer,
			   uint32_t ah_off, uint32_t ah_len)
{
	uint32_t inner_off = ah_off + ah_len;

	/* ah_check_hdr() has kept inner_off within the outer packet. */
	return ip_tunnel_decap(p, outer->tos, p->data[ah_off],
			       p->data + inner_off, outer->len - inner_off);
}

static void ah_decap_transport(struct pkt *p, const struct ip_info *ip,
			       uint32_t ah_off, uint32_t ah_len,
			       uint32_t nh_off)
{
	uint8_t next_hdr = p->data[ah_off];
	uint8_t *d = p->data + ah_len;

	/* The headers in front of AH move over it; the rest stays. */
	memmove(d, p->data, ah_off);
	ip_hdr_update(d, nh_off, next_hdr, ip->len - ah_len);
	pkt_set(p, d, ip->len - ah_len);
}

int ah_decap(const struct ah_sa *a, uint64_t seq, struct pkt *p,
	     uint32_t ah_off)
{
	uint32_t ah_len, nh_off;
	struct ip_info ip;
	int ret;

	ret = ah_begin(a, p, &ip);
	if (ret)
		return ret;

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
	    key_len != info->key_len || !ip_family_version(pub->family))
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
