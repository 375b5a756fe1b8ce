// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "bytes.h"
#include "ike_cert.h"
#include "ike_ke.h"
#include "ike_sa.h"
#include "ike_sk.h"
#include "log.h"

/* Anything a peer can make us say is said at most this often. */
static struct log_limit peer_log = LOG_LIMIT_INIT(5, 20);

#define peer_warn(...) log_ratelimited(&peer_log, LOG_LVL_WARN, __VA_ARGS__)

/* ---- Small things ---- */

uint64_t ike_clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

const char *ike_state_name(enum ike_sa_state s)
{
	switch (s) {
	case IKE_SA_CONNECTING:
		return "connecting";
	case IKE_SA_AUTHENTICATING:
		return "authenticating";
	case IKE_SA_ESTABLISHED:
		return "established";
	case IKE_SA_DELETING:
		return "deleting";
	case IKE_SA_DEAD:
		return "dead";
	}
	return "?";
}

static int random_bytes(void *p, size_t len)
{
	return RAND_bytes(p, (int)len) == 1 ? 0 : -EIO;
}

static uint8_t *dup_bytes(const uint8_t *p, size_t len)
{
	uint8_t *d = malloc(len ? len : 1);

	if (d)
		memcpy(d, p, len);
	return d;
}

static void replace_bytes(uint8_t **dst, size_t *dst_len, const uint8_t *p,
			  size_t len)
{
	free(*dst);
	*dst = dup_bytes(p, len);
	*dst_len = *dst ? len : 0;
}

static const char *sa_name(const struct ike_sa *sa)
{
	return sa->conn.name;
}

/* ---- Transforms ---- */

enum xdpsec_alg ike_encr_alg(uint16_t encr, uint16_t bits)
{
	if (encr == IKE_ENCR_AES_GCM_16 && bits == 128)
		return XDPSEC_ALG_AES_GCM_128;
	if (encr == IKE_ENCR_AES_GCM_16 && bits == 256)
		return XDPSEC_ALG_AES_GCM_256;
	if (encr == IKE_ENCR_CHACHA20_POLY1305 && !bits)
		return XDPSEC_ALG_CHACHA20_POLY1305;
	if (encr == IKE_ENCR_AES_CBC && bits == 128)
		return XDPSEC_ALG_AES_CBC_128;
	if (encr == IKE_ENCR_AES_CBC && bits == 256)
		return XDPSEC_ALG_AES_CBC_256;
	if (encr == IKE_ENCR_NULL_AUTH_AES_GMAC && bits == 128)
		return XDPSEC_ALG_AES_GMAC_128;
	if (encr == IKE_ENCR_NULL_AUTH_AES_GMAC && bits == 256)
		return XDPSEC_ALG_AES_GMAC_256;
	return XDPSEC_ALG_NONE;
}

enum xdpsec_integ ike_integ_alg(uint16_t integ)
{
	switch (integ) {
	case IKE_INTEG_HMAC_SHA2_256_128:
		return XDPSEC_INTEG_HMAC_SHA256_128;
	case IKE_INTEG_HMAC_SHA2_384_192:
		return XDPSEC_INTEG_HMAC_SHA384_192;
	case IKE_INTEG_HMAC_SHA2_512_256:
		return XDPSEC_INTEG_HMAC_SHA512_256;
	}
	return XDPSEC_INTEG_NONE;
}

/* Key material lengths: the cipher key with the AEAD salt, the MAC key. */
static size_t encr_key_len(uint16_t encr, uint16_t bits)
{
	size_t salt = encr == IKE_ENCR_AES_CBC ? 0 : 4;

	return (encr == IKE_ENCR_CHACHA20_POLY1305 ? 32 : bits / 8) + salt;
}

static size_t integ_key_len(uint16_t integ)
{
	switch (integ) {
	case IKE_INTEG_HMAC_SHA2_256_128:
		return 32;
	case IKE_INTEG_HMAC_SHA2_384_192:
		return 48;
	case IKE_INTEG_HMAC_SHA2_512_256:
		return 64;
	}
	return 0;
}

enum { XF_MAX = 6 };	/* transforms in one proposal we build */

/* Our proposal p as the codec writes it; for ESP with spi, no KE. */
static size_t prop_transforms(const struct conn_proposal *p, bool ike,
			      bool with_ke, struct ike_transform *t)
{
	size_t n = 0;

	memset(t, 0, XF_MAX * sizeof(*t));
	t[n].type = IKE_TRANSFORM_ENCR;
	t[n].id = p->encr;
	t[n++].key_len = p->encr_bits;
	if (ike) {
		t[n].type = IKE_TRANSFORM_PRF;
		t[n++].id = p->prf;
	}
	if (p->integ) {
		t[n].type = IKE_TRANSFORM_INTEG;
		t[n++].id = p->integ;
	}
	if (p->group && with_ke) {
		t[n].type = IKE_TRANSFORM_KE;
		t[n++].id = p->group;
	}
	if (!ike && (p->esn & CONN_ESN_YES)) {
		t[n].type = IKE_TRANSFORM_ESN;
		t[n++].id = IKE_ESN_YES;
	}
	if (!ike && (p->esn & CONN_ESN_NO)) {
		t[n].type = IKE_TRANSFORM_ESN;
		t[n++].id = IKE_ESN_NO;
	}
	return n;
}

static bool offer_has(const struct ike_proposal *o, uint8_t type, uint16_t id,
		      uint16_t key_len)
{
	for (size_t i = 0; i < o->ntransforms; i++) {
		const struct ike_transform *t = &o->transforms[i];

		if (t->type == type && t->id == id && t->key_len == key_len &&
		    !t->nattrs)
			return true;
	}
	return false;
}

static bool offer_has_type(const struct ike_proposal *o, uint8_t type)
{
	for (size_t i = 0; i < o->ntransforms; i++)
		if (o->transforms[i].type == type)
			return true;
	return false;
}

/*
 * Whether an offered proposal allows ours: every type it has, ours has
 * too with a value it offers, and the other way round.  ESN picks ESN
 * where both allow it.  KE is left out of the comparison in IKE_AUTH.
 */
static bool prop_match(const struct ike_proposal *o,
		       const struct conn_proposal *p, bool ike, bool with_ke,
		       struct conn_proposal *out)
{
	*out = *p;
	if (!offer_has(o, IKE_TRANSFORM_ENCR, p->encr, p->encr_bits))
		return false;
	if (ike && !offer_has(o, IKE_TRANSFORM_PRF, p->prf, 0))
		return false;
	if (p->integ ? !offer_has(o, IKE_TRANSFORM_INTEG, p->integ, 0) :
		       offer_has_type(o, IKE_TRANSFORM_INTEG) &&
		       !offer_has(o, IKE_TRANSFORM_INTEG, IKE_INTEG_NONE, 0))
		return false;
	if (with_ke && (p->group ? !offer_has(o, IKE_TRANSFORM_KE, p->group, 0) :
				   offer_has_type(o, IKE_TRANSFORM_KE)))
		return false;
	if (!with_ke)
		out->group = 0;
	if (ike)
		return true;
	out->esn = 0;
	if ((p->esn & CONN_ESN_YES) && offer_has(o, IKE_TRANSFORM_ESN,
						 IKE_ESN_YES, 0))
		out->esn = CONN_ESN_YES;
	else if ((p->esn & CONN_ESN_NO) &&
		 (offer_has(o, IKE_TRANSFORM_ESN, IKE_ESN_NO, 0) ||
		  !offer_has_type(o, IKE_TRANSFORM_ESN)))
		out->esn = CONN_ESN_NO;
	return out->esn != 0;
}

/*
 * The responder's choice: our proposals in our order of preference,
 * against every proposal offered for protocol.  Returns the offered
 * proposal chosen, or NULL.
 */
static const struct ike_proposal *
prop_choose(const struct ike_sa_payload *offer, const struct conn_proposal *ours,
	    unsigned int n_ours, uint8_t protocol, bool with_ke,
	    struct conn_proposal *chosen)
{
	bool ike = protocol == IKE_PROTO_IKE;

	for (unsigned int i = 0; i < n_ours; i++) {
		for (size_t j = 0; j < offer->nproposals; j++) {
			const struct ike_proposal *o = &offer->proposals[j];

			if (o->protocol != protocol)
				continue;
			if (prop_match(o, &ours[i], ike, with_ke, chosen))
				return o;
		}
	}
	return NULL;
}

/* Reads a lone proposal, the responder's choice, back into our terms. */
static int prop_read(const struct ike_proposal *o, bool ike,
		     struct conn_proposal *out)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < o->ntransforms; i++) {
		const struct ike_transform *t = &o->transforms[i];

		switch (t->type) {
		case IKE_TRANSFORM_ENCR:
			out->encr = t->id;
			out->encr_bits = t->key_len;
			break;
		case IKE_TRANSFORM_PRF:
			out->prf = t->id;
			break;
		case IKE_TRANSFORM_INTEG:
			out->integ = t->id;
			break;
		case IKE_TRANSFORM_KE:
			out->group = t->id;
			break;
		case IKE_TRANSFORM_ESN:
			out->esn |= t->id == IKE_ESN_YES ? CONN_ESN_YES :
							   CONN_ESN_NO;
			break;
		}
	}
	if (!out->encr || (ike && (!out->prf || !out->group)))
		return -EBADMSG;
	return 0;
}

/* Whether a responder's choice is one of the proposals we made. */
static bool prop_was_offered(const struct conn_proposal *chosen,
			     const struct conn_proposal *ours, unsigned int n,
			     bool ike)
{
	for (unsigned int i = 0; i < n; i++) {
		const struct conn_proposal *p = &ours[i];

		if (p->encr != chosen->encr || p->encr_bits != chosen->encr_bits ||
		    p->integ != chosen->integ)
			continue;
		if (ike && (p->prf != chosen->prf || p->group != chosen->group))
			continue;
		if (!ike && (!chosen->esn || (chosen->esn & ~p->esn) ||
			     chosen->esn == (CONN_ESN_YES | CONN_ESN_NO)))
			continue;
		return true;
	}
	return false;
}

/* ---- The SA table ---- */

static struct ike_sa *sa_new(struct ike *ike, const struct conn_conf *conn,
			     bool initiator)
{
	struct ike_sa *sa;

	if (ike->n_sas >= IKE_SAS_MAX)
		return NULL;
	sa = calloc(1, sizeof(*sa));
	if (!sa)
		return NULL;
	sa->conn = *conn;
	sa->initiator = initiator;
	sa->created_ms = ike->now_ms;
	sa->last_in_ms = ike->now_ms;
	sa->next = ike->sas;
	ike->sas = sa;
	ike->n_sas++;
	ike->n_half_open++;
	return sa;
}

static void child_free(struct ike *ike, struct ike_sa *sa, struct ike_child *c)
{
	if (c->installed && ike->env.child_down)
		ike->env.child_down(ike->env.arg, sa, c);
	free(c);
}

static void reasm_reset(struct ike_reasm *r)
{
	for (int i = 0; i < IKE_FRAGS_MAX; i++) {
		if (r->part[i])
			OPENSSL_clear_free(r->part[i], r->part_len[i]);
		r->part[i] = NULL;
	}
	r->total = r->got = 0;
}

static void sa_free(struct ike *ike, struct ike_sa *sa)
{
	struct ike_child *c, *next;

	for (c = sa->children; c; c = next) {
		next = c->next;
		child_free(ike, sa, c);
	}
	free(sa->pending);
	ike_ke_free(sa->ke);
	ike_ke_free(sa->cke);
	reasm_reset(&sa->reasm);
	free(sa->reasm.whole);
	ike_sk_free(sa->sk_in);
	ike_sk_free(sa->sk_out);
	ike_cred_free(sa->cred);
	ike_keys_wipe(&sa->keys);
	free(sa->init_req);
	free(sa->init_resp);
	free(sa->resp);
	free(sa->req);
	OPENSSL_cleanse(sa, sizeof(*sa));
	free(sa);
}

/* Marks the SA for removal; it is freed by the next timer run. */
static void sa_kill(struct ike *ike, struct ike_sa *sa, const char *why)
{
	if (sa->state == IKE_SA_DEAD)
		return;
	if (sa->state != IKE_SA_ESTABLISHED && sa->state != IKE_SA_DELETING)
		ike->n_half_open--;
	log_info("IKE SA %s %016llx: %s", sa_name(sa),
		 (unsigned long long)sa->spi_i, why);
	sa->state = IKE_SA_DEAD;
	sa->req_kind = IKE_REQ_NONE;
}

static void sa_reap(struct ike *ike)
{
	struct ike_sa **pp = &ike->sas, *sa;

	while ((sa = *pp)) {
		if (sa->state == IKE_SA_DEAD) {
			*pp = sa->next;
			ike->n_sas--;
			sa_free(ike, sa);
		} else {
			pp = &sa->next;
		}
	}
}

static struct ike_sa *sa_find(struct ike *ike, uint64_t spi_i, uint64_t spi_r)
{
	for (struct ike_sa *sa = ike->sas; sa; sa = sa->next)
		if (sa->state != IKE_SA_DEAD && sa->spi_i == spi_i &&
		    sa->spi_r == spi_r)
			return sa;
	return NULL;
}

/* A responder's SA for a retransmitted IKE_SA_INIT request. */
static struct ike_sa *sa_find_init(struct ike *ike, uint64_t spi_i,
				   const union ike_sockaddr *remote)
{
	for (struct ike_sa *sa = ike->sas; sa; sa = sa->next)
		if (sa->state != IKE_SA_DEAD && !sa->initiator &&
		    sa->spi_i == spi_i &&
		    ike_sockaddr_equal(&sa->dg.remote, remote))
			return sa;
	return NULL;
}

struct ike_sa *ike_find_conn(struct ike *ike, const char *conn_name)
{
	for (struct ike_sa *sa = ike->sas; sa; sa = sa->next)
		if (sa->state != IKE_SA_DEAD &&
		    !strcmp(sa->conn.name, conn_name))
			return sa;
	return NULL;
}

static bool child_spi_used(struct ike *ike, uint32_t spi)
{
	for (struct ike_sa *sa = ike->sas; sa; sa = sa->next)
		for (struct ike_child *c = sa->children; c; c = c->next)
			if (c->spi_in == spi)
				return true;
	return false;
}

/* An inbound SPI of ours: random, above the reserved 1-255, unused. */
static int child_spi_new(struct ike *ike, uint32_t *spi)
{
	for (int tries = 0; tries < 16; tries++) {
		if (random_bytes(spi, sizeof(*spi)))
			return -EIO;
		if (*spi > 255 && !child_spi_used(ike, *spi))
			return 0;
	}
	return -EAGAIN;
}

/* ---- Sending ---- */

enum { TRAIN_HDR = 2 };		/* a datagram's length before it */

static int sk_wrap_one(struct ike_sa *sa, uint8_t exch, bool response,
		       uint32_t msg_id, struct ike_buf *inner, uint8_t *out,
		       size_t cap, size_t *len);

/*
 * What we send goes as a train: each datagram after its length (2 bytes),
 * so that a message in fragments (RFC 7383) is sent, and sent again, as a
 * whole.
 */
static int send_raw(struct ike *ike, struct ike_sa *sa, const uint8_t *train,
		    size_t len)
{
	int ret = 0;

	for (size_t off = 0; off + TRAIN_HDR <= len;) {
		size_t n = get_be16(train + off);

		if (off + TRAIN_HDR + n > len)
			break;
		ret = ike_sock_send(ike->env.sock, &sa->dg,
				    train + off + TRAIN_HDR, n);
		if (ret)
			log_ratelimited(&peer_log, LOG_LVL_WARN,
					"IKE %s: send: %s", sa_name(sa),
					strerror(-ret));
		off += TRAIN_HDR + n;
	}
	sa->msgs_out++;
	return ret;
}

/* Sends our request and keeps it for retransmission. */
static int send_request(struct ike *ike, struct ike_sa *sa,
			enum ike_req_kind kind, const uint8_t *msg, size_t len)
{
	replace_bytes(&sa->req, &sa->req_len, msg, len);
	if (!sa->req)
		return -ENOMEM;
	sa->req_kind = kind;
	sa->req_tries = 0;
	sa->req_due_ms = ike->now_ms + IKE_RETRANSMIT_MS;
	return send_raw(ike, sa, msg, len);
}

/* Sends a response and keeps it for a retransmitted request. */
static int send_response(struct ike *ike, struct ike_sa *sa,
			 const uint8_t *msg, size_t len)
{
	replace_bytes(&sa->resp, &sa->resp_len, msg, len);
	return send_raw(ike, sa, msg, len);
}

static void hdr_fill(const struct ike_sa *sa, struct ike_hdr *h, uint8_t exch,
		     bool response, uint32_t msg_id)
{
	memset(h, 0, sizeof(*h));
	h->ispi = sa->spi_i;
	h->rspi = sa->spi_r;
	h->version = IKE_MAJOR_VERSION << 4;
	h->exchange = exch;
	h->flags = (sa->initiator ? IKE_FLAG_I : 0) |
		   (response ? IKE_FLAG_R : 0);
	h->msg_id = msg_id;
}

/*
 * One Encrypted Fragment (RFC 7383 section 2.5): number of total, holding
 * plain_len bytes of the inner payloads, sealed like SK on its own.
 */
static int skf_seal(struct ike_sa *sa, const struct ike_hdr *h, uint8_t first,
		    uint16_t number, uint16_t total, const uint8_t *plain,
		    size_t plain_len, uint8_t *out, size_t cap, size_t *len)
{
	size_t iv = ike_sk_plain_off(sa->sk_out, 0, 0);
	uint8_t body[IKE_FRAG_MSG + 64];
	struct ike_skf f = { .number = number, .total = total };
	struct ike_buf b;
	int ret;

	f.len = (uint16_t)(iv + plain_len + ike_sk_overhead(sa->sk_out));
	if (f.len > sizeof(body))
		return -EMSGSIZE;
	memset(body, 0, f.len);
	memcpy(body + iv, plain, plain_len);
	f.data = body;
	ike_buf_init(&b, out, cap);
	ike_put_hdr(&b, h);
	ike_put_skf(&b, number == 1 ? first : IKE_PL_NONE, &f);
	ret = ike_buf_finish(&b);
	OPENSSL_cleanse(body, f.len);
	if (ret)
		return ret;
	return ike_sk_seal(sa->sk_out, out, cap, IKE_HDR_LEN, IKE_SKF_HDR_LEN,
			   plain_len, len);
}

/* The message in fragments, each one record of the train in out. */
static int sk_wrap_fragments(struct ike_sa *sa, const struct ike_hdr *h,
			     const struct ike_buf *inner, uint8_t *out,
			     size_t cap, size_t *len)
{
	size_t chunk = IKE_FRAG_MSG - IKE_HDR_LEN - IKE_SKF_HDR_LEN -
		       ike_sk_plain_off(sa->sk_out, 0, 0) -
		       ike_sk_overhead(sa->sk_out);
	size_t total = (inner->len + chunk - 1) / chunk, off = 0;
	int ret;

	if (total > IKE_FRAGS_MAX)
		return -EMSGSIZE;
	for (size_t i = 0; i < total; i++) {
		size_t n = inner->len - i * chunk < chunk ?
				   inner->len - i * chunk : chunk, flen;

		if (off + TRAIN_HDR > cap)
			return -ENOSPC;
		ret = skf_seal(sa, h, inner->first, (uint16_t)(i + 1),
			       (uint16_t)total, inner->data + i * chunk, n,
			       out + off + TRAIN_HDR, cap - off - TRAIN_HDR,
			       &flen);
		if (ret)
			return ret;
		put_be16(out + off, (uint16_t)flen);
		off += TRAIN_HDR + flen;
	}
	sa->frags_out += total;
	*len = off;
	return 0;
}

/*
 * Wraps the payload chain in inner into an SK payload, sealed, as the
 * train in out (*len its length): one message, or its fragments when the
 * peer takes them and the message would not fit IKE_FRAG_MSG.
 */
static int sk_wrap(struct ike_sa *sa, uint8_t exch, bool response,
		   uint32_t msg_id, struct ike_buf *inner, uint8_t *out,
		   size_t cap, size_t *len)
{
	int ret;

	if (cap < TRAIN_HDR)
		return -ENOSPC;
	ret = sk_wrap_one(sa, exch, response, msg_id, inner, out + TRAIN_HDR,
			  cap - TRAIN_HDR, len);
	if (ret == 0 && sa->frag_ok && *len > IKE_FRAG_MSG) {
		struct ike_hdr h;

		hdr_fill(sa, &h, exch, response, msg_id);
		return sk_wrap_fragments(sa, &h, inner, out, cap, len);
	}
	if (ret)
		return ret;
	put_be16(out, (uint16_t)*len);
	*len += TRAIN_HDR;
	return 0;
}

static int sk_wrap_one(struct ike_sa *sa, uint8_t exch, bool response,
		       uint32_t msg_id, struct ike_buf *inner, uint8_t *out,
		       size_t cap, size_t *len)
{
	uint8_t body[IKE_MSG_MAX];
	size_t iv = ike_sk_plain_off(sa->sk_out, 0, 0);
	size_t body_len, plain_len;
	struct ike_hdr h;
	struct ike_buf b;
	int ret;

	ret = ike_buf_finish(inner);
	if (ret)
		return ret;
	plain_len = inner->len;
	body_len = iv + plain_len + ike_sk_overhead(sa->sk_out);
	if (body_len > sizeof(body))
		return -EMSGSIZE;
	memset(body, 0, body_len);
	memcpy(body + iv, inner->data, plain_len);

	hdr_fill(sa, &h, exch, response, msg_id);
	ike_buf_init(&b, out, cap);
	ike_put_hdr(&b, &h);
	ike_put_sk(&b, plain_len ? inner->first : IKE_PL_NONE, body, body_len);
	ret = ike_buf_finish(&b);
	OPENSSL_cleanse(body, body_len);
	if (ret)
		return ret;
	return ike_sk_seal(sa->sk_out, out, cap, IKE_HDR_LEN,
			   IKE_PAYLOAD_HDR_LEN, plain_len, len);
}

/* An encrypted message with only a notify: errors in responses. */
static void respond_notify(struct ike *ike, struct ike_sa *sa, uint8_t exch,
			   uint32_t msg_id, uint16_t type)
{
	uint8_t inner_buf[64], out[IKE_MSG_MAX];
	struct ike_notify n = { .type = type };
	struct ike_buf inner;
	size_t len;

	ike_buf_init(&inner, inner_buf, sizeof(inner_buf));
	ike_put_notify(&inner, &n);
	if (!sk_wrap(sa, exch, true, msg_id, &inner, out, sizeof(out), &len))
		send_response(ike, sa, out, len);
}

/* ---- Certificates ---- */

/* Our certificate, key and CAs, read when a pubkey SA first needs them. */
static struct ike_cred *sa_cred(struct ike_sa *sa)
{
	char err[256];

	if (sa->conn.auth != CONN_AUTH_PUBKEY || sa->cred)
		return sa->cred;
	sa->cred = ike_cred_load(sa->conn.cert, sa->conn.key, sa->conn.ca, err,
				 sizeof(err));
	if (!sa->cred)
		log_ratelimited(&peer_log, LOG_LVL_ERR, "IKE %s: %s",
				sa_name(sa), err);
	return sa->cred;
}

/* A CERTREQ naming our CAs (section 3.7): peers send certificates asked. */
static void put_certreq(struct ike_sa *sa, struct ike_buf *b)
{
	uint8_t hashes[20 * IKE_CA_HASHES_MAX];
	struct ike_cert req = { .encoding = IKE_CERT_X509_SIGNATURE,
				.data = hashes };
	struct ike_cred *c = sa_cred(sa);

	if (!c)
		return;
	req.len = (uint16_t)ike_cred_ca_hashes(c, hashes, sizeof(hashes));
	ike_put_cert(b, IKE_PL_CERTREQ, &req);
}

/*
 * IKE_SA_INIT also says that we take fragments (RFC 7383) and RFC 7427
 * signatures, with SHA-2 and Ed25519's own hashing; a pubkey responder
 * asks for a certificate.
 */
static void put_init_notifies(struct ike_sa *sa, struct ike_buf *b)
{
	static const uint8_t hashes[] = { 0, 2, 0, 3, 0, 4, 0, 5 };
	struct ike_notify n = { .type = IKE_N_SIGNATURE_HASH_ALGORITHMS,
				.data = hashes, .len = sizeof(hashes) };
	struct ike_notify frag = {
		.type = IKE_N_IKEV2_FRAGMENTATION_SUPPORTED };

	ike_put_notify(b, &frag);
	ike_put_notify(b, &n);
	if (!sa->initiator && sa->conn.auth == CONN_AUTH_PUBKEY)
		put_certreq(sa, b);
}

/* Whether a message carries a notify of this type. */
static bool has_notify(const struct ike_msg *m, uint16_t type)
{
	const struct ike_payload *p = NULL;
	struct ike_notify n;
	struct ike_err err;

	while ((p = ike_msg_find(m, IKE_PL_N, p)))
		if (!ike_decode_notify(p, &n, &err) && n.type == type)
			return true;
	return false;
}

/* ---- NAT detection (RFC 7296 section 2.23) ---- */

static int nat_hash(uint64_t spi_i, uint64_t spi_r,
		    const union ike_sockaddr *a, uint8_t *out)
{
	uint8_t buf[8 + 8 + 16 + 2];
	size_t n = 16;
	unsigned int len = 0;

	put_be64(buf, spi_i);
	put_be64(buf + 8, spi_r);
	if (a->sa.sa_family == AF_INET) {
		memcpy(buf + n, &a->in4.sin_addr, 4);
		n += 4;
	} else {
		memcpy(buf + n, &a->in6.sin6_addr, 16);
		n += 16;
	}
	put_be16(buf + n, ike_sockaddr_port(a));
	n += 2;
	return EVP_Digest(buf, n, out, &len, EVP_sha1(), NULL) == 1 &&
	       len == 20 ? 0 : -EIO;
}

enum { NAT_HASH_LEN = 20 };

/* Our two NAT_DETECTION notifies; encap = yes claims a NAT on our side. */
static void put_nat_notifies(struct ike_sa *sa, struct ike_buf *b)
{
	uint8_t src[NAT_HASH_LEN], dst[NAT_HASH_LEN];
	struct ike_notify n = { .len = NAT_HASH_LEN };

	if (sa->conn.encap == CONN_ENCAP_YES)
		random_bytes(src, sizeof(src));
	else
		nat_hash(sa->spi_i, sa->spi_r, &sa->dg.local, src);
	nat_hash(sa->spi_i, sa->spi_r, &sa->dg.remote, dst);
	n.type = IKE_N_NAT_DETECTION_SOURCE_IP;
	n.data = src;
	ike_put_notify(b, &n);
	n.type = IKE_N_NAT_DETECTION_DESTINATION_IP;
	n.data = dst;
	ike_put_notify(b, &n);
}

/*
 * Compares the peer's NAT_DETECTION notifies with what we see: a source
 * hash that does not match the peer's address means a NAT on its side; a
 * destination hash that does not match ours, a NAT on ours.  The hashes
 * cover the SPIs as the message's header has them: in a request, the
 * responder's is still zero.
 */
static void nat_detect(struct ike_sa *sa, const struct ike_msg *m)
{
	const struct ike_payload *p = NULL;
	uint8_t there[NAT_HASH_LEN], here[NAT_HASH_LEN];
	bool src_seen = false, src_match = false, dst_seen = false;
	bool dst_match = false;
	struct ike_notify n;
	struct ike_err err;

	nat_hash(m->hdr.ispi, m->hdr.rspi, &sa->dg.remote, there);
	nat_hash(m->hdr.ispi, m->hdr.rspi, &sa->dg.local, here);
	while ((p = ike_msg_find(m, IKE_PL_N, p))) {
		if (ike_decode_notify(p, &n, &err) || n.len != NAT_HASH_LEN)
			continue;
		if (n.type == IKE_N_NAT_DETECTION_SOURCE_IP) {
			src_seen = true;
			src_match |= !memcmp(n.data, there, NAT_HASH_LEN);
		} else if (n.type == IKE_N_NAT_DETECTION_DESTINATION_IP) {
			dst_seen = true;
			dst_match |= !memcmp(n.data, here, NAT_HASH_LEN);
		}
	}
	sa->nat_there = src_seen && !src_match;
	sa->nat_here = (dst_seen && !dst_match) ||
		       sa->conn.encap == CONN_ENCAP_YES;
}

static bool nat_any(const struct ike_sa *sa)
{
	return sa->nat_here || sa->nat_there;
}

/* After IKE_SA_INIT: with a NAT between us, IKE moves to port 4500. */
static void nat_switch(struct ike_sa *sa, uint16_t natt_port)
{
	if (!nat_any(sa) || sa->dg.natt)
		return;
	sa->dg.natt = true;
	ike_sockaddr_set_port(&sa->dg.local, natt_port);
	if (sa->initiator)
		ike_sockaddr_set_port(&sa->dg.remote, IKE_NATT_PORT);
}

/* ---- Keys ---- */

static int sa_keys_make(struct ike_sa *sa, const uint8_t *peer_ke,
			size_t peer_ke_len, const struct ike_sa *old)
{
	uint8_t gir[IKE_KE_MAX];
	struct ike_keys_input in = {
		.ni = sa->ni, .ni_len = sa->ni_len,
		.nr = sa->nr, .nr_len = sa->nr_len,
		.gir = gir, .gir_len = ike_ke_secret_len(sa->xf.group),
		.spi_i = sa->spi_i, .spi_r = sa->spi_r,
		.old_sk_d = old ? old->keys.sk_d : NULL,
		.old_sk_d_len = old ? old->keys.prf_len : 0,
	};
	enum xdpsec_alg alg = ike_encr_alg(sa->xf.encr, sa->xf.encr_bits);
	enum xdpsec_integ integ = ike_integ_alg(sa->xf.integ);
	const uint8_t *ei, *er, *ai, *ar;
	int ret;

	ret = ike_ke_shared(sa->ke, peer_ke, peer_ke_len, gir, sizeof(gir));
	if (ret)
		return ret;
	sa->keys.integ_len = integ_key_len(sa->xf.integ);
	sa->keys.encr_len = encr_key_len(sa->xf.encr, sa->xf.encr_bits);
	ret = ike_keys_derive(sa->xf.prf, &in, &sa->keys);
	OPENSSL_cleanse(gir, sizeof(gir));
	if (ret)
		return ret;

	ei = sa->keys.sk_ei, er = sa->keys.sk_er;
	ai = sa->keys.sk_ai, ar = sa->keys.sk_ar;
	sa->sk_out = ike_sk_new(alg, integ, sa->initiator ? ei : er,
				sa->initiator ? ai : ar);
	sa->sk_in = ike_sk_new(alg, integ, sa->initiator ? er : ei,
			       sa->initiator ? ar : ai);
	return sa->sk_in && sa->sk_out ? 0 : -EINVAL;
}

/* The ID payload body as AUTH covers it: type, three zero bytes, data. */
static size_t id_body(const struct conn_id *id, uint8_t *out)
{
	out[0] = id->type;
	out[1] = out[2] = out[3] = 0;
	memcpy(out + 4, id->data, id->len);
	return 4 + (size_t)id->len;
}

/*
 * The PSK AUTH value of one side: its IKE_SA_INIT message, the other
 * side's nonce, its SK_p and its ID payload body.
 */
static int psk_auth(const struct ike_sa *sa, bool of_initiator,
		    const uint8_t *id, size_t id_len, uint8_t *out)
{
	const uint8_t *msg = of_initiator ? sa->init_req : sa->init_resp;
	size_t msg_len = of_initiator ? sa->init_req_len : sa->init_resp_len;
	const uint8_t *nonce = of_initiator ? sa->nr : sa->ni;
	size_t nonce_len = of_initiator ? sa->nr_len : sa->ni_len;
	const uint8_t *sk_p = of_initiator ? sa->keys.sk_pi : sa->keys.sk_pr;

	return ike_psk_auth(sa->xf.prf, sa->conn.psk, sa->conn.psk_len, msg,
			    msg_len, nonce, nonce_len, sk_p, id, id_len, out);
}

static bool id_matches(const struct conn_id *want, const struct ike_id *got)
{
	if (want->any)
		return true;
	if (want->type == IKE_ID_DER_ASN1_DN && got->type == IKE_ID_DER_ASN1_DN)
		return ike_dn_equal(want->data, want->len, got->data, got->len);
	return want->type == got->type && want->len == got->len &&
	       !memcmp(want->data, got->data, got->len);
}

static void id_text(const struct ike_id *id, char *buf, size_t len)
{
	size_t n = id->len < len - 1 ? id->len : len - 1;

	if (id->type == IKE_ID_FQDN || id->type == IKE_ID_RFC822_ADDR) {
		for (size_t i = 0; i < n; i++)
			buf[i] = id->data[i] >= 0x20 && id->data[i] < 0x7f ?
				 (char)id->data[i] : '?';
		buf[n] = '\0';
	} else if (id->type == IKE_ID_DER_ASN1_DN) {
		ike_dn_text(id->data, id->len, buf, len);
	} else {
		snprintf(buf, len, "(ID type %u, %u bytes)", id->type, id->len);
	}
}

/* ---- Traffic selectors ---- */

static void ts_from_conf(const struct conn_ts *c, unsigned int n,
			 struct ike_ts_list *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned int i = 0; i < n && i < IKE_TS_MAX; i++) {
		struct ike_ts *t = &out->ts[out->n++];
		size_t alen = c[i].family == AF_INET ? 4 : 16;

		t->type = c[i].family == AF_INET ? IKE_TS_IPV4_ADDR_RANGE :
						   IKE_TS_IPV6_ADDR_RANGE;
		t->start_port = 0;
		t->end_port = 65535;
		for (size_t b = 0; b < alen; b++) {
			unsigned int bits = (unsigned int)c[i].plen > 8 * b ?
					    c[i].plen - 8 * b : 0;
			uint8_t mask = bits >= 8 ? 0xff :
				       (uint8_t)(0xff << (8 - bits));

			t->start[b] = c[i].addr.v6[b] & mask;
			t->end[b] = (uint8_t)(c[i].addr.v6[b] | ~mask);
		}
	}
}

static size_t ts_alen(const struct ike_ts *t)
{
	return t->type == IKE_TS_IPV4_ADDR_RANGE ? 4 : 16;
}

/* The part of a that lies within b, if any. */
static bool ts_intersect(const struct ike_ts *a, const struct ike_ts *b,
			 struct ike_ts *out)
{
	size_t alen = ts_alen(a);

	if (a->type != b->type)
		return false;
	if (a->ip_proto && b->ip_proto && a->ip_proto != b->ip_proto)
		return false;
	*out = *a;
	out->ip_proto = a->ip_proto ? a->ip_proto : b->ip_proto;
	out->start_port = a->start_port > b->start_port ? a->start_port :
							  b->start_port;
	out->end_port = a->end_port < b->end_port ? a->end_port : b->end_port;
	if (memcmp(b->start, a->start, alen) > 0)
		memcpy(out->start, b->start, alen);
	if (memcmp(b->end, a->end, alen) < 0)
		memcpy(out->end, b->end, alen);
	return out->start_port <= out->end_port &&
	       memcmp(out->start, out->end, alen) <= 0;
}

void ike_conn_ts(const struct conn_conf *conn, struct ike_ts_list *local,
		 struct ike_ts_list *remote)
{
	ts_from_conf(conn->local_ts, conn->n_local_ts, local);
	ts_from_conf(conn->remote_ts, conn->n_remote_ts, remote);
}

/* Narrows what the peer offered to what we allow (RFC 7296 2.9). */
static void ts_narrow(const struct ike_ts_list *offer,
		      const struct ike_ts_list *ours, struct ike_ts_list *out)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < offer->n; i++)
		for (size_t j = 0; j < ours->n && out->n < IKE_TS_MAX; j++)
			if (ts_intersect(&offer->ts[i], &ours->ts[j],
					 &out->ts[out->n]))
				out->n++;
}

/* Whether every selector of got lies within one of ours. */
static bool ts_within(const struct ike_ts_list *got,
		      const struct ike_ts_list *ours)
{
	struct ike_ts x;

	if (!got->n)
		return false;
	for (size_t i = 0; i < got->n; i++) {
		bool ok = false;

		for (size_t j = 0; j < ours->n && !ok; j++)
			ok = ts_intersect(&got->ts[i], &ours->ts[j], &x) &&
			     !memcmp(&x, &got->ts[i], sizeof(x));
		if (!ok)
			return false;
	}
	return true;
}

/* ---- CHILD_SAs ---- */

/*
 * What a CHILD_SA's keys come from: the exchange that made it, whose
 * initiator owns "i" in the split below (RFC 7296 section 2.17).
 */
struct child_seed {
	const uint8_t *ni, *nr;
	size_t ni_len, nr_len;
	const uint8_t *gir;		/* PFS, or NULL */
	size_t gir_len;
	bool initiator;			/* we initiated that exchange */
};

/* The seed of the CHILD_SA that IKE_AUTH carries. */
static struct child_seed auth_seed(const struct ike_sa *sa)
{
	return (struct child_seed){
		.ni = sa->ni, .ni_len = sa->ni_len,
		.nr = sa->nr, .nr_len = sa->nr_len,
		.initiator = sa->initiator,
	};
}

/* Rekeying starts at 80-90 % of the lifetime: two ends rarely collide. */
static void child_rekey_arm(struct ike *ike, const struct ike_sa *sa,
			    struct ike_child *c)
{
	uint64_t life = sa->conn.child_lifetime * 1000ULL;
	uint32_t r = 0;

	c->rekey_due_ms = 0;
	if (!life)
		return;
	random_bytes(&r, sizeof(r));
	c->rekey_due_ms = ike->now_ms + life * 8 / 10 + r % (life / 10 + 1);
}

/* KEYMAT split: i->r cipher | i->r integ | r->i cipher | r->i integ. */
static int child_install(struct ike *ike, struct ike_sa *sa,
			 struct ike_child *c, const struct child_seed *seed)
{
	size_t ek = encr_key_len(c->xf.encr, c->xf.encr_bits);
	size_t ak = integ_key_len(c->xf.integ);
	uint8_t km[2 * (36 + 64)], in_key[36 + 64], out_key[36 + 64];
	struct ike_child_keys k = { in_key, out_key, ek + ak };
	const uint8_t *i2r = km, *r2i = km + ek + ak;
	int ret;

	ret = ike_child_keymat(sa->xf.prf, sa->keys.sk_d, sa->keys.prf_len,
			       seed->gir, seed->gir_len, seed->ni, seed->ni_len,
			       seed->nr, seed->nr_len, km, 2 * (ek + ak));
	if (ret)
		return ret;
	memcpy(out_key, seed->initiator ? i2r : r2i, ek + ak);
	memcpy(in_key, seed->initiator ? r2i : i2r, ek + ak);
	c->encap = nat_any(sa);
	c->created_ms = ike->now_ms;
	ret = ike->env.child_up ? ike->env.child_up(ike->env.arg, sa, c, &k) :
				  0;
	OPENSSL_cleanse(km, sizeof(km));
	OPENSSL_cleanse(in_key, sizeof(in_key));
	OPENSSL_cleanse(out_key, sizeof(out_key));
	if (ret)
		return ret;
	c->installed = true;
	c->next = sa->children;
	sa->children = c;
	child_rekey_arm(ike, sa, c);
	log_info("CHILD_SA %s: in %08x, out %08x%s%s", sa_name(sa), c->spi_in,
		 c->spi_out, c->encap ? ", UDP-encapsulated" : "",
		 c->esn ? ", ESN" : "");
	return 0;
}

static struct ike_child *child_by_out_spi(struct ike_sa *sa, uint32_t spi)
{
	for (struct ike_child *c = sa->children; c; c = c->next)
		if (c->spi_out == spi)
			return c;
	return NULL;
}

static void child_remove(struct ike *ike, struct ike_sa *sa,
			 struct ike_child *c)
{
	struct ike_child **pp = &sa->children;

	while (*pp && *pp != c)
		pp = &(*pp)->next;
	if (*pp)
		*pp = c->next;
	if (sa->target == c)
		sa->target = NULL;
	if (sa->target2 == c)
		sa->target2 = NULL;
	log_info("CHILD_SA %s: in %08x, out %08x deleted", sa_name(sa),
		 c->spi_in, c->spi_out);
	child_free(ike, sa, c);
}

/*
 * The SA payload of our CHILD_SA proposals, with our inbound SPI; with_ke
 * keeps their PFS groups (CREATE_CHILD_SA), IKE_AUTH has none.
 */
static void put_child_sa(struct ike_sa *sa, struct ike_buf *b, uint32_t spi,
			 bool with_ke)
{
	struct ike_transform t[CONN_PROPOSALS_MAX][XF_MAX];
	struct ike_proposal props[CONN_PROPOSALS_MAX];
	uint8_t spi_be[4];

	put_be32(spi_be, spi);
	for (unsigned int i = 0; i < sa->conn.n_esp; i++) {
		props[i] = (struct ike_proposal){
			.num = (uint8_t)(i + 1),
			.protocol = IKE_PROTO_ESP,
			.spi_size = IKE_SPI_SIZE_CHILD,
			.spi = spi_be,
			.transforms = t[i],
		};
		props[i].ntransforms = (uint8_t)prop_transforms(&sa->conn.esp[i],
								false, with_ke,
								t[i]);
	}
	ike_put_sa(b, props, sa->conn.n_esp);
}

/* ---- IKE_SA_INIT ---- */

/*
 * Ends an IKE_SA_INIT message built in b at out + TRAIN_HDR: keeps a copy
 * for AUTH in *keep and makes out a one-datagram train of *len bytes.
 */
static int init_finish(struct ike_buf *b, uint8_t *out, uint8_t **keep,
		       size_t *keep_len, size_t *len)
{
	int ret = ike_buf_finish(b);

	if (ret)
		return ret;
	replace_bytes(keep, keep_len, out + TRAIN_HDR, b->len);
	if (!*keep)
		return -ENOMEM;
	put_be16(out, (uint16_t)b->len);
	*len = TRAIN_HDR + b->len;
	return 0;
}

/* A KE payload with the public value pub of group. */
static void put_ke_payload(struct ike_buf *b, uint16_t group,
			   const uint8_t *pub)
{
	struct ike_ke_payload ke = {
		.group = group,
		.len = (uint16_t)ike_ke_len(group),
		.data = pub,
	};

	ike_put_ke(b, &ke);
}


static int init_request_send(struct ike *ike, struct ike_sa *sa)
{
	struct ike_transform t[CONN_PROPOSALS_MAX][XF_MAX];
	struct ike_proposal props[CONN_PROPOSALS_MAX];
	uint8_t out[IKE_MSG_MAX], pub[IKE_KE_MAX];
	struct ike_hdr h;
	struct ike_buf b;
	size_t len;
	int ret;

	for (unsigned int i = 0; i < sa->conn.n_ike; i++) {
		props[i] = (struct ike_proposal){
			.num = (uint8_t)(i + 1),
			.protocol = IKE_PROTO_IKE,
			.transforms = t[i],
		};
		props[i].ntransforms = (uint8_t)prop_transforms(&sa->conn.ike[i],
								true, true,
								t[i]);
	}
	ret = ike_ke_public(sa->ke, pub, sizeof(pub));
	if (ret)
		return ret;

	hdr_fill(sa, &h, IKE_SA_INIT, false, 0);
	ike_buf_init(&b, out + TRAIN_HDR, sizeof(out) - TRAIN_HDR);
	ike_put_hdr(&b, &h);
	if (sa->cookie_len) {
		struct ike_notify n = { .type = IKE_N_COOKIE,
					.data = sa->cookie,
					.len = (uint16_t)sa->cookie_len };

		ike_put_notify(&b, &n);
	}
	ike_put_sa(&b, props, sa->conn.n_ike);
	put_ke_payload(&b, sa->xf.group, pub);
	ike_put_nonce(&b, sa->ni, sa->ni_len);
	put_nat_notifies(sa, &b);
	put_init_notifies(sa, &b);
	ret = init_finish(&b, out, &sa->init_req, &sa->init_req_len, &len);
	if (ret)
		return ret;
	sa->state = IKE_SA_CONNECTING;
	return send_request(ike, sa, IKE_REQ_INIT, out, len);
}

/* The peer's address for a connection: the configured one, port 500. */
static void conn_dgram(const struct conn_conf *c, struct ike_dgram *dg,
		       uint16_t local_port)
{
	memset(dg, 0, sizeof(*dg));
	dg->remote.sa.sa_family = c->family;
	dg->local.sa.sa_family = c->local_any ? AF_UNSPEC : c->family;
	if (c->family == AF_INET) {
		memcpy(&dg->remote.in4.sin_addr, &c->remote.v4, 4);
		memcpy(&dg->local.in4.sin_addr, &c->local.v4, 4);
	} else {
		memcpy(&dg->remote.in6.sin6_addr, c->remote.v6, 16);
		memcpy(&dg->local.in6.sin6_addr, c->local.v6, 16);
	}
	ike_sockaddr_set_port(&dg->remote, c->remote_port);
	if (!c->local_any)
		ike_sockaddr_set_port(&dg->local, local_port);
}

int ike_initiate(struct ike *ike, const struct conn_conf *conn)
{
	struct ike_sa *sa;
	int ret;

	if (conn->remote_any || !conn->n_ike)
		return -EINVAL;
	sa = sa_new(ike, conn, true);
	if (!sa)
		return -ENOMEM;
	conn_dgram(conn, &sa->dg, ike->env.sock->port);
	if (conn->local_any &&
	    !ike_sock_source(&sa->dg.remote, ike->env.mark, &sa->dg.local))
		ike_sockaddr_set_port(&sa->dg.local, ike->env.sock->port);
	sa->xf = conn->ike[0];
	sa->ni_len = IKE_NONCE_LEN;
	ret = random_bytes(&sa->spi_i, sizeof(sa->spi_i));
	if (!ret)
		ret = random_bytes(sa->ni, sa->ni_len);
	sa->ke = ike_ke_new(sa->xf.group);
	if (!ret && !sa->ke)
		ret = -EIO;
	if (!ret)
		ret = init_request_send(ike, sa);
	if (ret && ret != -ENETUNREACH) {
		sa_kill(ike, sa, "cannot start");
		return ret;
	}
	log_info("IKE SA %s %016llx: initiating", sa_name(sa),
		 (unsigned long long)sa->spi_i);
	return 0;
}

/* Stateless answers to IKE_SA_INIT requests: INVALID_KE, COOKIE, errors. */
static void init_respond_notify(struct ike *ike, const struct ike_msg *m,
				const struct ike_dgram *dg, uint16_t type,
				const uint8_t *data, size_t len)
{
	struct ike_notify n = { .type = type, .data = data,
				.len = (uint16_t)len };
	uint8_t out[256];
	struct ike_hdr h = {
		.ispi = m->hdr.ispi,
		.version = IKE_MAJOR_VERSION << 4,
		.exchange = IKE_SA_INIT,
		.flags = IKE_FLAG_R,
	};
	struct ike_buf b;

	ike_buf_init(&b, out, sizeof(out));
	ike_put_hdr(&b, &h);
	ike_put_notify(&b, &n);
	if (!ike_buf_finish(&b))
		ike_sock_send(ike->env.sock, dg, out, b.len);
}

/* A cookie for this request: HMAC of a secret over what identifies it. */
static void cookie_of(struct ike *ike, const struct ike_msg *m,
		      const struct ike_bytes *ni, const struct ike_dgram *dg,
		      uint8_t *out)
{
	uint8_t spi[8];
	const struct ike_seg s[3] = {
		{ spi, 8 }, { ni->data, ni->len }, { &dg->remote, sizeof(dg->remote) },
	};

	put_be64(spi, m->hdr.ispi);
	ike_prf(IKE_PRF_HMAC_SHA2_256, ike->cookie_secret,
		sizeof(ike->cookie_secret), s, 3, out);
}

enum { COOKIE_LEN = 32 };

/* Under load, a request must bring back the cookie we gave it. */
static bool cookie_ok(struct ike *ike, const struct conn_conf *conn,
		      const struct ike_msg *m, const struct ike_bytes *ni,
		      const struct ike_dgram *dg)
{
	const struct ike_payload *p = ike_msg_find(m, IKE_PL_N, NULL);
	uint8_t want[COOKIE_LEN];
	struct ike_notify n;
	struct ike_err err;

	if (ike->n_half_open < conn->cookie_threshold)
		return true;
	cookie_of(ike, m, ni, dg, want);
	if (p && m->payloads[0].type == IKE_PL_N &&
	    !ike_decode_notify(p, &n, &err) && n.type == IKE_N_COOKIE &&
	    n.len == COOKIE_LEN && !CRYPTO_memcmp(n.data, want, COOKIE_LEN))
		return true;
	init_respond_notify(ike, m, dg, IKE_N_COOKIE, want, COOKIE_LEN);
	return false;
}

/*
 * Under load, one address may hold only a few half-open IKE SAs.  Cookies
 * stop forged sources, not a peer that reads its answers: echoing every
 * cookie, that one would fill the table up to IKE_SAS_MAX and keep every
 * other peer out until the half-open timeout.
 */
enum { HALF_OPEN_PER_ADDR = 5 };

static bool half_open_addr_full(const struct ike *ike,
				const struct conn_conf *conn,
				const union ike_sockaddr *remote)
{
	union ike_sockaddr a = *remote, b;
	unsigned int n = 0;

	if (ike->n_half_open < conn->cookie_threshold)
		return false;
	ike_sockaddr_set_port(&a, 0);
	for (const struct ike_sa *sa = ike->sas; sa; sa = sa->next) {
		if (sa->initiator || sa->state == IKE_SA_ESTABLISHED ||
		    sa->state == IKE_SA_DELETING || sa->state == IKE_SA_DEAD)
			continue;
		b = sa->dg.remote;
		ike_sockaddr_set_port(&b, 0);
		if (ike_sockaddr_equal(&a, &b) && ++n >= HALF_OPEN_PER_ADDR)
			return true;
	}
	return false;
}

static bool addr_is(const union ike_sockaddr *a, uint8_t family,
		    const struct xdpsec_addr *x)
{
	if (a->sa.sa_family != family)
		return false;
	if (family == AF_INET)
		return !memcmp(&a->in4.sin_addr, &x->v4, 4);
	return !memcmp(&a->in6.sin6_addr, x->v6, 16);
}

/* The first connection whose addresses fit this datagram. */
static const struct conn_conf *conn_for(const struct conn_conf *conns,
					size_t n, const struct ike_dgram *dg)
{
	for (size_t i = 0; i < n; i++) {
		const struct conn_conf *c = &conns[i];

		if (!c->local_any && !addr_is(&dg->local, c->family, &c->local))
			continue;
		if (!c->remote_any &&
		    !addr_is(&dg->remote, c->family, &c->remote))
			continue;
		if (c->remote_any && dg->remote.sa.sa_family != c->family)
			continue;
		return c;
	}
	return NULL;
}

/* The payloads every IKE_SA_INIT message needs, decoded. */
struct init_payloads {
	struct ike_sa_payload sa;
	struct ike_ke_payload ke;
	struct ike_bytes nonce;
};

static int init_decode(const struct ike_msg *m, struct init_payloads *ip,
		       struct ike_err *err)
{
	const struct ike_payload *sa = ike_msg_find(m, IKE_PL_SA, NULL);
	const struct ike_payload *ke = ike_msg_find(m, IKE_PL_KE, NULL);
	const struct ike_payload *no = ike_msg_find(m, IKE_PL_NONCE, NULL);

	if (!sa || !ke || !no) {
		err->notify = IKE_N_INVALID_SYNTAX;
		err->what = "IKE_SA_INIT without SA, KE or Nonce";
		return -EBADMSG;
	}
	if (ike_decode_sa(sa, &ip->sa, err) || ike_decode_ke(ke, &ip->ke, err) ||
	    ike_decode_nonce(no, &ip->nonce, err))
		return -EBADMSG;
	return 0;
}

static int init_response_send(struct ike *ike, struct ike_sa *sa,
			      const struct ike_proposal *chosen)
{
	struct ike_transform t[XF_MAX];
	struct ike_proposal prop = *chosen;
	uint8_t out[IKE_MSG_MAX], pub[IKE_KE_MAX];
	struct ike_hdr h;
	struct ike_buf b;
	size_t len;
	int ret;

	prop.spi_size = 0;
	prop.spi = NULL;
	prop.transforms = t;
	prop.ntransforms = (uint8_t)prop_transforms(&sa->xf, true, true, t);
	ret = ike_ke_public(sa->ke, pub, sizeof(pub));
	if (ret)
		return ret;

	hdr_fill(sa, &h, IKE_SA_INIT, true, 0);
	ike_buf_init(&b, out + TRAIN_HDR, sizeof(out) - TRAIN_HDR);
	ike_put_hdr(&b, &h);
	ike_put_sa(&b, &prop, 1);
	put_ke_payload(&b, sa->xf.group, pub);
	ike_put_nonce(&b, sa->nr, sa->nr_len);
	put_nat_notifies(sa, &b);
	put_init_notifies(sa, &b);
	ret = init_finish(&b, out, &sa->init_resp, &sa->init_resp_len, &len);
	if (ret)
		return ret;
	return send_response(ike, sa, out, len);
}

/* Responder: a new IKE_SA_INIT request. */
static void init_request_recv(struct ike *ike, const uint8_t *buf, size_t len,
			      const struct ike_msg *m,
			      const struct ike_dgram *dg,
			      const struct conn_conf *conns, size_t n_conns)
{
	const struct conn_conf *conn = conn_for(conns, n_conns, dg);
	const struct ike_proposal *chosen;
	struct conn_proposal xf;
	struct init_payloads ip;
	struct ike_err err = { 0 };
	struct ike_sa *sa;
	uint8_t grp[2];

	if (!conn) {
		peer_warn("IKE_SA_INIT from a peer no connection names");
		init_respond_notify(ike, m, dg, IKE_N_NO_PROPOSAL_CHOSEN, NULL,
				    0);
		return;
	}
	if (init_decode(m, &ip, &err)) {
		init_respond_notify(ike, m, dg, err.notify, NULL, 0);
		return;
	}
	if (!cookie_ok(ike, conn, m, &ip.nonce, dg))
		return;
	if (half_open_addr_full(ike, conn, &dg->remote)) {
		peer_warn("IKE %s: too many half-open IKE SAs from one address",
			  conn->name);
		return;
	}
	chosen = prop_choose(&ip.sa, conn->ike, conn->n_ike, IKE_PROTO_IKE,
			     true, &xf);
	if (!chosen) {
		peer_warn("IKE %s: no proposal acceptable", conn->name);
		init_respond_notify(ike, m, dg, IKE_N_NO_PROPOSAL_CHOSEN, NULL,
				    0);
		return;
	}
	if (ip.ke.group != xf.group) {
		put_be16(grp, xf.group);
		init_respond_notify(ike, m, dg, IKE_N_INVALID_KE_PAYLOAD, grp,
				    2);
		return;
	}

	sa = sa_new(ike, conn, false);
	if (!sa)
		return;
	sa->dg = *dg;
	sa->xf = xf;
	sa->spi_i = m->hdr.ispi;
	sa->ni_len = ip.nonce.len;
	memcpy(sa->ni, ip.nonce.data, ip.nonce.len);
	sa->nr_len = IKE_NONCE_LEN;
	sa->ke = ike_ke_new(xf.group);
	if (!sa->ke || random_bytes(&sa->spi_r, 8) ||
	    random_bytes(sa->nr, sa->nr_len)) {
		sa_kill(ike, sa, "out of resources");
		return;
	}
	replace_bytes(&sa->init_req, &sa->init_req_len, buf, len);
	nat_detect(sa, m);
	sa->frag_ok = has_notify(m, IKE_N_IKEV2_FRAGMENTATION_SUPPORTED);
	if (sa_keys_make(sa, ip.ke.data, ip.ke.len, NULL)) {
		peer_warn("IKE %s: bad KE value", conn->name);
		init_respond_notify(ike, m, dg, IKE_N_INVALID_SYNTAX, NULL, 0);
		sa_kill(ike, sa, "bad KE value");
		return;
	}
	sa->state = IKE_SA_AUTHENTICATING;
	sa->peer_req_id = 1;
	if (init_response_send(ike, sa, chosen)) {
		sa_kill(ike, sa, "cannot answer");
		return;
	}
	nat_switch(sa, ike->env.sock->natt_port);
}

/* Initiator: what came back for our IKE_SA_INIT. */
static int init_retry(struct ike *ike, struct ike_sa *sa,
		      const struct ike_msg *m)
{
	const struct ike_payload *p = NULL;
	struct ike_notify n;
	struct ike_err err;

	while ((p = ike_msg_find(m, IKE_PL_N, p))) {
		if (ike_decode_notify(p, &n, &err))
			continue;
		if (n.type == IKE_N_COOKIE && n.len <= sizeof(sa->cookie) &&
		    !sa->cookie_len) {
			memcpy(sa->cookie, n.data, n.len);
			sa->cookie_len = n.len;
			return init_request_send(ike, sa) ? -EIO : 1;
		}
		if (n.type == IKE_N_INVALID_KE_PAYLOAD && n.len == 2) {
			uint16_t g = get_be16(n.data);

			for (unsigned int i = 0; i < sa->conn.n_ike; i++) {
				if (sa->conn.ike[i].group != g || g == sa->xf.group)
					continue;
				ike_ke_free(sa->ke);
				sa->ke = ike_ke_new(g);
				sa->xf.group = g;
				if (!sa->ke || init_request_send(ike, sa))
					return -EIO;
				return 1;
			}
			return -EPROTO;
		}
		if (n.type <= IKE_N_ERROR_MAX) {
			peer_warn("IKE %s: peer refused IKE_SA_INIT (notify %u)",
				  sa_name(sa), n.type);
			return -EPROTO;
		}
	}
	return 0;
}

static int auth_request_send(struct ike *ike, struct ike_sa *sa);

static void init_response_recv(struct ike *ike, struct ike_sa *sa,
			       const uint8_t *buf, size_t len,
			       const struct ike_msg *m)
{
	struct init_payloads ip;
	struct conn_proposal xf;
	struct ike_err err = { 0 };
	int ret;

	ret = init_retry(ike, sa, m);
	if (ret > 0)
		return;
	if (ret || init_decode(m, &ip, &err) || ip.sa.nproposals != 1 ||
	    prop_read(&ip.sa.proposals[0], true, &xf) ||
	    !prop_was_offered(&xf, sa->conn.ike, sa->conn.n_ike, true) ||
	    xf.group != sa->xf.group || ip.ke.group != xf.group ||
	    !m->hdr.rspi) {
		peer_warn("IKE %s: unusable IKE_SA_INIT response",
			  sa_name(sa));
		sa_kill(ike, sa, "IKE_SA_INIT failed");
		return;
	}
	sa->xf = xf;
	sa->spi_r = m->hdr.rspi;
	sa->nr_len = ip.nonce.len;
	memcpy(sa->nr, ip.nonce.data, ip.nonce.len);
	replace_bytes(&sa->init_resp, &sa->init_resp_len, buf, len);
	nat_detect(sa, m);
	sa->frag_ok = has_notify(m, IKE_N_IKEV2_FRAGMENTATION_SUPPORTED);
	if (sa_keys_make(sa, ip.ke.data, ip.ke.len, NULL)) {
		sa_kill(ike, sa, "bad KE value from the responder");
		return;
	}
	nat_switch(sa, ike->env.sock->natt_port);
	sa->next_req_id = 1;
	sa->req_kind = IKE_REQ_NONE;
	if (auth_request_send(ike, sa))
		sa_kill(ike, sa, "cannot send IKE_AUTH");
}

/* ---- IKE_AUTH ---- */

static void put_id(struct ike_buf *b, uint8_t type, const struct conn_id *id)
{
	struct ike_id pl = { .type = id->type, .len = id->len,
			     .data = id->data };

	ike_put_id(b, type, &pl);
}

/*
 * What a signature covers (section 2.15): the signer's IKE_SA_INIT
 * message, the other side's nonce, and prf(SK_p, ID').
 */
static int auth_octets(const struct ike_sa *sa, bool of_initiator,
		       const uint8_t *id, size_t id_len, uint8_t *out,
		       size_t cap, size_t *len)
{
	const uint8_t *msg = of_initiator ? sa->init_req : sa->init_resp;
	size_t msg_len = of_initiator ? sa->init_req_len : sa->init_resp_len;
	const uint8_t *nonce = of_initiator ? sa->nr : sa->ni;
	size_t nonce_len = of_initiator ? sa->nr_len : sa->ni_len;
	const uint8_t *sk_p = of_initiator ? sa->keys.sk_pi : sa->keys.sk_pr;
	size_t plen = ike_prf_len(sa->xf.prf);
	struct ike_seg seg = { id, id_len };

	if (!msg || msg_len + nonce_len + plen > cap)
		return -EMSGSIZE;
	memcpy(out, msg, msg_len);
	memcpy(out + msg_len, nonce, nonce_len);
	*len = msg_len + nonce_len + plen;
	return ike_prf(sa->xf.prf, sk_p, sa->keys.prf_len, &seg, 1,
		       out + msg_len + nonce_len);
}

enum { AUTH_OCTETS_MAX = IKE_MSG_MAX + IKE_NONCE_MAX + IKE_PRF_MAX };

/* Our certificate and a signature (method 14) as AUTH. */
static int put_sig_auth(struct ike_sa *sa, struct ike_buf *b,
			const uint8_t *body, size_t body_len)
{
	uint8_t octets[AUTH_OCTETS_MAX], sig[IKE_SIG_MAX];
	struct ike_auth a = { .method = IKE_AUTH_DIGITAL_SIGNATURE,
			      .data = sig };
	struct ike_cred *c = sa_cred(sa);
	struct ike_cert cert = { .encoding = IKE_CERT_X509_SIGNATURE };
	const uint8_t *der;
	size_t len, slen, der_len;
	int ret;

	if (!c)
		return -ENOENT;
	ret = auth_octets(sa, sa->initiator, body, body_len, octets,
			  sizeof(octets), &len);
	if (!ret)
		ret = ike_cred_sign(c, sa->conn.rsa_pss, octets, len, sig,
				    sizeof(sig), &slen);
	if (ret)
		return ret;
	ike_cred_cert(c, &der, &der_len);
	cert.data = der;
	cert.len = (uint16_t)der_len;
	a.len = (uint16_t)slen;
	ike_put_cert(b, IKE_PL_CERT, &cert);
	return ike_put_auth(b, &a);
}

static int put_psk_auth(const struct ike_sa *sa, struct ike_buf *b,
			const uint8_t *body, size_t body_len, uint8_t *mac)
{
	struct ike_auth a = { .method = IKE_AUTH_PSK, .data = mac,
			      .len = (uint16_t)ike_prf_len(sa->xf.prf) };
	int ret = psk_auth(sa, sa->initiator, body, body_len, mac);

	if (!ret)
		ike_put_auth(b, &a);
	OPENSSL_cleanse(mac, IKE_PRF_MAX);
	return ret;
}

static int put_auth(struct ike_sa *sa, struct ike_buf *b)
{
	uint8_t body[4 + CONN_ID_MAX], mac[IKE_PRF_MAX];
	size_t body_len = id_body(&sa->conn.local_id, body);

	if (sa->conn.auth == CONN_AUTH_PUBKEY)
		return put_sig_auth(sa, b, body, body_len);
	return put_psk_auth(sa, b, body, body_len, mac);
}

static void put_ts_pair(const struct ike_sa *sa, struct ike_buf *b,
			const struct ike_ts_list *local,
			const struct ike_ts_list *remote)
{
	/* TSi is the initiator's side, TSr the responder's. */
	ike_put_ts(b, IKE_PL_TSI, sa->initiator ? local : remote);
	ike_put_ts(b, IKE_PL_TSR, sa->initiator ? remote : local);
}

/*
 * INITIAL_CONTACT tells the peer this is the only IKE SA between us (RFC
 * 7296 section 2.4), and peers act on it: they drop the others without a
 * word.  While one of ours is up, that would leave its CHILD_SAs, which
 * our SPD still prefers, sending into SAs the peer has thrown away.
 */
static bool conn_established(const struct ike *ike, const struct ike_sa *sa)
{
	for (const struct ike_sa *o = ike->sas; o; o = o->next)
		if (o != sa && o->state == IKE_SA_ESTABLISHED &&
		    !strcmp(o->conn.name, sa->conn.name))
			return true;
	return false;
}

static int auth_request_send(struct ike *ike, struct ike_sa *sa)
{
	uint8_t inner_buf[IKE_MSG_MAX], out[IKE_MSG_MAX];
	struct ike_notify transport = { .type = IKE_N_USE_TRANSPORT_MODE };
	struct ike_notify contact = { .type = IKE_N_INITIAL_CONTACT };
	struct ike_ts_list tsl, tsr;
	struct ike_child *c;
	struct ike_buf b;
	size_t len;
	int ret;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	ret = child_spi_new(ike, &c->spi_in);
	if (ret) {
		free(c);
		return ret;
	}
	c->mode = sa->conn.mode;
	free(sa->pending);
	sa->pending = c;
	ts_from_conf(sa->conn.local_ts, sa->conn.n_local_ts, &tsl);
	ts_from_conf(sa->conn.remote_ts, sa->conn.n_remote_ts, &tsr);

	ike_buf_init(&b, inner_buf, sizeof(inner_buf));
	put_id(&b, IKE_PL_IDI, &sa->conn.local_id);
	if (!conn_established(ike, sa))
		ike_put_notify(&b, &contact);
	if (sa->conn.auth == CONN_AUTH_PUBKEY)
		put_certreq(sa, &b);
	if (!sa->conn.remote_id.any)
		put_id(&b, IKE_PL_IDR, &sa->conn.remote_id);
	ret = put_auth(sa, &b);
	if (ret)
		return ret;
	if (sa->conn.mode == XDPSEC_MODE_TRANSPORT)
		ike_put_notify(&b, &transport);
	put_child_sa(sa, &b, c->spi_in, false);
	put_ts_pair(sa, &b, &tsl, &tsr);
	ret = sk_wrap(sa, IKE_AUTH, false, sa->next_req_id, &b, out,
		      sizeof(out), &len);
	OPENSSL_cleanse(inner_buf, sizeof(inner_buf));
	if (ret)
		return ret;
	sa->state = IKE_SA_AUTHENTICATING;
	return send_request(ike, sa, IKE_REQ_AUTH, out, len);
}

/*
 * The peer's certificate (and any more it sent for the chain) and its
 * signature over what section 2.15 says, against our CAs.
 */
static int sig_verify(struct ike_sa *sa, const struct ike_msg *in,
		      const struct ike_payload *idp, const struct ike_id *id,
		      const struct ike_auth *a)
{
	struct ike_cert certs[IKE_CERTS_MAX];
	const struct ike_payload *p = NULL;
	uint8_t octets[AUTH_OCTETS_MAX];
	struct ike_cred *c = sa_cred(sa);
	struct ike_err err;
	size_t n = 0, len;
	char why[160];

	if (!c)
		return -EACCES;
	if (a->method != IKE_AUTH_DIGITAL_SIGNATURE) {
		peer_warn("IKE %s: AUTH method %u refused: certificates need digital signatures (method 14)",
			  sa_name(sa), a->method);
		return -EACCES;
	}
	while (n < IKE_CERTS_MAX && (p = ike_msg_find(in, IKE_PL_CERT, p)))
		if (!ike_decode_cert(p, &certs[n], &err))
			n++;
	if (auth_octets(sa, !sa->initiator, idp->body, idp->len, octets,
			sizeof(octets), &len))
		return -EACCES;
	if (ike_cred_verify(c, certs, n, id, a->data, a->len, octets, len, why,
			    sizeof(why))) {
		peer_warn("IKE %s: peer not authenticated: %s", sa_name(sa),
			  why);
		return -EACCES;
	}
	return 0;
}

/* The peer's ID and AUTH: who it says it is, and the proof. */
static int auth_verify(struct ike_sa *sa, const struct ike_msg *in,
		       uint8_t id_type)
{
	const struct ike_payload *idp = ike_msg_find(in, id_type, NULL);
	const struct ike_payload *ap = ike_msg_find(in, IKE_PL_AUTH, NULL);
	uint8_t want[IKE_PRF_MAX];
	size_t plen = ike_prf_len(sa->xf.prf);
	struct ike_auth a;
	struct ike_id id;
	struct ike_err err;
	int ret;

	if (!idp || !ap || ike_decode_id(idp, &id, &err) ||
	    ike_decode_auth(ap, &a, &err))
		return -EBADMSG;
	if (!id_matches(&sa->conn.remote_id, &id)) {
		id_text(&id, sa->peer_id, sizeof(sa->peer_id));
		peer_warn("IKE %s: peer identity %s is not the one expected",
			  sa_name(sa), sa->peer_id);
		return -EACCES;
	}
	if (sa->conn.auth == CONN_AUTH_PUBKEY) {
		ret = sig_verify(sa, in, idp, &id, &a);
		if (!ret)
			id_text(&id, sa->peer_id, sizeof(sa->peer_id));
		return ret;
	}
	if (a.method != IKE_AUTH_PSK || a.len != plen)
		return -EACCES;
	ret = psk_auth(sa, !sa->initiator, idp->body, idp->len, want);
	if (!ret && CRYPTO_memcmp(want, a.data, plen))
		ret = -EACCES;
	OPENSSL_cleanse(want, sizeof(want));
	if (!ret)
		id_text(&id, sa->peer_id, sizeof(sa->peer_id));
	return ret;
}

/* The first error notify of a message, or 0. */
static uint16_t error_notify(const struct ike_msg *m)
{
	const struct ike_payload *p = NULL;
	struct ike_notify n;
	struct ike_err err;

	while ((p = ike_msg_find(m, IKE_PL_N, p)))
		if (!ike_decode_notify(p, &n, &err) && n.type <= IKE_N_ERROR_MAX)
			return n.type;
	return 0;
}

static int ts_decode(const struct ike_msg *m, uint8_t type,
		     struct ike_ts_list *ts)
{
	const struct ike_payload *p = ike_msg_find(m, type, NULL);
	struct ike_err err;

	return p ? ike_decode_ts(p, ts, &err) : -EBADMSG;
}

static void established(struct ike *ike, struct ike_sa *sa)
{
	if (sa->state != IKE_SA_ESTABLISHED)
		ike->n_half_open--;
	sa->state = IKE_SA_ESTABLISHED;
	sa->established_ms = ike->now_ms;
	sa->dpd_due_ms = sa->conn.dpd ? ike->now_ms + sa->conn.dpd * 1000ULL :
					0;
	sa->rekey_due_ms = 0;
	if (sa->conn.ike_lifetime) {
		uint64_t life = sa->conn.ike_lifetime * 1000ULL;
		uint32_t r = 0;

		/* 80-90 % of the lifetime, as for CHILD_SAs. */
		random_bytes(&r, sizeof(r));
		sa->rekey_due_ms = ike->now_ms + life * 8 / 10 +
				   r % (life / 10 + 1);
	}
	log_info("IKE SA %s %016llx: established with %s%s", sa_name(sa),
		 (unsigned long long)sa->spi_i, sa->peer_id,
		 nat_any(sa) ? " (NAT-T)" : "");
}

/*
 * Responder: picks the CHILD_SA from an IKE_AUTH (or, later,
 * CREATE_CHILD_SA) request.  Returns 0 or the notify to refuse with.
 */
static uint16_t child_choose(struct ike *ike, struct ike_sa *sa,
			     const struct ike_msg *in, bool with_ke,
			     struct ike_child *c,
			     const struct ike_proposal **chosen)
{
	const struct ike_payload *sap = ike_msg_find(in, IKE_PL_SA, NULL);
	struct ike_ts_list tsi, tsr, ours_l, ours_r;
	struct ike_sa_payload offer;
	struct ike_err err;
	bool transport = has_notify(in, IKE_N_USE_TRANSPORT_MODE);

	if (!sap || ike_decode_sa(sap, &offer, &err) ||
	    ts_decode(in, IKE_PL_TSI, &tsi) || ts_decode(in, IKE_PL_TSR, &tsr))
		return IKE_N_INVALID_SYNTAX;
	*chosen = prop_choose(&offer, sa->conn.esp, sa->conn.n_esp,
			      IKE_PROTO_ESP, with_ke, &c->xf);
	if (!*chosen || (*chosen)->spi_size != IKE_SPI_SIZE_CHILD)
		return IKE_N_NO_PROPOSAL_CHOSEN;
	if (transport != (sa->conn.mode == XDPSEC_MODE_TRANSPORT))
		return IKE_N_NO_PROPOSAL_CHOSEN;
	ts_from_conf(sa->conn.local_ts, sa->conn.n_local_ts, &ours_l);
	ts_from_conf(sa->conn.remote_ts, sa->conn.n_remote_ts, &ours_r);
	ts_narrow(&tsi, &ours_r, &c->ts_remote);
	ts_narrow(&tsr, &ours_l, &c->ts_local);
	if (!c->ts_local.n || !c->ts_remote.n)
		return IKE_N_TS_UNACCEPTABLE;
	c->spi_out = get_be32((*chosen)->spi);
	c->esn = c->xf.esn == CONN_ESN_YES;
	c->mode = sa->conn.mode;
	if (child_spi_new(ike, &c->spi_in))
		return IKE_N_TEMPORARY_FAILURE;
	return 0;
}

static void auth_respond(struct ike *ike, struct ike_sa *sa, uint32_t msg_id,
			 struct ike_child *c, const struct ike_proposal *chosen)
{
	struct ike_notify transport = { .type = IKE_N_USE_TRANSPORT_MODE };
	uint8_t inner_buf[IKE_MSG_MAX], out[IKE_MSG_MAX], spi_be[4];
	struct ike_transform t[XF_MAX];
	struct ike_proposal prop = *chosen;
	struct ike_buf b;
	size_t len;

	put_be32(spi_be, c->spi_in);
	prop.spi = spi_be;
	prop.transforms = t;
	prop.ntransforms = (uint8_t)prop_transforms(&c->xf, false, false, t);

	ike_buf_init(&b, inner_buf, sizeof(inner_buf));
	put_id(&b, IKE_PL_IDR, &sa->conn.local_id);
	if (put_auth(sa, &b))
		return;
	if (c->mode == XDPSEC_MODE_TRANSPORT)
		ike_put_notify(&b, &transport);
	ike_put_sa(&b, &prop, 1);
	put_ts_pair(sa, &b, &c->ts_local, &c->ts_remote);
	if (!sk_wrap(sa, IKE_AUTH, true, msg_id, &b, out, sizeof(out), &len))
		send_response(ike, sa, out, len);
	OPENSSL_cleanse(inner_buf, sizeof(inner_buf));
}

/*
 * INITIAL_CONTACT says the peer holds no other IKE SA with us (RFC 7296
 * section 2.4): those we still have for it are from before it restarted.
 * Their CHILD_SAs come first in the SPD, so until DPD gave up on them
 * they would carry our traffic to SAs the peer no longer knows.
 */
static void initial_contact(struct ike *ike, struct ike_sa *sa,
			    const struct ike_msg *in)
{
	if (!has_notify(in, IKE_N_INITIAL_CONTACT))
		return;
	for (struct ike_sa *o = ike->sas; o; o = o->next)
		if (o != sa && o->state != IKE_SA_DEAD &&
		    !strcmp(o->conn.name, sa->conn.name) &&
		    !strcmp(o->peer_id, sa->peer_id))
			sa_kill(ike, o, "replaced: the peer sent INITIAL_CONTACT");
}

/* Responder: IKE_AUTH request, already decrypted into in. */
static void auth_request_recv(struct ike *ike, struct ike_sa *sa,
			      uint32_t msg_id, const struct ike_msg *in)
{
	const struct ike_proposal *chosen = NULL;
	struct child_seed seed = auth_seed(sa);
	struct ike_child *c;
	uint16_t refuse;

	if (sa->state != IKE_SA_AUTHENTICATING) {
		respond_notify(ike, sa, IKE_AUTH, msg_id, IKE_N_INVALID_SYNTAX);
		return;
	}
	if (auth_verify(sa, in, IKE_PL_IDI)) {
		respond_notify(ike, sa, IKE_AUTH, msg_id,
			       IKE_N_AUTHENTICATION_FAILED);
		sa_kill(ike, sa, "authentication failed");
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		respond_notify(ike, sa, IKE_AUTH, msg_id,
			       IKE_N_TEMPORARY_FAILURE);
		return;
	}
	/*
	 * The IKE SA stands even when its first CHILD_SA is refused: the
	 * response carries our AUTH and the notify (RFC 7296 1.2).
	 */
	established(ike, sa);
	initial_contact(ike, sa, in);
	refuse = child_choose(ike, sa, in, false, c, &chosen);
	if (!refuse && child_install(ike, sa, c, &seed))
		refuse = IKE_N_TEMPORARY_FAILURE;
	if (refuse) {
		free(c);
		peer_warn("IKE %s: CHILD_SA refused (notify %u)", sa_name(sa),
			  refuse);
		respond_notify(ike, sa, IKE_AUTH, msg_id, refuse);
		return;
	}
	auth_respond(ike, sa, msg_id, c, chosen);
}

/* An INFORMATIONAL request saying AUTHENTICATION_FAILED, sent once. */
static void auth_failed_send(struct ike *ike, struct ike_sa *sa)
{
	struct ike_notify n = { .type = IKE_N_AUTHENTICATION_FAILED };
	uint8_t inner_buf[64], out[IKE_MSG_MAX];
	struct ike_buf b;
	size_t len;

	ike_buf_init(&b, inner_buf, sizeof(inner_buf));
	ike_put_notify(&b, &n);
	if (!sk_wrap(sa, IKE_INFORMATIONAL, false, sa->next_req_id, &b, out,
		     sizeof(out), &len))
		send_raw(ike, sa, out, len);
}

/* Initiator: the IKE_AUTH response. */
static void auth_response_recv(struct ike *ike, struct ike_sa *sa,
			       const struct ike_msg *in)
{
	const struct ike_payload *sap = ike_msg_find(in, IKE_PL_SA, NULL);
	struct ike_child *c = sa->pending;
	struct ike_ts_list tsl, tsr, ours_l, ours_r;
	struct ike_sa_payload sap_dec;
	uint16_t refused = error_notify(in);
	struct child_seed seed;
	struct ike_err err;

	sa->req_kind = IKE_REQ_NONE;
	if (refused == IKE_N_AUTHENTICATION_FAILED) {
		sa_kill(ike, sa, "authentication failed");
		return;
	}
	if (auth_verify(sa, in, IKE_PL_IDR)) {
		/*
		 * The responder thinks the SA is up: tell it (section
		 * 2.21.2), once, without waiting for an answer.
		 */
		auth_failed_send(ike, sa);
		sa_kill(ike, sa, "authentication failed");
		return;
	}
	established(ike, sa);
	if (refused) {
		peer_warn("IKE %s: CHILD_SA refused by the peer (notify %u)",
			  sa_name(sa), refused);
		return;
	}
	ts_from_conf(sa->conn.local_ts, sa->conn.n_local_ts, &ours_l);
	ts_from_conf(sa->conn.remote_ts, sa->conn.n_remote_ts, &ours_r);
	if (!c || !sap || ike_decode_sa(sap, &sap_dec, &err) ||
	    sap_dec.nproposals != 1 ||
	    sap_dec.proposals[0].spi_size != IKE_SPI_SIZE_CHILD ||
	    prop_read(&sap_dec.proposals[0], false, &c->xf) ||
	    !prop_was_offered(&c->xf, sa->conn.esp, sa->conn.n_esp, false) ||
	    ts_decode(in, IKE_PL_TSI, &tsl) || ts_decode(in, IKE_PL_TSR, &tsr) ||
	    !ts_within(&tsl, &ours_l) || !ts_within(&tsr, &ours_r) ||
	    has_notify(in, IKE_N_USE_TRANSPORT_MODE) !=
		    (sa->conn.mode == XDPSEC_MODE_TRANSPORT)) {
		peer_warn("IKE %s: CHILD_SA in IKE_AUTH not acceptable",
			  sa_name(sa));
		return;
	}
	c->spi_out = get_be32(sap_dec.proposals[0].spi);
	c->esn = c->xf.esn == CONN_ESN_YES;
	c->ts_local = tsl;
	c->ts_remote = tsr;
	sa->pending = NULL;
	seed = auth_seed(sa);
	if (child_install(ike, sa, c, &seed)) {
		free(c);
		log_warn("IKE %s: cannot install the CHILD_SA", sa_name(sa));
	}
}

/* ---- INFORMATIONAL ---- */

static int informational_send(struct ike *ike, struct ike_sa *sa,
			      enum ike_req_kind kind)
{
	struct ike_delete del = { .protocol = IKE_PROTO_IKE };
	uint8_t inner_buf[64], out[IKE_MSG_MAX];
	struct ike_buf b;
	size_t len;
	int ret;

	ike_buf_init(&b, inner_buf, sizeof(inner_buf));
	if (kind == IKE_REQ_DELETE_IKE)
		ike_put_delete(&b, &del);
	ret = sk_wrap(sa, IKE_INFORMATIONAL, false, sa->next_req_id, &b, out,
		      sizeof(out), &len);
	if (ret)
		return ret;
	return send_request(ike, sa, kind, out, len);
}

/* Peer's INFORMATIONAL request: deletes, or an empty liveness check. */
static void informational_recv(struct ike *ike, struct ike_sa *sa,
			       uint32_t msg_id, const struct ike_msg *in)
{
	uint8_t inner_buf[IKE_MSG_MAX], out[IKE_MSG_MAX];
	uint8_t spis[IKE_MSG_MAX / 4 * 4];
	const struct ike_payload *p = NULL;
	struct ike_delete d, reply = { .protocol = IKE_PROTO_ESP,
				       .spi_size = IKE_SPI_SIZE_CHILD,
				       .spis = spis };
	bool delete_ike = has_notify(in, IKE_N_AUTHENTICATION_FAILED);
	struct ike_buf b;
	struct ike_err err;
	size_t len;

	while ((p = ike_msg_find(in, IKE_PL_D, p))) {
		if (ike_decode_delete(p, &d, &err))
			continue;
		if (d.protocol == IKE_PROTO_IKE) {
			delete_ike = true;
			continue;
		}
		for (size_t i = 0; i < d.nspis; i++) {
			struct ike_child *c =
				child_by_out_spi(sa, ike_delete_spi(&d, i));

			if (!c || reply.nspis >= sizeof(spis) / 4)
				continue;
			put_be32(spis + 4 * reply.nspis++, c->spi_in);
			child_remove(ike, sa, c);
		}
	}
	ike_buf_init(&b, inner_buf, sizeof(inner_buf));
	if (reply.nspis && !delete_ike)
		ike_put_delete(&b, &reply);
	if (!sk_wrap(sa, IKE_INFORMATIONAL, true, msg_id, &b, out, sizeof(out),
		     &len))
		send_response(ike, sa, out, len);
	if (delete_ike)
		sa_kill(ike, sa, "deleted by the peer");
}

/* ---- CREATE_CHILD_SA: rekeying CHILD_SAs (RFC 7296 section 1.3.3) ---- */

/*
 * A rekeyed CHILD_SA is replaced make-before-break.  The responder
 * installs the new pair beside the old one, whose policies, added
 * earlier, still go first in its SPD: it sends on the old pair until the
 * initiator deletes it.  The initiator installs the new pair when the
 * answer comes, when the responder already holds the new inbound SA, and
 * moves its own traffic over at once; then it deletes the old pair.
 */

/* The PFS group our rekey offers: the one the peer asked for, or ours. */
static uint16_t pfs_group(const struct ike_sa *sa)
{
	if (sa->rekey_group)
		return sa->rekey_group;
	for (unsigned int i = 0; i < sa->conn.n_esp; i++)
		if (sa->conn.esp[i].group)
			return sa->conn.esp[i].group;
	return 0;
}

static bool pfs_group_offered(const struct ike_sa *sa, uint16_t group)
{
	for (unsigned int i = 0; i < sa->conn.n_esp; i++)
		if (sa->conn.esp[i].group == group)
			return true;
	return false;
}

/*
 * Deletes one of our CHILD_SAs, or two (c2 may be NULL): both ends remove
 * them on the answer.
 */
static int child_delete_send(struct ike *ike, struct ike_sa *sa,
			     struct ike_child *c, struct ike_child *c2)
{
	uint8_t inner_buf[64], out[IKE_MSG_MAX], spi_be[8];
	struct ike_delete del = { .protocol = IKE_PROTO_ESP,
				  .spi_size = IKE_SPI_SIZE_CHILD,
				  .nspis = c2 ? 2 : 1, .spis = spi_be };
	struct ike_buf b;
	size_t len;
	int ret;

	put_be32(spi_be, c->spi_in);
	if (c2)
		put_be32(spi_be + 4, c2->spi_in);
	ike_buf_init(&b, inner_buf, sizeof(inner_buf));
	ike_put_delete(&b, &del);
	ret = sk_wrap(sa, IKE_INFORMATIONAL, false, sa->next_req_id, &b, out,
		      sizeof(out), &len);
	if (ret)
		return ret;
	sa->target = c;
	sa->target2 = c2;
	return send_request(ike, sa, IKE_REQ_DELETE_CHILD, out, len);
}

/*
 * A CREATE_CHILD_SA request: the successor of old, or with old NULL a
 * new CHILD_SA for the connection's selectors (the peer deleted ours).
 */
static int child_rekey_send(struct ike *ike, struct ike_sa *sa,
			    struct ike_child *old)
{
	struct ike_ts_list tsl, tsr;
	struct ike_notify transport = { .type = IKE_N_USE_TRANSPORT_MODE };
	uint8_t inner_buf[IKE_MSG_MAX], out[IKE_MSG_MAX], spi_be[4];
	uint8_t pub[IKE_KE_MAX];
	struct ike_notify rekey = { .type = IKE_N_REKEY_SA,
				    .protocol = IKE_PROTO_ESP,
				    .spi_size = IKE_SPI_SIZE_CHILD,
				    .spi = spi_be };
	uint16_t group = pfs_group(sa);
	struct ike_child *c;
	struct ike_buf b;
	size_t len;
	int ret;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	ret = child_spi_new(ike, &c->spi_in);
	if (!ret)
		ret = random_bytes(sa->cnonce, sizeof(sa->cnonce));
	ike_ke_free(sa->cke);
	sa->cke = NULL;
	if (!ret && group) {
		sa->cke = ike_ke_new(group);
		ret = sa->cke ? ike_ke_public(sa->cke, pub, sizeof(pub)) :
				-ENOMEM;
	}
	if (ret) {
		free(c);
		return ret;
	}
	c->mode = old ? old->mode : sa->conn.mode;
	free(sa->pending);
	sa->pending = c;
	sa->target = old;
	sa->rekeying = old != NULL;
	if (old) {
		tsl = old->ts_local;
		tsr = old->ts_remote;
	} else {
		ts_from_conf(sa->conn.local_ts, sa->conn.n_local_ts, &tsl);
		ts_from_conf(sa->conn.remote_ts, sa->conn.n_remote_ts, &tsr);
	}

	ike_buf_init(&b, inner_buf, sizeof(inner_buf));
	if (old) {
		put_be32(spi_be, old->spi_in);
		ike_put_notify(&b, &rekey);
	}
	if (c->mode == XDPSEC_MODE_TRANSPORT)
		ike_put_notify(&b, &transport);
	put_child_sa(sa, &b, c->spi_in, true);
	ike_put_nonce(&b, sa->cnonce, sizeof(sa->cnonce));
	if (group)
		put_ke_payload(&b, group, pub);
	/* TSi and TSr are this exchange's initiator's: ours. */
	ike_put_ts(&b, IKE_PL_TSI, &tsl);
	ike_put_ts(&b, IKE_PL_TSR, &tsr);
	ret = sk_wrap(sa, IKE_CREATE_CHILD_SA, false, sa->next_req_id, &b, out,
		      sizeof(out), &len);
	OPENSSL_cleanse(inner_buf, sizeof(inner_buf));
	if (ret)
		return ret;
	if (old)
		log_info("CHILD_SA %s: rekeying in %08x, out %08x",
			 sa_name(sa), old->spi_in, old->spi_out);
	else
		log_info("CHILD_SA %s: creating one", sa_name(sa));
	return send_request(ike, sa, IKE_REQ_CREATE_CHILD, out, len);
}

/* The group an INVALID_KE_PAYLOAD notify asks for, or 0. */
static uint16_t invalid_ke_group(const struct ike_msg *m)
{
	const struct ike_payload *p = NULL;
	struct ike_notify n;
	struct ike_err err;

	while ((p = ike_msg_find(m, IKE_PL_N, p)))
		if (!ike_decode_notify(p, &n, &err) &&
		    n.type == IKE_N_INVALID_KE_PAYLOAD && n.len == 2)
			return get_be16(n.data);
	return 0;
}

/* The peer's nonce and, with PFS, its KE: g^ir into gir. */
static int child_peer_values(const struct ike_msg *in, struct ike_ke *ke,
			     struct ike_bytes *nonce, uint8_t *gir,
			     size_t *gir_len)
{
	const struct ike_payload *np = ike_msg_find(in, IKE_PL_NONCE, NULL);
	const struct ike_payload *kp = ike_msg_find(in, IKE_PL_KE, NULL);
	struct ike_ke_payload kep;
	struct ike_err err;

	*gir_len = 0;
	if (!np || ike_decode_nonce(np, nonce, &err))
		return -EBADMSG;
	if (!ke)
		return kp ? -EBADMSG : 0;
	if (!kp || ike_decode_ke(kp, &kep, &err) ||
	    kep.group != ike_ke_group(ke))
		return -EBADMSG;
	*gir_len = ike_ke_secret_len(kep.group);
	return ike_ke_shared(ke, kep.data, kep.len, gir, IKE_KE_MAX);
}

/* After a failure: old's rekey, or a new CHILD_SA, a while later. */
static void rekey_retry_later(struct ike *ike, struct ike_sa *sa,
			      struct ike_child *old)
{
	uint32_t r = 0;
	uint64_t when;

	random_bytes(&r, sizeof(r));
	when = ike->now_ms + IKE_REKEY_RETRY_MS + r % IKE_REKEY_RETRY_MS;
	if (old)
		old->rekey_due_ms = when;
	else
		sa->child_retry_ms = when;
}

/* Nonces as numbers of their bytes: negative if a < b. */
static int nonce_cmp(const uint8_t *a, size_t a_len, const uint8_t *b,
		     size_t b_len)
{
	int c = memcmp(a, b, a_len < b_len ? a_len : b_len);

	if (c)
		return c;
	return a_len < b_len ? -1 : a_len > b_len;
}

/* Compares min(a, b) with c. */
static int nonce_min_cmp(const uint8_t *a, size_t a_len, const uint8_t *b,
			 size_t b_len, const uint8_t *c, size_t c_len)
{
	if (nonce_cmp(a, a_len, b, b_len) > 0)
		return nonce_cmp(b, b_len, c, c_len);
	return nonce_cmp(a, a_len, c, c_len);
}

/*
 * The peer rekeyed the same CHILD_SA at the same time, and the lowest of
 * the four nonces is in our exchange: the CHILD_SA it made, c, is the
 * one to go, and we made it (section 2.8.1).  Goes with old, if still
 * there.
 */
static void collision_loser(struct ike *ike, struct ike_sa *sa,
			    struct ike_child *c, struct ike_child *old)
{
	log_info("CHILD_SA %s: rekey collision: in %08x goes", sa_name(sa),
		 c->spi_in);
	if (ike->env.child_retire)
		ike->env.child_retire(ike->env.arg, sa, c);
	if (old)
		child_delete_send(ike, sa, old, c);
	else
		child_delete_send(ike, sa, c, NULL);
}

/* Exchange initiator: the answer to our rekey. */
static void child_rekey_response(struct ike *ike, struct ike_sa *sa,
				 const struct ike_msg *in)
{
	const struct ike_payload *sap = ike_msg_find(in, IKE_PL_SA, NULL);
	struct ike_child *c = sa->pending, *old = sa->target;
	struct ike_ts_list tsl, tsr, ours_l, ours_r;
	uint16_t refused = error_notify(in), group;
	struct ike_sa_payload sap_dec;
	struct child_seed seed = { .initiator = true };
	uint8_t gir[IKE_KE_MAX], coll[IKE_NONCE_MAX];
	bool lowest;
	size_t coll_len = sa->coll_nonce_len;
	bool rekeying = sa->rekeying;
	struct ike_bytes nr;
	struct ike_err err;

	memcpy(coll, sa->coll_nonce, coll_len);
	sa->coll_nonce_len = 0;
	sa->rekeying = false;
	sa->pending = NULL;
	sa->target = NULL;
	if (!c)
		return;
	group = invalid_ke_group(in);
	if (refused == IKE_N_INVALID_KE_PAYLOAD && group &&
	    group != sa->rekey_group && pfs_group_offered(sa, group)) {
		sa->rekey_group = group;
		if (old)
			old->rekey_due_ms = ike->now_ms;   /* again, at once */
		else
			sa->child_retry_ms = ike->now_ms;
		free(c);
		return;
	}
	if (refused) {
		peer_warn("IKE %s: CREATE_CHILD_SA refused (notify %u)",
			  sa_name(sa), refused);
		goto retry;
	}
	ts_from_conf(sa->conn.local_ts, sa->conn.n_local_ts, &ours_l);
	ts_from_conf(sa->conn.remote_ts, sa->conn.n_remote_ts, &ours_r);
	if (!sap || ike_decode_sa(sap, &sap_dec, &err) ||
	    sap_dec.nproposals != 1 ||
	    sap_dec.proposals[0].spi_size != IKE_SPI_SIZE_CHILD ||
	    prop_read(&sap_dec.proposals[0], false, &c->xf) ||
	    !prop_was_offered(&c->xf, sa->conn.esp, sa->conn.n_esp, false) ||
	    c->xf.group != (sa->cke ? ike_ke_group(sa->cke) : 0) ||
	    child_peer_values(in, c->xf.group ? sa->cke : NULL, &nr, gir,
			      &seed.gir_len) ||
	    ts_decode(in, IKE_PL_TSI, &tsl) || ts_decode(in, IKE_PL_TSR, &tsr) ||
	    !ts_within(&tsl, &ours_l) || !ts_within(&tsr, &ours_r) ||
	    has_notify(in, IKE_N_USE_TRANSPORT_MODE) !=
		    (c->mode == XDPSEC_MODE_TRANSPORT)) {
		peer_warn("IKE %s: CREATE_CHILD_SA answer not acceptable",
			  sa_name(sa));
		goto retry;
	}
	c->spi_out = get_be32(sap_dec.proposals[0].spi);
	c->esn = c->xf.esn == CONN_ESN_YES;
	c->ts_local = tsl;
	c->ts_remote = tsr;
	seed.ni = sa->cnonce;
	seed.ni_len = sizeof(sa->cnonce);
	seed.nr = nr.data;
	seed.nr_len = nr.len;
	seed.gir = seed.gir_len ? gir : NULL;
	if (child_install(ike, sa, c, &seed)) {
		OPENSSL_cleanse(gir, sizeof(gir));
		log_warn("IKE %s: cannot install the new CHILD_SA",
			 sa_name(sa));
		goto retry;
	}
	OPENSSL_cleanse(gir, sizeof(gir));
	lowest = coll_len && nonce_min_cmp(sa->cnonce, sizeof(sa->cnonce),
					   nr.data, nr.len, coll, coll_len) < 0;
	if (!old) {
		/* The peer's rekey won and has deleted the old one already. */
		if (rekeying && lowest)
			collision_loser(ike, sa, c, NULL);
		return;
	}
	sa->child_rekeys++;
	old->replaced_ms = ike->now_ms;
	old->rekey_due_ms = 0;
	/*
	 * The peer has the new inbound SA: send on the new pair from now on.
	 * The old inbound one stays until the delete is answered, for what
	 * the peer sends until it reads our delete.
	 */
	if (ike->env.child_retire)
		ike->env.child_retire(ike->env.arg, sa, old);
	if (lowest) {
		collision_loser(ike, sa, c, old);
		return;
	}
	child_delete_send(ike, sa, old, NULL);
	return;
retry:
	free(c);
	rekey_retry_later(ike, sa, old);
}

/* The CHILD_SA a REKEY_SA notify names (by the peer's inbound SPI). */
static int rekey_target(struct ike_sa *sa, const struct ike_msg *in,
			struct ike_child **old)
{
	const struct ike_payload *p = NULL;
	struct ike_notify n;
	struct ike_err err;

	*old = NULL;
	while ((p = ike_msg_find(in, IKE_PL_N, p))) {
		if (ike_decode_notify(p, &n, &err) || n.type != IKE_N_REKEY_SA)
			continue;
		if (n.protocol != IKE_PROTO_ESP ||
		    n.spi_size != IKE_SPI_SIZE_CHILD)
			return IKE_N_INVALID_SYNTAX;
		*old = child_by_out_spi(sa, get_be32(n.spi));
		return *old ? 0 : IKE_N_CHILD_SA_NOT_FOUND;
	}
	return 0;
}

/* An error answer with data: INVALID_KE_PAYLOAD names the group. */
static void respond_invalid_ke(struct ike *ike, struct ike_sa *sa,
			       uint32_t msg_id, uint16_t group)
{
	uint8_t inner_buf[64], out[IKE_MSG_MAX], data[2];
	struct ike_notify n = { .type = IKE_N_INVALID_KE_PAYLOAD,
				.data = data, .len = 2 };
	struct ike_buf b;
	size_t len;

	put_be16(data, group);
	ike_buf_init(&b, inner_buf, sizeof(inner_buf));
	ike_put_notify(&b, &n);
	if (!sk_wrap(sa, IKE_CREATE_CHILD_SA, true, msg_id, &b, out,
		     sizeof(out), &len))
		send_response(ike, sa, out, len);
}

/*
 * Responder: a CREATE_CHILD_SA request for a CHILD_SA.  With REKEY_SA it
 * replaces one of ours; without, it adds one.
 */
static void create_child_recv(struct ike *ike, struct ike_sa *sa,
			      uint32_t msg_id, const struct ike_msg *in)
{
	struct ike_notify transport = { .type = IKE_N_USE_TRANSPORT_MODE };
	uint8_t inner_buf[IKE_MSG_MAX], out[IKE_MSG_MAX], spi_be[4];
	uint8_t gir[IKE_KE_MAX], pub[IKE_KE_MAX], nr[IKE_NONCE_LEN];
	const struct ike_proposal *chosen = NULL;
	struct child_seed seed = { .initiator = false };
	struct ike_transform t[XF_MAX];
	struct ike_child *old, *c = NULL;
	struct ike_ke *ke = NULL;
	bool collision;
	struct ike_proposal prop;
	struct ike_bytes ni;
	struct ike_buf b;
	uint16_t refuse;
	size_t len;

	if (sa->state != IKE_SA_ESTABLISHED) {
		refuse = IKE_N_TEMPORARY_FAILURE;
		goto refused;
	}
	refuse = rekey_target(sa, in, &old);
	if (refuse)
		goto refused;
	/*
	 * On its way out: try later.  Our own rekey of it is under way: both
	 * go on, and the lowest nonce decides once ours is answered.
	 */
	if (old && sa->req_kind == IKE_REQ_DELETE_CHILD &&
	    (sa->target == old || sa->target2 == old)) {
		refuse = IKE_N_TEMPORARY_FAILURE;
		goto refused;
	}
	collision = old && sa->req_kind == IKE_REQ_CREATE_CHILD &&
		    sa->target == old;
	if (old && old->replaced_ms) {
		refuse = IKE_N_TEMPORARY_FAILURE;
		goto refused;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		refuse = IKE_N_TEMPORARY_FAILURE;
		goto refused;
	}
	refuse = child_choose(ike, sa, in, true, c, &chosen);
	if (refuse)
		goto refused;
	if (c->xf.group) {
		const struct ike_payload *kp = ike_msg_find(in, IKE_PL_KE,
							    NULL);
		struct ike_ke_payload kep;
		struct ike_err err;

		if (!kp || ike_decode_ke(kp, &kep, &err) ||
		    kep.group != c->xf.group) {
			respond_invalid_ke(ike, sa, msg_id, c->xf.group);
			free(c);
			return;
		}
		ke = ike_ke_new(c->xf.group);
		if (!ke || ike_ke_public(ke, pub, sizeof(pub))) {
			refuse = IKE_N_TEMPORARY_FAILURE;
			goto refused;
		}
	}
	if (random_bytes(nr, sizeof(nr)) ||
	    child_peer_values(in, ke, &ni, gir, &seed.gir_len)) {
		refuse = IKE_N_INVALID_SYNTAX;
		goto refused;
	}
	seed.ni = ni.data;
	seed.ni_len = ni.len;
	seed.nr = nr;
	seed.nr_len = sizeof(nr);
	seed.gir = seed.gir_len ? gir : NULL;
	if (child_install(ike, sa, c, &seed)) {
		refuse = IKE_N_TEMPORARY_FAILURE;
		goto refused;
	}
	if (old) {
		sa->child_rekeys++;
		old->replaced_ms = ike->now_ms;
		old->rekey_due_ms = 0;
	}
	if (collision) {
		const uint8_t *lo = nonce_cmp(ni.data, ni.len, nr, sizeof(nr)) < 0 ?
					    ni.data : nr;
		size_t lo_len = lo == nr ? sizeof(nr) : ni.len;

		memcpy(sa->coll_nonce, lo, lo_len);
		sa->coll_nonce_len = lo_len;
	}

	put_be32(spi_be, c->spi_in);
	prop = *chosen;
	prop.spi = spi_be;
	prop.transforms = t;
	prop.ntransforms = (uint8_t)prop_transforms(&c->xf, false, true, t);
	ike_buf_init(&b, inner_buf, sizeof(inner_buf));
	if (c->mode == XDPSEC_MODE_TRANSPORT)
		ike_put_notify(&b, &transport);
	ike_put_sa(&b, &prop, 1);
	ike_put_nonce(&b, nr, sizeof(nr));
	if (ke)
		put_ke_payload(&b, c->xf.group, pub);
	/* TSi is the exchange initiator's side: the peer's. */
	ike_put_ts(&b, IKE_PL_TSI, &c->ts_remote);
	ike_put_ts(&b, IKE_PL_TSR, &c->ts_local);
	if (!sk_wrap(sa, IKE_CREATE_CHILD_SA, true, msg_id, &b, out,
		     sizeof(out), &len))
		send_response(ike, sa, out, len);
	OPENSSL_cleanse(inner_buf, sizeof(inner_buf));
	OPENSSL_cleanse(gir, sizeof(gir));
	ike_ke_free(ke);
	return;
refused:
	OPENSSL_cleanse(gir, sizeof(gir));
	ike_ke_free(ke);
	free(c);
	peer_warn("IKE %s: CREATE_CHILD_SA refused (notify %u)", sa_name(sa),
		  refuse);
	respond_notify(ike, sa, IKE_CREATE_CHILD_SA, msg_id, refuse);
}

/*
 * Established SAs, nothing outstanding: a replaced CHILD_SA the peer has
 * not deleted goes now; one whose time is up, or whose SAs the data plane
 * says are nearly spent, is rekeyed.  One request at a time.
 */
static void child_timers(struct ike *ike, struct ike_sa *sa)
{
	uint64_t now = ike->now_ms;

	for (struct ike_child *c = sa->children; c; c = c->next) {
		if (c->replaced_ms) {
			if (now >= c->replaced_ms + IKE_REKEY_DELETE_MS) {
				child_delete_send(ike, sa, c, NULL);
				return;
			}
			continue;
		}
		if ((c->rekey_due_ms && now >= c->rekey_due_ms) ||
		    (ike->env.child_expiring &&
		     ike->env.child_expiring(ike->env.arg, sa, c))) {
			if (child_rekey_send(ike, sa, c))
				rekey_retry_later(ike, sa, c);
			return;
		}
	}
	/* A connection that keeps itself up wants its CHILD_SA back. */
	if (!sa->children && sa->conn.start != CONN_START_WAIT &&
	    !sa->replaced_ms && now >= sa->child_retry_ms &&
	    child_rekey_send(ike, sa, NULL))
		rekey_retry_later(ike, sa, NULL);
}

static uint64_t child_next_due(const struct ike_sa *sa)
{
	uint64_t due = UINT64_MAX;

	if (!sa->children && sa->conn.start != CONN_START_WAIT &&
	    !sa->replaced_ms)
		due = sa->child_retry_ms;

	for (const struct ike_child *c = sa->children; c; c = c->next) {
		uint64_t d = c->replaced_ms ?
				     c->replaced_ms + IKE_REKEY_DELETE_MS :
				     c->rekey_due_ms;

		if (d && d < due)
			due = d;
	}
	return due;
}

/* ---- CREATE_CHILD_SA: rekeying the IKE SA (RFC 7296 section 1.3.2) ---- */

/*
 * The new IKE SA takes over the CHILD_SAs at once; the rekey's initiator
 * then deletes the old one.  SKEYSEED comes from the old SA's SK_d with
 * the old SA's PRF (section 2.18), so only the transforms in use now are
 * offered, and only those are accepted.
 */

static int ike_spi_new(uint64_t *spi)
{
	do {
		if (random_bytes(spi, sizeof(*spi)))
			return -EIO;
	} while (!*spi);
	return 0;
}

/* A successor for sa: same connection, peer and path, not keyed yet. */
static struct ike_sa *successor_new(struct ike *ike, const struct ike_sa *sa,
				    bool initiator)
{
	struct ike_sa *nsa = sa_new(ike, &sa->conn, initiator);

	if (!nsa)
		return NULL;
	nsa->dg = sa->dg;
	nsa->nat_here = sa->nat_here;
	nsa->nat_there = sa->nat_there;
	nsa->xf = sa->xf;
	nsa->state = IKE_SA_AUTHENTICATING;
	memcpy(nsa->peer_id, sa->peer_id, sizeof(nsa->peer_id));
	nsa->ni_len = nsa->nr_len = IKE_NONCE_LEN;
	nsa->ke = ike_ke_new(sa->xf.group);
	if (!nsa->ke || random_bytes(initiator ? nsa->ni : nsa->nr,
				     IKE_NONCE_LEN)) {
		sa_kill(ike, nsa, "cannot rekey");
		return NULL;
	}
	return nsa;
}

/* Our SA payload and KE for the new IKE SA: the transforms in use. */
static void put_ike_rekey(struct ike_sa *sa, struct ike_buf *b,
			  const struct ike_sa *nsa, uint64_t spi,
			  const struct ike_proposal *chosen)
{
	struct ike_transform t[XF_MAX];
	struct ike_proposal prop = {
		.num = chosen ? chosen->num : 1,
		.protocol = IKE_PROTO_IKE,
		.spi_size = IKE_SPI_SIZE_IKE,
	};
	uint8_t spi_be[8], pub[IKE_KE_MAX];

	put_be64(spi_be, spi);
	prop.spi = spi_be;
	prop.transforms = t;
	prop.ntransforms = (uint8_t)prop_transforms(&sa->xf, true, true, t);
	ike_put_sa(b, &prop, 1);
	ike_put_nonce(b, nsa->initiator ? nsa->ni : nsa->nr, IKE_NONCE_LEN);
	if (!ike_ke_public(nsa->ke, pub, sizeof(pub)))
		put_ke_payload(b, sa->xf.group, pub);
}

/* The CHILD_SAs and counters move to the successor, now established. */
static void successor_takes_over(struct ike *ike, struct ike_sa *sa,
				 struct ike_sa *nsa)
{
	nsa->children = sa->children;
	sa->children = NULL;
	nsa->child_rekeys = sa->child_rekeys;
	nsa->ike_rekeys = sa->ike_rekeys + 1;
	sa->replaced_ms = ike->now_ms;
	sa->rekey_due_ms = 0;
	sa->dpd_due_ms = 0;
	established(ike, nsa);
	log_info("IKE SA %s %016llx: rekeyed, now %016llx", sa_name(sa),
		 (unsigned long long)sa->spi_i, (unsigned long long)nsa->spi_i);
}

static int ike_rekey_send(struct ike *ike, struct ike_sa *sa)
{
	uint8_t inner_buf[IKE_MSG_MAX], out[IKE_MSG_MAX];
	struct ike_sa *nsa;
	struct ike_buf b;
	size_t len;
	int ret;

	nsa = successor_new(ike, sa, true);
	if (!nsa)
		return -ENOMEM;
	ret = ike_spi_new(&nsa->spi_i);
	if (ret) {
		sa_kill(ike, nsa, "cannot rekey");
		return ret;
	}
	ike_buf_init(&b, inner_buf, sizeof(inner_buf));
	put_ike_rekey(sa, &b, nsa, nsa->spi_i, NULL);
	ret = sk_wrap(sa, IKE_CREATE_CHILD_SA, false, sa->next_req_id, &b, out,
		      sizeof(out), &len);
	if (ret) {
		sa_kill(ike, nsa, "cannot rekey");
		return ret;
	}
	sa->successor = nsa;
	log_info("IKE SA %s %016llx: rekeying", sa_name(sa),
		 (unsigned long long)sa->spi_i);
	return send_request(ike, sa, IKE_REQ_REKEY_IKE, out, len);
}

/* The peer's SA, nonce and KE for the new IKE SA, into nsa. */
static int ike_rekey_peer(const struct ike_sa *sa, struct ike_sa *nsa,
			  const struct ike_msg *in, bool response,
			  const struct ike_proposal **chosen)
{
	const struct ike_payload *sap = ike_msg_find(in, IKE_PL_SA, NULL);
	const struct ike_payload *np = ike_msg_find(in, IKE_PL_NONCE, NULL);
	const struct ike_payload *kp = ike_msg_find(in, IKE_PL_KE, NULL);
	static struct ike_sa_payload offer;
	struct conn_proposal xf;
	struct ike_ke_payload ke;
	struct ike_bytes nonce;
	struct ike_err err;

	if (!sap || !np || !kp || ike_decode_sa(sap, &offer, &err) ||
	    ike_decode_nonce(np, &nonce, &err) || ike_decode_ke(kp, &ke, &err) ||
	    nonce.len > IKE_NONCE_MAX)
		return IKE_N_INVALID_SYNTAX;
	*chosen = prop_choose(&offer, &sa->xf, 1, IKE_PROTO_IKE, true, &xf);
	if (!*chosen || (*chosen)->spi_size != IKE_SPI_SIZE_IKE ||
	    (response && offer.nproposals != 1))
		return IKE_N_NO_PROPOSAL_CHOSEN;
	if (ke.group != sa->xf.group)
		return IKE_N_INVALID_KE_PAYLOAD;
	if (response) {
		nsa->spi_r = get_be64((*chosen)->spi);
		memcpy(nsa->nr, nonce.data, nonce.len);
		nsa->nr_len = nonce.len;
	} else {
		nsa->spi_i = get_be64((*chosen)->spi);
		memcpy(nsa->ni, nonce.data, nonce.len);
		nsa->ni_len = nonce.len;
	}
	if (!nsa->spi_i || !nsa->spi_r ||
	    sa_keys_make(nsa, ke.data, ke.len, sa))
		return IKE_N_INVALID_SYNTAX;
	return 0;
}

/* Exchange initiator: the answer to our IKE SA rekey. */
static void ike_rekey_response(struct ike *ike, struct ike_sa *sa,
			       const struct ike_msg *in)
{
	const struct ike_proposal *chosen;
	struct ike_sa *nsa = sa->successor;
	uint16_t refused = error_notify(in);

	sa->successor = NULL;
	if (!nsa)
		return;
	if (!refused)
		refused = ike_rekey_peer(sa, nsa, in, true, &chosen);
	if (refused) {
		peer_warn("IKE %s: IKE SA rekey failed (notify %u)", sa_name(sa),
			  refused);
		sa_kill(ike, nsa, "rekey failed");
		sa->rekey_due_ms = ike->now_ms + IKE_REKEY_RETRY_MS;
		return;
	}
	successor_takes_over(ike, sa, nsa);
	if (!informational_send(ike, sa, IKE_REQ_DELETE_IKE))
		sa->state = IKE_SA_DELETING;
}

/* Responder: the peer rekeys the IKE SA. */
static void ike_rekey_recv(struct ike *ike, struct ike_sa *sa, uint32_t msg_id,
			   const struct ike_msg *in)
{
	uint8_t inner_buf[IKE_MSG_MAX], out[IKE_MSG_MAX];
	const struct ike_proposal *chosen = NULL;
	struct ike_sa *nsa;
	struct ike_buf b;
	uint16_t refuse;
	size_t len;

	/* Ours is under way, or one of our requests is: try again later. */
	if (sa->req_kind != IKE_REQ_NONE || sa->replaced_ms) {
		respond_notify(ike, sa, IKE_CREATE_CHILD_SA, msg_id,
			       IKE_N_TEMPORARY_FAILURE);
		return;
	}
	nsa = successor_new(ike, sa, false);
	if (!nsa || ike_spi_new(&nsa->spi_r)) {
		if (nsa)
			sa_kill(ike, nsa, "cannot rekey");
		respond_notify(ike, sa, IKE_CREATE_CHILD_SA, msg_id,
			       IKE_N_TEMPORARY_FAILURE);
		return;
	}
	refuse = ike_rekey_peer(sa, nsa, in, false, &chosen);
	if (refuse == IKE_N_INVALID_KE_PAYLOAD) {
		sa_kill(ike, nsa, "rekey refused");
		respond_invalid_ke(ike, sa, msg_id, sa->xf.group);
		return;
	}
	if (refuse) {
		sa_kill(ike, nsa, "rekey refused");
		respond_notify(ike, sa, IKE_CREATE_CHILD_SA, msg_id, refuse);
		return;
	}
	ike_buf_init(&b, inner_buf, sizeof(inner_buf));
	put_ike_rekey(sa, &b, nsa, nsa->spi_r, chosen);
	if (sk_wrap(sa, IKE_CREATE_CHILD_SA, true, msg_id, &b, out,
		    sizeof(out), &len)) {
		sa_kill(ike, nsa, "cannot rekey");
		return;
	}
	send_response(ike, sa, out, len);
	successor_takes_over(ike, sa, nsa);
}

/* Whether a CREATE_CHILD_SA request proposes a new IKE SA. */
static bool proposes_ike_sa(const struct ike_msg *in)
{
	const struct ike_payload *sap = ike_msg_find(in, IKE_PL_SA, NULL);
	static struct ike_sa_payload offer;
	struct ike_err err;

	return sap && !ike_decode_sa(sap, &offer, &err) && offer.nproposals &&
	       offer.proposals[0].protocol == IKE_PROTO_IKE;
}

/* ---- Dispatch ---- */

/*
 * An Encrypted Fragment: decrypted on its own, kept, and once the last
 * is in, the message put together and parsed into in.  Returns 0,
 * -EAGAIN (kept; more to come, or a copy) or -EBADMSG.
 */
static int skf_open(struct ike_sa *sa, uint8_t *buf, size_t len,
		    const struct ike_msg *m, const struct ike_payload *p,
		    struct ike_msg *in)
{
	struct ike_reasm *r = &sa->reasm;
	bool response = m->hdr.flags & IKE_FLAG_R;
	size_t plain_len, off, whole_len = 0;
	struct ike_err err;
	struct ike_skf f;
	uint8_t *plain;

	if (!sa->frag_ok || ike_decode_skf(p, &f, &err) || !f.number ||
	    f.number > f.total || f.total > IKE_FRAGS_MAX)
		return -EBADMSG;
	off = (size_t)(p->body - buf) - IKE_PAYLOAD_HDR_LEN;
	if (ike_sk_open(sa->sk_in, buf, len, off, IKE_SKF_HDR_LEN, &plain,
			&plain_len))
		return -EBADMSG;
	if (r->got && (r->msg_id != m->hdr.msg_id || r->response != response ||
		       r->total != f.total))
		reasm_reset(r);
	r->msg_id = m->hdr.msg_id;
	r->response = response;
	r->total = f.total;
	if (r->part[f.number - 1])
		return -EAGAIN;
	r->part[f.number - 1] = dup_bytes(plain, plain_len);
	if (!r->part[f.number - 1])
		return -EAGAIN;
	r->part_len[f.number - 1] = plain_len;
	if (f.number == 1)
		r->first = p->next;
	if (++r->got < r->total)
		return -EAGAIN;

	for (int i = 0; i < r->total; i++)
		whole_len += r->part_len[i];
	free(r->whole);
	r->whole = malloc(whole_len ? whole_len : 1);
	if (!r->whole) {
		reasm_reset(r);
		return -EBADMSG;
	}
	for (int i = 0, at = 0; i < r->total; i++) {
		memcpy(r->whole + at, r->part[i], r->part_len[i]);
		at += (int)r->part_len[i];
	}
	sa->frags_in += r->total;
	reasm_reset(r);
	return ike_msg_parse_inner(in, r->first, r->whole, whole_len, &err) ?
		       -EBADMSG : 0;
}

/* Whether m is a fragment other than the first (retransmits answer one). */
static bool later_fragment(const struct ike_msg *m)
{
	const struct ike_payload *p = ike_msg_find(m, IKE_PL_SKF, NULL);
	struct ike_skf f;
	struct ike_err err;

	return p && !ike_decode_skf(p, &f, &err) && f.number != 1;
}

/*
 * Decrypts the SK payload of m (parsed from buf) into in, or takes an
 * Encrypted Fragment.  Returns 0, -EAGAIN (a fragment, more to come) or
 * -EBADMSG.
 */
static int sk_open(struct ike_sa *sa, uint8_t *buf, size_t len,
		   const struct ike_msg *m, struct ike_msg *in)
{
	const struct ike_payload *sk = ike_msg_find(m, IKE_PL_SK, NULL);
	const struct ike_payload *skf = ike_msg_find(m, IKE_PL_SKF, NULL);
	struct ike_err err;
	uint8_t *plain;
	size_t plain_len, off;

	if (!sa->sk_in)
		return -EBADMSG;
	if (!sk && skf)
		return skf_open(sa, buf, len, m, skf, in);
	if (!sk)
		return -EBADMSG;
	off = (size_t)(sk->body - buf) - IKE_PAYLOAD_HDR_LEN;
	if (ike_sk_open(sa->sk_in, buf, len, off, IKE_PAYLOAD_HDR_LEN, &plain,
			&plain_len))
		return -EBADMSG;
	return ike_msg_parse_inner(in, sk->next, plain, plain_len, &err);
}

/*
 * With NAT-T on, answers and our own requests go where the peer's last
 * authenticated message came from (RFC 7296 section 2.23): its NAT may
 * have moved it, and after IKE_SA_INIT it speaks from port 4500.
 */
static void peer_follow(struct ike_sa *sa, const struct ike_dgram *dg)
{
	if (!sa->dg.natt)
		return;
	if (!ike_sockaddr_equal(&sa->dg.remote, &dg->remote))
		sa->dg.remote = dg->remote;
}

static void request_recv(struct ike *ike, struct ike_sa *sa, uint8_t *buf,
			 size_t len, const struct ike_msg *m,
			 const struct ike_dgram *dg)
{
	uint32_t id = m->hdr.msg_id;
	struct ike_msg in;

	int ret;

	if (id + 1 == sa->peer_req_id && sa->resp) {
		/* A retransmission: the same answer, once per message. */
		if (!later_fragment(m))
			send_raw(ike, sa, sa->resp, sa->resp_len);
		return;
	}
	if (id != sa->peer_req_id) {
		ike->dropped++;
		return;
	}
	ret = sk_open(sa, buf, len, m, &in);
	if (ret == -EAGAIN)
		return;
	if (ret) {
		ike->dropped++;	/* RFC 7296 2.21.2: drop, say nothing */
		return;
	}
	peer_follow(sa, dg);
	sa->peer_req_id++;
	sa->last_in_ms = ike->now_ms;
	switch (m->hdr.exchange) {
	case IKE_AUTH:
		auth_request_recv(ike, sa, id, &in);
		break;
	case IKE_INFORMATIONAL:
		informational_recv(ike, sa, id, &in);
		break;
	case IKE_CREATE_CHILD_SA:
		if (proposes_ike_sa(&in))
			ike_rekey_recv(ike, sa, id, &in);
		else
			create_child_recv(ike, sa, id, &in);
		break;
	default:
		respond_notify(ike, sa, m->hdr.exchange, id,
			       IKE_N_INVALID_SYNTAX);
		break;
	}
}

static void response_recv(struct ike *ike, struct ike_sa *sa, uint8_t *buf,
			  size_t len, const struct ike_msg *m,
			  const struct ike_dgram *dg)
{
	enum ike_req_kind kind = sa->req_kind;
	struct ike_msg in;
	int ret = -EBADMSG;

	if (kind != IKE_REQ_NONE && m->hdr.msg_id == sa->next_req_id)
		ret = sk_open(sa, buf, len, m, &in);
	if (ret == -EAGAIN)
		return;
	if (ret) {
		ike->dropped++;
		return;
	}
	peer_follow(sa, dg);
	sa->next_req_id++;
	sa->req_kind = IKE_REQ_NONE;
	sa->last_in_ms = ike->now_ms;
	switch (kind) {
	case IKE_REQ_AUTH:
		auth_response_recv(ike, sa, &in);
		break;
	case IKE_REQ_DELETE_IKE:
		sa_kill(ike, sa, "deleted");
		break;
	case IKE_REQ_CREATE_CHILD:
		child_rekey_response(ike, sa, &in);
		break;
	case IKE_REQ_DELETE_CHILD:
		if (sa->target2)
			child_remove(ike, sa, sa->target2);
		if (sa->target)
			child_remove(ike, sa, sa->target);
		break;
	case IKE_REQ_REKEY_IKE:
		ike_rekey_response(ike, sa, &in);
		break;
	case IKE_REQ_DPD:
	default:
		break;
	}
}

void ike_input(struct ike *ike, uint8_t *buf, size_t len,
	       const struct ike_dgram *dg, const struct conn_conf *conns,
	       size_t n_conns)
{
	bool response;
	struct ike_msg m;
	struct ike_err err = { 0 };
	struct ike_sa *sa;

	ike->now_ms = ike_clock_ms();
	if (ike_msg_parse(&m, buf, len, &err)) {
		ike->dropped++;
		return;
	}
	response = m.hdr.flags & IKE_FLAG_R;
	if (m.hdr.exchange == IKE_SA_INIT && !response) {
		sa = sa_find_init(ike, m.hdr.ispi, &dg->remote);
		if (sa && sa->resp && sa->peer_req_id == 1)
			send_raw(ike, sa, sa->resp, sa->resp_len);
		else if (!sa && !m.hdr.rspi && m.hdr.msg_id == 0)
			init_request_recv(ike, buf, len, &m, dg, conns, n_conns);
		return;
	}
	if (m.hdr.exchange == IKE_SA_INIT) {
		sa = sa_find(ike, m.hdr.ispi, 0);
		if (sa && sa->initiator && sa->req_kind == IKE_REQ_INIT &&
		    m.hdr.msg_id == 0) {
			sa->msgs_in++;
			if (sa->dg.local.sa.sa_family == AF_UNSPEC)
				sa->dg.local = dg->local;
			init_response_recv(ike, sa, buf, len, &m);
		}
		return;
	}
	sa = sa_find(ike, m.hdr.ispi, m.hdr.rspi);
	if (!sa || sa->state == IKE_SA_CONNECTING ||
	    !!(m.hdr.flags & IKE_FLAG_I) == sa->initiator) {
		ike->dropped++;
		return;
	}
	sa->msgs_in++;
	if (response)
		response_recv(ike, sa, buf, len, &m, dg);
	else
		request_recv(ike, sa, buf, len, &m, dg);
}

/* ---- Timers ---- */

static void retransmit(struct ike *ike, struct ike_sa *sa)
{
	if (sa->req_tries >= IKE_RETRANSMITS) {
		sa_kill(ike, sa, sa->req_kind == IKE_REQ_DPD ?
				 "peer is dead" : "no answer");
		return;
	}
	sa->req_tries++;
	sa->retransmits++;
	sa->req_due_ms = ike->now_ms +
			 ((uint64_t)IKE_RETRANSMIT_MS << sa->req_tries);
	send_raw(ike, sa, sa->req, sa->req_len);
}

/*
 * The IKE SA's own rekey when its time comes; a replaced SA that the
 * peer, who rekeyed it, has not deleted is deleted by us.
 */
static void ike_rekey_timers(struct ike *ike, struct ike_sa *sa)
{
	uint64_t now = ike->now_ms;

	if (sa->replaced_ms) {
		if (now >= sa->replaced_ms + IKE_REKEY_DELETE_MS &&
		    !informational_send(ike, sa, IKE_REQ_DELETE_IKE))
			sa->state = IKE_SA_DELETING;
		return;
	}
	if (sa->rekey_due_ms && now >= sa->rekey_due_ms &&
	    ike_rekey_send(ike, sa))
		sa->rekey_due_ms = now + IKE_REKEY_RETRY_MS;
}

static void sa_timers(struct ike *ike, struct ike_sa *sa)
{
	uint64_t now = ike->now_ms;

	if (sa->state == IKE_SA_DEAD)
		return;
	if (sa->req_kind != IKE_REQ_NONE && now >= sa->req_due_ms)
		retransmit(ike, sa);
	if (sa->state != IKE_SA_ESTABLISHED && sa->state != IKE_SA_DEAD &&
	    sa->state != IKE_SA_DELETING &&
	    now >= sa->created_ms + IKE_HALF_OPEN_TIMEOUT_MS)
		sa_kill(ike, sa, "never completed");
	if (sa->state == IKE_SA_ESTABLISHED && sa->req_kind == IKE_REQ_NONE)
		ike_rekey_timers(ike, sa);
	if (sa->state == IKE_SA_ESTABLISHED && sa->req_kind == IKE_REQ_NONE)
		child_timers(ike, sa);
	if (sa->state == IKE_SA_ESTABLISHED && sa->dpd_due_ms &&
	    now >= sa->dpd_due_ms && sa->req_kind == IKE_REQ_NONE) {
		sa->dpd_due_ms = now + sa->conn.dpd * 1000ULL;
		if (now >= sa->last_in_ms + sa->conn.dpd * 1000ULL)
			informational_send(ike, sa, IKE_REQ_DPD);
	}
}

static uint64_t sa_next_due(const struct ike_sa *sa)
{
	uint64_t due = UINT64_MAX;

	if (sa->req_kind != IKE_REQ_NONE)
		due = sa->req_due_ms;
	if (sa->state != IKE_SA_ESTABLISHED &&
	    sa->created_ms + IKE_HALF_OPEN_TIMEOUT_MS < due)
		due = sa->created_ms + IKE_HALF_OPEN_TIMEOUT_MS;
	if (sa->state == IKE_SA_ESTABLISHED && sa->dpd_due_ms &&
	    sa->dpd_due_ms < due)
		due = sa->dpd_due_ms;
	if (sa->state == IKE_SA_ESTABLISHED && child_next_due(sa) < due)
		due = child_next_due(sa);
	if (sa->state == IKE_SA_ESTABLISHED && sa->rekey_due_ms &&
	    sa->rekey_due_ms < due)
		due = sa->rekey_due_ms;
	if (sa->state == IKE_SA_ESTABLISHED && sa->replaced_ms &&
	    sa->replaced_ms + IKE_REKEY_DELETE_MS < due)
		due = sa->replaced_ms + IKE_REKEY_DELETE_MS;
	return due;
}

uint64_t ike_run_timers(struct ike *ike, uint64_t now_ms)
{
	uint64_t next = UINT64_MAX;

	ike->now_ms = now_ms;
	for (struct ike_sa *sa = ike->sas; sa; sa = sa->next)
		sa_timers(ike, sa);
	sa_reap(ike);
	for (struct ike_sa *sa = ike->sas; sa; sa = sa->next) {
		uint64_t due = sa_next_due(sa);

		if (due < next)
			next = due;
	}
	return next;
}

int ike_rekey_now(struct ike *ike, const char *conn_name)
{
	int n = 0;

	ike->now_ms = ike_clock_ms();
	for (struct ike_sa *sa = ike->sas; sa; sa = sa->next) {
		if (sa->state != IKE_SA_ESTABLISHED || sa->replaced_ms ||
		    strcmp(sa->conn.name, conn_name))
			continue;
		for (struct ike_child *c = sa->children; c; c = c->next) {
			if (c->replaced_ms)
				continue;
			c->rekey_due_ms = ike->now_ms;
			n++;
		}
	}
	return n;
}

int ike_terminate(struct ike *ike, const char *conn_name)
{
	int n = 0;

	ike->now_ms = ike_clock_ms();
	for (struct ike_sa *sa = ike->sas; sa; sa = sa->next) {
		if (sa->state == IKE_SA_DEAD || strcmp(sa->conn.name, conn_name))
			continue;
		n++;
		if (sa->state == IKE_SA_ESTABLISHED &&
		    sa->req_kind == IKE_REQ_NONE &&
		    !informational_send(ike, sa, IKE_REQ_DELETE_IKE)) {
			sa->state = IKE_SA_DELETING;
			continue;
		}
		sa_kill(ike, sa, "terminated");
	}
	return n;
}

int ike_init(struct ike *ike, const struct ike_env *env)
{
	memset(ike, 0, sizeof(*ike));
	ike->env = *env;
	ike->now_ms = ike_clock_ms();
	return random_bytes(ike->cookie_secret, sizeof(ike->cookie_secret));
}

void ike_fini(struct ike *ike)
{
	/*
	 * The data plane keeps the CHILD_SAs' policies, so that what they
	 * protect fails closed once the workers are gone; peers are told
	 * (once, with no wait) that the IKE SAs are going.
	 */
	ike->env.child_down = NULL;
	ike->now_ms = ike_clock_ms();
	for (struct ike_sa *sa = ike->sas; sa; sa = sa->next) {
		if (sa->state == IKE_SA_ESTABLISHED &&
		    sa->req_kind == IKE_REQ_NONE)
			informational_send(ike, sa, IKE_REQ_DELETE_IKE);
		sa->state = IKE_SA_DEAD;
	}
	sa_reap(ike);
	OPENSSL_cleanse(ike->cookie_secret, sizeof(ike->cookie_secret));
}
