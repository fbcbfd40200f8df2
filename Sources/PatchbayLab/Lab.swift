import CLinuxNet
import Foundation
import Logging
import PatchbayCore
import PatchbayDatapath
import PatchbayTopology
import PatchbayWire
import Synchronization

/// Why a lab could not be built or stopped, in one line.
public struct LabError: Error, CustomStringConvertible, Sendable {
  /// The line.
  public var description: String

  /// Makes an error with `description`.
  public init(_ description: String) { self.description = description }
}

/// A running lab: its TAPs, namespaces and datapath. Built all-or-nothing by
/// `build(_:)`; removed by `tearDown()`.
public final class Lab: @unchecked Sendable {
  // Sendable: set-up and tear-down happen on one thread; the datapath state is
  // reached only through `Datapath.perform`.

  /// The topology the lab was built from.
  public let topology: Topology
  /// Its state paths.
  public let paths: LabPaths
  private var taps: [TapDevice]
  private var resources: LabResources
  // The VMs' QEMU processes, in start order (appended while the lab comes up,
  // read by `status` and by tear-down).
  let machines = Mutex<[VirtualMachine]>([])
  // Each host's `HOST.log`, capped, by host name (made at its first program).
  let hostLogs = Mutex<[String: LogPump]>([:])
  let datapath: DatapathGroup
  /// The daemon's log (a VM that exits, a capture that cannot write).
  public let logger: Logger
  private var isTornDown = false
  /// Removes what the lab created once its daemon stopped switching (the
  /// default needs root's privileges; a daemon that dropped them hands this
  /// to its janitor). Returns what it could not remove, one line each.
  public var leftoverRemover: @Sendable (LabPaths) -> [String] = {
    LabResources.removeLeftovers(of: $0)
  }
  // Running captures by id (topology captures and `patchbay capture` clients).
  let captures = Mutex<[Int: CaptureSession]>([:])
  let nextCaptureID = Mutex(1)
  // Compiled mirror filters: the datapath reads their instructions, so they live as long as the lab.
  var mirrorFilters: [PacketFilter] = []
  /// Things worth telling the user about a lab that did come up (an attached
  /// interface that does not exist yet).
  public internal(set) var warnings: [String] = []

  // Internal, not private: the daemon's tests make a lab over a datapath they
  // built themselves (no TAPs, nothing created, no root).
  init(
    topology: Topology, paths: LabPaths, taps: [TapDevice] = [],
    resources: LabResources = LabResources(), datapath: DatapathGroup, logger: Logger = .silent
  ) {
    self.topology = topology
    self.paths = paths
    self.taps = taps
    self.resources = resources
    self.datapath = datapath
    self.logger = logger
  }

  /// Builds the lab and starts switching. On any failure, removes everything it
  /// had created and throws one line saying why.
  public static func build(
    _ topology: Topology, topologyFile: String, logger: Logger = .silent
  ) throws(LabError) -> Lab {
    let paths = LabPaths(name: topology.name)
    try preflight(topology, paths: paths)
    let filters = try compileFilters(of: topology)
    var resources = LabResources()
    resources.topologyFile = topologyFile
    resources.hosts = topology.hosts.map(\.name)
    do {
      try FileManager.default.createDirectory(
        atPath: paths.directory, withIntermediateDirectories: true,
        attributes: [.posixPermissions: 0o700])
      try resources.save(paths)
    } catch {
      throw LabError("cannot create \(paths.directory): \(error.localizedDescription)")
    }
    var assembly = LabAssembly(topology: topology, paths: paths, resources: resources)
    assembly.threads = LabAssembly.threadCount(for: topology)
    do {
      try assembly.buildPorts()
      let bridges = try makeBridges(of: topology, ports: assembly.datapathPorts)
      let groups = assembly.threads > 1 ? try assembly.fanoutGroups() : []
      let threadPorts = try (0..<assembly.threads).map { thread throws(LabError) in
        assembly.threads > 1
          ? try assembly.ports(forThread: thread, fanoutGroups: groups) : assembly.datapathPorts
      }
      // From here the datapaths own the packet sockets: their deinits close them
      // (also when an initializer fails), so the rollback must not.
      assembly.packetSockets.removeAll()
      let workers = try threadPorts.enumerated().map { thread, ports throws(SystemCallError) in
        try Datapath(
          bridges: bridges, ports: ports, attachedInterfaces: assembly.attached,
          routers: thread == 0 ? assembly.uplinks : [],
          mtus: topology.switches.flatMap(\.ports).map(\.mtu),
          acceptsOffloads: topology.switches.flatMap(\.ports).map(\.acceptsOffloads),
          busyPoll: topology.busyPoll, adaptsBusyPoll: topology.adaptsBusyPoll)
      }
      let datapath = DatapathGroup(workers: workers, fanoutGroups: groups)
      for (global, port) in topology.switches.flatMap(\.ports).enumerated() {
        guard let rate = port.rate else { continue }
        datapath.setRateLimits(port: global, ingress: rate.ingressLimit, egress: rate.egressLimit)
      }
      datapath.start()
      let lab = Lab(
        topology: topology, paths: paths, taps: assembly.taps, resources: assembly.resources,
        datapath: datapath, logger: logger)
      lab.warnings = assembly.warnings
      do {
        try lab.startMirrors(filters: filters)
        try lab.startTopologyCaptures(filters: filters, topologyFile: topologyFile)
        try lab.startHostPrograms()
        lab.waitForUplinkLeases()
        try lab.startDHCPClients()
        try lab.startVMs(topologyFile: topologyFile)
      } catch {
        // Guests that just started have no use for a power button: end them now.
        lab.stopVMs(gracefully: false)
        lab.tearDown()
        throw error
      }
      return lab
    } catch {
      for tap in assembly.taps { tap.close() }
      // Closing a packet socket also ends the promiscuous mode it asked for.
      for descriptor in assembly.packetSockets { close(descriptor) }
      LabResources.removeLeftovers(of: paths)
      throw error as? LabError ?? LabError(String(describing: error))
    }
  }

  /// A switch port's (switch, port) indices.
  typealias Position = (switchIndex: Int, portIndex: Int)

  /// Each switch's bridge over the ports built for it. A packet-socket port
  /// whose interface is missing starts down; a mirror's monitor port carries
  /// only the copies, so it leaves the switch's VLANs.
  static func makeBridges(of topology: Topology, ports: [DatapathPort]) throws(LabError)
    -> [Bridge]
  {
    var global = 0
    var bridges: [Bridge] = []
    for spec in topology.switches {
      var configurations: [BridgePortConfiguration] = []
      for port in spec.ports {
        let entry = ports[global]
        global += 1
        configurations.append(
          BridgePortConfiguration(
            name: port.name, mode: port.vlanMode.bridgeMode,
            isUp: entry.kind != .packetSocket || entry.descriptor >= 0,
            security: topology.security(of: port)))
      }
      bridges.append(
        Bridge(
          name: spec.name, ports: configurations, macTableSize: spec.macTableSize,
          macAging: spec.macAging))
    }
    for mirror in topology.mirrors {
      let (switchIndex, portIndex) = try position(of: mirror.to, in: topology)
      bridges[switchIndex].makeMonitor(portIndex)
    }
    return bridges
  }

  /// The (switch, port) indices of `reference`.
  static func position(of reference: PortReference, in topology: Topology)
    throws(LabError) -> (switchIndex: Int, portIndex: Int)
  {
    guard
      let switchIndex = topology.switches.firstIndex(where: { $0.name == reference.switchName }),
      let portIndex = topology.switches[switchIndex].ports.firstIndex(where: {
        $0.name == reference.portName
      })
    else { throw LabError("lab \(topology.name) has no port '\(reference)'") }
    return (switchIndex, portIndex)
  }

  /// Every capture's and mirror's filter, compiled before anything is built,
  /// keyed `capture NAME` / `mirror NAME`.
  private static func compileFilters(of topology: Topology) throws(LabError) -> [String:
    PacketFilter]
  {
    var filters: [String: PacketFilter] = [:]
    do {
      for capture in topology.captures {
        if let filter = capture.filter {
          filters["capture \(capture.name)"] = try PacketFilter(filter, snaplen: capture.snaplen)
        }
      }
      for mirror in topology.mirrors {
        if let filter = mirror.filter {
          filters["mirror \(mirror.name)"] = try PacketFilter(filter)
        }
      }
    } catch {
      throw LabError(error.description)
    }
    return filters
  }

  /// Refuses to start over anything that exists already; nothing is created yet.
  private static func preflight(_ topology: Topology, paths: LabPaths) throws(LabError) {
    guard IPRoute.isAvailable else {
      throw LabError("iproute2's 'ip' is not installed (apt-get install iproute2)")
    }
    guard FileManager.default.isReadableFile(atPath: "/dev/net/tun") else {
      throw LabError("/dev/net/tun is missing: the kernel's TUN/TAP driver is needed")
    }
    if let pid = paths.runningPID {
      throw LabError(
        "lab '\(topology.name)' is already running (pid \(pid)); stop it with: patchbay down \(topology.name)"
      )
    }
    // A state directory without a live daemon is what a crash leaves: clear it.
    if FileManager.default.fileExists(atPath: paths.directory) {
      LabResources.removeLeftovers(of: paths)
    }
    for switchSpec in topology.switches {
      for port in switchSpec.ports {
        if case .tap(let interface) = port.kind, interfaceExists(interface) {
          throw LabError("port \(port.reference): interface '\(interface)' already exists")
        }
      }
    }
    for host in topology.hosts {
      let namespace = paths.namespace(ofHost: host.name)
      if IPRoute.namespaceExists(namespace) {
        throw LabError("host \(host.name): network namespace '\(namespace)' already exists")
      }
      if let veth = host.veth, interfaceExists(veth) {
        throw LabError("host \(host.name): interface '\(veth)' already exists")
      }
    }
    for uplink in topology.uplinks where uplink.mode == .hostOnly {
      let interface = topology.hostOnlyInterface(ofUplink: uplink.name)
      if interfaceExists(interface) {
        throw LabError("uplink \(uplink.name): interface '\(interface)' already exists")
      }
    }
  }

  /// Sets the TAP's MTU, explaining the kernel's refusal of one above the TAP maximum.
  static func setMTU(of tap: TapDevice, for port: PortSpec) throws(LabError) {
    do {
      try tap.setMTU(port.mtu)
    } catch {
      if error.errno == .invalidArgument {
        throw LabError(
          "port \(port.reference): the kernel refuses MTU \(port.mtu) on TAP \(tap.interfaceName) (TAPs take at most 65521)"
        )
      }
      throw LabError("port \(port.reference): \(error)")
    }
  }

  /// Makes the host's namespace and turns the port's TAP into its `eth0`.
  static func setUpHost(
    _ host: HostSpec, interface: String, paths: LabPaths, resources: inout LabResources
  ) throws {
    let namespace = paths.namespace(ofHost: host.name)
    try IPRoute.run(["netns", "add", namespace])
    resources.namespaces.append(namespace)
    try resources.save(paths)
    try IPRoute.run(["link", "set", interface, "netns", namespace])
    try IPRoute.run(["-n", namespace, "link", "set", interface, "name", "eth0"])
    try configureHostAddress(host, namespace: namespace)
  }

  /// What the lab created, as recorded in `resources.json` (its janitor's copy).
  public var record: LabResources { resources }

  /// Changes the record of what the lab created and writes it at once.
  func updateResources(_ change: (inout LabResources) -> Void) throws {
    change(&resources)
    try resources.save(paths)
  }

  /// Copies every switch's counters and table, every port's limits, rates
  /// and queues and every NAT uplink's state, in one turn of the datapath
  /// thread, so all of it describes one moment.
  public func snapshot() -> DatapathSnapshot { datapath.snapshot() }

  /// The limits in force on `port`, nil when it is unlimited. The datapath's
  /// queues are the one record of them (the topology's, then whatever
  /// `patchbay set` changed).
  public func rateLimit(of port: PortReference) throws(LabError) -> RateLimitSpec? {
    let global = try globalIndex(of: port)
    return RateLimitSpec(datapath.snapshot().ports[global])
  }

  /// Changes `port`'s limits while the lab runs (nil lifts them); other ports
  /// are untouched and frames already queued on this one are kept.
  public func setRateLimit(of port: PortReference, to spec: RateLimitSpec?) throws(LabError) {
    let global = try globalIndex(of: port)
    datapath.setRateLimits(port: global, ingress: spec?.ingressLimit, egress: spec?.egressLimit)
  }

  /// Drops root's privileges once the lab is built: both threads become the
  /// service user (`Privileges.runAs`), the datapath thread keeps
  /// CAP_NET_ADMIN and CAP_NET_RAW, the calling thread (and every thread it
  /// starts later) keeps nothing. Call it from the thread that will serve the
  /// control socket, before that starts.
  public func dropPrivileges() throws(LabError) {
    let problems = datapath.performOnEach { _ -> String? in
      do throws(LabError) {
        try Privileges.restrictThisThread(to: Privileges.datapath)
        return nil
      } catch {
        return error.description
      }
    }
    if let problem = problems.compactMap({ $0 }).first {
      throw LabError("datapath thread: \(problem)")
    }
    try Privileges.restrictThisThread(to: Privileges.none)
  }

  /// Stops switching and removes every TAP, namespace and state file the lab
  /// made, after completing every capture's output. Idempotent; returns
  /// problems it could not fix, one line each.
  @discardableResult
  public func tearDown() -> [String] {
    guard !isTornDown else { return [] }
    isTornDown = true
    // VMs first, while the switch still carries what a guest says as it shuts down.
    stopVMs()
    // Together, so stalled capture readers cost one bounded wait, not one each.
    CaptureSession.stop(captures.withLock { Array($0.values) })
    datapath.stop()
    for tap in taps { tap.close() }
    taps.removeAll()
    return leftoverRemover(paths)
  }
}
