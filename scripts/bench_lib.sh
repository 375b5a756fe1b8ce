# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
# What the benchmark scripts share: the processes they started, their
# samples file, their exit on error.  Source after setting BENCH_NAME (for
# messages); WORK must name the run's directory before sample() is used.

PIDS=()		# every process the script started and has not reaped

die() { echo "$BENCH_NAME: $*" >&2; exit 1; }

# Stops the given processes, all started by this script: SIGTERM, up to
# 10 s of grace (a daemon holding many SAs takes a while to wipe them),
# then SIGKILL; and forgets them.
pids_kill() {	# PID...
	local p i keep=() gone
	for p in "$@"; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in "$@"; do
		for i in $(seq 100); do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	for p in "${PIDS[@]}"; do
		gone=0
		for i in "$@"; do
			[ "$p" = "$i" ] && gone=1
		done
		[ $gone = 1 ] || keep+=("$p")
	done
	PIDS=("${keep[@]}")
}

pids_stop() { pids_kill "${PIDS[@]}"; }

# One line of the samples file that the report is made from.
sample() {	# ROW KEY VALUE
	printf '%s\t%s\t%s\n' "$1" "$2" "$3" >> "$WORK/samples"
}
