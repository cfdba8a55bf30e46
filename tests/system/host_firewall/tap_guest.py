#!/usr/bin/env python3
"""tap_guest.py — a "guest" without a VM: a TAP device in the caller's network namespace
whose frames go to and come from a squib-netd attachment over its per-VM datagram socket,
exactly as QEMU's `-netdev dgram,local.type=unix,…,remote.type=unix` does (one Ethernet
frame per datagram, design brief §2). The namespace's own stack (ip, ping) is then the
guest, so a test can ask "does the guest reach the world now?" as often as it needs, in
milliseconds, instead of booting a QEMU guest with a fixed task list.

Usage: tap_guest.py TAPNAME DAEMON_SOCKET LOCAL_SOCKET   (root, inside the guest namespace)
Runs until killed. Frames the peer cannot take (EAGAIN/ECONNREFUSED) are dropped, as a NIC would.
"""
import fcntl
import os
import select
import socket
import struct
import sys

TUNSETIFF = 0x400454CA  # linux/if_tun.h
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000


def main() -> None:
    tap_name, remote, local = sys.argv[1:4]
    tap = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(tap, TUNSETIFF, struct.pack("16sH", tap_name.encode(), IFF_TAP | IFF_NO_PI))
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    if os.path.exists(local):
        os.unlink(local)
    sock.bind(local)
    sock.connect(remote)
    sock.setblocking(False)
    print("tap_guest: ready", flush=True)
    while True:
        ready, _, _ = select.select([tap, sock], [], [])
        if tap in ready:
            frame = os.read(tap, 65536)
            try:
                sock.send(frame)
            except (BlockingIOError, ConnectionRefusedError, FileNotFoundError):
                pass
        if sock in ready:
            try:
                frame = sock.recv(65536)
            except (BlockingIOError, ConnectionRefusedError):
                continue
            os.write(tap, frame)


if __name__ == "__main__":
    main()
