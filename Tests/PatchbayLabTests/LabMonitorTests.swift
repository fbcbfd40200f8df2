import Logging
import PatchbayCore
import PatchbayDatapath
import Testing

@testable import PatchbayLab

@Suite struct LabMonitorTests {
  static let names = ["core/a", "core/b", "edge/c"]

  /// Counters of the three ports (core has two, edge one) with `drops` added.
  static func counters(_ drops: [Int: [(DropReason, Int)]]) -> [[PortCounters]] {
    var ports = Array(repeating: PortCounters(), count: 3)
    for (port, reasons) in drops {
      for (reason, count) in reasons {
        for _ in 0..<count { ports[port].countDroppedArrival(reason) }
      }
    }
    return [Array(ports[0..<2]), [ports[2]]]
  }

  static func quiet(_ counters: [[PortCounters]]) -> DatapathActivity {
    DatapathActivity(events: [], lostEvents: 0, counters: counters)
  }

  @Test func aDropBurstIsOneLinePerPortWhoseDropsGrewEveryFiveObservations() {
    let log = CapturedLog()
    var monitor = LabMonitor(portNames: Self.names, logger: log.logger(.info))
    // The first observation is the baseline: drops from before it are old news.
    monitor.observe(Self.quiet(Self.counters([0: [(.runt, 7)]])))
    let burst = Self.counters([
      0: [(.runt, 7), (.reservedGroup, 100), (.oversize, 3)], 2: [(.runt, 1)],
    ])
    for _ in 0..<4 { monitor.observe(Self.quiet(burst)) }
    #expect(log.text == "", "nothing before five observations")
    monitor.observe(Self.quiet(burst))
    // Five more with nothing new: no line.
    for _ in 0..<5 { monitor.observe(Self.quiet(burst)) }
    #expect(
      log.text == """
        patchbay: notice: port core/a dropped 103 frames in 5s: reserved-group 100, oversize 3 dropped=103 drops={"oversize":"3","reserved-group":"100"} port=core/a time=2025-12-02T07:00:00.123Z
        patchbay: notice: port edge/c dropped 1 frames in 5s: runt 1 dropped=1 drops={"runt":"1"} port=edge/c time=2025-12-02T07:00:00.123Z

        """)
  }

  @Test func portEventsAreLoggedAtOnceInOrderAndLostOnesCounted() {
    let log = CapturedLog()
    var monitor = LabMonitor(portNames: Self.names, logger: log.logger(.info))
    let events = [
      PortEvent(port: 1, isUp: false, cause: .interfaceLost, at: .zero),
      PortEvent(port: 1, isUp: true, cause: .interfaceReturned, at: .zero),
      PortEvent(port: 2, isUp: false, cause: .heldDown, at: .zero),
    ]
    monitor.observe(
      DatapathActivity(events: events, lostEvents: 2, counters: Self.counters([:])))
    #expect(
      log.text == """
        patchbay: notice: port core/b down: its interface went away port=core/b state=down time=2025-12-02T07:00:00.123Z
        patchbay: notice: port core/b up: its interface is back port=core/b state=up time=2025-12-02T07:00:00.123Z
        patchbay: notice: port edge/c down: held down (its VM exited) port=edge/c state=down time=2025-12-02T07:00:00.123Z
        patchbay: warning: 2 port events were lost before they could be logged lost=2 time=2025-12-02T07:00:00.123Z

        """)
  }

  @Test func atWarningNeitherEventsNorDropsAreWritten() {
    let log = CapturedLog()
    var monitor = LabMonitor(portNames: Self.names, logger: log.logger(.warning))
    monitor.observe(Self.quiet(Self.counters([:])))
    let event = PortEvent(port: 0, isUp: false, cause: .interfaceLost, at: .zero)
    for _ in 0..<5 {
      monitor.observe(
        DatapathActivity(events: [event], lostEvents: 0, counters: Self.counters([0: [(.runt, 9)]]))
      )
    }
    #expect(log.text == "")
  }
}
