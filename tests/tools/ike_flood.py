#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""IKE_SA_INIT requests built by hand (RFC 7296), sent from forged IPv4
source addresses through a raw socket, and what the responder answers,
read from a packet socket on the interface its answers come back to.

  ike_flood.py flood --dst A --iface IF [--net CIDR] [--count N]
                     [--seconds S] [--rate R] [--proposal refused]
                     [--sources K] [--echo] [--out FILE]
        sends COUNT well-formed IKE_SA_INIT requests, each from a random
        address of NET and a random port, with a fresh SPI and nonce, as
        fast as it can (or RATE a second) for at most SECONDS, and never
        goes further; then counts the answers: a COOKIE notify alone, a
        full response (SA, KE and Nonce), an error notify alone, or
        anything else.  With --proposal refused, the requests offer 3DES,
        which the responder must refuse (when it does not ask for a
        cookie first); with --sources, from K random addresses only (each
        with random ports); with --echo, every cookie is echoed back once,
        as a flooder that sees the answers could (the echoes' answers
        are counted apart)
  ike_flood.py cookie --dst A --iface IF --src ADDR [--sport P]
        one request without a cookie, which must be challenged; the same
        request again, the cookie echoed as RFC 7296 section 2.6 asks,
        which must get a full response; and a second request whose echoed
        cookie is wrong (one bit flipped), which must be challenged again
  ike_flood.py probe --dst A --iface IF --src ADDR [--sport P]
        one request without a cookie; says what came back

Each prints one JSON object (to --out as well, if given); "cookie" exits
with 1 unless all three answers are as they must be.  The proposal is
AES-GCM-16 with 256-bit keys, PRF-HMAC-SHA2-256 and Curve25519 (xdpsec's
first default), the KE payload a real X25519 public value and the NAT
detection hashes those of the forged addresses, so the responder has no
reason to refuse a request but the cookie.
"""
import argparse
import hashlib
import ipaddress
import json
import os
import random
import select
import socket
import struct
import sys
import time

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, \
    PublicFormat

IKE_PORT = 500
IKE_SA_INIT = 34
FLAG_I, FLAG_R = 0x08, 0x20
PL_SA, PL_KE, PL_NONCE, PL_N = 33, 34, 40, 41
PROTO_IKE = 1
XF_ENCR, XF_PRF, XF_KE = 1, 2, 4
ENCR_3DES, ENCR_AES_GCM_16 = 3, 20
PRF_HMAC_SHA2_256, GROUP_CURVE25519 = 5, 31
ATTR_KEY_LENGTH = 0x800e		# AF=1 (TV) | 14
N_ERROR_MAX = 16383			# notify types below 16384 are errors
N_NAT_SRC, N_NAT_DST, N_COOKIE = 16388, 16389, 16390
ETH_P_IP = 0x0800
PACKET_OUTGOING = 4


# ---- Building a request ----

def payload(next_type, body):
    """A generic payload header (RFC 7296 section 3.2) and its body."""
    return struct.pack("!BBH", next_type, 0, 4 + len(body)) + body


def transform(last, xf_type, xf_id, key_len=None):
    attrs = b""
    if key_len is not None:
        attrs = struct.pack("!HH", ATTR_KEY_LENGTH, key_len)
    return struct.pack("!BBHBBH", 0 if last else 3, 0, 8 + len(attrs),
                       xf_type, 0, xf_id) + attrs


def sa_body(refused=False):
    """One proposal: AES-GCM-16/256, PRF-HMAC-SHA2-256, Curve25519; or,
    to be refused, 3DES in place of AES-GCM."""
    encr = transform(False, XF_ENCR, ENCR_3DES) if refused else \
        transform(False, XF_ENCR, ENCR_AES_GCM_16, 256)
    xfs = (encr +
           transform(False, XF_PRF, PRF_HMAC_SHA2_256) +
           transform(True, XF_KE, GROUP_CURVE25519))
    return struct.pack("!BBHBBBB", 0, 0, 8 + len(xfs), 1, PROTO_IKE, 0,
                       3) + xfs


def notify_body(n_type, data):
    return struct.pack("!BBH", 0, 0, n_type) + data


def nat_hash(spi_i, addr, port):
    """NAT_DETECTION_*_IP data: SHA-1(SPIi | SPIr | IP | port)."""
    return hashlib.sha1(struct.pack("!QQ", spi_i, 0) +
                        socket.inet_aton(addr) +
                        struct.pack("!H", port)).digest()


class Request:
    """One IKE_SA_INIT request from src:sport; cookie goes first."""

    def __init__(self, src, sport, dst, pub, refused=False):
        self.src, self.sport, self.dst = src, sport, dst
        self.refused = refused
        self.spi = random.getrandbits(64) | 1
        self.nonce = os.urandom(32)
        self.pub = pub

    def ike(self, cookie=None):
        chain = []
        if cookie is not None:
            chain.append((PL_N, notify_body(N_COOKIE, cookie)))
        chain.append((PL_SA, sa_body(self.refused)))
        chain.append((PL_KE, struct.pack("!HH", GROUP_CURVE25519, 0) +
                      self.pub))
        chain.append((PL_NONCE, self.nonce))
        chain.append((PL_N, notify_body(
            N_NAT_SRC, nat_hash(self.spi, self.src, self.sport))))
        chain.append((PL_N, notify_body(
            N_NAT_DST, nat_hash(self.spi, self.dst, IKE_PORT))))
        body = b""
        for i, (_, b) in enumerate(chain):
            nxt = chain[i + 1][0] if i + 1 < len(chain) else 0
            body += payload(nxt, b)
        hdr = struct.pack("!QQBBBBII", self.spi, 0, chain[0][0], 0x20,
                          IKE_SA_INIT, FLAG_I, 0, 28 + len(body))
        return hdr + body

    def packet(self, cookie=None):
        """IPv4 and UDP headers around the request; the kernel fills in
        the IP checksum and ID."""
        ike = self.ike(cookie)
        ulen = 8 + len(ike)
        src, dst = socket.inet_aton(self.src), socket.inet_aton(self.dst)
        pseudo = src + dst + struct.pack("!BBH", 0, socket.IPPROTO_UDP,
                                         ulen)
        udp = struct.pack("!HHHH", self.sport, IKE_PORT, ulen, 0) + ike
        csum = checksum(pseudo + udp) or 0xffff
        udp = udp[:6] + struct.pack("!H", csum) + udp[8:]
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + ulen, 0, 0x4000,
                         64, socket.IPPROTO_UDP, 0, src, dst)
        return ip + udp


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def public_values(n):
    """n X25519 public values, each one a key pair's."""
    return [X25519PrivateKey.generate().public_key().public_bytes(
        Encoding.Raw, PublicFormat.Raw) for _ in range(n)]


# ---- Reading answers ----

class Answer:
    """A parsed IKE_SA_INIT response: its SPIs, payload types, notifies."""

    def __init__(self, dst, dport, data):
        self.dst, self.dport = dst, dport
        (self.spi_i, self.spi_r, nxt, _, self.exchange, self.flags, _,
         length) = struct.unpack("!QQBBBBII", data[:28])
        self.types, self.notifies = [], {}
        off, end = 28, min(length, len(data))
        while nxt and off + 4 <= end:
            this = nxt
            nxt, _, plen = struct.unpack("!BBH", data[off:off + 4])
            if plen < 4 or off + plen > end:
                break
            body = data[off + 4:off + plen]
            self.types.append(this)
            if this == PL_N and len(body) >= 4:
                spi_size = body[1]
                n_type = struct.unpack("!H", body[2:4])[0]
                self.notifies[n_type] = body[4 + spi_size:]
            off += plen

    @property
    def kind(self):
        cookie = N_COOKIE in self.notifies
        full = PL_KE in self.types or PL_SA in self.types
        if cookie and not full and self.types == [PL_N]:
            return "cookie"
        if full and not cookie and self.spi_r and \
                {PL_SA, PL_KE, PL_NONCE} <= set(self.types):
            return "full"
        if self.types == [PL_N] and self.notifies and \
                min(self.notifies) <= N_ERROR_MAX:
            return "error"
        return "other"


class Wire:
    """A raw socket to send forged requests, a packet socket for answers."""

    def __init__(self, iface, dst, net):
        self.dst, self.net = dst, net
        self.tx = socket.socket(socket.AF_INET, socket.SOCK_RAW,
                                socket.IPPROTO_RAW)
        self.rx = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM,
                                socket.htons(ETH_P_IP))
        try:
            self.rx.setsockopt(socket.SOL_SOCKET, 33,	# SO_RCVBUFFORCE
                               8 << 20)
        except OSError:
            pass
        self.rx.bind((iface, ETH_P_IP))
        self.rx.setblocking(False)

    def send(self, req, cookie=None):
        self.tx.sendto(req.packet(cookie), (self.dst, 0))

    def answers(self):
        """The IKE_SA_INIT responses from dst queued now."""
        out = []
        while True:
            try:
                data, addr = self.rx.recvfrom(65535)
            except BlockingIOError:
                return out
            if addr[2] == PACKET_OUTGOING or len(data) < 20 + 8 + 28:
                continue
            ihl = (data[0] & 15) * 4
            if data[0] >> 4 != 4 or data[9] != socket.IPPROTO_UDP:
                continue
            src, dst = socket.inet_ntoa(data[12:16]), \
                socket.inet_ntoa(data[16:20])
            sport, dport = struct.unpack("!HH", data[ihl:ihl + 4])
            if src != self.dst or sport != IKE_PORT or \
                    ipaddress.ip_address(dst) not in self.net:
                continue
            try:
                a = Answer(dst, dport, data[ihl + 8:])
            except struct.error:
                continue
            if a.exchange == IKE_SA_INIT and a.flags & FLAG_R:
                out.append(a)

    def wait(self, req, seconds):
        """The first answer to req within seconds, or None."""
        end = time.monotonic() + seconds
        while True:
            for a in self.answers():
                if a.spi_i == req.spi and a.dst == req.src:
                    return a
            left = end - time.monotonic()
            if left <= 0:
                return None
            select.select([self.rx], [], [], min(left, 0.1))


# ---- The commands ----

def random_source(net):
    host = random.randrange(1, net.num_addresses - 1)
    return str(net.network_address + host), random.randrange(1024, 65536)


def flood(w, a):
    pubs = public_values(32)
    sent, seen, echoed = {}, {}, {}
    kinds = {"cookie": 0, "full": 0, "error": 0, "other": 0}
    echo_kinds = dict.fromkeys(kinds, 0)
    sources = [random_source(w.net) for _ in range(a.sources)]
    start = time.monotonic()
    end = start + a.seconds

    def take():
        for ans in w.answers():
            spi = ans.spi_i
            if spi not in sent:
                continue
            if spi not in seen:
                seen[spi] = ans.kind
                kinds[ans.kind] += 1
                if a.echo and ans.kind == "cookie":
                    echoed[spi] = None
                    try:
                        w.send(sent[spi], ans.notifies[N_COOKIE])
                    except OSError:
                        pass
            elif spi in echoed and echoed[spi] is None:
                echoed[spi] = ans.kind
                echo_kinds[ans.kind] += 1

    for i in range(a.count):
        now = time.monotonic()
        if now >= end:
            break
        if a.rate:
            due = start + i / a.rate
            if due > now:
                time.sleep(due - now)
        if sources:
            src, sport = random.choice(sources)[0], \
                random.randrange(1024, 65536)
        else:
            src, sport = random_source(w.net)
        req = Request(src, sport, w.dst, random.choice(pubs),
                      a.proposal == "refused")
        sent[req.spi] = req
        try:
            w.send(req)
        except OSError:
            pass
        if i % 32 == 31:
            take()
    elapsed = time.monotonic() - start
    # The last answers are still on their way.
    quiet_until = time.monotonic() + a.linger
    while time.monotonic() < quiet_until:
        select.select([w.rx], [], [], 0.1)
        take()
    return {"sent": len(sent), "seconds": round(elapsed, 2),
            "answered": len(seen), "cookie_only": kinds["cookie"],
            "full": kinds["full"], "error": kinds["error"],
            "other": kinds["other"], "echoed": len(echoed),
            "echo_full": echo_kinds["full"],
            "echo_cookie": echo_kinds["cookie"]}


def cookie(w, a):
    pub = public_values(1)[0]
    res = {}
    req = Request(a.src, a.sport, w.dst, pub)
    w.send(req)
    ans = w.wait(req, a.timeout)
    res["first"] = ans.kind if ans else "none"
    if not ans or ans.kind != "cookie":
        return res, False
    good = ans.notifies[N_COOKIE]
    res["cookie_len"] = len(good)
    w.send(req, good)
    ans = w.wait(req, a.timeout)
    res["echoed"] = ans.kind if ans else "none"
    ok = bool(ans) and ans.kind == "full"

    # A second request, challenged, then answered with a damaged cookie.
    req2 = Request(a.src, a.sport + 1, w.dst, pub)
    w.send(req2)
    ans = w.wait(req2, a.timeout)
    if not ans or ans.kind != "cookie":
        res["second"] = ans.kind if ans else "none"
        return res, False
    bad = bytearray(ans.notifies[N_COOKIE])
    bad[0] ^= 1
    w.send(req2, bytes(bad))
    ans = w.wait(req2, a.timeout)
    res["wrong"] = ans.kind if ans else "none"
    return res, ok and res["wrong"] == "cookie"


def probe(w, a):
    req = Request(a.src, a.sport, w.dst, public_values(1)[0])
    w.send(req)
    ans = w.wait(req, a.timeout)
    return {"answer": ans.kind if ans else "none"}, True


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("cmd", choices=("flood", "cookie", "probe"))
    p.add_argument("--dst", required=True)
    p.add_argument("--iface", required=True)
    p.add_argument("--net", default="198.18.0.0/15")
    p.add_argument("--src")
    p.add_argument("--sport", type=int, default=40000)
    p.add_argument("--count", type=int, default=3000)
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--rate", type=float, default=0.0)
    p.add_argument("--echo", action="store_true")
    p.add_argument("--sources", type=int, default=0)
    p.add_argument("--proposal", choices=("good", "refused"),
                   default="good")
    p.add_argument("--linger", type=float, default=1.5)
    p.add_argument("--timeout", type=float, default=3.0)
    p.add_argument("--out")
    a = p.parse_args()
    net = ipaddress.ip_network(a.net)
    if a.cmd != "flood" and not a.src:
        p.error("%s needs --src" % a.cmd)
    w = Wire(a.iface, a.dst, net)
    if a.cmd == "flood":
        res, ok = flood(w, a), True
    else:
        res, ok = (cookie if a.cmd == "cookie" else probe)(w, a)
    text = json.dumps(res, sort_keys=True)
    print(text)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
