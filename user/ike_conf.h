/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * IKE connections as the configuration describes them: a [conn NAME]
 * section per peer, from which IKEv2 negotiates IKE SAs and CHILD_SAs.
 *
 *   [conn site]
 *   local = 198.51.100.1            ; address IKE uses; "any" to let routing pick
 *   remote = 198.51.100.2           ; the peer; "any" to accept anyone (responder)
 *   local_id = gw1.example.net      ; default: the local address
 *   remote_id = gw2.example.net     ; default: the remote address; "any"
 *   auth = psk                      ; or pubkey (certificates)
 *   psk_file = site.psk             ; the secret, mode 0600 or stricter
 *   cert = gw1.pem                  ; pubkey: our certificate (PEM),
 *   key = gw1.key                   ; its private key (mode 0600),
 *   ca = ca.pem                     ; the CAs the peer's must chain to
 *   signature = pss                 ; RSA keys: pss or pkcs1
 *   ike = aes-gcm-256/prf-sha256/curve25519, aes-gcm-128/prf-sha256/ecp256
 *   esp = aes-gcm-256, aes-gcm-128/curve25519/esn
 *   local_ts = 192.0.2.0/24, 2001:db8:1::/64
 *   remote_ts = 203.0.113.0/24, 2001:db8:2::/64
 *   mode = tunnel                   ; or transport
 *   start = initiate                ; initiate, trap (on traffic) or wait
 *   ike_lifetime = 4h               ; rekey the IKE SA after this
 *   child_lifetime = 1h             ; rekey CHILD_SAs after this ...
 *   child_bytes = 4G                ; ... or this much traffic (optional)
 *   child_packets = 0
 *   dpd = 30s                       ; liveness check when idle; 0: off
 *   encap = auto                    ; UDP encapsulation: auto (on NAT) or yes
 *   port = 500                      ; the peer's IKE port (4500 is NAT-T)
 *   cookie_threshold = 100          ; half-open SAs before cookies
 *
 * A proposal is a list of transforms separated by '/': one encryption
 * algorithm, an integrity algorithm when the encryption is not an AEAD,
 * for IKE a PRF ("prf-sha256", "prf-sha384", "prf-sha512") and a group,
 * for ESP optionally a group (PFS) and "esn" or "noesn" (default: both
 * offered, ESN preferred).  Proposals are separated by ',', first
 * preferred.
 */
#ifndef XDPSEC_IKE_CONF_H
#define XDPSEC_IKE_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xdpsec_common.h"

enum ike_conf_limits {
	CONN_PROPOSALS_MAX = 8,
	CONN_TS_MAX = 8,
	CONN_ID_MAX = 256,
	CONN_PSK_MAX = 256,
	CONN_PSK_MIN = 16,		/* shorter secrets are refused */
	CONN_PATH_MAX = 256,		/* cert, key and ca file names */
};

enum conn_auth {
	CONN_AUTH_PSK = 1,
	CONN_AUTH_PUBKEY,		/* certificates, RFC 7427 signatures */
};

enum conn_start {
	CONN_START_WAIT = 0,		/* respond only */
	CONN_START_INITIATE,		/* bring up at start, keep up */
	CONN_START_TRAP,		/* bring up on the first packet */
};

enum conn_encap {
	CONN_ENCAP_AUTO = 0,		/* when NAT detection finds a NAT */
	CONN_ENCAP_YES,			/* always: pretend a NAT is there */
};

/* One proposal: values are IKEv2 transform IDs (RFC 7296 section 3.3.2). */
struct conn_proposal {
	uint16_t encr;		/* ENCR_* */
	uint16_t encr_bits;	/* the key length attribute */
	uint16_t integ;		/* AUTH_*, 0 with an AEAD */
	uint16_t prf;		/* IKE only */
	uint16_t group;		/* IKE: required; ESP: 0 without PFS */
	uint8_t esn;		/* ESP: bit 0 "no ESN" offered, bit 1 "ESN" */
};

enum conn_esn_bits {
	CONN_ESN_NO = 1,
	CONN_ESN_YES = 2,
};

/* A traffic selector as configured: a prefix, all protocols and ports. */
struct conn_ts {
	uint8_t family;		/* AF_INET or AF_INET6 */
	uint8_t plen;
	struct xdpsec_addr addr;
};

/* ID types are IKEv2's (RFC 7296 section 3.5), guessed from the text. */
struct conn_id {
	uint8_t type;		/* ID_IPV4_ADDR, ID_FQDN, ID_RFC822_ADDR, ... */
	bool any;		/* remote only: accept any identity */
	uint16_t len;
	uint8_t data[CONN_ID_MAX];	/* as sent in the ID payload */
	char text[CONN_ID_MAX];		/* as written, for messages */
};

struct conn_conf {
	char name[64];
	int line;
	unsigned int given;		/* bit per key set */

	uint8_t family;			/* of local and remote */
	bool local_any, remote_any;
	struct xdpsec_addr local, remote;
	uint16_t remote_port;

	struct conn_id local_id, remote_id;
	uint8_t auth;			/* enum conn_auth */
	uint8_t psk[CONN_PSK_MAX];	/* wiped by config_free() */
	size_t psk_len;
	char cert[CONN_PATH_MAX];	/* pubkey: resolved paths */
	char key[CONN_PATH_MAX];
	char ca[CONN_PATH_MAX];
	bool rsa_pss;			/* RSA signatures: PSS, else PKCS#1 */

	struct conn_proposal ike[CONN_PROPOSALS_MAX];
	unsigned int n_ike;
	struct conn_proposal esp[CONN_PROPOSALS_MAX];
	unsigned int n_esp;

	struct conn_ts local_ts[CONN_TS_MAX];
	unsigned int n_local_ts;
	struct conn_ts remote_ts[CONN_TS_MAX];
	unsigned int n_remote_ts;

	uint8_t mode;			/* XDPSEC_MODE_* */
	uint8_t start;			/* enum conn_start */
	uint8_t encap;			/* enum conn_encap */
	uint32_t ike_lifetime;		/* seconds */
	uint32_t child_lifetime;	/* seconds */
	uint64_t child_bytes;		/* 0: no limit */
	uint64_t child_packets;		/* 0: no limit */
	uint32_t dpd;			/* seconds, 0: off */
	uint32_t cookie_threshold;
};

/* Defaults: see the example above. */
void config_conn_init(struct conn_conf *c, const char *name);

/*
 * Sets one key; basedir resolves a relative psk_file.  Returns 0, or
 * -EINVAL with a message (without file and line) in err.
 */
int config_conn_set(struct conn_conf *c, const char *key, const char *val,
		    const char *basedir, char *err, size_t errlen);

/*
 * Checks a finished section: required keys (remote, auth and its secret
 * or certificate, key and CAs, which must load, local_ts and remote_ts), families that agree, transport mode only with
 * host selectors equal to the addresses.  Returns 0 or -EINVAL with err.
 */
int config_conn_check(const struct conn_conf *c, char *err, size_t errlen);

/* The keys a [conn] section takes, for messages about unknown keys. */
extern const char *const conn_keys[];
extern const unsigned int conn_n_keys;

#endif /* XDPSEC_IKE_CONF_H */
