// SPDX-License-Identifier: GPL-2.0-only
#include <endian.h>
#include <errno.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "ike_keys.h"

/* Not const: OpenSSL's parameter takes a non-const digest name. */
static struct {
	uint16_t id;
	const char *name;
	char digest[8];
	size_t len;
} prfs[] = {
	{ IKE_PRF_HMAC_SHA2_256, "hmac-sha256", "SHA256", 32 },
	{ IKE_PRF_HMAC_SHA2_384, "hmac-sha384", "SHA384", 48 },
	{ IKE_PRF_HMAC_SHA2_512, "hmac-sha512", "SHA512", 64 },
};

static int prf_index(uint16_t prf)
{
	for (size_t i = 0; i < sizeof(prfs) / sizeof(prfs[0]); i++)
		if (prfs[i].id == prf)
			return (int)i;
	return -1;
}

size_t ike_prf_len(uint16_t prf)
{
	int i = prf_index(prf);

	return i < 0 ? 0 : prfs[i].len;
}

const char *ike_prf_name(uint16_t prf)
{
	int i = prf_index(prf);

	return i < 0 ? NULL : prfs[i].name;
}

int ike_prf(uint16_t prf, const uint8_t *key, size_t key_len,
	    const struct ike_seg *seg, unsigned int n, uint8_t *out)
{
	int i = prf_index(prf);
	OSSL_PARAM params[2];
	EVP_MAC_CTX *ctx = NULL;
	EVP_MAC *mac = NULL;
	size_t len = 0;
	int ret = -EIO;

	if (i < 0)
		return -EINVAL;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
						     prfs[i].digest, 0);
	params[1] = OSSL_PARAM_construct_end();

	mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
	if (!ctx || !EVP_MAC_init(ctx, key, key_len, params))
		goto out;
	for (unsigned int s = 0; s < n; s++)
		if (seg[s].len && !EVP_MAC_update(ctx, seg[s].data, seg[s].len))
			goto out;
	if (EVP_MAC_final(ctx, out, &len, prfs[i].len) && len == prfs[i].len)
		ret = 0;
out:
	EVP_MAC_CTX_free(ctx);	/* cleanses the keyed state */
	EVP_MAC_free(mac);
	return ret;
}

int ike_prf_plus(uint16_t prf, const uint8_t *key, size_t key_len,
		 const struct ike_seg *seed, unsigned int n, uint8_t *out,
		 size_t out_len)
{
	size_t plen = ike_prf_len(prf), done = 0;
	struct ike_seg segs[8];
	uint8_t t[IKE_PRF_MAX];
	uint8_t counter;
	int ret = 0;

	if (!plen || n + 2 > sizeof(segs) / sizeof(segs[0]) ||
	    out_len > IKE_PRF_PLUS_MAX * plen)
		return -EINVAL;

	/* T1 = prf(K, S | 0x01), Tn = prf(K, Tn-1 | S | n) */
	for (counter = 1; !ret && done < out_len; counter++) {
		unsigned int k = 0;

		if (counter > 1)
			segs[k++] = (struct ike_seg){ t, plen };
		for (unsigned int s = 0; s < n; s++)
			segs[k++] = seed[s];
		segs[k++] = (struct ike_seg){ &counter, 1 };
		ret = ike_prf(prf, key, key_len, segs, k, t);
		if (!ret) {
			size_t take = out_len - done < plen ? out_len - done :
							      plen;

			memcpy(out + done, t, take);
			done += take;
		}
	}
	OPENSSL_cleanse(t, sizeof(t));
	if (ret)
		OPENSSL_cleanse(out, out_len);
	return ret;
}

/* SKEYSEED, for a new IKE SA or for a rekeyed one. */
static int skeyseed(uint16_t prf, const struct ike_keys_input *in,
		    uint8_t *out)
{
	uint8_t nonces[2 * 256];
	struct ike_seg data[3];
	int ret;

	if (in->old_sk_d) {
		data[0] = (struct ike_seg){ in->gir, in->gir_len };
		data[1] = (struct ike_seg){ in->ni, in->ni_len };
		data[2] = (struct ike_seg){ in->nr, in->nr_len };
		return ike_prf(prf, in->old_sk_d, in->old_sk_d_len, data, 3,
			       out);
	}
	if (in->ni_len + in->nr_len > sizeof(nonces))
		return -EINVAL;
	memcpy(nonces, in->ni, in->ni_len);
	memcpy(nonces + in->ni_len, in->nr, in->nr_len);
	data[0] = (struct ike_seg){ in->gir, in->gir_len };
	ret = ike_prf(prf, nonces, in->ni_len + in->nr_len, data, 1, out);
	OPENSSL_cleanse(nonces, sizeof(nonces));
	return ret;
}

/* Copies the next len bytes of key material; returns what follows. */
static const uint8_t *take(uint8_t *dst, const uint8_t *p, size_t len)
{
	memcpy(dst, p, len);
	return p + len;
}

int ike_keys_derive(uint16_t prf, const struct ike_keys_input *in,
		    struct ike_sa_keys *k)
{
	size_t plen = ike_prf_len(prf), total;
	uint8_t seed[IKE_PRF_MAX], keymat[7 * IKE_PRF_MAX];
	const uint8_t *p = keymat;
	uint64_t spi_i = htobe64(in->spi_i), spi_r = htobe64(in->spi_r);
	const struct ike_seg s[4] = {
		{ in->ni, in->ni_len }, { in->nr, in->nr_len },
		{ &spi_i, 8 }, { &spi_r, 8 },
	};
	int ret;

	if (!plen || k->integ_len > IKE_INTEG_KEY_MAX ||
	    k->encr_len > IKE_ENCR_KEY_MAX)
		return -EINVAL;
	k->prf_len = plen;
	total = 3 * plen + 2 * k->integ_len + 2 * k->encr_len;

	ret = skeyseed(prf, in, seed);
	if (!ret)
		ret = ike_prf_plus(prf, seed, plen, s, 4, keymat, total);
	if (!ret) {
		/* {SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr} */
		p = take(k->sk_d, p, plen);
		p = take(k->sk_ai, p, k->integ_len);
		p = take(k->sk_ar, p, k->integ_len);
		p = take(k->sk_ei, p, k->encr_len);
		p = take(k->sk_er, p, k->encr_len);
		p = take(k->sk_pi, p, plen);
		take(k->sk_pr, p, plen);
	}
	OPENSSL_cleanse(seed, sizeof(seed));
	OPENSSL_cleanse(keymat, sizeof(keymat));
	return ret;
}

void ike_keys_wipe(struct ike_sa_keys *k)
{
	OPENSSL_cleanse(k, sizeof(*k));
}

int ike_child_keymat(uint16_t prf, const uint8_t *sk_d, size_t sk_d_len,
		     const uint8_t *gir, size_t gir_len, const uint8_t *ni,
		     size_t ni_len, const uint8_t *nr, size_t nr_len,
		     uint8_t *out, size_t out_len)
{
	struct ike_seg s[3];
	unsigned int n = 0;

	if (gir)
		s[n++] = (struct ike_seg){ gir, gir_len };
	s[n++] = (struct ike_seg){ ni, ni_len };
	s[n++] = (struct ike_seg){ nr, nr_len };
	return ike_prf_plus(prf, sk_d, sk_d_len, s, n, out, out_len);
}

int ike_psk_auth(uint16_t prf, const uint8_t *psk, size_t psk_len,
		 const uint8_t *msg, size_t msg_len, const uint8_t *nonce,
		 size_t nonce_len, const uint8_t *sk_p, const uint8_t *id,
		 size_t id_len, uint8_t *out)
{
	static const char pad[] = "Key Pad for IKEv2";
	const struct ike_seg pad_seg = { pad, sizeof(pad) - 1 };
	size_t plen = ike_prf_len(prf);
	uint8_t key[IKE_PRF_MAX], mac_id[IKE_PRF_MAX];
	struct ike_seg octets[3];
	int ret;

	if (!plen)
		return -EINVAL;
	ret = ike_prf(prf, psk, psk_len, &pad_seg, 1, key);
	if (!ret) {
		const struct ike_seg id_seg = { id, id_len };

		ret = ike_prf(prf, sk_p, plen, &id_seg, 1, mac_id);
	}
	if (!ret) {
		/* The signed octets: message | nonce | prf(SK_p, ID') */
		octets[0] = (struct ike_seg){ msg, msg_len };
		octets[1] = (struct ike_seg){ nonce, nonce_len };
		octets[2] = (struct ike_seg){ mac_id, plen };
		ret = ike_prf(prf, key, plen, octets, 3, out);
	}
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(mac_id, sizeof(mac_id));
	return ret;
}
