# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
# Helpers for the namespace scenarios: counting checks and the summary line
# that tests/run.sh adds up.

PASSED=0
FAILED=0
SKIPPED=0

pass() { PASSED=$((PASSED + 1)); echo "ok - $*"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL - $*"; }
skip() { SKIPPED=$((SKIPPED + 1)); echo "skip - $*"; }

# check DESCRIPTION COMMAND...: passes if the command succeeds.
check() {
	local desc=$1; shift
	if "$@"; then pass "$desc"; else fail "$desc"; fi
}

# check_not DESCRIPTION COMMAND...: passes if the command fails.
check_not() {
	local desc=$1; shift
	if "$@"; then fail "$desc"; else pass "$desc"; fi
}

summary() {
	echo "$PASSED passed, $FAILED failed, $SKIPPED skipped"
	[ "$FAILED" -eq 0 ]
}

need_root() {
	if [ "$(id -u)" -ne 0 ]; then
		echo "needs root"
		echo "0 passed, 1 failed"
		exit 1
	fi
}

# Waits until COMMAND succeeds, trying every 0.2 s at most TRIES times.
wait_for() {	# TRIES COMMAND...
	local tries=$1; shift
	while [ "$tries" -gt 0 ]; do
		"$@" && return 0
		tries=$((tries - 1))
		sleep 0.2
	done
	return 1
}
