#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Independent check of the wire format: host A runs xdpsecd, host B runs
# an independent peer, tests/tools/esp_peer.py, with the same keys.  For
# each transform and mode:
#   - A's applications send UDP to B; the peer verifies and decrypts what
#     crossed the wire and finds the plaintext, the sequence numbers
#     starting where they should and following one by one;
#   - the peer protects UDP datagrams for A; A's application receives
#     every one of them, and A's SA counts no ICV failure.
# The peer is Scapy's IPsec where Scapy gets the ICV right: AES-GCM and
# ChaCha20-Poly1305 (with and without ESN), AES-CBC and NULL with HMAC
# without ESN, and AH (with and without ESN).  Where Scapy falls short,
# the peer uses an ESP of its own written in Python on the cryptography
# package and hmac: AES-GMAC (RFC 4543; Scapy has none) and ESP HMAC with
# ESN (Scapy leaves the high half of the sequence number out of the ICV,
# RFC 4303 3.3.2.1 puts it in).  "esp_peer.py selftest" first checks that
# ESP against Scapy's where both apply.
#
# With ESN the sequence numbers cross 2^32: A's outbound SA is set to just
# below it through its sa_state map (no configuration key sets it), and
# the peer jumps there in steps that RFC 4303 appendix A2 lets A follow.
# Two negative controls then show that the high half is in every ICV:
# the peer's ICV computed without it must fail on every packet A sent, and
# packets the peer protects without it must all be rejected by A (its
# ICV-failure counter goes up by as many, its application gets none).
#
#   A (198.51.100.1, xdpsecd, host interface) --- sw --- B (198.51.100.2)
cd "$(dirname "$0")/../.." || exit 1
. tests/lib.sh
need_root
TOPO=xint
BUILD=${BUILD:-build}
PY=/usr/bin/python3
WORK=$(mktemp -d /tmp/xdpsec-interop.XXXXXX)
A_PID= BG=()
MARK=XDPSEC-INTEROP-MARKER
A=198.51.100.1
B=198.51.100.2
# ESN: the last sequence number A's outbound SA has handed out before the
# test (its packets then carry 2^32 - 2, 2^32 - 1, 2^32...), what the peer
# sends to A, and what it sends without the high half in the ICV.
ESN_OUT_TOP=0xfffffffd
ESN_IN_SEQS=1,0x80000000,0xfffffffe,0xffffffff,0x100000000,0x100000001
ESN_IN_BAD=0x100000002,0x100000003,0x100000004
PLAIN_IN_SEQS=1,2,3,4,5
CASE=()		# the arguments of run() for the case under test

. scripts/topo.sh

cleanup() {
	local p
	for p in $A_PID "${BG[@]}"; do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	pair_down
	rm -rf "$WORK"
}
trap cleanup EXIT

pair_static_neighbours() {
	# Static neighbours: no warm-up traffic may use sequence numbers.
	ip -n "$(ns a)" neigh replace $B dev eth0 lladdr "$(mac_of b)"
	ip -n "$(ns b)" neigh replace $A dev eth0 lladdr "$(mac_of a)"
}

mac_of() {	# HOST
	ip -n "$(ns "$1")" -o link show eth0 | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p'
}

# a_config PROTO MODE ALG INTEG ESN ENCAP: A's SAs with B (0x5001 out,
# 0x5002 in), keys in $WORK/out.key and $WORK/in.key.
a_config() {
	local sa dir spi src dst key
	{
		printf '[daemon]\ninstance = %s-a\ninterfaces = eth0\n' "$TOPO"
		printf 'host_interface = xs0\ndefault = bypass\n'
		printf '\n[policy out]\ndir = out\nsrc = %s/32\ndst = %s/32\n' $A $B
		printf 'action = protect\nsa = out\n'
		printf '\n[policy in]\ndir = in\nsrc = %s/32\ndst = %s/32\n' $B $A
		printf 'action = protect\nsa = in\n'
		for sa in out in; do
			if [ $sa = out ]; then
				dir=out spi=0x5001 src=$A dst=$B key=out
			else
				dir=in spi=0x5002 src=$B dst=$A key=in
			fi
			printf '\n[sa %s]\ndir = %s\nspi = %s\nproto = %s\n' \
				$sa $dir $spi "$1"
			printf 'mode = %s\nsrc = %s\ndst = %s\n' "$2" $src $dst
			printf 'key_file = %s\nesn = %s\nencap = %s\n' \
				"$WORK/$key.key" "$5" "$6"
			[ "$3" != - ] && printf 'alg = %s\n' "$3"
			[ "$4" != - ] && printf 'integ = %s\n' "$4"
			[ "$2" = tunnel ] &&
				printf 'sel_src = %s/32\nsel_dst = %s/32\n' $src $dst
		done
	} > "$WORK/a.conf"
}

a_start() {
	local sock=/run/xdpsec/$TOPO-a.sock i
	rm -f "$sock"
	ip netns exec "$(ns a)" "$BUILD/xdpsecd" -c "$WORK/a.conf" \
		> "$WORK/a.log" 2>&1 &
	A_PID=$!
	for i in $(seq 100); do
		[ -S "$sock" ] && return 0
		kill -0 "$A_PID" 2>/dev/null || break
		sleep 0.1
	done
	cat "$WORK/a.log"
	return 1
}

a_stop() {
	kill "$A_PID" 2>/dev/null; wait "$A_PID" 2>/dev/null; A_PID=
	nsx a "$BUILD/xdpsecd" -c "$WORK/a.conf" --detach >/dev/null 2>&1
}

# One field of one of A's SAs ("out" or "in"), as "xdpsec sa list" has it.
sa_field() {	# SA FIELD
	xdpsec_cli a --json sa list | $PY -c '
import json, sys
sa = [s for s in json.load(sys.stdin) if s["name"] == sys.argv[1]]
print(sa[0][sys.argv[2]])' "$1" "$2"
}

# The id of A's map NAME.
map_id() {	# NAME
	xdpsec_cli a --json status | $PY -c '
import json, sys
print([m["id"] for m in json.load(sys.stdin)["maps"]
       if m["name"] == sys.argv[1]][0])' "$1"
}

# VALUE as BYTES little-endian decimal bytes, for bpftool.
le_bytes() {	# BYTES VALUE
	local i v=$(($2))
	for ((i = 0; i < $1; i++)); do
		printf '%d ' $(((v >> (8 * i)) & 255))
	done
}

# Sets the last sequence number A's SA "out" handed out, before it has
# sent anything: its entry in the sa_state map (struct xdpsec_sa_state,
# 64 bytes, seq first) is the counter the workers take numbers from.
a_set_out_seq() {	# SEQ
	local map idx
	map=$(map_id sa_state) && idx=$(sa_field out id) || return 1
	[ "$(sa_field out packets)" = 0 ] || return 1
	# shellcheck disable=SC2046
	bpftool map update id "$map" key $(le_bytes 4 "$idx") \
		value $(le_bytes 8 "$1") $(le_bytes 56 0) || return 1
	[ "$(sa_field out seq)" = $(($1)) ]
}

# Which implementation esp_peer.py uses for the case (see its docstring).
peer_name() {	# PROTO MODE ALG INTEG ESN ENCAP
	case "$1:$3:$4:$5" in
	esp:aes-gmac-*|esp:*:hmac-*:yes) echo "the own ESP" ;;
	*) echo Scapy ;;
	esac
}

# Peer options for esp_peer.py, for the SA in direction DIR (out/in) of
# the case under test.
peer_opts() {	# DIR
	local spi=0x5001 src=$A dst=$B key=out
	[ "$1" = in ] && spi=0x5002 src=$B dst=$A key=in
	set -- "${CASE[@]}"
	printf -- '--proto %s --mode %s --spi %s --key %s --src %s --dst %s --marker %s' \
		"$1" "$2" $spi "$WORK/$key.key" $src $dst $MARK
	[ "$3" != - ] && printf -- ' --alg %s' "$3"
	[ "$4" != - ] && printf -- ' --integ %s' "$4"
	[ "$5" = yes ] && printf -- ' --esn'
	[ "$6" = yes ] && printf -- ' --encap'
	return 0
}

# xdpsec protects five datagrams; they are captured on B.
capture_out() {
	ip netns exec "$(ns b)" timeout 15 tcpdump -q -i eth0 -s 0 -U \
		-w "$WORK/b.pcap" "host $A and (esp or ah or udp port 4500)" \
		2>/dev/null &
	BG+=($!)
	sleep 0.7
	for _ in 1 2 3 4 5; do
		echo "$MARK" | nsx a timeout 5 socat -u - UDP:$B:7777
		sleep 0.2
	done
	sleep 0.5
	kill "${BG[-1]}"; wait "${BG[-1]}" 2>/dev/null
}

# The peer checks the capture, the first sequence number being FIRST.
check_out() {	# FIRST [ESP_PEER_OPTION...]
	local first=$1
	shift
	# shellcheck disable=SC2046
	nsx b $PY tests/tools/esp_peer.py check "$WORK/b.pcap" \
		$(peer_opts out) --first "$first" "$@" | sed 's/^/    peer: /'
	return "${PIPESTATUS[0]}"
}

to_peer() {	# FIRST
	capture_out
	check_out "$1"
}

# The peer protects a datagram for A with each sequence number of SEQS;
# WANT of them must reach A's application, the others must fail A's ICV
# check, and A's replay window must end up at the last one accepted.
from_peer() {	# SEQS WANT [ESP_PEER_OPTION...]
	local seqs=$1 want=$2 n got fails0 fails1 top0 top1 rc
	shift 2
	n=$(echo "$seqs" | tr ',' '\n' | wc -l)
	fails0=$(sa_field in auth_fails) && top0=$(sa_field in seq) || return 1
	ip netns exec "$(ns a)" timeout 8 socat -u UDP-RECV:7777 - \
		> "$WORK/a.udp" &
	BG+=($!)
	sleep 0.5
	# shellcheck disable=SC2046
	nsx b timeout 20 $PY tests/tools/esp_peer.py send $(peer_opts in) \
		--seqs "$seqs" "$@" | sed 's/^/    peer: /'
	rc=${PIPESTATUS[0]}
	sleep 1
	kill "${BG[-1]}" 2>/dev/null; wait "${BG[-1]}" 2>/dev/null
	[ "$rc" -eq 0 ] || return 1
	got=$(grep -o "$MARK" "$WORK/a.udp" | wc -l)
	fails1=$(sa_field in auth_fails) && top1=$(sa_field in seq) || return 1
	printf "    A's application received %d of %d; A's SA: %d ICV failures, window top %#x\n" \
		"$got" "$n" $((fails1 - fails0)) "$top1"
	[ "$got" -eq "$want" ] && [ $((fails1 - fails0)) -eq $((n - want)) ] ||
		return 1
	if [ "$want" -eq 0 ]; then
		[ "$top1" = "$top0" ]
	else
		[ "$top1" = $((${seqs##*,})) ]
	fi
}

run() {	# PROTO MODE ALG INTEG ESN ENCAP KEYBYTES
	local tag="$1 $2 alg=$3 integ=$4 esn=$5 encap=$6" who first=1
	local in_seqs=$PLAIN_IN_SEQS
	CASE=("$@")
	who=$(peer_name "$@")
	topo_genkey "$7" "$WORK/out.key"
	topo_genkey "$7" "$WORK/in.key"
	a_config "$1" "$2" "$3" "$4" "$5" "$6"
	if ! a_start; then
		fail "[$tag] xdpsecd starts"
		return
	fi
	if [ "$5" = yes ]; then
		first=$(printf '%#x' $((ESN_OUT_TOP + 1)))
		in_seqs=$ESN_IN_SEQS
		check "[$tag] A's outbound SA starts after $ESN_OUT_TOP" \
			a_set_out_seq $ESN_OUT_TOP
	fi
	check "[$tag] $who verifies what xdpsec sent, from seq $first" \
		to_peer "$first"
	if [ "$5" = yes ]; then
		check "[$tag] $who: without the ESN high half no ICV verifies" \
			check_out "$first" --omit-esn-high
	fi
	check "[$tag] xdpsec accepts what $who sent" from_peer "$in_seqs" \
		$(($(echo "$in_seqs" | tr ',' '\n' | wc -l)))
	if [ "$5" = yes ]; then
		check "[$tag] xdpsec rejects what $who sent without the ESN high half" \
			from_peer "$ESN_IN_BAD" 0 --omit-esn-high
	fi
	a_stop
}

if ! $PY -c 'import scapy.layers.ipsec, cryptography' 2>/dev/null; then
	echo "python3-scapy or python3-cryptography is missing (scripts/install-deps.sh installs them)"
	echo "0 passed, 1 failed"
	exit 1
fi
check "the own ESP of esp_peer.py agrees with Scapy's" \
	$PY tests/tools/esp_peer.py selftest
pair_up
pair_static_neighbours
run esp transport aes-gcm-128 - no no 20
run esp tunnel aes-gcm-256 - yes no 36
run esp transport chacha20-poly1305 - no no 36
run esp tunnel aes-cbc-128 hmac-sha256-128 no no 48
run esp transport aes-cbc-256 hmac-sha512-256 no no 96
run esp transport null hmac-sha384-192 no no 48
run esp transport aes-gcm-128 - no yes 20
run esp tunnel aes-cbc-256 hmac-sha384-192 no yes 80
run ah transport - hmac-sha256-128 no no 32
run ah tunnel - hmac-sha384-192 yes no 48
run ah transport - hmac-sha512-256 no no 64
# What Scapy cannot check: the own ESP.
run esp transport aes-gmac-128 - no no 20
run esp tunnel aes-gmac-256 - yes no 36
run esp transport aes-cbc-128 hmac-sha256-128 yes no 48
run esp transport null hmac-sha512-256 yes no 64
run esp tunnel aes-cbc-256 hmac-sha384-192 yes yes 80
# AH with ESN through Scapy, whose AH gets the high half right.
run ah transport - hmac-sha256-128 yes no 32
summary
