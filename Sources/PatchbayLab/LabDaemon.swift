import CLinuxNet
import Foundation
import Logging
import PatchbayControl
import PatchbayCore
import PatchbayDatapath
import PatchbayTopology

/// The daemon side of `up`: builds the lab, serves its control socket and waits
/// for SIGINT, SIGTERM or a `shutdown` request, then removes everything.
public final class LabDaemon: @unchecked Sendable {
  // Sendable: `lab` and `started` are set before the control server starts
  // and never change; the control handler only reads them.

  let lab: Lab
  let started = Date()
  private let stopWriter: Int32

  // Internal, not private: the tests answer requests over a lab of their own.
  init(lab: Lab, stopWriter: Int32) {
    self.lab = lab
    self.stopWriter = stopWriter
  }

  /// The marker a detached child prints once its lab is ready.
  public static let readyMarker = "\u{1}patchbay-ready"

  /// Builds and runs the lab until told to stop, printing `summary` once it is
  /// up. With `detached`, prints the ready marker after the summary and moves
  /// its output to the lab's log, then releases `logOutput` (which holds the
  /// log lines of set-up until then). Logs to `logger` what the lab does.
  public static func run(
    topology: Topology, topologyFile: String, detached: Bool, summary: String,
    logger: Logger = .silent, logOutput: LogOutput? = nil
  ) throws {
    // Before anything is checked or cleared: a second `up` of this lab stops here.
    let lock: LabLock
    do {
      lock = try LabLock.acquire(LabPaths(name: topology.name))
    } catch {
      throw PatchbayError(error.description)
    }
    // Removed as the daemon lets go (safe under the lock, see LabLock); a
    // daemon that lost root's write access leaves it for `down`.
    defer { lock.release(removingFile: true) }
    var pipeEnds: [Int32] = [0, 0]
    guard pipe(&pipeEnds) == 0 else { throw PatchbayError("cannot create a pipe") }
    for end in pipeEnds { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
    // Signals arriving during set-up are kept in the pipe and end the lab as soon as it is up.
    _ = pb_install_termination_handler(pipeEnds[1])
    if detached { setsid() }

    // The user the daemon becomes after set-up, made now while it is root;
    // threads started while the lab is built become it as they start.
    if Privileges.isPrivileged {
      do {
        Privileges.runAs(try ServiceUser.ensure())
      } catch {
        throw PatchbayError(error.description)
      }
    }
    logger.info("building lab \(topology.name) from \(topologyFile)")
    let lab: Lab
    do {
      lab = try Lab.build(topology, topologyFile: topologyFile, logger: logger)
    } catch {
      throw PatchbayError(error.description)
    }
    let daemon = LabDaemon(lab: lab, stopWriter: pipeEnds[1])
    let server: ControlServer
    // Opened while root: the state directory is root's alone, and the daemon is not, later.
    let log =
      detached ? open(lab.paths.logFile, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600) : -1
    do {
      server = try ControlServer(
        path: lab.paths.controlSocket, handler: { request in daemon.handle(request) },
        streamHandler: { request, connection in daemon.capture(request, on: connection) })
      try "\(getpid())\n".write(toFile: lab.paths.pidFile, atomically: true, encoding: .utf8)
      try dropPrivileges(of: lab, lock: lock)
    } catch {
      lab.tearDown()
      throw PatchbayError("\(error)")
    }
    // Started after the drop: the control thread and the capture threads it
    // starts inherit no capability.
    server.start()

    print(summary)
    for warning in lab.warnings { print("warning: \(warning)") }
    if detached {
      print(readyMarker)
      fflush(nil)
      if log >= 0 {
        dup2(log, 1)
        dup2(log, 2)
        close(log)
      }
    } else {
      fflush(nil)
    }
    logOutput?.release()
    daemon.logUp(warnings: lab.warnings)

    daemon.waitForStop(reading: pipeEnds[0])
    logger.info("tearing down lab \(topology.name)")
    server.stop()
    let problems = lab.tearDown()
    for problem in problems { logger.warning("\(problem)") }
    logger.info("lab \(topology.name) down")
    if !detached { print("lab \(topology.name) stopped; everything it created is removed") }
  }

  /// Waits for a byte on the stop pipe (a signal or a `shutdown` request),
  /// reading the datapath's activity once a second for the log meanwhile.
  private func waitForStop(reading stopReader: Int32) {
    var monitor = LabMonitor(
      portNames: lab.topology.switches.flatMap(\.ports).map(\.reference.description),
      logger: lab.logger)
    var ready = pollfd(fd: stopReader, events: Int16(POLLIN), revents: 0)
    while true {
      let count = poll(&ready, 1, 1000)
      if count < 0 && errno == EINTR { continue }
      if count != 0 { break }
      monitor.observe(lab.datapath.activity())
    }
    var signal: UInt8 = 0
    while read(stopReader, &signal, 1) < 0 && errno == EINTR {}
    // What happened since the last look (a port that went down as the lab stops).
    monitor.observe(lab.datapath.activity())
  }

  /// The lab's `up` line: what it is made of, and what it warned about.
  private func logUp(warnings: [String]) {
    let topology = lab.topology
    let ports = topology.switches.reduce(0) { $0 + $1.ports.count }
    lab.logger.info(
      "lab \(topology.name) up: \(counted(topology.switches.count, "switch", "switches")), \(counted(ports, "port")), \(counted(topology.hosts.count, "host")), \(counted(topology.vms.count, "VM")), \(counted(topology.uplinks.count, "uplink"))",
      metadata: [
        "pid": "\(getpid())", "switches": "\(topology.switches.count)", "ports": "\(ports)",
        "hosts": "\(topology.hosts.count)", "vms": "\(topology.vms.count)",
        "uplinks": "\(topology.uplinks.count)",
      ])
    for warning in warnings { lab.logger.warning("\(warning)") }
  }

  private func counted(_ count: Int, _ one: String, _ many: String? = nil) -> String {
    "\(count) \(count == 1 ? one : many ?? one + "s")"
  }

  /// Answers one control request (on the control thread) and logs it:
  /// requests that change the lab at info, those that only read at debug.
  func handle(_ request: ControlRequest) -> ControlResponse {
    let response = answer(request)
    let outcome = response.ok ? response.message ?? "ok" : "refused: \(response.error ?? "")"
    switch request {
    case .status, .fdb, .nat:
      lab.logger.debug(
        "control: \(request.command.rawValue)", metadata: ["request": "\(request.command.rawValue)"]
      )
    case .shutdown:
      lab.logger.info("control: shutdown requested", metadata: ["request": "shutdown"])
    case .setRate(let port, let settings):
      lab.logger.info(
        "control: set \(port) rate \(settings.joined(separator: " ")): \(outcome)",
        metadata: ["request": "set", "port": "\(port)"])
    case .capture:
      break
    }
    return response
  }

  private func answer(_ request: ControlRequest) -> ControlResponse {
    switch request {
    case .status:
      return .success(status: status())
    case .fdb(let switchName):
      let snapshots = lab.snapshot().switches
      if let name = switchName, !snapshots.contains(where: { $0.name == name }) {
        return .failure("lab \(lab.topology.name) has no switch '\(name)'")
      }
      return .success(fdb: fdbRecords(snapshots, only: switchName))
    case .shutdown:
      var byte: UInt8 = 0
      _ = write(stopWriter, &byte, 1)
      return .success()
    case .setRate(let port, let settings):
      return setRate(port: port, settings: settings)
    case .capture:
      return .failure("capture needs a stream: use patchbay capture")
    case .nat:
      return .success(uplinks: uplinkRecords(lab.snapshot().uplinks))
    }
  }

  /// `patchbay capture`: starts a capture that streams to `connection` (which
  /// this now owns), or answers why not and closes it.
  func capture(_ request: ControlRequest, on connection: Int32) {
    let output = StreamCaptureOutput(connection)
    guard case .capture(let capture) = request else {
      output.refuse("malformed capture request")
      return
    }
    if let problem = capture.problem {
      output.refuse(problem)
      return
    }
    var ports: [PortReference] = []
    for text in capture.ports {
      guard let reference = PortReference(text) else {
        output.refuse("invalid port '\(text)': ports are named SWITCH/PORT")
        return
      }
      ports.append(reference)
    }
    guard let direction = CaptureDirection(rawValue: capture.direction) else {
      output.refuse("invalid direction '\(capture.direction)': use in, out or both")
      return
    }
    do {
      try lab.startCapture(
        ports: ports, filter: capture.filter, snaplen: capture.snaplen, direction: direction,
        count: capture.count, output: output)
    } catch {
      lab.logger.info(
        "control: capture of \(capture.ports.joined(separator: ",")) refused: \(error.description)",
        metadata: ["request": "capture"])
      output.refuse(error.description)
    }
  }

  /// `patchbay set NAME SWITCH/PORT rate ...`: the new limits apply at once,
  /// to this port only.
  private func setRate(port text: String, settings: [String]) -> ControlResponse {
    guard let reference = PortReference(text), lab.topology.port(reference) != nil else {
      return .failure(
        "lab \(lab.topology.name) has no port '\(text)' (ports are named SWITCH/PORT)")
    }
    let current: RateLimitSpec?
    do {
      current = try lab.rateLimit(of: reference)
    } catch {
      return .failure(error.description)
    }
    let updated: RateLimitSpec?
    do {
      updated = try (current ?? RateLimitSpec()).updated(with: settings)
    } catch {
      return .failure("\(reference): \(error.reason)")
    }
    do {
      try lab.setRateLimit(of: reference, to: updated)
    } catch {
      return .failure(error.description)
    }
    return .success(message: "\(reference): rate \(updated?.summary ?? "none")")
  }

  /// The lab's status from one snapshot of the datapath: counters, rates,
  /// limits, tables and leases of one moment.
  private func status() -> LabStatus {
    let topology = lab.topology
    let snapshot = lab.snapshot()
    var rates = snapshot.ports[...]
    let switches = zip(topology.switches, snapshot.switches).map { spec, snapshot in
      SwitchStatus(
        name: spec.name, macCount: snapshot.entries.count, macTableSize: snapshot.capacity,
        macAgingSeconds: Double(snapshot.agingNanoseconds) / 1e9,
        macEvents: MACEvents(snapshot.statistics),
        ports: spec.ports.enumerated().map { index, port in
          portStatus(
            port, counters: snapshot.counters[index], isUp: snapshot.portIsUp[index],
            rates: rates.popFirst())
        })
    }
    // DHCP hosts show the address they leased.
    var leased: [String: String] = [:]
    if topology.hosts.contains(where: { $0.address == .dhcp }) {
      for uplink in snapshot.uplinks {
        let prefix = uplink.configuration.insideAddress.prefixLength
        for lease in uplink.leases {
          leased[lease.hardwareAddress.description] = "\(lease.address)/\(prefix) (dhcp)"
        }
      }
    }
    let hosts = topology.hosts.map { host in
      let mac = topology.macAddress(of: host).description
      return HostStatus(
        name: host.name, namespace: lab.paths.namespace(ofHost: host.name),
        port: host.port?.description ?? "veth \(host.veth ?? "")",
        address: host.address == .dhcp ? leased[mac] ?? "dhcp" : host.address?.description,
        mac: mac)
    }
    let vms = zip(topology.vms, lab.vmStates()).map { vm, state in
      VMStatus(
        name: vm.name, state: state?.summary ?? "not started", pid: state?.pid,
        ports: vm.ports.map(\.description), mac: topology.macAddress(of: vm, nic: 0).description,
        console: lab.paths.console(ofVM: vm.name))
    }
    return LabStatus(
      name: topology.name, pid: getpid(), topologyFile: topology.sourcePath,
      uptimeSeconds: Date().timeIntervalSince(started), switches: switches, hosts: hosts, vms: vms,
      captures: lab.captureStates().map { capture in
        CaptureStatus(
          name: capture.name, destination: capture.destination,
          state: capture.failure == nil ? "writing" : "failed", error: capture.failure,
          captured: capture.statistics.captured, filteredOut: capture.statistics.filteredOut,
          lost: capture.statistics.lost, unwritten: capture.statistics.unwritten)
      }, datapathThreads: lab.datapath.workers.count)
  }

  private func portStatus(
    _ port: PortSpec, counters: PortCounters, isUp: Bool, rates: PortRateState?
  ) -> PortStatus {
    let (kind, interface): (String, String) =
      switch port.kind {
      case .tap(let name): ("tap", name)
      case .attach(let name): ("attach", name)
      case .uplink(let name): ("uplink", name)
      case .peer(let reference): ("peer", reference.description)
      }
    return PortStatus(
      name: port.reference.description, kind: kind, interface: interface,
      attachedTo: lab.topology.host(on: port.reference).map { "host \($0.name)" }
        ?? lab.topology.vm(on: port.reference).map { "vm \($0.name)" },
      state: isUp ? "up" : "down", vlanMode: vlanModeSummary(of: port),
      rateLimit: rates.flatMap(RateLimitSpec.init)?.summary ?? "none",
      rxPackets: counters.receivedPackets, rxBytes: counters.receivedBytes,
      txPackets: counters.transmittedPackets, txBytes: counters.transmittedBytes,
      forwarded: counters.forwardedPackets, flooded: counters.floodedPackets,
      linkDowns: counters.linkDowns, drops: DropCounts(counters.dropsByReason),
      txDrops: DropCounts(counters.transmitDropsByReason),
      rxBitsPerSecond: rates?.rates.receivedBitsPerSecond ?? 0,
      rxPacketsPerSecond: rates?.rates.receivedPacketsPerSecond ?? 0,
      txBitsPerSecond: rates?.rates.transmittedBitsPerSecond ?? 0,
      txPacketsPerSecond: rates?.rates.transmittedPacketsPerSecond ?? 0,
      queuedFrames: rates?.queuedFrames ?? 0, offloads: port.acceptsOffloads)
  }

  /// The port's VLAN mode, or `monitor (mirror NAME)` for a mirror's monitor port.
  private func vlanModeSummary(of port: PortSpec) -> String {
    let mirrors = lab.topology.mirrors.filter { $0.to == port.reference }.map(\.name)
    guard mirrors.isEmpty else { return "monitor (mirror \(mirrors.joined(separator: ", ")))" }
    return port.vlanMode.summary
  }

  private func fdbRecords(_ snapshots: [SwitchSnapshot], only switchName: String?) -> [FDBRecord] {
    zip(lab.topology.switches, snapshots).flatMap { spec, snapshot in
      guard switchName == nil || switchName == spec.name else { return [FDBRecord]() }
      return snapshot.entries.map { entry in
        FDBRecord(
          switchName: spec.name, vlan: entry.vlan, mac: entry.mac.description,
          port: spec.ports[entry.port].name, ageSeconds: Double(entry.ageNanoseconds) / 1e9,
          type: entry.isStatic ? "static" : "learned")
      }
    }
  }
}
