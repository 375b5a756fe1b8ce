#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""An independent ESP/AH peer: Scapy's IPsec, plus a small ESP of its own
for what Scapy cannot do.

  esp_peer.py check PCAP SA...   verify (and decrypt) every packet of the SA
                                 in a capture; each must carry MARKER in a
                                 UDP datagram, the first must have sequence
                                 number FIRST and the others must follow it
                                 one by one
  esp_peer.py send SA...         send one UDP datagram carrying MARKER for
                                 each sequence number of SEQS (1..COUNT
                                 unless given)
  esp_peer.py selftest           the own ESP against Scapy's, where Scapy's
                                 is right (no network)

SA options: --proto esp|ah --mode tunnel|transport --spi N --alg NAME
            --integ NAME --key FILE --src A --dst B [--esn] [--encap]
            --marker TEXT [--port P] [--count N] [--first N]
            [--seqs N,N,...] [--omit-esn-high]
Names are xdpsec's (aes-gcm-128, hmac-sha256-128...); keys are read from
xdpsec key files (cipher key, salt, integrity key, in that order).
Sequence numbers are the full 64-bit ones; with ESN only their low half is
on the wire, and "check" infers the high half from FIRST onwards.

Who computes the ICV:
  Scapy   AES-GCM and ChaCha20-Poly1305 (with ESN its AAD is SPI | seq high
          | seq low, as RFC 4106 section 5 and RFC 7634 section 2.1 have
          it), AES-CBC and NULL with HMAC without ESN, and AH (with ESN it
          appends the high half after the packet, as RFC 4302 section
          3.3.3.2.2 has it).
  OwnEsp  AES-GMAC (RFC 4543), which Scapy does not have, and ESP with
          HMAC and ESN, whose ICV Scapy computes without the high half
          (RFC 4303 section 3.3.2.1 appends it after the ESP trailer).
          Written here on top of the cryptography package and hmac.

--omit-esn-high is a negative control: every ICV of an ESN SA is computed
without the high half of the sequence number.  "check" then succeeds only
if every packet fails its integrity check; "send" sends packets that a
correct receiver must reject.
"""
import argparse
import hashlib
import hmac
import os
import struct
import sys

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.exceptions import InvalidTag
from scapy.all import IP, IPv6, UDP, Raw, rdpcap, send
from scapy.layers.ipsec import AH, ESP, IPSecIntegrityError, \
    SecurityAssociation

# xdpsec name -> (Scapy name, cipher key bytes incl. salt)
CRYPT = {
    "aes-gcm-128": ("AES-GCM", 20),
    "aes-gcm-256": ("AES-GCM", 36),
    "chacha20-poly1305": ("CHACHA20-POLY1305", 36),
    "aes-cbc-128": ("AES-CBC", 16),
    "aes-cbc-256": ("AES-CBC", 32),
    "null": ("NULL", 0),
}
INTEG = {
    "hmac-sha256-128": ("SHA2-256-128", 32),
    "hmac-sha384-192": ("SHA2-384-192", 48),
    "hmac-sha512-256": ("SHA2-512-256", 64),
}
# Only the own ESP has these.
GMAC = {"aes-gmac-128": 16, "aes-gmac-256": 32}    # AES key bytes
HMAC_HASH = {                                     # RFC 4868: hash, ICV bytes
    "hmac-sha256-128": (hashlib.sha256, 16),
    "hmac-sha384-192": (hashlib.sha384, 24),
    "hmac-sha512-256": (hashlib.sha512, 32),
}
SALT_LEN = 4
GMAC_IV_LEN = 8
GMAC_ICV_LEN = 16
CBC_BLOCK = 16
ESP_ALIGN = 4
NATT_PORT = 4500
IPPROTO_IPIP, IPPROTO_UDP, IPPROTO_IPV6, IPPROTO_ESP = 4, 17, 41, 50
SEQ_MAX = (1 << 64) - 1


def ip_of(addr):
    return IPv6 if ":" in addr else IP


def read_key(path):
    with open(path) as f:
        return bytes.fromhex(f.read().strip())


def uses_own_esp(a):
    """Scapy is used wherever it gets the ICV right; see the docstring."""
    if a.proto != "esp":
        return False
    return a.alg in GMAC or (a.integ is not None and a.esn)


class OwnEsp:
    """ESP (RFC 4303) for AES-GMAC and for CBC/NULL with HMAC.

    The layout of a packet, from the SPI on (after the IP header, and the
    UDP header with encapsulation, RFC 3948):

      SPI | seq low | IV | payload | padding | pad length | next header |
      ICV

    GMAC (RFC 4543): nothing is encrypted; the nonce is salt | IV (3.1),
    the IV the 64-bit sequence number (any unique value would do), and the
    AAD is everything from the SPI to next header, IV included, with the
    high half of the sequence number between SPI and low half for ESN
    (3.3, figures 5 and 6).  GMAC is GCM with empty plaintext.

    HMAC (RFC 4303 3.3.2.1, RFC 4868): the ICV is the HMAC of SPI to next
    header (after encryption), followed for ESN by the high half, which is
    never sent, truncated to the ICV length.
    """

    def __init__(self, a, key):
        self.spi = a.spi
        self.esn = a.esn
        self.omit_hi = a.omit_esn_high
        self.mode = a.mode
        self.encap = a.encap
        self.gmac = self.cbc_key = None
        if a.alg in GMAC:
            n = GMAC[a.alg]
            if a.integ or len(key) != n + SALT_LEN:
                raise ValueError(f"{a.alg}: {n + SALT_LEN} key bytes, "
                                 "no integ")
            self.gmac = AESGCM(key[:n])
            self.salt = key[n:]
            self.iv_len, self.icv_len = GMAC_IV_LEN, GMAC_ICV_LEN
            self.align = ESP_ALIGN
            return
        if a.alg not in ("aes-cbc-128", "aes-cbc-256", "null") or \
                a.integ not in HMAC_HASH:
            raise ValueError(f"no own ESP for {a.alg} + {a.integ}")
        clen = CRYPT[a.alg][1]
        ilen = INTEG[a.integ][1]
        if len(key) != clen + ilen:
            raise ValueError(f"{a.alg} + {a.integ}: {clen + ilen} key bytes")
        self.cbc_key = key[:clen] or None
        self.mac_key = key[clen:]
        self.hash, self.icv_len = HMAC_HASH[a.integ]
        self.iv_len = CBC_BLOCK if self.cbc_key else 0
        self.align = CBC_BLOCK if self.cbc_key else ESP_ALIGN

    def seq_hi(self, seq):
        """What the ICV gets of the high half: 4 bytes with ESN, or none."""
        if not self.esn or self.omit_hi:
            return b""
        return struct.pack("!I", seq >> 32)

    def gmac_aad(self, esp_wo_icv, seq):
        return esp_wo_icv[:4] + self.seq_hi(seq) + esp_wo_icv[4:]

    def hmac_icv(self, esp_wo_icv, seq):
        mac = hmac.new(self.mac_key, esp_wo_icv + self.seq_hi(seq),
                       self.hash).digest()
        return mac[:self.icv_len]

    def cbc(self, iv, data, encrypt):
        c = Cipher(algorithms.AES(self.cbc_key), modes.CBC(iv))
        op = c.encryptor() if encrypt else c.decryptor()
        return op.update(data) + op.finalize()

    def seal(self, seq, payload, next_hdr):
        """The ESP packet, SPI to ICV, carrying payload."""
        pad_len = -(len(payload) + 2) % self.align
        plain = payload + bytes(range(1, pad_len + 1)) + \
            bytes([pad_len, next_hdr])
        hdr = struct.pack("!II", self.spi, seq & 0xFFFFFFFF)
        if self.gmac:
            iv = struct.pack("!Q", seq)
            body = hdr + iv + plain
            tag = self.gmac.encrypt(self.salt + iv, b"",
                                    self.gmac_aad(body, seq))
            return body + tag
        if self.cbc_key:
            iv = os.urandom(CBC_BLOCK)
            body = hdr + iv + self.cbc(iv, plain, True)
        else:
            body = hdr + plain
        return body + self.hmac_icv(body, seq)

    def open(self, seq, esp):
        """(next header, payload) of an ESP packet, SPI to ICV; raises
        IPSecIntegrityError if the ICV does not verify."""
        if len(esp) < 8 + self.iv_len + 2 + self.icv_len:
            raise ValueError(f"ESP packet of {len(esp)} bytes is too short")
        spi, seq_lo = struct.unpack("!II", esp[:8])
        if spi != self.spi or seq_lo != seq & 0xFFFFFFFF:
            raise ValueError(f"SPI {spi:#x} seq {seq_lo:#x}: not {seq:#x}")
        body, icv = esp[:-self.icv_len], esp[-self.icv_len:]
        iv = body[8:8 + self.iv_len]
        data = body[8 + self.iv_len:]
        if len(data) % self.align:
            raise ValueError(f"{len(data)} bytes of data: not a multiple of "
                             f"{self.align} (RFC 4303 2.4)")
        if self.gmac:
            try:
                self.gmac.decrypt(self.salt + iv, icv,
                                  self.gmac_aad(body, seq))
            except InvalidTag:
                raise IPSecIntegrityError(f"GMAC of seq {seq:#x}") from None
            plain = data
        else:
            want = self.hmac_icv(body, seq)
            if not hmac.compare_digest(want, icv):
                raise IPSecIntegrityError(
                    f"HMAC of seq {seq:#x}: {icv.hex()}, not {want.hex()}")
            plain = self.cbc(iv, data, False) if self.cbc_key else data
        pad_len, next_hdr = plain[-2], plain[-1]
        if pad_len > len(plain) - 2:
            raise ValueError(f"pad length {pad_len} is too long")
        pad = plain[len(plain) - 2 - pad_len:-2]
        if pad != bytes(range(1, pad_len + 1)):
            raise ValueError(f"padding {pad.hex()} is not 1, 2, 3... "
                             "(RFC 4303 2.4)")
        return next_hdr, plain[:len(plain) - 2 - pad_len]

    # Whole IP packets.

    def protect(self, inner, seq, src, dst):
        """inner is an IP(v6) packet; returns the packet to send."""
        if self.mode == "tunnel":
            payload = bytes(inner)
            nh = IPPROTO_IPIP if inner.version == 4 else IPPROTO_IPV6
        else:
            inner = inner.__class__(bytes(inner))   # checksums filled in
            payload = bytes(inner.payload)
            nh = inner.proto if inner.version == 4 else inner.nh
            src, dst = inner.src, inner.dst
        esp = self.seal(seq, payload, nh)
        outer = ip_of(src)(src=src, dst=dst)
        if self.encap:
            # RFC 3948 2.1: a zero checksum
            return outer / UDP(sport=NATT_PORT, dport=NATT_PORT,
                               chksum=0) / Raw(esp)
        if outer.version == 4:
            outer.proto = IPPROTO_ESP
        else:
            outer.nh = IPPROTO_ESP
        return outer / Raw(esp)

    def unprotect(self, outer, seq):
        """The packet carried by ESP packet outer, as Scapy would give it:
        the inner packet (tunnel), or the IP header with what ESP held."""
        raw = bytes(outer)
        if outer.version == 4:
            start, end = (raw[0] & 0x0F) * 4, outer.len
        else:
            start, end = 40, 40 + outer.plen    # no extension headers here
        if self.encap:
            start += 8
        nh, payload = self.open(seq, raw[start:end])
        if self.mode == "tunnel":
            if nh == IPPROTO_IPIP:
                return IP(payload)
            if nh == IPPROTO_IPV6:
                return IPv6(payload)
            raise ValueError(f"tunnel mode, next header {nh}")
        hdr = ip_of(outer.src)(src=outer.src, dst=outer.dst)
        l4 = UDP(payload) if nh == IPPROTO_UDP else Raw(payload)
        return hdr / l4


def scapy_sa(a, key):
    kw = {"spi": a.spi, "esn_en": a.esn and not a.omit_esn_high, "esn": 0}
    off = 0
    if a.proto == "esp":
        name, clen = CRYPT[a.alg]
        kw["crypt_algo"] = name
        kw["crypt_key"] = key[:clen] if clen else None
        off = clen
    if a.integ:
        name, ilen = INTEG[a.integ]
        kw["auth_algo"] = name
        kw["auth_key"] = key[off:off + ilen]
    if a.mode == "tunnel":
        kw["tunnel_header"] = ip_of(a.src)(src=a.src, dst=a.dst)
    if a.encap:
        kw["nat_t_header"] = UDP(sport=NATT_PORT, dport=NATT_PORT)
    return SecurityAssociation(ESP if a.proto == "esp" else AH, **kw)


class Peer:
    """One SA, through Scapy or through OwnEsp; seq is the full 64 bits."""

    def __init__(self, a):
        key = read_key(a.key)
        self.a = a
        self.own = OwnEsp(a, key) if uses_own_esp(a) else None
        self.sa = None if self.own else scapy_sa(a, key)
        self.name = "own ESP" if self.own else "Scapy"

    def protect(self, inner, seq):
        if self.own:
            return self.own.protect(inner, seq, self.a.src, self.a.dst)
        # Through the SA's counter: Scapy takes a seq_num argument of 0
        # (the low half of 2^32) for "none given".
        self.sa.seq_num = seq & 0xFFFFFFFF
        pkt = self.sa.encrypt(inner, esn=seq >> 32)
        if self.a.encap:
            # Scapy 2.5 freezes the UDP length before ESP is appended
            # (it says 8); recompute it, or the datagram looks empty.
            del pkt[UDP].len
            pkt = pkt.__class__(bytes(pkt))
        return pkt

    def unprotect(self, outer, seq):
        if self.own:
            return self.own.unprotect(outer, seq)
        # Scapy leaves what AH carried undissected: dissect it again.
        got = bytes(self.sa.decrypt(outer, esn=seq >> 32))
        return (IP if got[0] >> 4 == 4 else IPv6)(got)


def spi_of(pkt):
    for layer in (ESP, AH):
        if layer in pkt:
            return pkt[layer].spi, pkt[layer].seq
    return None, None


def has_marker(inner, marker):
    return UDP in inner and Raw in inner[UDP] and \
        marker.encode() in bytes(inner[UDP][Raw].load)


def check(a):
    peer = Peer(a)
    ok = bad = rejected = 0
    seqs = []
    for pkt in rdpcap(a.pcap):
        if IP not in pkt and IPv6 not in pkt:
            continue
        spi, seq_lo = spi_of(pkt)
        if spi != a.spi:
            continue
        # The full sequence number: its high half comes from FIRST and
        # goes up by one each time the low half wraps.
        prev = seqs[-1] if seqs else a.first - 1
        seq = (prev & ~0xFFFFFFFF) | seq_lo
        if a.esn and seq <= prev:
            seq += 1 << 32
        seqs.append(seq)
        outer = pkt[IP] if IP in pkt else pkt[IPv6]
        try:
            inner = peer.unprotect(outer, seq)
        except IPSecIntegrityError as e:
            print(f"seq {seq:#x}: integrity check failed: {e}")
            rejected += 1
            continue
        except Exception as e:  # noqa: BLE001 - any failure is a bad packet
            print(f"seq {seq:#x}: {e!r}")
            bad += 1
            continue
        if has_marker(inner, a.marker):
            ok += 1
        else:
            print(f"seq {seq:#x}: no marker in {inner.summary()}")
            bad += 1
    first = f"{seqs[0]:#x}" if seqs else None
    last = f"{seqs[-1]:#x}" if seqs else None
    consecutive = seqs == list(range(a.first, a.first + len(seqs)))
    print(f"{peer.name}: {ok} packets verified, {rejected} failed the "
          f"integrity check, {bad} bad; sequence numbers {first}..{last}"
          f"{'' if consecutive else ', not consecutive from FIRST'}")
    if a.omit_esn_high:
        # The negative control: nothing may verify without the high half.
        return 0 if seqs and rejected == len(seqs) else 1
    return 0 if ok > 0 and bad == rejected == 0 and consecutive else 1


def send_seqs(a):
    if a.seqs:
        seqs = [int(s, 0) for s in a.seqs.split(",")]
    else:
        seqs = list(range(1, a.count + 1))
    for s in seqs:
        if not 0 < s <= (SEQ_MAX if a.esn else 0xFFFFFFFF):
            raise SystemExit(f"sequence number {s:#x} out of range")
    return seqs


def send_all(a):
    peer = Peer(a)
    seqs = send_seqs(a)
    for seq in seqs:
        inner = ip_of(a.src)(src=a.src, dst=a.dst) / \
            UDP(sport=40000, dport=a.port) / Raw(a.marker.encode())
        send(peer.protect(inner, seq), verbose=False)
    print(f"{peer.name}: {len(seqs)} packets sent, sequence numbers "
          f"{seqs[0]:#x}..{seqs[-1]:#x}")
    return 0


def selftest(_):
    """The own ESP and Scapy's must agree byte for byte where Scapy is
    right (HMAC without ESN), and the own ESP must round-trip through
    itself everywhere, including ESN past 2^32."""
    failed = 0
    src, dst = "198.51.100.2", "198.51.100.1"
    cases = [(alg, integ, mode, encap)
             for alg, integ in (("aes-cbc-128", "hmac-sha256-128"),
                                ("aes-cbc-256", "hmac-sha384-192"),
                                ("null", "hmac-sha512-256"))
             for mode in ("tunnel", "transport") for encap in (False, True)]
    for alg, integ, mode, encap in cases:
        a = argparse.Namespace(proto="esp", mode=mode, spi=0x7001, alg=alg,
                               integ=integ, src=src, dst=dst, esn=False,
                               encap=encap, omit_esn_high=False)
        key = os.urandom(CRYPT[alg][1] + INTEG[integ][1])
        own, sa = OwnEsp(a, key), scapy_sa(a, key)
        inner = IP(src=src, dst=dst) / UDP(sport=40000, dport=7777) / \
            Raw(b"selftest")
        tag = f"{alg} {integ} {mode} encap={encap}"
        # Own -> Scapy, and Scapy -> own.
        pkt = own.protect(inner, 7, src, dst)
        pkt = pkt.__class__(bytes(pkt))
        try:
            got = sa.decrypt(pkt)
            if not has_marker(got, "selftest"):
                raise ValueError("no payload")
        except Exception as e:  # noqa: BLE001
            print(f"FAIL {tag}: Scapy cannot open the own ESP: {e!r}")
            failed += 1
        pkt = sa.encrypt(inner, seq_num=7)
        if encap:
            del pkt[UDP].len
        pkt = pkt.__class__(bytes(pkt))
        try:
            got = own.unprotect(pkt, 7)
            if not has_marker(got, "selftest"):
                raise ValueError("no payload")
        except Exception as e:  # noqa: BLE001
            print(f"FAIL {tag}: the own ESP cannot open Scapy's: {e!r}")
            failed += 1
    # ESN: round trip past 2^32, and the high half must matter.
    for alg, integ, n in (("aes-gmac-128", None, 20),
                          ("aes-gmac-256", None, 36),
                          ("aes-cbc-128", "hmac-sha256-128", 48),
                          ("null", "hmac-sha512-256", 64)):
        a = argparse.Namespace(proto="esp", mode="tunnel", spi=0x7002,
                               alg=alg, integ=integ, src=src, dst=dst,
                               esn=True, encap=False, omit_esn_high=False)
        key = os.urandom(n)
        own = OwnEsp(a, key)
        inner = IP(src=src, dst=dst) / UDP(sport=40000, dport=7777) / \
            Raw(b"selftest")
        seq = (1 << 32) | 5
        pkt = own.protect(inner, seq, src, dst)
        pkt = pkt.__class__(bytes(pkt))
        if not has_marker(own.unprotect(pkt, seq), "selftest"):
            print(f"FAIL {alg} ESN: no round trip")
            failed += 1
        for wrong in (5, (2 << 32) | 5):
            try:
                own.unprotect(pkt, wrong)
            except IPSecIntegrityError:
                continue
            print(f"FAIL {alg} ESN: verifies with seq {wrong:#x}")
            failed += 1
    print(f"selftest: {len(cases)} Scapy cross-checks, 4 ESN round trips, "
          f"{failed} failed")
    return 1 if failed else 0


def main():
    p = argparse.ArgumentParser()
    p.add_argument("cmd", choices=["check", "send", "selftest"])
    p.add_argument("pcap", nargs="?")
    p.add_argument("--proto", default="esp")
    p.add_argument("--mode", default="transport")
    p.add_argument("--spi", type=lambda s: int(s, 0))
    p.add_argument("--alg")
    p.add_argument("--integ")
    p.add_argument("--key")
    p.add_argument("--src")
    p.add_argument("--dst")
    p.add_argument("--esn", action="store_true")
    p.add_argument("--encap", action="store_true")
    p.add_argument("--marker")
    p.add_argument("--port", type=int, default=7777)
    p.add_argument("--count", type=int, default=5)
    p.add_argument("--first", type=lambda s: int(s, 0), default=1)
    p.add_argument("--seqs")
    p.add_argument("--omit-esn-high", action="store_true")
    a = p.parse_args()
    if a.cmd == "selftest":
        sys.exit(selftest(a))
    for opt in ("spi", "key", "src", "dst", "marker"):
        if getattr(a, opt) is None:
            p.error(f"--{opt} is needed")
    if a.cmd == "check" and not a.pcap:
        p.error("check needs a capture")
    if a.omit_esn_high and not a.esn:
        p.error("--omit-esn-high needs --esn")
    sys.exit(check(a) if a.cmd == "check" else send_all(a))


if __name__ == "__main__":
    main()
