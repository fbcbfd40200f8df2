/// A port's current rates, from its counters sampled about once a second:
/// what `status` shows next to the limits.
public struct RateMeter: Sendable, Equatable {
  /// Received and transmitted rates over the last sampling interval.
  public struct Rates: Sendable, Equatable {
    /// Bits per second received from the port.
    public var receivedBitsPerSecond: UInt64 = 0
    /// Packets per second received from the port.
    public var receivedPacketsPerSecond: UInt64 = 0
    /// Bits per second sent out of the port.
    public var transmittedBitsPerSecond: UInt64 = 0
    /// Packets per second sent out of the port.
    public var transmittedPacketsPerSecond: UInt64 = 0

    /// All zero.
    public init() {}

    /// Adds another thread's rates of the same port.
    public mutating func merge(_ other: Rates) {
      receivedBitsPerSecond &+= other.receivedBitsPerSecond
      receivedPacketsPerSecond &+= other.receivedPacketsPerSecond
      transmittedBitsPerSecond &+= other.transmittedBitsPerSecond
      transmittedPacketsPerSecond &+= other.transmittedPacketsPerSecond
    }
  }

  /// The rates over the last interval (zero before the second sample).
  public private(set) var rates = Rates()
  private var last: PortCounters?
  private var lastInstant = Instant.zero

  /// A meter with no samples yet.
  public init() {}

  /// Takes a sample; the rates become the change since the previous one over
  /// the time between them. Counters that went backwards (a reset) read as zero.
  public mutating func sample(_ counters: PortCounters, at now: Instant) {
    defer {
      last = counters
      lastInstant = now
    }
    guard let last else { return }
    let elapsed = now.nanoseconds(since: lastInstant)
    guard elapsed > 0 else { return }
    func perSecond(_ new: UInt64, _ old: UInt64, scale: UInt64) -> UInt64 {
      guard new >= old else { return 0 }
      let delta = (new - old).multipliedFullWidth(by: scale * 1_000_000_000)
      // dividingFullWidth traps when the quotient does not fit: saturate first.
      guard delta.high < elapsed else { return .max }
      return elapsed.dividingFullWidth(delta).quotient
    }
    rates.receivedBitsPerSecond = perSecond(counters.receivedBytes, last.receivedBytes, scale: 8)
    rates.receivedPacketsPerSecond = perSecond(
      counters.receivedPackets, last.receivedPackets, scale: 1)
    rates.transmittedBitsPerSecond = perSecond(
      counters.transmittedBytes, last.transmittedBytes, scale: 8)
    rates.transmittedPacketsPerSecond = perSecond(
      counters.transmittedPackets, last.transmittedPackets, scale: 1)
  }
}
