/* SPDX-License-Identifier: GPL-2.0-only */
/* Small IPv4/IPv6 header helpers for the workers. */
#ifndef XDPSEC_IP_H
#define XDPSEC_IP_H

#include <stdbool.h>
#include <stdint.h>

#include "esp.h"

/* What selectors look at, found in an IP packet. */
struct ip_fields {
	uint8_t family;			/* XDPSEC_AF_INET or _INET6 */
	uint8_t proto;			/* upper-layer protocol */
	bool has_ports;			/* TCP/UDP, not a later fragment */
	uint16_t sport;			/* host order */
	uint16_t dport;
	const uint8_t *src;
	const uint8_t *dst;
	uint32_t len;			/* from the header's length field */
};

/*
 * Parses the IP header at p->data.  Returns 0, or -EINVAL if the packet is
 * not a well-formed IPv4/IPv6 packet that fits in p->len.
 */
int ip_parse(const struct pkt *p, struct ip_fields *f);

/*
 * Decrements the TTL or hop limit of a packet being forwarded, fixing the
 * IPv4 checksum.  Returns false if the packet must not be forwarded.
 */
bool ip_forward_ttl(struct pkt *p);

#endif /* XDPSEC_IP_H */
