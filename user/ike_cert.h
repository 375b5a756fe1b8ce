/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Certificates in IKEv2: our own certificate and private key, the CA
 * certificates we trust, AUTH signatures (method 14, RFC 7427) and the
 * checks a peer's certificate must pass before its signature counts:
 * a chain to one of our CAs, and the identity it claims in its ID
 * payload named in the certificate.  Everything through OpenSSL 3.
 *
 * Keys: RSA (RSASSA-PSS or PKCS#1 v1.5, SHA-256), ECDSA on P-256
 * (SHA-256) and P-384 (SHA-384), Ed25519.
 */
#ifndef XDPSEC_IKE_CERT_H
#define XDPSEC_IKE_CERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ike_msg.h"

enum {
	IKE_SIG_MAX = 1024,		/* AlgorithmIdentifier and signature */
	IKE_CA_HASHES_MAX = 8,		/* CAs named in a CERTREQ */
	IKE_CERTS_MAX = 4,		/* CERT payloads taken from a peer */
};

struct ike_cred;

/*
 * Loads a certificate, its private key and the CA file (PEM, one or more
 * certificates).  The key file must not be readable by group or others,
 * and the key must belong to the certificate.  Returns NULL with a
 * message in err that names the file.
 */
struct ike_cred *ike_cred_load(const char *cert, const char *key,
			       const char *ca, char *err, size_t errlen);
void ike_cred_free(struct ike_cred *c);

/* Our certificate, DER, for the CERT payload. */
void ike_cred_cert(const struct ike_cred *c, const uint8_t **der,
		   size_t *len);

/*
 * The CERTREQ data (section 3.7): the SHA-1 hashes of our CAs' public
 * keys, 20 bytes each, into out.  Returns the length.
 */
size_t ike_cred_ca_hashes(const struct ike_cred *c, uint8_t *out,
			  size_t cap);

/*
 * The AUTH data of method 14 over octets: the length of the ASN.1
 * AlgorithmIdentifier, the AlgorithmIdentifier, the signature.  rsa_pss
 * picks RSASSA-PSS over PKCS#1 v1.5 for an RSA key.  Returns 0 or -errno.
 */
int ike_cred_sign(const struct ike_cred *c, bool rsa_pss,
		  const uint8_t *octets, size_t len, uint8_t *out, size_t cap,
		  size_t *out_len);

/*
 * Checks a peer: certs[0] is its certificate (DER), the others may help
 * build the chain.  It must chain to one of our CAs, name id (the ID
 * payload the peer sent), and the AUTH data (method 14) must be its
 * signature over octets.  Returns 0, or -EACCES with the reason in why.
 */
int ike_cred_verify(const struct ike_cred *c, const struct ike_cert *certs,
		    size_t n_certs, const struct ike_id *id,
		    const uint8_t *auth, size_t auth_len,
		    const uint8_t *octets, size_t len, char *why,
		    size_t whylen);

/*
 * A distinguished name as configurations write it ("C=CH, O=Example,
 * CN=gw1.example.net") into DER for an ID_DER_ASN1_DN payload.  Returns
 * the length, or 0 with a message in err.
 */
size_t ike_dn_from_text(const char *text, uint8_t *out, size_t cap,
			char *err, size_t errlen);

/* A DER distinguished name as text ("C=CH, O=Example, CN=..."). */
void ike_dn_text(const uint8_t *der, size_t len, char *buf, size_t buflen);

/* Whether two DER distinguished names are the same name (RFC 5280 7.1). */
bool ike_dn_equal(const uint8_t *a, size_t a_len, const uint8_t *b,
		  size_t b_len);

#endif /* XDPSEC_IKE_CERT_H */
