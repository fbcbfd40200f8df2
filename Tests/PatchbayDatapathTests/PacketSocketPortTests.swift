import PatchbayCore
import PatchbayWire
import Testing

@testable import PatchbayDatapath

/// Packet-socket ports (`attach:`) over loopback ports read with `recvmmsg`
/// and written with `sendmmsg`: what one receive batch switches toward a
/// packet socket leaves in one `sendmmsg` per port (`sentBatches`), in order,
/// framed for the port; frames not read in a batch are written one by one.
///
/// A tag the kernel strips and reports in PACKET_AUXDATA cannot be played
/// here: an AF_UNIX socket carries no SOL_PACKET control message, so
/// `ReceiveSlot.restoredFrame` is tested on filled slots (ReceiveSlotTests).
@Suite struct PacketSocketPortTests {
  @Test func aFloodedBatchLeavesInOneSendmmsgPerPortInOrder() throws {
    let lab = try LoopbackLab(portCount: 3, packetSockets: [0, 1, 2])
    for sequence in 0..<20 {
      try lab.ports[0].inject(testFrame(to: 9, from: 1, sequence: sequence))
    }
    lab.turn()
    #expect(lab.ports[1].receiveAll() == (0..<20).map { testFrame(to: 9, from: 1, sequence: $0) })
    #expect(lab.ports[2].receiveAll() == (0..<20).map { testFrame(to: 9, from: 1, sequence: $0) })
    #expect(lab.datapath.sentBatches == 2)
    #expect(lab.counters(1).transmittedPackets == 20)
    #expect(lab.counters(1).transmittedBytes == 20 * 60)
    #expect(lab.counters(2).transmittedPackets == 20)
    #expect(lab.counters(0).floodedPackets == 20)
  }

  @Test func eachReceiveBatchIsFlushedBeforeTheNextIsRead() throws {
    let lab = try LoopbackLab(portCount: 2, packetSockets: [0, 1])
    // Forty frames: a recvmmsg of 32, then one of 8, each flushed in one sendmmsg.
    for sequence in 0..<40 {
      try lab.ports[0].inject(testFrame(to: 2, from: 1, sequence: sequence))
    }
    lab.turn()
    #expect(lab.ports[1].receiveAll().map(sequence(of:)) == Array(0..<40))
    #expect(lab.datapath.sentBatches == 2)
    #expect(lab.counters(1).transmittedPackets == 40)
    #expect(lab.counters(1).transmitDroppedPackets == 0)
  }

  @Test func aDescriptorPortBesideThePacketSocketIsWrittenAtOnceAndOrderHolds() throws {
    let lab = try LoopbackLab(portCount: 3, packetSockets: [0, 1])
    // Teach the switch where 02::2 (packet socket) and 02::3 (descriptor port) are.
    try lab.ports[1].inject(testFrame(to: 1, from: 2))
    try lab.ports[2].inject(testFrame(to: 1, from: 3))
    lab.turn()
    _ = (lab.ports[0].receiveAll(), lab.ports[1].receiveAll(), lab.ports[2].receiveAll())
    let before = lab.datapath.sentBatches
    for sequence in 0..<12 {
      try lab.ports[0].inject(testFrame(to: sequence % 2 == 0 ? 2 : 3, from: 1, sequence: sequence))
    }
    lab.turn()
    #expect(lab.ports[1].receiveAll().map(sequence(of:)) == [0, 2, 4, 6, 8, 10])
    #expect(lab.ports[2].receiveAll().map(sequence(of:)) == [1, 3, 5, 7, 9, 11])
    // Only the packet socket's six joined a batch.
    #expect(lab.datapath.sentBatches == before + 1)
    // Six each, and one each from the other's teaching frame.
    #expect(lab.counters(1).transmittedPackets == 7)
    #expect(lab.counters(2).transmittedPackets == 7)
  }

  @Test func framesReadFromADescriptorPortLeaveByAPacketSocketInOneBatch() throws {
    let lab = try LoopbackLab(portCount: 2, packetSockets: [1])
    for sequence in 0..<10 {
      try lab.ports[0].inject(testFrame(to: 2, from: 1, sequence: sequence))
    }
    lab.turn()
    // Read one per read() into the receive slots and decided as one batch:
    // they stay in the slots until the batch is done, so they leave in one sendmmsg.
    #expect(lab.ports[1].receiveAll().map(sequence(of:)) == Array(0..<10))
    #expect(lab.datapath.sentBatches == 1)
    #expect(lab.counters(1).transmittedPackets == 10)
    #expect(lab.counters(1).transmittedBytes == 600)
  }

  @Test func framesFromAPolicedDescriptorPortGoOneByOneAndStillLeaveInOneBatch() throws {
    let lab = try LoopbackLab(portCount: 2, packetSockets: [1])
    // An ingress limit is a stop before the switch: the port's frames are
    // switched one at a time, but from the receive slots, read as a burst.
    lab.datapath.setRateLimits(
      port: 0, ingress: RateLimit(packetsPerSecond: 1_000), egress: nil, at: lab.now)
    for sequence in 0..<10 {
      try lab.ports[0].inject(testFrame(to: 2, from: 1, sequence: sequence))
    }
    lab.turn()
    #expect(lab.ports[1].receiveAll().map(sequence(of:)) == Array(0..<10))
    #expect(lab.datapath.sentBatches == 1)
    #expect(lab.counters(0).receivedPackets == 10)
    #expect(lab.counters(1).transmittedPackets == 10)
  }

  @Test func aTagIsPushedAndStrippedInsideTheBatch() throws {
    let trunk = PortVLANMode.trunk(allowed: VLANBitmap([10]), native: nil, nativeTagged: false)
    let lab = try LoopbackLab(
      portCount: 2, packetSockets: [0, 1], modes: [0: .access(vlan: 10), 1: trunk])
    for sequence in 0..<5 {
      try lab.ports[0].inject(testFrame(to: 2, from: 1, sequence: sequence))
    }
    lab.turn()
    let tagged = (0..<5).map { sequence in
      let frame = testFrame(to: 2, from: 1, sequence: sequence)
      return Array(frame[0..<12]) + [0x81, 0x00, 0x00, 0x0a] + Array(frame[12...])
    }
    #expect(lab.ports[1].receiveAll() == tagged)
    #expect(lab.datapath.sentBatches == 1)
    #expect(lab.counters(1).transmittedBytes == 5 * 64)

    // Back the other way: VLAN 10 tagged in, untagged out of the access port.
    for sequence in 0..<5 {
      let frame = testFrame(to: 1, from: 2, sequence: sequence, length: 56)
      try lab.ports[1].inject(
        Array(frame[0..<12]) + [0x81, 0x00, 0x00, 0x0a] + Array(frame[12...]))
    }
    lab.turn()
    #expect(
      lab.ports[0].receiveAll()
        == (0..<5).map { testFrame(to: 1, from: 2, sequence: $0, length: 56) })
    #expect(lab.datapath.sentBatches == 2)
    #expect(lab.counters(0).transmittedBytes == 5 * 56)
    #expect(lab.counters(1).receivedBytes == 5 * 60)
  }
}

/// A batch that crosses a patch cable: the copy on the far side lies in a
/// buffer the next frame reuses, so it is written at once, while the copies
/// that stay on the near switch still leave in one `sendmmsg`.
@Suite struct PacketSocketAcrossCableTests {
  @Test func theNearSwitchBatchesAndTheFarSwitchWritesEachFrameInOrder() throws {
    // a0, a1 and b1 are packet sockets (global ports 0, 1 and 4).
    let lab = try CabledLab(packetSockets: [0, 1, 4])
    for sequence in 0..<10 {
      try lab.a[0].inject(testFrame(to: 0x0b, from: 0x0a, sequence: sequence))
    }
    lab.turn()
    #expect(lab.a[1].receiveAll().map(sequence(of:)) == Array(0..<10))
    #expect(lab.b[0].receiveAll().map(sequence(of:)) == Array(0..<10))
    #expect(lab.b[1].receiveAll().map(sequence(of:)) == Array(0..<10))
    #expect(lab.datapath.sentBatches == 1)
    #expect(lab.countersA(1).transmittedPackets == 10)
    #expect(lab.countersB(1).transmittedPackets == 10)
    #expect(lab.countersB(2).transmittedPackets == 10)
    #expect(lab.countersA(CabledLab.cableA).transmittedPackets == 10)
    #expect(lab.countersB(CabledLab.cableB).receivedPackets == 10)
  }
}
