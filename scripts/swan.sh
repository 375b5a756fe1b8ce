# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
# strongSwan's charon as an IPsec gateway in a namespace of scripts/topo.sh.
# The kernel here has no ESP, so charon does ESP itself (kernel-libipsec)
# and trades plaintext with the kernel through a TUN device, ipsec0.
#
# Each instance keeps everything in one directory DIR: strongswan.conf,
# swanctl/ (its SWANCTL_DIR), charon.log, charon.out (what charon and
# swanctl print), the control socket charon.vici, and run/, which charon
# sees as /run: its pid file has a fixed name there, and two instances
# must not share it.  Source scripts/topo.sh first.

SWAN_CHARON=/usr/lib/ipsec/charon
SWAN_PID=''	# the charon swan_start started last
# kernel-libipsec must come before kernel-netlink: the first to register
# an IPsec backend wins, and kernel-netlink is still needed for the routes
# (table 220).  X25519 and ChaCha20-Poly1305 come from openssl.
SWAN_PLUGINS="random nonce openssl aes sha1 sha2 hmac gcm kdf pem pkcs1"
SWAN_PLUGINS+=" x509 pubkey kernel-libipsec kernel-netlink socket-default"
SWAN_PLUGINS+=" vici"

# swanctl for the instance in DIR; gives up after 30 s.
swan_ctl() {	# DIR ARGS...
	STRONGSWAN_CONF=$1/strongswan.conf SWANCTL_DIR=$1/swanctl \
		timeout 30 swanctl "${@:2}"
}

# Writes DIR/strongswan.conf and makes DIR's folders.
swan_base_conf() {	# DIR
	local dir=$1
	mkdir -p "$dir/run" "$dir/swanctl" || return 1
	cat > "$dir/strongswan.conf" <<-CONF
	charon {
		load_modular = no
		load = $SWAN_PLUGINS
		install_virtual_ip = no
		filelog {
			swan {
				path = $dir/charon.log
				time_format = %T
				ike_name = yes
				append = yes
				flush_line = yes
				default = 1
				ike = 2
				cfg = 2
				net = 1
				enc = 1
			}
		}
		syslog {
			daemon {
				default = -1
			}
		}
		plugins {
			vici {
				socket = unix://$dir/charon.vici
			}
		}
	}
	swanctl {
		socket = unix://$dir/charon.vici
	}
	CONF
}

# Starts charon in namespace GW with DIR's configuration and DIR/run as
# /run; sets SWAN_PID at once (every exec keeps the PID, so it is charon's
# own), and returns 0 once charon answers on its control socket, 1 if it
# dies or has not answered within 10 s.
swan_start() {	# GW DIR
	local dir=$2 tries=100
	rm -f "$dir/charon.vici" "$dir/run/charon.pid"
	STRONGSWAN_CONF=$dir/strongswan.conf \
		ip netns exec "$(ns "$1")" unshare -m sh -c \
		"mount --bind '$dir/run' /run && exec $SWAN_CHARON" \
		>>"$dir/charon.out" 2>&1 &
	SWAN_PID=$!
	while [ $tries -gt 0 ]; do
		[ -S "$dir/charon.vici" ] &&
			swan_ctl "$dir" --stats >/dev/null 2>&1 && return 0
		kill -0 "$SWAN_PID" 2>/dev/null || return 1
		tries=$((tries - 1))
		sleep 0.1
	done
	return 1
}

# The ends of both logs, for a caller that failed.
swan_logs() {	# DIR
	tail -n 20 "$1/charon.out" "$1/charon.log" 2>/dev/null
}

# Writes DIR/swanctl/swanctl.conf for gateway GW (gw1 or gw2) of the
# topology: connection "site" to the other gateway over the WAN with IKE
# proposal IKE and pre-shared key PSK, and one tunnel CHILD_SA "lan"
# between the two IPv4 LANs with ESP proposal ESP.  Neither side starts
# it by itself: swan_ctl DIR --initiate --child lan.
swan_site_conf() {	# DIR GW IKE ESP PSK
	local me=198.51.100.1 peer=198.51.100.2 lts=192.0.2.0/24
	local rts=203.0.113.0/24 id=gw1.example.net peer_id=gw2.example.net
	if [ "$2" = gw2 ]; then
		me=198.51.100.2 peer=198.51.100.1 lts=203.0.113.0/24
		rts=192.0.2.0/24 id=gw2.example.net peer_id=gw1.example.net
	fi
	(umask 077; cat > "$1/swanctl/swanctl.conf") <<-CONF
	connections {
		site {
			version = 2
			local_addrs = $me
			remote_addrs = $peer
			proposals = $3
			local {
				auth = psk
				id = $id
			}
			remote {
				auth = psk
				id = $peer_id
			}
			children {
				lan {
					local_ts = $lts
					remote_ts = $rts
					esp_proposals = $4
					start_action = none
					close_action = none
				}
			}
		}
	}
	secrets {
		ike-site {
			id-1 = gw1.example.net
			id-2 = gw2.example.net
			secret = "$5"
		}
	}
	CONF
}

# FIELD of the installed CHILD_SA named CHILD, in the words of swanctl
# --list-sas --raw (bytes-in, bytes-out, encr-alg, ...); nothing if there
# is no such CHILD_SA.
swan_child_field() {	# DIR CHILD FIELD
	swan_ctl "$1" --list-sas --raw 2>/dev/null | python3 -c '
import re, sys
for m in re.finditer(r"\{name=(\S+) ([^{}]*)\}", sys.stdin.read()):
	kv = dict(f.split("=", 1) for f in m.group(2).split() if "=" in f)
	if m.group(1) == sys.argv[1] and kv.get("state") == "INSTALLED":
		print(kv.get(sys.argv[2], ""))
		break' "$2" "$3"
}
