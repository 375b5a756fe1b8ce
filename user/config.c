// SPDX-License-Identifier: GPL-2.0-only
/*
 * The configuration file: an INI file read with libinih.  inih splits
 * "key = value" lines and calls us back, but it neither tells the handler
 * the line number nor reports a section header that has no keys, so the
 * line reader given to ini_parse_stream() does the rest: it counts lines,
 * strips comments and handles section headers itself.  Every error then
 * reads "path:line: problem".
 *
 * Setters do not depend on the order of keys inside a section: checks that
 * involve two keys run when the second one is set, and again when the
 * section is complete; defaults that depend on other keys (transport-mode
 * selectors, NAT-T ports) are filled in again after every key.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ini.h>

#include "config.h"
#include "ike_conf.h"

_Static_assert(XDPSEC_AF_INET == AF_INET, "AF_INET");
_Static_assert(XDPSEC_AF_INET6 == AF_INET6, "AF_INET6");

#define BIT(n) (1u << (n))

#define NAME_CHARS                                                           \
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-"

enum daemon_key {
	D_INSTANCE,
	D_INTERFACES,
	D_DEFAULT,
	D_REPLAY_WINDOW,
	D_LOG_LEVEL,
	D_XDP_MODE,
	D_HOST_INTERFACE,
	D_HOST_MTU,
	D_NATT_KEEPALIVE,
	D_MAX_SAS,
	D_MAX_POLICIES,
	D_NKEYS,
};

/* The lifetime keys go soft then hard, per kind, in the order of kinds. */
enum sa_key {
	SA_DIR,
	SA_SPI,
	SA_PROTO,
	SA_MODE,
	SA_SRC,
	SA_DST,
	SA_ALG,
	SA_INTEG,
	SA_KEY_FILE,
	SA_ESN,
	SA_REPLAY_WINDOW,
	SA_SEL_SRC,
	SA_SEL_DST,
	SA_SEL_PROTO,
	SA_ENCAP,
	SA_ENCAP_SPORT,
	SA_ENCAP_DPORT,
	SA_TFC_PAD,
	SA_SOFT_BYTES,
	SA_HARD_BYTES,
	SA_SOFT_PACKETS,
	SA_HARD_PACKETS,
	SA_SOFT_SECONDS,
	SA_HARD_SECONDS,
	SA_NKEYS,
};

enum policy_key {
	P_DIR,
	P_SRC,
	P_DST,
	P_PROTO,
	P_SPORT,
	P_DPORT,
	P_ACTION,
	P_SA,
	P_PRIORITY,
	P_NKEYS,
};

static const char *const daemon_keys[D_NKEYS] = {
	[D_INSTANCE] = "instance",
	[D_INTERFACES] = "interfaces",
	[D_DEFAULT] = "default",
	[D_REPLAY_WINDOW] = "replay_window",
	[D_LOG_LEVEL] = "log_level",
	[D_XDP_MODE] = "xdp_mode",
	[D_HOST_INTERFACE] = "host_interface",
	[D_HOST_MTU] = "host_mtu",
	[D_NATT_KEEPALIVE] = "natt_keepalive",
	[D_MAX_SAS] = "max_sas",
	[D_MAX_POLICIES] = "max_policies",
};

static const char *const sa_keys[SA_NKEYS] = {
	[SA_DIR] = "dir",
	[SA_SPI] = "spi",
	[SA_PROTO] = "proto",
	[SA_MODE] = "mode",
	[SA_SRC] = "src",
	[SA_DST] = "dst",
	[SA_ALG] = "alg",
	[SA_INTEG] = "integ",
	[SA_KEY_FILE] = "key_file",
	[SA_ESN] = "esn",
	[SA_REPLAY_WINDOW] = "replay_window",
	[SA_SEL_SRC] = "sel_src",
	[SA_SEL_DST] = "sel_dst",
	[SA_SEL_PROTO] = "sel_proto",
	[SA_ENCAP] = "encap",
	[SA_ENCAP_SPORT] = "encap_sport",
	[SA_ENCAP_DPORT] = "encap_dport",
	[SA_TFC_PAD] = "tfc_pad",
	[SA_SOFT_BYTES] = "soft_bytes",
	[SA_HARD_BYTES] = "hard_bytes",
	[SA_SOFT_PACKETS] = "soft_packets",
	[SA_HARD_PACKETS] = "hard_packets",
	[SA_SOFT_SECONDS] = "soft_seconds",
	[SA_HARD_SECONDS] = "hard_seconds",
};

static const char *const policy_keys[P_NKEYS] = {
	[P_DIR] = "dir",
	[P_SRC] = "src",
	[P_DST] = "dst",
	[P_PROTO] = "proto",
	[P_SPORT] = "sport",
	[P_DPORT] = "dport",
	[P_ACTION] = "action",
	[P_SA] = "sa",
	[P_PRIORITY] = "priority",
};

enum section_kind {
	SECT_NONE = 0,
	SECT_DAEMON,
	SECT_SA,
	SECT_POLICY,
	SECT_CONN,
};

static const struct config_section sections[] = {
	[SECT_DAEMON] = { "[daemon]", daemon_keys, D_NKEYS },
	[SECT_SA] = { "[sa]", sa_keys, SA_NKEYS },
	[SECT_POLICY] = { "[policy]", policy_keys, P_NKEYS },
};

_Static_assert(SA_NKEYS <= CONFIG_KEYS_MAX && P_NKEYS <= CONFIG_KEYS_MAX &&
		       D_NKEYS <= CONFIG_KEYS_MAX,
	       "key_line and given are large enough");

static const struct {
	const char *name;
	uint8_t proto;
} proto_names[] = {
	{ "any", 0 },
	{ "icmp", 1 },
	{ "tcp", XDPSEC_IPPROTO_TCP },
	{ "udp", XDPSEC_IPPROTO_UDP },
	{ "icmpv6", XDPSEC_IPPROTO_ICMPV6 },
};

#define ALG_NAMES                                                            \
	"aes-gcm-128, aes-gcm-256, chacha20-poly1305, aes-gmac-128, "        \
	"aes-gmac-256, aes-cbc-128, aes-cbc-256 or null"
#define INTEG_NAMES "hmac-sha256-128, hmac-sha384-192 or hmac-sha512-256"
#define NULL_NULL_REFUSED \
	"null encryption with no integrity is refused (RFC 4303 section 3.2)"

/*
 * Transforms people may still carry over from older configurations.  They
 * get a message saying why they are refused rather than "unknown".
 */
#define USE_AEAD "aes-gcm-128 or aes-gcm-256"
#define WHY_3DES "RFC 8221: SHOULD NOT; its 64-bit blocks are unsafe"
#define WHY_MD5 "RFC 8221: HMAC-MD5-96 MUST NOT"

static const struct config_refused refused_algs[] = {
	{ "des", "RFC 8221: MUST NOT", USE_AEAD },
	{ "3des", WHY_3DES, USE_AEAD },
	{ "des3_ede", WHY_3DES, USE_AEAD },
	{ "md5", WHY_MD5, USE_AEAD },
	{ "hmac-md5", WHY_MD5, USE_AEAD },
	{ "aes-ctr", NULL, USE_AEAD },
	{ "aes-ctr-128", NULL, USE_AEAD },
	{ "aes-ctr-256", NULL, USE_AEAD },
	{ "aes128ctr", NULL, USE_AEAD },
	{ "aes256ctr", NULL, USE_AEAD },
};

/*
 * HMAC-SHA1-96 is still MUST- for ESP in RFC 8221, but SHA-1 is on its way
 * out and every peer that matters has HMAC-SHA2, so it is not offered.
 */
static const struct config_refused refused_integs[] = {
	{ "hmac-md5-96", WHY_MD5, "hmac-sha256-128" },
	{ "hmac-md5", WHY_MD5, "hmac-sha256-128" },
	{ "md5", WHY_MD5, "hmac-sha256-128" },
	{ "md5_96", WHY_MD5, "hmac-sha256-128" },
	{ "hmac-sha1-96", NULL, "hmac-sha256-128" },
	{ "hmac-sha1", NULL, "hmac-sha256-128" },
	{ "sha1", NULL, "hmac-sha256-128" },
	{ "sha1_96", NULL, "hmac-sha256-128" },
};

/* A one-letter unit after a number, as in "2G" or "8h". */
struct unit {
	char suffix;
	uint64_t mult;
};

/* Powers of 1024; the first of equal multipliers is the one printed. */
static const struct unit byte_units[] = {
	{ 'K', 1ull << 10 }, { 'M', 1ull << 20 }, { 'G', 1ull << 30 },
	{ 'k', 1ull << 10 }, { 'm', 1ull << 20 }, { 'g', 1ull << 30 },
	{ 0, 0 },
};

static const struct unit time_units[] = {
	{ 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 }, { 0, 0 },
};

/* The kinds of lifetime are in the order of the SA_SOFT_* keys. */
static const struct {
	const struct unit *units;	/* NULL: a plain number */
	const char *usage;
} life_kinds[CONFIG_LIFE_NKINDS] = {
	[CONFIG_LIFE_BYTES] = {
		byte_units,
		"a number of bytes, with an optional K, M or G (powers of 1024)" },
	[CONFIG_LIFE_PACKETS] = { NULL, "a number of packets" },
	[CONFIG_LIFE_SECONDS] = {
		time_units,
		"a number of seconds, with an optional s, m, h or d" },
};

_Static_assert(SA_HARD_SECONDS - SA_SOFT_BYTES + 1 == 2 * CONFIG_LIFE_NKINDS,
	       "two lifetime keys per kind");

/* The short name used throughout this file. */
#define seterr config_seterr

int config_seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* ---- Small parsers ---------------------------------------------------- */

static bool name_valid(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n < CONFIG_NAME_MAX && strspn(s, NAME_CHARS) == n;
}

/*
 * An unsigned number: decimal, or hexadecimal after "0x" when hex is set.
 * No sign, no blanks, and no octal: "010" is ten.  Returns -ERANGE when
 * the value does not fit in 64 bits, -EINVAL when it is not a number.
 */
static int parse_u64(const char *s, bool hex, uint64_t *out)
{
	unsigned long long v;
	int base = 10;
	char *end;

	if (hex && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
		if (!isxdigit((unsigned char)*s))
			return -EINVAL;
	} else if (!isdigit((unsigned char)*s)) {
		return -EINVAL;
	}
	errno = 0;
	v = strtoull(s, &end, base);
	if (*end)
		return -EINVAL;
	if (errno == ERANGE)
		return -ERANGE;
	*out = v;
	return 0;
}

/* A decimal number in [0, max]. */
int config_parse_uint(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v;
	int rc = parse_u64(s, false, &v);

	if (rc)
		return rc;
	if (v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

/* Names of small enumerations, indexed by value; NULL marks a gap. */
static const char *const action_names[] = {
	[XDPSEC_ACT_DISCARD] = "discard",
	[XDPSEC_ACT_BYPASS] = "bypass",
	[XDPSEC_ACT_PROTECT] = "protect",
};
static const char *const mode_names[] = {
	[XDPSEC_MODE_TUNNEL] = "tunnel",
	[XDPSEC_MODE_TRANSPORT] = "transport",
};
static const char *const dir_names[] = {
	[XDPSEC_DIR_IN] = "in",
	[XDPSEC_DIR_OUT] = "out",
};

#define NAMES_LEN(a) (sizeof(a) / sizeof((a)[0]))

static int name_parse(const char *const *names, size_t n, const char *s,
		      uint8_t *out)
{
	for (size_t i = 0; i < n; i++) {
		if (names[i] && !strcmp(names[i], s)) {
			*out = i;
			return 0;
		}
	}
	return -EINVAL;
}

static const char *name_of(const char *const *names, size_t n, uint8_t v)
{
	return v < n && names[v] ? names[v] : "?";
}

static int parse_dir(const char *s, uint8_t *dir)
{
	return name_parse(dir_names, NAMES_LEN(dir_names), s, dir);
}

static int parse_yes_no(const char *s, bool *out)
{
	if (!strcmp(s, "yes"))
		*out = true;
	else if (!strcmp(s, "no"))
		*out = false;
	else
		return -EINVAL;
	return 0;
}

/* A protocol by name (any, tcp, udp, icmp, icmpv6) or number; any is 0. */
static int parse_proto(const char *s, uint8_t *proto)
{
	uint64_t v;

	for (size_t i = 0; i < sizeof(proto_names) / sizeof(proto_names[0]);
	     i++) {
		if (!strcmp(s, proto_names[i].name)) {
			*proto = proto_names[i].proto;
			return 0;
		}
	}
	if (config_parse_uint(s, 255, &v))
		return -EINVAL;
	*proto = v;
	return 0;
}

static const char *proto_name(uint8_t proto, char *buf, size_t len)
{
	for (size_t i = 0; i < sizeof(proto_names) / sizeof(proto_names[0]);
	     i++) {
		if (proto_names[i].proto == proto)
			return proto_names[i].name;
	}
	snprintf(buf, len, "%u", proto);
	return buf;
}

/* "any", "N" or "N-M" into a host-order range; any is 0-65535. */
static int parse_ports(const char *s, uint16_t *lo, uint16_t *hi)
{
	char buf[16];
	uint64_t a, b;
	char *dash;

	if (!strcmp(s, "any")) {
		*lo = 0;
		*hi = 65535;
		return 0;
	}
	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	dash = strchr(buf, '-');
	if (dash)
		*dash = '\0';
	if (config_parse_uint(buf, 65535, &a))
		return -EINVAL;
	b = a;
	if (dash && config_parse_uint(dash + 1, 65535, &b))
		return -EINVAL;
	if (b < a)
		return -EINVAL;
	*lo = a;
	*hi = b;
	return 0;
}

static bool ports_narrowed(uint16_t lo, uint16_t hi)
{
	return lo != 0 || hi != 65535;
}

int config_parse_addr(const char *s, uint8_t *family, struct xdpsec_addr *addr)
{
	struct xdpsec_addr a;

	memset(&a, 0, sizeof(a));
	if (inet_pton(AF_INET, s, &a.v4) == 1)
		*family = XDPSEC_AF_INET;
	else if (inet_pton(AF_INET6, s, a.v6) == 1)
		*family = XDPSEC_AF_INET6;
	else
		return -EINVAL;
	*addr = a;
	return 0;
}

/* Clears every bit after the first plen; bytes is 4 or 16. */
static void addr_mask(struct xdpsec_addr *a, unsigned int bytes,
		      unsigned int plen)
{
	for (unsigned int i = 0; i < bytes; i++) {
		if (plen >= 8 * (i + 1))
			continue;
		if (plen <= 8 * i)
			a->v6[i] = 0;
		else
			a->v6[i] &= (uint8_t)(0xff00 >> (plen - 8 * i));
	}
}

int config_prefix_parse(const char *s, uint8_t *family,
			struct xdpsec_addr *addr, uint8_t *plen, char *err,
			size_t errlen)
{
	char buf[INET6_ADDRSTRLEN + 1], net[INET6_ADDRSTRLEN];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	struct xdpsec_addr a, m;
	unsigned int max;
	uint64_t len;
	uint8_t fam;

	if (alen >= sizeof(buf))
		goto bad;
	memcpy(buf, s, alen);
	buf[alen] = '\0';
	if (config_parse_addr(buf, &fam, &a))
		goto bad;
	max = fam == XDPSEC_AF_INET ? 32 : 128;
	len = max;
	if (slash && config_parse_uint(slash + 1, max, &len))
		return seterr(err, errlen,
			      "%s: the prefix length must be 0 to %u", s, max);

	/* A prefix with host bits set is almost always a typo. */
	m = a;
	addr_mask(&m, max / 8, len);
	if (memcmp(&m, &a, sizeof(a))) {
		inet_ntop(fam, m.v6, net, sizeof(net));
		return seterr(err, errlen,
			      "%s has host bits set (the network is %s/%u)", s,
			      net, (unsigned int)len);
	}
	*family = fam;
	*addr = a;
	*plen = len;
	return 0;
bad:
	return seterr(err, errlen, "'%s' is not an IPv4 or IPv6 prefix", s);
}

int config_parse_prefix(const char *s, uint8_t *family,
			struct xdpsec_addr *addr, uint8_t *plen)
{
	return config_prefix_parse(s, family, addr, plen, NULL, 0);
}

int config_parse_action(const char *s, uint8_t *action)
{
	return name_parse(action_names, NAMES_LEN(action_names), s, action);
}

const char *config_action_name(uint8_t action)
{
	/* Only IKE makes trap policies: not a name the file may use. */
	if (action == XDPSEC_ACT_TRAP)
		return "trap";
	return name_of(action_names, NAMES_LEN(action_names), action);
}

int config_parse_mode(const char *s, uint8_t *mode)
{
	return name_parse(mode_names, NAMES_LEN(mode_names), s, mode);
}

const char *config_mode_name(uint8_t mode)
{
	return name_of(mode_names, NAMES_LEN(mode_names), mode);
}

const char *config_dir_name(uint8_t dir)
{
	return name_of(dir_names, NAMES_LEN(dir_names), dir);
}

int config_key_index(const struct config_section *si, const char *key)
{
	for (unsigned int i = 0; i < si->n_keys; i++)
		if (!strcmp(si->keys[i], key))
			return i;
	return -1;
}

int config_unknown_key(const struct config_section *si, const char *key,
		       char *err, size_t errlen)
{
	char list[384] = "";
	size_t off = 0;

	for (unsigned int i = 0; i < si->n_keys && off < sizeof(list); i++)
		off += snprintf(list + off, sizeof(list) - off, "%s%s",
				i ? ", " : "", si->keys[i]);
	return seterr(err, errlen, "unknown key '%s' in %s; known keys: %s",
		      key, si->title, list);
}

int config_missing_keys(const struct config_section *si, const char *kind,
			const char *name, unsigned int given, unsigned int need,
			char *err, size_t errlen)
{
	unsigned int miss = need & ~given;
	char list[256] = "";
	size_t off = 0;

	if (!miss)
		return 0;
	for (unsigned int i = 0; i < si->n_keys && off < sizeof(list); i++) {
		if (miss & BIT(i))
			off += snprintf(list + off, sizeof(list) - off, "%s%s",
					off ? ", " : "", si->keys[i]);
	}
	return seterr(err, errlen, "[%s %s] is missing required key(s): %s",
		      kind, name, list);
}

/* ---- Key files -------------------------------------------------------- */

/*
 * Opens a key file and refuses it unless only its owner can use it.  what
 * names the file in messages, as in "key file keys/a.key".
 */
static int key_file_open(const char *path, const char *shown,
			 const char *what, char *err, size_t errlen)
{
	struct stat st;
	int fd, rc;

	/* O_NONBLOCK: a FIFO in place of the key must not hang us. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		rc = -errno;
		if (strcmp(path, shown))
			seterr(err, errlen, "%s (%s): %s", what, path,
			       strerror(-rc));
		else
			seterr(err, errlen, "%s: %s", what, strerror(-rc));
		return rc;
	}
	if (fstat(fd, &st)) {
		rc = -errno;
		seterr(err, errlen, "%s: %s", what, strerror(-rc));
		goto err_close;
	}
	rc = -EINVAL;
	if (!S_ISREG(st.st_mode)) {
		seterr(err, errlen, "%s is not a regular file", what);
		goto err_close;
	}
	if (st.st_mode & 077) {
		seterr(err, errlen,
		       "%s is %s by group or others (mode %04o): chmod 600 it",
		       what, st.st_mode & 044 ? "readable" : "writable",
		       (unsigned int)(st.st_mode & 07777));
		goto err_close;
	}
	if (st.st_size > CONFIG_KEY_FILE_MAX) {
		seterr(err, errlen, "%s is too large (%lld bytes)", what,
		       (long long)st.st_size);
		goto err_close;
	}
	return fd;
err_close:
	close(fd);
	return rc;
}

static int read_all(int fd, char *buf, size_t cap, size_t *len)
{
	size_t off = 0;
	ssize_t n;

	while (off < cap) {
		n = read(fd, buf + off, cap - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		off += n;
	}
	*len = off;
	return 0;
}

int config_secret_read(const char *path, const char *shown,
		       const char *noun, char *buf, size_t cap, size_t *len,
		       char *err, size_t errlen)
{
	char what[PATH_MAX + 32];
	int fd, rc;

	snprintf(what, sizeof(what), "%s %s", noun, shown);
	fd = key_file_open(path, shown, what, err, errlen);
	if (fd < 0)
		return fd;
	rc = read_all(fd, buf, cap, len);
	close(fd);
	if (rc) {
		seterr(err, errlen, "%s: %s", what, strerror(-rc));
		goto err_wipe;
	}
	/* The file may have grown since key_file_open() looked at it. */
	if (*len >= cap) {
		rc = seterr(err, errlen, "%s is too large", what);
		goto err_wipe;
	}
	return 0;
err_wipe:
	explicit_bzero(buf, cap);
	return rc;
}

static int hex_val(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower((unsigned char)c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int config_hex_decode(const char *text, size_t len, const char *what,
		      uint8_t *out, size_t cap, size_t *n, char *err,
		      size_t errlen)
{
	size_t digits = 0, line = 1;
	int v;

	for (size_t i = 0; i < len; i++) {
		if (text[i] == '\n')
			line++;
		if (isspace((unsigned char)text[i]))
			continue;
		v = hex_val(text[i]);
		if (v < 0)
			return seterr(err, errlen,
				      "%s: line %zu: not a hex digit", what,
				      line);
		if (digits / 2 < cap)
			out[digits / 2] = digits % 2 ? out[digits / 2] | v
						     : (uint8_t)(v << 4);
		digits++;
	}
	if (!digits)
		return seterr(err, errlen, "%s holds no hex digits", what);
	if (digits % 2)
		return seterr(err, errlen,
			      "%s has an odd number of hex digits (%zu)", what,
			      digits);
	*n = digits / 2;
	return 0;
}

/*
 * Reads the key file at path (shown in messages as shown) into out, at
 * most cap bytes; *n is the number of bytes the file holds, which may be
 * more than cap.  Every temporary copy is wiped, and out on failure.
 */
static int key_file_load(const char *path, const char *shown, uint8_t *out,
			 size_t cap, size_t *n, char *err, size_t errlen)
{
	char text[CONFIG_KEY_FILE_MAX + 1], what[PATH_MAX + 16];
	size_t len = 0;
	int rc;

	rc = config_secret_read(path, shown, "key file", text, sizeof(text),
				&len, err, errlen);
	if (rc)
		return rc;
	snprintf(what, sizeof(what), "key file %s", shown);
	rc = config_hex_decode(text, len, what, out, cap, n, err, errlen);
	explicit_bzero(text, sizeof(text));
	if (rc)
		explicit_bzero(out, cap);
	return rc;
}

int config_key_file_read(const char *path, uint8_t *key, size_t len,
			 char *err, size_t errlen)
{
	size_t n = 0;
	int rc;

	rc = key_file_load(path, path, key, len, &n, err, errlen);
	if (rc)
		return rc;
	if (n != len) {
		explicit_bzero(key, len);
		return seterr(err, errlen,
			      "key file %s holds %zu bytes; %zu expected", path,
			      n, len);
	}
	return 0;
}

/* ---- [daemon] --------------------------------------------------------- */

void config_daemon_defaults(struct daemon_conf *d)
{
	memset(d, 0, sizeof(*d));
	strcpy(d->instance, "default");
	d->default_action = XDPSEC_ACT_DISCARD;
	d->replay_window = XDPSEC_REPLAY_DEFAULT;
	d->log_level = LOG_LVL_INFO;
	d->xdp_mode = XDP_ATTACH_AUTO;
	d->host_mtu = CONFIG_HOST_MTU_DEFAULT;
	d->natt_keepalive = CONFIG_NATT_KEEPALIVE_DEFAULT;
	d->max_sas = XDPSEC_MAX_SA;
	d->max_policies = XDPSEC_MAX_POLICIES;
}

static int replay_window_parse(const char *val, uint32_t *out, char *err,
			       size_t errlen)
{
	uint64_t v;

	if (config_parse_uint(val, XDPSEC_REPLAY_MAX, &v) || v % 32)
		return seterr(err, errlen,
			      "replay_window %s: use 0 (off) or a multiple of 32 up to %d",
			      val, XDPSEC_REPLAY_MAX);
	*out = v;
	return 0;
}

/*
 * Interface names as the kernel takes them: shorter than IF_NAMESIZE, not
 * "." or "..", without '/' or ':'.  Each may appear once.  A comma is
 * legal in a name but far more likely a wrong separator, so it is refused.
 */
static int daemon_set_ifaces(struct daemon_conf *d, const char *val,
			     char *err, size_t errlen)
{
	char names[XDPSEC_MAX_IFACES][IF_NAMESIZE];
	unsigned int n = 0;
	const char *p = val;
	size_t len;

	while (*(p += strspn(p, " \t"))) {
		len = strcspn(p, " \t");
		if (n == XDPSEC_MAX_IFACES)
			return seterr(err, errlen,
				      "interfaces: at most %d interfaces",
				      XDPSEC_MAX_IFACES);
		if (len >= IF_NAMESIZE)
			return seterr(err, errlen,
				      "interfaces: '%.*s' is too long (at most %d characters)",
				      (int)len, p, IF_NAMESIZE - 1);
		memcpy(names[n], p, len);
		names[n][len] = '\0';
		if (strchr(names[n], ','))
			return seterr(err, errlen,
				      "interfaces: separate names with spaces, not commas");
		if (strpbrk(names[n], "/:") || !strcmp(names[n], ".") ||
		    !strcmp(names[n], ".."))
			return seterr(err, errlen,
				      "interfaces: '%s' is not an interface name",
				      names[n]);
		for (unsigned int i = 0; i < n; i++)
			if (!strcmp(names[i], names[n]))
				return seterr(err, errlen,
					      "interfaces: %s is listed twice",
					      names[n]);
		n++;
		p += len;
	}
	if (!n)
		return seterr(err, errlen, "interfaces: no interface given");
	memcpy(d->ifaces, names, sizeof(names));
	d->n_ifaces = n;
	return 0;
}

static int daemon_set_default(struct daemon_conf *d, const char *val,
			      char *err, size_t errlen)
{
	uint8_t act;

	if (config_parse_action(val, &act))
		return seterr(err, errlen,
			      "default '%s' is invalid: use discard or bypass",
			      val);
	/* RFC 4301: traffic that no policy matches cannot be protected. */
	if (act == XDPSEC_ACT_PROTECT)
		return seterr(err, errlen,
			      "default protect is refused: the SPD default is discard or bypass");
	d->default_action = act;
	return 0;
}

static int daemon_set_xdp_mode(struct daemon_conf *d, const char *val,
			       char *err, size_t errlen)
{
	if (!strcmp(val, "auto"))
		d->xdp_mode = XDP_ATTACH_AUTO;
	else if (!strcmp(val, "native"))
		d->xdp_mode = XDP_ATTACH_NATIVE;
	else if (!strcmp(val, "generic"))
		d->xdp_mode = XDP_ATTACH_GENERIC;
	else
		return seterr(err, errlen,
			      "xdp_mode '%s' is invalid: use auto, native or generic",
			      val);
	return 0;
}

/* The kernel's end of the host pair; ours is the same name + "x". */
static int daemon_set_host_if(struct daemon_conf *d, const char *val,
			      char *err, size_t errlen)
{
	if (!name_valid(val) || strlen(val) + 2 > IF_NAMESIZE)
		return seterr(err, errlen,
			      "host_interface '%s' is invalid: use 1 to %d of A-Z a-z 0-9 _ . -",
			      val, IF_NAMESIZE - 2);
	strcpy(d->host_if, val);
	return 0;
}

static int daemon_set_host_mtu(struct daemon_conf *d, const char *val,
			       char *err, size_t errlen)
{
	uint64_t v;

	if (config_parse_uint(val, CONFIG_HOST_MTU_MAX, &v) ||
	    v < CONFIG_HOST_MTU_MIN)
		return seterr(err, errlen,
			      "host_mtu '%s' is invalid: use %d to %d", val,
			      CONFIG_HOST_MTU_MIN, CONFIG_HOST_MTU_MAX);
	d->host_mtu = v;
	return 0;
}

/* Seconds between NAT-T keepalives; 0 sends none. */
static int daemon_set_natt_keepalive(struct daemon_conf *d, const char *val,
				     char *err, size_t errlen)
{
	uint64_t v;

	if (config_parse_uint(val, CONFIG_NATT_KEEPALIVE_MAX, &v))
		return seterr(err, errlen,
			      "natt_keepalive '%s' is invalid: use 0 (off) to %d seconds",
			      val, CONFIG_NATT_KEEPALIVE_MAX);
	d->natt_keepalive = v;
	return 0;
}

/*
 * The capacity of the SAD or the SPD.  The maps are sized by it when the
 * daemon starts, so that a small installation does not reserve memory
 * for a large one.
 */
static int daemon_set_capacity(uint32_t *out, const char *key,
			       const char *val, uint64_t max, char *err,
			       size_t errlen)
{
	uint64_t v;

	if (config_parse_uint(val, max, &v) || v < XDPSEC_MAX_TABLE_MIN)
		return seterr(err, errlen, "%s '%s' is invalid: use %d to %" PRIu64,
			      key, val, XDPSEC_MAX_TABLE_MIN, max);
	*out = v;
	return 0;
}

int config_daemon_set(struct daemon_conf *d, const char *key,
		      const char *val, char *err, size_t errlen)
{
	const struct config_section *si = &sections[SECT_DAEMON];
	enum log_level lvl;
	int k = config_key_index(si, key);

	if (k < 0)
		return config_unknown_key(si, key, err, errlen);
	if (!*val)
		return seterr(err, errlen, "%s has no value", key);

	switch (k) {
	case D_INSTANCE:
		/* The name ends up in file names under /run and bpffs. */
		if (!name_valid(val) || !strcmp(val, ".") ||
		    !strcmp(val, ".."))
			return seterr(err, errlen,
				      "instance '%s' is invalid: use 1 to 63 of A-Z a-z 0-9 _ . -",
				      val);
		strcpy(d->instance, val);
		return 0;
	case D_INTERFACES:
		return daemon_set_ifaces(d, val, err, errlen);
	case D_DEFAULT:
		return daemon_set_default(d, val, err, errlen);
	case D_REPLAY_WINDOW:
		return replay_window_parse(val, &d->replay_window, err,
					   errlen);
	case D_LOG_LEVEL:
		if (log_level_parse(val, &lvl))
			return seterr(err, errlen,
				      "log_level '%s' is invalid: use error, warning, info, debug",
				      val);
		d->log_level = lvl;
		return 0;
	case D_XDP_MODE:
		return daemon_set_xdp_mode(d, val, err, errlen);
	case D_HOST_INTERFACE:
		return daemon_set_host_if(d, val, err, errlen);
	case D_HOST_MTU:
		return daemon_set_host_mtu(d, val, err, errlen);
	case D_NATT_KEEPALIVE:
		return daemon_set_natt_keepalive(d, val, err, errlen);
	case D_MAX_SAS:
		return daemon_set_capacity(&d->max_sas, key, val,
					   XDPSEC_MAX_SA_LIMIT, err, errlen);
	case D_MAX_POLICIES:
		return daemon_set_capacity(&d->max_policies, key, val,
					   XDPSEC_MAX_POLICIES_LIMIT, err,
					   errlen);
	}
	return config_unknown_key(si, key, err, errlen);
}

/* ---- [sa NAME] -------------------------------------------------------- */

void config_sa_init(struct sa_conf *sa, const char *name)
{
	memset(sa, 0, sizeof(*sa));
	snprintf(sa->name, sizeof(sa->name), "%s", name);
	sa->sa.proto = XDPSEC_IPPROTO_ESP;
	sa->sa.mode = XDPSEC_MODE_TUNNEL;
	sa->sa.replay_window = XDPSEC_REPLAY_DEFAULT;
	sa->sa.sel.sport_hi = 65535;
	sa->sa.sel.dport_hi = 65535;
}

static bool sa_has(const struct sa_conf *sa, unsigned int keys)
{
	return (sa->given & keys) == keys;
}

/*
 * Whether a rule that involves keys can be judged yet: when they are all
 * set, or once the section is complete (defaults then stand for the rest).
 */
static bool sa_ready(const struct sa_conf *sa, bool complete,
		     unsigned int keys)
{
	return complete || sa_has(sa, keys);
}

/*
 * How the ESP transform protects packets, as aead.c describes it; 0 when
 * there is none (AH).
 */
static int alg_kind(uint8_t alg)
{
	const struct aead_info *info = aead_info(alg);

	return alg != XDPSEC_ALG_NONE && info ? (int)info->kind : 0;
}

/* Whether the transform needs an integ for its ICV. */
static bool alg_needs_integ(uint8_t alg)
{
	int kind = alg_kind(alg);

	return kind == AEAD_KIND_CIPHER || kind == AEAD_KIND_NULL;
}

static bool sa_has_integrity(const struct xdpsec_sa *s)
{
	int kind = alg_kind(s->alg);

	return s->integ != XDPSEC_INTEG_NONE || kind == AEAD_KIND_AEAD ||
	       kind == AEAD_KIND_AUTH_ONLY;
}

const char *config_proto_name(uint8_t proto)
{
	if (proto == XDPSEC_IPPROTO_ESP)
		return "esp";
	if (proto == XDPSEC_IPPROTO_AH)
		return "ah";
	return "?";
}

const char *config_alg_name(uint8_t alg)
{
	const struct aead_info *info = aead_info(alg);

	return alg != XDPSEC_ALG_NONE && info ? info->name : NULL;
}

const char *config_integ_name(uint8_t integ)
{
	const struct mac_info *info = mac_info(integ);

	return info ? info->name : NULL;
}

const char *config_expired_name(uint64_t expired)
{
	if (expired & XDPSEC_EXPIRE_HARD)
		return "hard";
	if (expired & XDPSEC_EXPIRE_SOFT)
		return "soft";
	return "";
}

static int sa_set_spi(struct sa_conf *sa, const char *val, char *err,
		      size_t errlen)
{
	uint64_t v;
	int rc = parse_u64(val, true, &v);

	if (rc == -ERANGE || (!rc && v > UINT32_MAX))
		return seterr(err, errlen,
			      "spi %s is out of range (at most 0xffffffff)",
			      val);
	if (rc)
		return seterr(err, errlen,
			      "spi '%s' is not a number (decimal, or hexadecimal with 0x)",
			      val);
	/* RFC 4303 section 2.1: 0 is for local use, 1-255 for IANA. */
	if (v == 0)
		return seterr(err, errlen,
			      "spi 0 is invalid (RFC 4303: never on the wire); use 256 or above");
	if (v < 256)
		return seterr(err, errlen,
			      "spi %s is reserved (1-255); use 256 or above",
			      val);
	sa->sa.spi = v;
	return 0;
}

int config_refused_check(const struct config_refused *t, size_t n,
			 const char *key, const char *val, char *err,
			 size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		if (strcasecmp(val, t[i].name))
			continue;
		if (t[i].why)
			return seterr(err, errlen,
				      "%s %s is refused (%s); use %s", key,
				      val, t[i].why, t[i].use);
		return seterr(err, errlen, "%s %s is not supported: use %s",
			      key, val, t[i].use);
	}
	return 0;
}

static int sa_set_alg(struct sa_conf *sa, const char *val, char *err,
		      size_t errlen)
{
	enum xdpsec_integ integ;
	enum xdpsec_alg alg;
	int rc;

	/* AH has no cipher; "none" lets a file say so. */
	if (!strcmp(val, "none")) {
		sa->sa.alg = XDPSEC_ALG_NONE;
		return 0;
	}
	rc = config_refused_check(refused_algs, NAMES_LEN(refused_algs), "alg",
				  val, err, errlen);
	if (rc)
		return rc;
	if (!mac_parse(val, &integ))
		return seterr(err, errlen,
			      "%s is an integrity algorithm: set integ = %s, alg aes-cbc or null",
			      val, val);
	if (aead_alg_parse(val, &alg) || alg == XDPSEC_ALG_NONE ||
	    !aead_info(alg))
		return seterr(err, errlen, "alg '%s' is unknown: use %s", val,
			      ALG_NAMES);
	sa->sa.alg = alg;
	return 0;
}

static int sa_set_integ(struct sa_conf *sa, const char *val, char *err,
			size_t errlen)
{
	enum xdpsec_integ integ;
	enum xdpsec_alg alg;
	int rc;

	if (!strcmp(val, "none")) {
		sa->sa.integ = XDPSEC_INTEG_NONE;
		return 0;
	}
	rc = config_refused_check(refused_integs, NAMES_LEN(refused_integs),
				  "integ", val, err, errlen);
	if (rc)
		return rc;
	if (!mac_parse(val, &integ) && mac_info(integ)) {
		sa->sa.integ = integ;
		return 0;
	}
	if (!aead_alg_parse(val, &alg))
		return seterr(err, errlen,
			      "integ %s is an alg: set alg = %s and no integ",
			      val, val);
	return seterr(err, errlen, "integ '%s' is unknown: use %s", val,
		      INTEG_NAMES);
}

/*
 * The key length is checked in config_sa_check() once the transform is
 * known, so the file is read here whatever its length, up to the largest
 * key.
 */
static int sa_set_key_file(struct sa_conf *sa, const char *val,
			   const char *basedir, char *err, size_t errlen)
{
	char path[PATH_MAX];
	size_t n = 0;
	int rc, len;

	if (val[0] == '/' || !basedir)
		len = snprintf(path, sizeof(path), "%s", val);
	else
		len = snprintf(path, sizeof(path), "%s/%s", basedir, val);
	if (len < 0 || (size_t)len >= sizeof(path))
		return seterr(err, errlen, "key file %s: path too long", val);

	rc = key_file_load(path, val, sa->key, sizeof(sa->key), &n, err,
			   errlen);
	if (rc)
		return rc;
	if (n > sizeof(sa->key)) {
		explicit_bzero(sa->key, sizeof(sa->key));
		return seterr(err, errlen,
			      "key file %s holds %zu bytes; no transform takes more than %zu",
			      val, n, sizeof(sa->key));
	}
	sa->key_len = n;
	return 0;
}

/*
 * Sets one of two addresses that must share a family.  The first one set
 * decides; the second is compared, whichever order they come in.
 */
static int addr_pair_family(uint8_t *family, uint8_t fam, bool other_set,
			    const char *key, const char *val,
			    const char *other, char *err, size_t errlen)
{
	if (other_set && *family != fam)
		return seterr(err, errlen,
			      "%s %s is %s but %s is %s: they must be of one family",
			      key, val, config_family_name(fam), other,
			      config_family_name(*family));
	*family = fam;
	return 0;
}

static int sa_set_addr(struct sa_conf *sa, int k, const char *val, char *err,
		       size_t errlen)
{
	int other = k == SA_SRC ? SA_DST : SA_SRC;
	struct xdpsec_addr a;
	uint8_t fam;
	int rc;

	if (config_parse_addr(val, &fam, &a))
		return seterr(err, errlen,
			      "%s '%s' is not an IPv4 or IPv6 address",
			      sa_keys[k], val);
	rc = addr_pair_family(&sa->sa.family, fam, sa->given & BIT(other),
			      sa_keys[k], val, sa_keys[other], err, errlen);
	if (rc)
		return rc;
	if (k == SA_SRC)
		sa->sa.src = a;
	else
		sa->sa.dst = a;
	return 0;
}

/* Selector prefixes of SAs and policies, keys given by the caller. */
static int sel_set_prefix(struct xdpsec_sel *sel, bool is_src,
			  bool other_set, const char *key, const char *val,
			  const char *other, char *err, size_t errlen)
{
	struct xdpsec_addr a;
	uint8_t fam, plen;
	int rc;

	rc = config_prefix_parse(val, &fam, &a, &plen, err, errlen);
	if (rc)
		return rc;
	rc = addr_pair_family(&sel->family, fam, other_set, key, val, other,
			      err, errlen);
	if (rc)
		return rc;
	if (is_src) {
		sel->src = a;
		sel->src_plen = plen;
	} else {
		sel->dst = a;
		sel->dst_plen = plen;
	}
	return 0;
}

/* ICMP belongs to IPv4 and ICMPv6 to IPv6; the other way round is a typo. */
static int proto_family_check(uint8_t proto, uint8_t family, char *err,
			      size_t errlen)
{
	if (proto == 1 && family == XDPSEC_AF_INET6)
		return seterr(err, errlen,
			      "proto icmp does not go with IPv6 selectors: use icmpv6");
	if (proto == XDPSEC_IPPROTO_ICMPV6 && family == XDPSEC_AF_INET)
		return seterr(err, errlen,
			      "proto icmpv6 does not go with IPv4 selectors: use icmp");
	return 0;
}

static int sa_set_proto(struct sa_conf *sa, const char *val, char *err,
			size_t errlen)
{
	if (!strcmp(val, "esp"))
		sa->sa.proto = XDPSEC_IPPROTO_ESP;
	else if (!strcmp(val, "ah"))
		sa->sa.proto = XDPSEC_IPPROTO_AH;
	else
		return seterr(err, errlen,
			      "proto '%s' is invalid: use esp or ah", val);
	return 0;
}

static int sa_set_mode(struct sa_conf *sa, const char *val, char *err,
		       size_t errlen)
{
	if (config_parse_mode(val, &sa->sa.mode))
		return seterr(err, errlen,
			      "mode '%s' is invalid: use tunnel or transport",
			      val);
	return 0;
}

/* A number with an optional one-letter unit from units (NULL: none). */
static int parse_scaled(const char *s, const struct unit *units,
			uint64_t *out)
{
	size_t len = strlen(s);
	uint64_t v, mult = 1;
	char buf[32];
	int rc;

	if (!len || len >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, len + 1);
	for (const struct unit *u = units; u && u->suffix; u++) {
		if (buf[len - 1] == u->suffix) {
			mult = u->mult;
			buf[len - 1] = '\0';
			break;
		}
	}
	rc = parse_u64(buf, false, &v);
	if (rc)
		return rc;
	if (v > UINT64_MAX / mult)
		return -ERANGE;
	*out = v * mult;
	return 0;
}

/* The other way: the largest unit that divides v exactly, as in "2G". */
static const char *scaled_str(uint64_t v, const struct unit *units,
			      char *buf, size_t len)
{
	const struct unit *best = NULL;

	for (const struct unit *u = units; v && u && u->suffix; u++)
		if (v % u->mult == 0 && (!best || u->mult > best->mult))
			best = u;
	if (best)
		snprintf(buf, len, "%" PRIu64 "%c", v / best->mult,
			 best->suffix);
	else
		snprintf(buf, len, "%" PRIu64, v);
	return buf;
}

int config_parse_life(const char *s, enum config_life kind, uint64_t *out)
{
	return parse_scaled(s, life_kinds[kind].units, out);
}

const char *config_life_usage(enum config_life kind)
{
	return life_kinds[kind].usage;
}

static uint64_t life_get(const struct xdpsec_lifetime *l,
			 enum config_life kind)
{
	if (kind == CONFIG_LIFE_BYTES)
		return l->bytes;
	return kind == CONFIG_LIFE_PACKETS ? l->packets : l->seconds;
}

static void life_put(struct xdpsec_lifetime *l, enum config_life kind,
		     uint64_t v)
{
	if (kind == CONFIG_LIFE_BYTES)
		l->bytes = v;
	else if (kind == CONFIG_LIFE_PACKETS)
		l->packets = v;
	else
		l->seconds = v;
}

static int sa_set_lifetime(struct sa_conf *sa, int k, const char *val,
			   char *err, size_t errlen)
{
	enum config_life kind = (k - SA_SOFT_BYTES) / 2;
	bool hard = (k - SA_SOFT_BYTES) % 2;
	uint64_t v;
	int rc;

	rc = config_parse_life(val, kind, &v);
	if (rc == -ERANGE)
		return seterr(err, errlen, "%s %s is out of range", sa_keys[k],
			      val);
	if (rc)
		return seterr(err, errlen,
			      "%s '%s' is invalid: use %s (0 = no limit)",
			      sa_keys[k], val, config_life_usage(kind));
	life_put(hard ? &sa->sa.hard : &sa->sa.soft, kind, v);
	return 0;
}

static int sa_set_port(uint16_t *port, const char *key, const char *val,
		       char *err, size_t errlen)
{
	uint64_t v;

	if (config_parse_uint(val, 65535, &v) || !v)
		return seterr(err, errlen,
			      "%s '%s' is invalid: use 1-65535", key, val);
	*port = v;
	return 0;
}

static int sa_set_flag(struct sa_conf *sa, int k, uint16_t flag,
		       const char *val, char *err, size_t errlen)
{
	bool yes;

	if (parse_yes_no(val, &yes))
		return seterr(err, errlen, "%s '%s' is invalid: use yes or no",
			      sa_keys[k], val);
	sa->sa.flags = yes ? sa->sa.flags | flag : sa->sa.flags & ~flag;
	return 0;
}

static int sa_set_misc(struct sa_conf *sa, int k, const char *val, char *err,
		       size_t errlen)
{
	uint64_t v;

	switch (k) {
	case SA_DIR:
		if (parse_dir(val, &sa->sa.dir))
			return seterr(err, errlen,
				      "dir '%s' is invalid: use in or out",
				      val);
		return 0;
	case SA_ESN:
		return sa_set_flag(sa, k, XDPSEC_SA_F_ESN, val, err, errlen);
	case SA_ENCAP:
		return sa_set_flag(sa, k, XDPSEC_SA_F_UDP_ENCAP, val, err,
				   errlen);
	case SA_ENCAP_SPORT:
		return sa_set_port(&sa->sa.encap_sport, sa_keys[k], val, err,
				   errlen);
	case SA_ENCAP_DPORT:
		return sa_set_port(&sa->sa.encap_dport, sa_keys[k], val, err,
				   errlen);
	case SA_TFC_PAD:
		if (config_parse_uint(val, CONFIG_TFC_PAD_MAX, &v))
			return seterr(err, errlen,
				      "tfc_pad '%s' is invalid: use 0 (off) to %d bytes",
				      val, CONFIG_TFC_PAD_MAX);
		sa->sa.tfc_pad = v;
		return 0;
	case SA_REPLAY_WINDOW:
		return replay_window_parse(val, &sa->sa.replay_window, err,
					   errlen);
	case SA_SEL_PROTO:
		if (parse_proto(val, &sa->sa.sel.proto))
			return seterr(err, errlen,
				      "sel_proto '%s': use any, tcp, udp, icmp, icmpv6 or 0-255",
				      val);
		return 0;
	}
	if (k >= SA_SOFT_BYTES && k <= SA_HARD_SECONDS)
		return sa_set_lifetime(sa, k, val, err, errlen);
	return -EINVAL;
}

static int sa_set_one(struct sa_conf *sa, int k, const char *val,
		      const char *basedir, char *err, size_t errlen)
{
	switch (k) {
	case SA_SPI:
		return sa_set_spi(sa, val, err, errlen);
	case SA_PROTO:
		return sa_set_proto(sa, val, err, errlen);
	case SA_MODE:
		return sa_set_mode(sa, val, err, errlen);
	case SA_SRC:
	case SA_DST:
		return sa_set_addr(sa, k, val, err, errlen);
	case SA_ALG:
		return sa_set_alg(sa, val, err, errlen);
	case SA_INTEG:
		return sa_set_integ(sa, val, err, errlen);
	case SA_KEY_FILE:
		return sa_set_key_file(sa, val, basedir, err, errlen);
	case SA_SEL_SRC:
		return sel_set_prefix(&sa->sa.sel, true,
				      sa->given & BIT(SA_SEL_DST), "sel_src",
				      val, "sel_dst", err, errlen);
	case SA_SEL_DST:
		return sel_set_prefix(&sa->sa.sel, false,
				      sa->given & BIT(SA_SEL_SRC), "sel_dst",
				      val, "sel_src", err, errlen);
	}
	return sa_set_misc(sa, k, val, err, errlen);
}

/*
 * Transport mode protects the two hosts' own traffic, so a selector that
 * is left out stands for the host at that end.
 */
static void sa_transport_defaults(struct sa_conf *sa)
{
	struct xdpsec_sa *s = &sa->sa;

	if (s->mode != XDPSEC_MODE_TRANSPORT)
		return;
	if (sa_has(sa, BIT(SA_SRC)) && !sa_has(sa, BIT(SA_SEL_SRC))) {
		s->sel.src = s->src;
		s->sel.src_plen = config_host_plen(s->family);
		s->sel.family = s->family;
	}
	if (sa_has(sa, BIT(SA_DST)) && !sa_has(sa, BIT(SA_SEL_DST))) {
		s->sel.dst = s->dst;
		s->sel.dst_plen = config_host_plen(s->family);
		s->sel.family = s->family;
	}
}

/* The NAT-T port, unless set; no ports at all without encapsulation. */
static void sa_encap_defaults(struct sa_conf *sa)
{
	uint16_t port = sa->sa.flags & XDPSEC_SA_F_UDP_ENCAP ?
				CONFIG_ENCAP_PORT : 0;

	if (!sa_has(sa, BIT(SA_ENCAP_SPORT)))
		sa->sa.encap_sport = port;
	if (!sa_has(sa, BIT(SA_ENCAP_DPORT)))
		sa->sa.encap_dport = port;
}

/* AH authenticates with an integ alone (RFC 4302). */
static int sa_rule_ah(const struct sa_conf *sa, int *at, char *err,
		      size_t errlen)
{
	*at = SA_ALG;
	if (sa->sa.alg != XDPSEC_ALG_NONE)
		return seterr(err, errlen,
			      "proto ah takes no alg (AH does not encrypt): drop alg or say none");
	*at = SA_INTEG;
	if (sa_has(sa, BIT(SA_INTEG)) && sa->sa.integ == XDPSEC_INTEG_NONE)
		return seterr(err, errlen, "proto ah needs an integ: use %s",
			      INTEG_NAMES);
	return 0;
}

/*
 * alg and integ together (RFC 8221): combined-mode algorithms and GMAC
 * bring their own ICV, the others need an integ, and ESP with neither
 * confidentiality nor integrity is refused (RFC 4303 section 3.2).
 */
static int sa_rule_transform(const struct sa_conf *sa, bool complete,
			     int *at, char *err, size_t errlen)
{
	const struct xdpsec_sa *s = &sa->sa;
	const char *name = config_alg_name(s->alg);
	int kind = alg_kind(s->alg);

	if (s->proto == XDPSEC_IPPROTO_AH)
		return sa_rule_ah(sa, at, err, errlen);
	if (!sa_has(sa, BIT(SA_ALG)))
		return 0;	/* a missing key, reported as such */
	*at = SA_ALG;
	if (!kind && sa_ready(sa, complete, BIT(SA_PROTO)))
		return seterr(err, errlen,
			      "alg none is only for proto ah: ESP needs %s",
			      ALG_NAMES);
	if (s->integ != XDPSEC_INTEG_NONE &&
	    (kind == AEAD_KIND_AEAD || kind == AEAD_KIND_AUTH_ONLY)) {
		*at = SA_INTEG;
		return seterr(err, errlen,
			      kind == AEAD_KIND_AEAD ?
				      "%s is combined mode: integ must not be set" :
				      "%s brings its own integrity check: integ must not be set",
			      name);
	}
	if (!alg_needs_integ(s->alg) || s->integ != XDPSEC_INTEG_NONE ||
	    !sa_ready(sa, complete, BIT(SA_INTEG)))
		return 0;
	if (s->alg == XDPSEC_ALG_NULL)
		return seterr(err, errlen, "%s", NULL_NULL_REFUSED);
	return seterr(err, errlen, "%s needs an integ: use %s", name,
		      INTEG_NAMES);
}

/* UDP encapsulation (RFC 3948) is defined for ESP only. */
static int sa_rule_encap(const struct sa_conf *sa, bool complete, int *at,
			 char *err, size_t errlen)
{
	bool on = sa->sa.flags & XDPSEC_SA_F_UDP_ENCAP;

	*at = SA_ENCAP;
	if (on && sa->sa.proto == XDPSEC_IPPROTO_AH)
		return seterr(err, errlen,
			      "encap is for ESP only (RFC 3948): AH covers what a NAT rewrites");
	for (int k = SA_ENCAP_SPORT; k <= SA_ENCAP_DPORT; k++) {
		*at = k;
		if (sa_has(sa, BIT(k)) && !on &&
		    sa_ready(sa, complete, BIT(SA_ENCAP)))
			return seterr(err, errlen, "%s needs encap = yes",
				      sa_keys[k]);
	}
	return 0;
}

/* TFC padding (RFC 4303 section 2.7) hides the length of tunnelled packets. */
static int sa_rule_tfc(const struct sa_conf *sa, int *at, char *err,
		       size_t errlen)
{
	*at = SA_TFC_PAD;
	if (!sa->sa.tfc_pad)
		return 0;
	if (sa->sa.proto == XDPSEC_IPPROTO_AH)
		return seterr(err, errlen,
			      "tfc_pad is for ESP only: AH carries no padding");
	if (sa->sa.mode == XDPSEC_MODE_TRANSPORT)
		return seterr(err, errlen,
			      "tfc_pad needs mode tunnel (RFC 4303 section 2.7)");
	return 0;
}

/* A soft limit warns before the hard one: it cannot lie beyond it. */
static int sa_rule_lifetimes(const struct sa_conf *sa, int *at, char *err,
			     size_t errlen)
{
	char b1[32], b2[32];
	uint64_t soft, hard;

	for (int kind = 0; kind < CONFIG_LIFE_NKINDS; kind++) {
		soft = life_get(&sa->sa.soft, kind);
		hard = life_get(&sa->sa.hard, kind);
		if (!soft || !hard || soft <= hard)
			continue;
		*at = SA_SOFT_BYTES + 2 * kind;
		return seterr(err, errlen, "%s %s exceeds %s %s", sa_keys[*at],
			      scaled_str(soft, life_kinds[kind].units, b1,
					 sizeof(b1)),
			      sa_keys[*at + 1],
			      scaled_str(hard, life_kinds[kind].units, b2,
					 sizeof(b2)));
	}
	return 0;
}

/* In transport mode a selector may only name the host at its end. */
static int sa_rule_host_sel(const struct sa_conf *sa, bool is_src, int *at,
			    char *err, size_t errlen)
{
	const struct xdpsec_sa *s = &sa->sa;
	int k = is_src ? SA_SEL_SRC : SA_SEL_DST;
	int host = is_src ? SA_SRC : SA_DST;
	const struct xdpsec_addr *a = is_src ? &s->src : &s->dst;
	const struct xdpsec_addr *p = is_src ? &s->sel.src : &s->sel.dst;
	uint8_t plen = is_src ? s->sel.src_plen : s->sel.dst_plen;
	char ip[INET6_ADDRSTRLEN];

	if (s->mode != XDPSEC_MODE_TRANSPORT ||
	    !sa_has(sa, BIT(k) | BIT(host)))
		return 0;
	if (s->sel.family == s->family &&
	    plen == config_host_plen(s->family) && !memcmp(a, p, sizeof(*a)))
		return 0;
	*at = k;
	inet_ntop(s->family, a->v6, ip, sizeof(ip));
	return seterr(err, errlen,
		      "mode transport: %s must be %s %s/%u, or be left out",
		      sa_keys[k], sa_keys[host], ip,
		      config_host_plen(s->family));
}

static int sa_rule_sel(const struct sa_conf *sa, int *at, char *err,
		       size_t errlen)
{
	int rc;

	rc = sa_rule_host_sel(sa, true, at, err, errlen);
	if (!rc)
		rc = sa_rule_host_sel(sa, false, at, err, errlen);
	if (rc)
		return rc;
	*at = SA_SEL_PROTO;
	if (sa_has(sa, BIT(SA_SEL_PROTO)) && sa->sa.sel.family)
		return proto_family_check(sa->sa.sel.proto, sa->sa.sel.family,
					  err, errlen);
	return 0;
}

/*
 * Anti-replay relies on authenticated sequence numbers (RFC 4303 section
 * 3.4.3).  The transform rules already demand integrity; this guards the
 * window itself should they ever change.
 */
static int sa_rule_replay(const struct sa_conf *sa, bool complete, int *at,
			  char *err, size_t errlen)
{
	*at = SA_REPLAY_WINDOW;
	if (complete && sa->sa.replay_window && !sa_has_integrity(&sa->sa))
		return seterr(err, errlen,
			      "anti-replay needs integrity: set an integ, or replay_window = 0");
	return 0;
}

/*
 * Every rule that involves more than one key.  *at is the key the message
 * is about, so that the file parser can point at its line.
 */
static int sa_rules(const struct sa_conf *sa, bool complete, int *at,
		    char *err, size_t errlen)
{
	int rc;

	rc = sa_rule_transform(sa, complete, at, err, errlen);
	if (!rc)
		rc = sa_rule_encap(sa, complete, at, err, errlen);
	if (!rc)
		rc = sa_rule_tfc(sa, at, err, errlen);
	if (!rc)
		rc = sa_rule_lifetimes(sa, at, err, errlen);
	if (!rc)
		rc = sa_rule_sel(sa, at, err, errlen);
	if (!rc)
		rc = sa_rule_replay(sa, complete, at, err, errlen);
	return rc;
}

int config_sa_set(struct sa_conf *sa, const char *key, const char *val,
		  const char *basedir, char *err, size_t errlen)
{
	const struct config_section *si = &sections[SECT_SA];
	int k = config_key_index(si, key);
	int rc, at;

	if (k < 0)
		return config_unknown_key(si, key, err, errlen);
	if (!*val)
		return seterr(err, errlen, "%s has no value", key);
	rc = sa_set_one(sa, k, val, basedir, err, errlen);
	if (rc)
		return rc;
	sa->given |= BIT(k);
	sa_transport_defaults(sa);
	sa_encap_defaults(sa);
	return sa_rules(sa, false, &at, err, errlen);
}

static size_t key_part(char *buf, size_t len, size_t off, size_t n,
		       const char *what)
{
	if (!n || off >= len)
		return off;
	return off + snprintf(buf + off, len - off, "%s%zu %s",
			      buf[off - 1] == ':' ? " " : " + ", n, what);
}

/*
 * The length of the key file, with its parts spelled out in desc:
 * "aes-cbc-256 + hmac-sha256-128 needs 64 bytes: 32 cipher key + 32
 * integrity key".  Returns 0 while the transform is incomplete.
 */
static size_t sa_key_need(const struct sa_conf *sa, char *desc, size_t len)
{
	const struct aead_info *ai = aead_info(sa->sa.alg);
	const struct mac_info *mi = mac_info(sa->sa.integ);
	size_t cipher, salt, integ, off;

	if (sa->sa.alg == XDPSEC_ALG_NONE)
		ai = NULL;
	if (sa->sa.proto == XDPSEC_IPPROTO_AH ? !mi : !ai)
		return 0;
	cipher = ai ? ai->key_len : 0;
	salt = ai ? ai->salt_len : 0;
	integ = mi ? mi->key_len : 0;
	off = snprintf(desc, len, "%s%s%s needs %zu bytes:",
		       ai ? ai->name : "", ai && mi ? " + " : "",
		       mi ? mi->name : "", cipher + salt + integ);
	off = key_part(desc, len, off, cipher, "cipher key");
	off = key_part(desc, len, off, salt, "salt");
	key_part(desc, len, off, integ, "integrity key");
	return cipher + salt + integ;
}

static int sa_missing(const struct sa_conf *sa, char *err, size_t errlen)
{
	unsigned int need = BIT(SA_DIR) | BIT(SA_SPI) | BIT(SA_SRC) |
			    BIT(SA_DST) | BIT(SA_KEY_FILE);

	need |= sa->sa.proto == XDPSEC_IPPROTO_AH ? BIT(SA_INTEG) :
						    BIT(SA_ALG);
	if (sa->sa.mode == XDPSEC_MODE_TUNNEL)
		need |= BIT(SA_SEL_SRC) | BIT(SA_SEL_DST);
	return config_missing_keys(&sections[SECT_SA], "sa", sa->name,
				   sa->given, need, err, errlen);
}

/*
 * The whole check of a finished section.  The transform comes first: "null
 * needs an integ" says more than the list of keys still missing.
 */
static int sa_check(const struct sa_conf *sa, int *at, char *err,
		    size_t errlen)
{
	char desc[160];
	size_t need;
	int rc;

	rc = sa_rule_transform(sa, true, at, err, errlen);
	if (rc)
		return rc;
	*at = -1;
	rc = sa_missing(sa, err, errlen);
	if (rc)
		return rc;
	*at = SA_KEY_FILE;
	need = sa_key_need(sa, desc, sizeof(desc));
	if (!need)
		return seterr(err, errlen,
			      "[sa %s]: the transform is not supported",
			      sa->name);
	if (sa->key_len != need)
		return seterr(err, errlen,
			      "[sa %s]: key_file holds %zu bytes; %s",
			      sa->name, sa->key_len, desc);
	return sa_rules(sa, true, at, err, errlen);
}

int config_sa_check(const struct sa_conf *sa, char *err, size_t errlen)
{
	int at;

	return sa_check(sa, &at, err, errlen);
}

int config_sa_check_built(struct sa_conf *sa, char *err, size_t errlen)
{
	const struct xdpsec_sa *s = &sa->sa;

	sa->given |= BIT(SA_DIR) | BIT(SA_SPI) | BIT(SA_PROTO) | BIT(SA_MODE) |
		     BIT(SA_SRC) | BIT(SA_DST) | BIT(SA_KEY_FILE) |
		     BIT(SA_SEL_SRC) | BIT(SA_SEL_DST);
	if (s->proto == XDPSEC_IPPROTO_ESP)
		sa->given |= BIT(SA_ALG);
	if (s->integ != XDPSEC_INTEG_NONE || s->proto == XDPSEC_IPPROTO_AH)
		sa->given |= BIT(SA_INTEG);
	if (s->flags & XDPSEC_SA_F_ESN)
		sa->given |= BIT(SA_ESN);
	if (s->flags & XDPSEC_SA_F_UDP_ENCAP)
		sa->given |= BIT(SA_ENCAP) | BIT(SA_ENCAP_SPORT) |
			     BIT(SA_ENCAP_DPORT);
	return config_sa_check(sa, err, errlen);
}

/* ---- [policy NAME] ---------------------------------------------------- */

/*
 * When a policy sets no priority, more specific policies come first (a
 * lower value wins):
 *
 *   32768 - 64 * (src_plen + dst_plen)
 *         - 16 if proto is not any
 *         - 8 if sport is narrowed - 8 if dport is narrowed
 *
 * One bit of prefix outweighs protocol and ports together (32 < 64).  Two
 * /128 prefixes give 32768 - 16384 - 32 = 16352, so every default lies in
 * 16352..32768: an explicit priority below 16352 always goes before the
 * defaults, and one above 32768 after them.
 */
uint16_t config_policy_priority(const struct policy_conf *p)
{
	const struct xdpsec_sel *s = &p->pol.sel;
	unsigned int prio = 32768;

	prio -= 64 * (s->src_plen + s->dst_plen);
	if (s->proto)
		prio -= 16;
	if (ports_narrowed(s->sport_lo, s->sport_hi))
		prio -= 8;
	if (ports_narrowed(s->dport_lo, s->dport_hi))
		prio -= 8;
	return prio;
}

void config_policy_init(struct policy_conf *p, const char *name)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "%s", name);
	p->pol.sel.sport_hi = 65535;
	p->pol.sel.dport_hi = 65535;
	p->pol.action = XDPSEC_ACT_DISCARD;
	p->pol.priority = config_policy_priority(p);
}

static bool policy_ports_ok(const struct xdpsec_sel *s)
{
	if (s->proto == XDPSEC_IPPROTO_TCP || s->proto == XDPSEC_IPPROTO_UDP)
		return true;
	return !ports_narrowed(s->sport_lo, s->sport_hi) &&
	       !ports_narrowed(s->dport_lo, s->dport_hi);
}

static int policy_cross_check(const struct policy_conf *p, char *err,
			      size_t errlen)
{
	const struct xdpsec_sel *s = &p->pol.sel;
	char buf[8];

	if ((p->given & BIT(P_SA)) && (p->given & BIT(P_ACTION)) &&
	    p->pol.action != XDPSEC_ACT_PROTECT)
		return seterr(err, errlen,
			      "sa is only for action protect, not %s",
			      config_action_name(p->pol.action));
	if ((p->given & BIT(P_PROTO)) && !policy_ports_ok(s))
		return seterr(err, errlen,
			      "port ranges need proto tcp or udp, not %s",
			      proto_name(s->proto, buf, sizeof(buf)));
	if ((p->given & BIT(P_PROTO)) &&
	    (p->given & (BIT(P_SRC) | BIT(P_DST))))
		return proto_family_check(s->proto, s->family, err, errlen);
	return 0;
}

static int policy_set_one(struct policy_conf *p, int k, const char *val,
			  char *err, size_t errlen)
{
	struct xdpsec_sel *s = &p->pol.sel;
	uint64_t v;

	switch (k) {
	case P_DIR:
		if (parse_dir(val, &p->pol.dir))
			return seterr(err, errlen,
				      "dir '%s' is invalid: use in or out",
				      val);
		return 0;
	case P_SRC:
		return sel_set_prefix(s, true, p->given & BIT(P_DST), "src",
				      val, "dst", err, errlen);
	case P_DST:
		return sel_set_prefix(s, false, p->given & BIT(P_SRC), "dst",
				      val, "src", err, errlen);
	case P_PROTO:
		if (parse_proto(val, &s->proto))
			return seterr(err, errlen,
				      "proto '%s': use any, tcp, udp, icmp, icmpv6 or 0-255",
				      val);
		return 0;
	case P_SPORT:
	case P_DPORT:
		if (parse_ports(val, k == P_SPORT ? &s->sport_lo : &s->dport_lo,
				k == P_SPORT ? &s->sport_hi : &s->dport_hi))
			return seterr(err, errlen,
				      "%s '%s' is invalid: use any, N or N-M (0-65535)",
				      policy_keys[k], val);
		return 0;
	case P_ACTION:
		if (config_parse_action(val, &p->pol.action))
			return seterr(err, errlen,
				      "action '%s' is invalid: use protect, bypass or discard",
				      val);
		return 0;
	case P_SA:
		if (!name_valid(val))
			return seterr(err, errlen,
				      "sa '%s' is not a valid SA name", val);
		strcpy(p->sa_name, val);
		return 0;
	case P_PRIORITY:
		if (config_parse_uint(val, 65535, &v))
			return seterr(err, errlen,
				      "priority '%s' is invalid: use 0-65535",
				      val);
		p->pol.priority = v;
		return 0;
	}
	return -EINVAL;
}

int config_policy_set(struct policy_conf *p, const char *key,
		      const char *val, char *err, size_t errlen)
{
	const struct config_section *si = &sections[SECT_POLICY];
	int k = config_key_index(si, key);
	int rc;

	if (k < 0)
		return config_unknown_key(si, key, err, errlen);
	if (!*val)
		return seterr(err, errlen, "%s has no value", key);
	rc = policy_set_one(p, k, val, err, errlen);
	if (rc)
		return rc;
	p->given |= BIT(k);
	/*
	 * The check cannot fill the default priority (it sees a const
	 * policy), so it is recomputed after every key instead.
	 */
	if (!(p->given & BIT(P_PRIORITY)))
		p->pol.priority = config_policy_priority(p);
	return policy_cross_check(p, err, errlen);
}

int config_policy_check(const struct policy_conf *p, char *err,
			size_t errlen)
{
	unsigned int need = BIT(P_DIR) | BIT(P_SRC) | BIT(P_DST) |
			    BIT(P_ACTION);
	int rc;

	rc = config_missing_keys(&sections[SECT_POLICY], "policy", p->name,
				 p->given, need, err, errlen);
	if (rc)
		return rc;
	if (p->pol.action == XDPSEC_ACT_PROTECT &&
	    p->pol.dir == XDPSEC_DIR_OUT && !(p->given & BIT(P_SA)))
		return seterr(err, errlen,
			      "[policy %s] has action protect and dir out but no sa",
			      p->name);
	if (!policy_ports_ok(&p->pol.sel))
		return seterr(err, errlen,
			      "[policy %s]: port ranges need proto tcp or udp",
			      p->name);
	return policy_cross_check(p, err, errlen);
}

/* ---- The file --------------------------------------------------------- */

struct parse_ctx {
	struct config *cfg;
	const char *path;		/* as given, for messages */
	char basedir[PATH_MAX];		/* for relative key files */
	FILE *f;
	char *buf;
	size_t cap;
	int line;

	enum section_kind kind;
	int sect_line;
	int key_line[CONFIG_KEYS_MAX];	/* 0: not set in this section */
	char key_file[PATH_MAX];	/* as written, for messages */
	int daemon_line;		/* of [daemon], 0 if none yet */
	struct sa_conf cur_sa;
	struct policy_conf cur_pol;
	struct conn_conf cur_conn;

	size_t sas_cap;
	size_t pols_cap;
	size_t conns_cap;
	int *pol_sa_line;		/* line of each policy's sa key */

	int err;
	char *errbuf;
	size_t errlen;
};

static int fail(struct parse_ctx *ctx, int code, int line, const char *fmt,
		...) __attribute__((format(printf, 4, 5)));

/* Records the first error only, as "path:line: message". */
static int fail(struct parse_ctx *ctx, int code, int line, const char *fmt,
		...)
{
	char msg[CONFIG_ERR_MAX];
	va_list ap;

	if (ctx->err)
		return ctx->err;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line > 0)
		seterr(ctx->errbuf, ctx->errlen, "%s:%d: %s", ctx->path, line,
		       msg);
	else
		seterr(ctx->errbuf, ctx->errlen, "%s: %s", ctx->path, msg);
	ctx->err = code;
	return code;
}

/*
 * Grows the SA array without realloc(): realloc could leave copies of the
 * keys behind in freed memory, so the old block is wiped first.
 */
static int sas_grow(struct parse_ctx *ctx)
{
	struct config *cfg = ctx->cfg;
	size_t cap = ctx->sas_cap ? 2 * ctx->sas_cap : 8;
	struct sa_conf *sas = calloc(cap, sizeof(*sas));

	if (!sas)
		return -ENOMEM;
	if (cfg->n_sas) {
		memcpy(sas, cfg->sas, cfg->n_sas * sizeof(*sas));
		explicit_bzero(cfg->sas, cfg->n_sas * sizeof(*sas));
	}
	free(cfg->sas);
	cfg->sas = sas;
	ctx->sas_cap = cap;
	return 0;
}

static int pols_grow(struct parse_ctx *ctx)
{
	struct config *cfg = ctx->cfg;
	size_t cap = ctx->pols_cap ? 2 * ctx->pols_cap : 8;
	struct policy_conf *pols;
	int *lines;

	pols = realloc(cfg->policies, cap * sizeof(*pols));
	if (!pols)
		return -ENOMEM;
	cfg->policies = pols;
	lines = realloc(ctx->pol_sa_line, cap * sizeof(*lines));
	if (!lines)
		return -ENOMEM;
	ctx->pol_sa_line = lines;
	ctx->pols_cap = cap;
	return 0;
}

/* Like sas_grow(): connections hold pre-shared keys. */
static int conns_grow(struct parse_ctx *ctx)
{
	struct config *cfg = ctx->cfg;
	size_t cap = ctx->conns_cap ? 2 * ctx->conns_cap : 4;
	struct conn_conf *conns = calloc(cap, sizeof(*conns));

	if (!conns)
		return -ENOMEM;
	if (cfg->n_conns) {
		memcpy(conns, cfg->conns, cfg->n_conns * sizeof(*conns));
		explicit_bzero(cfg->conns, cfg->n_conns * sizeof(*conns));
	}
	free(cfg->conns);
	cfg->conns = conns;
	ctx->conns_cap = cap;
	return 0;
}

static struct sa_conf *sa_find(struct config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->n_sas; i++)
		if (!strcmp(cfg->sas[i].name, name))
			return &cfg->sas[i];
	return NULL;
}

static struct policy_conf *policy_find(struct config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->n_policies; i++)
		if (!strcmp(cfg->policies[i].name, name))
			return &cfg->policies[i];
	return NULL;
}

static struct conn_conf *conn_find(struct config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->n_conns; i++)
		if (!strcmp(cfg->conns[i].name, name))
			return &cfg->conns[i];
	return NULL;
}

/*
 * Inbound SAs are found by SPI and protocol (RFC 4301 section 4.1), so two
 * of them cannot share both.
 */
static int sa_spi_unique(struct parse_ctx *ctx, const struct sa_conf *sa)
{
	const struct sa_conf *o;

	if (sa->sa.dir != XDPSEC_DIR_IN)
		return 0;
	for (size_t i = 0; i < ctx->cfg->n_sas; i++) {
		o = &ctx->cfg->sas[i];
		if (o->sa.dir == XDPSEC_DIR_IN && o->sa.spi == sa->sa.spi &&
		    o->sa.proto == sa->sa.proto)
			return fail(ctx, -EINVAL, ctx->key_line[SA_SPI],
				    "spi 0x%x is already used by inbound %s [sa %s] (line %d)",
				    sa->sa.spi, config_proto_name(o->sa.proto),
				    o->name, o->line);
	}
	return 0;
}

/* The line of the key a message is about, else that of the header. */
static int sa_key_line(const struct parse_ctx *ctx, int at)
{
	return at >= 0 && ctx->key_line[at] ? ctx->key_line[at] :
					      ctx->sect_line;
}

/*
 * Before the full check, so that the message names the key file as it is
 * written: a wrong length is reported on the key_file line.
 */
static int sa_key_file_check(struct parse_ctx *ctx)
{
	const struct sa_conf *sa = &ctx->cur_sa;
	char msg[CONFIG_ERR_MAX], desc[160];
	size_t want;
	int at;

	if (sa_rule_transform(sa, true, &at, msg, sizeof(msg)))
		return fail(ctx, -EINVAL, sa_key_line(ctx, at), "%s", msg);
	if (!(sa->given & BIT(SA_KEY_FILE)))
		return 0;
	want = sa_key_need(sa, desc, sizeof(desc));
	if (want && sa->key_len != want)
		return fail(ctx, -EINVAL, ctx->key_line[SA_KEY_FILE],
			    "key file %s holds %zu bytes; %s", ctx->key_file,
			    sa->key_len, desc);
	return 0;
}

static int sa_section_end(struct parse_ctx *ctx)
{
	struct sa_conf *sa = &ctx->cur_sa;
	char msg[CONFIG_ERR_MAX];
	int at;

	if (sa_key_file_check(ctx))
		return ctx->err;
	if (sa_check(sa, &at, msg, sizeof(msg)))
		return fail(ctx, -EINVAL, sa_key_line(ctx, at), "%s", msg);
	if (sa_spi_unique(ctx, sa))
		return ctx->err;
	if (ctx->cfg->n_sas == XDPSEC_MAX_SA_LIMIT)
		return fail(ctx, -EINVAL, ctx->sect_line,
			    "too many SAs (at most %d)", XDPSEC_MAX_SA_LIMIT);
	if (ctx->cfg->n_sas == ctx->sas_cap && sas_grow(ctx))
		return fail(ctx, -ENOMEM, 0, "out of memory");
	ctx->cfg->sas[ctx->cfg->n_sas++] = *sa;
	explicit_bzero(sa, sizeof(*sa));
	return 0;
}

static int policy_section_end(struct parse_ctx *ctx)
{
	struct config *cfg = ctx->cfg;
	char msg[CONFIG_ERR_MAX];

	if (config_policy_check(&ctx->cur_pol, msg, sizeof(msg)))
		return fail(ctx, -EINVAL, ctx->sect_line, "%s", msg);
	if (cfg->n_policies == XDPSEC_MAX_POLICIES_LIMIT)
		return fail(ctx, -EINVAL, ctx->sect_line,
			    "too many policies (at most %d)",
			    XDPSEC_MAX_POLICIES_LIMIT);
	if (cfg->n_policies == ctx->pols_cap && pols_grow(ctx))
		return fail(ctx, -ENOMEM, 0, "out of memory");
	ctx->pol_sa_line[cfg->n_policies] = ctx->key_line[P_SA];
	cfg->policies[cfg->n_policies++] = ctx->cur_pol;
	return 0;
}

/*
 * Keys that depend on others are checked as they come; what is left needs
 * the whole section, so the message points at its header.
 */
static int conn_section_end(struct parse_ctx *ctx)
{
	struct config *cfg = ctx->cfg;
	char msg[CONFIG_ERR_MAX];

	if (config_conn_check(&ctx->cur_conn, msg, sizeof(msg)))
		return fail(ctx, -EINVAL, ctx->sect_line, "%s", msg);
	if (cfg->n_conns == ctx->conns_cap && conns_grow(ctx))
		return fail(ctx, -ENOMEM, 0, "out of memory");
	cfg->conns[cfg->n_conns++] = ctx->cur_conn;
	explicit_bzero(&ctx->cur_conn, sizeof(ctx->cur_conn));
	return 0;
}

/* Checks and stores the section that has just ended, if any. */
static int section_end(struct parse_ctx *ctx)
{
	enum section_kind kind = ctx->kind;

	ctx->kind = SECT_NONE;
	if (kind == SECT_SA)
		return sa_section_end(ctx);
	if (kind == SECT_POLICY)
		return policy_section_end(ctx);
	if (kind == SECT_CONN)
		return conn_section_end(ctx);
	return 0;
}

/* The [conn] keys live in ike_conf.c: their count is known at run time. */
static struct config_section section_of(enum section_kind kind)
{
	struct config_section conn = { "[conn]", conn_keys, conn_n_keys };

	return kind == SECT_CONN ? conn : sections[kind];
}

/* "duplicate [sa x] (the first is on line 3)" */
static int section_duplicate(struct parse_ctx *ctx, const char *word,
			     const char *name, int first)
{
	return fail(ctx, -EINVAL, ctx->line,
		    "duplicate [%s %s] (the first is on line %d)", word, name,
		    first);
}

static int section_open(struct parse_ctx *ctx, enum section_kind kind,
			const char *name)
{
	const struct sa_conf *sa;
	const struct policy_conf *p;
	const struct conn_conf *c;

	ctx->kind = kind;
	ctx->sect_line = ctx->line;
	memset(ctx->key_line, 0, sizeof(ctx->key_line));
	if (kind == SECT_DAEMON) {
		if (ctx->daemon_line)
			return fail(ctx, -EINVAL, ctx->line,
				    "second [daemon] section (the first is on line %d)",
				    ctx->daemon_line);
		ctx->daemon_line = ctx->line;
	} else if (kind == SECT_SA) {
		sa = sa_find(ctx->cfg, name);
		if (sa)
			return section_duplicate(ctx, "sa", name, sa->line);
		config_sa_init(&ctx->cur_sa, name);
		ctx->cur_sa.line = ctx->line;
	} else if (kind == SECT_POLICY) {
		p = policy_find(ctx->cfg, name);
		if (p)
			return section_duplicate(ctx, "policy", name, p->line);
		config_policy_init(&ctx->cur_pol, name);
		ctx->cur_pol.line = ctx->line;
	} else {
		c = conn_find(ctx->cfg, name);
		if (c)
			return section_duplicate(ctx, "conn", name, c->line);
		config_conn_init(&ctx->cur_conn, name);
		ctx->cur_conn.line = ctx->line;
	}
	return 0;
}

/* text is "[...]" without comments or surrounding blanks. */
static int section_begin(struct parse_ctx *ctx, char *text)
{
	size_t len = strlen(text);
	char *word, *name, *extra, *save = NULL;
	enum section_kind kind;

	if (section_end(ctx))
		return ctx->err;
	if (text[len - 1] != ']')
		return fail(ctx, -EINVAL, ctx->line,
			    "a section header must end with ']'");
	text[len - 1] = '\0';
	word = strtok_r(text + 1, " \t", &save);
	name = strtok_r(NULL, " \t", &save);
	extra = strtok_r(NULL, " \t", &save);

	if (word && !strcmp(word, "daemon"))
		kind = SECT_DAEMON;
	else if (word && !strcmp(word, "sa"))
		kind = SECT_SA;
	else if (word && !strcmp(word, "policy"))
		kind = SECT_POLICY;
	else if (word && !strcmp(word, "conn"))
		kind = SECT_CONN;
	else
		return fail(ctx, -EINVAL, ctx->line,
			    "unknown section [%s]; expected [daemon], [sa NAME], [policy NAME] or [conn NAME]",
			    word ? word : "");
	if (kind == SECT_DAEMON && name)
		return fail(ctx, -EINVAL, ctx->line,
			    "[daemon] takes no name");
	if (kind != SECT_DAEMON && !name)
		return fail(ctx, -EINVAL, ctx->line,
			    "[%s] needs a name: [%s NAME]", word, word);
	if (kind != SECT_DAEMON && (extra || !name_valid(name)))
		return fail(ctx, -EINVAL, ctx->line,
			    "invalid %s name: use 1 to 63 of A-Z a-z 0-9 _ . -",
			    word);
	return section_open(ctx, kind, name);
}

/*
 * Removes a comment (';' or '#' at the start of the line or after a blank)
 * and the blanks around what is left.  inih only strips ';' comments after
 * a value, so '#' would otherwise end up in values.
 */
static char *line_clean(char *s, bool first)
{
	char *p, *end;

	/* A UTF-8 byte order mark, as some editors write. */
	if (first && !strncmp(s, "\xef\xbb\xbf", 3))
		s += 3;
	for (p = s; *p; p++) {
		if ((*p == ';' || *p == '#') &&
		    (p == s || isspace((unsigned char)p[-1]))) {
			*p = '\0';
			break;
		}
	}
	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

/*
 * The line reader for ini_parse_stream().  It hands inih one physical line
 * at a time, so inih's count and ours agree; section headers are handled
 * here and replaced by an empty line.  Returning NULL ends the parse.
 */
static char *cfg_reader(char *str, int num, void *stream)
{
	struct parse_ctx *ctx = stream;
	const char *out;
	char *text;
	ssize_t n;

	if (ctx->err)
		return NULL;
	n = getline(&ctx->buf, &ctx->cap, ctx->f);
	if (n < 0) {
		if (ferror(ctx->f))
			fail(ctx, -EIO, ctx->line + 1, "read error");
		return NULL;
	}
	ctx->line++;
	if ((size_t)n != strlen(ctx->buf)) {
		fail(ctx, -EINVAL, ctx->line, "the line holds a NUL byte");
		return NULL;
	}
	text = line_clean(ctx->buf, ctx->line == 1);
	out = text;
	if (*text == '[') {
		if (section_begin(ctx, text))
			return NULL;
		out = "";
	}
	if (strlen(out) + 2 > (size_t)num) {
		fail(ctx, -EINVAL, ctx->line,
		     "the line is too long (at most %d characters)", num - 2);
		return NULL;
	}
	snprintf(str, num, "%s\n", out);
	return str;
}

/* inih's callback for each "key = value"; returns 0 to report an error. */
static int cfg_handler(void *user, const char *section, const char *key,
		       const char *val)
{
	struct parse_ctx *ctx = user;
	struct config_section si;
	char msg[CONFIG_ERR_MAX];
	int k, rc;

	(void)section;	/* inih truncates long names; ours is exact */
	if (ctx->err)
		return 0;
	if (ctx->kind == SECT_NONE) {
		fail(ctx, -EINVAL, ctx->line,
		     "'%s' comes before any section: start with [daemon], [sa], [policy] or [conn]",
		     key);
		return 0;
	}
	si = section_of(ctx->kind);
	k = config_key_index(&si, key);
	if (k >= 0 && ctx->key_line[k]) {
		fail(ctx, -EINVAL, ctx->line,
		     "duplicate key '%s' (already set on line %d)", key,
		     ctx->key_line[k]);
		return 0;
	}
	if (ctx->kind == SECT_DAEMON)
		rc = config_daemon_set(&ctx->cfg->daemon, key, val, msg,
				       sizeof(msg));
	else if (ctx->kind == SECT_SA)
		rc = config_sa_set(&ctx->cur_sa, key, val, ctx->basedir, msg,
				   sizeof(msg));
	else if (ctx->kind == SECT_POLICY)
		rc = config_policy_set(&ctx->cur_pol, key, val, msg,
				       sizeof(msg));
	else
		rc = config_conn_set(&ctx->cur_conn, key, val, ctx->basedir,
				     msg, sizeof(msg));
	if (rc) {
		fail(ctx, rc, ctx->line, "%s", msg);
		return 0;
	}
	ctx->key_line[k] = ctx->line;
	if (ctx->kind == SECT_SA && k == SA_KEY_FILE)
		snprintf(ctx->key_file, sizeof(ctx->key_file), "%s", val);
	return 1;
}

/*
 * Work that needs the whole file: [daemon] may come after the SAs that
 * take its replay window, and a policy may name an SA defined below it.
 */
static int config_resolve(struct parse_ctx *ctx)
{
	struct config *cfg = ctx->cfg;
	const struct policy_conf *p;
	const struct sa_conf *sa;

	/* [daemon] may come last: the capacities are checked here. */
	if (cfg->n_sas > cfg->daemon.max_sas)
		return fail(ctx, -EINVAL, cfg->sas[cfg->daemon.max_sas].line,
			    "[sa %s] is one more than max_sas = %u allows",
			    cfg->sas[cfg->daemon.max_sas].name,
			    cfg->daemon.max_sas);
	if (cfg->n_policies > cfg->daemon.max_policies)
		return fail(ctx, -EINVAL,
			    cfg->policies[cfg->daemon.max_policies].line,
			    "[policy %s] is one more than max_policies = %u allows",
			    cfg->policies[cfg->daemon.max_policies].name,
			    cfg->daemon.max_policies);

	for (size_t i = 0; i < cfg->n_sas; i++)
		if (!(cfg->sas[i].given & BIT(SA_REPLAY_WINDOW)))
			cfg->sas[i].sa.replay_window =
				cfg->daemon.replay_window;

	for (size_t i = 0; i < cfg->n_policies; i++) {
		p = &cfg->policies[i];
		if (!p->sa_name[0])
			continue;
		sa = sa_find(cfg, p->sa_name);
		if (!sa)
			return fail(ctx, -EINVAL, ctx->pol_sa_line[i],
				    "policy %s: no [sa %s] in this file",
				    p->name, p->sa_name);
		if (sa->sa.dir != p->pol.dir)
			return fail(ctx, -EINVAL, ctx->pol_sa_line[i],
				    "policy %s has dir %s but [sa %s] has dir %s",
				    p->name, config_dir_name(p->pol.dir),
				    sa->name, config_dir_name(sa->sa.dir));
	}
	return 0;
}

static int ctx_open(struct parse_ctx *ctx, const char *path)
{
	struct config *cfg = ctx->cfg;
	char dir[PATH_MAX];
	int rc;

	if (!realpath(path, cfg->path)) {
		rc = -errno;
		return fail(ctx, rc, 0, "%s", strerror(-rc));
	}
	snprintf(dir, sizeof(dir), "%s", cfg->path);
	snprintf(ctx->basedir, sizeof(ctx->basedir), "%s", dirname(dir));
	ctx->f = fopen(cfg->path, "re");
	if (!ctx->f) {
		rc = -errno;
		return fail(ctx, rc, 0, "%s", strerror(-rc));
	}
	return 0;
}

static void ctx_close(struct parse_ctx *ctx)
{
	if (ctx->f)
		fclose(ctx->f);
	free(ctx->buf);
	free(ctx->pol_sa_line);
	explicit_bzero(&ctx->cur_sa, sizeof(ctx->cur_sa));
	explicit_bzero(&ctx->cur_conn, sizeof(ctx->cur_conn));
}

int config_load(const char *path, struct config *cfg, char *err,
		size_t errlen)
{
	struct parse_ctx *ctx;
	int line, rc;

	memset(cfg, 0, sizeof(*cfg));
	config_daemon_defaults(&cfg->daemon);
	/* The context holds keys and two paths: too big for the stack. */
	ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		return -ENOMEM;
	ctx->cfg = cfg;
	ctx->path = path;
	ctx->errbuf = err;
	ctx->errlen = errlen;

	if (ctx_open(ctx, path))
		goto out;
	line = ini_parse_stream(cfg_reader, ctx, cfg_handler, ctx);
	if (line > 0)
		fail(ctx, -EINVAL, line,
		     "expected 'key = value', a [section] or a comment");
	else if (line < 0)
		fail(ctx, -ENOMEM, 0, "out of memory");
	if (!ctx->err && !section_end(ctx))
		config_resolve(ctx);
out:
	rc = ctx->err;
	ctx_close(ctx);
	explicit_bzero(ctx, sizeof(*ctx));
	free(ctx);
	if (rc)
		config_free(cfg);
	return rc;
}

void config_free(struct config *cfg)
{
	if (cfg->sas)
		explicit_bzero(cfg->sas, cfg->n_sas * sizeof(*cfg->sas));
	free(cfg->sas);
	free(cfg->policies);
	/* The whole of each connection, its pre-shared key with it. */
	if (cfg->conns)
		explicit_bzero(cfg->conns, cfg->n_conns * sizeof(*cfg->conns));
	free(cfg->conns);
	memset(cfg, 0, sizeof(*cfg));
}
