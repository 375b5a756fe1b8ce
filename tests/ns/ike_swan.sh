#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# IKEv2 between xdpsec and strongSwan.  gw1 runs xdpsecd, gw2 runs charon
# with its userspace ESP (kernel-libipsec), which always wraps ESP in UDP:
# it tells its peer that a NAT is in the way, so xdpsec must follow it to
# port 4500 for IKE and for ESP.  PSK authentication, IPv4 outside, IPv4
# and IPv6 inside.
#
# For each of three proposal sets (AES-GCM-256 with X25519, AES-GCM-128
# with P-256, ChaCha20-Poly1305 with X25519) each side initiates once.
# Both sides must show the IKE SA and the CHILD_SA with the same SPIs and
# algorithms, the LANs must reach each other in both directions with only
# ESP in UDP on the wire, and a delete from one side must take the SAs
# away on both (xdpsec, when it initiated, then brings the tunnel back).
#
# Then, each in both directions: an initiator whose first key exchange
# group the responder refuses tries again with the one asked for; the
# CHILD_SA and the IKE SA are rekeyed without losing a packet; a side
# that restarts without deleting anything replaces its old IKE SA on the
# other side at once (INITIAL_CONTACT), so traffic does not wait for DPD.
# Then gw1 brings up a second IKE SA beside the first, and traffic keeps
# flowing.
#
# Last, certificates (made by openssl at run time, one ECDSA CA), each
# side initiating once: gw1 RSA-PSS against charon ECDSA P-256, gw1 ECDSA
# against charon RSA with PKCS#1 v1.5 and with PSS, Ed25519 on both sides,
# distinguished names as identities.  charon must say it checked gw1's
# certificate up to the CA and the signature, and the tunnel must carry
# traffic.  A certificate for charon from another CA: gw1 refuses it, says
# why, and neither side keeps anything installed.
#
#   h1 --- gw1 (xdpsecd) ===== sw ===== gw2 (charon) --- h2
cd "$(dirname "$0")/../.." || exit 1
. tests/lib.sh
need_root
TOPO=xswan
BUILD=${BUILD:-build}
. scripts/topo.sh
. scripts/swan.sh
if [ ! -x "$SWAN_CHARON" ] || ! command -v swanctl >/dev/null; then
	skip "strongSwan (charon, swanctl) is not installed"
	summary
	exit
fi
WORK=$(mktemp -d /tmp/xdpsec-swan.XXXXXX)
GW1_PID='' CHARON_PID='' TCPDUMP_PID='' LOG_MARK=0
# Lines a case adds to gw1's [conn], to charon's connection, to its child.
XDPSEC_EXTRA='' SWAN_CONN_EXTRA='' SWAN_CHILD_EXTRA=''
# gw1's identities and authentication lines, charon's local and remote
# sections (empty: the PSK defaults).
XDPSEC_IDS='' XDPSEC_AUTH='' SWAN_LOCAL='' SWAN_REMOTE=''
# charon's directory (scripts/swan.sh) is $WORK; plain swanctl finds it too.
export STRONGSWAN_CONF=$WORK/strongswan.conf SWANCTL_DIR=$WORK/swanctl

. tests/pki.sh

# stop_pid PID: TERM, then KILL if it is still there after 5 s.
stop_pid() {
	local i
	[ -n "$1" ] || return 0
	kill "$1" 2>/dev/null
	for i in $(seq 50); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
	kill -9 "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	return 0
}

cleanup() {
	local p
	for p in $GW1_PID $CHARON_PID $TCPDUMP_PID; do kill -9 "$p" 2>/dev/null; done
	for p in $GW1_PID $CHARON_PID $TCPDUMP_PID; do wait "$p" 2>/dev/null; done
	[ -f "$WORK/gw1.conf" ] &&
		nsx gw1 "$BUILD/xdpsecd" -c "$WORK/gw1.conf" --detach >/dev/null 2>&1
	topo_down
	rm -rf "$WORK"
}
trap cleanup EXIT

# ---- gw1: xdpsecd ----------------------------------------------------

# xdpsec_conf START IKE ESP: gw1's file.
xdpsec_conf() {
	cat > "$WORK/gw1.conf" <<-CONF
	[daemon]
	instance = $TOPO-gw1
	interfaces = lan wan
	default = bypass

	[conn site]
	local = 198.51.100.1
	remote = 198.51.100.2
	${XDPSEC_IDS:-local_id = gw1.example.net
remote_id = gw2.example.net}
	${XDPSEC_AUTH:-auth = psk
psk_file = $WORK/psk}
	local_ts = 192.0.2.0/24, 2001:db8:1::/64
	remote_ts = 203.0.113.0/24, 2001:db8:2::/64
	ike = $2
	esp = $3
	start = $1
	$XDPSEC_EXTRA
	CONF
}

xdpsec_start() {
	local rc=0
	xdpsecd_start gw1 "$WORK/gw1.conf" "$WORK/gw1.log" || rc=1
	GW1_PID=$XDPSECD_PID
	[ $rc -eq 0 ] || cat "$WORK/gw1.log"
	return $rc
}

xdpsec_stop() {
	stop_pid "$GW1_PID"
	GW1_PID=
	nsx gw1 "$BUILD/xdpsecd" -c "$WORK/gw1.conf" --detach >/dev/null 2>&1
}

# ike_field FIELD: FIELD of gw1's first IKE SA, or "none".
ike_field() {
	xdpsec_cli gw1 --json ike list 2>/dev/null | python3 -c '
import json, sys
sas = json.load(sys.stdin)
print(sas[0].get(sys.argv[1], "none") if sas else "none")' "$1"
}

# The SAs that IKE installed in gw1's SAD (names start with "site."), as
# DIR:SPI in lower-case hex without 0x.
ike_sas() {
	xdpsec_cli gw1 --json sa list 2>/dev/null | python3 -c '
import json, sys
def hx(v):
	return "%08x" % (v if isinstance(v, int) else int(str(v), 0))
print(" ".join(sorted("%s:%s" % (s["dir"], hx(s["spi"]))
		      for s in json.load(sys.stdin)
		      if s["name"].startswith("site."))))'
}

# ---- gw2: charon -----------------------------------------------------

# The same for every case: plugins, the control socket, the log.
charon_base_conf() { swan_base_conf "$WORK"; }

# swan_conf IKE ESP: gw2's connection, in strongSwan's own spelling.
swan_conf() {
	cat > "$SWANCTL_DIR/swanctl.conf" <<-CONF
	connections {
		site {
			version = 2
			local_addrs = 198.51.100.2
			remote_addrs = 198.51.100.1
			proposals = $1
			$SWAN_CONN_EXTRA
			local {
				${SWAN_LOCAL:-auth = psk
id = gw2.example.net}
			}
			remote {
				${SWAN_REMOTE:-auth = psk
id = gw1.example.net}
			}
			children {
				lan {
					local_ts = 203.0.113.0/24, 2001:db8:2::/64
					remote_ts = 192.0.2.0/24, 2001:db8:1::/64
					esp_proposals = $2
					start_action = none
					close_action = none
					$SWAN_CHILD_EXTRA
				}
			}
		}
	}
	secrets {
		ike-site {
			id-1 = gw1.example.net
			id-2 = gw2.example.net
			secret = "$(cat "$WORK/psk")"
		}
	}
	CONF
}

swan() { swanctl "$@" 2>&1; }

# charon in gw2's network namespace, with its connection loaded.
charon_start() {
	local rc=0
	LOG_MARK=$(wc -l 2>/dev/null < "$WORK/charon.log" || echo 0)
	swan_start gw2 "$WORK" || rc=1
	CHARON_PID=$SWAN_PID
	[ $rc -eq 0 ] && swan --load-all >>"$WORK/charon.out" && return 0
	swan_logs "$WORK"
	return 1
}

charon_stop() {
	stop_pid "$CHARON_PID"
	CHARON_PID=
}

# What charon logged since it last started contains PATTERN.
swan_logged() {	# PATTERN
	tail -n +$((LOG_MARK + 1)) "$WORK/charon.log" | grep -q "$1"
}

# swan_sas: swanctl's view of the SAs, one line per fact.
swan_sas() { swanctl --list-sas 2>/dev/null; }

# The installed CHILD_SAs' SPIs as gw2 sees them, as DIR:SPI like ike_sas
# (a CHILD_SA that was rekeyed stays listed for a while, as DELETED).
swan_spis() {
	swan_sas | awk '/^ +[^ ]+: #[0-9]+, reqid/ { inst = /INSTALLED/ }
		inst && ($1 == "in" || $1 == "out") {
			s = $2; sub(/,$/, "", s); print $1 ":" s }' |
		sort | tr '\n' ' ' | sed 's/ $//'
}

swan_established() {
	local out
	out=$(swan_sas)
	grep -q 'ESTABLISHED' <<<"$out" && grep -q 'INSTALLED' <<<"$out"
}

swan_empty() { ! swan_sas | grep -q .; }

# ---- checks ----------------------------------------------------------

established() {
	[ "$(ike_field state)" = established ] && [ -n "$(ike_sas)" ] &&
		swan_established
}

# What gw1 sends out, gw2 takes in, and the other way round.
spis_match() {
	local a
	a=$(ike_sas | tr ' ' '\n' | sed 's/^out:/X:/; s/^in:/out:/; s/^X:/in:/' |
		sort | tr '\n' ' ' | sed 's/ $//')
	[ -n "$a" ] && [ "$a" = "$(swan_spis)" ]
}

spis_cross() {
	echo "    gw1: $(ike_sas); gw2: $(swan_spis)"
	spis_match
}

# The number of IKE SAs on each side.
ike_count() {
	xdpsec_cli gw1 --json ike list 2>/dev/null |
		python3 -c 'import json, sys; print(len(json.load(sys.stdin)))'
}

swan_count() { swan_sas | grep -c '^site: #'; }

# One IKE SA on each side, with one CHILD_SA whose SPIs match.
one_each() {
	[ "$(ike_count)" = 1 ] && [ "$(swan_count)" = 1 ] && spis_match
}

two_each() { [ "$(ike_count)" = 2 ] && [ "$(swan_count)" = 2 ]; }

# swan_algs IKE ESP: charon shows the negotiated algorithms.
swan_algs() {
	local out
	out=$(swan_sas)
	echo "    gw2: $(grep -E '^ +[A-Z0-9_]+(-[0-9]+)?/' <<<"$out" | xargs)," \
		"$(grep -oE 'ESP:[A-Z0-9_/-]+' <<<"$out" | head -n1)"
	grep -qE "^ +$1\$" <<<"$out" && grep -qE "ESP:$2(/|\$| |,)" <<<"$out"
}

ping_ok() {	# FROM DST
	nsx "$1" ping -c1 -W1 "$2" >/dev/null 2>&1
}

pings_both_ways() {	# TAG
	check "[$1] ping h1 -> h2 over IPv4" wait_for 25 ping_ok h1 203.0.113.10
	check "[$1] ping h2 -> h1 over IPv4" wait_for 25 ping_ok h2 192.0.2.10
}

# A capture on the wire while the hosts ping each other: ESP in UDP 4500
# (without IKE's zero marker and keepalives), no echo in clear.
only_esp_in_udp() {
	local pcap=$WORK/wire.pcap n_esp n_clear n_raw
	ip netns exec "$(ns sw)" tcpdump -q -i p1 -s 0 -U --immediate-mode \
		-w "$pcap" 2>/dev/null &
	TCPDUMP_PID=$!
	sleep 0.5
	nsx h1 ping -c 5 -i 0.1 -W1 203.0.113.10 >/dev/null
	nsx h2 ping -c 5 -i 0.1 -W1 192.0.2.10 >/dev/null
	nsx h1 ping -c 5 -i 0.1 -W1 2001:db8:2::10 >/dev/null
	nsx h2 ping -c 5 -i 0.1 -W1 2001:db8:1::10 >/dev/null
	sleep 0.5
	stop_pid "$TCPDUMP_PID"
	TCPDUMP_PID=
	n_esp=$(tcpdump -r "$pcap" -nn 'udp port 4500 and not udp port 500 and
		udp[8:4] != 0' 2>/dev/null | wc -l)
	n_raw=$(tcpdump -r "$pcap" -nn 'ip proto 50' 2>/dev/null | wc -l)
	n_clear=$(tcpdump -r "$pcap" -nn 'icmp or (icmp6 and
		(ip6[40] = 128 or ip6[40] = 129))' 2>/dev/null | wc -l)
	echo "    wire: $n_esp ESP in UDP, $n_raw plain ESP," \
		"$n_clear ICMP echo in clear"
	[ "$n_esp" -ge 40 ] && [ "$n_clear" -eq 0 ]
}

gone_both() {
	[ "$(ike_field state)" = none ] && [ -z "$(ike_sas)" ] && swan_empty
}

# None of the SAs in OLD (as from ike_sas) is left on either side.
old_gone() {	# OLD
	local now s
	[ -n "$1" ] || return 1
	now=" $(ike_sas) $(swan_spis | tr ' ' '\n' |
		sed 's/^out:/X:/; s/^in:/out:/; s/^X:/in:/' | tr '\n' ' ') "
	for s in $1; do
		[[ "$now" == *" $s "* ]] && return 1
	done
	return 0
}

# ---- the cases -------------------------------------------------------

# case_start TAG INITIATOR XDPSEC_IKE XDPSEC_ESP SWAN_IKE SWAN_ESP
# Fresh daemons and a fresh key; INITIATOR (xdpsec or swan) starts.  Fails
# (and counts it) unless the tunnel comes up on both sides.
case_start() {
	local tag=$1 start=wait
	[ "$2" = xdpsec ] && start=initiate
	(umask 077; printf 'xdpsec and strongSwan %s\n' "$RANDOM$RANDOM" \
		> "$WORK/psk")
	xdpsec_conf $start "$3" "$4"
	swan_conf "$5" "$6"
	echo "--- [$tag]" >>"$WORK/charon.log"
	if ! charon_start || ! xdpsec_start; then
		fail "[$tag] daemons start"
		case_stop
		return 1
	fi
	[ "$2" = swan ] && swan_initiate
	if ! wait_for 75 established; then
		fail "[$tag] IKE SA and CHILD_SA established on both sides"
		echo "    gw1: $(ike_field state); gw2: $(swan_sas | head -n1)"
		case_stop
		return 1
	fi
	pass "[$tag] IKE SA and CHILD_SA established on both sides"
	echo "    gw1: $(ike_field state), nat=$(ike_field nat)"
}

case_stop() {
	xdpsec_stop
	charon_stop
	XDPSEC_EXTRA='' SWAN_CONN_EXTRA='' SWAN_CHILD_EXTRA=''
	XDPSEC_IDS='' XDPSEC_AUTH='' SWAN_LOCAL='' SWAN_REMOTE=''
}

swan_initiate() {
	timeout 20 swanctl --initiate --child lan --timeout 15 \
		>>"$WORK/charon.out" 2>&1
}

# run TAG IKE ESP SWAN_IKE SWAN_ESP INITIATOR DELETER
run() {
	local tag="$1, $6 initiates, $7 deletes" old
	case_start "$tag" "$6" "$2" "$3" "$4" "$5" || return
	check "[$tag] the SPIs of one side are the other's, reversed" spis_cross
	check "[$tag] strongSwan negotiated $4, $5" \
		swan_algs "$SWAN_IKE_NAME" "$SWAN_ESP_NAME"
	pings_both_ways "$tag"
	check "[$tag] ping h1 -> h2 over IPv6" \
		wait_for 25 ping_ok h1 2001:db8:2::10
	check "[$tag] ping h2 -> h1 over IPv6" \
		wait_for 25 ping_ok h2 2001:db8:1::10
	check "[$tag] the wire carries only ESP in UDP 4500" only_esp_in_udp

	old=$(ike_sas)
	if [ "$7" = xdpsec ]; then
		xdpsec_cli gw1 tunnel down site >/dev/null
	else
		timeout 20 swanctl --terminate --ike site --timeout 15 \
			>>"$WORK/charon.out" 2>&1
	fi
	if [ "$6" = swan ]; then
		check "[$tag] both sides drop the SAs" wait_for 50 gone_both
	else
		check "[$tag] both sides drop the old SAs" \
			wait_for 50 old_gone "$old"
		check "[$tag] gw1 brings the tunnel back by itself" \
			wait_for 75 established
		check "[$tag] ... and it carries traffic" \
			wait_for 25 ping_ok h1 203.0.113.10
	fi
	check "[$tag] both daemons alive" kill -0 "$GW1_PID" "$CHARON_PID"
	case_stop
}

# set TAG XDPSEC_IKE XDPSEC_ESP SWAN_IKE SWAN_ESP SWAN_IKE_NAME SWAN_ESP_NAME
# FIRST_DELETER: both roles; the deleting side alternates.
set_both_roles() {
	local other=swan
	SWAN_IKE_NAME=$6 SWAN_ESP_NAME=$7
	[ "$8" = swan ] && other=xdpsec
	run "$1" "$2" "$3" "$4" "$5" xdpsec "$8"
	run "$1" "$2" "$3" "$4" "$5" swan "$other"
}

# The initiator's first key exchange goes with X25519, which the
# responder does not take: INVALID_KE_PAYLOAD names P-256, and the
# initiator starts again with it.
group_retry() {	# INITIATOR
	local tag="another group, $1 initiates" why
	if [ "$1" = xdpsec ]; then
		why="unacceptable, requesting ECP_256"
		case_start "$tag" xdpsec \
			"aes-gcm-256/prf-sha256/curve25519, aes-gcm-256/prf-sha256/ecp256" \
			aes-gcm-256 aes256gcm16-prfsha256-ecp256 aes256gcm16 || return
	else
		why="it requested ECP_256"
		case_start "$tag" swan aes-gcm-256/prf-sha256/ecp256 aes-gcm-256 \
			aes256gcm16-prfsha256-x25519-ecp256 aes256gcm16 || return
	fi
	check "[$tag] the responder asked for P-256" swan_logged "$why"
	check "[$tag] strongSwan negotiated P-256" swan_algs \
		AES_GCM_16-256/PRF_HMAC_SHA2_256/ECP_256 AES_GCM_16-256
	check "[$tag] the SPIs of one side are the other's, reversed" spis_cross
	pings_both_ways "$tag"
	case_stop
}

# Pings both ways every 0.2 s until the CHILD_SA in OLD is replaced on
# both sides (at most 15 s, and one round after); sets LOST.
ping_through_rekey() {	# OLD
	local i after=-1
	LOST=0
	for i in $(seq 75); do
		ping_ok h1 203.0.113.10 || LOST=$((LOST + 1))
		ping_ok h2 192.0.2.10 || LOST=$((LOST + 1))
		[ "$after" -ge 0 ] && return 0
		old_gone "$1" && spis_match && after=$i
		sleep 0.2
	done
	return 1
}

# REKEYER's short lifetime has it rekey the CHILD_SA the other side
# negotiated: new SPIs on both sides, the old ones deleted, no ping lost.
rekey() {	# REKEYER
	local tag="CHILD_SA rekey, $1 rekeys" init=xdpsec old
	if [ "$1" = xdpsec ]; then
		init=swan
		XDPSEC_EXTRA="child_lifetime = 6s"
	else
		SWAN_CHILD_EXTRA="rekey_time = 4s
life_time = 60s
rand_time = 0"
	fi
	tag="$tag, $init initiated"
	case_start "$tag" $init aes-gcm-256/prf-sha256/curve25519 aes-gcm-256 \
		aes256gcm16-prfsha256-x25519 aes256gcm16 || return
	old=$(ike_sas)
	check "[$tag] new SPIs on both sides, the old ones gone" \
		ping_through_rekey "$old"
	spis_cross >/dev/null
	echo "    before: $old; now gw1: $(ike_sas)"
	check "[$tag] no ping lost" [ "$LOST" -eq 0 ]
	check "[$tag] one IKE SA and CHILD_SA on each side" one_each
	case_stop
}

# The IKE SAs' SPIs on each side, "SPI_I SPI_R" per line.
ike_spis() {
	xdpsec_cli gw1 --json ike list 2>/dev/null | python3 -c '
import json, sys
for sa in json.load(sys.stdin):
	print(sa["spi_i"], sa["spi_r"])'
}

swan_ike_spis() {
	swan_sas | sed -nE 's/^site: #.*, ([0-9a-f]{16})_i\*? ([0-9a-f]{16})_r\*?$/\1 \2/p'
}

ike_spis_match() {
	[ -n "$(ike_spis)" ] && [ "$(ike_spis)" = "$(swan_ike_spis)" ]
}

# Pings both ways every 0.2 s until the IKE SA OLD (as from ike_spis) is
# replaced by one that both sides hold (at most 15 s); sets LOST.
ping_through_ike_rekey() {	# OLD
	local i
	LOST=0
	for i in $(seq 75); do
		ping_ok h1 203.0.113.10 || LOST=$((LOST + 1))
		ping_ok h2 192.0.2.10 || LOST=$((LOST + 1))
		[ "$(ike_spis)" != "$1" ] && ike_spis_match && return 0
		sleep 0.2
	done
	return 1
}

# Still the CHILD_SA OLD (as from ike_sas), alone on each side.
same_child() {	# OLD
	[ "$(ike_sas)" = "$1" ] && one_each
}

# REKEYER rekeys the IKE SA: both sides move to the same new one, which
# takes the CHILD_SA along, and no ping is lost.
ike_rekey() {	# REKEYER
	local tag="IKE SA rekey, $1 rekeys" init=xdpsec old old_child
	if [ "$1" = xdpsec ]; then
		init=swan
		XDPSEC_EXTRA="ike_lifetime = 6s"
	else
		SWAN_CONN_EXTRA="rekey_time = 4s
over_time = 60s
rand_time = 0"
	fi
	tag="$tag, $init initiated"
	case_start "$tag" $init aes-gcm-256/prf-sha256/curve25519 aes-gcm-256 \
		aes256gcm16-prfsha256-x25519 aes256gcm16 || return
	old=$(ike_spis) old_child=$(ike_sas)
	check "[$tag] new IKE SPIs, the same on both sides" \
		ping_through_ike_rekey "$old"
	echo "    before: $old; now gw1: $(ike_spis); gw2: $(swan_ike_spis)"
	check "[$tag] no ping lost" [ "$LOST" -eq 0 ]
	check "[$tag] the CHILD_SA moved along" \
		wait_for 25 same_child "$old_child"
	case_stop
}

# Each side in turn disappears without a word and comes back: its new IKE
# SA carries INITIAL_CONTACT, so the other side drops the old one, whose
# CHILD_SA would otherwise take the traffic until DPD gave up on it.
restart() {
	local tag="restart"
	case_start "$tag" swan aes-gcm-256/prf-sha256/curve25519 aes-gcm-256 \
		aes256gcm16-prfsha256-x25519 aes256gcm16 || return
	kill -9 "$CHARON_PID"
	wait "$CHARON_PID" 2>/dev/null
	if ! charon_start; then
		fail "[$tag] charon starts again"
		case_stop
		return
	fi
	swan_initiate
	check "[$tag] charon comes back: gw1 keeps only its new IKE SA" \
		wait_for 50 one_each
	spis_cross >/dev/null
	echo "    gw1: $(ike_count) IKE SA(s), $(ike_sas)"
	pings_both_ways "$tag, charon restarted"

	kill -9 "$GW1_PID"
	wait "$GW1_PID" 2>/dev/null
	if ! xdpsec_start; then
		fail "[$tag] xdpsecd starts again"
		case_stop
		return
	fi
	xdpsec_cli gw1 tunnel up site >/dev/null
	check "[$tag] xdpsecd comes back: gw2 keeps only its new IKE SA" \
		wait_for 50 one_each
	echo "    gw2: $(swan_count) IKE SA(s), $(swan_spis)"
	pings_both_ways "$tag, xdpsecd restarted"
	case_stop
}

# "tunnel up" on a connection that is up: the second IKE SA must not claim
# to be the only one (INITIAL_CONTACT), or strongSwan drops the first, whose
# CHILD_SA gw1 still sends with.
up_again() {
	local tag="tunnel up again"
	case_start "$tag" xdpsec aes-gcm-256/prf-sha256/curve25519 aes-gcm-256 \
		aes256gcm16-prfsha256-x25519 aes256gcm16 || return
	xdpsec_cli gw1 tunnel up site >/dev/null
	check "[$tag] a second IKE SA on both sides" wait_for 50 two_each
	check "[$tag] both sides hold the same CHILD_SAs" wait_for 25 spis_match
	echo "    gw1: $(ike_sas); gw2: $(swan_spis)"
	pings_both_ways "$tag"
	case_stop
}

# ---- certificates ----------------------------------------------------

PKI=$WORK/pki

# Both gateways' certificates from one CA, and one for gw2 from a CA gw1
# does not know.  charon gets its own and the CA through swanctl's
# directories: x509ca, x509 and private (PKCS#8 of any key type).
pki_up() {
	local k
	mkdir -p "$PKI" "$SWANCTL_DIR/x509ca" "$SWANCTL_DIR/x509" \
		"$SWANCTL_DIR/private" || return 1
	pki_ca ca && pki_ca rogue || return 1
	for k in rsa ecdsa ed25519; do
		pki_cert gw1-$k $k ca gw1.example.net &&
			pki_cert gw2-$k $k ca gw2.example.net || return 1
	done
	pki_cert gw2-rogue ecdsa rogue gw2.example.net || return 1
	cp "$PKI/ca.pem" "$SWANCTL_DIR/x509ca/" &&
		cp "$PKI"/gw2-*.pem "$SWANCTL_DIR/x509/" &&
		cp "$PKI"/gw2-*.key "$SWANCTL_DIR/private/"
}

# cert_conf GW1 SIG GW2 SWAN_AUTH ID1 ID2: gw1 signs with certificate GW1
# (SIG: pss or pkcs1 for RSA) as ID1, charon with GW2 and its local auth
# SWAN_AUTH as ID2.
cert_conf() {
	XDPSEC_IDS="local_id = $5
remote_id = $6"
	XDPSEC_AUTH="auth = pubkey
cert = $PKI/$1.pem
key = $PKI/$1.key
ca = $PKI/ca.pem
signature = $2"
	SWAN_LOCAL="auth = $4
id = \"$6\"
certs = $3.pem"
	SWAN_REMOTE="auth = pubkey
id = \"$5\""
}

# What charon logged about the peer's certificate and the signatures.
swan_auth_log() {
	tail -n +$((LOG_MARK + 1)) "$WORK/charon.log" | grep -E \
		"using (trusted ca )?certificate|reached self-signed|authentication of" |
		sed -E 's/^[0-9:]+ [0-9]+\[[A-Z]+\] <[^>]*> /    gw2: /'
}

# cert_run TAG INITIATOR GW1 SIG GW2 SWAN_AUTH GW1_SCHEME GW2_SCHEME: the
# tunnel comes up, charon says it checked gw1's certificate to the CA and
# its signature (scheme GW1_SCHEME, in charon's words) and signed with
# GW2_SCHEME, and it carries traffic.  The identities are ID1 and ID2, or
# the host names.
cert_run() {
	local tag="certificates: $1, $2 initiates"
	local id1=${ID1:-gw1.example.net} id2=${ID2:-gw2.example.net}
	cert_conf "$3" "$4" "$5" "$6" "$id1" "$id2"
	case_start "$tag" "$2" aes-gcm-256/prf-sha256/curve25519 aes-gcm-256 \
		aes256gcm16-prfsha256-x25519 aes256gcm16 || return
	echo "    gw1 sees $(ike_field peer_id)"
	swan_auth_log
	check "[$tag] gw1 authenticated charon as $id2" \
		[ "$(ike_field peer_id | tr -d ' ')" = "${id2// /}" ]
	check "[$tag] charon checked gw1's certificate against the CA" eval \
		'swan_logged "using certificate \"C=CH, O=xdpsec test, CN=gw1.example.net\"" &&
		 swan_logged "using trusted ca certificate \"C=CH, O=xdpsec test, CN=ca\"" &&
		 swan_logged "reached self-signed root ca"'
	check "[$tag] charon verified gw1's signature, $7" \
		swan_logged "authentication of '$id1' with $7 successful"
	check "[$tag] charon signed with $8" \
		swan_logged "authentication of '$id2' (myself) with $8 successful"
	check "[$tag] the SPIs of one side are the other's, reversed" spis_cross
	pings_both_ways "$tag"
	case_stop
}

cert_both() {	# TAG GW1 SIG GW2 SWAN_AUTH GW1_SCHEME GW2_SCHEME
	cert_run "$1" xdpsec "${@:2}"
	cert_run "$1" swan "${@:2}"
}

nothing_installed() {
	[ -z "$(ike_sas)" ] && ! swan_sas | grep -q INSTALLED
}

none_established() {
	[ "$(ike_field state)" != established ] &&
		! swan_sas | grep -q ESTABLISHED
}

# charon, as responder, took gw1's AUTHENTICATION_FAILED as a delete.
swan_told() {
	swan_logged "parsed INFORMATIONAL request .*N(AUTH_FAILED)" &&
		swan_logged "received DELETE for IKE_SA"
}

# charon presents a certificate from a CA gw1 does not trust: gw1 says
# why it refuses, and neither side installs anything.  charon, when it
# responds, installs its CHILD_SA before gw1 sees the certificate; gw1's
# AUTHENTICATION_FAILED must make it drop it again.
cert_refused() {	# INITIATOR
	local tag="certificates: charon's from another CA, $1 initiates"
	local why="peer not authenticated: certificate: unable to get local issuer certificate"
	cert_conf gw1-rsa pss gw2-rogue pubkey gw1.example.net gw2.example.net
	(umask 077; echo unused > "$WORK/psk")
	xdpsec_conf wait aes-gcm-256/prf-sha256/curve25519 aes-gcm-256
	swan_conf aes256gcm16-prfsha256-x25519 aes256gcm16
	echo "--- [$tag]" >>"$WORK/charon.log"
	if ! charon_start || ! xdpsec_start; then
		fail "[$tag] daemons start"
		case_stop
		return
	fi
	if [ "$1" = xdpsec ]; then
		xdpsec_cli gw1 tunnel up site >/dev/null
	else
		swan_initiate
	fi
	check "[$tag] gw1 refuses: $why" \
		wait_for 50 grep -q "$why" "$WORK/gw1.log"
	grep -m1 "peer not authenticated" "$WORK/gw1.log" | sed 's/^/    gw1: /'
	if [ "$1" = xdpsec ]; then
		check "[$tag] gw1 tells charon, which deletes its IKE SA" \
			wait_for 25 swan_told
	else
		check "[$tag] charon hears AUTHENTICATION_FAILED" wait_for 25 \
			swan_logged "received AUTHENTICATION_FAILED notify error"
	fi
	check "[$tag] nothing installed on either side" \
		wait_for 25 nothing_installed
	sleep 1
	echo "    gw1: $(ike_field state), SAs '$(ike_sas)'; gw2: $(swan_sas | head -n1)"
	check "[$tag] ... and none of it comes back" nothing_installed
	check "[$tag] no IKE SA established on either side" none_established
	case_stop
}

certs() {
	if ! pki_up; then
		fail "certificates made with openssl"
		return
	fi
	cert_both "xdpsec RSA-PSS, charon ECDSA P-256" gw1-rsa pss gw2-ecdsa \
		pubkey RSA_EMSA_PSS_SHA2_256_SALT_32 ECDSA_WITH_SHA256_DER
	cert_both "xdpsec ECDSA, charon RSA PKCS#1" gw1-ecdsa pss gw2-rsa \
		pubkey ECDSA_WITH_SHA256_DER RSA_EMSA_PKCS1_SHA2_256
	cert_both "xdpsec ECDSA, charon RSA-PSS" gw1-ecdsa pss gw2-rsa \
		ike:rsa/pss-sha256 ECDSA_WITH_SHA256_DER RSA_EMSA_PSS_SHA2_256_SALT_32
	cert_both "Ed25519 on both sides" gw1-ed25519 pss gw2-ed25519 \
		pubkey ED25519 ED25519
	ID1="C=CH, O=xdpsec test, CN=gw1.example.net" \
	ID2="C=CH, O=xdpsec test, CN=gw2.example.net" \
		cert_both "distinguished names as identities" gw1-rsa pkcs1 \
		gw2-ecdsa pubkey RSA_EMSA_PKCS1_SHA2_256 ECDSA_WITH_SHA256_DER
	cert_refused swan
	cert_refused xdpsec
}

topo_up
charon_base_conf
[ -n "$SWAN_ONLY_CERTS" ] && { certs; summary; exit; }
set_both_roles "AES-GCM-256, X25519" \
	aes-gcm-256/prf-sha256/curve25519 aes-gcm-256 \
	aes256gcm16-prfsha256-x25519 aes256gcm16 \
	AES_GCM_16-256/PRF_HMAC_SHA2_256/CURVE_25519 AES_GCM_16-256 swan
set_both_roles "AES-GCM-128, P-256" \
	aes-gcm-128/prf-sha256/ecp256 aes-gcm-128 \
	aes128gcm16-prfsha256-ecp256 aes128gcm16 \
	AES_GCM_16-128/PRF_HMAC_SHA2_256/ECP_256 AES_GCM_16-128 xdpsec
set_both_roles "ChaCha20-Poly1305, X25519" \
	chacha20-poly1305/prf-sha256/curve25519 chacha20-poly1305 \
	chacha20poly1305-prfsha256-x25519 chacha20poly1305 \
	CHACHA20_POLY1305/PRF_HMAC_SHA2_256/CURVE_25519 CHACHA20_POLY1305 swan
group_retry xdpsec
group_retry swan
rekey xdpsec
rekey swan
ike_rekey xdpsec
ike_rekey swan
restart
up_again
certs
summary
