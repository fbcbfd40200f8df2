#!/usr/bin/env python3
"""Measures L2 switches side by side: two network namespaces, pb1 (10.77.0.1) and pb2
(10.77.0.2), joined by one switch at a time, and the same four measurements for each.

    sudo python3 Benchmarks/peers.py [--seconds N] [--pings N] [--patchbay BINARY]
                                     [--before BINARY] MODE...

MODEs (run in the order given, each set up, measured and torn down before the next):
  patchbay       Patchbay, `BINARY up Benchmarks/peerbench.yaml`: a lab whose switch owns
                 the TAPs pbtap1 and pbtap2, which the harness moves into pb1 and pb2
  patchbay-poll  the same with `busy-poll: 10ms` (Benchmarks/peerbench-busy-poll.yaml)
  bridge         the Linux bridge pbbr, with a veth pair per namespace (pbhN in the bridge)
  vde            vde_switch with its two TAPs pbtap1 and pbtap2
  ovs, ovs-tso   Open vSwitch's userspace datapath (datapath_type=netdev, a private
                 ovsdb-server and ovs-vswitchd in a temporary folder) with TAP ports,
                 without and with userspace TSO
  veth           one veth pair, no switch: the floor of what the namespaces cost
  before         Patchbay as `patchbay`, with the binary given by --before (an earlier
                 build), so that a change is measured against what it changed, in one run

Measurements, all from pb1 to pb2: iperf3 TCP with 1 and with 4 streams (Gbit/s received),
iperf3 UDP with 64-byte datagrams and no rate limit (thousand datagrams per second
received, and the share lost), and ping's mean round trip (µs, N pings 5 ms apart).
Prints one line per mode, then a table, and for Patchbay's rows its ratio to each peer.
Exits 1 when a mode could not be measured. Everything it makes is named pb* and removed
afterwards, also on failure or Ctrl-C. Needs root; Scripts/bench installs the peers.
"""
import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
NAMESPACES = ("pb1", "pb2")
ADDRESSES = ("10.77.0.1", "10.77.0.2")
LINKS = ("pbbr", "pbh1", "pbh2", "pbg1", "pbg2", "pbtap1", "pbtap2", "pbv1", "pbv2")
PORT = 5301
NAMES = {"patchbay": "Patchbay", "patchbay-poll": "Patchbay, busy-poll 10ms",
         "bridge": "Linux bridge", "vde": "vde_switch", "ovs": "OVS userspace",
         "ovs-tso": "OVS userspace + TSO", "veth": "veth (no switch)",
         "before": "Patchbay before (--before)"}
LAB = "pbbench"  # the name in both topologies
TOPOLOGIES = {"patchbay": "peerbench.yaml", "patchbay-poll": "peerbench-busy-poll.yaml",
              "before": "peerbench.yaml"}


class SetupFailed(Exception):
    """A switch could not be set up; the message says why."""


def sh(argv, check=True, timeout=60, **kwargs):
    """Runs ARGV; raises SetupFailed with its stderr when it fails and CHECK is set."""
    result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, **kwargs)
    if check and result.returncode != 0:
        raise SetupFailed(f"{' '.join(argv)}: {result.stderr.strip() or result.returncode}")
    return result


def quiet(argv):
    """Runs ARGV for cleaning up: failure (nothing to remove) is fine."""
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def link_exists(name):
    return os.path.exists(f"/sys/class/net/{name}")


def wait_for_links(names, seconds=10.0):
    deadline = time.monotonic() + seconds
    while not all(link_exists(n) for n in names):
        if time.monotonic() > deadline:
            raise SetupFailed(f"no {' or '.join(n for n in names if not link_exists(n))} after {seconds:.0f} s")
        time.sleep(0.05)


def into_namespace(link, index):
    """Moves LINK into namespace pbINDEX as its address 10.77.0.INDEX/24, up."""
    ns = NAMESPACES[index - 1]
    sh(["ip", "link", "set", link, "netns", ns])
    sh(["ip", "-n", ns, "addr", "add", f"{ADDRESSES[index - 1]}/24", "dev", link])
    sh(["ip", "-n", ns, "link", "set", link, "up"])


def sweep():
    """Removes whatever an earlier, interrupted run left: the peers' daemons it started
    (their command lines name a patchbay-bench. folder), pb1, pb2 and the pb* links."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if os.path.basename(argv[0]) in (b"ovsdb-server", b"ovs-vswitchd", b"vde_switch") and \
                any(b"/patchbay-bench." in a for a in argv):
            try:
                os.kill(int(entry.name), signal.SIGKILL)
            except ProcessLookupError:
                pass
    for ns in NAMESPACES:
        quiet(["ip", "netns", "del", ns])
    for link in LINKS:
        if link_exists(link):
            quiet(["ip", "link", "del", link])


class Switch:
    """One mode's switch between pb1 and pb2: start() builds it, stop() removes it."""

    def __init__(self, mode, work, patchbay):
        self.mode, self.work, self.patchbay = mode, work, patchbay
        self.process = None
        self.ovs_env = dict(os.environ, OVS_RUNDIR=str(work), OVS_LOGDIR=str(work), OVS_DBDIR=str(work))

    def start(self):
        for ns in NAMESPACES:
            sh(["ip", "netns", "add", ns])
            sh(["ip", "-n", ns, "link", "set", "lo", "up"])
        kind = "patchbay" if self.mode == "before" else self.mode
        getattr(self, "start_" + kind.replace("-", "_").replace("_poll", "").replace("_tso", ""))()
        time.sleep(0.3)  # let the ports settle (IPv6 DAD, the switch's first poll)

    def start_veth(self):
        sh(["ip", "link", "add", "pbv1", "type", "veth", "peer", "name", "pbv2"])
        into_namespace("pbv1", 1)
        into_namespace("pbv2", 2)

    def start_bridge(self):
        sh(["ip", "link", "add", "pbbr", "type", "bridge"])
        sh(["ip", "link", "set", "pbbr", "up"])
        for i in (1, 2):
            sh(["ip", "link", "add", f"pbh{i}", "type", "veth", "peer", "name", f"pbg{i}"])
            sh(["ip", "link", "set", f"pbh{i}", "master", "pbbr", "up"])
            into_namespace(f"pbg{i}", i)

    def start_vde(self):
        sh(["vde_switch", "-d", "-s", str(self.work / "vde.ctl"), "-p", str(self.work / "vde.pid"),
            "-t", "pbtap1", "-t", "pbtap2"])
        self.attach_taps()

    def start_ovs(self):
        db, socket = self.work / "conf.db", f"unix:{self.work / 'db.sock'}"
        tso = "true" if self.mode == "ovs-tso" else "false"
        schema = "/usr/share/openvswitch/vswitch.ovsschema"
        run = lambda argv: sh(argv, env=self.ovs_env)  # noqa: E731
        run(["ovsdb-tool", "create", str(db), schema])
        run(["ovsdb-server", f"--remote=punix:{self.work / 'db.sock'}", f"--pidfile={self.work / 'db.pid'}",
             "--detach", f"--log-file={self.work / 'db.log'}", str(db)])
        run(["ovs-vsctl", f"--db={socket}", "--no-wait", "init"])
        run(["ovs-vsctl", f"--db={socket}", "--no-wait", "set", "Open_vSwitch", ".",
             f"other_config:userspace-tso-enable={tso}"])
        # Debian keeps ovs-vswitchd off the PATH (its ovs-ctl starts it from there).
        run(["/usr/lib/openvswitch-switch/ovs-vswitchd", socket, f"--pidfile={self.work / 'vswitchd.pid'}", "--detach",
             f"--log-file={self.work / 'vswitchd.log'}"])
        run(["ovs-vsctl", f"--db={socket}", "add-br", "pbbr", "--", "set", "bridge", "pbbr",
             "datapath_type=netdev"])
        for i in (1, 2):
            run(["ovs-vsctl", f"--db={socket}", "add-port", "pbbr", f"pbtap{i}", "--",
                 "set", "Interface", f"pbtap{i}", "type=tap"])
        self.attach_taps()

    def start_patchbay(self):
        if not self.patchbay:
            raise SetupFailed("no Patchbay binary (--patchbay)")
        topology = HERE / TOPOLOGIES[self.mode]
        quiet([self.patchbay, "down", LAB])  # the lab of an interrupted earlier run
        log = open(self.work / f"{self.mode}.log", "w")
        # In the foreground, as `patchbay up` runs for a user; SIGTERM makes it remove its lab.
        self.process = subprocess.Popen([self.patchbay, "up", str(topology)], stdout=log,
                                        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                        start_new_session=True)
        try:
            self.attach_taps()
        except SetupFailed as error:
            text = (self.work / f"{self.mode}.log").read_text().strip().splitlines()
            raise SetupFailed(f"{error}; patchbay said: {text[-1] if text else 'nothing'}") from None

    def attach_taps(self):
        wait_for_links(["pbtap1", "pbtap2"])
        into_namespace("pbtap1", 1)
        into_namespace("pbtap2", 2)

    def stop(self):
        """Removes the switch and the namespaces; safe after a partial start."""
        if self.process is not None:
            if self.process.poll() is None:
                self.process.send_signal(signal.SIGTERM)
                try:
                    self.process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()
            self.process = None
        for name in ("vswitchd.pid", "db.pid", "vde.pid"):
            pidfile = self.work / name
            try:  # a daemon removes its own pid file as it exits: it may be gone already
                os.kill(int(pidfile.read_text().split()[0]), signal.SIGTERM)
            except (OSError, ValueError, IndexError):
                pass
            pidfile.unlink(missing_ok=True)
        # ovs-vswitchd removes its bridge device as it exits: give it a moment first.
        deadline = time.monotonic() + 5
        while self.mode.startswith("ovs") and link_exists("pbbr") and time.monotonic() < deadline:
            time.sleep(0.1)
        sweep()


def iperf(args, seconds):
    """pb1's iperf3 client against pb2's server; its JSON report, or None."""
    argv = ["ip", "netns", "exec", "pb1", "iperf3", "-c", ADDRESSES[1], "-p", str(PORT),
            "-t", str(seconds), "-J", *args]
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 20)
        return json.loads(result.stdout)["end"]
    except (subprocess.TimeoutExpired, ValueError, KeyError):
        return None


def measure(seconds, pings):
    """{tcp1, tcp4 (Gbit/s), udp (kpps received), loss (%), rtt (µs)}; None where it failed."""
    row = dict.fromkeys(("tcp1", "tcp4", "udp", "loss", "rtt"))
    server = subprocess.Popen(["ip", "netns", "exec", "pb2", "iperf3", "-s", "-p", str(PORT)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.5)
        for key, extra in (("tcp1", []), ("tcp4", ["-P", "4"])):
            end = iperf(extra, seconds)
            if end and "sum_received" in end:
                row[key] = end["sum_received"]["bits_per_second"] / 1e9
        end = iperf(["-u", "-b", "0", "-l", "64"], seconds)
        if end and end.get("sum", {}).get("seconds"):
            total = end["sum"]
            row["udp"] = (total["packets"] - total["lost_packets"]) / total["seconds"] / 1e3
            row["loss"] = total["lost_percent"]
    finally:
        server.terminate()
        server.wait()
    ping = subprocess.run(["ip", "netns", "exec", "pb1", "ping", "-q", "-c", str(pings), "-i", "0.005",
                           ADDRESSES[1]], capture_output=True, text=True, timeout=pings * 0.1 + 20)
    for line in ping.stdout.splitlines():
        if line.startswith(("rtt", "round-trip")):
            row["rtt"] = float(line.split("=")[1].split("/")[1]) * 1000
    return row


def run_mode(mode, work, args):
    switch = Switch(mode, work, args.before if mode == "before" else args.patchbay)
    try:
        switch.start()
        reach = subprocess.run(["ip", "netns", "exec", "pb1", "ping", "-c", "1", "-W", "2", ADDRESSES[1]],
                               capture_output=True)
        if reach.returncode != 0:
            raise SetupFailed("pb1 cannot ping pb2")
        return measure(args.seconds, args.pings), None
    except (SetupFailed, subprocess.TimeoutExpired, OSError) as error:
        return None, str(error)
    finally:
        switch.stop()


def cell(value, unit, digits):
    return "n/a" if value is None else f"{value:.{digits}f}{unit}"


def ratio(a, b):
    return f"{a / b:.2f}x" if a and b else "n/a"


def report(rows):
    print()
    print("| path | 1 TCP stream | 4 TCP streams | 64-byte UDP delivered | ping RTT |")
    print("|---|---|---|---|---|")
    for mode, r in rows.items():
        lost = "" if r["loss"] is None else f" ({r['loss']:.1f}% lost)"
        print(f"| {NAMES[mode]} | {cell(r['tcp1'], ' Gbit/s', 2)} | {cell(r['tcp4'], ' Gbit/s', 2)} | "
              f"{cell(r['udp'], ' kpps', 0)}{lost} | {cell(r['rtt'], ' µs', 0)} |")
    peers = [m for m in rows if not m.startswith("patchbay")]
    for own in (m for m in rows if m.startswith("patchbay")):
        if not peers:
            break
        mine = rows[own]
        print()
        print(f"{NAMES[own]} relative to each peer (throughput: Patchbay / peer; RTT: peer / Patchbay; "
              "higher is better):")
        print()
        print("| peer | 1 TCP stream | 4 TCP streams | 64-byte UDP | RTT |")
        print("|---|---|---|---|---|")
        for peer in peers:
            r = rows[peer]
            print(f"| {NAMES[peer]} | {ratio(mine['tcp1'], r['tcp1'])} | {ratio(mine['tcp4'], r['tcp4'])} | "
                  f"{ratio(mine['udp'], r['udp'])} | {ratio(r['rtt'], mine['rtt'])} |")
    print()
    print(f"machine: {os.cpu_count()} cores, kernel {platform.release()}")


def interrupted(signum, frame):
    raise KeyboardInterrupt


def main():
    parser = argparse.ArgumentParser(description="Measures L2 switches side by side (see the file's doc).")
    parser.add_argument("--seconds", type=int, default=5, help="seconds per iperf3 run (default 5)")
    parser.add_argument("--pings", type=int, default=200, help="pings for the RTT (default 200)")
    parser.add_argument("--patchbay", help="the patchbay binary, for the patchbay modes")
    parser.add_argument("--before", help="an earlier patchbay binary, for the before mode")
    parser.add_argument("modes", nargs="+", choices=list(NAMES), metavar="MODE")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("patchbay: error: Benchmarks/peers.py needs root (namespaces, TAPs)", file=sys.stderr)
        return 1
    if args.seconds < 1 or args.pings < 1:
        print("patchbay: error: --seconds and --pings must be at least 1", file=sys.stderr)
        return 2
    # SIGTERM as Ctrl-C, so the finally clauses remove what the current mode made.
    signal.signal(signal.SIGTERM, interrupted)
    work = Path(tempfile.mkdtemp(prefix="patchbay-bench."))
    rows, failed = {}, []
    try:
        sweep()
        for mode in args.modes:
            row, error = run_mode(mode, work, args)
            if row is None or None in (row["tcp1"], row["tcp4"], row["udp"], row["rtt"]):
                failed.append(mode)
                print(f"{mode} FAILED: {error or 'a measurement gave no result: ' + json.dumps(row)}", flush=True)
            if row is not None:
                rows[mode] = row
                print(f"{mode} tcp1_gbps={cell(row['tcp1'], '', 2)} tcp4_gbps={cell(row['tcp4'], '', 2)} "
                      f"udp64_kpps={cell(row['udp'], '', 0)} udp64_loss_pct={cell(row['loss'], '', 1)} "
                      f"rtt_us={cell(row['rtt'], '', 0)}", flush=True)
    except KeyboardInterrupt:
        print("peers: interrupted", file=sys.stderr)
        return 130
    finally:
        sweep()
        shutil.rmtree(work, ignore_errors=True)
    report(rows)
    if failed:
        print(f"patchbay: error: the benchmark could not measure: {' '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
