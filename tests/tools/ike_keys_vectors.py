#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
"""Expected values for tests/unit/test_ike_keys.c: the IKEv2 key schedule
(RFC 7296 sections 2.13 to 2.18) written again in a few lines of Python on
its hmac module, so that the C code is checked against a second reading of
the RFC.  Prints the C arrays the test holds; the inputs here and there
must match."""
import hashlib
import hmac
import struct

from c_arrays import c_array

HASH = {5: hashlib.sha256, 6: hashlib.sha384, 7: hashlib.sha512}


def prf(p, key, data):
    return hmac.new(key, data, HASH[p]).digest()


def prf_plus(p, key, seed, n):
    out, t, i = b"", b"", 1
    while len(out) < n:
        t = prf(p, key, t + seed + bytes([i]))
        out += t
        i += 1
    return out[:n]


NI = bytes(range(32))
NR = bytes(range(100, 148))
GIR = bytes((7 * i + 3) & 255 for i in range(32))
SPIS = struct.pack(">QQ", 0x0123456789abcdef, 0xfedcba9876543210)
OLD_SK_D = bytes(range(200, 232))
MSG = b"IKE_SA_INIT request bytes" * 3
ID = b"\x02\x00\x00\x00gw1.example"
SK_P = bytes(range(50, 82))

print("/* RFC 4231 case 2: %s */" %
      prf(5, b"Jefe", b"what do ya want for nothing?").hex())
c_array("prf_plus_384", prf_plus(6, b"\x0b" * 20, b"seed", 200))
for p, integ, encr in ((5, 32, 20), (7, 64, 36), (6, 0, 36)):
    plen = HASH[p]().digest_size
    skeyseed = prf(p, NI + NR, GIR)
    c_array("keys_%d_%d_%d" % (p, integ, encr),
            prf_plus(p, skeyseed, NI + NR + SPIS,
                     3 * plen + 2 * integ + 2 * encr))
skeyseed = prf(5, OLD_SK_D, GIR + NI + NR)
c_array("rekey_5", prf_plus(5, skeyseed, NI + NR + SPIS, 3 * 32 + 2 * 32 + 2 * 20))
c_array("child_nopfs", prf_plus(5, OLD_SK_D, NI + NR, 2 * (16 + 4)))
c_array("child_pfs", prf_plus(5, OLD_SK_D, GIR + NI + NR, 2 * (32 + 32)))
pad_key = prf(5, b"swordfish", b"Key Pad for IKEv2")
c_array("psk_auth", prf(5, pad_key, MSG + NR + prf(5, SK_P, ID)))
