import PatchbayCore
import PatchbayWire
import Testing

@testable import PatchbayDatapath

/// The NAT uplink hop over `UplinkLab`, on a manual clock: frames out translated
/// to the outside address with valid checksums once the gateway answers ARP,
/// replies translated back to the lab host, ARP answered on both sides, and
/// the sessions and counters in the datapath's snapshot.
@Suite struct UplinkHopTests {
  /// The gateway's ARP request at start, as the router sends it out of the NIC.
  static let gatewayQuestion = HopFrames.arp(
    .request, from: Hop.outsideMAC, Hop.outside.address, to: .zero, Hop.gateway)

  @Test func aFrameOutWaitsForTheGatewayAndLeavesTranslatedWhenItAnswers() throws {
    let lab = try UplinkLab()
    lab.start()
    let asked = try #require(lab.nic.receive())
    #expect(asked.header == Hop.noOffloads)
    #expect(asked.frame == Self.gatewayQuestion)
    #expect(lab.nic.receiveAll() == [Self.gatewayQuestion])

    let query = HopFrames.udp(Hop.h1MAC, Hop.insideMAC, Hop.h1, 5000, Hop.server, 53)
    try lab.host.inject(query)
    lab.turn()
    // Translated (the NAT keeps the source port while it is free), but held
    // until the gateway's MAC is known; the first frame held asks once more.
    #expect(lab.nic.receiveAll() == [Self.gatewayQuestion])
    #expect(lab.counters(1).transmittedPackets == 1)
    #expect(lab.counters(1).transmittedBytes == 46)
    #expect(lab.uplink.statistics.translatedOut == 1)

    try lab.nic.inject(
      HopFrames.arp(
        .reply, from: Hop.gatewayMAC, Hop.gateway, to: Hop.outsideMAC, Hop.outside.address))
    lab.turn()
    let out = try #require(lab.nic.receive())
    #expect(out.header == Hop.noOffloads)
    #expect(
      out.frame
        == HopFrames.udp(
          Hop.outsideMAC, Hop.gatewayMAC, Hop.outside.address, 5000, Hop.server, 53, ttl: 63)
    )
    #expect(try HopFrames.checkedPorts(out.frame) == (5000, 53))
    #expect(lab.nic.receiveAll().isEmpty)
    #expect(lab.host.receiveAll().isEmpty)

    let uplink = lab.uplink
    #expect(uplink.nic.sentFrames == 4)
    #expect(uplink.nic.sentBytes == 3 * 42 + 46)
    #expect(uplink.nic.receivedFrames == 1)
    #expect(uplink.nic.sendFailures == 0)
    #expect(uplink.neighbours.outside == 1)
    #expect(uplink.sessions.count == 1)
  }

  @Test func theReplyComesBackTranslatedAndTheSessionCountsBothWays() throws {
    // The gateway answers first, so the query leaves in the turn that reads it.
    let lab = try UplinkLab.resolved()
    try lab.host.inject(HopFrames.udp(Hop.h1MAC, Hop.insideMAC, Hop.h1, 5000, Hop.server, 53))
    lab.turn()
    #expect(
      lab.nic.receiveAll() == [
        HopFrames.udp(
          Hop.outsideMAC, Hop.gatewayMAC, Hop.outside.address, 5000, Hop.server, 53, ttl: 63)
      ])

    let answer = HopFrames.udp(
      Hop.gatewayMAC, Hop.outsideMAC, Hop.server, 53, Hop.outside.address, 5000,
      payload: [5, 6, 7, 8])
    try lab.nic.inject(answer)
    lab.turn()
    let back = try #require(lab.host.receive())
    #expect(back.header == Hop.noOffloads)
    #expect(
      back.frame
        == HopFrames.udp(
          Hop.insideMAC, Hop.h1MAC, Hop.server, 53, Hop.h1, 5000, ttl: 63, payload: [5, 6, 7, 8]))
    #expect(try HopFrames.checkedPorts(back.frame) == (53, 5000))

    // The switch learned the router's MAC from the answer: the next frame out
    // is forwarded to the router port alone and rewritten where it lies.
    try lab.host.inject(
      HopFrames.udp(Hop.h1MAC, Hop.insideMAC, Hop.h1, 5000, Hop.server, 53, payload: [9]))
    lab.turn()
    let second = try #require(lab.nic.receive())
    #expect(
      second.frame
        == HopFrames.udp(
          Hop.outsideMAC, Hop.gatewayMAC, Hop.outside.address, 5000, Hop.server, 53, ttl: 63,
          payload: [9]))
    #expect(try HopFrames.checkedPorts(second.frame) == (5000, 53))

    let snapshot = lab.datapath.snapshot(at: lab.now)
    let uplink = snapshot.uplinks[0]
    #expect(uplink.name == "net")
    #expect(uplink.interface == "pbnone0")
    #expect(uplink.nic.sentFrames == 4)
    #expect(uplink.nic.sentBytes == 2 * 42 + 46 + 43)
    #expect(uplink.nic.receivedFrames == 2)
    #expect(uplink.nic.sendFailures == 0)
    #expect(uplink.statistics.translatedOut == 2)
    #expect(uplink.statistics.translatedIn == 1)
    #expect(uplink.statistics.drops.allSatisfy { $0 == 0 })
    #expect(uplink.table.created == 1)
    #expect(uplink.table.expired == 0)
    let session = try #require(uplink.sessions.first)
    #expect(uplink.sessions.count == 1)
    #expect(session.transport == .udp)
    #expect(session.insideAddress == Hop.h1)
    #expect(session.insidePort == 5000)
    #expect(session.insideMAC == Hop.h1MAC)
    #expect(session.outsidePort == 5000)
    #expect(session.remoteAddress == Hop.server)
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
    let lab = try UplinkLab.resolved()
    // Two hosts behind the same lab port, the same source port, the same server.
    try lab.host.inject(HopFrames.udp(Hop.h1MAC, Hop.insideMAC, Hop.h1, 5000, Hop.server, 53))
    try lab.host.inject(HopFrames.udp(Hop.h2MAC, Hop.insideMAC, Hop.h2, 5000, Hop.server, 53))
    lab.turn()
    let out = lab.nic.receiveAll()
    #expect(
      out == [
        HopFrames.udp(
          Hop.outsideMAC, Hop.gatewayMAC, Hop.outside.address, 5000, Hop.server, 53, ttl: 63),
        HopFrames.udp(
          Hop.outsideMAC, Hop.gatewayMAC, Hop.outside.address, 1024, Hop.server, 53, ttl: 63),
      ])
    #expect(try out.map(HopFrames.checkedPorts).map(\.0) == [5000, 1024])

    try lab.nic.inject(
      HopFrames.udp(
        Hop.gatewayMAC, Hop.outsideMAC, Hop.server, 53, Hop.outside.address, 1024, payload: [7]))
    lab.turn()
    let back = try #require(lab.host.receive())
    #expect(
      back.frame
        == HopFrames.udp(
          Hop.insideMAC, Hop.h2MAC, Hop.server, 53, Hop.h2, 5000, ttl: 63, payload: [7]))
    #expect(try HopFrames.checkedPorts(back.frame) == (53, 5000))
    #expect(lab.host.receiveAll().isEmpty)
    let sessions = lab.uplink.sessions
    #expect(sessions.map(\.insideAddress) == [Hop.h1, Hop.h2])
    #expect(sessions.map(\.outsidePort) == [5000, 1024])
    #expect(sessions.map(\.hasReply) == [false, true])
    #expect(lab.uplink.statistics.translatedOut == 2)
    #expect(lab.uplink.statistics.translatedIn == 1)
  }

  @Test func theRouterAnswersARPOnBothSidesAndLearnsTheGatewayFromItsQuestion() throws {
    let lab = try UplinkLab.started()
    // The lab host asks for its gateway, the router's inside address.
    try lab.host.inject(
      HopFrames.arp(.request, from: Hop.h1MAC, Hop.h1, to: .zero, Hop.inside.address))
    lab.turn()
    #expect(
      lab.host.receiveAll() == [
        HopFrames.arp(.reply, from: Hop.insideMAC, Hop.inside.address, to: Hop.h1MAC, Hop.h1)
      ])
    #expect(lab.nic.receiveAll().isEmpty)
    #expect(lab.counters(1).transmittedPackets == 1)
    #expect(lab.counters(1).receivedPackets == 1)
    #expect(lab.uplink.statistics.answered == 1)
    #expect(lab.uplink.neighbours.inside == 1)

    // The gateway asks for the NAT's outside address: answered out of the NIC,
    // and the question teaches the router the gateway's MAC.
    try lab.nic.inject(
      HopFrames.arp(.request, from: Hop.gatewayMAC, Hop.gateway, to: .zero, Hop.outside.address))
    lab.turn()
    #expect(
      lab.nic.receiveAll() == [
        HopFrames.arp(
          .reply, from: Hop.outsideMAC, Hop.outside.address, to: Hop.gatewayMAC, Hop.gateway)
      ])
    #expect(lab.host.receiveAll().isEmpty)
    #expect(lab.uplink.statistics.answered == 2)
    #expect(lab.uplink.neighbours.outside == 1)

    // So a frame out leaves in the turn that read it.
    try lab.host.inject(HopFrames.udp(Hop.h1MAC, Hop.insideMAC, Hop.h1, 6000, Hop.server, 123))
    lab.turn()
    let out = try #require(lab.nic.receive())
    #expect(
      out.frame
        == HopFrames.udp(
          Hop.outsideMAC, Hop.gatewayMAC, Hop.outside.address, 6000, Hop.server, 123, ttl: 63))
    #expect(try HopFrames.checkedPorts(out.frame) == (6000, 123))
    #expect(lab.uplink.nic.sentFrames == 4)
    #expect(lab.uplink.nic.receivedFrames == 1)
  }

  @Test func whatOutsideSendsUnaskedIsDroppedOrIgnoredAndCounted() throws {
    let lab = try UplinkLab.started()
    // To the NAT's address with no session and no forward: unsolicited.
    try lab.nic.inject(
      HopFrames.udp(Hop.gatewayMAC, Hop.outsideMAC, Hop.server, 53, Hop.outside.address, 4000))
    // To another machine on the physical network (the NIC is promiscuous): ignored.
    try lab.nic.inject(
      HopFrames.udp(
        Hop.gatewayMAC, MACAddress("02:00:00:00:01:77")!, Hop.server, 53, Hop.gateway, 4000))
    lab.turn()
    #expect(lab.host.receiveAll().isEmpty)
    #expect(lab.nic.receiveAll().isEmpty)
    let uplink = lab.uplink
    #expect(uplink.nic.receivedFrames == 2)
    #expect(uplink.statistics[.unsolicited] == 1)
    #expect(uplink.statistics.drops.reduce(0, +) == 1)
    #expect(uplink.statistics.ignored == 1)
    #expect(uplink.sessions.isEmpty)
    #expect(lab.counters(1).receivedPackets == 0)
  }
}

/// The uplink port as a port like any other: its limits queue frames on their
/// way to the router and from it, and a guest's partial checksum crosses the
/// hop still partial, for the NIC to finish.
@Suite struct UplinkPortStageTests {
  static func query(_ number: Int) -> [UInt8] {
    HopFrames.udp(
      Hop.h1MAC, Hop.insideMAC, Hop.h1, 5000, Hop.server, 53, payload: [UInt8(number)])
  }

  static func translated(_ number: Int) -> [UInt8] {
    HopFrames.udp(
      Hop.outsideMAC, Hop.gatewayMAC, Hop.outside.address, 5000, Hop.server, 53, ttl: 63,
      payload: [UInt8(number)])
  }

  @Test func anEgressLimitOnTheUplinkPortHoldsFramesBeforeTheRouter() throws {
    let lab = try UplinkLab.resolved()
    let start = lab.now
    lab.datapath.setRateLimits(
      port: 1, ingress: nil, egress: RateLimit(packetsPerSecond: 1_000), at: start)
    for number in 0..<66 { try lab.host.inject(Self.query(number)) }
    lab.turn()
    lab.turn()
    #expect(lab.nic.receiveAll() == (0..<64).map(Self.translated))
    #expect(lab.datapath.snapshot(at: lab.now).ports[1].queuedFrames == 2)
    // The router has not seen the two that wait.
    #expect(lab.uplink.statistics.translatedOut == 64)
    lab.turn(at: start, plus: 999_999)
    #expect(lab.nic.receiveAll().isEmpty)
    lab.turn(at: start, plus: 1_000_000)
    #expect(lab.nic.receiveAll() == [Self.translated(64)])
    lab.turn(at: start, plus: 2_000_000)
    #expect(lab.nic.receiveAll() == [Self.translated(65)])
    #expect(lab.counters(1).transmittedPackets == 66)
    #expect(lab.counters(1).transmittedBytes == 66 * 43)
    #expect(lab.uplink.statistics.translatedOut == 66)
    #expect(lab.uplink.sessions.first?.outboundPackets == 66)
    #expect(lab.uplink.nic.sentFrames == 2 + 66)
  }

  @Test func anIngressLimitOnTheUplinkPortHoldsTranslatedRepliesBeforeTheSwitch() throws {
    let lab = try UplinkLab.resolved()
    try lab.host.inject(Self.query(0))
    lab.turn()
    #expect(lab.nic.receiveAll() == [Self.translated(0)])
    let start = lab.now
    lab.datapath.setRateLimits(
      port: 1, ingress: RateLimit(packetsPerSecond: 1_000), egress: nil, at: start)
    for number in 0..<65 {
      try lab.nic.inject(
        HopFrames.udp(
          Hop.gatewayMAC, Hop.outsideMAC, Hop.server, 53, Hop.outside.address, 5000,
          payload: [UInt8(number)]))
    }
    let answer = { (number: Int) in
      HopFrames.udp(
        Hop.insideMAC, Hop.h1MAC, Hop.server, 53, Hop.h1, 5000, ttl: 63, payload: [UInt8(number)])
    }
    lab.turn()
    lab.turn()
    #expect(lab.host.receiveAll() == (0..<64).map(answer))
    #expect(lab.uplink.statistics.translatedIn == 65)
    #expect(lab.counters(1).receivedPackets == 64)
    lab.turn(at: start, plus: 999_999)
    #expect(lab.host.receiveAll().isEmpty)
    lab.turn(at: start, plus: 1_000_000)
    #expect(lab.host.receiveAll() == [answer(64)])
    #expect(lab.counters(1).receivedPackets == 65)
    #expect(lab.counters(0).transmittedPackets == 65)
  }

  @Test func aPartialChecksumCrossesTheHopPartialWithTheNewAddresses() throws {
    let lab = try UplinkLab.resolved()
    // As a guest with checksum offload sends it: the UDP checksum field holds
    // the folded pseudo-header sum, the header says where the NIC finishes it.
    let header = VirtioNetHeader(
      flags: VirtioNetHeader.needsChecksum, gsoTypeByte: 0, headerLength: 0, gsoSize: 0,
      checksumStart: 34, checksumOffset: 6)
    func partial(_ frame: [UInt8], _ source: IPv4Address) -> [UInt8] {
      var frame = frame
      let folded = ~InternetChecksum.finish(
        IPPseudoHeader.ipv4(source: source, destination: Hop.server).sum(
          protocol: .udp, length: frame.count - 34))
      frame[40] = UInt8(folded >> 8)
      frame[41] = UInt8(folded & 0xff)
      return frame
    }
    try lab.host.inject(partial(Self.query(7), Hop.h1), header: header.bytes)
    lab.turn()
    let out = try #require(lab.nic.receive())
    #expect(out.header == header.bytes)
    #expect(out.frame == partial(Self.translated(7), Hop.outside.address))
    // Finished as the NIC would, it is the checksum of the translated datagram.
    var finished = out.frame
    let sum = finished.withUnsafeBytes {
      InternetChecksum.finish(InternetChecksum.sum(UnsafeRawBufferPointer(rebasing: $0[34...])))
    }
    finished[40] = UInt8(sum >> 8)
    finished[41] = UInt8(sum & 0xff)
    #expect(finished == Self.translated(7))
    #expect(try HopFrames.checkedPorts(finished) == (5000, 53))
  }
}
