/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * IKEv2 key exchange (RFC 7296 section 1.2, transform type 4): an
 * ephemeral key pair per exchange, its public value in the encoding the KE
 * payload carries, and the shared secret g^ir from the peer's value.
 *
 *   Curve25519 (31): 32 bytes, little-endian u (RFC 8031)
 *   ECP-256 (19), ECP-384 (20): x || y, big-endian, no point-format byte
 *     (RFC 5903); g^ir is the x coordinate
 *   MODP-2048 (14), MODP-3072 (15): big-endian, zero-padded to the
 *     group's size (RFC 3526)
 *
 * Peer values are checked before use: the exact length of the group,
 * points on the curve, 1 < y < p - 1 and in the prime-order subgroup for
 * MODP, and no all-zero Curve25519 secret.  Everything goes through
 * OpenSSL 3.
 */
#ifndef XDPSEC_IKE_KE_H
#define XDPSEC_IKE_KE_H

#include <stddef.h>
#include <stdint.h>

#include "ike_msg.h"		/* enum ike_ke_id */

enum {
	IKE_KE_MAX = 384,		/* the longest public value: MODP-3072 */
};

/*
 * The length of a public value of this group (and of its g^ir, which for
 * ECP is the x coordinate only), or 0 for a group we do not do.
 */
size_t ike_ke_len(uint16_t group);
size_t ike_ke_secret_len(uint16_t group);

/* "curve25519", "ecp256", ... or NULL. */
const char *ike_ke_name(uint16_t group);

/*
 * Parses a group name as configurations spell it.  Returns 0, or -EINVAL
 * with *why saying why a known but refused group is refused (NULL for a
 * name we do not know).
 */
int ike_ke_parse(const char *name, uint16_t *group, const char **why);

struct ike_ke;

/* A fresh key pair, or NULL (unsupported group, or OpenSSL failed). */
struct ike_ke *ike_ke_new(uint16_t group);

/*
 * The same from a given private key, for known-answer tests: for
 * Curve25519 the 32-byte scalar, for ECP the big-endian scalar.  MODP is
 * not offered.  The public value is not available from such a key.
 */
struct ike_ke *ike_ke_new_private(uint16_t group, const uint8_t *priv,
				  size_t len);

void ike_ke_free(struct ike_ke *ke);

uint16_t ike_ke_group(const struct ike_ke *ke);

/* Writes the public value (ike_ke_len() bytes).  Returns 0 or -errno. */
int ike_ke_public(const struct ike_ke *ke, uint8_t *out, size_t len);

/*
 * Computes g^ir from the peer's public value into secret (at least
 * ike_ke_secret_len() bytes).  Returns 0; -EINVAL if the length is not the
 * group's; -EBADMSG if the value is not a valid public key of the group
 * or gives a degenerate secret; -EIO if OpenSSL fails otherwise.
 */
int ike_ke_shared(struct ike_ke *ke, const uint8_t *peer, size_t len,
		  uint8_t *secret, size_t secret_len);

#endif /* XDPSEC_IKE_KE_H */
