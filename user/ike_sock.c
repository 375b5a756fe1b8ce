// SPDX-License-Identifier: GPL-2.0-only
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ike_sock.h"

static int sock_bind(int family, uint16_t port, uint32_t mark)
{
	union ike_sockaddr a = { 0 };
	int one = 1, fd, ret;
	socklen_t alen;

	fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (family == AF_INET) {
		a.in4.sin_family = AF_INET;
		a.in4.sin_port = htons(port);
		alen = sizeof(a.in4);
		ret = setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
	} else {
		a.in6.sin6_family = AF_INET6;
		a.in6.sin6_port = htons(port);
		alen = sizeof(a.in6);
		ret = setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one,
				 sizeof(one));
		if (!ret)
			ret = setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO,
					 &one, sizeof(one));
	}
	if (!ret)
		ret = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
				 sizeof(one));
	if (!ret && mark)
		ret = setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark));
	if (!ret)
		ret = bind(fd, &a.sa, alen);
	if (ret) {
		ret = -errno;
		close(fd);
		return ret;
	}
	return fd;
}

int ike_sock_open(struct ike_sock *s, uint16_t port, uint16_t natt_port,
		  uint32_t mark)
{
	static const struct {
		int family;
		bool natt;
	} slots[IKE_SOCK_N] = {
		[IKE_SOCK_V4] = { AF_INET, false },
		[IKE_SOCK_V4_NATT] = { AF_INET, true },
		[IKE_SOCK_V6] = { AF_INET6, false },
		[IKE_SOCK_V6_NATT] = { AF_INET6, true },
	};
	int first_err = 0, n = 0;

	s->port = port ? port : IKE_PORT;
	s->natt_port = natt_port ? natt_port : IKE_NATT_PORT;
	for (int i = 0; i < IKE_SOCK_N; i++) {
		uint16_t p = slots[i].natt ? s->natt_port : s->port;

		s->fd[i] = sock_bind(slots[i].family, p, mark);
		if (s->fd[i] >= 0) {
			n++;
		} else {
			if (!first_err)
				first_err = s->fd[i];
			s->fd[i] = -1;
		}
	}
	if (n)
		return 0;
	return first_err ? first_err : -EAFNOSUPPORT;
}

void ike_sock_close(struct ike_sock *s)
{
	for (int i = 0; i < IKE_SOCK_N; i++) {
		if (s->fd[i] >= 0)
			close(s->fd[i]);
		s->fd[i] = -1;
	}
}

/* The local address from the packet-info control message. */
static void local_from_cmsg(struct msghdr *mh, union ike_sockaddr *local,
			    uint16_t port)
{
	struct cmsghdr *c;

	for (c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			local->in4.sin_family = AF_INET;
			local->in4.sin_addr = pi.ipi_addr;
			local->in4.sin_port = htons(port);
		}
		if (c->cmsg_level == IPPROTO_IPV6 &&
		    c->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo pi;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			local->in6.sin6_family = AF_INET6;
			local->in6.sin6_addr = pi.ipi6_addr;
			local->in6.sin6_port = htons(port);
		}
	}
}

ssize_t ike_sock_recv(struct ike_sock *s, enum ike_sock_slot slot,
		      uint8_t *buf, size_t cap, struct ike_dgram *d)
{
	bool natt = slot == IKE_SOCK_V4_NATT || slot == IKE_SOCK_V6_NATT;
	char cbuf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
	struct iovec iov = { buf, cap };
	struct msghdr mh = {
		.msg_name = &d->remote,
		.msg_namelen = sizeof(d->remote),
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = cbuf,
		.msg_controllen = sizeof(cbuf),
	};
	ssize_t n;

	memset(d, 0, sizeof(*d));
	n = recvmsg(s->fd[slot], &mh, 0);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	if (mh.msg_flags & MSG_TRUNC)
		return -EMSGSIZE;
	d->natt = natt;
	local_from_cmsg(&mh, &d->local, natt ? s->natt_port : s->port);
	if (!natt)
		return n;

	/* Port 4500: a keepalive is one byte 0xff, ESP has a non-zero SPI. */
	if (n < IKE_NON_ESP_MARKER_LEN || buf[0] || buf[1] || buf[2] || buf[3])
		return -EAGAIN;
	memmove(buf, buf + IKE_NON_ESP_MARKER_LEN,
		(size_t)n - IKE_NON_ESP_MARKER_LEN);
	return n - IKE_NON_ESP_MARKER_LEN;
}

int ike_sock_send(struct ike_sock *s, const struct ike_dgram *d,
		  const uint8_t *msg, size_t len)
{
	/* Not const: iovec takes a non-const pointer; nothing writes it. */
	static uint8_t marker[IKE_NON_ESP_MARKER_LEN];
	char cbuf[CMSG_SPACE(sizeof(struct in6_pktinfo))] = { 0 };
	bool v6 = d->remote.sa.sa_family == AF_INET6;
	struct iovec iov[2] = {
		{ marker, sizeof(marker) },
		{ (void *)(uintptr_t)msg, len },
	};
	struct msghdr mh = {
		.msg_name = (void *)(uintptr_t)&d->remote,
		.msg_namelen = v6 ? sizeof(d->remote.in6) : sizeof(d->remote.in4),
		.msg_iov = d->natt ? iov : iov + 1,
		.msg_iovlen = d->natt ? 2 : 1,
		.msg_control = cbuf,
	};
	struct cmsghdr *c = (struct cmsghdr *)cbuf;
	enum ike_sock_slot slot;

	if (v6) {
		struct in6_pktinfo pi = { .ipi6_addr = d->local.in6.sin6_addr };

		slot = d->natt ? IKE_SOCK_V6_NATT : IKE_SOCK_V6;
		c->cmsg_level = IPPROTO_IPV6;
		c->cmsg_type = IPV6_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
		mh.msg_controllen = CMSG_SPACE(sizeof(pi));
	} else {
		struct in_pktinfo pi = { .ipi_spec_dst = d->local.in4.sin_addr };

		slot = d->natt ? IKE_SOCK_V4_NATT : IKE_SOCK_V4;
		c->cmsg_level = IPPROTO_IP;
		c->cmsg_type = IP_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
		mh.msg_controllen = CMSG_SPACE(sizeof(pi));
	}
	if (d->local.sa.sa_family != d->remote.sa.sa_family)
		mh.msg_controllen = 0;	/* no local address yet: the kernel's */
	if (s->fd[slot] < 0)
		return -EAFNOSUPPORT;
	if (sendmsg(s->fd[slot], &mh, 0) < 0)
		return -errno;
	return 0;
}

bool ike_sockaddr_equal(const union ike_sockaddr *a,
			const union ike_sockaddr *b)
{
	if (a->sa.sa_family != b->sa.sa_family)
		return false;
	if (a->sa.sa_family == AF_INET)
		return a->in4.sin_port == b->in4.sin_port &&
		       a->in4.sin_addr.s_addr == b->in4.sin_addr.s_addr;
	return a->in6.sin6_port == b->in6.sin6_port &&
	       !memcmp(&a->in6.sin6_addr, &b->in6.sin6_addr, 16);
}

uint16_t ike_sockaddr_port(const union ike_sockaddr *a)
{
	return ntohs(a->sa.sa_family == AF_INET ? a->in4.sin_port :
						  a->in6.sin6_port);
}

void ike_sockaddr_set_port(union ike_sockaddr *a, uint16_t port)
{
	if (a->sa.sa_family == AF_INET)
		a->in4.sin_port = htons(port);
	else
		a->in6.sin6_port = htons(port);
}

const char *ike_sockaddr_str(const union ike_sockaddr *a, char *buf,
			     size_t len)
{
	char host[INET6_ADDRSTRLEN] = "?";

	if (a->sa.sa_family == AF_INET)
		inet_ntop(AF_INET, &a->in4.sin_addr, host, sizeof(host));
	else if (a->sa.sa_family == AF_INET6)
		inet_ntop(AF_INET6, &a->in6.sin6_addr, host, sizeof(host));
	snprintf(buf, len, "%s[%u]", host, ike_sockaddr_port(a));
	return buf;
}

int ike_sock_source(const union ike_sockaddr *remote, uint32_t mark,
		    union ike_sockaddr *local)
{
	socklen_t len = sizeof(*local);
	int fd, ret = 0;

	fd = socket(remote->sa.sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if ((mark && setsockopt(fd, SOL_SOCKET, SO_MARK, &mark,
				sizeof(mark))) ||
	    connect(fd, &remote->sa, remote->sa.sa_family == AF_INET ?
			    sizeof(remote->in4) : sizeof(remote->in6)) ||
	    getsockname(fd, &local->sa, &len))
		ret = -errno;
	close(fd);
	return ret;
}
