/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * NAT-T keepalives (RFC 3948 section 2.3): a one-byte 0xFF UDP datagram
 * from each UDP-encapsulating SA's port to its peer's, every few seconds,
 * so that a NAT between them keeps the mapping open.  Sent through raw
 * sockets, which let us choose the source address and port without
 * binding (and so taking) the NAT-T port.
 */
#ifndef XDPSEC_NATT_H
#define XDPSEC_NATT_H

#include "xdpsec_common.h"

struct natt {
	int fd4;
	int fd6;
};

int natt_open(struct natt *n);
void natt_close(struct natt *n);

/* Sends one keepalive for an SA; returns 0 or -errno. */
int natt_keepalive(struct natt *n, const struct xdpsec_sa *sa);

#endif /* XDPSEC_NATT_H */
