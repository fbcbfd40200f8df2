#!/usr/bin/env python3
"""One host's traffic for Scripts/soak, run inside the host's namespace:

  agent.py PLAN.json HOST OUT.json

Plays every role the plan gives HOST until SIGTERM or SIGINT, then writes its
counters to OUT.json (also every few seconds while it runs, so a progress line
or a post-mortem can read them):

- TCP: a sender writes a deterministic pseudo-random stream (chunk k of a
  connection is random.Random(seed, k).randbytes) at a paced rate, in writes
  of varying size, and starts a new connection every few MiB; the receiver
  regenerates the stream from the seed the connection opens with and compares
  every byte. A stall (the host or its peer is down) ends the connection and
  the sender reconnects.
- UDP: datagrams to the plan's peers, each carrying the sender, its VLAN, a
  sequence number and a SHA-256 digest of the rest; some are larger than the
  MTU (IP fragments). Loss is allowed and counted; a bad digest is corruption.
- Broadcast: the same kind of datagram to 255.255.255.255 once a second; a
  datagram from another VLAN is a leak.
- MAC churn (sources): raw Ethernet frames through a packet socket from a
  sliding window of source MACs, untagged and tagged, to a sink host, to broadcast and
  to unknown unicast; plus a few frames the switch must drop (tagged on an
  access port, VLAN not allowed, multicast source, reserved group, runt).
- Churn sinks read those frames with a packet socket and check their digests.

Every send tolerates the link being down (errors are counted, not fatal).
"""
import hashlib
import json
import os
import random
import signal
import socket
import struct
import sys
import threading
import time

STOP = threading.Event()
LOCK = threading.Lock()
STATS = {
    "tcp_sent": {},  # stream "SRC>DST" -> {"bytes", "connections", "errors", "stalls"}
    "tcp_received": {},  # stream -> {"bytes", "bad_bytes", "connections", "first_bad"}
    "udp_sent": {},  # "SRC>DST" -> {"datagrams", "errors"}
    "udp_received": {},  # "SRC>DST" -> {"datagrams", "reordered"}
    "udp_corrupted": 0,
    "broadcast_sent": 0,
    "broadcast_send_errors": 0,
    "broadcast_received": {},  # sender -> datagrams
    "broadcast_corrupted": 0,
    "vlan_leaks": 0,  # frames or datagrams from another VLAN
    "churn_sent": 0,
    "churn_bad_sent": 0,
    "churn_send_errors": 0,
    "churn_received": 0,
    "churn_corrupted": 0,
    "errors": [],  # unexpected exceptions, by thread
}

CHUNK = 65536
UDP_MAGIC = b"SOKU"
BROADCAST_MAGIC = b"SOKB"
CHURN_MAGIC = b"CHRN"
HEADER = struct.Struct("!4sBBQ")  # magic, sender index, VLAN, sequence
DIGEST = 16


def keep_pace(pace, step):
    """Waits until `pace + step` (the next send's time) and returns it; after a
    stall of over a second, starts again from now instead of bursting to catch up."""
    pace += step
    now = time.monotonic()
    if pace > now:
        STOP.wait(pace - now)
    elif now - pace > 1:
        pace = now
    return pace


def bump(table, key, field, amount=1):
    with LOCK:
        entry = table.setdefault(key, {})
        entry[field] = entry.get(field, 0) + amount


def count(field, amount=1):
    with LOCK:
        STATS[field] += amount


def note_error(where, error):
    with LOCK:
        if len(STATS["errors"]) < 20:
            STATS["errors"].append("%s: %r" % (where, error))


def guarded(function):
    """A thread body that records an unexpected exception instead of dying silently."""

    def run(*args):
        try:
            function(*args)
        except Exception as error:  # noqa: BLE001 - reported in the stats
            note_error(function.__name__, error)

    return run


class Stream:
    """The deterministic byte stream of one TCP connection."""

    def __init__(self, seed):
        self.seed = seed
        self.position = 0
        self.index = -1
        self.chunk = b""

    def _chunk(self, index):
        if index != self.index:
            self.index = index
            self.chunk = random.Random(self.seed * 1000003 + index).randbytes(CHUNK)
        return self.chunk

    def read(self, count):
        parts = []
        while count > 0:
            index, offset = divmod(self.position, CHUNK)
            take = min(count, CHUNK - offset)
            parts.append(self._chunk(index)[offset:offset + take])
            self.position += take
            count -= take
        return b"".join(parts)


def sealed(magic, sender, vlan, sequence, payload):
    header = HEADER.pack(magic, sender, vlan, sequence)
    return header + hashlib.sha256(header + payload).digest()[:DIGEST] + payload


def unseal(magic, data):
    """(sender, vlan, sequence) of an intact message, or None if it is corrupted."""
    if len(data) < HEADER.size + DIGEST:
        return None
    header, digest, payload = data[:HEADER.size], data[HEADER.size:HEADER.size + DIGEST], data[HEADER.size + DIGEST:]
    if hashlib.sha256(header + payload).digest()[:DIGEST] != digest:
        return None
    got_magic, sender, vlan, sequence = HEADER.unpack(header)
    if got_magic != magic:
        return None
    return sender, vlan, sequence


# TCP


@guarded
def tcp_sender(plan, me, peer, rate):
    key = "%s>%s" % (me["name"], peer["name"])
    bump(STATS["tcp_sent"], key, "bytes", 0)
    rng = random.Random()
    while not STOP.is_set():
        try:
            sock = socket.create_connection((peer["address"], plan["ports"]["tcp"]), timeout=3)
        except OSError:
            bump(STATS["tcp_sent"], key, "errors")
            STOP.wait(1)
            continue
        bump(STATS["tcp_sent"], key, "connections")
        try:
            seed = rng.getrandbits(62)
            stream = Stream(seed)
            budget = rng.randint(4, 48) << 20
            sock.settimeout(0.5)
            sock.sendall(struct.pack("!8sQ", b"SOAKTCP1", seed))
            sent = 0
            pace = time.monotonic()
            progress = pace
            while not STOP.is_set() and sent < budget:
                size = rng.choice((rng.randint(1, 1500), rng.randint(1, 16384), CHUNK))
                view = memoryview(stream.read(size))
                while view and not STOP.is_set():
                    try:
                        written = sock.send(view)
                    except socket.timeout:
                        if time.monotonic() - progress > 15:
                            raise TimeoutError("no progress for 15 s")
                        continue
                    view = view[written:]
                    progress = time.monotonic()
                    bump(STATS["tcp_sent"], key, "bytes", written)
                sent += size
                pace = keep_pace(pace, size / rate)
            if not STOP.is_set():
                # A clean end: the receiver closes after reading everything.
                sock.shutdown(socket.SHUT_WR)
                sock.settimeout(10)
                while sock.recv(4096):
                    pass
        except TimeoutError:
            bump(STATS["tcp_sent"], key, "stalls")
        except OSError:
            bump(STATS["tcp_sent"], key, "errors")
            STOP.wait(1)
        finally:
            sock.close()


@guarded
def tcp_connection(plan, sock, peer_name, me):
    key = "%s>%s" % (peer_name, me["name"])
    sock.settimeout(0.5)
    header = b""
    idle = 0.0
    try:
        while len(header) < 16 and not STOP.is_set():
            try:
                data = sock.recv(16 - len(header))
            except socket.timeout:
                idle += 0.5
                if idle > 30:
                    return
                continue
            if not data:
                return
            header += data
        if len(header) < 16:
            return
        magic, seed = struct.unpack("!8sQ", header)
        if magic != b"SOAKTCP1":
            bump(STATS["tcp_received"], key, "bad_bytes", 16)
            return
        bump(STATS["tcp_received"], key, "connections")
        stream = Stream(seed)
        idle = 0.0
        while not STOP.is_set():
            try:
                data = sock.recv(262144)
            except socket.timeout:
                idle += 0.5
                if idle > 30:
                    return  # the sender gave up on this connection long ago
                continue
            except OSError:
                return
            if not data:
                return
            idle = 0.0
            start = stream.position
            expected = stream.read(len(data))
            if data != expected:
                bad = sum(1 for a, b in zip(data, expected) if a != b)
                bump(STATS["tcp_received"], key, "bad_bytes", bad)
                with LOCK:
                    entry = STATS["tcp_received"][key]
                    entry.setdefault("first_bad", "seed %d offset %d" % (seed, start))
            bump(STATS["tcp_received"], key, "bytes", len(data))
    finally:
        sock.close()


@guarded
def tcp_server(plan, me, senders):
    by_address = {h["address"]: h["name"] for h in plan["hosts"]}
    for sender in senders:
        bump(STATS["tcp_received"], "%s>%s" % (sender, me["name"]), "bytes", 0)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("0.0.0.0", plan["ports"]["tcp"]))
    listener.listen(64)
    listener.settimeout(0.5)
    while not STOP.is_set():
        try:
            sock, (address, _) = listener.accept()
        except socket.timeout:
            continue
        except OSError as error:
            note_error("accept", error)
            STOP.wait(0.5)
            continue
        name = by_address.get(address, address)
        threading.Thread(target=tcp_connection, args=(plan, sock, name, me), daemon=True).start()


# UDP and broadcast


@guarded
def udp_sender(plan, me, peers, rate):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rng = random.Random()
    sequence = {p["name"]: 0 for p in peers}
    for p in peers:
        bump(STATS["udp_sent"], "%s>%s" % (me["name"], p["name"]), "datagrams", 0)
    interval = 1.0 / (rate * len(peers))
    pace = time.monotonic()
    turn = 0
    while not STOP.is_set():
        peer = peers[turn % len(peers)]
        turn += 1
        key = "%s>%s" % (me["name"], peer["name"])
        size = rng.randint(1, 1400) if rng.random() < 0.95 else rng.randint(1473, 6000)
        message = sealed(UDP_MAGIC, me["index"], me["vlan"], sequence[peer["name"]], rng.randbytes(size))
        try:
            sock.sendto(message, (peer["address"], plan["ports"]["udp"]))
            sequence[peer["name"]] += 1
            bump(STATS["udp_sent"], key, "datagrams")
        except OSError:
            bump(STATS["udp_sent"], key, "errors")
        pace = keep_pace(pace, interval)


@guarded
def udp_receiver(plan, me):
    names = {h["index"]: h["name"] for h in plan["hosts"]}
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    sock.bind(("0.0.0.0", plan["ports"]["udp"]))
    sock.settimeout(0.5)
    highest = {}
    while not STOP.is_set():
        try:
            data = sock.recv(65536)
        except socket.timeout:
            continue
        except OSError:
            continue
        seen = unseal(UDP_MAGIC, data)
        if seen is None:
            count("udp_corrupted")
            continue
        sender, vlan, sequence = seen
        if vlan != me["vlan"]:
            count("vlan_leaks")
        key = "%s>%s" % (names.get(sender, sender), me["name"])
        bump(STATS["udp_received"], key, "datagrams")
        if sequence < highest.get(key, -1):
            bump(STATS["udp_received"], key, "reordered")
        highest[key] = max(sequence, highest.get(key, -1))


def broadcast_socket(plan):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Bound to eth0: 255.255.255.255 then needs no route and cannot go elsewhere.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b"eth0")
    sock.bind(("0.0.0.0", plan["ports"]["broadcast"]))
    return sock


@guarded
def broadcaster(plan, me, sock):
    rng = random.Random()
    sequence = 0
    while not STOP.wait(0.8 + 0.4 * rng.random()):
        message = sealed(BROADCAST_MAGIC, me["index"], me["vlan"], sequence, rng.randbytes(rng.randint(1, 1200)))
        try:
            sock.sendto(message, ("255.255.255.255", plan["ports"]["broadcast"]))
            sequence += 1
            count("broadcast_sent")
        except OSError:
            count("broadcast_send_errors")


@guarded
def broadcast_receiver(plan, me, sock):
    names = {h["index"]: h["name"] for h in plan["hosts"]}
    sock.settimeout(0.5)
    while not STOP.is_set():
        try:
            data = sock.recv(65536)
        except (socket.timeout, OSError):
            continue
        seen = unseal(BROADCAST_MAGIC, data)
        if seen is None:
            count("broadcast_corrupted")
            continue
        sender, vlan, _ = seen
        if sender == me["index"]:
            continue  # our own, looped back by the kernel
        if vlan != me["vlan"]:
            count("vlan_leaks")
        bump(STATS, "broadcast_received", names.get(sender, str(sender)))


# MAC churn


def mac_bytes(text):
    return bytes(int(part, 16) for part in text.split(":"))


@guarded
def churn_source(plan, me, config):
    ethertype = plan["churn_ethertype"]
    hosts = {h["name"]: h for h in plan["hosts"]}
    sinks = {int(vlan): mac_bytes(hosts[name]["mac"]) for vlan, name in config["sink"].items()}
    window, drift = plan["churn_window"], plan["churn_drift"]
    rng = random.Random()
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    sock.bind(("eth0", 0))
    interval = 1.0 / config["rate"]
    pace = time.monotonic()
    sequence = 0
    last_bad = time.monotonic()
    while not STOP.is_set():
        vlan = rng.choice(config["vlans"])
        # Both sources slide the same window on the same clock: MACs also move.
        index = (int(time.time() * drift) + rng.randrange(window)) & 0xFFFFFF
        source = bytes((0x02, 0xCC, 0x00, index >> 16 & 0xFF, index >> 8 & 0xFF, index & 0xFF))
        pick = rng.random()
        if pick < 0.5:
            destination = sinks[vlan]
        elif pick < 0.75:
            destination = b"\xff" * 6
        else:
            destination = bytes((0x02, 0xEE, 0, 0, rng.randrange(256), rng.randrange(256)))  # unknown
        tag = b"" if vlan == me["vlan"] else struct.pack("!HH", 0x8100, vlan)
        body = sealed(CHURN_MAGIC, me["index"], vlan, sequence, rng.randbytes(rng.randint(30, 400)))
        frame = destination + source + tag + struct.pack("!H", ethertype) + body
        try:
            sock.send(frame)
            sequence += 1
            count("churn_sent")
        except OSError:
            count("churn_send_errors")
        now = time.monotonic()
        if now - last_bad >= 0.5:
            last_bad = now
            send_bad_frame(sock, me, rng, ethertype)
        pace = keep_pace(pace, interval)


def send_bad_frame(sock, me, rng, ethertype):
    """One frame the switch must refuse, with a named drop reason."""
    source = mac_bytes(me["mac"])
    payload = rng.randbytes(46)
    kind = rng.randrange(4)
    if kind == 0:  # a tag on an access port, or a VLAN the trunk does not carry
        frame = b"\xff" * 6 + source + struct.pack("!HH", 0x8100, 30) + struct.pack("!H", ethertype) + payload
    elif kind == 1:  # a multicast source MAC
        frame = b"\xff" * 6 + b"\x01\x00\x5e\x00\x00\x01" + struct.pack("!H", ethertype) + payload
    elif kind == 2:  # an IEEE reserved group address (LLDP)
        frame = b"\x01\x80\xc2\x00\x00\x0e" + source + struct.pack("!H", 0x88CC) + payload
    else:  # a VLAN tag cut short: a runt
        frame = b"\xff" * 6 + source + b"\x81\x00"
    try:
        sock.send(frame)
        count("churn_bad_sent")
    except OSError:
        count("churn_send_errors")


@guarded
def churn_sink(plan, me):
    ethertype = plan["churn_ethertype"]
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ethertype))
    sock.bind(("eth0", ethertype))
    sock.settimeout(0.5)
    while not STOP.is_set():
        try:
            frame = sock.recv(65536)
        except (socket.timeout, OSError):
            continue
        seen = unseal(CHURN_MAGIC, frame[14:])
        if seen is None:
            count("churn_corrupted")
            continue
        _, vlan, _ = seen
        if vlan != me["vlan"]:
            count("vlan_leaks")
        count("churn_received")


# Main


def write_stats(path):
    with LOCK:
        text = json.dumps(STATS)
    temporary = path + ".tmp"
    with open(temporary, "w") as file:
        file.write(text)
    os.replace(temporary, path)


def main():
    plan_path, name, out = sys.argv[1:4]
    with open(plan_path) as file:
        plan = json.load(file)
    hosts = {h["name"]: h for h in plan["hosts"]}
    me = hosts[name]
    signal.signal(signal.SIGTERM, lambda *_: STOP.set())
    signal.signal(signal.SIGINT, lambda *_: STOP.set())
    rates = plan["rates"]

    threads = []

    def start(target, *args):
        thread = threading.Thread(target=target, args=args, daemon=True)
        thread.start()
        threads.append(thread)

    senders = [s for s, r in plan["tcp"] if r == name]
    if senders:
        start(tcp_server, plan, me, senders)
    start(udp_receiver, plan, me)
    broadcast = broadcast_socket(plan)
    start(broadcast_receiver, plan, me, broadcast)
    if name in plan["churn_sinks"]:
        start(churn_sink, plan, me)
    time.sleep(1.0)  # every host's receivers are up before anyone sends
    for sender, receiver in plan["tcp"]:
        if sender == name:
            start(tcp_sender, plan, me, hosts[receiver], rates["tcp_bytes_per_second"])
    peers = [hosts[r] for s, r in plan["udp"] if s == name]
    if peers:
        start(udp_sender, plan, me, peers, rates["udp_datagrams_per_second"])
    start(broadcaster, plan, me, broadcast)
    if name in plan["churn"]:
        start(churn_source, plan, me, plan["churn"][name])

    while not STOP.wait(2):
        write_stats(out)
    deadline = time.monotonic() + 3
    for thread in threads:
        thread.join(max(0, deadline - time.monotonic()))
    time.sleep(0.6)  # connection threads notice STOP within 0.5 s
    write_stats(out)


if __name__ == "__main__":
    main()
