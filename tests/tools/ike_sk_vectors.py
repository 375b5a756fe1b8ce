#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
"""Expected messages for tests/unit/test_ike_sk.c: IKE_AUTH-shaped messages
with an Encrypted payload, protected by the Python cryptography package
(RFC 7296 section 3.14, RFC 5282 for AES-GCM, RFC 7634 for
ChaCha20-Poly1305), for the C code to open, and to seal identically where
the IV is a counter.  Prints the C arrays the test holds; the inputs here
and there must match."""
import hashlib
import hmac
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305

from c_arrays import c_array

INNER = b"inner payloads of an IKE_AUTH request"
SPI_I, SPI_R = 0x1122334455667788, 0x99aabbccddeeff00


def headers(total, sk_len):
    ike = struct.pack(">QQBBBBII", SPI_I, SPI_R, 46, 0x20, 35, 0x08, 1, total)
    return ike + struct.pack(">BBH", 35, 0, sk_len)


def aead(name, cls, key, salt, plain=INNER + b"\x00"):
    """By default no padding, pad length 0."""
    iv = struct.pack(">Q", 1)
    total = 28 + 4 + 8 + len(plain) + 16
    aad = headers(total, total - 28)
    sealed = cls(key).encrypt(salt + iv, plain, aad)
    c_array(name, aad + iv + sealed)


def cbc(name, key, ikey, digest, icv_len):
    iv = bytes(range(16))
    pad = (16 - (len(INNER) + 1) % 16) % 16
    plain = INNER + bytes(pad) + bytes([pad])
    total = 28 + 4 + 16 + len(plain) + icv_len
    enc = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    body = headers(total, total - 28) + iv + enc.update(plain) + enc.finalize()
    c_array(name, body + hmac.new(ikey, body, digest).digest()[:icv_len])


aead("gcm128_msg", AESGCM, bytes(range(16)), b"\xa0\xa1\xa2\xa3")
aead("gcm256_msg", AESGCM, bytes(range(32)), b"\xa0\xa1\xa2\xa3")
aead("chacha_msg", ChaCha20Poly1305, bytes(range(32)), b"\xa0\xa1\xa2\xa3")
# A pad length of 200 in a payload of 16 bytes, under a valid tag.
aead("gcm128_badpad_msg", AESGCM, bytes(range(16)), b"\xa0\xa1\xa2\xa3",
     bytes(15) + bytes([200]))
cbc("cbc128_sha256_msg", bytes(range(16)), bytes(range(64, 96)),
    hashlib.sha256, 16)
cbc("cbc256_sha512_msg", bytes(range(32)), bytes(range(64, 128)),
    hashlib.sha512, 32)
