#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# IKEv2 between two xdpsec gateways, with pre-shared keys: gw1 initiates,
# gw2 answers.  The negotiated CHILD_SA must appear in both daemons' SADs
# and SPDs with no manual step, carry traffic between the LANs (a capture
# on the wire shows only ESP), and go away on both sides when either side
# deletes it; gw1, whose connection starts itself, then brings it back.
# A wrong PSK must leave nothing installed.  Run over IPv4 and IPv6
# outer addresses, and with UDP encapsulation forced.
#
#   h1 --- gw1 ===== sw ===== gw2 --- h2
cd "$(dirname "$0")/../.." || exit 1
. tests/lib.sh
need_root
TOPO=xike
BUILD=${BUILD:-build}
WORK=$(mktemp -d /tmp/xdpsec-ike.XXXXXX)
PKI=$WORK
GW1_PID= GW2_PID= CAP_PID=

. scripts/topo.sh
. tests/ike_lib.sh
. tests/pki.sh

cleanup() {
	local p
	for p in $GW1_PID $GW2_PID $CAP_PID; do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	topo_down
	rm -rf "$WORK"
}
trap cleanup EXIT

# conf GW ME PEER START PSKFILE [EXTRA]: one gateway's file.
# AUTH is a PSK file, or "pubkey" with the certificate settings in EXTRA;
# ID1 and ID2 override the two gateways' identities.
conf() {
	local gw=$1 me=$2 peer=$3 start=$4 auth=$5 extra=${6:-}
	local lts="192.0.2.0/24, 2001:db8:1::/64" rts="203.0.113.0/24, 2001:db8:2::/64"
	local lid=${ID1:-gw1.example.net} rid=${ID2:-gw2.example.net}
	if [ "$auth" != pubkey ]; then
		auth="psk
	psk_file = $auth"
	fi
	if [ "$gw" = gw2 ]; then
		local t=$lts; lts=$rts; rts=$t
		t=$lid; lid=$rid; rid=$t
	fi
	cat > "$WORK/$gw.conf" <<-CONF
	[daemon]
	instance = $TOPO-$gw
	interfaces = lan wan
	default = bypass

	[conn site]
	local = $me
	remote = $peer
	local_id = $lid
	remote_id = $rid
	auth = $auth
	local_ts = $lts
	remote_ts = $rts
	start = $start
	dpd = 5s
	$extra
	CONF
}

# What gw1 sends out is what gw2 takes in, and the other way round.
spis_cross() {
	local a b
	a=$(ike_sas gw1) b=$(ike_sas gw2)
	echo "    gw1: $a; gw2: $b"
	[ -n "$a" ] && [ -n "$b" ] || return 1
	a=$(echo "$a" | tr ' ' '\n' |
		sed 's/^out:/X:/; s/^in:/out:/; s/^X:/in:/' | sort | tr '\n' ' ')
	b=$(echo "$b" | tr ' ' '\n' | sort | tr '\n' ' ')
	[ "$a" = "$b" ]
}

ping_ok() { nsx h1 ping -c1 -W1 "$1" >/dev/null 2>&1; }

# A capture on the wire while h1 pings h2 over both families.
only_esp() {	# ENCAP(yes/no)
	local pcap=$WORK/wire.pcap want=esp n_esp n_clear
	[ "$1" = yes ] && want="udp port 4500"
	capture_start "$pcap"
	nsx h1 ping -c 5 -i 0.1 -W1 203.0.113.10 >/dev/null
	nsx h1 ping -c 5 -i 0.1 -W1 2001:db8:2::10 >/dev/null
	capture_stop
	n_esp=$(tcpdump -r "$pcap" -nn "$want and not udp port 500 and \
		not (udp[8:4] = 0)" 2>/dev/null | wc -l)
	n_clear=$(tcpdump -r "$pcap" -nn "icmp or icmp6 and \
		(ip6[40] = 128 or ip6[40] = 129)" 2>/dev/null | wc -l)
	echo "    wire: $n_esp protected packets, $n_clear ICMP echo in clear"
	[ "$n_esp" -ge 20 ] && [ "$n_clear" -eq 0 ]
}

run() {	# TAG OUTER(4|6) ENCAP(auto|yes)
	local tag=$1 a=198.51.100.1 b=198.51.100.2 extra= enc=no
	if [ "$2" = 6 ]; then a=2001:db8:ff::1 b=2001:db8:ff::2; fi
	if [ "$3" = yes ]; then extra="encap = yes"; enc=yes; fi
	secret "$WORK/psk" "correct horse battery staple $tag"
	conf gw1 $a $b initiate "$WORK/psk" "$extra"
	conf gw2 $b $a wait "$WORK/psk"
	start_both "$tag" || return
	check "[$tag] IKE SA and CHILD_SA established on both sides" \
		wait_for 50 established
	echo "    gw1: $(ike_field gw1 state), nat=$(ike_field gw1 nat);" \
		"gw2: $(ike_field gw2 state), peer $(ike_field gw2 peer_id)"
	check "[$tag] the SPIs of one side are the other's, reversed" spis_cross
	check "[$tag] ping h1 -> h2 over IPv4" wait_for 25 ping_ok 203.0.113.10
	check "[$tag] ping h1 -> h2 over IPv6" wait_for 25 ping_ok 2001:db8:2::10
	check "[$tag] the wire carries only ESP$([ $enc = yes ] && echo ' in UDP')" \
		only_esp $enc
	OLD_SAS="$(ike_sas gw1) $(ike_sas gw2)"
	check "[$tag] gw2 deletes: both sides drop the SAs" eval \
		'xdpsec_cli gw2 tunnel down site >/dev/null && wait_for 25 gone_both'
	check "[$tag] gw1 brings the tunnel back by itself" wait_for 75 established
	check "[$tag] ... and it carries traffic" wait_for 25 ping_ok 203.0.113.10
	check "[$tag] both daemons alive" kill -0 "$GW1_PID" "$GW2_PID"
	stop_all
}

# Says which of N pings in FILE (ping -D output) got no answer.
lost_seqs() {	# FILE N
	local i
	for i in $(seq "$2"); do
		grep -q "icmp_seq=$i " "$1" || echo "    lost: icmp_seq $i"
	done
}

# How many IKE SAs GW lists.
ike_count() {
	xdpsec_cli "$1" --json ike list 2>/dev/null |
		python3 -c 'import json, sys; print(len(json.load(sys.stdin)))' 2>/dev/null
}

# The SPIs gw1 has now, as one word.
spis_now() { ike_sas gw1 | tr ' ' ','; }

# Rekeying under continuous traffic: TRIGGER says which side rekeys and
# why.  "time": gw1's CHILD_SA lifetime is short, with PFS (Curve25519),
# and so is its IKE SA's;
# "packets": gw2, the responder of the IKE SA, hits a packet limit.  The
# pings running through it must all come back.
rekey() {	# TAG TRIGGER
	local tag=$1 e1= e2= before after loss rekeys n=120
	secret "$WORK/psk" "correct horse battery staple $tag"
	if [ "$2" = time ]; then
		e1="child_lifetime = 6s
	ike_lifetime = 8s
	esp = aes-gcm-256/curve25519"
		e2="esp = aes-gcm-256/curve25519"
	else
		e2="child_packets = 80"
	fi
	conf gw1 198.51.100.1 198.51.100.2 initiate "$WORK/psk" "$e1"
	conf gw2 198.51.100.2 198.51.100.1 wait "$WORK/psk" "$e2"
	start_both "$tag" || return
	check "[$tag] established" wait_for 50 established
	# The first packets wait for neighbour resolution; not measured.
	wait_for 25 ping_ok 203.0.113.10
	before=$(spis_now)
	nsx h1 ping -c $n -i 0.1 -W1 -D 203.0.113.10 > "$WORK/ping.txt"
	loss=$(sed -nE 's/.* ([0-9]+) received.*/\1/p' "$WORK/ping.txt")
	lost_seqs "$WORK/ping.txt" $n
	after=$(spis_now)
	rekeys=$(( $(ike_field gw1 child_rekeys) + $(ike_field gw2 child_rekeys) ))
	echo "    SAs before $before, after $after; $rekeys rekeys;" \
		"$((n - ${loss:-0})) of $n pings lost"
	check "[$tag] the CHILD_SA was rekeyed" eval \
		'[ "$rekeys" -ge 1 ] && [ "$before" != "$after" ]'
	check "[$tag] no ping lost during the rekeys" [ "${loss:-0}" -eq $n ]
	check "[$tag] the old SAs are gone on both sides" eval \
		'[ "$(ike_sas gw1 | wc -w)" -eq 2 ] && [ "$(ike_sas gw2 | wc -w)" -eq 2 ]'
	if [ "$2" = time ]; then
		echo "    IKE SA rekeys: gw1 $(ike_field gw1 ike_rekeys)," \
			"gw2 $(ike_field gw2 ike_rekeys); IKE SAs: $(ike_count gw1), $(ike_count gw2)"
		check "[$tag] the IKE SA was rekeyed too, on both sides" eval \
			'[ "$(ike_field gw1 ike_rekeys)" -ge 1 ] &&
			 [ "$(ike_field gw2 ike_rekeys)" -ge 1 ]'
		check "[$tag] one IKE SA left on each side" wait_for 25 eval \
			'[ "$(ike_count gw1)" = 1 ] && [ "$(ike_count gw2)" = 1 ]'
	fi
	check "[$tag] both daemons alive" kill -0 "$GW1_PID" "$GW2_PID"
	stop_all
}

pki_up() {
	pki_ca ca && pki_ca rogue-ca &&
	pki_cert gw1-rsa rsa ca gw1.example.net &&
	pki_cert gw2-ecdsa ecdsa ca gw2.example.net &&
	pki_cert gw2-ed ed25519 ca gw2.example.net &&
	pki_cert gw2-rogue ecdsa rogue-ca gw2.example.net &&
	pki_cert gw1-big rsa4096 ca gw1.example.net &&
	pki_cert gw2-big rsa4096 ca gw2.example.net
}

# With RSA-4096 certificates IKE_AUTH outgrows one datagram of 1200
# bytes: both sides must send it in fragments (RFC 7383), and the wire
# must carry no IP fragments.
fragments() {
	local tag="certificates in fragments" pcap=$WORK/frag.pcap n_ipfrag
	conf gw1 198.51.100.1 198.51.100.2 initiate pubkey "cert = $WORK/gw1-big.pem
	key = $WORK/gw1-big.key
	ca = $WORK/ca.pem"
	conf gw2 198.51.100.2 198.51.100.1 wait pubkey "cert = $WORK/gw2-big.pem
	key = $WORK/gw2-big.key
	ca = $WORK/ca.pem"
	capture_start "$pcap"
	start_both "$tag" || { capture_stop; return; }
	check "[$tag] IKE SA and CHILD_SA established on both sides" \
		wait_for 50 established
	capture_stop
	n_ipfrag=$(tcpdump -r "$pcap" -nn '(ip[6:2] & 0x3fff != 0) or ip6[6] = 44' \
		2>/dev/null | wc -l)
	echo "    fragments: gw1 sent $(ike_field gw1 fragments_out), got" \
		"$(ike_field gw1 fragments_in); gw2 sent $(ike_field gw2 fragments_out)," \
		"got $(ike_field gw2 fragments_in); IP fragments on the wire: $n_ipfrag"
	check "[$tag] both sides sent and took IKE fragments" eval \
		'[ "$(ike_field gw1 fragments_out)" -ge 2 ] &&
		 [ "$(ike_field gw2 fragments_in)" -ge 2 ] &&
		 [ "$(ike_field gw2 fragments_out)" -ge 2 ] &&
		 [ "$(ike_field gw1 fragments_in)" -ge 2 ]'
	check "[$tag] no IP fragments on the wire" [ "$n_ipfrag" -eq 0 ]
	check "[$tag] ping h1 -> h2" wait_for 25 ping_ok 203.0.113.10
	stop_all
}

# Certificate authentication between the two: GW1 and GW2 name the
# certificates, SIG1 gw1's RSA signature scheme; OUTCOME is "up" or the
# message gw1 must log when it refuses gw2.
certs() {	# TAG GW1 GW2 SIG1 OUTCOME
	local tag=$1 why=$5
	conf gw1 198.51.100.1 198.51.100.2 initiate pubkey "cert = $WORK/$2.pem
	key = $WORK/$2.key
	ca = $WORK/ca.pem
	signature = $4"
	conf gw2 198.51.100.2 198.51.100.1 wait pubkey "cert = $WORK/$3.pem
	key = $WORK/$3.key
	ca = $WORK/ca.pem"
	start_both "$tag" || return
	if [ "$why" = up ]; then
		check "[$tag] IKE SA and CHILD_SA established on both sides" \
			wait_for 50 established
		echo "    gw1 sees $(ike_field gw1 peer_id), gw2 sees $(ike_field gw2 peer_id)"
		check "[$tag] the SPIs of one side are the other's, reversed" \
			spis_cross
		check "[$tag] ping h1 -> h2 over IPv4 and IPv6" eval \
			'wait_for 25 ping_ok 203.0.113.10 && wait_for 25 ping_ok 2001:db8:2::10'
	else
		sleep 3
		check "[$tag] refused: nothing is installed" eval \
			'[ -z "$(ike_sas gw1)" ] && [ -z "$(ike_sas gw2)" ]'
		check "[$tag] ... and the log says why: $why" \
			grep -q "$why" "$WORK/gw1.log" "$WORK/gw2.log"
	fi
	stop_all
}

# The transform of gw1's first CHILD_SA.
child_transform() {
	xdpsec_cli gw1 --json ike list 2>/dev/null | python3 -c '
import json, sys
sas = json.load(sys.stdin)
kids = sas[0]["children"] if sas else []
print(kids[0]["transform"] if kids else "none")' 2>/dev/null
}

# IKE and ESP with other transforms than the defaults, both sides offering
# the same single proposal.
algs() {	# IKE ESP
	local tag="$1 + $2" want=${2%/curve25519}
	secret "$WORK/psk" "correct horse battery staple, algorithms"
	conf gw1 198.51.100.1 198.51.100.2 initiate "$WORK/psk" "ike = $1
	esp = $2"
	conf gw2 198.51.100.2 198.51.100.1 wait "$WORK/psk" "ike = $1
	esp = $2"
	start_both "$tag" || return
	check "[$tag] established" wait_for 50 established
	echo "    IKE SA: $(ike_field gw1 transform); CHILD_SA: $(child_transform)"
	check "[$tag] the IKE SA uses it" [ "$(ike_field gw1 transform)" = "$1" ]
	# IKE_AUTH makes the first CHILD_SA without a key exchange (PFS).
	check "[$tag] the CHILD_SA uses it" eval \
		'[[ "$(child_transform)" == "$want"* ]]'
	check "[$tag] ping h1 -> h2" wait_for 25 ping_ok 203.0.113.10
	stop_all
}

# Both sides rekey the same CHILD_SA at once (RFC 7296 section 2.8.1).
# IKE is held on the wire while both start; then only the answers are
# held, so that each side's retransmitted request reaches the other,
# whose own is still open, and is answered; once both have answered,
# the answers go through.  The lowest of the four nonces then says which
# of the two new CHILD_SAs goes: in the end both sides hold one, the same,
# and the pings running through it all come back.  Each step waits for
# what it needs, not for a time.

# Drops IKE from ADDR on sw's bridge, or only its answers (the R flag,
# byte 19 of the IKE header), until the table NAME is deleted.
hold_ike() {	# NAME ADDR [answers]
	local what=
	[ "${3:-}" = answers ] && what="@th,216,8 & 0x20 == 0x20"
	nsx sw nft -f - <<-NFT
	table bridge $1 {
		chain hold {
			type filter hook forward priority 0;
			ip saddr $2 udp dport 500 $what drop
		}
	}
	NFT
}

both_answered() {
	[ "$(ike_field gw1 child_rekeys)" -ge 1 ] 2>/dev/null &&
		[ "$(ike_field gw2 child_rekeys)" -ge 1 ] 2>/dev/null
}

collision() {
	local tag="simultaneous rekey" n=80 got
	secret "$WORK/psk" "correct horse battery staple, collision"
	conf gw1 198.51.100.1 198.51.100.2 initiate "$WORK/psk"
	conf gw2 198.51.100.2 198.51.100.1 wait "$WORK/psk"
	start_both "$tag" || return
	check "[$tag] established" wait_for 50 established
	wait_for 25 ping_ok 203.0.113.10
	hold_ike hold1 198.51.100.1
	hold_ike hold2 198.51.100.2
	nsx h1 ping -c $n -i 0.1 -W1 -D 203.0.113.10 > "$WORK/ping.txt" &
	CAP_PID=$!
	sleep 0.5
	xdpsec_cli gw1 tunnel rekey site >/dev/null
	xdpsec_cli gw2 tunnel rekey site >/dev/null
	sleep 0.3
	hold_ike answers1 198.51.100.1 answers
	hold_ike answers2 198.51.100.2 answers
	nsx sw nft delete table bridge hold1
	nsx sw nft delete table bridge hold2
	check "[$tag] each side answered the other's request" \
		wait_for 100 both_answered
	nsx sw nft delete table bridge answers1
	nsx sw nft delete table bridge answers2
	wait "$CAP_PID"
	CAP_PID=
	got=$(sed -nE 's/.* ([0-9]+) received.*/\1/p' "$WORK/ping.txt")
	lost_seqs "$WORK/ping.txt" $n
	echo "    rekeys: gw1 $(ike_field gw1 child_rekeys), gw2" \
		"$(ike_field gw2 child_rekeys); $((n - ${got:-0})) of $n pings lost"
	grep -h "rekey collision" "$WORK"/gw*.log | sed 's/^/    /'
	check "[$tag] both sides rekeyed" eval \
		'[ "$(ike_field gw1 child_rekeys)" -ge 1 ] &&
		 [ "$(ike_field gw2 child_rekeys)" -ge 1 ]'
	check "[$tag] one side closed the CHILD_SA it made" \
		eval '[ "$(cat "$WORK"/gw*.log | grep -c "rekey collision")" -eq 1 ]'
	check "[$tag] one CHILD_SA left on each side, the same" eval \
		'wait_for 25 eval "[ \"\$(ike_sas gw1 | wc -w)\" -eq 2 ] &&
			[ \"\$(ike_sas gw2 | wc -w)\" -eq 2 ]" && spis_cross'
	check "[$tag] no ping lost" [ "${got:-0}" -eq $n ]
	stop_all
}

# start = trap: gw1 starts IKE when h1 first sends traffic the
# connection covers, and not before; after a delete, again on traffic.
trap_start() {
	local tag="start on traffic"
	secret "$WORK/psk" "correct horse battery staple, trap"
	conf gw1 198.51.100.1 198.51.100.2 trap "$WORK/psk"
	conf gw2 198.51.100.2 198.51.100.1 wait "$WORK/psk"
	start_both "$tag" || return
	sleep 3
	check "[$tag] no IKE SA before any traffic" \
		[ "$(ike_field gw1 state)" = none ]
	check "[$tag] h1's traffic brings the tunnel up" \
		wait_for 50 ping_ok 203.0.113.10
	check "[$tag] ... established, the first packets trapped, not sent" eval \
		'established && [ "$(xdpsec_counter gw1 drop_trap)" -ge 1 ]'
	OLD_SAS="$(ike_sas gw1) $(ike_sas gw2)"
	xdpsec_cli gw2 tunnel down site >/dev/null
	check "[$tag] after a delete: gone on both sides" wait_for 25 gone_both
	sleep 4
	check "[$tag] ... and not back without traffic" \
		[ "$(ike_field gw1 state)" = none ]
	check "[$tag] ... back with traffic" wait_for 50 ping_ok 203.0.113.10
	stop_all
}

# A wrong PSK on one side: no IKE SA, nothing in the SADs.
wrong_psk() {
	secret "$WORK/psk1" "the first secret, long enough"
	secret "$WORK/psk2" "another secret, long enough"
	conf gw1 198.51.100.1 198.51.100.2 initiate "$WORK/psk1"
	conf gw2 198.51.100.2 198.51.100.1 wait "$WORK/psk2"
	start_both "wrong psk" || return
	sleep 3
	echo "    gw1: $(ike_field gw1 state); gw2: $(ike_field gw2 state)"
	check "[wrong psk] no IKE SA is established" eval \
		'[ "$(ike_field gw1 state)" != established ] &&
		 [ "$(ike_field gw2 state)" != established ]'
	check "[wrong psk] nothing is installed" eval \
		'[ -z "$(ike_sas gw1)" ] && [ -z "$(ike_sas gw2)" ]'
	check "[wrong psk] gw2 says why" grep -q "authentication failed" \
		"$WORK/gw2.log"
	check "[wrong psk] no traffic passes" eval '! ping_ok 203.0.113.10'
	stop_all
}

topo_up
[ -n "$IKE_ONLY_ENCAP" ] && { run "ipv4, UDP-encapsulated" 4 yes; summary; exit; }
[ -n "$IKE_ONLY_ALGS" ] && { algs aes-cbc-256/hmac-sha512-256/prf-sha384/modp3072 aes-cbc-128/hmac-sha384-192; algs chacha20-poly1305/prf-sha512/ecp384 aes-gmac-256; algs aes-gcm-128/prf-sha256/modp2048 chacha20-poly1305/curve25519; summary; exit; }
[ -n "$IKE_ONLY_COLL" ] && { collision; summary; exit; }
[ -n "$IKE_ONLY_TRAP" ] && { trap_start; summary; exit; }
[ -n "$IKE_ONLY_FRAG" ] && { pki_up; fragments; summary; exit; }
[ -n "$IKE_ONLY_CERTS" ] && { pki_up; certs "certificates: RSA-PSS and ECDSA" gw1-rsa gw2-ecdsa pss up; certs "certificates: RSA PKCS#1 and Ed25519" gw1-rsa gw2-ed pkcs1 up; ID1="C=CH, O=xdpsec test, CN=gw1.example.net" certs "certificates: a distinguished name as identity" gw1-rsa gw2-ecdsa pss up; certs "certificates: a peer from another CA" gw1-rsa gw2-rogue pss "unable to get local issuer certificate"; ID2=gw9.example.net certs "certificates: an identity the certificate does not name" gw1-rsa gw2-ecdsa pss "does not name the identity"; summary; exit; }
[ -n "$IKE_ONLY_REKEY" ] && { rekey "rekey on time, PFS" time; rekey "rekey on packets, by the responder" packets; summary; exit; }
run "ipv4" 4 auto
[ -n "$IKE_ONLY4" ] || run "ipv6" 6 auto
[ -n "$IKE_ONLY4" ] || run "ipv4, UDP-encapsulated" 4 yes
[ -n "$IKE_ONLY4" ] || wrong_psk
trap_start
collision
algs aes-cbc-256/hmac-sha512-256/prf-sha384/modp3072 aes-cbc-128/hmac-sha384-192
algs chacha20-poly1305/prf-sha512/ecp384 aes-gmac-256
algs aes-gcm-128/prf-sha256/modp2048 chacha20-poly1305/curve25519
rekey "rekey on time, PFS" time
rekey "rekey on packets, by the responder" packets
if pki_up; then
	certs "certificates: RSA-PSS and ECDSA" gw1-rsa gw2-ecdsa pss up
	certs "certificates: RSA PKCS#1 and Ed25519" gw1-rsa gw2-ed pkcs1 up
	ID1="C=CH, O=xdpsec test, CN=gw1.example.net" \
		certs "certificates: a distinguished name as identity" \
		gw1-rsa gw2-ecdsa pss up
	certs "certificates: a peer from another CA" gw1-rsa gw2-rogue pss \
		"unable to get local issuer certificate"
	ID2=gw9.example.net certs "certificates: an identity the certificate does not name" \
		gw1-rsa gw2-ecdsa pss "does not name the identity"
	fragments
else
	fail "certificates made with openssl"
fi
summary
