/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Truncated HMAC-SHA2 integrity check values for ESP (with AES-CBC or NULL)
 * and AH (RFC 4868).  A context is keyed once; per packet it is reset and
 * fed the packet in up to MAC_SEGS_MAX pieces.  Checks compare with
 * CRYPTO_memcmp, in constant time.
 */
#ifndef XDPSEC_MAC_H
#define XDPSEC_MAC_H

#include <stddef.h>
#include <stdint.h>

#include "xdpsec_common.h"

enum mac_sizes {
	MAC_KEY_MAX = 64,
	MAC_ICV_MAX = 32,
	MAC_SEGS_MAX = 8,
};

struct mac_info {
	const char *name;	/* as in configuration files */
	size_t key_len;
	size_t icv_len;		/* the truncated length sent */
};

/* NULL for XDPSEC_INTEG_NONE or an unknown value. */
const struct mac_info *mac_info(enum xdpsec_integ integ);
/* Returns 0 and sets *integ, or -EINVAL for an unknown name. */
int mac_parse(const char *name, enum xdpsec_integ *integ);

/* One piece of the data a check value covers. */
struct mac_seg {
	const void *data;
	size_t len;
};

struct mac;

/* A context keyed with key (info->key_len bytes), or NULL. */
struct mac *mac_new(enum xdpsec_integ integ, const uint8_t *key);
void mac_free(struct mac *m);

/* Writes the truncated ICV of the concatenated segments.  0 or -EIO. */
int mac_compute(struct mac *m, const struct mac_seg *segs, unsigned int n,
		uint8_t *icv);

/* 0 if icv matches, -EBADMSG if not (constant time), -EIO on error. */
int mac_verify(struct mac *m, const struct mac_seg *segs, unsigned int n,
	       const uint8_t *icv);

#endif /* XDPSEC_MAC_H */
