import PatchbayCore
import PatchbayWire
import Testing

@testable import PatchbayDatapath

/// The egress stage's rate limit, on a manual clock: frames within the burst
/// leave in the turn that switched them, the rest wait framed for the port
/// and leave at the exact nanosecond a token is there, and a full queue drops.
@Suite struct EgressRateLimitTests {
  // 1,000 packets per second: a 64-packet bucket (the minimum), one token per millisecond.
  let limit = RateLimit(packetsPerSecond: 1_000)

  @Test func aFrameOverTheBurstWaitsAndLeavesAtTheExactNanosecond() throws {
    let lab = try LoopbackLab(portCount: 2)
    let start = lab.now
    lab.datapath.setRateLimits(port: 1, ingress: nil, egress: limit, at: start)
    for sequence in 0..<66 {
      try lab.ports[0].inject(testFrame(to: 2, from: 1, sequence: sequence))
    }
    // A turn reads a burst of 64 frames per port; the other two come next turn.
    lab.turn()
    lab.turn()
    #expect(lab.ports[1].receiveAll().map(sequence(of:)) == Array(0..<64))
    #expect(lab.counters(1).transmittedPackets == 64)
    #expect(lab.rateState(1).queuedFrames == 2)
    #expect(lab.datapath.nextDeparture == start.nanoseconds + 1_000_000)

    lab.turn(at: start, plus: 999_999)
    #expect(lab.ports[1].receiveAll().isEmpty)
    lab.turn(at: start, plus: 1_000_000)
    #expect(lab.ports[1].receiveAll().map(sequence(of:)) == [64])
    #expect(lab.datapath.nextDeparture == start.nanoseconds + 2_000_000)
    lab.turn(at: start, plus: 1_999_999)
    #expect(lab.ports[1].receiveAll().isEmpty)
    lab.turn(at: start, plus: 2_000_000)
    #expect(lab.ports[1].receiveAll().map(sequence(of:)) == [65])

    let counters = lab.counters(1)
    #expect(counters.transmittedPackets == 66)
    #expect(counters.transmittedBytes == 66 * 60)
    #expect(counters.transmitDroppedPackets == 0)
    #expect(lab.rateState(1).queuedFrames == 0)
    #expect(lab.datapath.nextDeparture == .max)
  }

  @Test func aFullQueueDropsAndCountsRateLimited() throws {
    let lab = try LoopbackLab(portCount: 2)
    lab.datapath.setRateLimits(port: 1, ingress: nil, egress: limit, at: lab.now)
    // The queue holds this many 1,514-byte frames (as the ring measures them).
    let entry = FrameRing.entrySize(frameLength: 1514)
    let fits = Shaper.defaultQueueLimit(for: limit) / entry
    let offered = 64 + fits + 3
    var sent = 0
    while sent < offered {
      // Fewer than a socket's queue of datagrams at a time, read in full each turn.
      for _ in 0..<min(32, offered - sent) {
        try lab.ports[0].inject(testFrame(to: 2, from: 1, sequence: sent, length: 1514))
        sent += 1
      }
      lab.turn()
      _ = lab.ports[1].receiveAll()
    }
    let counters = lab.counters(1)
    #expect(counters.transmittedPackets == 64)
    #expect(counters[transmitDropped: .rateLimited] == 3)
    #expect(counters.transmitDroppedPackets == 3)
    #expect(lab.rateState(1).queuedFrames == fits)
  }

  @Test func liftingTheLimitSendsWhatWaitedAtOnce() throws {
    let lab = try LoopbackLab(portCount: 2)
    lab.datapath.setRateLimits(port: 1, ingress: nil, egress: limit, at: lab.now)
    for sequence in 0..<64 {
      try lab.ports[0].inject(testFrame(to: 2, from: 1, sequence: sequence))
    }
    lab.turn()
    try lab.ports[0].inject(testFrame(to: 2, from: 1, sequence: 64))
    lab.turn()
    #expect(lab.ports[1].receiveAll().count == 64)
    lab.datapath.setRateLimits(port: 1, ingress: nil, egress: nil, at: lab.now)
    #expect(lab.ports[1].receiveAll().map(sequence(of:)) == [64])
    #expect(lab.counters(1).transmittedPackets == 65)
    #expect(lab.rateState(1).egress == nil)
  }
}
