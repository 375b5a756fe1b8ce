/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The XDP half of xdpsec.  It classifies every received frame and does one
 * of three things with it:
 *
 *  - ESP for a local inbound SA (raw, or in UDP port 4500) is redirected to
 *    the AF_XDP socket of its queue, where a worker decrypts it;
 *  - plaintext that a PROTECT policy covers is redirected the same way, to
 *    be encrypted;
 *  - everything else is passed to the kernel stack or dropped, as the SPD
 *    and the default action say.
 *
 * Each step is a small inline function that returns either XDPSEC_CNT_OK
 * ("go on") or the reason that decides the packet.  The entry point counts
 * that reason once per packet and turns it into the XDP verdict, so every
 * decision the program takes is visible in the "counters" map.
 *
 * Anything that should be protected but cannot reach a worker is dropped:
 * the program fails closed.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "xdpsec_common.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/*
 * Protocol constants that the contract header has no reason to carry.
 * The IPv4 header length counts 32-bit words and IPv6 extension header
 * lengths count 8 bytes.  ICMPv6 types 130-137 are MLDv1, router and
 * neighbour discovery and redirect; 143 is the MLDv2 report.  The NAT-T
 * keepalive and the non-ESP marker are from RFC 3948 sections 2.3 and 2.2.
 */
enum {
	IPV4_VERSION = 4,
	IPV6_VERSION = 6,
	IPV4_MIN_IHL = 5,
	IPV4_IHL_UNIT = 4,
	IPV4_ADDR_BITS = 32,
	IPV6_ADDR_BITS = 128,
	IPV6_ADDR_WORDS = 4,
	IPV6_EXT_UNIT = 8,
	IPV4_MF = 0x2000,
	IPV4_FRAG_OFFSET = 0x1fff,
	IPV6_FRAG_OFFSET = 0xfff8,
	IPV6_FRAG_MF = 0x0001,
	TCP_MIN_HLEN = 20,
	ICMPV6_HLEN = 4,
	ICMPV6_MLD_QUERY = 130,
	ICMPV6_ND_REDIRECT = 137,
	ICMPV6_MLD2_REPORT = 143,
	NATT_KEEPALIVE_LEN = 1,
	NATT_KEEPALIVE_BYTE = 0xff,
	NON_ESP_MARKER_LEN = 4,
	AH_IDS_OFF = 4,		/* next header, length, reserved */
	PORT_ANY_HI = 65535,
	XSK_SLOTS = XDPSEC_MAX_IFACES * XDPSEC_MAX_QUEUES,
	/*
	 * Headers are only looked for below this offset.  It is far beyond
	 * any real header chain, and it keeps every offset small enough for
	 * the verifier to prove that the accesses stay inside the packet.
	 */
	PKT_HDR_OFF_MAX = 8192,
};

/* An 802.1Q or 802.1ad tag, after the outer EtherType. */
struct vlan_tag {
	__be16 tci;
	__be16 inner_proto;
};

/* The IPv6 fragment header (RFC 8200 section 4.5). */
struct ipv6_frag {
	__u8 nexthdr;
	__u8 reserved;
	__be16 frag_off;
	__be32 id;
};

/* The part of the ESP header that is in clear (RFC 4303 section 2). */
struct esp_hdr {
	__be32 spi;
	__be32 seq;
};

/* Source and destination ports, the first four bytes of TCP and UDP. */
struct l4_ports {
	__be16 sport;
	__be16 dport;
};

/*
 * What the parser learnt about a packet.  Offsets count from the first byte
 * of the Ethernet header, like those of struct xdpsec_meta.  l3_end is
 * where the IP packet ends by its own length fields, so that Ethernet
 * padding is never taken for a header.  The ports are in host order and
 * only valid when has_ports is set; nonfirst marks a fragment other than
 * the first, which carries no upper-layer header at all.
 */
struct pkt_info {
	struct xdpsec_addr src;
	struct xdpsec_addr dst;
	__u32 l3_off;
	__u32 l3_end;
	__u32 l4_off;
	__u16 sport;
	__u16 dport;
	__u8 family;
	__u8 proto;
	__u8 frag;
	__u8 nonfirst;
	__u8 has_ports;
	__u8 pad[3];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XDPSEC_MAX_SA);
	__type(key, __u32);
	__type(value, struct xdpsec_sa);
} sad SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, XDPSEC_MAX_SA);
	__type(key, __u32);
	__type(value, struct xdpsec_sa_state);
} sa_state SEC(".maps");

/* Allocated as SAs come: its size is a bound, not memory. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, XDPSEC_MAX_SA);
	__type(key, struct xdpsec_spi_key);
	__type(value, __u32);
} spi_in SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XDPSEC_MAX_POLICIES);
	__type(key, __u32);
	__type(value, struct xdpsec_policy);
} policies SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, XDPSEC_MAX_POLICIES);
	__type(key, struct xdpsec_spd4_key);
	__type(value, struct xdpsec_spd_chain);
} spd4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, XDPSEC_MAX_POLICIES);
	__type(key, struct xdpsec_spd6_key);
	__type(value, struct xdpsec_spd_chain);
} spd6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XDPSEC_MAX_IFACES);
	__type(key, __u32);
	__type(value, struct xdpsec_iface);
} ifaces SEC(".maps");

/*
 * The kernel refuses BTF key and value types for socket maps, so this one
 * gives sizes only; libbpf would otherwise fail once and retry without BTF.
 */
struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, XSK_SLOTS);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} xsks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xdpsec_config);
} config SEC(".maps");

/*
 * Packets that met a TRAP policy, by policy id modulo the size: the
 * daemon starts the policy's IKE connection when its count grows.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XDPSEC_ACQUIRE_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} acquire SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XDPSEC_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

/*
 * Written by the workers only.  It is defined here so that loading the
 * program creates it, with BTF, next to the maps it sits beside.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, XDPSEC_MAX_WORKERS);
	__type(key, __u32);
	__type(value, struct xdpsec_wstats);
} wstats SEC(".maps");

/*
 * Returns a pointer to len bytes at offset off of the frame, or NULL when
 * they are not all there.  Every packet read goes through this, so there is
 * one bounds check to get right.
 */
static __always_inline void *pkt_at(struct xdp_md *ctx, __u32 off, __u32 len)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	void *p;

	if (off > PKT_HDR_OFF_MAX)
		return NULL;
	p = data + off;
	if (p + len > data_end)
		return NULL;
	return p;
}

/*
 * Like pkt_at(), but the bytes must also lie inside the IP packet: a short
 * packet padded to the Ethernet minimum must not have its padding read as
 * a header.
 */
static __always_inline void *
l3_at(struct xdp_md *ctx, const struct pkt_info *pi, __u32 off, __u32 len)
{
	if (off + len > pi->l3_end)
		return NULL;
	return pkt_at(ctx, off, len);
}

/* Ethernet with at most one VLAN tag: finds the IP header and its family. */
static __always_inline enum xdpsec_counter parse_l2(struct xdp_md *ctx,
						    struct pkt_info *pi)
{
	struct ethhdr *eth = pkt_at(ctx, 0, sizeof(*eth));
	__u32 off = sizeof(*eth);
	struct vlan_tag *tag;
	__be16 type;

	if (!eth)
		return XDPSEC_CNT_DROP_MALFORMED;
	type = eth->h_proto;
	if (type == bpf_htons(ETH_P_8021Q) || type == bpf_htons(ETH_P_8021AD)) {
		tag = pkt_at(ctx, off, sizeof(*tag));
		if (!tag)
			return XDPSEC_CNT_DROP_MALFORMED;
		type = tag->inner_proto;
		off += sizeof(*tag);
	}
	pi->l3_off = off;
	if (type == bpf_htons(ETH_P_IP))
		pi->family = XDPSEC_AF_INET;
	else if (type == bpf_htons(ETH_P_IPV6))
		pi->family = XDPSEC_AF_INET6;
	else
		return XDPSEC_CNT_PASS_NON_IP;
	return XDPSEC_CNT_OK;
}

static __always_inline enum xdpsec_counter parse_ipv4(struct xdp_md *ctx,
						      struct pkt_info *pi)
{
	void *data_end = (void *)(long)ctx->data_end;
	struct iphdr *ip = pkt_at(ctx, pi->l3_off, sizeof(*ip));
	__u32 hlen, tot;
	__u16 frag;

	if (!ip)
		return XDPSEC_CNT_DROP_MALFORMED;
	if (ip->version != IPV4_VERSION || ip->ihl < IPV4_MIN_IHL)
		return XDPSEC_CNT_DROP_MALFORMED;
	hlen = ip->ihl * IPV4_IHL_UNIT;
	tot = bpf_ntohs(ip->tot_len);
	if (tot < hlen || (void *)ip + tot > data_end)
		return XDPSEC_CNT_DROP_MALFORMED;

	frag = bpf_ntohs(ip->frag_off);
	pi->frag = (frag & (IPV4_MF | IPV4_FRAG_OFFSET)) != 0;
	pi->nonfirst = (frag & IPV4_FRAG_OFFSET) != 0;
	pi->proto = ip->protocol;
	pi->src.v4 = ip->saddr;
	pi->dst.v4 = ip->daddr;
	pi->l3_end = pi->l3_off + tot;
	pi->l4_off = pi->l3_off + hlen;
	return XDPSEC_CNT_OK;
}

static __always_inline int ipv6_is_ext(__u8 nexthdr)
{
	return nexthdr == IPPROTO_HOPOPTS || nexthdr == IPPROTO_ROUTING ||
	       nexthdr == IPPROTO_DSTOPTS || nexthdr == IPPROTO_FRAGMENT;
}

/*
 * The fixed header, then up to XDPSEC_IPV6_EXT_MAX extension headers to
 * reach the upper-layer protocol.  A packet with more than that is dropped
 * rather than classified by a header that is not its real protocol: ESP or
 * a port that a policy cares about could hide behind the extra headers.
 */
static __always_inline enum xdpsec_counter parse_ipv6(struct xdp_md *ctx,
						      struct pkt_info *pi)
{
	void *data_end = (void *)(long)ctx->data_end;
	struct ipv6hdr *ip6 = pkt_at(ctx, pi->l3_off, sizeof(*ip6));
	struct ipv6_opt_hdr *opt;
	struct ipv6_frag *fh;
	__u32 off, plen;
	__u8 nexthdr;
	int i;

	if (!ip6)
		return XDPSEC_CNT_DROP_MALFORMED;
	if (ip6->version != IPV6_VERSION)
		return XDPSEC_CNT_DROP_MALFORMED;
	plen = bpf_ntohs(ip6->payload_len);
	if ((void *)(ip6 + 1) + plen > data_end)
		return XDPSEC_CNT_DROP_MALFORMED;

	__builtin_memcpy(pi->src.v6, &ip6->saddr, sizeof(pi->src.v6));
	__builtin_memcpy(pi->dst.v6, &ip6->daddr, sizeof(pi->dst.v6));
	off = pi->l3_off + sizeof(*ip6);
	pi->l3_end = off + plen;
	nexthdr = ip6->nexthdr;

	for (i = 0; i < XDPSEC_IPV6_EXT_MAX; i++) {
		if (nexthdr == IPPROTO_FRAGMENT) {
			fh = l3_at(ctx, pi, off, sizeof(*fh));
			if (!fh)
				return XDPSEC_CNT_DROP_MALFORMED;
			nexthdr = fh->nexthdr;
			off += sizeof(*fh);
			if (fh->frag_off & bpf_htons(IPV6_FRAG_OFFSET)) {
				/*
				 * Later fragments carry payload bytes, not
				 * headers: the walk ends here.
				 */
				pi->frag = 1;
				pi->nonfirst = 1;
				break;
			}
			/*
			 * Offset 0 without the M flag is an atomic
			 * fragment, a whole packet that RFC 6946 says to
			 * process as if it had no fragment header.
			 */
			if (fh->frag_off & bpf_htons(IPV6_FRAG_MF))
				pi->frag = 1;
			continue;
		}
		if (!ipv6_is_ext(nexthdr))
			break;
		opt = l3_at(ctx, pi, off, sizeof(*opt));
		if (!opt)
			return XDPSEC_CNT_DROP_MALFORMED;
		nexthdr = opt->nexthdr;
		off += (opt->hdrlen + 1) * IPV6_EXT_UNIT;
	}
	if (!pi->nonfirst && ipv6_is_ext(nexthdr))
		return XDPSEC_CNT_DROP_MALFORMED;

	pi->proto = nexthdr;
	pi->l4_off = off;
	return XDPSEC_CNT_OK;
}

/*
 * Reads the ports of TCP and UDP and checks that the fixed part of the
 * headers the program looks into is present.  Later fragments have no
 * upper-layer header at all.
 */
static __always_inline enum xdpsec_counter parse_l4(struct xdp_md *ctx,
						    struct pkt_info *pi)
{
	struct l4_ports *ports;
	__u32 need;

	if (pi->nonfirst)
		return XDPSEC_CNT_OK;
	switch (pi->proto) {
	case XDPSEC_IPPROTO_TCP:
		need = TCP_MIN_HLEN;
		break;
	case XDPSEC_IPPROTO_UDP:
		need = sizeof(struct udphdr);
		break;
	case XDPSEC_IPPROTO_ICMPV6:
		if (!l3_at(ctx, pi, pi->l4_off, ICMPV6_HLEN))
			return XDPSEC_CNT_DROP_MALFORMED;
		return XDPSEC_CNT_OK;
	default:
		return XDPSEC_CNT_OK;
	}
	if (!l3_at(ctx, pi, pi->l4_off, need))
		return XDPSEC_CNT_DROP_MALFORMED;
	ports = l3_at(ctx, pi, pi->l4_off, sizeof(*ports));
	if (!ports)
		return XDPSEC_CNT_DROP_MALFORMED;
	pi->sport = bpf_ntohs(ports->sport);
	pi->dport = bpf_ntohs(ports->dport);
	pi->has_ports = 1;
	return XDPSEC_CNT_OK;
}

/*
 * Anti-replay pre-check (RFC 4303 section 3.4.3) against the top of the
 * window that the workers publish.  It only throws away what is certainly
 * stale; the worker does the exact check after authentication.  With ESN
 * the 32 bits on the wire are not enough to place the packet, so the
 * worker alone decides.
 */
static __always_inline enum xdpsec_counter
replay_precheck(const struct xdpsec_sa *sa, __u32 sa_idx, __u32 seq)
{
	const struct xdpsec_sa_state *st;
	__u64 top;

	if ((sa->flags & XDPSEC_SA_F_ESN) || sa->replay_window == 0)
		return XDPSEC_CNT_OK;
	if (seq == 0)
		return XDPSEC_CNT_DROP_REPLAY_XDP;
	st = bpf_map_lookup_elem(&sa_state, &sa_idx);
	if (!st)
		return XDPSEC_CNT_DROP_NO_SA;
	/* A worker may be updating it right now: read it once. */
	top = *(volatile const __u64 *)&st->seq;
	if ((__u64)seq + sa->replay_window <= top)
		return XDPSEC_CNT_DROP_REPLAY_XDP;
	return XDPSEC_CNT_OK;
}

/* Where SPI and sequence number sit in an ESP or AH header. */
struct ipsec_ids {
	__be32 spi;
	__be32 seq;
};

/*
 * Finds SPI and sequence number of the ESP header (RFC 4303) or AH header
 * (RFC 4302: after next header, length and reserved) at off.
 */
static __always_inline enum xdpsec_counter
ipsec_ids(struct xdp_md *ctx, const struct pkt_info *pi, __u32 off,
	  __u8 proto, struct ipsec_ids *ids)
{
	struct ipsec_ids *hdr;

	if (proto == XDPSEC_IPPROTO_AH)
		off += AH_IDS_OFF;
	hdr = l3_at(ctx, pi, off, sizeof(*hdr));
	if (!hdr)
		return XDPSEC_CNT_DROP_MALFORMED;
	*ids = *hdr;
	return XDPSEC_CNT_OK;
}

/*
 * Inbound ESP or AH at hdr_off; ESP raw or behind a UDP header (flags says
 * which).  The SA must exist, be active and inbound, and expect the
 * encapsulation the packet arrived with: accepting UDP-encapsulated ESP
 * for a raw SA, or the other way round, would let a peer bypass what was
 * negotiated.
 */
static __always_inline enum xdpsec_counter
ipsec_in(struct xdp_md *ctx, const struct pkt_info *pi, __u32 hdr_off,
	 __u8 proto, __u8 flags, struct xdpsec_meta *meta)
{
	struct xdpsec_spi_key key = {};
	const struct xdpsec_sa *sa;
	enum xdpsec_counter reason;
	struct ipsec_ids ids;
	__u32 *idx, sa_idx;
	int want_encap, has_encap;

	/* RFC 4303 3.4.1, RFC 4302 3.4.1: processed after reassembly. */
	if (pi->frag)
		return XDPSEC_CNT_DROP_FRAGMENT;
	reason = ipsec_ids(ctx, pi, hdr_off, proto, &ids);
	if (reason != XDPSEC_CNT_OK)
		return reason;
	key.spi = ids.spi;
	key.proto = proto;

	idx = bpf_map_lookup_elem(&spi_in, &key);
	if (!idx)
		return XDPSEC_CNT_DROP_NO_SA;
	sa_idx = *idx;
	sa = bpf_map_lookup_elem(&sad, &sa_idx);
	if (!sa)
		return XDPSEC_CNT_DROP_NO_SA;
	if (sa->state != XDPSEC_SA_ACTIVE || sa->dir != XDPSEC_DIR_IN)
		return XDPSEC_CNT_DROP_SA_DEAD;
	want_encap = (sa->flags & XDPSEC_SA_F_UDP_ENCAP) != 0;
	has_encap = (flags & XDPSEC_META_F_UDP_ENCAP) != 0;
	if (want_encap != has_encap)
		return XDPSEC_CNT_DROP_ENCAP_MISMATCH;
	reason = replay_precheck(sa, sa_idx, bpf_ntohl(ids.seq));
	if (reason != XDPSEC_CNT_OK)
		return reason;

	meta->kind = proto == XDPSEC_IPPROTO_AH ? XDPSEC_META_AH_IN :
						  XDPSEC_META_ESP_IN;
	meta->sa_idx = sa_idx;
	meta->family = pi->family;
	meta->l3_off = pi->l3_off;
	meta->l4_off = hdr_off;
	meta->flags = flags;
	return proto == XDPSEC_IPPROTO_AH ? XDPSEC_CNT_REDIRECT_AH :
					    XDPSEC_CNT_REDIRECT_ESP;
}

/*
 * UDP to the IKE ports (RFC 7296 section 2.23, RFC 3948).  Returns OK for
 * any other UDP, which then goes through the SPD like all plaintext.
 */
static __always_inline enum xdpsec_counter
udp_in(struct xdp_md *ctx, const struct pkt_info *pi, struct xdpsec_meta *meta)
{
	__u32 payload_off, payload_end, ulen;
	struct udphdr *udp;
	__u8 *keepalive;
	__u32 *marker;

	if (pi->nonfirst)
		return XDPSEC_CNT_OK;
	if (pi->dport == XDPSEC_PORT_IKE)
		return XDPSEC_CNT_PASS_IKE;
	if (pi->dport != XDPSEC_PORT_NATT)
		return XDPSEC_CNT_OK;

	udp = l3_at(ctx, pi, pi->l4_off, sizeof(*udp));
	if (!udp)
		return XDPSEC_CNT_DROP_MALFORMED;
	payload_off = pi->l4_off + sizeof(*udp);
	if (pi->frag) {
		/* The UDP length covers fragments not seen here. */
		payload_end = pi->l3_end;
	} else {
		ulen = bpf_ntohs(udp->len);
		if (ulen < sizeof(*udp) || pi->l4_off + ulen > pi->l3_end)
			return XDPSEC_CNT_DROP_MALFORMED;
		payload_end = pi->l4_off + ulen;
	}

	/*
	 * A keepalive only keeps a NAT mapping open (RFC 3948 2.3); it has
	 * done its work by arriving, so it is counted and absorbed here
	 * rather than handed to a kernel that might answer it.
	 */
	if (payload_end - payload_off == NATT_KEEPALIVE_LEN) {
		keepalive = l3_at(ctx, pi, payload_off, NATT_KEEPALIVE_LEN);
		if (keepalive && *keepalive == NATT_KEEPALIVE_BYTE)
			return XDPSEC_CNT_NATT_KEEPALIVE;
	}
	if (payload_end - payload_off >= NON_ESP_MARKER_LEN) {
		marker = l3_at(ctx, pi, payload_off, NON_ESP_MARKER_LEN);
		if (marker && *marker == 0)
			return XDPSEC_CNT_PASS_IKE;
	}
	if (payload_end - payload_off < sizeof(struct esp_hdr))
		return XDPSEC_CNT_DROP_MALFORMED;
	return ipsec_in(ctx, pi, payload_off, XDPSEC_IPPROTO_ESP,
			XDPSEC_META_F_UDP_ENCAP, meta);
}

/*
 * Neighbour discovery, router discovery and MLD must reach the kernel
 * whatever the SPD says.  They never leave the link, and without them the
 * link itself stops working, IKE and ESP included.
 */
static __always_inline int icmpv6_is_nd(struct xdp_md *ctx,
					const struct pkt_info *pi)
{
	__u8 *type;

	if (pi->family != XDPSEC_AF_INET6 ||
	    pi->proto != XDPSEC_IPPROTO_ICMPV6 || pi->nonfirst)
		return 0;
	type = l3_at(ctx, pi, pi->l4_off, ICMPV6_HLEN);
	if (!type)
		return 0;
	return (*type >= ICMPV6_MLD_QUERY && *type <= ICMPV6_ND_REDIRECT) ||
	       *type == ICMPV6_MLD2_REPORT;
}

/* Compares the first bits (0-32) of two words in network byte order. */
static __always_inline int word_match(__be32 a, __be32 b, int bits)
{
	__u32 mask;

	if (bits <= 0)
		return 1;
	if (bits >= IPV4_ADDR_BITS)
		return a == b;
	mask = ~0u << (IPV4_ADDR_BITS - bits);
	return ((a ^ b) & bpf_htonl(mask)) == 0;
}

static __always_inline int prefix_match(const struct xdpsec_addr *net,
					__u8 plen, const struct xdpsec_addr *a,
					__u8 family)
{
	const __u32 *nw = (const __u32 *)net->v6;
	const __u32 *aw = (const __u32 *)a->v6;
	int i;

	if (family == XDPSEC_AF_INET)
		return word_match(net->v4, a->v4, plen);
	for (i = 0; i < IPV6_ADDR_WORDS; i++) {
		if (!word_match(nw[i], aw[i], (int)plen - i * IPV4_ADDR_BITS))
			return 0;
	}
	return 1;
}

static __always_inline int ports_narrowed(const struct xdpsec_sel *sel)
{
	return sel->sport_lo != 0 || sel->sport_hi != PORT_ANY_HI ||
	       sel->dport_lo != 0 || sel->dport_hi != PORT_ANY_HI;
}

static __always_inline int sel_match(const struct xdpsec_sel *sel,
				     const struct pkt_info *pi)
{
	if (sel->family != pi->family)
		return 0;
	if (!prefix_match(&sel->src, sel->src_plen, &pi->src, pi->family))
		return 0;
	if (!prefix_match(&sel->dst, sel->dst_plen, &pi->dst, pi->family))
		return 0;
	if (sel->proto && sel->proto != pi->proto)
		return 0;
	if (!ports_narrowed(sel))
		return 1;
	/*
	 * A port selector cannot match what has no ports: other protocols,
	 * and later fragments whose ports are in the first one.
	 */
	if (!pi->has_ports)
		return 0;
	return pi->sport >= sel->sport_lo && pi->sport <= sel->sport_hi &&
	       pi->dport >= sel->dport_lo && pi->dport <= sel->dport_hi;
}

static __always_inline void acquire_note(__u32 id)
{
	__u32 key = id % XDPSEC_ACQUIRE_SLOTS;
	__u64 *n = bpf_map_lookup_elem(&acquire, &key);

	if (n)
		__sync_fetch_and_add(n, 1);
}

static __always_inline enum xdpsec_counter
policy_apply(const struct xdpsec_policy *pol, const struct pkt_info *pi,
	     struct xdpsec_meta *meta)
{
	const struct xdpsec_sa *sa;
	__u32 sa_idx;

	switch (pol->action) {
	case XDPSEC_ACT_BYPASS:
		return XDPSEC_CNT_PASS_BYPASS;
	case XDPSEC_ACT_PROTECT:
		break;
	case XDPSEC_ACT_TRAP:
		acquire_note(pol->id);
		return XDPSEC_CNT_DROP_TRAP;
	default:
		return XDPSEC_CNT_DROP_POLICY;
	}
	/*
	 * An inbound PROTECT policy says this traffic must arrive inside
	 * ESP; here it came in clear (RFC 4301 section 5.2).
	 */
	if (pol->dir != XDPSEC_DIR_OUT)
		return XDPSEC_CNT_DROP_CLEAR_PROTECTED;
	sa_idx = pol->sa_idx;
	sa = bpf_map_lookup_elem(&sad, &sa_idx);
	if (!sa || sa->state != XDPSEC_SA_ACTIVE || sa->dir != XDPSEC_DIR_OUT)
		return XDPSEC_CNT_DROP_SA_DEAD;

	meta->kind = XDPSEC_META_PROTECT;
	meta->sa_idx = sa_idx;
	meta->family = pi->family;
	meta->l3_off = pi->l3_off;
	if (pi->nonfirst || pi->proto == XDPSEC_IPPROTO_NONE ||
	    pi->l4_off >= pi->l3_end)
		meta->l4_off = 0;
	else
		meta->l4_off = pi->l4_off;
	meta->flags = 0;
	return XDPSEC_CNT_REDIRECT_PROTECT;
}

static __always_inline enum xdpsec_counter default_action(void)
{
	const struct xdpsec_config *cfg;
	__u32 zero = 0;

	cfg = bpf_map_lookup_elem(&config, &zero);
	if (cfg && cfg->default_action == XDPSEC_ACT_BYPASS)
		return XDPSEC_CNT_PASS_DEFAULT;
	return XDPSEC_CNT_DROP_DEFAULT;
}

/*
 * The SPD: the longest destination prefix gives a chain of candidate
 * policies in priority order, and the first whose whole selector matches
 * decides.  The destination is checked again because a chain also lists
 * the shorter prefixes that contain its own.
 */
static __always_inline enum xdpsec_counter spd_lookup(const struct pkt_info *pi,
						      struct xdpsec_meta *meta)
{
	const struct xdpsec_spd_chain *chain;
	const struct xdpsec_policy *pol;
	__u32 i, count, pidx;

	if (pi->family == XDPSEC_AF_INET) {
		struct xdpsec_spd4_key k4 = {
			.prefixlen = IPV4_ADDR_BITS,
			.addr = pi->dst.v4,
		};

		chain = bpf_map_lookup_elem(&spd4, &k4);
	} else {
		struct xdpsec_spd6_key k6 = {
			.prefixlen = IPV6_ADDR_BITS,
		};

		__builtin_memcpy(k6.addr, pi->dst.v6, sizeof(k6.addr));
		chain = bpf_map_lookup_elem(&spd6, &k6);
	}
	if (!chain)
		return default_action();

	count = chain->count;
	for (i = 0; i < XDPSEC_CHAIN_LEN; i++) {
		if (i >= count)
			break;
		pidx = chain->idx[i];
		pol = bpf_map_lookup_elem(&policies, &pidx);
		if (!pol)
			continue;
		if (sel_match(&pol->sel, pi))
			return policy_apply(pol, pi, meta);
	}
	return default_action();
}

static __always_inline enum xdpsec_counter classify(struct xdp_md *ctx,
						    struct xdpsec_meta *meta)
{
	struct pkt_info pi = {};
	enum xdpsec_counter reason;

	reason = parse_l2(ctx, &pi);
	if (reason != XDPSEC_CNT_OK)
		return reason;
	if (pi.family == XDPSEC_AF_INET)
		reason = parse_ipv4(ctx, &pi);
	else
		reason = parse_ipv6(ctx, &pi);
	if (reason != XDPSEC_CNT_OK)
		return reason;

	if (pi.proto == XDPSEC_IPPROTO_ESP || pi.proto == XDPSEC_IPPROTO_AH)
		return ipsec_in(ctx, &pi, pi.l4_off, pi.proto, 0, meta);

	reason = parse_l4(ctx, &pi);
	if (reason != XDPSEC_CNT_OK)
		return reason;
	if (pi.proto == XDPSEC_IPPROTO_UDP) {
		reason = udp_in(ctx, &pi, meta);
		if (reason != XDPSEC_CNT_OK)
			return reason;
	}
	if (icmpv6_is_nd(ctx, &pi))
		return XDPSEC_CNT_PASS_ND;
	return spd_lookup(&pi, meta);
}

/*
 * Finds the socket for this interface and queue.  A missing one is a drop,
 * never a pass: the frame is either ESP that nobody else may decrypt or
 * plaintext that must not leave unprotected.
 */
static __always_inline enum xdpsec_counter xsk_key(struct xdp_md *ctx,
						   __u32 *key)
{
	const struct xdpsec_iface *iface;
	__u32 ifindex = ctx->ingress_ifindex;
	__u32 queue = ctx->rx_queue_index;

	iface = bpf_map_lookup_elem(&ifaces, &ifindex);
	if (!iface)
		return XDPSEC_CNT_DROP_NO_WORKER;
	if (iface->slot >= XDPSEC_MAX_IFACES || queue >= XDPSEC_MAX_QUEUES)
		return XDPSEC_CNT_DROP_NO_WORKER;
	*key = iface->slot * XDPSEC_MAX_QUEUES + queue;
	if (!bpf_map_lookup_elem(&xsks, key))
		return XDPSEC_CNT_DROP_NO_WORKER;
	return XDPSEC_CNT_OK;
}

/* Puts the classification in front of the frame for the worker. */
static __always_inline enum xdpsec_counter
write_meta(struct xdp_md *ctx, const struct xdpsec_meta *src)
{
	struct xdpsec_meta *dst;
	void *data;

	if (bpf_xdp_adjust_meta(ctx, -(int)sizeof(*dst)))
		return XDPSEC_CNT_DROP_NO_WORKER;
	/*
	 * Moving data_meta invalidates every packet pointer the verifier
	 * knows of, so both are loaded again and checked.
	 */
	dst = (void *)(long)ctx->data_meta;
	data = (void *)(long)ctx->data;
	if ((void *)(dst + 1) > data)
		return XDPSEC_CNT_DROP_NO_WORKER;
	*dst = *src;
	dst->magic = XDPSEC_META_MAGIC;
	return XDPSEC_CNT_OK;
}

static __always_inline void count(enum xdpsec_counter reason)
{
	__u32 key = reason;
	__u64 *cnt;

	cnt = bpf_map_lookup_elem(&counters, &key);
	if (cnt)
		*cnt += 1;
}

/* The verdict of each reason; anything unexpected is dropped. */
static __always_inline int reason_verdict(enum xdpsec_counter reason)
{
	switch (reason) {
	case XDPSEC_CNT_PASS_NON_IP:
	case XDPSEC_CNT_PASS_IKE:
	case XDPSEC_CNT_PASS_ND:
	case XDPSEC_CNT_PASS_BYPASS:
	case XDPSEC_CNT_PASS_DEFAULT:
		return XDP_PASS;
	case XDPSEC_CNT_REDIRECT_ESP:
	case XDPSEC_CNT_REDIRECT_AH:
	case XDPSEC_CNT_REDIRECT_PROTECT:
		return XDP_REDIRECT;
	default:
		return XDP_DROP;
	}
}

SEC("xdp")
int xdpsec_xdp(struct xdp_md *ctx)
{
	struct xdpsec_meta meta = {};
	enum xdpsec_counter reason, err;
	__u32 key = 0;
	int verdict;

	reason = classify(ctx, &meta);
	verdict = reason_verdict(reason);
	if (verdict == XDP_REDIRECT) {
		err = xsk_key(ctx, &key);
		if (err == XDPSEC_CNT_OK)
			err = write_meta(ctx, &meta);
		if (err == XDPSEC_CNT_OK) {
			/*
			 * XDP_DROP, not XDP_PASS, if the socket went away
			 * since the lookup.
			 */
			verdict = bpf_redirect_map(&xsks, key, XDP_DROP);
			if (verdict != XDP_REDIRECT)
				err = XDPSEC_CNT_DROP_NO_WORKER;
		}
		if (err != XDPSEC_CNT_OK) {
			reason = err;
			verdict = XDP_DROP;
		}
	}
	count(reason);
	return verdict;
}
