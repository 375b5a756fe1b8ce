// SPDX-License-Identifier: GPL-2.0-only
/*
 * IKEv2 messages (RFC 7296 section 3) as bytes: parsing of the header and
 * the payload chain, typed decoding of each payload, and building.
 *
 * Everything read comes from the network before any authentication, so
 * each length is checked against what is left of its container before it
 * is used, and each structure must fill its container exactly: a message
 * is accepted only if there is one way to read it.  Bytes may sit at any
 * alignment, so fields are read and written bytewise.
 */
#include <errno.h>
#include <string.h>

#include "bytes.h"
#include "ike_msg.h"

enum ike_offsets {
	HDR_NEXT_OFF = 16,	/* Next Payload in the header */
	HDR_VERSION_OFF = 17,
	HDR_EXCHANGE_OFF = 18,
	HDR_FLAGS_OFF = 19,
	HDR_MSG_ID_OFF = 20,
	HDR_LENGTH_OFF = 24,
	GEN_FLAGS_OFF = 1,	/* critical bit in the generic header */
	GEN_LENGTH_OFF = 2,	/* the length of payloads and substructures */
};

enum ike_bits {
	IKE_CRITICAL = 0x80,
	IKE_VERSION_SHIFT = 4,
};

/* Fixed parts of payload bodies and substructures. */
enum ike_body_sizes {
	PROPOSAL_HDR_LEN = 8,
	TRANSFORM_HDR_LEN = 8,
	ATTR_HDR_LEN = 4,
	KE_HDR_LEN = 4,		/* group, reserved */
	ID_HDR_LEN = 4,		/* type, reserved; also AUTH and CP */
	CERT_HDR_LEN = 1,
	NOTIFY_HDR_LEN = 4,
	DELETE_HDR_LEN = 4,
	TS_HDR_LEN = 4,		/* number of selectors, reserved */
	TS_SEL_HDR_LEN = 8,	/* type, protocol, length, ports */
	SKF_HDR_LEN = 4,
	CERTREQ_HASH_LEN = 20,	/* SHA-1 of a CA's public key */
};

/* The Last Substruc values of RFC 7296 3.3.1 and 3.3.2. */
enum ike_last_substruc {
	SUBSTRUC_LAST = 0,
	SUBSTRUC_MORE_PROPOSALS = 2,
	SUBSTRUC_MORE_TRANSFORMS = 3,
};

/* Payload types become bits of a mask to find repeats. */
_Static_assert(IKE_PL_SKF - IKE_PL_SA < 64, "payload mask");

/* ---- Errors ---- */

static int ike_fail(struct ike_err *err, uint16_t notify, int rc,
		    const char *what)
{
	if (err) {
		err->notify = notify;
		err->data_len = 0;
		err->what = what;
	}
	return rc;
}

/* Malformed input: RFC 7296 answers all of it with INVALID_SYNTAX. */
static int ike_bad(struct ike_err *err, const char *what)
{
	return ike_fail(err, IKE_N_INVALID_SYNTAX, -EBADMSG, what);
}

static int ike_bad_type(const struct ike_payload *p, uint8_t type,
			struct ike_err *err)
{
	if (p->type != type)
		return ike_bad(err, "payload of another type");
	return 0;
}

/* ---- The payload chain ---- */

static bool ike_payload_known(uint8_t type)
{
	return (type >= IKE_PL_SA && type <= IKE_PL_EAP) || type == IKE_PL_SKF;
}

/* Whether a message may carry more than one payload of this type. */
static bool ike_payload_repeats(uint8_t type)
{
	switch (type) {
	case IKE_PL_N:
	case IKE_PL_V:
	case IKE_PL_CERT:
	case IKE_PL_CERTREQ:
	case IKE_PL_D:
		return true;
	default:
		return false;
	}
}

static bool ike_payload_encrypted(uint8_t type)
{
	return type == IKE_PL_SK || type == IKE_PL_SKF;
}

/* RFC 7296 2.5: the answer names the payload type it did not know. */
static int ike_unsupported(uint8_t type, struct ike_err *err)
{
	int rc = ike_fail(err, IKE_N_UNSUPPORTED_CRITICAL_PAYLOAD, -EOPNOTSUPP,
			  "unknown critical payload");

	if (err) {
		err->data[0] = type;
		err->data_len = 1;
	}
	return rc;
}

/*
 * Records the known payload of type whose generic header is at gen,
 * checking the rules on repeats and on SK and SKF.  *seen collects the
 * types met so far; end says whether the payload ends the buffer.
 */
static int ike_chain_add(struct ike_msg *m, uint8_t type, const uint8_t *gen,
			 bool end, bool inner, uint64_t *seen,
			 struct ike_err *err)
{
	uint64_t bit = 1ULL << (type - IKE_PL_SA);
	struct ike_payload *p;

	if ((*seen & bit) && !ike_payload_repeats(type))
		return ike_bad(err, "payload repeated");
	*seen |= bit;

	if (ike_payload_encrypted(type) && inner)
		return ike_bad(err, "encrypted payload inside another");
	if (ike_payload_encrypted(type) && !end)
		return ike_bad(err, "encrypted payload not last");

	if (m->npayloads == IKE_PAYLOADS_MAX)
		return ike_bad(err, "too many payloads");

	p = &m->payloads[m->npayloads++];
	p->type = type;
	p->next = gen[0];
	p->critical = gen[GEN_FLAGS_OFF] & IKE_CRITICAL;
	p->len = get_be16(gen + GEN_LENGTH_OFF) - IKE_PAYLOAD_HDR_LEN;
	p->body = gen + IKE_PAYLOAD_HDR_LEN;
	return 0;
}

/*
 * Walks the chain of generic payloads filling len bytes at buf, the first
 * of type next.  The chain ends where a Next Payload is 0, or with SK or
 * SKF, and must end exactly at the end of the buffer.
 */
static int ike_chain_parse(struct ike_msg *m, uint8_t next,
			   const uint8_t *buf, size_t len, bool inner,
			   struct ike_err *err)
{
	uint64_t seen = 0;
	size_t off = 0;
	uint16_t plen;
	uint8_t type;
	int rc;

	m->npayloads = 0;
	while (next != IKE_PL_NONE) {
		if (len - off < IKE_PAYLOAD_HDR_LEN)
			return ike_bad(err, "payload header truncated");

		plen = get_be16(buf + off + GEN_LENGTH_OFF);
		if (plen < IKE_PAYLOAD_HDR_LEN)
			return ike_bad(err, "payload length under 4");
		if (plen > len - off)
			return ike_bad(err, "payload overruns the message");

		type = next;
		next = buf[off];
		if (!ike_payload_known(type)) {
			if (buf[off + GEN_FLAGS_OFF] & IKE_CRITICAL)
				return ike_unsupported(type, err);
			off += plen;
			continue;
		}

		rc = ike_chain_add(m, type, buf + off, off + plen == len,
				   inner, &seen, err);
		if (rc)
			return rc;
		off += plen;

		/* Their Next Payload names the first payload inside. */
		if (ike_payload_encrypted(type))
			return 0;
	}

	if (off != len)
		return ike_bad(err, "bytes after the last payload");
	return 0;
}

static void ike_hdr_read(struct ike_hdr *h, const uint8_t *buf)
{
	h->ispi = get_be64(buf);
	h->rspi = get_be64(buf + IKE_SPI_LEN);
	h->next = buf[HDR_NEXT_OFF];
	h->version = buf[HDR_VERSION_OFF];
	h->exchange = buf[HDR_EXCHANGE_OFF];
	h->flags = buf[HDR_FLAGS_OFF];
	h->msg_id = get_be32(buf + HDR_MSG_ID_OFF);
	h->length = get_be32(buf + HDR_LENGTH_OFF);
}

int ike_msg_parse(struct ike_msg *m, const uint8_t *buf, size_t len,
		  struct ike_err *err)
{
	m->npayloads = 0;
	if (len < IKE_HDR_LEN)
		return ike_bad(err, "message shorter than the header");

	ike_hdr_read(&m->hdr, buf);
	if (m->hdr.version >> IKE_VERSION_SHIFT != IKE_MAJOR_VERSION)
		return ike_fail(err, IKE_N_INVALID_MAJOR_VERSION,
				-EPROTONOSUPPORT, "major version not 2");

	if (m->hdr.length != len)
		return ike_bad(err, "length field differs from the datagram");

	return ike_chain_parse(m, m->hdr.next, buf + IKE_HDR_LEN,
			       len - IKE_HDR_LEN, false, err);
}

int ike_msg_parse_inner(struct ike_msg *m, uint8_t first, const uint8_t *buf,
			size_t len, struct ike_err *err)
{
	return ike_chain_parse(m, first, buf, len, true, err);
}

const struct ike_payload *ike_msg_find(const struct ike_msg *m, uint8_t type,
				       const struct ike_payload *prev)
{
	size_t i = prev ? (size_t)(prev - m->payloads) + 1 : 0;

	for (; i < m->npayloads; i++) {
		if (m->payloads[i].type == type)
			return &m->payloads[i];
	}
	return NULL;
}

/* ---- SA ---- */

/*
 * KEY_LENGTH is kept apart, as every user of a transform asks for it; the
 * other attributes are kept so that a transform carrying one it does not
 * know can be declined (RFC 7296 3.3.6).
 */
static int ike_attr_take(struct ike_transform *t, uint16_t raw,
			 const uint8_t *val, uint16_t vlen,
			 struct ike_err *err)
{
	uint16_t type = raw & IKE_ATTR_TYPE_MASK;
	bool tv = raw & IKE_ATTR_TV;
	struct ike_attr *a;

	if (type == IKE_ATTR_KEY_LENGTH) {
		if (!tv)
			return ike_bad(err, "KEY_LENGTH not in TV format");
		if (t->key_len)
			return ike_bad(err, "KEY_LENGTH repeated");
		t->key_len = get_be16(val);
		if (!t->key_len)
			return ike_bad(err, "KEY_LENGTH of 0");
		return 0;
	}

	if (t->nattrs == IKE_ATTRS_MAX)
		return ike_bad(err, "too many transform attributes");
	a = &t->attrs[t->nattrs++];
	a->type = type;
	a->tv = tv;
	a->value = tv ? get_be16(val) : 0;
	a->len = tv ? 0 : vlen;
	a->data = tv ? NULL : val;
	return 0;
}

static int ike_attrs_decode(struct ike_transform *t, const uint8_t *b,
			    size_t len, struct ike_err *err)
{
	size_t off = 0;
	uint16_t raw, vlen;
	int rc;

	while (off < len) {
		if (len - off < ATTR_HDR_LEN)
			return ike_bad(err, "transform attribute truncated");

		raw = get_be16(b + off);
		vlen = get_be16(b + off + 2);
		if (raw & IKE_ATTR_TV) {
			rc = ike_attr_take(t, raw, b + off + 2, 0, err);
			off += ATTR_HDR_LEN;
		} else if (vlen > len - off - ATTR_HDR_LEN) {
			return ike_bad(err, "transform attribute overruns");
		} else {
			rc = ike_attr_take(t, raw, b + off + ATTR_HDR_LEN,
					   vlen, err);
			off += ATTR_HDR_LEN + vlen;
		}
		if (rc)
			return rc;
	}
	return 0;
}

static int ike_transform_decode(struct ike_sa_payload *sa, const uint8_t *b,
				size_t len, bool last, size_t *used,
				struct ike_err *err)
{
	struct ike_transform *t;
	uint16_t tlen;
	int rc;

	if (len < TRANSFORM_HDR_LEN)
		return ike_bad(err, "transform truncated");
	if (b[0] != (last ? SUBSTRUC_LAST : SUBSTRUC_MORE_TRANSFORMS))
		return ike_bad(err, "transform: wrong last substructure");

	tlen = get_be16(b + GEN_LENGTH_OFF);
	if (tlen < TRANSFORM_HDR_LEN || tlen > len)
		return ike_bad(err, "transform length out of bounds");

	if (sa->ntransforms == IKE_TRANSFORMS_MAX)
		return ike_bad(err, "too many transforms");
	t = &sa->transforms[sa->ntransforms];
	memset(t, 0, sizeof(*t));
	t->type = b[4];
	t->id = get_be16(b + 6);

	rc = ike_attrs_decode(t, b + TRANSFORM_HDR_LEN,
			      tlen - TRANSFORM_HDR_LEN, err);
	if (rc)
		return rc;

	sa->ntransforms++;
	*used = tlen;
	return 0;
}

static int ike_transforms_decode(struct ike_sa_payload *sa, struct ike_proposal *pr,
				 const uint8_t *b, size_t len,
				 struct ike_err *err)
{
	size_t off = 0, used;
	int rc;

	if (!pr->ntransforms)
		return ike_bad(err, "proposal without transforms");

	pr->transforms = &sa->transforms[sa->ntransforms];
	for (unsigned int i = 0; i < pr->ntransforms; i++) {
		rc = ike_transform_decode(sa, b + off, len - off,
					  i + 1 == pr->ntransforms, &used,
					  err);
		if (rc)
			return rc;
		off += used;
	}

	if (off != len)
		return ike_bad(err, "transforms do not fill the proposal");
	return 0;
}

/* RFC 7296 3.3.1: the SPI size follows from the protocol. */
static int ike_proposal_spi_check(const struct ike_proposal *pr,
				  struct ike_err *err)
{
	switch (pr->protocol) {
	case IKE_PROTO_IKE:
		/* None in IKE_SA_INIT, the new SPI when rekeying. */
		if (pr->spi_size == IKE_SPI_SIZE_NONE ||
		    pr->spi_size == IKE_SPI_SIZE_IKE)
			return 0;
		return ike_bad(err, "IKE proposal: SPI size not 0 or 8");
	case IKE_PROTO_AH:
	case IKE_PROTO_ESP:
		if (pr->spi_size == IKE_SPI_SIZE_CHILD)
			return 0;
		return ike_bad(err, "ESP or AH proposal: SPI size not 4");
	default:
		return ike_bad(err, "proposal of an unknown protocol");
	}
}

/*
 * RFC 7296 3.3.1: an offer numbers its proposals 1, 2, 3...; an answer
 * holds the one proposal chosen, under the number it had in the offer.
 */
static int ike_proposal_num_check(const struct ike_sa_payload *sa, uint8_t num,
				  bool last, struct ike_err *err)
{
	if (!num)
		return ike_bad(err, "proposal number 0");
	if (sa->nproposals == 0 && last)
		return 0;
	if (num != sa->nproposals + 1)
		return ike_bad(err, "proposals not numbered 1, 2, 3...");
	return 0;
}

static int ike_proposal_decode(struct ike_sa_payload *sa, const uint8_t *b,
			       size_t len, size_t *used, bool *more,
			       struct ike_err *err)
{
	struct ike_proposal *pr;
	uint16_t plen;
	int rc;

	if (len < PROPOSAL_HDR_LEN)
		return ike_bad(err, "proposal truncated");
	if (b[0] != SUBSTRUC_LAST && b[0] != SUBSTRUC_MORE_PROPOSALS)
		return ike_bad(err, "proposal: wrong last substructure");
	*more = b[0] == SUBSTRUC_MORE_PROPOSALS;

	plen = get_be16(b + GEN_LENGTH_OFF);
	if (plen < PROPOSAL_HDR_LEN || plen > len)
		return ike_bad(err, "proposal length out of bounds");

	if (sa->nproposals == IKE_PROPOSALS_MAX)
		return ike_bad(err, "too many proposals");
	pr = &sa->proposals[sa->nproposals];
	pr->num = b[4];
	pr->protocol = b[5];
	pr->spi_size = b[6];
	pr->ntransforms = b[7];

	rc = ike_proposal_num_check(sa, pr->num, !*more, err);
	if (!rc)
		rc = ike_proposal_spi_check(pr, err);
	if (rc)
		return rc;
	if (pr->spi_size > plen - PROPOSAL_HDR_LEN)
		return ike_bad(err, "proposal SPI overruns");
	pr->spi = pr->spi_size ? b + PROPOSAL_HDR_LEN : NULL;

	rc = ike_transforms_decode(sa, pr, b + PROPOSAL_HDR_LEN + pr->spi_size,
				   plen - PROPOSAL_HDR_LEN - pr->spi_size,
				   err);
	if (rc)
		return rc;

	sa->nproposals++;
	*used = plen;
	return 0;
}

int ike_decode_sa(const struct ike_payload *p, struct ike_sa_payload *sa,
		  struct ike_err *err)
{
	size_t off = 0, used;
	bool more = true;
	int rc;

	rc = ike_bad_type(p, IKE_PL_SA, err);
	if (rc)
		return rc;

	sa->nproposals = 0;
	sa->ntransforms = 0;
	while (more) {
		rc = ike_proposal_decode(sa, p->body + off, p->len - off,
					 &used, &more, err);
		if (rc)
			return rc;
		off += used;
	}

	if (off != p->len)
		return ike_bad(err, "bytes after the last proposal");
	return 0;
}

static bool ike_attr_equal(const struct ike_attr *a, const struct ike_attr *b)
{
	if (a->type != b->type || a->tv != b->tv)
		return false;
	if (a->tv)
		return a->value == b->value;
	return a->len == b->len &&
	       (!a->len || !memcmp(a->data, b->data, a->len));
}

static bool ike_transform_equal(const struct ike_transform *a,
				const struct ike_transform *b)
{
	if (a->type != b->type || a->id != b->id || a->key_len != b->key_len ||
	    a->nattrs != b->nattrs)
		return false;

	for (unsigned int i = 0; i < a->nattrs; i++) {
		if (!ike_attr_equal(&a->attrs[i], &b->attrs[i]))
			return false;
	}
	return true;
}

bool ike_proposal_equal(const struct ike_proposal *a,
			const struct ike_proposal *b)
{
	if (a->protocol != b->protocol || a->spi_size != b->spi_size ||
	    a->ntransforms != b->ntransforms)
		return false;
	if (a->spi_size && memcmp(a->spi, b->spi, a->spi_size))
		return false;

	for (unsigned int i = 0; i < a->ntransforms; i++) {
		if (!ike_transform_equal(&a->transforms[i], &b->transforms[i]))
			return false;
	}
	return true;
}

/* ---- Payloads with a type byte or two and data ---- */

int ike_decode_ke(const struct ike_payload *p, struct ike_ke_payload *ke,
		  struct ike_err *err)
{
	int rc = ike_bad_type(p, IKE_PL_KE, err);

	if (rc)
		return rc;
	if (p->len <= KE_HDR_LEN)
		return ike_bad(err, "KE without key exchange data");

	ke->group = get_be16(p->body);
	ke->data = p->body + KE_HDR_LEN;
	ke->len = p->len - KE_HDR_LEN;
	return 0;
}

int ike_decode_id(const struct ike_payload *p, struct ike_id *id,
		  struct ike_err *err)
{
	if (p->type != IKE_PL_IDI && p->type != IKE_PL_IDR)
		return ike_bad(err, "payload of another type");
	if (p->len <= ID_HDR_LEN)
		return ike_bad(err, "ID without data");

	id->type = p->body[0];
	id->data = p->body + ID_HDR_LEN;
	id->len = p->len - ID_HDR_LEN;

	if (id->type == IKE_ID_IPV4_ADDR && id->len != IKE_IPV4_LEN)
		return ike_bad(err, "ID_IPV4_ADDR not 4 bytes");
	if (id->type == IKE_ID_IPV6_ADDR && id->len != IKE_IPV6_LEN)
		return ike_bad(err, "ID_IPV6_ADDR not 16 bytes");
	return 0;
}

/*
 * A CERTREQ may be empty (any CA will do), and with X.509 certificates
 * lists SHA-1 hashes of CA keys (RFC 7296 3.7).
 */
int ike_decode_cert(const struct ike_payload *p, struct ike_cert *c,
		    struct ike_err *err)
{
	bool req = p->type == IKE_PL_CERTREQ;

	if (p->type != IKE_PL_CERT && !req)
		return ike_bad(err, "payload of another type");
	if (p->len < CERT_HDR_LEN || (!req && p->len == CERT_HDR_LEN))
		return ike_bad(err, "CERT without data");

	c->encoding = p->body[0];
	c->data = p->body + CERT_HDR_LEN;
	c->len = p->len - CERT_HDR_LEN;

	if (req && c->encoding == IKE_CERT_X509_SIGNATURE &&
	    c->len % CERTREQ_HASH_LEN)
		return ike_bad(err, "CERTREQ not a list of SHA-1 hashes");
	return 0;
}

int ike_decode_auth(const struct ike_payload *p, struct ike_auth *a,
		    struct ike_err *err)
{
	int rc = ike_bad_type(p, IKE_PL_AUTH, err);

	if (rc)
		return rc;
	if (p->len <= ID_HDR_LEN)
		return ike_bad(err, "AUTH without data");

	a->method = p->body[0];
	a->data = p->body + ID_HDR_LEN;
	a->len = p->len - ID_HDR_LEN;
	return 0;
}

int ike_decode_nonce(const struct ike_payload *p, struct ike_bytes *n,
		     struct ike_err *err)
{
	int rc = ike_bad_type(p, IKE_PL_NONCE, err);

	if (rc)
		return rc;
	if (p->len < IKE_NONCE_MIN || p->len > IKE_NONCE_MAX)
		return ike_bad(err, "nonce not 16 to 256 bytes");

	n->data = p->body;
	n->len = p->len;
	return 0;
}

int ike_decode_vendor(const struct ike_payload *p, struct ike_bytes *v,
		      struct ike_err *err)
{
	int rc = ike_bad_type(p, IKE_PL_V, err);

	if (rc)
		return rc;
	if (!p->len)
		return ike_bad(err, "empty Vendor ID");

	v->data = p->body;
	v->len = p->len;
	return 0;
}

/* ---- Notify ---- */

/*
 * Notification Data of a fixed or structured size, for the types whose
 * data is read; the others are passed on as they come.
 */
static const struct {
	uint16_t type;
	uint16_t min;
	uint16_t max;
	uint16_t unit;	/* the length is a multiple of this */
} ike_notify_sizes[] = {
	{ IKE_N_UNSUPPORTED_CRITICAL_PAYLOAD, 1, 1, 1 },
	{ IKE_N_INVALID_KE_PAYLOAD, 2, 2, 1 },		/* the group */
	{ IKE_N_SET_WINDOW_SIZE, 4, 4, 1 },
	{ IKE_N_IPCOMP_SUPPORTED, 3, 3, 1 },		/* CPI, transform */
	{ IKE_N_NAT_DETECTION_SOURCE_IP, 20, 20, 1 },	/* SHA-1 */
	{ IKE_N_NAT_DETECTION_DESTINATION_IP, 20, 20, 1 },
	{ IKE_N_COOKIE, 1, 64, 1 },			/* RFC 7296 2.6 */
	{ IKE_N_SIGNATURE_HASH_ALGORITHMS, 2, IKE_PAYLOAD_MAX, 2 },
};

static int ike_notify_size_check(const struct ike_notify *n,
				 struct ike_err *err)
{
	size_t count = sizeof(ike_notify_sizes) / sizeof(ike_notify_sizes[0]);

	for (size_t i = 0; i < count; i++) {
		if (ike_notify_sizes[i].type != n->type)
			continue;
		if (n->len < ike_notify_sizes[i].min ||
		    n->len > ike_notify_sizes[i].max ||
		    n->len % ike_notify_sizes[i].unit)
			return ike_bad(err, "notification data of a bad size");
		return 0;
	}
	return 0;
}

int ike_decode_notify(const struct ike_payload *p, struct ike_notify *n,
		      struct ike_err *err)
{
	int rc = ike_bad_type(p, IKE_PL_N, err);

	if (rc)
		return rc;
	if (p->len < NOTIFY_HDR_LEN)
		return ike_bad(err, "notify truncated");

	n->protocol = p->body[0];
	n->spi_size = p->body[1];
	n->type = get_be16(p->body + 2);

	/* Child SAs have 4-byte SPIs, an IKE SA's is in the header. */
	if (n->spi_size != IKE_SPI_SIZE_NONE &&
	    n->spi_size != IKE_SPI_SIZE_CHILD &&
	    n->spi_size != IKE_SPI_SIZE_IKE)
		return ike_bad(err, "notify SPI size not 0, 4 or 8");
	if (n->spi_size > p->len - NOTIFY_HDR_LEN)
		return ike_bad(err, "notify SPI overruns");

	n->spi = n->spi_size ? p->body + NOTIFY_HDR_LEN : NULL;
	n->data = p->body + NOTIFY_HDR_LEN + n->spi_size;
	n->len = p->len - NOTIFY_HDR_LEN - n->spi_size;
	return ike_notify_size_check(n, err);
}

/* ---- Delete ---- */

int ike_decode_delete(const struct ike_payload *p, struct ike_delete *d,
		      struct ike_err *err)
{
	int rc = ike_bad_type(p, IKE_PL_D, err);

	if (rc)
		return rc;
	if (p->len < DELETE_HDR_LEN)
		return ike_bad(err, "delete truncated");

	d->protocol = p->body[0];
	d->spi_size = p->body[1];
	d->nspis = get_be16(p->body + 2);
	d->spis = p->body + DELETE_HDR_LEN;

	/* RFC 7296 3.11: the IKE SA is named by the header alone. */
	if (d->protocol == IKE_PROTO_IKE) {
		if (d->spi_size || d->nspis)
			return ike_bad(err, "IKE delete with SPIs");
	} else if (d->protocol == IKE_PROTO_ESP ||
		   d->protocol == IKE_PROTO_AH) {
		if (d->spi_size != IKE_SPI_SIZE_CHILD || !d->nspis)
			return ike_bad(err, "child delete without 4-byte SPIs");
	} else {
		return ike_bad(err, "delete of an unknown protocol");
	}

	if ((size_t)p->len - DELETE_HDR_LEN != (size_t)d->spi_size * d->nspis)
		return ike_bad(err, "delete length differs from its SPIs");
	return 0;
}

uint32_t ike_delete_spi(const struct ike_delete *d, size_t i)
{
	return get_be32(d->spis + i * IKE_SPI_SIZE_CHILD);
}

/* ---- Traffic selectors ---- */

/* RFC 7296 3.13.1: 65535..0 stands for OPAQUE ports. */
enum ike_ts_ports {
	TS_OPAQUE_START = 65535,
	TS_OPAQUE_END = 0,
};

static size_t ike_ts_addr_len(uint8_t type)
{
	switch (type) {
	case IKE_TS_IPV4_ADDR_RANGE:
		return IKE_IPV4_LEN;
	case IKE_TS_IPV6_ADDR_RANGE:
		return IKE_IPV6_LEN;
	default:
		return 0;
	}
}

static int ike_ts_decode_one(struct ike_ts *ts, const uint8_t *b, size_t len,
			     size_t *used, struct ike_err *err)
{
	size_t slen, alen;

	if (len < TS_SEL_HDR_LEN)
		return ike_bad(err, "traffic selector truncated");
	slen = get_be16(b + 2);
	if (slen < TS_SEL_HDR_LEN || slen > len)
		return ike_bad(err, "traffic selector length out of bounds");

	alen = ike_ts_addr_len(b[0]);
	if (!alen)
		return ike_fail(err, IKE_N_TS_UNACCEPTABLE, -EOPNOTSUPP,
				"traffic selector of an unknown type");
	if (slen != TS_SEL_HDR_LEN + 2 * alen)
		return ike_bad(err, "traffic selector addresses of wrong size");

	memset(ts, 0, sizeof(*ts));
	ts->type = b[0];
	ts->ip_proto = b[1];
	ts->start_port = get_be16(b + 4);
	ts->end_port = get_be16(b + 6);
	memcpy(ts->start, b + TS_SEL_HDR_LEN, alen);
	memcpy(ts->end, b + TS_SEL_HDR_LEN + alen, alen);

	if (ts->start_port > ts->end_port &&
	    !(ts->start_port == TS_OPAQUE_START &&
	      ts->end_port == TS_OPAQUE_END))
		return ike_bad(err, "traffic selector start port after end");

	*used = slen;
	return 0;
}

int ike_decode_ts(const struct ike_payload *p, struct ike_ts_list *ts,
		  struct ike_err *err)
{
	size_t off = TS_HDR_LEN, used, n;
	int rc;

	if (p->type != IKE_PL_TSI && p->type != IKE_PL_TSR)
		return ike_bad(err, "payload of another type");
	if (p->len < TS_HDR_LEN)
		return ike_bad(err, "TS truncated");

	n = p->body[0];
	if (!n)
		return ike_bad(err, "TS without selectors");
	if (n > IKE_TS_MAX)
		return ike_bad(err, "too many traffic selectors");

	for (ts->n = 0; ts->n < n; ts->n++) {
		rc = ike_ts_decode_one(&ts->ts[ts->n], p->body + off,
				       p->len - off, &used, err);
		if (rc)
			return rc;
		off += used;
	}

	if (off != p->len)
		return ike_bad(err, "bytes after the last traffic selector");
	return 0;
}

/* ---- SKF ---- */

/* RFC 7383 2.5: fragments are numbered from 1 to their total. */
int ike_decode_skf(const struct ike_payload *p, struct ike_skf *f,
		   struct ike_err *err)
{
	int rc = ike_bad_type(p, IKE_PL_SKF, err);

	if (rc)
		return rc;
	if (p->len < SKF_HDR_LEN)
		return ike_bad(err, "SKF truncated");

	f->number = get_be16(p->body);
	f->total = get_be16(p->body + 2);
	f->data = p->body + SKF_HDR_LEN;
	f->len = p->len - SKF_HDR_LEN;

	if (!f->total || !f->number || f->number > f->total)
		return ike_bad(err, "fragment number not 1 to total");
	return 0;
}

/* ---- Configuration ---- */

/*
 * RFC 7296 3.15.1: attributes carrying an address are empty in a request
 * and of one length in a reply.
 */
static const struct {
	uint16_t type;
	uint16_t len;	/* 0: any multiple of unit */
	uint16_t unit;
} ike_cfg_sizes[] = {
	{ IKE_CFG_INTERNAL_IP4_ADDRESS, 4, 1 },
	{ IKE_CFG_INTERNAL_IP4_NETMASK, 4, 1 },
	{ IKE_CFG_INTERNAL_IP4_DNS, 4, 1 },
	{ IKE_CFG_INTERNAL_IP6_ADDRESS, 17, 1 },	/* address, prefix */
	{ IKE_CFG_INTERNAL_IP6_DNS, 16, 1 },
	{ IKE_CFG_INTERNAL_IP4_SUBNET, 8, 1 },		/* address, mask */
	{ IKE_CFG_SUPPORTED_ATTRIBUTES, 0, 2 },		/* types */
	{ IKE_CFG_INTERNAL_IP6_SUBNET, 17, 1 },
};

static bool ike_cfg_size_ok(uint16_t type, uint16_t len)
{
	size_t count = sizeof(ike_cfg_sizes) / sizeof(ike_cfg_sizes[0]);

	for (size_t i = 0; i < count; i++) {
		if (ike_cfg_sizes[i].type != type)
			continue;
		if (len % ike_cfg_sizes[i].unit)
			return false;
		return !len || !ike_cfg_sizes[i].len ||
		       len == ike_cfg_sizes[i].len;
	}
	return true;
}

static int ike_cp_attrs_decode(struct ike_cp *cp, const uint8_t *b,
			       size_t len, struct ike_err *err)
{
	struct ike_cp_attr *a;
	size_t off = 0;

	for (cp->nattrs = 0; off < len; cp->nattrs++) {
		if (len - off < ATTR_HDR_LEN)
			return ike_bad(err, "CP attribute truncated");
		if (cp->nattrs == IKE_CP_ATTRS_MAX)
			return ike_bad(err, "too many CP attributes");

		a = &cp->attrs[cp->nattrs];
		a->type = get_be16(b + off) & IKE_CFG_ATTR_TYPE_MASK;
		a->len = get_be16(b + off + 2);
		a->value = b + off + ATTR_HDR_LEN;
		if (a->len > len - off - ATTR_HDR_LEN)
			return ike_bad(err, "CP attribute overruns");
		if (!ike_cfg_size_ok(a->type, a->len))
			return ike_bad(err, "CP attribute of a bad size");
		off += ATTR_HDR_LEN + a->len;
	}
	return 0;
}

int ike_decode_cp(const struct ike_payload *p, struct ike_cp *cp,
		  struct ike_err *err)
{
	int rc = ike_bad_type(p, IKE_PL_CP, err);

	if (rc)
		return rc;
	if (p->len < ID_HDR_LEN)
		return ike_bad(err, "CP truncated");

	cp->type = p->body[0];
	if (cp->type < IKE_CFG_REQUEST || cp->type > IKE_CFG_ACK)
		return ike_bad(err, "CP of an unknown type");

	return ike_cp_attrs_decode(cp, p->body + ID_HDR_LEN,
				   p->len - ID_HDR_LEN, err);
}

/* ---- Building ---- */

/* No Next Payload field waits to be filled in. */
#define IKE_NO_NEXT SIZE_MAX

void ike_buf_init(struct ike_buf *b, uint8_t *data, size_t cap)
{
	memset(b, 0, sizeof(*b));
	b->data = data;
	b->cap = cap;
	b->next_off = IKE_NO_NEXT;
}

static void ike_buf_fail(struct ike_buf *b, int rc)
{
	if (b->err)
		return;
	b->err = rc;
	b->overflow = rc == -ENOSPC;
}

/* n more bytes, or NULL once anything has failed. */
static uint8_t *ike_buf_room(struct ike_buf *b, size_t n)
{
	uint8_t *p;

	if (b->err)
		return NULL;
	if (b->cap - b->len < n) {
		ike_buf_fail(b, -ENOSPC);
		return NULL;
	}
	p = b->data + b->len;
	b->len += n;
	return p;
}

static void ike_buf_u8(struct ike_buf *b, uint8_t v)
{
	uint8_t *p = ike_buf_room(b, 1);

	if (p)
		*p = v;
}

static void ike_buf_u16(struct ike_buf *b, uint16_t v)
{
	uint8_t *p = ike_buf_room(b, 2);

	if (p)
		put_be16(p, v);
}

static void ike_buf_u32(struct ike_buf *b, uint32_t v)
{
	uint8_t *p = ike_buf_room(b, 4);

	if (p)
		put_be32(p, v);
}

/* memmove: a payload may be rebuilt from bytes in the same buffer. */
static void ike_buf_bytes(struct ike_buf *b, const void *src, size_t n)
{
	uint8_t *p = ike_buf_room(b, n);

	if (p && n)
		memmove(p, src, n);
}

static void ike_buf_zero(struct ike_buf *b, size_t n)
{
	uint8_t *p = ike_buf_room(b, n);

	if (p)
		memset(p, 0, n);
}

/* Checks a writer's argument; false and -EINVAL when it is wrong. */
static bool ike_buf_check(struct ike_buf *b, bool ok)
{
	if (!ok)
		ike_buf_fail(b, -EINVAL);
	return ok && !b->err;
}

/*
 * Fills in the 16-bit length at off + 2 of what was written from off on:
 * the generic header, a proposal or a transform alike.
 */
static void ike_buf_end(struct ike_buf *b, size_t off)
{
	if (b->err)
		return;
	if (b->len - off > IKE_PAYLOAD_MAX) {
		ike_buf_fail(b, -EMSGSIZE);
		return;
	}
	put_be16(b->data + off + GEN_LENGTH_OFF, (uint16_t)(b->len - off));
}

/*
 * Writes a generic header for a payload of type and names the type in the
 * Next Payload field before it.  Returns the header's offset, for
 * ike_buf_end().
 */
static size_t ike_payload_begin(struct ike_buf *b, uint8_t type,
				bool critical)
{
	size_t off = b->len;

	if (!ike_buf_check(b, !b->closed))
		return off;

	ike_buf_u8(b, IKE_PL_NONE);
	ike_buf_u8(b, critical ? IKE_CRITICAL : 0);
	ike_buf_u16(b, 0);
	if (b->err)
		return off;

	if (b->next_off != IKE_NO_NEXT)
		b->data[b->next_off] = type;
	else
		b->first = type;
	b->next_off = off;
	return off;
}

int ike_buf_finish(struct ike_buf *b)
{
	if (!b->err && b->has_hdr) {
		if (b->len > UINT32_MAX)
			ike_buf_fail(b, -EMSGSIZE);
		else
			put_be32(b->data + HDR_LENGTH_OFF, (uint32_t)b->len);
	}
	return b->err;
}

int ike_put_hdr(struct ike_buf *b, const struct ike_hdr *h)
{
	if (!ike_buf_check(b, b->len == 0))
		return b->err;

	ike_buf_u32(b, h->ispi >> 32);
	ike_buf_u32(b, (uint32_t)h->ispi);
	ike_buf_u32(b, h->rspi >> 32);
	ike_buf_u32(b, (uint32_t)h->rspi);
	ike_buf_u8(b, IKE_PL_NONE);
	ike_buf_u8(b, IKE_MAJOR_VERSION << IKE_VERSION_SHIFT |
			      IKE_MINOR_VERSION);
	ike_buf_u8(b, h->exchange);
	ike_buf_u8(b, h->flags);
	ike_buf_u32(b, h->msg_id);
	ike_buf_u32(b, 0);
	if (!b->err) {
		b->has_hdr = true;
		b->next_off = HDR_NEXT_OFF;
	}
	return b->err;
}

/* A payload of a fixed part (a type and reserved bytes) and data. */
static int ike_put_typed(struct ike_buf *b, uint8_t type, const uint8_t *hdr,
			 size_t hdr_len, const uint8_t *data, size_t len)
{
	size_t off = ike_payload_begin(b, type, false);

	ike_buf_bytes(b, hdr, hdr_len);
	ike_buf_bytes(b, data, len);
	ike_buf_end(b, off);
	return b->err;
}

static void ike_put_attrs(struct ike_buf *b, const struct ike_transform *t)
{
	const struct ike_attr *a;

	if (t->key_len) {
		ike_buf_u16(b, IKE_ATTR_TV | IKE_ATTR_KEY_LENGTH);
		ike_buf_u16(b, t->key_len);
	}

	for (unsigned int i = 0; i < t->nattrs; i++) {
		a = &t->attrs[i];
		if (a->tv) {
			ike_buf_u16(b, IKE_ATTR_TV | a->type);
			ike_buf_u16(b, a->value);
		} else {
			ike_buf_u16(b, a->type & IKE_ATTR_TYPE_MASK);
			ike_buf_u16(b, a->len);
			ike_buf_bytes(b, a->data, a->len);
		}
	}
}

static void ike_put_transform(struct ike_buf *b, const struct ike_transform *t,
			      bool last)
{
	size_t off = b->len;

	if (!ike_buf_check(b, t->nattrs <= IKE_ATTRS_MAX))
		return;

	ike_buf_u8(b, last ? SUBSTRUC_LAST : SUBSTRUC_MORE_TRANSFORMS);
	ike_buf_u8(b, 0);
	ike_buf_u16(b, 0);
	ike_buf_u8(b, t->type);
	ike_buf_u8(b, 0);
	ike_buf_u16(b, t->id);
	ike_put_attrs(b, t);
	ike_buf_end(b, off);
}

/* A proposal numbered 0 takes its place in the list as its number. */
static void ike_put_proposal(struct ike_buf *b, const struct ike_proposal *pr,
			     size_t index, bool last)
{
	size_t off = b->len;

	if (!ike_buf_check(b, pr->ntransforms && (pr->spi || !pr->spi_size)))
		return;

	ike_buf_u8(b, last ? SUBSTRUC_LAST : SUBSTRUC_MORE_PROPOSALS);
	ike_buf_u8(b, 0);
	ike_buf_u16(b, 0);
	ike_buf_u8(b, pr->num ? pr->num : (uint8_t)(index + 1));
	ike_buf_u8(b, pr->protocol);
	ike_buf_u8(b, pr->spi_size);
	ike_buf_u8(b, pr->ntransforms);
	ike_buf_bytes(b, pr->spi, pr->spi_size);
	for (unsigned int i = 0; i < pr->ntransforms; i++)
		ike_put_transform(b, &pr->transforms[i],
				  i + 1 == pr->ntransforms);
	ike_buf_end(b, off);
}

int ike_put_sa(struct ike_buf *b, const struct ike_proposal *props,
	       size_t nprops)
{
	size_t off;

	if (!ike_buf_check(b, nprops && nprops <= IKE_PROPOSALS_MAX))
		return b->err;

	off = ike_payload_begin(b, IKE_PL_SA, false);
	for (size_t i = 0; i < nprops; i++)
		ike_put_proposal(b, &props[i], i, i + 1 == nprops);
	ike_buf_end(b, off);
	return b->err;
}

int ike_put_ke(struct ike_buf *b, const struct ike_ke_payload *ke)
{
	uint8_t hdr[KE_HDR_LEN] = { 0 };

	put_be16(hdr, ke->group);
	return ike_put_typed(b, IKE_PL_KE, hdr, sizeof(hdr), ke->data,
			     ke->len);
}

int ike_put_id(struct ike_buf *b, uint8_t type, const struct ike_id *id)
{
	uint8_t hdr[ID_HDR_LEN] = { id->type };

	if (!ike_buf_check(b, type == IKE_PL_IDI || type == IKE_PL_IDR))
		return b->err;
	return ike_put_typed(b, type, hdr, sizeof(hdr), id->data, id->len);
}

int ike_put_cert(struct ike_buf *b, uint8_t type, const struct ike_cert *c)
{
	uint8_t hdr[CERT_HDR_LEN] = { c->encoding };

	if (!ike_buf_check(b, type == IKE_PL_CERT || type == IKE_PL_CERTREQ))
		return b->err;
	return ike_put_typed(b, type, hdr, sizeof(hdr), c->data, c->len);
}

int ike_put_auth(struct ike_buf *b, const struct ike_auth *a)
{
	uint8_t hdr[ID_HDR_LEN] = { a->method };

	return ike_put_typed(b, IKE_PL_AUTH, hdr, sizeof(hdr), a->data,
			     a->len);
}

int ike_put_raw(struct ike_buf *b, uint8_t type, bool critical,
		const uint8_t *body, size_t len)
{
	size_t off = ike_payload_begin(b, type, critical);

	ike_buf_bytes(b, body, len);
	ike_buf_end(b, off);
	return b->err;
}

int ike_put_nonce(struct ike_buf *b, const uint8_t *nonce, size_t len)
{
	return ike_put_raw(b, IKE_PL_NONCE, false, nonce, len);
}

int ike_put_vendor(struct ike_buf *b, const uint8_t *vid, size_t len)
{
	return ike_put_raw(b, IKE_PL_V, false, vid, len);
}

int ike_put_notify(struct ike_buf *b, const struct ike_notify *n)
{
	size_t off;

	if (!ike_buf_check(b, n->spi || !n->spi_size))
		return b->err;

	off = ike_payload_begin(b, IKE_PL_N, false);
	ike_buf_u8(b, n->protocol);
	ike_buf_u8(b, n->spi_size);
	ike_buf_u16(b, n->type);
	ike_buf_bytes(b, n->spi, n->spi_size);
	ike_buf_bytes(b, n->data, n->len);
	ike_buf_end(b, off);
	return b->err;
}

int ike_put_delete(struct ike_buf *b, const struct ike_delete *d)
{
	size_t len = (size_t)d->spi_size * d->nspis;
	size_t off;

	if (!ike_buf_check(b, d->spis || !len))
		return b->err;

	off = ike_payload_begin(b, IKE_PL_D, false);
	ike_buf_u8(b, d->protocol);
	ike_buf_u8(b, d->spi_size);
	ike_buf_u16(b, d->nspis);
	ike_buf_bytes(b, d->spis, len);
	ike_buf_end(b, off);
	return b->err;
}

static void ike_put_selector(struct ike_buf *b, const struct ike_ts *ts)
{
	size_t alen = ike_ts_addr_len(ts->type);

	if (!ike_buf_check(b, alen))
		return;

	ike_buf_u8(b, ts->type);
	ike_buf_u8(b, ts->ip_proto);
	ike_buf_u16(b, (uint16_t)(TS_SEL_HDR_LEN + 2 * alen));
	ike_buf_u16(b, ts->start_port);
	ike_buf_u16(b, ts->end_port);
	ike_buf_bytes(b, ts->start, alen);
	ike_buf_bytes(b, ts->end, alen);
}

int ike_put_ts(struct ike_buf *b, uint8_t type, const struct ike_ts_list *ts)
{
	size_t off;

	if (!ike_buf_check(b, (type == IKE_PL_TSI || type == IKE_PL_TSR) &&
				      ts->n && ts->n <= IKE_TS_MAX))
		return b->err;

	off = ike_payload_begin(b, type, false);
	ike_buf_u8(b, (uint8_t)ts->n);
	ike_buf_zero(b, TS_HDR_LEN - 1);
	for (size_t i = 0; i < ts->n; i++)
		ike_put_selector(b, &ts->ts[i]);
	ike_buf_end(b, off);
	return b->err;
}

int ike_put_cp(struct ike_buf *b, const struct ike_cp *cp)
{
	const struct ike_cp_attr *a;
	size_t off;

	if (!ike_buf_check(b, cp->nattrs <= IKE_CP_ATTRS_MAX))
		return b->err;

	off = ike_payload_begin(b, IKE_PL_CP, false);
	ike_buf_u8(b, cp->type);
	ike_buf_zero(b, ID_HDR_LEN - 1);
	for (size_t i = 0; i < cp->nattrs; i++) {
		a = &cp->attrs[i];
		ike_buf_u16(b, a->type & IKE_CFG_ATTR_TYPE_MASK);
		ike_buf_u16(b, a->len);
		ike_buf_bytes(b, a->value, a->len);
	}
	ike_buf_end(b, off);
	return b->err;
}

/* SK and SKF name the first inner payload and close the chain. */
static void ike_encrypted_close(struct ike_buf *b, size_t off, uint8_t first)
{
	if (b->err)
		return;
	b->data[off] = first;
	b->closed = true;
}

int ike_put_sk(struct ike_buf *b, uint8_t first, const uint8_t *body,
	       size_t len)
{
	size_t off = ike_payload_begin(b, IKE_PL_SK, false);

	ike_buf_bytes(b, body, len);
	ike_buf_end(b, off);
	ike_encrypted_close(b, off, first);
	return b->err;
}

int ike_put_skf(struct ike_buf *b, uint8_t first, const struct ike_skf *f)
{
	size_t off = ike_payload_begin(b, IKE_PL_SKF, false);

	ike_buf_u16(b, f->number);
	ike_buf_u16(b, f->total);
	ike_buf_bytes(b, f->data, f->len);
	ike_buf_end(b, off);
	ike_encrypted_close(b, off, first);
	return b->err;
}
