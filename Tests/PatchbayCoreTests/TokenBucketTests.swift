import PatchbayCore
import Testing

private let t0 = Instant.seconds(100)

/// A bucket at `t0` that was full and then had `drain` units taken out.
private func bucket(rate: UInt64, depth: UInt64, drained drain: UInt64 = 0) -> TokenBucket {
  var bucket = TokenBucket(rate: rate, depth: depth, at: t0)
  bucket.consume(cost: drain)
  return bucket
}

/// `bucket` after a refill at `now` (the original is left as it was).
private func refilled(_ bucket: TokenBucket, at now: Instant) -> TokenBucket {
  var copy = bucket
  copy.refill(at: now)
  return copy
}

/// One `delay(untilConforming:)` case: a bucket drained by `drain` at `t0`, a
/// frame of `cost`, and the delay worked out by hand.
struct DelayCase: Sendable, CustomTestStringConvertible {
  var rate: UInt64
  var depth: UInt64
  var drain: UInt64
  var cost: UInt64
  var expected: UInt64
  var testDescription: String { "rate \(rate) depth \(depth) drain \(drain) cost \(cost)" }
}

private let delayCases: [DelayCase] = [
  // 12 000 bits at 1 Mbit/s: 12 ms.
  DelayCase(rate: 1_000_000, depth: 12_000, drain: 12_000, cost: 12_000, expected: 12_000_000),
  // One unit at 3/s: 333 333 333.3 ns rounds up, or the frame would be a third of a unit short.
  DelayCase(rate: 3, depth: 10, drain: 10, cost: 1, expected: 333_333_334),
  // Two units at 3/s: 666 666 666.7 ns rounds up.
  DelayCase(rate: 3, depth: 10, drain: 10, cost: 2, expected: 666_666_667),
  // A 1500-byte frame at 64 kbit/s: 187.5 ms.
  DelayCase(rate: 64_000, depth: 12_000, drain: 12_000, cost: 12_000, expected: 187_500_000),
  // Slightly more than one unit per nanosecond: a single nanosecond is enough.
  DelayCase(rate: 1_000_000_007, depth: 1_000_000, drain: 1_000_000, cost: 1, expected: 1),
  // 50 units in, 60 wanted at 7/s: 10/7 s = 1 428 571 428.6 ns, rounded up.
  DelayCase(rate: 7, depth: 100, drain: 50, cost: 60, expected: 1_428_571_429),
  // Full, and a cost above the depth conforms at once.
  DelayCase(rate: 1_000, depth: 1_000, drain: 0, cost: 1_500, expected: 0),
  // One unit short of full: a cost above the depth waits for full (1 unit at 1000/s = 1 ms).
  DelayCase(rate: 1_000, depth: 1_000, drain: 1, cost: 1_500, expected: 1_000_000),
  // 500 units of debt plus the 1 wanted: 501 units at 1000/s.
  DelayCase(rate: 1_000, depth: 1_000, drain: 1_500, cost: 1, expected: 501_000_000),
  // 2³² bits at 100 Gbit/s: 42 949 672.96 ns, rounded up.
  DelayCase(
    rate: 100_000_000_000, depth: 1 << 32, drain: 1 << 32, cost: 1 << 32, expected: 42_949_673),
  // The deepest debt (2³² units against a 1-unit bucket) at the top rate: 2³² × 10⁹ / 10¹²
  // = 4 294 967.296 ns, rounded up.
  DelayCase(rate: 1_000_000_000_000, depth: 1, drain: 1 << 32, cost: 1, expected: 4_294_968),
]

/// Pins down the token bucket's arithmetic: conformance exactly at the
/// boundary, refills exact to the nanosecond with no drift over long runs,
/// the cap at the depth, debt for costs above the depth, exact delays, and no
/// overflow at the extremes of rate, depth and idle time.
@Suite("TokenBucket")
struct TokenBucketTests {
  // MARK: Start and boundary

  @Test func startsFull() {
    let bucket = TokenBucket(rate: 1_000_000, depth: 12_000, at: t0)
    #expect(bucket.rate == 1_000_000)
    #expect(bucket.depth == 12_000)
    #expect(bucket.tokens == 12_000)
    #expect(bucket.lastRefill == t0)
    #expect(bucket.conforms(cost: 12_000))
    #expect(bucket.delay(untilConforming: 12_000) == 0)
  }

  @Test func aCostEqualToTheTokensConformsAndOneMoreDoesNot() {
    var bucket = bucket(rate: 1_000_000, depth: 12_000, drained: 2_000)
    #expect(bucket.tokens == 10_000)
    #expect(bucket.conforms(cost: 10_000))
    #expect(!bucket.conforms(cost: 10_001))
    bucket.consume(cost: 10_000)
    #expect(bucket.tokens == 0)
    // An empty bucket still passes a free frame, and nothing else.
    #expect(bucket.conforms(cost: 0))
    #expect(!bucket.conforms(cost: 1))
  }

  // MARK: Refill

  @Test func oneBitArrivesAfterExactlyItsTime() {
    // At 1 Mbit/s one bit takes 1000 ns.
    let empty = bucket(rate: 1_000_000, depth: 12_000, drained: 12_000)
    let early = refilled(empty, at: t0 + .nanoseconds(999))
    #expect(early.tokens == 0)
    #expect(!early.conforms(cost: 1))
    let onTime = refilled(empty, at: t0 + .nanoseconds(1_000))
    #expect(onTime.tokens == 1)
    #expect(onTime.conforms(cost: 1))
    #expect(!onTime.conforms(cost: 2))
    #expect(onTime.lastRefill == t0 + .nanoseconds(1_000))
    // 1 ms is exactly 1000 bits.
    #expect(refilled(empty, at: t0 + .milliseconds(1)).tokens == 1_000)
  }

  @Test func fractionsOfAUnitAreKeptAcrossRefills() {
    // A thousand 1 ns refills at 1 Mbit/s add a thousandth of a bit each: one bit in all.
    var bucket = bucket(rate: 1_000_000, depth: 12_000, drained: 12_000)
    for step in 1...999 {
      bucket.refill(at: t0 + .nanoseconds(Int64(step)))
    }
    #expect(!bucket.conforms(cost: 1))
    bucket.refill(at: t0 + .nanoseconds(1_000))
    #expect(bucket.conforms(cost: 1))
    #expect(!bucket.conforms(cost: 2))

    // At 3 units/s a unit takes 333 333 333.3 ns: three refills of a ninth of
    // a second each (111 111 111 ns) bring 0.999999999 of it, and one more
    // nanosecond completes it.
    var slow = TokenBucket(rate: 3, depth: 10, at: t0)
    slow.consume(cost: 10)
    slow.refill(at: t0 + .nanoseconds(111_111_111))
    slow.refill(at: t0 + .nanoseconds(222_222_222))
    slow.refill(at: t0 + .nanoseconds(333_333_333))
    #expect(slow.tokens == 0)
    #expect(!slow.conforms(cost: 1))
    slow.refill(at: t0 + .nanoseconds(333_333_334))
    #expect(slow.tokens == 1)
    #expect(slow.conforms(cost: 1))
    // And a whole second is exactly 3.
    slow.refill(at: t0 + .seconds(1))
    #expect(slow.tokens == 3)
  }

  @Test func refillStopsAtTheDepth() {
    var bucket = bucket(rate: 1_000, depth: 1_000, drained: 100)
    // 50 ms at 1000/s is 50 units: 950.
    bucket.refill(at: t0 + .milliseconds(50))
    #expect(bucket.tokens == 950)
    // 150 ms more would be 150 units, but only 50 fit.
    bucket.refill(at: t0 + .milliseconds(200))
    #expect(bucket.tokens == 1_000)
    // An hour full adds nothing: the next frame still finds exactly the depth.
    bucket.refill(at: t0 + .seconds(3_600))
    #expect(bucket.tokens == 1_000)
    bucket.consume(cost: 1_000)
    #expect(bucket.tokens == 0)
    #expect(!bucket.conforms(cost: 1))
  }

  @Test func aBurstEmptiesTheBucketThenFramesPassAtTheRate() {
    // 10 packets deep at 100 packets/s: ten at once, then one every 10 ms.
    var bucket = TokenBucket(rate: 100, depth: 10, at: t0)
    for _ in 0..<10 {
      #expect(bucket.conforms(cost: 1))
      bucket.consume(cost: 1)
    }
    #expect(!bucket.conforms(cost: 1))
    for n in 1...5 {
      let due = t0 + .milliseconds(10 * n)
      var justBefore = bucket
      justBefore.refill(at: Instant(nanoseconds: due.nanoseconds - 1))
      #expect(!justBefore.conforms(cost: 1))
      bucket.refill(at: due)
      #expect(bucket.conforms(cost: 1))
      bucket.consume(cost: 1)
      #expect(!bucket.conforms(cost: 1))
    }
  }

  @Test func refillingAtTheSameInstantAddsNothing() {
    var bucket = bucket(rate: 1_000, depth: 1_000, drained: 1_000)
    bucket.refill(at: t0 + .milliseconds(5))
    #expect(bucket.tokens == 5)
    bucket.refill(at: t0 + .milliseconds(5))
    #expect(bucket.tokens == 5)
  }

  @Test func timeGoingBackwardsIsIgnored() {
    var bucket = bucket(rate: 1_000, depth: 1_000, drained: 1_000)
    bucket.refill(at: .seconds(99))
    #expect(bucket.tokens == 0)
    #expect(bucket.lastRefill == t0)
    // The next refill counts from t0, not from the earlier instant: 1 ms is 1
    // unit (counting from 99 s it would have been 1001 ms and a full bucket).
    bucket.refill(at: t0 + .milliseconds(1))
    #expect(bucket.tokens == 1)
    #expect(bucket.lastRefill == t0 + .milliseconds(1))
  }

  // MARK: Debt

  @Test func aCostAboveTheDepthPassesOnlyWhenFullAndLeavesDebt() {
    var bucket = TokenBucket(rate: 1_000, depth: 1_000, at: t0)
    #expect(bucket.conforms(cost: 1_500))
    bucket.consume(cost: 1_500)
    #expect(bucket.tokens == -500)
    #expect(!bucket.conforms(cost: 1))
    // 500 units of debt plus one unit: 501 ms at 1000/s.
    #expect(bucket.delay(untilConforming: 1) == 501_000_000)
    #expect(!refilled(bucket, at: t0 + .nanoseconds(500_999_999)).conforms(cost: 1))
    #expect(refilled(bucket, at: t0 + .milliseconds(501)).conforms(cost: 1))
    // The big frame again needs a full bucket: the debt and the whole depth, 1.5 s.
    #expect(bucket.delay(untilConforming: 1_500) == 1_500_000_000)
    let almost = refilled(bucket, at: t0 + .nanoseconds(1_499_999_999))
    #expect(almost.tokens == 999)
    #expect(!almost.conforms(cost: 1_500))
    let full = refilled(bucket, at: t0 + .milliseconds(1_500))
    #expect(full.tokens == 1_000)
    #expect(full.conforms(cost: 1_500))
  }

  @Test func aCostAboveTheDepthWaitsWhileTheBucketIsNotFull() {
    let bucket = bucket(rate: 1_000, depth: 1_000, drained: 1)
    #expect(bucket.tokens == 999)
    #expect(!bucket.conforms(cost: 1_500))
    // The cost is capped at the depth for conformance, so 999 is as short as 1000 would be.
    #expect(!bucket.conforms(cost: 1_000))
    #expect(bucket.conforms(cost: 999))
  }

  // MARK: Delay

  @Test("delay(untilConforming:) is the exact nanosecond", arguments: delayCases)
  func delayIsExact(_ c: DelayCase) {
    let bucket = bucket(rate: c.rate, depth: c.depth, drained: c.drain)
    let delay = bucket.delay(untilConforming: c.cost)
    #expect(delay == c.expected)
    if delay == 0 {
      #expect(bucket.conforms(cost: c.cost))
    } else {
      #expect(!bucket.conforms(cost: c.cost))
      let at = Instant(nanoseconds: t0.nanoseconds + delay)
      #expect(refilled(bucket, at: at).conforms(cost: c.cost))
      let before = Instant(nanoseconds: t0.nanoseconds + delay - 1)
      #expect(!refilled(bucket, at: before).conforms(cost: c.cost))
    }
  }

  @Test func delayCountsFromTheLastRefill() {
    var bucket = bucket(rate: 1_000_000, depth: 12_000, drained: 12_000)
    bucket.refill(at: t0 + .milliseconds(5))
    // 5000 bits in, 7000 to go at 1 Mbit/s.
    #expect(bucket.delay(untilConforming: 12_000) == 7_000_000)
  }

  // MARK: Long runs and extremes

  @Test func sixtyFourKilobitsHoldsItsRateForAnHour() {
    // A greedy sender of 1500-byte frames that comes back exactly when the next
    // one may pass. One frame deep: the first goes at once, then one every
    // 12 000 / 64 000 s = 187.5 ms, the last exactly at the hour: 1 + 3600 / 0.1875.
    let cost: UInt64 = 12_000
    var bucket = TokenBucket(rate: 64_000, depth: cost, at: .zero)
    let end = Instant.seconds(3_600)
    var now = Instant.zero
    var admitted: UInt64 = 0
    var lastAdmitted = Instant.zero
    while now <= end {
      bucket.refill(at: now)
      while bucket.conforms(cost: cost) {
        bucket.consume(cost: cost)
        admitted += 1
        lastAdmitted = now
      }
      now = now + .nanoseconds(Int64(bucket.delay(untilConforming: cost)))
    }
    #expect(admitted == 19_201)
    #expect(lastAdmitted == end)
    // rate × time / cost, plus the one frame the full bucket held at the start.
    #expect(admitted == 64_000 * 3_600 / cost + 1)
  }

  @Test func sixtyFourKilobitsDoesNotDriftWithUnevenRefills() {
    // Refills every 10 000 007 ns bring 640.000448 bits each: a bucket that kept
    // whole bits would lose the 0.000448 every time. Two frames deep, so a
    // greedy sender never lets it fill up and waste tokens.
    let cost: UInt64 = 12_000
    let tick: UInt64 = 10_000_007
    var bucket = TokenBucket(rate: 64_000, depth: 2 * cost, at: .zero)
    var admitted: UInt64 = 0
    var now: UInt64 = 0
    while now <= 3_600_000_000_000 {
      bucket.refill(at: Instant(nanoseconds: now))
      while bucket.conforms(cost: cost) {
        bucket.consume(cost: cost)
        admitted += 1
      }
      now += tick
    }
    // The last refill is at 359 999 × 10 000 007 = 3 599 992 519 993 ns, which
    // brings 64 000 × that / 10⁹ = 230 399 521.279552 bits; with the 24 000 the
    // bucket started with, 230 423 521.28: 19 201 frames and 11 521.28 bits left.
    #expect(admitted == 19_201)
    #expect(bucket.tokens == 11_521)
    // (Keeping whole bits per refill would have left 640 × 359 999 + 24 000 -
    // 19 201 × 12 000 = 11 360.) Within one frame of rate × time / cost (19 200)
    // plus the starting depth (2 frames).
    #expect(admitted >= 64_000 * 3_600 / cost + 2 - 1)
  }

  @Test func oneHundredGigabitsRefillsFullAfterDaysWithoutOverflow() {
    let depth = TokenBucket.maximumDepth
    var bucket = TokenBucket(rate: 100_000_000_000, depth: depth, at: t0)
    #expect(bucket.tokens == 4_294_967_296)
    bucket.consume(cost: depth)
    #expect(bucket.tokens == 0)
    // 100 bits per nanosecond.
    bucket.refill(at: t0 + .nanoseconds(1))
    #expect(bucket.tokens == 100)
    bucket.refill(at: t0 + .milliseconds(10))
    #expect(bucket.tokens == 1_000_000_000)
    // Three idle days: 2.592 × 10¹⁴ ns × 10¹¹ bits/s would overflow any 64-bit product.
    bucket.refill(at: t0 + .seconds(3 * 86_400))
    #expect(bucket.tokens == 4_294_967_296)
    #expect(bucket.conforms(cost: depth))
    // And at the very end of the clock.
    bucket.refill(at: Instant(nanoseconds: .max))
    #expect(bucket.tokens == 4_294_967_296)
  }

  @Test func oneHundredGigabitsFillsAtTheExactNanosecond() {
    // 2³² bits at 100 bits/ns: 42 949 672.96 ns.
    let empty = bucket(rate: 100_000_000_000, depth: 1 << 32, drained: 1 << 32)
    #expect(refilled(empty, at: t0 + .nanoseconds(42_949_672)).tokens == 4_294_967_200)
    #expect(refilled(empty, at: t0 + .nanoseconds(42_949_673)).tokens == 4_294_967_296)
  }

  @Test func theDeepestDebtAtTheTopRateRepaysAfterAnyGap() {
    var bucket = TokenBucket(rate: TokenBucket.maximumRate, depth: 1, at: t0)
    bucket.consume(cost: 1 << 32)
    #expect(bucket.tokens == 1 - 4_294_967_296)
    // A century idle: no overflow, exactly full.
    bucket.refill(at: t0 + .seconds(100 * 365 * 86_400))
    #expect(bucket.tokens == 1)
  }

  // MARK: Clamping

  @Test func rateAndDepthZeroClampToOne() {
    var bucket = TokenBucket(rate: 0, depth: 0, at: t0)
    #expect(bucket.rate == 1)
    #expect(bucket.depth == 1)
    #expect(bucket.tokens == 1)
    bucket.consume(cost: 1)
    bucket.refill(at: t0 + .nanoseconds(999_999_999))
    #expect(!bucket.conforms(cost: 1))
    bucket.refill(at: t0 + .seconds(1))
    #expect(bucket.tokens == 1)
  }

  @Test func hugeRateAndDepthClampToTheMaximums() {
    let bucket = TokenBucket(rate: .max, depth: .max, at: t0)
    #expect(bucket.rate == 1_000_000_000_000)
    #expect(bucket.depth == 4_294_967_296)
    #expect(bucket.tokens == 4_294_967_296)
    let over = TokenBucket(
      rate: TokenBucket.maximumRate + 1, depth: TokenBucket.maximumDepth + 1, at: t0)
    #expect(over.rate == TokenBucket.maximumRate)
    #expect(over.depth == TokenBucket.maximumDepth)
    let exact = TokenBucket(rate: TokenBucket.maximumRate, depth: TokenBucket.maximumDepth, at: t0)
    #expect(exact.rate == TokenBucket.maximumRate)
    #expect(exact.depth == TokenBucket.maximumDepth)
  }
}
