import CLinuxNet
import Foundation
import PatchbayCore
import PatchbayDatapath
import PatchbayTopology
import PatchbayWire

/// A lab part-way through `Lab.build`: what its port builders made so far,
/// one builder per port kind and per uplink mode. Everything it opened is
/// in `taps` and `packetSockets` until the datapath owns it, so a failed
/// build closes exactly that (and `resources` names what to remove).
struct LabAssembly {
  let topology: Topology
  let paths: LabPaths
  /// The record of what exists so far, saved after each creation.
  var resources: LabResources
  /// The TAPs the lab created and holds open.
  var taps: [TapDevice] = []
  /// Packet sockets not yet handed to the datapath.
  var packetSockets: [Int32] = []
  /// One entry per port, in topology order.
  var datapathPorts: [DatapathPort] = []
  /// The interface each packet-socket port attaches to, by port.
  var attached: [String?] = []
  /// The NAT uplinks' routers.
  var uplinks: [DatapathUplink] = []
  /// Things worth telling the user about a lab that did come up.
  var warnings: [String] = []
  /// How many datapath threads the lab runs: each TAP gets a queue per thread.
  var threads = 1
  /// The TAP behind each TAP port, by port.
  var portTaps: [Int: TapDevice] = [:]

  init(topology: Topology, paths: LabPaths, resources: LabResources) {
    self.topology = topology
    self.paths = paths
    self.resources = resources
  }

  /// Builds every switch port in topology order (veth hosts first: their
  /// root-namespace ends are what uplinks and attach ports use).
  mutating func buildPorts() throws {
    for host in topology.hosts {
      guard let veth = host.veth else { continue }
      try Lab.setUpVethHost(
        host, veth: veth, topology: topology, paths: paths, resources: &resources)
    }
    for (switchIndex, switchSpec) in topology.switches.enumerated() {
      for (portIndex, port) in switchSpec.ports.enumerated() {
        try buildPort(port, at: (switchIndex, portIndex))
      }
    }
  }

  /// Dispatches `port` to the builder of its kind.
  private mutating func buildPort(_ port: PortSpec, at position: Lab.Position) throws {
    switch port.kind {
    case .peer(let other): try buildPatchCable(to: other, from: port, at: position)
    case .attach(let interface): try buildAttachPort(interface, for: port, at: position)
    case .tap(let interface): try buildTapPort(interface, for: port, at: position)
    case .uplink(let name):
      guard let uplink = topology.uplinks.first(where: { $0.name == name }) else {
        throw LabError("port \(port.reference): uplink \(name) does not exist")
      }
      switch uplink.settings {
      case .nat(let nat): try buildNATUplink(name, nat, for: port, at: position)
      case .bridge(let nic): try buildBridgedUplink(name, nic: nic, for: port, at: position)
      case .hostOnly(let inside):
        try buildHostOnlyUplink(name, inside: inside, for: port, at: position)
      }
    }
  }

  private mutating func add(_ port: DatapathPort, attachedTo interface: String? = nil) {
    datapathPorts.append(port)
    attached.append(interface)
  }

  /// `peer:`: one end of a patch cable; the datapath joins the two ports in-process.
  private mutating func buildPatchCable(
    to other: PortReference, from port: PortSpec, at position: Lab.Position
  ) throws(LabError) {
    guard let (peerSwitch, peerPort) = try? Lab.position(of: other, in: topology) else {
      throw LabError("port \(port.reference): peer \(other) does not exist")
    }
    add(
      DatapathPort(
        switchIndex: position.switchIndex, portIndex: position.portIndex,
        peerSwitchIndex: peerSwitch, peerPortIndex: peerPort))
  }

  /// `attach:`: an existing interface; one that does not exist yet leaves the port down.
  private mutating func buildAttachPort(
    _ interface: String, for port: PortSpec, at position: Lab.Position
  ) throws {
    let entry = try attachPacketSocket(interface, at: position)
    if entry.descriptor < 0 {
      warnings.append(
        "port \(port.reference): interface \(interface) does not exist yet; the port stays down until it appears"
      )
    }
    add(entry, attachedTo: interface)
  }

  /// `tap:`: a TAP the lab creates (a VM's port or a host's `eth0`, or left in the root namespace).
  private mutating func buildTapPort(
    _ interface: String, for port: PortSpec, at position: Lab.Position
  ) throws {
    if topology.vm(on: port.reference) != nil {
      return try buildVMPort(interface, for: port, at: position)
    }
    let tap = try createTap(interface, for: port)
    // Each host is set up right after its TAP, so the TAP leaves this
    // namespace before the next one is created with a possibly equal name.
    if let host = topology.host(on: port.reference) {
      try tap.setMAC(topology.macAddress(of: host))
      try Lab.setUpHost(host, interface: interface, paths: paths, resources: &resources)
    } else {
      try tap.setUp()
    }
    portTaps[datapathPorts.count] = tap
    add(DatapathPort(descriptor: tap.descriptor.rawValue, position: position))
  }

  /// A VM's port: a persistent TAP that its QEMU opens later, attached like `attach:`.
  private mutating func buildVMPort(
    _ interface: String, for port: PortSpec, at position: Lab.Position
  ) throws {
    try Lab.createVMTap(interface, for: port, paths: paths, resources: &resources)
    add(try attachPacketSocket(interface, at: position), attachedTo: interface)
  }

  /// A NAT uplink: the port is the router's inside, the NIC its outside.
  private mutating func buildNATUplink(
    _ name: String, _ uplink: NATUplinkSpec, for port: PortSpec, at position: Lab.Position
  ) throws(LabError) {
    let configuration = try Lab.routerConfiguration(
      named: name, uplink, port: port.reference, in: topology, warnings: &warnings)
    let descriptor = try Lab.openUplinkSocket(uplink.interface, uplink: name)
    packetSockets.append(descriptor)
    uplinks.append(
      DatapathUplink(
        name: name, router: UplinkRouter(configuration: configuration),
        interface: uplink.interface, descriptor: descriptor, port: datapathPorts.count))
    add(
      DatapathPort(
        router: uplinks.count - 1, switchIndex: position.switchIndex,
        portIndex: position.portIndex))
  }

  /// A bridged uplink: the physical NIC becomes the port, as an attach port.
  private mutating func buildBridgedUplink(
    _ name: String, nic: String, for port: PortSpec, at position: Lab.Position
  ) throws {
    guard pb_if_index(nic) != 0 else {
      throw LabError("uplink \(name): interface '\(nic)' does not exist")
    }
    add(try attachPacketSocket(nic, at: position), attachedTo: nic)
  }

  /// A host-only uplink: a TAP in the root namespace with the uplink's inside
  /// address (a VM's port on one is the VM's TAP, as for `tap:`).
  private mutating func buildHostOnlyUplink(
    _ name: String, inside: IPv4CIDR, for port: PortSpec, at position: Lab.Position
  ) throws {
    let interface = topology.hostOnlyInterface(ofUplink: name)
    if topology.vm(on: port.reference) != nil {
      return try buildVMPort(interface, for: port, at: position)
    }
    let tap = try createTap(interface, for: port)
    try Lab.configureHostOnly(tap, inside: inside)
    portTaps[datapathPorts.count] = tap
    add(DatapathPort(descriptor: tap.descriptor.rawValue, position: position))
  }

  /// Creates a TAP (held in `taps` for the rollback) with the port's MTU.
  private mutating func createTap(_ interface: String, for port: PortSpec) throws -> TapDevice {
    let tap = try TapDevice.create(
      named: interface, offloads: port.acceptsOffloads, queues: threads)
    taps.append(tap)
    try Lab.setMTU(of: tap, for: port)
    return tap
  }

  /// An existing interface (a QEMU-owned TAP, a veth), attached with a packet
  /// socket and brought up; descriptor -1 when the interface does not exist yet.
  private mutating func attachPacketSocket(_ interface: String, at position: Lab.Position)
    throws(SystemCallError) -> DatapathPort
  {
    var descriptor: Int32 = -1
    if pb_if_index(interface) != 0 {
      _ = pb_if_set_up(interface, 1)
      var index: Int32 = 0
      descriptor = try checked("attach (AF_PACKET)", interface) {
        pb_packet_open(interface, &index)
      }
      packetSockets.append(descriptor)
    }
    return DatapathPort(
      packetSocket: descriptor, switchIndex: position.switchIndex, portIndex: position.portIndex)
  }
}

extension DatapathPort {
  /// A TAP port at `position`.
  init(descriptor: Int32, position: Lab.Position) {
    self.init(
      descriptor: descriptor, switchIndex: position.switchIndex, portIndex: position.portIndex)
  }
}
