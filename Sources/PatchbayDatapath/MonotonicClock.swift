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

/// The wall clock, for pcapng timestamps only (read per captured frame);
/// switching never depends on it.
public enum WallClock {
  /// Nanoseconds since the epoch (CLOCK_REALTIME).
  @inline(__always)
  public static func nanoseconds() -> UInt64 {
    var spec = timespec()
    clock_gettime(CLOCK_REALTIME, &spec)
    return UInt64(spec.tv_sec) &* 1_000_000_000 &+ UInt64(spec.tv_nsec)
  }
}
