#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Network to host and host to network: a LAN behind a gateway G, and a
# single machine H that protects its own traffic to that LAN.  G runs
# xdpsecd on its lan and wan interfaces like any gateway; H runs it on its
# only interface with a host interface.  One ESP tunnel-mode SA pair per
# inner family joins G's wan address and H's address, with the LAN prefix
# and H's own address (/32, /128) as selectors; the whole run is done once
# over IPv4 and once over IPv6 outer headers.  Checks:
#   - pings h1 -> H and H -> h1, IPv4 and IPv6 inner;
#   - 1400-byte packets (the host interface's default MTU) with DF set,
#     both ways, and 1420-byte ones from the LAN to H;
#   - TCP transfers with a checksum both ways: h1 to an application on H
#     (network to host) and an application on H to h1 (host to network);
#   - UDP datagrams both ways;
#   - a capture on sw: only ESP between G and H, never the plaintext;
#   - the SA counters on both sides;
#   - the policies are selective: H's traffic to another host on sw, and
#     that host's traffic to the LAN through G, go in clear;
#   - once H stops protecting, G refuses H's plaintext to the LAN;
#   - both daemons still running.
#
#   h1 ------- G ============ sw ============ H
#   192.0.2.10     lan   wan   |   198.51.100.2
#   2001:db8:1::10 .1    .1    |   2001:db8:ff::2
#            (192.0.2.0/24)    |   (xdpsecd on eth0, host interface nh0)
#                              |
#                            other: 198.51.100.3, 2001:db8:ff::3
#                            (no IPsec; covered by no policy)
#
# G's addresses: lan 192.0.2.1, 2001:db8:1::1; wan 198.51.100.1,
# 2001:db8:ff::1.
cd "$(dirname "$0")/../.." || exit 1
. tests/lib.sh
need_root
TOPO=xnh
BUILD=${BUILD:-build}
. scripts/topo.sh

WORK=$(mktemp -d /tmp/xdpsec-nethost.XXXXXX)
G_PID='' H_PID='' BG=()
NH_NODES="h1 gw1 sw host other"
MARKER=XDPSEC-PLAINTEXT-MARKER

cleanup() {
	local p
	for p in $G_PID $H_PID "${BG[@]}"; do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	for p in $NH_NODES; do ip netns del "$(ns "$p")" 2>/dev/null; done
	rm -f "/run/xdpsec/$TOPO-gw1.sock" "/run/xdpsec/$TOPO-host.sock"
	rm -rf "$WORK"
}
trap cleanup EXIT

nethost_up() {
	local n
	for n in $NH_NODES; do
		ip netns del "$(ns "$n")" 2>/dev/null
		ip netns add "$(ns "$n")"
		ip -n "$(ns "$n")" link set lo up
	done
	topo_link h1 eth0 gw1 lan 1500
	topo_link gw1 wan sw p1 1500
	topo_link host eth0 sw p2 1500
	topo_link other eth0 sw p3 1500
	ip -n "$(ns sw)" link add br0 type bridge
	for n in p1 p2 p3; do ip -n "$(ns sw)" link set $n master br0; done
	ip -n "$(ns sw)" link set br0 up

	topo_addr h1 eth0 192.0.2.10/24 2001:db8:1::10/64
	topo_addr gw1 lan 192.0.2.1/24 2001:db8:1::1/64
	topo_addr gw1 wan 198.51.100.1/24 2001:db8:ff::1/64
	topo_addr host eth0 198.51.100.2/24 2001:db8:ff::2/64
	topo_addr other eth0 198.51.100.3/24 2001:db8:ff::3/64
	ip -n "$(ns h1)" route add default via 192.0.2.1
	ip -n "$(ns h1)" -6 route add default via 2001:db8:1::1
	for n in host other; do
		ip -n "$(ns "$n")" route add 192.0.2.0/24 via 198.51.100.1
		ip -n "$(ns "$n")" -6 route add 2001:db8:1::/64 via 2001:db8:ff::1
	done
	topo_gateway_sysctls gw1
	# Machines behind real NICs send finished checksums; veth would
	# leave them partial.
	nsx h1 ethtool -K eth0 tx off >/dev/null
	nsx other ethtool -K eth0 tx off >/dev/null
}

# H's file: its own addresses to the LAN, through a host interface.
host_config() {	# FILE OUTER_H OUTER_G ALG
	local f=$1 me=$2 peer=$3 alg=$4 h4=198.51.100.2/32 \
		h6=2001:db8:ff::2/128 l4=192.0.2.0/24 l6=2001:db8:1::/64
	{
		cat <<-CONF
		# H: its own traffic to the LAN behind G goes through ESP.
		[daemon]
		instance = $TOPO-host
		interfaces = eth0
		host_interface = nh0
		default = bypass

		[policy out4]
		dir = out
		src = $h4
		dst = $l4
		action = protect
		sa = out4

		[policy in4]
		dir = in
		src = $l4
		dst = $h4
		action = protect
		sa = in4

		[policy out6]
		dir = out
		src = $h6
		dst = $l6
		action = protect
		sa = out6

		[policy in6]
		dir = in
		src = $l6
		dst = $h6
		action = protect
		sa = in6
		CONF
		topo_sa out4 out 0x2000 "$me" "$peer" "$alg" b $h4 $l4
		topo_sa in4 in 0x1000 "$peer" "$me" "$alg" a $l4 $h4
		topo_sa out6 out 0x2006 "$me" "$peer" "$alg" d $h6 $l6
		topo_sa in6 in 0x1006 "$peer" "$me" "$alg" c $l6 $h6
	} > "$f"
}

daemons_start() {	# DIR
	xdpsecd_start gw1 "$1/gw.conf" "$1/gw.log" || {
		cat "$1/gw.log"; return 1; }
	G_PID=$XDPSECD_PID
	xdpsecd_start host "$1/host.conf" "$1/host.log" || {
		cat "$1/host.log"; return 1; }
	H_PID=$XDPSECD_PID
}

daemon_stop() {	# NODE PID CONF
	kill -TERM "$2" 2>/dev/null && wait "$2" 2>/dev/null
	nsx "$1" "$BUILD/xdpsecd" -c "$3" --detach >/dev/null 2>&1
}

ping_ok() {	# FROM DST
	nsx "$1" ping -c1 -W1 "$2" >/dev/null 2>&1
}

ping3() {	# FROM DST: three echo requests, one reply is enough
	nsx "$1" ping -c3 -i0.2 -W1 "$2" >/dev/null 2>&1
}

pings_ok() {	# FROM DST...
	local from=$1 d; shift
	for d in "$@"; do ping_ok "$from" "$d" || return 1; done
}

# One echo request of SIZE bytes of payload with DF set, and its reply.
big_ping() {	# FROM DST SIZE
	nsx "$1" ping -c1 -W1 -M "do" -s "$3" "$2" >/dev/null 2>&1 || {
		echo "    $1 -> $2 with $3 bytes of payload failed"; return 1; }
}

big_pings() {	# 1400-byte IPv4 and IPv6 packets both ways
	big_ping h1 198.51.100.2 1372 && big_ping h1 2001:db8:ff::2 1352 &&
		big_ping host 192.0.2.10 1372 &&
		big_ping host 2001:db8:1::10 1352
}

# Sends FILE from FROM to ADDR:PORT on TO and compares checksums.
transfer() {	# FROM TO ADDR PORT FILE
	local from=$1 to=$2 addr=$3 port=$4 file=$5 pf=ip4 dst lpid
	dst="TCP:$addr:$port"
	if [[ $addr == *:* ]]; then pf=ip6; dst="TCP6:[$addr]:$port"; fi
	rm -f "$WORK/sum"
	nsx "$to" timeout 30 socat -u "TCP-LISTEN:$port,reuseaddr,pf=$pf" - |
		sha256sum | cut -d' ' -f1 > "$WORK/sum" &
	lpid=$!
	wait_for 25 nsx "$to" sh -c "ss -Hltn | grep -q ':$port '"
	nsx "$from" timeout 30 socat -u "FILE:$file" "$dst" || {
		wait $lpid; return 1; }
	wait $lpid
	[ "$(cat "$WORK/sum")" = "$(sha256sum < "$file" | cut -d' ' -f1)" ]
}

# 20 datagrams of 1000 bytes from FROM to ADDR:PORT on TO: all arrive.
udp_ok() {	# FROM TO ADDR PORT
	local from=$1 to=$2 addr=$3 port=$4 pf=ip4 dst got
	dst="UDP:$addr:$port"
	if [[ $addr == *:* ]]; then pf=ip6; dst="UDP6:[$addr]:$port"; fi
	ip netns exec "$(ns "$to")" timeout 10 socat -u \
		"UDP-RECV:$port,pf=$pf" - > "$WORK/udp" &
	BG+=($!)
	wait_for 25 nsx "$to" sh -c "ss -Hlun | grep -q ':$port '"
	for _ in $(seq 20); do
		head -c 1000 /dev/zero | tr '\0' 'u' |
			nsx "$from" timeout 5 socat -u - "$dst" || break
	done
	sleep 0.5
	kill "${BG[-1]}" 2>/dev/null; wait "${BG[-1]}" 2>/dev/null
	got=$(stat -c %s "$WORK/udp")
	[ "$got" -eq 20000 ] || { echo "    $got of 20000 bytes"; return 1; }
}

# Starts a capture on sw's port PORT into FILE; sets CAP_PID.
capture_start() {	# PORT FILE
	ip netns exec "$(ns sw)" timeout 60 tcpdump -q -i "$1" -s 0 -U \
		-w "$2" 2>/dev/null &
	CAP_PID=$!
	BG+=("$CAP_PID")
	sleep 0.7
}

capture_stop() {
	sleep 0.3
	kill "$CAP_PID" 2>/dev/null; wait "$CAP_PID" 2>/dev/null
}

# Link-scope IPv6 (neighbour discovery, MLD) is not ours to protect.
NOT_LINK='not icmp6 and not dst net ff02::/16'

# Traffic between h1 and H with the marker in it, both ways: on H's port
# only ESP between G's and H's outer addresses, and no marker anywhere.
wire_only_esp() {	# G_OUTER H_OUTER
	local pcap=$WORK/wire.pcap n_esp n_clear n_odd
	capture_start p2 "$pcap"
	if ! transfer h1 host 198.51.100.2 6100 "$WORK/marker" ||
	   ! transfer host h1 2001:db8:1::10 6101 "$WORK/marker"; then
		capture_stop
		return 1
	fi
	capture_stop
	n_esp=$(tcpdump -r "$pcap" -nn "esp and host $1 and host $2" \
		2>/dev/null | wc -l)
	n_odd=$(tcpdump -r "$pcap" -nn "esp and not (host $1 and host $2)" \
		2>/dev/null | wc -l)
	n_clear=$(tcpdump -r "$pcap" -nn "(ip or ip6) and not esp and \
		$NOT_LINK" 2>/dev/null | wc -l)
	echo "    wire: $n_esp ESP packets between G and H, $n_odd other ESP, $n_clear others"
	[ "$n_clear" -eq 0 ] || tcpdump -r "$pcap" -nn "(ip or ip6) and \
		not esp and $NOT_LINK" 2>/dev/null | head -n 3 |
		sed 's/^/      /'
	[ "$n_esp" -gt 1000 ] && [ "$n_odd" -eq 0 ] && [ "$n_clear" -eq 0 ] &&
		! grep -q "$MARKER" "$pcap"
}

# Traffic from FROM to ADDR, which no policy on the way covers: it must
# arrive and cross PORT in clear, marker and all, with no ESP.
wire_clear() {	# FROM TO ADDR PORT CAPTURE_PORT
	local pcap=$WORK/clear.pcap n_esp n_clear
	capture_start "$5" "$pcap"
	transfer "$1" "$2" "$3" "$4" "$WORK/marker" || { capture_stop; return 1; }
	capture_stop
	n_esp=$(tcpdump -r "$pcap" -nn esp 2>/dev/null | wc -l)
	n_clear=$(tcpdump -r "$pcap" -nn "tcp port $4 and host $3" \
		2>/dev/null | wc -l)
	echo "    wire: $n_clear clear TCP packets to and from $3, $n_esp ESP"
	[ "$n_esp" -eq 0 ] && [ "$n_clear" -gt 10 ] && grep -q "$MARKER" "$pcap"
}

# Every SA of NODE carried at least MIN packets.
sas_counted() {	# NODE MIN
	local want=$2 out
	out=$(xdpsec_cli "$1" --json sa list | python3 -c '
import json, sys
sas = json.load(sys.stdin)
print(len(sas), min((s["packets"] for s in sas), default=0),
      " ".join("%s=%d" % (s["name"], s["packets"]) for s in sas))')
	echo "    $1: $out"
	# shellcheck disable=SC2086
	set -- $out
	[ "$1" -eq 4 ] && [ "$2" -ge "$want" ]
}

# What one side's outbound SA counted, the other's inbound SA counted too
# (within 1 %: a packet may still be on its way).
sas_agree() {
	local g h
	g=$(xdpsec_cli gw1 --json sa list) && h=$(xdpsec_cli host --json sa list) ||
		return 1
	python3 -c '
import json, sys
g = {s["name"]: s["packets"] for s in json.loads(sys.argv[1])}
h = {s["name"]: s["packets"] for s in json.loads(sys.argv[2])}
pairs = [("out4", "in4"), ("in4", "out4"), ("out6", "in6"), ("in6", "out6")]
ok = True
for a, b in pairs:
    x, y = g.get(a, 0), h.get(b, 0)
    if not x or abs(x - y) > x // 100:
        print("    G %s %d, H %s %d" % (a, x, b, y))
        ok = False
sys.exit(0 if ok else 1)' "$g" "$h"
}

counters_pos() {	# NODE NAME...: each counter is above zero
	local node=$1 c v; shift
	for c in "$@"; do
		v=$(xdpsec_counter "$node" "$c")
		[ "$v" -gt 0 ] || { echo "    $node: $c = $v"; return 1; }
	done
}

no_auth_fail() {
	[ "$(xdpsec_counter gw1 drop_auth)" -eq 0 ] &&
		[ "$(xdpsec_counter host drop_auth)" -eq 0 ]
}

run_combo() {	# ALG OUTER_FAMILY
	local alg=$1 fam=$2 dir="$WORK/$1-$2" tag="$1, outer IPv$2" k
	local go=198.51.100.1 ho=198.51.100.2 bytes=20 before
	[ "$fam" = 6 ] && go=2001:db8:ff::1 ho=2001:db8:ff::2
	[ "$alg" = aes-gcm-256 ] && bytes=36
	mkdir -p "$dir"
	for k in a b c d; do topo_genkey $bytes "$dir/$k.key"; done
	topo_gw_config "$dir/gw.conf" gw1 $go $ho 192.0.2.0/24 \
		198.51.100.2/32 2001:db8:1::/64 2001:db8:ff::2/128 "$alg" \
		a b c d with-sas
	host_config "$dir/host.conf" $ho $go "$alg"
	if ! daemons_start "$dir"; then
		fail "[$tag] daemons start"
		[ -n "$G_PID" ] && daemon_stop gw1 "$G_PID" "$dir/gw.conf"
		G_PID=''
		return
	fi
	pass "[$tag] daemons start"

	check "[$tag] ping h1 -> H, IPv4 inner" \
		wait_for 25 ping_ok h1 198.51.100.2
	check "[$tag] ping h1 -> H, IPv6 inner" \
		wait_for 25 ping_ok h1 2001:db8:ff::2
	check "[$tag] ping H -> h1, IPv4 inner" ping_ok host 192.0.2.10
	check "[$tag] ping H -> h1, IPv6 inner" ping_ok host 2001:db8:1::10

	# H's host interface has the default MTU, 1400: packets of that
	# size, unfragmented, pass both ways.
	check "[$tag] 1400-byte pings h1 -> H and H -> h1, DF set, IPv4 and IPv6" \
		big_pings
	# Larger ones from the LAN still fit the tunnel; once decrypted
	# they must reach H's stack through the host interface all the same
	# (its routes carry host_mtu, its link a larger MTU).
	check "[$tag] 1420-byte pings h1 -> H, beyond host_mtu, IPv4 and IPv6" \
		eval 'big_ping h1 198.51.100.2 1392 && big_ping h1 2001:db8:ff::2 1372'
	check "[$tag] network to host: TCP h1 -> H over IPv4, checksum equal" \
		transfer h1 host 198.51.100.2 6001 "$WORK/data"
	check "[$tag] network to host: TCP h1 -> H over IPv6, checksum equal" \
		transfer h1 host 2001:db8:ff::2 6002 "$WORK/data"
	check "[$tag] host to network: TCP H -> h1 over IPv4, checksum equal" \
		transfer host h1 192.0.2.10 6003 "$WORK/data"
	check "[$tag] host to network: TCP H -> h1 over IPv6, checksum equal" \
		transfer host h1 2001:db8:1::10 6004 "$WORK/data"

	check "[$tag] UDP h1 -> H over IPv4, every datagram arrives" \
		udp_ok h1 host 198.51.100.2 6011
	check "[$tag] UDP h1 -> H over IPv6, every datagram arrives" \
		udp_ok h1 host 2001:db8:ff::2 6012
	check "[$tag] UDP H -> h1 over IPv4, every datagram arrives" \
		udp_ok host h1 192.0.2.10 6013
	check "[$tag] UDP H -> h1 over IPv6, every datagram arrives" \
		udp_ok host h1 2001:db8:1::10 6014

	check "[$tag] the wire between G and H carries only ESP, never the plaintext" \
		wire_only_esp $go $ho

	check "[$tag] G: each of its 4 SAs carried over 1000 packets" \
		sas_counted gw1 1000
	check "[$tag] H: each of its 4 SAs carried over 1000 packets" \
		sas_counted host 1000
	check "[$tag] packets each side sent on an SA, the other received" \
		sas_agree
	check "[$tag] G encrypted and decrypted" \
		counters_pos gw1 esp_encrypted esp_decrypted
	check "[$tag] H encrypted, decrypted and delivered to its own stack" \
		counters_pos host esp_encrypted esp_decrypted local_delivered
	check "[$tag] no authentication failures on G nor H" no_auth_fail

	# Selective policy: what neither side covers goes in clear.
	check "[$tag] bypass: ping H -> other host on sw, IPv4 and IPv6" \
		pings_ok host 198.51.100.3 2001:db8:ff::3
	check "[$tag] bypass: ping H -> G's wan address, IPv4 and IPv6" \
		pings_ok host 198.51.100.1 2001:db8:ff::1
	check "[$tag] bypass: TCP H -> other host crosses sw in clear" \
		wire_clear host other 198.51.100.3 6021 p2
	check "[$tag] bypass: TCP other host -> h1 through G crosses sw in clear" \
		wire_clear other h1 2001:db8:1::10 6022 p1

	check "[$tag] both daemons alive" kill -0 "$G_PID" "$H_PID"

	# H without its daemon sends to the LAN in clear: G's inbound
	# policy demands ESP from H, so G drops it.
	daemon_stop host "$H_PID" "$dir/host.conf"; H_PID=''
	before=$(xdpsec_counter gw1 drop_clear_protected)
	check_not "[$tag] H without xdpsecd: its plaintext to h1 does not get through G" \
		ping3 host 192.0.2.10
	check "[$tag] ... G drops it as plaintext that should have been protected" \
		test "$(( $(xdpsec_counter gw1 drop_clear_protected) - before ))" -ge 3
	check "[$tag] G alive" kill -0 "$G_PID"
	daemon_stop gw1 "$G_PID" "$dir/gw.conf"; G_PID=''
}

head -c 3M /dev/urandom > "$WORK/data"
yes "$MARKER" | head -c 1M >> "$WORK/data"
yes "$MARKER" | head -c 2M > "$WORK/marker"
nethost_up

check "baseline: without xdpsec, G forwards h1 -> H in clear" \
	wait_for 25 ping_ok h1 198.51.100.2

run_combo aes-gcm-128 4
run_combo aes-gcm-256 6
summary
