#!/usr/bin/env python3
"""Crafts and injects Ethernet frames for Patchbay's hardening tests (stdlib only).

Runs inside a lab host's namespace and writes frames to its eth0 through an
AF_PACKET socket, so the switch reads them from the port's TAP exactly as sent
(the kernel adds nothing to a SOCK_RAW frame). Every subcommand prints one JSON
line: how many frames it sent, which sends the kernel refused (by errno name),
and how long it took.

  inject.py [-i IFACE] frames HEX... [--for SECONDS]
      each frame as given, in hex; with --for, round after round until then
  inject.py [-i IFACE] macs COUNT [--prefix 02:ee] [--dst MAC] [--first N]
      COUNT frames that reach the switch, each from its own source MAC (PREFIX
      and a 32-bit counter from FIRST), paced to what the switch reads
  inject.py [-i IFACE] ping --src IP --dst IP --dst-mac MAC [--count N]
      ICMP echo requests from any source address (a spoofed one, say)
  inject.py [-i IFACE] garp --ip IP [--mac MAC] [--count N]
      gratuitous ARP requests claiming IP for MAC (default: the interface's)
  inject.py [-i IFACE] dhcp-offer --count N
      DHCP OFFERs (UDP 67 -> 68, broadcast) as a rogue server sends them
  inject.py [-i IFACE] runts
      one frame of every length 0..13 and the 14..17-byte frames whose 802.1Q
      tag is cut short; reports which lengths the kernel refused
  inject.py [-i IFACE] oversize LENGTH [--count N]
      broadcast frames of LENGTH bytes (raise the interface's MTU first)
  inject.py [-i IFACE] vnet CASE [--count N]
      frames behind a virtio-net header (PACKET_VNET_HDR), CASE one of
      gso-size-zero, csum-past-end, hdr-len-past-end, gso-not-tcp
  inject.py [-i IFACE] storm SECONDS
      broadcast frames for SECONDS, as fast as one socket sends them

A send the kernel refuses with ENOBUFS is retried after a short pause; any
other refusal is counted and the frame skipped. A TAP itself never refuses:
when the switch falls behind, the kernel drops frames at the TAP's queue and
counts them in eth0's tx_dropped, which `macs` watches to pace itself and
`macs` and `storm` report as tap_dropped.
"""
import argparse
import errno
import json
import socket
import struct
import sys
import time

SOL_PACKET = 263
PACKET_VNET_HDR = 15
BROADCAST = b"\xff" * 6
# IEEE 802 "local experimental" EtherType: no host stack acts on these frames.
EXPERIMENTAL = 0x88B5


def mac_bytes(text):
    return bytes(int(part, 16) for part in text.split(":"))


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ipv4(source, destination, protocol, payload, identification=1):
    header = struct.pack(
        "!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), identification, 0, 64, protocol, 0,
        socket.inet_aton(source), socket.inet_aton(destination))
    header = header[:10] + struct.pack("!H", checksum(header)) + header[12:]
    return header + payload


def tx_dropped(interface):
    """Frames the interface dropped on transmit: for a lab host's eth0, a TAP,
    those that found the switch's queue full (the kernel drops them silently:
    a send never blocks or fails for it)."""
    with open("/sys/class/net/%s/statistics/tx_dropped" % interface) as counter:
        return int(counter.read())


class Pacer:
    """Keeps a sender just below the rate at which the switch reads its TAP:
    after each batch, a pause that grows while the TAP drops frames and shrinks
    while it does not."""

    BATCH = 256

    def __init__(self, injector):
        self.injector = injector
        self.start = injector.tap_dropped_before
        self.dropped = 0
        self.pause = 0.0

    def pace(self):
        dropped = tx_dropped(self.injector.interface) - self.start
        if dropped > self.dropped:
            self.pause = min(max(self.pause * 1.5, 0.0002), 0.05)
        else:
            self.pause *= 0.9
        self.dropped = dropped
        if self.pause > 0.00005:
            time.sleep(self.pause)

    def settle(self):
        """Waits until the switch has read what is queued, then counts the drops."""
        time.sleep(0.2)
        self.dropped = tx_dropped(self.injector.interface) - self.start


class Injector:
    """An AF_PACKET socket on one interface that counts what it sent and what was refused."""

    def __init__(self, interface, vnet_header=False):
        self.socket = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        if vnet_header:
            self.socket.setsockopt(SOL_PACKET, PACKET_VNET_HDR, 1)
        self.socket.bind((interface, 0))
        self.interface = interface
        self.tap_dropped_before = tx_dropped(interface)
        self.mac = self.socket.getsockname()[4]
        self.sent = 0
        self.refused = {}
        self.started = time.monotonic()

    def send(self, frame):
        """Sends one frame; True when the kernel took it."""
        while True:
            try:
                self.socket.send(frame)
                self.sent += 1
                return True
            except OSError as error:
                if error.errno == errno.ENOBUFS:
                    time.sleep(0.0005)
                    continue
                name = errno.errorcode.get(error.errno, str(error.errno))
                self.refused[name] = self.refused.get(name, 0) + 1
                return False

    def report(self, **extra):
        seconds = time.monotonic() - self.started
        result = {"sent": self.sent, "refused": self.refused, "seconds": round(seconds, 3)}
        result.update(extra)
        print(json.dumps(result), flush=True)


def frames(injector, arguments):
    """The frames once, or round after round (10 ms apart) for SECONDS."""
    batch = [bytes.fromhex(text) for text in arguments.hex]
    deadline = time.monotonic() + (arguments.seconds or 0)
    rounds = 0
    while True:
        for frame in batch:
            injector.send(frame)
        rounds += 1
        if time.monotonic() >= deadline:
            break
        time.sleep(0.01)
    injector.report(rounds=rounds)


def macs(injector, arguments):
    """Frames from COUNT source MACs, as fast as the switch takes them: one frame,
    4 bytes of its source rewritten in place before each send. Frames the TAP
    dropped (the switch was behind) are made up for with further MACs, so that
    COUNT frames from distinct sources reach the switch."""
    prefix = mac_bytes(arguments.prefix)
    frame = bytearray(
        mac_bytes(arguments.dst) + prefix + bytes(4) + struct.pack("!H", EXPERIMENTAL) + bytes(46))
    pacer = Pacer(injector)
    pack_into = struct.pack_into
    index = arguments.first
    while injector.sent - pacer.dropped < arguments.count:
        for _ in range(min(Pacer.BATCH, arguments.count - (injector.sent - pacer.dropped))):
            pack_into("!I", frame, 8, index)
            index += 1
            injector.send(frame)
        pacer.pace()
    pacer.settle()
    injector.report(last=index - 1, tap_dropped=pacer.dropped)


def ping(injector, arguments):
    for sequence in range(arguments.count):
        icmp = struct.pack("!BBHHH", 8, 0, 0, 0x5042, sequence) + b"patchbay" * 4
        icmp = icmp[:2] + struct.pack("!H", checksum(icmp)) + icmp[4:]
        packet = ipv4(arguments.src, arguments.dst, 1, icmp, identification=sequence)
        injector.send(mac_bytes(arguments.dst_mac) + injector.mac + b"\x08\x00" + packet)
        time.sleep(0.05)
    injector.report()


def garp(injector, arguments):
    """A gratuitous ARP request: sender and target are both IP, sent to broadcast.
    Linux updates an existing neighbour entry from one (whatever arp_accept says)."""
    mac = mac_bytes(arguments.mac) if arguments.mac else injector.mac
    address = socket.inet_aton(arguments.ip)
    arp = struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + mac + address + bytes(6) + address
    for _ in range(arguments.count):
        injector.send(BROADCAST + mac + b"\x08\x06" + arp + bytes(18))
        time.sleep(0.05)
    injector.report()


def dhcp_offer(injector, arguments):
    """OFFERs of 10.0.0.200 from a server at 10.0.0.250, broadcast, to an unknown client."""
    bootp = struct.pack(
        "!BBBBIHH4s4s4s4s16s64s128s", 2, 1, 6, 0, 0x12345678, 0, 0x8000, bytes(4),
        socket.inet_aton("10.0.0.200"), socket.inet_aton("10.0.0.250"), bytes(4),
        b"\x02\x00\x00\x00\x00\x01", b"", b"")
    options = b"\x63\x82\x53\x63" + b"\x35\x01\x02" + b"\x36\x04" + socket.inet_aton(
        "10.0.0.250") + b"\xff"
    payload = bootp + options
    udp = struct.pack("!HHHH", 67, 68, 8 + len(payload), 0) + payload
    packet = ipv4("10.0.0.250", "255.255.255.255", 17, udp)
    for _ in range(arguments.count):
        injector.send(BROADCAST + injector.mac + b"\x08\x00" + packet)
    injector.report()


def runts(injector, arguments):
    """Lengths 0-13 are shorter than an Ethernet header: the kernel's
    dev_validate_header() refuses them (EINVAL) unless the sender has
    CAP_SYS_RAWIO, and even then not below the device's min_header_len (14 for
    Ethernet). 14-17 bytes with EtherType 0x8100 carry a VLAN tag cut short."""
    refused_lengths = []
    for length in range(14):
        frame = (BROADCAST + injector.mac + b"\x81\x00")[:length]
        before = sum(injector.refused.values())
        injector.send(frame)
        if sum(injector.refused.values()) > before:
            refused_lengths.append(length)
    for length in range(14, 18):
        injector.send((BROADCAST + injector.mac + b"\x81\x00\x00\x05\x08")[:length])
    injector.report(refused_lengths=refused_lengths)


def oversize(injector, arguments):
    frame = BROADCAST + injector.mac + struct.pack("!H", EXPERIMENTAL)
    frame += bytes(arguments.length - len(frame))
    for _ in range(arguments.count):
        injector.send(frame)
    injector.report()


# struct virtio_net_hdr: flags, gso_type, hdr_len, gso_size, csum_start, csum_offset (host order).
NEEDS_CSUM = 1
GSO_TCPV4 = 1


def vnet(injector, arguments):
    """Frames behind virtio-net headers that do not fit them. What the kernel does
    with each (packet_snd -> virtio_net_hdr_to_skb) is the point: it prints the
    refusals, and the test reads the switch's counters for whatever got through."""
    tcp = struct.pack("!HHIIBBHHH", 40000, 5001, 1, 0, 0x50, 0x18, 1024, 0, 0) + bytes(1400)
    packet = ipv4("10.0.0.1", "10.0.0.2", 6, tcp)
    frame = BROADCAST + injector.mac + b"\x08\x00" + packet
    header = {
        # GSO requested with no segment size: there is nothing to cut the frame into.
        "gso-size-zero": struct.pack("=BBHHHH", NEEDS_CSUM, GSO_TCPV4, 54, 0, 34, 16),
        # A checksum to be written at offset 65530, far past the frame's end.
        "csum-past-end": struct.pack("=BBHHHH", NEEDS_CSUM, 0, 0, 0, 65000, 530),
        # A header length (the bytes copied into every segment) longer than the frame.
        "hdr-len-past-end": struct.pack("=BBHHHH", NEEDS_CSUM, GSO_TCPV4, 9000, 1000, 34, 16),
        # Well formed, but the frame is UDP: a GSO request on a frame it does not describe.
        "gso-not-tcp": struct.pack("=BBHHHH", 0, GSO_TCPV4, 54, 500, 0, 0),
        # Valid, but hostile: 1-byte segments, 1400 of them when anyone segments it.
        "gso-size-one": struct.pack("=BBHHHH", NEEDS_CSUM, GSO_TCPV4, 54, 1, 34, 16),
        # Valid to the kernel: the checksum is to be written over the destination MAC.
        "csum-in-mac-header": struct.pack("=BBHHHH", NEEDS_CSUM, 0, 0, 0, 0, 0),
        # A correct TCP superframe (the control: headers do get through when they fit).
        "gso-valid": struct.pack("=BBHHHH", NEEDS_CSUM, GSO_TCPV4, 54, 500, 34, 16),
    }[arguments.case]
    if arguments.case == "gso-not-tcp":
        udp = struct.pack("!HHHH", 40000, 9, 8 + 1400, 0) + bytes(1400)
        frame = BROADCAST + injector.mac + b"\x08\x00" + ipv4("10.0.0.1", "10.0.0.2", 17, udp)
    for _ in range(arguments.count):
        injector.send(header + frame)
    injector.report()


def storm(injector, arguments):
    """Broadcasts, unpaced, for SECONDS: the TAP drops what the switch cannot take."""
    frame = BROADCAST + injector.mac + struct.pack("!H", EXPERIMENTAL) + bytes(46)
    send = injector.send
    deadline = time.monotonic() + arguments.seconds
    while time.monotonic() < deadline:
        for _ in range(1000):
            send(frame)
    injector.report(tap_dropped=tx_dropped(injector.interface) - injector.tap_dropped_before)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-i", "--interface", default="eth0")
    commands = parser.add_subparsers(dest="command", required=True)
    command = commands.add_parser("frames")
    command.add_argument("hex", nargs="+")
    command.add_argument("--for", dest="seconds", type=float)
    command = commands.add_parser("macs")
    command.add_argument("count", type=int)
    command.add_argument("--prefix", default="02:ee")
    command.add_argument("--dst", default="ff:ff:ff:ff:ff:ff")
    command.add_argument("--first", type=int, default=1)
    command = commands.add_parser("ping")
    command.add_argument("--src", required=True)
    command.add_argument("--dst", required=True)
    command.add_argument("--dst-mac", required=True)
    command.add_argument("--count", type=int, default=3)
    command = commands.add_parser("garp")
    command.add_argument("--ip", required=True)
    command.add_argument("--mac")
    command.add_argument("--count", type=int, default=3)
    command = commands.add_parser("dhcp-offer")
    command.add_argument("--count", type=int, default=3)
    commands.add_parser("runts")
    command = commands.add_parser("oversize")
    command.add_argument("length", type=int)
    command.add_argument("--count", type=int, default=5)
    command = commands.add_parser("vnet")
    command.add_argument(
        "case",
        choices=[
            "gso-size-zero", "csum-past-end", "hdr-len-past-end", "gso-not-tcp", "gso-size-one",
            "csum-in-mac-header", "gso-valid"])
    command.add_argument("--count", type=int, default=5)
    command = commands.add_parser("storm")
    command.add_argument("seconds", type=float)
    arguments = parser.parse_args()
    injector = Injector(arguments.interface, vnet_header=arguments.command == "vnet")
    handler = {
        "frames": frames, "macs": macs, "ping": ping, "garp": garp, "dhcp-offer": dhcp_offer,
        "runts": runts, "oversize": oversize, "vnet": vnet, "storm": storm,
    }[arguments.command]
    handler(injector, arguments)


if __name__ == "__main__":
    sys.exit(main())
