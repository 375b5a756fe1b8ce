// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of ESP framing: round trips for every transform (AES-CBC and
 * NULL with each integ), tunnel and transport mode, every family
 * combination, ESN or not, UDP encapsulation or not, over payload sizes
 * that give every padding length; the wire format checked against an
 * independent construction made directly with OpenSSL; tampering,
 * truncation, hand-made packets with bad trailers, transport mode header
 * handling, TFC padding, ECN, link-layer padding and SA setup.  The round
 * trips go through each cipher backend built in that does the transform.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "aead.h"
#include "check.h"
#include "esp.h"
#include "mac.h"

enum {
	BUF_LEN = 2048,
	HEADROOM = 256,
	V4 = 4,
	V6 = 6,
	TUN = XDPSEC_MODE_TUNNEL,
	TRA = XDPSEC_MODE_TRANSPORT,
	SPORT = 4500,
	DPORT = 4501,
	TEST_SPI = 0xc0ffee01,
	IVS_MAX = 128,
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

static void wr64(uint8_t *p, uint64_t v)
{
	wr32(p, v >> 32);
	wr32(p + 4, (uint32_t)v);
}

/* One's complement sum of 16-bit words, not folded. */
static uint32_t sum16(const uint8_t *p, size_t len, uint32_t sum)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += rd16(p + i);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static void ipv4_set_csum(uint8_t *h)
{
	wr16(h + 10, 0);
	wr16(h + 10, (uint16_t)~fold(sum16(h, (h[0] & 0xf) * 4u, 0)));
}

static bool ipv4_csum_ok(const uint8_t *h)
{
	return fold(sum16(h, (h[0] & 0xf) * 4u, 0)) == 0xffff;
}

/* The UDP checksum over IPv6 of a datagram of len bytes at udp. */
static uint16_t udp6_csum(const uint8_t *ip6, const uint8_t *udp, uint32_t len)
{
	uint32_t sum = sum16(ip6 + 8, 32, 0);

	sum += len + 17;
	return (uint16_t)~fold(sum16(udp, len, sum));
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

/* Sets the IP length field to len, fixing the IPv4 checksum. */
static void set_ip_len(uint8_t *d, uint32_t len)
{
	if (d[0] >> 4 == V4) {
		wr16(d + 2, (uint16_t)len);
		ipv4_set_csum(d);
	} else {
		wr16(d + 4, (uint16_t)(len - 40));
	}
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
		d[hl + i] = (uint8_t)(seed + i * 3);
	return hl + payload_len;
}

static uint8_t inner_tos(const uint8_t *d)
{
	if (d[0] >> 4 == V4)
		return d[1];
	return (uint8_t)(rd32(d) >> 20);
}

/* ---- Transforms, as this test knows them ---- */

struct xform {
	enum xdpsec_alg alg;
	enum xdpsec_integ integ;
	const char *cipher;	/* OpenSSL name; NULL for the NULL cipher */
	const char *digest;	/* HMAC digest, for CBC and NULL */
	uint32_t key_len, salt_len, mac_key_len;
	uint32_t iv_len, icv_len, align;
	enum aead_kind kind;
};

#define X_AEAD(a, name, klen, kind)                                        \
	{ a, XDPSEC_INTEG_NONE, name, NULL, klen, 4, 0, 8, 16, 4, kind }
#define X_CBC(a, name, klen, i, dg, mklen, icv)                            \
	{ a, i, name, dg, klen, 0, mklen, 16, icv, 16, AEAD_KIND_CIPHER }
#define X_NULL(i, dg, mklen, icv)                                          \
	{ XDPSEC_ALG_NULL, i, NULL, dg, 0, 0, mklen, 0, icv, 4, AEAD_KIND_NULL }

static const struct xform xforms[] = {
	X_AEAD(XDPSEC_ALG_AES_GCM_128, "AES-128-GCM", 16, AEAD_KIND_AEAD),
	X_AEAD(XDPSEC_ALG_AES_GCM_256, "AES-256-GCM", 32, AEAD_KIND_AEAD),
	X_AEAD(XDPSEC_ALG_CHACHA20_POLY1305, "ChaCha20-Poly1305", 32,
	       AEAD_KIND_AEAD),
	X_AEAD(XDPSEC_ALG_AES_GMAC_128, "AES-128-GCM", 16,
	       AEAD_KIND_AUTH_ONLY),
	X_AEAD(XDPSEC_ALG_AES_GMAC_256, "AES-256-GCM", 32,
	       AEAD_KIND_AUTH_ONLY),
	X_CBC(XDPSEC_ALG_AES_CBC_128, "AES-128-CBC", 16,
	      XDPSEC_INTEG_HMAC_SHA256_128, "SHA256", 32, 16),
	X_CBC(XDPSEC_ALG_AES_CBC_128, "AES-128-CBC", 16,
	      XDPSEC_INTEG_HMAC_SHA384_192, "SHA384", 48, 24),
	X_CBC(XDPSEC_ALG_AES_CBC_128, "AES-128-CBC", 16,
	      XDPSEC_INTEG_HMAC_SHA512_256, "SHA512", 64, 32),
	X_CBC(XDPSEC_ALG_AES_CBC_256, "AES-256-CBC", 32,
	      XDPSEC_INTEG_HMAC_SHA256_128, "SHA256", 32, 16),
	X_CBC(XDPSEC_ALG_AES_CBC_256, "AES-256-CBC", 32,
	      XDPSEC_INTEG_HMAC_SHA384_192, "SHA384", 48, 24),
	X_CBC(XDPSEC_ALG_AES_CBC_256, "AES-256-CBC", 32,
	      XDPSEC_INTEG_HMAC_SHA512_256, "SHA512", 64, 32),
	X_NULL(XDPSEC_INTEG_HMAC_SHA256_128, "SHA256", 32, 16),
	X_NULL(XDPSEC_INTEG_HMAC_SHA384_192, "SHA384", 48, 24),
	X_NULL(XDPSEC_INTEG_HMAC_SHA512_256, "SHA512", 64, 32),
};

#define N_XFORMS (sizeof(xforms) / sizeof(xforms[0]))

static const char *kind_str(enum aead_kind kind)
{
	switch (kind) {
	case AEAD_KIND_AEAD:
		return "aead";
	case AEAD_KIND_AUTH_ONLY:
		return "gmac";
	case AEAD_KIND_CIPHER:
		return "cbc";
	default:
		return "null";
	}
}

/* ---- Combinations and SAs ---- */

struct combo {
	const struct xform *x;
	int mode;
	bool esn;
	bool udp;
	int outer;
	int inner;		/* transport: the same as outer */
};

static const char *combo_str(const struct combo *c)
{
	static char s[96];

	snprintf(s, sizeof(s), "%s alg %d integ %d %s esn %d udp %d v%d/v%d",
		 kind_str(c->x->kind), c->x->alg, c->x->integ,
		 c->mode == TUN ? "tunnel" : "transport", c->esn, c->udp,
		 c->outer, c->inner);
	return s;
}

struct tsa {
	struct esp_sa sa;
	struct xdpsec_sa pub;
	uint8_t key[ESP_KEY_MAX];
	size_t key_len;
	uint8_t ivs[IVS_MAX][16];	/* CBC IVs seen, and their seq */
	uint64_t iv_seqs[IVS_MAX];
	unsigned int n_ivs;
};

static void pub_for(const struct combo *c, struct xdpsec_sa *pub)
{
	memset(pub, 0, sizeof(*pub));
	pub->spi = TEST_SPI;
	pub->dir = XDPSEC_DIR_OUT;
	pub->mode = (uint8_t)c->mode;
	pub->proto = XDPSEC_IPPROTO_ESP;
	pub->alg = c->x->alg;
	pub->integ = c->x->integ;
	pub->family = family_of(c->outer);
	pub->flags = (c->esn ? XDPSEC_SA_F_ESN : 0) |
		     (c->udp ? XDPSEC_SA_F_UDP_ENCAP : 0);
	pub->encap_sport = SPORT;
	pub->encap_dport = DPORT;

	if (c->outer == V4) {
		pub->src.v4 = htonl(0xc0000201);
		pub->dst.v4 = htonl(0xc6336402);
	} else {
		pub->src.v6[0] = 0x20;
		pub->src.v6[1] = 0x01;
		pub->src.v6[15] = 0x11;
		pub->dst.v6[0] = 0x20;
		pub->dst.v6[1] = 0x01;
		pub->dst.v6[15] = 0x22;
	}
}

/* Key material laid out as esp_sa_init() wants: key || salt || integ key. */
static size_t key_for(const struct xform *x, uint8_t *key)
{
	size_t len = x->key_len + x->salt_len + x->mac_key_len;

	for (size_t i = 0; i < len; i++)
		key[i] = (uint8_t)(x->alg * 50 + x->integ * 7 + i);
	return len;
}

static bool tsa_init(struct tsa *t, const struct combo *c)
{
	int ret;

	memset(t, 0, sizeof(*t));
	pub_for(c, &t->pub);
	t->key_len = key_for(c->x, t->key);
	ret = esp_sa_init(&t->sa, &t->pub, t->key, t->key_len);
	CHECK(ret == 0, "%s: esp_sa_init %d", combo_str(c), ret);
	return ret == 0;
}

/* ---- An independent construction of the wire format ---- */

/* GCM, ChaCha20-Poly1305 or GMAC in one call; false if the tag fails. */
static bool ref_aead(const char *name, const uint8_t *key,
		     const uint8_t *nonce, const uint8_t *aad, size_t aad_len,
		     uint8_t *buf, size_t len, uint8_t *tag, int enc)
{
	const EVP_CIPHER *cipher = EVP_get_cipherbyname(name);
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	uint8_t fin[32];
	int outl, ok;

	ok = cipher && ctx &&
	     EVP_CipherInit_ex(ctx, cipher, NULL, key, nonce, enc) == 1;
	if (ok && !enc)
		ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, 16, tag);
	if (ok && aad_len)
		ok = EVP_CipherUpdate(ctx, NULL, &outl, aad, (int)aad_len);
	if (ok && len)
		ok = EVP_CipherUpdate(ctx, buf, &outl, buf, (int)len);
	if (ok)
		ok = EVP_CipherFinal_ex(ctx, fin, &outl) == 1;
	if (ok && enc)
		ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, tag);

	EVP_CIPHER_CTX_free(ctx);
	return ok;
}

static bool ref_cbc(const char *name, const uint8_t *key, const uint8_t *iv,
		    uint8_t *buf, size_t len, int enc)
{
	const EVP_CIPHER *cipher = EVP_get_cipherbyname(name);
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	uint8_t fin[32];
	int outl, ok;

	ok = cipher && ctx &&
	     EVP_CipherInit_ex(ctx, cipher, NULL, key, iv, enc) == 1 &&
	     EVP_CIPHER_CTX_set_padding(ctx, 0) == 1 &&
	     EVP_CipherUpdate(ctx, buf, &outl, buf, (int)len) == 1 &&
	     EVP_CipherFinal_ex(ctx, fin, &outl) == 1;

	EVP_CIPHER_CTX_free(ctx);
	return ok;
}

/* The truncated HMAC of data, with seq_hi appended for ESN. */
static void ref_hmac(const struct combo *c, const uint8_t *key,
		     const uint8_t *data, size_t len, uint64_t seq,
		     uint8_t *icv)
{
	static uint8_t in[BUF_LEN + 4];
	uint8_t out[64];
	size_t out_len = 0;

	memcpy(in, data, len);
	if (c->esn) {
		wr32(in + len, (uint32_t)(seq >> 32));
		len += 4;
	}
	EVP_Q_mac(NULL, "HMAC", NULL, c->x->digest, NULL, key,
		  c->x->mac_key_len, in, len, out, sizeof(out), &out_len);
	memcpy(icv, out, c->x->icv_len);
}

/* The AAD: SPI || seq_lo, or SPI || seq_hi || seq_lo with ESN. */
static size_t ref_aad(const struct combo *c, uint64_t seq, uint8_t *aad)
{
	wr32(aad, TEST_SPI);
	if (c->esn) {
		wr64(aad + 4, seq);
		return 12;
	}
	wr32(aad + 4, (uint32_t)seq);
	return 8;
}

/*
 * GMAC's AAD is the whole packet from SPI to next header, with seq_hi
 * after the SPI for ESN (RFC 4543 3.3).
 */
static size_t ref_gmac_aad(const struct combo *c, uint64_t seq,
			   const uint8_t *esp, size_t len, uint8_t *aad)
{
	size_t n = ref_aad(c, seq, aad);

	memcpy(aad + n, esp + 8, len - 8);
	return n + len - 8;
}

static void ref_nonce(const struct tsa *t, const struct combo *c,
		      const uint8_t *iv, uint8_t *nonce)
{
	memcpy(nonce, t->key + c->x->key_len, 4);
	memcpy(nonce + 4, iv, 8);
}

/*
 * Protects pt (payload to next header) as ESP at esp with sequence number
 * seq: SPI, seq_lo, IV (the sequence number, or a fixed CBC IV), data and
 * ICV.  Returns the length of the ESP part.
 */
static uint32_t ref_seal(const struct combo *c, const struct tsa *t,
			 uint64_t seq, const uint8_t *pt, uint32_t pt_len,
			 uint8_t *esp)
{
	static uint8_t aad[BUF_LEN + 16];
	const struct xform *x = c->x;
	uint8_t *iv = esp + 8, *data = iv + x->iv_len, *icv = data + pt_len;
	const uint8_t *mac_key = t->key + x->key_len + x->salt_len;
	uint8_t nonce[12];
	size_t n;

	wr32(esp, TEST_SPI);
	wr32(esp + 4, (uint32_t)seq);
	memmove(data, pt, pt_len);

	switch (x->kind) {
	case AEAD_KIND_AEAD:
		wr64(iv, seq);
		ref_nonce(t, c, iv, nonce);
		n = ref_aad(c, seq, aad);
		ref_aead(x->cipher, t->key, nonce, aad, n, data, pt_len, icv,
			 1);
		break;
	case AEAD_KIND_AUTH_ONLY:
		wr64(iv, seq);
		ref_nonce(t, c, iv, nonce);
		n = ref_gmac_aad(c, seq, esp, 8 + 8 + pt_len, aad);
		ref_aead(x->cipher, t->key, nonce, aad, n, NULL, 0, icv, 1);
		break;
	case AEAD_KIND_CIPHER:
		for (uint32_t i = 0; i < 16; i++)
			iv[i] = (uint8_t)(0xa5 ^ (i * 29) ^ seq);
		ref_cbc(x->cipher, t->key, iv, data, pt_len, 1);
		ref_hmac(c, mac_key, esp, 8 + 16 + pt_len, seq, icv);
		break;
	default:
		ref_hmac(c, mac_key, esp, 8 + pt_len, seq, icv);
		break;
	}
	return 8 + x->iv_len + pt_len + x->icv_len;
}

/*
 * Checks the ICV of the ESP part at esp (esp_len bytes, ICV included) and
 * writes what it protects, decrypted, to pt.
 */
static bool ref_open(const struct combo *c, const struct tsa *t,
		     uint64_t seq, const uint8_t *esp, uint32_t esp_len,
		     uint8_t *pt, uint32_t *pt_len)
{
	static uint8_t aad[BUF_LEN + 16];
	const struct xform *x = c->x;
	const uint8_t *iv = esp + 8, *data = iv + x->iv_len;
	const uint8_t *mac_key = t->key + x->key_len + x->salt_len;
	uint8_t nonce[12], icv[32];
	uint32_t len;
	size_t n;

	if (esp_len < 8 + x->iv_len + x->icv_len)
		return false;
	len = esp_len - 8 - x->iv_len - x->icv_len;
	memcpy(icv, data + len, x->icv_len);
	memcpy(pt, data, len);
	*pt_len = len;

	switch (x->kind) {
	case AEAD_KIND_AEAD:
		ref_nonce(t, c, iv, nonce);
		n = ref_aad(c, seq, aad);
		return ref_aead(x->cipher, t->key, nonce, aad, n, pt, len, icv,
				0);
	case AEAD_KIND_AUTH_ONLY:
		ref_nonce(t, c, iv, nonce);
		n = ref_gmac_aad(c, seq, esp, 16 + len, aad);
		return ref_aead(x->cipher, t->key, nonce, aad, n, NULL, 0, icv,
				0);
	default: {
		uint8_t want[32];

		ref_hmac(c, mac_key, esp, esp_len - x->icv_len, seq, want);
		if (memcmp(want, icv, x->icv_len))
			return false;
		return x->kind != AEAD_KIND_CIPHER ||
		       ref_cbc(x->cipher, t->key, iv, pt, len, 0);
	}
	}
}

/* ---- Hand-made packets ---- */

/*
 * Builds a packet around the plaintext pt (payload, padding and trailer):
 * a minimal IP header of the outer version (protocol ESP or UDP), the UDP
 * header if the SA has one, and ESP made by ref_seal().  Returns the ESP
 * offset.
 */
static uint32_t build_raw(const struct combo *c, const struct tsa *t,
			  uint64_t seq, const uint8_t *pt, uint32_t pt_len,
			  struct tbuf *tb, struct pkt *p)
{
	uint32_t hl = hdr_len(c->outer), udp = c->udp ? 8 : 0;
	uint32_t esp_off = hl + udp, len;
	uint8_t *d;

	memset(tb->b, 0, sizeof(tb->b));
	d = tb->b + HEADROOM;
	make_inner(d, c->outer, 0, 0, false, 0);
	d[c->outer == V4 ? 9 : 6] = c->udp ? 17 : 50;

	len = esp_off + ref_seal(c, t, seq, pt, pt_len, d + esp_off);
	set_ip_len(d, len);
	pkt_at(p, tb, len);

	if (c->udp) {
		wr16(d + hl, SPORT);
		wr16(d + hl + 2, DPORT);
		wr16(d + hl + 4, (uint16_t)(len - hl));
		if (c->outer == V6)
			wr16(d + hl + 6, udp6_csum(d, d + hl, len - hl));
	}
	return esp_off;
}

/* ---- Outer header and wire checks ---- */

static uint32_t esp_pad(const struct combo *c, uint32_t data_len)
{
	uint32_t a = c->x->align;

	return (a - (data_len + 2) % a) % a;
}

static void check_udp(const struct combo *c, const uint8_t *d,
		      uint32_t udp_off, uint32_t len, uint32_t plen)
{
	const uint8_t *u = d + udp_off;
	bool ok;

	ok = rd16(u) == SPORT && rd16(u + 2) == DPORT &&
	     rd16(u + 4) == len - udp_off;
	if (c->outer == V4)
		ok = ok && rd16(u + 6) == 0;
	else
		ok = ok && rd16(u + 6) != 0 &&
		     udp6_csum(d, u, len - udp_off) == 0;
	CHECK(ok, "%s len %u: UDP header", combo_str(c), plen);
}

static void check_outer_tunnel(const struct combo *c, const struct tsa *t,
			       const struct pkt *p, uint64_t seq,
			       const uint8_t *inner, bool df, uint32_t plen)
{
	const struct xdpsec_sa *pub = &t->pub;
	const uint8_t *d = p->data;
	uint8_t tos = inner_tos(inner);
	uint8_t proto = c->udp ? 17 : 50;
	bool ok;

	if (c->outer == V4) {
		ok = d[0] == 0x45 && d[1] == tos && rd16(d + 2) == p->len &&
		     rd16(d + 4) == (uint16_t)seq &&
		     rd16(d + 6) == (df && c->inner == V4 ? 0x4000 : 0) &&
		     d[8] == 64 && d[9] == proto && ipv4_csum_ok(d) &&
		     !memcmp(d + 12, &pub->src.v4, 4) &&
		     !memcmp(d + 16, &pub->dst.v4, 4);
	} else {
		ok = rd32(d) == (6u << 28 | (uint32_t)tos << 20) &&
		     rd16(d + 4) == p->len - 40 && d[6] == proto &&
		     d[7] == 64 && !memcmp(d + 8, pub->src.v6, 16) &&
		     !memcmp(d + 24, pub->dst.v6, 16);
	}
	CHECK(ok, "%s len %u: outer header fields", combo_str(c), plen);
}

/* Transport mode: only protocol, length and checksum may change. */
static void check_outer_transport(const struct combo *c, const struct pkt *p,
				  const uint8_t *orig, uint32_t plen)
{
	const uint8_t *d = p->data;
	uint8_t proto = c->udp ? 17 : 50;
	bool ok;

	if (c->outer == V4)
		ok = !memcmp(d, orig, 2) && rd16(d + 2) == p->len &&
		     !memcmp(d + 4, orig + 4, 5) && d[9] == proto &&
		     ipv4_csum_ok(d) && !memcmp(d + 12, orig + 12, 8);
	else
		ok = !memcmp(d, orig, 4) && rd16(d + 4) == p->len - 40 &&
		     d[6] == proto && !memcmp(d + 7, orig + 7, 33);
	CHECK(ok, "%s len %u: transport header fields", combo_str(c), plen);
}

/*
 * CBC IVs are not the sequence number, and two packets get the same IV
 * only if they have the same sequence number, which never happens on the
 * wire (these tests reuse some numbers).
 */
static void check_cbc_iv(const struct combo *c, struct tsa *t,
			 const uint8_t *iv, uint64_t seq)
{
	uint8_t plain[16] = { 0 };
	int clash = 0;

	wr64(plain + 8, seq);
	CHECK(memcmp(iv, plain, 16) && rd64(iv) != seq && rd64(iv + 8) != seq,
	      "%s: CBC IV is the sequence number", combo_str(c));

	for (unsigned int i = 0; i < t->n_ivs; i++)
		clash += !memcmp(t->ivs[i], iv, 16) != (t->iv_seqs[i] == seq);
	CHECK(!clash, "%s: CBC IV repeated or unstable", combo_str(c));
	if (t->n_ivs < IVS_MAX) {
		t->iv_seqs[t->n_ivs] = seq;
		memcpy(t->ivs[t->n_ivs++], iv, 16);
	}
}

/*
 * Checks the ESP part at esp_off independently of esp_decap(): SPI, seq,
 * IV, and a plaintext of payload || tfc zeros || 1, 2, 3... || pad length
 * || next header.
 */
static void check_wire(const struct combo *c, struct tsa *t,
		       const struct pkt *p, uint32_t esp_off, uint64_t seq,
		       const uint8_t *payload, uint32_t payload_len,
		       uint32_t tfc_len, uint8_t nh, uint32_t plen)
{
	static uint8_t pt[BUF_LEN];
	const uint8_t *esp = p->data + esp_off;
	uint32_t data_len = payload_len + tfc_len, pt_len = 0, pad;
	bool ok;

	CHECK(rd32(esp) == TEST_SPI && rd32(esp + 4) == (uint32_t)seq,
	      "%s len %u: SPI and seq", combo_str(c), plen);
	if (c->x->kind == AEAD_KIND_AEAD || c->x->kind == AEAD_KIND_AUTH_ONLY)
		CHECK(rd64(esp + 8) == seq, "%s len %u: IV is the seq",
		      combo_str(c), plen);
	else if (c->x->kind == AEAD_KIND_CIPHER)
		check_cbc_iv(c, t, esp + 8, seq);

	if (!ref_open(c, t, seq, esp, p->len - esp_off, pt, &pt_len)) {
		CHECK(0, "%s len %u: ICV does not verify independently",
		      combo_str(c), plen);
		return;
	}

	pad = esp_pad(c, data_len);
	ok = pt_len == data_len + pad + 2 &&
	     !memcmp(pt, payload, payload_len) && pt[pt_len - 2] == pad &&
	     pt[pt_len - 1] == nh;
	for (uint32_t i = 0; ok && i < tfc_len; i++)
		ok = pt[payload_len + i] == 0;
	for (uint32_t i = 0; ok && i < pad; i++)
		ok = pt[data_len + i] == i + 1;
	CHECK(ok, "%s len %u: wire plaintext", combo_str(c), plen);
}

/* The ESP offset of a packet esp_encap() made from a plain header. */
static uint32_t esp_off_of(const struct combo *c)
{
	return hdr_len(c->outer) + (c->udp ? 8 : 0);
}

/* ---- Round trips ---- */

static void roundtrip(const struct combo *c, struct tsa *t, uint32_t plen,
		      uint64_t seq)
{
	static uint8_t orig[BUF_LEN];
	int ver = c->mode == TUN ? c->inner : c->outer;
	uint8_t tos = (uint8_t)(plen * 37 + 5);
	uint32_t len, want, want_pkt, off = esp_off_of(c);
	uint32_t head = off + 8 + c->x->iv_len -
			(c->mode == TRA ? hdr_len(c->outer) : 0);
	bool df = plen & 1;
	struct tbuf tb;
	struct pkt p;
	int ret;

	len = make_inner(tb.b + HEADROOM, ver, plen, tos, df, (uint8_t)seq);
	memcpy(orig, tb.b + HEADROOM, len);
	pkt_at(&p, &tb, len);
	want = esp_encap_len(&t->sa, len);
	want_pkt = esp_encap_len_pkt(&t->sa, &p);

	ret = esp_encap(&t->sa, seq, &p);
	CHECK(ret == XDPSEC_CNT_OK, "%s len %u: encap %d", combo_str(c), plen,
	      ret);
	if (ret)
		return;

	CHECK(p.len == want && p.len == want_pkt,
	      "%s len %u: length %u, esp_encap_len %u, _pkt %u", combo_str(c),
	      plen, p.len, want, want_pkt);
	CHECK(p.headroom + p.len + p.tailroom == BUF_LEN &&
		      p.data == tb.b + HEADROOM - head,
	      "%s len %u: headroom/tailroom", combo_str(c), plen);

	if (c->mode == TUN) {
		check_outer_tunnel(c, t, &p, seq, orig, df, plen);
		check_wire(c, t, &p, off, seq, orig, len, 0,
			   c->inner == V4 ? 4 : 41, plen);
	} else {
		uint32_t hl = hdr_len(c->outer);

		check_outer_transport(c, &p, orig, plen);
		check_wire(c, t, &p, off, seq, orig + hl, len - hl, 0, 17,
			   plen);
	}
	if (c->udp)
		check_udp(c, p.data, hdr_len(c->outer), p.len, plen);

	ret = esp_decap(&t->sa, seq, &p, off);
	CHECK(ret == XDPSEC_CNT_OK, "%s len %u: decap %d", combo_str(c), plen,
	      ret);
	CHECK(p.data == tb.b + HEADROOM && p.len == len &&
		      p.headroom == HEADROOM &&
		      p.tailroom == BUF_LEN - HEADROOM - len,
	      "%s len %u: decapped packet position", combo_str(c), plen);
	CHECK(!memcmp(p.data, orig, len), "%s len %u: packet differs",
	      combo_str(c), plen);
}

/* Protects a fresh packet; returns the ESP offset. */
static uint32_t encap_one(const struct combo *c, struct tsa *t, uint64_t seq,
			  uint32_t plen, struct tbuf *tb, struct pkt *p)
{
	int ver = c->mode == TUN ? c->inner : c->outer;
	uint32_t len;

	/* All bytes defined, so that whole buffers can be compared. */
	memset(tb->b, 0, sizeof(tb->b));
	len = make_inner(tb->b + HEADROOM, ver, plen, 0x28, true, 7);
	pkt_at(p, tb, len);
	CHECK(esp_encap(&t->sa, seq, p) == XDPSEC_CNT_OK, "%s: encap",
	      combo_str(c));
	return esp_off_of(c);
}

/* ---- Tampering ---- */

static void test_tamper(const struct combo *c, struct tsa *t)
{
	const struct xform *x = c->x;
	int icv = (int)x->icv_len, iv = (int)x->iv_len;
	uint64_t seq = c->esn ? (5ULL << 32 | 100) : 100;
	const struct {
		const char *what;
		int off;	/* from ESP; negative: from the end */
		bool use;
	} flips[] = {
		{ "SPI", 0, true },
		{ "SPI low", 3, true },
		{ "seq", 4, true },
		{ "seq low", 7, true },
		{ "IV", 8, iv > 0 },
		{ "IV low", 7 + iv, iv > 0 },
		{ "data", 8 + iv, true },
		{ "data", 40 + iv, true },
		{ "ICV", -icv, true },
		{ "ICV", -1, true },
		{ "next header", -icv - 1, true },
		{ "pad length", -icv - 2, true },
		{ "data end", -icv - 3, true },
	};
	static struct tbuf saved;
	struct tbuf tb;
	struct pkt p, p0;
	uint32_t off;
	int ret;

	for (size_t i = 0; i < sizeof(flips) / sizeof(flips[0]); i++) {
		uint8_t *byte;

		if (!flips[i].use)
			continue;
		off = encap_one(c, t, seq, 101, &tb, &p);
		byte = flips[i].off >= 0 ? p.data + off + flips[i].off :
					   p.data + p.len + flips[i].off;
		*byte ^= 0x10;
		saved = tb;
		p0 = p;
		ret = esp_decap(&t->sa, seq, &p, off);
		CHECK(ret == XDPSEC_CNT_DROP_AUTH, "%s: flipped %s: %d",
		      combo_str(c), flips[i].what, ret);
		CHECK(pkt_eq(&p, &p0), "%s: flipped %s: p moved",
		      combo_str(c), flips[i].what);

		/*
		 * Encrypt-then-MAC: a packet whose ICV fails is dropped
		 * before anything is decrypted, so not a byte changes.
		 */
		if (x->kind == AEAD_KIND_CIPHER || x->kind == AEAD_KIND_NULL ||
		    x->kind == AEAD_KIND_AUTH_ONLY)
			CHECK(!memcmp(&tb, &saved, sizeof(tb)),
			      "%s: flipped %s: buffer touched", combo_str(c),
			      flips[i].what);
	}

	/* The high half of an ESN sequence number is authenticated too. */
	off = encap_one(c, t, seq, 50, &tb, &p);
	ret = esp_decap(&t->sa, seq - (1ULL << 32), &p, off);
	CHECK(ret == (c->esn ? XDPSEC_CNT_DROP_AUTH : XDPSEC_CNT_OK),
	      "%s: seq_hi - 1: %d", combo_str(c), ret);

	off = encap_one(c, t, seq, 50, &tb, &p);
	ret = esp_decap(&t->sa, seq + (1ULL << 32), &p, off);
	CHECK(ret == (c->esn ? XDPSEC_CNT_DROP_AUTH : XDPSEC_CNT_OK),
	      "%s: seq_hi + 1: %d", combo_str(c), ret);
}

/* ---- Truncation ---- */

/* Sets the IP (and UDP) length fields to len, where they are complete. */
static void set_lengths(const struct combo *c, uint8_t *d, uint32_t len)
{
	uint32_t hl = hdr_len(c->outer);

	if (len < hl)
		return;
	set_ip_len(d, len);
	if (c->udp && len >= hl + 8)
		wr16(d + hl + 4, (uint16_t)(len - hl));
}

static void test_truncated(const struct combo *c, struct tsa *t)
{
	const struct xform *x = c->x;
	static struct tbuf tb, saved;
	uint64_t seq = 77;
	uint32_t off, full;
	struct pkt p, p0;
	int bad = 0;

	off = encap_one(c, t, seq, 60, &tb, &p);
	saved = tb;
	p0 = p;
	full = p.len;

	/* Shorter buffer, length field intact: always malformed. */
	for (uint32_t len = 0; len < full; len++) {
		tb = saved;
		p = p0;
		p.len = len;
		bad += esp_decap(&t->sa, seq, &p, off) !=
		       XDPSEC_CNT_DROP_ESP_MALFORMED;
	}
	CHECK(!bad, "%s: short buffer not malformed (%d)", combo_str(c), bad);

	/*
	 * Shorter packet with matching length fields: malformed when the
	 * ESP framing does not fit or is not aligned, otherwise the ICV
	 * fails.
	 */
	bad = 0;
	for (uint32_t len = 0; len < full; len++) {
		uint32_t min = off + 8 + x->iv_len + 2 + x->icv_len;
		uint32_t data = len - off - 8 - x->iv_len - x->icv_len;
		int want, ret;

		tb = saved;
		p = p0;
		set_lengths(c, p.data, len);
		p.len = len;

		want = len < min || data % x->align ?
			       XDPSEC_CNT_DROP_ESP_MALFORMED :
			       XDPSEC_CNT_DROP_AUTH;
		ret = esp_decap(&t->sa, seq, &p, off);
		if (ret != want) {
			printf("  len %u: %d, expected %d\n", len, ret, want);
			bad++;
		}
	}
	CHECK(!bad, "%s: truncated packets (%d wrong)", combo_str(c), bad);

	/* ESP offsets that do not fit the packet or the headers. */
	{
		const uint32_t offs[] = { 0, off - 1, off + 1, full - 8, full,
					  full + 100, UINT32_MAX - 4,
					  UINT32_MAX };

		bad = 0;
		for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
			int ret, want = XDPSEC_CNT_DROP_ESP_MALFORMED;

			tb = saved;
			p = p0;
			ret = esp_decap(&t->sa, seq, &p, offs[i]);

			/* In a tunnel, ESP may follow more headers. */
			if (offs[i] == off + 1 && c->mode == TUN)
				want = ret == XDPSEC_CNT_DROP_AUTH ?
					       ret :
					       XDPSEC_CNT_DROP_ESP_MALFORMED;
			bad += ret != want;
		}
		CHECK(!bad, "%s: bad ESP offsets (%d)", combo_str(c), bad);
	}

	/* A UDP length that disagrees with the IP length. */
	if (c->udp) {
		tb = saved;
		p = p0;
		wr16(p.data + off - 4, (uint16_t)(full - off + 8 - 4));
		CHECK(esp_decap(&t->sa, seq, &p, off) ==
			      XDPSEC_CNT_DROP_ESP_MALFORMED,
		      "%s: UDP length mismatch", combo_str(c));
	}

	/* Nothing left of the packet was moved by any failure. */
	CHECK(pkt_eq(&p, &p0), "%s: p kept on failure", combo_str(c));
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

static const uint8_t good_pad[40] = {
	1,  2,	3,  4,	5,  6,	7,  8,	9,  10, 11, 12, 13, 14,
	15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28,
	29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
};

/*
 * Plaintext = payload (an IP packet of version ver whose length is at
 * least min_len and makes the plaintext aligned, or raw bytes if ver is 0)
 * || pad bytes || pad_len || nh.  Returns its length; *payload_len gets
 * the payload's.
 */
static uint32_t make_pt(const struct combo *c, uint8_t *pt, int ver,
			uint32_t min_len, const uint8_t *pad, uint32_t npad,
			uint8_t pad_len, uint8_t nh, uint32_t *payload_len)
{
	uint32_t n = min_len;

	if (ver && n < hdr_len(ver))
		n = hdr_len(ver);
	while ((n + npad + 2) % c->x->align)
		n++;

	if (ver) {
		make_inner(pt, ver, n - hdr_len(ver), 0, false, 3);
	} else {
		for (uint32_t i = 0; i < n; i++)
			pt[i] = (uint8_t)(i * 13);
	}

	*payload_len = n;
	memcpy(pt + n, pad, npad);
	pt[n + npad] = pad_len;
	pt[n + npad + 1] = nh;
	return n + npad + 2;
}

/* Builds, decapsulates and checks the reason; returns the packet. */
static int try_pt(const struct combo *c, struct tsa *t, const uint8_t *pt,
		  uint32_t n, struct tbuf *tb, struct pkt *p)
{
	uint64_t seq = c->esn ? (2ULL << 32 | 9) : 9;
	uint32_t off = build_raw(c, t, seq, pt, n, tb, p);

	return esp_decap(&t->sa, seq, p, off);
}

/* Padding and trailers of both modes. */
static void test_trailers(const struct combo *c, struct tsa *t)
{
	static const uint8_t bad3[3] = { 1, 2, 4 };
	static const uint8_t zero3[3] = { 0, 0, 0 };
	bool tun = c->mode == TUN;
	int ver = tun ? c->inner : 0;
	uint8_t nh = !tun ? 17 : c->inner == V4 ? 4 : 41;
	uint32_t front = tun ? 0 : hdr_len(c->outer);
	uint32_t align = c->x->align, n, plen, extra = align + 3;
	static uint8_t pt[BUF_LEN];
	struct tbuf tb;
	struct pkt p;
	int ret;

	/* Valid with no padding, and with more padding than needed. */
	n = make_pt(c, pt, ver, 5, good_pad, 0, 0, nh, &plen);
	ret = try_pt(c, t, pt, n, &tb, &p);
	CHECK(ret == XDPSEC_CNT_OK && p.len == front + plen &&
		      !memcmp(p.data + front, pt, plen),
	      "%s: hand-made packet: %d", combo_str(c), ret);

	n = make_pt(c, pt, ver, 9, good_pad, extra, (uint8_t)extra, nh,
		    &plen);
	ret = try_pt(c, t, pt, n, &tb, &p);
	CHECK(ret == XDPSEC_CNT_OK && p.len == front + plen,
	      "%s: %u bytes of padding: %d", combo_str(c), extra, ret);

	n = make_pt(c, pt, 0, 3, bad3, 3, 3, 17, &plen);
	ret = try_pt(c, t, pt, n, &tb, &p);
	CHECK(ret == XDPSEC_CNT_DROP_PADDING, "%s: pad 1,2,4: %d",
	      combo_str(c), ret);

	n = make_pt(c, pt, 0, 3, zero3, 3, 3, 17, &plen);
	ret = try_pt(c, t, pt, n, &tb, &p);
	CHECK(ret == XDPSEC_CNT_DROP_PADDING, "%s: pad 0,0,0: %d",
	      combo_str(c), ret);

	/* A pad length reaching before the start of the data. */
	n = make_pt(c, pt, 0, 2, good_pad, 0, 0, 17, &plen);
	pt[n - 2] = (uint8_t)(n - 1);
	ret = try_pt(c, t, pt, n, &tb, &p);
	CHECK(ret == XDPSEC_CNT_DROP_PADDING, "%s: pad_len %u of %u: %d",
	      combo_str(c), n - 1, n, ret);

	n = make_pt(c, pt, 0, 1, good_pad, 1, 255, 17, &plen);
	ret = try_pt(c, t, pt, n, &tb, &p);
	CHECK(ret == XDPSEC_CNT_DROP_PADDING, "%s: pad_len 255: %d",
	      combo_str(c), ret);

	/* Dummy packets: random payload, next header 59, in both modes. */
	n = make_pt(c, pt, 0, 42, good_pad, 0, 0, 59, &plen);
	ret = try_pt(c, t, pt, n, &tb, &p);
	CHECK(ret == XDPSEC_CNT_DROP_DUMMY, "%s: dummy: %d", combo_str(c), ret);

	n = make_pt(c, pt, 0, 0, good_pad, align - 2, (uint8_t)(align - 2),
		    59, &plen);
	ret = try_pt(c, t, pt, n, &tb, &p);
	CHECK(ret == XDPSEC_CNT_DROP_DUMMY && plen == 0, "%s: empty dummy: %d",
	      combo_str(c), ret);
}

/* Tunnel mode: the payload must be the IP packet next header names. */
static void test_trailers_tunnel(const struct combo *c, struct tsa *t)
{
	uint8_t nh = c->inner == V4 ? 4 : 41;
	uint8_t other_nh = c->inner == V4 ? 41 : 4;
	uint32_t hl = hdr_len(c->outer), ilen = hdr_len(c->inner);
	uint32_t align = c->x->align, n, plen, off = esp_off_of(c);
	static uint8_t pt[BUF_LEN];
	struct tbuf tb, tb2;
	struct pkt p, p2;
	int ret;

	/*
	 * esp_encap() produces exactly the hand-made ESP part, but for the
	 * CBC IV, which is random.
	 */
	n = make_pt(c, pt, c->inner, ilen + 2, good_pad, 0, 0, nh, &plen);
	if (c->x->kind != AEAD_KIND_CIPHER) {
		uint64_t seq = c->esn ? (2ULL << 32 | 9) : 9;

		pkt_at(&p2, &tb2, plen);
		memcpy(p2.data, pt, plen);
		CHECK(esp_encap(&t->sa, seq, &p2) == XDPSEC_CNT_OK,
		      "%s: encap ref", combo_str(c));
		build_raw(c, t, seq, pt, n, &tb, &p);
		CHECK(p.len == p2.len &&
			      !memcmp(p.data + off, p2.data + off, p.len - off),
		      "%s: esp_encap matches the hand-made packet",
		      combo_str(c));
	}

	n = make_pt(c, pt, c->inner, ilen + 2, good_pad, 0, 0, 6, &plen);
	ret = try_pt(c, t, pt, n, &tb, &p);
	CHECK(ret == XDPSEC_CNT_DROP_NEXT_HEADER, "%s: next header 6: %d",
	      combo_str(c), ret);

	n = make_pt(c, pt, c->inner, ilen + 2, good_pad, 0, 0, other_nh,
		    &plen);
	ret = try_pt(c, t, pt, n, &tb, &p);
	CHECK(ret == XDPSEC_CNT_DROP_NEXT_HEADER,
	      "%s: next header of the other version: %d", combo_str(c), ret);

	/* Nothing before the padding. */
	n = make_pt(c, pt, 0, 0, good_pad, align - 2, (uint8_t)(align - 2),
		    nh, &plen);
	ret = try_pt(c, t, pt, n, &tb, &p);
	CHECK(ret == XDPSEC_CNT_DROP_ESP_MALFORMED, "%s: empty payload: %d",
	      combo_str(c), ret);

	/* Inner length field beyond the payload. */
	n = make_pt(c, pt, c->inner, ilen + 2, good_pad, 0, 0, nh, &plen);
	set_ip_len(pt, plen + 3);
	ret = try_pt(c, t, pt, n, &tb, &p);
	CHECK(ret == XDPSEC_CNT_DROP_ESP_MALFORMED,
	      "%s: inner longer than payload: %d", combo_str(c), ret);

	/* Payload too short for an inner header of its version. */
	n = make_pt(c, pt, 0, 10, good_pad, 0, 0, nh, &plen);
	pt[0] = (uint8_t)(c->inner == V4 ? 0x45 : 0x60);
	ret = try_pt(c, t, pt, n, &tb, &p);
	CHECK(ret == XDPSEC_CNT_DROP_ESP_MALFORMED,
	      "%s: truncated inner header: %d", combo_str(c), ret);

	/* Inner packet shorter than the payload: TFC padding is trimmed. */
	n = make_pt(c, pt, c->inner, ilen + 10, good_pad, 0, 0, nh, &plen);
	set_ip_len(pt, ilen + 2);
	ret = try_pt(c, t, pt, n, &tb, &p);
	CHECK(ret == XDPSEC_CNT_OK && p.len == ilen + 2 &&
		      p.data == tb.b + HEADROOM + hl + (c->udp ? 8 : 0) + 8 +
					c->x->iv_len &&
		      p.headroom + p.len + p.tailroom == BUF_LEN,
	      "%s: TFC padding trimmed: %d len %u", combo_str(c), ret, p.len);
}

/* Transport mode: any next header but 59 is restored into the header. */
static void test_trailers_transport(const struct combo *c, struct tsa *t)
{
	static const uint8_t nhs[] = { 6, 17, 4, 41, 58, 0, 255 };
	uint32_t hl = hdr_len(c->outer), n, plen;
	static uint8_t pt[BUF_LEN];
	struct tbuf tb;
	struct pkt p;
	int ret;

	for (size_t i = 0; i < sizeof(nhs); i++) {
		int ver = nhs[i] == 4 ? V4 : nhs[i] == 41 ? V6 : 0;

		n = make_pt(c, pt, ver, 30, good_pad, 0, 0, nhs[i], &plen);
		ret = try_pt(c, t, pt, n, &tb, &p);
		CHECK(ret == XDPSEC_CNT_OK && p.len == hl + plen &&
			      p.data[c->outer == V4 ? 9 : 6] == nhs[i] &&
			      rd16(p.data + (c->outer == V4 ? 2 : 4)) ==
				      (c->outer == V4 ? hl + plen : plen) &&
			      (c->outer == V6 || ipv4_csum_ok(p.data)) &&
			      !memcmp(p.data + hl, pt, plen),
		      "%s: transport next header %u: %d", combo_str(c),
		      nhs[i], ret);
	}

	/* An empty upper layer is still a packet. */
	n = make_pt(c, pt, 0, 0, good_pad, c->x->align - 2,
		    (uint8_t)(c->x->align - 2), 17, &plen);
	ret = try_pt(c, t, pt, n, &tb, &p);
	CHECK(ret == XDPSEC_CNT_OK && p.len == hl, "%s: empty payload: %d",
	      combo_str(c), ret);
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

static void test_ecn(const struct combo *c, struct tsa *t)
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
	uint32_t off = esp_off_of(c);

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t tos = (uint8_t)(0xb8 | cases[i].inner);
		uint8_t orig[BUF_LEN];
		uint32_t len;
		struct tbuf tb;
		struct pkt p;
		int ret;

		len = make_inner(tb.b + HEADROOM, c->inner, 33, tos, false, 1);
		memcpy(orig, tb.b + HEADROOM, len);
		pkt_at(&p, &tb, len);
		CHECK(esp_encap(&t->sa, 500 + i, &p) == XDPSEC_CNT_OK,
		      "%s: encap", combo_str(c));
		CHECK(inner_tos(p.data) == tos, "%s: ECN copied on encap",
		      combo_str(c));

		set_outer_ecn(c->outer, p.data, cases[i].outer);
		ret = esp_decap(&t->sa, 500 + i, &p, off);
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

static void test_link_padding(const struct combo *c, struct tsa *t)
{
	int ver = c->mode == TUN ? c->inner : c->outer;
	uint32_t off = esp_off_of(c);
	uint8_t orig[BUF_LEN];
	uint32_t len;
	struct tbuf tb;
	struct pkt p;
	int ret;

	/* Outer packet followed by Ethernet padding. */
	len = make_inner(tb.b + HEADROOM, ver, 0, 0, false, 2);
	memcpy(orig, tb.b + HEADROOM, len);
	pkt_at(&p, &tb, len);
	CHECK(esp_encap(&t->sa, 1, &p) == XDPSEC_CNT_OK, "%s: encap",
	      combo_str(c));
	memset(p.data + p.len, 0, 10);
	p.len += 10;
	p.tailroom -= 10;
	ret = esp_decap(&t->sa, 1, &p, off);
	CHECK(ret == XDPSEC_CNT_OK && p.len == len &&
		      !memcmp(p.data, orig, len) &&
		      p.headroom + p.len + p.tailroom == BUF_LEN,
	      "%s: outer link padding ignored: %d", combo_str(c), ret);

	/* Inner packet followed by link padding: not protected along. */
	len = make_inner(tb.b + HEADROOM, ver, 5, 0, false, 2);
	memcpy(orig, tb.b + HEADROOM, len);
	memset(tb.b + HEADROOM + len, 0xaa, 7);
	pkt_at(&p, &tb, len + 7);
	CHECK(esp_encap(&t->sa, 2, &p) == XDPSEC_CNT_OK, "%s: encap padded",
	      combo_str(c));
	CHECK(p.len == esp_encap_len(&t->sa, len) &&
		      p.headroom + p.len + p.tailroom == BUF_LEN,
	      "%s: inner link padding dropped", combo_str(c));
	ret = esp_decap(&t->sa, 2, &p, off);
	CHECK(ret == XDPSEC_CNT_OK && p.len == len &&
		      !memcmp(p.data, orig, len),
	      "%s: padded inner round trip: %d", combo_str(c), ret);
}

/* ---- Encapsulation errors ---- */

static void test_room(const struct combo *c, struct tsa *t)
{
	int ver = c->mode == TUN ? c->inner : c->outer;
	uint32_t ilen, head, tail;
	struct tbuf tb;
	struct pkt p, p0;
	int ret;

	ilen = make_inner(tb.b + HEADROOM, ver, 9, 0, false, 2);
	head = esp_off_of(c) + 8 + c->x->iv_len -
	       (c->mode == TRA ? hdr_len(c->outer) : 0);
	tail = esp_encap_len(&t->sa, ilen) - ilen - head;

	/* Exactly enough room works, one byte less at either end does not. */
	pkt_at(&p, &tb, ilen);
	p.headroom = head;
	p.tailroom = tail;
	ret = esp_encap(&t->sa, 3, &p);
	CHECK(ret == XDPSEC_CNT_OK && p.headroom == 0 && p.tailroom == 0,
	      "%s: exact room: %d", combo_str(c), ret);

	make_inner(tb.b + HEADROOM, ver, 9, 0, false, 2);
	pkt_at(&p, &tb, ilen);
	p.headroom = head - 1;
	p0 = p;
	ret = esp_encap(&t->sa, 3, &p);
	CHECK(ret == XDPSEC_CNT_DROP_TOO_BIG && pkt_eq(&p, &p0),
	      "%s: headroom short by one: %d", combo_str(c), ret);

	pkt_at(&p, &tb, ilen);
	p.tailroom = tail - 1;
	p0 = p;
	ret = esp_encap(&t->sa, 3, &p);
	CHECK(ret == XDPSEC_CNT_DROP_TOO_BIG && pkt_eq(&p, &p0),
	      "%s: tailroom short by one: %d", combo_str(c), ret);
}

static void test_encap_errors(const struct combo *c, struct tsa *t)
{
	int ver = c->mode == TUN ? c->inner : c->outer;
	struct esp_sa bad;
	uint32_t ilen;
	struct tbuf tb;
	struct pkt p;

	ilen = make_inner(tb.b + HEADROOM, ver, 9, 0, false, 2);

	/* Not an IP packet, or one whose length field lies. */
	pkt_at(&p, &tb, 0);
	CHECK(esp_encap(&t->sa, 3, &p) == XDPSEC_CNT_DROP_ESP_MALFORMED,
	      "%s: empty inner", combo_str(c));

	pkt_at(&p, &tb, ilen - 1);
	CHECK(esp_encap(&t->sa, 3, &p) == XDPSEC_CNT_DROP_ESP_MALFORMED,
	      "%s: length field beyond the packet", combo_str(c));

	pkt_at(&p, &tb, hdr_len(ver) - 1);
	CHECK(esp_encap(&t->sa, 3, &p) == XDPSEC_CNT_DROP_ESP_MALFORMED,
	      "%s: truncated inner header", combo_str(c));

	tb.b[HEADROOM] = (uint8_t)((tb.b[HEADROOM] & 0x0f) | 0x50);
	pkt_at(&p, &tb, ilen);
	CHECK(esp_encap(&t->sa, 3, &p) == XDPSEC_CNT_DROP_ESP_MALFORMED,
	      "%s: version 5", combo_str(c));

	if (ver == V4) {
		make_inner(tb.b + HEADROOM, ver, 9, 0, false, 2);
		tb.b[HEADROOM] = 0x44;
		pkt_at(&p, &tb, ilen);
		CHECK(esp_encap(&t->sa, 3, &p) == XDPSEC_CNT_DROP_ESP_MALFORMED,
		      "%s: IHL 4", combo_str(c));

		make_inner(tb.b + HEADROOM, ver, 9, 0, false, 2);
		wr16(tb.b + HEADROOM + 2, 19);
		pkt_at(&p, &tb, ilen);
		CHECK(esp_encap(&t->sa, 3, &p) == XDPSEC_CNT_DROP_ESP_MALFORMED,
		      "%s: total length below the header", combo_str(c));
	}

	/* SAs this code cannot serve: nothing is written. */
	make_inner(tb.b + HEADROOM, ver, 9, 0, false, 2);
	pkt_at(&p, &tb, ilen);
	{
		int bad_n = 0;

#define TRY_BAD(stmt)                                                    \
	do {                                                             \
		bad = t->sa;                                             \
		stmt;                                                    \
		bad_n += esp_encap(&bad, 3, &p) != XDPSEC_CNT_DROP_NO_SA ||  \
			 esp_decap(&bad, 3, &p, 28) !=                   \
				 XDPSEC_CNT_DROP_NO_SA ||                \
			 esp_encap_len(&bad, 100) != 0;                  \
	} while (0)

		TRY_BAD(bad.icv_len = 12);
		TRY_BAD(bad.icv_len = 0);
		TRY_BAD(bad.family = 0);
		TRY_BAD(bad.mode = 0);
		TRY_BAD(bad.mode = 3);
		TRY_BAD(bad.iv_len ^= 8);
		TRY_BAD(bad.block = bad.block == 1 ? 16 : 1);
		TRY_BAD(bad.alg = 9);
		TRY_BAD(bad.integ = bad.integ ? 0 : 1);
		if (c->x->kind == AEAD_KIND_CIPHER) {
			TRY_BAD(bad.aead = NULL);
			TRY_BAD(bad.mac = NULL);
			TRY_BAD(bad.ivgen = NULL);
		} else if (c->x->kind == AEAD_KIND_NULL) {
			TRY_BAD(bad.mac = NULL);
			TRY_BAD(bad.aead = (struct aead *)(uintptr_t)1);
		} else {
			TRY_BAD(bad.mac = (struct mac *)(uintptr_t)1);
		}
#undef TRY_BAD
		CHECK(!bad_n, "%s: unusable SAs served (%d)", combo_str(c),
		      bad_n);
		CHECK(p.data == tb.b + HEADROOM && p.len == ilen,
		      "%s: p kept", combo_str(c));
	}
}

/* ---- TFC padding ---- */

static void test_tfc(const struct combo *c, struct tsa *t)
{
	static uint8_t orig[BUF_LEN];
	uint32_t len, plain, padded, off = esp_off_of(c);
	struct esp_sa sa = t->sa;
	struct tbuf tb;
	struct pkt p;
	int ret;

	len = make_inner(tb.b + HEADROOM, c->inner, 20, 0, false, 4);
	memcpy(orig, tb.b + HEADROOM, len);
	plain = esp_encap_len(&t->sa, len);
	sa.tfc_pad = 300;
	padded = esp_encap_len(&sa, len);
	CHECK(padded == esp_encap_len(&t->sa, 300),
	      "%s: TFC length %u, unpadded %u", combo_str(c), padded, plain);

	pkt_at(&p, &tb, len);
	ret = esp_encap(&sa, 40, &p);
	CHECK(ret == XDPSEC_CNT_OK && p.len == padded, "%s: TFC encap %d",
	      combo_str(c), ret);
	check_wire(c, t, &p, off, 40, orig, len, 300 - len,
		   c->inner == V4 ? 4 : 41, len);
	ret = esp_decap(&sa, 40, &p, off);
	CHECK(ret == XDPSEC_CNT_OK && p.len == len &&
		      !memcmp(p.data, orig, len),
	      "%s: TFC decap %d", combo_str(c), ret);

	/* Without room for the padding the packet goes unpadded. */
	make_inner(tb.b + HEADROOM, c->inner, 20, 0, false, 4);
	pkt_at(&p, &tb, len);
	p.tailroom = padded - len - (off + 8 + c->x->iv_len) - 1;
	ret = esp_encap(&sa, 41, &p);
	CHECK(ret == XDPSEC_CNT_OK && p.len == plain, "%s: TFC no room %d",
	      combo_str(c), ret);
	ret = esp_decap(&sa, 41, &p, off);
	CHECK(ret == XDPSEC_CNT_OK && p.len == len, "%s: unpadded decap %d",
	      combo_str(c), ret);

	/* A packet longer than tfc_pad is never shortened. */
	sa.tfc_pad = 10;
	CHECK(esp_encap_len(&sa, len) == plain, "%s: TFC never shrinks",
	      combo_str(c));

	/* A padding the length field cannot describe is left out. */
	sa.tfc_pad = 65535;
	CHECK(esp_encap_len(&sa, len) == plain, "%s: TFC over 64k",
	      combo_str(c));
}

/* Transport mode takes no TFC padding: the upper layer has no length. */
static void test_tfc_transport(const struct combo *c, struct tsa *t)
{
	struct esp_sa sa = t->sa;
	uint32_t len = 60;

	sa.tfc_pad = 500;
	CHECK(esp_encap_len(&sa, len) == esp_encap_len(&t->sa, len),
	      "%s: no TFC in transport mode", combo_str(c));
}

/* ---- Transport mode headers ---- */

/* Round trip of an arbitrary packet; ESP must land at esp_at. */
static void transport_rt(const struct combo *c, struct tsa *t,
			 struct tbuf *tb, uint32_t len, uint32_t esp_at,
			 uint32_t nh_off, uint8_t upper, const char *what)
{
	static uint8_t orig[BUF_LEN], front[BUF_LEN];
	uint32_t off = esp_at + (c->udp ? 8 : 0), want;
	struct pkt p;
	int ret;

	memcpy(orig, tb->b + HEADROOM, len);
	pkt_at(&p, tb, len);
	want = esp_encap_len_pkt(&t->sa, &p);
	ret = esp_encap(&t->sa, 1234, &p);
	CHECK(ret == XDPSEC_CNT_OK && p.len == want,
	      "%s: %s: encap %d len %u want %u", combo_str(c), what, ret,
	      p.len, want);
	if (ret)
		return;

	/* In front of ESP, only protocol, lengths and checksum changed. */
	memcpy(front, p.data, esp_at);
	front[nh_off] = orig[nh_off];
	set_ip_len(front, len);
	CHECK(!memcmp(front, orig, esp_at), "%s: %s: header kept",
	      combo_str(c), what);
	CHECK(p.data[nh_off] == (c->udp ? 17 : 50) &&
		      (c->outer == V6 || ipv4_csum_ok(p.data)) &&
		      rd16(p.data + (c->outer == V4 ? 2 : 4)) ==
			      (c->outer == V4 ? p.len : p.len - 40),
	      "%s: %s: header fixed", combo_str(c), what);
	check_wire(c, t, &p, off, 1234, orig + esp_at, len - esp_at, 0, upper,
		   len);
	if (c->udp)
		check_udp(c, p.data, esp_at, p.len, len);

	ret = esp_decap(&t->sa, 1234, &p, off);
	CHECK(ret == XDPSEC_CNT_OK && p.len == len &&
		      !memcmp(p.data, orig, len),
	      "%s: %s: decap %d", combo_str(c), what, ret);
}

static void test_ipv4_options(const struct combo *c, struct tsa *t)
{
	struct tbuf tb;

	for (uint32_t ihl = 6; ihl <= 15; ihl += 3) {
		uint8_t *d = tb.b + HEADROOM;
		uint32_t len, opt = (ihl - 5) * 4;
		char what[32];

		/* Options: NOPs then end of list, before a UDP payload. */
		len = make_inner(d, V4, 37 + opt, 0, false, 9);
		memmove(d + 20 + opt, d + 20, 37);
		memset(d + 20, 1, opt);
		d[20 + opt - 1] = 0;
		d[0] = (uint8_t)(0x40 | ihl);
		ipv4_set_csum(d);
		snprintf(what, sizeof(what), "IHL %u", ihl);
		transport_rt(c, t, &tb, len, ihl * 4, 9, 17, what);
	}
}

/* Appends an extension header of type nh, len bytes, to the chain. */
static uint32_t ext_add(uint8_t *d, uint32_t off, uint32_t *nh_off, uint8_t nh,
			uint32_t len)
{
	d[*nh_off] = nh;
	memset(d + off, 0, len);
	d[off + 1] = nh == 44 ? 0 : (uint8_t)(len / 8 - 1);
	if (nh == 60 || nh == 0) {
		d[off + 2] = 1;		/* PadN */
		d[off + 3] = (uint8_t)(len - 4);
	}
	*nh_off = off;
	return off + len;
}

/*
 * Builds an IPv6 packet with the given extension headers (types and
 * lengths) and a UDP-ish payload; returns its length and sets *esp_at to
 * where ESP goes and *nh_off to the byte naming it.
 */
static uint32_t make_ext6(uint8_t *d, const uint8_t *types,
			  const uint32_t *lens, int n, int ins_after,
			  uint32_t *esp_at, uint32_t *nh_off)
{
	uint32_t off = 40, at = 6;

	make_inner(d, V6, 0, 0, false, 0);
	*esp_at = 40;
	*nh_off = 6;
	for (int i = 0; i < n; i++) {
		off = ext_add(d, off, &at, types[i], lens[i]);
		if (i < ins_after) {
			*esp_at = off;
			*nh_off = at;
		}
	}
	d[at] = 17;
	for (uint32_t i = 0; i < 45; i++)
		d[off + i] = (uint8_t)(i * 5);
	off += 45;
	wr16(d + 4, (uint16_t)(off - 40));
	return off;
}

static void test_ipv6_ext(const struct combo *c, struct tsa *t)
{
	static const struct {
		const char *what;
		uint8_t types[5];
		uint32_t lens[5];
		int n, ins_after;
		uint8_t upper;
	} chains[] = {
		{ "HBH", { 0 }, { 8 }, 1, 1, 17 },
		{ "HBH+dst", { 0, 60 }, { 8, 16 }, 2, 1, 60 },
		{ "dst+RH+dst", { 60, 43, 60 }, { 8, 24, 8 }, 3, 2, 60 },
		{ "HBH+dst+RH+frag+dst",
		  { 0, 60, 43, 44, 60 },
		  { 16, 8, 24, 8, 32 },
		  5,
		  4,
		  60 },
		{ "dst only", { 60 }, { 24 }, 1, 0, 60 },
	};
	struct tbuf tb;

	for (size_t i = 0; i < sizeof(chains) / sizeof(chains[0]); i++) {
		uint32_t len, esp_at, nh_off;

		len = make_ext6(tb.b + HEADROOM, chains[i].types,
				chains[i].lens, chains[i].n,
				chains[i].ins_after, &esp_at, &nh_off);
		transport_rt(c, t, &tb, len, esp_at, nh_off, chains[i].upper,
			     chains[i].what);
	}
}

static void test_transport_errors(const struct combo *c, struct tsa *t)
{
	int other = c->outer == V4 ? V6 : V4;
	uint8_t *d;
	struct tbuf tb;
	struct pkt p;
	uint32_t len, off;
	int ret;

	/* A packet of the other family cannot use this SA. */
	len = make_inner(tb.b + HEADROOM, other, 30, 0, false, 1);
	pkt_at(&p, &tb, len);
	CHECK(esp_encap(&t->sa, 5, &p) == XDPSEC_CNT_DROP_SELECTOR &&
		      esp_encap_len_pkt(&t->sa, &p) == 0,
	      "%s: other family", combo_str(c));

	/* Fragments: RFC 4303 3.1.1 protects whole datagrams only. */
	d = tb.b + HEADROOM;
	if (c->outer == V4) {
		static const uint16_t frags[] = { 0x2000, 0x0001, 0x6010 };

		for (size_t i = 0; i < 3; i++) {
			len = make_inner(d, V4, 30, 0, false, 1);
			wr16(d + 6, frags[i]);
			ipv4_set_csum(d);
			pkt_at(&p, &tb, len);
			CHECK(esp_encap(&t->sa, 5, &p) ==
				      XDPSEC_CNT_DROP_FRAGMENT,
			      "%s: IPv4 fragment %#x", combo_str(c), frags[i]);
		}
	} else {
		static const uint16_t frags[] = { 0x0001, 0x0008, 0xfff8 };
		static const uint8_t types[] = { 44 };
		static const uint32_t lens[] = { 8 };
		uint32_t esp_at, nh_off;

		for (size_t i = 0; i < 3; i++) {
			len = make_ext6(d, types, lens, 1, 1, &esp_at, &nh_off);
			wr16(d + 42, frags[i]);
			pkt_at(&p, &tb, len);
			CHECK(esp_encap(&t->sa, 5, &p) ==
				      XDPSEC_CNT_DROP_FRAGMENT,
			      "%s: IPv6 fragment %#x", combo_str(c), frags[i]);
		}

		/* Too many extension headers, or one cut short. */
		{
			static const uint8_t many[9] = { 0, 60, 60, 60, 60,
							 60, 60, 60, 43 };
			static const uint32_t lens8[9] = { 8, 8, 8, 8, 8,
							   8, 8, 8, 8 };

			len = make_ext6(d, many, lens8, 9, 9, &esp_at,
					&nh_off);
			pkt_at(&p, &tb, len);
			CHECK(esp_encap(&t->sa, 5, &p) ==
				      XDPSEC_CNT_DROP_ESP_MALFORMED,
			      "%s: nine extension headers", combo_str(c));

			len = make_ext6(d, many, lens8, 1, 1, &esp_at,
					&nh_off);
			d[41] = 200;
			pkt_at(&p, &tb, len);
			CHECK(esp_encap(&t->sa, 5, &p) ==
				      XDPSEC_CNT_DROP_ESP_MALFORMED,
			      "%s: extension header past the end",
			      combo_str(c));
		}
	}

	/* Received: a fragment, or a protocol field that is not ESP/UDP. */
	off = encap_one(c, t, 6, 40, &tb, &p);
	if (c->outer == V4) {
		wr16(p.data + 6, 0x2000);
		ipv4_set_csum(p.data);
		ret = esp_decap(&t->sa, 6, &p, off);
		CHECK(ret == XDPSEC_CNT_DROP_FRAGMENT,
		      "%s: received fragment: %d", combo_str(c), ret);
	}

	off = encap_one(c, t, 6, 40, &tb, &p);
	p.data[c->outer == V4 ? 9 : 6] = 51;
	if (c->outer == V4)
		ipv4_set_csum(p.data);
	ret = esp_decap(&t->sa, 6, &p, off);
	CHECK(ret == XDPSEC_CNT_DROP_ESP_MALFORMED,
	      "%s: received protocol 51: %d", combo_str(c), ret);
}

/* ---- Driver ---- */

static const uint32_t spread_extra[] = {
	48, 63, 64, 100, 101, 255, 256, 511, 999, 1000, 1397, 1398, 1399, 1400,
};

static void run_combo(const struct combo *c)
{
	struct tsa *t = calloc(1, sizeof(*t));
	uint64_t seq;
	uint32_t n = 0;

	if (!t || !tsa_init(t, c)) {
		free(t);
		return;
	}

	/*
	 * Sequence numbers near the 2^32 boundary, so that with ESN the
	 * high half changes in the middle of the run.
	 */
	seq = c->esn ? 0xffffffe0ULL : 1;

	/* 0..33 gives every padding length for 4- and 16-byte alignment. */
	for (uint32_t plen = 0; plen <= 33; plen++)
		roundtrip(c, t, plen, seq + n++);
	for (size_t i = 0; i < sizeof(spread_extra) / sizeof(spread_extra[0]);
	     i++)
		roundtrip(c, t, spread_extra[i], seq + n++);

	test_tamper(c, t);
	test_truncated(c, t);
	test_trailers(c, t);
	test_link_padding(c, t);
	test_room(c, t);
	test_encap_errors(c, t);

	if (c->mode == TUN) {
		test_trailers_tunnel(c, t);
		test_ecn(c, t);
		test_tfc(c, t);
	} else {
		test_trailers_transport(c, t);
		test_tfc_transport(c, t);
		test_transport_errors(c, t);
		if (c->outer == V4)
			test_ipv4_options(c, t);
		else
			test_ipv6_ext(c, t);
	}

	esp_sa_fini(&t->sa);
	free(t);
}

/* ---- SA setup ---- */

static bool all_zero(const void *p, size_t len)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < len; i++) {
		if (b[i])
			return false;
	}
	return true;
}

static void test_key_len(void)
{
	static const size_t mac_keys[] = { 0, 32, 48, 64 };
	static const struct {
		enum xdpsec_alg alg;
		size_t key;	/* cipher key and salt */
		bool integ;	/* needs an integ, or takes none */
	} algs[] = {
		{ XDPSEC_ALG_AES_GCM_128, 20, false },
		{ XDPSEC_ALG_AES_GCM_256, 36, false },
		{ XDPSEC_ALG_CHACHA20_POLY1305, 36, false },
		{ XDPSEC_ALG_AES_GMAC_128, 20, false },
		{ XDPSEC_ALG_AES_GMAC_256, 36, false },
		{ XDPSEC_ALG_AES_CBC_128, 16, true },
		{ XDPSEC_ALG_AES_CBC_256, 32, true },
		{ XDPSEC_ALG_NULL, 0, true },
	};
	int bad = 0;

	for (size_t a = 0; a < sizeof(algs) / sizeof(algs[0]); a++) {
		for (unsigned int i = 0; i < 4; i++) {
			size_t want = 0;

			if (!algs[a].integ && !i)
				want = algs[a].key;
			if (algs[a].integ && i)
				want = algs[a].key + mac_keys[i];
			if (esp_key_len(algs[a].alg, i) != want) {
				printf("  alg %d integ %u: %zu, want %zu\n",
				       algs[a].alg, i,
				       esp_key_len(algs[a].alg, i), want);
				bad++;
			}
			CHECK(want <= ESP_KEY_MAX, "ESP_KEY_MAX too small");
		}
		CHECK(esp_key_len(algs[a].alg, 4) == 0, "integ 4 invalid");
	}
	CHECK(!bad, "esp_key_len (%d wrong)", bad);
	CHECK(esp_key_len(XDPSEC_ALG_NONE, 0) == 0 &&
		      esp_key_len(XDPSEC_ALG_NONE, 1) == 0 &&
		      esp_key_len(9, 0) == 0 && esp_key_len(9, 1) == 0,
	      "esp_key_len of unknown algorithms");
}

static void test_sa_init(void)
{
	const struct combo c = { &xforms[5], TUN, false, true, V4, V4 };
	uint8_t key[ESP_KEY_MAX];
	struct xdpsec_sa pub;
	struct esp_sa e;
	size_t len;
	int ret;

	pub_for(&c, &pub);
	len = key_for(c.x, key);
	memset(&e, 0xee, sizeof(e));
	ret = esp_sa_init(&e, &pub, key, len);
	CHECK(ret == 0 && e.aead && e.mac && e.ivgen && e.alg == pub.alg &&
		      e.integ == pub.integ && e.iv_len == 16 &&
		      e.icv_len == 16 && e.block == 16 && e.spi == TEST_SPI &&
		      e.mode == TUN && e.family == XDPSEC_AF_INET &&
		      e.flags == pub.flags && e.encap_sport == SPORT &&
		      e.encap_dport == DPORT && e.tfc_pad == 0 &&
		      !memcmp(&e.src, &pub.src, sizeof(e.src)) &&
		      !memcmp(&e.dst, &pub.dst, sizeof(e.dst)),
	      "esp_sa_init fields: %d", ret);
	esp_sa_fini(&e);
	CHECK(all_zero(&e, sizeof(e)), "esp_sa_fini wipes");
	esp_sa_fini(&e);

	/* Refusals leave e zeroed. */
	{
		struct xdpsec_sa bad;
		int n_bad = 0;

#define REFUSE(stmt, klen)                                                \
	do {                                                              \
		bad = pub;                                                \
		stmt;                                                     \
		memset(&e, 0xee, sizeof(e));                              \
		n_bad += esp_sa_init(&e, &bad, key, klen) != -EINVAL ||   \
			 !all_zero(&e, sizeof(e));                        \
	} while (0)

		REFUSE((void)0, len - 1);
		REFUSE((void)0, len + 1);
		REFUSE((void)0, 0);
		REFUSE(bad.integ = XDPSEC_INTEG_NONE, 16);
		REFUSE(bad.alg = XDPSEC_ALG_NULL, len);
		REFUSE((bad.alg = XDPSEC_ALG_NULL,
			bad.integ = XDPSEC_INTEG_NONE),
		       0);
		REFUSE(bad.alg = XDPSEC_ALG_AES_GCM_128, 20);
		REFUSE(bad.alg = XDPSEC_ALG_AES_GMAC_128, 20);
		REFUSE(bad.alg = XDPSEC_ALG_AES_GMAC_256, 36 + 32);
		REFUSE(bad.alg = XDPSEC_ALG_NONE, len);
		REFUSE(bad.alg = 9, len);
		REFUSE(bad.integ = 4, len);
		REFUSE(bad.mode = 0, len);
		REFUSE(bad.mode = 3, len);
		REFUSE(bad.family = 0, len);
		REFUSE(bad.family = 7, len);
		REFUSE(bad.encap_sport = 0, len);
		REFUSE(bad.encap_dport = 0, len);
#undef REFUSE
		CHECK(!n_bad, "esp_sa_init refusals (%d wrong)", n_bad);

		memset(&e, 0xee, sizeof(e));
		CHECK(esp_sa_init(&e, &pub, NULL, len) == -EINVAL &&
			      all_zero(&e, sizeof(e)),
		      "esp_sa_init without a key");

		/* Zero ports are fine without UDP encapsulation. */
		bad = pub;
		bad.flags = 0;
		bad.encap_sport = bad.encap_dport = 0;
		CHECK(esp_sa_init(&e, &bad, key, len) == 0, "no UDP, no ports");
		esp_sa_fini(&e);
	}

	/* Every transform can be set up, and the salt is where it should. */
	for (size_t i = 0; i < N_XFORMS; i++) {
		const struct combo ci = { &xforms[i], TRA, true, false, V6,
					  V6 };

		pub_for(&ci, &pub);
		len = key_for(ci.x, key);
		ret = esp_sa_init(&e, &pub, key, len);
		CHECK(ret == 0 && e.icv_len == ci.x->icv_len &&
			      e.iv_len == ci.x->iv_len &&
			      !!e.aead == (ci.x->kind != AEAD_KIND_NULL) &&
			      !!e.mac == !!ci.x->digest &&
			      !!e.ivgen == (ci.x->kind == AEAD_KIND_CIPHER) &&
			      (ci.x->salt_len == 0 ||
			       !memcmp(e.salt, key + ci.x->key_len, 4)),
		      "%s: esp_sa_init %d", combo_str(&ci), ret);
		esp_sa_fini(&e);
	}
}

/*
 * An SA filled in field by field with an AES-GCM context, as callers did
 * before esp_sa_init(), frames exactly like one from esp_sa_init().
 */
static void test_legacy(void)
{
	const struct combo c = { &xforms[0], TUN, true, false, V6, V4 };
	struct esp_sa old;
	struct tbuf t1, t2;
	struct pkt p1, p2;
	struct tsa *t = calloc(1, sizeof(*t));
	uint32_t len;

	if (!t || !tsa_init(t, &c)) {
		free(t);
		return;
	}

	memset(&old, 0, sizeof(old));
	old.aead = aead_new(XDPSEC_ALG_AES_GCM_128, t->key);
	memcpy(old.salt, t->key + 16, 4);
	old.spi = TEST_SPI;
	old.mode = TUN;
	old.family = XDPSEC_AF_INET6;
	old.flags = XDPSEC_SA_F_ESN;
	old.icv_len = 16;
	old.src = t->pub.src;
	old.dst = t->pub.dst;

	len = make_inner(t1.b + HEADROOM, V4, 77, 0, false, 1);
	make_inner(t2.b + HEADROOM, V4, 77, 0, false, 1);
	pkt_at(&p1, &t1, len);
	pkt_at(&p2, &t2, len);
	CHECK(esp_encap(&old, 1ULL << 33, &p1) == XDPSEC_CNT_OK &&
		      esp_encap(&t->sa, 1ULL << 33, &p2) == XDPSEC_CNT_OK &&
		      p1.len == p2.len && p1.len == esp_encap_len(&old, len) &&
		      !memcmp(p1.data, p2.data, p1.len),
	      "legacy SA frames like esp_sa_init");
	CHECK(esp_decap(&t->sa, 1ULL << 33, &p1, 40) == XDPSEC_CNT_OK &&
		      esp_decap(&old, 1ULL << 33, &p2, 40) == XDPSEC_CNT_OK &&
		      p1.len == len && !memcmp(p1.data, p2.data, len),
	      "legacy SA and esp_sa_init SA read each other");

	old.icv_len = 12;
	CHECK(esp_encap_len(&old, len) == 0, "legacy SA with ICV 12 refused");

	aead_free(old.aead);
	esp_sa_fini(&t->sa);
	free(t);
}

/*
 * Every transform the backend does, in every mode, family combination,
 * with ESN or not, in UDP or not.  Returns the number of combinations.
 */
static int run_combos(enum aead_backend b)
{
	static const int fams[][2] = { { V4, V4 }, { V4, V6 }, { V6, V4 },
				       { V6, V6 } };
	int combos = 0;

	for (size_t x = 0; x < N_XFORMS; x++) {
		if (aead_backend_for(xforms[x].alg) != b)
			continue;
		for (int bits = 0; bits < 4; bits++) {
			for (size_t f = 0; f < 4; f++) {
				struct combo c = {
					.x = &xforms[x],
					.mode = TUN,
					.esn = bits & 1,
					.udp = bits & 2,
					.outer = fams[f][0],
					.inner = fams[f][1],
				};

				run_combo(&c);
				combos++;
				if (c.outer != c.inner)
					continue;
				c.mode = TRA;
				run_combo(&c);
				combos++;
			}
		}
	}
	return combos;
}

/* The combinations once per cipher backend built in. */
static void test_backend(enum aead_backend b)
{
	int combos;

	if (aead_backend_set(b)) {
		printf("esp: backend %s SKIPPED (not built in or not usable here)\n",
		       aead_backend_name(b));
		return;
	}
	combos = run_combos(b);
	CHECK(combos > 0, "%s: no combinations", aead_backend_name(b));
	printf("esp: %d combinations of transform, mode, families, ESN and "
	       "UDP encapsulation through %s\n",
	       combos, aead_backend_name(b));
	aead_backend_set(AEAD_BACKEND_AUTO);
}

int main(void)
{
	test_peek();
	test_key_len();
	test_sa_init();
	test_legacy();

	test_backend(AEAD_BACKEND_OPENSSL);
	test_backend(AEAD_BACKEND_IPSEC_MB);

	return check_summary();
}
