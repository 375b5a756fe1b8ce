/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The static configuration: an INI file with one [daemon] section and any
 * number of [sa NAME], [policy NAME] and [conn NAME] sections (the last
 * in ike_conf.h).  The control socket's "sa add" and "policy add" requests
 * use the same keys, through the same setters, so the file and the CLI
 * cannot drift apart.
 */
#ifndef XDPSEC_CONFIG_H
#define XDPSEC_CONFIG_H

#include <limits.h>
#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aead.h"
#include "log.h"
#include "mac.h"
#include "xdpsec_common.h"

enum config_limits {
	CONFIG_NAME_MAX = 64,
	CONFIG_ERR_MAX = 512,
	/* The largest key file: AES-256-CBC with HMAC-SHA512 needs 96. */
	CONFIG_KEY_MAX = AEAD_KEY_MAX + AEAD_SALT_LEN + MAC_KEY_MAX,
	CONFIG_ENCAP_PORT = 4500,	/* RFC 3948 */
	CONFIG_TFC_PAD_MAX = 1500,
	/* Key files hold a few dozen hex digits; far larger is a mistake. */
	CONFIG_KEY_FILE_MAX = 4096,
};

/*
 * Keys of a section are bits of an unsigned int ("given"); a macro, as
 * the enums of keys are compared with it.
 */
#define CONFIG_KEYS_MAX 32

enum xdp_attach_mode {
	XDP_ATTACH_AUTO = 0,	/* native where the driver has it */
	XDP_ATTACH_NATIVE,
	XDP_ATTACH_GENERIC,
};

/*
 * The key file holds, in this order and each only when the transform has
 * it: the cipher key (aead_info()->key_len), the salt (->salt_len) and the
 * integrity key (mac_info()->key_len).  AH has the integrity key alone.
 */
enum { SA_SELS_MAX = 8 };	/* selectors of one SA, the map's included */

struct sa_conf {
	char name[CONFIG_NAME_MAX];
	struct xdpsec_sa sa;		/* as it goes into the "sad" map */
	/*
	 * More selectors for the inner-packet check, beside sa.sel: an
	 * IKE-negotiated SA may carry several traffic selector pairs.
	 */
	struct xdpsec_sel more_sels[SA_SELS_MAX - 1];
	unsigned int n_more_sels;
	uint8_t key[CONFIG_KEY_MAX];	/* cipher key || salt || integ */
	size_t key_len;
	unsigned int given;		/* bitmask of keys set */
	int line;			/* of the section header, 0 if none */
};

struct policy_conf {
	char name[CONFIG_NAME_MAX];
	struct xdpsec_policy pol;
	char sa_name[CONFIG_NAME_MAX];	/* PROTECT: the SA, by name */
	unsigned int given;
	int line;
};

struct daemon_conf {
	char instance[CONFIG_NAME_MAX];
	char ifaces[XDPSEC_MAX_IFACES][IF_NAMESIZE];
	unsigned int n_ifaces;
	uint8_t default_action;		/* XDPSEC_ACT_DISCARD unless set */
	uint32_t replay_window;		/* default for SAs that set none */
	enum log_level log_level;
	enum xdp_attach_mode xdp_mode;
	char host_if[IF_NAMESIZE];	/* "" unless host_interface is set */
	uint32_t host_mtu;
	uint32_t natt_keepalive;	/* seconds, 0 = none */
	uint32_t max_sas;		/* SAD capacity, set at start */
	uint32_t max_policies;		/* SPD capacity, set at start */
};

enum config_natt {
	CONFIG_NATT_KEEPALIVE_DEFAULT = 20,	/* RFC 3948 2.3 */
	CONFIG_NATT_KEEPALIVE_MAX = 3600,
};

enum config_host_mtu {
	/* Room for ESP over IPv6 in UDP inside a 1500-byte underlay. */
	CONFIG_HOST_MTU_DEFAULT = 1400,
	CONFIG_HOST_MTU_MIN = 1280,	/* IPv6 needs it */
	CONFIG_HOST_MTU_MAX = 3400,	/* XDP on veth allows a little more */
};

struct conn_conf;

struct config {
	char path[PATH_MAX];
	struct daemon_conf daemon;
	struct sa_conf *sas;
	size_t n_sas;
	struct policy_conf *policies;
	size_t n_policies;
	struct conn_conf *conns;	/* IKE connections, ike_conf.h */
	size_t n_conns;
};

/*
 * Parses path into cfg (zeroed first).  On error returns a negative errno
 * and writes "path:line: problem" into err.  Key files are read and
 * checked here.  cfg must be released with config_free().
 */
int config_load(const char *path, struct config *cfg, char *err,
		size_t errlen);
/* Frees cfg and wipes every key and pre-shared key it holds. */
void config_free(struct config *cfg);

void config_daemon_defaults(struct daemon_conf *d);
void config_sa_init(struct sa_conf *sa, const char *name);
void config_policy_init(struct policy_conf *p, const char *name);
/* The priority a policy gets when it does not name one: narrower first. */
uint16_t config_policy_priority(const struct policy_conf *p);

/*
 * Setters used by the file parser and by control requests.  basedir
 * resolves a relative key_file.  Return 0, or -EINVAL with a message
 * (without file and line) in err.  Defaults that depend on other keys
 * (transport-mode selectors, UDP encapsulation ports, policy priority)
 * are filled in after every key, so that the checks below, which see a
 * const section, find them.
 */
int config_daemon_set(struct daemon_conf *d, const char *key,
		      const char *val, char *err, size_t errlen);
int config_sa_set(struct sa_conf *sa, const char *key, const char *val,
		  const char *basedir, char *err, size_t errlen);
int config_policy_set(struct policy_conf *p, const char *key,
		      const char *val, char *err, size_t errlen);

/* Checks that a finished section is complete and consistent. */
int config_sa_check(const struct sa_conf *sa, char *err, size_t errlen);
/*
 * The same for an SA built in code rather than read from a file (IKE):
 * every key a file would have to name counts as given.
 */
int config_sa_check_built(struct sa_conf *sa, char *err, size_t errlen);
int config_policy_check(const struct policy_conf *p, char *err,
			size_t errlen);

/*
 * Reads a key file: hex digits (whitespace ignored), exactly len bytes.
 * Refuses files that are not regular or that group or others can read.
 */
int config_key_file_read(const char *path, uint8_t *key, size_t len,
			 char *err, size_t errlen);

/* Parsers shared with the CLI. */
int config_parse_prefix(const char *s, uint8_t *family,
			struct xdpsec_addr *addr, uint8_t *plen);
int config_parse_addr(const char *s, uint8_t *family,
		      struct xdpsec_addr *addr);
int config_parse_action(const char *s, uint8_t *action);
/* "tunnel" or "transport" into XDPSEC_MODE_*. */
int config_parse_mode(const char *s, uint8_t *mode);
const char *config_action_name(uint8_t action);
const char *config_mode_name(uint8_t mode);
const char *config_dir_name(uint8_t dir);
/* "esp" or "ah"; "?" for anything else. */
const char *config_proto_name(uint8_t proto);
/* The transform's names as in the file; NULL when there is none. */
const char *config_alg_name(uint8_t alg);
const char *config_integ_name(uint8_t integ);
/* xdpsec_sa_state.expired as "hard", "soft" or "" (hard wins). */
const char *config_expired_name(uint64_t expired);

/*
 * The pieces the setters are made of, shared with the [conn] section in
 * ike_conf.c so that both read values and word messages alike.
 */

/* Writes a message if err is not NULL; always returns -EINVAL. */
int config_seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The keys of a section kind, in the order of its "given" bits. */
struct config_section {
	const char *title;		/* "[sa]", for messages */
	const char *const *keys;
	unsigned int n_keys;
};

/* The index of key in si->keys, or -1. */
int config_key_index(const struct config_section *si, const char *key);
/* "unknown key 'x' in [sa]; known keys: dir, spi, ..." */
int config_unknown_key(const struct config_section *si, const char *key,
		       char *err, size_t errlen);
/* "[sa x] is missing required key(s): spi, alg"; 0 if none is. */
int config_missing_keys(const struct config_section *si, const char *kind,
			const char *name, unsigned int given, unsigned int need,
			char *err, size_t errlen);

/*
 * A decimal number in [0, max]: no sign, no blanks, no octal.  Returns
 * -ERANGE when it is too large, -EINVAL when it is not a number.
 */
int config_parse_uint(const char *s, uint64_t max, uint64_t *out);

/* Quantities as the lifetimes of [sa] take them. */
enum config_life {
	CONFIG_LIFE_BYTES,	/* with K, M or G: powers of 1024 */
	CONFIG_LIFE_PACKETS,	/* a plain number */
	CONFIG_LIFE_SECONDS,	/* with s, m, h or d */
	CONFIG_LIFE_NKINDS,
};

/* Returns 0, -ERANGE beyond 64 bits, or -EINVAL. */
int config_parse_life(const char *s, enum config_life kind, uint64_t *out);
/* What the kind takes, as in "a number of seconds, with ...". */
const char *config_life_usage(enum config_life kind);

/* config_parse_prefix() with a message that says what is wrong. */
int config_prefix_parse(const char *s, uint8_t *family,
			struct xdpsec_addr *addr, uint8_t *plen, char *err,
			size_t errlen);

static inline const char *config_family_name(uint8_t family)
{
	return family == XDPSEC_AF_INET6 ? "IPv6" : "IPv4";
}

/* The prefix length that covers one host. */
static inline unsigned int config_host_plen(uint8_t family)
{
	return family == XDPSEC_AF_INET6 ? 128 : 32;
}

/*
 * A transform name that is known but refused: why says why (NULL when it
 * is merely not implemented), use what to write instead.
 */
struct config_refused {
	const char *name;
	const char *why;
	const char *use;
};

/*
 * Returns -EINVAL with "key val is refused (why); use ..." when val (in
 * any case) is in the table, else 0.
 */
int config_refused_check(const struct config_refused *t, size_t n,
			 const char *key, const char *val, char *err,
			 size_t errlen);

/*
 * Reads a whole secret file into buf after the checks of key files: a
 * regular file, that neither group nor others may read or write.  A file
 * of cap bytes or more is refused.  Messages name it as noun and shown
 * ("key file keys/a.key") and never quote its content.  On failure buf is
 * wiped.  Returns 0 or -errno.
 */
int config_secret_read(const char *path, const char *shown,
		       const char *noun, char *buf, size_t cap, size_t *len,
		       char *err, size_t errlen);

/*
 * Decodes hex digits, ignoring white space.  Writes at most cap bytes to
 * out but counts them all in *n, so that the caller can say how many the
 * text holds.  what names the text in messages, which never quote it.
 */
int config_hex_decode(const char *text, size_t len, const char *what,
		      uint8_t *out, size_t cap, size_t *n, char *err,
		      size_t errlen);

#endif /* XDPSEC_CONFIG_H */
