// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/udp.h>

#include "natt.h"
#include "nexthop.h"

enum {
	NATT_KEEPALIVE_BYTE = 0xff,
	UDP6_CSUM_OFF = 6,	/* where the kernel puts the UDP checksum */
};

int natt_open(struct natt *n)
{
	int off = UDP6_CSUM_OFF, mark = NH_ROUTE_MARK;

	n->fd4 = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_UDP);
	n->fd6 = socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_UDP);
	if (n->fd4 < 0 || n->fd6 < 0)
		goto err;
	/*
	 * Keepalives travel beside the tunnel, not through it: the mark
	 * routes them by the main table, past the host interface.
	 */
	if (setsockopt(n->fd4, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) ||
	    setsockopt(n->fd6, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)))
		goto err;
	/* Over IPv6 a UDP checksum is mandatory: the kernel computes it. */
	if (setsockopt(n->fd6, IPPROTO_IPV6, IPV6_CHECKSUM, &off, sizeof(off)))
		goto err;
	return 0;

err:
	off = -errno;
	natt_close(n);
	return off;
}

void natt_close(struct natt *n)
{
	if (n->fd4 >= 0)
		close(n->fd4);
	if (n->fd6 >= 0)
		close(n->fd6);
	n->fd4 = n->fd6 = -1;
}

/* The source address goes in a control message; the port in the header. */
static ssize_t natt_sendmsg(int fd, void *to, socklen_t to_len, int level,
			    int type, const void *info, size_t info_len,
			    const void *buf, size_t len)
{
	char cbuf[CMSG_SPACE(sizeof(struct in6_pktinfo))] = { 0 };
	struct iovec iov = { .iov_base = (void *)(uintptr_t)buf, .iov_len = len };
	struct msghdr msg = {
		.msg_name = to, .msg_namelen = to_len,
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = CMSG_SPACE(info_len),
	};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);

	c->cmsg_level = level;
	c->cmsg_type = type;
	c->cmsg_len = CMSG_LEN(info_len);
	memcpy(CMSG_DATA(c), info, info_len);
	return sendmsg(fd, &msg, 0);
}

static ssize_t natt_send4(int fd, const struct xdpsec_sa *sa, const void *buf,
			  size_t len)
{
	struct sockaddr_in to = {
		.sin_family = AF_INET,
		.sin_addr.s_addr = sa->dst.v4,
	};
	struct in_pktinfo pi = { .ipi_spec_dst.s_addr = sa->src.v4 };

	return natt_sendmsg(fd, &to, sizeof(to), IPPROTO_IP, IP_PKTINFO, &pi,
			    sizeof(pi), buf, len);
}

static ssize_t natt_send6(int fd, const struct xdpsec_sa *sa, const void *buf,
			  size_t len)
{
	struct sockaddr_in6 to = { .sin6_family = AF_INET6 };
	struct in6_pktinfo pi = { 0 };

	memcpy(&to.sin6_addr, sa->dst.v6, sizeof(to.sin6_addr));
	memcpy(&pi.ipi6_addr, sa->src.v6, sizeof(pi.ipi6_addr));
	return natt_sendmsg(fd, &to, sizeof(to), IPPROTO_IPV6, IPV6_PKTINFO,
			    &pi, sizeof(pi), buf, len);
}

int natt_keepalive(struct natt *n, const struct xdpsec_sa *sa)
{
	struct {
		struct udphdr udp;
		uint8_t byte;
	} __attribute__((packed)) ka = {
		.udp.source = htons(sa->encap_sport),
		.udp.dest = htons(sa->encap_dport),
		.udp.len = htons(sizeof(ka)),
		.byte = NATT_KEEPALIVE_BYTE,
	};
	ssize_t ret;

	/* Over IPv4 the checksum stays 0 (RFC 3948 3.1). */
	if (sa->family == XDPSEC_AF_INET)
		ret = natt_send4(n->fd4, sa, &ka, sizeof(ka));
	else
		ret = natt_send6(n->fd6, sa, &ka, sizeof(ka));
	return ret < 0 ? -errno : 0;
}
