#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# IKEv2 between two xdpsec gateways with a source NAT between them: gw1
# sits on a private link behind a NAT box that masquerades it, source
# ports included, onto the outside network where gw2 waits for any peer.
# Both daemons must find the NAT, move IKE to port 4500 and carry the
# CHILD_SA in UDP to the ports the NAT chose; the wire outside shows only
# that UDP, gw1's NAT-T keepalives hold the mapping open, a delete from
# gw2 takes the SAs down on both sides and gw1 brings them back.  When the
# NAT forgets its mapping and picks new ports, the tunnel must follow.
# Run over IPv4 and IPv6 outer addresses (the NAT masquerades both).
#
#                  198.18.0.0/24            198.51.100.0/24
#                  2001:db8:f0::/64         2001:db8:ff::/64
#   h1 --- gw1 ------------------ nat ====== sw ====== gw2 --- h2
#   192.0.2.0/24                                          203.0.113.0/24
#   2001:db8:1::/64                                       2001:db8:2::/64
cd "$(dirname "$0")/../.." || exit 1
. tests/lib.sh
need_root
TOPO=xnat
BUILD=${BUILD:-build}
WORK=$(mktemp -d /tmp/xdpsec-ike-nat.XXXXXX)
GW1_PID='' GW2_PID='' CAP_PID=''
NODES="h1 gw1 nat sw gw2 h2"
# The ports the NAT maps the gateway's UDP to: never 500 or 4500.
NAT_PORTS=20000-29999

. scripts/topo.sh
. tests/ike_lib.sh

cleanup() {
	local p n
	for p in $GW1_PID $GW2_PID $CAP_PID; do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	for n in $NODES; do ip netns del "$(ns "$n")" 2>/dev/null; done
	rm -rf "$WORK"
}
trap cleanup EXIT

nat_up() {
	local n
	for n in $NODES; do
		ip netns del "$(ns "$n")" 2>/dev/null
		ip netns add "$(ns "$n")"
		ip -n "$(ns "$n")" link set lo up
	done
	topo_link h1 eth0 gw1 lan "$TOPO_LAN_MTU"
	topo_link gw1 wan nat in "$TOPO_WAN_MTU"
	topo_link nat out sw p1 "$TOPO_WAN_MTU"
	topo_link sw p2 gw2 wan "$TOPO_WAN_MTU"
	topo_link gw2 lan h2 eth0 "$TOPO_LAN_MTU"

	ip -n "$(ns sw)" link add br0 mtu "$TOPO_WAN_MTU" type bridge
	ip -n "$(ns sw)" link set p1 master br0
	ip -n "$(ns sw)" link set p2 master br0
	ip -n "$(ns sw)" link set br0 up

	topo_addr h1 eth0 192.0.2.10/24 2001:db8:1::10/64
	topo_addr gw1 lan 192.0.2.1/24 2001:db8:1::1/64
	topo_addr gw1 wan 198.18.0.2/24 2001:db8:f0::2/64
	topo_addr nat in 198.18.0.1/24 2001:db8:f0::1/64
	topo_addr nat out 198.51.100.1/24 2001:db8:ff::1/64
	topo_addr gw2 wan 198.51.100.2/24 2001:db8:ff::2/64
	topo_addr gw2 lan 203.0.113.1/24 2001:db8:2::1/64
	topo_addr h2 eth0 203.0.113.10/24 2001:db8:2::10/64

	ip -n "$(ns h1)" route add default via 192.0.2.1
	ip -n "$(ns h1)" -6 route add default via 2001:db8:1::1
	ip -n "$(ns h2)" route add default via 203.0.113.1
	ip -n "$(ns h2)" -6 route add default via 2001:db8:2::1
	# gw1 knows only its NAT; gw2 sees gw1's LAN behind the NAT.
	ip -n "$(ns gw1)" route add default via 198.18.0.1
	ip -n "$(ns gw1)" -6 route add default via 2001:db8:f0::1
	ip -n "$(ns gw2)" route add 192.0.2.0/24 via 198.51.100.1
	ip -n "$(ns gw2)" -6 route add 2001:db8:1::/64 via 2001:db8:ff::1
	topo_gateway_sysctls gw1
	topo_gateway_sysctls gw2
	topo_gateway_sysctls nat

	# A source NAT of everything that leaves by "out", to ports it
	# picks at random: gw2 never sees 500 or 4500 as a source port.
	nsx nat nft -f - <<-NFT || return 1
	table inet xnat {
		chain post {
			type nat hook postrouting priority srcnat; policy accept;
			oifname "out" meta l4proto udp masquerade to :$NAT_PORTS random
			oifname "out" masquerade
		}
	}
	NFT

	nsx h1 ethtool -K eth0 tx off >/dev/null
	nsx h2 ethtool -K eth0 tx off >/dev/null
}

# The NAT forgets every mapping (its conntrack table is flushed), as a NAT
# that reboots or times a mapping out does: the next packet gets a new one.
nat_forget() {
	nsx nat python3 -c '
import socket, struct
s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 12)	# netfilter
# IPCTNL_MSG_CT_DELETE without a tuple, REQUEST|ACK: flush all families.
s.send(struct.pack("=IHHII", 20, (1 << 8) | 2, 1 | 4, 1, 0) +
       struct.pack("=BBH", 0, 0, 0))
err = struct.unpack_from("=i", s.recv(4096), 16)[0]
raise SystemExit(err != 0)'
}

# conf GW ME PEER START PSKFILE: one gateway's file.
conf() {
	local gw=$1 me=$2 peer=$3 start=$4 psk=$5
	local lts="192.0.2.0/24, 2001:db8:1::/64" rts="203.0.113.0/24, 2001:db8:2::/64"
	local lid=gw1.example.net rid=gw2.example.net
	if [ "$gw" = gw2 ]; then
		local t=$lts; lts=$rts; rts=$t
		t=$lid; lid=$rid; rid=$t
	fi
	cat > "$WORK/$gw.conf" <<-CONF
	[daemon]
	instance = $TOPO-$gw
	interfaces = lan wan
	default = bypass
	natt_keepalive = 1

	[conn site]
	local = $me
	remote = $peer
	local_id = $lid
	remote_id = $rid
	auth = psk
	psk_file = $psk
	local_ts = $lts
	remote_ts = $rts
	start = $start
	dpd = 3s
	CONF
}

# Whether every CHILD_SA of GW's first IKE SA is UDP-encapsulated.
children_encap() {
	xdpsec_cli "$1" --json ike list 2>/dev/null | python3 -c '
import json, sys
sas = json.load(sys.stdin)
kids = sas[0]["children"] if sas else []
raise SystemExit(not kids or not all(c["encap"] for c in kids))' 2>/dev/null
}

ping_ok() { nsx "$1" ping -c1 -W1 "$2" >/dev/null 2>&1; }

both_pings() {
	ping_ok h1 203.0.113.10 && ping_ok h2 192.0.2.10 &&
		ping_ok h1 2001:db8:2::10 && ping_ok h2 2001:db8:1::10
}

# capture_start / capture_stop: tcpdump on sw's port towards the NAT.


pcap_count() {	# PCAP FILTER
	tcpdump -r "$1" -nn "$2" 2>/dev/null | wc -l
}

# What crosses the outside while the hosts ping both ways: from the NAT
# only UDP to gw2's port 4500, none of it from 500 or 4500 (the NAT's own
# ports), ESP in UDP both ways, and no ICMP echo in clear.
outside_wire() {	# OUTER_NAT OUTER_GW2
	local pcap=$WORK/wire.pcap nat=$1 gw2=$2 esp n_in n_out n_other n_clear
	capture_start "$pcap"
	nsx h1 ping -c 5 -i 0.1 -W1 203.0.113.10 >/dev/null
	nsx h2 ping -c 5 -i 0.1 -W1 192.0.2.10 >/dev/null
	nsx h1 ping -c 5 -i 0.1 -W1 2001:db8:2::10 >/dev/null
	nsx h2 ping -c 5 -i 0.1 -W1 2001:db8:1::10 >/dev/null
	capture_stop
	# ESP in UDP: not a keepalive (0xff), not IKE (a zero marker).
	esp="udp[4:2] > 9 and udp[8:4] != 0"
	[[ $nat == *:* ]] && esp="ip6[44:2] > 9 and ip6[48:4] != 0"
	n_out=$(pcap_count "$pcap" "src host $nat and dst host $gw2 and \
		udp dst port 4500 and $esp")
	n_in=$(pcap_count "$pcap" "src host $gw2 and dst host $nat and \
		udp src port 4500 and $esp")
	n_other=$(pcap_count "$pcap" "(ip or ip6) and src host $nat and \
		not (udp dst port 4500 and not udp src port 4500 and \
		not udp src port 500) and \
		not (icmp6 and ip6[40] >= 133 and ip6[40] <= 136)")
	n_clear=$(pcap_count "$pcap" "icmp or (icmp6 and \
		(ip6[40] = 128 or ip6[40] = 129))")
	echo "    outside: $n_out ESP in UDP from the NAT, $n_in to it," \
		"$n_other other packets from it, $n_clear ICMP echo in clear"
	[ "$n_out" -ge 20 ] && [ "$n_in" -ge 20 ] && [ "$n_other" -eq 0 ] &&
		[ "$n_clear" -eq 0 ]
}

# gw1's keepalives, one byte 0xff, reach the outside through the NAT.
keepalives() {	# OUTER_NAT OUTER_GW2
	local pcap=$WORK/ka.pcap ka="udp[4:2] = 9 and udp[8] = 0xff" n
	[[ $1 == *:* ]] && ka="ip6[44:2] = 9 and ip6[48] = 0xff"
	capture_start "$pcap"
	sleep 3.5
	capture_stop
	n=$(pcap_count "$pcap" "src host $1 and dst host $2 and \
		udp dst port 4500 and $ka")
	echo "    $n keepalives from the NAT in 3.5 s"
	[ "$n" -ge 2 ]
}

# The NAT's current outside port for gw1's IKE on 4500, as gw2 sees it.
peer_port() {
	ike_field gw2 remote | sed -n 's/.*\[\([0-9]*\)\]$/\1/p'
}

both_nat() {
	[ "$(ike_field gw1 nat)" = True ] && [ "$(ike_field gw2 nat)" = True ]
}

# gw1 reaches gw2 from a port of the NAT's choosing.
nat_port() {
	local p
	p=$(peer_port)
	[ -n "$p" ] && [ "$p" != 500 ] && [ "$p" != 4500 ]
}

# gw2 speaks to gw1 at another port of the NAT than $OLD_PORT.
port_moved() {
	local p
	p=$(peer_port)
	[ -n "$p" ] && [ "$p" != "$OLD_PORT" ]
}

gw2_deletes() {
	xdpsec_cli gw2 tunnel down site >/dev/null && wait_for 25 gone_both
}

run() {	# TAG OUTER(4|6)
	local tag=$1 me=198.18.0.2 nat=198.51.100.1 gw2=198.51.100.2
	if [ "$2" = 6 ]; then
		me=2001:db8:f0::2 nat=2001:db8:ff::1 gw2=2001:db8:ff::2
	fi
	secret "$WORK/psk" "correct horse battery staple $tag"
	conf gw1 $me $gw2 initiate "$WORK/psk"
	conf gw2 $gw2 any wait "$WORK/psk"
	start_both "$tag" || return
	check "[$tag] IKE SA and CHILD_SA established on both sides" \
		wait_for 50 established
	echo "    gw1: $(ike_field gw1 local) -> $(ike_field gw1 remote);" \
		"gw2: $(ike_field gw2 local) <- $(ike_field gw2 remote)," \
		"peer $(ike_field gw2 peer_id)"
	check "[$tag] both sides find the NAT" both_nat
	check "[$tag] gw2 talks IKE to the NAT's port, not 500 or 4500" nat_port
	check "[$tag] gw2's CHILD_SA is UDP-encapsulated" children_encap gw2
	check "[$tag] ... and so is gw1's" children_encap gw1
	check "[$tag] ping h1 -> h2 over IPv4" wait_for 25 ping_ok h1 203.0.113.10
	check "[$tag] ping h2 -> h1 over IPv4" wait_for 25 ping_ok h2 192.0.2.10
	check "[$tag] ping h1 -> h2 over IPv6" wait_for 25 ping_ok h1 2001:db8:2::10
	check "[$tag] ping h2 -> h1 over IPv6" wait_for 25 ping_ok h2 2001:db8:1::10
	check "[$tag] outside, only UDP to 4500 from the NAT's own ports" \
		outside_wire $nat $gw2
	check "[$tag] gw1's NAT-T keepalives cross the NAT" keepalives $nat $gw2

	OLD_SAS="$(ike_sas gw1) $(ike_sas gw2)"
	check "[$tag] gw2 deletes: both sides drop the SAs" gw2_deletes
	check "[$tag] gw1 brings the tunnel back by itself" wait_for 75 established
	check "[$tag] ... and it carries traffic both ways" wait_for 25 both_pings

	OLD_PORT=$(peer_port)
	check "[$tag] the NAT forgets its mappings" nat_forget
	# gw1's keepalives open a new mapping at once, its DPD tells gw2.
	check "[$tag] gw2 follows gw1 to its new port" wait_for 50 port_moved
	echo "    gw1 was at port $OLD_PORT of the NAT, now $(peer_port)"
	check "[$tag] the tunnel carries traffic both ways again" \
		wait_for 50 both_pings
	check "[$tag] both daemons alive" kill -0 "$GW1_PID" "$GW2_PID"
	stop_all
}

nat_up || { fail "the NAT topology comes up"; summary; exit 1; }
run "ipv4" 4
[ -n "$IKE_ONLY4" ] || run "ipv6" 6
summary
