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
#   xdpsec-nocrypto
#                the aes-gcm-128 tunnel with a build of xdpsecd that does
#                no cipher work (make $BUILD/nocrypto/xdpsecd): I/O and
#                framing alone;
#   aes-gcm-128, aes-gcm-256, chacha20-poly1305
#                xdpsecd on both gateways, a static ESP tunnel (AES-GCM on
#                Intel's multi-buffer library when it is built in);
#   aes-gcm-128-openssl
#                the same with OpenSSL doing AES-GCM;
#   swan-aes-gcm-128, swan-aes-gcm-256, swan-chacha20-poly1305
#                strongSwan's charon on both gateways, ESP in UDP done in
#                charon (kernel-libipsec, over a TUN device of MTU 1400),
#                one CHILD_SA negotiated with IKEv2 and a PSK;
#   wireguard-go WireGuard in userspace (wireguard-go, over a TUN device as
#                wide as the LANs), configured with wg.
#
# The userspace tunnels replace the topology's routes between the LANs with
# routes into their TUN devices, so that nothing else connects the LANs.
#
# Each run visits every row in turn; each visit builds a fresh topology and
# measures, from h1 to h2: iperf3 TCP with one and with four streams, and
# the CPU time the whole machine spent per GB during the one-stream test;
# ping RTTs at light load; the UDP goodput of 1400-byte datagrams at the
# highest rate that loses under 0.1 % (a bounded search over short
# probes); and the rate of 64-byte datagrams sent as fast as iperf3 can,
# with their loss.  A row counts only if its traffic took the path the row
# names: each TCP test and each UDP probe must move at least as many bytes
# through each of the row's counters (the wire, and for the tunnels the
# outbound SA or peer on gw1 and the inbound one on gw2: xdpsec's SAs,
# charon's CHILD_SA, wireguard-go's peer) as iperf3 received, and the
# gateways must be set up as the row says.  Otherwise the row is reported
# as failed, without figures, and the exit status is 1.
#
# Prints tables (medians, spreads, each xdpsec row's ratios to every other
# row); $BUILD/bench/bench.json holds the same, and $BUILD/bench/bench.png
# charts it when matplotlib is there.  BENCH_QUICK=1: one run, 2 s per TCP
# cell, 1 s per UDP probe.  BENCH_ROWS="plain aes-gcm-128" runs a subset.
# BENCH_TOPO names the namespaces (default xbench), so two runs can differ.
# Needs root; removes its namespaces ($TOPO-*) and daemons on exit.
set -u
cd "$(dirname "$0")/.." || exit 1
export TOPO=${BENCH_TOPO:-xbench}
export BUILD=${BUILD:-build}
. scripts/topo.sh
. scripts/swan.sh
BENCH_NAME=bench
. scripts/bench_lib.sh

# The Debian packages that scripts/install-deps.sh installs (matplotlib for
# the chart) serve the system's interpreter, which need not be the first
# python3 on PATH.
PYTHON=/usr/bin/python3
[ -x "$PYTHON" ] || PYTHON=python3
STATS="$PYTHON scripts/bench_stats.py"
OUT=$BUILD/bench
if [ "${BENCH_QUICK:-0}" = 1 ]; then
	RUNS=1 SECONDS_TCP=2 SECONDS_UDP=1 PINGS=50
else
	RUNS=3 SECONDS_TCP=5 SECONDS_UDP=2 PINGS=200
fi
PING_INTERVAL=0.02
UDP_LEN=1400		# datagram payload of the goodput search
UDP_MAX_LOSS=0.1	# percent, what the receiver may miss at that rate
UDP_PROBES=5		# at most, the unpaced one included: 15 s at 2 s each
UDP_BUFFER=4194304	# iperf3's UDP socket buffers, if the kernel allows
PPS_LEN=64		# datagram payload of the packet rate test
ROWS=${BENCH_ROWS:-plain xdp-pass xdpsec-nocrypto
	aes-gcm-128 aes-gcm-128-openssl aes-gcm-256 chacha20-poly1305
	swan-aes-gcm-128 swan-aes-gcm-256 swan-chacha20-poly1305 wireguard-go}
H2_ADDR=203.0.113.10
GW_IFACES="gw1:lan gw1:wan gw2:wan gw2:lan"

WORK=

cleanup() {
	pids_stop
	topo_down
	[ -n "$WORK" ] && rm -rf "$WORK"
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

xdpsec_up() {	# ALG [DIR], DIR under $WORK (default ALG)
	local gw rc dir=$WORK/${2:-$1}
	topo_tunnel_configs "$dir" "$1" 4 || return 1
	for gw in gw1 gw2; do
		xdpsecd_start $gw "$dir/$gw.conf" "$dir/$gw.log" 9>&-
		rc=$?
		PIDS+=("$XDPSECD_PID")
		[ $rc -eq 0 ] || { cat "$dir/$gw.log" >&2; return 1; }
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

# xdpsec-nocrypto: the aes-gcm-128 tunnel through the benchmark build
# without crypto, which frames ESP as usual but encrypts nothing and writes
# zero ICVs.  Its difference to the aes-gcm-128 row is the crypto's cost.
NOCRYPTO_BIN=$BUILD/nocrypto/xdpsecd

nocrypto_up() {	# ROW
	if [ ! -x "$NOCRYPTO_BIN" ]; then
		echo "bench: build first: make BUILD=$BUILD $NOCRYPTO_BIN" >&2
		return 1
	fi
	XDPSECD_BIN=$NOCRYPTO_BIN XDPSEC_NO_CRYPTO=1 \
		xdpsec_up aes-gcm-128 "$1"
}
nocrypto_check() {	# ROW
	local gw
	xdpsec_check aes-gcm-128 || return 1
	for gw in gw1 gw2; do
		if ! grep -q "BUILD WITHOUT CRYPTO" "$WORK/$1/$gw.log"; then
			echo "$gw: not the daemon built without crypto"
			return 1
		fi
	done
}
nocrypto_counters() { xdpsec_counters; }

# aes-gcm-128-openssl: the aes-gcm-128 tunnel with OpenSSL doing AES-GCM
# even where Intel's multi-buffer library is built in and would be chosen.
openssl_up() {	# ROW
	XDPSEC_CRYPTO=openssl xdpsec_up aes-gcm-128 "$1"
}
openssl_check() {	# ROW
	local gw
	xdpsec_check aes-gcm-128 || return 1
	for gw in gw1 gw2; do
		if ! grep -q "crypto: openssl .*for.* aes-gcm-128" \
			"$WORK/$1/$gw.log"; then
			echo "$gw: AES-GCM is not done by OpenSSL"
			return 1
		fi
	done
}
openssl_counters() { xdpsec_counters; }

# The userspace tunnels below take the topology's routes between the LANs
# away and put their own in, into their TUN devices: if those are missing,
# nothing connects the LANs, rather than plain forwarding.

# Fails unless IF in namespace GW is a TUN device that process PID holds
# open: the tunnel's data path is that process, not the kernel.
tun_held_by() {	# GW IF PID
	if ! nsx "$1" test -e "/sys/class/net/$2/tun_flags"; then
		echo "$1: $2 is not a TUN device"
		return 1
	fi
	if ! grep -qsx "iff:[[:space:]]*$2" /proc/"$3"/fdinfo/*; then
		echo "$1: process $3 does not hold $2"
		return 1
	fi
}

# Fails unless GW forwards from SRC to DST, arriving from its LAN, out
# through IF.
route_via() {	# GW SRC DST IF
	local dev
	dev=$(ip -n "$(ns "$1")" route get "$3" from "$2" iif lan 2>&1 |
		sed -n 's/.* dev \([^ ]*\).*/\1/p' | head -n 1)
	if [ "$dev" != "$4" ]; then
		echo "$1: $2 -> $3 leaves through '$dev', expected '$4'"
		return 1
	fi
}

# strongSwan: charon on both gateways with kernel-libipsec, which does ESP
# (in UDP 4500) in charon and reaches the kernel through ipsec0.  IKEv2
# with a PSK; gw1 initiates one CHILD_SA between the IPv4 LANs.
SWAN_IKE=aes256gcm16-prfsha256-x25519
declare -A SWAN_PIDS=()	# gateway -> its charon

# The ESP proposal of ROW, and how swanctl names the algorithm.
swan_esp() {	# ROW
	case $1 in
	swan-aes-gcm-128) echo "aes128gcm16 AES_GCM_16-128" ;;
	swan-aes-gcm-256) echo "aes256gcm16 AES_GCM_16-256" ;;
	swan-chacha20-poly1305) echo "chacha20poly1305 CHACHA20_POLY1305" ;;
	*) return 1 ;;
	esac
}

swan_gw_up() {	# GW ESP PSK
	local dir=$WORK/swan/$1 rc
	swan_base_conf "$dir" &&
		swan_site_conf "$dir" "$1" "$SWAN_IKE" "$2" "$3" || return 1
	swan_start "$1" "$dir" 9>&-
	rc=$?
	PIDS+=("$SWAN_PID")
	SWAN_PIDS[$1]=$SWAN_PID
	if [ $rc -ne 0 ] ||
	   ! swan_ctl "$dir" --load-all >> "$dir/charon.out" 2>&1; then
		swan_logs "$dir" >&2
		return 1
	fi
}

swan_up() {	# ROW
	local esp _alg psk gw
	read -r esp _alg < <(swan_esp "$1") || return 1
	psk=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
	rm -rf "$WORK/swan"
	for gw in gw1 gw2; do
		swan_gw_up $gw "$esp" "$psk" || return 1
	done
	ip -n "$(ns gw1)" route del 203.0.113.0/24 || return 1
	ip -n "$(ns gw2)" route del 192.0.2.0/24 || return 1
	if ! swan_ctl "$WORK/swan/gw1" --initiate --child lan --timeout 20 \
		>> "$WORK/swan/gw1/charon.out" 2>&1; then
		swan_logs "$WORK/swan/gw1" >&2
		return 1
	fi
	# ipsec0 is narrower than the LAN, and charon reads it with buffers
	# of that size, so it cannot be widened.  h1 learns the path MTU from
	# one full-size ping with DF: otherwise the first large datagram of a
	# UDP test fails with EMSGSIZE instead of being fragmented.
	nsx h1 ping -n -c 1 -W 1 -M "do" -s $((TOPO_LAN_MTU - 28)) "$H2_ADDR" \
		> /dev/null 2>&1
	return 0
}

# Each gateway holds exactly one CHILD_SA, installed, with the row's
# algorithm; charon holds ipsec0, where the routes to the other LAN lead.
swan_check() {	# ROW
	local _esp alg gw sas n pat
	read -r _esp alg < <(swan_esp "$1") || return 1
	xdp_expect - || return 1
	pat="^ +lan: #[0-9]+, .*, INSTALLED, TUNNEL[^,]*, ESP:$alg(/|,|\$)"
	for gw in gw1 gw2; do
		sas=$(swan_ctl "$WORK/swan/$gw" --list-sas 2>/dev/null)
		n=$(grep -cE "$pat" <<< "$sas")
		if [ "$n" != 1 ]; then
			echo "$gw: $n CHILD_SAs with $alg installed:" \
				"$(grep -E '^ +lan:' <<< "$sas" | xargs)"
			return 1
		fi
		tun_held_by $gw ipsec0 "${SWAN_PIDS[$gw]}" || return 1
	done
	route_via gw1 192.0.2.10 "$H2_ADDR" ipsec0 &&
		route_via gw2 "$H2_ADDR" 192.0.2.10 ipsec0
}

swan_sa_bytes() {	# GW DIR: the CHILD_SA's bytes-in or bytes-out
	local b
	b=$(swan_child_field "$WORK/swan/$1" lan "bytes-$2")
	echo "esp-$2@$1=${b:-0}"
}

swan_counters() {
	wire_bytes
	swan_sa_bytes gw1 out
	swan_sa_bytes gw2 in
}

# wireguard-go on both gateways, configured with wg: one peer each, the
# other gateway over the WAN, AllowedIPs its LAN.  Its device is a TUN
# device; the kernel's own WireGuard, if there is one, must not stand in.
WG_PORT=51820
declare -A WG_PIDS=()	# gateway -> its wireguard-go

wg_if() { echo "$TOPO-wg${1#gw}"; }	# GW

wg_gw_start() {	# GW
	local ifc dir=$WORK/wg i
	ifc=$(wg_if "$1")
	if [ ${#ifc} -gt 15 ]; then
		echo "$ifc: too long for an interface name" >&2
		return 1
	fi
	(umask 077; wg genkey > "$dir/$1.key") &&
		wg pubkey < "$dir/$1.key" > "$dir/$1.pub" || return 1
	# -f: in the foreground, so that $! is wireguard-go itself.
	ip netns exec "$(ns "$1")" wireguard-go -f "$ifc" \
		> "$dir/$1.log" 2>&1 9>&- &
	PIDS+=($!)
	WG_PIDS[$1]=$!
	for i in $(seq 50); do
		[ -S "/var/run/wireguard/$ifc.sock" ] && return 0
		kill -0 "${WG_PIDS[$1]}" 2>/dev/null || break
		sleep 0.1
	done
	cat "$dir/$1.log" >&2
	return 1
}

wg_gw_peer() {	# GW PEER_GW PEER_WAN PEER_LAN
	local ifc
	ifc=$(wg_if "$1")
	nsx "$1" wg set "$ifc" private-key "$WORK/wg/$1.key" \
		listen-port $WG_PORT peer "$(cat "$WORK/wg/$2.pub")" \
		endpoint "$3:$WG_PORT" allowed-ips "$4" || return 1
	ip -n "$(ns "$1")" link set "$ifc" mtu "$TOPO_LAN_MTU" up &&
		ip -n "$(ns "$1")" route replace "$4" dev "$ifc"
}

wireguard-go_up() {
	rm -rf "$WORK/wg"
	mkdir -p "$WORK/wg" || return 1
	wg_gw_start gw1 && wg_gw_start gw2 || return 1
	wg_gw_peer gw1 gw2 198.51.100.2 203.0.113.0/24 &&
		wg_gw_peer gw2 gw1 198.51.100.1 192.0.2.0/24
}

# wireguard-go holds each gateway's WireGuard device, a TUN device, which
# the routes to the other LAN lead to, and the peers shook hands.
wireguard-go_check() {
	local gw ifc hs
	xdp_expect - || return 1
	for gw in gw1 gw2; do
		ifc=$(wg_if $gw)
		tun_held_by $gw "$ifc" "${WG_PIDS[$gw]}" || return 1
		hs=$(nsx $gw wg show "$ifc" latest-handshakes | cut -f 2)
		if [ "${hs:-0}" = 0 ]; then
			echo "$gw: no handshake with the peer"
			return 1
		fi
	done
	route_via gw1 192.0.2.10 "$H2_ADDR" "$(wg_if gw1)" &&
		route_via gw2 "$H2_ADDR" 192.0.2.10 "$(wg_if gw2)"
}

wg_transfer() {	# GW rx|tx: bytes from or to the peer
	local _peer rx tx
	read -r _peer rx tx < <(nsx "$1" wg show "$(wg_if "$1")" transfer)
	if [ "$2" = rx ]; then
		echo "wg-rx@$1=${rx:-0}"
	else
		echo "wg-tx@$1=${tx:-0}"
	fi
}

wireguard-go_counters() {
	wire_bytes
	wg_transfer gw1 tx
	wg_transfer gw2 rx
}

row_kind() {	# ROW
	case $1 in
	plain|xdp-pass) echo "$1" ;;
	aes-gcm-128|aes-gcm-256|chacha20-poly1305) echo xdpsec ;;
	xdpsec-nocrypto) echo nocrypto ;;
	aes-gcm-128-openssl) echo openssl ;;
	swan-aes-gcm-128|swan-aes-gcm-256|swan-chacha20-poly1305) echo swan ;;
	wireguard-go) echo wireguard-go ;;
	*) return 1 ;;
	esac
}

row_label() {	# ROW
	case $1 in
	plain) echo "plain routing" ;;
	xdp-pass) echo "routing + XDP_PASS" ;;
	xdpsec-nocrypto) echo "xdpsec without crypto (benchmark build)" ;;
	aes-gcm-128-openssl) echo "xdpsec aes-gcm-128 on OpenSSL" ;;
	swan-*) echo "strongSwan ${1#swan-} (kernel-libipsec)" ;;
	wireguard-go) echo "wireguard-go chacha20-poly1305" ;;
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
		-t "$SECONDS_TCP" -P "$n" > "$json" 2> "$json.err"
	c1=$(cpu_busy)
	after=$("${kind}_counters" | tr '\n' ' ')
	read -r bps bytes < <($STATS iperf "$json") || {
		echo "iperf3 -P $n:" \
			"$(cat "$json.err" "$json" | tr '\n' ' ' | head -c 200)"
		return 1
	}
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

# With socket buffers of the default size, about 200 KB, a receiver that
# waits for a CPU on a busy machine drops bursts that the path carried, so
# the UDP tests ask for UDP_BUFFER.  iperf3 fails a test whose buffers the
# kernel caps below what it asked for: UDP_BUFFER comes down to the caps.
udp_buffer_fit() {
	local k max
	for k in rmem_max wmem_max; do
		read -r max < "/proc/sys/net/core/$k"
		[ "$max" -ge "$UDP_BUFFER" ] || UDP_BUFFER=$max
	done
}

# One UDP test h1 -> h2 of SECONDS, datagrams of LEN bytes offered at RATE
# bit/s (0: as fast as the sender can).  Sets UDP_SENT (the offered
# bit/s), the receiver's UDP_BPS and UDP_PPS, and UDP_LOSS (the percentage
# of the datagrams sent that the receiver did not count).  Fails with a
# reason if the traffic bypassed the row's path.
udp_probe() {	# KIND LEN RATE SECONDS
	local kind=$1 json=$WORK/udp.json before after bytes why
	before=$("${kind}_counters" | tr '\n' ' ')
	nsx h1 timeout $(($4 + 20)) iperf3 -c "$H2_ADDR" -J -u -l "$2" \
		-b "$3" -t "$4" -w "$UDP_BUFFER" > "$json" 2> "$json.err"
	after=$("${kind}_counters" | tr '\n' ' ')
	read -r UDP_SENT UDP_BPS bytes UDP_PPS UDP_LOSS \
		< <($STATS udp "$json") || {
		echo "iperf3 -u -l $2 -b $3:" \
			"$(cat "$json.err" "$json" | tr '\n' ' ' | head -c 200)"
		return 1
	}
	why=$(counters_advanced "$bytes" "$before" "$after") || {
		echo "iperf3 -u -l $2 -b $3: $why"; return 1; }
}

# A probe of the goodput search; the samples keep every one.
udp_search_probe() {	# ROW KIND RATE
	udp_probe "$2" "$UDP_LEN" "$3" "$SECONDS_UDP" || return 1
	sample "$1" udp_probe "$3 $UDP_SENT $UDP_BPS $UDP_LOSS"
}

udp_passed() {
	[ "$(echo "$UDP_LOSS < $UDP_MAX_LOSS" | bc)" = 1 ]
}

# The goodput of UDP_LEN-byte datagrams at the highest offered rate that
# the receiver gets with a loss under UDP_MAX_LOSS %, in at most UDP_PROBES
# probes.  The first goes as fast as the sender can: if it passes, that is
# the figure; if not, no higher rate can pass, and what arrived is the
# first guess.  Then each probe halves the interval between the highest
# rate that passed and the lowest that failed (or, while none has passed,
# halves the rate), until it is within 3 % or the probes are spent.
# Records the receiver's rate in the best passing probe, 0 if none passed.
measure_udp() {	# ROW KIND
	local row=$1 kind=$2 lo=0 hi rate best=0 i
	udp_search_probe "$row" "$kind" 0 || return 1
	if udp_passed; then
		best=$UDP_BPS
	else
		hi=$UDP_SENT rate=$UDP_BPS
		[ "$rate" -gt 0 ] && [ "$rate" -lt "$hi" ] || rate=$((hi / 2))
		for i in $(seq $((UDP_PROBES - 1))); do
			[ "$rate" -ge 1000000 ] || break
			udp_search_probe "$row" "$kind" "$rate" || return 1
			# The bounds are the rates offered, which fall short
			# of the target when the sender lacks CPU time.
			if udp_passed; then
				[ "$UDP_SENT" -le "$lo" ] || lo=$UDP_SENT
				[ "$UDP_BPS" -le "$best" ] || best=$UDP_BPS
			else
				[ "$UDP_SENT" -ge "$hi" ] || hi=$UDP_SENT
			fi
			[ $((hi - lo)) -gt $((hi / 32)) ] || break
			if [ "$lo" -eq 0 ]; then
				rate=$((hi / 2))
			else
				rate=$(((lo + hi) / 2))
			fi
		done
	fi
	sample "$row" udp_gbps "$(echo "$best / 10^9" | bc -l)"
}

# The packet rate of PPS_LEN-byte datagrams sent as fast as the sender
# can, and the share of them that did not arrive.
measure_pps() {	# ROW KIND
	udp_probe "$2" "$PPS_LEN" 0 "$SECONDS_TCP" || return 1
	sample "$1" pps_mpps "$(echo "$UDP_PPS / 10^6" | bc -l)"
	sample "$1" pps_loss_pct "$UDP_LOSS"
}

reachable() { nsx h1 ping -c1 -W1 "$H2_ADDR" >/dev/null 2>&1; }

# One run of a row on a fresh topology: builds it, checks it, measures,
# checks again.  Prints why it failed.
row_measure() {	# ROW KIND
	local row=$1 kind=$2 i
	sample "$row" kind "$kind"
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
	measure_udp "$row" "$kind" || return 1
	measure_pps "$row" "$kind" || return 1
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
	udp_buffer_fit
	t0=$(date +%s)
	sample - date "$(date -u '+%Y-%m-%d %H:%M UTC')"
	sample - runs "$RUNS"
	sample - seconds "$SECONDS_TCP"
	sample - seconds_udp "$SECONDS_UDP"
	sample - udp_len "$UDP_LEN"
	sample - udp_max_loss_pct "$UDP_MAX_LOSS"
	sample - udp_probes "$UDP_PROBES"
	sample - udp_buffer "$UDP_BUFFER"
	sample - pps_len "$PPS_LEN"
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
