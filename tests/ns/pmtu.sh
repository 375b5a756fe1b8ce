#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Path MTU through the tunnel: every link has MTU 1500, so full-size
# packets from h1 no longer fit once encapsulated.  TCP (DF set) must
# learn the smaller MTU from gw1's ICMP errors and complete, over IPv4 and
# IPv6; large UDP datagrams without DF must arrive, fragmented by gw1
# before encryption; and nothing may leave gw1 in clear meanwhile.
cd "$(dirname "$0")/../.." || exit 1
. tests/lib.sh
TOPO=xmtu
TOPO_WAN_MTU=1500
. scripts/topo.sh
need_root

WORK=$(mktemp -d /tmp/xdpsec-pmtu.XXXXXX)
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	topo_down
	rm -rf "$WORK"
}
trap cleanup EXIT

tcp_transfer() {	# ADDR PORT
	local pf=ip4 dst="TCP:$1:$2" lpid
	if [[ $1 == *:* ]]; then pf=ip6; dst="TCP6:[$1]:$2"; fi
	nsx h2 timeout 60 socat -u "TCP-LISTEN:$2,reuseaddr,pf=$pf" - |
		sha256sum | cut -d' ' -f1 > "$WORK/sum" &
	lpid=$!
	wait_for 25 nsx h2 sh -c "ss -Hltn | grep -q ':$2 '"
	nsx h1 timeout 60 socat -u "FILE:$WORK/data" "$dst" || return 1
	wait $lpid
	[ "$(cat "$WORK/sum")" = "$(sha256sum < "$WORK/data" | cut -d' ' -f1)" ]
}

# Sends COUNT datagrams of SIZE bytes without DF; h2 must receive them.
udp_big() {	# SIZE COUNT
	local got
	ip netns exec "$(ns h2)" timeout 10 socat -u UDP-RECV:7000 - \
		> "$WORK/udp" &
	PIDS+=($!)
	sleep 0.5
	for _ in $(seq "$2"); do
		head -c "$1" /dev/zero | tr '\0' 'u' |
			nsx h1 socat -u - UDP-SENDTO:203.0.113.10:7000,mtudiscover=0
		sleep 0.05
	done
	sleep 1
	kill "${PIDS[-1]}" 2>/dev/null; wait "${PIDS[-1]}" 2>/dev/null
	got=$(stat -c %s "$WORK/udp")
	echo "    received $got of $(($1 * $2)) bytes"
	[ "$got" -eq $(($1 * $2)) ]
}

head -c 20M /dev/urandom > "$WORK/data"
topo_up
topo_tunnel_configs "$WORK" aes-gcm-256 4
for gw in gw1 gw2; do
	xdpsecd_start $gw "$WORK/$gw.conf" "$WORK/$gw.log" || {
		cat "$WORK/$gw.log"; fail "$gw starts"; summary; exit 1; }
	PIDS+=("$XDPSECD_PID")
done
ping_ok() { nsx h1 ping -c1 -W1 "$1" >/dev/null 2>&1; }
check "tunnel up" wait_for 25 ping_ok 203.0.113.10

# First, before h1 knows any path MTU: without DF, gw1 must fragment.
before=$(xdpsec_counter gw1 fragmented)
check "UDP datagrams of 1472 bytes without DF arrive whole" udp_big 1472 20
check "... fragmented by gw1 before encryption" \
	test "$(xdpsec_counter gw1 fragmented)" -ge $(( before + 20 ))

# h1 itself fragments once it knows the path MTU; those fragments must
# pass too (a non-first fragment carries no ports).

before=$(xdpsec_counter gw1 icmp_sent)
check "20 MB TCP over IPv4 with MTU 1500 everywhere completes" \
	tcp_transfer 203.0.113.10 7001
check "... because gw1 sent ICMP fragmentation-needed errors" \
	test "$(xdpsec_counter gw1 icmp_sent)" -gt "$before"
check "h1 learnt a path MTU below 1500 for h2" \
	eval 'nsx h1 ip route get 203.0.113.10 | grep -Eq "mtu 1[34][0-9][0-9]"'

before=$(xdpsec_counter gw1 icmp_sent)
check "20 MB TCP over IPv6 with MTU 1500 everywhere completes" \
	tcp_transfer 2001:db8:2::10 7002
check "... because gw1 sent ICMPv6 packet-too-big errors" \
	test "$(xdpsec_counter gw1 icmp_sent)" -gt "$before"

check "UDP fragmented by h1 itself arrives whole" udp_big 1472 5
check "no authentication failures at gw2" \
	test "$(xdpsec_counter gw2 drop_auth)" -eq 0
summary
