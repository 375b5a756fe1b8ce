/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Cipher contexts for ESP: the AEADs AES-GCM (RFC 4106) and
 * ChaCha20-Poly1305 (RFC 7634), the integrity-only AES-GMAC (RFC 4543) and
 * the plain cipher AES-CBC (RFC 3602, whose ICV comes from an integrity
 * algorithm, see mac.h).  A context is keyed once and then used for many
 * packets by one thread; per packet only the nonce or IV changes.
 * Everything goes through OpenSSL 3.
 */
#ifndef XDPSEC_AEAD_H
#define XDPSEC_AEAD_H

#include <stddef.h>
#include <stdint.h>

#include "xdpsec_common.h"

enum aead_sizes {
	AEAD_NONCE_LEN = 12,	/* salt (4) || explicit IV (8) */
	AEAD_SALT_LEN = 4,
	AEAD_IV_LEN = 8,	/* explicit IV: GCM, ChaCha20-Poly1305, GMAC */
	AEAD_CBC_IV_LEN = 16,	/* AES-CBC: one cipher block */
	AEAD_IV_MAX = 16,
	AEAD_TAG_MAX = 16,
	AEAD_KEY_MAX = 32,	/* cipher key, without the salt */
	AEAD_BLOCK_MAX = 16,
};

/* How a transform protects an ESP packet. */
enum aead_kind {
	AEAD_KIND_AEAD = 1,	/* encrypts and authenticates: GCM, ChaCha */
	AEAD_KIND_AUTH_ONLY,	/* authenticates only: GMAC */
	AEAD_KIND_CIPHER,	/* encrypts only: CBC, needs an integ */
	AEAD_KIND_NULL,		/* neither: NULL, needs an integ */
};

struct aead_info {
	const char *name;	/* as in configuration files: "aes-gcm-128" */
	size_t key_len;		/* cipher key, without the salt */
	size_t salt_len;
	size_t iv_len;		/* explicit IV carried in each packet */
	size_t icv_len;		/* 0 when an integ algorithm gives the ICV */
	size_t block;		/* ciphertext granularity: 1 for stream modes */
	enum aead_kind kind;
};

/* Returns NULL for an unknown or unsupported algorithm. */
const struct aead_info *aead_info(enum xdpsec_alg alg);
/* Returns 0 and sets *alg, or -EINVAL for an unknown name. */
int aead_alg_parse(const char *name, enum xdpsec_alg *alg);

struct aead;

/*
 * Returns a context keyed with key (info->key_len bytes, no salt), or NULL.
 * The NULL cipher has no key and no context: it gives NULL too.  The
 * caller keeps its own copy of the key; the context wipes its copy.
 */
struct aead *aead_new(enum xdpsec_alg alg, const uint8_t *key);
void aead_free(struct aead *a);

/* One piece of the additional authenticated data. */
struct aead_seg {
	const void *data;
	size_t len;
};

/*
 * AEAD and AUTH_ONLY contexts.  Encrypts buf[0..len) in place and writes
 * the tag (icv_len bytes) to tag; the tag also covers the AAD, the
 * concatenation of the n segments.  nonce is AEAD_NONCE_LEN bytes.  GMAC
 * encrypts nothing: len must be 0.  Returns 0, -EINVAL (wrong kind or
 * length) or -EIO.
 */
int aead_seal_v(struct aead *a, const uint8_t *nonce,
		const struct aead_seg *aad, unsigned int n, uint8_t *buf,
		size_t len, uint8_t *tag);

/*
 * Checks the tag and decrypts buf[0..len) in place.  Returns 0, or
 * -EBADMSG when the tag does not verify (buf is then garbage), -EINVAL or
 * -EIO.
 */
int aead_open_v(struct aead *a, const uint8_t *nonce,
		const struct aead_seg *aad, unsigned int n, uint8_t *buf,
		size_t len, const uint8_t *tag);

/* The same with the AAD in one piece. */
int aead_seal(struct aead *a, const uint8_t *nonce, const uint8_t *aad,
	      size_t aad_len, uint8_t *buf, size_t len, uint8_t *tag);
int aead_open(struct aead *a, const uint8_t *nonce, const uint8_t *aad,
	      size_t aad_len, uint8_t *buf, size_t len, const uint8_t *tag);

/*
 * CIPHER contexts (AES-CBC without padding).  Encrypts or decrypts
 * buf[0..len) in place with iv (info->iv_len bytes); len must be a multiple
 * of the block size.  Nothing is authenticated: check the ICV first.
 * Returns 0, -EINVAL (wrong kind or length) or -EIO.
 */
int aead_encrypt(struct aead *a, const uint8_t *iv, uint8_t *buf,
		 size_t len);
int aead_decrypt(struct aead *a, const uint8_t *iv, uint8_t *buf,
		 size_t len);

/*
 * An IV generator for AES-CBC: the IV of sequence number seq is
 * AES-ECB(K_iv, seq) with K_iv drawn at random when the generator is
 * created.  One per thread, like the contexts.
 */
struct aead_ivgen;

struct aead_ivgen *aead_ivgen_new(void);
void aead_ivgen_free(struct aead_ivgen *g);

/* Writes the AEAD_CBC_IV_LEN-byte IV for seq.  Returns 0 or -EIO. */
int aead_ivgen_next(struct aead_ivgen *g, uint64_t seq, uint8_t *iv);

#endif /* XDPSEC_AEAD_H */
