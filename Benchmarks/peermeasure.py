"""The measuring half of Benchmarks/peers.py: iperf3 and ping between the namespaces that
peerlib makes, the zero-loss search and the switch's CPU time (see peers.py for what each
column means)."""
import json
import os
import statistics
import subprocess
import time
from pathlib import Path

from peerlib import address, descendants

PORT = 5301
LOSS_LIMIT = 0.1  # % lost that still counts as zero loss (RFC 2544 style, with a tolerance)
UDP_PAYLOAD = 64  # bytes per datagram; iperf3's -b counts payload bits
TICKS = os.sysconf("SC_CLK_TCK")


class Servers:
    """iperf3 servers in the namespaces pbINDEX..., for a with block; stopped at its end."""

    def __init__(self, *indexes):
        self.indexes, self.processes = indexes, []

    def __enter__(self):
        for i in self.indexes:
            self.processes.append(subprocess.Popen(
                ["ip", "netns", "exec", f"pb{i}", "iperf3", "-s", "-p", str(PORT)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        time.sleep(0.5)
        return self

    def __exit__(self, *exc):
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def client(args, seconds, source=1, target=2):
    """The argv of pbSOURCE's iperf3 client against pbTARGET's server."""
    return ["ip", "netns", "exec", f"pb{source}", "iperf3", "-c", address(target), "-p", str(PORT),
            "-t", str(seconds), "-J", *args]


def report_end(text):
    """The "end" part of an iperf3 JSON report, or None when there is none."""
    try:
        end = json.loads(text)["end"]
    except (ValueError, KeyError, TypeError):
        return None
    return end or None


def iperf(args, seconds, source=1, target=2):
    try:
        result = subprocess.run(client(args, seconds, source, target), capture_output=True, text=True,
                                timeout=seconds + 20)
    except subprocess.TimeoutExpired:
        return None
    return report_end(result.stdout)


def received_gbps(end):
    if end and "sum_received" in end:
        return end["sum_received"]["bits_per_second"] / 1e9
    return None


def cpu_seconds(pids):
    """User plus system time of PIDS and of every process below them, in seconds; None for
    None (a kernel switch, whose work no process owns). Counts all of a process's threads."""
    if pids is None:
        return None
    total = 0
    for pid in {p for root in pids for p in descendants(root)}:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # exited meanwhile
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / TICKS


def udp(rate_bps, seconds):
    """One 64-byte UDP trial from pb1 to pb2 at RATE_BPS bits/s of payload (0: as fast as
    iperf3 can send): (offered kpps, delivered kpps, % lost), or None."""
    end = iperf(["-u", "-b", str(int(rate_bps)), "-l", str(UDP_PAYLOAD)], seconds)
    total = end and end.get("sum")
    if not total or not total.get("seconds"):
        return None
    sent = end.get("sum_sent", total)
    offered = sent["packets"] / sent["seconds"] / 1e3
    delivered = (total["packets"] - total["lost_packets"]) / total["seconds"] / 1e3
    return offered, delivered, total["lost_percent"]


def zero_loss(unlimited, seconds, steps):
    """The highest offered 64-byte rate (kpps) that loses less than LOSS_LIMIT %, by binary
    search between 0 and UNLIMITED's offered rate in STEPS trials of SECONDS each; with
    the lowest rate tried when every trial lost more: (kpps, None) or (None, floor kpps)."""
    offered, delivered, loss = unlimited
    if loss < LOSS_LIMIT:
        return delivered, None
    low, high, best = 0.0, offered, None
    for _ in range(steps):
        middle = (low + high) / 2
        trial = udp(middle * 1e3 * UDP_PAYLOAD * 8, seconds)
        if trial is None:
            return None, None
        if trial[2] < LOSS_LIMIT:
            low, best = middle, max(best or 0.0, trial[0])
        else:
            high = middle
    return (best, None) if best is not None else (None, high)


def ping(pings):
    """(median, mean) round trip in µs of PINGS pings from pb1 to pb2 5 ms apart, or Nones."""
    try:
        result = subprocess.run(["ip", "netns", "exec", "pb1", "ping", "-c", str(pings), "-i", "0.005",
                                 address(2)], capture_output=True, text=True, timeout=pings * 0.1 + 20)
    except subprocess.TimeoutExpired:
        return None, None
    times = [float(word[5:]) * 1000 for line in result.stdout.splitlines() for word in line.split()
             if word.startswith("time=")]
    if not times:
        return None, None
    return statistics.median(times), statistics.fmean(times)


def measure_pair(switch, args):
    """Everything measured between pb1 and pb2 of SWITCH: tcp1, tcp4 (Gbit/s), udp (kpps
    delivered), loss (%), zl (zero-loss kpps) or zl_floor, rtt and rtt_mean (µs), cpu_gb
    (CPU-seconds per GB received, 4 streams) and idle (% of one core); None where it failed."""
    row = dict.fromkeys(("tcp1", "tcp4", "udp", "loss", "zl", "zl_floor", "rtt", "rtt_mean", "cpu_gb", "idle"))
    with Servers(2):
        row["tcp1"] = received_gbps(iperf([], args.seconds))
        before = cpu_seconds(switch.pids())
        end = iperf(["-P", "4"], args.seconds)
        after = cpu_seconds(switch.pids())
        row["tcp4"] = received_gbps(end)
        if row["tcp4"] and before is not None and after is not None:
            row["cpu_gb"] = (after - before) / (end["sum_received"]["bytes"] / 1e9)
        unlimited = udp(0, args.seconds)
        if unlimited is not None:
            row["udp"], row["loss"] = unlimited[1], unlimited[2]
            if args.search_steps > 0:
                row["zl"], row["zl_floor"] = zero_loss(unlimited, args.trial_seconds, args.search_steps)
    row["rtt"], row["rtt_mean"] = ping(args.pings)
    time.sleep(0.5)  # past any busy-poll window the pings opened
    before = cpu_seconds(switch.pids())
    time.sleep(args.idle_seconds)
    after = cpu_seconds(switch.pids())
    if before is not None and after is not None:
        row["idle"] = (after - before) / args.idle_seconds * 100
    return row


def measure_four_pairs(seconds):
    """One TCP stream in each of the pairs pb1->pb2, pb3->pb4, pb5->pb6, pb7->pb8 at once:
    (sum of the Gbit/s received, [each pair's]) or (None, [...]) when a pair failed."""
    with Servers(2, 4, 6, 8):
        clients = [subprocess.Popen(client([], seconds, i, i + 1), stdout=subprocess.PIPE,
                                    stderr=subprocess.DEVNULL, text=True) for i in (1, 3, 5, 7)]
        try:
            outputs = [c.communicate(timeout=seconds + 20)[0] for c in clients]
        except subprocess.TimeoutExpired:
            outputs = []
        finally:
            for c in clients:
                if c.poll() is None:
                    c.kill()
                    c.wait()
    pairs = [received_gbps(report_end(text)) for text in outputs]
    if len(pairs) != 4 or None in pairs:
        return None, pairs
    return sum(pairs), pairs
