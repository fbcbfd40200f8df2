import Glibc

/// A wall-clock time for a log line: seconds and nanoseconds since the Unix epoch.
public struct LogTime: Sendable, Equatable {
  /// Whole seconds since 1970-01-01T00:00:00Z.
  public var seconds: Int64
  /// Nanoseconds past `seconds` (0 ..< 1e9).
  public var nanoseconds: Int64

  /// The time `seconds` and `nanoseconds` after the epoch.
  public init(seconds: Int64, nanoseconds: Int64) {
    self.seconds = seconds
    self.nanoseconds = nanoseconds
  }

  /// `2026-12-02T07:06:21.123Z`: UTC, to the millisecond.
  public var iso8601: String {
    var time = time_t(seconds)
    var parts = tm()
    gmtime_r(&time, &parts)
    return "\(pad(Int64(parts.tm_year) + 1900, 4))-\(pad(Int64(parts.tm_mon) + 1, 2))"
      + "-\(pad(Int64(parts.tm_mday), 2))T\(pad(Int64(parts.tm_hour), 2))"
      + ":\(pad(Int64(parts.tm_min), 2)):\(pad(Int64(parts.tm_sec), 2))"
      + ".\(pad(nanoseconds / 1_000_000, 3))Z"
  }

  /// Now, from the system's real-time clock.
  public static func now() -> LogTime {
    var spec = timespec()
    clock_gettime(CLOCK_REALTIME, &spec)
    return LogTime(seconds: Int64(spec.tv_sec), nanoseconds: Int64(spec.tv_nsec))
  }

  private func pad(_ value: Int64, _ width: Int) -> String {
    let digits = String(value)
    return String(repeating: "0", count: max(0, width - digits.count)) + digits
  }
}
