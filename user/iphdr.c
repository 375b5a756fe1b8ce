// SPDX-License-Identifier: GPL-2.0-only
/*
 * IPv4 and IPv6 headers for ESP and AH framing: parsing into struct
 * ip_info, the IPv6 extension headers in front of IPsec, outer tunnel
 * headers and the ECN rules of RFC 6040.
 */
#include <string.h>

#include "iphdr.h"

enum {
	IP_MAX_LEN = 65535,
	IP6_EXT_UNIT = 8,
	IP6_FRAG_LEN = 8,
	OUTER_TTL = 64,
	ECN_MASK = 0x3,
	ECN_NOT_ECT = 0x0,
	ECN_CE = 0x3,
	IPV4_DF = 0x4000,
	IPV4_FRAG_MASK = 0x3fff,	/* MF and fragment offset */
	IPV6_FRAG_MASK = 0xfff9,	/* fragment offset and M */
};

/* ---- Checksums ---- */

uint64_t ip_csum_add(uint64_t sum, const uint8_t *data, size_t len)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)data[i] << 8 | data[i + 1];
	if (len & 1)
		sum += (uint32_t)data[len - 1] << 8;
	return sum;
}

uint16_t ip_csum_fold(uint64_t sum)
{
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
	return ip_csum_fold((uint16_t)~check + (uint32_t)(uint16_t)~old + new);
}

/* Recomputes the checksum of the IPv4 header at h, options included. */
static void ipv4_fix_csum(uint8_t *h)
{
	uint32_t hdr_len = (h[0] & 0xf) * 4u;

	put_be16(h + 10, 0);
	put_be16(h + 10, ip_csum_fold(ip_csum_add(0, h, hdr_len)));
}

/* ---- Families ---- */

uint32_t ip_family_hdr_len(uint8_t family)
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

uint8_t ip_family_version(uint8_t family)
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

uint32_t ip_max_len(uint8_t family)
{
	/* The IPv4 total length counts the header, the IPv6 one does not. */
	return IP_MAX_LEN + (family == XDPSEC_AF_INET6 ? IPV6_HDR_LEN : 0);
}

/* ---- Parsing ---- */

static int ipv4_parse(const uint8_t *d, uint32_t avail, struct ip_info *ip)
{
	uint32_t hdr_len, tot_len;
	uint16_t frag;

	if (avail < IPV4_HDR_LEN)
		return XDPSEC_CNT_DROP_ESP_MALFORMED;

	hdr_len = (d[0] & 0xf) * 4u;
	tot_len = get_be16(d + 2);
	if (hdr_len < IPV4_HDR_LEN || tot_len < hdr_len || tot_len > avail)
		return XDPSEC_CNT_DROP_ESP_MALFORMED;

	frag = get_be16(d + 6);
	ip->version = 4;
	ip->tos = d[1];
	ip->df = frag & IPV4_DF;
	ip->frag = frag & IPV4_FRAG_MASK;
	ip->hdr_len = hdr_len;
	ip->len = tot_len;
	return XDPSEC_CNT_OK;
}

/*
 * A payload length of 0 is taken literally (a bare header): jumbograms
 * cannot occur in frames of our size.
 */
static int ipv6_parse(const uint8_t *d, uint32_t avail, struct ip_info *ip)
{
	uint32_t len;

	if (avail < IPV6_HDR_LEN)
		return XDPSEC_CNT_DROP_ESP_MALFORMED;

	len = IPV6_HDR_LEN + get_be16(d + 4);
	if (len > avail)
		return XDPSEC_CNT_DROP_ESP_MALFORMED;

	ip->version = 6;
	ip->tos = (uint8_t)(get_be16(d) >> 4);
	ip->df = false;
	ip->frag = false;
	ip->hdr_len = IPV6_HDR_LEN;
	ip->len = len;
	return XDPSEC_CNT_OK;
}

int ip_info_parse(const uint8_t *d, uint32_t avail, struct ip_info *info)
{
	if (avail < 1)
		return XDPSEC_CNT_DROP_ESP_MALFORMED;

	switch (d[0] >> 4) {
	case 4:
		return ipv4_parse(d, avail, info);
	case 6:
		return ipv6_parse(d, avail, info);
	default:
		return XDPSEC_CNT_DROP_ESP_MALFORMED;
	}
}

/* ---- IPv6 extension headers ---- */

static bool ip6_ext_in_front(uint8_t type)
{
	return type == IP6_EXT_HOP || type == IP6_EXT_ROUTING ||
	       type == IP6_EXT_FRAGMENT || type == IP6_EXT_DSTOPTS;
}

/*
 * The length of the extension header of the given type at off, which must
 * end by end.  Returns 0 if it does not.
 */
static uint32_t ip6_ext_len(const uint8_t *d, uint32_t off, uint32_t end,
			    uint8_t type)
{
	uint32_t len = IP6_FRAG_LEN;

	if (type != IP6_EXT_FRAGMENT) {
		if ((uint64_t)off + 2 > end)
			return 0;
		len = (d[off + 1] + 1u) * IP6_EXT_UNIT;
	}
	return (uint64_t)off + len <= end ? len : 0;
}

/*
 * Only an atomic fragment (offset 0, no M flag, RFC 6946) is a whole
 * packet; ESP and AH are neither applied to nor verified on fragments.
 */
static bool ip6_frag_is_real(const uint8_t *fh)
{
	return get_be16(fh + 2) & IPV6_FRAG_MASK;
}

void ip6_walk_init(struct ip6_walk *w, const uint8_t *d, uint32_t end)
{
	w->d = d;
	w->end = end;
	w->off = IPV6_HDR_LEN;
	w->nh_off = IPV6_NXT_OFF;
	w->type = 0;
	w->frag = false;
}

int ip6_walk_next(struct ip6_walk *w)
{
	uint8_t type = w->d[w->nh_off];
	uint32_t len;

	if (!ip6_ext_in_front(type))
		return 0;

	len = ip6_ext_len(w->d, w->off, w->end, type);
	if (!len)
		return -1;

	if (type == IP6_EXT_FRAGMENT && ip6_frag_is_real(w->d + w->off))
		w->frag = true;
	w->type = type;
	w->nh_off = w->off;
	w->off += len;
	return 1;
}

int ip_ins_point(const uint8_t *d, const struct ip_info *ip, uint32_t max_ext,
		 struct ip_ins *at)
{
	struct ip6_walk w;
	uint32_t n = 0;
	int ret;

	at->off = ip->hdr_len;
	at->frag = ip->frag;
	at->nh_off = ip->version == 4 ? IPV4_PROTO_OFF : IPV6_NXT_OFF;
	if (ip->version == 4)
		return XDPSEC_CNT_OK;

	ip6_walk_init(&w, d, ip->len);
	while ((ret = ip6_walk_next(&w)) > 0) {
		/* One header too many is as malformed as one cut short. */
		if (++n > max_ext)
			break;
		/* Destination options for the final destination go behind. */
		if (w.type != IP6_EXT_DSTOPTS) {
			at->off = w.off;
			at->nh_off = w.nh_off;
		}
	}

	at->frag = w.frag;
	return ret ? XDPSEC_CNT_DROP_ESP_MALFORMED : XDPSEC_CNT_OK;
}

/* ---- Writing ---- */

void ip_set_len(uint8_t *d, uint32_t len)
{
	if (d[0] >> 4 == 4)
		put_be16(d + 2, (uint16_t)len);
	else
		put_be16(d + 4, (uint16_t)(len - IPV6_HDR_LEN));
}

void ip_hdr_update(uint8_t *d, uint32_t nh_off, uint8_t proto,
		   uint32_t tot_len)
{
	d[nh_off] = proto;
	ip_set_len(d, tot_len);
	if (d[0] >> 4 == 4)
		ipv4_fix_csum(d);
}

static void outer4_write(uint8_t *out, const struct ip_outer *o,
			 const struct ip_info *inner)
{
	memset(out, 0, IPV4_HDR_LEN);
	out[0] = 0x45;

	/*
	 * RFC 6040 normal mode: DSCP and ECN are both copied, so that
	 * congestion marks set on the tunnel can be carried to the inner
	 * packet at the far end.
	 */
	out[1] = inner->tos;
	put_be16(out + 2, (uint16_t)o->tot_len);

	/*
	 * The identification only has to be unique while fragments may be
	 * in flight; ESP and AH take the sequence number, which never
	 * repeats within an SA.
	 */
	put_be16(out + 4, o->id);
	put_be16(out + 6, inner->df ? IPV4_DF : 0);
	out[8] = OUTER_TTL;
	out[IPV4_PROTO_OFF] = o->proto;
	memcpy(out + 12, &o->src->v4, 4);
	memcpy(out + 16, &o->dst->v4, 4);
	ipv4_fix_csum(out);
}

static void outer6_write(uint8_t *out, const struct ip_outer *o,
			 const struct ip_info *inner)
{
	/* Traffic class copied as for IPv4; the flow label is left 0. */
	put_be32(out, 6u << 28 | (uint32_t)inner->tos << 20);
	put_be16(out + 4, (uint16_t)(o->tot_len - IPV6_HDR_LEN));
	out[IPV6_NXT_OFF] = o->proto;
	out[7] = OUTER_TTL;
	memcpy(out + 8, o->src->v6, 16);
	memcpy(out + 24, o->dst->v6, 16);
}

void ip_outer_write(uint8_t *out, const struct ip_outer *o,
		    const struct ip_info *inner)
{
	if (o->family == XDPSEC_AF_INET)
		outer4_write(out, o, inner);
	else
		outer6_write(out, o, inner);
}

uint8_t ip_tunnel_proto(const struct ip_info *inner)
{
	return inner->version == 4 ? XDPSEC_IPPROTO_IPIP : XDPSEC_IPPROTO_IPV6;
}

/* ---- Tunnel decapsulation ---- */

/* Checks that the avail bytes at d are the IP packet next_hdr announces. */
static int ip_inner_parse(uint8_t next_hdr, const uint8_t *d, uint32_t avail,
			  struct ip_info *inner)
{
	uint8_t version;

	if (next_hdr == XDPSEC_IPPROTO_IPIP)
		version = 4;
	else if (next_hdr == XDPSEC_IPPROTO_IPV6)
		version = 6;
	else
		return XDPSEC_CNT_DROP_NEXT_HEADER;

	if (avail < 1)
		return XDPSEC_CNT_DROP_ESP_MALFORMED;
	if (d[0] >> 4 != version)
		return XDPSEC_CNT_DROP_NEXT_HEADER;
	return ip_info_parse(d, avail, inner);
}

/*
 * RFC 6040 section 4.2: a CE mark on the outer header is carried to an
 * ECN-capable inner packet.  A Not-ECT inner packet is left as it is, as
 * the IPsec stacks of Linux and the BSDs do, rather than dropped.
 */
static void ip_ecn_decap(uint8_t outer_tos, uint8_t *inner,
			 const struct ip_info *info)
{
	uint8_t ecn = info->tos & ECN_MASK;
	uint16_t old;

	if ((outer_tos & ECN_MASK) != ECN_CE || ecn == ECN_NOT_ECT ||
	    ecn == ECN_CE)
		return;

	if (info->version == 6) {
		/* The ECN bits are bits 5 and 4 of the second byte. */
		inner[1] |= ECN_CE << 4;
		return;
	}

	/*
	 * The TOS shares its checksum word with version and IHL.  The
	 * checksum is updated rather than recomputed, so that a header that
	 * was damaged stays detectably damaged.
	 */
	old = get_be16(inner);
	inner[1] |= ECN_CE;
	put_be16(inner + 10,
		 csum_replace(get_be16(inner + 10), old, get_be16(inner)));
}

int ip_tunnel_decap(struct pkt *p, uint8_t outer_tos, uint8_t next_hdr,
		    uint8_t *inner, uint32_t avail)
{
	struct ip_info info;
	int ret;

	ret = ip_inner_parse(next_hdr, inner, avail, &info);
	if (ret)
		return ret;

	ip_ecn_decap(outer_tos, inner, &info);
	pkt_set(p, inner, info.len);
	return XDPSEC_CNT_OK;
}

/* ---- Packet buffers ---- */

void pkt_set(struct pkt *p, uint8_t *data, uint32_t len)
{
	uint8_t *buf_start = p->data - p->headroom;
	uint8_t *buf_end = p->data + p->len + p->tailroom;

	p->data = data;
	p->len = len;
	p->headroom = data - buf_start;
	p->tailroom = buf_end - (data + len);
}
