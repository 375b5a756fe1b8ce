# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
# Certificates for the IKE scenarios, made by openssl in $PKI (which the
# caller sets, often to its WORK directory): an ECDSA P-256 CA, and
# certificates it signs with the subject C=CH, O=xdpsec test, CN=SAN and
# SAN as DNS name.  Keys are PKCS#8, readable by their owner only.

# A CA in $PKI/NAME.pem and NAME.key.
pki_ca() {	# NAME
	(umask 077; openssl req -x509 -newkey ec \
		-pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
		-keyout "$PKI/$1.key" -out "$PKI/$1.pem" \
		-subj "/C=CH/O=xdpsec test/CN=$1" 2>/dev/null)
}

# A certificate NAME.pem and its key NAME.key; KIND is rsa, rsa4096, ecdsa
# or ed25519.
pki_cert() {	# NAME KIND CA SAN
	local new
	case $2 in
	rsa) new="-newkey rsa:2048" ;;
	rsa4096) new="-newkey rsa:4096" ;;
	ecdsa) new="-newkey ec -pkeyopt ec_paramgen_curve:P-256" ;;
	ed25519) new="-newkey ed25519" ;;
	esac
	# shellcheck disable=SC2086
	(umask 077; openssl req $new -nodes -keyout "$PKI/$1.key" \
		-out "$PKI/$1.csr" -subj "/C=CH/O=xdpsec test/CN=$4" \
		2>/dev/null &&
	 printf 'subjectAltName=DNS:%s\n' "$4" > "$PKI/$1.ext" &&
	 openssl x509 -req -in "$PKI/$1.csr" -CA "$PKI/$3.pem" \
		-CAkey "$PKI/$3.key" -CAcreateserial -days 30 \
		-extfile "$PKI/$1.ext" -out "$PKI/$1.pem" 2>/dev/null)
}
