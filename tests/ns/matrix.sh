#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The whole matrix at once: {ESP, AH} x {tunnel, transport} x {IPv4,
# IPv6 inner} x {IPv4, IPv6 outer} x every transform x {32-bit, extended
# sequence numbers} x {raw, UDP-encapsulated}.  Each combination that
# makes sense has its own SA pair and its own pair of addresses; two hosts
# running xdpsecd carry all of them side by side.  For each one: UDP
# datagrams of three sizes go from an application on A to one on B and
# are echoed back, and a capture on the wire between the hosts shows them
# under the right protocol, outer family and SPIs, with the payload hidden
# (encrypting transforms) or intact (AH, GMAC, NULL).  The combinations
# that make no sense are listed with the reason; transforms refused at
# configuration are checked to be refused.
#
#   A (198.51.100.1, 2001:db8:ff::1) --- sw --- B (198.51.100.2, ...::2)
#   inner addresses on lo: A 198.18.0.0/16, 2001:db8:a::/64
#                          B 198.19.0.0/16, 2001:db8:b::/64
cd "$(dirname "$0")/../.." || exit 1
. tests/lib.sh
need_root
TOPO=xmx
BUILD=${BUILD:-build}
PY=/usr/bin/python3
WORK=$(mktemp -d /tmp/xdpsec-matrix.XXXXXX)
A_PID= B_PID= BG=()

. scripts/topo.sh

cleanup() {
	local p
	for p in $A_PID $B_PID "${BG[@]}"; do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	pair_down
	rm -rf "$WORK"
}
trap cleanup EXIT

# Inner addresses on lo, the peer's inner prefixes through its address.
hosts_addressed() {
	ip -n "$(ns a)" -batch "$WORK/a.addrs" &&
	ip -n "$(ns b)" -batch "$WORK/b.addrs" &&
	ip -n "$(ns a)" route add 198.19.0.0/16 via 198.51.100.2 &&
	ip -n "$(ns a)" route add 2001:db8:b::/64 via 2001:db8:ff::2 &&
	ip -n "$(ns b)" route add 198.18.0.0/16 via 198.51.100.1 &&
	ip -n "$(ns b)" route add 2001:db8:a::/64 via 2001:db8:ff::1
}

# Transforms the configuration refuses, with the reason it must give.
refused() {	# TRANSFORM_LINES EXPECTED_WORDS
	local f=$WORK/refused.conf
	printf '[sa x]\ndir = out\nspi = 0x100\nmode = tunnel\n' > "$f"
	printf 'src = 198.51.100.1\ndst = 198.51.100.2\n' >> "$f"
	printf 'sel_src = 192.0.2.0/24\nsel_dst = 203.0.113.0/24\n' >> "$f"
	printf 'key_file = %s\n%s\n' "$WORK/k10000" "$1" >> "$f"
	"$BUILD/xdpsecd" --check -c "$f" > "$WORK/refused.out" 2>&1 &&
		return 1
	grep -qi "$2" "$WORK/refused.out" ||
		{ sed 's/^/    /' "$WORK/refused.out"; return 1; }
}

# Counts the checker's lines into this script's totals.
tally() {	# FILE
	local n
	n=$(grep -c '^ok - ' "$1"); PASSED=$((PASSED + n))
	n=$(grep -c '^FAIL - ' "$1"); FAILED=$((FAILED + n))
}

$PY tests/tools/matrix.py gen "$WORK" || { fail "matrix generated"; summary; exit; }
echo "$(grep -c '^\[sa' "$WORK/a.conf") SAs and" \
	"$(grep -c '^\[policy' "$WORK/a.conf") policies on each host"

check "refused: DES" refused "alg = des" "must not"
check "refused: 3DES" refused "alg = 3des" "64-bit"
check "refused: HMAC-MD5" refused $'alg = aes-cbc-128\ninteg = hmac-md5-96' "md5"
check "refused: NULL encryption without integrity" refused "alg = null" "null"
check "refused: AES-CBC without integrity" refused "alg = aes-cbc-128" \
	"needs an integ"
check "refused: AH without integrity" refused "proto = ah" "integ"

pair_up
check "inner addresses and routes" hosts_addressed
if ! xdpsecd_host a || ! xdpsecd_host b; then
	fail "daemons start with the whole matrix"
	summary
	exit
fi
pass "daemons start with the whole matrix"

ip netns exec "$(ns b)" timeout 300 $PY tests/tools/matrix.py echo "$WORK" \
	> "$WORK/echo.log" 2>&1 &
BG+=($!)
ip netns exec "$(ns sw)" timeout 300 tcpdump -q -i p1 -s 0 -U \
	-w "$WORK/wire.pcap" 2>/dev/null &
BG+=($!)
wait_for 50 grep -qs echoing "$WORK/echo.log"
sleep 0.5
ip netns exec "$(ns a)" timeout 120 $PY tests/tools/matrix.py send "$WORK" |
	sed 's/^/    /'
sleep 0.5
kill "${BG[-1]}"; wait "${BG[-1]}" 2>/dev/null

$PY tests/tools/matrix.py check "$WORK" "$WORK/wire.pcap" > "$WORK/check.out" 2>&1
cat "$WORK/check.out"
tally "$WORK/check.out"

for h in a b; do
	check "no authentication failures on $h" \
		[ "$(xdpsec_counter $h drop_auth)" -eq 0 ]
	check "no replay drops on $h" [ "$(xdpsec_counter $h drop_replay)" -eq 0 ]
done
check "both daemons alive" kill -0 "$A_PID" "$B_PID"
summary
