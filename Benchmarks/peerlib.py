"""The set-up half of Benchmarks/peers.py: network namespaces pb1..pbN (10.77.0.1..N/24) and,
between them, one switch of a mode at a time (see peers.py for the modes). Everything made here
is named pb*; sweep() removes all of it, and the peers' daemons an interrupted run left."""
import os
import re
import signal
import subprocess
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
MOST_HOSTS = 8  # the "4 pairs at once" layout; the other measurements use 2
NAMESPACES = tuple(f"pb{i}" for i in range(1, MOST_HOSTS + 1))
LINKS = ("pbbr",) + tuple(f"pb{kind}{i}" for kind in ("h", "g", "tap", "v") for i in range(1, MOST_HOSTS + 1))
LAB = "pbbench"  # the name in every topology below
TOPOLOGIES = {"patchbay": "peerbench.yaml", "patchbay-poll": "peerbench-busy-poll.yaml",
              "patchbay-1t": "peerbench-1thread.yaml", "before": "peerbench.yaml"}
FOUR_PAIRS = "peerbench-4pairs.yaml"  # eight TAPs; a mode's top-level settings are added to it
DAEMONS = (b"ovsdb-server", b"ovs-vswitchd", b"vde_switch")


def address(index):
    """Host INDEX's address (namespace pbINDEX)."""
    return f"10.77.0.{index}"


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
    sh(["ip", "-n", ns, "addr", "add", f"{address(index)}/24", "dev", link])
    sh(["ip", "-n", ns, "link", "set", link, "up"])


def kill_quietly(pid, signum=signal.SIGKILL):
    try:
        os.kill(pid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def descendants(root):
    """ROOT and every process below it (by parent pid, from /proc)."""
    children = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            children.setdefault(int(stat.rsplit(")", 1)[1].split()[1]), []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def sweep():
    """Removes whatever an earlier, interrupted run left: the peers' daemons it started
    (their command lines name a patchbay-bench. folder), every process still inside a
    pb* namespace (iperf3, ping), the namespaces pb1..pb8 and the pb* links."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if os.path.basename(argv[0]) in DAEMONS and any(b"/patchbay-bench." in a for a in argv):
            kill_quietly(int(entry.name))
    for ns in NAMESPACES:
        if os.path.exists(f"/run/netns/{ns}"):
            for pid in sh(["ip", "netns", "pids", ns], check=False).stdout.split():
                kill_quietly(int(pid))
            quiet(["ip", "netns", "del", ns])
    for link in LINKS:
        if link_exists(link):
            quiet(["ip", "link", "del", link])


class Switch:
    """One mode's switch between HOSTS namespaces (pb1..pbHOSTS): start() builds it,
    stop() removes it (and sweeps), pids() names the processes that do its switching."""

    def __init__(self, mode, work, patchbay, hosts=2):
        self.mode, self.work, self.patchbay, self.hosts = mode, work, patchbay, hosts
        self.indexes = range(1, hosts + 1)
        self.process = None
        self.ovs_env = dict(os.environ, OVS_RUNDIR=str(work), OVS_LOGDIR=str(work), OVS_DBDIR=str(work))

    def start(self):
        for ns in NAMESPACES[:self.hosts]:
            sh(["ip", "netns", "add", ns])
            sh(["ip", "-n", ns, "link", "set", "lo", "up"])
        kind = "patchbay" if self.mode in TOPOLOGIES else self.mode.replace("-tso", "")
        getattr(self, "start_" + kind)()
        time.sleep(0.3)  # let the ports settle (IPv6 DAD, the switch's first poll)

    def start_veth(self):
        """No switch: a veth pair per pair of hosts (pbv1-pbv2, pbv3-pbv4, ...)."""
        for i in self.indexes[::2]:
            sh(["ip", "link", "add", f"pbv{i}", "type", "veth", "peer", "name", f"pbv{i + 1}"])
            into_namespace(f"pbv{i}", i)
            into_namespace(f"pbv{i + 1}", i + 1)

    def start_bridge(self):
        sh(["ip", "link", "add", "pbbr", "type", "bridge"])
        sh(["ip", "link", "set", "pbbr", "up"])
        for i in self.indexes:
            sh(["ip", "link", "add", f"pbh{i}", "type", "veth", "peer", "name", f"pbg{i}"])
            sh(["ip", "link", "set", f"pbh{i}", "master", "pbbr", "up"])
            into_namespace(f"pbg{i}", i)

    def start_vde(self):
        taps = [a for i in self.indexes for a in ("-t", f"pbtap{i}")]
        sh(["vde_switch", "-d", "-s", str(self.work / "vde.ctl"), "-p", str(self.work / "vde.pid"), *taps])
        self.attach_taps()

    def start_ovs(self):
        db, socket = self.work / "conf.db", f"unix:{self.work / 'db.sock'}"
        db.unlink(missing_ok=True)
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
        for i in self.indexes:
            run(["ovs-vsctl", f"--db={socket}", "add-port", "pbbr", f"pbtap{i}", "--",
                 "set", "Interface", f"pbtap{i}", "type=tap"])
        self.attach_taps()

    def topology(self):
        """The mode's two-port lab, or for eight hosts peerbench-4pairs.yaml with the mode's
        top-level settings (busy-poll, datapath-threads) copied in from its own lab."""
        own = HERE / TOPOLOGIES[self.mode]
        if self.hosts == 2:
            return own
        settings = [line for line in own.read_text().splitlines()
                    if re.match(r"[a-z][a-z0-9-]*:\s*[^\s#]", line) and not line.startswith("name:")]
        path = self.work / f"{self.mode}-4pairs.yaml"
        path.write_text((HERE / FOUR_PAIRS).read_text() + "".join(s + "\n" for s in settings))
        return path

    def start_patchbay(self):
        if not self.patchbay:
            raise SetupFailed("no Patchbay binary (--patchbay)")
        quiet([self.patchbay, "down", LAB])  # the lab of an interrupted earlier run
        logfile = self.work / f"{self.mode}-{self.hosts}.log"
        with open(logfile, "w") as log:
            # In the foreground, as `patchbay up` runs for a user; SIGTERM makes it remove its lab.
            self.process = subprocess.Popen([self.patchbay, "up", str(self.topology())], stdout=log,
                                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                            start_new_session=True)
        try:
            self.attach_taps()
        except SetupFailed as error:
            text = logfile.read_text().strip().splitlines()
            raise SetupFailed(f"{error}; patchbay said: {text[-1] if text else 'nothing'}") from None

    def attach_taps(self):
        wait_for_links([f"pbtap{i}" for i in self.indexes])
        for i in self.indexes:
            into_namespace(f"pbtap{i}", i)

    def pids(self):
        """The processes that switch the frames (the Patchbay daemon and what it started,
        vde_switch, ovs-vswitchd); None where the kernel switches (bridge, veth)."""
        if self.process is not None:
            return descendants(self.process.pid) if self.process.poll() is None else []
        name = {"vde": "vde.pid", "ovs": "vswitchd.pid", "ovs-tso": "vswitchd.pid"}.get(self.mode)
        if name is None:
            return None
        try:
            return [int((self.work / name).read_text().split()[0])]
        except (OSError, ValueError, IndexError):
            return []

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
            quiet([self.patchbay, "down", LAB])  # what the daemon could not remove as it exited
        for name in ("vswitchd.pid", "db.pid", "vde.pid"):
            pidfile = self.work / name
            try:  # a daemon removes its own pid file as it exits: it may be gone already
                kill_quietly(int(pidfile.read_text().split()[0]), signal.SIGTERM)
            except (OSError, ValueError, IndexError):
                pass
            pidfile.unlink(missing_ok=True)
        # ovs-vswitchd removes its bridge device as it exits: give it a moment first.
        deadline = time.monotonic() + 5
        while self.mode.startswith("ovs") and link_exists("pbbr") and time.monotonic() < deadline:
            time.sleep(0.1)
        sweep()
