#!/usr/bin/env python3
"""Writes the fuzz targets' seed inputs to Fuzz/Seeds/TARGET/ (committed; rerun
after changing a target's input format). Each seed is a small, meaningful run
in the target's input format (see the target's doc comment in
Sources/PatchbayFuzzing), so the fuzzer starts from frames and messages that
reach deep into the code instead of having to guess checksums and addresses.

    python3 Fuzz/make-seeds.py
"""
import json
import re
import shutil
import struct
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "Fuzz" / "Seeds"


def mac(text):
    return bytes(int(part, 16) for part in text.split(":"))


def ip4(text):
    return bytes(int(part) for part in text.split("."))


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ethernet(dst, src, ethertype, payload, tags=()):
    header = mac(dst) + mac(src)
    for tpid, vid in tags:
        header += struct.pack("!HH", tpid, vid)
    return header + struct.pack("!H", ethertype) + payload


def ipv4(src, dst, proto, payload, ttl=64):
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 1, 0x4000, ttl, proto, 0,
                         ip4(src), ip4(dst))
    header = header[:10] + struct.pack("!H", checksum(header)) + header[12:]
    return header + payload


def pseudo(src, dst, proto, length):
    return ip4(src) + ip4(dst) + struct.pack("!BBH", 0, proto, length)


def tcp(src, sport, dst, dport, flags, payload=b""):
    segment = struct.pack("!HHIIBBHHH", sport, dport, 1000, 2000 if flags & 0x10 else 0, 5 << 4,
                          flags, 1024, 0, 0) + payload
    value = checksum(pseudo(src, dst, 6, len(segment)) + segment)
    return segment[:16] + struct.pack("!H", value) + segment[18:]


def udp(src, sport, dst, dport, payload):
    datagram = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    value = checksum(pseudo(src, dst, 17, len(datagram)) + datagram) or 0xFFFF
    return datagram[:6] + struct.pack("!H", value) + datagram[8:]


def icmp(kind, code, rest, payload=b""):
    message = struct.pack("!BBHI", kind, code, 0, rest) + payload
    return message[:2] + struct.pack("!H", checksum(message)) + message[4:]


def arp(op, sha, spa, tha, tpa):
    return struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, op, mac(sha), ip4(spa), mac(tha),
                       ip4(tpa))


def ipv6_udp(src, dst, payload):
    header = struct.pack("!IHBB16s16s", 6 << 28, len(payload), 17, 64, src, dst)
    return header + payload


def dhcp(op, kind, xid, chaddr, ciaddr="0.0.0.0", yiaddr="0.0.0.0", options=()):
    body = struct.pack("!BBBBIHH4s4s4s4s16s64s128sI", op, 1, 6, 0, xid, 0, 0x8000, ip4(ciaddr),
                       ip4(yiaddr), bytes(4), bytes(4), mac(chaddr) + bytes(10), bytes(64),
                       bytes(128), 0x63825363)
    body += bytes([53, 1, kind])
    for code, value in options:
        body += bytes([code, len(value)]) + value
    body += bytes([255])
    return body + bytes(max(0, 300 - len(body)))


def record(*parts):
    return b"".join(parts)


def chunk(data):
    return struct.pack("!H", len(data)) + data


def write(target, name, data):
    directory = SEEDS / target
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_bytes(data if isinstance(data, bytes) else data.encode())


A, B, C = "02:00:00:00:00:0a", "02:00:00:00:00:0b", "02:00:00:00:00:0c"
BROADCAST = "ff:ff:ff:ff:ff:ff"


def frame_seeds():
    ping = ipv4("10.0.0.1", "10.0.0.2", 1, icmp(8, 0, 0x00070001, b"ping"))
    syn = ipv4("10.0.0.1", "10.0.0.2", 6, tcp("10.0.0.1", 40000, "10.0.0.2", 80, 0x02))
    v6 = ipv6_udp(bytes.fromhex("fe80" + "00" * 12 + "0001"), bytes.fromhex("ff02" + "00" * 13 + "01"),
                  struct.pack("!HHHH", 546, 547, 12, 0) + b"dhcp")
    who = arp(1, A, "10.0.0.1", "00:00:00:00:00:00", "10.0.0.2")
    # Port numbers as in FrameRun: 0 access 10, 1 access 20, 2 trunk {10,20,30} native 30,
    # 3 trunk {10,20,100} native 10 tagged, 4 QinQ 100, 5 monitor, 6 cable, 7 tunnel 20.
    sequence = [
        (0, 1, ethernet(BROADCAST, A, 0x0806, who)),
        (2, 1, ethernet(A, B, 0x0800, ping, tags=[(0x8100, 10)])),
        (0, 1, ethernet(B, A, 0x0800, syn)),
        (2, 1, ethernet(BROADCAST, C, 0x86DD, v6)),
        (2, 1, ethernet(A, C, 0x0800, ping, tags=[(0x8100, 30), (0x8100, 10)])),
        (4, 1, ethernet(BROADCAST, C, 0x0800, ping, tags=[(0x8100, 7)])),
        (3, 1, ethernet(A, C, 0x0800, ping, tags=[(0x88A8, 100), (0x8100, 7)])),
        (7, 1, ethernet(B, C, 0x0800, syn, tags=[(0x8100, 0)])),
        (5, 1, ethernet(A, C, 0x0800, ping)),
        (1, 1, b"\x02\x00\x00"),
        (0xF0, 1, b""),
        (0, 200, ethernet(A, "01:80:c2:00:00:00", 0x0800, ping)),
        (0xF8, 1, b""),
        (0xEF, 255, b""),
        (6, 1, ethernet(A, B, 0x0800, ping, tags=[(0x8100, 10)])),
    ]
    write("frame", "switching-tour", b"".join(bytes([c, s]) + chunk(f) for c, s, f in sequence))
    write("frame", "one-tcp-syn", bytes([0, 1]) + chunk(ethernet(B, A, 0x0800, syn)))


def virtio_seeds():
    segment = tcp("10.0.0.1", 40000, "10.0.0.2", 80, 0x18, b"x" * 3000)
    plain = bytes(10)
    partial = struct.pack("<BBHHHH", 1, 0, 0, 0, 34, 16)
    gso = struct.pack("<BBHHHH", 1, 1, 54, 1448, 34, 16)
    tagged_gso = struct.pack("<BBHHHH", 1, 1, 58, 1448, 38, 16)
    frame = ethernet(B, A, 0x0800, ipv4("10.0.0.1", "10.0.0.2", 6, segment))
    tagged = ethernet(B, A, 0x0800, ipv4("10.0.0.1", "10.0.0.2", 6, segment), tags=[(0x8100, 10)])
    # Ports as in VirtioRun: 0 access 10, 1 trunk {10,20} native 20, 2 trunk native 10 tagged, 3 QinQ 10.
    write("virtio", "plain-access", bytes([0]) + plain + frame)
    write("virtio", "partial-checksum-access", bytes([0]) + partial + frame)
    write("virtio", "tso-access", bytes([0]) + gso + frame)
    write("virtio", "tso-from-trunk", bytes([1]) + tagged_gso + tagged)
    udp_frame = ethernet(B, A, 0x0800, ipv4("10.0.0.1", "10.0.0.2", 17,
                                            udp("10.0.0.1", 5000, "10.0.0.2", 6000, b"u" * 4000)))
    write("virtio", "uso-qinq", bytes([3]) + struct.pack("<BBHHHH", 1, 5, 42, 1400, 34, 6) + udp_frame)


def retag_seeds():
    # Room byte (the datapath leaves 6 before the header), tag (TPID, TCI), header, frame.
    segment = tcp("10.0.0.1", 40000, "10.0.0.2", 80, 0x18, b"x" * 3000)
    frame = ethernet(B, A, 0x0800, ipv4("10.0.0.1", "10.0.0.2", 6, segment))
    gso = struct.pack("<BBHHHH", 1, 1, 54, 1448, 34, 16)
    write("retag", "dot1q-pcp-dei-tso", bytes([6]) + struct.pack(">HH", 0x8100, 0xB00A) + gso + frame)
    write("retag", "dot1ad-plain", bytes([6]) + struct.pack(">HH", 0x88A8, 0x0064) + bytes(10)
          + ethernet(B, A, 0x0806, bytes(28)))
    write("retag", "no-room", bytes([3]) + struct.pack(">HH", 0x8100, 10) + bytes(10) + frame[:60])
    write("retag", "short-frame", bytes([6]) + struct.pack(">HH", 0x8100, 10) + bytes(10) + frame[:11])


def topology_seeds():
    for path in sorted((ROOT / "Topologies").glob("*.yaml")):
        shutil.copy(path, SEEDS / "topology" / path.name)
    for path in sorted((ROOT / "Tests" / "PatchbayTopologyTests" / "Fixtures").glob("*.yaml")):
        shutil.copy(path, SEEDS / "topology" / ("fixture-" + path.name))
    # The loader tests' YAML, good and bad, as they are indented in the Swift source.
    tests = (ROOT / "Tests" / "PatchbayTopologyTests" / "TopologyLoaderTests.swift").read_text()
    for index, match in enumerate(re.finditer(r'"""\n(.*?)\n\s*"""', tests, re.S)):
        lines = match.group(1).split("\n")
        indent = min(len(l) - len(l.lstrip()) for l in lines if l.strip())
        write("topology", "loader-test-%03d.yaml" % index, "\n".join(l[indent:] for l in lines) + "\n")


def control_seeds():
    requests = [
        {"command": "status"},
        {"command": "fdb", "switchName": "core"},
        {"command": "shutdown"},
        {"command": "nat"},
        {"command": "setRate", "port": "core/h1", "settings": ["ingress=50mbit", "burst=64KiB"]},
        {"command": "setRate", "port": "core/h1", "settings": ["egress-pps=10kpps", "ingress=off"]},
        {"command": "capture", "capture": {"ports": ["core/h1", "core/h2"], "filter": "icmp",
                                           "snaplen": 262144, "direction": "both", "count": 10}},
    ]
    for index, request in enumerate(requests):
        write("control", "request-%d-%s" % (index, request["command"]), json.dumps(request) + "\n")
    response = {"ok": True, "fdb": [{"switchName": "core", "vlan": 1, "mac": "02:00:00:00:00:01",
                                     "port": "h1", "ageSeconds": 1.5, "type": "learned"}]}
    write("control", "response-fdb", json.dumps(response))
    write("control", "response-error", json.dumps({"ok": False, "error": "no such lab"}))

    def message(kind, payload):
        return kind.encode() + struct.pack("<I", len(payload)) + payload

    started = json.dumps({"ok": True}).encode()
    summary = json.dumps({"captured": 2, "filteredOut": 1, "lost": 0}).encode()
    stream = (message("R", started) + message("H", bytes(28)) + message("P", bytes(32))
              + message("S", summary))
    write("control", "capture-stream", stream)


def pcapng_block(kind, body):
    length = 12 + len(body)
    return struct.pack("<II", kind, length) + body + struct.pack("<I", length)


def pcapng_option(code, value):
    return struct.pack("<HH", code, len(value)) + value + bytes((4 - len(value) % 4) % 4)


def pcapng_header(names):
    shb = pcapng_block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1)
                       + pcapng_option(4, b"Patchbay") + pcapng_option(0, b""))
    for name in names:
        shb += pcapng_block(1, struct.pack("<HHI", 1, 0, 262144) + pcapng_option(2, name.encode())
                            + pcapng_option(3, b"fuzz seed") + pcapng_option(9, b"\x09")
                            + pcapng_option(0, b""))
    return shb


def pcapng_packet(interface, timestamp, direction, data, original=None):
    padded = data + bytes((4 - len(data) % 4) % 4)
    body = struct.pack("<IIIII", interface, timestamp >> 32, timestamp & 0xFFFFFFFF, len(data),
                       original if original is not None else len(data))
    return pcapng_block(6, body + padded + pcapng_option(2, struct.pack("<I", direction))
                        + pcapng_option(0, b""))


def pcapng_seeds():
    ping = ethernet(B, A, 0x0800, ipv4("10.0.0.1", "10.0.0.2", 1, icmp(8, 0, 0x10001, b"x" * 32)))
    arp_request = ethernet(BROADCAST, A, 0x0806, arp(1, A, "10.0.0.1", "00:00:00:00:00:00", "10.0.0.2"))

    def packet(interface, inbound, data, extra=0):
        return (bytes([interface, 1 if inbound else 0]) + struct.pack("!H", len(data))
                + bytes([extra]) + data)

    names = bytes([2]) + chunk(b"core/h1") + chunk(b"core/h2")
    records = (packet(0, True, arp_request) + packet(1, False, arp_request)
               + packet(0, True, ping) + packet(1, False, ping, extra=20))
    # Files of 1024 bytes, an empty current file.
    write("pcapng", "header-and-packets", bytes([0]) + names + struct.pack("!H", 256) + bytes([0])
          + records)
    # Files of 200 bytes, the current one holding 3 blocks: the ring rotates at once.
    write("pcapng", "ring-rotates", bytes([0]) + names + struct.pack("!H", 50) + bytes([3])
          + struct.pack("!H", 120) + records * 3)
    # A real file, as a capture writes it (read as raw pcapng).
    write("pcapng", "capture-file", pcapng_header(["core/h1", "core/h2"])
          + pcapng_packet(0, 1 << 40, 1, ping) + pcapng_packet(1, (1 << 40) + 5, 2, ping)
          + pcapng_packet(0, (1 << 40) + 9, 1, ping[:40], original=len(ping)))


def capture_seeds():
    def message(kind, payload):
        return kind.encode() + struct.pack("<I", len(payload)) + payload

    ping = ethernet(B, A, 0x0800, ipv4("10.0.0.1", "10.0.0.2", 1, icmp(8, 0, 0x10001, b"x" * 32)))
    request = {"command": "capture", "capture": {"ports": ["core/h1", "core/h2"], "filter": "icmp",
                                                 "snaplen": 96, "direction": "both", "count": 4}}
    blocks = b"".join(pcapng_packet(i % 2, i, 1 + i % 2, ping[:96]) for i in range(4))
    stream = (message("R", json.dumps({"ok": True}).encode())
              + message("H", pcapng_header(["core/h1", "core/h2"])) + message("P", blocks)
              + message("P", blocks[:len(blocks) // 2])
              + message("S", json.dumps({"captured": 4, "filteredOut": 1, "lost": 0}).encode()))
    write("capture", "ping-on-two-ports", json.dumps(request).encode() + b"\n" + stream)
    refused = {"command": "capture", "capture": {"ports": ["core/h1"], "snaplen": -1,
                                                 "direction": "sideways"}}
    write("capture", "refused-request", json.dumps(refused).encode() + b"\n"
          + message("R", json.dumps({"ok": False, "error": "invalid snaplen -1"}).encode()))


def resources_seeds():
    record = {"topologyFile": "/home/user/lab/lab.yaml", "namespaces": ["lab-host", "lab-h1"],
              "links": ["lab-v1", "lab-v2"], "hosts": ["h1", "h2"], "vmProcesses": {"vm1": 4242}}
    write("resources", "a-lab", json.dumps(record, indent=2, sort_keys=True))
    write("resources", "empty", json.dumps({"topologyFile": "", "namespaces": [], "links": [],
                                            "hosts": [], "vmProcesses": {}}))
    write("resources", "strings", b"/tmp/lab.yaml\0lab-host\0lab-v1\0h1\0vm1\0\xff\xfe\0")


INSIDE_MAC, OUTSIDE_MAC = "02:00:00:00:00:fe", "02:00:00:00:01:0a"
H1, H1_MAC = "10.0.0.1", "02:00:00:00:00:01"
GATEWAY_MAC, SERVER, NAT = "02:00:00:00:01:01", "198.51.100.7", "192.0.2.10"


def nat_seeds():
    def inside(frame, step=1):
        return bytes([0x00, step]) + chunk(frame)

    def outside(frame, step=1):
        return bytes([0x80, step]) + chunk(frame)

    syn = ethernet(INSIDE_MAC, H1_MAC, 0x0800,
                   ipv4(H1, SERVER, 6, tcp(H1, 40000, SERVER, 80, 0x02)))
    syn_ack = ethernet(OUTSIDE_MAC, GATEWAY_MAC, 0x0800,
                       ipv4(SERVER, NAT, 6, tcp(SERVER, 80, NAT, 40000, 0x12)))
    ack = ethernet(INSIDE_MAC, H1_MAC, 0x0800,
                   ipv4(H1, SERVER, 6, tcp(H1, 40000, SERVER, 80, 0x10, b"GET /")))
    fin = ethernet(OUTSIDE_MAC, GATEWAY_MAC, 0x0800,
                   ipv4(SERVER, NAT, 6, tcp(SERVER, 80, NAT, 40000, 0x11)))
    datagram = ipv4(H1, SERVER, 17, udp(H1, 5000, SERVER, 53, b"query"))
    query = ethernet(INSIDE_MAC, H1_MAC, 0x0800, datagram)
    # The port unreachable a server sends about the translated datagram (source rewritten).
    quoted = ipv4(NAT, SERVER, 17, udp(NAT, 5000, SERVER, 53, b"query"))[:28]
    unreachable = ethernet(OUTSIDE_MAC, GATEWAY_MAC, 0x0800,
                           ipv4(SERVER, NAT, 1, icmp(3, 3, 0, quoted)))
    ping_out = ethernet(INSIDE_MAC, H1_MAC, 0x0800,
                        ipv4(H1, SERVER, 1, icmp(8, 0, 0x00070001, b"ping")))
    ping_back = ethernet(OUTSIDE_MAC, GATEWAY_MAC, 0x0800,
                         ipv4(SERVER, NAT, 1, icmp(0, 0, 0x00070001, b"ping")))
    ping_router = ethernet(INSIDE_MAC, H1_MAC, 0x0800,
                           ipv4(H1, "10.0.0.254", 1, icmp(8, 0, 0x00090001, b"ping")))
    ping_nat = ethernet(OUTSIDE_MAC, GATEWAY_MAC, 0x0800,
                        ipv4(SERVER, NAT, 1, icmp(8, 0, 0x000A0001, b"ping")))
    arp_inside = ethernet(BROADCAST, H1_MAC, 0x0806,
                          arp(1, H1_MAC, H1, "00:00:00:00:00:00", "10.0.0.254"))
    arp_outside = ethernet(BROADCAST, GATEWAY_MAC, 0x0806,
                           arp(1, GATEWAY_MAC, "192.0.2.1", "00:00:00:00:00:00", NAT))
    dns = ethernet(INSIDE_MAC, H1_MAC, 0x0800,
                   ipv4(H1, "10.0.0.254", 17, udp(H1, 5001, "10.0.0.254", 53, b"query")))
    forward = ethernet(OUTSIDE_MAC, GATEWAY_MAC, 0x0800,
                       ipv4(SERVER, NAT, 6, tcp(SERVER, 50000, NAT, 8080, 0x02)))
    forward_udp = ethernet(OUTSIDE_MAC, GATEWAY_MAC, 0x0800,
                           ipv4(SERVER, NAT, 17, udp(SERVER, 50001, NAT, 5353, b"q")))
    expiring = ethernet(INSIDE_MAC, H1_MAC, 0x0800,
                        ipv4(H1, SERVER, 17, udp(H1, 5002, SERVER, 9, b"x"), ttl=1))
    client = "02:00:00:00:00:33"
    discover = dhcp(1, 1, 0x1234, client, options=[(12, b"h3")])
    request = dhcp(1, 3, 0x1234, client, options=[(50, ip4("10.0.0.100")), (54, ip4("10.0.0.254"))])

    def dhcp_frame(payload):
        return ethernet(BROADCAST, client, 0x0800,
                        ipv4("0.0.0.0", "255.255.255.255", 17, udp("0.0.0.0", 68, "255.255.255.255", 67, payload)))

    # Mode 6: the gateway resolved up front, every checksum made right.
    tour = bytes([6]) + b"".join([
        inside(arp_inside), outside(arp_outside), inside(syn), outside(syn_ack), inside(ack),
        outside(fin), inside(query), outside(unreachable), inside(ping_out), outside(ping_back),
        inside(ping_router), outside(ping_nat), inside(dns), outside(forward),
        outside(forward_udp), inside(expiring), inside(dhcp_frame(discover)),
        inside(dhcp_frame(request)), bytes([0xFF]) + struct.pack("!H", 600), inside(syn),
    ])
    write("nat", "nat-tour", tour)
    # Mode 0: the first frame waits for ARP, which the gateway then answers.
    gateway_reply = ethernet(OUTSIDE_MAC, GATEWAY_MAC, 0x0806,
                             arp(2, GATEWAY_MAC, "192.0.2.1", OUTSIDE_MAC, NAT))
    write("nat", "arp-hold", bytes([0]) + inside(ping_out) + outside(gateway_reply) + outside(ping_back))
    # Mode 1: the NAT asks the physical network's DHCP server for its own address.
    write("nat", "outside-dhcp-client", bytes([1]) + inside(ping_out, 30) + inside(ping_out, 30))
    # A partial checksum left for offload (virtio-net NEEDS_CSUM), mode 2.
    header = struct.pack("<BBHHHH", 1, 0, 0, 0, 34, 16)
    write("nat", "partial-checksum", bytes([2]) + bytes([0x40, 1]) + header + chunk(syn)
          + bytes([0xC0, 1]) + header + chunk(syn_ack))


def dhcp_seeds():
    x, y = "02:00:00:00:00:21", "02:00:00:00:00:22"
    fixed = "02:00:00:00:00:08"
    server = ip4("10.0.10.1")

    def to_server(payload, step=1):
        return bytes([0, step]) + chunk(payload)

    converse = bytes([2, 1])
    messages = [
        to_server(dhcp(1, 1, 1, x, options=[(12, b"x-host")])),
        to_server(dhcp(1, 3, 1, x, options=[(50, ip4("10.0.10.10")), (54, server)])),
        to_server(dhcp(1, 1, 2, y, options=[(50, ip4("10.0.10.10"))])),
        to_server(dhcp(1, 3, 2, y, options=[(50, ip4("10.0.10.11"))])),
        to_server(dhcp(1, 3, 3, x, ciaddr="10.0.10.10")),
        to_server(dhcp(1, 4, 4, y, options=[(50, ip4("10.0.10.11")), (54, server)])),
        to_server(dhcp(1, 7, 5, x, ciaddr="10.0.10.10", options=[(54, server)])),
        to_server(dhcp(1, 8, 6, x, ciaddr="10.0.10.10")),
        to_server(dhcp(1, 1, 7, fixed)),
        converse, converse, converse,
        bytes([2, 200]), converse,
        bytes([1, 1]) + chunk(dhcp(2, 6, 9, "02:00:00:00:00:42", options=[(54, server)])),
    ]
    write("dhcp", "dhcp-tour", b"".join(messages))
    write("dhcp", "client-binds", converse * 4)


for target in ["frame", "virtio", "retag", "topology", "control", "nat", "dhcp", "pcapng", "capture",
               "resources"]:
    shutil.rmtree(SEEDS / target, ignore_errors=True)
    (SEEDS / target).mkdir(parents=True)
frame_seeds()
virtio_seeds()
retag_seeds()
topology_seeds()
control_seeds()
nat_seeds()
dhcp_seeds()
pcapng_seeds()
capture_seeds()
resources_seeds()
for target in sorted(p.name for p in SEEDS.iterdir()):
    print("%-9s %d seeds" % (target, len(list((SEEDS / target).iterdir()))))
