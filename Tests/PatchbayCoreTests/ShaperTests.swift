import PatchbayCore
import PatchbayWire
import Testing

private let t0 = Instant.seconds(1_000)
/// 1 Mbit/s with one full frame of burst (12 000 bits): each full frame after
/// the first waits exactly 12 ms.
private let oneMegabit = RateLimit(bitsPerSecond: 1_000_000, burstBytes: 1_500)
/// A full-size untagged frame as queued (1514 bytes) and as counted (1500 layer-3 bytes).
private let fullSize = 1_514
private let fullFrame = FrameFootprint(bytes: 1_500, packets: 1)
/// A minimum frame: 60 bytes queued, 46 counted (368 bits).
private let smallSize = 60
private let smallFrame = FrameFootprint(bytes: 46, packets: 1)

/// Pins down the shaper's books: send at once while the queue is empty and the
/// buckets allow, otherwise queue (delay first) and drop only when the queue is
/// full; heads leave first-in-first-out exactly when their tokens are there; a
/// backlog drains at exactly the limit; a new limit keeps the queue; the
/// default queue sizes.
@Suite("Shaper")
struct ShaperTests {
  // MARK: Verdicts

  @Test func anEmptyQueueWithTokensSendsAtOnce() {
    var shaper = Shaper(oneMegabit, at: t0)
    #expect(shaper.offer(size: fullSize, footprint: fullFrame, at: t0) == .send)
    #expect(shaper.queuedFrames == 0)
    #expect(shaper.queuedBytes == 0)
    #expect(shaper.policer.tokens.bits == 0)
  }

  @Test func withoutTokensAFrameIsQueuedNotDropped() {
    var shaper = Shaper(oneMegabit, at: t0)
    #expect(shaper.offer(size: fullSize, footprint: fullFrame, at: t0) == .send)
    #expect(shaper.offer(size: fullSize, footprint: fullFrame, at: t0) == .enqueue)
    #expect(shaper.queuedFrames == 1)
    #expect(shaper.queuedBytes == 1_514)
    // A second later the tokens are back, but a frame offered behind a queue
    // may not overtake it.
    #expect(shaper.offer(size: smallSize, footprint: smallFrame, at: t0 + .seconds(1)) == .enqueue)
    #expect(shaper.queuedFrames == 2)
    #expect(shaper.queuedBytes == 1_574)
  }

  @Test func aFullQueueDrops() {
    var shaper = Shaper(oneMegabit, queueLimit: 3_000, at: t0)
    #expect(shaper.queueLimit == 3_000)
    #expect(shaper.offer(size: fullSize, footprint: fullFrame, at: t0) == .send)
    #expect(shaper.offer(size: fullSize, footprint: fullFrame, at: t0) == .enqueue)
    // 1514 + 1486 fills the queue exactly: still queued.
    let filler = FrameFootprint(bytes: 1_472, packets: 1)
    #expect(shaper.offer(size: 1_486, footprint: filler, at: t0) == .enqueue)
    #expect(shaper.queuedBytes == 3_000)
    #expect(shaper.queuedFrames == 2)
    // Not one byte more.
    #expect(shaper.offer(size: 1, footprint: smallFrame, at: t0) == .drop)
    #expect(shaper.offer(size: fullSize, footprint: fullFrame, at: t0 + .seconds(1)) == .drop)
    #expect(shaper.queuedBytes == 3_000)
    #expect(shaper.queuedFrames == 2)
    // Releasing the head makes room for exactly its size again.
    #expect(
      shaper.releaseHead(size: fullSize, footprint: fullFrame, at: t0 + .milliseconds(12)) == true)
    #expect(shaper.queuedBytes == 1_486)
    #expect(
      shaper.offer(size: fullSize, footprint: fullFrame, at: t0 + .milliseconds(12)) == .enqueue)
    #expect(shaper.queuedBytes == 3_000)
    #expect(
      shaper.offer(size: smallSize, footprint: smallFrame, at: t0 + .milliseconds(12)) == .drop)
  }

  @Test func aFrameLargerThanTheWholeQueueIsDroppedWhenItCannotBeSent() {
    var shaper = Shaper(oneMegabit, queueLimit: 1_000, at: t0)
    #expect(shaper.offer(size: fullSize, footprint: fullFrame, at: t0) == .send)
    #expect(shaper.offer(size: fullSize, footprint: fullFrame, at: t0) == .drop)
    #expect(shaper.queuedFrames == 0)
    #expect(shaper.queuedBytes == 0)
  }

  // MARK: Release

  @Test func headsLeaveInOrderExactlyWhenTheirTokensAreThere() {
    var shaper = Shaper(oneMegabit, at: t0)
    #expect(shaper.offer(size: fullSize, footprint: fullFrame, at: t0) == .send)
    // B (12 000 bits), C (500 bytes: 4000 bits), D (368 bits) wait in that order.
    let middle = FrameFootprint(bytes: 500, packets: 1)
    #expect(shaper.offer(size: fullSize, footprint: fullFrame, at: t0) == .enqueue)
    #expect(shaper.offer(size: 514, footprint: middle, at: t0) == .enqueue)
    #expect(shaper.offer(size: smallSize, footprint: smallFrame, at: t0) == .enqueue)
    #expect(shaper.queuedFrames == 3)
    #expect(shaper.queuedBytes == 2_088)

    // B: 12 000 bits at 1 Mbit/s.
    let b = shaper.headDeparture(footprint: fullFrame, at: t0)
    #expect(b == t0 + .milliseconds(12))
    #expect(shaper.releaseHead(size: fullSize, footprint: fullFrame, at: before(b)) == false)
    #expect(shaper.queuedFrames == 3)
    #expect(shaper.releaseHead(size: fullSize, footprint: fullFrame, at: b) == true)
    #expect(shaper.queuedFrames == 2)
    #expect(shaper.queuedBytes == 574)

    // C: 4000 more bits, 4 ms after B.
    let c = shaper.headDeparture(footprint: middle, at: b)
    #expect(c == t0 + .milliseconds(16))
    #expect(shaper.releaseHead(size: 514, footprint: middle, at: before(c)) == false)
    #expect(shaper.releaseHead(size: 514, footprint: middle, at: c) == true)
    #expect(shaper.queuedFrames == 1)
    #expect(shaper.queuedBytes == 60)

    // D: 368 bits, 368 µs after C.
    let d = shaper.headDeparture(footprint: smallFrame, at: c)
    #expect(d == t0 + .microseconds(16_368))
    #expect(shaper.releaseHead(size: smallSize, footprint: smallFrame, at: before(d)) == false)
    #expect(shaper.releaseHead(size: smallSize, footprint: smallFrame, at: d) == true)
    #expect(shaper.queuedFrames == 0)
    #expect(shaper.queuedBytes == 0)

    // Nothing left to release; and with the queue empty and the bucket full
    // again (13.632 ms later, more than the 12 ms it takes), a frame goes at once.
    #expect(
      shaper.releaseHead(size: fullSize, footprint: fullFrame, at: t0 + .milliseconds(30)) == false)
    #expect(shaper.offer(size: fullSize, footprint: fullFrame, at: t0 + .milliseconds(30)) == .send)
  }

  @Test func headDepartureCountsFromTheInstantAsked() {
    var shaper = Shaper(oneMegabit, at: t0)
    #expect(shaper.offer(size: fullSize, footprint: fullFrame, at: t0) == .send)
    #expect(shaper.offer(size: fullSize, footprint: fullFrame, at: t0) == .enqueue)
    // Asked 5 ms in, the head still leaves 12 ms after t0.
    #expect(
      shaper.headDeparture(footprint: fullFrame, at: t0 + .milliseconds(5)) == t0
        + .milliseconds(12))
    // Asked after its tokens are there, it may leave at once.
    let late = t0 + .milliseconds(20)
    #expect(shaper.headDeparture(footprint: fullFrame, at: late) == late)
    #expect(shaper.queuedFrames == 1)
  }

  @Test func releaseHeadOnAnEmptyQueueTakesNoTokens() {
    var shaper = Shaper(oneMegabit, at: t0)
    #expect(shaper.releaseHead(size: fullSize, footprint: fullFrame, at: t0) == false)
    #expect(shaper.policer.tokens.bits == 12_000)
    #expect(shaper.queuedFrames == 0)
    #expect(shaper.queuedBytes == 0)
  }

  @Test func discardTakesAFrameOffTheBooksOnly() {
    var shaper = Shaper(oneMegabit, at: t0)
    #expect(shaper.offer(size: fullSize, footprint: fullFrame, at: t0) == .send)
    #expect(shaper.offer(size: fullSize, footprint: fullFrame, at: t0) == .enqueue)
    #expect(shaper.offer(size: smallSize, footprint: smallFrame, at: t0) == .enqueue)
    shaper.discard(size: fullSize)
    #expect(shaper.queuedFrames == 1)
    #expect(shaper.queuedBytes == 60)
    // The buckets are untouched: still empty from the first frame.
    #expect(shaper.policer.tokens.bits == 0)
    shaper.discard(size: smallSize)
    #expect(shaper.queuedFrames == 0)
    #expect(shaper.queuedBytes == 0)
    // Discarding from an empty queue changes nothing (no negative books).
    shaper.discard(size: fullSize)
    #expect(shaper.queuedFrames == 0)
    #expect(shaper.queuedBytes == 0)
  }

  // MARK: Long run

  @Test func aBacklogAtTwiceTheRateLeavesAtExactlyTheLimit() {
    // 1500-byte frames every 600 µs (20 Mbit/s) into a 10 Mbit/s shaper, for
    // 10 s. Each event is the earlier of the next arrival and the head's departure.
    let rate: UInt64 = 10_000_000
    let limit = RateLimit(bitsPerSecond: rate)
    var shaper = Shaper(limit, at: .zero)
    // 50 ms at 10 Mbit/s is 62 500 bytes: the 256 KiB floor, 173 full frames.
    #expect(shaper.queueLimit == 262_144)
    let gap: UInt64 = 600_000
    let halfway: UInt64 = 5_000_000_000
    let end: UInt64 = 10_000_000_000
    var nextArrival: UInt64 = 0
    var arrivals = 0
    var departed = 0
    var departedByHalfway = 0
    var dropped = 0
    var now = Instant.zero
    while true {
      var next = nextArrival
      if shaper.queuedFrames > 0 {
        next = min(next, shaper.headDeparture(footprint: fullFrame, at: now).nanoseconds)
      }
      guard next <= end else { break }
      now = Instant(nanoseconds: next)
      while shaper.releaseHead(size: fullSize, footprint: fullFrame, at: now) {
        departed += 1
        if next <= halfway { departedByHalfway += 1 }
      }
      if next == nextArrival {
        arrivals += 1
        switch shaper.offer(size: fullSize, footprint: fullFrame, at: now) {
        case .send:
          departed += 1
          if next <= halfway { departedByHalfway += 1 }
        case .enqueue: break
        case .drop: dropped += 1
        }
        nextArrival += gap
      }
    }
    // Arrivals at 0, 600 µs, ... 9.9996 s.
    #expect(arrivals == 16_667)
    #expect(arrivals == departed + dropped + shaper.queuedFrames)
    // The bucket never sits full (it starts full and the sender outruns it),
    // so by any instant T the frames that left are ⌊(burst + rate × T) / cost⌋:
    // by 5 s (1 048 576 + 50 000 000) / 12 000 = 4254.05, by 10 s
    // (1 048 576 + 100 000 000) / 12 000 = 8420.7.
    #expect(departedByHalfway == 4_254)
    #expect(departed == 8_420)
    // The second half ran at the limit: 5 s × 10 Mbit/s / 12 000 = 4166.7 frames.
    #expect(departed - departedByHalfway == 4_166)
    // The queue is full to within one frame: 172 or 173 frames of 1514 bytes.
    #expect(shaper.queuedFrames >= 172 && shaper.queuedFrames <= 173)
    #expect(shaper.queuedBytes == shaper.queuedFrames * fullSize)
    #expect(dropped > 0)
  }

  // MARK: Changing the limit

  @Test func changingTheLimitKeepsTheQueue() {
    var shaper = Shaper(oneMegabit, at: t0)
    #expect(shaper.offer(size: fullSize, footprint: fullFrame, at: t0) == .send)
    #expect(shaper.offer(size: fullSize, footprint: fullFrame, at: t0) == .enqueue)
    #expect(shaper.offer(size: smallSize, footprint: smallFrame, at: t0) == .enqueue)
    let faster = RateLimit(bitsPerSecond: 100_000_000)
    let t1 = t0 + .milliseconds(1)
    var changed = shaper.changing(to: faster, at: t1)
    #expect(changed.queuedFrames == 2)
    #expect(changed.queuedBytes == 1_574)
    #expect(changed.policer.limit == faster)
    // New buckets are full (the 128 KiB default burst)...
    #expect(changed.policer.tokens.bits == 1_048_576)
    // ...and the queue limit is the new limit's default: 50 ms at 100 Mbit/s.
    #expect(changed.queueLimit == 625_000)
    // The old value is untouched.
    #expect(shaper.queuedFrames == 2)
    #expect(shaper.policer.limit == oneMegabit)
    // The head can leave at once under the new limit.
    #expect(changed.releaseHead(size: fullSize, footprint: fullFrame, at: t1) == true)
    #expect(changed.releaseHead(size: smallSize, footprint: smallFrame, at: t1) == true)
    #expect(changed.queuedFrames == 0)
    #expect(changed.queuedBytes == 0)
  }

  @Test func aSmallerQueueLimitKeepsWhatIsQueuedAndDropsNewFrames() {
    var shaper = Shaper(oneMegabit, at: t0)
    #expect(shaper.offer(size: fullSize, footprint: fullFrame, at: t0) == .send)
    #expect(shaper.offer(size: fullSize, footprint: fullFrame, at: t0) == .enqueue)
    #expect(shaper.offer(size: fullSize, footprint: fullFrame, at: t0) == .enqueue)
    var changed = shaper.changing(to: oneMegabit, queueLimit: 1_000, at: t0)
    #expect(changed.queueLimit == 1_000)
    #expect(changed.queuedBytes == 3_028)
    #expect(changed.queuedFrames == 2)
    // Nothing is thrown away, but nothing more fits until the queue drains.
    #expect(changed.offer(size: smallSize, footprint: smallFrame, at: t0) == .drop)
    #expect(changed.releaseHead(size: fullSize, footprint: fullFrame, at: t0) == true)
    #expect(changed.releaseHead(size: fullSize, footprint: fullFrame, at: t0) == false)
    #expect(changed.queuedBytes == 1_514)
    #expect(changed.offer(size: smallSize, footprint: smallFrame, at: t0) == .drop)
  }

  // MARK: Queue size

  @Test func defaultQueueLimitIsFiftyMillisecondsBetween256KiBAnd32MiB() {
    // 50 ms at 1 Mbit/s is 6250 bytes: the floor.
    #expect(Shaper.defaultQueueLimit(for: RateLimit(bitsPerSecond: 1_000_000)) == 262_144)
    // 262 144 bytes in 50 ms is 41 943 040 bit/s.
    #expect(Shaper.defaultQueueLimit(for: RateLimit(bitsPerSecond: 41_943_040)) == 262_144)
    #expect(Shaper.defaultQueueLimit(for: RateLimit(bitsPerSecond: 41_943_200)) == 262_145)
    #expect(Shaper.defaultQueueLimit(for: RateLimit(bitsPerSecond: 1_000_000_000)) == 6_250_000)
    // 32 MiB in 50 ms is 5 368 709 120 bit/s.
    #expect(Shaper.defaultQueueLimit(for: RateLimit(bitsPerSecond: 5_368_709_120)) == 33_554_432)
    #expect(Shaper.defaultQueueLimit(for: RateLimit(bitsPerSecond: 10_000_000_000)) == 33_554_432)
    #expect(Shaper.defaultQueueLimit(for: RateLimit(bitsPerSecond: .max)) == 33_554_432)
    // A packet rate alone: 1 MiB.
    #expect(Shaper.defaultQueueLimit(for: RateLimit(packetsPerSecond: 1_000)) == 1_048_576)
    // With both, the bit rate decides.
    #expect(
      Shaper.defaultQueueLimit(
        for: RateLimit(bitsPerSecond: 1_000_000_000, packetsPerSecond: 1_000)) == 6_250_000)
  }

  @Test func anExplicitQueueLimitWins() {
    #expect(Shaper(oneMegabit, at: t0).queueLimit == 262_144)
    #expect(Shaper(oneMegabit, queueLimit: 10_000, at: t0).queueLimit == 10_000)
    #expect(Shaper(RateLimit(packetsPerSecond: 100), at: t0).queueLimit == 1_048_576)
  }

  @Test func aPacketRateShapesToo() {
    // 100 packets/s, 64 deep: 64 frames go at once, the 65th waits 10 ms.
    var shaper = Shaper(RateLimit(packetsPerSecond: 100), at: t0)
    for _ in 0..<64 {
      #expect(shaper.offer(size: smallSize, footprint: smallFrame, at: t0) == .send)
    }
    #expect(shaper.offer(size: smallSize, footprint: smallFrame, at: t0) == .enqueue)
    let due = shaper.headDeparture(footprint: smallFrame, at: t0)
    #expect(due == t0 + .milliseconds(10))
    #expect(shaper.releaseHead(size: smallSize, footprint: smallFrame, at: before(due)) == false)
    #expect(shaper.releaseHead(size: smallSize, footprint: smallFrame, at: due) == true)
  }
}

/// One nanosecond before `instant`.
private func before(_ instant: Instant) -> Instant {
  Instant(nanoseconds: instant.nanoseconds - 1)
}
