#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Multi-queue scaling of xdpsec: the namespace topology of scripts/topo.sh
# with a static AES-GCM-128 tunnel between gw1 and gw2, built once with one
# queue per veth (one worker per interface and gateway) and once with two
# (two workers per interface).  Every round measures both setups in turn,
# the order swapped from round to round, each on a fresh topology: iperf3
# h1 -> h2 with four streams and with one.
#
# On veth a frame arrives on the RX queue whose number the sender's TX
# queue has, and h1's stack picks that queue by flow hash: four streams
# often all land on one queue (BENCH_SPREAD=0, the default, leaves it so).
# With BENCH_SPREAD=1 the four streams are two iperf3 clients of two
# streams each, pinned to CPU 0 and CPU 1, and h1's TX queue q serves CPU q
# (XPS) during that test, so that each of gw1's LAN workers gets a share.
# XPS also moves a flow's packets that TCP sends from softirq on the other
# CPU, so a stream is no longer held to one queue: not what a NIC's RSS
# does, and a source of reordering of its own.
#
# A test counts only if its bytes crossed the wire and went through gw1's
# outbound SA and gw2's inbound SA.  Beside the rate, each test records how
# the traffic spread over the queues: per RX queue, the frames XDP
# redirected on gw1's LAN side (plaintext to encrypt) and on gw2's WAN side
# (ESP to decrypt), and per worker what it encrypted or decrypted; and the
# anti-replay drops on gw2 per million ESP packets.
#
# BENCH_PERF=1 adds one more two-queue setup, spread as with
# BENCH_SPREAD=1, with the daemons of $BENCH_PERF_BUILD (default
# $BUILD/prof: "make bench-mq BENCH_PERF=1" builds it with frame pointers
# and small functions kept out of line) under "perf record -g" during a
# four-stream test, and reports the share of each daemon's samples spent in
# sequence numbers, the replay window and its lock.  perf.data and the
# reports stay in $BUILD/bench.
#
# BENCH_RUNS (3) rounds, BENCH_SECONDS (5) s per test, BENCH_TOPO (xbmq)
# names the namespaces, BENCH_REPLAY_WINDOW sets both gateways' window.
# Prints a table; $BUILD/bench/mq.json holds the same.  Needs root; removes
# its namespaces and stops the processes it started on exit.
set -u
cd "$(dirname "$0")/.." || exit 1
export TOPO=${BENCH_TOPO:-xbmq}
export BUILD=${BUILD:-build}
. scripts/topo.sh
BENCH_NAME=bench-mq
. scripts/bench_lib.sh

STATS="python3 scripts/bench_mq.py"
OUT=$BUILD/bench
RUNS=${BENCH_RUNS:-3}
SECONDS_TCP=${BENCH_SECONDS:-5}
PERF=${BENCH_PERF:-0}
PERF_BUILD=${BENCH_PERF_BUILD:-$BUILD/prof}
SPREAD=${BENCH_SPREAD:-0}
WINDOW=${BENCH_REPLAY_WINDOW:-}
ALG=aes-gcm-128
H2_ADDR=203.0.113.10
# Where sequence numbers and the replay window cost cycles.  libc has no
# frame pointers, so a sample in pthread_spin_lock() names the caller's
# caller: the spinlock's own share is counted for all its callers (the TX
# and frame pool locks too), an upper bound for the replay lock.
PERF_SYMS=esp_out_seq,esp_in_seq,replay_checked,replay_commit,replay_check
PERF_SYMS=$PERF_SYMS,replay_update,replay_esn_infer,sa_account
PERF_SYMS=$PERF_SYMS,pthread_spin_lock,pthread_spin_unlock

WORK=

cleanup() {
	pids_stop
	topo_down
	[ -n "$WORK" ] && rm -rf "$WORK"
}

# The daemon's default window, as the build has it.
replay_default() {
	sed -n 's/^\tXDPSEC_REPLAY_DEFAULT = \([0-9]*\),.*/\1/p' \
		include/xdpsec_common.h
}

reachable() { nsx h1 ping -c1 -W1 "$H2_ADDR" >/dev/null 2>&1; }

# on: h1's TX queue q carries what CPU q % ncpus sends; off: no XPS.
xps_spread() {	# QUEUES on|off
	local q ncpu mask=0
	ncpu=$(nproc)
	for q in $(seq 0 $(($1 - 1))); do
		[ "$2" = on ] && mask=$((1 << (q % ncpu)))
		nsx h1 sh -c "printf '%x' $mask > \
			/sys/class/net/eth0/queues/tx-$q/xps_cpus" || return 1
	done
}

# A fresh topology with QUEUES queues per veth, xdpsecd from DIR on both
# gateways (their PIDs in GW1_PID and GW2_PID) and two iperf3 servers on
# h2.
setup_up() {	# QUEUES DIR
	local gw i port conf=$WORK/conf
	TOPO_QUEUES=$1 topo_up || { echo "topology did not come up"; return 1; }
	topo_tunnel_configs "$conf" "$ALG" 4 || return 1
	if [ -n "$WINDOW" ]; then
		sed -i "/^\[daemon\]\$/a replay_window = $WINDOW" \
			"$conf/gw1.conf" "$conf/gw2.conf"
	fi
	for gw in gw1 gw2; do
		BUILD=$2 xdpsecd_start $gw "$conf/$gw.conf" "$WORK/$gw.log" 9>&-
		i=$?
		PIDS+=("$XDPSECD_PID")
		eval "${gw^^}_PID=$XDPSECD_PID"
		[ $i -eq 0 ] || { tail -n 3 "$WORK/$gw.log"; return 1; }
	done
	for i in $(seq 25); do
		reachable && break
		sleep 0.2
	done
	reachable || { echo "h2 unreachable from h1"; return 1; }
	# Not through nsx: $! must be iperf3 itself.  fd 9 is the lock.
	for port in 5201 5202; do
		ip netns exec "$(ns h2)" iperf3 -s -p $port \
			> "$WORK/iperf-server-$port.log" 2>&1 9>&- &
		PIDS+=($!)
	done
	for i in $(seq 25); do
		[ "$(nsx h2 ss -Hltn 'sport >= :5201 and sport <= :5202' |
			wc -l)" = 2 ] && break
		sleep 0.2
	done
	$STATS check "$TOPO" "$2" "$1" "$ALG" 2>&1
}

# One iperf3 client of STREAMS streams to server PORT, on CPU (or any).
iperf_client() {	# STREAMS PORT OUT [CPU]
	local pin=()
	[ -n "${4:-}" ] && pin=(taskset -c "$4")
	nsx h1 timeout $((SECONDS_TCP + 20)) "${pin[@]}" iperf3 -c "$H2_ADDR" \
		-p "$2" -J -t "$SECONDS_TCP" -P "$1" > "$3" 2>&1
}

# One iperf3 test; its samples go to SETUP.  Fails with the reason.
measure_tcp() {	# SETUP STREAMS DIR
	local json=$WORK/iperf.json lines files
	$STATS snapshot "$TOPO" "$3" "$WORK/before.json" || return 1
	if [ "$SPREAD" = 1 ] && [ "$2" -gt 1 ]; then
		# Two clients, each on its own CPU; waited for here.
		iperf_client $(($2 / 2)) 5201 "$json.0" 0 &
		iperf_client $(($2 - $2 / 2)) 5202 "$json.1" 1
		wait $!
		files=$json.0,$json.1
	else
		iperf_client "$2" 5201 "$json"
		files=$json
	fi
	$STATS snapshot "$TOPO" "$3" "$WORK/after.json" || return 1
	lines=$($STATS tcp "$1" "$2" "$files" "$WORK/before.json" \
		"$WORK/after.json" 2>&1) || { echo "$lines"; return 1; }
	echo "$lines" >> "$WORK/samples"
}

declare -A FAILED=()	# setup -> why; a failed setup is not run again

setup_measure() {	# QUEUES
	local xps=false
	setup_up "$1" "$BUILD" || return 1
	[ "$SPREAD" = 1 ] && [ "$1" -gt 1 ] && xps=true
	if $xps; then
		xps_spread "$1" on || { echo "cannot set XPS on h1"; return 1; }
	fi
	measure_tcp "q$1" 4 "$BUILD" || return 1
	if $xps; then
		xps_spread "$1" off || { echo "cannot clear XPS on h1"; return 1; }
	fi
	measure_tcp "q$1" 1 "$BUILD" || return 1
	$STATS check "$TOPO" "$BUILD" "$1" "$ALG" 2>&1
}

setup_run() {	# QUEUES RUN
	local s=q$1 why
	[ -n "${FAILED[$s]:-}" ] && return
	printf 'bench-mq: run %s/%s %s queue(s) ' "$2" "$RUNS" "$1" >&2
	if setup_measure "$1" > "$WORK/setup.out"; then
		echo "done" >&2
	else
		why=$(tail -n 1 "$WORK/setup.out")
		FAILED[$s]=${why:-failed}
		echo "FAILED: ${FAILED[$s]}" >&2
	fi
	pids_stop
	topo_down
}

# Records both daemons while four streams run through two queues, spread
# over both (see BENCH_SPREAD): the workers share the busy SA.
perf_measure() {
	local gw pid rec=$WORK/perf.out SPREAD=1
	setup_up 2 "$PERF_BUILD" || return 1
	xps_spread 2 on || { echo "cannot set XPS on h1"; return 1; }
	perf record -F 4999 -g -o "$OUT/mq-perf.data" \
		-p "$GW1_PID,$GW2_PID" -- sleep "$((SECONDS_TCP + 1))" \
		> "$rec" 2>&1 9>&- &
	pid=$!
	PIDS+=("$pid")
	measure_tcp perf-run 4 "$PERF_BUILD" || return 1
	wait "$pid" || { tail -n 3 "$rec"; return 1; }
	for gw in gw1 gw2; do
		pid=${gw^^}_PID
		perf report -i "$OUT/mq-perf.data" --children --sort sym \
			-g none --stdio --percent-limit 0 --pid "${!pid}" \
			--percentage relative \
			> "$OUT/mq-perf-$gw.txt" 2>/dev/null || return 1
	done
	$STATS perf "$PERF_SYMS" "$OUT/mq-perf-gw1.txt" \
		"$OUT/mq-perf-gw2.txt" >> "$WORK/samples"
}

perf_run() {
	local why
	printf 'bench-mq: profile, 2 queues ' >&2
	if perf_measure > "$WORK/setup.out"; then
		echo "done" >&2
	else
		why=$(tail -n 1 "$WORK/setup.out")
		echo "FAILED: ${why:-failed}" >&2
		sample perf status "${why:-failed}"
	fi
	pids_stop
	topo_down
}

main() {
	local run q t0 rc order
	[ "$(id -u)" -eq 0 ] || die "builds network namespaces: run as root"
	[ -x "$BUILD/xdpsecd" ] || die "build first: make BUILD=$BUILD all"
	if [ "$PERF" = 1 ]; then
		[ -x "$PERF_BUILD/xdpsecd" ] ||
			die "no profiling build in $PERF_BUILD: make bench-mq BENCH_PERF=1"
		command -v perf > /dev/null || die "perf is not installed"
	fi
	exec 9> "/run/xdpsec-bench-$TOPO.lock"
	flock -n 9 || die "another benchmark uses the names $TOPO-*"
	WORK=$(mktemp -d /tmp/xdpsec-bench-mq.XXXXXX)
	trap cleanup EXIT
	trap 'exit 1' INT TERM
	mkdir -p "$OUT"
	t0=$(date +%s)
	sample - date "$(date -u '+%Y-%m-%d %H:%M UTC')"
	sample - runs "$RUNS"
	sample - seconds "$SECONDS_TCP"
	sample - alg "$ALG"
	sample - replay_window "${WINDOW:-$(replay_default)}"
	sample - cpus "$(nproc)"
	sample - kernel "$(uname -r)"
	sample - spread "$SPREAD"
	# ABBA: drifts in the machine's other load fall on both setups alike.
	for run in $(seq "$RUNS"); do
		order="1 2"
		[ $((run % 2)) = 0 ] && order="2 1"
		for q in $order; do
			setup_run "$q" "$run"
		done
	done
	for q in 1 2; do
		sample "q$q" status "${FAILED[q$q]:-ok}"
	done
	if [ "$PERF" = 1 ]; then
		sample - perf_setup "2 queues, 4 streams, $PERF_BUILD"
		perf_run
	fi
	sample - wall_seconds $(($(date +%s) - t0))
	$STATS report "$WORK/samples" "$OUT/mq.json"
	rc=$?
	echo "bench-mq: $(($(date +%s) - t0)) s; JSON in $OUT/mq.json" >&2
	return $rc
}

main "$@"
