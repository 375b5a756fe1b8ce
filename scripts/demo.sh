#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The demo: two xdpsec gateways in network namespaces carrying traffic
# between two hosts over an ESP tunnel (AES-GCM-256, static keys).
#
#   h1 --- gw1 ===== sw ===== gw2 --- h2
#
# Shows pings (IPv4 and IPv6 inside), a short iperf3 run, the ESP on the
# wire, the CLI's view and the maps as bpftool prints them.  Everything is
# removed at the end; DEMO_KEEP=1 leaves it running for a closer look.
set -u
cd "$(dirname "$0")/.." || exit 1
export TOPO=xdemo
. scripts/topo.sh

WORK=$(mktemp -d /tmp/xdpsec-demo.XXXXXX)
PIDS=()

cleanup() {
	[ "${DEMO_KEEP:-0}" = 1 ] && {
		echo "left running: namespaces $TOPO-*, daemons ${PIDS[*]}"
		return; }
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	topo_down
	rm -rf "$WORK"
}
trap cleanup EXIT

step() { printf '\n==> %s\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

if [ "$(id -u)" -ne 0 ]; then
	echo "the demo builds network namespaces: run it as root" >&2
	exit 1
fi

step "Building the topology (namespaces $TOPO-h1, -gw1, -sw, -gw2, -h2)"
topo_up
topo_tunnel_configs "$WORK" aes-gcm-256 4
echo "configuration of gw1 ($WORK/gw1.conf):"
sed 's/^/    /' "$WORK/gw1.conf" | head -30
echo "    ..."

step "Starting xdpsecd on gw1 and gw2"
for gw in gw1 gw2; do
	if ! xdpsecd_start $gw "$WORK/$gw.conf" "$WORK/$gw.log"; then
		cat "$WORK/$gw.log"; exit 1
	fi
	PIDS+=("$XDPSECD_PID")
	sed 's/^/    /' "$WORK/$gw.log"
done

step "The CLI's view of gw1"
run build/xdpsec -n $TOPO-gw1 status
run build/xdpsec -n $TOPO-gw1 policy list
run build/xdpsec -n $TOPO-gw1 sa list

step "Ping h1 -> h2 through the tunnel, IPv4 and IPv6 inside"
wait_ping() { for _ in $(seq 20); do nsx h1 ping -c1 -W1 "$1" >/dev/null && return; done; }
wait_ping 203.0.113.10; wait_ping 2001:db8:2::10
run nsx h1 ping -c3 203.0.113.10
run nsx h1 ping -c3 2001:db8:2::10

step "What crosses the wire between the gateways (captured on the bridge)"
ip netns exec "$(ns sw)" timeout 5 tcpdump -nn -i p1 -c 6 esp 2>/dev/null &
TCPDUMP=$!
sleep 0.5
nsx h1 ping -c3 -i0.2 203.0.113.10 >/dev/null
wait $TCPDUMP

step "TCP through the tunnel: iperf3 for 5 seconds, h1 -> h2"
ip netns exec "$(ns h2)" iperf3 -s -1 >/dev/null 2>&1 &
PIDS+=($!)
sleep 0.5
run nsx h1 timeout 30 iperf3 -c 203.0.113.10 -t 5 -f m | tail -4

step "Counters (XDP and workers), and per-SA counters"
run build/xdpsec -n $TOPO-gw1 stats
run build/xdpsec -n $TOPO-gw2 sa list

step "What the fast path sees: the SAD entry of SA 1, with bpftool"
echo "(maps are pinned in the daemon's mount namespace under /sys/fs/bpf/xdpsec/$TOPO-gw1)"
run nsenter -t "${PIDS[0]}" -m bpftool map lookup \
	pinned "/sys/fs/bpf/xdpsec/$TOPO-gw1/sad" key 1 0 0 0
run nsenter -t "${PIDS[0]}" -m bpftool map dump \
	pinned "/sys/fs/bpf/xdpsec/$TOPO-gw1/spd4"

step "Done; cleaning up"
