# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
# Helpers shared by the IKE scenarios: the two gateways gw1 and gw2 (of
# scripts/topo.sh naming), their daemons, logs and IKE state.  The caller
# sets WORK, BUILD and TOPO and sources tests/lib.sh and scripts/topo.sh
# first; GW1_PID and GW2_PID hold the daemons.

secret() {	# FILE TEXT
	(umask 077; printf '%s\n' "$2" > "$1")
}

# Starts GW's daemon on $WORK/GW.conf, logging to $WORK/GW.log.
start() {	# GW
	local rc
	xdpsecd_start "$1" "$WORK/$1.conf" "$WORK/$1.log" -v
	rc=$?
	eval "${1^^}_PID=$XDPSECD_PID"
	[ $rc -eq 0 ] || { cat "$WORK/$1.log"; return 1; }
}

# Starts gw2, then gw1; if either fails, says so under TAG and stops both.
start_both() {	# TAG
	start gw2 && start gw1 && return 0
	fail "[$1] daemons start"
	stop_all
	return 1
}

# On a failed run, the end of both daemons' logs says why.
stop_all() {
	local p g
	if [ "$FAILED" -gt "${FAILED_BEFORE:-0}" ]; then
		for g in gw1 gw2; do
			echo "    --- end of $g's log"
			tail -n 15 "$WORK/$g.log" | sed 's/^/    /'
		done
	fi
	FAILED_BEFORE=$FAILED
	[ -n "$IKE_KEEP" ] && cp "$WORK"/gw*.log "$WORK"/*.pcap "$IKE_KEEP"/ 2>/dev/null
	for p in $GW1_PID $GW2_PID; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	GW1_PID='' GW2_PID=''
	for g in gw1 gw2; do
		nsx $g "$BUILD/xdpsecd" -c "$WORK/$g.conf" --detach >/dev/null 2>&1
	done
}

# ike_field GW FIELD: FIELD of the first IKE SA, or "none".
ike_field() {
	xdpsec_cli "$1" --json ike list 2>/dev/null | python3 -c '
import json, sys
sas = json.load(sys.stdin)
print(sas[0].get(sys.argv[1], "none") if sas else "none")' "$2" 2>/dev/null
}

# The SAs in GW's SAD that IKE installed (their names start with "site.").
ike_sas() {
	xdpsec_cli "$1" --json sa list 2>/dev/null | python3 -c '
import json, sys
print(" ".join(sorted("%s:%s" % (s["dir"], s["spi"]) for s in json.load(sys.stdin)
			if s["name"].startswith("site."))))' 2>/dev/null
}

established() {
	[ "$(ike_field gw1 state)" = established ] &&
		[ "$(ike_field gw2 state)" = established ] &&
		[ -n "$(ike_sas gw1)" ] && [ -n "$(ike_sas gw2)" ]
}

# None of the SPIs in $OLD_SAS is left on either side (gw1, whose
# connection starts itself, may already have negotiated new ones).
gone_both() {
	local now s
	now=" $(ike_sas gw1) $(ike_sas gw2) "
	for s in $OLD_SAS; do
		[[ "$now" == *" $s "* ]] && return 1
	done
	return 0
}

# A capture on sw's p1 into PCAP, started once tcpdump says it listens
# (a loaded machine can take longer than any fixed sleep); CAP_PID is
# tcpdump's own PID.
capture_start() {	# PCAP
	rm -f "$1.err"
	ip netns exec "$(ns sw)" tcpdump -q -i p1 -s 0 -U --immediate-mode \
		-w "$1" 2>"$1.err" &
	CAP_PID=$!
	wait_for 50 grep -qs "listening on" "$1.err"
}

capture_stop() {
	sleep 0.3
	kill "$CAP_PID" 2>/dev/null
	wait "$CAP_PID" 2>/dev/null
	CAP_PID=
}
