/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ICMP errors a gateway sends about packets it cannot forward: "packet too
 * big" (ICMPv4 3/4, RFC 1191; ICMPv6 2, RFC 4443) and "time exceeded"
 * (ICMPv4 11/0, ICMPv6 3/0).  Pure functions on buffers, plus a per-worker
 * rate limiter, since RFC 1812 4.3.2.8 and RFC 4443 2.4(f) require errors
 * to be rate limited.
 *
 * The builders return the length of the complete IP packet (no Ethernet
 * header) written to out, or 0 when nothing must be sent: the offending
 * packet is malformed, is itself an ICMP error, is a non-first IPv4
 * fragment, comes from an address that does not name a single host
 * (unspecified, loopback, multicast, IPv4 broadcast or class E), was sent
 * to such an IPv4 address (or, for time exceeded, to IPv6 multicast), or
 * out is too small.  out must not overlap the offending packet.
 */
#ifndef XDPSEC_ICMP_H
#define XDPSEC_ICMP_H

#include <stdbool.h>
#include <stdint.h>

#include "esp.h"
#include "xdpsec_common.h"

enum icmp_sizes {
	ICMP_V4_MAX = 576,	/* RFC 1812 4.3.2.3: whole error at most */
	ICMP_V6_MAX = 1280,	/* RFC 4443 2.4(c): IPv6 minimum MTU */
	ICMP_V4_MIN_MTU = 68,	/* RFC 791 */
	ICMP_V6_MIN_MTU = 1280,	/* RFC 8200 section 5 */
};

/*
 * Builds "fragmentation needed" with next-hop MTU mtu (IPv4, clamped to
 * 65535) or "packet too big" with MTU mtu (IPv6) about orig, from src (the
 * gateway's address, of orig's family) to orig's source, TTL or hop limit
 * 64.  It quotes as much of orig as fits in ICMP_V4_MAX or ICMP_V6_MAX
 * bytes, and at least the IP header and 8 bytes (the whole packet if
 * shorter); a cap that cannot hold that gives 0.  An mtu below the family's
 * minimum also gives 0: senders ignore such values (RFC 1191, RFC 8201),
 * so the caller must fragment the outer packet instead.
 */
uint32_t icmp_too_big(const struct pkt *orig, uint32_t mtu,
		      const struct xdpsec_addr *src, uint8_t *out,
		      uint32_t cap);

/* Builds "time exceeded in transit" (ICMPv4 11/0, ICMPv6 3/0) likewise. */
uint32_t icmp_time_exceeded(const struct pkt *orig,
			    const struct xdpsec_addr *src, uint8_t *out,
			    uint32_t cap);

/*
 * A token bucket, kept as the time at which the bucket would be full again
 * (GCRA): at most burst errors at once, then one every 1/per_sec second.
 * per_sec or burst 0 allows nothing.  One per worker: no locking.
 */
struct icmp_limit {
	uint64_t full_ns;	/* when the bucket is full again */
	uint64_t interval_ns;	/* the cost of one error */
	uint64_t slack_ns;	/* (burst - 1) * interval_ns */
	bool off;
};

void icmp_limit_init(struct icmp_limit *l, uint32_t per_sec, uint32_t burst);

/* Takes a token at now_ns (a monotonic clock) if there is one. */
bool icmp_limit_allow(struct icmp_limit *l, uint64_t now_ns);

#endif /* XDPSEC_ICMP_H */
