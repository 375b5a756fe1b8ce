/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ESP framing (RFC 4303) on packet buffers, without any I/O: wrap an IP
 * packet in an outer header and ESP, and the reverse.  Data-path functions
 * return XDPSEC_CNT_OK or the counter index of the reason for a drop.
 */
#ifndef XDPSEC_ESP_H
#define XDPSEC_ESP_H

#include <stdint.h>

#include "aead.h"
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

/* What framing needs of an SA.  The AEAD context belongs to the caller. */
struct esp_sa {
	struct aead *aead;
	uint8_t salt[AEAD_SALT_LEN];
	uint32_t spi;			/* host order */
	uint8_t mode;			/* enum xdpsec_mode */
	uint8_t family;			/* outer family */
	uint16_t flags;			/* enum xdpsec_sa_flags */
	uint8_t icv_len;
	struct xdpsec_addr src;		/* outer addresses (tunnel mode) */
	struct xdpsec_addr dst;
};

/* Bytes ESP tunnel mode adds at most in front of and after a packet. */
enum esp_overhead {
	ESP_HEAD_MAX = 40 + 8 + 8 + 8,	/* IPv6 + UDP + ESP + IV */
	ESP_TAIL_MAX = 3 + 2 + 16,	/* padding + trailer + ICV */
};

/*
 * Tunnel mode: prepends the outer IP header (TTL 64, DSCP and ECN copied
 * from the inner header as RFC 6040 normal mode says, DF copied from an
 * IPv4 inner header), the ESP header and the IV (the sequence number), pads
 * to four bytes, appends the trailer and ICV, encrypts in place.  seq is
 * the full sequence number; its high half enters the ICV when the SA uses
 * ESN.  On success p describes the outer packet.
 */
int esp_encap(const struct esp_sa *sa, uint64_t seq, struct pkt *p);

/* The length esp_encap() will give an inner packet of inner_len bytes. */
uint32_t esp_encap_len(const struct esp_sa *sa, uint32_t inner_len);

/*
 * Reads SPI and low sequence number of the ESP header at p->data + esp_off.
 * Returns XDPSEC_CNT_DROP_ESP_MALFORMED if the packet is too short.
 */
int esp_peek(const struct pkt *p, uint32_t esp_off, uint32_t *spi,
	     uint32_t *seq_lo);

/*
 * Tunnel mode: verifies the ICV of the ESP packet whose header is at
 * p->data + esp_off (p->data is the outer IP header), decrypts in place,
 * checks the padding and next header, applies the ECN rules of RFC 6040
 * (outer CE marks an ECN-capable inner packet CE) and sets p to the inner
 * packet.  seq is the full sequence number (reconstructed for ESN).
 * Reasons: DROP_ESP_MALFORMED, DROP_AUTH, DROP_PADDING, DROP_DUMMY (next
 * header 59), DROP_NEXT_HEADER.
 */
int esp_decap(const struct esp_sa *sa, uint64_t seq, struct pkt *p,
	      uint32_t esp_off);

#endif /* XDPSEC_ESP_H */
