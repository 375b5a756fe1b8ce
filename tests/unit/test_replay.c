// SPDX-License-Identifier: GPL-2.0-only
/* Unit tests of the anti-replay window and of ESN inference. */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "replay.h"

#define TWO32 (1ULL << 32)

static const uint32_t sizes[] = { 32, 64, 128, 4096 };
#define NSIZES (sizeof(sizes) / sizeof(sizes[0]))

/* Checks then updates, as the data path does once the ICV has verified. */
static enum replay_verdict accept(struct replay *r, uint64_t seq)
{
	enum replay_verdict v = replay_check(r, seq);

	if (v == REPLAY_OK)
		replay_update(r, seq);
	return v;
}

static void test_init(void)
{
	struct replay r;

	CHECK(replay_init(&r, 0) == 0, "size 0 accepted");
	CHECK(replay_init(&r, 32) == 0, "size 32 accepted");
	CHECK(replay_init(&r, 4096) == 0, "size 4096 accepted");
	CHECK(replay_init(&r, 96) == 0, "size 96 accepted");
	CHECK(replay_init(&r, 16) == -EINVAL, "size 16 rejected");
	CHECK(replay_init(&r, 33) == -EINVAL, "size 33 rejected");
	CHECK(replay_init(&r, 4128) == -EINVAL, "size 4128 rejected");
	CHECK(replay_init(&r, UINT32_MAX) == -EINVAL, "size max rejected");

	replay_init(&r, 64);
	CHECK(r.top == 0 && r.size == 64, "fresh window is empty");
}

static void test_first_and_in_order(uint32_t size)
{
	struct replay r;

	replay_init(&r, size);

	CHECK(replay_check(&r, 1) == REPLAY_OK, "size %u: first packet", size);
	replay_update(&r, 1);
	CHECK(r.top == 1, "size %u: top after first", size);
	CHECK(replay_check(&r, 1) == REPLAY_DUPLICATE,
	      "size %u: first packet again", size);

	for (uint64_t s = 2; s < 3 * size; s++) {
		enum replay_verdict v = accept(&r, s);

		if (v != REPLAY_OK) {
			CHECK(0, "size %u: in-order %" PRIu64 " gave %d", size,
			      s, v);
			return;
		}
	}
	CHECK(r.top == 3 * size - 1, "size %u: top after in-order", size);

	/* Everything inside the window is now a duplicate. */
	for (uint64_t s = r.top - size + 1; s <= r.top; s++) {
		if (replay_check(&r, s) != REPLAY_DUPLICATE) {
			CHECK(0, "size %u: %" PRIu64 " not duplicate", size, s);
			return;
		}
	}
	CHECK(1, "size %u: window full of duplicates", size);
}

static void test_edges(uint32_t size)
{
	uint64_t top = 10 * (uint64_t)size + 7;
	struct replay r;

	replay_init(&r, size);
	replay_update(&r, top);

	CHECK(replay_check(&r, top) == REPLAY_DUPLICATE, "size %u: top dup",
	      size);
	CHECK(replay_check(&r, top + 1) == REPLAY_OK, "size %u: top + 1",
	      size);
	CHECK(replay_check(&r, top - size + 1) == REPLAY_OK,
	      "size %u: left edge accepted", size);
	CHECK(replay_check(&r, top - size) == REPLAY_TOO_OLD,
	      "size %u: one left of the edge too old", size);
	CHECK(replay_check(&r, 1) == REPLAY_TOO_OLD, "size %u: 1 too old",
	      size);

	/* Accepting the left edge marks it, and does not move the window. */
	replay_update(&r, top - size + 1);
	CHECK(r.top == top, "size %u: top unchanged by a late packet", size);
	CHECK(replay_check(&r, top - size + 1) == REPLAY_DUPLICATE,
	      "size %u: left edge now duplicate", size);

	/*
	 * An update for a number left of the window changes nothing.  With
	 * the largest window, top - size - 1 shares its bit with top - 1.
	 */
	replay_update(&r, top - size);
	replay_update(&r, top - size - 1);
	CHECK(replay_check(&r, top) == REPLAY_DUPLICATE &&
		      replay_check(&r, top - 1) == REPLAY_OK &&
		      replay_check(&r, top - size + 2) == REPLAY_OK,
	      "size %u: too-old update ignored", size);
	CHECK(r.top == top, "size %u: too-old update kept top", size);
}

static void test_check_is_read_only(uint32_t size)
{
	struct replay r, copy;

	replay_init(&r, size);
	replay_update(&r, 100);
	copy = r;

	CHECK(replay_check(&r, 100000) == REPLAY_OK, "size %u: far future",
	      size);
	CHECK(replay_check(&r, 101) == REPLAY_OK, "size %u: next", size);
	CHECK(r.top == 100, "size %u: check did not move top", size);
	CHECK(!memcmp(&r, &copy, sizeof(r)), "size %u: check changed nothing",
	      size);
	CHECK(replay_check(&r, 100) == REPLAY_DUPLICATE,
	      "size %u: still duplicate", size);
}

static void test_reorder(uint32_t size)
{
	uint64_t base = 5 * (uint64_t)size;
	struct replay r;
	int bad = 0;

	replay_init(&r, size);
	replay_update(&r, base);

	/* Odd numbers first, from high to low, then the even ones. */
	for (uint64_t s = base + size - 1; s > base; s -= 2)
		bad += accept(&r, s) != REPLAY_OK;
	for (uint64_t s = base + 2; s < base + size; s += 2)
		bad += accept(&r, s) != REPLAY_OK;
	CHECK(!bad, "size %u: reordered packets accepted (%d bad)", size, bad);
	CHECK(r.top == base + size - 1, "size %u: top after reorder", size);

	bad = 0;
	for (uint64_t s = base; s < base + size; s++)
		bad += replay_check(&r, s) != REPLAY_DUPLICATE;
	CHECK(!bad, "size %u: all now duplicates (%d not)", size, bad);
}

static void test_big_jump(uint32_t size)
{
	struct replay r;
	int bad = 0;
	uint64_t s;

	replay_init(&r, size);
	for (s = 1; s <= size; s++)
		replay_update(&r, s);

	/*
	 * Jumping more than a window ahead: the new window must be empty
	 * even where its bits alias those of the old packets modulo
	 * XDPSEC_REPLAY_MAX.
	 */
	s = size + XDPSEC_REPLAY_MAX + size / 2;
	replay_update(&r, s);
	CHECK(r.top == s, "size %u: top after big jump", size);
	for (uint64_t t = s - size + 1; t < s; t++)
		bad += replay_check(&r, t) != REPLAY_OK;
	CHECK(!bad, "size %u: old bits cleared after big jump (%d)", size,
	      bad);
	CHECK(replay_check(&r, size) == REPLAY_TOO_OLD,
	      "size %u: old top now too old", size);

	/* A jump of exactly one window. */
	replay_init(&r, size);
	for (s = 1; s <= size; s++)
		replay_update(&r, s);
	replay_update(&r, 2 * (uint64_t)size);
	bad = 0;
	for (uint64_t t = size + 1; t < 2 * (uint64_t)size; t++)
		bad += replay_check(&r, t) != REPLAY_OK;
	CHECK(!bad, "size %u: jump of one window clears (%d)", size, bad);
	CHECK(replay_check(&r, size) == REPLAY_TOO_OLD,
	      "size %u: old top too old after jump of size", size);

	/*
	 * A jump of one less than the bitmap: for the largest window the old
	 * top stays inside it and must keep its bit, which the new numbers
	 * entering the window alias on the next move.
	 */
	replay_init(&r, size);
	replay_update(&r, 1000);
	replay_update(&r, 1000 + XDPSEC_REPLAY_MAX - 1);
	CHECK(replay_check(&r, 1000) == (size == XDPSEC_REPLAY_MAX ?
					      REPLAY_DUPLICATE :
					      REPLAY_TOO_OLD),
	      "size %u: old top after a bitmap-size jump", size);
	CHECK(replay_check(&r, 1001) == (size == XDPSEC_REPLAY_MAX ?
					      REPLAY_OK :
					      REPLAY_TOO_OLD),
	      "size %u: old top + 1 after a bitmap-size jump", size);
	replay_update(&r, 1000 + XDPSEC_REPLAY_MAX);
	CHECK(replay_check(&r, 1000 + XDPSEC_REPLAY_MAX) == REPLAY_DUPLICATE,
	      "size %u: aliasing top duplicate", size);
	CHECK(replay_check(&r, 1000) == REPLAY_TOO_OLD,
	      "size %u: aliased old top too old", size);
	CHECK(replay_check(&r, 1000 + XDPSEC_REPLAY_MAX - 2) == REPLAY_OK,
	      "size %u: unseen number inside after aliasing", size);
}

static void test_jump_size_minus_one(uint32_t size)
{
	uint64_t base = 3 * (uint64_t)size;
	uint64_t top = base + size - 1;
	struct replay r;
	int bad = 0;

	replay_init(&r, size);

	/* Every other packet of one window ending at base. */
	for (uint64_t s = base - size + 1; s <= base; s += 2)
		replay_update(&r, s);
	replay_update(&r, base);

	/* After the jump only base remains of the old window. */
	replay_update(&r, top);
	CHECK(r.top == top, "size %u: top after jump of size - 1", size);
	CHECK(replay_check(&r, base) == REPLAY_DUPLICATE,
	      "size %u: old top survives", size);
	CHECK(replay_check(&r, base - 1) == REPLAY_TOO_OLD,
	      "size %u: base - 1 left the window", size);
	for (uint64_t s = base + 1; s < top; s++)
		bad += replay_check(&r, s) != REPLAY_OK;
	CHECK(!bad, "size %u: numbers entering the window are free (%d)", size,
	      bad);
	CHECK(replay_check(&r, top) == REPLAY_DUPLICATE,
	      "size %u: new top duplicate", size);

	/* A smaller jump keeps the older bits that stay inside. */
	replay_init(&r, size);
	for (uint64_t s = 1; s <= size; s++)
		replay_update(&r, s);
	replay_update(&r, size + size / 2);
	bad = 0;
	for (uint64_t s = size / 2 + 1; s <= size; s++)
		bad += replay_check(&r, s) != REPLAY_DUPLICATE;
	CHECK(!bad, "size %u: bits inside the new window kept (%d)", size, bad);
	bad = 0;
	for (uint64_t s = size + 1; s < size + size / 2; s++)
		bad += replay_check(&r, s) != REPLAY_OK;
	CHECK(!bad, "size %u: bits entering the window clear (%d)", size, bad);
}

static void test_disabled(void)
{
	struct replay r;

	replay_init(&r, 0);
	replay_update(&r, 10);
	CHECK(replay_check(&r, 10) == REPLAY_OK, "size 0: duplicate accepted");
	CHECK(replay_check(&r, 1) == REPLAY_OK, "size 0: old accepted");
	CHECK(replay_check(&r, 11) == REPLAY_OK, "size 0: new accepted");
	CHECK(r.top == 10, "size 0: top still follows the highest");
	replay_update(&r, 5);
	CHECK(r.top == 10, "size 0: lower number does not move top");
}

/* Sets up a window whose top is t, as ESN inference sees it. */
static void esn_window(struct replay *r, uint32_t size, uint64_t t)
{
	replay_init(r, size);
	replay_update(r, t);
}

static void test_esn(uint32_t w)
{
	struct replay r;
	uint64_t t;

	/* Case A, far from any boundary. */
	t = 5 * TWO32 + 1000000;
	esn_window(&r, w, t);
	CHECK(replay_esn_infer(&r, 1000000) == t, "W %u: top itself", w);
	CHECK(replay_esn_infer(&r, 1000001) == t + 1, "W %u: next", w);
	CHECK(replay_esn_infer(&r, 1000000 - w + 1) == t - w + 1,
	      "W %u: left edge", w);
	CHECK(replay_esn_infer(&r, 1000000 - w) == 6 * TWO32 + 1000000 - w,
	      "W %u: below the window is the next block", w);

	/* Top just below 2^32: packets just after the wrap. */
	t = TWO32 - 3;
	esn_window(&r, w, t);
	CHECK(replay_esn_infer(&r, 0xfffffffe) == TWO32 - 2,
	      "W %u: before wrap", w);
	CHECK(replay_esn_infer(&r, 0xffffffff) == TWO32 - 1,
	      "W %u: last before wrap", w);
	CHECK(replay_esn_infer(&r, 0) == TWO32, "W %u: 0 after wrap", w);
	CHECK(replay_esn_infer(&r, 1) == TWO32 + 1, "W %u: 1 after wrap", w);
	CHECK(replay_esn_infer(&r, 100) == TWO32 + 100,
	      "W %u: 100 after wrap", w);
	CHECK(replay_esn_infer(&r, 0xfffffffd - w + 1) == TWO32 - 2 - w,
	      "W %u: left edge before wrap", w);

	/* Top just above 2^32: late packets from before the wrap. */
	t = TWO32 + 2;
	esn_window(&r, w, t);
	CHECK(replay_esn_infer(&r, 2) == TWO32 + 2, "W %u: top after wrap", w);
	CHECK(replay_esn_infer(&r, 0) == TWO32, "W %u: 0 after wrap", w);
	CHECK(replay_esn_infer(&r, 3) == TWO32 + 3, "W %u: next after wrap",
	      w);
	CHECK(replay_esn_infer(&r, 0xffffffff) == TWO32 - 1,
	      "W %u: late 0xffffffff", w);
	CHECK(replay_esn_infer(&r, 0xfffffff0) == TWO32 - 16,
	      "W %u: late 0xfffffff0", w);
	CHECK(replay_esn_infer(&r, 3 - w) == TWO32 + 3 - w,
	      "W %u: left edge of the window (before wrap)", w);
	CHECK(replay_esn_infer(&r, 2 - w) == TWO32 + 2 - w + TWO32,
	      "W %u: just left of the window is the next block", w);
	CHECK(replay_esn_infer(&r, 1000) == TWO32 + 1000,
	      "W %u: ahead after wrap", w);

	/*
	 * The full sequence number is what the window works on: the late
	 * packet from before the wrap is accepted once, then a duplicate.
	 */
	CHECK(accept(&r, replay_esn_infer(&r, 0xffffffff)) == REPLAY_OK,
	      "W %u: late packet accepted", w);
	CHECK(accept(&r, replay_esn_infer(&r, 0xffffffff)) ==
		      REPLAY_DUPLICATE,
	      "W %u: late packet duplicate", w);
	CHECK(r.top == TWO32 + 2, "W %u: late packet did not move top", w);

	/* Straddling case, higher blocks. */
	t = 7 * TWO32 + 5;
	esn_window(&r, w, t);
	CHECK(replay_esn_infer(&r, 0xfffffffa) == 7 * TWO32 - 6,
	      "W %u: late packet of block 6", w);
	CHECK(replay_esn_infer(&r, 6) == 7 * TWO32 + 6, "W %u: block 7", w);

	/* Nothing received yet: the first block. */
	esn_window(&r, w, 0);
	CHECK(replay_esn_infer(&r, 1) == 1, "W %u: first packet", w);
	CHECK(replay_esn_infer(&r, 0xffffffff) == 0xffffffff,
	      "W %u: no block before the first", w);
}

static void test_esn_no_window(void)
{
	struct replay r;

	esn_window(&r, 0, TWO32 - 1);
	CHECK(replay_esn_infer(&r, 0) == TWO32, "W 0: wrap");
	CHECK(replay_esn_infer(&r, 0xffffffff) == TWO32 - 1, "W 0: top");

	esn_window(&r, 0, 3 * TWO32 + 10);
	CHECK(replay_esn_infer(&r, 11) == 3 * TWO32 + 11, "W 0: ahead");
	CHECK(replay_esn_infer(&r, 9) == 4 * TWO32 + 9,
	      "W 0: below the top is the next block");
}

int main(void)
{
	test_init();

	for (size_t i = 0; i < NSIZES; i++) {
		test_first_and_in_order(sizes[i]);
		test_edges(sizes[i]);
		test_check_is_read_only(sizes[i]);
		test_reorder(sizes[i]);
		test_big_jump(sizes[i]);
		test_jump_size_minus_one(sizes[i]);
	}
	test_disabled();

	test_esn(64);
	test_esn(4096);
	test_esn_no_window();

	return check_summary();
}
