import PatchbayCore

/// A port that went down or came back, as the datapath saw it: recorded on
/// the datapath thread, drained by the daemon, which logs it.
public struct PortEvent: Sendable, Equatable {
  /// Why a port's state changed.
  public enum Cause: Sendable, Equatable {
    /// A read or receive failed: the interface vanished or went down.
    case interfaceLost
    /// Taken down on purpose (its VM exited) and held down.
    case heldDown
    /// The packet-socket port's interface came back and was reopened.
    case interfaceReturned
  }

  /// The port's global index (switch by switch, port by port).
  public var port: Int
  /// Whether the port is up after the event.
  public var isUp: Bool
  /// What happened.
  public var cause: Cause
  /// When, on the datapath's clock.
  public var at: Instant

  /// An event of `port`.
  public init(port: Int, isUp: Bool, cause: Cause, at: Instant) {
    self.port = port
    self.isUp = isUp
    self.cause = cause
    self.at = at
  }
}

/// A bounded record of port events between two drains. Appending never
/// allocates once it is made (the storage is reserved up front) and never
/// blocks: when the daemon does not drain in time the oldest events give way,
/// and `lost` counts them.
struct PortEventRing {
  private var events: [PortEvent]
  private var start = 0
  private var count = 0
  private(set) var lost: UInt64 = 0
  let capacity: Int

  init(capacity: Int) {
    self.capacity = capacity
    events = Array(
      repeating: PortEvent(port: 0, isUp: false, cause: .interfaceLost, at: .zero),
      count: capacity)
  }

  mutating func append(_ event: PortEvent) {
    if count == capacity {
      events[start] = event
      start = (start + 1) % capacity
      lost &+= 1
    } else {
      events[(start + count) % capacity] = event
      count += 1
    }
  }

  /// The events in order, and how many were lost since the last drain; empties the ring.
  mutating func drain() -> (events: [PortEvent], lost: UInt64) {
    let drained = (0..<count).map { events[(start + $0) % capacity] }
    let lostNow = lost
    start = 0
    count = 0
    lost = 0
    return (drained, lostNow)
  }
}

/// What the daemon reads from the datapath every few seconds: the port
/// events since the last read and each switch's port counters.
public struct DatapathActivity: Sendable {
  /// Port events in the order they happened.
  public var events: [PortEvent]
  /// Events overwritten before this read (the ring holds 256).
  public var lostEvents: UInt64
  /// Each switch's per-port counters, in switch order.
  public var counters: [[PortCounters]]

  /// Activity of `events`, `lostEvents` and `counters`.
  public init(events: [PortEvent], lostEvents: UInt64, counters: [[PortCounters]]) {
    self.events = events
    self.lostEvents = lostEvents
    self.counters = counters
  }
}

extension Datapath {
  /// The port events since the last call and every port's counters, in one
  /// round trip to the datapath thread (which only copies them).
  public func activity() -> DatapathActivity {
    perform { datapath in
      let (events, lost) = datapath.portEvents.drain()
      return DatapathActivity(
        events: events, lostEvents: lost, counters: datapath.bridges.map(\.counters))
    }
  }
}
