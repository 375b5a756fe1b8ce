/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * IPv4 fragmentation (RFC 791) of a packet too big for the path once
 * encrypted, done on the inner packet before ESP so that the peer gateway
 * forwards the fragments and the destination reassembles them.  IPv6 has
 * no router fragmentation: IPv6 packets get "packet too big" instead.
 */
#ifndef XDPSEC_FRAG_H
#define XDPSEC_FRAG_H

#include <stdint.h>

#include "esp.h"

/*
 * Splits the IPv4 packet p into fragments of at most min(mtu, cap) bytes,
 * each a complete IP packet written to bufs[i] (which must not overlap p),
 * its length to lens[i].  Fragment payloads are multiples of 8 bytes but
 * for the last; the identification is kept; the first fragment keeps all
 * options, the others only those with the "copied" flag; a packet that is
 * already a fragment is split within its own offset range, the last piece
 * keeping its MF flag.  A packet that fits is copied whole.
 *
 * Returns the number of fragments, -EMSGSIZE if the packet must be split
 * but has DF set (the caller answers with "fragmentation needed"), -E2BIG
 * if more than max fragments would be needed (nothing is written then),
 * -EINVAL if the packet is malformed or min(mtu, cap) cannot hold its
 * header and 8 bytes of payload.
 */
int frag_ipv4(const struct pkt *p, uint32_t mtu, uint8_t *const *bufs,
	      uint32_t cap, uint32_t *lens, unsigned int max);

#endif /* XDPSEC_FRAG_H */
