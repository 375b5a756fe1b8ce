/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * IKE in the daemon: the sockets in the main loop's poll set, the
 * connections' start actions, and CHILD_SAs as SAD entries and SPD
 * policies, so that what IKE negotiates appears in the BPF maps with no
 * manual step.  All of it runs on the main thread under the daemon lock.
 */
#ifndef XDPSEC_IKE_H
#define XDPSEC_IKE_H

#include <poll.h>
#include <stdint.h>

struct daemon;
struct json_object;

enum { IKE_POLL_FDS = 4 };

/* Opens the sockets when the configuration has connections. */
int ike_daemon_start(struct daemon *d);
void ike_daemon_stop(struct daemon *d);

/* Fills up to IKE_POLL_FDS entries; returns how many. */
int ike_daemon_pollfds(struct daemon *d, struct pollfd *pfd);

/* Serves the sockets whose entries are readable. */
void ike_daemon_input(struct daemon *d, const struct pollfd *pfd, int n);

/* Timers and start actions; returns the ms until it wants to run again. */
int ike_daemon_run(struct daemon *d);

/* Control requests: "ike.list", "tunnel.up", "tunnel.down", "tunnel.rekey". */
struct json_object *ike_daemon_list(struct daemon *d);
int ike_daemon_up(struct daemon *d, const char *conn, char *err, size_t len);
int ike_daemon_down(struct daemon *d, const char *conn, char *err,
		    size_t len);
int ike_daemon_rekey(struct daemon *d, const char *conn, char *err,
		     size_t len);

#endif /* XDPSEC_IKE_H */
