import PatchbayWire

/// A rate limit on one direction of a port: frames within the limit pass at
/// once, the rest wait in a bounded first-in-first-out queue and go on as the
/// buckets refill; a frame that would overflow the queue is dropped.
///
/// Delay first, then drop, in both directions: a TCP sender through the limit
/// sees its queue grow and an occasional tail drop, so it runs at the limit
/// instead of collapsing the way it does against a policer that drops at once. Pure bookkeeping: the
/// I/O layer keeps the frames and asks this value when each may go.
public struct Shaper: Sendable, Equatable {
  /// What to do with a frame offered to the port.
  public enum Verdict: Sendable, Equatable {
    /// Send it now: the queue is empty and the buckets admitted it.
    case send
    /// Put it at the tail of the queue.
    case enqueue
    /// Drop it: the queue is full (counted as rate-limited).
    case drop
  }

  /// The buckets.
  public private(set) var policer: Policer
  /// The most bytes the queue holds (as the I/O layer measures a queued frame).
  public let queueLimit: Int
  /// Bytes queued.
  public private(set) var queuedBytes = 0
  /// Frames queued.
  public private(set) var queuedFrames = 0

  /// The queue's default size: 50 ms at the bit rate, at least 256 KiB (four
  /// 64 KiB superframes), at most 32 MiB; 1 MiB for a packet-rate-only limit.
  public static func defaultQueueLimit(for limit: RateLimit) -> Int {
    guard let bits = limit.bitsPerSecond else { return 1 << 20 }
    let fiftyMilliseconds = bits / 8 / 20
    return Int(min(max(fiftyMilliseconds, 256 * 1024), 32 << 20))
  }

  /// An empty shaper for `limit` with full buckets at `now`.
  public init(_ limit: RateLimit, queueLimit: Int? = nil, at now: Instant) {
    self.policer = Policer(limit, at: now)
    self.queueLimit = queueLimit ?? Shaper.defaultQueueLimit(for: limit)
  }

  /// The same queue under new limits (buckets full at `now`): a rate changed
  /// at run time keeps the frames already waiting.
  public func changing(to limit: RateLimit, queueLimit: Int? = nil, at now: Instant) -> Shaper {
    var copy = Shaper(limit, queueLimit: queueLimit, at: now)
    copy.queuedBytes = queuedBytes
    copy.queuedFrames = queuedFrames
    return copy
  }

  /// Decides about a frame of `size` queue bytes and `footprint` offered at `now`.
  @inline(__always)
  public mutating func offer(size: Int, footprint: FrameFootprint, at now: Instant) -> Verdict {
    if queuedFrames == 0 && policer.admit(footprint, at: now) { return .send }
    guard queuedBytes + size <= queueLimit else { return .drop }
    queuedBytes += size
    queuedFrames += 1
    return .enqueue
  }

  /// Whether the frame at the head of the queue (`size`, `footprint`) may leave
  /// at `now`; if so it is taken off the books and the caller sends it.
  @inline(__always)
  public mutating func releaseHead(size: Int, footprint: FrameFootprint, at now: Instant) -> Bool {
    guard queuedFrames > 0, policer.admit(footprint, at: now) else { return false }
    queuedBytes -= size
    queuedFrames -= 1
    return true
  }

  /// Takes a queued frame of `size` off the books without sending it: the I/O
  /// layer found no room to keep the frame `offer` just queued.
  public mutating func discard(size: Int) {
    guard queuedFrames > 0 else { return }
    queuedBytes -= size
    queuedFrames -= 1
  }

  /// When the head frame (`footprint`) may leave, seen from `now`.
  public mutating func headDeparture(footprint: FrameFootprint, at now: Instant) -> Instant {
    now + .nanoseconds(Int64(clamping: policer.delay(until: footprint, at: now)))
  }
}
