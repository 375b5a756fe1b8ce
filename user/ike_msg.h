/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The IKEv2 message codec (RFC 7296, with fragments from RFC 7383): the
 * header, the chain of generic payloads, a typed decoder for each payload
 * and a builder for each.  No state, no crypto, no I/O.
 *
 * Decoders allocate nothing: what they return points into the message
 * buffer, which must outlive it, and their fixed-size arrays refuse input
 * that does not fit rather than truncate it.  Every failure fills in a
 * struct ike_err with the Notify type RFC 7296 has the receiver answer
 * with, and returns a negative errno.
 *
 * The builder writes into a caller's buffer and chains the Next Payload
 * fields itself; its first error sticks, so a message is built with no
 * checks in between and ike_buf_finish() says whether it all fitted.
 */
#ifndef XDPSEC_IKE_MSG_H
#define XDPSEC_IKE_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- Protocol constants ---- */

enum ike_version {
	IKE_MAJOR_VERSION = 2,
	IKE_MINOR_VERSION = 0,
};

enum ike_exchange {
	IKE_SA_INIT = 34,
	IKE_AUTH = 35,
	IKE_CREATE_CHILD_SA = 36,
	IKE_INFORMATIONAL = 37,
};

enum ike_hdr_flags {
	IKE_FLAG_I = 0x08,	/* sent by the original initiator */
	IKE_FLAG_V = 0x10,	/* sender can speak a higher major version */
	IKE_FLAG_R = 0x20,	/* a response */
};

enum ike_payload_type {
	IKE_PL_NONE = 0,
	IKE_PL_SA = 33,
	IKE_PL_KE = 34,
	IKE_PL_IDI = 35,
	IKE_PL_IDR = 36,
	IKE_PL_CERT = 37,
	IKE_PL_CERTREQ = 38,
	IKE_PL_AUTH = 39,
	IKE_PL_NONCE = 40,
	IKE_PL_N = 41,
	IKE_PL_D = 42,
	IKE_PL_V = 43,
	IKE_PL_TSI = 44,
	IKE_PL_TSR = 45,
	IKE_PL_SK = 46,
	IKE_PL_CP = 47,
	IKE_PL_EAP = 48,
	IKE_PL_SKF = 53,	/* RFC 7383 */
};

enum ike_notify_type {
	/* Errors. */
	IKE_N_UNSUPPORTED_CRITICAL_PAYLOAD = 1,
	IKE_N_INVALID_IKE_SPI = 4,
	IKE_N_INVALID_MAJOR_VERSION = 5,
	IKE_N_INVALID_SYNTAX = 7,
	IKE_N_INVALID_MESSAGE_ID = 9,
	IKE_N_INVALID_SPI = 11,
	IKE_N_NO_PROPOSAL_CHOSEN = 14,
	IKE_N_INVALID_KE_PAYLOAD = 17,
	IKE_N_AUTHENTICATION_FAILED = 24,
	IKE_N_SINGLE_PAIR_REQUIRED = 34,
	IKE_N_NO_ADDITIONAL_SAS = 35,
	IKE_N_INTERNAL_ADDRESS_FAILURE = 36,
	IKE_N_FAILED_CP_REQUIRED = 37,
	IKE_N_TS_UNACCEPTABLE = 38,
	IKE_N_INVALID_SELECTORS = 39,
	IKE_N_TEMPORARY_FAILURE = 43,
	IKE_N_CHILD_SA_NOT_FOUND = 44,
	IKE_N_ERROR_MAX = 16383,	/* types above are status */

	/* Status. */
	IKE_N_INITIAL_CONTACT = 16384,
	IKE_N_SET_WINDOW_SIZE = 16385,
	IKE_N_ADDITIONAL_TS_POSSIBLE = 16386,
	IKE_N_IPCOMP_SUPPORTED = 16387,
	IKE_N_NAT_DETECTION_SOURCE_IP = 16388,
	IKE_N_NAT_DETECTION_DESTINATION_IP = 16389,
	IKE_N_COOKIE = 16390,
	IKE_N_USE_TRANSPORT_MODE = 16391,
	IKE_N_HTTP_CERT_LOOKUP_SUPPORTED = 16392,
	IKE_N_REKEY_SA = 16393,
	IKE_N_ESP_TFC_PADDING_NOT_SUPPORTED = 16394,
	IKE_N_NON_FIRST_FRAGMENTS_ALSO = 16395,
	IKE_N_MOBIKE_SUPPORTED = 16396,		/* RFC 4555 */
	IKE_N_IKEV2_FRAGMENTATION_SUPPORTED = 16430,	/* RFC 7383 */
	IKE_N_SIGNATURE_HASH_ALGORITHMS = 16431,	/* RFC 7427 */
};

enum ike_transform_type {
	IKE_TRANSFORM_ENCR = 1,
	IKE_TRANSFORM_PRF = 2,
	IKE_TRANSFORM_INTEG = 3,
	IKE_TRANSFORM_KE = 4,	/* the Diffie-Hellman group */
	IKE_TRANSFORM_ESN = 5,
};

enum ike_encr_id {
	IKE_ENCR_AES_CBC = 12,
	IKE_ENCR_AES_GCM_8 = 18,
	IKE_ENCR_AES_GCM_12 = 19,
	IKE_ENCR_AES_GCM_16 = 20,
	IKE_ENCR_NULL_AUTH_AES_GMAC = 21,
	IKE_ENCR_CHACHA20_POLY1305 = 28,
};

enum ike_prf_id {
	IKE_PRF_HMAC_SHA2_256 = 5,
	IKE_PRF_HMAC_SHA2_384 = 6,
	IKE_PRF_HMAC_SHA2_512 = 7,
};

/* RFC 7296 calls these AUTH_*, a name kept here for the methods below. */
enum ike_integ_id {
	IKE_INTEG_NONE = 0,
	IKE_INTEG_HMAC_SHA2_256_128 = 12,
	IKE_INTEG_HMAC_SHA2_384_192 = 13,
	IKE_INTEG_HMAC_SHA2_512_256 = 14,
};

enum ike_ke_id {
	IKE_GROUP_MODP_768 = 1,		/* refused: RFC 8247 MUST NOT */
	IKE_GROUP_MODP_1024 = 2,	/* refused: RFC 8247 SHOULD NOT */
	IKE_GROUP_MODP_1536 = 5,	/* refused: RFC 8247 SHOULD NOT */
	IKE_GROUP_MODP_2048 = 14,
	IKE_GROUP_MODP_3072 = 15,
	IKE_GROUP_ECP_256 = 19,
	IKE_GROUP_ECP_384 = 20,
	IKE_GROUP_CURVE25519 = 31,
};

enum ike_esn_id {
	IKE_ESN_NO = 0,
	IKE_ESN_YES = 1,
};

enum ike_transform_attr {
	IKE_ATTR_KEY_LENGTH = 14,
	IKE_ATTR_TV = 0x8000,	/* Attribute Format bit: 2-byte value */
	IKE_ATTR_TYPE_MASK = 0x7fff,
};

enum ike_protocol_id {
	IKE_PROTO_NONE = 0,
	IKE_PROTO_IKE = 1,
	IKE_PROTO_AH = 2,
	IKE_PROTO_ESP = 3,
};

enum ike_spi_size {
	IKE_SPI_SIZE_NONE = 0,
	IKE_SPI_SIZE_CHILD = 4,	/* ESP and AH */
	IKE_SPI_SIZE_IKE = 8,
};

enum ike_auth_method {
	IKE_AUTH_RSA = 1,
	IKE_AUTH_PSK = 2,
	IKE_AUTH_DSS = 3,
	IKE_AUTH_ECDSA_256 = 9,		/* RFC 4754 */
	IKE_AUTH_ECDSA_384 = 10,
	IKE_AUTH_ECDSA_521 = 11,
	IKE_AUTH_DIGITAL_SIGNATURE = 14,	/* RFC 7427 */
};

enum ike_id_type {
	IKE_ID_IPV4_ADDR = 1,
	IKE_ID_FQDN = 2,
	IKE_ID_RFC822_ADDR = 3,
	IKE_ID_IPV6_ADDR = 5,
	IKE_ID_DER_ASN1_DN = 9,
	IKE_ID_KEY_ID = 11,
};

enum ike_ts_type {
	IKE_TS_IPV4_ADDR_RANGE = 7,
	IKE_TS_IPV6_ADDR_RANGE = 8,
};

enum ike_cert_encoding {
	IKE_CERT_X509_SIGNATURE = 4,
};

enum ike_cfg_type {
	IKE_CFG_REQUEST = 1,
	IKE_CFG_REPLY = 2,
	IKE_CFG_SET = 3,
	IKE_CFG_ACK = 4,
};

enum ike_cfg_attr {
	IKE_CFG_INTERNAL_IP4_ADDRESS = 1,
	IKE_CFG_INTERNAL_IP4_NETMASK = 2,
	IKE_CFG_INTERNAL_IP4_DNS = 3,
	IKE_CFG_INTERNAL_IP6_ADDRESS = 8,
	IKE_CFG_INTERNAL_IP6_DNS = 10,
	IKE_CFG_INTERNAL_IP4_SUBNET = 13,
	IKE_CFG_SUPPORTED_ATTRIBUTES = 14,
	IKE_CFG_INTERNAL_IP6_SUBNET = 15,
	IKE_CFG_ATTR_TYPE_MASK = 0x7fff,	/* the top bit is reserved */
};

/* ---- Sizes on the wire and limits of this codec ---- */

enum ike_wire_sizes {
	IKE_HDR_LEN = 28,
	IKE_SPI_LEN = 8,
	IKE_PAYLOAD_HDR_LEN = 4,
	IKE_PAYLOAD_MAX = 65535,	/* the 16-bit Payload Length */
	IKE_NONCE_MIN = 16,		/* RFC 7296 2.10 */
	IKE_NONCE_MAX = 256,
	IKE_IPV4_LEN = 4,
	IKE_IPV6_LEN = 16,
};

/*
 * Limits of the fixed arrays.  A message or payload over one of them is
 * refused with INVALID_SYNTAX: no real peer comes near them.
 */
enum ike_limits {
	IKE_PAYLOADS_MAX = 64,		/* payloads in one chain */
	IKE_PROPOSALS_MAX = 32,		/* proposals in one SA payload */
	IKE_TRANSFORMS_MAX = 256,	/* transforms in one SA payload */
	IKE_ATTRS_MAX = 4,		/* attributes of one transform */
	IKE_TS_MAX = 16,		/* selectors in one TS payload */
	IKE_CP_ATTRS_MAX = 32,		/* attributes in one CP payload */
	IKE_ERR_DATA_MAX = 4,
};

/* ---- Errors ---- */

/*
 * Why a message or payload was refused: the Notify type to answer with
 * (0 when there is nothing to say to the peer), its Notification Data,
 * and a short static description for the log.
 */
struct ike_err {
	uint16_t notify;		/* enum ike_notify_type */
	uint8_t data_len;
	uint8_t data[IKE_ERR_DATA_MAX];
	const char *what;
};

/* ---- The message and its payload chain ---- */

struct ike_hdr {
	uint64_t ispi;		/* host order, as the SPIs are compared */
	uint64_t rspi;
	uint8_t next;		/* the first payload */
	uint8_t version;	/* major << 4 | minor */
	uint8_t exchange;	/* enum ike_exchange */
	uint8_t flags;		/* enum ike_hdr_flags */
	uint32_t msg_id;
	uint32_t length;
};

struct ike_payload {
	uint8_t type;		/* enum ike_payload_type */
	uint8_t next;		/* SK and SKF: the first inner payload */
	bool critical;
	uint16_t len;		/* of the body, without the generic header */
	const uint8_t *body;
};

struct ike_msg {
	struct ike_hdr hdr;
	size_t npayloads;
	struct ike_payload payloads[IKE_PAYLOADS_MAX];
};

/*
 * Parses the header and the payload chain of the len bytes at buf, which
 * must be one whole message.  Payloads of a type this codec does not know
 * are left out, unless critical (then UNSUPPORTED_CRITICAL_PAYLOAD, with
 * the type as data).  SK or SKF ends the chain; their body is left to
 * ike_msg_parse_inner() once decrypted.  Returns 0, -EBADMSG (malformed,
 * or a limit exceeded), -EPROTONOSUPPORT (major version) or -EOPNOTSUPP
 * (unknown critical payload).  Once len covers a header, m->hdr is filled
 * in even on failure, so that an answer can name the SPIs.
 */
int ike_msg_parse(struct ike_msg *m, const uint8_t *buf, size_t len,
		  struct ike_err *err);

/*
 * Parses the decrypted content of an SK payload (or of reassembled SKF
 * payloads), whose first payload is of type first, into m's payloads; the
 * header is left as it is.  Same rules as ike_msg_parse(), and SK or SKF
 * inside is INVALID_SYNTAX.
 */
int ike_msg_parse_inner(struct ike_msg *m, uint8_t first, const uint8_t *buf,
			size_t len, struct ike_err *err);

/*
 * The first payload of type in m after prev, or the first one of all when
 * prev is NULL; NULL when there is none.
 */
const struct ike_payload *ike_msg_find(const struct ike_msg *m, uint8_t type,
				       const struct ike_payload *prev);

/* ---- Typed payloads ---- */

/* A transform attribute other than the key length (TLV or TV). */
struct ike_attr {
	uint16_t type;		/* without the format bit */
	bool tv;		/* TV: value; TLV: data and len */
	uint16_t value;
	uint16_t len;
	const uint8_t *data;
};

struct ike_transform {
	uint8_t type;		/* enum ike_transform_type */
	uint16_t id;
	uint16_t key_len;	/* the KEY_LENGTH attribute in bits; 0: none */
	uint8_t nattrs;		/* attributes other than KEY_LENGTH */
	struct ike_attr attrs[IKE_ATTRS_MAX];
};

struct ike_proposal {
	uint8_t num;
	uint8_t protocol;	/* enum ike_protocol_id */
	uint8_t spi_size;	/* enum ike_spi_size */
	const uint8_t *spi;
	uint8_t ntransforms;
	const struct ike_transform *transforms;
};

/*
 * A decoded SA payload.  The proposals point into transforms[]: copy the
 * whole structure only by decoding again.
 */
struct ike_sa_payload {
	size_t nproposals;
	struct ike_proposal proposals[IKE_PROPOSALS_MAX];
	size_t ntransforms;
	struct ike_transform transforms[IKE_TRANSFORMS_MAX];
};

struct ike_ke_payload {
	uint16_t group;		/* enum ike_ke_id */
	uint16_t len;
	const uint8_t *data;
};

/* IDi, IDr. */
struct ike_id {
	uint8_t type;		/* enum ike_id_type */
	uint16_t len;
	const uint8_t *data;
};

/* CERT, CERTREQ. */
struct ike_cert {
	uint8_t encoding;	/* enum ike_cert_encoding */
	uint16_t len;
	const uint8_t *data;
};

struct ike_auth {
	uint8_t method;		/* enum ike_auth_method */
	uint16_t len;
	const uint8_t *data;
};

/* Nonce and Vendor ID: bytes only. */
struct ike_bytes {
	uint16_t len;
	const uint8_t *data;
};

struct ike_notify {
	uint8_t protocol;	/* enum ike_protocol_id, 0 without SPI */
	uint8_t spi_size;
	uint16_t type;		/* enum ike_notify_type */
	const uint8_t *spi;
	uint16_t len;
	const uint8_t *data;
};

struct ike_delete {
	uint8_t protocol;
	uint8_t spi_size;	/* IKE: 0; ESP and AH: 4 */
	uint16_t nspis;
	const uint8_t *spis;	/* nspis * spi_size bytes */
};

struct ike_ts {
	uint8_t type;		/* enum ike_ts_type */
	uint8_t ip_proto;	/* 0: any */
	uint16_t start_port;
	uint16_t end_port;
	uint8_t start[IKE_IPV6_LEN];	/* the first 4 bytes for IPv4 */
	uint8_t end[IKE_IPV6_LEN];
};

/* TSi, TSr. */
struct ike_ts_list {
	size_t n;
	struct ike_ts ts[IKE_TS_MAX];
};

struct ike_skf {
	uint16_t number;
	uint16_t total;
	uint16_t len;		/* IV, ciphertext and ICV */
	const uint8_t *data;
};

struct ike_cp_attr {
	uint16_t type;		/* enum ike_cfg_attr */
	uint16_t len;
	const uint8_t *value;
};

struct ike_cp {
	uint8_t type;		/* enum ike_cfg_type */
	size_t nattrs;
	struct ike_cp_attr attrs[IKE_CP_ATTRS_MAX];
};

/*
 * Each decoder checks that p is of its type, that every length and count
 * inside is consistent and within the codec's limits, and fills in its
 * structure; on failure it returns -EBADMSG (or -EOPNOTSUPP, see
 * ike_decode_ts()) and fills in err.
 */
/*
 * Proposals are numbered 1, 2, 3...; a lone proposal may carry any number
 * but 0, as the one a responder chose keeps its number from the offer.
 * Whether a request's lone proposal is numbered 1 is left to the caller.
 */
int ike_decode_sa(const struct ike_payload *p, struct ike_sa_payload *sa,
		  struct ike_err *err);
int ike_decode_ke(const struct ike_payload *p, struct ike_ke_payload *ke,
		  struct ike_err *err);
int ike_decode_id(const struct ike_payload *p, struct ike_id *id,
		  struct ike_err *err);
int ike_decode_cert(const struct ike_payload *p, struct ike_cert *c,
		    struct ike_err *err);
int ike_decode_auth(const struct ike_payload *p, struct ike_auth *a,
		    struct ike_err *err);
int ike_decode_nonce(const struct ike_payload *p, struct ike_bytes *n,
		     struct ike_err *err);
int ike_decode_notify(const struct ike_payload *p, struct ike_notify *n,
		      struct ike_err *err);
int ike_decode_delete(const struct ike_payload *p, struct ike_delete *d,
		      struct ike_err *err);
int ike_decode_vendor(const struct ike_payload *p, struct ike_bytes *v,
		      struct ike_err *err);
/* A selector type other than IPv4 or IPv6 ranges gives TS_UNACCEPTABLE. */
int ike_decode_ts(const struct ike_payload *p, struct ike_ts_list *ts,
		  struct ike_err *err);
int ike_decode_skf(const struct ike_payload *p, struct ike_skf *f,
		   struct ike_err *err);
int ike_decode_cp(const struct ike_payload *p, struct ike_cp *cp,
		  struct ike_err *err);

/* The SPI number i of a Delete payload of ESP or AH, in host order. */
uint32_t ike_delete_spi(const struct ike_delete *d, size_t i);

/*
 * Whether two proposals say the same thing, their numbers aside: what an
 * initiator checks of the proposal a responder chose.
 */
bool ike_proposal_equal(const struct ike_proposal *a,
			const struct ike_proposal *b);

/* ---- Building ---- */

struct ike_buf {
	uint8_t *data;
	size_t cap;
	size_t len;
	int err;		/* the first error, which sticks */
	bool overflow;		/* err is -ENOSPC: cap was too small */
	bool has_hdr;
	bool closed;		/* SK or SKF written: nothing may follow */
	uint8_t first;		/* the first payload's type */
	size_t next_off;	/* the Next Payload field to fill in next */
};

/* Starts building into the cap bytes at data. */
void ike_buf_init(struct ike_buf *b, uint8_t *data, size_t cap);

/*
 * Ends the message: writes the length into the header, if there is one.
 * Returns 0 or the first error of any call on b: -ENOSPC (out of room),
 * -EMSGSIZE (a payload over 65535 bytes), -EINVAL (an argument out of
 * range, a payload after SK or SKF, a header not first).
 */
int ike_buf_finish(struct ike_buf *b);

/*
 * The header, first of all; h->next and h->length are filled in as the
 * payloads are written and by ike_buf_finish().  Without a header, b
 * builds a bare payload chain (the plaintext of an SK payload) whose first
 * type is then b->first.
 *
 * Every writer below returns b->err, so callers may check each call or
 * only ike_buf_finish().
 */
int ike_put_hdr(struct ike_buf *b, const struct ike_hdr *h);
int ike_put_sa(struct ike_buf *b, const struct ike_proposal *props,
	       size_t nprops);
int ike_put_ke(struct ike_buf *b, const struct ike_ke_payload *ke);
/* type is IKE_PL_IDI or IKE_PL_IDR. */
int ike_put_id(struct ike_buf *b, uint8_t type, const struct ike_id *id);
/* type is IKE_PL_CERT or IKE_PL_CERTREQ. */
int ike_put_cert(struct ike_buf *b, uint8_t type, const struct ike_cert *c);
int ike_put_auth(struct ike_buf *b, const struct ike_auth *a);
int ike_put_nonce(struct ike_buf *b, const uint8_t *nonce, size_t len);
int ike_put_notify(struct ike_buf *b, const struct ike_notify *n);
int ike_put_delete(struct ike_buf *b, const struct ike_delete *d);
int ike_put_vendor(struct ike_buf *b, const uint8_t *vid, size_t len);
/* type is IKE_PL_TSI or IKE_PL_TSR. */
int ike_put_ts(struct ike_buf *b, uint8_t type, const struct ike_ts_list *ts);
int ike_put_cp(struct ike_buf *b, const struct ike_cp *cp);
/* SK and SKF end the chain; first is the type of the first inner payload. */
int ike_put_sk(struct ike_buf *b, uint8_t first, const uint8_t *body,
	       size_t len);
int ike_put_skf(struct ike_buf *b, uint8_t first, const struct ike_skf *f);
/* Any payload from its body, e.g. EAP, or one of a type yet unknown. */
int ike_put_raw(struct ike_buf *b, uint8_t type, bool critical,
		const uint8_t *body, size_t len);

#endif /* XDPSEC_IKE_MSG_H */
