/// When the datapath loop asks epoll without waiting instead of sleeping
/// (`busy-poll`; `Datapath.run` says why polling pays), as a pure state
/// machine over the loop's clock readings, so its rules are tested exactly.
///
/// After a wakeup that found work the loop polls for `window`. A fixed
/// `busy-poll` keeps the window at its duration. An adaptive one (`auto`)
/// learns it: a poll that finds the next frame `d` after the wakeup widens the
/// window to at least `2 d` (up to `maximum`), one that finds nothing narrows
/// it by a quarter (down to `minimumWindow`), so a request that is answered
/// within tens of microseconds finds the thread awake, and a lab whose frames
/// are far apart pays a few microseconds per frame. Either way, more than
/// `wakeupLimit` wakeups with work in a millisecond mean the loop wakes to
/// batches anyway, and polling stops until the next millisecond; an idle lab
/// has no wakeups with work and never polls.
struct BusyPoller {
  /// The longest window (0: never poll).
  let maximum: UInt64
  /// Learns the window (`auto`) rather than keeping it at `maximum`.
  let isAdaptive: Bool
  /// The window the next wakeup with work polls for.
  private(set) var window: UInt64
  /// When the current polling ends (0: not polling).
  private(set) var pollingUntil: UInt64 = 0
  private var pollStart: UInt64 = 0
  private var rateWindowStart: UInt64 = 0
  private var busyWakeups = 0

  /// The narrowest adaptive window: what a wakeup costs at least.
  static let minimumWindow: UInt64 = 10_000
  /// The widest window `auto` learns.
  static let adaptiveMaximum: UInt64 = 200_000
  /// Wakeups with work per `rateWindow` above which polling stops.
  static let wakeupLimit = 8
  static let rateWindow: UInt64 = 1_000_000

  /// A poller polling `maximum` nanoseconds after work, or learning up to it.
  init(maximum: UInt64, isAdaptive: Bool) {
    self.maximum = maximum
    self.isAdaptive = isAdaptive && maximum > 0
    self.window = self.isAdaptive ? min(maximum, BusyPoller.minimumWindow) : maximum
  }

  /// True while the loop should ask epoll without waiting.
  var isPolling: Bool { pollingUntil != 0 }

  /// After a wait at `now` that returned `ready` descriptors; true when the
  /// loop should yield the CPU before it asks again (polling, nothing found).
  mutating func note(ready: Int, at now: UInt64) -> Bool {
    guard maximum > 0 else { return false }
    if ready > 0 {
      if isPolling && isAdaptive {
        window = min(maximum, max(window, 2 &* (now &- pollStart)))
      }
      if now &- rateWindowStart >= BusyPoller.rateWindow {
        rateWindowStart = now
        busyWakeups = 0
      }
      busyWakeups &+= 1
      pollingUntil = busyWakeups <= BusyPoller.wakeupLimit ? now &+ window : 0
      pollStart = now
      return false
    }
    guard isPolling else { return false }
    if now < pollingUntil { return true }
    pollingUntil = 0
    if isAdaptive { window = max(min(maximum, BusyPoller.minimumWindow), window - window / 4) }
    return false
  }
}
