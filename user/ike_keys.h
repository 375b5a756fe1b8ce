/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The IKEv2 key schedule (RFC 7296 sections 2.13 to 2.18): the PRF and
 * prf+, SKEYSEED and the seven keys of an IKE SA, SKEYSEED again when the
 * IKE SA is rekeyed, KEYMAT for CHILD_SAs, and the AUTH value of a
 * pre-shared key (section 2.15).  PRFs are HMAC-SHA2 (RFC 4868) through
 * OpenSSL's EVP_MAC.  Every buffer that held a secret is cleansed.
 */
#ifndef XDPSEC_IKE_KEYS_H
#define XDPSEC_IKE_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "ike_msg.h"		/* enum ike_prf_id */

enum {
	IKE_PRF_MAX = 64,		/* output of HMAC-SHA2-512 */
	IKE_INTEG_KEY_MAX = 64,
	IKE_ENCR_KEY_MAX = 36,		/* AES-256 key and 4-byte salt */
	IKE_PRF_PLUS_MAX = 255,		/* blocks prf+ can make */
};

/* One piece of the data a PRF is run over. */
struct ike_seg {
	const void *data;
	size_t len;
};

/* The output (and preferred key) length of a PRF, or 0 if unknown. */
size_t ike_prf_len(uint16_t prf);

/* "hmac-sha256", ... or NULL. */
const char *ike_prf_name(uint16_t prf);

/* out = prf(key, seg[0] | ... | seg[n-1]); out holds ike_prf_len() bytes. */
int ike_prf(uint16_t prf, const uint8_t *key, size_t key_len,
	    const struct ike_seg *seg, unsigned int n, uint8_t *out);

/*
 * out = the first out_len bytes of prf+(key, seed), seed being the
 * concatenation of the segments (RFC 7296 section 2.13).  Returns -EINVAL
 * past 255 blocks.
 */
int ike_prf_plus(uint16_t prf, const uint8_t *key, size_t key_len,
		 const struct ike_seg *seed, unsigned int n, uint8_t *out,
		 size_t out_len);

/* The keys of an IKE SA; the lengths come from its transforms. */
struct ike_sa_keys {
	size_t prf_len;		/* SK_d, SK_pi, SK_pr */
	size_t integ_len;	/* SK_ai, SK_ar: 0 with an AEAD */
	size_t encr_len;	/* SK_ei, SK_er: key and salt */
	uint8_t sk_d[IKE_PRF_MAX];
	uint8_t sk_ai[IKE_INTEG_KEY_MAX];
	uint8_t sk_ar[IKE_INTEG_KEY_MAX];
	uint8_t sk_ei[IKE_ENCR_KEY_MAX];
	uint8_t sk_er[IKE_ENCR_KEY_MAX];
	uint8_t sk_pi[IKE_PRF_MAX];
	uint8_t sk_pr[IKE_PRF_MAX];
};

/* What goes into SKEYSEED and the keys besides the PRF and the lengths. */
struct ike_keys_input {
	const uint8_t *ni, *nr;		/* nonces */
	size_t ni_len, nr_len;
	const uint8_t *gir;		/* the shared secret */
	size_t gir_len;
	uint64_t spi_i, spi_r;		/* in host order */
	const uint8_t *old_sk_d;	/* rekeying: the old IKE SA's SK_d */
	size_t old_sk_d_len;
};

/*
 * Derives SKEYSEED and from it the seven keys into k, whose integ_len and
 * encr_len the caller has set: SKEYSEED = prf(Ni | Nr, g^ir) for a new IKE
 * SA, prf(SK_d (old), g^ir (new) | Ni | Nr) when old_sk_d is set (section
 * 2.18).  Returns 0 or -EINVAL.
 */
int ike_keys_derive(uint16_t prf, const struct ike_keys_input *in,
		    struct ike_sa_keys *k);

/* Cleanses every key of k. */
void ike_keys_wipe(struct ike_sa_keys *k);

/*
 * KEYMAT for a CHILD_SA (section 2.17): prf+(SK_d, [g^ir (new) |] Ni | Nr),
 * gir being NULL without PFS.  The caller takes the keys from out in the
 * order the RFC gives: initiator-to-responder first.
 */
int ike_child_keymat(uint16_t prf, const uint8_t *sk_d, size_t sk_d_len,
		     const uint8_t *gir, size_t gir_len, const uint8_t *ni,
		     size_t ni_len, const uint8_t *nr, size_t nr_len,
		     uint8_t *out, size_t out_len);

/*
 * The AUTH data of a pre-shared key (section 2.15):
 * prf(prf(psk, "Key Pad for IKEv2"), msg | nonce | prf(sk_p, id)), where
 * msg is the sender's first message (IKE_SA_INIT), nonce the peer's, sk_p
 * the sender's SK_p and id the sender's ID payload body (from the ID type
 * on).  out holds ike_prf_len() bytes.
 */
int ike_psk_auth(uint16_t prf, const uint8_t *psk, size_t psk_len,
		 const uint8_t *msg, size_t msg_len, const uint8_t *nonce,
		 size_t nonce_len, const uint8_t *sk_p, const uint8_t *id,
		 size_t id_len, uint8_t *out);

#endif /* XDPSEC_IKE_KEYS_H */
