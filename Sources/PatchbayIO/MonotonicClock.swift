import Glibc
import PatchbayCore

/// The one place the datapath reads time: CLOCK_MONOTONIC as a core `Instant`.
public enum MonotonicClock {
  /// Now, on the monotonic clock.
  @inline(__always)
  public static func now() -> Instant {
    var spec = timespec()
    clock_gettime(CLOCK_MONOTONIC, &spec)
    return Instant(nanoseconds: UInt64(spec.tv_sec) &* 1_000_000_000 &+ UInt64(spec.tv_nsec))
  }
}
