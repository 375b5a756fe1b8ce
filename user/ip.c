// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>

#include "ip.h"
#include "iphdr.h"

static void ip_ports(const struct pkt *p, uint32_t l4, struct ip_fields *f)
{
	const uint8_t *h = p->data + l4;

	if (f->proto != XDPSEC_IPPROTO_TCP && f->proto != XDPSEC_IPPROTO_UDP)
		return;
	if (l4 + 4 > f->len)
		return;
	f->has_ports = true;
	f->sport = (uint16_t)(h[0] << 8 | h[1]);
	f->dport = (uint16_t)(h[2] << 8 | h[3]);
}

static int ip_parse4(const struct pkt *p, struct ip_fields *f)
{
	const struct iphdr *ip = (const struct iphdr *)p->data;
	uint32_t hlen = ip->ihl * 4;

	if (p->len < sizeof(*ip) || ip->ihl < 5)
		return -EINVAL;
	f->len = ntohs(ip->tot_len);
	if (f->len < hlen || f->len > p->len)
		return -EINVAL;
	f->family = XDPSEC_AF_INET;
	f->proto = ip->protocol;
	f->src = (const uint8_t *)&ip->saddr;
	f->dst = (const uint8_t *)&ip->daddr;
	if (!(ntohs(ip->frag_off) & IP_OFFMASK))
		ip_ports(p, hlen, f);
	return 0;
}

static int ip_parse6(const struct pkt *p, struct ip_fields *f)
{
	const struct ip6_hdr *ip6 = (const struct ip6_hdr *)p->data;
	uint32_t off = sizeof(*ip6);
	uint8_t nh;

	if (p->len < sizeof(*ip6))
		return -EINVAL;
	f->len = sizeof(*ip6) + ntohs(ip6->ip6_plen);
	if (f->len > p->len)
		return -EINVAL;
	f->family = XDPSEC_AF_INET6;
	f->src = ip6->ip6_src.s6_addr;
	f->dst = ip6->ip6_dst.s6_addr;
	nh = ip6->ip6_nxt;

	for (int i = 0; i < XDPSEC_IPV6_EXT_MAX; i++) {
		const uint8_t *ext = p->data + off;

		if (nh != IP6_EXT_HOP && nh != IP6_EXT_ROUTING &&
		    nh != IP6_EXT_FRAGMENT && nh != IP6_EXT_DSTOPTS)
			break;
		if (off + 8 > f->len)
			return -EINVAL;
		if (nh == IP6_EXT_FRAGMENT) {
			/* A later fragment has no upper-layer header. */
			if ((ext[2] << 8 | ext[3]) & 0xfff8) {
				f->proto = ext[0];
				return 0;
			}
			off += 8;
		} else {
			off += (ext[1] + 1) * 8;
		}
		nh = ext[0];
	}
	f->proto = nh;
	ip_ports(p, off, f);
	return 0;
}

int ip_parse(const struct pkt *p, struct ip_fields *f)
{
	memset(f, 0, sizeof(*f));
	if (!p->len)
		return -EINVAL;
	switch (p->data[0] >> 4) {
	case 4:
		return ip_parse4(p, f);
	case 6:
		return ip_parse6(p, f);
	default:
		return -EINVAL;
	}
}

bool ip_forward_ttl(struct pkt *p)
{
	if ((p->data[0] >> 4) == 6) {
		struct ip6_hdr *ip6 = (struct ip6_hdr *)p->data;

		if (ip6->ip6_hlim <= 1)
			return false;
		ip6->ip6_hlim--;
		return true;
	}

	struct iphdr *ip = (struct iphdr *)p->data;
	uint32_t sum;

	if (ip->ttl <= 1)
		return false;
	ip->ttl--;
	/* RFC 1624: the TTL is the high byte of its 16-bit word. */
	sum = (uint32_t)ntohs(ip->check) + 0x0100;
	sum = (sum & 0xffff) + (sum >> 16);
	ip->check = htons((uint16_t)sum);
	return true;
}
