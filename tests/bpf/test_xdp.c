/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Runs the XDP program with BPF_PROG_RUN on crafted frames and checks, for
 * every frame, the verdict and which counter went up.  Frames that are
 * redirected also have their metadata checked.
 *
 * It runs in a network namespace of its own, so the only interface it
 * touches is that namespace's loopback, where an AF_XDP socket in copy mode
 * stands in for a worker.  It needs root.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/if_xdp.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/xsk.h>

#include "check.h"
#include "counters.h"
#include "skel.h"
#include "xdpsec_common.h"

/* Sizes of the frames and headers the tests build, and of the socket. */
enum {
	FRAME_MAX = 512,
	OUT_MAX = 4096,
	ETH_MIN_FRAME = 60,
	IPV4_HLEN = 20,
	IPV6_HLEN = 40,
	UDP_HLEN = 8,
	TCP_HLEN = 20,
	VLAN_HLEN = 4,
	IPV4_MF = 0x2000,
	LO_IFINDEX = 1,
	XSK_FRAMES = 64,
	XSK_RING = 64,
};

/* Protocol numbers and ICMP types that the contract header leaves out. */
enum {
	PROTO_ICMP = 1,
	PROTO_HOPOPTS = 0,
	PROTO_DSTOPTS = 60,
	PROTO_FRAGMENT = 44,
	ICMP_ECHO = 8,
	ICMPV6_ECHO = 128,
	ICMPV6_NS = 135,
	ICMPV6_MLD2_REPORT = 143,
	ETH_P_QINQ = 0x88a8,
};

/*
 * The test SAD.  SA_IN takes raw ESP with a 128-packet window whose top is
 * REPLAY_TOP; SA_IN_ENCAP takes ESP in UDP; SA_IN_ESN and SA_IN_NOWIN are
 * left out of the replay pre-check, by ESN and by a zero window.  SPI_OUT
 * puts an outbound SA into spi_in, as a broken daemon might, to show that
 * the direction is checked.
 */
enum {
	SA_IN = 1,
	SA_IN_ENCAP = 2,
	SA_OUT = 3,
	SA_DEAD = 4,
	SA_IN_ESN = 5,
	SA_OUT_DEAD = 6,
	SA_IN_NOWIN = 7,
	SA_IN6 = 8,
	SA_OUT6 = 9,
	SA_IN_AH = 10,
};

enum {
	SPI_IN = 0x1001,
	SPI_IN_ENCAP = 0x1002,
	SPI_OUT = 0x2001,
	SPI_DEAD = 0x1004,
	SPI_IN_ESN = 0x1005,
	SPI_IN_NOWIN = 0x1007,
	SPI_IN6 = 0x1008,
	SPI_IN_AH = 0x1010,
	SPI_UNKNOWN = 0xdead,
};

enum {
	REPLAY_TOP = 5000,
};

/*
 * Policy slots; populate() spells out each selector.  The gateway protects
 * 10.1/16 -> 10.2/16 (P_PROTECT), with exceptions of higher priority for a
 * more specific destination, a source prefix, ports and protocols.
 * P_MISSING is a slot that holds no policy.
 */
enum {
	P_PROTECT = 0,
	P_BYPASS = 1,
	P_SRC_DISCARD = 2,
	P_WEB = 3,
	P_PORT7000 = 4,
	P_IN_PROTECT = 5,
	P_DEAD_SA = 6,
	P6_PROTECT = 7,
	P6_BYPASS = 8,
	P_SPORT = 9,
	P_LOWPORTS = 10,
	P_MISSING = 4000,
};

/* The gateway under test and its IPsec peer. */
#define GW4 "192.0.2.1"
#define PEER4 "198.51.100.1"
#define GW6 "2001:db8:ff::1"
#define PEER6 "2001:db8:fe::1"

static struct xdpsec_bpf *skel;
static int prog_fd;
static int ncpus;

/*
 * A frame under construction.  finish() fixes up the length fields of the
 * IP header at l3_off and of the UDP header at udp_off, if there is one.
 */
struct frame {
	uint8_t buf[FRAME_MAX];
	size_t len;
	size_t l3_off;
	size_t udp_off;
	int family;
};

static void put(struct frame *f, const void *p, size_t n)
{
	if (f->len + n > sizeof(f->buf)) {
		fprintf(stderr, "frame too long\n");
		exit(2);
	}
	memcpy(f->buf + f->len, p, n);
	f->len += n;
}

static void put8(struct frame *f, uint8_t v)
{
	put(f, &v, 1);
}

static void put16(struct frame *f, uint16_t v)
{
	uint16_t be = htons(v);

	put(f, &be, sizeof(be));
}

static void put32(struct frame *f, uint32_t v)
{
	uint32_t be = htonl(v);

	put(f, &be, sizeof(be));
}

static void put_zero(struct frame *f, size_t n)
{
	while (n--)
		put8(f, 0);
}

static void put_addr(struct frame *f, int family, const char *text)
{
	uint8_t a[16];

	if (inet_pton(family, text, a) != 1) {
		fprintf(stderr, "bad address %s\n", text);
		exit(2);
	}
	put(f, a, family == AF_INET ? 4 : 16);
}

static void eth(struct frame *f, uint16_t type)
{
	static const uint8_t dst[ETH_ALEN] = { 0x02, 0, 0, 0, 0, 0x01 };
	static const uint8_t src[ETH_ALEN] = { 0x02, 0, 0, 0, 0, 0x02 };

	memset(f, 0, sizeof(*f));
	put(f, dst, sizeof(dst));
	put(f, src, sizeof(src));
	put16(f, type);
}

/* Ethernet with one tag (tpid 0x8100 or 0x88a8) in front of type. */
static void eth_vlan(struct frame *f, uint16_t tpid, uint16_t vid,
		     uint16_t type)
{
	eth(f, tpid);
	put16(f, vid);
	put16(f, type);
}

static void ipv4(struct frame *f, const char *src, const char *dst,
		 uint8_t proto, uint16_t frag)
{
	f->l3_off = f->len;
	f->family = AF_INET;
	put8(f, 0x45);
	put8(f, 0);
	put16(f, 0);
	put16(f, 0x1234);
	put16(f, frag);
	put8(f, 64);
	put8(f, proto);
	put16(f, 0);
	put_addr(f, AF_INET, src);
	put_addr(f, AF_INET, dst);
}

static void ipv6(struct frame *f, const char *src, const char *dst,
		 uint8_t nexthdr)
{
	f->l3_off = f->len;
	f->family = AF_INET6;
	put32(f, 6u << 28);
	put16(f, 0);
	put8(f, nexthdr);
	put8(f, 64);
	put_addr(f, AF_INET6, src);
	put_addr(f, AF_INET6, dst);
}

/* An 8-byte hop-by-hop or destination options header holding a PadN. */
static void ipv6_opts(struct frame *f, uint8_t nexthdr)
{
	put8(f, nexthdr);
	put8(f, 0);
	put8(f, 1);
	put8(f, 4);
	put32(f, 0);
}

static void ipv6_frag(struct frame *f, uint8_t nexthdr, uint16_t offset8,
		      bool more)
{
	put8(f, nexthdr);
	put8(f, 0);
	put16(f, (uint16_t)(offset8 << 3) | (more ? 1 : 0));
	put32(f, 0xabcd);
}

static void udp(struct frame *f, uint16_t sport, uint16_t dport)
{
	f->udp_off = f->len;
	put16(f, sport);
	put16(f, dport);
	put16(f, 0);
	put16(f, 0);
}

/* A SYN with a 20-byte header and no options. */
static void tcp(struct frame *f, uint16_t sport, uint16_t dport)
{
	put16(f, sport);
	put16(f, dport);
	put32(f, 1);
	put32(f, 0);
	put8(f, 5 << 4);
	put8(f, 0x02);
	put16(f, 65535);
	put32(f, 0);
}

static void icmp4(struct frame *f, uint8_t type)
{
	put8(f, type);
	put8(f, 0);
	put16(f, 0);
	put32(f, 0x00010001);
}

/* An ICMPv6 header with room for an ND target or an MLD record. */
static void icmpv6(struct frame *f, uint8_t type)
{
	put8(f, type);
	put8(f, 0);
	put16(f, 0);
	put32(f, 0);
	put_zero(f, 16);
}

/* An ESP header followed by stand-ins for IV, ciphertext and ICV. */
static void esp(struct frame *f, uint32_t spi, uint32_t seq)
{
	put32(f, spi);
	put32(f, seq);
	put_zero(f, 32);
}

static uint16_t csum(const uint8_t *p, size_t n)
{
	uint32_t sum = 0;
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void set16(struct frame *f, size_t off, uint16_t v)
{
	f->buf[off] = v >> 8;
	f->buf[off + 1] = v & 0xff;
}

/*
 * Fills in the IP and UDP lengths and the IPv4 checksum, then pads the
 * frame to the Ethernet minimum as a NIC would deliver it.
 */
static void finish(struct frame *f)
{
	size_t l3 = f->l3_off;

	if (f->udp_off)
		set16(f, f->udp_off + 4, (uint16_t)(f->len - f->udp_off));
	if (f->family == AF_INET) {
		set16(f, l3 + 2, (uint16_t)(f->len - l3));
		set16(f, l3 + 10, 0);
		set16(f, l3 + 10, csum(f->buf + l3, IPV4_HLEN));
	} else if (f->family == AF_INET6) {
		set16(f, l3 + 4, (uint16_t)(f->len - l3 - IPV6_HLEN));
	}
	if (f->len < ETH_MIN_FRAME)
		put_zero(f, ETH_MIN_FRAME - f->len);
}

/* The outcome of one BPF_PROG_RUN: err is 0 or its errno. */
struct run {
	int err;
	uint32_t retval;
	uint8_t out[OUT_MAX];
	uint32_t out_len;
	struct xdp_md ctx;
};

static const char *verdict_name(uint32_t v)
{
	switch (v) {
	case XDP_ABORTED:
		return "XDP_ABORTED";
	case XDP_DROP:
		return "XDP_DROP";
	case XDP_PASS:
		return "XDP_PASS";
	case XDP_TX:
		return "XDP_TX";
	case XDP_REDIRECT:
		return "XDP_REDIRECT";
	default:
		return "?";
	}
}

/* Each counter summed over all CPUs. */
static void counters_read(uint64_t sum[XDPSEC_CNT_MAX])
{
	uint64_t *vals = calloc(ncpus, sizeof(*vals));
	uint32_t k;
	int c;

	if (!vals)
		exit(2);
	for (k = 0; k < XDPSEC_CNT_MAX; k++) {
		sum[k] = 0;
		if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.counters), &k,
					vals))
			continue;
		for (c = 0; c < ncpus; c++)
			sum[k] += vals[c];
	}
	free(vals);
}

/*
 * Runs the program once on lo, queue 0, on len bytes of input.  The first
 * linear bytes are what the program sees between ctx->data and
 * ctx->data_end: normally all of them (see test_l2_and_malformed() for
 * the exception).
 */
static void run_raw(const void *in, size_t len, size_t linear, struct run *r)
{
	struct xdp_md ctx_in = {
		.data = 0,
		.data_end = (uint32_t)linear,
		.ingress_ifindex = LO_IFINDEX,
		.rx_queue_index = 0,
	};
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in,
		    .data_size_in = (uint32_t)len, .data_out = r->out,
		    .data_size_out = sizeof(r->out), .ctx_in = &ctx_in,
		    .ctx_size_in = sizeof(ctx_in), .ctx_out = &r->ctx,
		    .ctx_size_out = sizeof(r->ctx), .repeat = 1);

	memset(&r->ctx, 0, sizeof(r->ctx));
	r->err = bpf_prog_test_run_opts(prog_fd, &opts) ? errno : 0;
	r->retval = opts.retval;
	r->out_len = opts.data_size_out;
}

/*
 * Runs a frame and checks its verdict and that exactly one counter, the
 * expected one, went up by exactly one.
 */
static void expect_raw(const char *name, const void *in, size_t len,
		       size_t linear, uint32_t verdict,
		       enum xdpsec_counter reason, struct run *r)
{
	uint64_t before[XDPSEC_CNT_MAX], after[XDPSEC_CNT_MAX];
	int other = -1;
	uint32_t k;

	counters_read(before);
	run_raw(in, len, linear, r);
	counters_read(after);

	CHECK(r->err == 0, "%s: BPF_PROG_RUN: %s", name, strerror(r->err));
	if (r->err)
		return;
	CHECK(r->retval == verdict, "%s: verdict %s, expected %s", name,
	      verdict_name(r->retval), verdict_name(verdict));
	CHECK(after[reason] - before[reason] == 1,
	      "%s: counter %s went up by %llu, expected 1", name,
	      counter_name(reason),
	      (unsigned long long)(after[reason] - before[reason]));
	for (k = 0; k < XDPSEC_CNT_MAX; k++) {
		if (k != reason && after[k] != before[k] && other < 0)
			other = (int)k;
	}
	CHECK(other < 0, "%s: counter %s changed, expected only %s", name,
	      other < 0 ? "-" : counter_name((unsigned int)other),
	      counter_name(reason));
}

static void expect(const char *name, const struct frame *f, uint32_t verdict,
		   enum xdpsec_counter reason)
{
	static struct run r;

	expect_raw(name, f->buf, f->len, f->len, verdict, reason, &r);
}

struct meta_want {
	uint8_t kind;
	uint32_t sa_idx;
	uint8_t family;
	uint16_t l3_off;
	uint16_t l4_off;
	uint8_t flags;
};

/*
 * Does BPF_PROG_RUN show the metadata?  On this kernel (6.18) it does:
 * data_out holds everything from data_meta to data_end, and ctx_out.data
 * is the length of the metadata in front of the frame, as
 * xdp_convert_buff_to_md() in net/bpf/test_run.c computes it.  So every
 * field the worker would read is checked here, and so is the frame behind
 * it, which must be untouched.  The length checks come first and fail
 * loudly should a kernel ever stop copying the metadata out.
 */
static void expect_redirect(const char *name, const struct frame *f,
			    enum xdpsec_counter reason,
			    const struct meta_want *w)
{
	static struct run r;
	struct xdpsec_meta m;

	expect_raw(name, f->buf, f->len, f->len, XDP_REDIRECT, reason, &r);
	if (r.err || r.retval != XDP_REDIRECT)
		return;
	CHECK(r.ctx.data == sizeof(m), "%s: metadata is %u bytes, expected %zu",
	      name, r.ctx.data, sizeof(m));
	CHECK(r.ctx.data_end - r.ctx.data == f->len &&
		      r.out_len == sizeof(m) + f->len,
	      "%s: output is %u bytes (frame %u), expected %zu + %zu", name,
	      r.out_len, r.ctx.data_end - r.ctx.data, sizeof(m), f->len);
	if (r.ctx.data != sizeof(m) || r.out_len != sizeof(m) + f->len)
		return;
	memcpy(&m, r.out, sizeof(m));
	CHECK(m.magic == XDPSEC_META_MAGIC, "%s: magic %#x", name, m.magic);
	CHECK(m.kind == w->kind, "%s: kind %u, expected %u", name, m.kind,
	      w->kind);
	CHECK(m.sa_idx == w->sa_idx, "%s: sa_idx %u, expected %u", name,
	      m.sa_idx, w->sa_idx);
	CHECK(m.family == w->family, "%s: family %u, expected %u", name,
	      m.family, w->family);
	CHECK(m.l3_off == w->l3_off, "%s: l3_off %u, expected %u", name,
	      m.l3_off, w->l3_off);
	CHECK(m.l4_off == w->l4_off, "%s: l4_off %u, expected %u", name,
	      m.l4_off, w->l4_off);
	CHECK(m.flags == w->flags, "%s: flags %#x, expected %#x", name,
	      m.flags, w->flags);
	CHECK(m.pad == 0, "%s: pad %u", name, m.pad);
	CHECK(memcmp(r.out + sizeof(m), f->buf, f->len) == 0,
	      "%s: frame changed", name);
}

static int map_fd(struct bpf_map *map)
{
	return bpf_map__fd(map);
}

static void update(struct bpf_map *map, const void *key, const void *val)
{
	int err = bpf_map_update_elem(map_fd(map), key, val, BPF_ANY);

	if (err) {
		fprintf(stderr, "update %s: %s\n", bpf_map__name(map),
			strerror(errno));
		exit(2);
	}
}

static void set_default(uint8_t action)
{
	struct xdpsec_config cfg = { .default_action = action };
	uint32_t zero = 0;

	update(skel->maps.config, &zero, &cfg);
}

static void parse_addr(const char *text, struct xdpsec_addr *a, int *family)
{
	int fam = strchr(text, ':') ? AF_INET6 : AF_INET;

	memset(a, 0, sizeof(*a));
	if (inet_pton(fam, text, a) != 1) {
		fprintf(stderr, "bad address %s\n", text);
		exit(2);
	}
	if (family)
		*family = fam;
}

static void sa_add(uint32_t idx, uint32_t spi, uint8_t state, uint8_t dir,
		   uint8_t family, uint16_t flags, uint32_t window)
{
	struct xdpsec_sa sa = {
		.spi = spi,
		.state = state,
		.dir = dir,
		.mode = XDPSEC_MODE_TUNNEL,
		.proto = XDPSEC_IPPROTO_ESP,
		.alg = XDPSEC_ALG_AES_GCM_128,
		.family = family,
		.flags = flags,
		.replay_window = window,
	};
	struct xdpsec_spi_key key = {
		.spi = htonl(spi),
		.proto = XDPSEC_IPPROTO_ESP,
	};

	update(skel->maps.sad, &idx, &sa);
	update(skel->maps.spi_in, &key, &idx);
}

/* An inbound AH SA: the same SPI space, keyed by protocol 51. */
static void sa_add_ah(uint32_t idx, uint32_t spi)
{
	struct xdpsec_sa sa = {
		.spi = spi,
		.state = XDPSEC_SA_ACTIVE,
		.dir = XDPSEC_DIR_IN,
		.mode = XDPSEC_MODE_TRANSPORT,
		.proto = XDPSEC_IPPROTO_AH,
		.integ = XDPSEC_INTEG_HMAC_SHA256_128,
		.family = XDPSEC_AF_INET,
		.replay_window = XDPSEC_REPLAY_DEFAULT,
	};
	struct xdpsec_spi_key key = {
		.spi = htonl(spi),
		.proto = XDPSEC_IPPROTO_AH,
	};

	update(skel->maps.sad, &idx, &sa);
	update(skel->maps.spi_in, &key, &idx);
}

static void sa_set_top(uint32_t idx, uint64_t seq)
{
	struct xdpsec_sa_state st = { .seq = seq };

	update(skel->maps.sa_state, &idx, &st);
}

/* A policy as the tests write it; a port range of 0-0 means any port. */
struct pol_spec {
	uint32_t slot;
	const char *src;
	uint8_t src_plen;
	const char *dst;
	uint8_t dst_plen;
	uint8_t proto;
	uint16_t sport_lo, sport_hi;
	uint16_t dport_lo, dport_hi;
	uint8_t action;
	uint8_t dir;
	uint32_t sa_idx;
	uint16_t priority;
};

static void policy_add(const struct pol_spec *s)
{
	struct xdpsec_policy p = {
		.id = s->slot + 100,
		.sa_idx = s->sa_idx,
		.priority = s->priority,
		.action = s->action,
		.dir = s->dir,
	};
	int family;

	parse_addr(s->src, &p.sel.src, &family);
	parse_addr(s->dst, &p.sel.dst, NULL);
	p.sel.family = family == AF_INET ? XDPSEC_AF_INET : XDPSEC_AF_INET6;
	p.sel.src_plen = s->src_plen;
	p.sel.dst_plen = s->dst_plen;
	p.sel.proto = s->proto;
	p.sel.sport_lo = s->sport_lo;
	p.sel.sport_hi = s->sport_lo || s->sport_hi ? s->sport_hi : 65535;
	p.sel.dport_lo = s->dport_lo;
	p.sel.dport_hi = s->dport_lo || s->dport_hi ? s->dport_hi : 65535;
	update(skel->maps.policies, &s->slot, &p);
}

/* Writes the chain of a destination prefix into spd4 or spd6. */
static void chain_add(const char *prefix, uint32_t plen, uint32_t count,
		      const uint32_t *idx, unsigned int n)
{
	struct xdpsec_spd_chain chain = { .count = count };
	struct xdpsec_addr a;
	unsigned int i;
	int family;

	for (i = 0; i < n && i < XDPSEC_CHAIN_LEN; i++)
		chain.idx[i] = idx[i];
	parse_addr(prefix, &a, &family);
	if (family == AF_INET) {
		struct xdpsec_spd4_key k = { .prefixlen = plen, .addr = a.v4 };

		update(skel->maps.spd4, &k, &chain);
	} else {
		struct xdpsec_spd6_key k = { .prefixlen = plen };

		memcpy(k.addr, a.v6, sizeof(k.addr));
		update(skel->maps.spd6, &k, &chain);
	}
}

#define CHAIN(prefix, plen, ...)					\
	do {								\
		static const uint32_t ids_[] = { __VA_ARGS__ };		\
		chain_add(prefix, plen, sizeof(ids_) / sizeof(ids_[0]),	\
			  ids_, sizeof(ids_) / sizeof(ids_[0]));	\
	} while (0)

static void populate(void)
{
	uint32_t ifindex = LO_IFINDEX;
	struct xdpsec_iface iface = { .slot = 0 };
	uint32_t many[XDPSEC_CHAIN_LEN];
	unsigned int i;

	set_default(XDPSEC_ACT_DISCARD);
	update(skel->maps.ifaces, &ifindex, &iface);

	sa_add(SA_IN, SPI_IN, XDPSEC_SA_ACTIVE, XDPSEC_DIR_IN, XDPSEC_AF_INET,
	       0, XDPSEC_REPLAY_DEFAULT);
	sa_set_top(SA_IN, REPLAY_TOP);
	sa_add(SA_IN_ENCAP, SPI_IN_ENCAP, XDPSEC_SA_ACTIVE, XDPSEC_DIR_IN,
	       XDPSEC_AF_INET, XDPSEC_SA_F_UDP_ENCAP, XDPSEC_REPLAY_DEFAULT);
	sa_add(SA_OUT, SPI_OUT, XDPSEC_SA_ACTIVE, XDPSEC_DIR_OUT,
	       XDPSEC_AF_INET, 0, 0);
	sa_add(SA_DEAD, SPI_DEAD, XDPSEC_SA_DEAD, XDPSEC_DIR_IN,
	       XDPSEC_AF_INET, 0, XDPSEC_REPLAY_DEFAULT);
	sa_add(SA_IN_ESN, SPI_IN_ESN, XDPSEC_SA_ACTIVE, XDPSEC_DIR_IN,
	       XDPSEC_AF_INET, XDPSEC_SA_F_ESN, XDPSEC_REPLAY_DEFAULT);
	sa_set_top(SA_IN_ESN, REPLAY_TOP);
	sa_add(SA_OUT_DEAD, 0x2006, XDPSEC_SA_DEAD, XDPSEC_DIR_OUT,
	       XDPSEC_AF_INET, 0, 0);
	sa_add(SA_IN_NOWIN, SPI_IN_NOWIN, XDPSEC_SA_ACTIVE, XDPSEC_DIR_IN,
	       XDPSEC_AF_INET, 0, 0);
	sa_set_top(SA_IN_NOWIN, REPLAY_TOP);
	sa_add_ah(SA_IN_AH, SPI_IN_AH);
	sa_set_top(SA_IN_AH, REPLAY_TOP);
	sa_add(SA_IN6, SPI_IN6, XDPSEC_SA_ACTIVE, XDPSEC_DIR_IN,
	       XDPSEC_AF_INET6, 0, XDPSEC_REPLAY_DEFAULT);
	sa_add(SA_OUT6, 0x2009, XDPSEC_SA_ACTIVE, XDPSEC_DIR_OUT,
	       XDPSEC_AF_INET6, 0, 0);

	policy_add(&(struct pol_spec){ .slot = P_PROTECT, .src = "10.1.0.0",
		.src_plen = 16, .dst = "10.2.0.0", .dst_plen = 16,
		.action = XDPSEC_ACT_PROTECT, .dir = XDPSEC_DIR_OUT,
		.sa_idx = SA_OUT, .priority = 100 });
	policy_add(&(struct pol_spec){ .slot = P_BYPASS, .src = "10.1.0.0",
		.src_plen = 16, .dst = "10.2.5.0", .dst_plen = 24,
		.action = XDPSEC_ACT_BYPASS, .priority = 50 });
	policy_add(&(struct pol_spec){ .slot = P_SRC_DISCARD,
		.src = "10.1.9.0", .src_plen = 24, .dst = "10.2.0.0",
		.dst_plen = 16, .action = XDPSEC_ACT_DISCARD,
		.priority = 60 });
	policy_add(&(struct pol_spec){ .slot = P_WEB, .src = "0.0.0.0",
		.dst = "10.2.7.0", .dst_plen = 24,
		.proto = XDPSEC_IPPROTO_TCP, .dport_lo = 80, .dport_hi = 89,
		.action = XDPSEC_ACT_BYPASS, .priority = 40 });
	policy_add(&(struct pol_spec){ .slot = P_SPORT, .src = "0.0.0.0",
		.dst = "10.2.7.0", .dst_plen = 24,
		.proto = XDPSEC_IPPROTO_UDP, .sport_lo = 5353,
		.sport_hi = 5353, .action = XDPSEC_ACT_BYPASS,
		.priority = 42 });
	policy_add(&(struct pol_spec){ .slot = P_PORT7000, .src = "0.0.0.0",
		.dst = "10.2.7.0", .dst_plen = 24, .dport_lo = 7000,
		.dport_hi = 7000, .action = XDPSEC_ACT_DISCARD,
		.priority = 45 });
	policy_add(&(struct pol_spec){ .slot = P_LOWPORTS, .src = "0.0.0.0",
		.dst = "10.2.8.0", .dst_plen = 24, .dport_lo = 0,
		.dport_hi = 1023, .action = XDPSEC_ACT_BYPASS,
		.priority = 30 });
	policy_add(&(struct pol_spec){ .slot = P_IN_PROTECT,
		.src = "10.2.0.0", .src_plen = 16, .dst = "10.1.0.0",
		.dst_plen = 16, .action = XDPSEC_ACT_PROTECT,
		.dir = XDPSEC_DIR_IN, .sa_idx = SA_IN, .priority = 100 });
	policy_add(&(struct pol_spec){ .slot = P_DEAD_SA, .src = "10.1.0.0",
		.src_plen = 16, .dst = "10.3.0.0", .dst_plen = 16,
		.action = XDPSEC_ACT_PROTECT, .dir = XDPSEC_DIR_OUT,
		.sa_idx = SA_OUT_DEAD, .priority = 100 });
	policy_add(&(struct pol_spec){ .slot = P6_PROTECT,
		.src = "2001:db8:1::", .src_plen = 48, .dst = "2001:db8:2::",
		.dst_plen = 48, .action = XDPSEC_ACT_PROTECT,
		.dir = XDPSEC_DIR_OUT, .sa_idx = SA_OUT6, .priority = 100 });
	policy_add(&(struct pol_spec){ .slot = P6_BYPASS,
		.src = "2001:db8:1::", .src_plen = 48,
		.dst = "2001:db8:2:5::", .dst_plen = 64,
		.action = XDPSEC_ACT_BYPASS, .priority = 50 });

	/*
	 * Each chain lists, in priority order, every policy whose
	 * destination contains the chain's prefix, as the daemon builds
	 * them.  10.3/16 starts with a slot that holds no policy.
	 */
	CHAIN("10.2.0.0", 16, P_SRC_DISCARD, P_PROTECT);
	CHAIN("10.2.5.0", 24, P_BYPASS, P_SRC_DISCARD, P_PROTECT);
	CHAIN("10.2.7.0", 24, P_WEB, P_SPORT, P_PORT7000, P_SRC_DISCARD,
	      P_PROTECT);
	CHAIN("10.2.8.0", 24, P_LOWPORTS, P_SRC_DISCARD, P_PROTECT);
	CHAIN("10.1.0.0", 16, P_IN_PROTECT);
	CHAIN("10.3.0.0", 16, P_MISSING, P_DEAD_SA);
	CHAIN("2001:db8:2::", 48, P6_PROTECT);
	CHAIN("2001:db8:2:5::", 64, P6_BYPASS, P6_PROTECT);

	/*
	 * A chain whose count claims more entries than a chain holds: only
	 * XDPSEC_CHAIN_LEN are walked, none of which matches IPv4.
	 */
	for (i = 0; i < XDPSEC_CHAIN_LEN; i++)
		many[i] = P6_PROTECT;
	chain_add("10.4.0.0", 16, 1000, many, XDPSEC_CHAIN_LEN);
}

static int netns_setup(void)
{
	struct ifreq ifr;
	int fd, err = 0;

	if (unshare(CLONE_NEWNET)) {
		perror("unshare(CLONE_NEWNET)");
		return -1;
	}
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		perror("socket");
		return -1;
	}
	memset(&ifr, 0, sizeof(ifr));
	strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0) {
		perror("SIOCGIFFLAGS lo");
		err = -1;
	} else {
		ifr.ifr_flags |= IFF_UP;
		if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0) {
			perror("SIOCSIFFLAGS lo");
			err = -1;
		}
	}
	close(fd);
	if (!err && if_nametoindex("lo") != LO_IFINDEX) {
		fprintf(stderr, "lo is not ifindex %d\n", LO_IFINDEX);
		err = -1;
	}
	return err;
}

struct xsk_env {
	void *area;
	size_t size;
	struct xsk_umem *umem;
	struct xsk_socket *xsk;
	struct xsk_ring_prod fill, tx;
	struct xsk_ring_cons comp, rx;
};

/*
 * A copy-mode AF_XDP socket on lo queue 0.  libxdp is told not to load a
 * program of its own: the program under test is the only one, and it is
 * never attached, only run.
 */
static int xsk_open(struct xsk_env *x)
{
	struct xsk_umem_config ucfg = {
		.fill_size = XSK_RING,
		.comp_size = XSK_RING,
		.frame_size = XSK_UMEM__DEFAULT_FRAME_SIZE,
		.frame_headroom = 0,
	};
	struct xsk_socket_config scfg = {
		.rx_size = XSK_RING,
		.tx_size = XSK_RING,
		.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD,
		.bind_flags = XDP_COPY,
	};
	int err;

	x->size = (size_t)XSK_FRAMES * XSK_UMEM__DEFAULT_FRAME_SIZE;
	x->area = mmap(NULL, x->size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (x->area == MAP_FAILED) {
		x->area = NULL;
		return -errno;
	}
	err = xsk_umem__create(&x->umem, x->area, x->size, &x->fill, &x->comp,
			       &ucfg);
	if (err)
		return err;
	err = xsk_socket__create(&x->xsk, "lo", 0, x->umem, &x->rx, &x->tx,
				 &scfg);
	if (err)
		return err;
	return xsk_socket__fd(x->xsk);
}

static void xsk_close(struct xsk_env *x)
{
	if (x->xsk)
		xsk_socket__delete(x->xsk);
	if (x->umem)
		xsk_umem__delete(x->umem);
	if (x->area)
		munmap(x->area, x->size);
}

/* An ESP packet from the peer to the gateway. */
static void esp4(struct frame *f, uint32_t spi, uint32_t seq)
{
	eth(f, ETH_P_IP);
	ipv4(f, PEER4, GW4, XDPSEC_IPPROTO_ESP, 0);
	esp(f, spi, seq);
	finish(f);
}

/* ESP in UDP from the NAT-T port of the peer to that of the gateway. */
static void espudp4(struct frame *f, uint32_t spi, uint32_t seq)
{
	eth(f, ETH_P_IP);
	ipv4(f, PEER4, GW4, XDPSEC_IPPROTO_UDP, 0);
	udp(f, XDPSEC_PORT_NATT, XDPSEC_PORT_NATT);
	esp(f, spi, seq);
	finish(f);
}

/* AH (RFC 4302): next header, length, reserved, SPI, sequence, ICV. */
static void ah4(struct frame *f, uint32_t spi, uint32_t seq)
{
	eth(f, ETH_P_IP);
	ipv4(f, PEER4, GW4, XDPSEC_IPPROTO_AH, 0);
	put8(f, XDPSEC_IPPROTO_TCP);
	put8(f, 5);
	put16(f, 0);
	put32(f, spi);
	put32(f, seq);
	put_zero(f, 16);
	tcp(f, 40000, 80);
	finish(f);
}

static void test_ah(void)
{
	const uint16_t l3 = ETH_HLEN, l4 = ETH_HLEN + IPV4_HLEN;
	struct frame f;

	ah4(&f, SPI_IN_AH, REPLAY_TOP + 1);
	expect_redirect("ah v4 known spi", &f, XDPSEC_CNT_REDIRECT_AH,
			&(struct meta_want){ XDPSEC_META_AH_IN, SA_IN_AH,
					     XDPSEC_AF_INET, l3, l4, 0 });
	ah4(&f, SPI_UNKNOWN, 1);
	expect("ah unknown spi", &f, XDP_DROP, XDPSEC_CNT_DROP_NO_SA);
	/* SPIs are per protocol: an ESP SPI does not open an AH door. */
	ah4(&f, SPI_IN, REPLAY_TOP + 1);
	expect("ah with an esp sa's spi", &f, XDP_DROP, XDPSEC_CNT_DROP_NO_SA);
	esp4(&f, SPI_IN_AH, REPLAY_TOP + 1);
	expect("esp with an ah sa's spi", &f, XDP_DROP,
	       XDPSEC_CNT_DROP_NO_SA);
	ah4(&f, SPI_IN_AH, REPLAY_TOP - XDPSEC_REPLAY_DEFAULT);
	expect("ah seq left of window", &f, XDP_DROP,
	       XDPSEC_CNT_DROP_REPLAY_XDP);

	eth(&f, ETH_P_IP);
	ipv4(&f, PEER4, GW4, XDPSEC_IPPROTO_AH, 0);
	put8(&f, XDPSEC_IPPROTO_TCP);
	put8(&f, 5);
	put16(&f, 0);
	put32(&f, SPI_IN_AH);
	finish(&f);
	expect("ah truncated before the sequence number", &f, XDP_DROP,
	       XDPSEC_CNT_DROP_MALFORMED);
}

static void tcp4(struct frame *f, const char *src, const char *dst,
		 uint16_t dport)
{
	eth(f, ETH_P_IP);
	ipv4(f, src, dst, XDPSEC_IPPROTO_TCP, 0);
	tcp(f, 40000, dport);
	finish(f);
}

static void udp4(struct frame *f, const char *src, const char *dst,
		 uint16_t sport, uint16_t dport)
{
	eth(f, ETH_P_IP);
	ipv4(f, src, dst, XDPSEC_IPPROTO_UDP, 0);
	udp(f, sport, dport);
	put32(f, 0x11223344);
	finish(f);
}

static void test_esp(void)
{
	const uint16_t l3 = ETH_HLEN, l4 = ETH_HLEN + IPV4_HLEN;
	struct frame f;

	esp4(&f, SPI_IN, REPLAY_TOP + 1);
	expect_redirect("esp v4 known spi", &f, XDPSEC_CNT_REDIRECT_ESP,
			&(struct meta_want){ XDPSEC_META_ESP_IN, SA_IN,
					     XDPSEC_AF_INET, l3, l4, 0 });

	eth(&f, ETH_P_IPV6);
	ipv6(&f, PEER6, GW6, XDPSEC_IPPROTO_ESP);
	esp(&f, SPI_IN6, 1);
	finish(&f);
	expect_redirect("esp v6 known spi", &f, XDPSEC_CNT_REDIRECT_ESP,
			&(struct meta_want){ XDPSEC_META_ESP_IN, SA_IN6,
					     XDPSEC_AF_INET6, l3,
					     ETH_HLEN + IPV6_HLEN, 0 });

	esp4(&f, SPI_UNKNOWN, 1);
	expect("esp unknown spi", &f, XDP_DROP, XDPSEC_CNT_DROP_NO_SA);
	esp4(&f, SPI_DEAD, 1);
	expect("esp dead sa", &f, XDP_DROP, XDPSEC_CNT_DROP_SA_DEAD);
	esp4(&f, SPI_OUT, 1);
	expect("esp to an outbound sa", &f, XDP_DROP, XDPSEC_CNT_DROP_SA_DEAD);

	/* The window is [top - 127, top] and anything above it. */
	esp4(&f, SPI_IN, 0);
	expect("esp seq 0", &f, XDP_DROP, XDPSEC_CNT_DROP_REPLAY_XDP);
	esp4(&f, SPI_IN, REPLAY_TOP - XDPSEC_REPLAY_DEFAULT);
	expect("esp seq just left of window", &f, XDP_DROP,
	       XDPSEC_CNT_DROP_REPLAY_XDP);
	esp4(&f, SPI_IN, 5);
	expect("esp seq far left of window", &f, XDP_DROP,
	       XDPSEC_CNT_DROP_REPLAY_XDP);
	esp4(&f, SPI_IN, REPLAY_TOP - XDPSEC_REPLAY_DEFAULT + 1);
	expect("esp seq at left edge of window", &f, XDP_REDIRECT,
	       XDPSEC_CNT_REDIRECT_ESP);
	esp4(&f, SPI_IN, REPLAY_TOP - 100);
	expect("esp seq inside window", &f, XDP_REDIRECT,
	       XDPSEC_CNT_REDIRECT_ESP);
	esp4(&f, SPI_IN, REPLAY_TOP);
	expect("esp seq at top (worker decides)", &f, XDP_REDIRECT,
	       XDPSEC_CNT_REDIRECT_ESP);
	esp4(&f, SPI_IN, 0xffffffffu);
	expect("esp seq 2^32-1", &f, XDP_REDIRECT, XDPSEC_CNT_REDIRECT_ESP);
	esp4(&f, SPI_IN_ESN, 0);
	expect("esp esn seq 0 left to worker", &f, XDP_REDIRECT,
	       XDPSEC_CNT_REDIRECT_ESP);
	esp4(&f, SPI_IN_NOWIN, 0);
	expect("esp no anti-replay seq 0", &f, XDP_REDIRECT,
	       XDPSEC_CNT_REDIRECT_ESP);

	/* RFC 4303 section 3.4.1: no ESP processing of fragments. */
	eth(&f, ETH_P_IP);
	ipv4(&f, PEER4, GW4, XDPSEC_IPPROTO_ESP, IPV4_MF);
	esp(&f, SPI_IN, REPLAY_TOP + 1);
	finish(&f);
	expect("esp v4 first fragment", &f, XDP_DROP,
	       XDPSEC_CNT_DROP_FRAGMENT);
	eth(&f, ETH_P_IP);
	ipv4(&f, PEER4, GW4, XDPSEC_IPPROTO_ESP, 185);
	put_zero(&f, 24);
	finish(&f);
	expect("esp v4 last fragment", &f, XDP_DROP, XDPSEC_CNT_DROP_FRAGMENT);
	eth(&f, ETH_P_IPV6);
	ipv6(&f, PEER6, GW6, PROTO_FRAGMENT);
	ipv6_frag(&f, XDPSEC_IPPROTO_ESP, 0, true);
	esp(&f, SPI_IN6, 2);
	finish(&f);
	expect("esp v6 first fragment", &f, XDP_DROP,
	       XDPSEC_CNT_DROP_FRAGMENT);
	eth(&f, ETH_P_IPV6);
	ipv6(&f, PEER6, GW6, PROTO_FRAGMENT);
	ipv6_frag(&f, XDPSEC_IPPROTO_ESP, 181, false);
	put_zero(&f, 24);
	finish(&f);
	expect("esp v6 last fragment", &f, XDP_DROP, XDPSEC_CNT_DROP_FRAGMENT);

	/* An atomic fragment is a whole packet (RFC 6946). */
	eth(&f, ETH_P_IPV6);
	ipv6(&f, PEER6, GW6, PROTO_FRAGMENT);
	ipv6_frag(&f, XDPSEC_IPPROTO_ESP, 0, false);
	esp(&f, SPI_IN6, 3);
	finish(&f);
	expect_redirect("esp v6 atomic fragment", &f, XDPSEC_CNT_REDIRECT_ESP,
			&(struct meta_want){ XDPSEC_META_ESP_IN, SA_IN6,
					     XDPSEC_AF_INET6, l3,
					     ETH_HLEN + IPV6_HLEN + 8, 0 });

	/* Four bytes of ESP, then Ethernet padding that is not ESP. */
	eth(&f, ETH_P_IP);
	ipv4(&f, PEER4, GW4, XDPSEC_IPPROTO_ESP, 0);
	put32(&f, SPI_IN);
	finish(&f);
	expect("esp truncated", &f, XDP_DROP, XDPSEC_CNT_DROP_MALFORMED);

	esp4(&f, SPI_IN_ENCAP, 1);
	expect("raw esp to a udp-encap sa", &f, XDP_DROP,
	       XDPSEC_CNT_DROP_ENCAP_MISMATCH);

	eth_vlan(&f, ETH_P_8021Q, 100, ETH_P_IP);
	ipv4(&f, PEER4, GW4, XDPSEC_IPPROTO_ESP, 0);
	esp(&f, SPI_IN, REPLAY_TOP + 2);
	finish(&f);
	expect_redirect("esp behind 802.1q", &f, XDPSEC_CNT_REDIRECT_ESP,
			&(struct meta_want){ XDPSEC_META_ESP_IN, SA_IN,
					     XDPSEC_AF_INET, l3 + VLAN_HLEN,
					     l4 + VLAN_HLEN, 0 });
}

static void test_udp(void)
{
	struct frame f;

	udp4(&f, PEER4, GW4, XDPSEC_PORT_IKE, XDPSEC_PORT_IKE);
	expect("ike on 500", &f, XDP_PASS, XDPSEC_CNT_PASS_IKE);

	/* The non-ESP marker, then an IKE header. */
	eth(&f, ETH_P_IP);
	ipv4(&f, PEER4, GW4, XDPSEC_IPPROTO_UDP, 0);
	udp(&f, XDPSEC_PORT_NATT, XDPSEC_PORT_NATT);
	put32(&f, 0);
	put_zero(&f, 28);
	finish(&f);
	expect("ike on 4500 with marker", &f, XDP_PASS, XDPSEC_CNT_PASS_IKE);

	/* 43 bytes padded to 60: the UDP length says one byte. */
	eth(&f, ETH_P_IP);
	ipv4(&f, PEER4, GW4, XDPSEC_IPPROTO_UDP, 0);
	udp(&f, XDPSEC_PORT_NATT, XDPSEC_PORT_NATT);
	put8(&f, 0xff);
	finish(&f);
	expect("nat-t keepalive absorbed", &f, XDP_DROP,
	       XDPSEC_CNT_NATT_KEEPALIVE);

	eth(&f, ETH_P_IP);
	ipv4(&f, PEER4, GW4, XDPSEC_IPPROTO_UDP, 0);
	udp(&f, XDPSEC_PORT_NATT, XDPSEC_PORT_NATT);
	put8(&f, 0x01);
	finish(&f);
	expect("4500 one byte not 0xff", &f, XDP_DROP,
	       XDPSEC_CNT_DROP_MALFORMED);

	eth(&f, ETH_P_IP);
	ipv4(&f, PEER4, GW4, XDPSEC_IPPROTO_UDP, 0);
	udp(&f, XDPSEC_PORT_NATT, XDPSEC_PORT_NATT);
	put32(&f, SPI_IN_ENCAP);
	put8(&f, 0);
	finish(&f);
	expect("4500 five bytes", &f, XDP_DROP, XDPSEC_CNT_DROP_MALFORMED);

	espudp4(&f, SPI_IN_ENCAP, 7);
	expect_redirect("esp in udp", &f, XDPSEC_CNT_REDIRECT_ESP,
			&(struct meta_want){ XDPSEC_META_ESP_IN, SA_IN_ENCAP,
					     XDPSEC_AF_INET, ETH_HLEN,
					     ETH_HLEN + IPV4_HLEN + UDP_HLEN,
					     XDPSEC_META_F_UDP_ENCAP });
	espudp4(&f, SPI_IN, REPLAY_TOP + 1);
	expect("esp in udp to a raw sa", &f, XDP_DROP,
	       XDPSEC_CNT_DROP_ENCAP_MISMATCH);
	espudp4(&f, SPI_UNKNOWN, 1);
	expect("esp in udp unknown spi", &f, XDP_DROP, XDPSEC_CNT_DROP_NO_SA);

	eth(&f, ETH_P_IP);
	ipv4(&f, PEER4, GW4, XDPSEC_IPPROTO_UDP, IPV4_MF);
	udp(&f, XDPSEC_PORT_NATT, XDPSEC_PORT_NATT);
	esp(&f, SPI_IN_ENCAP, 8);
	finish(&f);
	expect("esp in udp first fragment", &f, XDP_DROP,
	       XDPSEC_CNT_DROP_FRAGMENT);

	/* Other UDP is plaintext for the SPD. */
	udp4(&f, PEER4, GW4, 4501, 4501);
	expect("udp 4501 to the gateway (default)", &f, XDP_DROP,
	       XDPSEC_CNT_DROP_DEFAULT);
}

static void test_spd4(void)
{
	const uint16_t l3 = ETH_HLEN, l4 = ETH_HLEN + IPV4_HLEN;
	const struct meta_want protect = { XDPSEC_META_PROTECT, SA_OUT,
					   XDPSEC_AF_INET, l3, l4, 0 };
	struct frame f;

	tcp4(&f, "10.1.0.5", "10.2.0.9", 22);
	expect_redirect("protect", &f, XDPSEC_CNT_REDIRECT_PROTECT, &protect);
	tcp4(&f, "10.1.0.5", "10.2.5.9", 22);
	expect("bypass wins over protect by priority", &f, XDP_PASS,
	       XDPSEC_CNT_PASS_BYPASS);
	tcp4(&f, "10.1.9.5", "10.2.0.9", 22);
	expect("discard by source prefix", &f, XDP_DROP,
	       XDPSEC_CNT_DROP_POLICY);
	tcp4(&f, "10.1.9.5", "10.2.5.9", 22);
	expect("bypass before source discard", &f, XDP_PASS,
	       XDPSEC_CNT_PASS_BYPASS);
	tcp4(&f, "10.1.10.5", "10.2.0.9", 22);
	expect_redirect("protect next to discarded source", &f,
			XDPSEC_CNT_REDIRECT_PROTECT, &protect);

	tcp4(&f, "10.1.0.5", "10.2.7.7", 80);
	expect("tcp port 80 in range", &f, XDP_PASS, XDPSEC_CNT_PASS_BYPASS);
	tcp4(&f, "10.1.0.5", "10.2.7.7", 89);
	expect("tcp port 89 in range", &f, XDP_PASS, XDPSEC_CNT_PASS_BYPASS);
	tcp4(&f, "10.1.0.5", "10.2.7.7", 79);
	expect_redirect("tcp port 79 out of range", &f,
			XDPSEC_CNT_REDIRECT_PROTECT, &protect);
	tcp4(&f, "10.1.0.5", "10.2.7.7", 90);
	expect_redirect("tcp port 90 out of range", &f,
			XDPSEC_CNT_REDIRECT_PROTECT, &protect);
	udp4(&f, "10.1.0.5", "10.2.7.7", 40000, 80);
	expect_redirect("udp to a tcp port policy", &f,
			XDPSEC_CNT_REDIRECT_PROTECT, &protect);
	udp4(&f, "10.1.0.5", "10.2.7.7", 40000, 7000);
	expect("udp to a port-only discard", &f, XDP_DROP,
	       XDPSEC_CNT_DROP_POLICY);
	tcp4(&f, "10.1.0.5", "10.2.7.7", 7000);
	expect("tcp to a port-only discard", &f, XDP_DROP,
	       XDPSEC_CNT_DROP_POLICY);
	udp4(&f, "10.1.0.5", "10.2.7.7", 5353, 9999);
	expect("udp source port policy", &f, XDP_PASS,
	       XDPSEC_CNT_PASS_BYPASS);
	udp4(&f, "10.1.0.5", "10.2.7.7", 5354, 9999);
	expect_redirect("udp source port outside policy", &f,
			XDPSEC_CNT_REDIRECT_PROTECT, &protect);

	eth(&f, ETH_P_IP);
	ipv4(&f, "10.1.0.5", "10.2.7.7", PROTO_ICMP, 0);
	icmp4(&f, ICMP_ECHO);
	finish(&f);
	expect_redirect("icmp skips port policies", &f,
			XDPSEC_CNT_REDIRECT_PROTECT, &protect);

	/* A later fragment has no ports: it cannot match P_WEB. */
	eth(&f, ETH_P_IP);
	ipv4(&f, "10.1.0.5", "10.2.7.7", XDPSEC_IPPROTO_TCP, 100);
	put_zero(&f, 40);
	finish(&f);
	expect_redirect("tcp later fragment", &f, XDPSEC_CNT_REDIRECT_PROTECT,
			&(struct meta_want){ XDPSEC_META_PROTECT, SA_OUT,
					     XDPSEC_AF_INET, l3, 0, 0 });

	/*
	 * A range that starts at port 0 must still not match what has no
	 * ports at all.
	 */
	tcp4(&f, "10.1.0.5", "10.2.8.8", 22);
	expect("tcp port 22 in 0-1023", &f, XDP_PASS, XDPSEC_CNT_PASS_BYPASS);
	eth(&f, ETH_P_IP);
	ipv4(&f, "10.1.0.5", "10.2.8.8", PROTO_ICMP, 0);
	icmp4(&f, ICMP_ECHO);
	finish(&f);
	expect_redirect("icmp skips a 0-1023 port policy", &f,
			XDPSEC_CNT_REDIRECT_PROTECT, &protect);
	eth(&f, ETH_P_IP);
	ipv4(&f, "10.1.0.5", "10.2.8.8", XDPSEC_IPPROTO_UDP, 100);
	put_zero(&f, 40);
	finish(&f);
	expect_redirect("udp later fragment skips a 0-1023 port policy", &f,
			XDPSEC_CNT_REDIRECT_PROTECT,
			&(struct meta_want){ XDPSEC_META_PROTECT, SA_OUT,
					     XDPSEC_AF_INET, l3, 0, 0 });

	tcp4(&f, "10.2.0.9", "10.1.0.5", 22);
	expect("inbound plaintext for a protect-in policy", &f, XDP_DROP,
	       XDPSEC_CNT_DROP_CLEAR_PROTECTED);
	tcp4(&f, "10.1.0.5", "10.3.0.9", 22);
	expect("protect with a dead sa", &f, XDP_DROP,
	       XDPSEC_CNT_DROP_SA_DEAD);

	eth_vlan(&f, ETH_P_QINQ, 200, ETH_P_IP);
	ipv4(&f, "10.1.0.5", "10.2.0.9", XDPSEC_IPPROTO_TCP, 0);
	tcp(&f, 40000, 443);
	finish(&f);
	expect_redirect("protect behind 802.1ad", &f,
			XDPSEC_CNT_REDIRECT_PROTECT,
			&(struct meta_want){ XDPSEC_META_PROTECT, SA_OUT,
					     XDPSEC_AF_INET, l3 + VLAN_HLEN,
					     l4 + VLAN_HLEN, 0 });

	/* The default action, with no chain, and with no match in one. */
	tcp4(&f, "10.1.0.5", "203.0.113.9", 22);
	expect("no chain, default discard", &f, XDP_DROP,
	       XDPSEC_CNT_DROP_DEFAULT);
	tcp4(&f, "172.16.0.1", "10.1.0.5", 22);
	expect("no match, default discard", &f, XDP_DROP,
	       XDPSEC_CNT_DROP_DEFAULT);
	tcp4(&f, "10.1.0.5", "10.4.0.9", 22);
	expect("overlong chain, default discard", &f, XDP_DROP,
	       XDPSEC_CNT_DROP_DEFAULT);
	set_default(XDPSEC_ACT_BYPASS);
	tcp4(&f, "10.1.0.5", "203.0.113.9", 22);
	expect("no chain, default bypass", &f, XDP_PASS,
	       XDPSEC_CNT_PASS_DEFAULT);
	tcp4(&f, "172.16.0.1", "10.1.0.5", 22);
	expect("no match, default bypass", &f, XDP_PASS,
	       XDPSEC_CNT_PASS_DEFAULT);
	set_default(XDPSEC_ACT_DISCARD);
}

static void test_ipv6(void)
{
	struct frame f;

	/* Destination options before TCP. */
	eth(&f, ETH_P_IPV6);
	ipv6(&f, "2001:db8:1::5", "2001:db8:2::9", PROTO_DSTOPTS);
	ipv6_opts(&f, XDPSEC_IPPROTO_TCP);
	tcp(&f, 40000, 443);
	finish(&f);
	expect_redirect("ipv6 protect behind dstopts", &f,
			XDPSEC_CNT_REDIRECT_PROTECT,
			&(struct meta_want){ XDPSEC_META_PROTECT, SA_OUT6,
					     XDPSEC_AF_INET6, ETH_HLEN,
					     ETH_HLEN + IPV6_HLEN + 8, 0 });

	eth(&f, ETH_P_IPV6);
	ipv6(&f, "2001:db8:1::5", "2001:db8:2:5::9", XDPSEC_IPPROTO_TCP);
	tcp(&f, 40000, 443);
	finish(&f);
	expect("ipv6 bypass by priority", &f, XDP_PASS,
	       XDPSEC_CNT_PASS_BYPASS);

	eth(&f, ETH_P_IPV6);
	ipv6(&f, "2001:db8:9::5", "2001:db8:2::9", XDPSEC_IPPROTO_TCP);
	tcp(&f, 40000, 443);
	finish(&f);
	expect("ipv6 source outside policy", &f, XDP_DROP,
	       XDPSEC_CNT_DROP_DEFAULT);

	eth(&f, ETH_P_IPV6);
	ipv6(&f, "2001:db8:1::5", "2001:db8:2::9", PROTO_FRAGMENT);
	ipv6_frag(&f, XDPSEC_IPPROTO_TCP, 100, false);
	put_zero(&f, 40);
	finish(&f);
	expect_redirect("ipv6 tcp later fragment", &f,
			XDPSEC_CNT_REDIRECT_PROTECT,
			&(struct meta_want){ XDPSEC_META_PROTECT, SA_OUT6,
					     XDPSEC_AF_INET6, ETH_HLEN, 0,
					     0 });

	/* ND to an address that a PROTECT policy covers still passes. */
	eth(&f, ETH_P_IPV6);
	ipv6(&f, "2001:db8:1::5", "2001:db8:2::9", XDPSEC_IPPROTO_ICMPV6);
	icmpv6(&f, ICMPV6_NS);
	finish(&f);
	expect("icmpv6 neighbour solicitation", &f, XDP_PASS,
	       XDPSEC_CNT_PASS_ND);
	eth(&f, ETH_P_IPV6);
	ipv6(&f, "fe80::1", "ff02::16", PROTO_HOPOPTS);
	ipv6_opts(&f, XDPSEC_IPPROTO_ICMPV6);
	icmpv6(&f, ICMPV6_MLD2_REPORT);
	finish(&f);
	expect("mldv2 report behind hop-by-hop", &f, XDP_PASS,
	       XDPSEC_CNT_PASS_ND);
	eth(&f, ETH_P_IPV6);
	ipv6(&f, "2001:db8:1::5", "2001:db8:2::9", XDPSEC_IPPROTO_ICMPV6);
	icmpv6(&f, ICMPV6_ECHO);
	finish(&f);
	expect("icmpv6 echo is not nd", &f, XDP_REDIRECT,
	       XDPSEC_CNT_REDIRECT_PROTECT);

	/* One extension header more than the program walks. */
	eth(&f, ETH_P_IPV6);
	ipv6(&f, "2001:db8:1::5", "2001:db8:2::9", PROTO_DSTOPTS);
	for (int i = 0; i < XDPSEC_IPV6_EXT_MAX; i++)
		ipv6_opts(&f, i + 1 < XDPSEC_IPV6_EXT_MAX ? PROTO_DSTOPTS
							   : XDPSEC_IPPROTO_TCP);
	tcp(&f, 40000, 443);
	finish(&f);
	expect("ipv6 with the most extension headers", &f, XDP_REDIRECT,
	       XDPSEC_CNT_REDIRECT_PROTECT);
	eth(&f, ETH_P_IPV6);
	ipv6(&f, "2001:db8:1::5", "2001:db8:2::9", PROTO_DSTOPTS);
	for (int i = 0; i <= XDPSEC_IPV6_EXT_MAX; i++)
		ipv6_opts(&f, i < XDPSEC_IPV6_EXT_MAX ? PROTO_DSTOPTS
						      : XDPSEC_IPPROTO_TCP);
	tcp(&f, 40000, 443);
	finish(&f);
	expect("ipv6 with too many extension headers", &f, XDP_DROP,
	       XDPSEC_CNT_DROP_MALFORMED);
}

static void test_l2_and_malformed(void)
{
	static const uint8_t zeros[ETH_HLEN];
	struct frame f;
	struct run r;

	eth(&f, ETH_P_ARP);
	put_zero(&f, 28);
	finish(&f);
	expect("arp", &f, XDP_PASS, XDPSEC_CNT_PASS_NON_IP);

	eth_vlan(&f, ETH_P_QINQ, 10, ETH_P_8021Q);
	put16(&f, 20);
	put16(&f, ETH_P_IP);
	ipv4(&f, PEER4, GW4, XDPSEC_IPPROTO_ESP, 0);
	esp(&f, SPI_IN, REPLAY_TOP + 3);
	finish(&f);
	expect("two vlan tags are not parsed", &f, XDP_PASS,
	       XDPSEC_CNT_PASS_NON_IP);

	/*
	 * BPF_PROG_RUN refuses input with less than an Ethernet header after
	 * the metadata (EINVAL), so a runt cannot be handed in as it is.  It
	 * can as a multi-buffer frame: ctx_in.data_end ends the linear part
	 * early and the kernel puts the rest of the input into a fragment.
	 * The program never looks past data_end, so what it sees is exactly
	 * a 10-byte frame, or an empty one.
	 */
	expect_raw("truncated ethernet", zeros, ETH_HLEN, ETH_HLEN - 4,
		   XDP_DROP, XDPSEC_CNT_DROP_MALFORMED, &r);
	expect_raw("empty frame", zeros, ETH_HLEN, 0, XDP_DROP,
		   XDPSEC_CNT_DROP_MALFORMED, &r);

	eth(&f, ETH_P_8021Q);
	expect("truncated vlan tag", &f, XDP_DROP, XDPSEC_CNT_DROP_MALFORMED);

	eth(&f, ETH_P_IP);
	ipv4(&f, PEER4, GW4, XDPSEC_IPPROTO_ESP, 0);
	finish(&f);
	f.len = ETH_HLEN + IPV4_HLEN - 4;
	expect("truncated ipv4", &f, XDP_DROP, XDPSEC_CNT_DROP_MALFORMED);

	esp4(&f, SPI_IN, REPLAY_TOP + 4);
	f.buf[ETH_HLEN] = 0x44;
	expect("ipv4 ihl 4", &f, XDP_DROP, XDPSEC_CNT_DROP_MALFORMED);
	esp4(&f, SPI_IN, REPLAY_TOP + 4);
	f.buf[ETH_HLEN] = 0x65;
	expect("ipv4 version 6", &f, XDP_DROP, XDPSEC_CNT_DROP_MALFORMED);
	esp4(&f, SPI_IN, REPLAY_TOP + 4);
	set16(&f, ETH_HLEN + 2, (uint16_t)(f.len - ETH_HLEN + 1));
	expect("ipv4 total length beyond frame", &f, XDP_DROP,
	       XDPSEC_CNT_DROP_MALFORMED);
	esp4(&f, SPI_IN, REPLAY_TOP + 4);
	set16(&f, ETH_HLEN + 2, IPV4_HLEN - 1);
	expect("ipv4 total length below header", &f, XDP_DROP,
	       XDPSEC_CNT_DROP_MALFORMED);

	eth(&f, ETH_P_IPV6);
	ipv6(&f, PEER6, GW6, XDPSEC_IPPROTO_ESP);
	finish(&f);
	f.len = ETH_HLEN + IPV6_HLEN - 10;
	expect("truncated ipv6", &f, XDP_DROP, XDPSEC_CNT_DROP_MALFORMED);
	eth(&f, ETH_P_IPV6);
	ipv6(&f, PEER6, GW6, XDPSEC_IPPROTO_ESP);
	esp(&f, SPI_IN6, 3);
	finish(&f);
	f.buf[ETH_HLEN] = 0x40;
	expect("ipv6 version 4", &f, XDP_DROP, XDPSEC_CNT_DROP_MALFORMED);
	eth(&f, ETH_P_IPV6);
	ipv6(&f, PEER6, GW6, XDPSEC_IPPROTO_ESP);
	esp(&f, SPI_IN6, 3);
	finish(&f);
	set16(&f, ETH_HLEN + 4, (uint16_t)(f.len - ETH_HLEN - IPV6_HLEN + 1));
	expect("ipv6 payload length beyond frame", &f, XDP_DROP,
	       XDPSEC_CNT_DROP_MALFORMED);

	eth(&f, ETH_P_IP);
	ipv4(&f, PEER4, GW4, XDPSEC_IPPROTO_UDP, 0);
	put32(&f, (XDPSEC_PORT_NATT << 16) | XDPSEC_PORT_NATT);
	finish(&f);
	expect("truncated udp", &f, XDP_DROP, XDPSEC_CNT_DROP_MALFORMED);
	eth(&f, ETH_P_IP);
	ipv4(&f, "10.1.0.5", "10.2.0.9", XDPSEC_IPPROTO_TCP, 0);
	put32(&f, (40000u << 16) | 22);
	put32(&f, 1);
	finish(&f);
	expect("truncated tcp", &f, XDP_DROP, XDPSEC_CNT_DROP_MALFORMED);
	eth(&f, ETH_P_IPV6);
	ipv6(&f, "2001:db8:1::5", "2001:db8:2::9", PROTO_DSTOPTS);
	put8(&f, XDPSEC_IPPROTO_TCP);
	finish(&f);
	f.len = ETH_HLEN + IPV6_HLEN + 1;
	set16(&f, ETH_HLEN + 4, 1);
	expect("truncated ipv6 extension header", &f, XDP_DROP,
	       XDPSEC_CNT_DROP_MALFORMED);
}

/*
 * Without a socket for the queue, or without the interface, nothing that
 * would have gone to a worker may pass: both kinds are dropped.
 */
static void test_fail_closed(void)
{
	uint32_t key = 0, ifindex = LO_IFINDEX;
	struct xdpsec_iface iface = { .slot = 0 };
	struct frame f;
	struct run r;

	CHECK(bpf_map_delete_elem(map_fd(skel->maps.xsks), &key) == 0,
	      "delete xsks[0]: %s", strerror(errno));
	tcp4(&f, "10.1.0.5", "10.2.0.9", 22);
	expect_raw("protect without a socket", f.buf, f.len, f.len, XDP_DROP,
		   XDPSEC_CNT_DROP_NO_WORKER, &r);
	CHECK(r.ctx.data == 0, "protect without a socket: %u bytes of meta",
	      r.ctx.data);
	esp4(&f, SPI_IN, REPLAY_TOP + 5);
	expect_raw("esp without a socket", f.buf, f.len, f.len, XDP_DROP,
		   XDPSEC_CNT_DROP_NO_WORKER, &r);
	CHECK(r.ctx.data == 0, "esp without a socket: %u bytes of meta",
	      r.ctx.data);

	CHECK(bpf_map_delete_elem(map_fd(skel->maps.ifaces), &ifindex) == 0,
	      "delete ifaces[lo]: %s", strerror(errno));
	esp4(&f, SPI_IN, REPLAY_TOP + 6);
	expect("esp on an unknown interface", &f, XDP_DROP,
	       XDPSEC_CNT_DROP_NO_WORKER);
	update(skel->maps.ifaces, &ifindex, &iface);

	/* Plaintext that is not to be protected is unaffected. */
	tcp4(&f, "10.1.0.5", "10.2.5.9", 22);
	expect("bypass without a socket", &f, XDP_PASS,
	       XDPSEC_CNT_PASS_BYPASS);
}

int main(void)
{
	struct xsk_env x = { 0 };
	uint32_t key = 0;
	int xsk_fd;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (netns_setup())
		return 1;
	ncpus = libbpf_num_possible_cpus();
	if (ncpus <= 0) {
		fprintf(stderr, "cannot count CPUs\n");
		return 1;
	}
	skel = xdpsec_bpf__open_and_load();
	if (!skel) {
		fprintf(stderr, "loading the XDP program: %s\n",
			strerror(errno));
		return 1;
	}
	prog_fd = bpf_program__fd(skel->progs.xdpsec_xdp);
	populate();

	xsk_fd = xsk_open(&x);
	CHECK(xsk_fd >= 0, "AF_XDP socket on lo: %s", strerror(-xsk_fd));
	if (xsk_fd >= 0) {
		int err = bpf_map_update_elem(map_fd(skel->maps.xsks), &key,
					      &xsk_fd, BPF_ANY);

		CHECK(err == 0, "xsks[0] = socket: %s", strerror(errno));
	}

	test_esp();
	test_ah();
	test_udp();
	test_spd4();
	test_ipv6();
	test_l2_and_malformed();
	test_fail_closed();

	xdpsec_bpf__destroy(skel);
	xsk_close(&x);
	return check_summary();
}
