/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * AH framing (RFC 4302) on packet buffers, without any I/O: insert or
 * remove an Authentication Header in tunnel or transport mode, with the
 * ICV of RFC 4868 HMAC-SHA2.  Data-path functions return XDPSEC_CNT_OK or
 * the counter index of the reason for a drop.  Packets follow the
 * conventions of struct pkt (esp.h).
 */
#ifndef XDPSEC_AH_H
#define XDPSEC_AH_H

#include <stddef.h>
#include <stdint.h>

#include "esp.h"
#include "mac.h"
#include "xdpsec_common.h"

enum ah_sizes {
	AH_FIXED_LEN = 12,	/* next header .. sequence number */
	/*
	 * IP header and IPv6 extension headers in front of AH, copied with
	 * their mutable fields zeroed to compute the ICV.  Packets with more
	 * are dropped as malformed.
	 */
	AH_HDRS_MAX = 1024,
	/* Bytes AH tunnel mode adds at most in front of a packet. */
	AH_HEAD_MAX = 40 + AH_FIXED_LEN + MAC_ICV_MAX + 4,
};

/* What framing needs of an AH SA.  The MAC context belongs to the SA. */
struct ah_sa {
	struct mac *mac;
	uint32_t spi;		/* host order */
	uint8_t mode;		/* enum xdpsec_mode */
	uint8_t family;		/* outer; in transport mode the packets' */
	uint16_t flags;		/* enum xdpsec_sa_flags */
	uint8_t icv_len;
	struct xdpsec_addr src;	/* outer addresses (tunnel mode) */
	struct xdpsec_addr dst;
};

/*
 * Keys a MAC context for pub->integ with key (the integrity key, exactly
 * its length) and copies what framing needs of pub.  Returns 0, -EINVAL
 * for an SA that is not AH or has an unknown algorithm, mode or family, or
 * a key of the wrong length, -ENOMEM if the context cannot be made.
 */
int ah_sa_init(struct ah_sa *a, const struct xdpsec_sa *pub,
	       const uint8_t *key, size_t key_len);

/* Frees the MAC context; a may be re-initialised afterwards. */
void ah_sa_fini(struct ah_sa *a);

/*
 * The length ah_encap() gives a packet of inner_len bytes: the AH header
 * is padded to 4 bytes over IPv4 and to 8 bytes over IPv6 (RFC 4302 2.6).
 */
uint32_t ah_encap_len(const struct ah_sa *a, uint32_t inner_len);

/*
 * Protects the IP packet p with AH; seq is the full sequence number, whose
 * high half enters the ICV (and is never sent) when the SA uses ESN.
 *
 * Tunnel mode prepends an outer header of the SA's family (TTL 64, DSCP
 * and ECN copied as RFC 6040 normal mode says, DF copied from an IPv4
 * inner header) and AH with next header 4 or 41.
 *
 * Transport mode inserts AH after the IPv4 header and its options, or
 * after the IPv6 hop-by-hop, routing and fragment headers (and the
 * destination options in front of a routing header); the packet must be
 * of the SA's family and not a fragment.
 *
 * Bytes after the end the IP header gives (link-layer padding) are left
 * out.  On success p describes the protected packet.  Reasons:
 * DROP_NO_SA (SA not usable, packet of another family in transport mode),
 * DROP_ESP_MALFORMED, DROP_FRAGMENT, DROP_TOO_BIG (headroom, or the IP
 * length limit), DROP_AUTH (the MAC failed).
 */
int ah_encap(const struct ah_sa *a, uint64_t seq, struct pkt *p);

/*
 * Reads SPI, low sequence number and next header of the AH header at
 * p->data + ah_off.  Returns DROP_ESP_MALFORMED if the packet is too short.
 */
int ah_peek(const struct pkt *p, uint32_t ah_off, uint32_t *spi,
	    uint32_t *seq_lo, uint8_t *next_hdr);

/*
 * Verifies the AH header at p->data + ah_off (p->data is the IP header,
 * ah_off follows it and any IPv6 extension headers) in constant time,
 * before anything is changed, then removes it.  seq is the full sequence
 * number (reconstructed for ESN).
 *
 * Tunnel mode: p becomes the inner packet, whose version must be the one
 * the next header (4 or 41) announces; an outer CE mark is carried to an
 * ECN-capable inner packet (RFC 6040).  Transport mode: p becomes the
 * packet without AH, its protocol or next header field, length and IPv4
 * checksum restored.
 *
 * Reasons: DROP_NO_SA, DROP_ESP_MALFORMED (bad headers or AH length),
 * DROP_FRAGMENT, DROP_AUTH, DROP_NEXT_HEADER.
 */
int ah_decap(const struct ah_sa *a, uint64_t seq, struct pkt *p,
	     uint32_t ah_off);

#endif /* XDPSEC_AH_H */
