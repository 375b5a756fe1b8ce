// SPDX-License-Identifier: GPL-2.0-only
/*
 * ESP (RFC 4303) on packet buffers, for every transform of enum
 * xdpsec_alg, in tunnel and transport mode, optionally inside UDP
 * (RFC 3948).
 *
 * Tunnel mode, outer header first:
 *
 *   outer IP | [UDP] | SPI | seq_lo | IV | inner packet | [TFC zeros] |
 *   padding | pad_len | next_hdr | ICV
 *
 * Transport mode keeps the packet's own IP header (and the IPv6 extension
 * headers routers look at) in front and protects what follows it:
 *
 *   IP header | [UDP] | SPI | seq_lo | IV | upper layer | padding |
 *   pad_len | next_hdr | ICV
 *
 * What the ICV covers depends on the transform:
 *
 *   AEAD (GCM, ChaCha20-Poly1305; RFC 4106, RFC 7634): the AAD SPI ||
 *   [seq_hi] || seq_lo, and the encrypted data from the payload to
 *   next_hdr.  The IV is the 64-bit sequence number.
 *
 *   GMAC (RFC 4543): nothing is encrypted; everything from the SPI to
 *   next_hdr is AAD, with seq_hi after the SPI for ESN.  IV as above.
 *
 *   CBC and NULL with HMAC (RFC 3602, RFC 2410, RFC 4868): the truncated
 *   HMAC of SPI || seq_lo || IV || ciphertext, followed for ESN by seq_hi,
 *   which is never sent (RFC 4303 2.2.1, 3.3.2.1).  The CBC IV comes from
 *   an unpredictable generator, see aead.c; NULL has no IV.
 *
 * A nonce (salt || IV) never repeats under one key because the sequence
 * number never does.
 *
 * Packet bytes may sit at any alignment, so headers are accessed bytewise
 * rather than through casts.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include <openssl/crypto.h>

#include "esp.h"
#include "iphdr.h"

enum esp_sizes {
	UDP_HDR_LEN = 8,
	ESP_HDR_LEN = 8,
	ESP_SEQ_HI_LEN = 4,
	ESP_TRAILER_LEN = 2,
	ESP_ALIGN = 4,		/* RFC 4303 2.4: 32-bit alignment */
	ESP_AEAD_ICV_LEN = 16,	/* what an SA set up field by field has */
	ESP_AAD_MAX = 12,	/* SPI || seq_hi || seq_lo */
	IPV6_EXT_MAX = 8,	/* extension headers walked in front of ESP */
};

/*
 * The shape of one SA's packets, checked and derived from the SA for
 * every packet: nothing in it is trusted without being consistent.
 */
struct esp_shape {
	enum aead_kind kind;
	uint32_t iv_len;
	uint32_t icv_len;
	uint32_t align;		/* payload..next_hdr is a multiple of this */
	uint32_t udp_len;	/* UDP_HDR_LEN with UDP encapsulation */
	uint32_t outer_len;	/* tunnel: the outer IP header; transport: 0 */
};

/* Sizes of one outgoing packet, computed before anything is written. */
struct esp_plan {
	uint32_t ins;		/* transport: IP header bytes kept in front */
	uint32_t head;		/* bytes added in front */
	uint32_t tfc_len;	/* tunnel: zero bytes after the inner packet */
	uint32_t data_len;	/* protected bytes before the padding */
	uint32_t pad_len;
	uint32_t tail;		/* bytes added after the packet */
	uint32_t tot_len;	/* the resulting IP packet */
	uint32_t nh_off;	/* transport: field naming what follows */
};

/* Where the parts of an ESP packet are. */
struct esp_layout {
	uint8_t *udp;		/* NULL without UDP encapsulation */
	uint8_t *esph;
	uint8_t *iv;
	uint8_t *data;		/* payload, then padding and trailer */
	uint32_t data_len;	/* payload to next_hdr */
	uint8_t *icv;
};

/* ---- The SA ---- */

/*
 * An SA filled in field by field, as before esp_sa_init(): alg 0, an
 * AES-GCM context and its 16-byte ICV.
 */
static bool esp_shape_legacy(const struct esp_sa *sa, struct esp_shape *s)
{
	if (sa->icv_len != ESP_AEAD_ICV_LEN || sa->mac)
		return false;

	s->kind = AEAD_KIND_AEAD;
	s->iv_len = AEAD_IV_LEN;
	s->icv_len = ESP_AEAD_ICV_LEN;
	s->align = ESP_ALIGN;
	return true;
}

/* Checks that the contexts and sizes of the SA belong together. */
static bool esp_shape_alg(const struct esp_sa *sa, struct esp_shape *s)
{
	const struct aead_info *info = aead_info(sa->alg);
	const struct mac_info *mi = mac_info(sa->integ);
	bool integ;

	if (!info || sa->iv_len != info->iv_len || sa->block != info->block)
		return false;

	/* CBC and NULL take their ICV from the integ, the others not. */
	integ = info->kind == AEAD_KIND_CIPHER || info->kind == AEAD_KIND_NULL;
	if (integ ? !mi || !sa->mac || sa->icv_len != mi->icv_len :
		    sa->integ || sa->mac || sa->icv_len != info->icv_len)
		return false;

	if ((info->kind != AEAD_KIND_NULL) != !!sa->aead)
		return false;

	if (info->kind == AEAD_KIND_CIPHER && !sa->ivgen)
		return false;

	s->kind = info->kind;
	s->iv_len = sa->iv_len;
	s->icv_len = sa->icv_len;
	s->align = info->block > ESP_ALIGN ? info->block : ESP_ALIGN;
	return true;
}

/*
 * Describes the SA's packets, or returns false when this code cannot serve
 * it: its packets are then dropped as having no usable SA.
 */
static bool esp_shape_get(const struct esp_sa *sa, struct esp_shape *s)
{
	bool ok;

	if (sa->alg == XDPSEC_ALG_NONE && sa->aead)
		ok = esp_shape_legacy(sa, s);
	else
		ok = esp_shape_alg(sa, s);

	if (!ok || !ip_family_hdr_len(sa->family))
		return false;

	if (sa->mode != XDPSEC_MODE_TUNNEL && sa->mode != XDPSEC_MODE_TRANSPORT)
		return false;

	s->udp_len = sa->flags & XDPSEC_SA_F_UDP_ENCAP ? UDP_HDR_LEN : 0;
	s->outer_len =
		sa->mode == XDPSEC_MODE_TUNNEL ? ip_family_hdr_len(sa->family) : 0;
	return true;
}

size_t esp_key_len(enum xdpsec_alg alg, enum xdpsec_integ integ)
{
	const struct aead_info *info = aead_info(alg);
	const struct mac_info *mi = mac_info(integ);

	if (!info)
		return 0;

	switch (info->kind) {
	case AEAD_KIND_AEAD:
	case AEAD_KIND_AUTH_ONLY:
		/* These authenticate by themselves. */
		if (integ != XDPSEC_INTEG_NONE)
			return 0;
		return info->key_len + info->salt_len;
	case AEAD_KIND_CIPHER:
	case AEAD_KIND_NULL:
		/* RFC 4303 3.2: no confidentiality without integrity. */
		if (!mi)
			return 0;
		return info->key_len + mi->key_len;
	default:
		return 0;
	}
}

static int esp_sa_contexts(struct esp_sa *e, const struct aead_info *info,
			   const uint8_t *key)
{
	if (info->kind != AEAD_KIND_NULL) {
		e->aead = aead_new(e->alg, key);
		if (!e->aead)
			return -ENOMEM;
	}

	if (e->integ) {
		e->mac = mac_new(e->integ,
				 key + info->key_len + info->salt_len);
		if (!e->mac)
			return -ENOMEM;
	}

	if (info->kind == AEAD_KIND_CIPHER) {
		e->ivgen = aead_ivgen_new();
		if (!e->ivgen)
			return -ENOMEM;
	}

	return 0;
}

static bool esp_sa_pub_ok(const struct xdpsec_sa *pub)
{
	if (pub->mode != XDPSEC_MODE_TUNNEL &&
	    pub->mode != XDPSEC_MODE_TRANSPORT)
		return false;

	if (!ip_family_hdr_len(pub->family))
		return false;

	/* Port 0 cannot be sent to, nor is it a valid source port. */
	return !(pub->flags & XDPSEC_SA_F_UDP_ENCAP) ||
	       (pub->encap_sport && pub->encap_dport);
}

int esp_sa_init(struct esp_sa *e, const struct xdpsec_sa *pub,
		const uint8_t *key, size_t key_len)
{
	const struct aead_info *info = aead_info(pub->alg);
	size_t want = esp_key_len(pub->alg, pub->integ);
	int ret;

	memset(e, 0, sizeof(*e));
	if (!want || key_len != want || !key || !esp_sa_pub_ok(pub))
		return -EINVAL;

	e->alg = pub->alg;
	e->integ = pub->integ;
	e->spi = pub->spi;
	e->mode = pub->mode;
	e->family = pub->family;
	e->flags = pub->flags;
	e->encap_sport = pub->encap_sport;
	e->encap_dport = pub->encap_dport;
	e->tfc_pad = pub->tfc_pad;
	e->src = pub->src;
	e->dst = pub->dst;
	e->iv_len = info->iv_len;
	e->block = info->block;
	e->icv_len = e->integ ? mac_info(e->integ)->icv_len : info->icv_len;
	memcpy(e->salt, key + info->key_len, info->salt_len);

	ret = esp_sa_contexts(e, info, key);
	if (ret)
		esp_sa_fini(e);
	return ret;
}

void esp_sa_fini(struct esp_sa *e)
{
	aead_free(e->aead);
	mac_free(e->mac);
	aead_ivgen_free(e->ivgen);
	OPENSSL_cleanse(e, sizeof(*e));
}

/* ---- Sizes ---- */

/* Padding that aligns payload, padding and trailer (RFC 4303 2.4). */
static uint32_t esp_pad_len(const struct esp_shape *s, uint32_t data_len)
{
	return (s->align - (data_len + ESP_TRAILER_LEN) % s->align) %
	       s->align;
}

/*
 * Fills in the sizes of protecting a packet of len bytes whose first ins
 * bytes stay in front (transport) or which goes whole inside (tunnel, ins
 * 0).  TFC padding is added only if room bytes after the packet and the
 * length field can take it; otherwise the packet goes unpadded.
 */
static void esp_plan_sizes(const struct esp_sa *sa, const struct esp_shape *s,
			   uint32_t ins, uint32_t len, uint64_t room,
			   struct esp_plan *pl)
{
	uint32_t tfc = 0;

	pl->ins = ins;
	pl->head = s->outer_len + s->udp_len + ESP_HDR_LEN + s->iv_len;

	if (sa->mode == XDPSEC_MODE_TUNNEL && sa->tfc_pad > len)
		tfc = sa->tfc_pad - len;

	for (;;) {
		pl->tfc_len = tfc;
		pl->data_len = len - ins + tfc;
		pl->pad_len = esp_pad_len(s, pl->data_len);
		pl->tail = tfc + pl->pad_len + ESP_TRAILER_LEN + s->icv_len;
		pl->tot_len = pl->head + len + pl->tail;

		if (!tfc || (pl->tail <= room &&
			     pl->tot_len <= ip_max_len(sa->family)))
			return;
		tfc = 0;
	}
}

/*
 * Plans the protection of the IP packet described by ip.  Transport mode
 * finds where ESP goes, and refuses fragments and the other family.
 */
static int esp_plan(const struct esp_sa *sa, const struct esp_shape *s,
		    const uint8_t *d, const struct ip_info *ip, uint64_t room,
		    struct esp_plan *pl)
{
	struct ip_ins at = { 0 };
	int ret;

	if (sa->mode == XDPSEC_MODE_TRANSPORT) {
		if (ip->version != ip_family_version(sa->family))
			return XDPSEC_CNT_DROP_SELECTOR;

		ret = ip_ins_point(d, ip, IPV6_EXT_MAX, &at);
		if (ret)
			return ret;

		/* RFC 4303 3.1.1: transport mode takes whole datagrams. */
		if (at.frag)
			return XDPSEC_CNT_DROP_FRAGMENT;
	}

	esp_plan_sizes(sa, s, at.off, ip->len, room, pl);
	pl->nh_off = at.nh_off;
	return XDPSEC_CNT_OK;
}

uint32_t esp_encap_len(const struct esp_sa *sa, uint32_t inner_len)
{
	struct esp_shape s;
	struct esp_plan pl;
	uint32_t ins = 0;

	if (!esp_shape_get(sa, &s))
		return 0;

	if (sa->mode == XDPSEC_MODE_TRANSPORT) {
		ins = ip_family_hdr_len(sa->family);
		if (ins > inner_len)
			ins = inner_len;
	}

	esp_plan_sizes(sa, &s, ins, inner_len, UINT64_MAX, &pl);
	return pl.tot_len;
}

uint32_t esp_encap_len_pkt(const struct esp_sa *sa, const struct pkt *p)
{
	struct esp_shape s;
	struct esp_plan pl;
	struct ip_info ip;

	if (!esp_shape_get(sa, &s) || ip_info_parse(p->data, p->len, &ip))
		return 0;

	if (esp_plan(sa, &s, p->data, &ip, UINT64_MAX, &pl))
		return 0;

	return pl.tot_len;
}

/* ---- Protection ---- */

/* Writes the self-describing padding 1, 2, 3... and the trailer. */
static void esp_write_trailer(uint8_t *pad, uint32_t pad_len,
			      uint8_t next_hdr)
{
	for (uint32_t i = 0; i < pad_len; i++)
		pad[i] = i + 1;

	pad[pad_len] = pad_len;
	pad[pad_len + 1] = next_hdr;
}

/*
 * Builds the AAD of RFC 4106 section 5 (also RFC 7634 2.1) from the ESP
 * header on the wire: SPI || seq_lo, or SPI || seq_hi || seq_lo with
 * extended sequence numbers, whose high half is never transmitted.
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

/* The nonce of RFC 4106 section 4, RFC 4543 3.1, RFC 7634 2: salt || IV. */
static void esp_nonce(const struct esp_sa *sa, const uint8_t *iv,
		      uint8_t *nonce)
{
	memcpy(nonce, sa->salt, AEAD_SALT_LEN);
	memcpy(nonce + AEAD_SALT_LEN, iv, AEAD_IV_LEN);
}

/*
 * RFC 4543 section 3.3: GMAC authenticates the whole ESP packet up to
 * next_hdr as AAD, with seq_hi between SPI and seq_lo for ESN.  Returns
 * the number of segments.
 */
static unsigned int esp_gmac_aad(const struct esp_sa *sa,
				 const struct esp_layout *l,
				 const uint8_t *seq_hi, struct aead_seg *segs)
{
	const uint8_t *end = l->data + l->data_len;

	if (!(sa->flags & XDPSEC_SA_F_ESN)) {
		segs[0] = (struct aead_seg){ l->esph, end - l->esph };
		return 1;
	}

	segs[0] = (struct aead_seg){ l->esph, 4 };
	segs[1] = (struct aead_seg){ seq_hi, ESP_SEQ_HI_LEN };
	segs[2] = (struct aead_seg){ l->esph + 4, end - (l->esph + 4) };
	return 3;
}

/*
 * RFC 4303 2.2.1 and 3.3.2.1: the HMAC covers the ESP packet from the SPI
 * to the end of the (encrypted) trailer, and with ESN the high half of the
 * sequence number appended after it.  Returns the number of segments.
 */
static unsigned int esp_hmac_segs(const struct esp_sa *sa,
				  const struct esp_layout *l,
				  const uint8_t *seq_hi, struct mac_seg *segs)
{
	const uint8_t *end = l->data + l->data_len;

	segs[0] = (struct mac_seg){ l->esph, end - l->esph };
	if (!(sa->flags & XDPSEC_SA_F_ESN))
		return 1;

	segs[1] = (struct mac_seg){ seq_hi, ESP_SEQ_HI_LEN };
	return 2;
}

static int esp_seal_aead(const struct esp_sa *sa, uint64_t seq,
			 const struct esp_layout *l)
{
	uint8_t aad[ESP_AAD_MAX], nonce[AEAD_NONCE_LEN];
	size_t aad_len;

	put_be64(l->iv, seq);
	aad_len = esp_aad(sa, l->esph, seq, aad);
	esp_nonce(sa, l->iv, nonce);

	return aead_seal(sa->aead, nonce, aad, aad_len, l->data, l->data_len,
			 l->icv);
}

static int esp_seal_gmac(const struct esp_sa *sa, uint64_t seq,
			 const struct esp_layout *l)
{
	uint8_t nonce[AEAD_NONCE_LEN], seq_hi[ESP_SEQ_HI_LEN];
	struct aead_seg segs[3];
	unsigned int n;

	put_be64(l->iv, seq);
	put_be32(seq_hi, (uint32_t)(seq >> 32));
	esp_nonce(sa, l->iv, nonce);
	n = esp_gmac_aad(sa, l, seq_hi, segs);

	return aead_seal_v(sa->aead, nonce, segs, n, NULL, 0, l->icv);
}

/* Encrypt first, then MAC the ciphertext: the order RFC 4303 3.3.2 sets. */
static int esp_seal_hmac(const struct esp_sa *sa, uint64_t seq,
			 const struct esp_layout *l, bool cbc)
{
	uint8_t seq_hi[ESP_SEQ_HI_LEN];
	struct mac_seg segs[2];
	unsigned int n;

	if (cbc) {
		if (aead_ivgen_next(sa->ivgen, seq, l->iv) ||
		    aead_encrypt(sa->aead, l->iv, l->data, l->data_len))
			return -EIO;
	}

	put_be32(seq_hi, (uint32_t)(seq >> 32));
	n = esp_hmac_segs(sa, l, seq_hi, segs);
	return mac_compute(sa->mac, segs, n, l->icv);
}

/*
 * Writes the ESP header, IV, padding and trailer around the payload at
 * l->data and protects it.  A failure can only come from the crypto
 * library; there is no counter of its own for that, so it is counted with
 * the other crypto failures.
 */
static int esp_protect(const struct esp_sa *sa, const struct esp_shape *s,
		       uint64_t seq, const struct esp_layout *l,
		       uint32_t pad_at, uint32_t pad_len, uint8_t next_hdr)
{
	int ret;

	esp_write_trailer(l->data + pad_at, pad_len, next_hdr);
	put_be32(l->esph, sa->spi);
	put_be32(l->esph + 4, (uint32_t)seq);

	switch (s->kind) {
	case AEAD_KIND_AEAD:
		ret = esp_seal_aead(sa, seq, l);
		break;
	case AEAD_KIND_AUTH_ONLY:
		ret = esp_seal_gmac(sa, seq, l);
		break;
	case AEAD_KIND_CIPHER:
		ret = esp_seal_hmac(sa, seq, l, true);
		break;
	default:
		ret = esp_seal_hmac(sa, seq, l, false);
		break;
	}

	return ret ? XDPSEC_CNT_DROP_AUTH : XDPSEC_CNT_OK;
}

/* Where UDP, ESP and IV go when ESP data starts at data. */
static void esp_layout_out(const struct esp_shape *s, uint8_t *data,
			   const struct esp_plan *pl, struct esp_layout *l)
{
	l->data = data;
	l->data_len = pl->data_len + pl->pad_len + ESP_TRAILER_LEN;
	l->icv = data + l->data_len;
	l->iv = data - s->iv_len;
	l->esph = l->iv - ESP_HDR_LEN;
	l->udp = s->udp_len ? l->esph - UDP_HDR_LEN : NULL;
}

/* ---- Outer headers ---- */

/*
 * RFC 3948 2.1: the UDP header in front of ESP.  Over IPv4 the checksum is
 * 0, which RFC 3948 allows; over IPv6 a zero checksum is only allowed for
 * tunnel protocols under the conditions of RFC 6936, which ESP-in-UDP does
 * not claim, so it is computed over the pseudo-header of RFC 8200 8.1.
 * ip is the IP header, whose addresses and length must be final.
 */
static void udp_write(const struct esp_sa *sa, const uint8_t *ip, int version,
		      uint8_t *udp, uint32_t udp_len)
{
	uint64_t sum;
	uint16_t check;

	put_be16(udp, sa->encap_sport);
	put_be16(udp + 2, sa->encap_dport);
	put_be16(udp + 4, (uint16_t)udp_len);
	put_be16(udp + 6, 0);
	if (version == 4)
		return;

	sum = ip_csum_add(0, ip + 8, 32);
	sum += udp_len + XDPSEC_IPPROTO_UDP;
	sum = ip_csum_add(sum, udp, udp_len);

	/* 0 means "no checksum"; a computed 0 is sent as all ones. */
	check = ip_csum_fold(sum);
	put_be16(udp + 6, check ? check : 0xffff);
}

static uint8_t esp_proto(const struct esp_shape *s)
{
	return s->udp_len ? XDPSEC_IPPROTO_UDP : XDPSEC_IPPROTO_ESP;
}

/* ---- Encapsulation ---- */

static int esp_encap_tunnel(const struct esp_sa *sa,
			    const struct esp_shape *s, uint64_t seq,
			    const struct ip_info *inner,
			    const struct esp_plan *pl, struct pkt *p)
{
	uint8_t *outer = p->data - pl->head;
	struct ip_outer o = {
		.family = sa->family,
		.proto = esp_proto(s),
		.id = (uint16_t)seq,
		.tot_len = pl->tot_len,
		.src = &sa->src,
		.dst = &sa->dst,
	};
	struct esp_layout l;
	int ret;

	esp_layout_out(s, p->data, pl, &l);

	/* RFC 4303 2.7: TFC padding is zeros, after the inner packet. */
	memset(p->data + inner->len, 0, pl->tfc_len);

	ret = esp_protect(sa, s, seq, &l, pl->data_len, pl->pad_len,
			  ip_tunnel_proto(inner));
	if (ret)
		return ret;

	ip_outer_write(outer, &o, inner);

	if (l.udp)
		udp_write(sa, outer, outer[0] >> 4, l.udp,
			  pl->tot_len - (uint32_t)(l.udp - outer));
	return XDPSEC_CNT_OK;
}

static int esp_encap_transport(const struct esp_sa *sa,
			       const struct esp_shape *s, uint64_t seq,
			       const struct esp_plan *pl, struct pkt *p)
{
	uint8_t *start = p->data - pl->head;
	uint8_t next_hdr = p->data[pl->nh_off];
	struct esp_layout l;
	int ret;

	/* The IP header moves up to make room for UDP, ESP and the IV. */
	memmove(start, p->data, pl->ins);
	esp_layout_out(s, p->data + pl->ins, pl, &l);

	ret = esp_protect(sa, s, seq, &l, pl->data_len, pl->pad_len,
			  next_hdr);
	if (ret)
		return ret;

	ip_hdr_update(start, pl->nh_off, esp_proto(s), pl->tot_len);

	if (l.udp)
		udp_write(sa, start, start[0] >> 4, l.udp,
			  pl->tot_len - pl->ins);
	return XDPSEC_CNT_OK;
}

int esp_encap(const struct esp_sa *sa, uint64_t seq, struct pkt *p)
{
	uint32_t tailroom;
	struct esp_shape s;
	struct esp_plan pl;
	struct ip_info ip;
	int ret;

	if (!esp_shape_get(sa, &s))
		return XDPSEC_CNT_DROP_NO_SA;

	ret = ip_info_parse(p->data, p->len, &ip);
	if (ret)
		return ret;

	/*
	 * Anything after the packet's own end is link-layer padding; it is
	 * dropped rather than protected and sent.
	 */
	tailroom = p->tailroom + (p->len - ip.len);

	ret = esp_plan(sa, &s, p->data, &ip, tailroom, &pl);
	if (ret)
		return ret;

	if (p->headroom < pl.head || tailroom < pl.tail ||
	    pl.tot_len > ip_max_len(sa->family))
		return XDPSEC_CNT_DROP_TOO_BIG;

	if (sa->mode == XDPSEC_MODE_TUNNEL)
		ret = esp_encap_tunnel(sa, &s, seq, &ip, &pl, p);
	else
		ret = esp_encap_transport(sa, &s, seq, &pl, p);
	if (ret)
		return ret;

	p->data -= pl.head;
	p->len = pl.tot_len;
	p->headroom -= pl.head;
	p->tailroom = tailroom - pl.tail;
	return XDPSEC_CNT_OK;
}

/* ---- Decapsulation ---- */

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
 * Finds the parts of the received ESP packet at esp_off, which must fit
 * the outer packet with room for the UDP header in front of it, and
 * checks the alignment of the protected data (RFC 4303 2.4) before any
 * crypto is spent on it.
 */
static int esp_layout_in(const struct esp_shape *s, uint8_t *d,
			 const struct ip_info *outer, uint32_t esp_off,
			 struct esp_layout *l)
{
	uint64_t min_len = (uint64_t)esp_off + ESP_HDR_LEN + s->iv_len +
			   ESP_TRAILER_LEN + s->icv_len;
	uint32_t data_len;

	if (esp_off < outer->hdr_len + s->udp_len || min_len > outer->len)
		return XDPSEC_CNT_DROP_ESP_MALFORMED;

	data_len = outer->len - esp_off - ESP_HDR_LEN - s->iv_len -
		   s->icv_len;
	if (data_len % s->align)
		return XDPSEC_CNT_DROP_ESP_MALFORMED;

	l->udp = s->udp_len ? d + esp_off - UDP_HDR_LEN : NULL;
	l->esph = d + esp_off;
	l->iv = l->esph + ESP_HDR_LEN;
	l->data = l->iv + s->iv_len;
	l->data_len = data_len;
	l->icv = l->data + data_len;

	/* The UDP length must end where the IP packet does. */
	if (l->udp && get_be16(l->udp + 4) != d + outer->len - l->udp)
		return XDPSEC_CNT_DROP_ESP_MALFORMED;

	return XDPSEC_CNT_OK;
}

static int esp_open_aead(const struct esp_sa *sa, uint64_t seq,
			 const struct esp_layout *l)
{
	uint8_t aad[ESP_AAD_MAX], nonce[AEAD_NONCE_LEN];
	size_t aad_len;

	aad_len = esp_aad(sa, l->esph, seq, aad);
	esp_nonce(sa, l->iv, nonce);

	return aead_open(sa->aead, nonce, aad, aad_len, l->data, l->data_len,
			 l->icv);
}

static int esp_open_gmac(const struct esp_sa *sa, uint64_t seq,
			 const struct esp_layout *l)
{
	uint8_t nonce[AEAD_NONCE_LEN], seq_hi[ESP_SEQ_HI_LEN];
	struct aead_seg segs[3];
	unsigned int n;

	put_be32(seq_hi, (uint32_t)(seq >> 32));
	esp_nonce(sa, l->iv, nonce);
	n = esp_gmac_aad(sa, l, seq_hi, segs);

	return aead_open_v(sa->aead, nonce, segs, n, NULL, 0, l->icv);
}

/*
 * The ICV is checked, in constant time, before a single byte is
 * decrypted: a forged packet costs one HMAC and reveals nothing through
 * how the decryption or the padding check of its garbage behaves.
 */
static int esp_open_hmac(const struct esp_sa *sa, uint64_t seq,
			 const struct esp_layout *l, bool cbc)
{
	uint8_t seq_hi[ESP_SEQ_HI_LEN];
	struct mac_seg segs[2];
	unsigned int n;
	int ret;

	put_be32(seq_hi, (uint32_t)(seq >> 32));
	n = esp_hmac_segs(sa, l, seq_hi, segs);
	ret = mac_verify(sa->mac, segs, n, l->icv);
	if (ret || !cbc)
		return ret;

	return aead_decrypt(sa->aead, l->iv, l->data, l->data_len);
}

/* Authenticates and decrypts in place.  Any failure counts as DROP_AUTH. */
static int esp_unprotect(const struct esp_sa *sa, const struct esp_shape *s,
			 uint64_t seq, const struct esp_layout *l)
{
	int ret;

	switch (s->kind) {
	case AEAD_KIND_AEAD:
		ret = esp_open_aead(sa, seq, l);
		break;
	case AEAD_KIND_AUTH_ONLY:
		ret = esp_open_gmac(sa, seq, l);
		break;
	case AEAD_KIND_CIPHER:
		ret = esp_open_hmac(sa, seq, l, true);
		break;
	default:
		ret = esp_open_hmac(sa, seq, l, false);
		break;
	}

	return ret ? XDPSEC_CNT_DROP_AUTH : XDPSEC_CNT_OK;
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

static int esp_decap_tunnel(const struct ip_info *outer,
			    const struct esp_layout *l, uint32_t payload_len,
			    uint8_t next_hdr, struct pkt *p)
{
	/* RFC 4303 2.6: dummy packets are discarded without further ado. */
	if (next_hdr == XDPSEC_IPPROTO_NONE)
		return XDPSEC_CNT_DROP_DUMMY;

	/*
	 * The inner length may be shorter than the payload: the sender may
	 * have added traffic flow confidentiality padding (RFC 4303 2.7).
	 */
	return ip_tunnel_decap(p, outer->tos, next_hdr, l->data, payload_len);
}

/*
 * Transport mode, on a received packet: walks the IPv6 extension headers
 * up to end, where UDP or ESP starts, checks that they lead there and sets
 * *nh_off to the byte that names it.
 */
static int ipv6_walk_to(const uint8_t *d, uint32_t end, uint8_t want,
			uint32_t *nh_off, bool *frag)
{
	struct ip6_walk w;

	ip6_walk_init(&w, d, end);
	for (int n = 0; w.off < end; n++) {
		if (n == IPV6_EXT_MAX || ip6_walk_next(&w) <= 0)
			return -1;
	}

	if (w.off != end || d[w.nh_off] != want)
		return -1;

	*nh_off = w.nh_off;
	*frag = w.frag;
	return 0;
}

/*
 * Transport mode: finds the field that names UDP or ESP, hdr_end bytes
 * into the packet, before any crypto is spent.  The protocol checked is
 * the one the SA expects there.
 */
static int esp_transport_hdr(const struct esp_shape *s, const uint8_t *d,
			     const struct ip_info *outer, uint32_t hdr_end,
			     uint32_t *nh_off)
{
	bool frag = outer->frag;

	if (outer->version == 4) {
		if (hdr_end != outer->hdr_len ||
		    d[IPV4_PROTO_OFF] != esp_proto(s))
			return XDPSEC_CNT_DROP_ESP_MALFORMED;
		*nh_off = IPV4_PROTO_OFF;
	} else if (ipv6_walk_to(d, hdr_end, esp_proto(s), nh_off, &frag)) {
		return XDPSEC_CNT_DROP_ESP_MALFORMED;
	}

	/* RFC 4303 3.4.1: ESP is processed on reassembled packets only. */
	return frag ? XDPSEC_CNT_DROP_FRAGMENT : XDPSEC_CNT_OK;
}

/*
 * Puts the IP header back in front of the upper-layer payload, removing
 * UDP, ESP and the IV, and restores what the trailer says came next.
 */
static int esp_decap_transport(const struct esp_layout *l, uint32_t hdr_end,
			       uint32_t nh_off, uint32_t payload_len,
			       uint8_t next_hdr, struct pkt *p)
{
	uint8_t *start = l->data - hdr_end;

	/* RFC 4303 2.6: dummy packets are discarded without further ado. */
	if (next_hdr == XDPSEC_IPPROTO_NONE)
		return XDPSEC_CNT_DROP_DUMMY;

	memmove(start, p->data, hdr_end);
	ip_hdr_update(start, nh_off, next_hdr, hdr_end + payload_len);
	pkt_set(p, start, hdr_end + payload_len);
	return XDPSEC_CNT_OK;
}

int esp_decap(const struct esp_sa *sa, uint64_t seq, struct pkt *p,
	      uint32_t esp_off)
{
	uint32_t payload_len, hdr_end, nh_off = 0;
	struct esp_shape s;
	struct esp_layout l;
	struct ip_info outer;
	uint8_t next_hdr;
	int ret;

	if (!esp_shape_get(sa, &s))
		return XDPSEC_CNT_DROP_NO_SA;

	/*
	 * The outer length field is the packet's end: a short frame may
	 * carry Ethernet padding after it, which is not ESP.
	 */
	ret = ip_info_parse(p->data, p->len, &outer);
	if (ret)
		return ret;

	ret = esp_layout_in(&s, p->data, &outer, esp_off, &l);
	if (ret)
		return ret;

	hdr_end = esp_off - s.udp_len;
	if (sa->mode == XDPSEC_MODE_TRANSPORT) {
		ret = esp_transport_hdr(&s, p->data, &outer, hdr_end, &nh_off);
		if (ret)
			return ret;
	}

	ret = esp_unprotect(sa, &s, seq, &l);
	if (ret)
		return ret;

	ret = esp_check_trailer(l.data, l.data_len, &payload_len, &next_hdr);
	if (ret)
		return ret;

	if (sa->mode == XDPSEC_MODE_TUNNEL)
		return esp_decap_tunnel(&outer, &l, payload_len, next_hdr, p);

	return esp_decap_transport(&l, hdr_end, nh_off, payload_len, next_hdr,
				   p);
}
