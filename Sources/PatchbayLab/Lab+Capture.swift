import Foundation
import Logging
import PatchbayDatapath
import PatchbayTopology
import PatchbayWire

// Captures and mirrors of a running lab: the topology's, started with it, and
// those `patchbay capture` asks for while it runs.
extension Lab {
  /// Starts capturing `ports` into `output`: frames matching `filter` (all
  /// when nil), `snaplen` bytes of each, in `direction`, ending after `count`
  /// frames if given. Returns the capture's id. A bad port or filter is a
  /// one-line error and starts nothing.
  @discardableResult
  public func startCapture(
    ports references: [PortReference], filter: String?, snaplen: Int,
    direction: CaptureDirection, count: Int?, ringBytes: Int = CaptureSession.defaultRingBytes,
    output: CaptureOutput
  ) throws(LabError) -> Int {
    let compiled: PacketFilter?
    do {
      compiled = try filter.map { (expression) throws(CaptureError) in
        try PacketFilter(expression, snaplen: snaplen)
      }
    } catch {
      throw LabError(error.description)
    }
    return try startCapture(
      ports: references, filter: compiled, snaplen: snaplen, direction: direction, count: count,
      ringBytes: ringBytes, output: output)
  }

  /// The pcapng interface blocks of `references`, in order.
  public func interfaces(of references: [PortReference], snaplen: Int) throws(LabError)
    -> [Pcapng.Interface]
  {
    var result: [Pcapng.Interface] = []
    for (index, reference) in references.enumerated() {
      if references[..<index].contains(reference) {
        throw LabError("port '\(reference)' is named twice")
      }
      guard let port = topology.port(reference) else {
        throw LabError(
          "lab \(topology.name) has no port '\(reference)' (ports are named SWITCH/PORT)")
      }
      result.append(
        Pcapng.Interface(
          name: reference.description, description: describe(port), snaplen: snaplen))
    }
    return result
  }

  @discardableResult
  private func startCapture(
    name: String? = nil, ports references: [PortReference], filter: PacketFilter?, snaplen: Int,
    direction: CaptureDirection, count: Int?, ringBytes: Int, output: CaptureOutput
  ) throws(LabError) -> Int {
    let interfaces = try interfaces(of: references, snaplen: snaplen)
    let globals = try references.map { (reference) throws(LabError) in
      try globalIndex(of: reference)
    }
    let id = nextCaptureID.withLock { next in
      defer { next += 1 }
      return next
    }
    let session = CaptureSession(
      id: id, name: name, interfaces: interfaces, filter: filter, count: count,
      ringBytes: ringBytes,
      output: output, logger: logger)
    let entries = globals.enumerated().map { index, global in
      (
        port: global,
        tap: CaptureTap(
          ring: session.ring, interfaceID: UInt32(index), direction: direction, filter: filter,
          snaplen: snaplen)
      )
    }
    captures.withLock { $0[id] = session }
    // Taps first: the header the writer sends once started tells a client
    // that frames from here on are captured.
    datapath.addTaps(entries, group: id)
    let datapath = self.datapath
    let ports = references.map(\.description).joined(separator: ",")
    logger.info(
      "capture: \(session.name) started on \(ports)",
      metadata: ["capture": "\(session.name)", "ports": "\(ports)"])
    session.start { [weak self] in
      datapath.removeTaps(group: id)
      _ = self?.captures.withLock { $0.removeValue(forKey: id) }
    }
    return id
  }

  /// Ends capture `id` and waits until its output is complete.
  public func stopCapture(_ id: Int) {
    captures.withLock { $0[id] }?.stop()
  }

  /// What each running capture did so far, in the order they started.
  public func captureStates() -> [CaptureState] {
    captures.withLock { $0.sorted { $0.key < $1.key }.map(\.value) }.map(\.state)
  }

  /// The ids of the captures running now.
  public var captureIDs: [Int] { captures.withLock { $0.keys.sorted() } }

  /// Copies each mirror's `from` ports, both directions, to its `to` port.
  func startMirrors(filters: [String: PacketFilter]) throws(LabError) {
    for (index, mirror) in topology.mirrors.enumerated() {
      let filter = filters["mirror \(mirror.name)"]
      if let filter { mirrorFilters.append(filter) }
      let monitor = try globalIndex(of: mirror.to)
      let entries = try mirror.from.map { (reference) throws(LabError) in
        (
          port: try globalIndex(of: reference),
          tap: CaptureTap(mirroringTo: monitor, filter: filter)
        )
      }
      // Mirror groups count down from -1, so they never meet a capture's id.
      datapath.addTaps(entries, group: -1 - index)
    }
  }

  /// Starts the topology's captures, each into its file (relative paths from
  /// the topology file's directory; missing directories are made as the
  /// owner of the one they are made in; a symlink on the way is refused).
  func startTopologyCaptures(filters: [String: PacketFilter], topologyFile: String)
    throws(LabError)
  {
    for capture in topology.captures {
      let path = resolvedPath(capture.file, topologyFile: topologyFile)
      let url = URL(fileURLWithPath: path)
      let interfaces = try interfaces(of: capture.ports, snaplen: capture.snaplen)
      let output: FileCaptureOutput
      do {
        // Walked without following a symlink; folders made and files
        // written as their folder's owner (see CaptureDirectory).
        let directory = try CaptureDirectory.open(
          ownedDirectory: url.deletingLastPathComponent().path, creatingMissing: true)
        output = try FileCaptureOutput(
          directory: directory, name: url.lastPathComponent,
          ring: capture.ring.map { CaptureFile.Ring(files: $0.files, size: $0.size) },
          header: Pcapng.header(interfaces: interfaces))
      } catch {
        throw LabError("capture \(capture.name): \(error.description)")
      }
      try startCapture(
        name: "capture \(capture.name)", ports: capture.ports,
        filter: filters["capture \(capture.name)"],
        snaplen: capture.snaplen, direction: .both, count: nil,
        ringBytes: CaptureSession.defaultRingBytes, output: output)
    }
  }

  /// The port's global index (switch by switch, port by port).
  func globalIndex(of reference: PortReference) throws(LabError) -> Int {
    guard
      let global = topology.switches.flatMap(\.ports).firstIndex(where: {
        $0.reference == reference
      })
    else {
      throw LabError(
        "lab \(topology.name) has no port '\(reference)' (ports are named SWITCH/PORT)")
    }
    return global
  }

  /// What a port is, for its interface block's description.
  private func describe(_ port: PortSpec) -> String {
    var parts: [String]
    switch port.kind {
    case .tap(let name): parts = ["tap \(name)"]
    case .attach(let name): parts = ["attach \(name)"]
    case .uplink(let name): parts = ["uplink \(name)"]
    case .peer(let other): parts = ["patch cable to \(other)"]
    }
    if let host = topology.host(on: port.reference) { parts.append("host \(host.name)") }
    if let vm = topology.vm(on: port.reference) { parts.append("vm \(vm.name)") }
    parts.append(port.vlanMode.summary)
    return "Patchbay lab \(topology.name), " + parts.joined(separator: ", ")
  }
}
