#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Every example under configs/ passes "xdpsecd --check" once its key files
# exist, and the daemon refuses key files that others can read.  [conn]
# sections are counted, and refused with the file, line and reason.
cd "$(dirname "$0")/../.." || exit 1
. tests/lib.sh
BUILD=${BUILD:-build}
WORK=$(mktemp -d /tmp/xdpsec-configs.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

cp -r configs/. "$WORK/"
for conf in $(cd "$WORK" && find . -name '*.conf' | sort); do
	dir=$(dirname "$WORK/$conf")
	mkdir -p "$dir/keys"
	for key in $(sed -n 's/^key_file = keys\/\(.*\)$/\1/p' "$WORK/$conf"); do
		bytes=20
		grep -q "aes-gcm-256" "$WORK/$conf" && bytes=36
		(umask 077; head -c $bytes /dev/urandom | od -An -tx1 |
			tr -d ' \n' > "$dir/keys/$key")
	done
	check "configs/${conf#./} passes --check" \
		"$BUILD/xdpsecd" -c "$WORK/$conf" --check
done

key=$(ls "$WORK"/site-to-site/keys/*.key | head -n1)
chmod 0644 "$key"
out=$("$BUILD/xdpsecd" -c "$WORK/site-to-site/gw-a.conf" --check 2>&1)
check_not "a key file readable by others is refused" \
	"$BUILD/xdpsecd" -c "$WORK/site-to-site/gw-a.conf" --check
check "... with the file, line and reason in the message" \
	eval '[[ "$out" == *gw-a.conf:*:*"readable by group or others"* ]]'

# [conn] sections: good ones are counted, bad ones name the file and line.
CONN=$WORK/conn
mkdir -p "$CONN"
(umask 077; echo "correct horse battery staple" > "$CONN/site.psk")
cat > "$CONN/good.conf" <<'EOF'
[conn site]
local = 198.51.100.1
remote = 198.51.100.2
auth = psk
psk_file = site.psk
local_ts = 192.0.2.0/24
remote_ts = 203.0.113.0/24
start = initiate

[conn road]
local = 198.51.100.1
remote = any
auth = psk
psk_file = site.psk
local_ts = 192.0.2.0/24
remote_ts = 0.0.0.0/0
EOF
out=$("$BUILD/xdpsecd" -c "$CONN/good.conf" --check 2>&1)
check "a file with two [conn] passes --check" \
	"$BUILD/xdpsecd" -c "$CONN/good.conf" --check
check "... and counts them" \
	eval '[[ "$out" == *"OK, 0 SAs, 0 policies, 2 connections"* ]]'

# refused NAME WANT: conn/NAME.conf fails --check, and the message has WANT.
refused() {
	local conf=$CONN/$1.conf want=$2 out

	out=$("$BUILD/xdpsecd" -c "$conf" --check 2>&1)
	check_not "conn/$1.conf fails --check" \
		"$BUILD/xdpsecd" -c "$conf" --check 2>/dev/null
	check "... with '$want'" eval '[[ "$out" == *"$want"* ]]'
}

sed 's/^auth = psk$/auth = pubkey/' "$CONN/good.conf" > "$CONN/pubkey.conf"
refused pubkey "[conn site] is missing required key(s): cert, key, ca"

# Certificates: a CA, a certificate it signs, and the key, private.
(cd "$CONN" && umask 077 &&
 openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-days 30 -keyout ca.key -out ca.pem -subj "/CN=test CA" &&
 openssl req -newkey ed25519 -nodes -keyout gw.key -out gw.csr \
	-subj "/CN=gw1.example.net" &&
 openssl x509 -req -in gw.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
	-days 30 -out gw.pem) >/dev/null 2>&1
sed -e 's/^auth = psk$/auth = pubkey/' \
	-e 's/^psk_file = site.psk$/cert = gw.pem\nkey = gw.key\nca = ca.pem/' \
	"$CONN/good.conf" > "$CONN/certs.conf"
check "a [conn] with a certificate passes --check" \
	"$BUILD/xdpsecd" -c "$CONN/certs.conf" --check
sed 's/^ca = ca.pem$/ca = gw.key/' "$CONN/certs.conf" > "$CONN/noca.conf"
refused noca "[conn site]: ca $CONN/gw.key holds no PEM certificate"
chmod 644 "$CONN/gw.key"
cp "$CONN/certs.conf" "$CONN/certkey.conf"
refused certkey "[conn site]: key $CONN/gw.key is readable by group or others (mode 0644): chmod 600 it"
sed '3a ike = aes-gcm-256/prf-sha256/modp1024' "$CONN/good.conf" \
	> "$CONN/modp.conf"
refused modp "modp.conf:4: ike proposal 1 (aes-gcm-256/prf-sha256/modp1024): modp1024 is refused (RFC 8247"
sed -e '/^start/d' -e 's/^\[conn road\]/[conn site]/' "$CONN/good.conf" \
	> "$CONN/twice.conf"
refused twice "twice.conf:9: duplicate [conn site] (the first is on line 1)"
sed '/^remote_ts = 0/d' "$CONN/good.conf" > "$CONN/missing.conf"
refused missing "missing.conf:10: [conn road] is missing required key(s): remote_ts"
(umask 077; echo "short" > "$CONN/short.psk")
sed 's/^psk_file = site.psk$/psk_file = short.psk/' "$CONN/good.conf" \
	> "$CONN/short.conf"
refused short "short.conf:5: psk_file short.psk holds 5 bytes; at least 16"
summary
