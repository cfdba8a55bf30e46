#!/usr/bin/env python3
"""Plays a guest on a squib-netd attachment: gets a DHCP offer and the gateway's ARP reply
through the attachment's VM socket, the way a VMM would send frames (design brief §2).

    squib-netctl --json start vm1 --mode shared > vm1.json
    python3 tests/macos/vm_probe.py --start-json vm1.json

or with the fields named: --socket PATH --mac MAC [--gateway IP] [--address IP].

What it proves: the daemon relays frames both ways between the VM socket and the backend
(on macOS, a vmnet interface), and the network behind it answers — vmnet's DHCP server (or
dnsmasq on Linux) offers an address, and the gateway resolves. This is the level of proof
nirs/vmnet-helper's CI asks of vmnet-helper (testing/helper_test.py, arp_resolve), with
scapy building and parsing the frames; here the frames go through squib-netd's per-VM
socket instead of a socketpair handed to the helper.

Steps:
1. Bind an own AF_UNIX datagram socket (in a private temporary directory) and connect it to
   the attachment's socket: the daemon answers to the address of the most recent sender.
2. DHCP (RFC 2131 §4.4.1): DISCOVER from 0.0.0.0 with the attachment's MAC as chaddr and the
   broadcast flag set (we cannot receive unicast to an address we do not have yet), resent
   every second until an OFFER with our xid arrives or the timeout passes. The daemon's
   source guard lets exactly this through before the guest has an address.
3. ARP (RFC 826): who-has GATEWAY from the address known for the guest (--address or the
   start result's network.address; else the offered yiaddr), answered by GATEWAY is-at MAC.
   GATEWAY: --gateway, else the start result's network.gateway, else the offer's router
   option, else its server identifier.
Exit 0 with a JSON summary on stdout; 1 with the step that failed; 2 on usage errors.
scapy is imported only to run (python3 -m py_compile checks this file without it).
"""
import argparse
import json
import os
import random
import socket
import sys
import tempfile
import time

# Frames up to 1514 bytes (MTU 1500 + Ethernet header) in this probe; the buffer is larger
# so that a bigger frame is read whole (and ignored) rather than truncated.
RECV_SIZE = 65536


def log(message):
    print(f"vm_probe: {message}", file=sys.stderr, flush=True)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--start-json", help="output of `squib-netctl --json start …` (socket, mac, network)")
    parser.add_argument("--socket", help="the attachment's VM socket (the start result's `socket`)")
    parser.add_argument("--mac", help="the attachment's MAC (frames from another MAC are dropped)")
    parser.add_argument("--gateway", help="IPv4 address to ARP for (default: from the start result or the offer)")
    parser.add_argument("--address", help="the guest's IPv4 address (default: from the start result or the offer)")
    parser.add_argument("--timeout", type=float, default=20.0, help="seconds for each step (default 20)")
    parser.add_argument("--skip-dhcp", action="store_true", help="only ARP (needs --address and --gateway)")
    args = parser.parse_args()

    if args.start_json:
        with open(args.start_json) as f:
            result = json.load(f)
        # squib-netctl --json prints the JSON-RPC result object (proto/control-protocol.md).
        result = result.get("result", result)
        network = result.get("network") or {}
        args.socket = args.socket or result.get("socket")
        args.mac = args.mac or result.get("mac")
        args.gateway = args.gateway or network.get("gateway")
        args.address = args.address or network.get("address")
    if not args.socket or not args.mac:
        parser.error("the VM socket and the MAC are required (--start-json, or --socket and --mac)")
    if args.skip_dhcp and not (args.address and args.gateway):
        parser.error("--skip-dhcp needs --address and --gateway")
    return args


def receive_until(sock, deadline, accept, resend=None, every=1.0):
    """Reads frames until accept(frame) returns a value (returned) or the deadline passes
    (None). Calls resend() at the start and then every `every` seconds."""
    next_send = time.monotonic()
    while True:
        now = time.monotonic()
        if now >= deadline:
            return None
        if resend is not None and now >= next_send:
            resend()
            next_send = now + every
        sock.settimeout(max(0.05, min(deadline, next_send if resend else deadline) - now))
        try:
            data = sock.recv(RECV_SIZE)
        except socket.timeout:
            continue
        value = accept(data)
        if value is not None:
            return value


def main():
    args = parse_args()
    from scapy.all import ARP, BOOTP, DHCP, IP, UDP, Ether, mac2str  # pylint: disable=import-outside-toplevel

    mac = args.mac.lower()
    summary = {"socket": args.socket, "mac": mac}
    with tempfile.TemporaryDirectory(prefix="squib-probe-") as tmp:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            sock.bind(os.path.join(tmp, "vm.sock"))
            sock.connect(args.socket)
        except OSError as e:
            log(f"cannot use the VM socket {args.socket}: {e}")
            return 1

        offer = None
        if not args.skip_dhcp:
            xid = random.getrandbits(32)
            discover = (Ether(src=mac, dst="ff:ff:ff:ff:ff:ff")
                        / IP(src="0.0.0.0", dst="255.255.255.255")
                        / UDP(sport=68, dport=67)
                        / BOOTP(chaddr=mac2str(mac), xid=xid, flags=0x8000)
                        / DHCP(options=[("message-type", "discover"), ("param_req_list", [1, 3, 6]), "end"]))

            def send_discover():
                sock.send(bytes(discover))
                log(f"sent DHCPDISCOVER xid={xid:#010x}")

            def is_offer(data):
                frame = Ether(data)
                if not (frame.haslayer(BOOTP) and frame.haslayer(DHCP)) or frame[BOOTP].xid != xid:
                    return None
                options = {o[0]: o[1] for o in frame[DHCP].options if isinstance(o, tuple) and len(o) >= 2}
                if options.get("message-type") != 2:  # 2 = DHCPOFFER (RFC 2132 §9.6)
                    return None
                return {"yiaddr": frame[BOOTP].yiaddr, "server_id": options.get("server_id"),
                        "router": options.get("router"), "subnet_mask": options.get("subnet_mask"),
                        "from_mac": frame[Ether].src}

            offer = receive_until(sock, time.monotonic() + args.timeout, is_offer, resend=send_discover)
            if offer is None:
                log(f"no DHCPOFFER within {args.timeout:.0f}s")
                return 1
            log(f"DHCPOFFER {offer['yiaddr']} from {offer['server_id']} (router {offer['router']})")
            summary["dhcp_offer"] = offer

        address = args.address or offer["yiaddr"]
        gateway = args.gateway or (offer and (offer["router"] or offer["server_id"]))
        if not gateway:
            log("no gateway to ARP for (not in the start result, no router or server id in the offer)")
            return 1
        request = Ether(src=mac, dst="ff:ff:ff:ff:ff:ff") / ARP(op=1, hwsrc=mac, psrc=address, pdst=gateway)

        def send_request():
            sock.send(bytes(request))
            log(f"sent ARP who-has {gateway} tell {address}")

        def is_reply(data):
            frame = Ether(data)
            if frame.haslayer(ARP) and frame[ARP].op == 2 and frame[ARP].psrc == gateway:
                return frame[ARP].hwsrc
            return None

        gateway_mac = receive_until(sock, time.monotonic() + args.timeout, is_reply, resend=send_request)
        if gateway_mac is None:
            log(f"no ARP reply from {gateway} within {args.timeout:.0f}s")
            return 1
        log(f"ARP reply: {gateway} is-at {gateway_mac}")
        summary["arp"] = {"gateway": gateway, "gateway_mac": gateway_mac, "asked_from": address}
        sock.close()
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
