import PatchbayCore
import PatchbayWire
import Testing

@testable import PatchbayDatapath

/// Frames a rate-limit queue releases toward a packet-socket port leave the
/// way switched frames do: queued on the port's send queue and sent in one
/// sendmmsg per turn, not one write each.
@Suite struct BatchedReleaseTests {
  @Test func releasedFramesLeaveInOneSendmmsg() throws {
    let lab = try LoopbackLab(portCount: 2, packetSockets: [0, 1])
    let start = lab.now
    lab.datapath.setRateLimits(
      port: 1, ingress: nil, egress: RateLimit(packetsPerSecond: 1_000), at: start)
    // 64 go at once (one receive burst: two recvmmsg batches of 32, one sendmmsg each).
    for sequence in 0..<64 {
      try lab.ports[0].inject(testFrame(to: 2, from: 1, sequence: sequence))
    }
    lab.turn()
    #expect(lab.ports[1].receiveAll().map(sequence(of:)) == Array(0..<64))
    #expect(lab.datapath.sentBatches == 2)
    for sequence in 64..<69 {
      try lab.ports[0].inject(testFrame(to: 2, from: 1, sequence: sequence))
    }
    lab.turn()
    #expect(lab.ports[1].receiveAll().isEmpty)
    #expect(lab.rateState(1).queuedFrames == 5)
    let before = lab.datapath.sentBatches
    // Five tokens five milliseconds later: all five leave in one turn, in one batch.
    lab.turn(at: start, plus: 5_000_000)
    #expect(lab.ports[1].receiveAll().map(sequence(of:)) == Array(64..<69))
    #expect(lab.datapath.sentBatches == before + 1)
    #expect(lab.counters(1).transmittedPackets == 69)
  }

  @Test func aSwitchedBatchFromAPacketSocketLeavesInOneSendmmsg() throws {
    let lab = try LoopbackLab(portCount: 2, packetSockets: [0, 1])
    for sequence in 0..<10 {
      try lab.ports[0].inject(testFrame(to: 2, from: 1, sequence: sequence))
    }
    lab.turn()
    #expect(lab.ports[1].receiveAll().map(sequence(of:)) == Array(0..<10))
    #expect(lab.datapath.sentBatches == 1)
    #expect(lab.counters(1).transmittedPackets == 10)
  }
}
