#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# End to end: h1 - gw1 - sw - gw2 - h2, two xdpsecd gateways with static
# ESP tunnel-mode SAs (AES-GCM-128 and -256, IPv4 and IPv6 inner and outer).
# Checks reachability, 100 MB TCP transfers both ways with checksums, that
# only ESP crosses the wire, fail-closed behaviour, and bad input on a live
# tunnel.
cd "$(dirname "$0")/../.." || exit 1
. tests/lib.sh
TOPO=xtun
. scripts/topo.sh
need_root

WORK=$(mktemp -d /tmp/xdpsec-tunnel.XXXXXX)
GW1_PID= GW2_PID= BG_PIDS=()
MB=${TUNNEL_MB:-100}

cleanup() {
	local p
	for p in $GW1_PID $GW2_PID "${BG_PIDS[@]}"; do
		kill -9 "$p" 2>/dev/null
	done
	wait 2>/dev/null
	topo_down
	rm -rf "$WORK"
}
trap cleanup EXIT

gateways_start() {	# DIR
	xdpsecd_start gw1 "$1/gw1.conf" "$1/gw1.log" || {
		cat "$1/gw1.log"; return 1; }
	GW1_PID=$XDPSECD_PID
	xdpsecd_start gw2 "$1/gw2.conf" "$1/gw2.log" || {
		cat "$1/gw2.log"; return 1; }
	GW2_PID=$XDPSECD_PID
}

gateways_stop() {
	local p
	for p in $GW1_PID $GW2_PID; do
		kill -TERM "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	GW1_PID= GW2_PID=
}

ping_ok() {	# FROM DST
	nsx "$1" ping -c1 -W1 "$2" >/dev/null 2>&1
}

# Sends FILE from host FROM to ADDR:PORT on host TO, compares checksums.
transfer() {	# FROM TO ADDR PORT FILE
	local from=$1 to=$2 addr=$3 port=$4 file=$5 pf=ip4 dst lpid t0 t1 mb
	dst="TCP:$addr:$port"
	if [[ $addr == *:* ]]; then pf=ip6; dst="TCP6:[$addr]:$port"; fi
	nsx "$to" timeout 120 socat -u \
		"TCP-LISTEN:$port,reuseaddr,pf=$pf" - |
		sha256sum | cut -d' ' -f1 > "$WORK/recv.sum" &
	lpid=$!
	wait_for 25 nsx "$to" sh -c "ss -Hltn | grep -q ':$port '"
	t0=$(date +%s.%N)
	nsx "$from" timeout 120 socat -u "FILE:$file" "$dst"
	wait "$lpid"
	t1=$(date +%s.%N)
	mb=$(( $(stat -c %s "$file") / 1048576 ))
	echo "    $mb MB $from -> $addr in $(echo "$t1 - $t0" | bc -l | cut -c1-5) s"
	[ "$(cat "$WORK/recv.sum")" = "$(sha256sum < "$file" | cut -d' ' -f1)" ]
}

head -c "${MB}M" /dev/urandom > "$WORK/data"
yes "XDPSEC-PLAINTEXT-MARKER" | head -c 2M > "$WORK/marker"

topo_up

check "baseline: without xdpsec the kernel forwards h1 -> h2 in clear" \
	wait_for 10 ping_ok h1 203.0.113.10

capture_only_esp() {
	local pcap=$WORK/wire.pcap n_esp n_clear
	ip netns exec "$(ns sw)" timeout 30 tcpdump -q -i p1 -s 0 -U -w "$pcap" 2>/dev/null &
	BG_PIDS+=($!)
	sleep 1
	transfer h1 h2 203.0.113.10 5009 "$WORK/marker" || return 1
	nsx h1 ping -c3 -i0.2 -p 58445053 2001:db8:2::10 >/dev/null
	sleep 0.5
	kill "${BG_PIDS[-1]}"; wait "${BG_PIDS[-1]}" 2>/dev/null
	n_esp=$(tcpdump -r "$pcap" -nn esp 2>/dev/null | wc -l)
	n_clear=$(tcpdump -r "$pcap" -nn \
		'(ip and not esp) or (ip6 and not esp and not icmp6)' \
		2>/dev/null | wc -l)
	echo "    wire: $n_esp ESP packets, $n_clear others"
	[ "$n_esp" -gt 1000 ] && [ "$n_clear" -eq 0 ] &&
		! grep -q "XDPSEC-PLAINTEXT-MARKER" "$pcap"
}

run_combo() {	# ALG OUTER_FAMILY HEAVY
	local alg=$1 fam=$2 heavy=$3 dir="$WORK/$1-$2" tag="$1, outer IPv$2"
	topo_tunnel_configs "$dir" "$alg" "$fam"
	check "[$tag] daemons start" gateways_start "$dir" || return
	local gw1_addr=198.51.100.1
	[ "$fam" = 6 ] && gw1_addr=2001:db8:ff::1
	nsx sw timeout 15 tcpdump -nn -l -i p1 -c 1 esp and src host \
		"$gw1_addr" > "$WORK/first.txt" 2>/dev/null &
	BG_PIDS+=($!)
	sleep 0.5
	check "[$tag] ping h1 -> h2, IPv4 inner" \
		wait_for 20 ping_ok h1 203.0.113.10
	wait "${BG_PIDS[-1]}"
	check "[$tag] the first ESP packet of an SA carries sequence number 1" \
		grep -q "seq=0x1)" "$WORK/first.txt"
	check "[$tag] ping h1 -> h2, IPv6 inner" \
		wait_for 20 ping_ok h1 2001:db8:2::10
	check "[$tag] ping h2 -> h1, IPv4 inner" ping_ok h2 192.0.2.10
	check "[$tag] ping h2 -> h1, IPv6 inner" ping_ok h2 2001:db8:1::10
	if [ "$heavy" = heavy ]; then
		check "[$tag] $MB MB TCP h1 -> h2 over IPv4, checksum equal" \
			transfer h1 h2 203.0.113.10 5001 "$WORK/data"
		check "[$tag] $MB MB TCP h2 -> h1 over IPv4, checksum equal" \
			transfer h2 h1 192.0.2.10 5002 "$WORK/data"
		check "[$tag] $MB MB TCP h1 -> h2 over IPv6, checksum equal" \
			transfer h1 h2 2001:db8:2::10 5003 "$WORK/data"
		check "[$tag] $MB MB TCP h2 -> h1 over IPv6, checksum equal" \
			transfer h2 h1 2001:db8:1::10 5004 "$WORK/data"
		check "[$tag] the wire carries only ESP, never the plaintext" \
			capture_only_esp
	fi
	check "[$tag] SAs counted traffic" test "$(xdpsec_cli gw1 --json sa list |
		python3 -c 'import json,sys; print(min(s["packets"] for s in json.load(sys.stdin)))')" -gt 0
	check "[$tag] no authentication failures" \
		test "$(xdpsec_counter gw2 drop_auth)" -eq 0
}

run_combo aes-gcm-128 4 heavy

# Next hops follow the kernel's tables while the tunnel runs.
neighbour_follows() {
	nsx h2 ip link set eth0 address 02:00:00:00:bb:02
	nsx gw2 ip neigh replace 203.0.113.10 lladdr 02:00:00:00:bb:02 dev lan
	nsx gw2 ip neigh replace 2001:db8:2::10 lladdr 02:00:00:00:bb:02 \
		dev lan
	wait_for 25 ping_ok h1 203.0.113.10 &&
		wait_for 25 ping_ok h1 2001:db8:2::10
}
route_follows() {
	local before
	before=$(xdpsec_counter gw1 drop_no_neigh)
	nsx gw1 ip route add 198.51.100.2/32 via 198.51.100.77 dev wan
	nsx h1 ping -c3 -i0.2 -W1 203.0.113.10 >/dev/null && return 1
	[ "$(xdpsec_counter gw1 drop_no_neigh)" -gt "$before" ] || return 1
	nsx gw1 ip route del 198.51.100.2/32
	wait_for 25 ping_ok h1 203.0.113.10
}
check "a neighbour's new MAC address is followed" neighbour_follows
check "a route to an unreachable next hop stops traffic; removing it restores it" \
	route_follows

# A reload with an unchanged file keeps the SAs, sequence numbers included:
# were they reset, gw2's replay window would now refuse gw1's packets.
sa_seq() {	# GW NAME
	xdpsec_cli "$1" --json sa list | python3 -c \
		'import json,sys; print([s["seq"] for s in json.load(sys.stdin) if s["name"] == sys.argv[1]][0])' "$2"
}
reload_keeps_sas() {
	local before
	before=$(sa_seq gw1 out4)
	xdpsec_cli gw1 reload >/dev/null || return 1
	ping_ok h1 203.0.113.10 && [ "$(sa_seq gw1 out4)" -gt "$before" ]
}
check "reload keeps unchanged SAs and their sequence numbers" \
	reload_keeps_sas

# Take the SAs away with the CLI: the policies still demand protection, so
# nothing may get through.  Then add SAs with fresh keys: traffic resumes.
sa_del_all() {
	local gw sa
	for gw in gw1 gw2; do
		for sa in out4 in4 out6 in6; do
			xdpsec_cli $gw sa del $sa >/dev/null || return 1
		done
	done
}
cli_sa_add() {	# GW NAME DIR SPI SRC DST KEY SEL_SRC SEL_DST
	xdpsec_cli "$1" sa add "$2" dir "$3" spi "$4" src "$5" dst "$6" \
		alg aes-gcm-128 key_file "$7" sel_src "$8" sel_dst "$9" \
		>/dev/null
}
sa_add_all() {	# DIR holding fresh keys a.key .. d.key
	local k=$1 g1=198.51.100.1 g2=198.51.100.2
	local l1=192.0.2.0/24 l2=203.0.113.0/24
	local m1=2001:db8:1::/64 m2=2001:db8:2::/64
	cli_sa_add gw1 out4 out 0x3001 $g1 $g2 "$k/a.key" $l1 $l2 &&
	cli_sa_add gw1 in4 in 0x3002 $g2 $g1 "$k/b.key" $l2 $l1 &&
	cli_sa_add gw1 out6 out 0x3003 $g1 $g2 "$k/c.key" $m1 $m2 &&
	cli_sa_add gw1 in6 in 0x3004 $g2 $g1 "$k/d.key" $m2 $m1 &&
	cli_sa_add gw2 out4 out 0x3002 $g2 $g1 "$k/b.key" $l2 $l1 &&
	cli_sa_add gw2 in4 in 0x3001 $g1 $g2 "$k/a.key" $l1 $l2 &&
	cli_sa_add gw2 out6 out 0x3004 $g2 $g1 "$k/d.key" $m2 $m1 &&
	cli_sa_add gw2 in6 in 0x3003 $g1 $g2 "$k/c.key" $m1 $m2
}
check "xdpsec sa del removes every SA on both gateways" sa_del_all
check "sa list is empty afterwards" test "$(xdpsec_cli gw1 --json sa list |
	python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" = 0
before=$(xdpsec_counter gw1 drop_sa_dead)
check_not "without SAs h1 cannot reach h2 (IPv4)" \
	nsx h1 ping -c3 -i0.2 -W1 203.0.113.10
check_not "without SAs h1 cannot reach h2 (IPv6)" \
	nsx h1 ping -c3 -i0.2 -W1 2001:db8:2::10
check "... and the drops are counted as drop_sa_dead" \
	test "$(( $(xdpsec_counter gw1 drop_sa_dead) - before ))" -ge 6
mkdir -p "$WORK/fresh"
for k in a b c d; do topo_genkey 20 "$WORK/fresh/$k.key"; done
check "xdpsec sa add installs SAs with fresh keys on both gateways" \
	sa_add_all "$WORK/fresh"
check "traffic flows again, IPv4" wait_for 20 ping_ok h1 203.0.113.10
check "traffic flows again, IPv6" wait_for 20 ping_ok h1 2001:db8:2::10
gateways_stop
run_combo aes-gcm-256 6 heavy
gateways_stop
run_combo aes-gcm-128 6 light
gateways_stop
run_combo aes-gcm-256 4 light

# Bad input on the live tunnel (aes-gcm-256, outer IPv4): capture real ESP
# from the wire, then replay it, damage its ICV, give it unknown SPIs and
# truncate it, sending everything at gw2.
bad_input() {
	local pcap=$WORK/esp.pcap n before
	ip netns exec "$(ns sw)" timeout 20 tcpdump -q -i p1 -s 0 -U -w "$pcap" esp 2>/dev/null &
	BG_PIDS+=($!)
	sleep 1
	nsx h1 ping -c 60 -i 0.01 203.0.113.10 >/dev/null
	sleep 0.3
	kill "${BG_PIDS[-1]}"; wait "${BG_PIDS[-1]}" 2>/dev/null

	before=$(( $(xdpsec_counter gw2 drop_replay) +
		   $(xdpsec_counter gw2 drop_replay_xdp) ))
	n=$(nsx sw python3 tests/tools/espcraft.py replay "$pcap" p2 50 198.51.100.2)
	check "replayed ESP ($n frames) is dropped and counted as replay" \
		wait_for 10 eval test '$(( $(xdpsec_counter gw2 drop_replay) + $(xdpsec_counter gw2 drop_replay_xdp) - before ))' -ge "$n"

	before=$(xdpsec_counter gw2 drop_auth)
	n=$(nsx sw python3 tests/tools/espcraft.py bad-icv "$pcap" p2 50 198.51.100.2)
	check "ESP with a bad ICV ($n frames) is dropped and counted as auth" \
		wait_for 10 eval test '$(( $(xdpsec_counter gw2 drop_auth) - before ))' -ge "$n"

	before=$(xdpsec_counter gw2 drop_no_sa)
	n=$(nsx sw python3 tests/tools/espcraft.py bad-spi "$pcap" p2 50 198.51.100.2)
	check "ESP with unknown SPIs ($n frames) is dropped and counted" \
		wait_for 10 eval test '$(( $(xdpsec_counter gw2 drop_no_sa) - before ))' -ge "$n"

	before=$(xdpsec_counter gw2 drop_esp_malformed)
	n=$(nsx sw python3 tests/tools/espcraft.py truncate "$pcap" p2 50 198.51.100.2)
	check "truncated ESP ($n frames) is dropped and counted as malformed" \
		wait_for 10 eval test '$(( $(xdpsec_counter gw2 drop_esp_malformed) - before ))' -ge "$n"

	# Bad ICVs carried sequence numbers far ahead; had they moved the
	# window, every real packet would now be "too old".
	check "the tunnel still carries good traffic afterwards" \
		nsx h1 ping -c5 -i0.2 -W1 203.0.113.10
	check "both daemons are still running" \
		kill -0 "$GW1_PID" "$GW2_PID"
}
bad_input

# An SA never wraps its sequence number: move gw1's IPv6 out SA (index 3)
# to 2^32 - 2 in the shared state map, as a long-lived SA would get there.
seq_exhaustion() {
	local pin=/sys/fs/bpf/xdpsec/$TOPO-gw1/sa_state before
	nsenter -t "$GW1_PID" -m bpftool map update pinned "$pin" \
		key 3 0 0 0 value 0xfe 0xff 0xff 0xff $(printf '0 %.0s' $(seq 60)) ||
		return 1
	before=$(xdpsec_counter gw1 drop_seq_exhausted)
	ping_ok h1 2001:db8:2::10 || { echo "    seq 2^32-1 did not pass"; return 1; }
	ping_ok h1 2001:db8:2::10 && { echo "    seq 2^32 passed"; return 1; }
	[ "$(xdpsec_counter gw1 drop_seq_exhausted)" -gt "$before" ] &&
		wait_for 25 sa_gone gw1 out6 &&
		! ping_ok h1 2001:db8:2::10 && ping_ok h1 203.0.113.10
}
sa_gone() {	# GW NAME
	! xdpsec_cli "$1" --json sa list | python3 -c \
		'import json,sys; sys.exit(0 if any(s["name"] == sys.argv[1] for s in json.load(sys.stdin)) else 1)' "$2"
}
check "sequence 2^32-1 is the last: the SA then stops and is removed (hard expiry), others go on" \
	seq_exhaustion

# Fail closed: with traffic running, kill gw1's daemon; no protected
# plaintext may leave gw1 (nor reach h2).
fail_closed() {	# SIGNAL
	local sig=$1 pcap=$WORK/fc-$1.pcap ppid n_clear
	ip netns exec "$(ns h1)" ping -i 0.02 -c 250 203.0.113.10 >/dev/null 2>&1 &
	ppid=$!; BG_PIDS+=($ppid)
	sleep 1
	kill "-$sig" "$GW1_PID"; wait "$GW1_PID" 2>/dev/null; GW1_PID=
	nsx sw timeout 3 tcpdump -q -i p1 -s 0 -w "$pcap" 2>/dev/null
	wait "$ppid" 2>/dev/null
	n_clear=$(tcpdump -r "$pcap" -nn 'net 192.0.2.0/24' 2>/dev/null |
		wc -l)
	echo "    after SIG$sig: $n_clear plaintext packets on the wire"
	[ "$n_clear" -eq 0 ] && ! ping_ok h1 203.0.113.10
}
check "fail closed: after SIGKILL no plaintext leaves gw1" fail_closed KILL
xdpsecd_start gw1 "$WORK/aes-gcm-256-4/gw1.conf" "$WORK/gw1-restart.log"
GW1_PID=$XDPSECD_PID
check "fail closed: after SIGTERM no plaintext leaves gw1" fail_closed TERM
check "xdpsecd --detach removes the program; then the kernel forwards" \
	eval 'nsx gw1 "${BUILD:-build}/xdpsecd" -c "$WORK/aes-gcm-256-4/gw1.conf" --detach >/dev/null 2>&1 &&
	      ! ip -n "$(ns gw1)" link show lan | grep -q xdp'

gateways_stop
summary
