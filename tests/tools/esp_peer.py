#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""An independent ESP/AH peer, built on Scapy's IPsec implementation.

  esp_peer.py check PCAP SA...   decrypt/verify every packet of the SA in
                                 a capture; each must carry MARKER in a UDP
                                 payload, and the first must have seq 1
  esp_peer.py send SA...         send COUNT UDP datagrams carrying MARKER,
                                 protected with sequence numbers 1..COUNT

SA options: --proto esp|ah --mode tunnel|transport --spi N --alg NAME
            --integ NAME --key FILE --src A --dst B [--esn] [--encap]
            --marker TEXT [--port P] [--count N]
Names are xdpsec's (aes-gcm-128, hmac-sha256-128...); keys are read from
xdpsec key files (cipher key, salt, integrity key, in that order).
"""
import argparse
import sys

from scapy.all import IP, IPv6, UDP, Raw, rdpcap, send
from scapy.layers.ipsec import AH, ESP, SecurityAssociation

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


def ip_of(addr):
    return IPv6 if ":" in addr else IP


def make_sa(a, src, dst):
    key = bytes.fromhex(open(a.key).read().strip())
    kw = {"spi": a.spi, "esn_en": a.esn, "esn": 0}
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
        kw["tunnel_header"] = ip_of(src)(src=src, dst=dst)
    if a.encap:
        kw["nat_t_header"] = UDP(sport=4500, dport=4500)
    return SecurityAssociation(ESP if a.proto == "esp" else AH, **kw)


def spi_of(pkt):
    for layer in (ESP, AH):
        if layer in pkt:
            return pkt[layer].spi, pkt[layer].seq
    return None, None


def check(a):
    sa = make_sa(a, a.src, a.dst)
    ok = bad = 0
    first = None
    for pkt in rdpcap(a.pcap):
        if IP not in pkt and IPv6 not in pkt:
            continue
        spi, seq = spi_of(pkt)
        if spi != a.spi:
            continue
        if first is None:
            first = seq
        outer = pkt[IP] if IP in pkt else pkt[IPv6]
        try:
            inner = sa.decrypt(outer)
        except Exception as e:  # noqa: BLE001 - any failure is a bad packet
            print(f"seq {seq}: {e}")
            bad += 1
            continue
        if Raw in inner and a.marker.encode() in bytes(inner[Raw].load):
            ok += 1
        else:
            print(f"seq {seq}: no marker in {inner.summary()}")
            bad += 1
    print(f"{ok} packets verified, {bad} bad, first seq {first}")
    return 0 if ok > 0 and bad == 0 and first == 1 else 1


def send_all(a):
    sa = make_sa(a, a.src, a.dst)
    for seq in range(1, a.count + 1):
        inner = ip_of(a.src)(src=a.src, dst=a.dst) / \
            UDP(sport=40000, dport=a.port) / Raw(a.marker.encode())
        pkt = sa.encrypt(inner, seq_num=seq)
        if a.encap:
            # Scapy 2.5 freezes the UDP length before ESP is appended
            # (it says 8); recompute it, or the datagram looks empty.
            del pkt[UDP].len
            pkt = pkt.__class__(bytes(pkt))
        send(pkt, verbose=False)
    print(f"{a.count} packets sent")
    return 0


def main():
    p = argparse.ArgumentParser()
    p.add_argument("cmd", choices=["check", "send"])
    p.add_argument("pcap", nargs="?")
    p.add_argument("--proto", default="esp")
    p.add_argument("--mode", default="transport")
    p.add_argument("--spi", type=lambda s: int(s, 0), required=True)
    p.add_argument("--alg")
    p.add_argument("--integ")
    p.add_argument("--key", required=True)
    p.add_argument("--src", required=True)
    p.add_argument("--dst", required=True)
    p.add_argument("--esn", action="store_true")
    p.add_argument("--encap", action="store_true")
    p.add_argument("--marker", required=True)
    p.add_argument("--port", type=int, default=7777)
    p.add_argument("--count", type=int, default=5)
    a = p.parse_args()
    sys.exit(check(a) if a.cmd == "check" else send_all(a))


if __name__ == "__main__":
    main()
