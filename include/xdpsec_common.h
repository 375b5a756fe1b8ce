/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The contract between the XDP program (bpf/) and the daemon (user/):
 * map keys and values, XDP metadata, counter indexes and the constants both
 * sides rely on.  This header is the only definition of each of them.
 *
 * It must compile both with clang -target bpf (no libc) and with the host
 * compiler, so it uses only <linux/types.h>.
 */
#ifndef XDPSEC_COMMON_H
#define XDPSEC_COMMON_H

#include <linux/types.h>

/*
 * The SAD and SPD maps are sized by the daemon before it loads the
 * program ([daemon] max_sas and max_policies): these are the sizes in the
 * object file, which the daemon replaces, and the bounds it accepts.
 */
enum xdpsec_limits {
	XDPSEC_MAX_SA = 8192,		/* default max_sas */
	XDPSEC_MAX_SA_LIMIT = 1 << 22,
	XDPSEC_MAX_POLICIES = 4096,	/* default max_policies */
	XDPSEC_MAX_POLICIES_LIMIT = 1 << 21,
	XDPSEC_MAX_TABLE_MIN = 16,	/* the least either may be set to */
	XDPSEC_ACQUIRE_SLOTS = 4096,	/* "acquire" counts by id modulo this */
	XDPSEC_CHAIN_LEN = 16,		/* policies checked per dst prefix */
	XDPSEC_MAX_IFACES = 16,
	XDPSEC_MAX_QUEUES = 64,
	XDPSEC_MAX_WORKERS = 64,
	XDPSEC_REPLAY_DEFAULT = 4096,	/* absorbs reordering across workers */
	XDPSEC_REPLAY_MAX = 4096,
	XDPSEC_IPV6_EXT_MAX = 4,	/* extension headers walked in XDP */
};

/* Address families, with the values of AF_INET and AF_INET6. */
enum xdpsec_family {
	XDPSEC_AF_INET = 2,
	XDPSEC_AF_INET6 = 10,
};

enum xdpsec_ports {
	XDPSEC_PORT_IKE = 500,
	XDPSEC_PORT_NATT = 4500,
};

enum xdpsec_ipproto {
	XDPSEC_IPPROTO_IPIP = 4,
	XDPSEC_IPPROTO_TCP = 6,
	XDPSEC_IPPROTO_UDP = 17,
	XDPSEC_IPPROTO_IPV6 = 41,
	XDPSEC_IPPROTO_ESP = 50,
	XDPSEC_IPPROTO_AH = 51,
	XDPSEC_IPPROTO_ICMPV6 = 58,
	XDPSEC_IPPROTO_NONE = 59,	/* "no next header": ESP dummy packet */
};

/* SPD actions (RFC 4301 section 4.4.1). */
enum xdpsec_action {
	XDPSEC_ACT_DISCARD = 0,
	XDPSEC_ACT_BYPASS = 1,
	XDPSEC_ACT_PROTECT = 2,
	/*
	 * Discard, and count the packet in "acquire" under the policy's id,
	 * so that IKE starts the connection (start = trap).
	 */
	XDPSEC_ACT_TRAP = 3,
};

enum xdpsec_dir {
	XDPSEC_DIR_IN = 0,
	XDPSEC_DIR_OUT = 1,
};

enum xdpsec_mode {
	XDPSEC_MODE_TUNNEL = 1,
	XDPSEC_MODE_TRANSPORT = 2,
};

/* ESP transforms: AEADs, integrity-only GMAC, or a cipher + "integ". */
enum xdpsec_alg {
	XDPSEC_ALG_NONE = 0,		/* AH, which has no cipher */
	XDPSEC_ALG_AES_GCM_128 = 1,	/* RFC 4106, 16-byte ICV */
	XDPSEC_ALG_AES_GCM_256 = 2,
	XDPSEC_ALG_CHACHA20_POLY1305 = 3,	/* RFC 7634 */
	XDPSEC_ALG_AES_GMAC_128 = 4,	/* RFC 4543: integrity only */
	XDPSEC_ALG_AES_GMAC_256 = 5,
	XDPSEC_ALG_AES_CBC_128 = 6,	/* RFC 3602, needs an integ */
	XDPSEC_ALG_AES_CBC_256 = 7,
	XDPSEC_ALG_NULL = 8,		/* RFC 2410, needs an integ */
};

/* Integrity algorithms for ESP with AES-CBC or NULL, and for AH. */
enum xdpsec_integ {
	XDPSEC_INTEG_NONE = 0,
	XDPSEC_INTEG_HMAC_SHA256_128 = 1,	/* RFC 4868 */
	XDPSEC_INTEG_HMAC_SHA384_192 = 2,
	XDPSEC_INTEG_HMAC_SHA512_256 = 3,
};

enum xdpsec_sa_state_code {
	XDPSEC_SA_FREE = 0,		/* slot unused */
	XDPSEC_SA_ACTIVE = 1,
	XDPSEC_SA_DEAD = 2,		/* being removed, or exhausted */
};

enum xdpsec_sa_flags {
	XDPSEC_SA_F_ESN = 1 << 0,	/* 64-bit extended sequence numbers */
	XDPSEC_SA_F_UDP_ENCAP = 1 << 1,	/* ESP in UDP (RFC 3948) */
};

/* Bits of xdpsec_sa_state.expired. */
enum xdpsec_expire {
	XDPSEC_EXPIRE_SOFT = 1 << 0,	/* time to rekey */
	XDPSEC_EXPIRE_HARD = 1 << 1,	/* the SA is gone */
};

/* SA lifetimes (RFC 4301 4.4.2.1); 0 means no limit. */
struct xdpsec_lifetime {
	__u64 bytes;
	__u64 packets;
	__u64 seconds;
};

/* One address of either family; IPv4 uses the first word only. */
struct xdpsec_addr {
	union {
		__be32 v4;
		__u8 v6[16];
	};
};

/*
 * A traffic selector: prefixes, protocol (0 = any) and port ranges in host
 * byte order (0-65535 = any).  Used by policies and by SAs (to check the
 * inner packet after decryption).
 */
struct xdpsec_sel {
	struct xdpsec_addr src;
	struct xdpsec_addr dst;
	__u8 family;
	__u8 src_plen;
	__u8 dst_plen;
	__u8 proto;
	__u16 sport_lo;
	__u16 sport_hi;
	__u16 dport_lo;
	__u16 dport_hi;
};

/* Map "sad": an array indexed by SA index.  No key material, ever. */
struct xdpsec_sa {
	__u32 spi;			/* host byte order */
	__u8 state;			/* enum xdpsec_sa_state_code */
	__u8 dir;			/* enum xdpsec_dir */
	__u8 mode;			/* enum xdpsec_mode */
	__u8 proto;			/* XDPSEC_IPPROTO_ESP */
	__u8 alg;			/* enum xdpsec_alg */
	__u8 family;			/* outer address family */
	__u16 flags;			/* enum xdpsec_sa_flags */
	__u32 replay_window;		/* 0 = no anti-replay */
	__u16 encap_sport;		/* UDP encapsulation, host order */
	__u16 encap_dport;
	struct xdpsec_addr src;		/* outer source (tunnel) */
	struct xdpsec_addr dst;		/* outer destination (tunnel) */
	struct xdpsec_sel sel;		/* what may travel inside */
	__u8 integ;			/* enum xdpsec_integ */
	__u8 pad;
	__u16 tfc_pad;			/* pad payloads to this (RFC 4303 2.7) */
	__u32 reserved;
	struct xdpsec_lifetime soft;
	struct xdpsec_lifetime hard;
	__u64 added;			/* CLOCK_BOOTTIME seconds */
};

/*
 * Map "sa_state": an mmap-able array indexed by SA index, written by the
 * workers and read by XDP (replay pre-check) and the CLI.  Outbound: seq is
 * the last sequence number handed out.  Inbound: seq is the top of the
 * anti-replay window (highest authenticated sequence number).
 */
struct xdpsec_sa_state {
	__u64 seq;
	__u64 packets;
	__u64 bytes;
	__u64 auth_fails;
	__u64 replay_drops;
	__u64 other_drops;
	__u64 expired;			/* enum xdpsec_expire bits */
	__u64 reserved;
};

/* Map "spi_in": inbound SA lookup. */
struct xdpsec_spi_key {
	__be32 spi;
	__u8 proto;
	__u8 pad[3];
};

/* Map "policies": an array indexed by policy slot. */
struct xdpsec_policy {
	struct xdpsec_sel sel;
	__u32 id;			/* the daemon's policy id */
	__u32 sa_idx;			/* PROTECT + OUT: the SA to use */
	__u16 priority;			/* lower first */
	__u8 action;			/* enum xdpsec_action */
	__u8 dir;			/* enum xdpsec_dir */
};

/*
 * Maps "spd4" and "spd6": LPM tries on the destination address.  The value
 * lists, in priority order, every policy whose destination prefix contains
 * the key's prefix, so the longest match alone is enough.
 */
struct xdpsec_spd4_key {
	__u32 prefixlen;
	__be32 addr;
};

struct xdpsec_spd6_key {
	__u32 prefixlen;
	__u8 addr[16];
};

struct xdpsec_spd_chain {
	__u32 count;
	__u32 idx[XDPSEC_CHAIN_LEN];
};

/* Map "ifaces": ifindex -> slot; the XSK map key is slot * MAX_QUEUES + q. */
struct xdpsec_iface {
	__u32 slot;
	__u32 flags;
};

/* Map "config": one entry. */
struct xdpsec_config {
	__u8 default_action;		/* enum xdpsec_action, never PROTECT */
	__u8 pad[3];
	__u32 flags;
};

enum xdpsec_meta_kind {
	XDPSEC_META_ESP_IN = 1,		/* inbound ESP for a local SA */
	XDPSEC_META_PROTECT = 2,	/* plaintext to protect with sa_idx */
	XDPSEC_META_AH_IN = 3,		/* inbound AH for a local SA */
};

enum xdpsec_meta_flags {
	XDPSEC_META_F_UDP_ENCAP = 1 << 0,	/* ESP behind a UDP header */
};

#define XDPSEC_META_MAGIC 0x78647073u	/* "xdps" */

/*
 * XDP metadata in front of every frame redirected to a worker.  Offsets
 * count from the first byte of the Ethernet header.
 */
struct xdpsec_meta {
	__u32 sa_idx;
	__u16 l3_off;			/* IP header */
	__u16 l4_off;			/* ESP header (ESP_IN), L4 (PROTECT) */
	__u8 kind;			/* enum xdpsec_meta_kind */
	__u8 family;			/* family of the IP header at l3_off */
	__u8 flags;			/* enum xdpsec_meta_flags */
	__u8 pad;
	__u32 magic;
};

/*
 * Counters, by reason.  XDP counts into the per-CPU array "counters"; each
 * worker counts into its row of the mmap-able array "wstats".  The CLI sums
 * both and prints them by name.
 */
#define XDPSEC_COUNTERS(C)						\
	C(PASS_NON_IP, "pass_non_ip")					\
	C(PASS_IKE, "pass_ike")						\
	C(NATT_KEEPALIVE, "natt_keepalive")				\
	C(PASS_ND, "pass_nd")						\
	C(PASS_BYPASS, "pass_bypass")					\
	C(PASS_DEFAULT, "pass_default")					\
	C(REDIRECT_ESP, "redirect_esp")					\
	C(REDIRECT_PROTECT, "redirect_protect")				\
	C(DROP_MALFORMED, "drop_malformed")				\
	C(DROP_NO_SA, "drop_no_sa")					\
	C(DROP_SA_DEAD, "drop_sa_dead")					\
	C(DROP_REPLAY_XDP, "drop_replay_xdp")				\
	C(DROP_FRAGMENT, "drop_fragment")				\
	C(REDIRECT_AH, "redirect_ah")					\
	C(DROP_POLICY, "drop_policy")					\
	C(DROP_DEFAULT, "drop_default")					\
	C(DROP_CLEAR_PROTECTED, "drop_clear_protected")			\
	C(DROP_NO_WORKER, "drop_no_worker")				\
	C(DROP_ENCAP_MISMATCH, "drop_encap_mismatch")			\
	C(ESP_DECRYPTED, "esp_decrypted")				\
	C(ESP_ENCRYPTED, "esp_encrypted")				\
	C(DROP_BAD_META, "drop_bad_meta")				\
	C(DROP_ESP_MALFORMED, "drop_esp_malformed")			\
	C(DROP_REPLAY, "drop_replay")					\
	C(DROP_AUTH, "drop_auth")					\
	C(DROP_PADDING, "drop_padding")					\
	C(DROP_DUMMY, "drop_dummy")					\
	C(DROP_NEXT_HEADER, "drop_next_header")				\
	C(DROP_SELECTOR, "drop_selector")				\
	C(DROP_SEQ_EXHAUSTED, "drop_seq_exhausted")			\
	C(DROP_TTL, "drop_ttl")						\
	C(DROP_TOO_BIG, "drop_too_big")					\
	C(DROP_NO_ROUTE, "drop_no_route")				\
	C(DROP_NO_NEIGH, "drop_no_neigh")				\
	C(DROP_TX_FULL, "drop_tx_full")					\
	C(TX_PACKETS, "tx_packets")					\
	C(AH_VERIFIED, "ah_verified")					\
	C(AH_PROTECTED, "ah_protected")					\
	C(DROP_EXPIRED, "drop_expired")					\
	C(ICMP_SENT, "icmp_sent")					\
	C(FRAGMENTED, "fragmented")					\
	C(DROP_NO_CRYPTO, "drop_no_crypto")				\
	C(LOCAL_DELIVERED, "local_delivered")				\
	C(DROP_TRAP, "drop_trap")

#define XDPSEC_COUNTER_ENUM(name, str) XDPSEC_CNT_##name,
enum xdpsec_counter {
	XDPSEC_CNT_OK = 0,	/* data-path functions return this or a reason */
	XDPSEC_COUNTERS(XDPSEC_COUNTER_ENUM)
	XDPSEC_CNT_MAX
};
#undef XDPSEC_COUNTER_ENUM

struct xdpsec_wstats {
	__u64 cnt[XDPSEC_CNT_MAX];
};

/* Sizes that the XDP program, the workers and pinned maps rely on. */
_Static_assert(sizeof(struct xdpsec_addr) == 16, "xdpsec_addr");
_Static_assert(sizeof(struct xdpsec_sel) == 44, "xdpsec_sel");
_Static_assert(sizeof(struct xdpsec_sa) == 160, "xdpsec_sa");
_Static_assert(sizeof(struct xdpsec_sa_state) == 64, "xdpsec_sa_state");
_Static_assert(sizeof(struct xdpsec_policy) == 56, "xdpsec_policy");
_Static_assert(sizeof(struct xdpsec_meta) == 16, "xdpsec_meta");
_Static_assert(sizeof(struct xdpsec_meta) % 4 == 0, "meta is 4-aligned");

#endif /* XDPSEC_COMMON_H */
