/// A point on a monotonic clock, in nanoseconds from an arbitrary origin.
///
/// The core never reads a clock: the I/O layer passes `now` in, and tests pass
/// whatever instants they like, so every timing rule is exact and repeatable.
public struct Instant: Hashable, Comparable, Sendable, CustomStringConvertible {
  /// Nanoseconds from the clock's origin.
  public var nanoseconds: UInt64

  /// Makes an instant.
  @inline(__always)
  public init(nanoseconds: UInt64) { self.nanoseconds = nanoseconds }

  /// The clock's origin.
  public static let zero = Instant(nanoseconds: 0)

  /// Makes an instant `seconds` after the origin (tests read better this way).
  public static func seconds(_ seconds: UInt64) -> Instant {
    Instant(nanoseconds: seconds * 1_000_000_000)
  }

  /// The instant `duration` later (saturating at the clock's end).
  public static func + (lhs: Instant, rhs: Duration) -> Instant {
    let (sum, overflow) = lhs.nanoseconds.addingReportingOverflow(rhs.nanoseconds)
    return Instant(nanoseconds: overflow ? .max : sum)
  }

  /// Nanoseconds from `earlier` to `self`, zero if `earlier` is later.
  @inline(__always)
  public func nanoseconds(since earlier: Instant) -> UInt64 {
    nanoseconds >= earlier.nanoseconds ? nanoseconds &- earlier.nanoseconds : 0
  }

  /// Orders instants.
  public static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.nanoseconds < rhs.nanoseconds }

  /// Seconds with nanosecond precision.
  public var description: String {
    "\(nanoseconds / 1_000_000_000).\(String(nanoseconds % 1_000_000_000 + 1_000_000_000).dropFirst())s"
  }
}

extension Duration {
  /// The duration in whole nanoseconds, clamped to `0...UInt64.max`.
  public var nanoseconds: UInt64 {
    let (seconds, attoseconds) = components
    guard seconds >= 0 else { return 0 }
    let (whole, overflow) = UInt64(seconds).multipliedReportingOverflow(by: 1_000_000_000)
    guard !overflow else { return .max }
    let (sum, overflow2) = whole.addingReportingOverflow(
      UInt64(max(0, attoseconds) / 1_000_000_000))
    return overflow2 ? .max : sum
  }
}
