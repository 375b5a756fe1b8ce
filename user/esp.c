// SPDX-License-Identifier: GPL-2.0-only
/*
 * ESP tunnel mode (RFC 4303) with AES-GCM (RFC 4106), on packet buffers.
 *
 * Packet layout, outer header first:
 *
 *   outer IP | SPI | seq_lo | IV (8) | inner packet | padding | pad_len |
 *   next_hdr | ICV (16)
 *
 * Everything from the inner packet to next_hdr is encrypted; the ICV
 * covers that and the AAD (SPI, seq_hi for ESN, seq_lo).  The IV is the
 * 64-bit sequence number, which never repeats under one key, so the GCM
 * nonce (salt || IV) is never reused.
 *
 * Packet bytes may sit at any alignment, so headers are copied into local
 * structures to be read and written rather than accessed in place.
 */
#include <arpa/inet.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <stdbool.h>
#include <string.h>

#include "esp.h"

enum esp_sizes {
	IPV4_HDR_LEN = 20,
	IPV6_HDR_LEN = 40,
	ESP_HDR_LEN = 8,
	ESP_TRAILER_LEN = 2,
	ESP_ALIGN = 4,		/* RFC 4303 2.4: 32-bit alignment */
	ESP_ICV_LEN = 16,	/* the only ICV length of RFC 4106 we use */
	ESP_AAD_MAX = 12,	/* SPI || seq_hi || seq_lo */
	IP_MAX_LEN = 65535,
};

enum {
	OUTER_TTL = 64,
	ECN_MASK = 0x3,
	ECN_NOT_ECT = 0x0,
	ECN_CE = 0x3,
};

/* What framing needs to know of an IP header. */
struct ip_info {
	uint8_t version;	/* 4 or 6 */
	uint8_t tos;		/* IPv4 TOS or IPv6 traffic class */
	bool df;		/* IPv4 "don't fragment" */
	uint32_t hdr_len;	/* fixed header only */
	uint32_t len;		/* whole packet, from its own length field */
};

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static void put_be64(uint8_t *p, uint64_t v)
{
	put_be32(p, v >> 32);
	put_be32(p + 4, (uint32_t)v);
}

/* The Internet checksum of len bytes (RFC 1071), in host order. */
static uint16_t ip_csum(const uint8_t *data, size_t len)
{
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)data[i] << 8 | data[i + 1];
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

static int ipv4_parse(const uint8_t *data, uint32_t avail,
		      struct ip_info *info)
{
	struct iphdr h;
	uint32_t hdr_len;
	uint32_t tot_len;

	if (avail < IPV4_HDR_LEN)
		return -1;
	memcpy(&h, data, sizeof(h));

	hdr_len = h.ihl * 4u;
	tot_len = ntohs(h.tot_len);
	if (hdr_len < IPV4_HDR_LEN || tot_len < hdr_len || tot_len > avail)
		return -1;

	info->version = 4;
	info->tos = h.tos;
	info->df = !!(h.frag_off & htons(IP_DF));
	info->hdr_len = hdr_len;
	info->len = tot_len;
	return 0;
}

/*
 * A payload length of 0 is taken literally (a bare header): jumbograms
 * cannot occur in frames of our size.
 */
static int ipv6_parse(const uint8_t *data, uint32_t avail,
		      struct ip_info *info)
{
	struct ip6_hdr h;
	uint32_t len;

	if (avail < IPV6_HDR_LEN)
		return -1;
	memcpy(&h, data, sizeof(h));

	len = IPV6_HDR_LEN + ntohs(h.ip6_plen);
	if (len > avail)
		return -1;

	info->version = 6;
	info->tos = (ntohl(h.ip6_flow) >> 20) & 0xff;
	info->df = false;
	info->hdr_len = IPV6_HDR_LEN;
	info->len = len;
	return 0;
}

/*
 * Checks that data holds a plausible IP packet of at most avail bytes and
 * describes it.  Bytes after the length its header gives (Ethernet padding
 * of short frames, TFC padding) are not part of it.
 */
static int ip_parse(const uint8_t *data, uint32_t avail,
		    struct ip_info *info)
{
	if (avail < 1)
		return -1;

	switch (data[0] >> 4) {
	case 4:
		return ipv4_parse(data, avail, info);
	case 6:
		return ipv6_parse(data, avail, info);
	default:
		return -1;
	}
}

/*
 * Only AES-GCM with a 16-byte ICV is supported; anything else means the SA
 * was not set up for this code, and its packets are dropped as having no
 * usable SA.
 */
static bool esp_sa_usable(const struct esp_sa *sa)
{
	return sa->aead && sa->icv_len == ESP_ICV_LEN;
}

/* Bytes of padding that align payload and trailer to four bytes. */
static uint32_t esp_pad_len(uint32_t payload_len)
{
	return (ESP_ALIGN - (payload_len + ESP_TRAILER_LEN) % ESP_ALIGN) %
	       ESP_ALIGN;
}

/*
 * Builds the AAD of RFC 4106 section 5 from the ESP header on the wire:
 * SPI || seq_lo, or SPI || seq_hi || seq_lo with extended sequence numbers,
 * whose high half is never transmitted.
 */
static size_t esp_aad(const struct esp_sa *sa, const uint8_t *esph,
		      uint64_t seq, uint8_t *aad)
{
	memcpy(aad, esph, 4);

	if (sa->flags & XDPSEC_SA_F_ESN) {
		put_be32(aad + 4, (uint32_t)(seq >> 32));
		memcpy(aad + 8, esph + 4, 4);
		return 12;
	}

	memcpy(aad + 4, esph + 4, 4);
	return 8;
}

/* The GCM nonce of RFC 4106 section 4: salt from the key, IV from ESP. */
static void esp_nonce(const struct esp_sa *sa, const uint8_t *iv,
		      uint8_t *nonce)
{
	memcpy(nonce, sa->salt, AEAD_SALT_LEN);
	memcpy(nonce + AEAD_SALT_LEN, iv, AEAD_IV_LEN);
}

/* Writes the self-describing padding 1, 2, 3... and the trailer. */
static void esp_write_trailer(uint8_t *pad, uint32_t pad_len,
			      uint8_t next_hdr)
{
	for (uint32_t i = 0; i < pad_len; i++)
		pad[i] = i + 1;

	pad[pad_len] = pad_len;
	pad[pad_len + 1] = next_hdr;
}

static void outer4_write(const struct esp_sa *sa, uint64_t seq,
			 const struct ip_info *inner, uint8_t *out,
			 uint32_t tot_len)
{
	struct iphdr h;

	memset(&h, 0, sizeof(h));
	h.version = 4;
	h.ihl = IPV4_HDR_LEN / 4;

	/*
	 * RFC 6040 normal mode: DSCP and ECN are both copied, so that
	 * congestion marks set on the tunnel can be carried to the inner
	 * packet at the far end.
	 */
	h.tos = inner->tos;
	h.tot_len = htons(tot_len);

	/*
	 * The identification only has to be unique while fragments may be
	 * in flight; the sequence number never repeats within an SA.
	 */
	h.id = htons((uint16_t)seq);
	h.frag_off = inner->df ? htons(IP_DF) : 0;
	h.ttl = OUTER_TTL;
	h.protocol = XDPSEC_IPPROTO_ESP;
	h.saddr = sa->src.v4;
	h.daddr = sa->dst.v4;
	h.check = htons(ip_csum((const uint8_t *)&h, sizeof(h)));

	memcpy(out, &h, sizeof(h));
}

static void outer6_write(const struct esp_sa *sa, const struct ip_info *inner,
			 uint8_t *out, uint32_t tot_len)
{
	struct ip6_hdr h;

	memset(&h, 0, sizeof(h));

	/* Traffic class copied as for IPv4; the flow label is left 0. */
	h.ip6_flow = htonl(6u << 28 | (uint32_t)inner->tos << 20);
	h.ip6_plen = htons(tot_len - IPV6_HDR_LEN);
	h.ip6_nxt = XDPSEC_IPPROTO_ESP;
	h.ip6_hlim = OUTER_TTL;
	memcpy(&h.ip6_src, sa->src.v6, sizeof(h.ip6_src));
	memcpy(&h.ip6_dst, sa->dst.v6, sizeof(h.ip6_dst));

	memcpy(out, &h, sizeof(h));
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

uint32_t esp_encap_len(const struct esp_sa *sa, uint32_t inner_len)
{
	return outer_hdr_len(sa->family) + ESP_HDR_LEN + AEAD_IV_LEN +
	       inner_len + esp_pad_len(inner_len) + ESP_TRAILER_LEN +
	       sa->icv_len;
}

int esp_encap(const struct esp_sa *sa, uint64_t seq, struct pkt *p)
{
	uint8_t aad[ESP_AAD_MAX], nonce[AEAD_NONCE_LEN];
	uint32_t outer_len, head, pad_len, tail, tailroom, tot_len, max_len;
	uint8_t *outer, *esph, *iv, *payload;
	struct ip_info inner;
	uint8_t next_hdr;
	size_t aad_len;

	outer_len = outer_hdr_len(sa->family);
	if (!esp_sa_usable(sa) || !outer_len)
		return XDPSEC_CNT_DROP_NO_SA;

	if (ip_parse(p->data, p->len, &inner))
		return XDPSEC_CNT_DROP_ESP_MALFORMED;
	next_hdr = inner.version == 4 ? XDPSEC_IPPROTO_IPIP :
					XDPSEC_IPPROTO_IPV6;

	/*
	 * Anything after the inner packet's own end is link-layer padding;
	 * it is dropped rather than encrypted and sent.
	 */
	tailroom = p->tailroom + (p->len - inner.len);

	pad_len = esp_pad_len(inner.len);
	head = outer_len + ESP_HDR_LEN + AEAD_IV_LEN;
	tail = pad_len + ESP_TRAILER_LEN + ESP_ICV_LEN;
	tot_len = head + inner.len + tail;

	/*
	 * The IPv4 total length counts the header, the IPv6 payload length
	 * does not.
	 */
	max_len = IP_MAX_LEN + (outer_len == IPV6_HDR_LEN ? outer_len : 0);
	if (p->headroom < head || tailroom < tail || tot_len > max_len)
		return XDPSEC_CNT_DROP_TOO_BIG;

	payload = p->data;
	esph = payload - AEAD_IV_LEN - ESP_HDR_LEN;
	iv = esph + ESP_HDR_LEN;
	outer = esph - outer_len;

	esp_write_trailer(payload + inner.len, pad_len, next_hdr);

	put_be32(esph, sa->spi);
	put_be32(esph + 4, (uint32_t)seq);
	put_be64(iv, seq);

	aad_len = esp_aad(sa, esph, seq, aad);
	esp_nonce(sa, iv, nonce);

	/*
	 * Encryption fails only on an internal library error; there is no
	 * counter for that, so it is counted with the other crypto failures.
	 */
	if (aead_seal(sa->aead, nonce, aad, aad_len, payload,
		      inner.len + pad_len + ESP_TRAILER_LEN,
		      payload + inner.len + pad_len + ESP_TRAILER_LEN))
		return XDPSEC_CNT_DROP_AUTH;

	if (outer_len == IPV4_HDR_LEN)
		outer4_write(sa, seq, &inner, outer, tot_len);
	else
		outer6_write(sa, &inner, outer, tot_len);

	p->data = outer;
	p->len = tot_len;
	p->headroom -= head;
	p->tailroom = tailroom - tail;
	return XDPSEC_CNT_OK;
}

int esp_peek(const struct pkt *p, uint32_t esp_off, uint32_t *spi,
	     uint32_t *seq_lo)
{
	if ((uint64_t)esp_off + ESP_HDR_LEN > p->len)
		return XDPSEC_CNT_DROP_ESP_MALFORMED;

	*spi = get_be32(p->data + esp_off);
	*seq_lo = get_be32(p->data + esp_off + 4);
	return XDPSEC_CNT_OK;
}

/*
 * Checks the padding and trailer at the end of the decrypted data and
 * gives the length of what precedes the padding and the next header.
 */
static int esp_check_trailer(const uint8_t *pt, uint32_t pt_len,
			     uint32_t *payload_len, uint8_t *next_hdr)
{
	uint32_t pad_len = pt[pt_len - 2];
	const uint8_t *pad;

	if (pad_len + ESP_TRAILER_LEN > pt_len)
		return XDPSEC_CNT_DROP_PADDING;

	/*
	 * RFC 4303 2.4: unless the algorithm says otherwise, padding is the
	 * sequence 1, 2, 3...  Checking it rejects packets produced by a
	 * confused or broken peer instead of forwarding their tail bytes.
	 */
	pad = pt + pt_len - ESP_TRAILER_LEN - pad_len;
	for (uint32_t i = 0; i < pad_len; i++) {
		if (pad[i] != i + 1)
			return XDPSEC_CNT_DROP_PADDING;
	}

	*payload_len = pt_len - ESP_TRAILER_LEN - pad_len;
	*next_hdr = pt[pt_len - 1];
	return XDPSEC_CNT_OK;
}

/* Checks that the decrypted payload is the IP packet next_hdr announces. */
static int esp_check_inner(uint8_t next_hdr, const uint8_t *payload,
			   uint32_t payload_len, struct ip_info *inner)
{
	uint8_t version;

	/* RFC 4303 2.6: dummy packets are discarded without further ado. */
	if (next_hdr == XDPSEC_IPPROTO_NONE)
		return XDPSEC_CNT_DROP_DUMMY;

	if (next_hdr == XDPSEC_IPPROTO_IPIP)
		version = 4;
	else if (next_hdr == XDPSEC_IPPROTO_IPV6)
		version = 6;
	else
		return XDPSEC_CNT_DROP_NEXT_HEADER;

	if (payload_len < 1)
		return XDPSEC_CNT_DROP_ESP_MALFORMED;

	if (payload[0] >> 4 != version)
		return XDPSEC_CNT_DROP_NEXT_HEADER;

	/*
	 * The inner length may be shorter than the payload: the sender may
	 * have added traffic flow confidentiality padding (RFC 4303 2.7).
	 */
	if (ip_parse(payload, payload_len, inner))
		return XDPSEC_CNT_DROP_ESP_MALFORMED;

	return XDPSEC_CNT_OK;
}

/*
 * RFC 6040 section 4.2: a CE mark on the outer header is carried to an
 * ECN-capable inner packet.  A Not-ECT inner packet is left as it is, as
 * the IPsec stacks of Linux and the BSDs do, rather than dropped.
 */
static void esp_ecn_decap(uint8_t outer_tos, uint8_t *inner,
			  const struct ip_info *info)
{
	uint8_t ecn = info->tos & ECN_MASK;

	if ((outer_tos & ECN_MASK) != ECN_CE || ecn == ECN_NOT_ECT ||
	    ecn == ECN_CE)
		return;

	if (info->version == 4) {
		struct iphdr h;
		uint16_t old, new;

		memcpy(&h, inner, sizeof(h));

		/* The TOS shares its checksum word with version and IHL. */
		old = (uint16_t)(inner[0] << 8 | h.tos);
		h.tos |= ECN_CE;
		new = (uint16_t)(inner[0] << 8 | h.tos);
		h.check = htons(csum_replace(ntohs(h.check), old, new));

		memcpy(inner, &h, sizeof(h));
	} else {
		/* The ECN bits are bits 5 and 4 of the second byte. */
		inner[1] |= ECN_CE << 4;
	}
}

int esp_decap(const struct esp_sa *sa, uint64_t seq, struct pkt *p,
	      uint32_t esp_off)
{
	uint8_t aad[ESP_AAD_MAX], nonce[AEAD_NONCE_LEN];
	uint8_t *buf_start, *buf_end, *esph, *iv, *ct;
	uint32_t ct_len, payload_len;
	struct ip_info outer, inner;
	uint8_t next_hdr;
	size_t aad_len;
	int ret;

	if (!esp_sa_usable(sa))
		return XDPSEC_CNT_DROP_NO_SA;

	buf_start = p->data - p->headroom;
	buf_end = p->data + p->len + p->tailroom;

	/*
	 * The outer length field is the packet's end: a short frame may
	 * carry Ethernet padding after it, which is not ESP.
	 */
	if (ip_parse(p->data, p->len, &outer))
		return XDPSEC_CNT_DROP_ESP_MALFORMED;

	if (esp_off < outer.hdr_len ||
	    (uint64_t)esp_off + ESP_HDR_LEN + AEAD_IV_LEN + ESP_TRAILER_LEN +
			    ESP_ICV_LEN > outer.len)
		return XDPSEC_CNT_DROP_ESP_MALFORMED;

	esph = p->data + esp_off;
	iv = esph + ESP_HDR_LEN;
	ct = iv + AEAD_IV_LEN;
	ct_len = outer.len - esp_off - ESP_HDR_LEN - AEAD_IV_LEN - ESP_ICV_LEN;

	/* RFC 4303 2.4: payload, padding and trailer end 4-byte aligned. */
	if (ct_len % ESP_ALIGN)
		return XDPSEC_CNT_DROP_ESP_MALFORMED;

	aad_len = esp_aad(sa, esph, seq, aad);
	esp_nonce(sa, iv, nonce);

	if (aead_open(sa->aead, nonce, aad, aad_len, ct, ct_len, ct + ct_len))
		return XDPSEC_CNT_DROP_AUTH;

	ret = esp_check_trailer(ct, ct_len, &payload_len, &next_hdr);
	if (ret)
		return ret;

	ret = esp_check_inner(next_hdr, ct, payload_len, &inner);
	if (ret)
		return ret;

	esp_ecn_decap(outer.tos, ct, &inner);

	p->data = ct;
	p->len = inner.len;
	p->headroom = ct - buf_start;
	p->tailroom = buf_end - (ct + inner.len);
	return XDPSEC_CNT_OK;
}
