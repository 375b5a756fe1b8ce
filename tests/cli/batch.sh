#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# "xdpsec batch": good lines are sent after a batch header, one request a
# line, over one connection; a line the daemon refuses is named by its
# number, one that does not parse stops the batch before anything is sent.
# A stand-in daemon (a few lines of Python on a temporary socket) answers
# the requests.  As root, a real xdpsecd in a namespace of its own also
# checks the capacity settings and that a batch whose policies the SPD
# cannot take leaves the SPD as it was.
cd "$(dirname "$0")/../.." || exit 1
. tests/lib.sh
BUILD=${BUILD:-build}
WORK=$(mktemp -d /tmp/xdpsec-batch.XXXXXX)
NS=xbt$$
FAKE_PID=
DAEMON_PID=

cleanup() {
	[ -n "$FAKE_PID" ] && kill "$FAKE_PID" 2>/dev/null
	if [ -n "$DAEMON_PID" ]; then
		kill "$DAEMON_PID" 2>/dev/null
		wait "$DAEMON_PID" 2>/dev/null
	fi
	ip netns del "$NS" 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT

# The stand-in: records what it reads into $WORK/got, refuses requests
# whose name is "bad", answers the batch as a whole at the end.
fake_start() {
	rm -f "$WORK/fake.sock" "$WORK/got"
	python3 - "$WORK/fake.sock" "$WORK/got" <<-'EOF' &
	import json, socket, sys
	s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
	s.bind(sys.argv[1])
	s.listen(1)
	s.settimeout(20)
	c, _ = s.accept()
	f = c.makefile("rb")
	n = failed = 0
	with open(sys.argv[2], "w") as got:
	    for i, line in enumerate(f):
	        got.write(line.decode())
	        if i == 0:
	            continue
	        n += 1
	        req = json.loads(line)
	        if req["args"].get("name") == "bad":
	            failed += 1
	            r = {"ok": False, "error": "no SA named nosuch"}
	        else:
	            r = {"ok": True, "data": {"id": n}}
	        c.sendall((json.dumps(r) + "\n").encode())
	r = {"ok": True, "data": {"requests": n, "failed": failed}}
	c.sendall((json.dumps(r) + "\n").encode())
	c.close()
	EOF
	FAKE_PID=$!
	wait_for 50 test -S "$WORK/fake.sock"
}

fake_stop() {
	kill "$FAKE_PID" 2>/dev/null
	wait "$FAKE_PID" 2>/dev/null
	FAKE_PID=
}

cli() { "$BUILD/xdpsec" -s "$WORK/fake.sock" "$@"; }

cat > "$WORK/good.batch" <<'EOF'
# three requests, a comment and a blank line
sa add o1 dir out spi 0x1001 alg aes-gcm-128

policy add p1 dir out dst 198.18.0.1/32 action protect sa o1  # trailing
sa del o1
EOF
fake_start
out=$(cli batch "$WORK/good.batch" 2>&1); rc=$?
fake_stop
check "good lines: exit 0" [ "$rc" -eq 0 ]
check "... and a summary" [ "$out" = "3 requests, 0 failed" ]
check "... the batch header comes first" \
	[ "$(head -n1 "$WORK/got")" = '{"cmd":"batch"}' ]
check "... then one request a line" [ "$(wc -l < "$WORK/got")" -eq 4 ]
check "... as the commands would send them" grep -q \
	'^{"cmd":"policy.add","args":{"name":"p1","dir":"out","dst":"198.18.0.1/32","action":"protect","sa":"o1"}}$' \
	"$WORK/got"

sed 's/policy add p1/policy add bad/' "$WORK/good.batch" > "$WORK/bad.batch"
fake_start
out=$(cli batch "$WORK/bad.batch" 2>&1); rc=$?
fake_stop
check "a refused line: exit 1" [ "$rc" -eq 1 ]
check "... named by file and line" \
	eval '[[ "$out" == *"$WORK/bad.batch:4: no SA named nosuch"* ]]'
check "... and counted" eval '[[ "$out" == *"1 of 3 requests failed"* ]]'

fake_start
out=$(sed 's/^sa del o1$/sa del/' "$WORK/good.batch" | cli batch - 2>&1)
rc=$?
check "a line that does not parse: exit 2" [ "$rc" -eq 2 ]
check "... named by its number" \
	eval '[[ "$out" == *"<stdin>:5: expected one name or id"* ]]'
check "... and nothing is sent" [ ! -s "$WORK/got" ]
out=$(printf 'sa list\nfrob 1 2\n' | cli batch - 2>&1); rc=$?
check "an unknown command: exit 2" [ "$rc" -eq 2 ]
check "... named by its line" \
	eval '[[ "$out" == *"<stdin>:2: unknown command '"'frob'"'"* ]]'
out=$(printf 'batch x\n' | cli batch - 2>&1); rc=$?
check "no batch within a batch" [ "$rc" -eq 2 ]
out=$(cli batch "$WORK/none.batch" 2>&1); rc=$?
check "a missing file fails" [ "$rc" -eq 1 ]
fake_stop

printf '[daemon]\nmax_sas = 8\n' > "$WORK/cap.conf"
out=$("$BUILD/xdpsecd" -c "$WORK/cap.conf" --check 2>&1); rc=$?
check "max_sas below 16 is refused" [ "$rc" -ne 0 ]
check "... with the file, line and range" \
	eval '[[ "$out" == *cap.conf:2:*"max_sas '"'8'"' is invalid: use 16 to"* ]]'
printf '[daemon]\nmax_sas = 200000\nmax_policies = 100000\n' > "$WORK/cap.conf"
check "max_sas 200000 and max_policies 100000 pass --check" \
	eval '"$BUILD/xdpsecd" -c "$WORK/cap.conf" --check > /dev/null'

if [ "$(id -u)" -ne 0 ] || ! ip netns add "$NS" 2>/dev/null; then
	skip "a real daemon (needs root)"
	summary
	exit
fi

# ---- A real daemon: capacity, line numbers, and an SPD that refuses. ----
ip -n "$NS" link set lo up
ip -n "$NS" link add v0 type veth peer name v1
ip -n "$NS" link set v0 up
ip -n "$NS" link set v1 up
(umask 077; head -c 20 /dev/urandom | od -An -tx1 | tr -d ' \n' \
	> "$WORK/k.key")
cat > "$WORK/d.conf" <<EOF
[daemon]
instance = $NS
interfaces = v0
default = bypass
max_sas = 16
max_policies = 32
EOF
ip netns exec "$NS" "$BUILD/xdpsecd" -c "$WORK/d.conf" > "$WORK/d.log" \
	2>&1 &
DAEMON_PID=$!
if ! wait_for 50 test -S "/run/xdpsec/$NS.sock"; then
	fail "xdpsecd did not start: $(tail -n 3 "$WORK/d.log")"
	summary
	exit
fi
dcli() { "$BUILD/xdpsec" -n "$NS" "$@"; }

# Nine pairs: the seventeenth SA does not fit max_sas = 16.
for i in $(seq 9); do
	echo "sa add o$i dir out spi $((0x1000 + i)) src 198.51.100.1 dst 198.51.100.2 alg aes-gcm-128 key_file $WORK/k.key sel_src 192.0.2.0/24 sel_dst 198.18.0.$i/32"
	echo "sa add i$i dir in spi $((0x2000 + i)) src 198.51.100.2 dst 198.51.100.1 alg aes-gcm-128 key_file $WORK/k.key sel_src 198.18.0.$i/32 sel_dst 192.0.2.0/24"
	echo "policy add p$i dir out src 192.0.2.0/24 dst 198.18.0.$i/32 action protect sa o$i"
done > "$WORK/pairs.batch"
out=$(dcli batch "$WORK/pairs.batch" 2>&1); rc=$?
check "daemon: a full SAD fails the batch" [ "$rc" -eq 1 ]
check "... naming the line and the setting" \
	eval '[[ "$out" == *"pairs.batch:25: the SAD is full (16 SAs): raise max_sas"* ]]'
check "... and the policy of that pair" \
	eval '[[ "$out" == *"pairs.batch:27: no SA named o9"* ]]'
n=$(dcli --json status | python3 -c \
	'import json,sys; d=json.load(sys.stdin); print(d["sas"], d["policies"])')
check "... after the others went in: $n" [ "$n" = "16 8" ]
check "one SA by name" eval \
	'dcli --json sa list o3 | grep -q "\"spi\": \"0x00001003\""'
check_not "an unknown SA by name" eval 'dcli sa list nosuch 2> /dev/null'

# Seventeen policies that all cover 10.9.0.0/16: the SPD refuses the
# batch, and takes them out again.
for i in $(seq 17); do
	echo "policy add w$i dir out src 10.$i.0.0/16 dst 10.9.0.0/16 action bypass"
done > "$WORK/wide.batch"
out=$(dcli batch "$WORK/wide.batch" 2>&1); rc=$?
check "an SPD that cannot take the batch fails it" [ "$rc" -eq 1 ]
check "... saying why" eval \
	'[[ "$out" == *"more than 16 policies cover one destination prefix"*"the 17 added since the last compile were taken out"* ]]'
n=$(dcli --json policy list | python3 -c \
	'import json,sys; print(len(json.load(sys.stdin)))')
check "... and the SPD is as before: $n policies" [ "$n" = 8 ]
check "a single request still works" eval 'dcli policy add w1 dir out \
	src 10.1.0.0/16 dst 10.9.0.0/16 action bypass > /dev/null'
summary
