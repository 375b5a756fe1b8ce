#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Installs the Debian packages xdpsec needs to build, test and run the demo.
# Does nothing when they are all there already; needs root otherwise.
set -e

PACKAGES="make gcc clang llvm libclang-rt-14-dev libc6-dev pkg-config
libbpf-dev libxdp-dev libelf-dev zlib1g-dev bpftool
libssl-dev libmnl-dev libjson-c-dev libinih-dev
iproute2 iputils-ping tcpdump iperf3 socat ethtool procps python3 bc nftables
python3-scapy python3-cryptography python3-matplotlib
strongswan-charon strongswan-swanctl libstrongswan-standard-plugins
libcharon-extra-plugins
wireguard-go wireguard-tools
util-linux coreutils openssl"

# Intel's multi-buffer crypto library, for AES-GCM, exists for amd64 only.
if [ "$(dpkg --print-architecture)" = amd64 ]; then
	PACKAGES="$PACKAGES libipsec-mb-dev"
fi

missing=""
for p in $PACKAGES; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
		grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages:$missing; run as root" >&2
	exit 1
fi
echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
