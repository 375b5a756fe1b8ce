#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Host to host: two machines, A and B, each running xdpsecd on its only
# interface with a host interface for its own traffic.  For every
# transform, in transport and tunnel mode, raw and in UDP, with 32-bit and
# extended sequence numbers: ping over IPv4 and IPv6, a TCP transfer with
# a checksum, and a capture on the wire between them that shows only ESP
# (or AH) and, where the transform encrypts, never the plaintext.
#
#   A (198.51.100.1, 2001:db8:ff::1) --- sw --- B (198.51.100.2, ...::2)
cd "$(dirname "$0")/../.." || exit 1
. tests/lib.sh
need_root
TOPO=xh2h
BUILD=${BUILD:-build}
WORK=$(mktemp -d /tmp/xdpsec-host.XXXXXX)
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

# One SA section; $xform holds the alg/integ lines.
sa_section() {	# NAME DIR SPI SRC DST KEY
	cat <<-CONF

	[sa $1]
	dir = $2
	spi = $3
	proto = $proto
	mode = $mode
	src = $4
	dst = $5
	key_file = $6
	esn = $esn
	encap = $encap
	$xform
	CONF
	# Extra lines go to every SA, or only to the one sa_extra_on names.
	if [ -z "$sa_extra_on" ] || [ "$sa_extra_on" = "$cur_host:$1" ]; then
		printf '%s\n' "$sa_extra"
	fi
	if [ "$mode" = tunnel ]; then
		local plen=32
		[[ $4 == *:* ]] && plen=128
		printf 'sel_src = %s/%s\nsel_dst = %s/%s\n' "$4" $plen "$5" $plen
	fi
}

policy_section() {	# NAME DIR SRC DST SA
	printf '\n[policy %s]\ndir = %s\nsrc = %s\ndst = %s\naction = protect\nsa = %s\n' \
		"$@"
}

host_config() {	# HOST ME PEER ME6 PEER6 (SPIs: out of A = in of B)
	local h=$1 me=$2 peer=$3 me6=$4 peer6=$5 o4=0x4001 i4=0x4002 \
		o6=0x4003 i6=0x4004
	if [ "$h" = b ]; then o4=0x4002 i4=0x4001 o6=0x4004 i6=0x4003; fi
	cur_host=$h
	{
		printf '[daemon]\ninstance = %s\ninterfaces = eth0\n' "$TOPO-$h"
		printf 'host_interface = xs0\ndefault = bypass\n'
		printf 'natt_keepalive = 1\n'
		policy_section out4 out "$me/32" "$peer/32" out4
		policy_section in4 in "$peer/32" "$me/32" in4
		policy_section out6 out "$me6/128" "$peer6/128" out6
		policy_section in6 in "$peer6/128" "$me6/128" in6
		sa_section out4 out $o4 "$me" "$peer" "$WORK/k$o4"
		sa_section in4 in $i4 "$peer" "$me" "$WORK/k$i4"
		sa_section out6 out $o6 "$me6" "$peer6" "$WORK/k$o6"
		sa_section in6 in $i6 "$peer6" "$me6" "$WORK/k$i6"
	} > "$WORK/$h.conf"
}

daemons_stop() {
	local p
	for p in $A_PID $B_PID; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	A_PID= B_PID=
	for h in a b; do
		nsx $h "$BUILD/xdpsecd" -c "$WORK/$h.conf" --detach >/dev/null 2>&1
	done
}

ping_ok() { nsx a ping -c1 -W1 "$1" >/dev/null 2>&1; }

transfer() {	# ADDR PORT
	local pf=ip4 dst="TCP:$1:$2" lpid
	if [[ $1 == *:* ]]; then pf=ip6; dst="TCP6:[$1]:$2"; fi
	nsx b timeout 60 socat -u "TCP-LISTEN:$2,reuseaddr,pf=$pf" - |
		sha256sum | cut -d' ' -f1 > "$WORK/sum" &
	lpid=$!
	wait_for 25 nsx b sh -c "ss -Hltn | grep -q ':$2 '"
	nsx a timeout 60 socat -u "FILE:$WORK/data" "$dst" || return 1
	wait $lpid
	[ "$(cat "$WORK/sum")" = "$(sha256sum < "$WORK/data" | cut -d' ' -f1)" ]
}

wire_check() {	# ENCRYPTS(yes/no)
	local pcap=$WORK/wire.pcap want=esp n_ipsec n_clear
	[ "$proto" = ah ] && want=ah
	[ "$encap" = yes ] && want="udp port 4500"
	ip netns exec "$(ns sw)" timeout 20 tcpdump -q -i p1 -s 0 -U -w "$pcap" 2>/dev/null &
	BG+=($!)
	sleep 0.7
	transfer 198.51.100.2 6000 || return 1
	sleep 0.3
	kill "${BG[-1]}"; wait "${BG[-1]}" 2>/dev/null
	n_ipsec=$(tcpdump -r "$pcap" -nn "$want" 2>/dev/null | wc -l)
	# Link-scope IPv6 (neighbour discovery, MLD) is not ours to protect.
	n_clear=$(tcpdump -r "$pcap" -nn "(ip or ip6) and not ($want) and \
		not icmp6 and not dst net ff02::/16" 2>/dev/null | wc -l)
	echo "    wire: $n_ipsec $want packets, $n_clear others"
	[ "$n_clear" -eq 0 ] || tcpdump -r "$pcap" -nn "(ip or ip6) and \
		not ($want) and not icmp6 and not dst net ff02::/16" \
		2>/dev/null | head -n 3 | sed 's/^/      /'
	[ "$n_ipsec" -gt 100 ] && [ "$n_clear" -eq 0 ] || return 1
	if [ "$1" = yes ]; then
		! grep -q "XDPSEC-PLAINTEXT-MARKER" "$pcap"
	else
		grep -q "XDPSEC-PLAINTEXT-MARKER" "$pcap"
	fi
}

udp_ok() {	# ADDR PORT: 20 datagrams of 1000 bytes, all of them arrive
	local pf=ip4 dst="UDP:$1:$2" got
	if [[ $1 == *:* ]]; then pf=ip6; dst="UDP6:[$1]:$2"; fi
	ip netns exec "$(ns b)" timeout 5 socat -u \
		"UDP-RECV:$2,pf=$pf" - > "$WORK/udp" &
	BG+=($!)
	sleep 0.4
	for _ in $(seq 20); do
		head -c 1000 /dev/zero | nsx a socat -u - "$dst" || return 1
	done
	sleep 0.5
	kill "${BG[-1]}" 2>/dev/null; wait "${BG[-1]}" 2>/dev/null
	got=$(stat -c %s "$WORK/udp")
	[ "$got" -eq 20000 ] || { echo "    $got of 20000 bytes"; return 1; }
}

cli() { local h=$1; shift; "$BUILD/xdpsec" -n "$TOPO-$h" "$@"; }
counter() {	# HOST NAME
	cli "$1" --json stats | python3 -c \
		'import json,sys; print(json.load(sys.stdin)["counters"].get(sys.argv[1], 0))' "$2"
}
sa_field() {	# HOST SA FIELD
	cli "$1" --json sa list | python3 -c \
		'import json,sys; print(([s[sys.argv[2]] for s in json.load(sys.stdin) if s["name"] == sys.argv[1]] or ["gone"])[0])' "$2" "$3"
}

# Extended sequence numbers across 2^32: A's IPv4 out SA (index 1) jumps
# to 2^32 - 3; the next pings carry ...fffe, ...ffff, then 2^32 + 0, 1...:
# B must infer the high half and keep accepting.
esn_boundary() {
	nsenter -t "$A_PID" -m bpftool map update \
		pinned "/sys/fs/bpf/xdpsec/$TOPO-a/sa_state" key 1 0 0 0 \
		value 0xfd 0xff 0xff 0xff $(printf '0 %.0s' $(seq 60)) ||
		return 1
	nsx a ping -c 6 -i 0.2 -W1 198.51.100.2 >/dev/null || return 1
	echo "    A out4 seq $(sa_field a out4 seq), B in4 top $(sa_field b in4 seq)"
	[ "$(sa_field a out4 seq)" -gt 4294967296 ] &&
		[ "$(sa_field b in4 seq)" -gt 4294967296 ]
}

keepalives_seen() {
	local pcap=$WORK/ka.pcap n
	nsx sw timeout 3 tcpdump -q -i p1 -w "$pcap" \
		'ip and udp port 4500 and udp[4:2] = 9' 2>/dev/null
	n=$(tcpdump -r "$pcap" -nn 2>/dev/null | wc -l)
	echo "    $n keepalives in 3 s; B absorbed $(counter b natt_keepalive)"
	[ "$n" -ge 2 ] && [ "$(counter b natt_keepalive)" -gt 0 ]
}

# Traffic flow confidentiality: no ESP packet on the wire is shorter than
# the padding target.
tfc_padded() {
	local pcap=$WORK/tfc.pcap n_short n_all
	ip netns exec "$(ns sw)" timeout 3 tcpdump -q -i p1 -w "$pcap" esp 2>/dev/null &
	BG+=($!)
	sleep 0.5
	nsx a ping -c 5 -i 0.2 -s 20 198.51.100.2 >/dev/null
	wait "${BG[-1]}" 2>/dev/null
	n_all=$(tcpdump -r "$pcap" -nn 2>/dev/null | wc -l)
	n_short=$(tcpdump -r "$pcap" -nn 'less 1000' 2>/dev/null | wc -l)
	echo "    $n_all ESP packets, $n_short shorter than 1000 bytes"
	[ "$n_all" -ge 10 ] && [ "$n_short" -eq 0 ]
}

host_route() {	# PREFIX: is it routed into A's host interface?
	local f=-4
	[[ $1 == *:* ]] && f=-6
	ip -n "$(ns a)" $f route show table 0x7864 | grep -q "^$1 dev xs0"
}

# The host interface's routes follow the SPD as policies come and go.
routes_follow() {
	local cli=("$BUILD/xdpsec" -n "$TOPO-a")
	host_route 198.51.100.2 && host_route 2001:db8:ff::2 || return 1
	"${cli[@]}" policy add extra dir out src 198.51.100.1/32 \
		dst 192.0.2.99/32 action protect sa out4 >/dev/null &&
		host_route 192.0.2.99 || return 1
	"${cli[@]}" policy del extra >/dev/null && ! host_route 192.0.2.99 ||
		return 1
	"${cli[@]}" policy del out6 >/dev/null && ! host_route 2001:db8:ff::2 &&
		host_route 198.51.100.2
}

# Lifetimes: A's IPv4 out SA allows 12 packets, a rekey is due after 5.
lifetimes() {
	nsx a ping -c 6 -i 0.1 -W1 198.51.100.2 >/dev/null || return 1
	wait_for 10 eval '[ "$(sa_field a out4 expired)" = soft ]' || return 1
	echo "    after 6 packets: expired=$(sa_field a out4 expired)"
	nsx a ping -c 10 -i 0.1 -W1 198.51.100.2 >/dev/null
	wait_for 10 eval '[ "$(sa_field a out4 name)" = gone ]' || return 1
	echo "    after 16: SA removed (hard limit)"
	! ping_ok 198.51.100.2 && ping_ok 2001:db8:ff::2
}

# run PROTO MODE "ALG/INTEG lines" KEYBYTES ESN ENCAP ENCRYPTS [EXTRA]
# EXTRA: esn-boundary, keepalive, tfc, routes or lifetimes
run() {
	proto=$1 mode=$2 xform=$3 esn=$5 encap=$6 sa_extra= sa_extra_on=
	local bytes=$4 enc=$7 extra=${8:-} tag k
	[ "$extra" = tfc ] && sa_extra="tfc_pad = 1000"
	if [ "$extra" = lifetimes ]; then
		sa_extra=$'soft_packets = 5\nhard_packets = 12'
		sa_extra_on=a:out4
	fi

	tag="$proto $mode $(echo "$xform" | tr '\n' ' ')esn=$esn encap=$encap"
	for k in 0x4001 0x4002 0x4003 0x4004; do topo_genkey "$bytes" "$WORK/k$k"; done
	host_config a 198.51.100.1 198.51.100.2 2001:db8:ff::1 2001:db8:ff::2
	host_config b 198.51.100.2 198.51.100.1 2001:db8:ff::2 2001:db8:ff::1
	if ! xdpsecd_host a || ! xdpsecd_host b; then
		fail "[$tag] daemons start"
		daemons_stop
		return
	fi
	if [ "$extra" = lifetimes ]; then
		# Counted packets: nothing else may use the IPv4 SA here.
		check "[$tag] ping A -> B, IPv6" wait_for 25 ping_ok 2001:db8:ff::2
		check "[$tag] soft lifetime marks the SA, hard removes it" \
			lifetimes
		daemons_stop
		return
	fi
	check "[$tag] ping A -> B, IPv4" wait_for 25 ping_ok 198.51.100.2
	check "[$tag] ping A -> B, IPv6" wait_for 25 ping_ok 2001:db8:ff::2
	check "[$tag] TCP A -> B over IPv6, checksum equal" \
		transfer 2001:db8:ff::2 6001
	check "[$tag] the wire carries only $proto; plaintext $( [ "$enc" = yes ] && echo hidden || echo visible)" \
		wire_check "$enc"
	check "[$tag] UDP A -> B over IPv4, every datagram arrives" \
		udp_ok 198.51.100.2 6002
	case $extra in
	esn-boundary)
		check "[$tag] sequence numbers cross 2^32 without a hitch" \
			esn_boundary ;;
	keepalive)
		check "[$tag] NAT-T keepalives go out and are absorbed" \
			keepalives_seen ;;
	tfc)
		check "[$tag] TFC: every ESP packet is padded to 1000 bytes" \
			tfc_padded ;;
	routes)
		check "[$tag] host routes follow policies added and deleted" \
			routes_follow ;;
	esac
	check "[$tag] both daemons alive" kill -0 "$A_PID" "$B_PID"
	daemons_stop
}

head -c 3M /dev/urandom > "$WORK/data"
yes "XDPSEC-PLAINTEXT-MARKER" | head -c 1M >> "$WORK/data"
pair_up

G128='alg = aes-gcm-128'
run esp transport "$G128" 20 no no yes routes
run esp transport "$G128" 20 yes yes yes keepalive
run esp tunnel "$G128" 20 no no yes tfc
run esp transport 'alg = aes-gcm-256' 36 yes no yes esn-boundary
run esp transport 'alg = chacha20-poly1305' 36 no no yes
run esp tunnel 'alg = chacha20-poly1305' 36 yes yes yes
run esp transport 'alg = aes-gmac-128' 20 no no no
run esp tunnel 'alg = aes-gmac-256' 36 yes no no
run esp transport $'alg = aes-cbc-128\ninteg = hmac-sha256-128' 48 no no yes
run esp tunnel $'alg = aes-cbc-256\ninteg = hmac-sha384-192' 80 yes yes yes
run esp transport $'alg = aes-cbc-256\ninteg = hmac-sha512-256' 96 yes no yes
run esp transport $'alg = null\ninteg = hmac-sha256-128' 32 no no no
run ah transport 'integ = hmac-sha256-128' 32 no no no
run ah tunnel 'integ = hmac-sha384-192' 48 yes no no
run ah transport 'integ = hmac-sha512-256' 64 yes no no esn-boundary
run esp transport "$G128" 20 no no yes lifetimes
summary
