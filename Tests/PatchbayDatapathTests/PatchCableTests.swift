import PatchbayCore
import PatchbayWire
import Testing

@testable import PatchbayDatapath

/// Patch cables, on a manual clock over `CabledLab`: a frame crosses to the
/// other switch in the turn that read it, counted as sent on one end and
/// received on the other; both switches learn; a trunk cable carries each
/// VLAN tagged; a limit on a cable end queues and releases like any port's;
/// a frame toward an end that is down is dropped there as port-down.
@Suite struct PatchCableTests {
  static let noOffloads = [UInt8](repeating: 0, count: VirtioNetHeader.byteCount)

  @Test func aFrameCrossesInTheTurnThatReadItAndBothSwitchesLearn() throws {
    let lab = try CabledLab()
    let frame = testFrame(to: 0x0b, from: 0x0a)
    try lab.a[0].inject(frame)
    lab.turn()
    // Unknown destination: flooded on A (a1 and the cable), then on B.
    #expect(lab.a[1].receiveAll() == [frame])
    let crossed = try #require(lab.b[0].receive())
    #expect(crossed.header == Self.noOffloads)
    #expect(crossed.frame == frame)
    #expect(lab.b[1].receiveAll() == [frame])
    let sentA = lab.countersA(CabledLab.cableA)
    #expect(sentA.transmittedPackets == 1)
    #expect(sentA.transmittedBytes == 60)
    #expect(sentA.receivedPackets == 0)
    let receivedB = lab.countersB(CabledLab.cableB)
    #expect(receivedB.receivedPackets == 1)
    #expect(receivedB.receivedBytes == 60)
    #expect(receivedB.floodedPackets == 1)
    #expect(receivedB.transmittedPackets == 0)

    // The answer goes back over the cable to a0 alone: both switches learned.
    let reply = testFrame(to: 0x0a, from: 0x0b, sequence: 1)
    try lab.b[0].inject(reply)
    lab.turn()
    #expect(lab.a[0].receiveAll() == [reply])
    #expect(lab.a[1].receiveAll().isEmpty)
    #expect(lab.b[1].receiveAll().isEmpty)
    #expect(lab.countersB(CabledLab.cableB).transmittedPackets == 1)
    #expect(lab.countersB(CabledLab.cableB).transmittedBytes == 60)
    #expect(lab.countersA(CabledLab.cableA).receivedPackets == 1)
    #expect(lab.countersA(CabledLab.cableA).forwardedPackets == 1)
    #expect(lab.countersA(0).transmittedPackets == 1)
    #expect(lab.countersB(1).receivedPackets == 1)
    #expect(lab.countersB(1).forwardedPackets == 1)
    #expect(lab.table(0) == ["1 02:00:00:00:00:0a 0", "1 02:00:00:00:00:0b 2"])
    #expect(lab.table(1) == ["1 02:00:00:00:00:0a 0", "1 02:00:00:00:00:0b 1"])
  }

  @Test func aTrunkCableCarriesEachVLANTaggedAndDeliversItUntagged() throws {
    let trunk = PortVLANMode.trunk(allowed: VLANBitmap([10, 20]), native: nil, nativeTagged: false)
    let lab = try CabledLab(
      configureA: {
        $0[0].mode = .access(vlan: 10)
        $0[1].mode = .access(vlan: 20)
        $0[CabledLab.cableA].mode = trunk
      },
      configureB: {
        $0[CabledLab.cableB].mode = trunk
        $0[1].mode = .access(vlan: 10)
        $0[2].mode = .access(vlan: 20)
      })
    let ten = testFrame(to: 0x0b, from: 0x0a)
    let twenty = testFrame(to: 0x0d, from: 0x0c, sequence: 1)
    try lab.a[0].inject(ten)
    try lab.a[1].inject(twenty)
    lab.turn()
    // Each VLAN reaches its own access port on B, untagged again, and no other.
    #expect(lab.b[0].receiveAll() == [ten])
    #expect(lab.b[1].receiveAll() == [twenty])
    #expect(lab.a[0].receiveAll().isEmpty)
    #expect(lab.a[1].receiveAll().isEmpty)
    // On the cable each carried a 4-byte tag.
    #expect(lab.countersA(CabledLab.cableA).transmittedPackets == 2)
    #expect(lab.countersA(CabledLab.cableA).transmittedBytes == 128)
    #expect(lab.countersB(CabledLab.cableB).receivedPackets == 2)
    #expect(lab.countersB(CabledLab.cableB).receivedBytes == 128)
    #expect(lab.countersB(1).transmittedBytes == 60)
    #expect(lab.countersB(2).transmittedBytes == 60)
    #expect(lab.table(0) == ["10 02:00:00:00:00:0a 0", "20 02:00:00:00:00:0c 1"])
    #expect(lab.table(1) == ["10 02:00:00:00:00:0a 0", "20 02:00:00:00:00:0c 0"])
  }

  @Test func aNativeVLANCrossesUntaggedAndTheOtherTagged() throws {
    let trunk = PortVLANMode.trunk(allowed: VLANBitmap([10, 20]), native: 10, nativeTagged: false)
    let lab = try CabledLab(
      configureA: {
        $0[0].mode = .access(vlan: 10)
        $0[1].mode = .access(vlan: 20)
        $0[CabledLab.cableA].mode = trunk
      },
      configureB: {
        $0[CabledLab.cableB].mode = trunk
        $0[1].mode = .access(vlan: 10)
        $0[2].mode = .access(vlan: 20)
      })
    try lab.a[0].inject(testFrame(to: 0x0b, from: 0x0a))
    lab.turn()
    #expect(lab.countersB(CabledLab.cableB).receivedBytes == 60)
    try lab.a[1].inject(testFrame(to: 0x0d, from: 0x0c))
    lab.turn()
    #expect(lab.countersB(CabledLab.cableB).receivedBytes == 60 + 64)
    #expect(lab.b[0].receiveAll() == [testFrame(to: 0x0b, from: 0x0a)])
    #expect(lab.b[1].receiveAll() == [testFrame(to: 0x0d, from: 0x0c)])
  }

  @Test func aTaggedFrameKeepsItsPriorityAcrossTheCable() throws {
    let trunk = PortVLANMode.trunk(allowed: VLANBitmap([20]), native: nil, nativeTagged: false)
    let lab = try CabledLab(
      configureA: {
        $0[0].mode = trunk
        $0[CabledLab.cableA].mode = trunk
      },
      configureB: {
        $0[CabledLab.cableB].mode = trunk
        $0[1].mode = trunk
        $0[2].mode = .access(vlan: 20)
      })
    // Priority 5, VLAN 20: TCI 0xa014.
    let untagged = testFrame(to: 0x0b, from: 0x0a, length: 56)
    let tagged = Array(untagged[0..<12]) + [0x81, 0x00, 0xa0, 0x14] + Array(untagged[12...])
    try lab.a[0].inject(tagged)
    lab.turn()
    // A trunk on B sends it as it came, tag and priority; an access port without the tag.
    #expect(lab.b[0].receiveAll() == [tagged])
    #expect(lab.b[1].receiveAll() == [untagged])
    #expect(lab.countersA(CabledLab.cableA).transmittedBytes == 60)
    #expect(lab.table(1) == ["20 02:00:00:00:00:0a 0"])
  }

  @Test func anEgressLimitOnTheCableQueuesAndALaterTurnReleasesAcrossIt() throws {
    let lab = try CabledLab()
    let start = lab.now
    // b1's host speaks first, so A sends to the cable alone and B to b1 alone.
    try lab.b[0].inject(testFrame(to: 0x0a, from: 0x0b))
    lab.turn()
    _ = (lab.a[0].receiveAll(), lab.a[1].receiveAll(), lab.b[1].receiveAll())
    lab.datapath.setRateLimits(
      port: CabledLab.globalCableA, ingress: nil, egress: RateLimit(packetsPerSecond: 1_000),
      at: start)
    for sequence in 0..<66 {
      try lab.a[0].inject(testFrame(to: 0x0b, from: 0x0a, sequence: sequence))
    }
    // A burst of 64 per port per turn; the 64-packet bucket lets those 64 across.
    lab.turn()
    lab.turn()
    #expect(lab.b[0].receiveAll().map(sequence(of:)) == Array(0..<64))
    #expect(lab.datapath.snapshot(at: lab.now).ports[CabledLab.globalCableA].queuedFrames == 2)
    #expect(lab.countersB(CabledLab.cableB).receivedPackets == 64)
    #expect(lab.datapath.nextDeparture == start.nanoseconds + 1_000_000)

    lab.turn(at: start, plus: 999_999)
    #expect(lab.b[0].receiveAll().isEmpty)
    lab.turn(at: start, plus: 1_000_000)
    #expect(lab.b[0].receiveAll().map(sequence(of:)) == [64])
    #expect(lab.countersB(CabledLab.cableB).receivedPackets == 65)
    lab.turn(at: start, plus: 2_000_000)
    #expect(lab.b[0].receiveAll().map(sequence(of:)) == [65])

    let sent = lab.countersA(CabledLab.cableA)
    #expect(sent.transmittedPackets == 66)
    #expect(sent.transmittedBytes == 66 * 60)
    #expect(sent.transmitDroppedPackets == 0)
    let received = lab.countersB(CabledLab.cableB)
    #expect(received.receivedPackets == 66)
    #expect(received.forwardedPackets == 66)
    #expect(received.transmittedPackets == 1)
    #expect(lab.countersB(1).transmittedPackets == 66)
    #expect(lab.a[1].receiveAll().isEmpty)
    #expect(lab.b[1].receiveAll().isEmpty)
    #expect(lab.datapath.nextDeparture == .max)
  }

  @Test func anIngressLimitOnTheFarEndHoldsTheFrameBeforeTheFarSwitch() throws {
    let lab = try CabledLab()
    let start = lab.now
    try lab.b[0].inject(testFrame(to: 0x0a, from: 0x0b))
    lab.turn()
    _ = (lab.a[0].receiveAll(), lab.a[1].receiveAll(), lab.b[1].receiveAll())
    lab.datapath.setRateLimits(
      port: CabledLab.globalCableB, ingress: RateLimit(packetsPerSecond: 1_000), egress: nil,
      at: start)
    for sequence in 0..<65 {
      try lab.a[0].inject(testFrame(to: 0x0b, from: 0x0a, sequence: sequence))
    }
    lab.turn()
    lab.turn()
    #expect(lab.b[0].receiveAll().map(sequence(of:)) == Array(0..<64))
    // Sent on A, but switch B has not seen the 65th yet.
    #expect(lab.countersA(CabledLab.cableA).transmittedPackets == 65)
    #expect(lab.countersB(CabledLab.cableB).receivedPackets == 64)
    #expect(lab.datapath.snapshot(at: lab.now).ports[CabledLab.globalCableB].queuedFrames == 1)
    lab.turn(at: start, plus: 999_999)
    #expect(lab.b[0].receiveAll().isEmpty)
    lab.turn(at: start, plus: 1_000_000)
    #expect(lab.b[0].receiveAll().map(sequence(of:)) == [64])
    #expect(lab.countersB(CabledLab.cableB).receivedPackets == 65)
    #expect(lab.countersB(1).transmittedPackets == 65)
  }

  @Test func aFrameTowardAnEndThatIsDownIsDroppedThereAsPortDown() throws {
    let lab = try CabledLab(configureB: { $0[CabledLab.cableB].isUp = false })
    let frame = testFrame(to: 0x0b, from: 0x0a)
    try lab.a[0].inject(frame)
    lab.turn()
    #expect(lab.a[1].receiveAll() == [frame])
    #expect(lab.b[0].receiveAll().isEmpty)
    #expect(lab.b[1].receiveAll().isEmpty)
    // A's end is up and sends; B's end receives it and drops it, counted as port-down.
    let sent = lab.countersA(CabledLab.cableA)
    #expect(sent.transmittedPackets == 1)
    #expect(sent.transmittedBytes == 60)
    #expect(sent.transmitDroppedPackets == 0)
    let dropped = lab.countersB(CabledLab.cableB)
    #expect(dropped.receivedPackets == 1)
    #expect(dropped.receivedBytes == 60)
    #expect(dropped[dropped: .portDown] == 1)
    #expect(dropped.droppedPackets == 1)
    #expect(dropped.forwardedPackets == 0)
    #expect(dropped.floodedPackets == 0)
    #expect(dropped.addsUp)
    #expect(lab.table(1) == [])

    // B floods nothing toward its down end: A's cable port receives nothing.
    try lab.b[0].inject(testFrame(to: 0xff, from: 0x0b, sequence: 1))
    lab.turn()
    #expect(lab.b[1].receiveAll() == [testFrame(to: 0xff, from: 0x0b, sequence: 1)])
    #expect(lab.countersB(CabledLab.cableB).transmittedPackets == 0)
    #expect(lab.countersA(CabledLab.cableA).receivedPackets == 0)
    #expect(lab.a[0].receiveAll().isEmpty)
  }
}
