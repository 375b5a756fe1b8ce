/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ESP framing (RFC 4303) on packet buffers, without any I/O: protect an IP
 * packet in tunnel or transport mode, optionally inside UDP (RFC 3948),
 * with any transform of enum xdpsec_alg, and the reverse.  Data-path
 * functions return XDPSEC_CNT_OK or the counter index of the reason for a
 * drop, and allocate nothing.
 */
#ifndef XDPSEC_ESP_H
#define XDPSEC_ESP_H

#include <stddef.h>
#include <stdint.h>

#include "aead.h"
#include "mac.h"
#include "xdpsec_common.h"

struct esp_hdr {
	__be32 spi;
	__be32 seq;
};

struct esp_trailer {
	uint8_t pad_len;
	uint8_t next_hdr;
};

/*
 * A packet inside a larger buffer: data is the first byte of the IP header,
 * and headroom/tailroom bytes may be written before and after it.
 */
struct pkt {
	uint8_t *data;
	uint32_t len;
	uint32_t headroom;
	uint32_t tailroom;
};

/*
 * What framing needs of an SA, for one thread.  esp_sa_init() fills it in
 * and owns the contexts; esp_sa_fini() frees them.
 *
 * An SA filled in field by field with only aead, salt, spi, mode, family,
 * flags, icv_len (16), src and dst set, and alg left 0, is taken as AES-GCM
 * (the layout from before esp_sa_init()); its context then belongs to the
 * caller.
 */
struct esp_sa {
	struct aead *aead;		/* NULL for the NULL cipher */
	uint8_t salt[AEAD_SALT_LEN];	/* GCM, ChaCha20-Poly1305, GMAC */
	uint32_t spi;			/* host order */
	uint8_t mode;			/* enum xdpsec_mode */
	uint8_t family;			/* outer family */
	uint16_t flags;			/* enum xdpsec_sa_flags */
	uint8_t icv_len;
	uint8_t iv_len;			/* explicit IV in each packet */
	uint8_t block;			/* cipher block: 1, or 16 for CBC */
	uint8_t alg;			/* enum xdpsec_alg */
	uint8_t integ;			/* enum xdpsec_integ: CBC and NULL */
	uint16_t encap_sport;		/* UDP encapsulation, host order */
	uint16_t encap_dport;
	uint16_t tfc_pad;		/* tunnel: pad inner packets to this */
	struct mac *mac;		/* the ICV of CBC and NULL */
	struct aead_ivgen *ivgen;	/* CBC: unpredictable IVs */
	struct xdpsec_addr src;		/* outer addresses (tunnel mode) */
	struct xdpsec_addr dst;
};

/*
 * Bytes ESP adds at most in front of and after a packet, TFC padding
 * aside: IPv6 + UDP + ESP + CBC IV, and CBC padding + trailer +
 * HMAC-SHA-512-256 ICV.
 */
enum esp_overhead {
	ESP_HEAD_MAX = 40 + 8 + 8 + 16,
	ESP_TAIL_MAX = 15 + 2 + 32,
};

/* The longest key material of an SA: AES-256 key + HMAC-SHA-512 key. */
enum { ESP_KEY_MAX = AEAD_KEY_MAX + MAC_KEY_MAX };

/*
 * Bytes of key material alg with integ takes: cipher key || salt (GCM,
 * ChaCha20-Poly1305, GMAC), cipher key || integ key (CBC), integ key
 * (NULL).  0 for an invalid combination: an integ with an AEAD or GMAC,
 * CBC or NULL without one, an unknown value.
 */
size_t esp_key_len(enum xdpsec_alg alg, enum xdpsec_integ integ);

/*
 * Sets e up for pub (alg, integ, spi, mode, family, flags, encap ports,
 * tfc_pad, addresses) with key (esp_key_len() bytes, laid out as there),
 * creating the contexts.  Returns 0, -EINVAL for a combination or key
 * length that does not fit, or -ENOMEM.  e is zeroed on failure.
 */
int esp_sa_init(struct esp_sa *e, const struct xdpsec_sa *pub,
		const uint8_t *key, size_t key_len);

/* Frees the contexts of an esp_sa_init() SA and wipes it. */
void esp_sa_fini(struct esp_sa *e);

/*
 * Protects the IP packet p with sequence number seq (the full 64 bits; the
 * high half enters the ICV when the SA uses ESN), in place:
 *
 * Tunnel mode prepends an outer IP header (TTL 64, DSCP and ECN copied
 * from the inner header as RFC 6040 normal mode says, DF copied from an
 * IPv4 inner header), and pads the inner packet with zeros to tfc_pad
 * bytes when there is room for it (RFC 4303 2.7).
 *
 * Transport mode inserts ESP after the IP header (IPv4 options included,
 * IPv6 hop-by-hop, routing and fragment headers, and destination options
 * before a routing header) and fixes the protocol, length and checksum.
 * It refuses fragments (RFC 4303 3.1.1): DROP_FRAGMENT.
 *
 * With UDP encapsulation a UDP header comes before ESP.  Reasons:
 * DROP_NO_SA (unusable SA), DROP_ESP_MALFORMED, DROP_SELECTOR (transport
 * packet of the other family), DROP_FRAGMENT, DROP_TOO_BIG (no room, or
 * over 65535 bytes), DROP_AUTH (crypto library failure).  On success p
 * describes the protected packet; on failure p is unchanged.
 */
int esp_encap(const struct esp_sa *sa, uint64_t seq, struct pkt *p);

/*
 * The length esp_encap() will give a packet of inner_len bytes, when the
 * buffer has room for the TFC padding.  In transport mode with AES-CBC the
 * padding depends on the IP header's length: this assumes a header without
 * IPv4 options or IPv6 extension headers; esp_encap_len_pkt() is exact in
 * every case.  0 for an SA esp_encap() refuses.
 */
uint32_t esp_encap_len(const struct esp_sa *sa, uint32_t inner_len);

/* The same for the packet p itself; 0 when esp_encap() would refuse it. */
uint32_t esp_encap_len_pkt(const struct esp_sa *sa, const struct pkt *p);

/*
 * Reads SPI and low sequence number of the ESP header at p->data + esp_off.
 * Returns XDPSEC_CNT_DROP_ESP_MALFORMED if the packet is too short.
 */
int esp_peek(const struct pkt *p, uint32_t esp_off, uint32_t *spi,
	     uint32_t *seq_lo);

/*
 * Verifies the ICV of the ESP packet whose header is at p->data + esp_off
 * (p->data is the outer IP header; with UDP encapsulation the UDP header
 * ends at esp_off), decrypts in place, checks the padding and next header
 * and sets p to the result.  seq is the full sequence number
 * (reconstructed for ESN).  With AES-CBC the ICV is checked before
 * anything is decrypted.
 *
 * Tunnel mode: p becomes the inner packet, ECN handled as RFC 6040 says
 * (outer CE marks an ECN-capable inner packet CE).  Transport mode: the IP
 * header is moved up to the payload, UDP and ESP removed, and protocol,
 * length and checksum restored.
 *
 * Reasons: DROP_NO_SA, DROP_ESP_MALFORMED, DROP_FRAGMENT (transport),
 * DROP_AUTH, DROP_PADDING, DROP_DUMMY (next header 59), DROP_NEXT_HEADER.
 * On failure p is unchanged (its bytes may not be).
 */
int esp_decap(const struct esp_sa *sa, uint64_t seq, struct pkt *p,
	      uint32_t esp_off);

#endif /* XDPSEC_ESP_H */
