import PatchbayCore
import PatchbayWire

/// One port direction's limit in the datapath: the pure `Shaper` that decides
/// and the `FrameRing` that holds what waits.
struct LimitedQueue {
  /// The buckets and the queue's books.
  var shaper: Shaper
  /// The frames waiting, in order.
  var ring: FrameRing

  /// A ring that always has room for what the shaper admits: the queue limit
  /// plus the largest entry twice (one may be left unused at the end).
  static func ringCapacity(forQueueLimit limit: Int) -> Int {
    limit + 2 * FrameRing.entrySize(frameLength: Datapath.bufferSize + 64)
  }

  /// An empty queue for `limit`, buckets full at `now`.
  init(_ limit: RateLimit, at now: Instant) {
    shaper = Shaper(limit, at: now)
    ring = FrameRing(capacity: LimitedQueue.ringCapacity(forQueueLimit: shaper.queueLimit))
  }

  /// The same frames under `limit` (the ring grows if the new queue is longer).
  mutating func change(to limit: RateLimit, at now: Instant) {
    shaper = shaper.changing(to: limit, at: now)
    let capacity = LimitedQueue.ringCapacity(forQueueLimit: shaper.queueLimit)
    guard ring.capacity < capacity else { return }
    var bigger = FrameRing(capacity: capacity)
    while let (frame, _, footprint) = ring.peek() {
      if let copy = bigger.reserve(frameLength: frame.count, footprint: footprint) {
        (copy - VirtioNetHeader.byteCount).copyMemory(
          from: frame.baseAddress! - VirtioNetHeader.byteCount,
          byteCount: VirtioNetHeader.byteCount + frame.count)
      }
      ring.removeHead()
    }
    ring.deallocate()
    ring = bigger
  }

  /// Offers a frame of `length` bytes: `.send` (it may go now), `.enqueue`
  /// with where to write it (header in the 10 bytes before), or `.drop`.
  @inline(__always)
  mutating func offer(length: Int, footprint: FrameFootprint, at now: Instant)
    -> (verdict: Shaper.Verdict, copy: UnsafeMutableRawPointer?)
  {
    let size = FrameRing.entrySize(frameLength: length)
    switch shaper.offer(size: size, footprint: footprint, at: now) {
    case .send: return (.send, nil)
    case .drop: return (.drop, nil)
    case .enqueue:
      guard let copy = ring.reserve(frameLength: length, footprint: footprint) else {
        shaper.discard(size: size)
        return (.drop, nil)
      }
      return (.enqueue, copy)
    }
  }

  /// The head frame if it may leave at `now` (the caller sends it, then calls
  /// `ring.removeHead()`); otherwise nil, with `departure` lowered to when it may.
  @inline(__always)
  mutating func releaseHead(at now: Instant, departure: inout UInt64) -> UnsafeRawBufferPointer? {
    guard let (frame, size, footprint) = ring.peek() else { return nil }
    guard shaper.releaseHead(size: size, footprint: footprint, at: now) else {
      departure = min(departure, shaper.headDeparture(footprint: footprint, at: now).nanoseconds)
      return nil
    }
    return frame
  }

  /// When the head frame may leave, if one waits.
  mutating func headDeparture(at now: Instant) -> UInt64? {
    guard let (_, _, footprint) = ring.peek() else { return nil }
    return shaper.headDeparture(footprint: footprint, at: now).nanoseconds
  }
}
