#!/usr/bin/env python3
"""Measures L2 switches side by side: network namespaces pb1, pb2, ... (10.77.0.1, 10.77.0.2,
...) joined by one switch at a time, and the same measurements for each.

    sudo python3 Benchmarks/peers.py [--seconds N] [--pings N] [--trial-seconds N]
        [--search-steps N] [--idle-seconds N] [--patchbay BINARY] [--before BINARY] MODE...

MODEs (run in the order given, each set up, measured and torn down before the next):
  patchbay       Patchbay, `BINARY up Benchmarks/peerbench.yaml`: a lab whose switch owns
                 the TAPs pbtap1 and pbtap2, which the harness moves into pb1 and pb2
  patchbay-poll  the same with `busy-poll: 10ms` (Benchmarks/peerbench-busy-poll.yaml)
  patchbay-1t    the same with `datapath-threads: 1` (Benchmarks/peerbench-1thread.yaml)
  bridge         the Linux bridge pbbr, with a veth pair per namespace (pbhN in the bridge)
  vde            vde_switch with its TAPs pbtap1, pbtap2, ...
  ovs, ovs-tso   Open vSwitch's userspace datapath (datapath_type=netdev, a private
                 ovsdb-server and ovs-vswitchd in a temporary folder) with TAP ports,
                 without and with userspace TSO
  veth           a veth pair per pair of hosts, no switch: the floor of what the namespaces cost
  before         Patchbay as `patchbay`, with the binary given by --before (an earlier
                 build), so that a change is measured against what it changed, in one run

Columns. With two hosts, from pb1 to pb2 (N = --seconds):
  1 TCP stream, 4 TCP streams   iperf3 TCP, N s, Gbit/s received
  64-byte UDP delivered         iperf3 -u -l 64 -b 0 (no rate limit), N s: thousand datagrams
                                per second received, and the share lost
  zero-loss 64-byte             RFC 2544 style: a binary search on the offered rate (iperf3
                                -u -l 64 -b RATE) between 0 and the rate the unlimited run
                                offered, --search-steps trials of --trial-seconds each, for the
                                highest rate that loses less than 0.1%; kpps offered ("<X" when
                                even the lowest rate tried, X, lost more; the unlimited run's
                                delivered rate when it lost less)
  ping RTT                      median (p50) and mean of --pings pings 5 ms apart, µs
  CPU per GB                    CPU-seconds (user + system, all threads, /proc/PID/stat) that
                                the switch's processes spent during the 4-stream run, per GB
                                (1e9 bytes) received: Patchbay's daemon and what it started,
                                vde_switch, ovs-vswitchd. A TAP switch's system time includes
                                the receiving host's stack, run inside its write() to the TAP.
                                "n/a" for the Linux bridge and veth: the kernel forwards in the
                                senders' system calls and softirqs, which no process owns (a
                                machine-wide softirq count would mix in the hosts' own stacks).
  CPU idle                      the same processes' CPU time over --idle-seconds with the lab
                                up and no traffic, in % of one core ("n/a" as above)
With eight hosts, in a second set-up of the same mode (Patchbay: Benchmarks/peerbench-4pairs.yaml,
eight TAPs pbtap1..8, with the mode's top-level settings added; the bridge: eight veths; vde and
OVS: eight TAPs):
  4 pairs at once               one iperf3 TCP stream in each of pb1->pb2, pb3->pb4, pb5->pb6
                                and pb7->pb8 at the same time, N s: the sum received, Gbit/s

Prints one line per mode, then a table, and for Patchbay's rows its ratio to each peer per
column (throughput: Patchbay / peer; RTT and CPU: peer / Patchbay; higher is better). Exits 1
when a mode could not be measured. Everything it makes is named pb* and removed afterwards,
also on failure or Ctrl-C. Needs root; Scripts/bench installs the peers.
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
from pathlib import Path

from peerlib import MOST_HOSTS, SetupFailed, Switch, address, sweep
from peermeasure import LOSS_LIMIT, measure_four_pairs, measure_pair

NAMES = {"patchbay": "Patchbay", "patchbay-poll": "Patchbay, busy-poll 10ms",
         "patchbay-1t": "Patchbay, 1 datapath thread",
         "bridge": "Linux bridge", "vde": "vde_switch", "ovs": "OVS userspace",
         "ovs-tso": "OVS userspace + TSO", "veth": "veth (no switch)",
         "before": "Patchbay before (--before)"}
REQUIRED = ("tcp1", "tcp4", "pairs4", "udp", "rtt")  # a mode without one of these failed
# The table's columns: (key, heading, unit, digits, higher is better).
COLUMNS = (("tcp1", "1 TCP stream", " Gbit/s", 2, True), ("tcp4", "4 TCP streams", " Gbit/s", 2, True),
           ("pairs4", "4 pairs at once", " Gbit/s", 2, True), ("udp", "64-byte UDP delivered", " kpps", 0, True),
           ("zl", "zero-loss 64-byte", " kpps", 0, True), ("rtt", "ping RTT p50 (mean)", " µs", 0, False),
           ("cpu_gb", "CPU per GB (4 streams)", " CPU-s", 2, False), ("idle", "CPU idle", "%", 1, False))


def run_mode(mode, work, args):
    """Sets MODE up twice, for the two-host and the four-pair measurements: (row, error)."""
    binary = args.before if mode == "before" else args.patchbay
    row, error = None, None
    for hosts in (2, MOST_HOSTS):
        switch = Switch(mode, work, binary, hosts)
        try:
            switch.start()
            for i in range(1, hosts + 1, 2):
                reach = subprocess.run(["ip", "netns", "exec", f"pb{i}", "ping", "-c", "1", "-W", "2",
                                        address(i + 1)], capture_output=True)
                if reach.returncode != 0:
                    raise SetupFailed(f"pb{i} cannot ping pb{i + 1} ({hosts} hosts)")
            if hosts == 2:
                row = measure_pair(switch, args)
            else:
                row["pairs4"], row["pairs"] = measure_four_pairs(args.seconds)
        except (SetupFailed, subprocess.TimeoutExpired, OSError) as failure:
            error = str(failure)
            break
        finally:
            switch.stop()
    if row is not None:
        row.setdefault("pairs4", None)
        row.setdefault("pairs", [])
    return row, error


def cell(value, unit, digits):
    return "n/a" if value is None else f"{value:.{digits}f}{unit}"


def ratio(a, b):
    return f"{a / b:.2f}x" if a and b else "n/a"


def show(row, key, unit, digits):
    """ROW's KEY as the table shows it."""
    if key == "udp" and row["loss"] is not None:
        return f"{cell(row['udp'], unit, digits)} ({row['loss']:.1f}% lost)"
    if key == "zl" and row["zl"] is None and row["zl_floor"] is not None:
        return f"< {row['zl_floor']:.0f}{unit}"
    if key == "rtt" and row["rtt_mean"] is not None:
        return f"{cell(row['rtt'], unit, digits)} ({row['rtt_mean']:.0f})"
    return cell(row[key], unit, digits)


def line(mode, row):
    """The one line per mode, KEY=VALUE, for scripts."""
    pairs = "/".join(cell(p, "", 2) for p in row["pairs"]) or "n/a"
    zl = cell(row["zl"], "", 0) if row["zl_floor"] is None else f"<{row['zl_floor']:.0f}"
    return (f"{mode} tcp1_gbps={cell(row['tcp1'], '', 2)} tcp4_gbps={cell(row['tcp4'], '', 2)} "
            f"pairs4_gbps={cell(row['pairs4'], '', 2)} each_pair_gbps={pairs} "
            f"udp64_kpps={cell(row['udp'], '', 0)} udp64_loss_pct={cell(row['loss'], '', 1)} "
            f"zeroloss64_kpps={zl} rtt_p50_us={cell(row['rtt'], '', 0)} rtt_mean_us={cell(row['rtt_mean'], '', 0)} "
            f"cpu_s_per_gb={cell(row['cpu_gb'], '', 2)} idle_cpu_pct={cell(row['idle'], '', 1)}")


def report(rows, args):
    columns = [c for c in COLUMNS if c[0] != "zl" or args.search_steps > 0]
    print()
    print("| path | " + " | ".join(c[1] for c in columns) + " |")
    print("|---" * (len(columns) + 1) + "|")
    for mode, r in rows.items():
        print(f"| {NAMES[mode]} | " + " | ".join(show(r, key, unit, digits) for key, _, unit, digits, _ in columns)
              + " |")
    peers = [m for m in rows if not m.startswith("patchbay")]
    for own in (m for m in rows if m.startswith("patchbay")):
        if not peers:
            break
        mine = rows[own]
        print()
        print(f"{NAMES[own]} relative to each peer (throughput: Patchbay / peer; RTT and CPU: "
              "peer / Patchbay; higher is better):")
        print()
        print("| peer | " + " | ".join(c[1] for c in columns) + " |")
        print("|---" * (len(columns) + 1) + "|")
        for peer in peers:
            r = rows[peer]
            cells = [ratio(mine[key], r[key]) if higher else ratio(r[key], mine[key])
                     for key, _, _, _, higher in columns]
            print(f"| {NAMES[peer]} | " + " | ".join(cells) + " |")
    print()
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"machine: {os.cpu_count()} cores, kernel {platform.release()}, load average at the end {load}; "
          f"{args.seconds} s per iperf3 run, zero-loss: {args.search_steps} trials of {args.trial_seconds} s "
          f"(< {LOSS_LIMIT}% lost), idle over {args.idle_seconds} s")


def interrupted(signum, frame):
    raise KeyboardInterrupt


def main():
    parser = argparse.ArgumentParser(description="Measures L2 switches side by side (see the file's doc).")
    parser.add_argument("--seconds", type=int, default=5, help="seconds per iperf3 run (default 5)")
    parser.add_argument("--pings", type=int, default=200, help="pings for the RTT (default 200)")
    parser.add_argument("--trial-seconds", type=int, default=2,
                        help="seconds per trial of the zero-loss search (default 2)")
    parser.add_argument("--search-steps", type=int, default=7,
                        help="trials of the zero-loss search (default 7; 0 leaves the column out)")
    parser.add_argument("--idle-seconds", type=int, default=10,
                        help="seconds over which the idle CPU is measured (default 10)")
    parser.add_argument("--patchbay", help="the patchbay binary, for the patchbay modes")
    parser.add_argument("--before", help="an earlier patchbay binary, for the before mode")
    parser.add_argument("modes", nargs="+", choices=list(NAMES), metavar="MODE")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("patchbay: error: Benchmarks/peers.py needs root (namespaces, TAPs)", file=sys.stderr)
        return 1
    if min(args.seconds, args.pings, args.trial_seconds, args.idle_seconds) < 1 or args.search_steps < 0:
        print("patchbay: error: --seconds, --pings, --trial-seconds and --idle-seconds must be at least 1, "
              "--search-steps at least 0", file=sys.stderr)
        return 2
    # SIGTERM as Ctrl-C, so the finally clauses remove what the current mode made.
    signal.signal(signal.SIGTERM, interrupted)
    work = Path(tempfile.mkdtemp(prefix="patchbay-bench."))
    rows, failed = {}, []
    try:
        sweep()
        for mode in args.modes:
            row, error = run_mode(mode, work, args)
            missing = [k for k in REQUIRED if row is None or row[k] is None]
            if args.search_steps > 0 and row is not None and row["zl"] is None and row["zl_floor"] is None:
                missing.append("zl")
            if missing:
                failed.append(mode)
                print(f"{mode} FAILED: {error or 'no result for ' + ', '.join(missing) + ': ' + json.dumps(row)}",
                      flush=True)
            if row is not None:
                rows[mode] = row
                print(line(mode, row), flush=True)
    except KeyboardInterrupt:
        print("peers: interrupted", file=sys.stderr)
        return 130
    finally:
        sweep()
        shutil.rmtree(work, ignore_errors=True)
    report(rows, args)
    if failed:
        print(f"patchbay: error: the benchmark could not measure: {' '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
