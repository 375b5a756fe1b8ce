#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# A flood of IKE_SA_INIT requests must not exhaust an xdpsec responder.
# gw2 waits for any peer, with a cookie threshold of 10 half-open IKE SAs;
# from sw, a flooder sends thousands of well-formed IKE_SA_INIT requests
# (a proposal gw2 takes, a real Curve25519 KE value, a nonce, correct NAT
# detection hashes) from forged addresses of 198.18.0.0/15, each from a
# random port, and never goes on.  Once the threshold is reached gw2 must
# answer every new request with a COOKIE notify alone, holding no more
# half-open IKE SAs than the threshold (and the few that did return the
# cookie); its memory and its log must stay bounded, and it must stay up.
# Meanwhile gw1, a legitimate initiator started during the flood, answers
# the cookie challenge and establishes, and traffic flows through the
# tunnel.  A request that echoes its cookie gets a real response, one that
# echoes a wrong cookie is challenged again; when the half-open timeout
# has passed the half-open SAs are gone and requests need no cookie.  A
# second flood, of proposals gw2 cannot take, is refused request by
# request with its warnings rate-limited.  A third flooder echoes every
# cookie, as one that sees the answers can: it gets only a few half-open
# IKE SAs per address, and a new peer still gets in.
#
#   h1 --- gw1 ===== sw ===== gw2 --- h2
#                    |
#                 flooder: 198.51.100.3 on sw's bridge, sending as
#                 198.18.0.0/15 (gw2 routes that back via 198.51.100.3)
cd "$(dirname "$0")/../.." || exit 1
. tests/lib.sh
need_root
TOPO=xflood
BUILD=${BUILD:-build}
WORK=$(mktemp -d /tmp/xdpsec-ike-flood.XXXXXX)
GW1_PID='' GW2_PID='' CAP_PID='' FLOOD_PID='' SAMPLER_PID=''
THRESHOLD=10
MARGIN=2		# gw1's own SA and the one whose cookie came back
PER_ADDR_MAX=5		# half-open IKE SAs one address may hold under load
FLOOD_COUNT=${FLOOD_COUNT:-3000}
FLOOD_RATE=${FLOOD_RATE:-500}	# requests a second: a flood of 6 s
FLOOD_SECONDS=15		# an upper bound on its sending
RSS_MAX_MIB=16		# the most gw2's RSS may grow
LOG_LINES_MAX=200
FLOOD_NET=198.18.0.0/15

. scripts/topo.sh
. tests/ike_lib.sh

cleanup() {
	local p
	touch "$WORK/stop"
	for p in $FLOOD_PID $SAMPLER_PID $GW1_PID $GW2_PID $CAP_PID; do
		kill -9 "$p" 2>/dev/null
	done
	wait 2>/dev/null
	topo_down
	rm -rf "$WORK"
}
trap cleanup EXIT

# gw1 initiates to gw2; gw2 takes any peer that proves gw1's identity.
confs() {
	secret "$WORK/psk" "a flood must not keep the right peer out"
	cat > "$WORK/gw1.conf" <<-CONF
	[daemon]
	instance = $TOPO-gw1
	interfaces = lan wan
	default = bypass

	[conn site]
	local = 198.51.100.1
	remote = 198.51.100.2
	local_id = gw1.example.net
	remote_id = gw2.example.net
	auth = psk
	psk_file = $WORK/psk
	local_ts = 192.0.2.0/24
	remote_ts = 203.0.113.0/24
	start = initiate
	CONF
	cat > "$WORK/gw2.conf" <<-CONF
	[daemon]
	instance = $TOPO-gw2
	interfaces = lan wan
	default = bypass

	[conn site]
	local = 198.51.100.2
	remote = any
	local_id = gw2.example.net
	remote_id = gw1.example.net
	auth = psk
	psk_file = $WORK/psk
	local_ts = 203.0.113.0/24
	remote_ts = 192.0.2.0/24
	start = wait
	cookie_threshold = $THRESHOLD
	CONF
}

# The flooder's tool, run in sw's namespace.
flooder() {	# COMMAND ARGS...
	nsx sw python3 tests/tools/ike_flood.py "$1" --dst 198.51.100.2 \
		--iface br0 --net "$FLOOD_NET" "${@:2}"
}

# A field of a JSON object in FILE.
jfield() {	# FILE FIELD
	python3 -c 'import json, sys
print(json.load(open(sys.argv[1])).get(sys.argv[2], ""))' "$1" "$2" 2>/dev/null
}

# gw2's half-open IKE SAs: neither established nor going away.
half_open() {
	xdpsec_cli gw2 --json ike list 2>/dev/null | python3 -c '
import json, sys
print(sum(s["state"] in ("connecting", "authenticating")
	  for s in json.load(sys.stdin)))' 2>/dev/null
}

# The most half-open IKE SAs gw2 holds for one peer address.
half_open_per_addr() {
	xdpsec_cli gw2 --json ike list 2>/dev/null | python3 -c '
import collections, json, sys
n = collections.Counter(s["remote"].split("[")[0]
			for s in json.load(sys.stdin)
			if s["state"] in ("connecting", "authenticating"))
print(max(n.values(), default=0))' 2>/dev/null
}

half_open_is() {	# N
	[ "$(half_open)" = "$1" ]
}

# gw2 has an established IKE SA with gw1, and gw1 with gw2.
site_up() {
	[ "$(ike_field gw1 state)" = established ] || return 1
	xdpsec_cli gw2 --json ike list 2>/dev/null | python3 -c '
import json, sys
sys.exit(not any(s["state"] == "established" and
		 s["peer_id"].endswith("gw1.example.net") and s["children"]
		 for s in json.load(sys.stdin)))' 2>/dev/null &&
		[ -n "$(ike_sas gw1)" ] && [ -n "$(ike_sas gw2)" ]
}

ping_ok() { nsx h1 ping -c1 -W1 203.0.113.10 >/dev/null 2>&1; }

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$GW2_PID/status" 2>/dev/null; }

log_lines() { wc -l < "$WORK/gw2.log"; }

# Samples gw2's half-open count into $WORK/half_open until $WORK/stop
# appears (at most 2 minutes' worth of samples).
sampler() {
	local i
	for ((i = 0; i < 600; i++)); do
		[ -e "$WORK/stop" ] && break
		half_open >> "$WORK/half_open"
		sleep 0.2
	done
}

# IKE_SA_INIT responses from gw2 to gw1 that are a COOKIE notify alone:
# the first payload (next payload field at byte 16 of the IKE header) a
# Notify whose type (byte 34) is COOKIE, 16390.
cookies_to_gw1() {	# PCAP
	tcpdump -r "$1" -nn 'src 198.51.100.2 and dst 198.51.100.1 and
		udp src port 500 and udp[26] = 34 and udp[24] = 41 and
		(udp[27] & 0x20) != 0 and udp[42:2] = 16390' 2>/dev/null | wc -l
}

topo_up
# The flooder's place on the wire, and gw2's way back to its forged
# addresses (sw does not forward: the answers end at the flooder).
ip -n "$(ns sw)" addr add 198.51.100.3/24 dev br0
ip -n "$(ns gw2)" route add "$FLOOD_NET" via 198.51.100.3
confs
if ! start gw2; then
	fail "gw2 starts"
	summary
	exit 1
fi
sleep 1
RSS0=$(rss_kib)
LOG0=$(log_lines)

flooder probe --src 198.18.0.10 --out "$WORK/probe0.json" >/dev/null
check "below the threshold, a request is answered in full, with no cookie" \
	[ "$(jfield "$WORK/probe0.json" answer)" = full ]

# The flood, with gw1 started a second into it.
sampler & SAMPLER_PID=$!
capture_start "$WORK/gw1.pcap"
T0=$(date +%s)
flooder flood --count "$FLOOD_COUNT" --rate "$FLOOD_RATE" \
	--seconds "$FLOOD_SECONDS" --out "$WORK/flood.json" >/dev/null &
FLOOD_PID=$!
sleep 1
if ! start gw1; then
	fail "gw1 starts"
fi
check "gw1 establishes with gw2 during the flood" wait_for 100 site_up
UP_AT=$(($(date +%s) - T0))
for ((i = 0; i < 200; i++)); do
	kill -0 "$FLOOD_PID" 2>/dev/null || break
	sleep 0.2
done
wait "$FLOOD_PID"
FLOOD_RC=$? FLOOD_PID=''
capture_stop
FLOOD_END=$(($(date +%s) - T0))

SENT=$(jfield "$WORK/flood.json" sent)
echo "    flood: $SENT requests in $(jfield "$WORK/flood.json" seconds) s;" \
	"$(jfield "$WORK/flood.json" answered) answered:" \
	"$(jfield "$WORK/flood.json" cookie_only) with a COOKIE alone," \
	"$(jfield "$WORK/flood.json" full) in full," \
	"$(jfield "$WORK/flood.json" other) otherwise; gw1 up after ${UP_AT} s"
check "the flooder ran and sent its $FLOOD_COUNT requests" \
	[ "$FLOOD_RC/$SENT" = "0/$FLOOD_COUNT" ]
check "past the threshold, gw2 answers with a COOKIE notify alone" eval \
	'[ "$(jfield "$WORK/flood.json" cookie_only)" -ge $((SENT / 2)) ]'
# The probe above holds one of the threshold's half-open SAs.
check "no more than the threshold of flood requests answered in full" eval \
	'[ "$(jfield "$WORK/flood.json" full)" -le $((THRESHOLD - 1)) ]'
check "no answer is anything but a COOKIE alone or a full response" \
	[ "$(jfield "$WORK/flood.json" other)" = 0 ]
check "gw1 was challenged with a cookie (seen on the wire)" eval \
	'[ "$(cookies_to_gw1 "$WORK/gw1.pcap")" -ge 1 ]'

# Still within the half-open timeout of the flood's SAs: cookies needed.
flooder cookie --src 198.18.7.7 --sport 41000 --out "$WORK/cookie.json" \
	>/dev/null
echo "    cookie exchange: $(cat "$WORK/cookie.json" 2>/dev/null)"
check "an echoed cookie gets a real IKE_SA_INIT response" eval \
	'[ "$(jfield "$WORK/cookie.json" first)" = cookie ] &&
	 [ "$(jfield "$WORK/cookie.json" echoed)" = full ]'
check "a wrong cookie is refused (challenged again)" \
	[ "$(jfield "$WORK/cookie.json" wrong)" = cookie ]

check "traffic flows h1 -> h2 through the tunnel" wait_for 25 ping_ok
touch "$WORK/stop"
wait "$SAMPLER_PID"
SAMPLER_PID=''
MAX_HALF=$(sort -n "$WORK/half_open" | tail -n1)
RSS1=$(rss_kib)
LOG1=$(log_lines)
echo "    half-open IKE SAs on gw2: at most ${MAX_HALF:-?} in" \
	"$(wc -l < "$WORK/half_open") samples (threshold $THRESHOLD)"
echo "    gw2 RSS: ${RSS0:-?} KiB before, ${RSS1:-?} KiB after;" \
	"log: $LOG0 lines before, $LOG1 after"
check "gw2 holds at most threshold + $MARGIN half-open IKE SAs" eval \
	'[ -n "$MAX_HALF" ] && [ "$MAX_HALF" -le $((THRESHOLD + MARGIN)) ]'
check "gw2's RSS grows by less than $RSS_MAX_MIB MiB" \
	eval '[ -n "$RSS0" ] && [ -n "$RSS1" ] &&
	      [ $((RSS1 - RSS0)) -lt $((RSS_MAX_MIB * 1024)) ]'
check "gw2's log grows by fewer than $LOG_LINES_MAX lines" \
	[ $((LOG1 - LOG0)) -lt $LOG_LINES_MAX ]
check "both daemons alive after the flood" kill -0 "$GW1_PID" "$GW2_PID"

# The half-open timeout (30 s) frees what the flood left, the last of it
# created by the cookie exchange above.
check "the half-open IKE SAs time out (none left within 45 s)" \
	wait_for 225 half_open_is 0
echo "    none half open $(($(date +%s) - T0)) s after the flood began" \
	"(it ended after $FLOOD_END s)"
# The probe, the flood's first nine and the cookie exchange's: eleven.
NEVER=$(grep -c "never completed" "$WORK/gw2.log")
echo "    $NEVER half-open IKE SAs timed out in all"
check "only the threshold's worth of flood requests ever held an IKE SA" \
	[ "$NEVER" -le $((THRESHOLD + 1)) ]
flooder probe --src 198.18.0.11 --out "$WORK/probe1.json" >/dev/null
check "after the timeout, a request needs no cookie again" \
	[ "$(jfield "$WORK/probe1.json" answer)" = full ]

# Below the threshold, requests gw2 must refuse (3DES only): each one is
# answered, none holds an SA, and the warnings they cause are rate-limited.
LOG2=$(log_lines)
flooder flood --count 1000 --rate 1000 --seconds 5 --linger 1 \
	--proposal refused --out "$WORK/refused.json" >/dev/null
LOG3=$(log_lines)
echo "    refused flood: $(jfield "$WORK/refused.json" sent) requests," \
	"$(jfield "$WORK/refused.json" error) refused with an error notify," \
	"$(jfield "$WORK/refused.json" full) in full," \
	"$(jfield "$WORK/refused.json" cookie_only) with a cookie; log" \
	"$LOG2 -> $LOG3 lines; half open now $(half_open)"
check "a flood of unacceptable proposals is refused, request by request" \
	eval '[ "$(jfield "$WORK/refused.json" error)" -ge 500 ] &&
	      [ "$(jfield "$WORK/refused.json" full)" = 0 ] &&
	      [ "$(jfield "$WORK/refused.json" other)" = 0 ]'
check "... holding no IKE SA (only the probe's is half open)" half_open_is 1
check "... and logged a few times only (rate-limited)" \
	[ $((LOG3 - LOG2)) -lt 50 ]

# A flooder that reads its answers can echo every cookie: that proves its
# addresses, so each of them may hold only a few half-open IKE SAs, and
# the table does not fill up with them.
LOG4=$(log_lines)
flooder flood --count 4000 --rate 2000 --seconds 5 --linger 1 --sources 4 \
	--echo --out "$WORK/echo.json" >/dev/null
LOG5=$(log_lines)
HALF=$(half_open) PER_ADDR=$(half_open_per_addr) RSS2=$(rss_kib)
echo "    echoing flood from 4 addresses: $(jfield "$WORK/echo.json" sent)" \
	"requests, $(jfield "$WORK/echo.json" full) answered in full at" \
	"once, $(jfield "$WORK/echo.json" echoed) cookies echoed," \
	"$(jfield "$WORK/echo.json" echo_full) of them answered in full;" \
	"half open now $HALF, at most $PER_ADDR from one address;" \
	"RSS ${RSS2:-?} KiB; log $LOG4 -> $LOG5 lines"
check "echoed cookies win at most $PER_ADDR_MAX half-open SAs per address" \
	eval '[ "$(jfield "$WORK/echo.json" echoed)" -ge 1000 ] &&
	      [ "$(jfield "$WORK/echo.json" echo_full)" -ge 1 ] &&
	      [ -n "$PER_ADDR" ] && [ "$PER_ADDR" -le $THRESHOLD ] &&
	      [ "$HALF" -le $((THRESHOLD + 4 * PER_ADDR_MAX)) ]'
flooder cookie --src 198.18.8.8 --sport 42000 --out "$WORK/cookie2.json" \
	>/dev/null
check "... and a new peer that echoes its cookie still gets in" \
	[ "$(jfield "$WORK/cookie2.json" echoed)" = full ]
check "through all the floods, gw2's RSS grew by less than $RSS_MAX_MIB MiB" \
	eval '[ -n "$RSS2" ] && [ $((RSS2 - RSS0)) -lt $((RSS_MAX_MIB * 1024)) ]'
check "... and its log by few lines (rate-limited)" [ $((LOG5 - LOG4)) -lt 50 ]
check "the tunnel is still up and carries traffic" eval \
	'site_up && ping_ok'
check "both daemons alive at the end" kill -0 "$GW1_PID" "$GW2_PID"
stop_all
summary
