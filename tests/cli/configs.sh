#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Every example under configs/ passes "xdpsecd --check" once its key files
# exist, and the daemon refuses key files that others can read.
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
summary
