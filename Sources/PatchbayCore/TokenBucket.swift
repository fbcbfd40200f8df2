/// A token bucket: `rate` units (bits or packets) per second flow in, up to
/// `depth`; a frame takes its cost out.
///
/// The level is kept in unit-nanoseconds (units × 10⁹), so refilling for `n`
/// nanoseconds adds exactly `n × rate`: integer arithmetic with no remainder to
/// lose, hence no drift over any run, at 64 kbit/s as at 100 Gbit/s.
///
/// A cost larger than the depth (a 64 KiB GSO superframe against a 16 KiB
/// burst) conforms once the bucket is full and leaves it in debt, which later
/// refills repay; so any burst setting passes every frame size, and the long-run
/// rate is exact either way.
public struct TokenBucket: Sendable, Equatable {
  /// Unit-nanoseconds per unit.
  public static let scale: UInt64 = 1_000_000_000
  /// The largest rate, in units per second (1 Tbit/s).
  public static let maximumRate: UInt64 = 1_000_000_000_000
  /// The largest depth, in units: 2³² keeps the scaled level (and any debt a
  /// frame can run up) inside 63 bits.
  public static let maximumDepth: UInt64 = 1 << 32

  /// Units per second, in `1...maximumRate`.
  public let rate: UInt64
  /// The most units the bucket holds, in `1...maximumDepth`.
  public let depth: UInt64
  // Current level in unit-nanoseconds, at most `depth × scale`; negative while in debt.
  private var level: Int64
  private var updated: Instant

  /// A full bucket at `now`; `rate` and `depth` are clamped to their ranges.
  public init(rate: UInt64, depth: UInt64, at now: Instant) {
    self.rate = min(max(rate, 1), TokenBucket.maximumRate)
    self.depth = min(max(depth, 1), TokenBucket.maximumDepth)
    self.level = Int64(self.depth * TokenBucket.scale)
    self.updated = now
  }

  /// Whole units in the bucket (negative while in debt).
  public var tokens: Int64 { level / Int64(TokenBucket.scale) }

  /// Adds what flowed in since the last refill. An instant before the last
  /// one adds nothing and is ignored.
  @inline(__always)
  public mutating func refill(at now: Instant) {
    guard now.nanoseconds > updated.nanoseconds else { return }
    let elapsed = now.nanoseconds &- updated.nanoseconds
    updated = now
    let full = Int64(depth &* TokenBucket.scale)
    let deficit = UInt64(full &- level)
    // `elapsed × rate` would overflow for long idle times; anything from the
    // time it takes to fill up on is simply full.
    if elapsed >= (deficit &+ rate &- 1) / rate {
      level = full
    } else {
      level &+= Int64(elapsed &* rate)
    }
  }

  /// True when a frame costing `cost` units may pass now (after `refill(at:)`).
  @inline(__always)
  public func conforms(cost: UInt64) -> Bool {
    level >= Int64(min(cost, depth) &* TokenBucket.scale)
  }

  /// Takes `cost` units out (after `conforms(cost:)` said yes).
  @inline(__always)
  public mutating func consume(cost: UInt64) {
    level &-= Int64(cost &* TokenBucket.scale)
  }

  /// Nanoseconds from the last refill until `cost` conforms; 0 if it does now.
  public func delay(untilConforming cost: UInt64) -> UInt64 {
    let needed = Int64(min(cost, depth) &* TokenBucket.scale) &- level
    guard needed > 0 else { return 0 }
    return (UInt64(needed) &+ rate &- 1) / rate
  }

  /// The instant of the last refill.
  public var lastRefill: Instant { updated }
}
