// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "frag.h"

enum {
	IP4_HLEN = 20,
	IP4_HLEN_MAX = 60,
	IP4_MAX_LEN = 65535,
	IP4_RF = 0x8000,	/* reserved flag, carried as it came */
	IP4_DF = 0x4000,
	IP4_MF = 0x2000,
	IP4_OFFMASK = 0x1fff,
	OPT_EOL = 0,
	OPT_NOP = 1,
	OPT_COPIED = 0x80,
};

/* The packet being split, and the header of every piece but the first. */
struct frag_plan {
	const uint8_t *ip;
	uint32_t hlen;		/* the original header, for piece one */
	uint32_t plen;		/* payload bytes */
	uint32_t off;		/* the payload's offset in its datagram */
	uint16_t flags;		/* RF, DF, MF of the original */
	uint32_t limit;		/* bytes per piece, headers included */
	uint32_t hlen2;
	uint8_t hdr2[IP4_HLEN_MAX];
};

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* The IPv4 header checksum (RFC 1071), stored in place. */
static void ip4_set_csum(uint8_t *h, uint32_t hlen)
{
	uint32_t sum = 0;

	h[10] = h[11] = 0;
	for (uint32_t i = 0; i < hlen; i += 2)
		sum += get16(h + i);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	put16(h + 10, (uint16_t)~sum);
}

/*
 * Builds the header of later pieces: RFC 791 repeats only the options
 * whose type has the "copied" bit; the rest, and NOP fillers, go.
 */
static int frag_copied_opts(struct frag_plan *fp)
{
	const uint8_t *o = fp->ip;
	uint32_t i = IP4_HLEN;
	uint32_t n = IP4_HLEN;

	memcpy(fp->hdr2, fp->ip, IP4_HLEN);
	while (i < fp->hlen && o[i] != OPT_EOL) {
		uint32_t len;

		if (o[i] == OPT_NOP) {
			i++;
			continue;
		}
		if (i + 2 > fp->hlen)
			return -EINVAL;
		len = o[i + 1];
		if (len < 2 || i + len > fp->hlen)
			return -EINVAL;
		if (o[i] & OPT_COPIED) {
			memcpy(fp->hdr2 + n, o + i, len);
			n += len;
		}
		i += len;
	}
	while (n & 3)
		fp->hdr2[n++] = OPT_EOL;
	fp->hlen2 = n;
	return 0;
}

static int frag_parse(const struct pkt *p, struct frag_plan *fp)
{
	const uint8_t *ip = p->data;
	uint32_t tot;

	if (p->len < IP4_HLEN || ip[0] >> 4 != 4)
		return -EINVAL;
	fp->ip = ip;
	fp->hlen = (ip[0] & 0xf) * 4u;
	tot = get16(ip + 2);
	if (fp->hlen < IP4_HLEN || tot < fp->hlen || tot > p->len)
		return -EINVAL;
	fp->plen = tot - fp->hlen;
	fp->flags = get16(ip + 6) & ~IP4_OFFMASK;
	fp->off = (get16(ip + 6) & IP4_OFFMASK) * 8u;
	/* Such a fragment could only be reassembled past 64 KiB. */
	if (fp->off + fp->plen > IP4_MAX_LEN)
		return -EINVAL;
	return frag_copied_opts(fp);
}

/* Payload bytes of the piece starting at pos, behind hlen header bytes. */
static uint32_t frag_chunk(const struct frag_plan *fp, uint32_t pos,
			   uint32_t hlen)
{
	uint32_t room = fp->limit - hlen;
	uint32_t left = fp->plen - pos;

	/* Offsets count 8-byte units: every piece but the last is aligned. */
	return left <= room ? left : room & ~7u;
}

static unsigned int frag_count(const struct frag_plan *fp)
{
	unsigned int n = 0;

	for (uint32_t pos = 0; pos < fp->plen; n++)
		pos += frag_chunk(fp, pos, n ? fp->hlen2 : fp->hlen);
	return n;
}

/* Writes the piece starting at pos to buf; returns its payload length. */
static uint32_t frag_write(const struct frag_plan *fp, uint32_t pos,
			   bool first, uint8_t *buf, uint32_t *len)
{
	const uint8_t *hdr = first ? fp->ip : fp->hdr2;
	uint32_t hlen = first ? fp->hlen : fp->hlen2;
	uint32_t n = frag_chunk(fp, pos, hlen);
	uint32_t fo = (fp->off + pos) / 8 | (fp->flags & IP4_RF);

	/* The input's MF stays on its last piece: more may follow it. */
	if (pos + n < fp->plen || fp->flags & IP4_MF)
		fo |= IP4_MF;
	memcpy(buf, hdr, hlen);
	buf[0] = (uint8_t)(0x40 | hlen / 4);
	put16(buf + 2, hlen + n);
	put16(buf + 6, fo);
	ip4_set_csum(buf, hlen);
	memcpy(buf + hlen, fp->ip + fp->hlen + pos, n);
	*len = hlen + n;
	return n;
}

int frag_ipv4(const struct pkt *p, uint32_t mtu, uint8_t *const *bufs,
	      uint32_t cap, uint32_t *lens, unsigned int max)
{
	struct frag_plan fp;
	unsigned int n;
	uint32_t pos = 0;
	int err;

	err = frag_parse(p, &fp);
	if (err)
		return err;
	fp.limit = mtu < cap ? mtu : cap;
	if (fp.hlen + fp.plen <= fp.limit) {
		if (!max)
			return -E2BIG;
		memcpy(bufs[0], p->data, fp.hlen + fp.plen);
		lens[0] = fp.hlen + fp.plen;
		return 1;
	}
	if (fp.flags & IP4_DF)
		return -EMSGSIZE;
	if (fp.limit < fp.hlen + 8)
		return -EINVAL;

	n = frag_count(&fp);
	if (n > max)
		return -E2BIG;
	for (unsigned int i = 0; i < n; i++)
		pos += frag_write(&fp, pos, i == 0, bufs[i], &lens[i]);
	return (int)n;
}
