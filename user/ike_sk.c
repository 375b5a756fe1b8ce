// SPDX-License-Identifier: GPL-2.0-only
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "aead.h"
#include "bytes.h"
#include "ike_sk.h"
#include "mac.h"

struct ike_sk {
	const struct aead_info *info;
	struct aead *aead;
	struct mac *mac;		/* AES-CBC only */
	size_t icv_len;
	uint8_t salt[AEAD_SALT_LEN];	/* AEADs only */
	uint64_t iv_counter;		/* AEADs: the next explicit IV */
};

struct ike_sk *ike_sk_new(enum xdpsec_alg alg, enum xdpsec_integ integ,
			  const uint8_t *encr_key, const uint8_t *integ_key)
{
	const struct aead_info *info = aead_info(alg);
	const struct mac_info *mi = mac_info(integ);
	struct ike_sk *sk;

	if (!info || (info->kind != AEAD_KIND_AEAD &&
		      info->kind != AEAD_KIND_CIPHER))
		return NULL;
	if ((info->kind == AEAD_KIND_CIPHER) != !!mi)
		return NULL;
	sk = calloc(1, sizeof(*sk));
	if (!sk)
		return NULL;
	sk->info = info;
	sk->aead = aead_new(alg, encr_key);
	if (!sk->aead)
		goto err;
	if (info->kind == AEAD_KIND_AEAD) {
		memcpy(sk->salt, encr_key + info->key_len, AEAD_SALT_LEN);
		sk->icv_len = info->icv_len;
	} else {
		sk->mac = mac_new(integ, integ_key);
		if (!sk->mac)
			goto err;
		sk->icv_len = mi->icv_len;
	}
	sk->iv_counter = 1;
	return sk;
err:
	ike_sk_free(sk);
	return NULL;
}

void ike_sk_free(struct ike_sk *sk)
{
	if (!sk)
		return;
	aead_free(sk->aead);
	mac_free(sk->mac);
	OPENSSL_cleanse(sk, sizeof(*sk));
	free(sk);
}

size_t ike_sk_overhead(const struct ike_sk *sk)
{
	return sk->info->iv_len + sk->info->block + sk->icv_len;
}

size_t ike_sk_plain_off(const struct ike_sk *sk, size_t sk_off,
			size_t sk_hdr)
{
	return sk_off + sk_hdr + sk->info->iv_len;
}

/* The IV of the next message: a counter for AEADs, random for CBC. */
static int next_iv(struct ike_sk *sk, uint8_t *iv)
{
	uint64_t be;

	if (sk->info->kind == AEAD_KIND_CIPHER)
		return RAND_bytes(iv, (int)sk->info->iv_len) == 1 ? 0 : -EIO;
	if (sk->iv_counter == 0)
		return -EIO;	/* 2^64 messages: the key is worn out */
	be = htobe64(sk->iv_counter++);
	memcpy(iv, &be, AEAD_IV_LEN);
	return 0;
}

static void aead_nonce(const struct ike_sk *sk, const uint8_t *iv,
		       uint8_t *nonce)
{
	memcpy(nonce, sk->salt, AEAD_SALT_LEN);
	memcpy(nonce + AEAD_SALT_LEN, iv, AEAD_IV_LEN);
}

int ike_sk_seal(struct ike_sk *sk, uint8_t *msg, size_t cap, size_t sk_off,
		size_t sk_hdr, size_t plain_len, size_t *len)
{
	size_t iv_off = sk_off + sk_hdr, off = iv_off + sk->info->iv_len;
	size_t block = sk->info->block, enc_len, total;
	uint8_t *iv = msg + iv_off, *enc = msg + off;
	uint8_t nonce[AEAD_NONCE_LEN];
	uint8_t pad;
	int ret;

	/* Inner payloads, padding and the pad length byte fill whole blocks. */
	pad = (uint8_t)((block - (plain_len + 1) % block) % block);
	enc_len = plain_len + pad + 1;
	total = off + enc_len + sk->icv_len;
	if (total > cap || total - sk_off > UINT16_MAX)
		return -ENOSPC;
	memset(enc + plain_len, 0, pad);
	enc[plain_len + pad] = pad;
	put_be32(msg + IKE_HDR_LENGTH_OFF, (uint32_t)total);
	put_be16(msg + sk_off + 2, (uint16_t)(total - sk_off));
	ret = next_iv(sk, iv);
	if (ret)
		return ret;

	if (sk->info->kind == AEAD_KIND_AEAD) {
		aead_nonce(sk, iv, nonce);
		ret = aead_seal(sk->aead, nonce, msg, iv_off, enc, enc_len,
				enc + enc_len);
	} else {
		const struct mac_seg all = { msg, off + enc_len };

		ret = aead_encrypt(sk->aead, iv, enc, enc_len);
		if (!ret)
			ret = mac_compute(sk->mac, &all, 1, enc + enc_len);
	}
	if (ret)
		return ret;
	*len = total;
	return 0;
}

int ike_sk_open(struct ike_sk *sk, uint8_t *msg, size_t len, size_t sk_off,
		size_t sk_hdr, uint8_t **plain, size_t *plain_len)
{
	size_t iv_off = sk_off + sk_hdr, off = iv_off + sk->info->iv_len;
	uint8_t *iv = msg + iv_off, *enc = msg + off;
	uint8_t nonce[AEAD_NONCE_LEN];
	size_t enc_len;
	uint8_t pad;
	int ret;

	if (len < off + 1 + sk->icv_len)
		return -EBADMSG;
	enc_len = len - off - sk->icv_len;
	if (enc_len % sk->info->block)
		return -EBADMSG;

	if (sk->info->kind == AEAD_KIND_AEAD) {
		aead_nonce(sk, iv, nonce);
		ret = aead_open(sk->aead, nonce, msg, iv_off, enc, enc_len,
				enc + enc_len);
	} else {
		const struct mac_seg all = { msg, off + enc_len };

		ret = mac_verify(sk->mac, &all, 1, enc + enc_len);
		if (!ret)
			ret = aead_decrypt(sk->aead, iv, enc, enc_len);
	}
	if (ret)
		return ret;

	pad = enc[enc_len - 1];
	if ((size_t)pad + 1 > enc_len)
		return -EBADMSG;
	*plain = enc;
	*plain_len = enc_len - pad - 1;
	return 0;
}
