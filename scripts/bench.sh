#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Throughput benchmark: the same traffic through the namespace topology of
# scripts/topo.sh (h1 - gw1 - sw - gw2 - h2, same MTUs), one row per way of
# connecting the two LANs, side by side in one run:
#
#   plain        the kernel routes, no XDP on the gateways;
#   xdp-pass     the same with a pass-through XDP program on the gateways'
#                interfaces (veth loses GRO and TSO under XDP: the ceiling
#                for any XDP data path);
#   aes-gcm-128, aes-gcm-256, chacha20-poly1305
#                xdpsecd on both gateways, a static ESP tunnel.
#
# Each run visits every row in turn; each visit builds a fresh topology and
# measures iperf3 h1 -> h2 with one and with four streams, ping RTTs at
# light load, and the CPU time the whole machine spent per GB during the
# one-stream test.  A row counts
# only if its traffic took the path the row names: each TCP test must move
# at least as many bytes across the wire (and, for xdpsec, through the
# outbound SA on gw1 and the inbound SA on gw2) as iperf3 received, and the
# gateways must carry exactly the XDP program the row says.  Otherwise the
# row is reported as failed, without figures, and the exit status is 1.
#
# Prints a table; $BUILD/bench/bench.json holds the same.  BENCH_QUICK=1:
# one run of 2 s per cell.  BENCH_ROWS="plain aes-gcm-128" runs a subset.
# BENCH_TOPO names the namespaces (default xbench), so two runs can differ.
# Needs root; removes its namespaces ($TOPO-*) and daemons on exit.
set -u
cd "$(dirname "$0")/.." || exit 1
export TOPO=${BENCH_TOPO:-xbench}
export BUILD=${BUILD:-build}
. scripts/topo.sh

STATS="python3 scripts/bench_stats.py"
OUT=$BUILD/bench
if [ "${BENCH_QUICK:-0}" = 1 ]; then
	RUNS=1 SECONDS_TCP=2 PINGS=50
else
	RUNS=3 SECONDS_TCP=5 PINGS=200
fi
PING_INTERVAL=0.02
ROWS=${BENCH_ROWS:-plain xdp-pass aes-gcm-128 aes-gcm-256 chacha20-poly1305}
H2_ADDR=203.0.113.10
GW_IFACES="gw1:lan gw1:wan gw2:wan gw2:lan"

WORK=
PIDS=()		# every process this script started and has not reaped

cleanup() {
	pids_stop
	topo_down
	[ -n "$WORK" ] && rm -rf "$WORK"
}

# Stops the processes in PIDS: SIGTERM, at most 5 s of grace, SIGKILL.
pids_stop() {
	local p i
	for p in "${PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in "${PIDS[@]}"; do
		for i in $(seq 50); do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	PIDS=()
}

die() { echo "bench: $*" >&2; exit 1; }

# One line of the samples file that bench_stats.py reports from.
sample() {	# ROW KEY VALUE
	printf '%s\t%s\t%s\n' "$1" "$2" "$3" >> "$WORK/samples"
}

# Busy jiffies of all CPUs: user + nice + system + irq + softirq.
cpu_busy() {
	local _cpu user nice sys _idle _iow irq soft _rest
	read -r _cpu user nice sys _idle _iow irq soft _rest < /proc/stat
	echo $((user + nice + sys + irq + soft))
}

# Mode and program name of the XDP program on interface IF of namespace NS.
xdp_prog() {	# NS IF
	ip -n "$(ns "$1")" -j -d link show dev "$2" | $STATS xdp-prog
}

# Fails unless every gateway interface carries program NAME ("-": none);
# records the mode in XDP_MODE.
xdp_expect() {	# NAME
	local gi mode prog
	XDP_MODE=
	for gi in $GW_IFACES; do
		read -r mode prog < <(xdp_prog "${gi%%:*}" "${gi#*:}")
		if [ "$prog" != "$1" ]; then
			echo "${gi/:/ }: XDP program '$prog', expected '$1'"
			return 1
		fi
		XDP_MODE=$mode
	done
}

# Counters print "NAME=BYTES".
wire_bytes() {	# the bridge's port towards gw1: what gw1 put on the wire
	echo "wire=$(nsx sw cat /sys/class/net/p1/statistics/rx_bytes)"
}

sa_bytes() {	# GW SA
	echo "$2@$1=$(xdpsec_cli "$1" --json sa list | $STATS sa-bytes "$2")"
}

# Each kind of row has three functions: KIND_up ARG builds it on a fresh
# topology, KIND_check ARG fails (with a reason on stdout) unless the
# gateways are set up as the row claims, KIND_counters prints byte counters
# ("NAME=BYTES", one a line) that the traffic of one test must each advance
# by at least what iperf3 received.

plain_up() { :; }
plain_check() { xdp_expect -; }
plain_counters() { wire_bytes; }

xdp-pass_up() {
	local gi
	for gi in $GW_IFACES; do
		ip -n "$(ns "${gi%%:*}")" link set dev "${gi#*:}" xdp \
			obj "$BUILD/bpf/xdp_pass.bpf.o" sec xdp || return 1
	done
}
xdp-pass_check() { xdp_expect xdp_pass; }
xdp-pass_counters() { wire_bytes; }

xdpsec_up() {	# ALG
	local gw rc
	topo_tunnel_configs "$WORK/$1" "$1" 4 || return 1
	for gw in gw1 gw2; do
		xdpsecd_start $gw "$WORK/$1/$gw.conf" "$WORK/$1/$gw.log" 9>&-
		rc=$?
		PIDS+=("$XDPSECD_PID")
		[ $rc -eq 0 ] || { cat "$WORK/$1/$gw.log" >&2; return 1; }
	done
}
xdpsec_check() {	# ALG
	local gw algs
	xdp_expect xdpsec_xdp || return 1
	for gw in gw1 gw2; do
		algs=$(xdpsec_cli $gw --json sa list | $STATS sa-algs)
		if [ "$algs" != "$1" ]; then
			echo "$gw: SAs use '$algs', expected '$1'"
			return 1
		fi
	done
}
xdpsec_counters() {
	wire_bytes
	sa_bytes gw1 out4
	sa_bytes gw2 in4
}

row_kind() {	# ROW
	case $1 in
	plain|xdp-pass) echo "$1" ;;
	aes-gcm-128|aes-gcm-256|chacha20-poly1305) echo xdpsec ;;
	*) return 1 ;;
	esac
}

row_label() {	# ROW
	case $1 in
	plain) echo "plain routing" ;;
	xdp-pass) echo "routing + XDP_PASS" ;;
	*) echo "xdpsec $1" ;;
	esac
}

# Fails with a reason unless every counter advanced by at least BYTES.
counters_advanced() {	# BYTES "NAME=BEFORE..." "NAME=AFTER..."
	local -a before after
	local i moved
	read -ra before <<< "$2"
	read -ra after <<< "$3"
	for i in "${!before[@]}"; do
		moved=$((${after[i]#*=} - ${before[i]#*=}))
		if [ "$moved" -lt "$1" ]; then
			echo "${before[i]%%=*} moved $moved bytes, iperf3 received $1"
			return 1
		fi
	done
}

# One iperf3 run of STREAMS streams; records its rate, and for one stream
# the CPU cost.  Fails with a reason if the traffic bypassed the row's path.
measure_tcp() {	# ROW KIND STREAMS
	local row=$1 kind=$2 n=$3 json=$WORK/iperf.json c0 c1 before after
	local bps bytes hz
	before=$("${kind}_counters" | tr '\n' ' ')
	c0=$(cpu_busy)
	nsx h1 timeout $((SECONDS_TCP + 20)) iperf3 -c "$H2_ADDR" -J \
		-t "$SECONDS_TCP" -P "$n" > "$json" 2>&1
	c1=$(cpu_busy)
	after=$("${kind}_counters" | tr '\n' ' ')
	read -r bps bytes < <($STATS iperf "$json") || {
		echo "iperf3 -P $n: $(head -c 200 "$json")"; return 1; }
	counters_advanced "$bytes" "$before" "$after" || return 1
	sample "$row" "tcp${n}_gbps" "$(echo "$bps / 10^9" | bc -l)"
	[ "$n" = 1 ] || return 0
	hz=$(getconf CLK_TCK)
	sample "$row" cpu_s_per_gb \
		"$(echo "($c1 - $c0) / $hz / ($bytes / 10^9)" | bc -l)"
}

measure_ping() {	# ROW
	local p50 p99 n
	nsx h1 timeout $((PINGS / 20 + 20)) ping -n -c "$PINGS" \
		-i "$PING_INTERVAL" -W 1 "$H2_ADDR" > "$WORK/ping.txt" 2>&1
	read -r p50 p99 n < <($STATS ping "$WORK/ping.txt") || {
		echo "ping: no replies"; return 1; }
	[ "$n" -ge $((PINGS * 9 / 10)) ] || {
		echo "ping: only $n of $PINGS replies"; return 1; }
	sample "$1" rtt_p50_ms "$p50"
	sample "$1" rtt_p99_ms "$p99"
}

reachable() { nsx h1 ping -c1 -W1 "$H2_ADDR" >/dev/null 2>&1; }

# One run of a row on a fresh topology: builds it, checks it, measures,
# checks again.  Prints why it failed.
row_measure() {	# ROW KIND
	local row=$1 kind=$2 i
	topo_up || { echo "topology did not come up"; return 1; }
	"${kind}_up" "$row" || { echo "setup failed"; return 1; }
	for i in $(seq 25); do
		reachable && break
		sleep 0.2
	done
	reachable || { echo "h2 unreachable from h1"; return 1; }
	# Not through nsx: $! must be iperf3 itself, not a subshell.  No
	# child keeps the lock (fd 9) once this script is gone.
	ip netns exec "$(ns h2)" iperf3 -s > "$WORK/iperf-server.log" \
		2>&1 9>&- &
	PIDS+=($!)
	for i in $(seq 25); do
		nsx h2 ss -Hltn 'sport = :5201' | grep -q . && break
		sleep 0.2
	done
	"${kind}_check" "$row" || return 1
	sample "$row" xdp "$XDP_MODE"
	measure_tcp "$row" "$kind" 1 || return 1
	measure_tcp "$row" "$kind" 4 || return 1
	measure_ping "$row" || return 1
	"${kind}_check" "$row"
}

declare -A FAILED=()	# row -> why; a failed row is not run again

row_run() {	# ROW RUN
	local row=$1 why
	[ -n "${FAILED[$row]:-}" ] && return
	printf 'bench: run %s/%s %-20s ' "$2" "$RUNS" "$row" >&2
	# Not in a subshell: PIDS must see what the row started.  The last
	# line the row printed says why it failed.
	if row_measure "$row" "$(row_kind "$row")" > "$WORK/row.out"; then
		echo "done" >&2
	else
		why=$(tail -n 1 "$WORK/row.out")
		FAILED[$row]=${why:-failed}
		echo "FAILED: ${FAILED[$row]}" >&2
	fi
	pids_stop
	topo_down
}

main() {
	local row run t0 rc
	[ "$(id -u)" -eq 0 ] || die "builds network namespaces: run as root"
	if [ ! -x "$BUILD/xdpsecd" ] || [ ! -f "$BUILD/bpf/xdp_pass.bpf.o" ]
	then
		die "build first: make BUILD=$BUILD all $BUILD/bpf/xdp_pass.bpf.o"
	fi
	exec 9> "/run/xdpsec-bench-$TOPO.lock"
	flock -n 9 || die "another benchmark is running"
	WORK=$(mktemp -d /tmp/xdpsec-bench.XXXXXX)
	trap cleanup EXIT
	trap 'exit 1' INT TERM
	mkdir -p "$OUT"
	t0=$(date +%s)
	sample - date "$(date -u '+%Y-%m-%d %H:%M UTC')"
	sample - runs "$RUNS"
	sample - seconds "$SECONDS_TCP"
	sample - pings "$PINGS"
	sample - ping_interval_ms "$(echo "$PING_INTERVAL * 1000" | bc)"
	sample - cpus "$(nproc)"
	sample - kernel "$(uname -r)"
	sample - lan_mtu "$TOPO_LAN_MTU"
	sample - wan_mtu "$TOPO_WAN_MTU"
	sample - queues "$TOPO_QUEUES"
	for row in $ROWS; do
		row_kind "$row" > /dev/null || die "unknown row '$row'"
		sample "$row" label "$(row_label "$row")"
	done
	# Round robin, so that drifts in the machine's other load fall on
	# every row alike.
	for run in $(seq "$RUNS"); do
		for row in $ROWS; do
			row_run "$row" "$run"
		done
	done
	for row in $ROWS; do
		sample "$row" status "${FAILED[$row]:-ok}"
	done
	sample - wall_seconds $(($(date +%s) - t0))
	$STATS report "$WORK/samples" "$OUT/bench.json"
	rc=$?
	echo "bench: $(($(date +%s) - t0)) s; JSON in $OUT/bench.json" >&2
	return $rc
}

main "$@"
