#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# SA scale benchmark: what it costs to hold many SAs, through the namespace
# topology of scripts/topo.sh (h1 - gw1 - sw - gw2 - h2) with the static
# tunnel of the throughput benchmark.  For each size N (default 1, 1000
# and 100000) the gateways carry N SA pairs: the tunnel's, and N - 1 more
# towards one /32 each of 198.18.0.0/15 (an outbound SA, an inbound SA and
# the policy that selects the pair: outbound on gw1, inbound on gw2), with
# max_sas and max_policies sized for N.
#
#   install  N pairs (2N SAs and N policies) into a fresh gw1 daemon with
#            "xdpsec batch" over one connection: requests per second; for
#            N <= BENCH_SA_PROC_MAX also with one "xdpsec" process each.
#   memory   the daemon's VmRSS and the bytes_memlock of its maps, before
#            and after that install.  Preallocated arrays count their whole
#            capacity, so the maps' figure per pair is the difference to
#            the N = 1 daemon: what sizing for N and filling it costs.
#   tcp      single-stream TCP h1 -> h2 through the tunnel with the N - 1
#            other pairs installed on both gateways, as a ratio to N = 1.
#            Each run must move at least what iperf3 received through
#            gw1's outbound and gw2's inbound tunnel SA.
#   spread   UDP from h1 to every one of the N - 1 other destinations in
#            turn (to h2 for N = 1), for BENCH_SA_SECONDS: packets per
#            second that gw2 decrypted, as a ratio to N = 1, next to what
#            h1 sent (one Python sender: it may be the limit).  A first,
#            unmeasured run keys the contexts (a worker keys its context
#            of an SA with its first packet); what gw1's daemon grew by in
#            it is reported per pair.
#
# Medians of BENCH_SA_REPS (default 3) repetitions; TCP runs go round the
# sizes in turn.  Prints a table; $BUILD/bench/sa.json holds the same.
# BENCH_SA_SIZES="1 1000" runs fewer sizes, BENCH_SA_SECONDS sets the
# length of a TCP run (default 5).  Namespaces are named from BENCH_TOPO
# (default xbsa): $BENCH_TOPO<k>-h1 and so on.  Needs root; removes its
# namespaces and stops the processes it started on exit.
set -u
cd "$(dirname "$0")/.." || exit 1
BASE=${BENCH_TOPO:-xbsa}
export BUILD=${BUILD:-build}
. scripts/topo.sh
BENCH_NAME=bench-sa
. scripts/bench_lib.sh

SIZES=${BENCH_SA_SIZES:-1 1000 100000}
REPS=${BENCH_SA_REPS:-3}
SECONDS_TCP=${BENCH_SA_SECONDS:-5}
PROC_MAX=${BENCH_SA_PROC_MAX:-1000}
ALG=aes-gcm-128
H2_ADDR=203.0.113.10
OUT=$BUILD/bench
MEM_TARGET=4096		# bytes per SA pair, daemon and maps
RATIO_TARGET=0.90

WORK=
TOPOS=()	# every topology it built
GW1_PIDS=()	# topology index -> the gw1 daemon of the TCP phase

say() { echo "bench-sa: $*" >&2; }

cleanup() {
	local t
	pids_stop
	for t in "${TOPOS[@]}"; do
		TOPO=$t topo_down
	done
	[ -n "$WORK" ] && rm -rf "$WORK"
}

# Writes the batch files gw1.batch and gw2.batch for pairs 1..COUNT into
# DIR: pair i protects 198.18.0.0/15 host i, with SPIs of its own.
pairs_write() {	# DIR COUNT KEYFILE
	python3 - "$@" <<-'EOF'
	import sys
	d, count, key = sys.argv[1], int(sys.argv[2]), sys.argv[3]
	gw1, gw2 = "198.51.100.1", "198.51.100.2"
	lan = "192.0.2.0/24"
	common = f"mode tunnel alg aes-gcm-128 key_file {key}"
	with open(f"{d}/gw1.batch", "w") as f1, open(f"{d}/gw2.batch", "w") as f2:
	    for i in range(1, count + 1):
	        a = f"198.{18 + (i >> 16)}.{(i >> 8) & 255}.{i & 255}/32"
	        out_spi, in_spi = 0x100000 + i, 0x400000 + i
	        f1.write(f"sa add o{i} dir out spi {out_spi} src {gw1} dst {gw2} "
	                 f"{common} sel_src {lan} sel_dst {a}\n"
	                 f"sa add i{i} dir in spi {in_spi} src {gw2} dst {gw1} "
	                 f"{common} sel_src {a} sel_dst {lan}\n"
	                 f"policy add p{i} dir out src {lan} dst {a} "
	                 f"action protect sa o{i}\n")
	        f2.write(f"sa add i{i} dir in spi {out_spi} src {gw1} dst {gw2} "
	                 f"{common} sel_src {lan} sel_dst {a}\n"
	                 f"sa add o{i} dir out spi {in_spi} src {gw2} dst {gw1} "
	                 f"{common} sel_src {a} sel_dst {lan}\n"
	                 f"policy add p{i} dir in src {lan} dst {a} "
	                 f"action protect sa i{i}\n")
	EOF
}

# The tunnel configurations for N pairs in DIR, with room for them.
configs_write() {	# DIR N
	local gw
	topo_tunnel_configs "$1" "$ALG" 4 || return 1
	for gw in gw1 gw2; do
		sed -i "/^\[daemon\]/a max_sas = $((2 * $2 + 16))\\
max_policies = $(($2 + 16))" "$1/$gw.conf" || return 1
	done
}

# Starts the daemon of GW from DIR; appends its PID to PIDS.
daemon_up() {	# GW DIR
	local rc
	xdpsecd_start "$1" "$2/$1.conf" "$2/$1.log" 9>&-
	rc=$?
	PIDS+=("$XDPSECD_PID")
	[ $rc -eq 0 ] || cat "$2/$1.log" >&2
	return $rc
}

# Prints "RSS_BYTES MAPS_BYTES" of the daemon of GW (PID).
daemon_mem() {	# GW PID
	local rss ids id maps=0 b
	rss=$(awk '/^VmRSS:/ { print $2 * 1024 }' "/proc/$2/status")
	ids=$(xdpsec_cli "$1" --json status | python3 -c \
		'import json,sys; print(*[m["id"] for m in json.load(sys.stdin)["maps"]])')
	for id in $ids; do
		b=$(bpftool map show id "$id" -j | python3 -c \
			'import json,sys; print(json.load(sys.stdin).get("bytes_memlock", 0))')
		maps=$((maps + b))
	done
	echo "$rss $maps"
}

now() { date +%s.%N; }

# Phase 1: install N pairs into a fresh gw1 daemon, timed, with memory
# before and after.
install_once() {	# N K REP
	local n=$1 dir=$WORK/t$2 t0 t1 before after i pid
	configs_write "$dir" "$n" || return 1
	daemon_up gw1 "$dir" || return 1
	pid=$XDPSECD_PID
	# An empty batch: the daemon trims its heap after one, as after ours.
	xdpsec_cli gw1 batch /dev/null > /dev/null || return 1
	before=$(daemon_mem gw1 "$pid")
	t0=$(now)
	xdpsec_cli gw1 batch "$dir/pairs/gw1.batch" > "$dir/batch.out" \
		2>&1 || { cat "$dir/batch.out" >&2; return 1; }
	t1=$(now)
	after=$(daemon_mem gw1 "$pid")
	sample "$n" batch_s "$(echo "$t1 - $t0" | bc -l)"
	sample "$n" rss_before "${before% *}"
	sample "$n" rss_after "${after% *}"
	sample "$n" maps_before "${before#* }"
	sample "$n" maps_after "${after#* }"
	pids_kill "$pid"

	[ "$n" -le "$PROC_MAX" ] || return 0
	daemon_up gw1 "$dir" || return 1
	pid=$XDPSECD_PID
	t0=$(now)
	while read -r i; do
		# shellcheck disable=SC2086
		xdpsec_cli gw1 $i > /dev/null || return 1
	done < "$dir/pairs/gw1.batch"
	t1=$(now)
	sample "$n" procs_s "$(echo "$t1 - $t0" | bc -l)"
	pids_kill "$pid"
}

# Phase 2, setting up: both gateways with the tunnel and N - 1 more
# pairs, an iperf3 server on h2.
tcp_setup() {	# N K
	local n=$1 dir=$WORK/t$2 gw i
	configs_write "$dir" "$n" || return 1
	pairs_write "$dir/pairs" $((n - 1)) "$dir/pairs/k.key" || return 1
	for gw in gw1 gw2; do
		daemon_up $gw "$dir" || return 1
		[ $gw = gw1 ] && GW1_PIDS[$2]=$XDPSECD_PID
		if [ "$n" -gt 1 ]; then
			xdpsec_cli $gw batch "$dir/pairs/$gw.batch" \
				> /dev/null || return 1
		fi
	done
	for i in $(seq 50); do
		nsx h1 ping -c1 -W1 "$H2_ADDR" > /dev/null 2>&1 && break
		sleep 0.2
	done
	ip netns exec "$(ns h2)" iperf3 -s > "$dir/iperf-server.log" 2>&1 \
		9>&- &
	PIDS+=($!)
	for i in $(seq 25); do
		nsx h2 ss -Hltn 'sport = :5201' | grep -q . && return 0
		sleep 0.2
	done
	return 1
}

sa_bytes() {	# GW SA
	xdpsec_cli "$1" --json sa list "$2" | python3 -c \
		'import json,sys; print(json.load(sys.stdin)[0]["bytes"])'
}

# One TCP run; fails unless the tunnel's SAs carried what iperf3 received.
tcp_once() {	# N K
	local n=$1 dir=$WORK/t$2 o0 i0 o1 i1 bps bytes
	o0=$(sa_bytes gw1 out4) && i0=$(sa_bytes gw2 in4) || return 1
	nsx h1 timeout $((SECONDS_TCP + 20)) iperf3 -c "$H2_ADDR" -J \
		-t "$SECONDS_TCP" > "$dir/iperf.json" 2>&1
	o1=$(sa_bytes gw1 out4) && i1=$(sa_bytes gw2 in4) || return 1
	read -r bps bytes < <(python3 -c '
import json, sys
e = json.load(open(sys.argv[1]))["end"]["sum_received"]
print(e["bits_per_second"], e["bytes"])' "$dir/iperf.json") || {
		say "N=$n: iperf3: $(head -c 200 "$dir/iperf.json")"
		return 1
	}
	if [ $((o1 - o0)) -lt "$bytes" ] || [ $((i1 - i0)) -lt "$bytes" ]
	then
		say "N=$n: the tunnel SAs moved $((o1 - o0)) and $((i1 - i0)) bytes, iperf3 received $bytes"
		return 1
	fi
	sample "$n" tcp_gbps "$(echo "$bps / 10^9" | bc -l)"
}

# The UDP sender of the spread runs: N - 1 destinations, SECONDS; prints
# how many packets it sent.
udp_sender_write() {
	cat > "$WORK/udp_send.py" <<-'EOF'
	import socket, sys, time
	n, secs = int(sys.argv[1]), float(sys.argv[2])
	dsts = [f"198.{18 + (i >> 16)}.{(i >> 8) & 255}.{i & 255}"
	        for i in range(1, n)] or ["203.0.113.10"]
	s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
	payload, end, i, sent = b"x" * 64, time.monotonic() + secs, 0, 0
	while time.monotonic() < end:
	    for d in dsts[i:i + 256]:
	        try:
	            s.sendto(payload, (d, 9))
	            sent += 1
	        except OSError:
	            pass
	    i = (i + 256) % len(dsts)
	print(sent)
	EOF
}

# gw's counter NAME.
counter() {	# GW NAME
	xdpsec_cli "$1" --json stats | python3 -c \
		'import json,sys; print(json.load(sys.stdin)["counters"].get(sys.argv[1], 0))' "$2"
}

# UDP to many destinations, one SA pair each; bounded by SECONDS_TCP.
# WARM set: a run that keys every context, recorded as memory only.
spread_once() {	# N K [WARM]
	local n=$1 pid=${GW1_PIDS[$2]} e0 d0 e1 d1 r0 r1 sent
	r0=$(awk '/^VmRSS:/ { print $2 * 1024 }' "/proc/$pid/status")
	e0=$(counter gw1 esp_encrypted) && d0=$(counter gw2 esp_decrypted) ||
		return 1
	sent=$(nsx h1 timeout $((SECONDS_TCP + 20)) python3 "$WORK/udp_send.py" \
		"$n" "$SECONDS_TCP") || return 1
	sleep 0.5	# what is still in flight
	e1=$(counter gw1 esp_encrypted) && d1=$(counter gw2 esp_decrypted) ||
		return 1
	r1=$(awk '/^VmRSS:/ { print $2 * 1024 }' "/proc/$pid/status")
	[ $((d1 - d0)) -gt 0 ] || { say "N=$n: gw2 decrypted nothing"; return 1; }
	if [ -n "${3:-}" ]; then
		sample "$n" keyed_rss_growth "$((r1 - r0))"
		return 0
	fi
	sample "$n" spread_sent_pps "$(echo "$sent / $SECONDS_TCP" | bc -l)"
	sample "$n" spread_enc_pps "$(echo "($e1 - $e0) / $SECONDS_TCP" | bc -l)"
	sample "$n" spread_dec_pps "$(echo "($d1 - $d0) / $SECONDS_TCP" | bc -l)"
}

# The sizes' indexes, starting at REP modulo their count: each run goes
# round them from another place, so no size always follows the same.
rotated() {	# REP COUNT
	local i
	for i in $(seq 0 $(($2 - 1))); do
		echo $(((i + $1) % $2))
	done
}

report() {
	python3 - "$WORK/samples" "$OUT/sa.json" "$MEM_TARGET" \
		"$RATIO_TARGET" <<-'EOF'
	import json, statistics, sys
	samples, out = sys.argv[1], sys.argv[2]
	mem_target, ratio_target = int(sys.argv[3]), float(sys.argv[4])
	meta, rows = {}, {}
	for line in open(samples):
	    n, k, v = line.rstrip("\n").split("\t")
	    if n == "-":
	        meta[k] = v
	        continue
	    rows.setdefault(int(n), {}).setdefault(k, []).append(float(v))
	med = lambda r, k: statistics.median(r[k]) if r.get(k) else None
	res = []
	base_maps = med(rows.get(1, {}), "maps_after")
	base_tcp = med(rows.get(1, {}), "tcp_gbps")
	base_spread = med(rows.get(1, {}), "spread_dec_pps")
	for n in sorted(rows):
	    r = rows[n]
	    d = {"n": n, "sas": 2 * n, "policies": n}
	    bs = med(r, "batch_s")
	    if bs:
	        d["install_batch_s"] = bs
	        d["install_per_s"] = 3 * n / bs
	    ps = med(r, "procs_s")
	    if ps:
	        d["install_procs_s"] = ps
	        d["install_procs_per_s"] = 3 * n / ps
	    for k in ("rss_before", "rss_after", "maps_before", "maps_after"):
	        d[k] = med(r, k)
	    if d["rss_after"] is not None:
	        d["rss_per_pair"] = (d["rss_after"] - d["rss_before"]) / n
	        d["maps_filled_per_pair"] = \
	            (d["maps_after"] - d["maps_before"]) / n
	    if n > 1 and base_maps is not None and d["maps_after"] is not None:
	        d["maps_sized_per_pair"] = (d["maps_after"] - base_maps) / (n - 1)
	        d["bytes_per_pair"] = d["rss_per_pair"] + d["maps_sized_per_pair"]
	        d["bytes_per_sa"] = d["bytes_per_pair"] / 2
	        d["memory_ok"] = d["bytes_per_pair"] <= mem_target
	    d["tcp_gbps"] = r.get("tcp_gbps", [])
	    d["tcp_gbps_median"] = med(r, "tcp_gbps")
	    if base_tcp and d["tcp_gbps_median"]:
	        d["tcp_ratio"] = d["tcp_gbps_median"] / base_tcp
	        d["tcp_ok"] = d["tcp_ratio"] >= ratio_target
	    for k in ("spread_sent_pps", "spread_enc_pps", "spread_dec_pps"):
	        d[k] = med(r, k)
	    if d["spread_sent_pps"]:
	        d["spread_delivered"] = d["spread_dec_pps"] / d["spread_sent_pps"]
	    if r.get("keyed_rss_growth") and n > 1:
	        d["keyed_rss_growth"] = r["keyed_rss_growth"][0]
	        d["keyed_bytes_per_pair"] = d["keyed_rss_growth"] / (n - 1)
	    if base_spread and d["spread_dec_pps"]:
	        d["spread_ratio"] = d["spread_dec_pps"] / base_spread
	    res.append(d)
	doc = dict(meta, targets={"bytes_per_pair_max": mem_target,
	                          "tcp_ratio_min": ratio_target}, sizes=res)
	json.dump(doc, open(out, "w"), indent=2)
	def f(v, fmt):
	    return format(v, fmt) if v is not None else \
	        format("-", ">" + fmt.split(".")[0])
	print(f"{'N':>7} {'batch/s':>9} {'procs/s':>8} {'RSS/pair':>9} "
	      f"{'maps/pair':>9} {'B/pair':>7} {'TCP Gb/s':>9} {'ratio':>6} "
	      f"{'UDP kpps':>9} {'ratio':>6} {'deliv':>6} {'keyed/pair':>10}")
	for d in res:
	    kpps = d["spread_dec_pps"] / 1000 if d.get("spread_dec_pps") \
	        else None
	    print(f"{d['n']:>7} {f(d.get('install_per_s'), '9.0f')} "
	          f"{f(d.get('install_procs_per_s'), '8.0f')} "
	          f"{f(d.get('rss_per_pair'), '9.0f')} "
	          f"{f(d.get('maps_sized_per_pair'), '9.0f')} "
	          f"{f(d.get('bytes_per_pair'), '7.0f')} "
	          f"{f(d.get('tcp_gbps_median'), '9.2f')} "
	          f"{f(d.get('tcp_ratio'), '6.2f')} "
	          f"{f(kpps, '9.1f')} {f(d.get('spread_ratio'), '6.2f')} "
	          f"{f(d.get('spread_delivered'), '6.2f')} "
	          f"{f(d.get('keyed_bytes_per_pair'), '10.0f')}")
	print("install: requests per second (SAs + policies); memory per SA "
	      "pair (2 SAs + 1 policy): daemon RSS growth, and map bytes of "
	      "a daemon sized and filled for N beyond the N = 1 one; UDP: "
	      "packets per second gw2 decrypted with h1 sending to every "
	      "pair in turn, and the share of what h1 sent; keyed/pair: "
	      "gw1's growth once they carried traffic")
	bad = [d["n"] for d in res if d.get("memory_ok") is False or
	       d.get("tcp_ok") is False]
	sys.exit(1 if bad else 0)
	EOF
}

main() {
	local n k rep rc t0
	local -a sizes
	[ "$(id -u)" -eq 0 ] || die "builds network namespaces: run as root"
	[ -x "$BUILD/xdpsecd" ] || die "build first: make BUILD=$BUILD all"
	exec 9> "/run/xdpsec-bench-$BASE.lock"
	flock -n 9 || die "another benchmark with BENCH_TOPO=$BASE is running"
	WORK=$(mktemp -d /tmp/xdpsec-bench-sa.XXXXXX)
	trap cleanup EXIT
	trap 'exit 1' INT TERM
	mkdir -p "$OUT"
	udp_sender_write
	read -ra sizes <<< "$SIZES"
	t0=$(date +%s)
	sample - date "$(date -u '+%Y-%m-%d %H:%M UTC')"
	sample - kernel "$(uname -r)"
	sample - cpus "$(nproc)"
	sample - reps "$REPS"
	sample - tcp_seconds "$SECONDS_TCP"
	sample - alg "$ALG"

	# One topology per size, all up at once, so that TCP runs can take
	# turns.
	for k in "${!sizes[@]}"; do
		n=${sizes[k]}
		[ "$n" -ge 1 ] 2>/dev/null || die "bad size '$n'"
		export TOPO=$BASE$k
		TOPOS+=("$TOPO")
		topo_up || die "topology $TOPO did not come up"
		mkdir -p "$WORK/t$k/pairs"
		topo_genkey 20 "$WORK/t$k/pairs/k.key"
		pairs_write "$WORK/t$k/pairs" "$n" "$WORK/t$k/pairs/k.key" ||
			die "cannot write the batch files"
	done

	for rep in $(seq "$REPS"); do
		for k in "${!sizes[@]}"; do
			export TOPO=$BASE$k
			say "install ${sizes[k]} pairs, run $rep/$REPS"
			install_once "${sizes[k]}" "$k" "$rep" ||
				die "installing ${sizes[k]} pairs failed"
		done
	done

	for k in "${!sizes[@]}"; do
		export TOPO=$BASE$k
		say "TCP set-up with ${sizes[k]} pairs"
		tcp_setup "${sizes[k]}" "$k" || die "TCP set-up for N=${sizes[k]} failed"
	done
	for rep in $(seq "$REPS"); do
		for k in $(rotated "$rep" "${#sizes[@]}"); do
			export TOPO=$BASE$k
			say "TCP with ${sizes[k]} pairs, run $rep/$REPS"
			tcp_once "${sizes[k]}" "$k" ||
				die "TCP with ${sizes[k]} pairs failed"
		done
	done
	for k in "${!sizes[@]}"; do
		export TOPO=$BASE$k
		say "UDP spread over ${sizes[k]} pairs: keying every SA"
		spread_once "${sizes[k]}" "$k" warm ||
			die "UDP spread over ${sizes[k]} pairs failed"
	done
	for rep in $(seq "$REPS"); do
		for k in $(rotated "$rep" "${#sizes[@]}"); do
			export TOPO=$BASE$k
			say "UDP spread over ${sizes[k]} pairs, run $rep/$REPS"
			spread_once "${sizes[k]}" "$k" ||
				die "UDP spread over ${sizes[k]} pairs failed"
		done
	done
	sample - wall_seconds $(($(date +%s) - t0))
	report
	rc=$?
	say "$(($(date +%s) - t0)) s; JSON in $OUT/sa.json"
	return $rc
}

main "$@"
