import PatchbayCore
import Testing

@testable import PatchbayDatapath

@Suite struct PortEventRingTests {
  static func event(_ port: Int) -> PortEvent {
    PortEvent(
      port: port, isUp: port % 2 == 0, cause: .interfaceLost, at: Instant(nanoseconds: UInt64(port))
    )
  }

  @Test func aDrainReturnsTheEventsInOrderAndEmptiesTheRing() {
    var ring = PortEventRing(capacity: 4)
    for port in 0..<3 { ring.append(Self.event(port)) }
    let first = ring.drain()
    #expect(first.events == (0..<3).map(Self.event))
    #expect(first.lost == 0)
    let second = ring.drain()
    #expect(second.events.isEmpty && second.lost == 0)
  }

  @Test func aFullRingGivesUpItsOldestEventsAndCountsThem() {
    var ring = PortEventRing(capacity: 4)
    for port in 0..<7 { ring.append(Self.event(port)) }
    let drained = ring.drain()
    #expect(drained.events == (3..<7).map(Self.event))
    #expect(drained.lost == 3)
    ring.append(Self.event(9))
    #expect(ring.drain().events == [Self.event(9)])
  }
}

@Suite struct PortEventTests {
  @Test func aPortTakenDownIsOneEventAtTheTurnsTimeAndALinkDown() throws {
    let lab = try LoopbackLab(portCount: 3)
    lab.datapath.runOnce(at: lab.now)
    lab.datapath.holdDown(port: 1)
    // Already down: no second event, no second link down.
    lab.datapath.holdDown(port: 1)
    let activity = lab.datapath.activity()
    #expect(activity.events == [PortEvent(port: 1, isUp: false, cause: .heldDown, at: lab.now)])
    #expect(activity.lostEvents == 0)
    #expect(activity.counters.map { $0.map(\.linkDowns) } == [[0, 1, 0]])
    #expect(lab.datapath.activity().events.isEmpty)
  }
}
