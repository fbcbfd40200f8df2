#!/usr/bin/env python3
"""The soak's conductor, for Scripts/soak (which brings the lab up and down):

  run.py --binary PATCHBAY --lab LAB --seconds N --workdir DIR

Starts one agent.py per host in its namespace, takes hosts' eth0 down and up
again in turn, samples the daemon's resident size every 2 s and prints a
progress line every 15 s. After N seconds it stops the agents, lets the lab go
idle, reads `patchbay status --json` and checks:

  memory     the daemon's VmRSS at the end within 10% of its value after warm-up
  integrity  no corrupted TCP byte, UDP or broadcast datagram, or churn frame
  vlans      nothing arrived in another VLAN
  counters   every port: rxPackets == forwarded + flooded + sum(drops)
  traffic    every kind of traffic really flowed (so the soak cannot pass vacuously)
  daemon     the daemon that started the soak is alive and answers

Prints a report; each failed check is one `patchbay: error: soak: ...` line on
stderr and makes the exit status 1. The report is also kept as DIR/report.json.
"""
import argparse
import json
import os
import random
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import plan as lab_plan  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLE_EVERY = 2.0
PROGRESS_EVERY = 15.0
STATUS_EVERY = 5.0  # the control plane answers under load too (and is warm before warm-up ends)
FLAP_EVERY = 8.0  # one host goes down every 8 s, in turn
FLAP_DOWN = (2.0, 6.0)  # for this many seconds
MEMORY_TOLERANCE = 0.10


class Interrupted(Exception):
    pass


def on_signal(*_):
    raise Interrupted()


def mib(kib):
    return "%.1f MiB" % (kib / 1024)


def human_bytes(count):
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if count < 1024 or unit == "TiB":
            return ("%d %s" % (count, unit)) if unit == "B" else ("%.1f %s" % (count, unit))
        count /= 1024
    return str(count)


def thousands(number):
    return "{:,}".format(number)


class Soak:
    def __init__(self, args):
        self.args = args
        self.lab = args.lab
        self.plan = lab_plan.plan(args.lab)
        self.plan_path = os.path.join(args.workdir, "plan.json")
        with open(self.plan_path, "w") as file:
            json.dump(self.plan, file)
        with open("/run/patchbay/%s/pid" % self.lab) as file:
            self.pid = int(file.read().strip())
        self.agents = {}
        self.samples = []  # (seconds since start, VmRSS in KiB)
        self.flaps = {}  # host -> completed down/up cycles
        self.down = {}  # host -> when it comes back up
        self.errors = []
        self.warnings = []

    # The daemon

    def rss(self):
        try:
            with open("/proc/%d/status" % self.pid) as file:
                for line in file:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1])
        except OSError:
            return None
        return None

    def daemon_cpu_seconds(self):
        try:
            with open("/proc/%d/stat" % self.pid) as file:
                fields = file.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            return None

    @staticmethod
    def machine_cpu():
        """(busy, total) jiffies of the whole machine, from /proc/stat."""
        with open("/proc/stat") as file:
            values = [int(v) for v in file.readline().split()[1:]]
        idle = values[3] + values[4]
        return sum(values) - idle, sum(values)

    def alive(self):
        try:
            os.kill(self.pid, 0)
            return True
        except ProcessLookupError:
            return False
        except PermissionError:
            return True

    def status(self):
        result = subprocess.run(
            [self.args.binary, "status", self.lab, "--json"],
            capture_output=True, text=True, timeout=20)
        if result.returncode != 0:
            raise RuntimeError("status failed: " + result.stderr.strip())
        return json.loads(result.stdout)

    @staticmethod
    def ports(status):
        return [port for switch in status["switches"] for port in switch["ports"]]

    # Agents

    def start_agents(self):
        for host in self.plan["hosts"]:
            name = host["name"]
            log = open(os.path.join(self.args.workdir, "%s.log" % name), "w")
            self.agents[name] = subprocess.Popen(
                ["ip", "netns", "exec", "%s-%s" % (self.lab, name), sys.executable,
                 os.path.join(HERE, "agent.py"), self.plan_path, name, self.stats_path(name)],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True)
            log.close()

    def stats_path(self, name):
        return os.path.join(self.args.workdir, "%s.json" % name)

    def stop_agents(self):
        for process in self.agents.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        for name, process in self.agents.items():
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.warnings.append("agent %s did not stop within 15 s; killed" % name)
                process.kill()
                process.wait()

    def agent_stats(self):
        stats = {}
        for name in self.agents:
            try:
                with open(self.stats_path(name)) as file:
                    stats[name] = json.load(file)
            except (OSError, ValueError):
                pass
        return stats

    def check_agents_running(self):
        for name, process in self.agents.items():
            if process.poll() is not None and name not in self.dead_agents:
                self.dead_agents.add(name)
                self.errors.append("agent %s exited early with status %s (see %s)" % (
                    name, process.returncode, os.path.join(self.args.workdir, name + ".log")))

    # Hosts going down and coming back

    def link(self, host, state):
        subprocess.run(["ip", "-n", "%s-%s" % (self.lab, host), "link", "set", "eth0", state],
                       check=True, timeout=10)

    def flap(self, now):
        for host, back in list(self.down.items()):
            if now >= back:
                self.link(host, "up")
                del self.down[host]
                self.flaps[host] = self.flaps.get(host, 0) + 1
        if now >= self.next_flap:
            self.next_flap += FLAP_EVERY
            host = self.plan["flappers"][self.flap_turn % len(self.plan["flappers"])]
            self.flap_turn += 1
            if host not in self.down and now + FLAP_DOWN[1] < self.args.seconds:
                self.link(host, "down")
                self.down[host] = now + random.uniform(*FLAP_DOWN)

    def all_up(self):
        for host in list(self.down):
            self.link(host, "up")
            del self.down[host]
            self.flaps[host] = self.flaps.get(host, 0) + 1

    # The run

    def poll_status(self):
        try:
            self.frames = sum(p["rxPackets"] for p in self.ports(self.status()))
        except Exception as error:  # noqa: BLE001 - shown on the progress line
            self.frames = "? (%s)" % error

    def progress(self, elapsed, rss):
        frames = self.frames
        stats = self.agent_stats().values()
        verified = sum(e.get("bytes", 0) for s in stats for e in s["tcp_received"].values())
        udp = sum(e.get("datagrams", 0) for s in stats for e in s["udp_received"].values())
        print("soak: %4ds/%ds  rss %s  frames %s  tcp %s verified  udp %s received  flaps %d" % (
            elapsed, self.args.seconds, mib(rss) if rss else "?",
            thousands(frames) if isinstance(frames, int) else frames,
            human_bytes(verified), thousands(udp), sum(self.flaps.values())), flush=True)

    def run(self):
        self.dead_agents = set()
        # Warm-up: 20 s, or a fifth of a shorter soak. The daemon preallocates
        # its MAC tables and frame buffers, but pages are resident only once
        # touched: by the churn filling the tables (seconds), the first status
        # answers (every 5 s), the first host going down and up (at 4 s). All of
        # that happens in the first ~10 s; measured, RSS is flat from the first
        # status answer on. Capping at a fifth keeps most of a short soak measured.
        self.warmup = min(20.0, 0.2 * self.args.seconds)
        print("soak: %d hosts, %d TCP streams, %d UDP flows, broadcast, MAC churn from %s, "
              "hosts %s going down in turn; %d s of traffic, warm-up %.0f s" % (
                  len(self.plan["hosts"]), len(self.plan["tcp"]), len(self.plan["udp"]),
                  " and ".join(sorted(self.plan["churn"])), ", ".join(self.plan["flappers"]),
                  self.args.seconds, self.warmup), flush=True)
        self.start_agents()
        self.cpu_at_start = (self.daemon_cpu_seconds(), self.machine_cpu(), os.times())
        start = self.start = time.monotonic()
        self.next_flap = 4.0
        self.flap_turn = 0
        next_sample = 0.0
        next_progress = PROGRESS_EVERY
        next_status = STATUS_EVERY
        self.frames = 0
        while True:
            elapsed = time.monotonic() - start
            if elapsed >= self.args.seconds:
                break
            if elapsed >= next_sample:
                next_sample += SAMPLE_EVERY
                rss = self.rss()
                if rss is None:
                    self.errors.append("the daemon (pid %d) died %.0f s into the soak" % (self.pid, elapsed))
                    break
                self.samples.append((elapsed, rss))
            self.flap(elapsed)
            self.check_agents_running()
            if elapsed >= next_status:
                next_status += STATUS_EVERY
                self.poll_status()
            if elapsed >= next_progress:
                next_progress += PROGRESS_EVERY
                self.progress(elapsed, self.samples[-1][1] if self.samples else None)
            time.sleep(min(0.25, max(0.0, min(next_sample, self.next_flap) - (time.monotonic() - start))))
        self.traffic_seconds = time.monotonic() - start
        cpu_at_end = (self.daemon_cpu_seconds(), self.machine_cpu())
        self.all_up()
        self.stop_agents()
        self.cpu = self.cpu_use(cpu_at_end)
        time.sleep(1.5)  # the lab goes idle: nothing in flight when the counters are read
        return self.report()

    def cpu_use(self, at_end):
        """Where the CPU went during the traffic: the daemon, the agents, the machine."""
        daemon0, (busy0, total0), times0 = self.cpu_at_start
        daemon1, (busy1, total1) = at_end
        times1 = os.times()
        agents = (times1.children_user + times1.children_system) - (times0.children_user + times0.children_system)
        cores = os.cpu_count() or 1
        return {
            "daemon": (daemon1 - daemon0) / self.traffic_seconds if daemon0 is not None and daemon1 is not None else None,
            "agents": agents / self.traffic_seconds,  # the agents' own time, read once they have exited
            "machine": cores * (busy1 - busy0) / max(1, total1 - total0),
            "cores": cores,
        }

    # Checks

    def report(self):
        out = []
        stats = self.agent_stats()
        missing = sorted(set(self.agents) - set(stats))
        if missing:
            self.errors.append("no counters from the agents of %s" % ", ".join(missing))
        for name, s in sorted(stats.items()):
            for error in s["errors"]:
                self.errors.append("agent %s: %s" % (name, error))

        status = None
        alive = self.alive()
        try:
            status = self.status() if alive else None
        except Exception as error:  # noqa: BLE001 - becomes a failed check
            self.errors.append("the daemon did not answer status at the end: %s" % error)
        final_rss = self.rss()
        if final_rss is not None:
            self.samples.append((time.monotonic() - self.start, final_rss))

        out.append("soak report: lab %s, %d hosts, %.0f s of traffic" % (
            self.lab, len(self.plan["hosts"]), self.traffic_seconds))

        # 1. memory
        after_warmup = [rss for t, rss in self.samples if t >= self.warmup]
        if after_warmup and final_rss is not None:
            warm = after_warmup[0]
            change = (final_rss - warm) / warm
            ok = abs(change) <= MEMORY_TOLERANCE
            out.append("  memory     VmRSS %s after %.0f s warm-up, %s at the end (%+.1f%%); "
                       "min %s, max %s over %d samples (%s at start)%s" % (
                           mib(warm), self.warmup, mib(final_rss), 100 * change,
                           mib(min(after_warmup)), mib(max(after_warmup)), len(self.samples),
                           mib(self.samples[0][1]), "" if ok else "   FAILED"))
            if not ok:
                self.errors.append("memory: VmRSS %s at the end is %+.1f%% of %s after warm-up (limit 10%%)" % (
                    mib(final_rss), 100 * change, mib(warm)))
        else:
            out.append("  memory     no samples after warm-up   FAILED")
            self.errors.append("memory: no VmRSS samples after warm-up (the daemon is gone?)")

        # 2. integrity and VLANs
        tcp_rx = {}
        for s in stats.values():
            for key, entry in s["tcp_received"].items():
                merged = tcp_rx.setdefault(key, {})
                for field, value in entry.items():
                    merged[field] = value if field == "first_bad" else merged.get(field, 0) + value
        tcp_tx = {k: v for s in stats.values() for k, v in s["tcp_sent"].items()}
        tcp_bad = sum(e.get("bad_bytes", 0) for e in tcp_rx.values())
        tcp_bytes = sum(e.get("bytes", 0) for e in tcp_rx.values())
        udp_rx = {k: v for s in stats.values() for k, v in s["udp_received"].items()}
        udp_tx = {k: v for s in stats.values() for k, v in s["udp_sent"].items()}
        udp_ok = sum(e.get("datagrams", 0) for e in udp_rx.values())
        udp_sent = sum(e.get("datagrams", 0) for e in udp_tx.values())
        udp_bad = sum(s["udp_corrupted"] for s in stats.values())
        bc_ok = sum(sum(s["broadcast_received"].values()) for s in stats.values())
        bc_sent = sum(s["broadcast_sent"] for s in stats.values())
        bc_bad = sum(s["broadcast_corrupted"] for s in stats.values())
        churn_ok = sum(s["churn_received"] for s in stats.values())
        churn_bad = sum(s["churn_corrupted"] for s in stats.values())
        churn_sent = sum(s["churn_sent"] for s in stats.values())
        churn_bad_sent = sum(s["churn_bad_sent"] for s in stats.values())
        leaks = sum(s["vlan_leaks"] for s in stats.values())
        corrupted = tcp_bad + udp_bad + bc_bad + churn_bad
        out.append("  integrity  TCP %s verified byte for byte, %d bytes corrupted; UDP %s datagrams, %d corrupted; "
                   "broadcast %s, %d corrupted; churn frames %s, %d corrupted%s" % (
                       human_bytes(tcp_bytes), tcp_bad, thousands(udp_ok), udp_bad, thousands(bc_ok), bc_bad,
                       thousands(churn_ok), churn_bad, "" if corrupted == 0 else "   FAILED"))
        if corrupted:
            details = ["%s: %d bytes (first at %s)" % (k, e["bad_bytes"], e.get("first_bad", "?"))
                       for k, e in sorted(tcp_rx.items()) if e.get("bad_bytes")]
            self.errors.append("integrity: corrupted data arrived: TCP %d bytes, UDP %d, broadcast %d, churn %d%s" % (
                tcp_bad, udp_bad, bc_bad, churn_bad, (" (" + "; ".join(details) + ")") if details else ""))
        out.append("  vlans      %d datagrams or frames arrived in another VLAN%s" % (leaks, "" if leaks == 0 else "   FAILED"))
        if leaks:
            self.errors.append("vlans: %d datagrams or frames crossed from one VLAN into the other" % leaks)

        # 3. counters
        if status is not None:
            self.check_counters(status, out)

        # 4. traffic flowed
        self.check_traffic(out, status, tcp_rx, tcp_tx, udp_rx, udp_tx, udp_ok, udp_sent, bc_sent,
                           stats, churn_ok, churn_sent, churn_bad_sent)

        # 5. the daemon
        if alive and status is not None and status.get("pid") == self.pid:
            out.append("  daemon     pid %d alive and answering after %.0f s" % (self.pid, self.traffic_seconds))
        else:
            out.append("  daemon     pid %d %s   FAILED" % (self.pid, "gone" if not alive else "not answering"))
            if not alive:
                self.errors.append("daemon: pid %d is gone at the end of the soak" % self.pid)

        cpu = self.cpu
        out.append("  cpu        daemon %s of a core, traffic agents %.2f, whole machine %.2f of %d cores busy" % (
            "%.2f" % cpu["daemon"] if cpu["daemon"] is not None else "?", cpu["agents"], cpu["machine"], cpu["cores"]))
        for warning in self.warnings:
            out.append("  warning    " + warning)
        print("\n".join(out), flush=True)
        with open(os.path.join(self.args.workdir, "report.json"), "w") as file:
            json.dump({"samples": self.samples, "status": status, "agents": stats,
                       "errors": self.errors, "report": out}, file)
        for error in self.errors:
            print("patchbay: error: soak: " + error, file=sys.stderr, flush=True)
        return 1 if self.errors else 0

    def check_counters(self, status, out):
        ports = self.ports(status)
        missing = [p["name"] for p in ports if "forwarded" not in p]
        total = {"rx": 0, "tx": 0, "forwarded": 0, "flooded": 0, "dropped": 0}
        drops = {}
        tx_drops = {}
        for port in ports:
            total["rx"] += port["rxPackets"]
            total["tx"] += port["txPackets"]
            total["forwarded"] += port.get("forwarded", 0)
            total["flooded"] += port["flooded"]
            for reason, count in port["drops"].items():
                drops[reason] = drops.get(reason, 0) + count
                total["dropped"] += count
            for reason, count in (port.get("txDrops") or {}).items():
                tx_drops[reason] = tx_drops.get(reason, 0) + count
        if missing:
            out.append("  counters   status has no 'forwarded' count (ports %s...): cannot check "
                       "rxPackets = forwarded + flooded + drops   FAILED" % ", ".join(missing[:3]))
            self.errors.append("counters: status has no 'forwarded' count (%d of %d ports), so "
                               "rxPackets = forwarded + flooded + drops cannot be checked" % (len(missing), len(ports)))
        else:
            wrong = []
            for port in ports:
                dropped = sum(port["drops"].values())
                accounted = port["forwarded"] + port["flooded"] + dropped
                if port["rxPackets"] != accounted:
                    wrong.append("%s: rxPackets %d != forwarded %d + flooded %d + drops %d (%s) = %d, off by %+d" % (
                        port["name"], port["rxPackets"], port["forwarded"], port["flooded"], dropped,
                        json.dumps(port["drops"], sort_keys=True), accounted, port["rxPackets"] - accounted))
            if wrong:
                out.append("  counters   %d of %d ports do not add up   FAILED" % (len(wrong), len(ports)))
                for line in wrong:
                    out.append("             " + line)
                self.errors.append("counters: %d of %d ports do not add up: %s" % (len(wrong), len(ports), "; ".join(wrong)))
            else:
                out.append("  counters   rxPackets = forwarded + flooded + drops on all %d ports" % len(ports))
        out.append("             frames received %s (forwarded %s, flooded %s, dropped %s), sent %s" % (
            thousands(total["rx"]), thousands(total["forwarded"]) if not missing else "?",
            thousands(total["flooded"]), thousands(total["dropped"]), thousands(total["tx"])))
        out.append("             drops by reason: %s" % (", ".join(
            "%s=%s" % (r, thousands(c)) for r, c in sorted(drops.items())) or "none"))
        if tx_drops:
            out.append("             drops of frames bound out of a port: %s" % ", ".join(
                "%s=%s" % (r, thousands(c)) for r, c in sorted(tx_drops.items())))
        events = {}
        for switch in status["switches"]:
            events[switch["name"]] = switch["macEvents"]
            out.append("             switch %s: %d MACs of %d; %s" % (
                switch["name"], switch["macCount"], switch["macTableSize"],
                ", ".join("%s %s" % (k, thousands(v)) for k, v in sorted(switch["macEvents"].items()))))
        self.mac_events = events

    def check_traffic(self, out, status, tcp_rx, tcp_tx, udp_rx, udp_tx, udp_ok, udp_sent, bc_sent,
                      stats, churn_ok, churn_sent, churn_bad_sent):
        problems = []
        rate = self.plan["rates"]["tcp_bytes_per_second"]
        # A tenth of what the pacing asks for: the machine is shared and some
        # hosts are down for a while, but a stream that mostly stood still fails.
        floor = max(1 << 20, int(0.1 * rate * self.traffic_seconds))
        streams = ["%s>%s" % (s, r) for s, r in self.plan["tcp"]]
        verified = {k: tcp_rx.get(k, {}).get("bytes", 0) for k in streams}
        for key, count in verified.items():
            if count < floor:
                problems.append("TCP %s verified only %s (floor %s)" % (key, human_bytes(count), human_bytes(floor)))
        connections = sum(tcp_tx.get(k, {}).get("connections", 0) for k in streams)
        stalls = sum(tcp_tx.get(k, {}).get("stalls", 0) for k in streams)
        send_errors = sum(tcp_tx.get(k, {}).get("errors", 0) for k in streams)
        out.append("  traffic    TCP %d streams, %s to %s each (floor %s), %d connections, %d stalls, %d connect/send errors" % (
            len(streams), human_bytes(min(verified.values())), human_bytes(max(verified.values())),
            human_bytes(floor), connections, stalls, send_errors))
        flows = ["%s>%s" % (s, r) for s, r in self.plan["udp"]]
        for key in flows:
            if udp_rx.get(key, {}).get("datagrams", 0) == 0:
                problems.append("UDP %s: nothing received" % key)
        if udp_sent == 0 or udp_ok < 0.5 * udp_sent:
            problems.append("UDP: %d of %d datagrams received (under half)" % (udp_ok, udp_sent))
        reordered = sum(e.get("reordered", 0) for e in udp_rx.values())
        out.append("             UDP %d flows, %s of %s datagrams received (%.2f%% lost, %d reordered)" % (
            len(flows), thousands(udp_ok), thousands(udp_sent),
            100.0 * (udp_sent - udp_ok) / udp_sent if udp_sent else 0, reordered))
        deaf = [name for name in self.agents if sum(stats.get(name, {}).get("broadcast_received", {}).values()) == 0]
        if deaf:
            problems.append("broadcast: %s received none" % ", ".join(sorted(deaf)))
        out.append("             broadcast %s sent, every host heard others: %s" % (
            thousands(bc_sent), "yes" if not deaf else "no (%s)" % ", ".join(sorted(deaf))))
        quiet_sinks = [s for s in self.plan["churn_sinks"] if stats.get(s, {}).get("churn_received", 0) == 0]
        if churn_sent == 0 or quiet_sinks:
            problems.append("MAC churn: %d frames sent, sinks with none: %s" % (churn_sent, ", ".join(quiet_sinks) or "-"))
        events = getattr(self, "mac_events", {})
        learned = {name: e.get("learned", 0) for name, e in events.items()}
        thin = [name for name, count in learned.items() if count < 1000]
        if thin:
            problems.append("MAC churn: switch %s learned fewer than 1000 MACs" % ", ".join(thin))
        out.append("             MAC churn %s frames (%s to the switch's drop reasons), %s checked by sinks %s" % (
            thousands(churn_sent), thousands(churn_bad_sent), thousands(churn_ok), ", ".join(self.plan["churn_sinks"])))
        flapped = sum(self.flaps.values())
        if self.traffic_seconds >= 30 and flapped == 0:
            problems.append("no host went down and came back")
        out.append("             hosts down and back up: %d times (%s)" % (
            flapped, ", ".join("%s %d" % (h, n) for h, n in sorted(self.flaps.items())) or "none"))
        if problems:
            out.append("             traffic   FAILED: " + "; ".join(problems))
            self.errors.append("traffic: " + "; ".join(problems))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--lab", required=True)
    parser.add_argument("--seconds", type=int, required=True)
    parser.add_argument("--workdir", required=True)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    soak = Soak(args)
    try:
        sys.exit(soak.run())
    except Interrupted:
        print("soak: interrupted; stopping the agents", file=sys.stderr, flush=True)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        for process in soak.agents.values():
            if process.poll() is None:
                process.kill()
        sys.exit(130)


if __name__ == "__main__":
    main()
