/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The Encrypted payload of IKEv2 (SK, RFC 7296 section 3.14) and the
 * Encrypted Fragment payload (SKF, RFC 7383): one direction's keys, and
 * sealing and opening a message in place.
 *
 *   AES-GCM-16 (RFC 5282) and ChaCha20-Poly1305 (RFC 7634): 8-byte IV from
 *   a counter, nonce salt | IV, the AAD everything from the IKE header to
 *   the end of the SK (or SKF) header, no padding.
 *   AES-CBC with HMAC-SHA2 (RFC 3602, 4868): random 16-byte IV, padding to
 *   the block, the ICV over everything from the IKE header to the pad
 *   length, checked before anything is decrypted.
 *
 * A message being sealed or opened looks like this; sk_off is where the SK
 * (or SKF) payload starts and sk_hdr its header's length (4, or 8 for SKF):
 *
 *   | IKE header ... | SK header | IV | inner payloads | pad | pad len | ICV |
 *   0                sk_off
 */
#ifndef XDPSEC_IKE_SK_H
#define XDPSEC_IKE_SK_H

#include <stddef.h>
#include <stdint.h>

#include "ike_msg.h"		/* IKE_HDR_LEN */
#include "xdpsec_common.h"

enum {
	IKE_HDR_LENGTH_OFF = 24,	/* the message length field */
};

struct ike_sk;

/*
 * Keys one direction: encr_key holds the cipher key followed by the salt
 * for AEADs (SK_ei or SK_er as derived), integ_key the integrity key (SK_ai
 * or SK_ar) when alg is AES-CBC.  Returns NULL for a combination that is
 * not allowed (an AEAD with an integ, CBC without one) or on failure.
 */
struct ike_sk *ike_sk_new(enum xdpsec_alg alg, enum xdpsec_integ integ,
			  const uint8_t *encr_key, const uint8_t *integ_key);
void ike_sk_free(struct ike_sk *sk);

/* The most that sealing adds after the inner payloads' start: IV, pad, ICV. */
size_t ike_sk_overhead(const struct ike_sk *sk);

/* Where the inner payloads go: sk_off + sk_hdr + the IV's length. */
size_t ike_sk_plain_off(const struct ike_sk *sk, size_t sk_off,
			size_t sk_hdr);

/*
 * Seals msg in place: the caller has written the IKE header, the SK header
 * (with its next-payload field) and plain_len bytes of inner payloads at
 * ike_sk_plain_off().  Writes the IV, the padding, the ICV and both length
 * fields (the IKE header's and the SK payload's), and sets *len to the
 * message's length.  Returns 0, -ENOSPC if cap is too small, or -EIO.
 */
int ike_sk_seal(struct ike_sk *sk, uint8_t *msg, size_t cap, size_t sk_off,
		size_t sk_hdr, size_t plain_len, size_t *len);

/*
 * Opens msg[0..len) in place, the SK payload running to its end.  Sets
 * *plain and *plain_len to the inner payloads.  Returns 0, -EBADMSG when
 * the ICV or the padding is wrong or the payload too short to hold an IV
 * and an ICV, or -EIO.
 */
int ike_sk_open(struct ike_sk *sk, uint8_t *msg, size_t len, size_t sk_off,
		size_t sk_hdr, uint8_t **plain, size_t *plain_len);

#endif /* XDPSEC_IKE_SK_H */
