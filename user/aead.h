/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * AEAD contexts for ESP (RFC 4106 AES-GCM).  A context is keyed once and
 * then used for many packets by one thread; per packet only the nonce
 * changes.  Everything goes through OpenSSL 3.
 */
#ifndef XDPSEC_AEAD_H
#define XDPSEC_AEAD_H

#include <stddef.h>
#include <stdint.h>

#include "xdpsec_common.h"

enum aead_sizes {
	AEAD_NONCE_LEN = 12,	/* salt (4) || explicit IV (8) */
	AEAD_SALT_LEN = 4,
	AEAD_IV_LEN = 8,
	AEAD_TAG_MAX = 16,
	AEAD_KEY_MAX = 32,
};

struct aead_info {
	const char *name;	/* as in configuration files: "aes-gcm-128" */
	size_t key_len;		/* cipher key, without the salt */
	size_t salt_len;
	size_t iv_len;		/* explicit IV carried in each packet */
	size_t icv_len;
};

/* Returns NULL for an unknown or unsupported algorithm. */
const struct aead_info *aead_info(enum xdpsec_alg alg);
/* Returns 0 and sets *alg, or -EINVAL for an unknown name. */
int aead_alg_parse(const char *name, enum xdpsec_alg *alg);

struct aead;

/*
 * Returns a context keyed with key (info->key_len bytes, no salt), or NULL.
 * The caller keeps its own copy of the key; the context wipes its copy.
 */
struct aead *aead_new(enum xdpsec_alg alg, const uint8_t *key);
void aead_free(struct aead *a);

/*
 * Encrypts buf[0..len) in place and writes the tag (icv_len bytes) to tag.
 * nonce is AEAD_NONCE_LEN bytes.  Returns 0 or -EIO.
 */
int aead_seal(struct aead *a, const uint8_t *nonce, const uint8_t *aad,
	      size_t aad_len, uint8_t *buf, size_t len, uint8_t *tag);

/*
 * Checks the tag and decrypts buf[0..len) in place.  Returns 0, or
 * -EBADMSG when the tag does not verify (buf is then garbage), or -EIO.
 */
int aead_open(struct aead *a, const uint8_t *nonce, const uint8_t *aad,
	      size_t aad_len, uint8_t *buf, size_t len, const uint8_t *tag);

#endif /* XDPSEC_AEAD_H */
