import PatchbayWire
import Testing

@testable import PatchbayCore

// Byte-exact frames through the NAT router with a manual clock: every rule
// (translation, checksums, ARP, timeouts, forwards, ICMP errors) checked on
// the bytes that leave.

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

/// Frames as hosts and servers send them.
enum Frames {
  static func tcp(
    _ sourceMAC: MACAddress, _ destinationMAC: MACAddress, _ source: IPv4Address,
    _ sourcePort: UInt16, _ destination: IPv4Address, _ destinationPort: UInt16,
    _ flags: TCPFlags, ttl: UInt8 = 64, payload: [UInt8] = []
  ) -> [UInt8] {
    let segment = TCPHeader(
      sourcePort: sourcePort, destinationPort: destinationPort, sequenceNumber: 1000,
      acknowledgmentNumber: flags.contains(.ack) ? 2000 : 0, flags: flags, window: 1024
    ).emit(payload: payload, pseudoHeader: .ipv4(source: source, destination: destination))
    let ip = IPv4Header(timeToLive: ttl, protocol: .tcp, source: source, destination: destination)
      .emit(payload: segment)
    return EthernetHeader(destination: destinationMAC, source: sourceMAC, payloadType: .ipv4)
      .emit(payload: ip)
  }

  static func udp(
    _ sourceMAC: MACAddress, _ destinationMAC: MACAddress, _ source: IPv4Address,
    _ sourcePort: UInt16, _ destination: IPv4Address, _ destinationPort: UInt16,
    payload: [UInt8] = [1, 2, 3, 4], moreFragments: Bool = false
  ) -> [UInt8] {
    let datagram = UDPHeader(sourcePort: sourcePort, destinationPort: destinationPort).emit(
      payload: payload, pseudoHeader: .ipv4(source: source, destination: destination))
    let ip = IPv4Header(
      dontFragment: false, moreFragments: moreFragments, protocol: .udp, source: source,
      destination: destination
    ).emit(payload: datagram)
    return EthernetHeader(destination: destinationMAC, source: sourceMAC, payloadType: .ipv4)
      .emit(payload: ip)
  }

  static func ping(
    _ sourceMAC: MACAddress, _ destinationMAC: MACAddress, _ source: IPv4Address,
    _ destination: IPv4Address, identifier: UInt16, reply: Bool = false
  ) -> [UInt8] {
    let icmp = ICMPEchoMessage(
      kind: reply ? .reply : .request, identifier: identifier, sequenceNumber: 1
    ).emit(payload: [9, 9, 9, 9])
    let ip = IPv4Header(protocol: .icmp, source: source, destination: destination)
      .emit(payload: icmp)
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
}

/// The fields a test checks in a frame that left the router, with every checksum verified.
struct Seen {
  var sourceMAC: MACAddress
  var destinationMAC: MACAddress
  var source: IPv4Address
  var destination: IPv4Address
  var sourcePort: UInt16
  var destinationPort: UInt16
  var ttl: UInt8
  var checksumsValid: Bool

  init(_ bytes: [UInt8]) throws {
    let (seen, _) = try bytes.withUnsafeBytes { raw throws -> (Seen?, Void) in
      let frame = try EthernetFrame(validating: raw)
      let packet = try IPv4Packet(validating: frame.payload)
      var valid = packet.isHeaderChecksumValid
      var ports: (UInt16, UInt16) = (0, 0)
      switch packet.protocol {
      case .tcp:
        let segment = try TCPSegment(validating: packet.payload)
        valid = valid && segment.isChecksumValid(packet.pseudoHeader)
        ports = (segment.sourcePort, segment.destinationPort)
      case .udp:
        let datagram = try UDPDatagram(validating: packet.payload)
        valid = valid && datagram.isChecksumValid(packet.pseudoHeader)
        ports = (datagram.sourcePort, datagram.destinationPort)
      default:
        let icmp = try ICMPPacket(validating: packet.payload)
        valid = valid && icmp.isChecksumValid
        ports = (icmp.identifier, 0)
      }
      return (
        Seen(
          sourceMAC: frame.source, destinationMAC: frame.destination, source: packet.source,
          destination: packet.destination, sourcePort: ports.0, destinationPort: ports.1,
          ttl: packet.timeToLive, checksumsValid: valid), ()
      )
    }
    self = seen!
  }

  private init(
    sourceMAC: MACAddress, destinationMAC: MACAddress, source: IPv4Address,
    destination: IPv4Address, sourcePort: UInt16, destinationPort: UInt16, ttl: UInt8,
    checksumsValid: Bool
  ) {
    self.sourceMAC = sourceMAC
    self.destinationMAC = destinationMAC
    self.source = source
    self.destination = destination
    self.sourcePort = sourcePort
    self.destinationPort = destinationPort
    self.ttl = ttl
    self.checksumsValid = checksumsValid
  }
}

extension UplinkRouter {
  /// A router between the lab 10.0.0.0/24 and 192.0.2.0/24, gateway already resolved.
  static func testRouter(
    forwards: [NATForward] = [], dns: IPv4Address? = nil, maximumSessions: Int = 1024,
    dhcp: Bool = false, resolved: Bool = true, maximumNeighbours: Int = 1024
  ) -> UplinkRouter {
    var router = UplinkRouter(
      configuration: UplinkRouterConfiguration(
        insideAddress: inside, insideMAC: insideMAC, outsideAddress: outside,
        outsideMAC: outsideMAC, gateway: gateway,
        dhcp: dhcp
          ? DHCPServerConfiguration(
            serverAddress: inside.address, subnet: inside, rangeStart: IPv4Address("10.0.0.100")!,
            rangeEnd: IPv4Address("10.0.0.199")!, router: inside.address)
          : nil,
        dnsServer: dns, forwards: forwards, neighbours: [h1: h1MAC],
        maximumSessions: maximumSessions, maximumNeighbours: maximumNeighbours))
    if resolved {
      router.start(at: .zero)
      _ = router.takeOutput()
      var reply = Frames.arp(.reply, from: gatewayMAC, gateway, to: outsideMAC, outside.address)
      _ = router.fromOutside(&reply, at: .zero)
    }
    return router
  }

  /// Passes a frame from the lab, rewriting it in place.
  mutating func fromInside(
    _ frame: inout [UInt8], header: VirtioNetHeader = .plain, at now: Instant
  ) -> RouterVerdict {
    frame.withUnsafeMutableBytes { receiveFromInside($0, header: header, at: now) }
  }

  /// Passes a frame from the physical network, rewriting it in place.
  mutating func fromOutside(
    _ frame: inout [UInt8], header: VirtioNetHeader = .plain, at now: Instant
  ) -> RouterVerdict {
    frame.withUnsafeMutableBytes { receiveFromOutside($0, header: header, at: now) }
  }
}

@Suite struct UplinkRouterTests {
  @Test func anOutgoingConnectionIsTranslatedWithValidChecksumsAndItsRepliesComeBack() throws {
    var router = UplinkRouter.testRouter()
    var syn = Frames.tcp(h1MAC, insideMAC, h1, 40_000, server, 80, [.syn])
    #expect(router.fromInside(&syn, at: .seconds(1)) == .toOutside)
    let out = try Seen(syn)
    #expect(out.source == outside.address && out.sourcePort == 40_000)
    #expect(out.destination == server && out.destinationPort == 80)
    #expect(out.sourceMAC == outsideMAC && out.destinationMAC == gatewayMAC)
    #expect(out.ttl == 63 && out.checksumsValid)

    var synAck = Frames.tcp(
      gatewayMAC, outsideMAC, server, 80, outside.address, 40_000, [.syn, .ack])
    #expect(router.fromOutside(&synAck, at: .seconds(1)) == .toInside)
    let back = try Seen(synAck)
    #expect(back.destination == h1 && back.destinationPort == 40_000)
    #expect(back.source == server && back.sourcePort == 80)
    #expect(back.sourceMAC == insideMAC && back.destinationMAC == h1MAC)
    #expect(back.checksumsValid)
    #expect(router.sessions.first?.tcpState == .synReceived)

    for _ in 0..<3 {
      var ack = Frames.tcp(h1MAC, insideMAC, h1, 40_000, server, 80, [.ack], payload: [1, 2, 3])
      #expect(router.fromInside(&ack, at: .seconds(2)) == .toOutside)
      #expect(try Seen(ack).checksumsValid)
    }
    let session = try #require(router.sessions.first)
    #expect(session.tcpState == .established)
    #expect(session.outboundPackets == 4 && session.inboundPackets == 1)
    #expect(router.table.count == 1 && router.statistics.translatedOut == 4)
  }

  @Test func theFirstFrameWaitsForARPAndLeavesWhenTheGatewayAnswers() throws {
    var router = UplinkRouter.testRouter(resolved: false)
    var ping = Frames.ping(h1MAC, insideMAC, h1, server, identifier: 77)
    #expect(router.fromInside(&ping, at: .seconds(1)) == .consumed)
    let asked = router.takeOutput()
    #expect(asked.count == 1 && asked[0].leavesOutside)
    #expect(
      asked[0].bytes == Frames.arp(.request, from: outsideMAC, outside.address, to: .zero, gateway))
    var reply = Frames.arp(.reply, from: gatewayMAC, gateway, to: outsideMAC, outside.address)
    #expect(router.fromOutside(&reply, at: .seconds(1)) == .consumed)
    let released = router.takeOutput()
    #expect(released.count == 1 && released[0].leavesOutside)
    let out = try Seen(released[0].bytes)
    #expect(out.destinationMAC == gatewayMAC && out.source == outside.address && out.checksumsValid)
  }

  @Test func aNeighbourThatNeverAnswersCostsItsFramesCountedAsUnresolved() {
    var router = UplinkRouter.testRouter(resolved: false)
    var ping = Frames.ping(h1MAC, insideMAC, h1, server, identifier: 1)
    _ = router.fromInside(&ping, at: .seconds(1))
    router.tick(at: .seconds(5))
    #expect(router.statistics[.unresolved] == 1)
  }

  @Test func anARPFloodFromThePhysicalLANStaysWithinTheBoundAndKeepsTheGateway() throws {
    var router = UplinkRouter.testRouter(maximumNeighbours: 64)
    for index in 0..<10_000 {
      let sender = IPv4Address(rawValue: 0xC000_0200 &+ 2 &+ UInt32(index % 200))
      let senderMAC = MACAddress("02:00:00:01:00:01")!
      var request = Frames.arp(.request, from: senderMAC, sender, to: .zero, outside.address)
      _ = router.fromOutside(&request, at: .seconds(UInt64(2 + index)))
      _ = router.takeOutput()
    }
    let neighbours = router.neighbourStatistics
    #expect(neighbours.outside == 64)
    // 200 senders, each learned once a second: every one beyond the 64 the
    // table holds evicted an older one (the gateway is never among them).
    #expect(neighbours.outsideEvicted == 10_000 - 64 + 1)
    var ping = Frames.ping(h1MAC, insideMAC, h1, server, identifier: 9)
    #expect(router.fromInside(&ping, at: .seconds(10_010)) == .toOutside)
    #expect(try Seen(ping).destinationMAC == gatewayMAC)
  }

  @Test func unsolicitedFramesFromOutsideReachNobodyAndAreCounted() {
    var router = UplinkRouter.testRouter()
    var probe = Frames.udp(gatewayMAC, outsideMAC, server, 53, outside.address, 40_000)
    #expect(router.fromOutside(&probe, at: .seconds(1)) == .dropped(.unsolicited))
    var syn = Frames.tcp(gatewayMAC, outsideMAC, server, 999, outside.address, 22, [.syn])
    #expect(router.fromOutside(&syn, at: .seconds(1)) == .dropped(.unsolicited))
    // Another remote endpoint cannot use an existing session's port (endpoint-dependent filtering).
    var out = Frames.udp(h1MAC, insideMAC, h1, 5000, server, 53)
    #expect(router.fromInside(&out, at: .seconds(1)) == .toOutside)
    var other = Frames.udp(gatewayMAC, outsideMAC, gateway, 53, outside.address, 5000)
    #expect(router.fromOutside(&other, at: .seconds(1)) == .dropped(.unsolicited))
    #expect(router.statistics[.unsolicited] == 3)
  }

  @Test func framesForOtherMACsAndIPv6AreIgnoredNotDropped() {
    var router = UplinkRouter.testRouter()
    var elsewhere = Frames.udp(gatewayMAC, MACAddress("02:99:99:99:99:99")!, server, 1, gateway, 2)
    #expect(router.fromOutside(&elsewhere, at: .seconds(1)) == .consumed)
    var sideways = Frames.udp(h1MAC, h2MAC, h1, 1, h2, 2)
    #expect(router.fromInside(&sideways, at: .seconds(1)) == .consumed)
    #expect(router.statistics.ignored == 2)
    #expect(router.statistics.drops.allSatisfy { $0 == 0 })
  }

  @Test func aPortForwardOpensASessionToTheInsideHostAndRepliesLeaveFromTheForwardedPort()
    throws
  {
    var router = UplinkRouter.testRouter(forwards: [
      NATForward(transport: .tcp, outsidePort: 8080, insideAddress: h1, insidePort: 80)
    ])
    var syn = Frames.tcp(gatewayMAC, outsideMAC, server, 50_000, outside.address, 8080, [.syn])
    #expect(router.fromOutside(&syn, at: .seconds(1)) == .toInside)
    let seen = try Seen(syn)
    #expect(seen.destination == h1 && seen.destinationPort == 80 && seen.destinationMAC == h1MAC)
    #expect(seen.checksumsValid)
    var synAck = Frames.tcp(h1MAC, insideMAC, h1, 80, server, 50_000, [.syn, .ack])
    #expect(router.fromInside(&synAck, at: .seconds(1)) == .toOutside)
    let reply = try Seen(synAck)
    #expect(reply.source == outside.address && reply.sourcePort == 8080 && reply.checksumsValid)
    #expect(router.sessions.first?.isForwarded == true)
    #expect(router.sessions.first?.tcpState == .synReceived)
    // A stray ACK to the forwarded port opens nothing.
    var stray = Frames.tcp(gatewayMAC, outsideMAC, gateway, 1, outside.address, 8080, [.ack])
    #expect(router.fromOutside(&stray, at: .seconds(1)) == .dropped(.noSession))
  }

  @Test func aForwardedConnectionTakesOverAFlowTheInsideHostOpenedToTheSameEndpoint() throws {
    // Found by the nat fuzz target's session-table invariant: both sessions
    // mapped one leaving flow, and when the older one expired it took the
    // forwarded connection's mapping along, so its replies left from port 80.
    var router = UplinkRouter.testRouter(forwards: [
      NATForward(transport: .tcp, outsidePort: 8080, insideAddress: h1, insidePort: 80)
    ])
    var early = Frames.tcp(h1MAC, insideMAC, h1, 80, server, 50_000, [.syn])
    #expect(router.fromInside(&early, at: .seconds(1)) == .toOutside)
    var syn = Frames.tcp(gatewayMAC, outsideMAC, server, 50_000, outside.address, 8080, [.syn])
    #expect(router.fromOutside(&syn, at: .seconds(2)) == .toInside)
    #expect(router.sessions.count == 1 && router.sessions.first?.isForwarded == true)
    var synAck = Frames.tcp(h1MAC, insideMAC, h1, 80, server, 50_000, [.syn, .ack])
    #expect(router.fromInside(&synAck, at: .seconds(3)) == .toOutside)
    var ack = Frames.tcp(gatewayMAC, outsideMAC, server, 50_000, outside.address, 8080, [.ack])
    #expect(router.fromOutside(&ack, at: .seconds(3)) == .toInside)
    // Long after the first flow would have expired, the connection still leaves from 8080.
    router.tick(at: .seconds(200))
    var data = Frames.tcp(h1MAC, insideMAC, h1, 80, server, 50_000, [.ack], payload: [1])
    #expect(router.fromInside(&data, at: .seconds(200)) == .toOutside)
    #expect(try Seen(data).sourcePort == 8080)
  }

  @Test func aForwardedPortIsNeverGivenToAnOutgoingFlow() throws {
    var router = UplinkRouter.testRouter(forwards: [
      NATForward(transport: .udp, outsidePort: 5353, insideAddress: h1, insidePort: 53)
    ])
    var out = Frames.udp(h2MAC, insideMAC, h2, 5353, server, 53)
    #expect(router.fromInside(&out, at: .seconds(1)) == .toOutside)
    let seen = try Seen(out)
    #expect(seen.sourcePort != 5353 && seen.sourcePort >= NATSessionTable.firstDynamicPort)
  }

  @Test func twoHostsUsingOnePortToOneServerGetDistinctOutsidePorts() throws {
    var router = UplinkRouter.testRouter()
    var first = Frames.udp(h1MAC, insideMAC, h1, 6000, server, 53)
    var second = Frames.udp(h2MAC, insideMAC, h2, 6000, server, 53)
    #expect(router.fromInside(&first, at: .seconds(1)) == .toOutside)
    #expect(router.fromInside(&second, at: .seconds(1)) == .toOutside)
    let a = try Seen(first)
    let b = try Seen(second)
    #expect(a.sourcePort == 6000 && b.sourcePort != 6000)
    var answer = Frames.udp(gatewayMAC, outsideMAC, server, 53, outside.address, b.sourcePort)
    #expect(router.fromOutside(&answer, at: .seconds(1)) == .toInside)
    let back = try Seen(answer)
    #expect(back.destination == h2 && back.destinationPort == 6000 && back.destinationMAC == h2MAC)
  }

  @Test func udpSessionsTimeOutLikeConntrackUnrepliedAndReplied() {
    var router = UplinkRouter.testRouter()
    var lonely = Frames.udp(h1MAC, insideMAC, h1, 7000, server, 9)
    _ = router.fromInside(&lonely, at: .seconds(10))
    var chatty = Frames.udp(h1MAC, insideMAC, h1, 7001, server, 9)
    _ = router.fromInside(&chatty, at: .seconds(10))
    var answer = Frames.udp(gatewayMAC, outsideMAC, server, 9, outside.address, 7001)
    #expect(router.fromOutside(&answer, at: .seconds(10)) == .toInside)
    router.tick(at: .seconds(39))
    #expect(router.table.count == 2)
    router.tick(at: .seconds(40))
    #expect(router.table.count == 1 && router.sessions.first?.insidePort == 7001)
    router.tick(at: .seconds(129))
    #expect(router.table.count == 1)
    router.tick(at: .seconds(130))
    #expect(router.table.count == 0 && router.table.statistics.expired == 2)
  }

  @Test func tcpStatesFollowTheConnectionAndSetTheTimeouts() {
    var router = UplinkRouter.testRouter()
    var syn = Frames.tcp(h1MAC, insideMAC, h1, 41_000, server, 80, [.syn])
    _ = router.fromInside(&syn, at: .seconds(0))
    var synAck = Frames.tcp(
      gatewayMAC, outsideMAC, server, 80, outside.address, 41_000, [.syn, .ack])
    _ = router.fromOutside(&synAck, at: .seconds(0))
    var ack = Frames.tcp(h1MAC, insideMAC, h1, 41_000, server, 80, [.ack])
    _ = router.fromInside(&ack, at: .seconds(0))
    #expect(router.sessions.first?.tcpState == .established)
    router.tick(at: .seconds(86_400))
    #expect(router.table.count == 1)
    var fin = Frames.tcp(h1MAC, insideMAC, h1, 41_000, server, 80, [.fin, .ack])
    _ = router.fromInside(&fin, at: .seconds(86_400))
    #expect(router.sessions.first?.tcpState == .finWait)
    var finBack = Frames.tcp(
      gatewayMAC, outsideMAC, server, 80, outside.address, 41_000, [.fin, .ack])
    _ = router.fromOutside(&finBack, at: .seconds(86_400))
    #expect(router.sessions.first?.tcpState == .lastAck)
    var last = Frames.tcp(h1MAC, insideMAC, h1, 41_000, server, 80, [.ack])
    _ = router.fromInside(&last, at: .seconds(86_400))
    #expect(router.sessions.first?.tcpState == .timeWait)
    router.tick(at: .seconds(86_400 + 119))
    #expect(router.table.count == 1)
    router.tick(at: .seconds(86_400 + 120))
    #expect(router.table.count == 0)
  }

  @Test func aResetEndsTheSessionWithinTenSeconds() {
    var router = UplinkRouter.testRouter()
    var syn = Frames.tcp(h1MAC, insideMAC, h1, 42_000, server, 80, [.syn])
    _ = router.fromInside(&syn, at: .seconds(0))
    var reset = Frames.tcp(
      gatewayMAC, outsideMAC, server, 80, outside.address, 42_000, [.rst, .ack])
    #expect(router.fromOutside(&reset, at: .seconds(0)) == .toInside)
    #expect(router.sessions.first?.tcpState == .close)
    router.tick(at: .seconds(10))
    #expect(router.table.count == 0)
  }

  @Test func aFullTableEvictsTheLeastRecentlyUsedSessionAndCountsIt() {
    var router = UplinkRouter.testRouter(maximumSessions: 16)
    for port in UInt16(1000)..<1016 {
      var frame = Frames.udp(h1MAC, insideMAC, h1, port, server, 53)
      _ = router.fromInside(&frame, at: .seconds(UInt64(port)))
    }
    // Port 1000 is used again, so 1001 becomes the oldest idle one.
    var again = Frames.udp(h1MAC, insideMAC, h1, 1000, server, 53)
    _ = router.fromInside(&again, at: .seconds(2000))
    var newcomer = Frames.udp(h1MAC, insideMAC, h1, 5000, server, 53)
    #expect(router.fromInside(&newcomer, at: .seconds(2001)) == .toOutside)
    #expect(router.table.count == 16 && router.table.statistics.evicted == 1)
    let ports = Set(router.sessions.map(\.insidePort))
    #expect(ports.contains(1000) && ports.contains(5000) && !ports.contains(1001))
  }

  @Test func anICMPPortUnreachableIsTranslatedBackToTheSenderWithEveryChecksumRight() throws {
    var router = UplinkRouter.testRouter()
    var query = Frames.udp(h1MAC, insideMAC, h1, 33_000, server, 9)
    _ = router.fromInside(&query, at: .seconds(1))
    let sent = Array(query[14...])  // the IP datagram as it left, translated
    var icmp: [UInt8] = [3, 3, 0, 0, 0, 0, 0, 0] + sent
    icmp.withUnsafeMutableBytes { bytes in
      bytes.storeBigEndian(InternetChecksum.checksum(UnsafeRawBufferPointer(bytes)), at: 2)
    }
    let ip = IPv4Header(protocol: .icmp, source: server, destination: outside.address)
      .emit(payload: icmp)
    var frame = EthernetHeader(destination: outsideMAC, source: gatewayMAC, payloadType: .ipv4)
      .emit(payload: ip)
    #expect(router.fromOutside(&frame, at: .seconds(1)) == .toInside)
    #expect(router.statistics.icmpErrorsTranslated == 1)
    let seen = try Seen(frame)
    #expect(seen.destination == h1 && seen.destinationMAC == h1MAC && seen.checksumsValid)
    // The quoted datagram is h1's own again, with a valid header checksum and UDP checksum.
    let quoted = Array(frame[(14 + 20 + 8)...])
    try quoted.withUnsafeBytes { raw in
      let packet = try IPv4Packet(validating: raw)
      #expect(packet.source == h1 && packet.destination == server)
      #expect(packet.isHeaderChecksumValid)
      let datagram = try UDPDatagram(validating: packet.payload)
      #expect(datagram.sourcePort == 33_000)
      #expect(datagram.isChecksumValid(packet.pseudoHeader))
    }
  }

  @Test func fragmentationNeededQuotingOnlyEightBytesOfTCPIsTranslatedBack() throws {
    var router = UplinkRouter.testRouter()
    var syn = Frames.tcp(h1MAC, insideMAC, h1, 45_000, server, 443, [.syn])
    _ = router.fromInside(&syn, at: .seconds(1))
    // RFC 792's minimum: the IP header and the first 8 bytes (ports and sequence number):
    // the TCP checksum is not quoted, so only the quoted IP header's checksum can be kept.
    let quoted = Array(syn[14..<(14 + 20 + 8)])
    var icmp: [UInt8] = [3, 4, 0, 0, 0, 0, 0x05, 0xDC] + quoted
    icmp.withUnsafeMutableBytes { bytes in
      bytes.storeBigEndian(InternetChecksum.checksum(UnsafeRawBufferPointer(bytes)), at: 2)
    }
    let ip = IPv4Header(protocol: .icmp, source: gateway, destination: outside.address)
      .emit(payload: icmp)
    var frame = EthernetHeader(destination: outsideMAC, source: gatewayMAC, payloadType: .ipv4)
      .emit(payload: ip)
    #expect(router.fromOutside(&frame, at: .seconds(1)) == .toInside)
    let seen = try Seen(frame)
    #expect(seen.destination == h1 && seen.checksumsValid)
    let inner = Array(frame[(14 + 20 + 8)...])
    try inner.withUnsafeBytes { raw in
      let header = UnsafeRawBufferPointer(rebasing: raw[0..<20])
      #expect(InternetChecksum.checksum(header) == 0)
      #expect(raw.bigEndianUInt32(at: 12) == h1.rawValue)
      #expect(raw.bigEndianUInt16(at: 20) == 45_000)
    }
    // The MTU the router asked for is passed on untouched.
    #expect(frame[14 + 20 + 6] == 0x05 && frame[14 + 20 + 7] == 0xDC)
  }

  @Test func aPartialChecksumKeepsThePseudoHeaderSumOfTheNewAddresses() throws {
    var router = UplinkRouter.testRouter()
    var frame = Frames.tcp(h1MAC, insideMAC, h1, 43_000, server, 80, [.syn], payload: [1, 2, 3, 4])
    // As a guest with checksum offload sends it: the field holds the pseudo-header sum.
    let length = UInt16(frame.count - 34)
    let partial = ~InternetChecksum.finish(
      InternetChecksum.pseudoHeaderSum(
        source: h1, destination: server, protocol: .tcp, length: length))
    frame[50] = UInt8(partial >> 8)
    frame[51] = UInt8(partial & 0xFF)
    let header = VirtioNetHeader(
      flags: VirtioNetHeader.needsChecksum, gsoTypeByte: 0, headerLength: 0, gsoSize: 0,
      checksumStart: 34, checksumOffset: 16)
    #expect(router.fromInside(&frame, header: header, at: .seconds(1)) == .toOutside)
    let expected = ~InternetChecksum.finish(
      InternetChecksum.pseudoHeaderSum(
        source: outside.address, destination: server, protocol: .tcp, length: length))
    #expect(UInt16(frame[50]) << 8 | UInt16(frame[51]) == expected)
  }

  @Test func theRouterAnswersARPAndPingOnBothSides() throws {
    var router = UplinkRouter.testRouter()
    var who = Frames.arp(.request, from: h1MAC, h1, to: .zero, inside.address)
    #expect(router.fromInside(&who, at: .seconds(1)) == .consumed)
    var ping = Frames.ping(h1MAC, insideMAC, h1, inside.address, identifier: 5)
    #expect(router.fromInside(&ping, at: .seconds(1)) == .consumed)
    var outsidePing = Frames.ping(gatewayMAC, outsideMAC, gateway, outside.address, identifier: 6)
    #expect(router.fromOutside(&outsidePing, at: .seconds(1)) == .consumed)
    let frames = router.takeOutput()
    #expect(frames.count == 3)
    #expect(
      frames[0].bytes == Frames.arp(.reply, from: insideMAC, inside.address, to: h1MAC, h1))
    let echo = try Seen(frames[1].bytes)
    #expect(!frames[1].leavesOutside && echo.source == inside.address && echo.destination == h1)
    #expect(echo.destinationMAC == h1MAC && echo.checksumsValid)
    #expect(frames[1].bytes[34] == ICMPType.echoReply.rawValue)
    let outsideEcho = try Seen(frames[2].bytes)
    #expect(
      frames[2].leavesOutside && outsideEcho.destination == gateway && outsideEcho.checksumsValid)
  }

  @Test func aPingOfAllZeroBytesIsAnsweredWithAValidChecksum() throws {
    // Found by the nat fuzz target: the reply is all zero bytes but its checksum,
    // where RFC 1624's incremental update gives 0 and only 0xffff is valid.
    var router = UplinkRouter.testRouter()
    let icmp = ICMPEchoMessage(kind: .request, identifier: 0, sequenceNumber: 0).emit()
    let ip = IPv4Header(protocol: .icmp, source: h1, destination: inside.address)
      .emit(payload: icmp)
    var ping = EthernetHeader(destination: insideMAC, source: h1MAC, payloadType: .ipv4)
      .emit(payload: ip)
    #expect(router.fromInside(&ping, at: .seconds(1)) == .consumed)
    let reply = try #require(router.takeOutput().first)
    #expect(try Seen(reply.bytes).checksumsValid)
    #expect(reply.bytes[36] == 0xFF && reply.bytes[37] == 0xFF)
  }

  @Test func dnsToTheRouterIsRelayedAndAnswersComeFromTheRouter() throws {
    let resolver = IPv4Address("192.0.2.53")!
    let resolverMAC = MACAddress("02:00:00:00:01:35")!
    var router = UplinkRouter.testRouter(dns: resolver)
    var arp = Frames.arp(.reply, from: resolverMAC, resolver, to: outsideMAC, outside.address)
    _ = router.fromOutside(&arp, at: .zero)
    var query = Frames.udp(h1MAC, insideMAC, h1, 34_000, inside.address, 53)
    #expect(router.fromInside(&query, at: .seconds(1)) == .toOutside)
    let out = try Seen(query)
    #expect(out.destination == resolver && out.destinationPort == 53)
    #expect(
      out.destinationMAC == resolverMAC && out.source == outside.address && out.checksumsValid)
    var answer = Frames.udp(resolverMAC, outsideMAC, resolver, 53, outside.address, out.sourcePort)
    #expect(router.fromOutside(&answer, at: .seconds(1)) == .toInside)
    let back = try Seen(answer)
    #expect(back.source == inside.address && back.sourcePort == 53)
    #expect(back.destination == h1 && back.destinationPort == 34_000 && back.checksumsValid)
  }

  @Test func anExpiringTTLIsDroppedWithATimeExceededBackToTheSender() throws {
    var router = UplinkRouter.testRouter()
    var frame = Frames.tcp(h1MAC, insideMAC, h1, 44_000, server, 80, [.syn], ttl: 1)
    #expect(router.fromInside(&frame, at: .seconds(1)) == .dropped(.ttlExpired))
    let frames = router.takeOutput()
    #expect(frames.count == 1)
    let error = try Seen(frames[0].bytes)
    #expect(error.source == inside.address && error.destination == h1 && error.checksumsValid)
    #expect(frames[0].bytes[34] == ICMPType.timeExceeded.rawValue)
  }

  @Test func fragmentsAreDroppedAndCounted() {
    var router = UplinkRouter.testRouter()
    var fragment = Frames.udp(h1MAC, insideMAC, h1, 1, server, 2, moreFragments: true)
    #expect(router.fromInside(&fragment, at: .seconds(1)) == .dropped(.fragment))
    #expect(router.statistics[.fragment] == 1)
  }

  @Test func aDHCPDiscoverIsAnsweredWithABroadcastOffer() throws {
    var router = UplinkRouter.testRouter(dhcp: true)
    let client = MACAddress("02:00:00:00:00:77")!
    let discover = DHCPRequestFields(
      messageType: .discover, transactionID: 42, clientHardwareAddress: client
    ).emit()
    let udp = UDPHeader(sourcePort: 68, destinationPort: 67).emit(
      payload: discover, pseudoHeader: .ipv4(source: .any, destination: .broadcast))
    let ip = IPv4Header(dontFragment: false, protocol: .udp, source: .any, destination: .broadcast)
      .emit(payload: udp)
    var frame = EthernetHeader(destination: .broadcast, source: client, payloadType: .ipv4)
      .emit(payload: ip)
    #expect(router.fromInside(&frame, at: .seconds(1)) == .consumed)
    let frames = router.takeOutput()
    #expect(frames.count == 1 && !frames[0].leavesOutside)
    let offer = try Seen(frames[0].bytes)
    #expect(offer.destinationMAC == .broadcast && offer.source == inside.address)
    #expect(offer.sourcePort == 67 && offer.destinationPort == 68 && offer.checksumsValid)
    try frames[0].bytes.withUnsafeBytes { raw in
      let message = try DHCPMessage(validating: UnsafeRawBufferPointer(rebasing: raw[42...]))
      #expect(message.messageType == .offer && message.transactionID == 42)
      #expect(message.yourAddress == IPv4Address("10.0.0.100")!)
    }
  }
}

@Suite struct UplinkRouterDHCPClientTests {
  /// The physical network's DHCP server, answering what the router broadcasts.
  static func serve(
    _ frame: RouterFrame, with server: inout DHCPServer, at now: Instant
  ) throws -> [UInt8]? {
    let request = try frame.bytes.withUnsafeBytes { raw in
      try DHCPMessage(validating: UnsafeRawBufferPointer(rebasing: raw[42...]))
    }
    guard let reply = server.reply(to: request, at: now) else { return nil }
    let udp = UDPHeader(sourcePort: 67, destinationPort: 68).emit(
      payload: reply.emit(), pseudoHeader: .ipv4(source: gateway, destination: .broadcast))
    let ip = IPv4Header(
      dontFragment: false, protocol: .udp, source: gateway, destination: .broadcast
    )
    .emit(payload: udp)
    return EthernetHeader(destination: .broadcast, source: gatewayMAC, payloadType: .ipv4)
      .emit(payload: ip)
  }

  @Test func theNATLeasesItsOutsideAddressAndUsesTheLeasedRouter() throws {
    var router = UplinkRouter(
      configuration: UplinkRouterConfiguration(
        insideAddress: inside, insideMAC: insideMAC, outsideAddress: nil, outsideUsesDHCP: true,
        outsideMAC: outsideMAC, gateway: nil))
    var server = DHCPServer(
      configuration: DHCPServerConfiguration(
        serverAddress: gateway, subnet: IPv4CIDR("192.0.2.1/24")!,
        rangeStart: IPv4Address("192.0.2.50")!, rangeEnd: IPv4Address("192.0.2.60")!,
        lease: .seconds(600), router: gateway))
    // Without an address nothing leaves.
    var early = Frames.udp(h1MAC, insideMAC, h1, 1, server: IPv4Address("198.51.100.7")!, 2)
    #expect(router.fromInside(&early, at: .zero) == .dropped(.noOutsideAddress))
    router.start(at: .zero)
    var sent = router.takeOutput()
    #expect(sent.count == 1 && sent[0].leavesOutside)
    var offer = try #require(try Self.serve(sent[0], with: &server, at: .zero))
    #expect(router.fromOutside(&offer, at: .zero) == .consumed)
    sent = router.takeOutput()
    #expect(sent.count == 1)
    var ack = try #require(try Self.serve(sent[0], with: &server, at: .zero))
    #expect(router.fromOutside(&ack, at: .zero) == .consumed)
    #expect(router.configuration.outsideAddress == IPv4CIDR("192.0.2.50/24"))
    #expect(router.configuration.gateway == gateway)
    // It resolves the leased router at once, and renews at half the lease.
    let arp = router.takeOutput()
    #expect(arp.count == 1 && arp[0].bytes[12...13] == [0x08, 0x06])
    var answer = Frames.arp(
      .reply, from: gatewayMAC, gateway, to: outsideMAC, IPv4Address("192.0.2.50")!)
    #expect(router.fromOutside(&answer, at: .zero) == .consumed)
    // (ARP refreshes of the stale gateway entry aside.)
    func dhcpFrames() -> [RouterFrame] {
      router.takeOutput().filter { $0.bytes[12...13] == [0x08, 0x00] }
    }
    router.tick(at: .seconds(299))
    #expect(dhcpFrames().isEmpty)
    router.tick(at: .seconds(300))
    let renewal = dhcpFrames()
    #expect(renewal.count == 1)
    var renewed = try #require(try Self.serve(renewal[0], with: &server, at: .seconds(300)))
    #expect(router.fromOutside(&renewed, at: .seconds(300)) == .consumed)
    #expect(server.leases(at: .seconds(300)).first?.grantCount == 2)
    #expect(router.dhcpClient?.lease?.expiry == .seconds(900))
  }
}

extension Frames {
  /// A UDP frame to `server` (label kept apart from the server variable in tests).
  static func udp(
    _ sourceMAC: MACAddress, _ destinationMAC: MACAddress, _ source: IPv4Address,
    _ sourcePort: UInt16, server destination: IPv4Address, _ destinationPort: UInt16
  ) -> [UInt8] {
    udp(sourceMAC, destinationMAC, source, sourcePort, destination, destinationPort)
  }
}
