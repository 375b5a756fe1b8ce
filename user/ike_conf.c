// SPDX-License-Identifier: GPL-2.0-only
/*
 * [conn NAME] sections: what IKEv2 needs to know about one peer.  The file
 * parser in config.c hands us one key at a time, in any order, as it does
 * for [sa]: a rule that involves two keys runs when the second one comes
 * (so that the message points at its line) and again once the section is
 * complete, and the identities, whose defaults depend on the addresses,
 * are filled in again after every key.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "ike_conf.h"
#include "ike_cert.h"
#include "ike_ke.h"
#include "ike_msg.h"

#define BIT(n) (1u << (n))
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

enum conn_key {
	C_LOCAL,
	C_REMOTE,
	C_LOCAL_ID,
	C_REMOTE_ID,
	C_AUTH,
	C_PSK_FILE,
	C_IKE,
	C_ESP,
	C_LOCAL_TS,
	C_REMOTE_TS,
	C_MODE,
	C_START,
	C_IKE_LIFETIME,
	C_CHILD_LIFETIME,
	C_CHILD_BYTES,
	C_CHILD_PACKETS,
	C_DPD,
	C_ENCAP,
	C_PORT,
	C_COOKIE_THRESHOLD,
	C_CERT,
	C_KEY,
	C_CA,
	C_SIGNATURE,
	C_NKEYS,
};

_Static_assert(C_NKEYS <= CONFIG_KEYS_MAX, "given has a bit per key");

const char *const conn_keys[C_NKEYS] = {
	[C_LOCAL] = "local",
	[C_REMOTE] = "remote",
	[C_LOCAL_ID] = "local_id",
	[C_REMOTE_ID] = "remote_id",
	[C_AUTH] = "auth",
	[C_PSK_FILE] = "psk_file",
	[C_IKE] = "ike",
	[C_ESP] = "esp",
	[C_LOCAL_TS] = "local_ts",
	[C_REMOTE_TS] = "remote_ts",
	[C_MODE] = "mode",
	[C_START] = "start",
	[C_IKE_LIFETIME] = "ike_lifetime",
	[C_CHILD_LIFETIME] = "child_lifetime",
	[C_CHILD_BYTES] = "child_bytes",
	[C_CHILD_PACKETS] = "child_packets",
	[C_DPD] = "dpd",
	[C_ENCAP] = "encap",
	[C_PORT] = "port",
	[C_COOKIE_THRESHOLD] = "cookie_threshold",
	[C_CERT] = "cert",
	[C_KEY] = "key",
	[C_CA] = "ca",
	[C_SIGNATURE] = "signature",
};

const unsigned int conn_n_keys = C_NKEYS;

static const struct config_section conn_section = {
	"[conn]", conn_keys, C_NKEYS
};

enum conn_defaults {
	CONN_PORT_DEFAULT = 500,		/* RFC 7296 section 2 */
	CONN_IKE_LIFETIME_DEFAULT = 4 * 3600,
	CONN_CHILD_LIFETIME_DEFAULT = 3600,
	CONN_DPD_DEFAULT = 30,
	CONN_COOKIE_THRESHOLD_DEFAULT = 100,
};

/* The defaults go through the parser, so they obey the same rules. */
#define IKE_DEFAULT                                                          \
	"aes-gcm-256/prf-sha256/curve25519, aes-gcm-128/prf-sha256/ecp256"
#define ESP_DEFAULT "aes-gcm-256, aes-gcm-128"

/* A value list longer than this is a mistake, not a configuration. */
#define LIST_MAX 1024

#define ENCR_NAMES                                                           \
	"aes-gcm-256, aes-gcm-128, chacha20-poly1305, aes-cbc-256 or "       \
	"aes-cbc-128"
#define ESP_ENCR_NAMES                                                       \
	"aes-gcm-256, aes-gcm-128, chacha20-poly1305, aes-cbc-256, "         \
	"aes-cbc-128, aes-gmac-256 or aes-gmac-128"
#define INTEG_NAMES "hmac-sha256-128, hmac-sha384-192 or hmac-sha512-256"
#define PRF_NAMES "prf-sha256, prf-sha384 or prf-sha512"
#define GROUP_NAMES "curve25519, ecp256, ecp384, modp2048 or modp3072"

/* ---- Transform names -------------------------------------------------- */

/* The kinds of transform in a proposal, each at most once. */
enum xform_kind {
	XF_ENCR,
	XF_INTEG,
	XF_PRF,
	XF_GROUP,
	XF_ESN,
};

static const char *const xform_kind_names[] = {
	[XF_ENCR] = "encryption algorithms",
	[XF_INTEG] = "integrity algorithms",
	[XF_PRF] = "PRFs",
	[XF_GROUP] = "groups",
	[XF_ESN] = "ESN settings",
};

struct encr_name {
	const char *name;
	uint16_t id;		/* enum ike_encr_id */
	uint16_t bits;		/* the key length attribute; 0: none */
	bool aead;		/* brings its own integrity check */
	bool esp_only;
};

static const struct encr_name encr_names[] = {
	{ "aes-gcm-128", IKE_ENCR_AES_GCM_16, 128, true, false },
	{ "aes-gcm-256", IKE_ENCR_AES_GCM_16, 256, true, false },
	{ "chacha20-poly1305", IKE_ENCR_CHACHA20_POLY1305, 0, true, false },
	{ "aes-cbc-128", IKE_ENCR_AES_CBC, 128, false, false },
	{ "aes-cbc-256", IKE_ENCR_AES_CBC, 256, false, false },
	/* Integrity without confidentiality (RFC 4543): never for IKE. */
	{ "aes-gmac-128", IKE_ENCR_NULL_AUTH_AES_GMAC, 128, true, true },
	{ "aes-gmac-256", IKE_ENCR_NULL_AUTH_AES_GMAC, 256, true, true },
};

struct id_name {
	const char *name;
	uint16_t id;
};

static const struct id_name integ_names[] = {
	{ "hmac-sha256-128", IKE_INTEG_HMAC_SHA2_256_128 },
	{ "hmac-sha384-192", IKE_INTEG_HMAC_SHA2_384_192 },
	{ "hmac-sha512-256", IKE_INTEG_HMAC_SHA2_512_256 },
};

static const struct id_name prf_names[] = {
	{ "prf-sha256", IKE_PRF_HMAC_SHA2_256 },
	{ "prf-sha384", IKE_PRF_HMAC_SHA2_384 },
	{ "prf-sha512", IKE_PRF_HMAC_SHA2_512 },
};

#define USE_ENCR "aes-gcm-256"
#define USE_SHA2 "hmac-sha256-128 or prf-sha256"
#define WHY_DES "RFC 8221 and RFC 8247: MUST NOT"
#define WHY_3DES "RFC 8247: SHOULD NOT; its 64-bit blocks are unsafe"
#define WHY_MD5 "RFC 8221 and RFC 8247: MUST NOT"
#define WHY_SHA1 "RFC 8247: MUST-; SHA-1 is on its way out"
#define WHY_GMAC "AES-GMAC does not encrypt; IKE needs confidentiality"

/*
 * Names people carry over from other IKE daemons, refused with a reason.
 * HMAC-SHA1 is still allowed by RFC 8247, but every peer that matters has
 * SHA-2, so it is not offered.
 */
static const struct config_refused refused_xforms[] = {
	{ "des", WHY_DES, USE_ENCR },
	{ "des-cbc", WHY_DES, USE_ENCR },
	{ "3des", WHY_3DES, USE_ENCR },
	{ "3des-cbc", WHY_3DES, USE_ENCR },
	{ "md5", WHY_MD5, USE_SHA2 },
	{ "hmac-md5", WHY_MD5, "hmac-sha256-128" },
	{ "hmac-md5-96", WHY_MD5, "hmac-sha256-128" },
	{ "prf-md5", WHY_MD5, "prf-sha256" },
	{ "sha1", WHY_SHA1, USE_SHA2 },
	{ "hmac-sha1", WHY_SHA1, "hmac-sha256-128" },
	{ "hmac-sha1-96", WHY_SHA1, "hmac-sha256-128" },
	{ "prf-sha1", WHY_SHA1, "prf-sha256" },
	{ "null", NULL, USE_ENCR },
	{ "aes-ctr-128", NULL, USE_ENCR },
	{ "aes-ctr-256", NULL, USE_ENCR },
};

/* IKE messages must be encrypted (RFC 7296 section 3.14). */
static const struct config_refused refused_ike[] = {
	{ "aes-gmac", WHY_GMAC, USE_ENCR },
	{ "aes-gmac-128", WHY_GMAC, USE_ENCR },
	{ "aes-gmac-256", WHY_GMAC, USE_ENCR },
};

static const struct encr_name *encr_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_LEN(encr_names); i++)
		if (!strcmp(encr_names[i].name, name))
			return &encr_names[i];
	return NULL;
}

static const struct id_name *id_find(const struct id_name *t, size_t n,
				     const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(t[i].name, name))
			return &t[i];
	return NULL;
}

/* ---- Lists ------------------------------------------------------------ */

static char *trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

/*
 * Cuts the next sep-separated item off *s, without surrounding blanks;
 * *s becomes NULL after the last one.  Items may be empty.
 */
static char *item_next(char **s, char sep)
{
	char *item = *s, *end = strchr(item, sep);

	if (end) {
		*end = '\0';
		*s = end + 1;
	} else {
		*s = NULL;
	}
	return trim(item);
}

static int list_copy(const char *key, const char *val, char *buf,
		     size_t len, char *err, size_t errlen)
{
	if (strlen(val) >= len)
		return config_seterr(err, errlen,
				     "%s is too long (at most %zu characters)",
				     key, len - 1);
	strcpy(buf, val);
	return 0;
}

/* ---- Proposals -------------------------------------------------------- */

/* A proposal while it is read: the transforms seen so far, by name. */
struct proposal_state {
	const char *key;	/* "ike" or "esp" */
	unsigned int idx;	/* from 0 */
	const char *where;	/* "ike proposal 2 (aes-gcm-128/...)" */
	unsigned int seen;	/* bit per enum xform_kind */
	const char *names[XF_ESN + 1];
	const struct encr_name *encr;
	struct conn_proposal p;
};

/*
 * Sorts one transform name into its kind.  Returns the kind, or a
 * negative errno with a message.
 */
static int xform_classify(struct proposal_state *st, const char *name,
			  char *err, size_t errlen)
{
	bool ike = !strcmp(st->key, "ike");
	const struct encr_name *e;
	const struct id_name *id;
	const char *why;
	uint16_t group;

	e = encr_find(name);
	if (e && !(ike && e->esp_only)) {
		st->encr = e;
		st->p.encr = e->id;
		st->p.encr_bits = e->bits;
		return XF_ENCR;
	}
	id = id_find(integ_names, ARRAY_LEN(integ_names), name);
	if (id) {
		st->p.integ = id->id;
		return XF_INTEG;
	}
	id = id_find(prf_names, ARRAY_LEN(prf_names), name);
	if (id && !ike)
		return config_seterr(err, errlen,
				     "%s: %s is for IKE only: ESP has no PRF",
				     st->where, name);
	if (id) {
		st->p.prf = id->id;
		return XF_PRF;
	}
	/* ike_ke.h knows the groups, and why some are refused. */
	if (!ike_ke_parse(name, &group, &why)) {
		st->p.group = group;
		return XF_GROUP;
	}
	if (why)
		return config_seterr(err, errlen, "%s: %s is refused (%s)",
				     st->where, name, why);
	if (!strcmp(name, "esn") || !strcmp(name, "noesn")) {
		if (ike)
			return config_seterr(err, errlen,
					     "%s: %s is for ESP only: IKE has no sequence numbers to extend",
					     st->where, name);
		st->p.esn = name[0] == 'e' ? CONN_ESN_YES : CONN_ESN_NO;
		return XF_ESN;
	}
	return -ENOENT;
}

static int xform_unknown(const struct proposal_state *st, const char *name,
			 char *err, size_t errlen)
{
	bool ike = !strcmp(st->key, "ike");
	int rc;

	rc = config_refused_check(refused_xforms, ARRAY_LEN(refused_xforms),
				  st->key, name, err, errlen);
	if (!rc && ike)
		rc = config_refused_check(refused_ike, ARRAY_LEN(refused_ike),
					  st->key, name, err, errlen);
	if (rc)
		return rc;
	/* The proposal itself is left out: the list is long enough. */
	if (ike)
		return config_seterr(err, errlen,
				     "ike proposal %u: unknown transform '%s': use an encryption (%s), with CBC an integrity (%s), a PRF (%s) and a group (%s)",
				     st->idx + 1, name, ENCR_NAMES,
				     INTEG_NAMES, PRF_NAMES, GROUP_NAMES);
	return config_seterr(err, errlen,
			     "esp proposal %u: unknown transform '%s': use an encryption (%s), with CBC an integrity (%s), optionally a group (%s) and esn or noesn",
			     st->idx + 1, name, ESP_ENCR_NAMES, INTEG_NAMES,
			     GROUP_NAMES);
}

static int xform_add(struct proposal_state *st, const char *name, char *err,
		     size_t errlen)
{
	int kind;

	if (!*name)
		return config_seterr(err, errlen,
				     "%s: an empty transform between '/'",
				     st->where);
	kind = xform_classify(st, name, err, errlen);
	if (kind == -ENOENT)
		return xform_unknown(st, name, err, errlen);
	if (kind < 0)
		return kind;
	if (st->seen & BIT(kind))
		return config_seterr(err, errlen,
				     "%s: two %s (%s and %s); a proposal takes one of each, so offer another proposal instead",
				     st->where, xform_kind_names[kind],
				     st->names[kind], name);
	st->seen |= BIT(kind);
	st->names[kind] = name;
	return 0;
}

/*
 * What a complete proposal needs (RFC 7296 section 3.3.3).  An algorithm
 * that brings its own integrity check is proposed without an integrity
 * algorithm (RFC 7296 section 3.3).
 */
static int proposal_complete(struct proposal_state *st, bool ike, char *err,
			     size_t errlen)
{
	if (!st->encr)
		return config_seterr(err, errlen,
				     "%s has no encryption algorithm: add %s",
				     st->where, ENCR_NAMES);
	if (st->encr->aead && st->p.integ)
		return config_seterr(err, errlen,
				     "%s: %s is combined mode: drop %s",
				     st->where, st->encr->name,
				     st->names[XF_INTEG]);
	if (!st->encr->aead && !st->p.integ)
		return config_seterr(err, errlen,
				     "%s: %s needs an integrity algorithm: add %s",
				     st->where, st->encr->name, INTEG_NAMES);
	if (ike && !st->p.prf)
		return config_seterr(err, errlen, "%s needs a PRF: add %s",
				     st->where, PRF_NAMES);
	if (ike && !st->p.group)
		return config_seterr(err, errlen, "%s needs a group: add %s",
				     st->where, GROUP_NAMES);
	if (!ike && !st->p.esn)
		st->p.esn = CONN_ESN_NO | CONN_ESN_YES;
	return 0;
}

static int proposal_parse(const char *key, char *text, unsigned int idx,
			  struct conn_proposal *out, char *err, size_t errlen)
{
	bool ike = !strcmp(key, "ike");
	struct proposal_state st;
	char where[LIST_MAX + 32];
	char *rest = text;
	int rc;

	memset(&st, 0, sizeof(st));
	st.key = key;
	st.idx = idx;
	st.where = where;
	snprintf(where, sizeof(where), "%s proposal %u (%s)", key, idx + 1,
		 text);
	if (!*text)
		return config_seterr(err, errlen,
				     "%s: proposal %u is empty (two commas, or one at an end)",
				     key, idx + 1);
	while (rest) {
		rc = xform_add(&st, item_next(&rest, '/'), err, errlen);
		if (rc)
			return rc;
	}
	rc = proposal_complete(&st, ike, err, errlen);
	if (rc)
		return rc;
	*out = st.p;
	return 0;
}

/* The whole list replaces what was there only when all of it is good. */
static int proposals_parse(const char *key, const char *val,
			   struct conn_proposal *out, unsigned int *n,
			   char *err, size_t errlen)
{
	struct conn_proposal props[CONN_PROPOSALS_MAX];
	char buf[LIST_MAX], *rest = buf;
	unsigned int count = 0;
	int rc;

	rc = list_copy(key, val, buf, sizeof(buf), err, errlen);
	if (rc)
		return rc;
	while (rest) {
		if (count == CONN_PROPOSALS_MAX)
			return config_seterr(err, errlen,
					     "%s: at most %d proposals",
					     key, CONN_PROPOSALS_MAX);
		rc = proposal_parse(key, item_next(&rest, ','), count,
				    &props[count], err, errlen);
		if (rc)
			return rc;
		count++;
	}
	memcpy(out, props, count * sizeof(props[0]));
	*n = count;
	return 0;
}

/* ---- Traffic selectors ------------------------------------------------ */

static int ts_parse(const char *key, const char *val, struct conn_ts *out,
		    unsigned int *n, char *err, size_t errlen)
{
	struct conn_ts ts[CONN_TS_MAX];
	char buf[LIST_MAX], msg[CONFIG_ERR_MAX], *rest = buf, *item;
	unsigned int count = 0;
	int rc;

	rc = list_copy(key, val, buf, sizeof(buf), err, errlen);
	if (rc)
		return rc;
	while (rest) {
		item = item_next(&rest, ',');
		if (!*item)
			return config_seterr(err, errlen,
					     "%s: an empty prefix (two commas, or one at an end)",
					     key);
		if (count == CONN_TS_MAX)
			return config_seterr(err, errlen,
					     "%s: at most %d prefixes", key,
					     CONN_TS_MAX);
		memset(&ts[count], 0, sizeof(ts[count]));
		if (config_prefix_parse(item, &ts[count].family,
					&ts[count].addr, &ts[count].plen, msg,
					sizeof(msg)))
			return config_seterr(err, errlen, "%s: %s", key, msg);
		count++;
	}
	memcpy(out, ts, count * sizeof(ts[0]));
	*n = count;
	return 0;
}

/* ---- Identities ------------------------------------------------------- */

static void id_set_text(struct conn_id *id, uint8_t type, const char *text)
{
	size_t len = strlen(text);

	memset(id, 0, sizeof(*id));
	id->type = type;
	id->len = len;
	memcpy(id->data, text, len);
	memcpy(id->text, text, len + 1);
}

static void id_from_addr(struct conn_id *id, uint8_t family,
			 const struct xdpsec_addr *a)
{
	bool v6 = family == XDPSEC_AF_INET6;

	memset(id, 0, sizeof(*id));
	id->type = v6 ? IKE_ID_IPV6_ADDR : IKE_ID_IPV4_ADDR;
	id->len = v6 ? 16 : 4;
	memcpy(id->data, a->v6, id->len);
	inet_ntop(family, a->v6, id->text, sizeof(id->text));
}

/* Letters, digits and punctuation: no blanks, no control characters. */
static bool id_text_ok(const char *s)
{
	for (; *s; s++)
		if (!isgraph((unsigned char)*s))
			return false;
	return true;
}

/*
 * The ID type is guessed from the text (RFC 7296 section 3.5): an address,
 * an e-mail address (with '@'), a distinguished name (with '='), or else
 * a domain name.
 */
static int id_parse(const char *key, const char *val, bool remote,
		    struct conn_id *id, char *err, size_t errlen)
{
	const char *at = strchr(val, '@');
	struct xdpsec_addr a;
	uint8_t family;

	if (strlen(val) >= CONN_ID_MAX)
		return config_seterr(err, errlen,
				     "%s is too long (at most %d characters)",
				     key, CONN_ID_MAX - 1);
	if (!strcmp(val, "any")) {
		if (!remote)
			return config_seterr(err, errlen,
					     "local_id any is invalid: this end needs an identity (an address, a domain name or an e-mail address)");
		/* No ID payload carries it: it only matches any. */
		memset(id, 0, sizeof(*id));
		strcpy(id->text, "any");
		id->any = true;
		return 0;
	}
	if (!config_parse_addr(val, &family, &a)) {
		id_from_addr(id, family, &a);
		return 0;
	}
	if (strchr(val, '=')) {
		char why[128];
		size_t n;

		memset(id, 0, sizeof(*id));
		n = ike_dn_from_text(val, id->data, sizeof(id->data), why,
				     sizeof(why));
		if (!n)
			return config_seterr(err, errlen,
					     "%s '%s' is not a distinguished name: %s (write C=CH, O=Example, CN=gw1.example.net)",
					     key, val, why);
		id->type = IKE_ID_DER_ASN1_DN;
		id->len = (uint16_t)n;
		snprintf(id->text, sizeof(id->text), "%s", val);
		return 0;
	}
	if (!id_text_ok(val))
		return config_seterr(err, errlen,
				     "%s '%s' is invalid: use an IP address, a domain name (gw.example.net) or an e-mail address (user@example.net), without blanks",
				     key, val);
	if (at && (at == val || !at[1] || strchr(at + 1, '@')))
		return config_seterr(err, errlen,
				     "%s '%s' is not an e-mail address (name@domain); for a domain name leave out the '@'",
				     key, val);
	id_set_text(id, at ? IKE_ID_RFC822_ADDR : IKE_ID_FQDN, val);
	return 0;
}

/* ---- Keys ------------------------------------------------------------- */

static bool conn_has(const struct conn_conf *c, unsigned int keys)
{
	return (c->given & keys) == keys;
}

/* Whether a rule can be judged: its keys are set, or defaults stand. */
static bool conn_ready(const struct conn_conf *c, bool complete,
		       unsigned int keys)
{
	return complete || conn_has(c, keys);
}

/* Whether local or remote is an address rather than "any" or unset. */
static bool conn_has_addr(const struct conn_conf *c, bool local)
{
	if (local)
		return !c->local_any;
	return conn_has(c, BIT(C_REMOTE)) && !c->remote_any;
}

static int conn_set_addr(struct conn_conf *c, int k, const char *val,
			 char *err, size_t errlen)
{
	bool local = k == C_LOCAL;
	int other = local ? C_REMOTE : C_LOCAL;
	struct xdpsec_addr a;
	uint8_t family;

	if (!strcmp(val, "any")) {
		*(local ? &c->local_any : &c->remote_any) = true;
		memset(local ? &c->local : &c->remote, 0, sizeof(a));
		if (!conn_has_addr(c, !local))
			c->family = 0;
		return 0;
	}
	if (config_parse_addr(val, &family, &a))
		return config_seterr(err, errlen,
				     "%s '%s' is invalid: use an IPv4 or IPv6 address, or any",
				     conn_keys[k], val);
	if (conn_has_addr(c, !local) && c->family != family)
		return config_seterr(err, errlen,
				     "%s %s is %s but %s is %s: they must be of one family",
				     conn_keys[k], val,
				     config_family_name(family),
				     conn_keys[other],
				     config_family_name(c->family));
	*(local ? &c->local_any : &c->remote_any) = false;
	*(local ? &c->local : &c->remote) = a;
	c->family = family;
	return 0;
}

/*
 * The secret as written, or "0x" and hex digits (blanks allowed).  One
 * line ending ("\n" or "\r\n"), as editors add, is not part of a written
 * secret.
 */
static int psk_decode(const char *text, size_t len, const char *shown,
		      uint8_t *out, size_t *n, char *err, size_t errlen)
{
	char what[PATH_MAX + 16];

	snprintf(what, sizeof(what), "psk_file %s", shown);
	if (len >= 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X'))
		return config_hex_decode(text + 2, len - 2, what, out,
					 CONN_PSK_MAX, n, err, errlen);
	if (len && text[len - 1] == '\n') {
		len--;
		if (len && text[len - 1] == '\r')
			len--;
	}
	memcpy(out, text, len < CONN_PSK_MAX ? len : CONN_PSK_MAX);
	*n = len;
	return 0;
}

/*
 * A short PSK can be found offline by anyone who gets one AUTH payload,
 * which an active attacker does by posing as the responder (RFC 7296
 * section 2.15): the length is the only defence the file can give.
 */
static int psk_length_check(const char *shown, size_t n, char *err,
			    size_t errlen)
{
	if (n > CONN_PSK_MAX)
		return config_seterr(err, errlen,
				     "psk_file %s holds %zu bytes; at most %d",
				     shown, n, CONN_PSK_MAX);
	if (n < CONN_PSK_MIN)
		return config_seterr(err, errlen,
				     "psk_file %s holds %zu bytes; at least %d are needed: a weak secret lets an attacker who poses as the peer guess it offline",
				     shown, n, CONN_PSK_MIN);
	return 0;
}

static int conn_set_psk_file(struct conn_conf *c, const char *val,
			     const char *basedir, char *err, size_t errlen)
{
	char path[PATH_MAX], text[CONFIG_KEY_FILE_MAX + 1];
	uint8_t psk[CONN_PSK_MAX];
	size_t len = 0, n = 0;
	int rc, plen;

	if (val[0] == '/' || !basedir)
		plen = snprintf(path, sizeof(path), "%s", val);
	else
		plen = snprintf(path, sizeof(path), "%s/%s", basedir, val);
	if (plen < 0 || (size_t)plen >= sizeof(path))
		return config_seterr(err, errlen, "psk_file %s: path too long",
				     val);

	rc = config_secret_read(path, val, "psk_file", text, sizeof(text),
				&len, err, errlen);
	if (rc)
		return rc;
	rc = psk_decode(text, len, val, psk, &n, err, errlen);
	explicit_bzero(text, sizeof(text));
	if (!rc)
		rc = psk_length_check(val, n, err, errlen);
	if (!rc) {
		explicit_bzero(c->psk, sizeof(c->psk));
		memcpy(c->psk, psk, n);
		c->psk_len = n;
	}
	explicit_bzero(psk, sizeof(psk));
	return rc;
}

static int conn_set_auth(struct conn_conf *c, const char *val, char *err,
			 size_t errlen)
{
	if (!strcmp(val, "psk")) {
		c->auth = CONN_AUTH_PSK;
		return 0;
	}
	if (!strcmp(val, "pubkey")) {
		c->auth = CONN_AUTH_PUBKEY;
		return 0;
	}
	return config_seterr(err, errlen,
			     "auth '%s' is invalid: use psk or pubkey", val);
}

/* A file name for cert, key or ca, relative to the configuration's. */
static int conn_set_path(char *out, const char *key, const char *val,
			 const char *basedir, char *err, size_t errlen)
{
	int n;

	if (val[0] == '/' || !basedir)
		n = snprintf(out, CONN_PATH_MAX, "%s", val);
	else
		n = snprintf(out, CONN_PATH_MAX, "%s/%s", basedir, val);
	if (n < 0 || n >= CONN_PATH_MAX)
		return config_seterr(err, errlen,
				     "%s %s: path too long (at most %d)", key,
				     val, CONN_PATH_MAX - 1);
	return 0;
}

static int conn_set_signature(struct conn_conf *c, const char *val,
			      char *err, size_t errlen)
{
	if (strcmp(val, "pss") && strcmp(val, "pkcs1"))
		return config_seterr(err, errlen,
				     "signature '%s' is invalid: use pss (RSASSA-PSS) or pkcs1 (PKCS#1 v1.5)",
				     val);
	c->rsa_pss = !strcmp(val, "pss");
	return 0;
}

/* Seconds that fit the field; zero means off where zero_ok says so. */
static int conn_set_seconds(uint32_t *out, int k, const char *val,
			    bool zero_ok, char *err, size_t errlen)
{
	uint64_t v;
	int rc;

	rc = config_parse_life(val, CONFIG_LIFE_SECONDS, &v);
	if (rc == -ERANGE || (!rc && v > UINT32_MAX))
		return config_seterr(err, errlen,
				     "%s %s is out of range (at most %u seconds)",
				     conn_keys[k], val, UINT32_MAX);
	if (rc || (!v && !zero_ok))
		return config_seterr(err, errlen,
				     "%s '%s' is invalid: use %s%s",
				     conn_keys[k], val,
				     config_life_usage(CONFIG_LIFE_SECONDS),
				     zero_ok ? " (0 = off)" : ", above 0");
	*out = v;
	return 0;
}

/* A traffic limit on CHILD_SAs; 0 sets none. */
static int conn_set_limit(uint64_t *out, int k, const char *val,
			  enum config_life kind, char *err, size_t errlen)
{
	int rc = config_parse_life(val, kind, out);

	if (rc == -ERANGE)
		return config_seterr(err, errlen, "%s %s is out of range",
				     conn_keys[k], val);
	if (rc)
		return config_seterr(err, errlen,
				     "%s '%s' is invalid: use %s (0 = no limit)",
				     conn_keys[k], val,
				     config_life_usage(kind));
	return 0;
}

static int conn_set_word(struct conn_conf *c, int k, const char *val,
			 char *err, size_t errlen)
{
	switch (k) {
	case C_MODE:
		if (config_parse_mode(val, &c->mode))
			return config_seterr(err, errlen,
					     "mode '%s' is invalid: use tunnel or transport",
					     val);
		return 0;
	case C_START:
		if (!strcmp(val, "initiate"))
			c->start = CONN_START_INITIATE;
		else if (!strcmp(val, "trap"))
			c->start = CONN_START_TRAP;
		else if (!strcmp(val, "wait"))
			c->start = CONN_START_WAIT;
		else
			return config_seterr(err, errlen,
					     "start '%s' is invalid: use initiate, trap or wait",
					     val);
		return 0;
	case C_ENCAP:
		if (!strcmp(val, "auto"))
			c->encap = CONN_ENCAP_AUTO;
		else if (!strcmp(val, "yes"))
			c->encap = CONN_ENCAP_YES;
		else
			return config_seterr(err, errlen,
					     "encap '%s' is invalid: use auto (when a NAT is found) or yes",
					     val);
		return 0;
	}
	return -EINVAL;
}

static int conn_set_number(struct conn_conf *c, int k, const char *val,
			   char *err, size_t errlen)
{
	uint64_t v;

	switch (k) {
	case C_IKE_LIFETIME:
		return conn_set_seconds(&c->ike_lifetime, k, val, false, err,
					errlen);
	case C_CHILD_LIFETIME:
		return conn_set_seconds(&c->child_lifetime, k, val, false,
					err, errlen);
	case C_DPD:
		return conn_set_seconds(&c->dpd, k, val, true, err, errlen);
	case C_CHILD_BYTES:
		return conn_set_limit(&c->child_bytes, k, val,
				      CONFIG_LIFE_BYTES, err, errlen);
	case C_CHILD_PACKETS:
		return conn_set_limit(&c->child_packets, k, val,
				      CONFIG_LIFE_PACKETS, err, errlen);
	case C_PORT:
		if (config_parse_uint(val, 65535, &v) || !v)
			return config_seterr(err, errlen,
					     "port '%s' is invalid: use 1-65535 (500, or 4500 for NAT-T)",
					     val);
		c->remote_port = v;
		return 0;
	case C_COOKIE_THRESHOLD:
		if (config_parse_uint(val, UINT32_MAX, &v))
			return config_seterr(err, errlen,
					     "cookie_threshold '%s' is invalid: use a number of half-open IKE SAs (0: always ask for a cookie)",
					     val);
		c->cookie_threshold = v;
		return 0;
	}
	return conn_set_word(c, k, val, err, errlen);
}

static int conn_set_one(struct conn_conf *c, int k, const char *val,
			const char *basedir, char *err, size_t errlen)
{
	switch (k) {
	case C_LOCAL:
	case C_REMOTE:
		return conn_set_addr(c, k, val, err, errlen);
	case C_LOCAL_ID:
		return id_parse("local_id", val, false, &c->local_id, err,
				errlen);
	case C_REMOTE_ID:
		return id_parse("remote_id", val, true, &c->remote_id, err,
				errlen);
	case C_AUTH:
		return conn_set_auth(c, val, err, errlen);
	case C_PSK_FILE:
		return conn_set_psk_file(c, val, basedir, err, errlen);
	case C_CERT:
		return conn_set_path(c->cert, "cert", val, basedir, err, errlen);
	case C_KEY:
		return conn_set_path(c->key, "key", val, basedir, err, errlen);
	case C_CA:
		return conn_set_path(c->ca, "ca", val, basedir, err, errlen);
	case C_SIGNATURE:
		return conn_set_signature(c, val, err, errlen);
	case C_IKE:
		return proposals_parse("ike", val, c->ike, &c->n_ike, err,
				       errlen);
	case C_ESP:
		return proposals_parse("esp", val, c->esp, &c->n_esp, err,
				       errlen);
	case C_LOCAL_TS:
		return ts_parse("local_ts", val, c->local_ts, &c->n_local_ts,
				err, errlen);
	case C_REMOTE_TS:
		return ts_parse("remote_ts", val, c->remote_ts,
				&c->n_remote_ts, err, errlen);
	}
	return conn_set_number(c, k, val, err, errlen);
}

/*
 * The identities default to the addresses, and to any for a peer that may
 * be anyone; local = any leaves local_id empty, which the check refuses.
 */
static void conn_id_defaults(struct conn_conf *c)
{
	if (!conn_has(c, BIT(C_LOCAL_ID))) {
		memset(&c->local_id, 0, sizeof(c->local_id));
		if (conn_has_addr(c, true))
			id_from_addr(&c->local_id, c->family, &c->local);
	}
	if (!conn_has(c, BIT(C_REMOTE_ID))) {
		memset(&c->remote_id, 0, sizeof(c->remote_id));
		if (conn_has_addr(c, false))
			id_from_addr(&c->remote_id, c->family, &c->remote);
		else if (c->remote_any)
			id_parse("remote_id", "any", true, &c->remote_id,
				 NULL, 0);
	}
}

/* ---- Rules that involve several keys ---------------------------------- */

/* Without the peer's address there is no one to send IKE_SA_INIT to. */
static int conn_rule_start(const struct conn_conf *c, char *err,
			   size_t errlen)
{
	if (c->remote_any && c->start != CONN_START_WAIT)
		return config_seterr(err, errlen,
				     "remote any needs start = wait: without a peer address, start = %s cannot bring the connection up",
				     c->start == CONN_START_TRAP ? "trap" :
								   "initiate");
	return 0;
}

/* Transport mode protects the two hosts' own traffic, nothing else. */
static int conn_rule_host_ts(const struct conn_conf *c, bool local,
			     char *err, size_t errlen)
{
	const struct conn_ts *ts = local ? c->local_ts : c->remote_ts;
	unsigned int n = local ? c->n_local_ts : c->n_remote_ts;
	const struct xdpsec_addr *a = local ? &c->local : &c->remote;
	const char *key = local ? "local_ts" : "remote_ts";
	const char *host = local ? "local" : "remote";
	char ip[INET6_ADDRSTRLEN], net[INET6_ADDRSTRLEN];

	for (unsigned int i = 0; i < n; i++) {
		if (ts[i].family == c->family &&
		    ts[i].plen == config_host_plen(c->family) &&
		    !memcmp(&ts[i].addr, a, sizeof(*a)))
			continue;
		inet_ntop(c->family, a->v6, ip, sizeof(ip));
		inet_ntop(ts[i].family, ts[i].addr.v6, net, sizeof(net));
		return config_seterr(err, errlen,
				     "mode transport: %s must be %s %s/%u (the host itself), not %s/%u",
				     key, host, ip, config_host_plen(c->family),
				     net, ts[i].plen);
	}
	return 0;
}

/* One end in transport mode: an address, and selectors of that host. */
static int conn_rule_transport_end(const struct conn_conf *c, bool local,
				   bool complete, char *err, size_t errlen)
{
	int k = local ? C_LOCAL : C_REMOTE;
	int ts = local ? C_LOCAL_TS : C_REMOTE_TS;

	if (!conn_has_addr(c, local)) {
		if (!conn_ready(c, complete, BIT(k)))
			return 0;
		return config_seterr(err, errlen,
				     "mode transport needs a %s address, not any: its selectors are the two hosts",
				     conn_keys[k]);
	}
	if (!conn_has(c, BIT(ts)))
		return 0;
	return conn_rule_host_ts(c, local, err, errlen);
}

static int conn_rule_transport(const struct conn_conf *c, bool complete,
			       char *err, size_t errlen)
{
	int rc;

	if (c->mode != XDPSEC_MODE_TRANSPORT)
		return 0;
	rc = conn_rule_transport_end(c, true, complete, err, errlen);
	if (!rc)
		rc = conn_rule_transport_end(c, false, complete, err, errlen);
	return rc;
}

static int conn_rules(const struct conn_conf *c, bool complete, char *err,
		      size_t errlen)
{
	int rc;

	rc = conn_rule_start(c, err, errlen);
	if (!rc)
		rc = conn_rule_transport(c, complete, err, errlen);
	return rc;
}

/* ---- The contract ----------------------------------------------------- */

void config_conn_init(struct conn_conf *c, const char *name)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->local_any = true;
	c->remote_port = CONN_PORT_DEFAULT;
	c->mode = XDPSEC_MODE_TUNNEL;
	c->start = CONN_START_WAIT;
	c->encap = CONN_ENCAP_AUTO;
	c->ike_lifetime = CONN_IKE_LIFETIME_DEFAULT;
	c->child_lifetime = CONN_CHILD_LIFETIME_DEFAULT;
	c->dpd = CONN_DPD_DEFAULT;
	c->cookie_threshold = CONN_COOKIE_THRESHOLD_DEFAULT;
	c->rsa_pss = true;
	proposals_parse("ike", IKE_DEFAULT, c->ike, &c->n_ike, NULL, 0);
	proposals_parse("esp", ESP_DEFAULT, c->esp, &c->n_esp, NULL, 0);
}

int config_conn_set(struct conn_conf *c, const char *key, const char *val,
		    const char *basedir, char *err, size_t errlen)
{
	int k = config_key_index(&conn_section, key);
	int rc;

	if (k < 0)
		return config_unknown_key(&conn_section, key, err, errlen);
	if (!*val)
		return config_seterr(err, errlen, "%s has no value", key);
	rc = conn_set_one(c, k, val, basedir, err, errlen);
	if (rc)
		return rc;
	c->given |= BIT(k);
	conn_id_defaults(c);
	return conn_rules(c, false, err, errlen);
}

int config_conn_check(const struct conn_conf *c, char *err, size_t errlen)
{
	unsigned int need = BIT(C_REMOTE) | BIT(C_AUTH) | BIT(C_LOCAL_TS) |
			    BIT(C_REMOTE_TS);
	struct ike_cred *cred;
	int rc;

	if (conn_has(c, BIT(C_AUTH)))
		need |= c->auth == CONN_AUTH_PUBKEY ?
				BIT(C_CERT) | BIT(C_KEY) | BIT(C_CA) :
				BIT(C_PSK_FILE);
	rc = config_missing_keys(&conn_section, "conn", c->name, c->given,
				 need, err, errlen);
	if (rc)
		return rc;
	if (c->auth == CONN_AUTH_PUBKEY) {
		char why[CONFIG_ERR_MAX];

		/* Loaded once here so that mistakes show at --check. */
		cred = ike_cred_load(c->cert, c->key, c->ca, why, sizeof(why));
		if (!cred)
			return config_seterr(err, errlen, "[conn %s]: %s",
					     c->name, why);
		ike_cred_free(cred);
	}
	if (c->local_any && !conn_has(c, BIT(C_LOCAL_ID)))
		return config_seterr(err, errlen,
				     "[conn %s] needs a local_id: local is any, so there is no address to default to",
				     c->name);
	return conn_rules(c, true, err, errlen);
}
