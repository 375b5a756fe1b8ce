#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Independent check of the wire format: host A runs xdpsecd, host B runs
# nothing but Scapy's IPsec implementation (tests/tools/esp_peer.py), with
# the same keys.  For each transform and mode:
#   - A's applications send UDP to B; Scapy decrypts what crossed the wire
#     and finds the plaintext, first sequence number 1;
#   - Scapy protects UDP datagrams for A; A's application receives them.
# Scapy has no AES-GMAC, and its ESP HMAC leaves the ESN high half out
# of the ICV (RFC 4303 3.3.2.1 puts it in): GMAC, and ESN with HMAC, are
# checked by the unit tests against their own OpenSSL constructions and
# between two xdpsec hosts in host.sh.
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

# Peer options for esp_peer.py, for the SA in direction DIR (out/in).
peer_opts() {	# DIR PROTO MODE ALG INTEG ESN ENCAP
	local spi=0x5001 src=$A dst=$B key=out
	[ "$1" = in ] && spi=0x5002 src=$B dst=$A key=in
	printf -- '--proto %s --mode %s --spi %s --key %s --src %s --dst %s --marker %s' \
		"$2" "$3" $spi "$WORK/$key.key" $src $dst $MARK
	[ "$4" != - ] && printf -- ' --alg %s' "$4"
	[ "$5" != - ] && printf -- ' --integ %s' "$5"
	[ "$6" = yes ] && printf -- ' --esn'
	[ "$7" = yes ] && printf -- ' --encap'
	return 0
}

# xdpsec protects, Scapy checks.
to_scapy() {	# PROTO MODE ALG INTEG ESN ENCAP
	local pcap=$WORK/b.pcap
	ip netns exec "$(ns b)" timeout 15 tcpdump -q -i eth0 -s 0 -U \
		-w "$pcap" "host $A and (esp or ah or udp port 4500)" 2>/dev/null &
	BG+=($!)
	sleep 0.7
	for _ in 1 2 3 4 5; do
		echo "$MARK" | nsx a socat -u - UDP:$B:7777
		sleep 0.2
	done
	sleep 0.5
	kill "${BG[-1]}"; wait "${BG[-1]}" 2>/dev/null
	# shellcheck disable=SC2046
	nsx b $PY tests/tools/esp_peer.py check "$pcap" $(peer_opts out "$@") |
		sed 's/^/    scapy: /'
	return "${PIPESTATUS[0]}"
}

# Scapy protects, xdpsec delivers to A's application.
from_scapy() {	# PROTO MODE ALG INTEG ESN ENCAP
	local got
	ip netns exec "$(ns a)" timeout 8 socat -u UDP-RECV:7777 - \
		> "$WORK/a.udp" &
	BG+=($!)
	sleep 0.5
	# shellcheck disable=SC2046
	nsx b $PY tests/tools/esp_peer.py send $(peer_opts in "$@") --count 5 \
		>/dev/null || return 1
	sleep 1
	kill "${BG[-1]}" 2>/dev/null; wait "${BG[-1]}" 2>/dev/null
	got=$(grep -o "$MARK" "$WORK/a.udp" | wc -l)
	echo "    A's application received $got of 5"
	[ "$got" -eq 5 ]
}

run() {	# PROTO MODE ALG INTEG ESN ENCAP KEYBYTES
	local tag="$1 $2 alg=$3 integ=$4 esn=$5 encap=$6"
	topo_genkey "$7" "$WORK/out.key"
	topo_genkey "$7" "$WORK/in.key"
	a_config "$1" "$2" "$3" "$4" "$5" "$6"
	if ! a_start; then
		fail "[$tag] xdpsecd starts"
		return
	fi
	check "[$tag] Scapy decrypts what xdpsec sent" to_scapy "$@"
	check "[$tag] xdpsec accepts what Scapy sent" from_scapy "$@"
	a_stop
}

if ! $PY -c 'import scapy.layers.ipsec' 2>/dev/null; then
	echo "python3-scapy is missing (scripts/install-deps.sh installs it)"
	echo "0 passed, 1 failed"
	exit 1
fi
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
summary
