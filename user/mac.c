// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "mac.h"

static const struct mac_info mac_infos[] = {
	[XDPSEC_INTEG_HMAC_SHA256_128] = { "hmac-sha256-128", 32, 16 },
	[XDPSEC_INTEG_HMAC_SHA384_192] = { "hmac-sha384-192", 48, 24 },
	[XDPSEC_INTEG_HMAC_SHA512_256] = { "hmac-sha512-256", 64, 32 },
};

/* Not const: OSSL_PARAM takes a char *, though it only reads it. */
static char mac_digests[][8] = {
	[XDPSEC_INTEG_HMAC_SHA256_128] = "SHA256",
	[XDPSEC_INTEG_HMAC_SHA384_192] = "SHA384",
	[XDPSEC_INTEG_HMAC_SHA512_256] = "SHA512",
};

/* Names as strongSwan writes them, accepted too. */
static const struct {
	const char *name;
	enum xdpsec_integ integ;
} mac_aliases[] = {
	{ "sha256", XDPSEC_INTEG_HMAC_SHA256_128 },
	{ "sha384", XDPSEC_INTEG_HMAC_SHA384_192 },
	{ "sha512", XDPSEC_INTEG_HMAC_SHA512_256 },
};

#define MAC_NINTEG (sizeof(mac_infos) / sizeof(mac_infos[0]))

struct mac {
	EVP_MAC_CTX *ctx;
	const struct mac_info *info;
};

const struct mac_info *mac_info(enum xdpsec_integ integ)
{
	if ((unsigned int)integ >= MAC_NINTEG || !mac_infos[integ].name)
		return NULL;
	return &mac_infos[integ];
}

int mac_parse(const char *name, enum xdpsec_integ *integ)
{
	for (unsigned int i = 0; i < MAC_NINTEG; i++) {
		if (mac_infos[i].name && !strcmp(name, mac_infos[i].name)) {
			*integ = i;
			return 0;
		}
	}
	for (size_t i = 0; i < sizeof(mac_aliases) / sizeof(*mac_aliases);
	     i++) {
		if (!strcmp(name, mac_aliases[i].name)) {
			*integ = mac_aliases[i].integ;
			return 0;
		}
	}
	return -EINVAL;
}

struct mac *mac_new(enum xdpsec_integ integ, const uint8_t *key)
{
	const struct mac_info *info = mac_info(integ);
	OSSL_PARAM params[2];
	struct mac *m;
	EVP_MAC *hmac;

	if (!info)
		return NULL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->info = info;
	hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (hmac)
		m->ctx = EVP_MAC_CTX_new(hmac);
	EVP_MAC_free(hmac);
	if (!m->ctx)
		goto err;

	params[0] = OSSL_PARAM_construct_utf8_string(
		OSSL_MAC_PARAM_DIGEST, mac_digests[integ], 0);
	params[1] = OSSL_PARAM_construct_end();
	if (!EVP_MAC_init(m->ctx, key, info->key_len, params))
		goto err;
	return m;

err:
	mac_free(m);
	return NULL;
}

void mac_free(struct mac *m)
{
	if (!m)
		return;
	/* The provider cleanses its copy of the key when freed. */
	EVP_MAC_CTX_free(m->ctx);
	free(m);
}

int mac_compute(struct mac *m, const struct mac_seg *segs, unsigned int n,
		uint8_t *icv)
{
	uint8_t full[EVP_MAX_MD_SIZE];
	size_t len;

	/* A NULL key restarts the computation with the key set at mac_new. */
	if (!EVP_MAC_init(m->ctx, NULL, 0, NULL))
		return -EIO;
	for (unsigned int i = 0; i < n; i++)
		if (segs[i].len && !EVP_MAC_update(m->ctx, segs[i].data,
						   segs[i].len))
			return -EIO;
	if (!EVP_MAC_final(m->ctx, full, &len, sizeof(full)) ||
	    len < m->info->icv_len)
		return -EIO;
	memcpy(icv, full, m->info->icv_len);
	OPENSSL_cleanse(full, sizeof(full));
	return 0;
}

int mac_verify(struct mac *m, const struct mac_seg *segs, unsigned int n,
	       const uint8_t *icv)
{
	uint8_t want[MAC_ICV_MAX];
	int ret = mac_compute(m, segs, n, want);

	if (ret)
		return ret;
	if (CRYPTO_memcmp(want, icv, m->info->icv_len))
		return -EBADMSG;
	return 0;
}
