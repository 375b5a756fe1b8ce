# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
# The namespace topology shared by the demo, the tests and the benchmarks:
#
#   h1 --- gw1 ===== sw ===== gw2 --- h2
#   192.0.2.0/24   198.51.100.0/24   203.0.113.0/24
#   2001:db8:1::/64 2001:db8:ff::/64 2001:db8:2::/64
#
# "sw" is a plain bridge: a place to capture what crosses the wire between
# the gateways (the gateways' own interfaces run XDP, which hides redirected
# frames from capture there).  Source this file; every name starts with
# $TOPO so that two runs never collide.

: "${TOPO:=xdps}"
TOPO_WAN_MTU=${TOPO_WAN_MTU:-1600}
TOPO_LAN_MTU=${TOPO_LAN_MTU:-1500}
TOPO_QUEUES=${TOPO_QUEUES:-2}	# RX/TX queues per veth: one worker each

ns() { echo "$TOPO-$1"; }
nsx() { local n=$1; shift; ip netns exec "$(ns "$n")" "$@"; }

topo_link() {	# NS1 IF1 NS2 IF2 MTU
	local q="numrxqueues $TOPO_QUEUES numtxqueues $TOPO_QUEUES"
	# shellcheck disable=SC2086
	ip -n "$(ns "$1")" link add "$2" mtu "$5" $q type veth \
		peer name "$4" mtu "$5" $q netns "$(ns "$3")"
	ip -n "$(ns "$1")" link set "$2" up
	ip -n "$(ns "$3")" link set "$4" up
}

topo_addr() {	# NS IF V4/LEN V6/LEN
	ip -n "$(ns "$1")" addr add "$3" dev "$2"
	ip -n "$(ns "$1")" addr add "$4" dev "$2" nodad
}

topo_gateway_sysctls() {
	nsx "$1" sysctl -qw net.ipv4.ip_forward=1
	nsx "$1" sysctl -qw net.ipv6.conf.all.forwarding=1
}

topo_up() {
	local n
	topo_down
	for n in h1 gw1 sw gw2 h2; do
		ip netns add "$(ns $n)"
		ip -n "$(ns $n)" link set lo up
	done

	topo_link h1 eth0 gw1 lan "$TOPO_LAN_MTU"
	topo_link gw1 wan sw p1 "$TOPO_WAN_MTU"
	topo_link sw p2 gw2 wan "$TOPO_WAN_MTU"
	topo_link gw2 lan h2 eth0 "$TOPO_LAN_MTU"

	ip -n "$(ns sw)" link add br0 mtu "$TOPO_WAN_MTU" type bridge
	ip -n "$(ns sw)" link set p1 master br0
	ip -n "$(ns sw)" link set p2 master br0
	ip -n "$(ns sw)" link set br0 up

	topo_addr h1 eth0 192.0.2.10/24 2001:db8:1::10/64
	topo_addr gw1 lan 192.0.2.1/24 2001:db8:1::1/64
	topo_addr gw1 wan 198.51.100.1/24 2001:db8:ff::1/64
	topo_addr gw2 wan 198.51.100.2/24 2001:db8:ff::2/64
	topo_addr gw2 lan 203.0.113.1/24 2001:db8:2::1/64
	topo_addr h2 eth0 203.0.113.10/24 2001:db8:2::10/64

	ip -n "$(ns h1)" route add default via 192.0.2.1
	ip -n "$(ns h1)" -6 route add default via 2001:db8:1::1
	ip -n "$(ns h2)" route add default via 203.0.113.1
	ip -n "$(ns h2)" -6 route add default via 2001:db8:2::1
	ip -n "$(ns gw1)" route add 203.0.113.0/24 via 198.51.100.2
	ip -n "$(ns gw1)" -6 route add 2001:db8:2::/64 via 2001:db8:ff::2
	ip -n "$(ns gw2)" route add 192.0.2.0/24 via 198.51.100.1
	ip -n "$(ns gw2)" -6 route add 2001:db8:1::/64 via 2001:db8:ff::1
	topo_gateway_sysctls gw1
	topo_gateway_sysctls gw2

	# The hosts stand for machines behind real NICs, which hand out
	# frames with finished checksums; veth would leave them partial.
	nsx h1 ethtool -K eth0 tx off >/dev/null
	nsx h2 ethtool -K eth0 tx off >/dev/null
}

topo_down() {
	local n
	for n in h1 gw1 sw gw2 h2; do
		ip netns del "$(ns $n)" 2>/dev/null
	done
	return 0
}

# Writes a hex key of BYTES random bytes to FILE, readable by root only.
topo_genkey() {	# BYTES FILE
	(umask 077; head -c "$1" /dev/urandom | od -An -tx1 | tr -d ' \n' \
		> "$2"; echo >> "$2")
}

# Writes gw1.conf and gw2.conf for a static tunnel between the two LANs
# (IPv4 and IPv6 inner, outer FAMILY 4 or 6) into DIR, with fresh keys.
topo_tunnel_configs() {	# DIR ALG OUTER_FAMILY [with-sas]
	local dir=$1 alg=$2 fam=$3 sas=${4:-with-sas} bytes=20
	local o1=198.51.100.1 o2=198.51.100.2
	case $alg in	# a 32-byte key, and every AEAD adds a 4-byte salt
	aes-gcm-256|chacha20-poly1305) bytes=36 ;;
	esac
	[ "$fam" = 6 ] && o1=2001:db8:ff::1 o2=2001:db8:ff::2
	mkdir -p "$dir"
	topo_genkey $bytes "$dir/a.key"; topo_genkey $bytes "$dir/b.key"
	topo_genkey $bytes "$dir/c.key"; topo_genkey $bytes "$dir/d.key"
	topo_gw_config "$dir/gw1.conf" gw1 $o1 $o2 192.0.2.0/24 \
		203.0.113.0/24 2001:db8:1::/64 2001:db8:2::/64 "$alg" \
		a b c d "$sas"
	topo_gw_config "$dir/gw2.conf" gw2 $o2 $o1 203.0.113.0/24 \
		192.0.2.0/24 2001:db8:2::/64 2001:db8:1::/64 "$alg" \
		b a d c "$sas"
}

# One gateway's file: SAs "out4/in4" carry IPv4, "out6/in6" IPv6.
topo_gw_config() {	# FILE GW LOCAL PEER L4 R4 L6 R6 ALG KO4 KI4 KO6 KI6 SAS
	local f=$1 gw=$2 me=$3 peer=$4 l4=$5 r4=$6 l6=$7 r6=$8 alg=$9
	local ko4=${10} ki4=${11} ko6=${12} ki6=${13} sas=${14}
	local spi_o4=0x1000 spi_i4=0x2000 spi_o6=0x1006 spi_i6=0x2006
	if [ "$gw" = gw2 ]; then
		spi_o4=0x2000 spi_i4=0x1000 spi_o6=0x2006 spi_i6=0x1006
	fi
	{
		cat <<-CONF
		# $gw: static ESP tunnel between $l4 and $r4 ($l6 and $r6).
		[daemon]
		instance = $TOPO-$gw
		interfaces = lan wan
		default = bypass

		[policy out4]
		dir = out
		src = $l4
		dst = $r4
		action = protect
		sa = out4

		[policy in4]
		dir = in
		src = $r4
		dst = $l4
		action = protect
		sa = in4

		[policy out6]
		dir = out
		src = $l6
		dst = $r6
		action = protect
		sa = out6

		[policy in6]
		dir = in
		src = $r6
		dst = $l6
		action = protect
		sa = in6
		CONF
		[ "$sas" = with-sas ] || return 0
		topo_sa out4 out $spi_o4 "$me" "$peer" "$alg" "$ko4" "$l4" "$r4"
		topo_sa in4 in $spi_i4 "$peer" "$me" "$alg" "$ki4" "$r4" "$l4"
		topo_sa out6 out $spi_o6 "$me" "$peer" "$alg" "$ko6" "$l6" "$r6"
		topo_sa in6 in $spi_i6 "$peer" "$me" "$alg" "$ki6" "$r6" "$l6"
	} > "$f"
}

topo_sa() {	# NAME DIR SPI SRC DST ALG KEY SEL_SRC SEL_DST
	cat <<-CONF

	[sa $1]
	dir = $2
	spi = $3
	mode = tunnel
	src = $4
	dst = $5
	alg = $6
	key_file = $7.key
	sel_src = $8
	sel_dst = $9
	CONF
}

# Starts xdpsecd in namespace GW with CONF; sets XDPSECD_PID.  The daemon
# mounts its own bpffs inside the namespace's mount namespace.
# XDPSECD_BIN, when set, names another daemon binary to start.
xdpsecd_start() {	# GW CONF LOG [XDPSECD OPTIONS...]
	local sock="/run/xdpsec/$TOPO-$1.sock" i conf=$2 log=$3
	local bin=${XDPSECD_BIN:-${BUILD:-build}/xdpsecd}
	rm -f "$sock"
	ip netns exec "$(ns "$1")" "$bin" -c "$conf" \
		"${@:4}" >"$log" 2>&1 &
	XDPSECD_PID=$!
	for i in $(seq 100); do
		[ -S "$sock" ] && return 0
		kill -0 "$XDPSECD_PID" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# xdpsecd for HOST with $WORK/HOST.conf, logging to $WORK/HOST.log; sets
# HOST_PID (upper case), and prints the log if the daemon does not come up.
xdpsecd_host() {	# HOST
	local rc=0
	xdpsecd_start "$1" "$WORK/$1.conf" "$WORK/$1.log" || rc=1
	eval "${1^^}_PID=$XDPSECD_PID"
	[ $rc -eq 0 ] || cat "$WORK/$1.log"
	return $rc
}

# The xdpsec CLI for the daemon of gateway GW.
xdpsec_cli() {	# GW ARGS...
	local gw=$1; shift
	"${BUILD:-build}/xdpsec" -n "$TOPO-$gw" "$@"
}

# Prints one counter of gateway GW (0 if absent).
xdpsec_counter() {	# GW NAME
	xdpsec_cli "$1" --json stats | python3 -c \
		'import json,sys; print(json.load(sys.stdin)["counters"].get(sys.argv[1], 0))' "$2"
}

# A second, smaller topology: two hosts on one bridge, for host-to-host
# scenarios.
#
#   a (198.51.100.1, 2001:db8:ff::1) --- sw --- b (198.51.100.2, ...::2)
pair_up() {
	local n
	pair_down
	for n in a sw b; do
		ip netns add "$(ns $n)"
		ip -n "$(ns $n)" link set lo up
	done
	ip -n "$(ns a)" link add eth0 type veth peer name p1 netns "$(ns sw)"
	ip -n "$(ns b)" link add eth0 type veth peer name p2 netns "$(ns sw)"
	ip -n "$(ns sw)" link add br0 type bridge
	for n in p1 p2; do
		ip -n "$(ns sw)" link set $n master br0
		ip -n "$(ns sw)" link set $n up
	done
	ip -n "$(ns sw)" link set br0 up
	topo_addr a eth0 198.51.100.1/24 2001:db8:ff::1/64
	topo_addr b eth0 198.51.100.2/24 2001:db8:ff::2/64
	ip -n "$(ns a)" link set eth0 up
	ip -n "$(ns b)" link set eth0 up
}

pair_down() {
	local n
	for n in a sw b; do
		ip netns del "$(ns $n)" 2>/dev/null
	done
	return 0
}
