// SPDX-License-Identifier: GPL-2.0-only
/*
 * Anti-replay window (RFC 4303 section 3.4.3 and appendix A).
 *
 * The bitmap always has XDPSEC_REPLAY_MAX bits whatever the window size,
 * and the bit of sequence number s is s % XDPSEC_REPLAY_MAX.  Because the
 * window is never wider than the bitmap, every sequence number inside the
 * window has a bit of its own.  Whenever the top moves up, the bits of the
 * sequence numbers that enter the window are cleared, so a bit inside the
 * window is only ever set by a packet that really is in the window.
 *
 * Sequence number 0 is never sent (the first packet of an SA carries 1),
 * so top == 0 means that nothing has been received yet.  The functions here
 * do not treat 0 specially beyond that: the caller rejects it.
 */
#include <errno.h>
#include <string.h>

#include "replay.h"

#define REPLAY_WORD_BITS 64

int replay_init(struct replay *r, uint32_t size)
{
	if (size % 32 || size > XDPSEC_REPLAY_MAX)
		return -EINVAL;

	memset(r, 0, sizeof(*r));
	r->size = size;
	return 0;
}

static bool replay_bit_test(const struct replay *r, uint64_t seq)
{
	uint32_t pos = seq % XDPSEC_REPLAY_MAX;

	return r->bits[pos / REPLAY_WORD_BITS] &
	       (1ULL << (pos % REPLAY_WORD_BITS));
}

static void replay_bit_set(struct replay *r, uint64_t seq)
{
	uint32_t pos = seq % XDPSEC_REPLAY_MAX;

	r->bits[pos / REPLAY_WORD_BITS] |= 1ULL << (pos % REPLAY_WORD_BITS);
}

/*
 * Clears the bits of the count sequence numbers starting at first.  Single
 * bits are cleared up to a word boundary, then whole words, so a large jump
 * costs at most a pass over the bitmap.
 */
static void replay_clear_range(struct replay *r, uint64_t first,
			       uint64_t count)
{
	uint32_t pos = first % XDPSEC_REPLAY_MAX;

	if (count >= XDPSEC_REPLAY_MAX) {
		memset(r->bits, 0, sizeof(r->bits));
		return;
	}

	while (count) {
		uint32_t bit = pos % REPLAY_WORD_BITS;

		if (bit == 0 && count >= REPLAY_WORD_BITS) {
			r->bits[pos / REPLAY_WORD_BITS] = 0;
			pos += REPLAY_WORD_BITS;
			count -= REPLAY_WORD_BITS;
		} else {
			r->bits[pos / REPLAY_WORD_BITS] &= ~(1ULL << bit);
			pos++;
			count--;
		}

		pos %= XDPSEC_REPLAY_MAX;
	}
}

enum replay_verdict replay_check(const struct replay *r, uint64_t seq)
{
	if (!r->size)
		return REPLAY_OK;

	if (seq > r->top)
		return REPLAY_OK;

	if (r->top - seq >= r->size)
		return REPLAY_TOO_OLD;

	return replay_bit_test(r, seq) ? REPLAY_DUPLICATE : REPLAY_OK;
}

void replay_update(struct replay *r, uint64_t seq)
{
	uint64_t jump;

	/*
	 * Without anti-replay there is no bitmap to keep, but the top still
	 * follows the highest sequence number: ESN inference needs it.
	 */
	if (!r->size) {
		if (seq > r->top)
			r->top = seq;
		return;
	}

	if (seq > r->top) {
		jump = seq - r->top;

		/*
		 * After a jump of a whole window or more, every sequence number
		 * in the new window is above the old top and so unseen: start
		 * from an empty bitmap.  After a smaller jump only the numbers
		 * between the old top and seq enter the window; the bits of
		 * the older numbers still inside it must survive.
		 */
		if (jump >= r->size)
			memset(r->bits, 0, sizeof(r->bits));
		else
			replay_clear_range(r, r->top + 1, jump);

		r->top = seq;
	} else if (r->top - seq >= r->size) {
		/*
		 * Left of the window: its bit is shared with a number inside
		 * the window, so setting it would make that one a duplicate.
		 * replay_check() said TOO_OLD for it; there is nothing to do.
		 */
		return;
	}

	replay_bit_set(r, seq);
}

uint64_t replay_esn_infer(const struct replay *r, uint32_t seq_lo)
{
	uint32_t tl = (uint32_t)r->top;
	uint32_t th = (uint32_t)(r->top >> 32);
	uint32_t seq_hi;
	uint32_t w;

	/*
	 * The algorithm needs a window of at least one packet.  With
	 * anti-replay off there is no window, and W = 1 makes the top itself
	 * the boundary between "late" and "wrapped": a packet below the top
	 * is taken to be from the next 2^32 block, and if it was in fact a
	 * late one its ICV will not verify.
	 */
	w = r->size ? r->size : 1;

	if (tl >= w - 1) {
		/* The window lies within one 2^32 block (RFC 4303 case A). */
		seq_hi = seq_lo >= tl - w + 1 ? th : th + 1;
	} else {
		/*
		 * The window straddles a 2^32 boundary (case B): a low half
		 * at or above the window's bottom (tl - w + 1, computed modulo
		 * 2^32) belongs to the previous block.  There is no block
		 * before the first, so while th is 0 the high half stays 0.
		 */
		if (seq_lo >= tl - w + 1 && th)
			seq_hi = th - 1;
		else
			seq_hi = th;
	}

	return (uint64_t)seq_hi << 32 | seq_lo;
}
