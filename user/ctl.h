/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The control socket: a Unix stream socket (mode 0600) where each
 * connection carries one JSON request {"cmd": ..., "args": {...}} and gets
 * one JSON reply {"ok": true, "data": ...} or {"ok": false, "error": ...}.
 */
#ifndef XDPSEC_CTL_H
#define XDPSEC_CTL_H

#include "daemon.h"

/* Creates and listens on path; returns the socket or -errno. */
int ctl_listen(const char *path);

/* Accepts one connection on fd and answers its request. */
void ctl_serve_one(struct daemon *d, int fd);

#endif /* XDPSEC_CTL_H */
