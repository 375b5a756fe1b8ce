#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
"""The combination matrix of the data plane, as one set of SAs per host.

Every combination of protocol, mode, inner and outer family, transform,
sequence number size and encapsulation that makes sense gets its own pair
of SAs and its own pair of addresses (inner addresses on the hosts'
loopback), so that both daemons carry all of them at once:

  matrix.py gen WORK      write a.conf, b.conf, keys and combos.json;
                          list the combinations that make no sense
  matrix.py echo WORK     (on B) echo UDP on port 7000 of every B address
  matrix.py send WORK     (on A) send 3 datagrams per combination, wait for
                          the echoes, write results.json
  matrix.py check WORK PCAP
                          one "ok -"/"FAIL -" line per combination for the
                          traffic, one for what the wire shows
"""
import itertools
import json
import os
import selectors
import socket
import struct
import sys
import time

PORT = 7000
SIZES = (24, 300, 1100)
OUTER = {4: ("198.51.100.1", "198.51.100.2"),
     6: ("2001:db8:ff::1", "2001:db8:ff::2")}

# (alg, integ, key bytes, encrypts)
ESP_XFORMS = [
    ("aes-gcm-128", None, 20, True),
    ("aes-gcm-256", None, 36, True),
    ("chacha20-poly1305", None, 36, True),
    ("aes-gmac-128", None, 20, False),
    ("aes-gmac-256", None, 36, False),
] + [
    ("aes-cbc-%d" % bits, "hmac-sha%d-%d" % (sha, sha // 2), bits // 8 + sha // 8, True)
    for bits in (128, 256) for sha in (256, 384, 512)
] + [
    ("null", "hmac-sha%d-%d" % (sha, sha // 2), sha // 8, False)
    for sha in (256, 384, 512)
]
AH_XFORMS = [(None, "hmac-sha%d-%d" % (sha, sha // 2), sha // 8, False)
         for sha in (256, 384, 512)]

WHY_TRANSPORT = "transport mode keeps the packet's own IP header, so the " \
    "inner and outer families are one"
WHY_AH_UDP = "UDP encapsulation (RFC 3948) carries ESP only; AH covers " \
    "the addresses a NAT rewrites"


def combos():
    """Yields (combo, reason): reason is None when the combination is live."""
    for proto, xforms in (("esp", ESP_XFORMS), ("ah", AH_XFORMS)):
        for mode, inner, outer, xf, esn, encap in itertools.product(
                ("tunnel", "transport"), (4, 6), (4, 6), xforms,
                (False, True), (False, True)):
            alg, integ, kb, enc = xf
            c = dict(proto=proto, mode=mode, inner=inner, outer=outer,
                 alg=alg, integ=integ, keybytes=kb, encrypts=enc,
                 esn=esn, encap=encap)
            why = None
            if mode == "transport" and inner != outer:
                why = WHY_TRANSPORT
            elif proto == "ah" and encap:
                why = WHY_AH_UDP
            yield c, why


def name(c):
    x = "+".join(p for p in (c["alg"], c["integ"]) if p)
    return "%s %s in%d out%d %s %s %s" % (
        c["proto"], c["mode"], c["inner"], c["outer"], x,
        "esn" if c["esn"] else "seq32", "udp" if c["encap"] else "raw")


def inner_addrs(c, i):
    """A's and B's inner address for combination index i."""
    if c["inner"] == 4:
        hi, lo = divmod(i, 250)
        return "198.18.%d.%d" % (hi, lo + 1), "198.19.%d.%d" % (hi, lo + 1)
    return "2001:db8:a::%x" % (i + 1), "2001:db8:b::%x" % (i + 1)


def plen(addr):
    return 128 if ":" in addr else 32


def sa_text(nm, c, d, spi, src, dst, key, sel_src, sel_dst):
    lines = ["", "[sa %s]" % nm, "dir = %s" % d, "spi = 0x%x" % spi,
         "proto = %s" % c["proto"], "mode = %s" % c["mode"],
         "src = %s" % src, "dst = %s" % dst, "key_file = %s" % key,
         "esn = %s" % ("yes" if c["esn"] else "no"),
         "encap = %s" % ("yes" if c["encap"] else "no")]
    if c["alg"]:
        lines.append("alg = %s" % c["alg"])
    if c["integ"]:
        lines.append("integ = %s" % c["integ"])
    if c["mode"] == "tunnel":
        lines.append("sel_src = %s/%d" % (sel_src, plen(sel_src)))
        lines.append("sel_dst = %s/%d" % (sel_dst, plen(sel_dst)))
    return lines


def policy_text(nm, d, src, dst):
    return ["", "[policy %s]" % nm, "dir = %s" % d,
        "src = %s/%d" % (src, plen(src)), "dst = %s/%d" % (dst, plen(dst)),
        "action = protect", "sa = %s" % nm]


def write_key(path, n):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(os.urandom(n).hex() + "\n")


def gen(work):
    conf = {h: ["[daemon]", "instance = xmx-%s" % h, "interfaces = eth0",
            "host_interface = xs0", "default = bypass"] for h in "ab"}
    live, addrs = [], {"a": [], "b": []}
    for c, why in combos():
        if why:
            print("n/a - [%s] %s" % (name(c), why))
            continue
        i = len(live)
        ia, ib = inner_addrs(c, i)
        if c["mode"] == "tunnel":
            oa, ob = OUTER[c["outer"]]
        else:
            oa, ob = ia, ib
        ab, ba = 0x10000 + i, 0x20000 + i
        write_key("%s/k%x" % (work, ab), c["keybytes"])
        write_key("%s/k%x" % (work, ba), c["keybytes"])
        for h, me, peer, ome, opeer, out, inn in (
                ("a", ia, ib, oa, ob, ab, ba), ("b", ib, ia, ob, oa, ba, ab)):
            conf[h] += policy_text("o%d" % i, "out", me, peer)
            conf[h] += policy_text("i%d" % i, "in", peer, me)
            conf[h] += sa_text("o%d" % i, c, "out", out, ome, opeer,
                       "%s/k%x" % (work, out), me, peer)
            conf[h] += sa_text("i%d" % i, c, "in", inn, opeer, ome,
                       "%s/k%x" % (work, inn), peer, me)
            addrs[h].append(me)
        live.append(dict(c, name=name(c), a=ia, b=ib, spi_ab=ab, spi_ba=ba))
    for h in "ab":
        with open("%s/%s.conf" % (work, h), "w") as f:
            f.write("\n".join(conf[h]) + "\n")
        with open("%s/%s.addrs" % (work, h), "w") as f:
            f.write("".join("address add %s/%d dev lo\n" % (a, plen(a))
                    for a in addrs[h]))
    with open("%s/combos.json" % work, "w") as f:
        json.dump(live, f)
    return 0


def load(work):
    with open("%s/combos.json" % work) as f:
        return json.load(f)


def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def echo(work):
    sel = selectors.DefaultSelector()
    for c in load(work):
        s = socket.socket(family(c["b"]), socket.SOCK_DGRAM)
        s.bind((c["b"], PORT))
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
    print("echoing on %d addresses" % len(sel.get_map()), flush=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        for key, _ in sel.select(1.0):
            try:
                data, peer = key.fileobj.recvfrom(4096)
                key.fileobj.sendto(data, peer)
            except OSError:
                pass
    return 0


def payload(i, size):
    mark = b"XDPSEC-MX%04d-" % i
    return (mark * (size // len(mark) + 1))[:size]


def send(work):
    live = load(work)
    sel = selectors.DefaultSelector()
    socks, got = [], [set() for _ in live]
    for i, c in enumerate(live):
        s = socket.socket(family(c["a"]), socket.SOCK_DGRAM)
        s.bind((c["a"], 0))
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, i)
        socks.append(s)

    def drain(t):
        for key, _ in sel.select(t):
            i = key.data
            try:
                while True:
                    data, _ = key.fileobj.recvfrom(4096)
                    for n, size in enumerate(SIZES):
                        if data == payload(i, size):
                            got[i].add(n)
            except OSError:
                pass

    # At most 6 rounds; each sends what is still missing, paced so that
    # no socket buffer on the way overflows, then waits for echoes.
    for rnd in range(6):
        missing = [i for i in range(len(live)) if len(got[i]) < len(SIZES)]
        if not missing:
            break
        for i in missing:
            for n, size in enumerate(SIZES):
                if n in got[i]:
                    continue
                try:
                    socks[i].sendto(payload(i, size), (live[i]["b"], PORT))
                except OSError:
                    pass
            drain(0.002)
        end = time.monotonic() + 2.0
        while time.monotonic() < end:
            drain(0.1)
        print("round %d: %d of %d combinations complete" %
              (rnd + 1, sum(len(g) == len(SIZES) for g in got), len(live)),
              flush=True)
    with open("%s/results.json" % work, "w") as f:
        json.dump([sorted(g) for g in got], f)
    return 0


def ip_payload(frame):
    """(family, proto, payload) of an Ethernet frame, or None."""
    if len(frame) < 14:
        return None
    etype = struct.unpack("!H", frame[12:14])[0]
    ip = frame[14:]
    if etype == 0x0800 and len(ip) >= 20:
        ihl = (ip[0] & 15) * 4
        return 4, ip[9], ip[ihl:]
    if etype == 0x86DD and len(ip) >= 40:
        return 6, ip[6], ip[40:]
    return None


def classify(frame):
    """(family, kind, spi, body) with kind esp, udp-esp or ah, or None for
    anything else that is IP, or False for what is not IP."""
    p = ip_payload(frame)
    if p is None:
        return False
    fam, proto, body = p
    if proto == 50 and len(body) >= 8:
        return fam, "esp", struct.unpack("!I", body[:4])[0], body
    if proto == 51 and len(body) >= 12:
        return fam, "ah", struct.unpack("!I", body[4:8])[0], body
    if proto == 17 and len(body) >= 16:
        sport, dport = struct.unpack("!HH", body[:4])
        spi = struct.unpack("!I", body[8:12])[0]
        if 4500 in (sport, dport) and spi:
            return fam, "udp-esp", spi, body
    return fam, None, None, body


def check(work, pcap):
    from scapy.utils import RawPcapReader

    live = load(work)
    with open("%s/results.json" % work) as f:
        results = json.load(f)
    by_spi = {}
    for i, c in enumerate(live):
        by_spi[c["spi_ab"]] = (i, "ab")
        by_spi[c["spi_ba"]] = (i, "ba")
    seen = [dict(ab=0, ba=0, bad=[], marks=0) for _ in live]
    clear = []
    for frame, _ in RawPcapReader(pcap):
        k = classify(frame)
        if not k:
            continue
        fam, kind, spi, body = k
        if spi not in by_spi:
            if b"XDPSEC-MX" in body:
                clear.append(frame)
            continue
        i, d = by_spi[spi]
        c, s = live[i], seen[i]
        s[d] += 1
        want = "ah" if c["proto"] == "ah" else \
            "udp-esp" if c["encap"] else "esp"
        if kind != want:
            s["bad"].append("%s where %s was due" % (kind, want))
        if fam != c["outer"]:
            s["bad"].append("outer IPv%d" % fam)
        if b"XDPSEC-MX%04d-" % i in body:
            s["marks"] += 1
        if c["proto"] == "ah":
            nh = {"tunnel": 4 if c["inner"] == 4 else 41,
                  "transport": 17}[c["mode"]]
            if body[0] != nh:
                s["bad"].append("AH next header %d" % body[0])

    ok = bad = 0
    for i, c in enumerate(live):
        s, tag = seen[i], "[%s]" % c["name"]
        n = len(results[i])
        if n == len(SIZES):
            print("ok - %s UDP A -> B -> A, %d of %d echoed" % (tag, n, n))
            ok += 1
        else:
            print("FAIL - %s UDP A -> B -> A, %d of %d echoed" %
                  (tag, n, len(SIZES)))
            bad += 1
        shown = "hidden" if c["encrypts"] else "intact"
        why = list(s["bad"][:2])
        if s["ab"] < len(SIZES) or s["ba"] < len(SIZES):
            why.append("%d/%d packets A->B/B->A" % (s["ab"], s["ba"]))
        if c["encrypts"] and s["marks"]:
            why.append("plaintext in %d packets" % s["marks"])
        if not c["encrypts"] and s["marks"] < s["ab"] + s["ba"]:
            why.append("payload missing from %d packets" %
                   (s["ab"] + s["ba"] - s["marks"]))
        kind = "AH" if c["proto"] == "ah" else \
            "ESP-in-UDP" if c["encap"] else "ESP"
        desc = "%s wire: %d+%d %s packets over IPv%d, payload %s" % (
            tag, s["ab"], s["ba"], kind, c["outer"], shown)
        if why:
            print("FAIL - %s (%s)" % (desc, "; ".join(why)))
            bad += 1
        else:
            print("ok - %s" % desc)
            ok += 1
    desc = "nothing of the matrix crosses the wire in clear"
    if clear:
        print("FAIL - %s (%d packets)" % (desc, len(clear)))
        bad += 1
    else:
        print("ok - %s" % desc)
        ok += 1
    return 0 if bad == 0 else 1


def main(argv):
    if len(argv) >= 3 and argv[1] == "gen":
        return gen(argv[2])
    if len(argv) >= 3 and argv[1] == "echo":
        return echo(argv[2])
    if len(argv) >= 3 and argv[1] == "send":
        return send(argv[2])
    if len(argv) >= 4 and argv[1] == "check":
        return check(argv[2], argv[3])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
