#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Re-sends ESP frames from a capture, unchanged or damaged on purpose.

Usage: espcraft.py MODE PCAP IFACE COUNT DST
  replay     the frames as they were (old sequence numbers)
  bad-icv    sequence number moved far ahead, so the ICV cannot verify
  bad-spi    an SPI no SA has
  truncate   cut to 12 bytes of ESP, IP length fixed, sequence number
             moved ahead so that only the length is wrong
Only IPv4 frames carrying ESP to address DST are used.  Prints how many were sent.
"""
import socket
import struct
import sys

ETH_LEN = 14
ESP_PROTO = 50


def frames(path):
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack_from("<I", data, 0)[0]
    endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    off = 24
    while off + 16 <= len(data):
        _, _, incl, _ = struct.unpack_from(endian + "IIII", data, off)
        off += 16
        yield bytearray(data[off:off + incl])
        off += incl


def ipv4_esp(frame, dst):
    if len(frame) < ETH_LEN + 20 + 8 or frame[12:14] != b"\x08\x00":
        return None
    ihl = (frame[ETH_LEN] & 0x0F) * 4
    if frame[ETH_LEN + 9] != ESP_PROTO:
        return None
    if frame[ETH_LEN + 16:ETH_LEN + 20] != dst:
        return None
    return ETH_LEN + ihl


def ip_checksum(hdr):
    s = 0
    for i in range(0, len(hdr), 2):
        s += (hdr[i] << 8) | hdr[i + 1]
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def damage(mode, frame, esp, n):
    if mode == "bad-icv":
        seq = struct.unpack_from("!I", frame, esp + 4)[0]
        struct.pack_into("!I", frame, esp + 4, (seq + 1000000 + n) & 0xFFFFFFFF)
    elif mode == "bad-spi":
        struct.pack_into("!I", frame, esp, 0x7E000000 + n)
    elif mode == "truncate":
        seq = struct.unpack_from("!I", frame, esp + 4)[0]
        struct.pack_into("!I", frame, esp + 4, (seq + 2000000 + n) & 0xFFFFFFFF)
        del frame[esp + 12:]
        ihl = esp - ETH_LEN
        struct.pack_into("!H", frame, ETH_LEN + 2, len(frame) - ETH_LEN)
        struct.pack_into("!H", frame, ETH_LEN + 10, 0)
        csum = ip_checksum(frame[ETH_LEN:ETH_LEN + ihl])
        struct.pack_into("!H", frame, ETH_LEN + 10, csum)
    return frame


def main():
    mode, path, iface = sys.argv[1], sys.argv[2], sys.argv[3]
    count, dst = int(sys.argv[4]), socket.inet_aton(sys.argv[5])
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    sent = 0
    for frame in frames(path):
        if sent >= count:
            break
        esp = ipv4_esp(frame, dst)
        if esp is None:
            continue
        s.send(bytes(damage(mode, frame, esp, sent)))
        sent += 1
    print(sent)


if __name__ == "__main__":
    main()
