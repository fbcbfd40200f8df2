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

private let inside = IPv4CIDR("10.0.0.254/24")!
private let insideMAC = MACAddress("02:00:00:00:00:fe")!
private let outside = IPv4CIDR("192.0.2.10/24")!
private let outsideMAC = MACAddress("02:00:00:00:01:0a")!
private let gateway = IPv4Address("192.0.2.1")!
private let gatewayMAC = MACAddress("02:00:00:00:01:01")!
private let server = IPv4Address("198.51.100.7")!
private let h1 = IPv4Address("10.0.0.1")!
private let h1MAC = MACAddress("02:00:00:00:00:01")!
private let h2 = IPv4Address("10.0.0.2")!
private let h2MAC = MACAddress("02:00:00:00:00:02")!
private let noOffloads = [UInt8](repeating: 0, count: VirtioNetHeader.byteCount)

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
      insideAddress: inside, insideMAC: insideMAC, outsideAddress: outside,
      outsideMAC: outsideMAC, gateway: gateway)
    // The datapath closes an uplink's descriptor itself, so it gets its own copy.
    let descriptor = try checkedLibc("dup", "uplink NIC") { dup(nic.datapathEnd.rawValue) }
    datapath = try Datapath(
      bridges: [
        Bridge(
          name: "sw",
          ports: [BridgePortConfiguration(name: "h1"), BridgePortConfiguration(name: "net")],
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

@Suite struct UplinkHopTests {
  /// The gateway's ARP request at start, as the router sends it out of the NIC.
  static let gatewayQuestion = HopFrames.arp(
    .request, from: outsideMAC, outside.address, to: .zero, gateway)

  @Test func aFrameOutWaitsForTheGatewayAndLeavesTranslatedWhenItAnswers() throws {
    let lab = try UplinkLab()
    lab.start()
    let asked = try #require(lab.nic.receive())
    #expect(asked.header == noOffloads)
    #expect(asked.frame == Self.gatewayQuestion)
    #expect(lab.nic.receiveAll() == [Self.gatewayQuestion])

    let query = HopFrames.udp(h1MAC, insideMAC, h1, 5000, server, 53)
    try lab.host.inject(query)
    lab.turn()
    // Translated (the NAT keeps the source port while it is free), but held
    // until the gateway's MAC is known; the first frame held asks once more.
    #expect(lab.nic.receiveAll() == [Self.gatewayQuestion])
    #expect(lab.counters(1).transmittedPackets == 1)
    #expect(lab.counters(1).transmittedBytes == 46)
    #expect(lab.uplink.statistics.translatedOut == 1)

    try lab.nic.inject(
      HopFrames.arp(.reply, from: gatewayMAC, gateway, to: outsideMAC, outside.address))
    lab.turn()
    let out = try #require(lab.nic.receive())
    #expect(out.header == noOffloads)
    #expect(
      out.frame == HopFrames.udp(outsideMAC, gatewayMAC, outside.address, 5000, server, 53, ttl: 63)
    )
    #expect(try HopFrames.checkedPorts(out.frame) == (5000, 53))
    #expect(lab.nic.receiveAll().isEmpty)
    #expect(lab.host.receiveAll().isEmpty)

    let uplink = lab.uplink
    #expect(uplink.sentFrames == 4)
    #expect(uplink.sentBytes == 3 * 42 + 46)
    #expect(uplink.receivedFrames == 1)
    #expect(uplink.sendFailures == 0)
    #expect(uplink.neighbours.outside == 1)
    #expect(uplink.sessions.count == 1)
  }

  @Test func theReplyComesBackTranslatedAndTheSessionCountsBothWays() throws {
    let lab = try UplinkLab()
    lab.start()
    _ = lab.nic.receiveAll()
    // The gateway answers first, so the query leaves in the turn that reads it.
    try lab.nic.inject(
      HopFrames.arp(.reply, from: gatewayMAC, gateway, to: outsideMAC, outside.address))
    lab.turn()
    try lab.host.inject(HopFrames.udp(h1MAC, insideMAC, h1, 5000, server, 53))
    lab.turn()
    #expect(
      lab.nic.receiveAll() == [
        HopFrames.udp(outsideMAC, gatewayMAC, outside.address, 5000, server, 53, ttl: 63)
      ])

    let answer = HopFrames.udp(
      gatewayMAC, outsideMAC, server, 53, outside.address, 5000, payload: [5, 6, 7, 8])
    try lab.nic.inject(answer)
    lab.turn()
    let back = try #require(lab.host.receive())
    #expect(back.header == noOffloads)
    #expect(
      back.frame
        == HopFrames.udp(insideMAC, h1MAC, server, 53, h1, 5000, ttl: 63, payload: [5, 6, 7, 8]))
    #expect(try HopFrames.checkedPorts(back.frame) == (53, 5000))

    // The switch learned the router's MAC from the answer: the next frame out
    // is forwarded to the router port alone and rewritten where it lies.
    try lab.host.inject(HopFrames.udp(h1MAC, insideMAC, h1, 5000, server, 53, payload: [9]))
    lab.turn()
    let second = try #require(lab.nic.receive())
    #expect(
      second.frame
        == HopFrames.udp(
          outsideMAC, gatewayMAC, outside.address, 5000, server, 53, ttl: 63, payload: [9]))
    #expect(try HopFrames.checkedPorts(second.frame) == (5000, 53))

    let snapshot = lab.datapath.snapshot(at: lab.now)
    let uplink = snapshot.uplinks[0]
    #expect(uplink.name == "net")
    #expect(uplink.interface == "pbnone0")
    #expect(uplink.sentFrames == 4)
    #expect(uplink.sentBytes == 2 * 42 + 46 + 43)
    #expect(uplink.receivedFrames == 2)
    #expect(uplink.sendFailures == 0)
    #expect(uplink.statistics.translatedOut == 2)
    #expect(uplink.statistics.translatedIn == 1)
    #expect(uplink.statistics.drops.allSatisfy { $0 == 0 })
    #expect(uplink.table.created == 1)
    #expect(uplink.table.expired == 0)
    let session = try #require(uplink.sessions.first)
    #expect(uplink.sessions.count == 1)
    #expect(session.transport == .udp)
    #expect(session.insideAddress == h1)
    #expect(session.insidePort == 5000)
    #expect(session.insideMAC == h1MAC)
    #expect(session.outsidePort == 5000)
    #expect(session.remoteAddress == server)
    #expect(session.remotePort == 53)
    #expect(session.hasReply)
    #expect(!session.isForwarded)
    #expect(session.outboundPackets == 2)
    #expect(session.outboundBytes == 32 + 29)
    #expect(session.inboundPackets == 1)
    #expect(session.inboundBytes == 32)
    #expect(session.lastUsed == lab.now)
    // The router port: two frames in from the switch, one out into it.
    let routerPort = snapshot.switches[0].counters[1]
    #expect(routerPort.transmittedPackets == 2)
    #expect(routerPort.transmittedBytes == 46 + 43)
    #expect(routerPort.receivedPackets == 1)
    #expect(routerPort.receivedBytes == 46)
    #expect(snapshot.switches[0].counters[0].transmittedPackets == 1)
    #expect(
      snapshot.switches[0].entries.map { "\($0.mac) \($0.port)" } == [
        "02:00:00:00:00:01 0", "02:00:00:00:00:fe 1",
      ])
  }

  @Test func aSecondFlowFromTheSamePortGetsTheNextFreeOutsidePortBothWays() throws {
    let lab = try UplinkLab()
    lab.start()
    _ = lab.nic.receiveAll()
    try lab.nic.inject(
      HopFrames.arp(.reply, from: gatewayMAC, gateway, to: outsideMAC, outside.address))
    lab.turn()
    // Two hosts behind the same lab port, the same source port, the same server.
    try lab.host.inject(HopFrames.udp(h1MAC, insideMAC, h1, 5000, server, 53))
    try lab.host.inject(HopFrames.udp(h2MAC, insideMAC, h2, 5000, server, 53))
    lab.turn()
    let out = lab.nic.receiveAll()
    #expect(
      out == [
        HopFrames.udp(outsideMAC, gatewayMAC, outside.address, 5000, server, 53, ttl: 63),
        HopFrames.udp(outsideMAC, gatewayMAC, outside.address, 1024, server, 53, ttl: 63),
      ])
    #expect(try out.map(HopFrames.checkedPorts).map(\.0) == [5000, 1024])

    try lab.nic.inject(
      HopFrames.udp(gatewayMAC, outsideMAC, server, 53, outside.address, 1024, payload: [7]))
    lab.turn()
    let back = try #require(lab.host.receive())
    #expect(
      back.frame == HopFrames.udp(insideMAC, h2MAC, server, 53, h2, 5000, ttl: 63, payload: [7]))
    #expect(try HopFrames.checkedPorts(back.frame) == (53, 5000))
    #expect(lab.host.receiveAll().isEmpty)
    let sessions = lab.uplink.sessions
    #expect(sessions.map(\.insideAddress) == [h1, h2])
    #expect(sessions.map(\.outsidePort) == [5000, 1024])
    #expect(sessions.map(\.hasReply) == [false, true])
    #expect(lab.uplink.statistics.translatedOut == 2)
    #expect(lab.uplink.statistics.translatedIn == 1)
  }

  @Test func theRouterAnswersARPOnBothSidesAndLearnsTheGatewayFromItsQuestion() throws {
    let lab = try UplinkLab()
    lab.start()
    _ = lab.nic.receiveAll()
    // The lab host asks for its gateway, the router's inside address.
    try lab.host.inject(HopFrames.arp(.request, from: h1MAC, h1, to: .zero, inside.address))
    lab.turn()
    #expect(
      lab.host.receiveAll() == [
        HopFrames.arp(.reply, from: insideMAC, inside.address, to: h1MAC, h1)
      ])
    #expect(lab.nic.receiveAll().isEmpty)
    #expect(lab.counters(1).transmittedPackets == 1)
    #expect(lab.counters(1).receivedPackets == 1)
    #expect(lab.uplink.statistics.answered == 1)
    #expect(lab.uplink.neighbours.inside == 1)

    // The gateway asks for the NAT's outside address: answered out of the NIC,
    // and the question teaches the router the gateway's MAC.
    try lab.nic.inject(
      HopFrames.arp(.request, from: gatewayMAC, gateway, to: .zero, outside.address))
    lab.turn()
    #expect(
      lab.nic.receiveAll() == [
        HopFrames.arp(.reply, from: outsideMAC, outside.address, to: gatewayMAC, gateway)
      ])
    #expect(lab.host.receiveAll().isEmpty)
    #expect(lab.uplink.statistics.answered == 2)
    #expect(lab.uplink.neighbours.outside == 1)

    // So a frame out leaves in the turn that read it.
    try lab.host.inject(HopFrames.udp(h1MAC, insideMAC, h1, 6000, server, 123))
    lab.turn()
    let out = try #require(lab.nic.receive())
    #expect(
      out.frame
        == HopFrames.udp(outsideMAC, gatewayMAC, outside.address, 6000, server, 123, ttl: 63))
    #expect(try HopFrames.checkedPorts(out.frame) == (6000, 123))
    #expect(lab.uplink.sentFrames == 4)
    #expect(lab.uplink.receivedFrames == 1)
  }

  @Test func whatOutsideSendsUnaskedIsDroppedOrIgnoredAndCounted() throws {
    let lab = try UplinkLab()
    lab.start()
    _ = lab.nic.receiveAll()
    // To the NAT's address with no session and no forward: unsolicited.
    try lab.nic.inject(HopFrames.udp(gatewayMAC, outsideMAC, server, 53, outside.address, 4000))
    // To another machine on the physical network (the NIC is promiscuous): ignored.
    try lab.nic.inject(
      HopFrames.udp(gatewayMAC, MACAddress("02:00:00:00:01:77")!, server, 53, gateway, 4000))
    lab.turn()
    #expect(lab.host.receiveAll().isEmpty)
    #expect(lab.nic.receiveAll().isEmpty)
    let uplink = lab.uplink
    #expect(uplink.receivedFrames == 2)
    #expect(uplink.statistics[.unsolicited] == 1)
    #expect(uplink.statistics.drops.reduce(0, +) == 1)
    #expect(uplink.statistics.ignored == 1)
    #expect(uplink.sessions.isEmpty)
    #expect(lab.counters(1).receivedPackets == 0)
  }
}
