import Testing

@testable import PatchbayDatapath

/// The busy-poll rules on the loop's clock readings (nanoseconds), exactly.
@Suite struct BusyPollerTests {
  @Test func offNeverPolls() {
    var poller = BusyPoller(maximum: 0, isAdaptive: true)
    let yields1 = poller.note(ready: 1, at: 1_000)
    #expect(!yields1)
    #expect(!poller.isPolling)
  }

  @Test func aFixedWindowPollsItsDurationAfterWork() {
    var poller = BusyPoller(maximum: 50_000, isAdaptive: false)
    _ = poller.note(ready: 1, at: 1_000_000)
    #expect(poller.pollingUntil == 1_050_000)
    let yields2 = poller.note(ready: 0, at: 1_049_999)
    #expect(yields2, "still polling: yield")
    let yields3 = poller.note(ready: 0, at: 1_050_000)
    #expect(!yields3)
    #expect(!poller.isPolling)
    #expect(poller.window == 50_000)
  }

  @Test func anAdaptiveWindowWidensToTwiceTheWaitItFoundAndNarrowsWhenEmpty() {
    var poller = BusyPoller(maximum: 200_000, isAdaptive: true)
    #expect(poller.window == BusyPoller.minimumWindow)
    // A request; its answer comes 8 µs later, inside the 10 µs window.
    _ = poller.note(ready: 1, at: 10_000_000)
    _ = poller.note(ready: 1, at: 10_008_000)
    #expect(poller.window == 16_000)
  }

  @Test func anAnswerFoundWhilePollingWidensTheWindow() {
    var poller = BusyPoller(maximum: 200_000, isAdaptive: true)
    _ = poller.note(ready: 1, at: 10_000_000)
    // Nothing for 9 µs, then the answer: the window becomes 18 µs.
    let yields4 = poller.note(ready: 0, at: 10_009_000)
    #expect(yields4)
    _ = poller.note(ready: 1, at: 10_009_000)
    #expect(poller.window == 18_000)
    // An empty window narrows by a quarter, never below the minimum.
    let yields5 = poller.note(ready: 0, at: 10_027_000)
    #expect(!yields5)
    #expect(poller.window == 13_500)
    for step in 1...10 {
      _ = poller.note(ready: 1, at: 20_000_000 + UInt64(step) * 2_000_000)
      _ = poller.note(ready: 0, at: 20_000_000 + UInt64(step) * 2_000_000 + 1_000_000)
    }
    #expect(poller.window == BusyPoller.minimumWindow)
    // Never wider than the maximum.
    _ = poller.note(ready: 1, at: 50_000_000)
    _ = poller.note(ready: 1, at: 50_009_000)
    #expect(poller.window == 18_000)
    var wide = BusyPoller(maximum: 30_000, isAdaptive: true)
    _ = wide.note(ready: 1, at: 1_000_000)
    _ = wide.note(ready: 0, at: 1_005_000)
    _ = wide.note(ready: 1, at: 1_009_000)
    _ = wide.note(ready: 1, at: 1_030_000)
    #expect(wide.window == 30_000)
  }

  @Test func moreThanEightWakeupsWithWorkInAMillisecondStopPolling() {
    var poller = BusyPoller(maximum: 50_000, isAdaptive: false)
    for wakeup in 0..<8 { _ = poller.note(ready: 1, at: 5_000_000 + UInt64(wakeup) * 1_000) }
    #expect(poller.isPolling)
    _ = poller.note(ready: 1, at: 5_009_000)
    #expect(!poller.isPolling, "a loaded loop wakes to batches: no polling")
    _ = poller.note(ready: 1, at: 6_000_000)
    #expect(poller.isPolling, "the next millisecond starts afresh")
  }
}
