import Glibc
import PatchbayCore
import PatchbayWire
import Testing

@testable import PatchbayDatapath

// The NAT uplink hop on a manual clock: a lab host on a loopback port, the
// router's lab side on port 1 of the same switch, and the physical NIC played
// by the host end of a second loopback port, so every frame the router sends
// out is read back here byte for byte and every frame from "outside" is
// injected. No root, no interface, no sleep.

/// A switch with a lab host (port 0) and a NAT uplink (port 1) whose NIC is a socket pair.
final class UplinkLab {
  /// The lab host's port.
  let host: LoopbackPort
  /// The NIC: the datapath reads and writes a duplicate of its datapath end.
  let nic: LoopbackPort
  /// The datapath, never started.
  let datapath: Datapath
  /// The manual clock.
  var now = Instant.seconds(100)

  init() throws {
    let host = try LoopbackPort()
    let nic = try LoopbackPort()
    self.host = host
    self.nic = nic
    let configuration = UplinkRouterConfiguration(
      insideAddress: Hop.inside, insideMAC: Hop.insideMAC, outsideAddress: Hop.outside,
      outsideMAC: Hop.outsideMAC, gateway: Hop.gateway)
    // The datapath closes an uplink's descriptor itself, so it gets its own copy.
    let descriptor = try checkedLibc("dup", "uplink NIC") { dup(nic.datapathEnd.rawValue) }
    datapath = try Datapath(
      bridges: [
        Bridge(
          name: "sw",
          ports: [BridgePortConfiguration(name: "Hop.h1"), BridgePortConfiguration(name: "net")],
          macTableSize: 64)
      ],
      ports: [
        try host.datapathPort(switchIndex: 0, portIndex: 0),
        DatapathPort(router: 0, switchIndex: 0, portIndex: 1),
      ],
      routers: [
        DatapathUplink(
          name: "net", router: UplinkRouter(configuration: configuration),
          interface: "pbnone0", descriptor: descriptor, port: 1)
      ])
  }

  deinit {
    host.close()
    nic.close()
  }

  /// What the datapath thread does first: the router asks for the gateway's
  /// MAC, then the first turn runs the once-a-second work (which asks again,
  /// since the first question left nothing waiting).
  func start() {
    datapath.startRouters(at: now)
    turn()
  }

  /// One turn of the loop at `now`.
  func turn() { datapath.runOnce(at: now) }

  /// One turn at `nanoseconds` past `base`.
  func turn(at base: Instant, plus nanoseconds: UInt64) {
    now = Instant(nanoseconds: base.nanoseconds + nanoseconds)
    turn()
  }

  /// A started lab whose router's question for the gateway's MAC was read
  /// off the NIC, unanswered.
  static func started() throws -> UplinkLab {
    let lab = try UplinkLab()
    lab.start()
    _ = lab.nic.receiveAll()
    return lab
  }

  /// A started lab whose router knows the gateway's MAC (it answered the
  /// question), with nothing left to read on either side.
  static func resolved() throws -> UplinkLab {
    let lab = try started()
    try lab.nic.inject(
      HopFrames.arp(
        .reply, from: Hop.gatewayMAC, Hop.gateway, to: Hop.outsideMAC, Hop.outside.address))
    lab.turn()
    _ = lab.nic.receiveAll()
    return lab
  }

  /// The uplink's state at `now`.
  var uplink: UplinkSnapshot { datapath.snapshot(at: now).uplinks[0] }

  /// Port `port`'s counters.
  func counters(_ port: Int) -> PortCounters { datapath.bridges[0].counters(of: port) }
}

/// Frames as lab hosts, the gateway and servers send them.
enum HopFrames {
  static func udp(
    _ sourceMAC: MACAddress, _ destinationMAC: MACAddress, _ source: IPv4Address,
    _ sourcePort: UInt16, _ destination: IPv4Address, _ destinationPort: UInt16,
    ttl: UInt8 = 64, payload: [UInt8] = [1, 2, 3, 4]
  ) -> [UInt8] {
    let datagram = UDPHeader(sourcePort: sourcePort, destinationPort: destinationPort).emit(
      payload: payload, pseudoHeader: .ipv4(source: source, destination: destination))
    let ip = IPv4Header(
      identification: 0x1234, timeToLive: ttl, protocol: .udp, source: source,
      destination: destination
    ).emit(payload: datagram)
    return EthernetHeader(destination: destinationMAC, source: sourceMAC, payloadType: .ipv4)
      .emit(payload: ip)
  }

  static func arp(
    _ operation: ARPOperation, from mac: MACAddress, _ address: IPv4Address,
    to targetMAC: MACAddress, _ target: IPv4Address
  ) -> [UInt8] {
    let arp = ARPMessage(
      operation: operation, senderHardwareAddress: mac, senderProtocolAddress: address,
      targetHardwareAddress: operation == .request ? .zero : targetMAC,
      targetProtocolAddress: target)
    return EthernetHeader(
      destination: operation == .request ? .broadcast : targetMAC, source: mac, payloadType: .arp
    ).emit(payload: arp.emit())
  }

  /// Checks `frame`'s IPv4 header checksum and UDP checksum with Wire's views;
  /// returns (source port, destination port).
  static func checkedPorts(_ frame: [UInt8]) throws -> (UInt16, UInt16) {
    try frame.withUnsafeBytes { bytes in
      let packet = try IPv4Packet(
        validating: UnsafeRawBufferPointer(rebasing: bytes[EthernetFrame.headerLength...]))
      #expect(packet.isHeaderChecksumValid)
      let datagram = try UDPDatagram(validating: packet.payload)
      #expect(datagram.isChecksumValid(packet.pseudoHeader))
      return (datagram.sourcePort, datagram.destinationPort)
    }
  }
}

/// The addresses of the uplink lab: the lab side (10.0.0.0/24), the NAT's
/// outside (192.0.2.0/24, documentation addresses) and a server beyond the gateway.
enum Hop {
  /// The router's inside address (the lab hosts' gateway).
  static let inside = IPv4CIDR("10.0.0.254/24")!
  /// The router's MAC on the lab side.
  static let insideMAC = MACAddress("02:00:00:00:00:fe")!
  /// The NAT's address on the physical network.
  static let outside = IPv4CIDR("192.0.2.10/24")!
  /// The NAT's MAC on the physical network.
  static let outsideMAC = MACAddress("02:00:00:00:01:0a")!
  /// The physical network's gateway.
  static let gateway = IPv4Address("192.0.2.1")!
  /// The gateway's MAC.
  static let gatewayMAC = MACAddress("02:00:00:00:01:01")!
  /// A server beyond the gateway.
  static let server = IPv4Address("198.51.100.7")!
  /// A lab host.
  static let h1 = IPv4Address("10.0.0.1")!
  /// Its MAC.
  static let h1MAC = MACAddress("02:00:00:00:00:01")!
  /// A second lab host behind the same port.
  static let h2 = IPv4Address("10.0.0.2")!
  /// Its MAC.
  static let h2MAC = MACAddress("02:00:00:00:00:02")!
  /// A virtio-net header asking for nothing.
  static let noOffloads = [UInt8](repeating: 0, count: VirtioNetHeader.byteCount)
}
