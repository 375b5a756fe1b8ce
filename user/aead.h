/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Cipher contexts for ESP: the AEADs AES-GCM (RFC 4106) and
 * ChaCha20-Poly1305 (RFC 7634), the integrity-only AES-GMAC (RFC 4543) and
 * the plain cipher AES-CBC (RFC 3602, whose ICV comes from an integrity
 * algorithm, see mac.h).  A context is keyed once and then used for many
 * packets by one thread; per packet only the nonce or IV changes.
 * OpenSSL 3 does the work, except AES-GCM where Intel's multi-buffer
 * library is built in and usable: see enum aead_backend.
 */
#ifndef XDPSEC_AEAD_H
#define XDPSEC_AEAD_H

#include <stdbool.h>
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
	AEAD_AAD_MAX = 64,	/* AAD in several pieces, ipsec-mb contexts */
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
 *
 * Contexts of the ipsec-mb backend take the AAD in one piece; when it
 * comes in more than one non-empty segment, these together may hold at
 * most AEAD_AAD_MAX bytes, else both calls give -EINVAL.
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

/*
 * Who does the work of a context.  OpenSSL does every algorithm.  When
 * built with XDPSEC_HAVE_IPSEC_MB, Intel's multi-buffer library does
 * AES-GCM if it sets itself up on this CPU and agrees with OpenSSL on a
 * test message.  A benchmark build with XDPSEC_NO_CRYPTO has only a
 * backend that does nothing at all.  The environment variable
 * XDPSEC_CRYPTO=openssl|ipsec-mb|auto, read once, sets the preference;
 * an algorithm the preferred backend lacks goes to OpenSSL.
 */
enum aead_backend {
	AEAD_BACKEND_AUTO = 0,	/* the fastest one that works */
	AEAD_BACKEND_OPENSSL,
	AEAD_BACKEND_IPSEC_MB,
	AEAD_BACKEND_NOCRYPTO,	/* benchmark build: no encryption */
};

/* "openssl", "ipsec-mb", "none" or "auto". */
const char *aead_backend_name(enum aead_backend b);
/* Writes what the backend is: library, version, code path. */
void aead_backend_about(enum aead_backend b, char *buf, size_t len);
/* Whether b is built in and works on this CPU. */
bool aead_backend_available(enum aead_backend b);

/*
 * For tests and benchmarks: the backend that contexts created from now on
 * prefer.  Returns 0, or -ENOTSUP when b is not available.
 */
int aead_backend_set(enum aead_backend b);

/* The backend a context of alg created now would get. */
enum aead_backend aead_backend_for(enum xdpsec_alg alg);
/* The backend of context a. */
enum aead_backend aead_backend_of(const struct aead *a);

/*
 * For the daemon, at start: a build without crypto says so loudly and
 * refuses (-EPERM) unless XDPSEC_NO_CRYPTO=1 is set; then each backend
 * in use is logged with the algorithms it does.  Returns 0, -EPERM or -EIO.
 */
int aead_startup(void);

#endif /* XDPSEC_AEAD_H */
