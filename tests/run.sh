#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Runs every test binary, every namespace scenario and the fuzzers (for a
# bounded time), sums their "N passed, N failed[, N skipped]" lines and
# prints the total last.
# Usage: tests/run.sh [PATTERN]   (only tests whose name contains PATTERN)
cd "$(dirname "$0")/.." || exit 1
BUILD=${BUILD:-build}
pattern=${1:-}
total_pass=0 total_fail=0 total_skip=0

run_one() {
	local name=$1; shift
	local out rc line p f s
	[ -n "$pattern" ] && [[ "$name" != *"$pattern"* ]] && return
	echo "=== $name"
	out=$("$@" 2>&1); rc=$?
	echo "$out" | sed 's/^/    /'
	line=$(echo "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed' | tail -n1)
	if [ -z "$line" ]; then
		echo "    (no summary line, exit $rc): counted as one failure"
		total_fail=$((total_fail + 1))
		return
	fi
	p=$(echo "$line" | sed -E 's/^([0-9]+) passed.*/\1/')
	f=$(echo "$line" | sed -E 's/^[0-9]+ passed, ([0-9]+) failed.*/\1/')
	s=$(echo "$line" | sed -nE 's/.*, ([0-9]+) skipped.*/\1/p')
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "    (exit $rc with no failed check): counted as one failure"
		f=1
	fi
	total_pass=$((total_pass + p))
	total_fail=$((total_fail + f))
	total_skip=$((total_skip + ${s:-0}))
}

for t in "$BUILD"/tests/test_*; do
	[ -x "$t" ] || continue
	run_one "$(basename "$t")" "$t"
done
for t in tests/cli/*.sh tests/ns/*.sh tests/fuzz/*.sh; do
	[ -x "$t" ] || continue
	run_one "$(basename "$t" .sh)" "$t"
done

echo "$total_pass passed, $total_fail failed, $total_skip skipped"
[ "$total_fail" -eq 0 ]
