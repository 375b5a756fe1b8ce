/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The anti-replay window of an inbound SA (RFC 4303 section 3.4.3).  A
 * packet is checked before any crypto; the window moves only after its ICV
 * has verified.  Not thread-safe: the caller serialises access.
 */
#ifndef XDPSEC_REPLAY_H
#define XDPSEC_REPLAY_H

#include <stdbool.h>
#include <stdint.h>

#include "xdpsec_common.h"

struct replay {
	uint64_t top;		/* highest sequence number accepted; 0: none */
	uint32_t size;		/* window size in packets, 0 = disabled */
	uint64_t bits[XDPSEC_REPLAY_MAX / 64];	/* bit (seq % MAX) */
};

/* size is a multiple of 32 in [32, XDPSEC_REPLAY_MAX], or 0. -EINVAL else. */
int replay_init(struct replay *r, uint32_t size);

enum replay_verdict {
	REPLAY_OK = 0,
	REPLAY_DUPLICATE,	/* inside the window, already seen */
	REPLAY_TOO_OLD,		/* left of the window */
};

/* Read-only check; seq is the full (possibly ESN) sequence number. */
enum replay_verdict replay_check(const struct replay *r, uint64_t seq);

/* Records seq as seen; call only after the ICV has verified. */
void replay_update(struct replay *r, uint64_t seq);

/*
 * Reconstructs the full 64-bit sequence number of an ESN packet from its
 * low 32 bits, as RFC 4303 appendix A describes.
 */
uint64_t replay_esn_infer(const struct replay *r, uint32_t seq_lo);

#endif /* XDPSEC_REPLAY_H */
