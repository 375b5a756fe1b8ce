/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The sockets IKE speaks through: UDP 500 and UDP 4500 (RFC 3948, where
 * IKE messages follow a four-byte zero non-ESP marker), for IPv4 and IPv6.
 * Each datagram carries its local address both ways, so that a reply
 * leaves from the address the request came to.  The sockets carry the
 * route mark the workers use, so that IKE to a peer whose address a policy
 * protects is not routed into the host interface: IKE is always bypass.
 */
#ifndef XDPSEC_IKE_SOCK_H
#define XDPSEC_IKE_SOCK_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

enum ike_ports {
	IKE_PORT = 500,
	IKE_NATT_PORT = 4500,
	IKE_NON_ESP_MARKER_LEN = 4,
};

/* An address and port of either family. */
union ike_sockaddr {
	struct sockaddr sa;
	struct sockaddr_in in4;
	struct sockaddr_in6 in6;
};

/* One datagram's ends; natt says it went over the NAT-T port. */
struct ike_dgram {
	union ike_sockaddr local;
	union ike_sockaddr remote;
	bool natt;
};

enum ike_sock_slot {
	IKE_SOCK_V4 = 0,
	IKE_SOCK_V4_NATT,
	IKE_SOCK_V6,
	IKE_SOCK_V6_NATT,
	IKE_SOCK_N,
};

struct ike_sock {
	int fd[IKE_SOCK_N];	/* -1 where a family is not available */
	uint16_t port, natt_port;
};

/*
 * Opens and binds all four sockets (ports given in host order; 0 means the
 * standard ones).  A family the host lacks is skipped; returns 0 if at
 * least one family works, or -errno.
 */
int ike_sock_open(struct ike_sock *s, uint16_t port, uint16_t natt_port,
		  uint32_t mark);
void ike_sock_close(struct ike_sock *s);

/*
 * Receives one datagram from slot into buf.  Returns its length without
 * the non-ESP marker; -EAGAIN when there is nothing (or only a NAT-T
 * keepalive or an ESP packet that reached the socket); -errno on error.
 */
ssize_t ike_sock_recv(struct ike_sock *s, enum ike_sock_slot slot,
		      uint8_t *buf, size_t cap, struct ike_dgram *d);

/*
 * Sends msg from d->local to d->remote, over the NAT-T port (with the
 * non-ESP marker) when d->natt is set.  Returns 0 or -errno.
 */
int ike_sock_send(struct ike_sock *s, const struct ike_dgram *d,
		  const uint8_t *msg, size_t len);

/*
 * The source address the kernel would pick to reach remote, routing as
 * the sockets do (with mark).  The port in local is undefined.
 */
int ike_sock_source(const union ike_sockaddr *remote, uint32_t mark,
		    union ike_sockaddr *local);

/* Helpers for addresses. */
bool ike_sockaddr_equal(const union ike_sockaddr *a,
			const union ike_sockaddr *b);
uint16_t ike_sockaddr_port(const union ike_sockaddr *a);
void ike_sockaddr_set_port(union ike_sockaddr *a, uint16_t port);

/* "192.0.2.1[500]" into buf (at least 64 bytes); returns buf. */
const char *ike_sockaddr_str(const union ike_sockaddr *a, char *buf,
			     size_t len);

#endif /* XDPSEC_IKE_SOCK_H */
