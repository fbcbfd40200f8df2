import PatchbayCore
import PatchbayWire
import Testing

@testable import PatchbayDatapath

/// The ingress limit, on a manual clock: frames over the burst wait before
/// the switch sees them, enter it at the exact nanosecond, and a full queue
/// drops them as received-and-rate-limited on the ingress port.
@Suite struct IngressPolicingTests {
  let limit = RateLimit(packetsPerSecond: 1_000)

  @Test func aFrameOverTheBurstEntersTheSwitchWhenItsTokenIsThere() throws {
    let lab = try LoopbackLab(portCount: 2)
    let start = lab.now
    lab.datapath.setRateLimits(port: 0, ingress: limit, egress: nil, at: start)
    for sequence in 0..<65 {
      try lab.ports[0].inject(testFrame(to: 2, from: 1, sequence: sequence))
    }
    lab.turn()
    lab.turn()
    #expect(lab.ports[1].receiveAll().count == 64)
    // The switch has not seen the 65th frame yet.
    #expect(lab.counters(0).receivedPackets == 64)
    #expect(lab.rateState(0).queuedFrames == 1)
    lab.turn(at: start, plus: 999_999)
    #expect(lab.ports[1].receiveAll().isEmpty)
    lab.turn(at: start, plus: 1_000_000)
    #expect(lab.ports[1].receiveAll().map(sequence(of:)) == [64])
    #expect(lab.counters(0).receivedPackets == 65)
    #expect(lab.counters(1).transmittedPackets == 65)
  }

  @Test func aFullQueueDropsOnTheIngressPort() throws {
    let lab = try LoopbackLab(portCount: 2)
    lab.datapath.setRateLimits(port: 0, ingress: limit, egress: nil, at: lab.now)
    let fits = Shaper.defaultQueueLimit(for: limit) / FrameRing.entrySize(frameLength: 1514)
    let offered = 64 + fits + 2
    var sent = 0
    while sent < offered {
      for _ in 0..<min(32, offered - sent) {
        try lab.ports[0].inject(testFrame(to: 2, from: 1, sequence: sent, length: 1514))
        sent += 1
      }
      lab.turn()
      _ = lab.ports[1].receiveAll()
    }
    #expect(lab.counters(0)[dropped: .rateLimited] == 2)
    #expect(lab.counters(1).transmittedPackets == 64)
    #expect(lab.rateState(0).queuedFrames == fits)
  }
}
