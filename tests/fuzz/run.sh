#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Fuzzes the IKE message codec for FUZZ_TEST_SECONDS (30 by default) from
# a copy of the seed corpus, and prints "1 passed, 0 failed" when no input
# crashed it.  On a crash it prints the fuzzer's report and the path of the
# input that reproduces it, kept under $BUILD/fuzz/.
cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
secs=${FUZZ_TEST_SECONDS:-30}
bin=$BUILD/fuzz/fuzz_ike_msg
seeds=tests/fuzz/corpus/ike_msg

# libFuzzer stops itself after -max_total_time; timeout is for a hang.
grace=60

if [ ! -x "$bin" ]; then
	echo "FAIL - $bin not built"
	echo "0 passed, 1 failed"
	exit 1
fi

work=$(mktemp -d /tmp/xdpsec-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/corpus" "$BUILD/fuzz/artifacts"
cp "$seeds"/* "$work/corpus/"

timeout --signal=KILL $((secs + grace)) "$bin" -max_total_time="$secs" \
	-timeout=10 -print_final_stats=1 \
	-artifact_prefix="$BUILD/fuzz/artifacts/" "$work/corpus" \
	>"$work/log" 2>&1
rc=$?

runs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+)/\1/p' \
	"$work/log")
if [ "$rc" -eq 0 ]; then
	echo "ok - fuzz_ike_msg: ${runs:-?} inputs in $secs s, no crash"
	echo "1 passed, 0 failed"
	exit 0
fi

tail -n 40 "$work/log"
[ "$rc" -eq 137 ] && echo "fuzzer killed after $((secs + grace)) s"
repro=$(sed -nE 's/.*Test unit written to (.*)$/\1/p' "$work/log" | tail -n1)
echo "FAIL - fuzz_ike_msg exited $rc; reproducer: ${repro:-none written}"
[ -n "$repro" ] && echo "replay with: $bin $repro"
echo "0 passed, 1 failed"
exit 1
