// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ike_cert.h"

struct ike_cred {
	X509 *cert;
	EVP_PKEY *key;
	X509_STORE *store;
	STACK_OF(X509) *cas;
	uint8_t *der;
	size_t der_len;
};

static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ---- Loading ---- */

static X509 *cert_read(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	X509 *x;

	if (!f) {
		seterr(err, errlen, "cert %s: %s", path, strerror(errno));
		return NULL;
	}
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (!x)
		seterr(err, errlen, "cert %s holds no PEM certificate", path);
	return x;
}

/* The key types we sign and verify with. */
static bool key_usable(const EVP_PKEY *k)
{
	switch (EVP_PKEY_get_base_id(k)) {
	case EVP_PKEY_RSA:
		return EVP_PKEY_get_bits(k) >= 2048;
	case EVP_PKEY_EC:
		return EVP_PKEY_get_bits(k) == 256 || EVP_PKEY_get_bits(k) == 384;
	case EVP_PKEY_ED25519:
		return true;
	}
	return false;
}

static EVP_PKEY *key_read(const char *path, char *err, size_t errlen)
{
	struct stat st;
	EVP_PKEY *k;
	FILE *f;

	f = fopen(path, "r");
	if (!f || fstat(fileno(f), &st)) {
		seterr(err, errlen, "key %s: %s", path, strerror(errno));
		if (f)
			fclose(f);
		return NULL;
	}
	if (st.st_mode & 077) {
		fclose(f);
		seterr(err, errlen,
		       "key %s is readable by group or others (mode %04o): chmod 600 it",
		       path, (unsigned int)(st.st_mode & 07777));
		return NULL;
	}
	k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (!k) {
		seterr(err, errlen,
		       "key %s holds no PEM private key (encrypted keys are not supported)",
		       path);
		return NULL;
	}
	if (!key_usable(k)) {
		seterr(err, errlen,
		       "key %s: use RSA of 2048 bits or more, ECDSA P-256 or P-384, or Ed25519",
		       path);
		EVP_PKEY_free(k);
		return NULL;
	}
	return k;
}

/* Every certificate of a PEM file into the store; at least one. */
static int cas_read(struct ike_cred *c, const char *path, char *err,
		    size_t errlen)
{
	FILE *f = fopen(path, "r");
	X509 *x;

	if (!f) {
		seterr(err, errlen, "ca %s: %s", path, strerror(errno));
		return -EINVAL;
	}
	while ((x = PEM_read_X509(f, NULL, NULL, NULL))) {
		if (!X509_STORE_add_cert(c->store, x) ||
		    !sk_X509_push(c->cas, x)) {
			X509_free(x);
			break;
		}
	}
	fclose(f);
	if (!sk_X509_num(c->cas)) {
		seterr(err, errlen, "ca %s holds no PEM certificate", path);
		return -EINVAL;
	}
	return 0;
}

struct ike_cred *ike_cred_load(const char *cert, const char *key,
			       const char *ca, char *err, size_t errlen)
{
	struct ike_cred *c = calloc(1, sizeof(*c));
	unsigned char *p = NULL;
	int n;

	if (!c) {
		seterr(err, errlen, "out of memory");
		return NULL;
	}
	c->store = X509_STORE_new();
	c->cas = sk_X509_new_null();
	if (!c->store || !c->cas) {
		seterr(err, errlen, "out of memory");
		goto fail;
	}
	c->cert = cert_read(cert, err, errlen);
	if (!c->cert)
		goto fail;
	c->key = key_read(key, err, errlen);
	if (!c->key)
		goto fail;
	if (X509_check_private_key(c->cert, c->key) != 1) {
		seterr(err, errlen, "key %s does not belong to cert %s", key,
		       cert);
		goto fail;
	}
	if (cas_read(c, ca, err, errlen))
		goto fail;
	n = i2d_X509(c->cert, &p);
	if (n <= 0) {
		seterr(err, errlen, "cert %s cannot be encoded", cert);
		goto fail;
	}
	c->der = p;
	c->der_len = (size_t)n;
	return c;
fail:
	ike_cred_free(c);
	return NULL;
}

void ike_cred_free(struct ike_cred *c)
{
	if (!c)
		return;
	X509_free(c->cert);
	EVP_PKEY_free(c->key);
	X509_STORE_free(c->store);
	sk_X509_pop_free(c->cas, X509_free);
	OPENSSL_free(c->der);
	free(c);
}

void ike_cred_cert(const struct ike_cred *c, const uint8_t **der,
		   size_t *len)
{
	*der = c->der;
	*len = c->der_len;
}

size_t ike_cred_ca_hashes(const struct ike_cred *c, uint8_t *out,
			  size_t cap)
{
	size_t n = 0;

	for (int i = 0; i < sk_X509_num(c->cas) && i < IKE_CA_HASHES_MAX;
	     i++) {
		X509_PUBKEY *pk = X509_get_X509_PUBKEY(sk_X509_value(c->cas, i));
		unsigned char *der = NULL;
		unsigned int len = 0;
		int dlen = i2d_X509_PUBKEY(pk, &der);

		if (dlen > 0 && n + 20 <= cap &&
		    EVP_Digest(der, (size_t)dlen, out + n, &len, EVP_sha1(),
			       NULL) == 1 && len == 20)
			n += 20;
		OPENSSL_free(der);
	}
	return n;
}

/* ---- Signatures (RFC 7427) ---- */

/* The digest a key signs with: none for Ed25519 (it hashes itself). */
static const EVP_MD *sign_md(const EVP_PKEY *k)
{
	switch (EVP_PKEY_get_base_id(k)) {
	case EVP_PKEY_EC:
		return EVP_PKEY_get_bits(k) == 384 ? EVP_sha384() :
						     EVP_sha256();
	case EVP_PKEY_ED25519:
		return NULL;
	}
	return EVP_sha256();
}

int ike_cred_sign(const struct ike_cred *c, bool rsa_pss,
		  const uint8_t *octets, size_t len, uint8_t *out, size_t cap,
		  size_t *out_len)
{
	bool rsa = EVP_PKEY_get_base_id(c->key) == EVP_PKEY_RSA;
	uint8_t algid[128];
	OSSL_PARAM params[] = {
		OSSL_PARAM_octet_string(OSSL_SIGNATURE_PARAM_ALGORITHM_ID,
					algid, sizeof(algid)),
		OSSL_PARAM_END,
	};
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	size_t alen, slen;
	int ret = -EIO;

	if (!md)
		return -ENOMEM;
	if (EVP_DigestSignInit(md, &pctx, sign_md(c->key), NULL, c->key) != 1)
		goto out;
	if (rsa && rsa_pss &&
	    (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
	     EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) !=
		     1))
		goto out;
	if (EVP_PKEY_CTX_get_params(pctx, params) != 1 ||
	    !OSSL_PARAM_modified(&params[0]))
		goto out;
	alen = params[0].return_size;
	if (alen > 255 || 1 + alen > cap)
		goto out;
	out[0] = (uint8_t)alen;
	memcpy(out + 1, algid, alen);
	slen = cap - 1 - alen;
	if (EVP_DigestSign(md, out + 1 + alen, &slen, octets, len) != 1)
		goto out;
	*out_len = 1 + alen + slen;
	ret = 0;
out:
	EVP_MD_CTX_free(md);
	return ret;
}

/* A SHA-2 digest an AlgorithmIdentifier names, or NULL. */
static const EVP_MD *sha2_of(const ASN1_OBJECT *o)
{
	switch (OBJ_obj2nid(o)) {
	case NID_sha256:
		return EVP_sha256();
	case NID_sha384:
		return EVP_sha384();
	case NID_sha512:
		return EVP_sha512();
	}
	return NULL;
}

/* What verifying with an AlgorithmIdentifier takes. */
struct sig_alg {
	int key_type;		/* EVP_PKEY_* the signer's key must be */
	const EVP_MD *md;	/* NULL for Ed25519 */
	bool pss;
	const EVP_MD *mgf1;
	int salt;
};

/* RSASSA-PSS parameters (RFC 4055): SHA-2 and MGF1 with SHA-2 only. */
static int pss_params(const X509_ALGOR *alg, struct sig_alg *s)
{
	const ASN1_STRING *seq;
	const unsigned char *p;
	RSA_PSS_PARAMS *pp;
	X509_ALGOR *mgf_md = NULL;
	int ptype, ret = -EINVAL;
	const void *pval;

	X509_ALGOR_get0(NULL, &ptype, &pval, alg);
	if (ptype != V_ASN1_SEQUENCE)
		return -EINVAL;
	seq = pval;
	p = ASN1_STRING_get0_data(seq);
	pp = d2i_RSA_PSS_PARAMS(NULL, &p, ASN1_STRING_length(seq));
	if (!pp)
		return -EINVAL;
	s->md = pp->hashAlgorithm ? sha2_of(pp->hashAlgorithm->algorithm) :
				    NULL;
	if (pp->maskGenAlgorithm &&
	    OBJ_obj2nid(pp->maskGenAlgorithm->algorithm) == NID_mgf1 &&
	    pp->maskGenAlgorithm->parameter &&
	    pp->maskGenAlgorithm->parameter->type == V_ASN1_SEQUENCE) {
		seq = pp->maskGenAlgorithm->parameter->value.sequence;
		p = ASN1_STRING_get0_data(seq);
		mgf_md = d2i_X509_ALGOR(NULL, &p, ASN1_STRING_length(seq));
	}
	s->mgf1 = mgf_md ? sha2_of(mgf_md->algorithm) : NULL;
	s->salt = pp->saltLength ? (int)ASN1_INTEGER_get(pp->saltLength) : 20;
	if (s->md && s->mgf1 && s->salt >= 0)
		ret = 0;
	X509_ALGOR_free(mgf_md);
	RSA_PSS_PARAMS_free(pp);
	return ret;
}

static int sig_alg_of(const X509_ALGOR *alg, struct sig_alg *s)
{
	const ASN1_OBJECT *oid;

	memset(s, 0, sizeof(*s));
	X509_ALGOR_get0(&oid, NULL, NULL, alg);
	switch (OBJ_obj2nid(oid)) {
	case NID_sha256WithRSAEncryption:
		s->key_type = EVP_PKEY_RSA, s->md = EVP_sha256();
		return 0;
	case NID_sha384WithRSAEncryption:
		s->key_type = EVP_PKEY_RSA, s->md = EVP_sha384();
		return 0;
	case NID_sha512WithRSAEncryption:
		s->key_type = EVP_PKEY_RSA, s->md = EVP_sha512();
		return 0;
	case NID_rsassaPss:
		s->key_type = EVP_PKEY_RSA, s->pss = true;
		return pss_params(alg, s);
	case NID_ecdsa_with_SHA256:
		s->key_type = EVP_PKEY_EC, s->md = EVP_sha256();
		return 0;
	case NID_ecdsa_with_SHA384:
		s->key_type = EVP_PKEY_EC, s->md = EVP_sha384();
		return 0;
	case NID_ecdsa_with_SHA512:
		s->key_type = EVP_PKEY_EC, s->md = EVP_sha512();
		return 0;
	case NID_ED25519:
		s->key_type = EVP_PKEY_ED25519;
		return 0;
	}
	return -EINVAL;
}

static int sig_check(EVP_PKEY *pub, const uint8_t *auth, size_t auth_len,
		     const uint8_t *octets, size_t len, char *why,
		     size_t whylen)
{
	const unsigned char *p = auth + 1;
	EVP_PKEY_CTX *pctx = NULL;
	X509_ALGOR *alg = NULL;
	EVP_MD_CTX *md = NULL;
	struct sig_alg s;
	size_t alen;
	int ret = -EACCES;

	if (auth_len < 2 || (alen = auth[0]) >= auth_len - 1) {
		seterr(why, whylen, "AUTH data too short");
		return -EACCES;
	}
	alg = d2i_X509_ALGOR(NULL, &p, (long)alen);
	if (!alg || p != auth + 1 + alen || sig_alg_of(alg, &s)) {
		seterr(why, whylen, "signature algorithm not supported");
		goto out;
	}
	if (EVP_PKEY_get_base_id(pub) != s.key_type) {
		seterr(why, whylen, "signature algorithm does not fit the key");
		goto out;
	}
	md = EVP_MD_CTX_new();
	if (!md || EVP_DigestVerifyInit(md, &pctx, s.md, NULL, pub) != 1)
		goto out;
	if (s.pss &&
	    (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
	     EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, s.mgf1) != 1 ||
	     EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, s.salt) != 1))
		goto out;
	if (EVP_DigestVerify(md, auth + 1 + alen, auth_len - 1 - alen, octets,
			     len) == 1)
		ret = 0;
	else
		seterr(why, whylen, "bad signature");
out:
	X509_ALGOR_free(alg);
	EVP_MD_CTX_free(md);
	return ret;
}

/* ---- The peer's certificate ---- */

/* Whether the certificate names the identity (section 3.5). */
static bool cert_names(X509 *x, const struct ike_id *id)
{
	const unsigned char *p = id->data;
	X509_NAME *dn;
	bool ok;

	switch (id->type) {
	case IKE_ID_FQDN:
		return X509_check_host(x, (const char *)id->data, id->len,
				       X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS,
				       NULL) == 1;
	case IKE_ID_RFC822_ADDR:
		return X509_check_email(x, (const char *)id->data, id->len,
					0) == 1;
	case IKE_ID_IPV4_ADDR:
	case IKE_ID_IPV6_ADDR:
		return X509_check_ip(x, id->data, id->len, 0) == 1;
	case IKE_ID_DER_ASN1_DN:
		dn = d2i_X509_NAME(NULL, &p, id->len);
		ok = dn && p == id->data + id->len &&
		     !X509_NAME_cmp(dn, X509_get_subject_name(x));
		X509_NAME_free(dn);
		return ok;
	}
	return false;
}

static X509 *cert_from(const struct ike_cert *c)
{
	const unsigned char *p = c->data;
	X509 *x;

	if (c->encoding != IKE_CERT_X509_SIGNATURE)
		return NULL;
	x = d2i_X509(NULL, &p, c->len);
	if (x && p != c->data + c->len) {
		X509_free(x);
		return NULL;
	}
	return x;
}

int ike_cred_verify(const struct ike_cred *c, const struct ike_cert *certs,
		    size_t n_certs, const struct ike_id *id,
		    const uint8_t *auth, size_t auth_len,
		    const uint8_t *octets, size_t len, char *why,
		    size_t whylen)
{
	STACK_OF(X509) *chain = sk_X509_new_null();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	X509 *leaf = NULL;
	int ret = -EACCES;

	if (!chain || !ctx) {
		seterr(why, whylen, "out of memory");
		goto out;
	}
	if (!n_certs || !(leaf = cert_from(&certs[0]))) {
		seterr(why, whylen, "no usable certificate");
		goto out;
	}
	for (size_t i = 1; i < n_certs && i < IKE_CERTS_MAX; i++) {
		X509 *x = cert_from(&certs[i]);

		if (x && !sk_X509_push(chain, x))
			X509_free(x);
	}
	if (X509_STORE_CTX_init(ctx, c->store, leaf, chain) != 1)
		goto out;
	if (X509_verify_cert(ctx) != 1) {
		seterr(why, whylen, "certificate: %s",
		       X509_verify_cert_error_string(
			       X509_STORE_CTX_get_error(ctx)));
		goto out;
	}
	if (!cert_names(leaf, id)) {
		seterr(why, whylen, "the certificate does not name the identity");
		goto out;
	}
	ret = sig_check(X509_get0_pubkey(leaf), auth, auth_len, octets, len,
			why, whylen);
out:
	X509_STORE_CTX_free(ctx);
	sk_X509_pop_free(chain, X509_free);
	X509_free(leaf);
	return ret;
}

/* ---- Distinguished names ---- */

/* "C=CH, O=Example, CN=gw1" (or with '/' between) into DER. */
size_t ike_dn_from_text(const char *text, uint8_t *out, size_t cap,
			char *err, size_t errlen)
{
	X509_NAME *dn = X509_NAME_new();
	char buf[512], *save = NULL, *rdn;
	unsigned char *p = NULL;
	size_t n = 0;
	int len;

	if (!dn || strlen(text) >= sizeof(buf)) {
		seterr(err, errlen, "distinguished name too long");
		goto out;
	}
	strcpy(buf, text);
	for (rdn = strtok_r(buf, ",/", &save); rdn;
	     rdn = strtok_r(NULL, ",/", &save)) {
		char *eq = strchr(rdn, '='), *k = rdn, *v;

		while (*k == ' ')
			k++;
		if (!eq || eq == k) {
			seterr(err, errlen, "'%s' is not TYPE=VALUE", rdn);
			goto out;
		}
		*eq = '\0';
		for (char *e = eq - 1; e > k && *e == ' '; e--)
			*e = '\0';
		v = eq + 1;
		while (*v == ' ')
			v++;
		if (!X509_NAME_add_entry_by_txt(dn, k, MBSTRING_UTF8,
						(const unsigned char *)v, -1,
						-1, 0)) {
			seterr(err, errlen, "unknown attribute type '%s'", k);
			goto out;
		}
	}
	if (!X509_NAME_entry_count(dn)) {
		seterr(err, errlen, "no TYPE=VALUE in it");
		goto out;
	}
	len = i2d_X509_NAME(dn, &p);
	if (len <= 0 || (size_t)len > cap) {
		seterr(err, errlen, "distinguished name too long");
		goto out;
	}
	memcpy(out, p, (size_t)len);
	n = (size_t)len;
out:
	OPENSSL_free(p);
	X509_NAME_free(dn);
	return n;
}

bool ike_dn_equal(const uint8_t *a, size_t a_len, const uint8_t *b,
		  size_t b_len)
{
	const unsigned char *pa = a, *pb = b;
	X509_NAME *na = d2i_X509_NAME(NULL, &pa, (long)a_len);
	X509_NAME *nb = d2i_X509_NAME(NULL, &pb, (long)b_len);
	bool eq = na && nb && !X509_NAME_cmp(na, nb);

	X509_NAME_free(na);
	X509_NAME_free(nb);
	return eq;
}

void ike_dn_text(const uint8_t *der, size_t len, char *buf, size_t buflen)
{
	const unsigned char *p = der;
	X509_NAME *n = d2i_X509_NAME(NULL, &p, (long)len);
	BIO *b = BIO_new(BIO_s_mem());
	int got = 0;

	if (n && b && X509_NAME_print_ex(b, n, 0, XN_FLAG_ONELINE &
				~(ASN1_STRFLGS_ESC_MSB | XN_FLAG_SPC_EQ)) >= 0)
		got = BIO_read(b, buf, (int)buflen - 1);
	buf[got > 0 ? got : 0] = '\0';
	if (got <= 0)
		snprintf(buf, buflen, "(a distinguished name)");
	BIO_free(b);
	X509_NAME_free(n);
}
