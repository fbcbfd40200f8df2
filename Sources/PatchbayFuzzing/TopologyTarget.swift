import PatchbayCore
import PatchbayTopology
import PatchbayWire

/// The `topology` target: the input as a topology file (UTF-8, invalid bytes
/// replaced, as `String(contentsOfFile:)` would not; the loader must survive any
/// text), loaded and, when it is valid, turned into what `validate`, `graph`
/// and `up` make of it: the summary, both graphs, the bridges with their VLAN
/// modes and monitor ports, the rate limiters, the NAT's DHCP servers and
/// session tables.
///
/// Checked: the loader never traps and reports every problem with a location
/// in the file, sorted; a valid lab builds without trapping.
public func fuzzTopology(_ bytes: UnsafeRawBufferPointer) {
  let text = String(decoding: bytes, as: UTF8.self)
  let topology: Topology
  do {
    topology = try TopologyLoader.load(yaml: text, file: "fuzz.yaml")
  } catch {
    let diagnostics = error.diagnostics
    invariant(!diagnostics.isEmpty, "an error without a diagnostic")
    for diagnostic in diagnostics {
      invariant(diagnostic.location.file == "fuzz.yaml", "a diagnostic names another file")
      invariant(
        diagnostic.location.line >= 1 && diagnostic.location.column >= 1,
        "a diagnostic at \(diagnostic.location)")
      invariant(!diagnostic.message.isEmpty, "an empty diagnostic")
    }
    invariant(
      zip(diagnostics, diagnostics.dropFirst()).allSatisfy { !($1.location < $0.location) },
      "diagnostics out of order")
    _ = error.description
    return
  }
  build(topology)
}

/// What `validate`, `graph` and `up` make of a valid topology, short of I/O.
private func build(_ topology: Topology) {
  _ = topology.summary
  for format in GraphFormat.allCases { _ = topology.graph(format: format) }
  var bridges: [Bridge] = topology.switches.map { spec in
    for port in spec.ports {
      _ = topology.port(port.reference)
      if let rate = port.rate { RateLimits.run(rate) }
    }
    // The MAC table's size does not change what the bridge is: kept small so
    // that a lab asking for a million entries does not cost every run 40 MB.
    return Bridge(
      name: spec.name,
      ports: spec.ports.map {
        BridgePortConfiguration(name: $0.name, mode: $0.vlanMode.bridgeMode)
      },
      macTableSize: min(spec.macTableSize, 1024), macAging: spec.macAging)
  }
  for mirror in topology.mirrors {
    guard
      let switchIndex = topology.switches.firstIndex(where: { $0.name == mirror.to.switchName }),
      let portIndex = topology.switches[switchIndex].ports.firstIndex(where: {
        $0.name == mirror.to.portName
      })
    else {
      fatalError("invariant violated: mirror \(mirror.name) goes to a port that is not there")
    }
    bridges[switchIndex].makeMonitor(portIndex)
  }
  for host in topology.hosts {
    _ = topology.macAddress(of: host)
    if let port = host.port {
      invariant(topology.port(port) != nil, "host \(host.name) is on a port that is not there")
    }
  }
  for uplink in topology.uplinks {
    _ = topology.routerMACs(ofUplink: uplink.name)
    _ = topology.hostOnlyInterface(ofUplink: uplink.name)
    guard let nat = uplink.nat else { continue }
    let inside = nat.inside
    if let dhcp = nat.dhcp {
      let server = DHCPServer(
        configuration: DHCPServerConfiguration(
          serverAddress: inside.address, subnet: inside, rangeStart: dhcp.rangeStart,
          rangeEnd: dhcp.rangeEnd, lease: dhcp.lease, router: inside.address))
      _ = server.leases(at: .zero)
    }
    // The session table's arrays are sized at once: kept small for the same reason.
    _ = NATSessionTable(capacity: min(nat.maxSessions, 1024))
  }
}
