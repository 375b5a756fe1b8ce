/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The IP layer of ESP and AH framing: reading, checking and writing IPv4
 * and IPv6 headers in packet buffers.  Packet bytes may sit at any
 * alignment, so every field is read and written byte by byte.  Functions
 * of the data path return XDPSEC_CNT_OK or the counter index of the reason
 * for a drop.
 */
#ifndef XDPSEC_IPHDR_H
#define XDPSEC_IPHDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bytes.h"
#include "esp.h"

enum ip_hdr_sizes {
	IPV4_HDR_LEN = 20,
	IPV6_HDR_LEN = 40,
	IPV4_PROTO_OFF = 9,	/* offset of the IPv4 protocol field */
	IPV6_NXT_OFF = 6,	/* offset of the IPv6 next header field */
};

/* IPv6 extension headers (RFC 8200 section 4). */
enum ip6_ext_type {
	IP6_EXT_HOP = 0,
	IP6_EXT_ROUTING = 43,
	IP6_EXT_FRAGMENT = 44,
	IP6_EXT_DSTOPTS = 60,
};

/* No limit on extension headers but the packet's length. */
#define IP6_EXT_ANY UINT32_MAX

/* ---- Checksums ---- */

/* Adds len bytes as big-endian 16-bit words to a one's complement sum. */
uint64_t ip_csum_add(uint64_t sum, const uint8_t *data, size_t len);

/* Folds and complements a sum into the checksum, in host order. */
uint16_t ip_csum_fold(uint64_t sum);

/* ---- Families ---- */

/* The fixed header length of an address family, 0 for an unknown one. */
uint32_t ip_family_hdr_len(uint8_t family);

/* The IP version of an address family, 0 for an unknown one. */
uint8_t ip_family_version(uint8_t family);

/* The longest packet the family's length field can describe. */
uint32_t ip_max_len(uint8_t family);

/* ---- Parsing ---- */

/* What framing needs to know of an IP header. */
struct ip_info {
	uint8_t version;	/* 4 or 6 */
	uint8_t tos;		/* IPv4 TOS or IPv6 traffic class */
	bool df;		/* IPv4 "don't fragment" */
	bool frag;		/* IPv4 fragment: MF or an offset */
	uint32_t hdr_len;	/* IPv4 with options; IPv6 fixed header */
	uint32_t len;		/* whole packet, from its own length field */
};

/*
 * Checks that d holds a plausible IP packet of at most avail bytes and
 * describes it.  Bytes after the length its header gives (Ethernet padding
 * of short frames, TFC padding) are not part of it.  Returns XDPSEC_CNT_OK
 * or DROP_ESP_MALFORMED.
 */
int ip_info_parse(const uint8_t *d, uint32_t avail, struct ip_info *info);

/*
 * A walk over the IPv6 extension headers that may stand in front of ESP
 * or AH (RFC 4303 3.1.1, RFC 4302 3.1.1): those processed on the way, by
 * routers or by the destinations a routing header lists.
 */
struct ip6_walk {
	const uint8_t *d;	/* the IPv6 packet */
	uint32_t end;		/* every header must end by here */
	uint32_t off;		/* the header after those walked */
	uint32_t nh_off;	/* the byte that names it */
	uint8_t type;		/* the last header walked */
	bool frag;		/* a fragment header of a fragment was walked */
};

/* Starts a walk of the packet d at the end of its fixed header. */
void ip6_walk_init(struct ip6_walk *w, const uint8_t *d, uint32_t end);

/*
 * Steps over the header at w->off.  Returns 1, 0 if it is not one of the
 * headers above, or -1 if it does not end by w->end.
 */
int ip6_walk_next(struct ip6_walk *w);

/* Where transport mode inserts ESP or AH. */
struct ip_ins {
	uint32_t off;		/* header bytes that stay in front */
	uint32_t nh_off;	/* the byte that will name ESP or AH */
	bool frag;		/* a fragment, seen before anything malformed */
};

/*
 * Finds where transport mode inserts ESP or AH in the packet d that ip
 * describes: after the IPv4 header and its options, or after at most
 * max_ext IPv6 extension headers of the walk above.  Returns XDPSEC_CNT_OK
 * or DROP_ESP_MALFORMED; the caller decides what a fragment means.
 */
int ip_ins_point(const uint8_t *d, const struct ip_info *ip, uint32_t max_ext,
		 struct ip_ins *at);

/* ---- Writing ---- */

/* Sets the length field of the IP header at d for a packet of len bytes. */
void ip_set_len(uint8_t *d, uint32_t len);

/*
 * Fixes the protocol or next header field at nh_off, the length and the
 * IPv4 checksum of the IP header at d after a change of its packet.
 */
void ip_hdr_update(uint8_t *d, uint32_t nh_off, uint8_t proto,
		   uint32_t tot_len);

/* The outer header of a tunnel-mode packet. */
struct ip_outer {
	uint8_t family;			/* XDPSEC_AF_INET or _INET6 */
	uint8_t proto;			/* what follows: ESP, UDP or AH */
	uint16_t id;			/* IPv4 identification */
	uint32_t tot_len;		/* the whole packet */
	const struct xdpsec_addr *src;
	const struct xdpsec_addr *dst;
};

/*
 * Writes the outer header o in front of the packet inner describes: TTL
 * 64, DSCP and ECN copied as RFC 6040 normal mode says, DF copied from an
 * IPv4 inner header, no options or extension headers.
 */
void ip_outer_write(uint8_t *out, const struct ip_outer *o,
		    const struct ip_info *inner);

/* The next header that names an inner packet of this kind in tunnel mode. */
uint8_t ip_tunnel_proto(const struct ip_info *inner);

/*
 * Tunnel mode: makes p the inner packet at inner, which must be the IP
 * packet next_hdr (4 or 41) announces within avail bytes, and carries an
 * outer CE mark to it (RFC 6040).  Returns XDPSEC_CNT_OK,
 * DROP_NEXT_HEADER or DROP_ESP_MALFORMED; p is unchanged on failure.
 */
int ip_tunnel_decap(struct pkt *p, uint8_t outer_tos, uint8_t next_hdr,
		    uint8_t *inner, uint32_t avail);

/* ---- Packet buffers ---- */

/* Sets p to len bytes at data, within the same buffer. */
void pkt_set(struct pkt *p, uint8_t *data, uint32_t len);

#endif /* XDPSEC_IPHDR_H */
