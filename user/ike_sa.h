/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * IKEv2 (RFC 7296): IKE SAs and the CHILD_SAs they negotiate, as
 * initiator and as responder.  This file owns the protocol: which message
 * answers which, message IDs and retransmissions, keys, authentication,
 * traffic selectors and NAT detection.  It knows nothing of the data
 * plane: a negotiated CHILD_SA goes to the env's child_up callback with
 * its keys, and is taken down through child_down.
 *
 * Everything runs on one thread, the daemon's main loop, which feeds
 * datagrams to ike_input() and calls ike_run_timers() when
 * ike_next_timer() says so.
 */
#ifndef XDPSEC_IKE_SA_H
#define XDPSEC_IKE_SA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ike_conf.h"
#include "ike_keys.h"
#include "ike_msg.h"
#include "ike_sock.h"

enum ike_sa_limits {
	IKE_MSG_MAX = 8192,		/* the largest message we build or take */
	IKE_NONCE_LEN = 32,		/* what we send */
	IKE_RETRANSMITS = 5,		/* tries after the first send */
	IKE_RETRANSMIT_MS = 1000,	/* the first wait; doubles each time */
	IKE_HALF_OPEN_TIMEOUT_MS = 30000,
	IKE_REKEY_RETRY_MS = 10000,	/* after a refused or failed rekey */
	IKE_FRAG_MSG = 1200,		/* larger messages go in fragments */
	IKE_FRAGS_MAX = 32,		/* fragments of one message */
	IKE_SKF_HDR_LEN = 8,		/* SKF payload header */
	IKE_REKEY_DELETE_MS = 30000,	/* replaced CHILD_SA not deleted */
	IKE_SAS_MAX = 10000,		/* IKE SAs of all kinds, as a bound */
};

enum ike_sa_state {
	IKE_SA_CONNECTING = 1,		/* initiator: IKE_SA_INIT sent */
	IKE_SA_AUTHENTICATING,		/* IKE_AUTH outstanding (either side) */
	IKE_SA_ESTABLISHED,
	IKE_SA_DELETING,		/* our delete is outstanding */
	IKE_SA_DEAD,			/* to be freed */
};

/* What our outstanding request asks for. */
enum ike_req_kind {
	IKE_REQ_NONE = 0,
	IKE_REQ_INIT,
	IKE_REQ_AUTH,
	IKE_REQ_DPD,
	IKE_REQ_DELETE_IKE,
	IKE_REQ_CREATE_CHILD,		/* CREATE_CHILD_SA: new or rekeyed */
	IKE_REQ_DELETE_CHILD,
	IKE_REQ_REKEY_IKE,		/* CREATE_CHILD_SA for a new IKE SA */
};

/* A negotiated CHILD_SA: a pair of ESP SAs and the selectors they carry. */
struct ike_child {
	struct ike_child *next;
	uint32_t spi_in, spi_out;	/* host order */
	uint8_t mode;			/* XDPSEC_MODE_* */
	bool esn;
	bool encap;			/* ESP in UDP */
	struct conn_proposal xf;	/* encr, bits, integ */
	struct ike_ts_list ts_local, ts_remote;
	bool installed;
	uint64_t created_ms;
	uint64_t rekey_due_ms;		/* 0: no time limit */
	uint64_t replaced_ms;		/* rekeyed: its successor is up */
	void *priv;			/* the installer's */
};

/* The keys of a CHILD_SA, as the installer needs them. */
struct ike_child_keys {
	const uint8_t *in, *out;	/* cipher key | salt | integrity key */
	size_t len;			/* of each */
};

/* A fragmented message being put together (RFC 7383 section 2.6). */
struct ike_reasm {
	uint32_t msg_id;
	bool response;
	uint8_t first;			/* the first inner payload's type */
	uint16_t total, got;
	uint8_t *part[IKE_FRAGS_MAX];	/* decrypted, by number - 1 */
	size_t part_len[IKE_FRAGS_MAX];
	uint8_t *whole;			/* the last message put together */
};

struct ike_sa;

/* What the IKE code needs from its surroundings. */
struct ike_env {
	struct ike_sock *sock;
	uint32_t mark;			/* the sockets' route mark */
	void *arg;
	/* Installs both SAs and their policies; 0 or -errno. */
	int (*child_up)(void *arg, const struct ike_sa *sa,
			struct ike_child *c, const struct ike_child_keys *k);
	void (*child_down)(void *arg, const struct ike_sa *sa,
			   struct ike_child *c);
	/* Sends no more on this CHILD_SA (its successor takes over). */
	void (*child_retire)(void *arg, const struct ike_sa *sa,
			     struct ike_child *c);
	/* Whether the data plane wants the CHILD_SA rekeyed (soft limit). */
	bool (*child_expiring)(void *arg, const struct ike_sa *sa,
			       const struct ike_child *c);
};

struct ike_sa {
	struct ike_sa *next;
	struct conn_conf conn;		/* a copy: reloads do not pull it away */
	uint64_t spi_i, spi_r;		/* host order */
	bool initiator;			/* the original initiator */
	enum ike_sa_state state;
	struct ike_dgram dg;		/* our address, the peer's, NAT-T */
	bool nat_here, nat_there;	/* found by NAT detection */

	uint8_t ni[IKE_NONCE_MAX], nr[IKE_NONCE_MAX];
	size_t ni_len, nr_len;
	struct ike_ke *ke;
	struct conn_proposal xf;	/* the chosen IKE proposal */
	struct ike_sa_keys keys;
	struct ike_sk *sk_in, *sk_out;
	struct ike_cred *cred;		/* auth pubkey: ours, and the CAs */
	uint8_t *init_req, *init_resp;	/* kept for AUTH */
	size_t init_req_len, init_resp_len;
	uint8_t cookie[64];
	size_t cookie_len;
	bool frag_ok;			/* both sent FRAGMENTATION_SUPPORTED */
	struct ike_reasm reasm;
	/*
	 * A rekey collision (section 2.8.1): the smaller nonce of the peer's
	 * exchange, which crossed our own rekey of the same CHILD_SA.
	 */
	uint8_t coll_nonce[IKE_NONCE_MAX];
	size_t coll_nonce_len;

	uint32_t next_req_id;		/* our next request's message ID */
	uint32_t peer_req_id;		/* the peer's next request's */
	uint8_t *resp;			/* our last response, for retransmits */
	size_t resp_len;
	uint8_t *req;			/* our outstanding request */
	size_t req_len;
	enum ike_req_kind req_kind;
	unsigned int req_tries;
	uint64_t req_due_ms;		/* when to retransmit */

	struct ike_child *children;
	struct ike_child *pending;	/* the CHILD_SA our request creates */
	struct ike_child *target;	/* the one it rekeys or deletes */
	struct ike_child *target2;	/* a second one it deletes */
	bool rekeying;			/* pending replaces target */
	uint8_t cnonce[IKE_NONCE_LEN];	/* our nonce in CREATE_CHILD_SA */
	struct ike_ke *cke;		/* our PFS key pair there */
	uint16_t rekey_group;		/* the group the peer asked for */
	struct ike_sa *successor;	/* our IKE SA rekey's new SA */
	uint64_t replaced_ms;		/* rekeyed: the successor is up */
	uint64_t child_retry_ms;	/* no CHILD_SA: when to ask again */
	char peer_id[CONN_ID_MAX];	/* as authenticated, for listings */

	uint64_t created_ms, established_ms, last_in_ms;
	uint64_t rekey_due_ms, dpd_due_ms;
	uint64_t msgs_in, msgs_out, retransmits;
	uint64_t child_rekeys;
	uint64_t frags_in, frags_out;
	uint64_t ike_rekeys;		/* of the SAs this one replaced, too */
};

struct ike {
	struct ike_env env;
	struct ike_sa *sas;
	size_t n_sas, n_half_open;
	uint8_t cookie_secret[32];
	uint64_t now_ms;
	uint64_t dropped;		/* messages we could do nothing with */
};

int ike_init(struct ike *ike, const struct ike_env *env);
void ike_fini(struct ike *ike);

/* Starts an IKE SA with its first CHILD_SA for conn.  Returns 0 or -errno. */
int ike_initiate(struct ike *ike, const struct conn_conf *conn);

/* Makes the connection's CHILD_SAs due for rekeying; how many. */
int ike_rekey_now(struct ike *ike, const char *conn_name);

/* Deletes the IKE SAs of the connection named; the count deleted. */
int ike_terminate(struct ike *ike, const char *conn_name);

/*
 * One datagram from the sockets.  conns are the configured connections a
 * new responder SA may match.
 */
void ike_input(struct ike *ike, uint8_t *buf, size_t len,
	       const struct ike_dgram *dg, const struct conn_conf *conns,
	       size_t n_conns);

/* Runs what is due at now_ms; returns when to call again (ms). */
uint64_t ike_run_timers(struct ike *ike, uint64_t now_ms);

/* The IKE SA of the connection named, the newest, or NULL. */
struct ike_sa *ike_find_conn(struct ike *ike, const char *conn_name);

const char *ike_state_name(enum ike_sa_state s);

/* A connection's traffic selectors as IKE carries them. */
void ike_conn_ts(const struct conn_conf *conn, struct ike_ts_list *local,
		 struct ike_ts_list *remote);

/* The data-plane transforms of IKE's ENCR and INTEG ids, or NONE. */
enum xdpsec_alg ike_encr_alg(uint16_t encr, uint16_t bits);
enum xdpsec_integ ike_integ_alg(uint16_t integ);

/* The monotonic clock in milliseconds. */
uint64_t ike_clock_ms(void);

#endif /* XDPSEC_IKE_SA_H */
